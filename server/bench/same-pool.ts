/**
 * The benchmarks set slsd beside raw argon2id hashed in the benchmark's own process, on libuv's pool.
 * slsd's pool has one thread per core (bin/slsd.cjs), and the baseline's must match it; libuv sizes
 * its pool before any of our code runs, so a benchmark started without UV_THREADPOOL_SIZE runs itself
 * again with it set as slsd sets it.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';

/** True when this run was handed to a child with the pool sized (its exit code becomes ours): return at once. */
export function rerunWithSlsdPool(): boolean {
  if (process.env.UV_THREADPOOL_SIZE) return false;
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, UV_THREADPOOL_SIZE: String(os.availableParallelism()) },
  });
  process.exitCode = child.status ?? 1;
  return true;
}
