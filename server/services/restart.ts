/**
 * Auto-restart (SPEC L8): after a full login the desktop client may restart without a second factor
 * until the weekly cut-off, Sunday 01:00 New York time.
 *
 * - A restart token is 256-bit random (base64url); only its SHA-256 is stored. It is issued to a
 *   session opened WITH a second factor (a full login), and is valid until `nextWeeklyCutoff` of its
 *   issue time: every token dies at the cut-off, whenever it was issued.
 * - Each restart uses the token once and hands out a fresh one with the SAME expiry (rotation): a
 *   stolen copy works at most once, and its use kills the real client's, which notices.
 * - A wrong token counts as a login failure (L6) for the user and the address. Tokens are revoked
 *   when a device is reported lost and by `slsctl restart revoke`.
 * - One live chain per session (L8): a token records the session that holds it, the full login its
 *   chain began with and that login's device (migration 0011). A new token for a session revokes the
 *   unused ones of its chain, so a session (or whoever took its bearer token) can never keep more than
 *   one; logging the session out revokes its tokens (sessions.ts `logout`); reporting the device
 *   revokes the chains it began (sessions.ts `endSessionsOfDevice`). The user's other sessions (other
 *   computers) keep theirs.
 * - Issued only while the session's second factor still holds and the user is not locked (D5, D8,
 *   L6: portal.ts `assertPortalRights`).
 * - The restarted session has no second factor (authenticatedWith null): portal functions ask for
 *   one (C6).
 * - A restart lets in only a user whom a trading-platform login would let in now (L8 × T1, D5, O1):
 *   the token stands for the second factor, not for the devices. A token taken in a temporary
 *   passcode's 2 days of full access stops at their end (SLS_ERR_PORTAL_ONLY, T1); one whose user
 *   has no device left for the trading platform (all revoked, lost, returned) is refused
 *   (SLS_ERR_NO_ACTIVE_DEVICE, D5). Either refusal revokes every restart token of the user: the next
 *   start is a normal login, which says the same. An opted-out user (O1) needs no device.
 */
import { PostgresAdapter } from 'kysely';
import { nextWeeklyCutoff } from '../../core/calendar.ts';
import type { SessionInfo } from '../../core/api.ts';
import type { RestartTokenStatus } from '../../core/account-api.ts';
import { newId, newToken, sha256Hex } from '../crypto/tokens.ts';
import { SlsError } from '../errors.ts';
import { appendAccountAudit } from '../account/deps.ts';
import type { AccountDeps } from '../account/deps.ts';
import { assertPortalRights } from '../account/portal.ts';
import type { Caller } from '../account/portal.ts';
import type { AccountTables, AccountTrx } from '../account/schema.ts';
import { accountHousekeeping, loginAccountState } from '../account/restrictions.ts';
import type { ClientKind, DeviceRow } from '../db/schema.ts';
import { verifierFor } from '../verifiers/index.ts';
import { normalizeUsername } from './throttle.ts';

/** Can any of these active devices authenticate this client now (its verifier's `access`, SPEC D5, T1)? */
async function anyUsable(d: AccountDeps, devices: readonly DeviceRow[], clientKind: ClientKind): Promise<boolean> {
  for (const device of devices) {
    const v = verifierFor(device.kind);
    if ((v.access ? await v.access(d, device, clientKind) : 'full') !== null) return true;
  }
  return false;
}

/**
 * SPEC L8 × T1, D5, O1: would a trading-platform login of this user be refused now, and with which
 * code? The password step's rule (login.ts `startLogin`): an opted-out user needs no device (O1);
 * else housekeeping first when due (T3 self-activation, T2 online-card expiry), then the user's
 * active own and shared (S5) devices that can authenticate the trading platform; none, but some
 * for the Client Portal: SLS_ERR_PORTAL_ONLY (T1's last 10 days); none at all: SLS_ERR_NO_ACTIVE_DEVICE.
 */
