#!/usr/bin/env -S node --max-semi-space-size=2 --single-threaded-gc
// --max-semi-space-size=2 (MB): V8's young generation stays at 2 x 2 MB instead of growing to 2 x 16 MB
// under load; that was ~30 MB of slsd's resident memory (issue 7: < 150 MB with 1,000 logins pending).
// --single-threaded-gc: with young objects promoted sooner, V8's parallel GC helper threads cost
// ~360 CPU-us per login beside argon2id on 2 cores (bench:login); on the main thread the same GC
// costs next to nothing more (issue 2). `env -S` passes the flags on Linux and macOS; npm's Windows
// shims read them too. Whatever starts slsd as `node … bin/slsd.mjs` takes them from this line
// (node-flags.mjs): npm start, the tests' and benchmarks' spawnSlsd, cluster workers (execArgv).
import { run } from './run-ts.mjs';
// The bundle (npm run build:server) while it is fresh, else the source under tsx (bin/run-ts.mjs).
await run('../server/main.ts', '../dist/server/slsd.mjs');
