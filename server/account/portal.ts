/**
 * Who is calling a portal function, and with which second factor (SPEC C6, O1).
 *
 * Every account-security route runs on a session's bearer token. Portal functions (settings,
 * withdrawals, sharing, the online code card) need a session that was opened WITH a second factor:
 * a trading-platform login without one (an opted-out user, O1, or an auto-restart, L8) must log in
 * to the Client Portal first. A session in the portal-only period of a temporary passcode (T1) may
 * use them.
 */
import type { Selectable } from 'kysely';
import { sha256Hex } from '../crypto/tokens.ts';
import type { SessionTable, UserRow } from '../db/schema.ts';
import { SlsError } from '../errors.ts';
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

/** A caller allowed to use portal functions: the session was opened with a second factor (C6). */
export async function portalCaller(db: AccountDb, token: string | null, now: number): Promise<Caller> {
  const caller = await sessionCaller(db, token, now);
  if (caller.session.device_id === null) throw new SlsError('SLS_ERR_SECOND_FACTOR_REQUIRED');
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
