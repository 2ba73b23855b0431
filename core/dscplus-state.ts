/**
 * The DSC+ emulator's state file: serial, secret, PIN hash and tries left.
 *
 * Shared by the operator CLI (`slsctl`, which writes it when it provisions a card, SPEC H1) and the
 * emulator (which reads it and persists the tries, SPEC H2). The PIN itself is never stored: only a
 * PBKDF2-SHA256 hash to check what is typed on the keypad. The OCRA password hash (SHA-1 of the PIN,
 * RFC 6287 §5.1 "PSHA1") is derived from the typed PIN at the moment it is typed.
 */
import { z } from 'zod';
import { pbkdf2, pbkdf2Async } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { DEVICE_CATALOGUE } from './devices.ts';

const hex = z.string().regex(/^(?:[0-9a-f]{2})+$/, 'lower-case hex, whole bytes');

export const DscPlusState = z.object({
  version: z.literal(1),
  /** The card's 10-digit serial, also its USB serial number string. */
  serial: z.string().regex(/^\d{10}$/),
  /** 1 = DSC+ (the INFO model byte). */
  model: z.literal(1),
  /** DEVICE_CATALOGUE.dscplus.ocraSuite (SPEC D2). */
  suite: z.string(),
  /** The OCRA key, hex. */
  secretHex: hex,
  pinHash: z.object({
    alg: z.literal('pbkdf2-sha256'),
    iterations: z.number().int().min(1),
    saltHex: hex,
    hashHex: hex,
  }),
  /** PIN tries left; 0 = blocked (protocol: 3 at first). */
  triesLeft: z.number().int().min(0).max(3),
  firmware: z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)]),
});
export type DscPlusState = z.infer<typeof DscPlusState>;

/** Iterations for the PIN hash: modest, the file is the emulator's, and tests must stay fast. */
export const DSCPLUS_PIN_ITERATIONS = 100_000;
/** PIN tries a fresh card has (protocol page, "3 at first"). */
export const DSCPLUS_MAX_TRIES = 3;
/** The DSC+ PIN is 4 digits (SPEC D2). */
export const DSCPLUS_PIN_PATTERN = /^\d{4}$/;
export const DSCPLUS_FIRMWARE: readonly [number, number, number] = [1, 0, 0];

export class DscPlusStateError extends Error {
  readonly code: 'INVALID_SERIAL' | 'INVALID_PIN' | 'INVALID_SECRET';
  constructor(code: DscPlusStateError['code'], message: string) {
    super(message);
    this.name = 'DscPlusStateError';
    this.code = code;
  }
}

function hashPin(pin: string, salt: Uint8Array, iterations: number, dkLen = 32): Uint8Array {
  return pbkdf2(sha256, utf8ToBytes(pin), salt, { c: iterations, dkLen });
}

/**
 * A fresh card's state, as the operator CLI provisions it.
 *
 * Checks its inputs (10-digit serial, 4-digit PIN, non-empty secret) and throws a coded error otherwise.
 */
export function newDscPlusState(opts: {
  serial: string;
  secret: Uint8Array;
  pin: string;
  rng?: (n: number) => Uint8Array;
}): DscPlusState {
  if (!/^\d{10}$/.test(opts.serial)) throw new DscPlusStateError('INVALID_SERIAL', 'the serial must be 10 digits');
  if (!DSCPLUS_PIN_PATTERN.test(opts.pin)) throw new DscPlusStateError('INVALID_PIN', 'the PIN must be 4 digits (SPEC D2)');
  if (opts.secret.length === 0) throw new DscPlusStateError('INVALID_SECRET', 'the secret must not be empty');
  const salt = (opts.rng ?? randomBytes)(16);
  const suite = DEVICE_CATALOGUE.dscplus.ocraSuite;
  if (suite === null) throw new Error('the catalogue names no DSC+ suite');
  return {
    version: 1,
    serial: opts.serial,
    model: 1,
    suite,
    secretHex: bytesToHex(opts.secret),
    pinHash: {
      alg: 'pbkdf2-sha256',
      iterations: DSCPLUS_PIN_ITERATIONS,
      saltHex: bytesToHex(salt),
      hashHex: bytesToHex(hashPin(opts.pin, salt, DSCPLUS_PIN_ITERATIONS)),
    },
    triesLeft: DSCPLUS_MAX_TRIES,
    firmware: [...DSCPLUS_FIRMWARE],
  };
}

/** Compares two byte strings in time that depends only on their lengths. */
function constantEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Whether `pin` is the card's PIN.
 *
 * Constant-time comparison of the PBKDF2 hashes. Does not look at or change the tries: the caller
 * (the emulator) counts them.
 */
export function checkDscPlusPin(state: DscPlusState, pin: string): boolean {
  const { iterations, saltHex, hashHex } = state.pinHash;
  const expected = hexToBytes(hashHex);
  if (expected.length === 0) return false;
  return constantEquals(hashPin(pin, hexToBytes(saltHex), iterations, expected.length), expected);
}

/**
 * `checkDscPlusPin` without blocking the event loop.
 *
 * The emulator must keep sending KEEPALIVEs every 100 ms while it checks the PIN (protocol page), and
 * 100k PBKDF2 rounds take longer than that; noble's async PBKDF2 yields as it goes.
 */
export async function checkDscPlusPinAsync(state: DscPlusState, pin: string): Promise<boolean> {
  const { iterations, saltHex, hashHex } = state.pinHash;
  const expected = hexToBytes(hashHex);
  if (expected.length === 0) return false;
  const actual = await pbkdf2Async(sha256, utf8ToBytes(pin), hexToBytes(saltHex), { c: iterations, dkLen: expected.length, asyncTick: 5 });
  return constantEquals(actual, expected);
}
