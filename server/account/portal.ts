/**
 * Who is calling a portal function, and with which second factor (SPEC C6, O1).
 *
 * Every account-security route runs on a session's bearer token. Portal functions (settings,
 * withdrawals, sharing, the online code card) need a session that was opened WITH a second factor:
 * a trading-platform login without one (an opted-out user, O1, or an auto-restart, L8) must log in
 * to the Client Portal first. A session in the portal-only period of a temporary passcode (T1) may
 * use them.
 *
 * The second factor must still hold (SPEC D5, D8, L6):
 * - D5, D8: only active devices authenticate. A session opened with a device that is no longer
 *   active (reported lost or broken, set aside, returned, revoked by an operator) has no second
 *   factor any more: SLS_ERR_SECOND_FACTOR_REQUIRED, so the desktop asks to verify again with a device that
 *   works ("Verify it's you"). Reporting a device ends its sessions anyway (sessions.ts
 *   `endSessionsOfDevice`); this is the defence in depth for any other way a device stops.
 * - T1, T2: a session opened with a temporary passcode or an online card keeps the portal functions
 *   only while that passcode or card still opens the Client Portal (`temporaryAccessHolds`).
 * - L6: a locked user's open session does not get round the lock: SLS_ERR_USER_LOCKED with
 *   `lockedUntil`, for every portal function, reading ones included (they show the security state
 *   of a user under attack; the desktop says until when, and the trading session is untouched).
 */
import type { Selectable } from 'kysely';
import type { DeviceKind } from '../../core/devices.ts';
import { sha256Hex } from '../crypto/tokens.ts';
import type { SessionTable, UserRow } from '../db/schema.ts';
import { SlsError } from '../errors.ts';
import { ONLINE_CARD_VALIDITY_MS } from '../services/temporary-access.ts';
import { temporaryAccess } from '../verifiers/temporary-passcode.ts';
import type { AccountDb } from './schema.ts';

export interface Caller {
  readonly session: Selectable<SessionTable>;
  readonly user: UserRow;
}

/** The live session of a bearer token and its user; no second-factor requirement. */
export async function sessionCaller(db: AccountDb, token: string | null, now: number): Promise<Caller> {
  if (!token) throw new SlsError('SLS_ERR_UNAUTHENTICATED');
  const session = await db.selectFrom('sessions').selectAll().where('token_hash', '=', sha256Hex(token)).executeTakeFirst();
  if (!session) throw new SlsError('SLS_ERR_UNAUTHENTICATED');
  if (session.revoked_at !== null || session.expires_at <= now) throw new SlsError('SLS_ERR_SESSION_EXPIRED');
  const user = await db.selectFrom('users').selectAll().where('id', '=', session.user_id).executeTakeFirstOrThrow();
  return { session, user };
}

/**
 * SPEC L6: throws SLS_ERR_USER_LOCKED (with `lockedUntil`) while the user is locked. The very row and
 * rule of `Throttle.userLockedUntil` (services/throttle.ts): the user's failure counter, locked until
 * a time still to come. Read here so every caller of `portalCaller` (the routes, the W4 worker) gets
 * it without handing the throttle in.
 */
export async function assertUserNotLocked(db: AccountDb, usernameNormalized: string, now: number): Promise<void> {
  const row = await db.selectFrom('failure_counters').select('locked_until').where('scope', '=', 'user').where('subject', '=', usernameNormalized).executeTakeFirst();
  const until = row?.locked_until == null ? null : Number(row.locked_until);
  if (until !== null && until > now) throw new SlsError('SLS_ERR_USER_LOCKED', { lockedUntil: new Date(until).toISOString() });
}

/**
 * The rights of a portal function, for a caller already found (SPEC C6, D5, D8, L6): the user is not
 * locked (SLS_ERR_USER_LOCKED), the session was opened with a second factor, and that device is still
 * active (SLS_ERR_SECOND_FACTOR_REQUIRED otherwise). `portalCaller` runs it; so do the portal
 * functions reached with `sessionCaller` (opt-out, restart token), once they know the change is theirs.
 */
