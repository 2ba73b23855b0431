/**
 * argon2id below the event loop (issue 7, SPEC N1): slsd's libuv pool threads, where
 * @node-rs/argon2 hashes, run at a lower scheduling priority (a higher nice) than the thread that
 * answers HTTP and talks to the database.
 *
 * Why: on a busy machine every core runs a ~7 ms hash, and the event loop — which needs well under
 * 1 ms per request, and which every login passes through twice — waited behind them for a share of
 * a core; so did the database and the TLS proxy beside slsd. A hash that waits 1 ms more costs a
 * login little; an event loop that waits delays every request it holds. bench:load on 2 cores, at
 * 80 % of capacity, windows of 10 s taking turns (the machine drifts): p99 of a full login 28.3 ms
 * median at nice 0, 30.4 ms at +5, 22.3 ms at +10; the second factor's p99 4.3–4.9 ms at +10
 * against 5.1–6.5 ms; PostgreSQL with two slsd: 59.7 → 43.8 ms, second factor 17.2 → 13.4 ms.
 * Throughput is the same: the work is the same, only its order changes.
 *
 * Linux only: there a thread is a task with its own nice value, which `setpriority(PRIO_PROCESS,
 * tid)` (Node's `os.setPriority`) changes, and no privilege is needed to lower one's own priority.
 * libuv does not say which threads are its pool's: each opens `/proc/thread-self/stat` for us (a
 * file opened on a pool thread names that thread), until all of them have answered.
 */
import fs from 'node:fs';
import os from 'node:os';

/** Default nice increment of the hashing threads over slsd's own (SLS_HASH_NICE; 0 turns it off). */
export const DEFAULT_HASH_NICE = 10;

export type PoolPriority =
  | { readonly lowered: true; readonly nice: number; readonly threads: readonly number[] }
  | { readonly lowered: false; readonly reason: string };

/**
 * The thread ids of libuv's pool (Linux): batches of `/proc/thread-self/stat` reads, each opened on
 * whichever pool thread is free, until `poolThreads` distinct ids have answered or `withinMs` has
 * passed (a thread busy with a hash answers once it is done: slsd hashes a dummy password at start).
 * A few batches, ~1–50 ms, find 2–64 threads; the pool is started already, all its threads at once.
 */
export async function poolThreadIds(poolThreads: number, withinMs = 2_000): Promise<number[]> {
  const seen = new Set<number>();
  const batch = Math.max(2, poolThreads * 2);
  const deadline = performance.now() + withinMs;
  while (seen.size < poolThreads && performance.now() < deadline) {
    const stats = await Promise.all(Array.from({ length: batch }, () => fs.promises.readFile('/proc/thread-self/stat', 'utf8')));
    for (const stat of stats) seen.add(Number.parseInt(stat, 10));
  }
  return [...seen];
}

/**
 * Gives libuv's pool threads the nice value of this process plus `increment` (at most 19).
 * Never throws: slsd works the same at one priority, so a refusal is reported, not fatal.
 */
export async function lowerPoolPriority(increment: number, poolThreads: number): Promise<PoolPriority> {
  if (increment <= 0) return { lowered: false, reason: 'SLS_HASH_NICE is 0' };
  if (process.platform !== 'linux') return { lowered: false, reason: `threads have no nice value of their own on ${process.platform}` };
  try {
    const nice = Math.min(19, os.getPriority() + increment);
    const threads = await poolThreadIds(poolThreads);
    for (const tid of threads) os.setPriority(tid, nice);
    return { lowered: true, nice, threads };
  } catch (e) {
    return { lowered: false, reason: (e as Error).message };
  }
}
