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
}

/**
 * Runs at most `limit` tasks at once; the others wait their turn, first come first served.
 *
 * For argon2id (SPEC N1, issue 7): each hash holds 19 MiB, and @node-rs/argon2 runs on libuv's pool
 * (4 threads by default), so 2 cores hashed 4 at once: no faster, and 76 MiB resident at the peak.
 * A limit here rather than UV_THREADPOOL_SIZE=cores: that must be set before the process starts,
 * and would also make fs and dns.lookup queue behind hashes.
 */
export function concurrencyLimit(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer, got ${limit}`);
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
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
}

/**
 * argon2id, at most `concurrency` hashes at once (default: one per core; see concurrencyLimit).
 *
 * Known and unknown users queue alike, so waiting reveals nothing (SPEC L1).
 */
export function argon2idHasher(params: Argon2Params, concurrency = os.availableParallelism()): PasswordHasher {
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
