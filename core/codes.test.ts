import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  constantTimeEqual,
  cryptoRandomBytes,
  deviceResponse,
  normalizeResponse,
  randomBelow,
  randomDigits,
  randomNumericChallenge,
  randomString,
  verifyDeviceResponse,
  type RandomBytes,
} from './codes.ts';
import { DEVICE_CATALOGUE, DEVICE_KINDS, PLATINUM_ALPHABET } from './devices.ts';
import { ocra, OcraError, ocraPasswordHash } from './ocra.ts';
import { PLATINUM_SUITE, platinumResponse } from './platinum.ts';

const KEY32 = new TextEncoder().encode('12345678901234567890123456789012');
const KEY64 = new TextEncoder().encode('1234567890123456789012345678901234567890123456789012345678901234');

/** A random source that replays the given bytes, then fails: shows exactly which bytes were used. */
function replay(bytes: number[]): RandomBytes {
  let at = 0;
  return (length) => {
    if (at + length > bytes.length) {
      const rest = bytes.slice(at);
      at = bytes.length;
      if (rest.length === 0) throw new Error('replay exhausted');
      return Uint8Array.from(rest);
    }
    const out = Uint8Array.from(bytes.slice(at, at + length));
    at += length;
    return out;
  };
}

/** A seeded, deterministic byte source (xorshift32) for distribution checks. */
function seeded(seed: number): RandomBytes {
  let x = seed >>> 0 || 1;
  return (length) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

describe('Platinum device response (SPEC D2, core/platinum.ts)', () => {
  it('uses the suite named in the device catalogue', () => {
    expect(PLATINUM_SUITE).toBe(DEVICE_CATALOGUE.platinum.ocraSuite);
  });

  it('answers an 8-digit challenge with 8 characters of 0–9 A C E F H P', () => {
    for (const challenge of ['00000000', '12345678', '99999999', '31415926']) {
      expect(platinumResponse(KEY64, challenge)).toMatch(/^[0-9ACEFHP]{8}$/);
    }
  });

  it('matches an independent computation with node:crypto (RFC 6287 §5.1 message, 32 bits at the RFC 4226 offset)', () => {
    const challenge = '87654321';
    const q = Buffer.alloc(128);
    let h = BigInt(challenge).toString(16);
    if (h.length % 2) h += '0';
    Buffer.from(h, 'hex').copy(q);
    const message = Buffer.concat([Buffer.from(PLATINUM_SUITE), Buffer.alloc(1), q]);
    const mac = createHmac('sha512', KEY64).update(message).digest();
    const offset = mac[mac.length - 1]! & 0x0f;
    const word = mac.readUInt32BE(offset);
    const expected = [...word.toString(16).padStart(8, '0')].map((n) => PLATINUM_ALPHABET[parseInt(n, 16)]).join('');
    expect(platinumResponse(KEY64, challenge)).toBe(expected);
  });

  it('rejects a challenge that is not 8 digits', () => {
    expect(() => platinumResponse(KEY64, '1234567')).toThrow(OcraError);
    expect(() => platinumResponse(KEY64, '1234567X')).toThrow(OcraError);
  });
});

describe('deviceResponse / verifyDeviceResponse (SPEC D2)', () => {
  const challengeKinds = DEVICE_KINDS.filter((k) => DEVICE_CATALOGUE[k].ocraSuite !== null);

  it('covers exactly the challenge/response devices', () => {
    expect([...challengeKinds].sort()).toEqual(['dsc', 'dscplus', 'gold', 'ibkey', 'platinum']);
  });

  it.each(challengeKinds)('%s: the response has the catalogue length and alphabet, and verifies', (kind) => {
    const info = DEVICE_CATALOGUE[kind];
    const challenge = '1234567890'.slice(0, info.challengeLength!);
    const opts = kind === 'dscplus' ? { pinHash: ocraPasswordHash(info.ocraSuite!, '1234') } : {};
    const response = deviceResponse(kind, KEY32, challenge, opts);
    expect(response).toHaveLength(info.responseLength!);
    expect(response).toMatch(info.responseAlphabet === 'platinum' ? /^[0-9ACEFHP]+$/ : /^\d+$/);
    expect(verifyDeviceResponse(kind, KEY32, challenge, response, opts)).toBe(true);
  });

  it('DSC+ answers with the D2 suite and the PIN hash', () => {
    const suite = 'OCRA-1:HOTP-SHA256-8:QN06-PSHA1';
    const pinHash = ocraPasswordHash(suite, '4711');
    expect(deviceResponse('dscplus', KEY32, '000123', { pinHash })).toBe(ocra(suite, KEY32, { question: '000123', password: pinHash }));
  });

  it('DSC+ refuses to answer without the PIN hash; other devices refuse one', () => {
    expect(() => deviceResponse('dscplus', KEY32, '123456')).toThrow(OcraError);
    const pinHash = ocraPasswordHash('OCRA-1:HOTP-SHA1-6:QN06-PSHA1', '1234');
    expect(() => deviceResponse('dsc', KEY32, '123456', { pinHash })).toThrow(OcraError);
    expect(() => deviceResponse('platinum', KEY32, '12345678', { pinHash })).toThrow(OcraError);
  });

  it('refuses kinds without a suite and challenges of the wrong length', () => {
    expect(() => deviceResponse('scc', KEY32, '123456')).toThrow(OcraError);
    expect(() => deviceResponse('sms', KEY32, '123456')).toThrow(OcraError);
    expect(() => deviceResponse('gold', KEY32, '123456')).toThrow(OcraError);
    // OCRA alone would take 2·xx characters (mutual mode); a device challenge is exactly xx.
    expect(() => deviceResponse('dsc', KEY32, '123456123456')).toThrow(OcraError);
  });

  it('accepts a Platinum response typed in lower case with spaces', () => {
    const response = deviceResponse('platinum', KEY32, '24681357');
    const typed = ` ${response.slice(0, 4).toLowerCase()} ${response.slice(4).toLowerCase()} `;
    expect(verifyDeviceResponse('platinum', KEY32, '24681357', typed)).toBe(true);
  });

  it('rejects wrong, short, foreign-alphabet and other-PIN responses', () => {
    const response = deviceResponse('gold', KEY32, '11223344');
    const wrong = response.slice(0, 7) + String((Number(response[7]) + 1) % 10);
    expect(verifyDeviceResponse('gold', KEY32, '11223344', wrong)).toBe(false);
    expect(verifyDeviceResponse('gold', KEY32, '11223344', response.slice(0, 7))).toBe(false);
    expect(verifyDeviceResponse('gold', KEY32, '11223344', `${response}0`)).toBe(false);
    expect(verifyDeviceResponse('gold', KEY32, '11223344', '')).toBe(false);
    expect(verifyDeviceResponse('platinum', KEY32, '11223344', 'BBBBBBBB')).toBe(false);
    const suite = DEVICE_CATALOGUE.dscplus.ocraSuite!;
    const mine = deviceResponse('dscplus', KEY32, '123456', { pinHash: ocraPasswordHash(suite, '1234') });
    expect(verifyDeviceResponse('dscplus', KEY32, '123456', mine, { pinHash: ocraPasswordHash(suite, '9999') })).toBe(false);
  });

  it('gives a different answer for a different key or challenge', () => {
    const a = deviceResponse('ibkey', KEY32, '123456');
    expect(deviceResponse('ibkey', KEY64, '123456')).not.toBe(a);
    expect(deviceResponse('ibkey', KEY32, '123457')).not.toBe(a);
  });
});

describe('random codes', () => {
  it('randomBelow rejects biased bytes (250–255 for n = 10) and draws again', () => {
    expect(randomBelow(10, replay([255, 250, 253, 7, ...new Array<number>(12).fill(0)]))).toBe(7);
    expect(randomBelow(10, replay([249, ...new Array<number>(15).fill(0)]))).toBe(9);
  });

  it('randomDigits skips the bytes that would bias the digits', () => {
    // 250–255 are rejected; 13 → 3, 0 → 0, 249 → 9, 42 → 2.
    expect(randomDigits(4, replay([250, 13, 255, 0, 249, 42]))).toBe('3092');
  });

  it('randomDigits keeps leading zeros and has the length asked', () => {
    expect(randomDigits(6, replay([0, 10, 20, 1, 2, 3]))).toBe('000123');
    expect(randomDigits(0)).toBe('');
    for (let i = 0; i < 50; i++) expect(randomDigits(8)).toMatch(/^\d{8}$/);
  });

  it('randomString draws every symbol about equally often', () => {
    const counts = new Map<string, number>();
    const s = randomString('ABCDEFG', 70_000, seeded(12345));
    for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(7);
    // Expected 10 000 each; 5 standard deviations ≈ 450.
    for (const n of counts.values()) expect(Math.abs(n - 10_000)).toBeLessThan(450);
  });

  it('randomNumericChallenge gives digits of the length asked and refuses lengths outside QN04–QN64', () => {
    expect(randomNumericChallenge(6)).toMatch(/^\d{6}$/);
    expect(() => randomNumericChallenge(3)).toThrow(RangeError);
    expect(() => randomNumericChallenge(65)).toThrow(RangeError);
    expect(() => randomDigits(-1)).toThrow(RangeError);
  });

  it('uses the platform CSPRNG by default (two draws differ)', () => {
    expect(randomDigits(32)).not.toBe(randomDigits(32));
  });
});

describe('normalizeResponse and constantTimeEqual', () => {
  it('trims, drops inner spaces and tabs, upper-cases', () => {
    expect(normalizeResponse('alphanumeric', '  a1b 2c3\t')).toBe('A1B2C3');
    expect(normalizeResponse('digits', ' 1234 5678 ')).toBe('12345678');
    expect(normalizeResponse('platinum', 'ac ef hp 01')).toBe('ACEFHP01');
  });

  it('constantTimeEqual is re-exported', () => {
    expect(constantTimeEqual('ABC', 'ABC')).toBe(true);
    expect(constantTimeEqual('ABC', 'ABD')).toBe(false);
  });
});

describe('cryptoRandomBytes: the pooled CSPRNG (issue 2)', () => {
  it('hands out fresh bytes each call, across pool refills, as independent copies', () => {
    const seen = new Set<string>();
    // 16-byte draws: 1,000 of them cross the 4 KiB pool about four times.
    for (let i = 0; i < 1000; i++) {
      const b = cryptoRandomBytes(16);
      expect(b).toHaveLength(16);
      const hex = Buffer.from(b).toString('hex');
      expect(seen.has(hex)).toBe(false);
      seen.add(hex);
    }
    const a = cryptoRandomBytes(8);
    const copy = Uint8Array.from(a);
    a.fill(0xff);
    expect(cryptoRandomBytes(8)).not.toEqual(a);
    expect(a).not.toEqual(copy);
  });

  it('serves odd and large sizes (over 1 KiB straight from the CSPRNG)', () => {
    for (const n of [0, 1, 7, 1023, 1024, 1025, 4096, 10_000]) expect(cryptoRandomBytes(n)).toHaveLength(n);
  });

  it('looks uniform: every byte value turns up, none far too often', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 512; i++) for (const b of cryptoRandomBytes(64)) counts[b]!++;
    // 32,768 bytes: 128 expected per value, σ ≈ 11.3. The draws are the real CSPRNG's (not seeded),
    // so the bound is 6σ (±68): with 256 values judged, 5σ would fail a correct pool about once in
    // 3,500 runs; 6σ about once in 2 million. A biased pool (a byte stuck, a value never drawn) fails.
    expect(Math.min(...counts)).toBeGreaterThan(128 - 68);
    expect(Math.max(...counts)).toBeLessThan(128 + 68);
  });
});
