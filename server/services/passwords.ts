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
import type { Argon2Params, PasswordHashing } from '../config.ts';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(storedHash: string, password: string): Promise<boolean>;
  /** Burns a verification's time against a dummy hash; always false. */
  verifyUnknownUser(password: string): Promise<boolean>;
}

export function argon2idHasher(params: Argon2Params): PasswordHasher {
  // Algorithm.Argon2id (a const enum, which isolated modules cannot read).
  const options = { algorithm: 2 as Algorithm, ...params };
  // Hashed at once, so even the first unknown user costs exactly one verification (SPEC A3).
  const dummy: Promise<string> = hash('dummy password for unknown users', options);
  return {
    hash: (password) => hash(password, options),
    async verify(storedHash, password) {
      try {
        return await verify(storedHash, password);
      } catch {
        return false;
      }
    },
    async verifyUnknownUser(password) {
      await verify(await dummy, password).catch(() => false);
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
