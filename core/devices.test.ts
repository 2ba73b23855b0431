import { describe, expect, it } from 'vitest';
import { DEVICE_CATALOGUE, DEVICE_KINDS, DSCPLUS_MIN_BALANCE_USD, deviceInfo, PLATINUM_ALPHABET, securityRank, type DeviceKind } from './devices.ts';
import { parseOcraSuite } from './ocra.ts';

describe('device catalogue', () => {
  it('has one entry per kind, keyed by its own kind', () => {
    expect(Object.keys(DEVICE_CATALOGUE).sort()).toEqual([...DEVICE_KINDS].sort());
    for (const kind of DEVICE_KINDS) expect(deviceInfo(kind).kind).toBe(kind);
  });

  // SPEC W1 table, with W3: IB Key 1M/1M, the online SCC has the SCC row; null = unlimited.
  it.each<[DeviceKind, number | null, number | null]>([
    ['scc', 200_000, 600_000],
    ['ibkey', 1_000_000, 1_000_000],
    ['dsc', 1_000_000, 1_500_000],
    ['dscplus', null, null],
    ['gold', null, null],
    ['platinum', null, null],
    ['sms', 200_000, 600_000],
    ['temp_passcode', 50_000, 100_000],
    ['online_scc', 200_000, 600_000],
  ])('SPEC W1/W3 limits of %s: per day %s, per five business days %s', (kind, perDay, perFive) => {
    expect(DEVICE_CATALOGUE[kind].limits).toEqual({ perDay, perFiveBusinessDays: perFive });
  });

  it('never has a daily limit above its five-day limit', () => {
    for (const kind of DEVICE_KINDS) {
      const { perDay, perFiveBusinessDays } = DEVICE_CATALOGUE[kind].limits;
      if (perDay !== null && perFiveBusinessDays !== null) expect(perDay).toBeLessThanOrEqual(perFiveBusinessDays);
      if (perDay === null) expect(perFiveBusinessDays).toBeNull();
    }
  });

  // SPEC §2 table and S1: DSC+, Platinum, Gold 3; DSC 2; SCC 1; the rest not shareable.
  it.each<[DeviceKind, number | null]>([
    ['dscplus', 3],
    ['platinum', 3],
    ['gold', 3],
    ['dsc', 2],
    ['scc', 1],
    ['ibkey', null],
    ['sms', null],
    ['temp_passcode', null],
    ['online_scc', null],
  ])('SPEC S1 security level of %s is %s', (kind, level) => {
    expect(DEVICE_CATALOGUE[kind].securityLevel).toBe(level);
    expect(securityRank(kind)).toBe(level ?? 0);
  });

  it('ranks unshareable kinds below every shareable one (SPEC L3, S1c)', () => {
    const shareable = DEVICE_KINDS.filter((k) => DEVICE_CATALOGUE[k].securityLevel !== null);
    const others = DEVICE_KINDS.filter((k) => DEVICE_CATALOGUE[k].securityLevel === null);
    for (const s of shareable) for (const o of others) expect(securityRank(s)).toBeGreaterThan(securityRank(o));
  });

  // SPEC §2 and D7: legacy devices are no longer issued; the online SCC is (temporary access, T2).
  it.each<[DeviceKind, boolean]>([
    ['ibkey', true],
    ['dscplus', true],
    ['platinum', false],
    ['gold', false],
    ['dsc', false],
    ['scc', false],
    ['online_scc', true],
    ['sms', true],
    ['temp_passcode', true],
  ])('SPEC D7 issuedNow of %s is %s', (kind, issued) => {
    expect(DEVICE_CATALOGUE[kind].issuedNow).toBe(issued);
  });

  it('marks exactly the temporary passcode and the online SCC as temporary (SPEC S1b, T1, T2)', () => {
    expect(DEVICE_KINDS.filter((k) => DEVICE_CATALOGUE[k].temporary).sort()).toEqual(['online_scc', 'temp_passcode']);
  });

  it('uses the SPEC D2 suite for the DSC+: 6-digit challenge, 8-digit response, PIN on the card', () => {
    const info = DEVICE_CATALOGUE.dscplus;
    expect(info.ocraSuite).toBe('OCRA-1:HOTP-SHA256-8:QN06-PSHA1');
    expect(info.challengeLength).toBe(6);
    expect(info.responseLength).toBe(8);
    expect(info.pinOnDevice).toBe(true);
  });

  it('Platinum: 8-digit challenge, 8 characters of 0–9 A C E F H P (SPEC D2)', () => {
    const info = DEVICE_CATALOGUE.platinum;
    expect(PLATINUM_ALPHABET).toBe('0123456789ACEFHP');
    expect(info.challengeLength).toBe(8);
    expect(info.responseLength).toBe(8);
    expect(info.responseAlphabet).toBe('platinum');
  });

  it('every suite parses, and its question and response lengths match the catalogue', () => {
    for (const kind of DEVICE_KINDS) {
      const info = DEVICE_CATALOGUE[kind];
      if (info.ocraSuite === null) {
        expect(info.challenge).not.toBe('response_code');
        continue;
      }
      const suite = parseOcraSuite(info.ocraSuite);
      expect(suite.question.format).toBe('N');
      expect(suite.question.length).toBe(info.challengeLength);
      expect(suite.digits).toBe(info.responseLength);
      expect(suite.password !== undefined).toBe(info.pinOnDevice);
    }
  });

  it('names each suite once: no two kinds share one', () => {
    const suites = DEVICE_KINDS.map((k) => DEVICE_CATALOGUE[k].ocraSuite).filter((s) => s !== null);
    expect(new Set(suites).size).toBe(suites.length);
  });

  it('SCC kinds have 6-character alphanumeric responses (two 3-character cells, SPEC D3)', () => {
    for (const kind of ['scc', 'online_scc'] as const) {
      expect(DEVICE_CATALOGUE[kind].challenge).toBe('index_numbers');
      expect(DEVICE_CATALOGUE[kind].responseLength).toBe(6);
      expect(DEVICE_CATALOGUE[kind].responseAlphabet).toBe('alphanumeric');
    }
  });

  it('DSC+ may be requested from USD 500K (SPEC D6)', () => {
    expect(DSCPLUS_MIN_BALANCE_USD).toBe(500_000);
  });
});
