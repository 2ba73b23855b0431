/**
 * The account restrictions a session shows (SPEC O2, P1), and the time-driven device changes a login
 * runs first (T3 self-activation, T2 online-card expiry).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { selfActivateDue } from '../services/devices-admin.ts';
import { expireOnlineCards } from '../services/temporary-access.ts';
import { appendAccountAudit } from './deps.ts';
import type { AccountAuditEntry } from './deps.ts';
import { accountDb } from './schema.ts';

/** SPEC O2: the restriction an opted-out user sees. */
export const OPT_OUT_RESTRICTION = 'Pink Sheet and OTCBB trading restricted: SLS opt-out';
/** SPEC P1: the restriction of a user without a verified mobile number. */
export const UNVERIFIED_MOBILE_RESTRICTION = 'Trading restricted: mobile number not verified';

export async function isOptedOut(db: Kysely<Database>, userId: string): Promise<boolean> {
  return (await accountDb(db).selectFrom('sls_opt_outs').select('user_id').where('user_id', '=', userId).executeTakeFirst()) !== undefined;
}

export async function accountRestrictions(db: Kysely<Database>, userId: string): Promise<string[]> {
  const out: string[] = [];
  if (await isOptedOut(db, userId)) out.push(OPT_OUT_RESTRICTION);
  const user = await db.selectFrom('users').select('mobile_verified_at').where('id', '=', userId).executeTakeFirst();
  if (user && user.mobile_verified_at === null) out.push(UNVERIFIED_MOBILE_RESTRICTION);
  return out;
}

/** Devices shared with a user by an approved sharing (SPEC S5): they join the user's login drop-down. */
export async function sharedDeviceIds(db: Kysely<Database>, userId: string): Promise<string[]> {
  const rows = await accountDb(db)
    .selectFrom('sharing_requests')
    .select('device_id')
    .where('requester_user_id', '=', userId)
    .where('state', '=', 'approved')
    .execute();
  return rows.map((r) => r.device_id);
}

/** Run before a login lists devices (for that user), and by `slsctl order sweep` (for all): T3 self-activation, T2 expiry. */
export async function accountHousekeeping(db: Kysely<Database>, now: number, userId?: string): Promise<void> {
  const adb = accountDb(db);
  const audit = (e: AccountAuditEntry) => appendAccountAudit(adb, now, e);
  await selfActivateDue(adb, now, audit, userId);
  await expireOnlineCards(adb, now, audit, userId);
}
