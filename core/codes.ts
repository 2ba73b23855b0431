/**
 * Challenges, one-time codes and device responses: the one place that computes and checks them.
 *
 * Every challenge/response device (DSC+, Platinum, Gold, DSC, IB Key offline) answers with the
 * suite its catalogue entry names (SPEC D2); `deviceResponse` and `verifyDeviceResponse` are the
 * only functions the server, the emulator and IB Key use for that. Random codes come from a CSPRNG
 * (`globalThis.crypto.getRandomValues`), drawn without modulo bias; tests inject their own source.
 */
import { DEVICE_CATALOGUE, PLATINUM_ALPHABET, type DeviceKind, type ResponseAlphabet } from './devices.ts';
import { constantTimeEqual, ocra, OcraError, parseOcraSuite } from './ocra.ts';
import { platinumResponse } from './platinum.ts';

export { constantTimeEqual } from './ocra.ts';

/** A source of random bytes: returns `length` fresh bytes. Inject a deterministic one in tests. */
export type RandomBytes = (length: number) => Uint8Array;

const POOL_BYTES = 4096;
let pool: Uint8Array | null = null;
let poolOffset = POOL_BYTES;

/**
 * The platform CSPRNG (Web Crypto, present in Node, Electron and browsers).
 *
 * Bytes are fetched 4 KiB at a time and each handed out once (then zeroed in the pool), as Node's own
 * `randomUUID` does: a server issues several random values per login, and one call into the CSPRNG per
 * value cost slsd's main thread a native round trip each (issue 2). Requests over 1 KiB go straight through.
 */
export const cryptoRandomBytes: RandomBytes = (length) => {
  if (length > POOL_BYTES / 4) return globalThis.crypto.getRandomValues(new Uint8Array(length));
  pool ??= new Uint8Array(POOL_BYTES);
  if (poolOffset + length > POOL_BYTES) {
    globalThis.crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const out = pool.slice(poolOffset, poolOffset + length);
  pool.fill(0, poolOffset, poolOffset + length);
  poolOffset += length;
  return out;
};

/**
 * A uniform random integer in [0, n), for 1 ≤ n ≤ 256.
 *
 * Rejection sampling: bytes at or above the largest multiple of n are drawn again, so every
 * value is equally likely (no modulo bias).
 */
export function randomBelow(n: number, rng: RandomBytes = cryptoRandomBytes): number {
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new RangeError('randomBelow: n must be an integer in 1–256');
  const limit = 256 - (256 % n);
  for (;;) {
    for (const byte of rng(16)) {
      if (byte < limit) return byte % n;
    }
  }
}

/** `length` characters drawn uniformly and independently from `alphabet` (at most 256 symbols). */
export function randomString(alphabet: string, length: number, rng: RandomBytes = cryptoRandomBytes): string {
  if (!Number.isInteger(length) || length < 0) throw new RangeError('randomString: length must be a non-negative integer');
  if (alphabet.length < 1 || alphabet.length > 256) throw new RangeError('randomString: alphabet must have 1–256 symbols');
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const byte of rng(length - out.length)) {
      if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length]!;
    }
  }
  return out;
}

/** `length` uniform random decimal digits, leading zeros included (SMS codes, passcodes). */
export function randomDigits(length: number, rng: RandomBytes = cryptoRandomBytes): string {
  return randomString('0123456789', length, rng);
}

/**
 * A challenge for a challenge/response device: `length` uniform random digits.
 *
 * Leading zeros are kept: OCRA's numeric question (RFC 6287 §5.1) is the number's value, and
 * the device and `deviceResponse` both take the challenge exactly as shown.
 */
export function randomNumericChallenge(length: number, rng: RandomBytes = cryptoRandomBytes): string {
  if (!Number.isInteger(length) || length < 4 || length > 64) throw new RangeError('randomNumericChallenge: length must be 4–64 (RFC 6287 QNxx)');
  return randomDigits(length, rng);
}

/**
 * Clean what a user typed: trim, drop all white space, upper-case.
 *
 * Digits are unaffected by case; Platinum and card codes are matched in upper case, so a user may
 * type them in either case and with spaces between groups.
 */
export function normalizeResponse(_alphabet: ResponseAlphabet, input: string): string {
  return input.replace(/\s+/g, '').toUpperCase();
}

const ALPHABET_PATTERNS: Record<ResponseAlphabet, RegExp> = {
  digits: /^[0-9]*$/,
  platinum: new RegExp(`^[${PLATINUM_ALPHABET}]*$`),
  alphanumeric: /^[0-9A-Z]*$/,
};

/** Does a normalized response use only its alphabet's characters? */
export function isInAlphabet(alphabet: ResponseAlphabet, response: string): boolean {
  return ALPHABET_PATTERNS[alphabet].test(response);
}

function suiteOf(kind: DeviceKind): string {
  const suite = DEVICE_CATALOGUE[kind].ocraSuite;
  if (suite === null) throw new OcraError(`device kind ${kind} has no challenge/response suite`);
  return suite;
}

/** Options of a device computation: the PIN hash for suites with P (the DSC+, SPEC H2). */
export interface DeviceResponseOptions {
  /** `ocraPasswordHash(suite, pin)`: for the DSC+, the hash of the PIN entered on the card. */
  pinHash?: Uint8Array;
}

/**
 * The response a challenge/response device shows for a challenge (SPEC D2).
 *
 * The suite comes from the device catalogue; the Platinum device encodes its HMAC itself
 * (core/platinum.ts). The challenge must have exactly the catalogue's length of digits.
 * Throws OcraError for a kind without a suite, a malformed challenge or a missing PIN hash.
 */
export function deviceResponse(kind: DeviceKind, key: Uint8Array, challenge: string, opts: DeviceResponseOptions = {}): string {
  const suite = suiteOf(kind);
  const info = DEVICE_CATALOGUE[kind];
  if (info.challengeLength !== null && challenge.length !== info.challengeLength) {
    throw new OcraError(`${info.name} challenge must have ${info.challengeLength} digits`);
  }
  if (kind === 'platinum') {
    if (opts.pinHash) throw new OcraError('the Platinum device takes no PIN');
    return platinumResponse(key, challenge);
  }
  if (parseOcraSuite(suite).password && !opts.pinHash) throw new OcraError(`${info.name} needs the PIN hash`);
  // A PIN hash for a suite without P is refused by ocra() rather than silently ignored.
  return ocra(suite, key, { question: challenge, ...(opts.pinHash ? { password: opts.pinHash } : {}) });
}

/**
 * Check what a user typed against a device's response, in constant time.
 *
 * The input is normalized first (`normalizeResponse`); an input with characters outside the
 * device's alphabet or of the wrong length is simply wrong (false). Malformed challenges or a
 * kind without a suite throw OcraError (they are the caller's bug).
 */
export function verifyDeviceResponse(
  kind: DeviceKind,
  key: Uint8Array,
  challenge: string,
  response: string,
  opts: DeviceResponseOptions = {},
): boolean {
  const expected = deviceResponse(kind, key, challenge, opts);
  const alphabet = DEVICE_CATALOGUE[kind].responseAlphabet;
  const typed = normalizeResponse(alphabet, response);
  if (!isInAlphabet(alphabet, typed)) return false;
  return constantTimeEqual(expected, typed);
}