export async function assertPortalRights(db: AccountDb, caller: Caller, now: number): Promise<void> {
  await assertUserNotLocked(db, caller.user.username_normalized, now);
  if (caller.session.device_id === null) throw new SlsError('SLS_ERR_SECOND_FACTOR_REQUIRED');
  const device = await db.selectFrom('devices').select(['status', 'kind', 'created_at']).where('id', '=', caller.session.device_id).executeTakeFirst();
  if (device?.status !== 'active') {
    throw new SlsError('SLS_ERR_SECOND_FACTOR_REQUIRED', {
      message: 'The device this session was opened with no longer works (it was reported, set aside, returned or revoked). Please log in to the Client Portal with an active security device.',
    });
  }
  if (!(await temporaryAccessHolds(db, caller.session.device_id, device, now))) {
    throw new SlsError('SLS_ERR_SECOND_FACTOR_REQUIRED', {
      message: 'The temporary access this session was opened with has ended. Please log in to the Client Portal with an active security device.',
    });
  }
}

/**
 * SPEC T1, T2, D5: does the temporary device a session was opened with still open the Client Portal?
 * A temporary passcode does for its 12 days, an online Security Code Card for its 21 (a card without
 * its `online_cards` row from when it was made, as security-code-card.ts `onlineCardAccess`); other
 * devices while active. A session lives 12 hours from its login, so one opened near the end would
 * otherwise keep the portal functions after the passcode or card stopped opening anything, until a
 * sweep retired it (the row stays `active` meanwhile).
 */
async function temporaryAccessHolds(db: AccountDb, deviceId: string, device: { kind: DeviceKind; created_at: number }, now: number): Promise<boolean> {
  if (device.kind === 'temp_passcode') {
    const periods = await db.selectFrom('temporary_passcodes').select(['full_access_until', 'portal_access_until']).where('device_id', '=', deviceId).executeTakeFirst();
    return temporaryAccess(periods, 'client_portal', now) !== null;
  }
  if (device.kind === 'online_scc') {
    const card = await db.selectFrom('online_cards').select('valid_until').where('device_id', '=', deviceId).executeTakeFirst();
    return now < (card?.valid_until ?? device.created_at + ONLINE_CARD_VALIDITY_MS);
  }
  return true;
}

/** A caller allowed to use portal functions: opened with a second factor that still holds, user not locked (C6, D5, L6). */
export async function portalCaller(db: AccountDb, token: string | null, now: number): Promise<Caller> {
  const caller = await sessionCaller(db, token, now);
  await assertPortalRights(db, caller, now);
  return caller;
}

/** The user's accounts and, for each, its primary user (SPEC A1, O3). */
export async function accountsOf(db: AccountDb, userId: string) {
  return db
    .selectFrom('user_accounts')
    .innerJoin('accounts', 'accounts.id', 'user_accounts.account_id')
    .leftJoin('users as primary', 'primary.id', 'accounts.primary_user_id')
    .select([
      'accounts.id as accountId',
      'accounts.number as number',
      'accounts.balance_cents as balanceCents',
      'accounts.primary_user_id as primaryUserId',
      'primary.username as primaryUsername',
      'primary.display_name as primaryDisplayName',
    ])
    .where('user_accounts.user_id', '=', userId)
    .orderBy('accounts.number')
    .execute();
}

/** The account a user acts on: the one named, else the first (by number). */
export async function accountOf(db: AccountDb, userId: string, accountId?: string) {
  const accounts = await accountsOf(db, userId);
  const account = accountId ? accounts.find((a) => a.accountId === accountId) : accounts[0];
  if (!account) throw new SlsError('SLS_ERR_NOT_FOUND', { message: accountId ? 'This account is not one of yours.' : 'This user has no account.' });
  return account;
}
