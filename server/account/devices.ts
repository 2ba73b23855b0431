/**
 * The devices a user can authenticate with: their own, and devices shared with them (SPEC S5).
 */
import type { DeviceRow } from '../db/schema.ts';
import { verifierFor } from '../verifiers/index.ts';
import type { VerifierContext } from '../verifiers/types.ts';
import type { AccountDb } from './schema.ts';

/** Active devices the user may answer challenges with: own ones, then those shared with them (S3–S5). */
export async function usableDevices(adb: AccountDb, userId: string): Promise<DeviceRow[]> {
  const own = await adb.selectFrom('devices').selectAll().where('user_id', '=', userId).where('status', '=', 'active').orderBy('created_at').execute();
  const shared = await adb
    .selectFrom('devices')
    .selectAll('devices')
    .innerJoin('sharing_requests', 'sharing_requests.device_id', 'devices.id')
    .where('sharing_requests.requester_user_id', '=', userId)
    .where('sharing_requests.state', '=', 'approved')
    .where('devices.status', '=', 'active')
    .orderBy('devices.created_at')
    .execute();
  return [...own, ...shared.filter((s) => !own.some((o) => o.id === s.id))];
}

/**
 * SPEC D5, T1, T2, C6: can this active device answer a Client Portal challenge now? Its verifier's
 * `access`, as a portal login asks it: a temporary passcode within its 12 days (its portal-only days
 * included), an online Security Code Card within its 21 days. An expired one stays `active` until a
 * sweep retires it (services/temporary-access.ts), so its status alone does not tell.
 */
export async function canConfirmNow(ctx: VerifierContext, device: DeviceRow): Promise<boolean> {
  const v = verifierFor(device.kind);
  return !v.access || (await v.access(ctx, device, 'client_portal')) !== null;
}

/**
 * SPEC W1, W2, D5, T1, T2: the usable devices (`usableDevices`) that can confirm a portal action now.
 * The list the withdrawal screen offers and the one a refusal picks its "use your …" from: the same
 * rule as the challenge step (confirmations.ts `assertDeviceUsable`), so a device offered or suggested
 * is never refused there for being unable to confirm.
 */
export async function confirmingDevices(ctx: VerifierContext & { readonly adb: AccountDb }, userId: string): Promise<DeviceRow[]> {
  const devices = await usableDevices(ctx.adb, userId);
  const can = await Promise.all(devices.map((d) => canConfirmNow(ctx, d)));
  return devices.filter((_, i) => can[i]);
}
