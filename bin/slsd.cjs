#!/usr/bin/env -S node --max-semi-space-size=2 --single-threaded-gc --v8-pool-size=1
// --max-semi-space-size=2 (MB): V8's young generation stays at 2 x 2 MB instead of growing to 2 x 16 MB
// under load; that was ~30 MB of slsd's resident memory (issue 7: < 150 MB with 1,000 logins pending).
// --single-threaded-gc: with young objects promoted sooner, V8's parallel GC helper threads cost
// ~360 CPU-us per login beside argon2id on 2 cores (bench:login); on the main thread the same GC
// costs next to nothing more (issue 2).
// --v8-pool-size=1: V8's platform threads, 4 by default, have nothing left to do after the start but
// TurboFan's background compiles (GC runs on the main thread, above). Each of them still got a glibc
// malloc arena of its own during the start (1-2 MB resident each, never given back). Measured on this
// 2-core machine (November 2026, 5 starts each), SQLite, the bundle, 16 full logins in flight
// (smaps; "thread arenas" = glibc's 64 MB-aligned heaps; the V8 heap, node's binary, the rest unchanged):
//                                  before (4 threads)    after (1 thread)
//   thread arenas, idle            7.3-10.5 MB           1.6-4.9 MB
//   resident idle after start      100.7-103.9 MB        96.2-98.4 MB
//   peak, 2 argon2id at once       140.4-144.5 MB        133.9-139.1 MB
// (MALLOC_ARENA_MAX=2 saves the same, but only where the environment sets it; this flag travels
// with the others.) `env -S` passes the flags on Linux and macOS; npm's Windows
// shims read them too. Whatever starts slsd as `node … bin/slsd.cjs` takes them from this line
// (node-flags.mjs): npm start, the tests' and benchmarks' spawnSlsd, cluster workers (execArgv).
'use strict';

/**
 * A start that failed: its reason on stderr, and exit code 1. An operator's mistake (the wrong server
 * key, SPEC D4; a port in use; a setting refused) is said plainly; anything else with its stack.
 * Then the process ends, once what it wrote is out (stdout first, then this line), whatever is still
 * open: the start may have failed part-way, with something left that keeps Node running (before
 * buildApp closed what it had opened, the database and its checkpointer's thread: slsd said why and
 * then hung for ever, with no listener, instead of exiting 1). Exported for server/start.test.ts.
 */
function startFailed(e) {
  const plain = e instanceof Error && (e.name === 'ServerKeyMismatch' || e.name === 'StartRefused');
  const line = `slsd: ${e instanceof Error ? (plain ? e.message : (e.stack ?? e.message)) : String(e)}\n`;
  process.stdout.write('', () => process.stderr.write(line, () => process.exit(1)));
}

if (require.main !== module) {
  // Required rather than run (a test of the failure path): nothing starts.
  module.exports = { startFailed };
} else {
  // argon2id runs on libuv's thread pool, and slsd hashes one password per core at a time
  // (server/services/passwords.ts). The pool gets exactly one thread per core unless the operator set
  // UV_THREADPOOL_SIZE: with Node's default of 4 threads on 2 cores, each hash woke whichever thread had
  // idled longest, often queued behind a busy core while the other idled; 12 % of 2 cores sat idle
  // under full login load (bench:login: 180 -> 206 logins/s, capacity in bench:load 164 -> 178 full
  // logins/s). slsd has no other pool work (no async fs, dns only for a PostgreSQL host name).
  // libuv sizes its pool when it first starts it, before any ES module is read (Node's ES module
  // loader reads files on the pool): that is why this entry point is CommonJS.
  // SLSD_THREADPOOL_AUTO tells server/main.ts the size is ours, so it may split it among cluster workers.
  if (!process.env.UV_THREADPOOL_SIZE) {
    process.env.UV_THREADPOOL_SIZE = String(require('node:os').availableParallelism());
    process.env.SLSD_THREADPOOL_AUTO = '1';
  }

  // The bundle (npm run build:server) while it is fresh, else the source under tsx (bin/run-ts.mjs).
  import('./run-ts.mjs')
    .then(({ run }) => run('../server/main.ts', '../dist/server/slsd.mjs'))
    .catch(startFailed);
}
