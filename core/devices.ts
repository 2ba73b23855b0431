/**
 * The device catalogue: every kind of second factor, in one place.
 *
 * Kinds, display names, security levels (SPEC S1), whether a kind is still issued (SPEC §2, D7),
 * whether it may be shared (S2), which challenge it answers (L4), its OCRA suite (D2) and its
 * withdrawal limits (W1, W3). Anything that needs one of these facts reads it here.
 */

export const DEVICE_KINDS = [
  'ibkey',
  'dscplus',
  'platinum',
  'gold',
  'dsc',
  'scc',
  'online_scc',
  'sms',
  'temp_passcode',
] as const;

export type DeviceKind = (typeof DEVICE_KINDS)[number];

/** What the login screen asks for (SPEC L4). */
export type ChallengeStyle = 'push' | 'response_code' | 'index_numbers' | 'sms_code' | 'passcode';

/**
 * Characters a response may contain. The Platinum device answers with 0–9 and A C E F H P (SPEC D2);
 * Security Code Card cells hold digits and capital letters (D3).
 */
export type ResponseAlphabet = 'digits' | 'platinum' | 'alphanumeric';

export const PLATINUM_ALPHABET = '0123456789ACEFHP';

/** USD per period; `null` means unlimited. */
export interface WithdrawalLimits {
  readonly perDay: number | null;
  readonly perFiveBusinessDays: number | null;
}

export interface DeviceKindInfo {
  readonly kind: DeviceKind;
  readonly name: string;
  /** Security level for sharing (SPEC S1c): 3 highest, 1 lowest; `null` where the kind is never shareable. */
  readonly securityLevel: number | null;
  /** Can users still order or be given one (SPEC §2 table, D7)? */
  readonly issuedNow: boolean;
  readonly physical: boolean;
  /** Temporary devices block sharing (SPEC S1b). */
  readonly temporary: boolean;
  readonly challenge: ChallengeStyle;
  /** OCRA suite for challenge/response devices (SPEC D2); one place names each. */
  readonly ocraSuite: string | null;
  /** Number of digits in the challenge shown to the user. */
  readonly challengeLength: number | null;
  readonly responseLength: number | null;
  readonly responseAlphabet: ResponseAlphabet;
  /** The PIN is entered on the device itself (DSC+, SPEC H2). */
  readonly pinOnDevice: boolean;
  readonly limits: WithdrawalLimits;
}

const unlimited: WithdrawalLimits = { perDay: null, perFiveBusinessDays: null };

/**
 * The catalogue. Suites: SPEC D2 fixes the DSC+ suite; the others are ours, named here only.
 * Limits: SPEC W1 (IB Key at 1M/1M per W3; SMS and temporary passcode from the broker's current table;
 * the online SCC has the SCC row, W3).
 */
export const DEVICE_CATALOGUE: Readonly<Record<DeviceKind, DeviceKindInfo>> = {
  ibkey: {
    kind: 'ibkey', name: 'IB Key', securityLevel: null, issuedNow: true, physical: false, temporary: false,
    challenge: 'push', ocraSuite: 'OCRA-1:HOTP-SHA256-8:QN06', challengeLength: 6, responseLength: 8,
    responseAlphabet: 'digits', pinOnDevice: false,
    limits: { perDay: 1_000_000, perFiveBusinessDays: 1_000_000 },
  },
  dscplus: {
    kind: 'dscplus', name: 'Digital Security Card+', securityLevel: 3, issuedNow: true, physical: true, temporary: false,
    challenge: 'response_code', ocraSuite: 'OCRA-1:HOTP-SHA256-8:QN06-PSHA1', challengeLength: 6, responseLength: 8,
    responseAlphabet: 'digits', pinOnDevice: true, limits: unlimited,
  },
  platinum: {
    kind: 'platinum', name: 'Platinum device', securityLevel: 3, issuedNow: false, physical: true, temporary: false,
    challenge: 'response_code', ocraSuite: 'OCRA-1:HOTP-SHA512-8:QN08', challengeLength: 8, responseLength: 8,
    responseAlphabet: 'platinum', pinOnDevice: false, limits: unlimited,
  },
  gold: {
    kind: 'gold', name: 'Gold device', securityLevel: 3, issuedNow: false, physical: true, temporary: false,
    challenge: 'response_code', ocraSuite: 'OCRA-1:HOTP-SHA1-8:QN08', challengeLength: 8, responseLength: 8,
    responseAlphabet: 'digits', pinOnDevice: false, limits: unlimited,
  },
  dsc: {
    kind: 'dsc', name: 'Digital Security Card', securityLevel: 2, issuedNow: false, physical: true, temporary: false,
    challenge: 'response_code', ocraSuite: 'OCRA-1:HOTP-SHA1-6:QN06', challengeLength: 6, responseLength: 6,
    responseAlphabet: 'digits', pinOnDevice: false,
    limits: { perDay: 1_000_000, perFiveBusinessDays: 1_500_000 },
  },
  scc: {
    kind: 'scc', name: 'Security Code Card', securityLevel: 1, issuedNow: false, physical: true, temporary: false,
    challenge: 'index_numbers', ocraSuite: null, challengeLength: null, responseLength: 6,
    responseAlphabet: 'alphanumeric', pinOnDevice: false,
    limits: { perDay: 200_000, perFiveBusinessDays: 600_000 },
  },
  online_scc: {
    kind: 'online_scc', name: 'Online Security Code Card', securityLevel: null, issuedNow: true, physical: false, temporary: true,
    challenge: 'index_numbers', ocraSuite: null, challengeLength: null, responseLength: 6,
    responseAlphabet: 'alphanumeric', pinOnDevice: false,
    limits: { perDay: 200_000, perFiveBusinessDays: 600_000 },
  },
  sms: {
    kind: 'sms', name: 'SMS', securityLevel: null, issuedNow: true, physical: false, temporary: false,
    challenge: 'sms_code', ocraSuite: null, challengeLength: null, responseLength: 6,
    responseAlphabet: 'digits', pinOnDevice: false,
    limits: { perDay: 200_000, perFiveBusinessDays: 600_000 },
  },
  temp_passcode: {
    kind: 'temp_passcode', name: 'Temporary passcode', securityLevel: null, issuedNow: true, physical: false, temporary: true,
    challenge: 'passcode', ocraSuite: null, challengeLength: null, responseLength: 8,
    responseAlphabet: 'digits', pinOnDevice: false,
    limits: { perDay: 50_000, perFiveBusinessDays: 100_000 },
  },
};

export function deviceInfo(kind: DeviceKind): DeviceKindInfo {
  return DEVICE_CATALOGUE[kind];
}

/** Ordering for "highest security level" (SPEC L3 fallback, S1c): unshareable kinds rank below level 1. */
export function securityRank(kind: DeviceKind): number {
  return DEVICE_CATALOGUE[kind].securityLevel ?? 0;
}

/** DSC+ may be requested from this account balance up (SPEC D6). */
export const DSCPLUS_MIN_BALANCE_USD = 500_000;

/** Trading-platform clients older than this get no drop-down (SPEC L3). */
export const M2FS_MIN_CLIENT_VERSION = 966;
