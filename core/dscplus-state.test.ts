import { describe, expect, it } from 'vitest';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { DscPlusState, DscPlusStateError, checkDscPlusPin, checkDscPlusPinAsync, newDscPlusState } from './dscplus-state.ts';
import { DEVICE_CATALOGUE } from './devices.ts';

const secret = new Uint8Array(32).map((_, i) => i);
const fixedRng = (n: number) => new Uint8Array(n).fill(7);

describe('DSC+ state file (SPEC H1, H2)', () => {
  it('provisions a fresh card with 3 tries, the catalogue suite and a PBKDF2-SHA256 PIN hash', () => {
    const state = newDscPlusState({ serial: '0123456789', secret, pin: '1234', rng: fixedRng });
    expect(DscPlusState.parse(state)).toEqual(state);
    expect(state.triesLeft).toBe(3);
    expect(state.suite).toBe(DEVICE_CATALOGUE.dscplus.ocraSuite);
    expect(state.secretHex).toBe(bytesToHex(secret));
    expect(state.pinHash.saltHex).toBe('07'.repeat(16));
    // Independent recomputation: PBKDF2-SHA256(pin, salt, iterations), 32 bytes.
    const expected = pbkdf2(sha256, new TextEncoder().encode('1234'), new Uint8Array(16).fill(7), { c: state.pinHash.iterations, dkLen: 32 });
    expect(state.pinHash.hashHex).toBe(bytesToHex(expected));
    expect(JSON.stringify(state)).not.toContain('1234"');
  });

  it('accepts the right PIN and refuses any other', () => {
    const state = newDscPlusState({ serial: '0123456789', secret, pin: '4321' });
    expect(checkDscPlusPin(state, '4321')).toBe(true);
    expect(checkDscPlusPin(state, '4320')).toBe(false);
    expect(checkDscPlusPin(state, '')).toBe(false);
    expect(checkDscPlusPin(state, '43210')).toBe(false);
  });

  it('checks the PIN the same way without blocking (async)', async () => {
    const state = newDscPlusState({ serial: '0123456789', secret, pin: '4321' });
    await expect(checkDscPlusPinAsync(state, '4321')).resolves.toBe(true);
    await expect(checkDscPlusPinAsync(state, '1234')).resolves.toBe(false);
  });

  it('uses a fresh salt for each card', () => {
    const a = newDscPlusState({ serial: '0123456789', secret, pin: '1234' });
    const b = newDscPlusState({ serial: '0123456789', secret, pin: '1234' });
    expect(a.pinHash.saltHex).not.toBe(b.pinHash.saltHex);
    expect(a.pinHash.hashHex).not.toBe(b.pinHash.hashHex);
  });

  it('refuses a serial that is not 10 digits, a PIN that is not 4 digits (SPEC D2), an empty secret', () => {
    expect(() => newDscPlusState({ serial: '123', secret, pin: '1234' })).toThrow(DscPlusStateError);
    expect(() => newDscPlusState({ serial: '0123456789', secret, pin: '12345' })).toThrow(/4 digits/);
    expect(() => newDscPlusState({ serial: '0123456789', secret, pin: 'abcd' })).toThrow(DscPlusStateError);
    expect(() => newDscPlusState({ serial: '0123456789', secret: new Uint8Array(0), pin: '1234' })).toThrow(DscPlusStateError);
  });

  it('rejects malformed state files', () => {
    const good = newDscPlusState({ serial: '0123456789', secret, pin: '1234', rng: fixedRng });
    expect(DscPlusState.safeParse({ ...good, triesLeft: 4 }).success).toBe(false);
    expect(DscPlusState.safeParse({ ...good, serial: '12345' }).success).toBe(false);
    expect(DscPlusState.safeParse({ ...good, version: 2 }).success).toBe(false);
    expect(DscPlusState.safeParse({ ...good, secretHex: 'xyz' }).success).toBe(false);
  });
});
