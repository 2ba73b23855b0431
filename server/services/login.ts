/**
 * The login (SPEC L1–L6): password, then a second factor from the user's active devices (M2FS).
 *
 * A login transaction is a row: its state, the device chosen, the challenge issued (with a sequence
 * number, so a response counts only for the challenge it answers), the wrong responses so far and an
 * expiry. Nothing lives in the process (SPEC N1). One-time use is a conditional UPDATE whose affected
 * row count decides who won (D2).
 */
import { PostgresAdapter } from 'kysely';
import type { Kysely } from 'kysely';
import type { DeviceSummary, LoginRequest, LoginStep, SelectDeviceRequest } from '../../core/api.ts';
import { DEVICE_CATALOGUE, M2FS_MIN_CLIENT_VERSION, securityRank } from '../../core/devices.ts';
import { WRONG_RESPONSES_PER_TRANSACTION } from '../config.ts';
import { newId } from '../crypto/tokens.ts';
import { prepared } from '../db/prepared.ts';
import type { ClientKind, Database, DeviceRow, LoginState, LoginTransactionRow, UserRow } from '../db/schema.ts';
import { SlsError } from '../errors.ts';
import { verifierFor } from '../verifiers/index.ts';
import type { DeviceAccess, VerifierContext } from '../verifiers/types.ts';
import { appendAudit, auditValues } from './audit.ts';
import { accountHousekeeping, firstAccountOf, housekeepingDueFlag, loginAccountState, loginDeviceOf, optedOutFlag, sharedDeviceIds } from '../account/restrictions.ts';
import type { LoginAccountState, SessionAccountFacts } from '../account/restrictions.ts';
import { accountDb } from '../account/schema.ts';
import type { AuditEntry, KnownAuditEvent } from './audit.ts';
import type { PasswordHasher } from './passwords.ts';
import type { OpenedSession, SessionService } from './sessions.ts';
import { normalizeUsername } from './throttle.ts';
import type { RequestCounters, Throttle } from './throttle.ts';

export interface LoginDeps extends VerifierContext {
  readonly passwords: PasswordHasher;
  readonly throttle: Throttle;
  readonly sessions: SessionService;
}

interface AvailableDevice {
  readonly device: DeviceRow;
  readonly access: Exclude<DeviceAccess, null>;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * SPEC D5, L5, L2: a login sent back to the device choice because the device of its challenge was
 * taken out of use (set inactive, lost, returned…: provisioning.ts `endChallengesOnDevice`,
 * `'choose_again'`). It keeps that device, so its current step preselects one of the same kind; a
 * response or resend to the challenge it had answers SLS_ERR_DEVICE_NOT_AVAILABLE (not NO_CHALLENGE),
 * as for a device gone, on which the desktop reads the current step and shows the drop-down. A
 * login that never had a challenge is at the choice with no device.
 */
const backToDeviceChoice = (tx: Pick<LoginTransactionRow, 'state' | 'device_id'>): boolean => tx.state === 'select_device' && tx.device_id !== null;

/**
 * A challenge's expiry as the user is told it (SPEC L4, C5): never after its login's. A code sent late
 * in a login (an SMS resend at 4:30 of its 5 minutes) is only good while the login lasts; the screen
 * said "expires at" a time after the login had already ended. IB Key's push does the same itself.
 */
const challengeExpiry = (issuedExpiry: number | null, tx: LoginTransactionRow): number | null =>
  issuedExpiry === null ? null : Math.min(issuedExpiry, tx.expires_at);

// The login's statements, compiled once (db/prepared.ts; issue 2: the main thread's work per login).

/**
 * The password step's read (SPEC L1, L6, O1, S5, T2, T3), in one statement: the user (if any), the
 * request's two failure counters, and what the step needs of the account once the password is right —
 * the opt-out, whether housekeeping is due, and the devices the login may list, one row per device
 * (`device__` columns; none: one row with them null). A one-row table left-joined to each, so the
 * counters come back for an unknown user. It used to be two statements, the account's after the hash;
 * on PostgreSQL each is a round trip whose write wakes a backend that takes the event loop's core
 * (issue 7). Read before the hash, the account is a few milliseconds older when the step lists it: as
 * with any read, a change committed meanwhile is seen by the next step (the response checks its device).
 */
const passwordStepRead = prepared('user, counters and account state by name', (db, usernameNormalized: string, address: string, now: number) => {
  const adb = accountDb(db as Kysely<Database>);
  return adb
    .selectFrom(adb.selectNoFrom((eb) => eb.lit(1).as('one')).as('request'))
    .leftJoin('users', (j) => j.on('users.username_normalized', '=', usernameNormalized))
    .leftJoin('failure_counters as address_counter', (j) => j.on('address_counter.scope', '=', 'address').on('address_counter.subject', '=', address))
    .leftJoin('failure_counters as user_counter', (j) => j.on('user_counter.scope', '=', 'user').on('user_counter.subject', '=', usernameNormalized))
    .leftJoin('devices', (j) => j.on((eb) => loginDeviceOf(eb.ref('users.id'))))
    .selectAll('users')
    .select(['address_counter.failures as address_failures', 'user_counter.failures as user_failures', 'user_counter.locked_until as user_locked_until'])
    .select((eb) => [
      optedOutFlag(eb.ref('users.id')).as('opted_out'),
      housekeepingDueFlag(eb.ref('users.id'), now).as('housekeeping_due'),
      ...DEVICE_COLUMNS.map((c) => eb.ref(`devices.${c}`).as(`device__${c}`)),
    ]);
});

/** Every column of the users and devices rows, checked by the compiler: a new column fails here until it is listed. */
const USER_COLUMNS = [
  'id', 'username', 'username_normalized', 'display_name', 'entity_id', 'password_hash', 'mobile_number', 'mobile_verified_at', 'last_device_id', 'created_at',
] as const satisfies readonly (keyof UserRow)[];
const DEVICE_COLUMNS = [
  'id', 'user_id', 'kind', 'status', 'serial', 'label', 'secret_sealed', 'pin_hash_sealed', 'scc_sequence', 'created_at', 'activated_at', 'last_used_at',
] as const satisfies readonly (keyof DeviceRow)[];
const everyUserColumn: [Exclude<keyof UserRow, (typeof USER_COLUMNS)[number]>] extends [never] ? true : never = true;
const everyDeviceColumn: [Exclude<keyof DeviceRow, (typeof DEVICE_COLUMNS)[number]>] extends [never] ? true : never = true;
void everyUserColumn;
void everyDeviceColumn;

/**
 * A login step's read (SPEC L5, L6): its transaction, its user, the device of its challenge and the
 * request's two failure counters, in one statement. The user's and the device's columns come back
 * under prefixes (`user__id`, `device__id`…) so no name collides; `splitStepRow` takes them apart.
 * On PostgreSQL every statement is a round trip whose write wakes a backend that takes the event
 * loop's core (issue 7: a third of slsd's main-thread time under load sat in those writes), so the
 * response step reads once instead of twice.
 */
const transactionStepRead = prepared('login transaction, user, device and counters', (db, id: string, address: string) =>
  db
    .selectFrom('login_transactions')
    .leftJoin('failure_counters as address_counter', (j) => j.on('address_counter.scope', '=', 'address').on('address_counter.subject', '=', address))
    .leftJoin('failure_counters as user_counter', (j) =>
      j.on('user_counter.scope', '=', 'user').onRef('user_counter.subject', '=', 'login_transactions.username_normalized'),
    )
    .leftJoin('users', 'users.id', 'login_transactions.user_id')
    .leftJoin('devices', 'devices.id', 'login_transactions.device_id')
    .selectAll('login_transactions')
    .select(['address_counter.failures as address_failures', 'user_counter.failures as user_failures', 'user_counter.locked_until as user_locked_until'])
    .select((eb) => [
      ...USER_COLUMNS.map((c) => eb.ref(`users.${c}`).as(`user__${c}`)),
      ...DEVICE_COLUMNS.map((c) => eb.ref(`devices.${c}`).as(`device__${c}`)),
    ])
    .where('login_transactions.id', '=', id),
);

/** The transaction, its user (null when its row is gone) and its device (null when none) of a `transactionStepRead` row. */
function splitStepRow(row: Record<string, unknown>): { tx: Record<string, unknown>; user: UserRow | null; device: DeviceRow | null } {
  const tx: Record<string, unknown> = {};
  const user: Record<string, unknown> = {};
  const device: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (k.startsWith('user__')) user[k.slice(6)] = v;
    else if (k.startsWith('device__')) device[k.slice(8)] = v;
    else tx[k] = v;
  }
  return { tx, user: user.id == null ? null : (user as unknown as UserRow), device: device.id == null ? null : (device as unknown as DeviceRow) };
}

