#!/usr/bin/env node
import { run } from './run-ts.mjs';
await run('../native/emulator/cli.ts');
