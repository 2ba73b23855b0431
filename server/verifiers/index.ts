/**
 * Which verifier serves which device kind: every kind of the catalogue has exactly one.
 */
import type { DeviceKind } from '../../core/devices.ts';
import { dscPlusVerifier, legacyTokenVerifier } from './challenge-response.ts';
import { ibKeyPushVerifier as ibKeyVerifier } from './ibkey-push.ts';
import { securityCodeCardVerifier } from './security-code-card.ts';
import { smsVerifier } from './sms.ts';
import { temporaryPasscodeVerifier } from './temporary-passcode.ts';
import type { SecondFactorVerifier } from './types.ts';

const ALL = [dscPlusVerifier, legacyTokenVerifier, ibKeyVerifier, securityCodeCardVerifier, smsVerifier, temporaryPasscodeVerifier];

export const VERIFIERS = Object.fromEntries(ALL.flatMap((v) => v.kinds.map((k) => [k, v]))) as Record<DeviceKind, SecondFactorVerifier>;

export function verifierFor(kind: DeviceKind): SecondFactorVerifier {
  const v = VERIFIERS[kind];
  if (!v) throw new Error(`no verifier for device kind ${kind}`);
  return v;
}
