/**
 * Random identifiers and bearer tokens.
 *
 * Session tokens are 256-bit random and only their SHA-256 is stored, so a copy of the database
 * opens no session. Row ids are 128-bit random: unguessable, since a login transaction id is
 * what carries the password step to the second factor.
 */
import { createHash, randomInt } from 'node:crypto';
import { cryptoRandomBytes } from '../../core/codes.ts';

/** `n` fresh CSPRNG bytes as base64url (from core's pooled source: one CSPRNG call per ~200 ids). */
function randomBase64url(n: number): string {
  const bytes = cryptoRandomBytes(n);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBase64url(16)}`;
}

export function newToken(): string {
  return randomBase64url(32);
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
