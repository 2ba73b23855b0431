/**
 * Random identifiers and bearer tokens.
 *
 * Session tokens are 256-bit random and only their SHA-256 is stored, so a copy of the database
 * opens no session. Row ids are 128-bit random: unguessable, since a login transaction id is
 * what carries the password step to the second factor.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString('base64url')}`;
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** `length` uniformly random decimal digits (crypto RNG). */
export function randomDigitString(length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String(randomInt(10));
  return s;
}
