#!/usr/bin/env node
import { run } from './run-ts.mjs';
await run('../ibkey/cli.ts');
