/**
 * Sessions: 256-bit random bearer tokens, stored only as their SHA-256, with an expiry.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Restriction, SessionInfo } from '../../core/api.ts';
import { deviceInfo } from '../../core/devices.ts';
import { newId, newToken, sha256Hex } from '../crypto/tokens.ts';
import type { Selectable } from 'kysely';
import type { ClientKind, Database, DeviceRow, SessionTable, UserRow } from '../db/schema.ts';

type SessionRow = Selectable<SessionTable>;

export interface OpenedSession {
  /** The bearer token: only its hash is stored. */
  readonly token: string;
  readonly row: SessionRow;
}
import { SlsError } from '../errors.ts';
import { restriction, restrictionsOf, sessionAccountFacts } from '../account/restrictions.ts';
import type { SessionAccountFacts } from '../account/restrictions.ts';
import { prepared } from '../db/prepared.ts';
import { accountDb } from '../account/schema.ts';
import type { AccountDb } from '../account/schema.ts';
import { appendAudit } from './audit.ts';

export interface NewSession {
  readonly userId: string;
  readonly loginTransactionId: string | null;
  readonly deviceId: string | null;
  readonly clientKind: ClientKind;
  readonly access: 'full' | 'portal_only';
  /** SPEC O1, O2: opened without a second factor (an opted-out login). */
  readonly withoutSecondFactor?: boolean;
  /** SPEC T1, T2: ends no later than this (the temporary device's access ends then), else after the TTL. */
  readonly notAfter?: number | null;
}

/** Opening a session: its row, compiled once (db/prepared.ts; every login ends here). */
const insertSession = prepared(
  'insert a session',
  (
    db,
    id: string,
    tokenHash: string,
    userId: string,
    loginTransactionId: string | null,
    deviceId: string | null,
    clientKind: SessionRow['client_kind'],
    access: SessionRow['access'],
    createdAt: number,
    expiresAt: number,
    revokedAt: number | null,
    withoutSecondFactor: number,
  ) =>
    db.insertInto('sessions').values({
      id,
      token_hash: tokenHash,
      user_id: userId,
      login_transaction_id: loginTransactionId,
      device_id: deviceId,
      client_kind: clientKind,
      access,
      created_at: createdAt,
      expires_at: expiresAt,
      revoked_at: revokedAt,
      without_second_factor: withoutSecondFactor,
    }),
);

export class SessionService {
  readonly #db: Kysely<Database>;
  readonly #now: () => number;
  readonly #ttlMs: number;

  constructor(db: Kysely<Database>, now: () => number, ttlMs: number) {
    this.#db = db;
    this.#now = now;
    this.#ttlMs = ttlMs;
  }

  /** Opens a session inside the caller's database transaction; the token is in the result, shown once. */
  async open(trx: Transaction<Database> | Kysely<Database>, s: NewSession): Promise<OpenedSession> {
    const { token, row } = this.newSession(s);
    await insertSession(trx, row.id, row.token_hash, row.user_id, row.login_transaction_id, row.device_id, row.client_kind, row.access, row.created_at, row.expires_at, row.revoked_at, row.without_second_factor);
    return { token, row };
  }