const userById = prepared('user by id', (db, id: string) => db.selectFrom('users').selectAll().where('id', '=', id));

/** D2: single use. Only the request whose UPDATE changes the row opens a session. */
const completeTransaction = prepared('complete a login transaction', (db, now: number, id: string, challengeSeq: number) =>
  db
    .updateTable('login_transactions')
    .set({ state: 'completed', challenge_used_at: now, ended_at: now })
    .where('id', '=', id)
    .where('state', '=', 'challenge')
    .where('challenge_seq', '=', challengeSeq)
    .where('challenge_used_at', 'is', null)
    // SPEC L6: a login that took its third wrong response meanwhile is over, right answer or not.
    .where('wrong_responses', '<', WRONG_RESPONSES_PER_TRANSACTION),
);
/**
 * D2, N2 on PostgreSQL: a login's completion in ONE statement — the single-use UPDATE of the
 * transaction, the device's last use, the user's last device, the audit entry and the session —
 * instead of BEGIN, five statements and COMMIT (seven round trips; issue 7: each wakes a backend that
 * takes the event loop's core). Every part but the first reads `done`, the transaction's row as the
 * UPDATE changed it, so when another response won (no row changed) nothing at all is written, as the
 * SQLite path's transaction does. One statement is one transaction: all of it commits or none.
 * Values go in as typed parameters (PostgreSQL cannot type a bare parameter in an INSERT's SELECT).
 */
const completeLoginInOneStatement = prepared(
  'complete a login in one statement (PostgreSQL)',
  (
    db,
    now: number,
    id: string,
    challengeSeq: number,
    deviceId: string,
    userId: string,
    auditEvent: string,
    auditUsername: string | null,
    auditSourceAddress: string | null,
    auditDetails: string,
    sessionId: string,
    tokenHash: string,
    clientKind: string,
    access: string,
    createdAt: number,
    expiresAt: number,
  ) =>
    accountDb(db as Kysely<Database>)
      .with('done', (q) =>
        q
          .updateTable('login_transactions')
          .set({ state: 'completed', challenge_used_at: now, ended_at: now })
          .where('id', '=', id)
          .where('state', '=', 'challenge')
          .where('challenge_seq', '=', challengeSeq)
          .where('challenge_used_at', 'is', null)
          .where('wrong_responses', '<', WRONG_RESPONSES_PER_TRANSACTION)
          .returning('id'),
      )
      .with('device_used', (q) =>
        q.updateTable('devices').set({ last_used_at: now }).where('id', '=', deviceId).where((eb) => eb.exists(eb.selectFrom('done').select('done.id'))).returning('id'),
      )
      .with('last_device', (q) =>
        q.updateTable('users').set({ last_device_id: deviceId }).where('id', '=', userId).where((eb) => eb.exists(eb.selectFrom('done').select('done.id'))).returning('id'),
      )
      .with('audited', (q) =>
        q
          .insertInto('audit_log')
          .columns(['at', 'event', 'user_id', 'username', 'source_address', 'device_id', 'details'])
          .expression((eb) =>
            eb
              .selectFrom('done')
              .select([
                eb.cast<number>(eb.val(now), 'bigint').as('at'),
                eb.cast<string>(eb.val(auditEvent), 'text').as('event'),
                eb.cast<string>(eb.val(userId), 'text').as('user_id'),
                eb.cast<string | null>(eb.val(auditUsername), 'text').as('username'),
                eb.cast<string | null>(eb.val(auditSourceAddress), 'text').as('source_address'),
                eb.cast<string>(eb.val(deviceId), 'text').as('device_id'),
                eb.cast<string>(eb.val(auditDetails), 'text').as('details'),
              ]),
          )
          .returning('id'),
      )
      .with('session', (q) =>
        q
          .insertInto('sessions')
          .columns(['id', 'token_hash', 'user_id', 'login_transaction_id', 'device_id', 'client_kind', 'access', 'created_at', 'expires_at', 'without_second_factor'])
          .expression((eb) =>
            eb
              .selectFrom('done')
              .select([
                eb.cast<string>(eb.val(sessionId), 'text').as('id'),
                eb.cast<string>(eb.val(tokenHash), 'text').as('token_hash'),
                eb.cast<string>(eb.val(userId), 'text').as('user_id'),
                'done.id as login_transaction_id',
                eb.cast<string>(eb.val(deviceId), 'text').as('device_id'),
                eb.cast<string>(eb.val(clientKind), 'text').as('client_kind'),
                eb.cast<string>(eb.val(access), 'text').as('access'),
                eb.cast<number>(eb.val(createdAt), 'bigint').as('created_at'),
                eb.cast<number>(eb.val(expiresAt), 'bigint').as('expires_at'),
                eb.lit(0).as('without_second_factor'),
              ]),
          )
          .returning('id'),
      )
      // What the session shows of the account (sessions.ts `describeOpened`), read in the same statement
      // instead of one more after it: the opt-out and the first account (SPEC O2, C1).
      .selectFrom('done')
      .leftJoin(firstAccountOf(userId).as('first_account'), (j) => j.onTrue())
      .select(['done.id', optedOutFlag(userId).as('opted_out'), 'first_account.account_id', 'first_account.account_number', 'first_account.primary_user']),
);

