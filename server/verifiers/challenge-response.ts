/**
 * Challenge/response devices (SPEC D2): DSC+, DSC, Gold, Platinum and IB Key's offline codes.
 *
 * The server draws a random numeric challenge of the catalogue's length, bound to the login
 * transaction; the device (or the person holding it) computes the response with the kind's suite
 * (core/codes.ts, RFC 6287). The OCRA key is sealed in the device row (D4); for the DSC+ so is the
 * OCRA password hash of its PIN (PSHA1) — the PIN itself is never stored.
 */
import { randomNumericChallenge, verifyDeviceResponse } from '../../core/codes.ts';
import { DEVICE_CATALOGUE } from '../../core/devices.ts';
import type { DeviceKind } from '../../core/devices.ts';
import type { DeviceRow } from '../db/schema.ts';
import { sealContext } from './types.ts';
import type { SecondFactorVerifier, VerifierContext } from './types.ts';

function openKey(ctx: VerifierContext, device: DeviceRow): Uint8Array {
  if (!device.secret_sealed) throw new Error(`device ${device.id} has no secret`);
  return ctx.box.open(device.secret_sealed, sealContext(device.id, 'secret'));
}

export function challengeResponseVerifier(kinds: readonly DeviceKind[]): SecondFactorVerifier {
  return {
    kinds,
    canResend: false,
    async issue(_ctx, _tx, device) {
      const length = DEVICE_CATALOGUE[device.kind].challengeLength;
      if (length === null) throw new Error(`${device.kind} has no challenge length`);
      return { challenge: randomNumericChallenge(length), codeHash: null, challengeExpiresAt: null, resendAvailableAt: null };
    },
    async describe(_ctx, tx, device) {
      const info = DEVICE_CATALOGUE[device.kind];
      return {
        type: 'response_code',
        deviceId: device.id,
        kind: device.kind,
        challenge: tx.challenge ?? '',
        responseLength: info.responseLength ?? 8,
        responseAlphabet: info.responseAlphabet,
        pinOnDevice: info.pinOnDevice,
      };
    },
    async verify(ctx, tx, device, response) {
      if (!tx.challenge) return 'wrong';
      const key = openKey(ctx, device);
      const pinHash = device.pin_hash_sealed ? ctx.box.open(device.pin_hash_sealed, sealContext(device.id, 'pin_hash')) : undefined;
      const ok = verifyDeviceResponse(device.kind, key, tx.challenge, response, pinHash ? { pinHash } : {});
      return ok ? 'right' : 'wrong';
    },
  };
}

/** DSC+: the PIN is typed on the card and enters the response as PSHA1 (SPEC D2, H2). */
export const dscPlusVerifier = challengeResponseVerifier(['dscplus']);
/** Legacy tokens (SPEC D7): each with its catalogue suite; the Platinum answers in 0–9 A C E F H P. */
export const legacyTokenVerifier = challengeResponseVerifier(['platinum', 'gold', 'dsc']);
/**
 * IB Key (SPEC K2): for now the offline challenge/response code for both modes. The push mode
 * (L7) will issue a `push` challenge with a number to match instead, in its own verifier.
 */
export const ibKeyVerifier = challengeResponseVerifier(['ibkey']);
