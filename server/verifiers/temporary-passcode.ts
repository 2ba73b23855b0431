/**
 * Temporary passcode (SPEC T1): handed out by client services to a user who lost access.
 *
 * Full access for 2 days, then only the Client Portal for 10 more days (where the user can print an
 * online Security Code Card). The passcode is sealed in its device row (D4); its periods are in
 * `temporary_passcodes`. Within a login it is used once; it may open several logins while valid.
 */
import { constantTimeEqual, normalizeResponse } from '../../core/codes.ts';
import type { DeviceRow } from '../db/schema.ts';
import { sealContext } from './types.ts';
import type { DeviceAccess, SecondFactorVerifier, VerifierContext } from './types.ts';

export const TEMP_PASSCODE_LENGTH = 8;

async function periods(ctx: VerifierContext, device: DeviceRow) {
  return ctx.db
    .selectFrom('temporary_passcodes')
    .select(['full_access_until', 'portal_access_until'])
    .where('device_id', '=', device.id)
    .executeTakeFirst();
}

/** The access a temporary passcode gives at `now` to a client kind (SPEC T1, C6). */
export function temporaryAccess(
  p: { full_access_until: number; portal_access_until: number } | undefined,
  clientKind: 'trading_platform' | 'client_portal',
  now: number,
): DeviceAccess {
  if (!p) return null;
  if (now < p.full_access_until) return 'full';
  if (now < p.portal_access_until && clientKind === 'client_portal') return 'portal_only';
  return null;
}

export const temporaryPasscodeVerifier: SecondFactorVerifier = {
  kinds: ['temp_passcode'],
  canResend: false,
  async access(ctx, device, clientKind) {
    return temporaryAccess(await periods(ctx, device), clientKind, ctx.now());
  },
  // SPEC T1: full access for 2 days (a trading-platform session ends with them), the Client Portal for 10 more.
  async accessEndsAt(ctx, device, clientKind) {
    const p = await periods(ctx, device);
    if (!p) return ctx.now();
    return clientKind === 'trading_platform' ? p.full_access_until : p.portal_access_until;
  },
  async issue() {
    return { challenge: null, codeHash: null, challengeExpiresAt: null, resendAvailableAt: null };
  },
  async describe(ctx, tx, device) {
    const p = await periods(ctx, device);
    const now = ctx.now();
    const until = p ? (now < p.full_access_until && tx.client_kind === 'trading_platform' ? p.full_access_until : p.portal_access_until) : now;
    return { type: 'passcode', deviceId: device.id, kind: device.kind, codeLength: TEMP_PASSCODE_LENGTH, validUntil: new Date(until).toISOString() };
  },
  async verify(ctx, _tx, device, response) {
    if (!device.secret_sealed) return 'wrong';
    const passcode = ctx.box.openText(device.secret_sealed, sealContext(device.id, 'secret'));
    return constantTimeEqual(passcode, normalizeResponse('digits', response)) ? 'right' : 'wrong';
  },
};