const deviceUsed = prepared('device used', (db, now: number, id: string) => db.updateTable('devices').set({ last_used_at: now }).where('id', '=', id));
const userLastDevice = prepared('user last device', (db, deviceId: string, userId: string) =>
  db.updateTable('users').set({ last_device_id: deviceId }).where('id', '=', userId),
);

/** The counters' columns of a row read with them, and the row without them. */
function splitCounters<T extends RequestCounterColumns>(row: T): { counters: RequestCounters; rest: Omit<T, keyof RequestCounterColumns> } {
  const { address_failures, user_failures, user_locked_until, ...rest } = row;
  return { counters: { addressFailures: address_failures, userFailures: user_failures, userLockedUntil: user_locked_until }, rest };
}

interface RequestCounterColumns {
  address_failures: string | null;
  user_failures: string | null;
  user_locked_until: number | null;
}

const TRANSACTION_COLUMNS = [
  'id', 'user_id', 'username_normalized', 'client_kind', 'client_version', 'client_name', 'source_address', 'state', 'device_id', 'mode',
  'challenge_seq', 'challenge', 'code_hash', 'challenge_expires_at', 'resend_available_at', 'challenge_used_at', 'wrong_responses',
  'created_at', 'expires_at', 'ended_at',
] as const satisfies readonly (keyof LoginTransactionRow)[];
/** Every column, checked by the compiler: a new column fails here until it is listed. */
const everyTransactionColumn: [Exclude<keyof LoginTransactionRow, (typeof TRANSACTION_COLUMNS)[number]>] extends [never] ? true : never = true;
void everyTransactionColumn;

const insertTransactionStatement = prepared('insert a login transaction', (db, ...values: LoginTransactionRow[keyof LoginTransactionRow][]) =>
  db.insertInto('login_transactions').values(Object.fromEntries(TRANSACTION_COLUMNS.map((c, i) => [c, values[i]])) as unknown as LoginTransactionRow),
);

function insertTransaction(db: Kysely<Database>, tx: LoginTransactionRow) {
  return insertTransactionStatement(db, ...TRANSACTION_COLUMNS.map((c) => tx[c]));
}

/** "Digital Security Card+ (…4821)" when the label says nothing more. */
function summary(d: DeviceRow, lastUsedId: string | null): DeviceSummary {
  return {
    id: d.id,
    kind: d.kind,
    label: d.label,
    ...(d.kind === 'dscplus' && d.serial ? { serial: d.serial } : {}),
    lastUsed: d.id === lastUsedId,
  };
}

/**
 * The device the server picks when the client shows no drop-down (SPEC L3): the one used last,
 * else the highest security level (ties: the one activated first).
 */
export function preferredDevice(devices: readonly DeviceRow[], lastUsedId: string | null): DeviceRow {
  const last = devices.find((d) => d.id === lastUsedId);
  if (last) return last;
  const sorted = [...devices].sort(
    (a, b) => securityRank(b.kind) - securityRank(a.kind) || (a.activated_at ?? a.created_at) - (b.activated_at ?? b.created_at),
  );
  const first = sorted[0];
  if (!first) throw new Error('preferredDevice of no devices');
  return first;
}

export class LoginService {
  readonly #d: LoginDeps;

  constructor(deps: LoginDeps) {
    this.#d = deps;
  }

