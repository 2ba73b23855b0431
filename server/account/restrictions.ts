/**
 * The account restrictions a session shows (SPEC O2, P1), and the time-driven device changes a login
 * runs first (T3 self-activation, T2 online-card expiry).
 */
import { expressionBuilder } from 'kysely';
import type { AliasableExpression, Expression, Kysely, SqlBool } from 'kysely';
import type { Restriction, RestrictionCode } from '../../core/api.ts';
import type { Database, DeviceRow } from '../db/schema.ts';
import { prepared } from '../db/prepared.ts';
import { selfActivateDue } from '../services/devices-admin.ts';
import { expireOnlineCards } from '../services/temporary-access.ts';
import { appendAccountAudit } from './deps.ts';
import type { AccountAuditEntry } from './deps.ts';
import { accountDb } from './schema.ts';
import type { AccountTables } from './schema.ts';

/** SPEC O2: the restriction an opted-out user sees. */
export const OPT_OUT_RESTRICTION = 'Pink Sheet and OTCBB trading restricted: SLS opt-out';
/** SPEC P1: the restriction of a user without a verified mobile number. */
export const UNVERIFIED_MOBILE_RESTRICTION = 'Trading restricted: mobile number not verified';
/** SPEC T1: a temporary passcode in its last 10 days opens the Client Portal functions only. */
export const PORTAL_ONLY_RESTRICTION = 'Temporary passcode: Client Portal functions only';
/** SPEC S1b: a session opened with a temporary device (temporary passcode, online card) shares no device. */
export const TEMPORARY_NO_SHARING_RESTRICTION = 'Temporary access: device sharing is blocked';

/** Every restriction slsd puts on a session: its stable code (core/api.ts) and its English sentence. */
export const RESTRICTIONS = {
  SLS_RESTRICTION_OPT_OUT: OPT_OUT_RESTRICTION,
  SLS_RESTRICTION_MOBILE_NOT_VERIFIED: UNVERIFIED_MOBILE_RESTRICTION,
  SLS_RESTRICTION_PORTAL_ONLY: PORTAL_ONLY_RESTRICTION,
  SLS_RESTRICTION_TEMPORARY_NO_SHARING: TEMPORARY_NO_SHARING_RESTRICTION,
} as const satisfies Record<RestrictionCode, string>;

/** The restriction of a code, as a session carries it. */
export function restriction(code: RestrictionCode): Restriction {
  return { code, message: RESTRICTIONS[code] };
}

export async function isOptedOut(db: Kysely<Database>, userId: string): Promise<boolean> {
  return (await accountDb(db).selectFrom('sls_opt_outs').select('user_id').where('user_id', '=', userId).executeTakeFirst()) !== undefined;
}

export async function accountRestrictions(db: Kysely<Database>, userId: string): Promise<Restriction[]> {
  const user = await db.selectFrom('users').select('mobile_verified_at').where('id', '=', userId).executeTakeFirst();
  return restrictionsOf(await isOptedOut(db, userId), user ? user.mobile_verified_at : 0);
}

/** The restrictions (SPEC O2, P1) of a user who has opted out or not, whose mobile number was verified then (null: not verified). */
export function restrictionsOf(optedOut: boolean, mobileVerifiedAt: number | null): Restriction[] {
  const out: Restriction[] = [];
  if (optedOut) out.push(restriction('SLS_RESTRICTION_OPT_OUT'));
  if (mobileVerifiedAt === null) out.push(restriction('SLS_RESTRICTION_MOBILE_NOT_VERIFIED'));
  return out;
}

/**
 * What a session shows of a user's account, in one statement compiled once (issue 7: the second-factor
 * step's reads): whether the user opted out (O2), and the user's first account with its primary user.
 * A one-row table, so the flag comes back for a user without an account.
 */
export const sessionAccountFacts = prepared('session account facts', (db, userId: string) => {
  const adb = accountDb(db as Kysely<Database>);
  return adb
    .selectFrom(adb.selectNoFrom([optedOutFlag(userId).as('opted_out')]).as('facts'))
    .leftJoin(firstAccountOf(userId).as('first_account'), (join) => join.onTrue())
    .select(['facts.opted_out', 'first_account.account_id', 'first_account.account_number', 'first_account.primary_user']);
});

/** What a session shows of the user's account (`sessionAccountFacts`): its row. */
export interface SessionAccountFacts {
  readonly opted_out: number | string;
  readonly account_id: string | null;
  readonly account_number: string | null;
  readonly primary_user: string | null;
}

/** The user's first account (by number) with its primary user's name: at most one row, for a join (`sessionAccountFacts`, login.ts). */
export function firstAccountOf(user: UserOperand) {
  const s = expressionBuilder<AccountDatabase, never>();
  return s
    .selectFrom('user_accounts')
    .innerJoin('accounts', 'accounts.id', 'user_accounts.account_id')
    .leftJoin('users as primary', 'primary.id', 'accounts.primary_user_id')
    .select(['accounts.id as account_id', 'accounts.number as account_number', 'primary.username as primary_user'])
    .where('user_accounts.user_id', '=', user as string)
    .orderBy('accounts.number')
    .limit(1);
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
  await expireOnlineCards(adb, now, userId);
}

