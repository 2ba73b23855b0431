/**
 * The benchmarks set slsd beside raw argon2id hashed in the benchmark's own process, on libuv's pool.
 * slsd's pool has one thread per core (bin/slsd.cjs), and the baseline's must match it; libuv sizes
 * its pool before any of our code runs, so a benchmark started without UV_THREADPOOL_SIZE runs itself
 * again with it set as slsd sets it.
 *
 * The same run gives the benchmark process (the load generator) a large young generation: with Node's
 * default, its own mark-compacts (up to 24 ms here, 4 in 40 s of bench:load) held every login in
 * flight and counted as slsd's latency; with 64 MB semi-spaces, 2 of at most 11 ms. slsd keeps its own
 * flags (bin/slsd.cjs's first line).
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';

const CLIENT_FLAGS = ['--max-semi-space-size=64'];

/** True when this run was handed to a child with the pool sized (its exit code becomes ours): return at once. */
export function rerunWithSlsdPool(): boolean {
  if (process.env.UV_THREADPOOL_SIZE && CLIENT_FLAGS.every((f) => process.execArgv.includes(f))) return false;
  if (process.env.SLS_BENCH_RERUN === '1') return false; // never loop, whatever the flags look like
  const child = spawnSync(process.execPath, [...process.execArgv, ...CLIENT_FLAGS.filter((f) => !process.execArgv.includes(f)), ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? String(os.availableParallelism()), SLS_BENCH_RERUN: '1' },
  });
  process.exitCode = child.status ?? 1;
  return true;
}