  get #db(): Kysely<Database> {
    return this.#d.db;
  }

  #audit(entry: AuditEntry): Promise<void> {
    return appendAudit(this.#db, this.#d.now(), entry);
  }

  /** The user's devices that can authenticate this client now (SPEC D5, T1). */
  async #available(user: UserRow, clientKind: ClientKind): Promise<AvailableDevice[]> {
    const shared = await sharedDeviceIds(this.#db, user.id);
    const rows = await this.#db
      .selectFrom('devices')
      .selectAll()
      // SPEC S5: devices shared with the user by an approved sharing join their own.
      .where((eb) => eb.or([eb('user_id', '=', user.id), eb('id', 'in', [...shared, ''])]))
      .where('status', '=', 'active')
      .execute();
    return this.#usable(rows, clientKind);
  }

  /** Of the user's active own and shared devices, those that can authenticate this client now, in drop-down order. */
  async #usable(rows: DeviceRow[], clientKind: ClientKind): Promise<AvailableDevice[]> {
    // The drop-down lists the strongest devices first (SPEC S1 levels), then in the order they were added.
    rows.sort((a, b) => securityRank(b.kind) - securityRank(a.kind) || a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const out: AvailableDevice[] = [];
    for (const device of rows) {
      const v = verifierFor(device.kind);
      const access: DeviceAccess = v.access ? await v.access(this.#d, device, clientKind) : 'full';
      if (access) out.push({ device, access });
    }
    return out;
  }

  /** Step 1 (SPEC L1): user name and password. */
  async startLogin(req: LoginRequest, sourceAddress: string): Promise<LoginStep> {
    const d = this.#d;
    const usernameNormalized = normalizeUsername(req.username);
    const rows = (await passwordStepRead(this.#db, usernameNormalized, sourceAddress, d.now())).rows as Record<string, unknown>[];
    const { tx: first } = splitStepRow(rows[0]!);
    const { counters, rest } = splitCounters(first as unknown as UserRow & RequestCounterColumns & { opted_out: unknown; housekeeping_due: unknown });
    d.throttle.judge(counters);
    const { opted_out: optedOut, housekeeping_due: housekeepingDue, ...userColumns } = rest;
    const user = userColumns.id === null ? undefined : (userColumns as UserRow);
    // SPEC A3, L1: an unknown user costs one verification too, and gets the same answer.
    const ok = user?.password_hash ? await d.passwords.verify(user.password_hash, req.password) : await d.passwords.verifyUnknownUser(req.password);
    if (!user || !ok) {
      await this.#audit({ event: 'login.password_failed', userId: user?.id ?? null, username: usernameNormalized, sourceAddress });
      await this.#failed(usernameNormalized, sourceAddress);
      throw new SlsError('SLS_ERR_INVALID_CREDENTIALS');
    }

    // The opt-out, the housekeeping due and the devices came with the user (passwordStepRead).
    let account: LoginAccountState = {
      optedOut: Number(optedOut) === 1,
      housekeepingDue: Number(housekeepingDue) === 1,
      devices: rows.map((r) => splitStepRow(r).device).filter((x): x is DeviceRow => x !== null),
    };
    // SPEC O1: an opted-out user's trading-platform login asks no second factor.
    if (req.client.kind === 'trading_platform' && account.optedOut) {
      const signedIn = await this.#signInOptedOut(user, req, sourceAddress);
      // Opted back in since the read (O1): a second factor, as for anyone.
      if (signedIn) return signedIn;
    }
    // SPEC T3, T2: self-activation and online-card expiry happen before devices are listed; the
    // sweep runs only when the read found something due (else it would change nothing).
    if (account.housekeepingDue) {
      await accountHousekeeping(this.#db, d.now(), user.id);
      account = await loginAccountState(this.#db, d.now(), user.id);
    }
    const available = await this.#usable(account.devices, req.client.kind);
    if (available.length === 0) {
      if (req.client.kind === 'trading_platform' && (await this.#usable(account.devices, 'client_portal')).length > 0) {
        throw new SlsError('SLS_ERR_PORTAL_ONLY');
      }
      throw new SlsError('SLS_ERR_NO_ACTIVE_DEVICE');
    }

    const now = d.now();
    const tx: LoginTransactionRow = {
      id: newId('ltx'),
      user_id: user.id,
      username_normalized: usernameNormalized,
      client_kind: req.client.kind,
      client_version: req.client.version,
      client_name: req.client.name ?? null,
      source_address: sourceAddress,
      state: 'select_device',
      device_id: null,
      mode: 'default',
      challenge_seq: 0,
      challenge: null,
      code_hash: null,
      challenge_expires_at: null,
      resend_available_at: null,
      challenge_used_at: null,
      wrong_responses: 0,
      created_at: now,
      expires_at: now + d.config.loginTransactionTtlMs,
      ended_at: null,
    };
    const devices = available.map((a) => a.device);
    const noDropDown = req.client.kind === 'trading_platform' && req.client.version < M2FS_MIN_CLIENT_VERSION;

    if (devices.length === 1 || noDropDown) {
      // SPEC L2 (one device: its challenge at once) and L3 (old trading platform: the server picks).
      const device = devices.length === 1 ? devices[0]! : preferredDevice(devices, user.last_device_id);
      const issued = await verifierFor(device.kind).issue(d, tx, device, user);
      const withChallenge: LoginTransactionRow = {
        ...tx,
        state: 'challenge',
        device_id: device.id,
        challenge_seq: 1,
        challenge: issued.challenge,
        code_hash: issued.codeHash,
        challenge_expires_at: challengeExpiry(issued.challengeExpiresAt, tx),
        resend_available_at: issued.resendAvailableAt,
      };
      await insertTransaction(this.#db, withChallenge);
      return this.#challengeStep(withChallenge, device, user, noDropDown ? [] : devices);
    }

    // SPEC L2: several devices: the drop-down, the one used last preselected.
    await insertTransaction(this.#db, tx);
    return {
      status: 'select_device',
      transactionId: tx.id,
      expiresAt: iso(tx.expires_at),
      devices: devices.map((x) => summary(x, user.last_device_id)),
      preselectedDeviceId: preferredDevice(devices, user.last_device_id).id,
    };
  }

  async #challengeStep(tx: LoginTransactionRow, device: DeviceRow, user: UserRow, devices: readonly DeviceRow[]): Promise<LoginStep> {
    return {
      status: 'challenge',
      transactionId: tx.id,
      expiresAt: iso(tx.expires_at),
      devices: devices.map((x) => summary(x, user.last_device_id)),
      challenge: await verifierFor(device.kind).describe(this.#d, tx, device, user),
    };
  }

  /**
   * SPEC O1, O2: a session without a second factor for an opted-out user (the restriction comes with
   * it), or null when the user opted back in since the password step's read. The opt-out is read again
   * in the session's transaction, its row locked on PostgreSQL (optout.ts deletes it to opt in), so an
   * opt-in committed meanwhile, on any slsd, opens no password-only session; one that waits for this
   * finds the session opened before it, as any opened before the opt-in.
   */
  async #signInOptedOut(user: UserRow, req: LoginRequest, sourceAddress: string): Promise<LoginStep | null> {
    const now = this.#d.now();
    const opened = await this.#db.transaction().execute(async (trx) => {
      const still = await accountDb(trx)
        .selectFrom('sls_opt_outs')
        .select('user_id')
        .where('user_id', '=', user.id)
        .$if(trx.getExecutor().adapter instanceof PostgresAdapter, (q) => q.forUpdate())
        .executeTakeFirst();
      if (!still) return null;
      const s = await this.#d.sessions.open(trx, { userId: user.id, loginTransactionId: null, deviceId: null, clientKind: 'trading_platform', access: 'full', withoutSecondFactor: true });
      // SPEC N2: the session and its audit entry commit together: no session opened unaudited.
      await appendAudit(trx, now, { event: 'login.succeeded', userId: user.id, username: user.username_normalized, sourceAddress, details: { clientKind: req.client.kind, secondFactor: 'none: SLS opt-out' } });
      return s;
    });
    if (!opened) return null;
    await this.#d.throttle.recordUserSuccess(user.username_normalized);
    return { status: 'signed_in', session: await this.#d.sessions.describeOpened(opened, user, null) };
  }

  /** Counts a failure (SPEC L6; the throttle writes `user.locked`, N2); when it locks the user, says so (the user is told until when). */
  async #failed(usernameNormalized: string, sourceAddress: string): Promise<void> {
    const lockedUntil = await this.#d.throttle.recordFailure(usernameNormalized, sourceAddress);
    if (lockedUntil !== null) throw new SlsError('SLS_ERR_USER_LOCKED', { lockedUntil: iso(lockedUntil) });
  }

  /**
   * A live transaction, or the coded reason it is not. With a source address, that address's
   * throttling is checked too (SPEC L6), in the same read as the user's lock.
   */
  async #liveTransaction(id: string, sourceAddress?: string): Promise<{ tx: LoginTransactionRow; user: UserRow; device: DeviceRow | null; userHasFailures: boolean }> {
    const row = (await transactionStepRead(this.#db, id, sourceAddress ?? '')).rows[0];
    if (!row) throw new SlsError('SLS_ERR_TRANSACTION_NOT_FOUND');
    const { tx: txColumns, user, device } = splitStepRow(row as Record<string, unknown>);
    const { counters, rest: tx } = splitCounters(txColumns as unknown as LoginTransactionRow & RequestCounterColumns);
    if (tx.state === 'completed') throw new SlsError('SLS_ERR_CHALLENGE_USED');
    if (tx.state === 'ended') throw new SlsError('SLS_ERR_TRANSACTION_ENDED');
    if (tx.expires_at <= this.#d.now()) throw new SlsError('SLS_ERR_TRANSACTION_EXPIRED');
    let userHasFailures: boolean;
    try {
      ({ userHasFailures } = this.#d.throttle.judge(counters));
    } catch (e) {
      if (e instanceof SlsError && e.code === 'SLS_ERR_USER_LOCKED') await this.#end(tx);
      throw e;
    }
    if (!user) throw new Error(`login transaction ${tx.id} has no user`);
    return { tx, user, device, userHasFailures };
  }

  /**
   * The desktop's Cancel (SPEC L7, C5, L4): the login ends on slsd too. An IB Key push still on the
   * phone then signs no one in (its approval finds the login over) and no longer counts among the
   * three a user may have waiting (verifiers/ibkey-push.ts), and the desktop's long-poll ends
   * (`notify`). Idempotent: a login already ended or expired is fine; one already signed in answers
   * SLS_ERR_CHALLENGE_USED (the desktop then signs that session out). Audited `login.cancelled`.
   */
  async cancel(transactionId: string, sourceAddress: string, notify: (transactionId: string) => void): Promise<{ ok: true }> {
    const tx = await this.#db.selectFrom('login_transactions').select(['id', 'state', 'user_id']).where('id', '=', transactionId).executeTakeFirst();
    if (!tx) throw new SlsError('SLS_ERR_TRANSACTION_NOT_FOUND');
    if (tx.state === 'completed') throw new SlsError('SLS_ERR_CHALLENGE_USED');
    const now = this.#d.now();
    const ended = await this.#db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('login_transactions')
        .set({ state: 'ended', ended_at: now })
        .where('id', '=', tx.id)
        .where('state', 'in', ['select_device', 'challenge'])
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      const user = (await userById(trx, tx.user_id)).rows[0];
      await appendAudit(trx, now, { event: 'login.cancelled', userId: tx.user_id, username: user?.username_normalized ?? null, sourceAddress, details: { transactionId: tx.id } });
      return true;
    });
    if (ended) notify(tx.id);
    else {
      const after = await this.#db.selectFrom('login_transactions').select('state').where('id', '=', tx.id).executeTakeFirst();
      // Completed between the read and the update (an approval raced the Cancel): said so, as above.
      if (after?.state === 'completed') throw new SlsError('SLS_ERR_CHALLENGE_USED');
    }
    return { ok: true };
  }

  async #end(tx: LoginTransactionRow): Promise<void> {
    await this.#db
      .updateTable('login_transactions')
      .set({ state: 'ended', ended_at: this.#d.now() })
      .where('id', '=', tx.id)
      .where('state', 'in', ['select_device', 'challenge'])
      .execute();
  }

  /**
   * Issue a new challenge on a device; the previous challenge of the transaction is dead (SPEC L5, D2).
   *
   * Conditional on the challenge sequence read, so two concurrent switches cannot both win. Audited
   * once it won (SPEC N2): a switch to another device as `login.device_switched`; a new SMS code to
   * the same phone, by Resend or by choosing SMS again, as `login.code_resent` (L4: what reached the
   * user's phone, and from where, is on record, as a switch is); the same IB Key from push to offline
   * code or back as `login.mode_switched`; a new challenge on the same device and mode as
   * `login.challenge_renewed`.
   */
  async #issueOn(tx: LoginTransactionRow, device: DeviceRow, user: UserRow, mode: string, devices: readonly DeviceRow[], sourceAddress: string | undefined): Promise<LoginStep> {
    const verifier = verifierFor(device.kind);
    // SPEC L4: a new SMS code only after the cool-down, however it is asked for: the resend button,
    // or choosing the SMS device again (directly, or after switching to another device and back).
    // The cool-down is the transaction's and outlives a switch (below), so no login sends codes
    // faster than one per cool-down to the user's phone.
    if (verifier.canResend && tx.resend_available_at !== null && this.#d.now() < tx.resend_available_at) {
      throw new SlsError('SLS_ERR_RESEND_TOO_SOON', { retryAt: iso(tx.resend_available_at) });
    }
    // SPEC L4, N1: the cool-down is claimed in the row before the text goes out, so of requests at the
    // same moment (a retrying proxy, two slsd) one sends and the others wait: each used to send its
    // own text, counted against the phone's budget, and all but one were then refused as a conflict.
    const claimed = verifier.canResend ? await this.#claimCooldown(tx) : null;
    // The verifier sees the mode of the challenge it issues (IB Key: push or offline code, SPEC L4).
    let issued: Awaited<ReturnType<typeof verifier.issue>>;
    try {
      issued = await verifier.issue(this.#d, { ...tx, mode }, device, user);
    } catch (e) {
      // Nothing went out (the phone on the do-not-call list, outside carrier hours, over its budget):
      // the claim goes back, so the user is not made to wait for a text never sent.
      if (claimed !== null) await this.#db.updateTable('login_transactions').set({ resend_available_at: tx.resend_available_at }).where('id', '=', tx.id).where('resend_available_at', '=', claimed).execute();
      throw e;
    }
    const next: LoginTransactionRow = {
      ...tx,
      state: 'challenge',
      device_id: device.id,
      mode,
      challenge_seq: tx.challenge_seq + 1,
      challenge: issued.challenge,
      code_hash: issued.codeHash,
      challenge_expires_at: challengeExpiry(issued.challengeExpiresAt, tx),
      // A device that sends nothing (a card, a push) leaves the SMS cool-down running (SPEC L4).
      resend_available_at: issued.resendAvailableAt ?? tx.resend_available_at,
      challenge_used_at: null,
    };
    // SPEC N2: the new challenge and its audit entry commit together: no switch, resend or renewal
    // stands in the row unaudited.
    await this.#db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('login_transactions')
        .set({
          state: next.state,
          device_id: next.device_id,
          mode: next.mode,
          challenge_seq: next.challenge_seq,
          challenge: next.challenge,
          code_hash: next.code_hash,
          challenge_expires_at: next.challenge_expires_at,
          resend_available_at: next.resend_available_at,
          challenge_used_at: null,
        })
        .where('id', '=', tx.id)
        .where('challenge_seq', '=', tx.challenge_seq)
        .where('state', 'in', ['select_device', 'challenge'])
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new SlsError('SLS_ERR_CONFLICT', { message: 'This login changed meanwhile. Please try again.' });
      if (tx.device_id !== null) {
        const sameDevice = tx.device_id === device.id;
        const resent = sameDevice && tx.state === 'challenge' && verifier.canResend;
        // What happened, as the operator reads it (SPEC N2, L5, L7): another SMS text to the phone; another
        // device; the same IB Key from a push to its offline code or back; or a new challenge on the same
        // device and way (a push sent again, a new DSC+ challenge), which push bombing would show as.
        let event: KnownAuditEvent;
        let details: AuditEntry['details'];
        if (resent) {
          event = 'login.code_resent';
          details = { kind: device.kind, transactionId: tx.id };
        } else if (!sameDevice) {
          event = 'login.device_switched';
          details = { from: tx.device_id, transactionId: tx.id };
        } else if (tx.mode !== mode) {
          event = 'login.mode_switched';
          details = { kind: device.kind, from: tx.mode, to: mode, transactionId: tx.id };
        } else {
          event = 'login.challenge_renewed';
          details = { kind: device.kind, mode, transactionId: tx.id };
        }
        await appendAudit(trx, this.#d.now(), { event, userId: user.id, username: user.username_normalized, sourceAddress: sourceAddress ?? null, deviceId: device.id, details });
      }
    });
    return this.#challengeStep(next, device, user, devices);
  }

  /**
   * Takes the SMS cool-down of `tx` for one request (SPEC L4, N1): sets `resend_available_at` to the
   * end of a cool-down from now, only if it is still what `tx` read. Returns the value set; a request
   * that lost the race is told to wait, with when.
   */
  async #claimCooldown(tx: LoginTransactionRow): Promise<number> {
    const until = this.#d.now() + this.#d.config.smsResendCooldownMs;
    const r = await this.#db
      .updateTable('login_transactions')
      .set({ resend_available_at: until })
      .where('id', '=', tx.id)
      .where('challenge_seq', '=', tx.challenge_seq)
      .where((eb) => (tx.resend_available_at === null ? eb('resend_available_at', 'is', null) : eb('resend_available_at', '=', tx.resend_available_at)))
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 1) return until;
    const now = await this.#db.selectFrom('login_transactions').select('resend_available_at').where('id', '=', tx.id).executeTakeFirst();
    if (now?.resend_available_at != null && now.resend_available_at > this.#d.now()) throw new SlsError('SLS_ERR_RESEND_TOO_SOON', { retryAt: iso(now.resend_available_at) });
    throw new SlsError('SLS_ERR_CONFLICT', { message: 'This login changed meanwhile. Please try again.' });
  }

  /** Choose or switch the device (SPEC L2, L5): a new challenge, the old one dead. */
  async selectDevice(transactionId: string, req: SelectDeviceRequest, sourceAddress: string): Promise<LoginStep> {
    const { tx, user } = await this.#liveTransaction(transactionId, sourceAddress);
    const available = await this.#available(user, tx.client_kind);
    const device = available.find((a) => a.device.id === req.deviceId)?.device;
    if (!device) throw new SlsError('SLS_ERR_DEVICE_NOT_AVAILABLE');
    const noDropDown = tx.client_kind === 'trading_platform' && tx.client_version < M2FS_MIN_CLIENT_VERSION;
    const listed = noDropDown ? [] : available.map((a) => a.device);
    // SPEC L4, L7: choosing again the device whose SMS code or IB Key push is still on its way sends
    // nothing new (no second SMS within the cool-down, no stream of pushes to the phone): the same
    // challenge stands and its screen comes back.
    if (this.#stillOnItsWay(tx, device, req.mode)) return this.#challengeStep(tx, device, user, listed);
    return this.#issueOn(tx, device, user, req.mode, listed, sourceAddress);
  }

  /** Is this device's current challenge something sent to the user (an SMS code, a push) that is still valid? */
  #stillOnItsWay(tx: LoginTransactionRow, device: DeviceRow, mode: string): boolean {
    if (tx.state !== 'challenge' || tx.device_id !== device.id || tx.mode !== mode) return false;
    const now = this.#d.now();
    if (tx.challenge_expires_at === null || now >= tx.challenge_expires_at) return false;
    const verifier = verifierFor(device.kind);
    if (!verifier.sends?.(mode)) return false;
    // An SMS code within its cool-down (after it, choosing SMS again is a resend); a push while it waits.
    return !verifier.canResend || (tx.resend_available_at !== null && now < tx.resend_available_at);
  }

  /** A new SMS code after the cool-down (SPEC L4); never resets a failure count (L6). */
  async resend(transactionId: string, sourceAddress?: string): Promise<LoginStep> {
    const { tx, user, device } = await this.#liveTransaction(transactionId, sourceAddress);
    if (backToDeviceChoice(tx)) throw new SlsError('SLS_ERR_DEVICE_NOT_AVAILABLE');
    if (tx.state !== 'challenge' || !tx.device_id) throw new SlsError('SLS_ERR_NO_CHALLENGE');
    if (!device) throw new Error(`login transaction ${tx.id} has no device ${tx.device_id}`);
    if (!verifierFor(device.kind).canResend) throw new SlsError('SLS_ERR_CONFLICT', { message: 'This device has no code to resend.' });
    const available = await this.#available(user, tx.client_kind);
    // SPEC D5: only an active device authenticates, so a device reported lost, set aside by a sharing
    // (S5) or moved away since its code was sent gets no new code; the client reads the current step.
    if (!available.some((a) => a.device.id === device.id)) throw new SlsError('SLS_ERR_DEVICE_NOT_AVAILABLE');
    if (tx.resend_available_at !== null && this.#d.now() < tx.resend_available_at) {
      throw new SlsError('SLS_ERR_RESEND_TOO_SOON', { retryAt: iso(tx.resend_available_at) });
    }
    const noDropDown = tx.client_kind === 'trading_platform' && tx.client_version < M2FS_MIN_CLIENT_VERSION;
    return this.#issueOn(tx, device, user, tx.mode, noDropDown ? [] : available.map((a) => a.device), sourceAddress);
  }

  /** The current step of a live transaction (for a client that reconnects). */
  async current(transactionId: string): Promise<LoginStep> {
    const { tx, user, device } = await this.#liveTransaction(transactionId);
    const available = await this.#available(user, tx.client_kind);
    const devices = available.map((a) => a.device);
    if (devices.length === 0) throw new SlsError('SLS_ERR_NO_ACTIVE_DEVICE');
    const noDropDown = tx.client_kind === 'trading_platform' && tx.client_version < M2FS_MIN_CLIENT_VERSION;
    // SPEC D5, L2: a challenge on a device that can no longer answer it (reported lost, set aside by a
    // sharing, an IB Key moved to another phone) is no step to come back to: the drop-down is. A client
    // without one (L3) is shown its challenge, whose response then answers DEVICE_NOT_AVAILABLE. A login
    // whose challenge ended when its device was taken out of use is at the drop-down for good
    // (`backToDeviceChoice`), even once that device is active again: it then gets a fresh challenge.
    if (tx.state === 'select_device' || !device || (!noDropDown && !devices.some((x) => x.id === device.id))) {
      // The user chose a kind of device: an IB Key moved to a new phone is preselected there (K5).
      const sameKind = device ? devices.find((x) => x.kind === device.kind) : undefined;
      return {
        status: 'select_device',
        transactionId: tx.id,
        expiresAt: iso(tx.expires_at),
        devices: devices.map((x) => summary(x, user.last_device_id)),
        preselectedDeviceId: (sameKind ?? preferredDevice(devices, user.last_device_id)).id,
      };
    }
    return this.#challengeStep(tx, device, user, noDropDown ? [] : devices);
  }

  /** The second factor's response (SPEC L5, L6, D2). */
  async respond(transactionId: string, response: string, sourceAddress: string): Promise<LoginStep> {
    const d = this.#d;
    const { tx, user, device, userHasFailures } = await this.#liveTransaction(transactionId, sourceAddress);
    if (backToDeviceChoice(tx)) throw new SlsError('SLS_ERR_DEVICE_NOT_AVAILABLE');
    if (tx.state !== 'challenge' || !tx.device_id) throw new SlsError('SLS_ERR_NO_CHALLENGE');
    if (!device) throw new Error(`login transaction ${tx.id} has no device ${tx.device_id}`);
    const verifier = verifierFor(device.kind);
    const access = device.status !== 'active' ? null : verifier.access ? await verifier.access(d, device, tx.client_kind) : 'full';
    if (!access) throw new SlsError('SLS_ERR_DEVICE_NOT_AVAILABLE');
    // SPEC S5: another user's device answers only while the sharing that lent it is approved. A login
    // begun with it before the sharing ended (by either user, or by the device's report) opens nothing
    // after: the cancel ended every session the requester had with it, and this one would outlive it.
    // Asked only for a shared device, so the owner's own logins read nothing more.
    if (device.user_id !== user.id && !(await sharedDeviceIds(this.#db, user.id)).includes(device.id)) throw new SlsError('SLS_ERR_DEVICE_NOT_AVAILABLE');

    const outcome = await verifier.verify(d, tx, device, response);
    if (outcome === 'expired') throw new SlsError('SLS_ERR_CODE_EXPIRED');
    if (outcome === 'wrong') return this.#wrongResponse(tx, user, device, sourceAddress);

    const now = d.now();
    // SPEC T1, T2: a session opened with a temporary device ends when the access it gave ends.
    const notAfter = verifier.accessEndsAt ? await verifier.accessEndsAt(d, device, tx.client_kind) : null;
    // SPEC N2: the login and its audit entry commit together.
    const audit: AuditEntry = {
      event: 'login.succeeded',
      userId: user.id,
      username: user.username_normalized,
      sourceAddress,
      deviceId: device.id,
      details: { kind: device.kind, clientKind: tx.client_kind, access, transactionId: tx.id },
    };
    const session = { userId: user.id, loginTransactionId: tx.id, deviceId: device.id, clientKind: tx.client_kind, access, notAfter } as const;
    let opened: OpenedSession | null;
    let facts: SessionAccountFacts | undefined;
    if (this.#db.getExecutor().adapter instanceof PostgresAdapter) {
      // The same writes as below in one statement (completeLoginInOneStatement): one round trip, not seven.
      const s = d.sessions.newSession(session);
      const a = auditValues(audit);
      const r = await completeLoginInOneStatement(
        this.#db, now, tx.id, tx.challenge_seq, device.id, user.id,
        a.event, a.username, a.source_address, a.details,
        s.row.id, s.row.token_hash, s.row.client_kind, s.row.access, s.row.created_at, s.row.expires_at,
      );
      opened = r.rows.length === 1 ? s : null;
      facts = r.rows[0];
    } else {
      opened = await this.#db.transaction().execute(async (trx) => {
        // D2: single use. Only the request whose UPDATE changes the row opens a session.
        const r = await completeTransaction(trx, now, tx.id, tx.challenge_seq);
        if (Number(r.numAffectedRows) !== 1) return null;
        await deviceUsed(trx, now, device.id);
        await userLastDevice(trx, device.id, user.id);
        await appendAudit(trx, now, audit);
        return d.sessions.open(trx, session);
      });
    }
    if (opened === null) throw await this.#lostRace(tx);
    // SPEC L6: a full login ends the run of consecutive failures.
    if (userHasFailures) await d.throttle.recordUserSuccess(tx.username_normalized);
    return { status: 'signed_in', session: await d.sessions.describeOpened(opened, user, device, facts) };
  }

  /**
   * Why a response that lost a race to change the login is refused (SPEC L6, D2).
   *
   * Decided by the row as it is now, never by whether the response was right: a login ended by its
   * third wrong response answers TRANSACTION_ENDED to right and wrong alike (no oracle for a code
   * card, whose cells never change); a login another response completed answers CHALLENGE_USED.
   */
  async #lostRace(tx: LoginTransactionRow): Promise<SlsError> {
    const row = await this.#db.selectFrom('login_transactions').select(['state', 'device_id']).where('id', '=', tx.id).executeTakeFirst();
    if (row?.state === 'ended') return new SlsError('SLS_ERR_TRANSACTION_ENDED');
    // SPEC D5, L5: its device was taken out of use meanwhile; the login is back at the device choice.
    if (row && backToDeviceChoice(row)) return new SlsError('SLS_ERR_DEVICE_NOT_AVAILABLE');
    // Completed by another response, or this challenge replaced by a new one (L5): it is used up.
    return new SlsError('SLS_ERR_CHALLENGE_USED');
  }

  async #wrongResponse(tx: LoginTransactionRow, user: UserRow, device: DeviceRow, sourceAddress: string): Promise<never> {
    const now = this.#d.now();
    // SPEC L6: at most 3 wrong responses are judged per login, however many arrive together (on
    // PostgreSQL they do, over a pool or several slsd). One conditional UPDATE counts this one only
    // while the login is open and has fewer than 3, and ends it at the third, atomically.
    // SPEC N2: the count (and the end at the third) commits with its audit entries, so no wrong
    // response is counted, nor a login ended, unaudited.
    const wrong = await this.#db.transaction().execute(async (trx) => {
      const w = await trx
        .updateTable('login_transactions')
        .set((eb) => ({
          wrong_responses: eb('wrong_responses', '+', 1),
          state: eb.case().when('wrong_responses', '>=', WRONG_RESPONSES_PER_TRANSACTION - 1).then(eb.val<LoginState>('ended')).else(eb.ref('state')).end(),
          ended_at: eb.case().when('wrong_responses', '>=', WRONG_RESPONSES_PER_TRANSACTION - 1).then(now).else(eb.ref('ended_at')).end(),
        }))
        .where('id', '=', tx.id)
        .where('state', '=', 'challenge')
        .where('wrong_responses', '<', WRONG_RESPONSES_PER_TRANSACTION)
        .returning(['wrong_responses', 'state'])
        .executeTakeFirst();
      // No row changed: the login ended (or completed) meanwhile; this response is not judged.
      if (!w) return null;
      const attemptsLeft = Math.max(0, WRONG_RESPONSES_PER_TRANSACTION - w.wrong_responses);
      await appendAudit(trx, now, {
        event: 'login.response_failed',
        userId: user.id,
        username: user.username_normalized,
        sourceAddress,
        deviceId: device.id,
        details: { kind: device.kind, attemptsLeft, transactionId: tx.id },
      });
      if (w.state === 'ended') {
        await appendAudit(trx, now, { event: 'login.transaction_ended', userId: user.id, username: user.username_normalized, sourceAddress, details: { transactionId: tx.id } });
      }
      return { attemptsLeft };
    });
    if (!wrong) throw await this.#lostRace(tx);
    const { attemptsLeft } = wrong;
    // Each wrong response is also a failure of the user (L6); locking ends the transaction.
    try {
      await this.#failed(tx.username_normalized, sourceAddress);
    } catch (e) {
      await this.#end(tx);
      throw e;
    }
    throw new SlsError('SLS_ERR_WRONG_RESPONSE', { attemptsLeft });
  }
}

export function deviceKindName(kind: DeviceRow['kind']): string {
  return DEVICE_CATALOGUE[kind].name;
}
