/**
 * Password hashing: argon2id with OWASP parameters (SPEC A3).
 *
 * The no-op hasher exists only so `npm run bench:login` can measure everything but the hash; slsd
 * warns loudly when it is on. `verifyUnknownUser` spends the same time as a real verification, so an
 * unknown user and a wrong password answer alike in content and in time (SPEC L1, A3).
 */
import { hash, verify } from '@node-rs/argon2';
import type { Algorithm } from '@node-rs/argon2';
import { createHash, timingSafeEqual } from 'node:crypto';
import os from 'node:os';
import type { Argon2Params, PasswordHashing } from '../config.ts';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(storedHash: string, password: string): Promise<boolean>;
  /** Burns a verification's time against a dummy hash; always false. */
  verifyUnknownUser(password: string): Promise<boolean>;
  /** Hashes handed to the pool and hashes waiting for a turn, for the metrics (server/metrics.ts); none for the no-op. */
  load?(): HashingLoad;
}

export interface HashingLoad {
  readonly inFlight: number;
  readonly waiting: number;
}

/** A concurrency limit that can say how busy it is. */
export interface Limiter {
  <T>(task: () => Promise<T>): Promise<T>;
  load(): HashingLoad;
}

/**
 * Runs at most `limit` tasks at once; the others wait their turn, first come first served.
 *
 * For argon2id (SPEC N1, issue 7): each hash holds 19 MiB, and @node-rs/argon2 runs on libuv's pool,
 * so without a limit 2 cores hashed 4 at once (Node's default pool): no faster, and 76 MiB resident
 * at the peak. See `hashingThreads` for how many.
 */
export function concurrencyLimit(limit: number): Limiter {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer, got ${limit}`);
  let running = 0;
  const waiting: (() => void)[] = [];
  const limited = async <T>(task: () => Promise<T>): Promise<T> => {
    if (running < limit) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next in line, or free it.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
  return Object.assign(limited, { load: (): HashingLoad => ({ inFlight: running, waiting: waiting.length }) });
}

/**
 * How many argon2id hashes slsd runs at once: one per core, and no more than libuv's pool has threads
 * (`UV_THREADPOOL_SIZE`, default 4), or the extra hashes would only queue inside libuv.
 *
 * bin/slsd.cjs sizes the pool to one thread per core before it starts (unless the operator set it):
 * with more threads than hashes in flight, libuv hands each hash to the thread that has idled longest,
 * which the kernel often queues behind a busy core while the other core idles (issues 2, 7).
 */
export function hashingThreads(env: NodeJS.ProcessEnv = process.env, cores: number = os.availableParallelism()): number {
  return Math.max(1, Math.min(cores, poolSize(env)));
}

/** libuv's pool size as libuv reads `UV_THREADPOOL_SIZE`: atoi, 0 (or no number) means 1, unsigned, at most 1024; 4 unset. */
export function poolSize(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.UV_THREADPOOL_SIZE;
  const n = raw === undefined ? 4 : Number.parseInt(raw, 10);
  return Number.isNaN(n) || n === 0 ? 1 : n < 0 || n > 1024 ? 1024 : n;
}

/**
 * How many argon2id hashes slsd hands to libuv at once: one per hashing thread, plus one waiting in
 * libuv's own queue when the pool has exactly that many threads. A thread that finishes a hash then
 * starts the next at once, instead of idling until the event loop (busy with HTTP and SQL) hands it
 * one: under bench:login the hash threads were busy ~89 % of the time with none waiting (issue 2).
 * The waiting hash holds no memory (argon2id allocates its 19 MiB when it starts) and never runs
 * beside the others; with more pool threads than hashing threads it would, so then none waits.
 */
export function hashesInFlight(env: NodeJS.ProcessEnv = process.env, cores: number = os.availableParallelism()): number {
  const threads = hashingThreads(env, cores);
  return poolSize(env) === threads ? threads + 1 : threads;
}

/**
 * argon2id, at most `concurrency` hashes handed to libuv at once (default: `hashesInFlight()`; see
 * concurrencyLimit).
 *
 * Known and unknown users queue alike, so waiting reveals nothing (SPEC L1).
 */
export function argon2idHasher(params: Argon2Params, concurrency = hashesInFlight()): PasswordHasher {
  // Algorithm.Argon2id (a const enum, which isolated modules cannot read).
  const options = { algorithm: 2 as Algorithm, ...params };
  const limited = concurrencyLimit(concurrency);
  // Hashed at once, so even the first unknown user costs exactly one verification (SPEC A3).
  const dummy: Promise<string> = limited(() => hash('dummy password for unknown users', options));
  return {
    hash: (password) => limited(() => hash(password, options)),
    async verify(storedHash, password) {
      try {
        return await limited(() => verify(storedHash, password));
      } catch {
        return false;
      }
    },
    async verifyUnknownUser(password) {
      const stored = await dummy;
      await limited(() => verify(stored, password)).catch(() => false);
      return false;
    },
    load: () => limited.load(),
  };
}

const NOOP_PREFIX = '$noop-benchmark-only$';

/** Benchmark only: a SHA-256, no work factor. Never for real users. */
export function noopBenchmarkHasher(): PasswordHasher {
  const digest = (p: string) => createHash('sha256').update(p, 'utf8').digest();
  return {
    hash: async (password) => NOOP_PREFIX + digest(password).toString('base64'),
    async verify(storedHash, password) {
      if (!storedHash.startsWith(NOOP_PREFIX)) return false;
      const expected = Buffer.from(storedHash.slice(NOOP_PREFIX.length), 'base64');
      const actual = digest(password);
      return expected.length === actual.length && timingSafeEqual(expected, actual);
    },
    async verifyUnknownUser(password) {
      digest(password);
      return false;
    },
  };
}

export function passwordHasher(mode: PasswordHashing, params: Argon2Params): PasswordHasher {
  return mode === 'argon2id' ? argon2idHasher(params) : noopBenchmarkHasher();
}
