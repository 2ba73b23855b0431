#!/usr/bin/env node
import { run } from './run-ts.mjs';
// The bundle (npm run build:server) while it is fresh, else the source under tsx (bin/run-ts.mjs).
await run('../server/main.ts', '../dist/server/slsd.mjs');
