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
 * - The restarted session has no second factor (authenticatedWith null): portal functions ask for
 *   one (C6).
 */
import { nextWeeklyCutoff } from '../../core/calendar.ts';
import type { SessionInfo } from '../../core/api.ts';
import { newId, newToken, sha256Hex } from '../crypto/tokens.ts';
import { SlsError } from '../errors.ts';
import type { AccountDeps } from '../account/deps.ts';
import type { Caller } from '../account/portal.ts';
import type { AccountTables, AccountTrx } from '../account/schema.ts';
import { normalizeUsername } from './throttle.ts';

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

  async #insert(trx: AccountTrx | AccountDeps['adb'], userId: string, expiresAt: number): Promise<RestartGrant> {
    const token = newToken();
    await trx
      .insertInto('restart_tokens')
      .values({ id: newId('rst'), user_id: userId, token_hash: sha256Hex(token), created_at: this.#d.now(), expires_at: expiresAt, used_at: null, revoked_at: null })
      .execute();
    return { restartToken: token, validUntil: new Date(expiresAt).toISOString() };
  }

  /** SPEC L8: a restart token for a session opened with a second factor. */
  async issue(caller: Caller, sourceAddress: string): Promise<RestartGrant> {
    if (caller.session.device_id === null || caller.session.access !== 'full') throw new SlsError('SLS_ERR_SECOND_FACTOR_REQUIRED');
    const now = this.#d.now();
    const grant = await this.#insert(this.#d.adb, caller.user.id, nextWeeklyCutoff(new Date(now)).getTime());
    await this.#d.audit({ event: 'restart.token_issued', userId: caller.user.id, username: caller.user.username_normalized, sourceAddress, details: { validUntil: grant.validUntil } });
    return grant;
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
    const result = await d.db.transaction().execute(async (dbTrx) => {
      const trx = dbTrx.withTables<AccountTables>();
      const u = await trx.updateTable('restart_tokens').set({ used_at: now }).where('id', '=', row.id).where('used_at', 'is', null).where('revoked_at', 'is', null).executeTakeFirst();
      if (Number(u.numUpdatedRows) !== 1) return null;
      const opened = await services.sessions.open(dbTrx, { userId: user.id, loginTransactionId: null, deviceId: null, clientKind: 'trading_platform', access: 'full' });
      const next = await this.#insert(trx, user.id, row.expires_at);
      return { opened, next };
    });
    if (result === null) throw new SlsError('SLS_ERR_RESTART_TOKEN_INVALID');
    await services.throttle.recordUserSuccess(normalized);
    await d.audit({ event: 'login.restarted', userId: user.id, username: normalized, sourceAddress, details: { validUntil: result.next.validUntil } });
    return { session: await services.sessions.describeOpened(result.opened, user, null), ...result.next };
  }

  /** `slsctl restart revoke USER`: every restart token of a user stops working. */
  async revokeAll(userId: string, by: string): Promise<number> {
    const r = await this.#d.adb.updateTable('restart_tokens').set({ revoked_at: this.#d.now() }).where('user_id', '=', userId).where('revoked_at', 'is', null).where('used_at', 'is', null).executeTakeFirst();
    await this.#d.audit({ event: 'restart.revoked', userId, details: { by, count: Number(r.numUpdatedRows) } });
    return Number(r.numUpdatedRows);
  }
}
