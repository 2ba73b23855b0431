#!/usr/bin/env -S node --max-semi-space-size=2
// --max-semi-space-size=4 (MB): V8's young generation stays at 2 x 4 MB instead of growing to 2 x 16 MB
// under load; that was ~25 MB of slsd's resident memory (issue 7: < 150 MB with 1,000 logins pending),
// for a few more, short scavenges. `env -S` passes the flag on Linux and macOS; npm's Windows shims
// read it too. Whatever starts slsd as `node … bin/slsd.mjs` takes the flags from this line (node-flags.mjs).
import { run } from './run-ts.mjs';
// The bundle (npm run build:server) while it is fresh, else the source under tsx (bin/run-ts.mjs).
await run('../server/main.ts', '../dist/server/slsd.mjs');
