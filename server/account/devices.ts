/**
 * The devices a user can authenticate with: their own, and devices shared with them (SPEC S5).
 */
import type { DeviceRow } from '../db/schema.ts';
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