  /**
   * A new session's token and row, not yet stored: for a caller that writes the row in a statement of
   * its own (login.ts: a login's completion in one PostgreSQL statement). `open` stores it.
   */
  newSession(s: NewSession): OpenedSession {
    const token = newToken();
    const now = this.#now();
    const row: SessionRow = {
      id: newId('ses'),
      token_hash: sha256Hex(token),
      user_id: s.userId,
      login_transaction_id: s.loginTransactionId,
      device_id: s.deviceId,
      client_kind: s.clientKind,
      access: s.access,
      created_at: now,
      expires_at: Math.min(now + this.#ttlMs, s.notAfter ?? Number.POSITIVE_INFINITY),
      revoked_at: null,
      without_second_factor: s.withoutSecondFactor ? 1 : 0,
    };
    return { token, row };
  }

  /**
   * The SessionInfo of a session just opened, from the rows the caller already holds; with `facts`,
   * the account's too (read with the login's completion, login.ts), else they are read here.
   */
  async describeOpened(opened: OpenedSession, user: UserRow, device: DeviceRow | null, facts?: SessionAccountFacts): Promise<SessionInfo> {
    return this.#info(opened.token, opened.row, user, device, facts);
  }

  async #find(token: string) {
    const row = await this.#db.selectFrom('sessions').selectAll().where('token_hash', '=', sha256Hex(token)).executeTakeFirst();
    if (!row) throw new SlsError('SLS_ERR_UNAUTHENTICATED');
    if (row.revoked_at !== null || row.expires_at <= this.#now()) throw new SlsError('SLS_ERR_SESSION_EXPIRED');
    return row;
  }

  /** The session of a bearer token, as the client sees it. */
  async info(token: string): Promise<SessionInfo> {
    const s = await this.#find(token);
    const user = await this.#db.selectFrom('users').selectAll().where('id', '=', s.user_id).executeTakeFirstOrThrow();
    const device = s.device_id ? ((await this.#db.selectFrom('devices').selectAll().where('id', '=', s.device_id).executeTakeFirst()) ?? null) : null;
    return this.#info(token, s, user, device);
  }

  async describe(token: string, sessionId: string): Promise<SessionInfo> {
    const s = await this.#db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirstOrThrow();
    const user = await this.#db.selectFrom('users').selectAll().where('id', '=', s.user_id).executeTakeFirstOrThrow();
    const device = s.device_id ? ((await this.#db.selectFrom('devices').selectAll().where('id', '=', s.device_id).executeTakeFirst()) ?? null) : null;
    return this.#info(token, s, user, device);
  }

  async #info(token: string, s: SessionRow, user: UserRow, device: DeviceRow | null, known?: SessionAccountFacts): Promise<SessionInfo> {
    const facts = known ?? (await sessionAccountFacts(this.#db, s.user_id)).rows[0];
    const account = facts?.account_id ? { id: facts.account_id, number: facts.account_number!, primaryUser: facts.primary_user } : undefined;
    // Each with its code, so a client can say it in the user's language; `restrictions` keeps the English.
    const restrictions: Restriction[] = [];
    if (s.access === 'portal_only') restrictions.push(restriction('SLS_RESTRICTION_PORTAL_ONLY'));
    if (device && deviceInfo(device.kind).temporary) restrictions.push(restriction('SLS_RESTRICTION_TEMPORARY_NO_SHARING'));
    // SPEC O2 (SLS opt-out) and P1 (mobile number not verified), from the user row the caller read. A
    // session opened without a second factor keeps the opt-out's restriction after an opt-in (O3): it
    // was never more than a password.
    restrictions.push(...restrictionsOf(Number(facts?.opted_out) === 1 || Number(s.without_second_factor) === 1, user.mobile_verified_at));
    return {
      token,
      expiresAt: new Date(s.expires_at).toISOString(),
      user: { id: user.id, username: user.username, displayName: user.display_name },
      account: account ? { id: account.id, number: account.number, primaryUser: account.primaryUser ?? '' } : null,
      authenticatedWith: device ? { deviceId: device.id, kind: device.kind, label: device.label } : null,
      clientKind: s.client_kind,
      access: s.access,
      restrictions: restrictions.map((r) => r.message),
      restrictionDetails: restrictions,
    };
  }

  /**
   * Ends the session of a token; returns its user for the audit log.
   *
   * SPEC L8: the restart tokens of that session die with it, in the same transaction: the one it
   * asked for or was handed by the restart that opened it, and, for a full login, every unused token
   * of the chain it began. The desktop forgets its token at sign-out; a copy taken meanwhile no
   * longer restarts. The user's other sessions (other computers) keep theirs. Audited with the count.
   */
  async logout(token: string, sourceAddress: string | null = null): Promise<{ userId: string; restartTokens: number }> {
    const s = await this.#find(token);
    const now = this.#now();
    const restartTokens = await this.#db.transaction().execute(async (trx) => {
      const ended = await trx.updateTable('sessions').set({ revoked_at: now }).where('id', '=', s.id).where('revoked_at', 'is', null).executeTakeFirst();
      // SPEC N2: the session ends with its entry, once (two sign-outs at once: the one that ended it).
      if (Number(ended.numUpdatedRows) === 1) await appendAudit(trx, now, { event: 'session.logout', userId: s.user_id, sourceAddress });
      const n = await revokeRestartTokensOfSessions(trx, [s.id], now);
      if (n > 0) await appendAudit(trx, now, { event: 'restart.revoked', userId: s.user_id, details: { by: 'logout', count: n } });
      return n;
    });
    return { userId: s.user_id, restartTokens };
  }
}

/**
 * SPEC L8: revokes the unused restart tokens held by these sessions or of the chains they began
 * (restart_tokens.session_id, chain_session_id: migration 0011). Returns how many.
 */
export async function revokeRestartTokensOfSessions(trx: Kysely<Database> | AccountDb, sessionIds: readonly string[], now: number): Promise<number> {
  if (sessionIds.length === 0) return 0;
  const adb = accountDb(trx as Kysely<Database>);
  let n = 0;
  // Two statements, each by its own index (restart_tokens_session, restart_tokens_chain).
  for (const column of ['session_id', 'chain_session_id'] as const) {
    const r = await adb
      .updateTable('restart_tokens')
      .set({ revoked_at: now })
      .where(column, 'in', sessionIds)
      .where('revoked_at', 'is', null)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    n += Number(r.numUpdatedRows);
  }
  return n;
}

/**
 * SPEC D8, D5, L8: a device reported lost or broken, returned, or set non-active by an operator,
 * ends every live session opened with it, whoever's (the owner's, and a sharing requester's opened
 * with the shared device, S5), the restart-token chains full logins with it began
 * (restart_tokens.device_id), and the sessions those chains restarted (no device of their own, but
 * the same second factor behind them): a thief's session with a stolen card stops at once, and so
 * does its auto-restart. Runs in the caller's transaction, with the status change; returns the
 * counts for its audit entry.
 *
 * `only.userId` (SPEC S5, D5): the same for ONE user's use of the device, which itself goes on
 * working for its owner: the sessions that user opened with it, the chains that user began with it
 * (restart_tokens.user_id too) and the sessions those chains restarted. A sharing that ends
 * (sharing.ts `SharingService.cancel`) ends the requester's use of the owner's device this way; the
 * owner's own sessions and chains with it stay.
 */
export async function endSessionsOfDevice(
  trx: Kysely<Database> | AccountDb,
  deviceId: string,
  now: number,
  only: { readonly userId?: string } = {},
): Promise<{ sessions: number; restartTokens: number }> {
  const adb = accountDb(trx as Kysely<Database>);
  const { userId } = only;
  const scoped = userId !== undefined;
  const restarted = await adb
    .selectFrom('restart_tokens')
    .select('session_id')
    .where('device_id', '=', deviceId)
    .where('session_id', 'is not', null)
    .$if(scoped, (q) => q.where('user_id', '=', userId!))
    .execute();
  const restartedIds = [...new Set(restarted.map((x) => x.session_id!))];
  const live = [
    ...(await adb
      .selectFrom('sessions')
      .select('id')
      .where('device_id', '=', deviceId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .$if(scoped, (q) => q.where('user_id', '=', userId!))
      .execute()),
    ...(restartedIds.length > 0
      ? await adb.selectFrom('sessions').select('id').where('id', 'in', restartedIds).where('revoked_at', 'is', null).where('expires_at', '>', now).execute()
      : []),
  ].map((x) => x.id);
  const ids = [...new Set(live)];
  const ended = ids.length > 0 ? await adb.updateTable('sessions').set({ revoked_at: now }).where('id', 'in', ids).where('revoked_at', 'is', null).executeTakeFirst() : null;
  const chains = await adb
    .updateTable('restart_tokens')
    .set({ revoked_at: now })
    .where('device_id', '=', deviceId)
    .where('revoked_at', 'is', null)
    .where('used_at', 'is', null)
    .$if(scoped, (q) => q.where('user_id', '=', userId!))
    .executeTakeFirst();
  // And any token the ended sessions still hold (a token from before migration 0011 has no device).
  const held = await revokeRestartTokensOfSessions(adb, ids, now);
  return { sessions: Number(ended?.numUpdatedRows ?? 0), restartTokens: Number(chains.numUpdatedRows) + held };
}

/**
 * Ends every session and restart token of a user (SPEC L8, K8): when client services set a new or
 * temporary password, whoever held the old one (a user who thinks it leaked, an intruder) is signed
 * out everywhere and cannot auto-restart; the next sign-in is a full login with the new password.
 * Runs in the caller's transaction, so the password and the ends commit together. Returns the counts.
 */
export async function endEverySessionOf(trx: Transaction<Database> | Kysely<Database>, userId: string, now: number): Promise<{ sessions: number; restartTokens: number }> {
  const sessions = await trx.updateTable('sessions').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).where('expires_at', '>', now).executeTakeFirst();
  const restartTokens = await accountDb(trx)
    .updateTable('restart_tokens')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return { sessions: Number(sessions.numUpdatedRows), restartTokens: Number(restartTokens.numUpdatedRows) };
}
