/**
 * OCRA: the OATH Challenge-Response Algorithm (RFC 6287), and HOTP (RFC 4226) beneath it.
 *
 * Every challenge/response device (DSC+, Platinum, Gold, DSC, IB Key offline) computes its
 * answer with an OCRA suite named in the device catalogue (SPEC D2). This module is pure: it
 * hashes with `@noble/hashes`, so the server, the DSC+ emulator, IB Key and the renderer can
 * share it.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';

/** A malformed OCRA suite or an input that does not fit its suite. */
export class OcraError extends Error {
  override readonly name = 'OcraError';
}

export type OcraHash = 'SHA1' | 'SHA256' | 'SHA512';

/** A parsed OCRA suite (RFC 6287 §6). */
export interface OcraSuite {
  /** The suite text as given; it is the first part of the hashed message (§5.1). */
  readonly text: string;
  readonly algorithm: OcraHash;
  /** Response length in digits; 0 means the full, untruncated HMAC (§5.1, "t=0"). */
  readonly digits: number;
  /** `C`: an 8-byte counter is part of the input. */
  readonly counter: boolean;
  /** `QFxx`: the challenge question's format and length. */
  readonly question: { readonly format: 'A' | 'N' | 'H'; readonly length: number };
  /** `PH`: the hash of a PIN/password is part of the input. */
  readonly password?: OcraHash;
  /** `Snnn`: session information of nnn bytes is part of the input. */
  readonly sessionLength?: number;
  /** `TG`: a timestamp counted in steps of this many seconds is part of the input. */
  readonly timeStepSeconds?: number;
}

/** The data inputs of one OCRA computation (RFC 6287 §5.1); each as its suite requires. */
export interface OcraInput {
  counter?: bigint | number;
  /** The challenge as typed or shown: digits for `N`, printable ASCII for `A`, hex digits for `H`. */
  question: string;
  /** The password hash (`PH`); see `ocraPasswordHash`. */
  password?: Uint8Array;
  /** Session information (`Snnn`), at most nnn bytes (left-padded with zero bytes). */
  session?: Uint8Array;
  /** The time, counted in the suite's time steps since the Unix epoch. */
  timestamp?: bigint | number;
}

const HASH_BYTES: Record<OcraHash, number> = { SHA1: 20, SHA256: 32, SHA512: 64 };
const HASHES = { SHA1: sha1, SHA256: sha256, SHA512: sha512 } as const;

/** Question (Q) is always 128 bytes in the message (§5.1). */
const QUESTION_BYTES = 128;

function parseHash(text: string, where: string): OcraHash {
  if (text === 'SHA1' || text === 'SHA256' || text === 'SHA512') return text;
  throw new OcraError(`OCRA suite: unknown hash "${text}" in ${where} (SHA1, SHA256 or SHA512)`);
}

/**
 * Parse an OCRA suite such as `OCRA-1:HOTP-SHA256-8:QN06-PSHA1`.
 *
 * RFC 6287 §6: `Algorithm:CryptoFunction:DataInput`, with DataInput `[C-]QFxx[-PH][-Snnn][-TG]`
 * in that order. Throws OcraError on anything else.
 */