export async function tradingLoginRefusal(d: AccountDeps, userId: string, mode: 'apply' | 'read' = 'apply'): Promise<TradingLoginRefusal | null> {
  let account = await loginAccountState(d.db, d.now(), userId);
  if (account.optedOut) return null;
  let devices = account.devices;
  if (account.housekeepingDue) {
    if (mode === 'read') {
      devices = await afterHousekeeping(d, userId, devices);
    } else {
      await accountHousekeeping(d.db, d.now(), userId);
      account = await loginAccountState(d.db, d.now(), userId);
      devices = account.devices;
    }
  }
  if (await anyUsable(d, devices, 'trading_platform')) return null;
  return (await anyUsable(d, devices, 'client_portal')) ? 'SLS_ERR_PORTAL_ONLY' : 'SLS_ERR_NO_ACTIVE_DEVICE';
}

export type TradingLoginRefusal = 'SLS_ERR_PORTAL_ONLY' | 'SLS_ERR_NO_ACTIVE_DEVICE';

/**
 * SPEC L8 × T1, T2: until when this user's devices allow a trading-platform login: null while one of
 * them has no end of its own (or the user opted out, O1); else the latest end among them (a temporary
 * passcode's 2 days, an online card's 21). A restarted session ends then, as a login with them would.
 */
async function tradingAccessEndsAt(d: AccountDeps, userId: string): Promise<number | null> {
  const account = await loginAccountState(d.db, d.now(), userId);
  if (account.optedOut) return null;
  let latest: number | null = null;
  for (const device of account.devices) {
    const v = verifierFor(device.kind);
    if ((v.access ? await v.access(d, device, 'trading_platform') : 'full') === null) continue;
    const end = v.accessEndsAt ? await v.accessEndsAt(d, device, 'trading_platform') : null;
    if (end === null) return null;
    latest = Math.max(latest ?? end, end);
  }
  return latest;
}

/**
 * The user's devices as `accountHousekeeping` would leave them now, without running it (a read:
 * nothing written, nothing audited): its own online cards past their 21 days gone (T2), its own
 * sent devices past their 14 days active (T3) — the same conditions as `expireOnlineCards` and
 * `selfActivateDue`.
 */
async function afterHousekeeping(d: AccountDeps, userId: string, devices: readonly DeviceRow[]): Promise<DeviceRow[]> {
  const now = d.now();
  const expiring = await d.adb
    .selectFrom('online_cards')
    .innerJoin('devices', 'devices.id', 'online_cards.device_id')
    .select('devices.id as id')
    .where('online_cards.user_id', '=', userId)
    .where('online_cards.valid_until', '<=', now)
    .where('devices.status', '=', 'active')
    .execute();
  const gone = new Set(expiring.map((r) => r.id));
  const activating = await d.adb
    .selectFrom('device_orders')
    .innerJoin('devices', 'devices.id', 'device_orders.device_id')
    .selectAll('devices')
    .where('device_orders.user_id', '=', userId)
    .where('device_orders.state', '=', 'sent')
    .where('device_orders.self_activates_at', '<=', now)
    .where('devices.status', '=', 'pending')
    .execute();
  return [...devices.filter((x) => !gone.has(x.id)), ...activating.map((x): DeviceRow => ({ ...x, status: 'active', activated_at: now }))];
}

/** Where a token belongs (migration 0011): the session holding it, its chain's full login, and that login's device. */
interface TokenLink {
  readonly sessionId: string;
  readonly chainSessionId: string | null;
  readonly deviceId: string | null;
}

export interface RestartGrant {
  readonly restartToken: string;
  /** The weekly cut-off after which no token works (ISO). */
  readonly validUntil: string;
}

export class RestartService {
  readonly #d: AccountDeps;

  constructor(deps: AccountDeps) {
    this.#d = deps;
  }