/** What a password step needs of the account after the hash, read in one statement (SPEC O1, S5, T2, T3). */
export interface LoginAccountState {
  /** SPEC O1: the user opted out of SLS. */
  readonly optedOut: boolean;
  /**
   * `accountHousekeeping` for this user would change something now: a sent device whose 14 days are
   * over (T3) or an active online card past its 21 days (T2). The same conditions as
   * `selfActivateDue` and `expireOnlineCards`; when false, the sweep would find nothing to do.
   */
  readonly housekeepingDue: boolean;
  /** The user's active devices and those shared with the user by an approved sharing (S5), unsorted. */
  readonly devices: DeviceRow[];
}

type AccountDatabase = Database & AccountTables;
/** A user in the expressions below: an id (a statement's parameter) or a column of the statement (`users.id`). */
type UserOperand = string | Expression<string | null>;

/** SPEC O1: 1 when the user opted out of SLS, else 0 (as `loginAccountState` reads it). */
export function optedOutFlag(user: UserOperand): AliasableExpression<number> {
  const s = expressionBuilder<AccountDatabase, never>();
  return s.case().when(s.exists(s.selectFrom('sls_opt_outs').select('user_id').where('user_id', '=', user as string))).then(s.lit(1)).else(s.lit(0)).end();
}

/**
 * SPEC T3, T2: 1 when `accountHousekeeping` for the user would change something at `now` — a sent
 * device whose 14 days are over, or an active online card past its 21 days — else 0. The same
 * conditions as `selfActivateDue` and `expireOnlineCards`.
 */
export function housekeepingDueFlag(user: UserOperand, now: number): AliasableExpression<number> {
  const s = expressionBuilder<AccountDatabase, never>();
  return s
    .case()
    .when(
      s.or([
        // selfActivateDue (T3)
        s.exists(
          s
            .selectFrom('device_orders')
            .innerJoin('devices', 'devices.id', 'device_orders.device_id')
            .select('device_orders.id')
            .where('device_orders.user_id', '=', user as string)
            .where('device_orders.state', '=', 'sent')
            .where('device_orders.self_activates_at', '<=', now)
            .where('devices.status', '=', 'pending'),
        ),
        // expireOnlineCards (T2)
        s.exists(
          s
            .selectFrom('online_cards')
            .innerJoin('devices', 'devices.id', 'online_cards.device_id')
            .select('online_cards.device_id')
            .where('online_cards.user_id', '=', user as string)
            .where('online_cards.valid_until', '<=', now)
            .where('devices.status', '=', 'active'),
        ),
      ]),
    )
    .then(s.lit(1))
    .else(s.lit(0))
    .end();
}

/** SPEC D5, S5: a `devices` row a login may list for the user: active, the user's own or shared with the user by an approved sharing (sharedDeviceIds). */
export function loginDeviceOf(user: UserOperand): Expression<SqlBool> {
  const eb = expressionBuilder<AccountDatabase, 'devices'>();
  return eb.and([
    eb('devices.status', '=', 'active'),
    eb.or([
      eb('devices.user_id', '=', user as string),
      eb('devices.id', 'in', eb.selectFrom('sharing_requests').select('sharing_requests.device_id').where('sharing_requests.requester_user_id', '=', user as string).where('sharing_requests.state', '=', 'approved')),
    ]),
  ]);
}

/** The statement of `loginAccountState`, compiled once (db/prepared.ts). */
const loginAccountStateQuery = prepared('login account state', (db, userId: string, now: number) => {
  const adb = accountDb(db as Kysely<Database>);
  return adb
    .selectFrom(adb.selectNoFrom([optedOutFlag(userId).as('opted_out'), housekeepingDueFlag(userId, now).as('housekeeping_due')]).as('account'))
    .leftJoin('devices', (join) => join.on(loginDeviceOf(userId)))
    .selectAll('devices')
    .select(['account.opted_out', 'account.housekeeping_due']);
});

/**
 * The opt-out, whether housekeeping is due, and the active own and shared devices of a user, in one
 * portable SELECT (SQLite and PostgreSQL): a one-row table of flags, left-joined to the devices, so
 * the flags come back even when the user has no device. A login runs this instead of an opt-out read,
 * two housekeeping joins, a sharing read and a devices read (issue 2: the main thread's work per
 * password step); it runs the housekeeping sweep only when this says it is due.
 */
export async function loginAccountState(db: Kysely<Database>, now: number, userId: string): Promise<LoginAccountState> {
  const { rows } = await loginAccountStateQuery(db, userId, now);
  const first = rows[0];
  const devices: DeviceRow[] = [];
  for (const { opted_out: _o, housekeeping_due: _h, ...device } of rows) if (device.id !== null) devices.push(device as DeviceRow);
  return { optedOut: Number(first?.opted_out) === 1, housekeepingDue: Number(first?.housekeeping_due) === 1, devices };
}