export function parseOcraSuite(suite: string): OcraSuite {
  const parts = suite.split(':');
  if (parts.length !== 3) throw new OcraError(`OCRA suite "${suite}": expected Algorithm:CryptoFunction:DataInput`);
  const [algorithmPart, cryptoPart, dataPart] = parts as [string, string, string];
  if (algorithmPart !== 'OCRA-1') throw new OcraError(`OCRA suite "${suite}": version must be OCRA-1`);

  const crypto = /^HOTP-(SHA1|SHA256|SHA512)-(\d{1,2})$/.exec(cryptoPart);
  if (!crypto) throw new OcraError(`OCRA suite "${suite}": crypto function must be HOTP-SHAx-t`);
  const algorithm = parseHash(crypto[1]!, 'the crypto function');
  const digitsText = crypto[2]!;
  const digits = Number(digitsText);
  // §6.3: t = 0 (no truncation) or 4–10.
  if (!(digitsText === '0' || (digits >= 4 && digits <= 10 && !digitsText.startsWith('0')))) {
    throw new OcraError(`OCRA suite "${suite}": truncation length must be 0 or 4–10`);
  }

  const fields = dataPart.split('-');
  let i = 0;
  let counter = false;
  if (fields[i] === 'C') {
    counter = true;
    i++;
  }
  const q = /^Q([ANH])(\d{2})$/.exec(fields[i] ?? '');
  if (!q) throw new OcraError(`OCRA suite "${suite}": data input needs a question QFxx (F = A, N or H)`);
  const length = Number(q[2]);
  if (length < 4 || length > 64) throw new OcraError(`OCRA suite "${suite}": question length must be 04–64`);
  i++;
  const parsed: {
    -readonly [K in keyof OcraSuite]: OcraSuite[K];
  } = { text: suite, algorithm, digits, counter, question: { format: q[1] as 'A' | 'N' | 'H', length } };

  let field = fields[i];
  if (field !== undefined && field.startsWith('P')) {
    const p = /^PSHA(1|256|512)$/.exec(field);
    if (!p) throw new OcraError(`OCRA suite "${suite}": password field must be PSHA1, PSHA256 or PSHA512`);
    parsed.password = parseHash(`SHA${p[1]}`, 'the password field');
    field = fields[++i];
  }
  if (field !== undefined && field.startsWith('S')) {
    const s = /^S(\d{3})$/.exec(field);
    if (!s || Number(s[1]) === 0) throw new OcraError(`OCRA suite "${suite}": session field must be Snnn (nnn bytes, 001–999)`);
    parsed.sessionLength = Number(s[1]);
    field = fields[++i];
  }
  if (field !== undefined && field.startsWith('T')) {
    const t = /^T(\d{1,2})([SMH])$/.exec(field);
    if (!t) throw new OcraError(`OCRA suite "${suite}": timestamp field must be TG (e.g. T30S, T1M, T1H)`);
    const n = Number(t[1]);
    const unit = t[2]!;
    // §6.3: [1-59]S, [1-59]M, [0-48]H; a zero step is meaningless, so 1–48 hours.
    const ok = unit === 'H' ? n >= 1 && n <= 48 : n >= 1 && n <= 59;
    if (!ok) throw new OcraError(`OCRA suite "${suite}": time step out of range (1–59 S/M, 1–48 H)`);
    parsed.timeStepSeconds = n * (unit === 'S' ? 1 : unit === 'M' ? 60 : 3600);
    field = fields[++i];
  }
  if (field !== undefined) throw new OcraError(`OCRA suite "${suite}": unexpected data input "${field}"`);
  return parsed;
}

function toUint64(value: bigint | number, what: string): Uint8Array {
  let n: bigint;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new OcraError(`OCRA ${what} must be an integer`);
    n = BigInt(value);
  } else {
    n = value;
  }
  if (n < 0n || n >= 1n << 64n) throw new OcraError(`OCRA ${what} must fit in 8 bytes`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
}

/**
 * Encode the question into its 128 bytes (RFC 6287 §5.1 and the reference implementation).
 *
 * N: the decimal number written in hex; A: the ASCII bytes; H: the hex digits. The hex text is
 * right-padded with zero nibbles, so an odd-length hex text fills the high nibble of its last byte.
 * Each format accepts exactly xx characters, or 2·xx for mutual challenge-response, where the
 * question is the client's and the server's challenges concatenated (§7.3).
 */
function encodeQuestion(suite: OcraSuite, question: string): Uint8Array {
  const { format, length } = suite.question;
  if (question.length !== length && question.length !== 2 * length) {
    throw new OcraError(`OCRA question must have ${length} characters (or ${2 * length} for mutual challenge-response)`);
  }
  const out = new Uint8Array(QUESTION_BYTES);
  if (format === 'A') {
    for (let i = 0; i < question.length; i++) {
      const c = question.charCodeAt(i);
      if (c < 0x20 || c > 0x7e) throw new OcraError('OCRA alphanumeric question must be printable ASCII');
      out[i] = c;
    }
    return out;
  }
  let hex: string;
  if (format === 'N') {
    if (!/^\d+$/.test(question)) throw new OcraError('OCRA numeric question must contain digits only');
    hex = BigInt(question).toString(16);
  } else {
    if (!/^[0-9A-Fa-f]+$/.test(question)) throw new OcraError('OCRA hex question must contain hex digits only');
    hex = question;
  }
  if (hex.length > 2 * QUESTION_BYTES) throw new OcraError('OCRA question does not fit in 128 bytes');
  for (let i = 0; i < hex.length; i++) {
    const nibble = parseInt(hex[i]!, 16);
    out[i >> 1]! |= i % 2 === 0 ? nibble << 4 : nibble;
  }
  return out;
}

