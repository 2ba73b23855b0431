/**
 * Sessions: 256-bit random bearer tokens, stored only as their SHA-256, with an expiry.
 */
import type { Kysely, Transaction } from 'kysely';
import type { SessionInfo } from '../../core/api.ts';
import { deviceInfo } from '../../core/devices.ts';
import { newId, newToken, sha256Hex } from '../crypto/tokens.ts';
import type { ClientKind, Database } from '../db/schema.ts';
import { SlsError } from '../errors.ts';

export interface NewSession {
  readonly userId: string;
  readonly loginTransactionId: string | null;
  readonly deviceId: string | null;
  readonly clientKind: ClientKind;
  readonly access: 'full' | 'portal_only';
}

export class SessionService {
  readonly #db: Kysely<Database>;
  readonly #now: () => number;
  readonly #ttlMs: number;

  constructor(db: Kysely<Database>, now: () => number, ttlMs: number) {
    this.#db = db;
    this.#now = now;
    this.#ttlMs = ttlMs;
  }

  /** Opens a session inside the caller's database transaction; returns the token (shown once). */
  async open(trx: Transaction<Database> | Kysely<Database>, s: NewSession): Promise<string> {
    const token = newToken();
    const now = this.#now();
    await trx
      .insertInto('sessions')
      .values({
        id: newId('ses'),
        token_hash: sha256Hex(token),
        user_id: s.userId,
        login_transaction_id: s.loginTransactionId,
        device_id: s.deviceId,
        client_kind: s.clientKind,
        access: s.access,
        created_at: now,
        expires_at: now + this.#ttlMs,
        revoked_at: null,
      })
      .execute();
    return token;
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
    return this.describe(token, s.id);
  }

  async describe(token: string, sessionId: string): Promise<SessionInfo> {
    const s = await this.#db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirstOrThrow();
    const user = await this.#db
      .selectFrom('users')
      .select(['id', 'username', 'display_name'])
      .where('id', '=', s.user_id)
      .executeTakeFirstOrThrow();
    const account = await this.#db
      .selectFrom('user_accounts')
      .innerJoin('accounts', 'accounts.id', 'user_accounts.account_id')
      .leftJoin('users as primary', 'primary.id', 'accounts.primary_user_id')
      .select(['accounts.id', 'accounts.number', 'primary.username as primaryUser'])
      .where('user_accounts.user_id', '=', s.user_id)
      .orderBy('accounts.number')
      .executeTakeFirst();
    const device = s.device_id
      ? await this.#db.selectFrom('devices').select(['id', 'kind', 'label']).where('id', '=', s.device_id).executeTakeFirst()
      : undefined;
    const restrictions: string[] = [];
    if (s.access === 'portal_only') restrictions.push('Temporary passcode: Client Portal only (SPEC T1)');
    if (device && deviceInfo(device.kind).temporary) restrictions.push('Temporary access: device sharing is blocked');
    return {
      token,
      expiresAt: new Date(s.expires_at).toISOString(),
      user: { id: user.id, username: user.username, displayName: user.display_name },
      account: account ? { id: account.id, number: account.number, primaryUser: account.primaryUser ?? '' } : null,
      authenticatedWith: device ? { deviceId: device.id, kind: device.kind, label: device.label } : null,
      clientKind: s.client_kind,
      access: s.access,
      restrictions,
    };
  }

  /** Ends the session of a token; returns its user for the audit log. */
  async logout(token: string): Promise<{ userId: string }> {
    const s = await this.#find(token);
    await this.#db.updateTable('sessions').set({ revoked_at: this.#now() }).where('id', '=', s.id).where('revoked_at', 'is', null).execute();
    return { userId: s.user_id };
  }
}