  async #insert(trx: AccountTrx | AccountDeps['adb'], userId: string, expiresAt: number, link: TokenLink): Promise<RestartGrant> {
    const token = newToken();
    await trx
      .insertInto('restart_tokens')
      .values({
        id: newId('rst'),
        user_id: userId,
        token_hash: sha256Hex(token),
        created_at: this.#d.now(),
        expires_at: expiresAt,
        used_at: null,
        revoked_at: null,
        session_id: link.sessionId,
        chain_session_id: link.chainSessionId,
        device_id: link.deviceId,
      })
      .execute();
    return { restartToken: token, validUntil: new Date(expiresAt).toISOString() };
  }

  /**
   * SPEC L8: a restart token for a full session opened with a second factor that still holds (D5, D8),
   * of a user not locked (L6). It replaces the session's earlier unused ones, and those handed on from
   * them by restarts (its chain): at most one live token per session, in one transaction.
   */
  async issue(caller: Caller, sourceAddress: string): Promise<RestartGrant> {
    const d = this.#d;
    const now = d.now();
    await assertPortalRights(d.adb, caller, now);
    if (caller.session.access !== 'full') throw new SlsError('SLS_ERR_SECOND_FACTOR_REQUIRED');
    const session = caller.session;
    return d.db.transaction().execute(async (dbTrx) => {
      const trx = dbTrx.withTables<AccountTables>();
      // Serialized per session: PostgreSQL locks the session's row first, so two requests of one
      // session cannot both find nothing to replace (SQLite: Kysely runs the transaction alone on its
      // connection, and the first write takes the database's lock).
      if (trx.getExecutor().adapter instanceof PostgresAdapter) await trx.selectFrom('sessions').select('id').where('id', '=', session.id).forUpdate().execute();
      const r = await trx
        .updateTable('restart_tokens')
        .set({ revoked_at: now })
        .where('chain_session_id', '=', session.id)
        .where('revoked_at', 'is', null)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      const grant = await this.#insert(trx, caller.user.id, nextWeeklyCutoff(new Date(now)).getTime(), { sessionId: session.id, chainSessionId: session.id, deviceId: session.device_id });
      const replaced = Number(r.numUpdatedRows);
      // SPEC N2: the token and its audit entry commit together: no token issued unaudited.
      await appendAccountAudit(trx, now, { event: 'restart.token_issued', userId: caller.user.id, username: caller.user.username_normalized, sourceAddress, details: { validUntil: grant.validUntil, replaced } });
      return grant;
    });
  }

  /** SPEC L8: sign in with a restart token; answers a new session and the next token. */
  async restart(req: { username: string; restartToken: string }, sourceAddress: string): Promise<{ session: SessionInfo } & RestartGrant> {
    const d = this.#d;
    const { services } = d;
    const normalized = normalizeUsername(req.username);
    await services.throttle.assertAddressAllowed(sourceAddress);
    await services.throttle.assertUserNotLocked(normalized);
    const now = d.now();
    const user = await d.adb.selectFrom('users').selectAll().where('username_normalized', '=', normalized).executeTakeFirst();
    const row = user
      ? await d.adb
          .selectFrom('restart_tokens')
          .selectAll()
          .where('token_hash', '=', sha256Hex(req.restartToken))
          .where('user_id', '=', user.id)
          .executeTakeFirst()
      : undefined;
    if (!user || !row || row.used_at !== null || row.revoked_at !== null || row.expires_at <= now) {
      await d.audit({ event: 'restart.failed', userId: user?.id ?? null, username: normalized, sourceAddress, details: { expired: row ? row.expires_at <= now : false } });
      const lockedUntil = await services.throttle.recordFailure(normalized, sourceAddress);
      if (lockedUntil !== null) throw new SlsError('SLS_ERR_USER_LOCKED', { lockedUntil: new Date(lockedUntil).toISOString() });
      throw new SlsError('SLS_ERR_RESTART_TOKEN_INVALID');
    }
    // SPEC L8 × T1, D5: the right token, but would a trading-platform login let this user in now?
    // Not a failure of the user (L6): the same answer a login gives, and the user's tokens die.
    const refusal = await tradingLoginRefusal(d, user.id);
    if (refusal !== null) {
      // SPEC N2: the tokens revoked and the refusal's entry commit together: none revoked unaudited.
      await d.adb.transaction().execute(async (trx) => {
        const revoked = await trx
          .updateTable('restart_tokens')
          .set({ revoked_at: now })
          .where('user_id', '=', user.id)
          .where('revoked_at', 'is', null)
          .where('used_at', 'is', null)
          .executeTakeFirst();
        await appendAccountAudit(trx, now, { event: 'restart.failed', userId: user.id, username: normalized, sourceAddress, details: { reason: refusal, revoked: Number(revoked.numUpdatedRows) } });
      });
      throw new SlsError(refusal);
    }
    const notAfter = await tradingAccessEndsAt(d, user.id);
    const result = await d.db.transaction().execute(async (dbTrx) => {
      const trx = dbTrx.withTables<AccountTables>();
      const u = await trx.updateTable('restart_tokens').set({ used_at: now }).where('id', '=', row.id).where('used_at', 'is', null).where('revoked_at', 'is', null).executeTakeFirst();
      if (Number(u.numUpdatedRows) !== 1) return null;
      const opened = await services.sessions.open(dbTrx, { userId: user.id, loginTransactionId: null, deviceId: null, clientKind: 'trading_platform', access: 'full', notAfter });
      // The next token is held by the session just opened, in the same chain (L8).
      const next = await this.#insert(trx, user.id, row.expires_at, { sessionId: opened.row.id, chainSessionId: row.chain_session_id, deviceId: row.device_id });
      // SPEC N2: the session, the token used and the next one commit with their audit entry: no restart unaudited.
      await appendAccountAudit(trx, now, { event: 'login.restarted', userId: user.id, username: normalized, sourceAddress, details: { validUntil: next.validUntil } });
      return { opened, next };
    });
    if (result === null) throw new SlsError('SLS_ERR_RESTART_TOKEN_INVALID');
    await services.throttle.recordUserSuccess(normalized);
    return { session: await services.sessions.describeOpened(result.opened, user, null), ...result.next };
  }

  /**
   * SPEC L8: the restart token this session holds (restart_tokens.session_id, migration 0011), so a
   * running client learns that it stopped working — revoked by `slsctl restart revoke`, by a device
   * reported or set aside, used by another copy — and says auto-restart is off instead of on. A
   * session that was handed a new token holds it; its replaced ones are revoked, so a live one wins.
   * A live one that a restart would refuse now (L8 × T1, D5: `tradingLoginRefusal`) is `refused`,
   * with that refusal's code. Reading it changes nothing and is not audited.
   */
  async status(caller: Caller): Promise<RestartTokenStatus> {
    const now = this.#d.now();
    const held = await this.#d.adb
      .selectFrom('restart_tokens')
      .select(['created_at', 'expires_at', 'used_at', 'revoked_at'])
      .where('session_id', '=', caller.session.id)
      .execute();
    const live = held.find((r) => r.used_at === null && r.revoked_at === null && r.expires_at > now);
    if (live) {
      // SPEC L8 × T1, D5: live, but a restart with it would be refused now (and revoke it): say so,
      // and why. Only asked here: nothing is revoked, housekept or audited until that restart.
      const refusal = await tradingLoginRefusal(this.#d, caller.user.id, 'read');
      if (refusal !== null) return { state: 'refused', reason: refusal };
      return { state: 'live', validUntil: new Date(live.expires_at).toISOString() };
    }
    const latest = held.reduce<(typeof held)[number] | undefined>((a, r) => (a === undefined || r.created_at > a.created_at ? r : a), undefined);
    if (latest === undefined) return { state: 'none' };
    if (latest.revoked_at !== null) return { state: 'revoked' };
    if (latest.used_at !== null) return { state: 'used' };
    return { state: 'expired' };
  }

  /**
   * `slsctl restart revoke USER`: every restart token of a user stops working. Audited with the change,
   * naming the user, and only when a token was revoked (SPEC N2: the log says what changed).
   */
  async revokeAll(user: { readonly id: string; readonly username_normalized: string }, by: string): Promise<number> {
    const now = this.#d.now();
    return this.#d.adb.transaction().execute(async (trx) => {
      const r = await trx.updateTable('restart_tokens').set({ revoked_at: now }).where('user_id', '=', user.id).where('revoked_at', 'is', null).where('used_at', 'is', null).executeTakeFirst();
      const count = Number(r.numUpdatedRows);
      if (count > 0) await appendAccountAudit(trx, now, { event: 'restart.revoked', userId: user.id, username: user.username_normalized, details: { by, count } });
      return count;
    });
  }
}