/** The message of RFC 6287 §5.1: suite ‖ 0x00 ‖ C ‖ Q ‖ P ‖ S ‖ T. */
function ocraMessage(suite: OcraSuite, input: OcraInput): Uint8Array {
  const chunks: Uint8Array[] = [new TextEncoder().encode(suite.text), new Uint8Array(1)];
  if (suite.counter) {
    if (input.counter === undefined) throw new OcraError(`OCRA suite ${suite.text} needs a counter`);
    chunks.push(toUint64(input.counter, 'counter'));
  } else if (input.counter !== undefined) {
    throw new OcraError(`OCRA suite ${suite.text} takes no counter`);
  }
  chunks.push(encodeQuestion(suite, input.question));
  if (suite.password) {
    const expected = HASH_BYTES[suite.password];
    if (!input.password) throw new OcraError(`OCRA suite ${suite.text} needs a password hash`);
    if (input.password.length !== expected) {
      throw new OcraError(`OCRA password hash must be ${expected} bytes (P${suite.password})`);
    }
    chunks.push(input.password);
  } else if (input.password !== undefined) {
    throw new OcraError(`OCRA suite ${suite.text} takes no password`);
  }
  if (suite.sessionLength !== undefined) {
    if (!input.session) throw new OcraError(`OCRA suite ${suite.text} needs session information`);
    if (input.session.length > suite.sessionLength) {
      throw new OcraError(`OCRA session information must be at most ${suite.sessionLength} bytes`);
    }
    const s = new Uint8Array(suite.sessionLength);
    s.set(input.session, suite.sessionLength - input.session.length);
    chunks.push(s);
  } else if (input.session !== undefined) {
    throw new OcraError(`OCRA suite ${suite.text} takes no session information`);
  }
  if (suite.timeStepSeconds !== undefined) {
    if (input.timestamp === undefined) throw new OcraError(`OCRA suite ${suite.text} needs a timestamp`);
    chunks.push(toUint64(input.timestamp, 'timestamp'));
  } else if (input.timestamp !== undefined) {
    throw new OcraError(`OCRA suite ${suite.text} takes no timestamp`);
  }
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const message = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    message.set(c, at);
    at += c.length;
  }
  return message;
}

/**
 * The raw HMAC of an OCRA computation, before truncation.
 *
 * For devices that encode the answer their own way (the Platinum device, core/platinum.ts).
 */
export function ocraHmac(suite: string | OcraSuite, key: Uint8Array, input: OcraInput): Uint8Array {
  const parsed = typeof suite === 'string' ? parseOcraSuite(suite) : suite;
  return hmac(HASHES[parsed.algorithm], key, ocraMessage(parsed, input));
}

/** RFC 4226 §5.3 dynamic truncation: a 31-bit number from 4 bytes at the offset in the last nibble. */
export function dynamicTruncate(mac: Uint8Array): number {
  const offset = mac[mac.length - 1]! & 0x0f;
  return (
    ((mac[offset]! & 0x7f) << 24) |
    ((mac[offset + 1]! & 0xff) << 16) |
    ((mac[offset + 2]! & 0xff) << 8) |
    (mac[offset + 3]! & 0xff)
  );
}

function truncateToDigits(mac: Uint8Array, digits: number): string {
  return (dynamicTruncate(mac) % 10 ** digits).toString().padStart(digits, '0');
}

function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s.toUpperCase();
}

/**
 * Compute an OCRA response (RFC 6287 §5.2).
 *
 * Returns `digits` decimal digits, or with `t = 0` the whole HMAC in upper-case hex.
 * Throws OcraError when the suite is malformed or an input is missing, extra or malformed.
 */
export function ocra(suite: string, key: Uint8Array, input: OcraInput): string {
  const parsed = parseOcraSuite(suite);
  const mac = ocraHmac(parsed, key, input);
  return parsed.digits === 0 ? toHex(mac) : truncateToDigits(mac, parsed.digits);
}

/**
 * The password input P for a PIN: the PIN's UTF-8 bytes hashed with the suite's PSHAx.
 *
 * RFC 6287 §5.1 (the RFC's vectors hash the PIN "1234" with SHA-1). Throws if the suite has no P.
 */
export function ocraPasswordHash(suite: string, pin: string): Uint8Array {
  const parsed = parseOcraSuite(suite);
  if (!parsed.password) throw new OcraError(`OCRA suite ${suite} takes no password`);
  return HASHES[parsed.password](new TextEncoder().encode(pin));
}

/**
 * Compare two strings in time that depends only on their lengths.
 *
 * Lengths are not secret (a response's length is public in its suite); the contents are.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  if (ea.length !== eb.length) return false;
  let diff = 0;
  for (let i = 0; i < ea.length; i++) diff |= ea[i]! ^ eb[i]!;
  return diff === 0;
}

/**
 * Check a response against the one the suite computes, in constant time.
 *
 * Malformed suites and inputs throw OcraError (they are the caller's bug, or the caller's
 * challenge is wrong); a wrong response only returns false.
 */
export function verifyOcra(suite: string, key: Uint8Array, input: OcraInput, response: string): boolean {
  return constantTimeEqual(ocra(suite, key, input), response);
}

/**
 * HOTP (RFC 4226 §5.3): HMAC-SHA-1 over an 8-byte counter, dynamically truncated.
 *
 * Kept beside OCRA, which is built on it, for one-time codes (SMS, passcodes) derived from a key.
 */
export function hotp(key: Uint8Array, counter: bigint | number, digits = 6): string {
  if (!Number.isInteger(digits) || digits < 6 || digits > 10) throw new OcraError('HOTP digits must be 6–10 (RFC 4226 §5.3)');
  return truncateToDigits(hmac(sha1, key, toUint64(counter, 'counter')), digits);
}
