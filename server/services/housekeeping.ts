/**
 * Housekeeping: deletes the rows that only matter until they expire (SPEC N1 storage stays bounded).
 *
 * Login transactions, sessions, IB Key nonces, push approvals and activations, mobile number
 * verifications (P1), confirmations (W1, C6), auto-restart tokens (L8) and failure counters are kept while they can still decide anything, plus a grace period (for an operator looking into a
 * recent incident), then deleted. Nothing is decided by a missing row that an expired row would have
 * decided differently: an expired transaction, session, nonce, approval, verification code, confirmation or restart
 * token is refused anyway, and a
 * failure counter whose failures all left their window counts nothing (SPEC L6). The audit log is
 * never touched (append-only, SPEC N2): it is the lasting record of what these rows were.
 * The SMS outbox (P5) keeps what was sent for `smsRetentionMs` (default 30 days): long enough for
 * support to see what a user was sent, not for ever (its bodies hold codes, long dead but still).
 * SPEC P2, P5: outbox rows an earlier slsd settled with their code in clear (before migration 0016)
 * get it masked as the dispatcher masks them now (`maskOldSmsCodes`): the ones dropped, and with a
 * real gateway the ones sent; once each, then never looked at again.
 * The SMS budget rows (L4, migration 0012: one per number and budget) go once their rolling hour is
 * over, plus the grace: a number texted once would otherwise stay in `sms_budget` for ever.
 * Settled requests go after `settledRetentionMs` (default 365 days): sharing requests cancelled or
 * rejected (S3–S5) and device orders cancelled (D6, D8), which a user could otherwise make and
 * cancel for ever. Those states are final (nothing moves a row out of them), so no one acts on such a
 * row again, and each goes only once the audit log holds the event that settled it (N2), older than
 * the retention: the lasting record of the request stays there, and a row whose settlement went
 * unaudited (a crash between the two) is kept. Open requests and orders are never touched, nor a
 * cancelled order that deposits still name (D8: the account's record of the replacement deposit).
 *
 * Deletes go in small batches (short write locks on SQLite) and are idempotent, so every slsd
 * process may sweep: `startHousekeeping` runs it periodically, `slsctl housekeeping` on demand.
 */
import type { ExpressionBuilder, Kysely } from 'kysely';
import { USER_FAILURE_WINDOW_MS } from '../config.ts';
import { accountDb } from '../account/schema.ts';
import type { AccountDb, AccountTables } from '../account/schema.ts';
import { SMS_CODES_UNMASKED_BELOW } from '../db/migrations.ts';
import type { Database, FailureCounterTable } from '../db/schema.ts';
import { MOBILE_CODES_WINDOW_MS } from './phone.ts';
import { isSealedSmsBody, maskSmsCode, SMS_BUDGET_WINDOW_MS } from '../sms/policy.ts';
import type { SettledSmsMasking, SmsBudgetBucket, SmsBudgetTables } from '../sms/policy.ts';

export interface HousekeepingOptions {
  /** Rows are deleted this long after they expired (or were revoked). */
  readonly graceMs: number;
  /** The per-address failure window (SPEC L6): an address counter is old once its newest failure left it. */
  readonly addressFailureWindowMs: number;
  /** Rows deleted per statement. Default 500. */
  readonly batchSize?: number;
  /**
   * SMS outbox rows are deleted this long after they were written, once settled (in the outbox, sent
   * or dropped; never one still waiting for the carrier's hours, SPEC P2). Undefined: kept for ever.
   */
  readonly smsRetentionMs?: number;
  /**
   * Cancelled or rejected sharing requests (SPEC S3–S5) and cancelled device orders (D6, D8) are
   * deleted once the audit log (N2) has held their settlement this long. Undefined: kept for ever.
   */
  readonly settledRetentionMs?: number;
  /**
   * SPEC P2, P5: outbox rows written before migration 0016 whose code is still in clear are masked:
   * the dropped ones, and the sent ones too with `sent_and_dropped` (slsd with a real gateway:
   * `SmsPolicyGateway.settledMasking`). Undefined: none.
   */
  readonly maskSmsCodes?: SettledSmsMasking;
}

/** How many rows each sweep deleted, per kind. */
export interface HousekeepingReport {
  loginTransactions: number;
  sessions: number;
  ibkeyNonces: number;
  ibkeyPushRequests: number;
  ibkeyActivations: number;
  mobileVerifications: number;
  confirmations: number;
  restartTokens: number;
  failureCounters: number;
  smsOutbox: number;
  /** Not deleted: outbox rows from before migration 0016 whose code was masked (P2, P5). */
  smsCodesMasked: number;
  smsBudgets: number;
  sharingRequests: number;
  deviceOrders: number;
}

export function totalDeleted(r: HousekeepingReport): number {
  return (
    r.loginTransactions +
    r.sessions +
    r.ibkeyNonces +
    r.ibkeyPushRequests +
    r.ibkeyActivations +
    r.mobileVerifications +
    r.confirmations +
    r.restartTokens +
    r.failureCounters +
    r.smsOutbox +
    r.smsBudgets +
    r.sharingRequests +
    r.deviceOrders
  );
}

/**
 * Deletes, batch by batch, the SMS outbox rows written before `cutoff` that are settled: written to
 * the outbox (P5), sent after waiting, or dropped. A row still waiting for the carrier's hours
 * (not_before set, neither sent nor dropped) stays whatever its age: the dispatcher still owes it.
 */
async function deleteOldSms(db: AccountDb, cutoff: number, batch: number): Promise<number> {
  let total = 0;
  for (;;) {
    const ids = db
      .selectFrom('sms_outbox')
      .select('id')
      .where('at', '<', cutoff)
      .where((eb) => eb.or([eb('not_before', 'is', null), eb('sent_at', 'is not', null), eb('dropped_reason', 'is not', null)]))
      .limit(batch);
    const r = await db.deleteFrom('sms_outbox').where('id', 'in', ids).executeTakeFirst();
    const n = Number(r.numDeletedRows);
    total += n;
    if (n < batch) return total;
  }
}

/**
 * SPEC P2, P5 (codes at rest): masks the code of the `kind` rows (dropped, or sent) that an slsd from
 * before migration 0016 settled with it in clear, as the dispatcher does now (sms/policy.ts
 * `maskSmsCode`), then removes the mark migration 0016 left for that kind, so it is done once.
 *
 * Only rows below the mark: every row written since is masked when it settles, or is the embedded
 * outbox's readable message by design. Keyset-paged by id (a primary-key range, gone with the
 * retention anyway). A sealed body is left alone (its base64 may hold digits; a settled row never
 * keeps one). Each update is conditional on the body read and the row still settled, so a
 * dispatcher or another slsd sweeping at the same time is never overwritten, and a second run
 * changes nothing. A sweep that fails midway keeps the mark, and the next one goes on.
 */
async function maskOldSmsCodes(db: AccountDb, kind: keyof typeof SMS_CODES_UNMASKED_BELOW, batch: number): Promise<number> {
  const name = SMS_CODES_UNMASKED_BELOW[kind];
  const mark = await db.selectFrom('server_meta').select('value').where('name', '=', name).executeTakeFirst();
  if (!mark) return 0;
  const below = Number(mark.value);
  const settled = kind === 'dropped' ? 'dropped_reason' : 'sent_at';
  let total = 0;
  let after = 0;
  for (;;) {
    const rows = await db.selectFrom('sms_outbox').select(['id', 'body']).where('id', '>', after).where('id', '<', below).where(settled, 'is not', null).orderBy('id').limit(batch).execute();
    for (const row of rows) {
      if (isSealedSmsBody(row.body)) continue;
      const body = maskSmsCode(row.body);
      if (body === row.body) continue;
      const r = await db.updateTable('sms_outbox').set({ body }).where('id', '=', row.id).where('body', '=', row.body).where(settled, 'is not', null).executeTakeFirst();
      total += Number(r.numUpdatedRows);
    }
    if (rows.length < batch) break;
    after = rows[rows.length - 1]!.id;
  }
  await db.deleteFrom('server_meta').where('name', '=', name).execute();
  return total;
}

/** SPEC P2, P5: `maskOldSmsCodes` for the kinds of settled rows that keep no code under `masking`. */
async function maskOldSettledSms(db: AccountDb, masking: SettledSmsMasking, batch: number): Promise<number> {
  const dropped = await maskOldSmsCodes(db, 'dropped', batch);
  return masking === 'sent_and_dropped' ? dropped + (await maskOldSmsCodes(db, 'sent', batch)) : dropped;
}

type KeyedTable = 'login_transactions' | 'sessions' | 'ibkey_push_requests' | 'ibkey_activations' | 'mobile_verifications' | 'confirmations' | 'restart_tokens';

/**
 * Deletes, batch by batch, the rows of `table` whose `expires_at` (and, for sessions, `revoked_at`)
 * is before `cutoff`. `delete … where id in (select … limit n)` works alike on SQLite and PostgreSQL.
 */
async function deleteExpired(db: AccountDb, table: KeyedTable, cutoff: number, batch: number, madeBefore?: number): Promise<number> {
  let total = 0;
  for (;;) {
    const ids = db
      .selectFrom(table)
      .select('id')
      .where((eb) =>
        table === 'sessions'
          ? eb.or([eb('expires_at', '<', cutoff), eb.and([eb('revoked_at', 'is not', null), eb('revoked_at', '<', cutoff)])])
          : eb('expires_at', '<', cutoff),
      )
      .$if(madeBefore !== undefined, (q) => q.where('created_at', '<', madeBefore!))
      .limit(batch);
    const r = await db.deleteFrom(table).where('id', 'in', ids).executeTakeFirst();
    const n = Number(r.numDeletedRows);
    total += n;
    if (n < batch) return total;
  }
}

async function deleteExpiredNonces(db: Kysely<Database>, cutoff: number, batch: number): Promise<number> {
  let total = 0;
  for (;;) {
    const nonces = db.selectFrom('ibkey_nonces').select('nonce').where('expires_at', '<', cutoff).limit(batch);
    const r = await db.deleteFrom('ibkey_nonces').where('nonce', 'in', nonces).executeTakeFirst();
    const n = Number(r.numDeletedRows);
    total += n;
    if (n < batch) return total;
  }
}

/** The newest time in a JSON list of times (a failure counter's failures, an SMS budget's sends), or null when there is none. */
function newestTime(json: string): number | null {
  try {
    const parsed: unknown = JSON.parse(json);
    if (!Array.isArray(parsed)) return null;
    const times = parsed.filter((t): t is number => typeof t === 'number');
    return times.length ? Math.max(...times) : null;
  } catch {
    return null;
  }
}

/**
 * Failure counters (SPEC L6) whose newest failure left its window more than the grace ago, and
 * whose lock (if any) ended more than the grace ago. Each delete is conditional on the version read,
 * so a failure counted meanwhile by a login is never lost.
 */
async function deleteOldFailureCounters(db: Kysely<Database>, now: number, o: HousekeepingOptions, batch: number): Promise<number> {
  const lockCutoff = now - o.graceMs;
  let total = 0;
  let after: { scope: FailureCounterTable['scope']; subject: string } | null = null;
  for (;;) {
    let q = db
      .selectFrom('failure_counters')
      .select(['scope', 'subject', 'failures', 'locked_until', 'version'])
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', lockCutoff)]))
      .orderBy('scope')
      .orderBy('subject')
      .limit(batch);
    if (after) {
      const a = after;
      q = q.where((eb) => eb.or([eb('scope', '>', a.scope), eb.and([eb('scope', '=', a.scope), eb('subject', '>', a.subject)])]));
    }
    const rows = await q.execute();
    for (const row of rows) {
      const window = row.scope === 'user' ? USER_FAILURE_WINDOW_MS : o.addressFailureWindowMs;
      const newest = newestTime(row.failures);
      if (newest !== null && newest >= now - window - o.graceMs) continue;
      const r = await db
        .deleteFrom('failure_counters')
        .where('scope', '=', row.scope)
        .where('subject', '=', row.subject)
        .where('version', '=', row.version)
        .executeTakeFirst();
      total += Number(r.numDeletedRows);
    }
    if (rows.length < batch) return total;
    const last = rows[rows.length - 1]!;
    after = { scope: last.scope, subject: last.subject };
  }
}

/**
 * SPEC L4, N1: the SMS budget rows (migration 0012, sms/policy.ts) whose rolling hour is over, more
 * than the grace ago. The table has no expiry column: a row's window is the times in its `sent` JSON
 * (the SMS of the last hour to that number, per budget), and it is over once the newest of them is
 * SMS_BUDGET_WINDOW_MS old. Such a row counts nothing (policy.ts `recentSends` keeps none of its
 * times), so a missing row decides exactly what it would have: a budget with nothing spent. Each
 * delete is conditional on the version read, so an SMS counted meanwhile (by any slsd) is never lost:
 * that row is kept until a later sweep. Keyset-paged by its primary key (number, bucket).
 */
async function deleteOldSmsBudgets(db: Kysely<Database>, now: number, o: HousekeepingOptions, batch: number): Promise<number> {
  const bdb = db.withTables<SmsBudgetTables>();
  const cutoff = now - SMS_BUDGET_WINDOW_MS - o.graceMs;
  let total = 0;
  let after: { number: string; bucket: SmsBudgetBucket } | null = null;
  for (;;) {
    let q = bdb.selectFrom('sms_budget').select(['number', 'bucket', 'sent', 'version']).orderBy('number').orderBy('bucket').limit(batch);
    if (after) {
      const a = after;
      // A row value, so each page is a seek on the primary key (number, bucket), on SQLite and PostgreSQL.
      q = q.where((eb) => eb(eb.refTuple('number', 'bucket'), '>', eb.tuple(a.number, a.bucket)));
    }
    const rows = await q.execute();
    for (const row of rows) {
      const newest = newestTime(row.sent);
      if (newest !== null && newest >= cutoff) continue;
      const r = await bdb.deleteFrom('sms_budget').where('number', '=', row.number).where('bucket', '=', row.bucket).where('version', '=', row.version).executeTakeFirst();
      total += Number(r.numDeletedRows);
    }
    if (rows.length < batch) return total;
    const last = rows[rows.length - 1]!;
    after = { number: last.number, bucket: last.bucket };
  }
}

/** A settled row: its id, and the user under whom the audit log recorded its settlement (SPEC N2). */
interface SettledRow {
  readonly id: string;
  readonly user_id: string;
}

/** A row's settlement as `auditedBefore` matches it: the same id under the same user. */
const settledKey = (userId: string, id: string) => JSON.stringify([userId, id]);

/**
 * What the audit log (SPEC N2) says settled these rows: those named under `key` in an `event` entry
 * of their own user written before `cutoff` (as `settledKey`s). One lookup per page, by the users'
 * index (`audit_log_user`, migration 0008); the audit log is only read, never changed.
 */
async function auditedBefore(db: Kysely<Database>, rows: readonly SettledRow[], settled: { event: string; key: string }, cutoff: number): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const entries = await db
    .selectFrom('audit_log')
    .select(['user_id', 'details'])
    .where('user_id', 'in', [...new Set(rows.map((r) => r.user_id))])
    .where('event', '=', settled.event)
    .where('at', '<', cutoff)
    .execute();
  const named = new Set<string>();
  for (const e of entries) {
    try {
      const id = (JSON.parse(e.details) as Record<string, unknown>)[settled.key];
      if (typeof id === 'string' && e.user_id !== null) named.add(settledKey(e.user_id, id));
    } catch {
      // Not JSON: names nothing, so settles nothing.
    }
  }
  return named;
}

/**
 * Deletes, a page at a time, the settled rows `page` finds whose settlement the audit log recorded
 * before `cutoff` (`auditedBefore`); `remove` deletes a page's ids, conditionally on their settled
 * state, so a concurrent sweep (another slsd, `slsctl housekeeping`) only finds them gone.
 * Keyset-paged by id: a row kept (its settlement unaudited, or audited within the retention) is
 * passed over, not read again in the same sweep.
 */
async function deleteAudited(
  db: Kysely<Database>,
  page: (after: string | null) => Promise<SettledRow[]>,
  settled: { event: string; key: string },
  cutoff: number,
  remove: (ids: string[]) => Promise<number>,
  batch: number,
): Promise<number> {
  let total = 0;
  let after: string | null = null;
  for (;;) {
    const rows = await page(after);
    const audited = await auditedBefore(db, rows, settled, cutoff);
    const ids = rows.filter((r) => audited.has(settledKey(r.user_id, r.id))).map((r) => r.id);
    if (ids.length > 0) total += await remove(ids);
    if (rows.length < batch) return total;
    after = rows[rows.length - 1]!.id;
  }
}

/** The final states of a sharing request (SPEC S4, S5), the column with their time and the event that audits them (sharing.ts). */
const SETTLED_SHARING = [
  { state: 'cancelled', at: 'cancelled_at', event: 'sharing.cancelled' },
  { state: 'rejected', at: 'decided_at', event: 'sharing.rejected' },
] as const;

/**
 * SPEC S3–S5, N2: sharing requests cancelled (by the requester, the owner, a new start replacing one,
 * or their device's report) or rejected by compliance, more than the retention ago. Both states are
 * final: `cancel`, `answer`, `submit` and `decide` act only on open requests, and a cancel already
 * gave back the devices an approval set aside, so no user or operator acts on such a row again. It
 * leaves the users' lists (GET /v1/sharing), which show only the 50 most recent anyway. Every
 * `sharing.*` entry is the requester's and names the request as `requestId`.
 */
async function deleteSettledSharing(db: Kysely<Database>, cutoff: number, batch: number): Promise<number> {
  const adb = accountDb(db);
  let total = 0;
  for (const s of SETTLED_SHARING) {
    const page = (after: string | null) =>
      adb
        .selectFrom('sharing_requests')
        .select(['id', 'requester_user_id as user_id'])
        .where('state', '=', s.state)
        // Settled after it was created, so this loses no row, and lets the (state, created_at) index (migration 0006) bound the page.
        .where('created_at', '<', cutoff)
        .where(s.at, '<', cutoff)
        .$if(after !== null, (q) => q.where('id', '>', after!))
        .orderBy('id')
        .limit(batch)
        .execute();
    const remove = async (ids: string[]) => Number((await adb.deleteFrom('sharing_requests').where('id', 'in', ids).where('state', '=', s.state).executeTakeFirst()).numDeletedRows);
    total += await deleteAudited(db, page, { event: s.event, key: 'requestId' }, cutoff, remove, batch);
  }
  return total;
}

/**
 * SPEC D6, D8, N2: device orders cancelled (only ever from `ordered`, not yet sent: no device was
 * made) whose `device.order_cancelled` entry is older than the retention. The row has no time of
 * cancelling; the audit entry has, so a long-open order cancelled yesterday stays a retention.
 * An order that account deposits name (a replacement's USD 20 and its release, D8) stays with them:
 * the account's record keeps what it was for. Only a user ordering and cancelling again and again
 * grows the table; a replacement is ordered once per reported device.
 */
async function deleteCancelledOrders(db: Kysely<Database>, cutoff: number, batch: number): Promise<number> {
  const adb = accountDb(db);
  // SPEC D8: no deposit names the order (by the `account_deposits_order` index, migration 0006).
  const noDeposit = ({ not, exists, selectFrom }: ExpressionBuilder<Database & AccountTables, 'device_orders'>) =>
    not(exists(selectFrom('account_deposits').select('account_deposits.id').whereRef('account_deposits.order_id', '=', 'device_orders.id')));
  const page = (after: string | null) =>
    adb
      .selectFrom('device_orders')
      .select(['id', 'user_id'])
      .where('state', '=', 'cancelled')
      .where(noDeposit)
      // Cancelled after it was made: an order made within the retention is not even looked up in the audit log.
      .where('created_at', '<', cutoff)
      .$if(after !== null, (q) => q.where('id', '>', after!))
      .orderBy('id')
      .limit(batch)
      .execute();
  const remove = async (ids: string[]) => Number((await adb.deleteFrom('device_orders').where('id', 'in', ids).where('state', '=', 'cancelled').where(noDeposit).executeTakeFirst()).numDeletedRows);
  return deleteAudited(db, page, { event: 'device.order_cancelled', key: 'orderId' }, cutoff, remove, batch);
}

/** One sweep at `now` (the injectable clock): deletes what expired more than `graceMs` ago. Never the audit log (SPEC N2). */
export async function sweepExpired(db: Kysely<Database>, now: number, o: HousekeepingOptions): Promise<HousekeepingReport> {
  if (!Number.isFinite(o.graceMs) || o.graceMs < 0) throw new Error(`housekeeping grace must be a non-negative number of ms, got ${o.graceMs}`);
  if (o.smsRetentionMs !== undefined && (!Number.isFinite(o.smsRetentionMs) || o.smsRetentionMs < 0)) throw new Error(`SMS retention must be a non-negative number of ms, got ${o.smsRetentionMs}`);
  if (o.settledRetentionMs !== undefined && (!Number.isFinite(o.settledRetentionMs) || o.settledRetentionMs < 0)) {
    throw new Error(`settled requests' retention must be a non-negative number of ms, got ${o.settledRetentionMs}`);
  }
  const batch = o.batchSize ?? 500;
  const cutoff = now - o.graceMs;
  const adb = accountDb(db);
  return {
    loginTransactions: await deleteExpired(adb, 'login_transactions', cutoff, batch),
    sessions: await deleteExpired(adb, 'sessions', cutoff, batch),
    ibkeyNonces: await deleteExpiredNonces(db, cutoff, batch),
    ibkeyPushRequests: await deleteExpired(adb, 'ibkey_push_requests', cutoff, batch),
    ibkeyActivations: await deleteExpired(adb, 'ibkey_activations', cutoff, batch),
    // SPEC P1: a code is judged only while its verification is live; L8: a restart token only until it
    // expires. L4, P1: a verification also counts toward its user's codes in any 24 hours, so it stays
    // that long whatever the grace (else a short grace would reset that limit with every sweep).
    mobileVerifications: await deleteExpired(adb, 'mobile_verifications', cutoff, batch, now - MOBILE_CODES_WINDOW_MS),
    // SPEC W1, C6: a confirmation is judged only until it expires; a withdrawal keeps its own row
    // (replays go by idempotency key) and the audit log the confirmation's story.
    confirmations: await deleteExpired(adb, 'confirmations', cutoff, batch),
    restartTokens: await deleteExpired(adb, 'restart_tokens', cutoff, batch),
    failureCounters: await deleteOldFailureCounters(db, now, o, batch),
    smsOutbox: o.smsRetentionMs === undefined ? 0 : await deleteOldSms(adb, now - o.smsRetentionMs, batch),
    // SPEC P2, P5: codes an earlier slsd left in clear in settled rows (once; migration 0016).
    smsCodesMasked: o.maskSmsCodes === undefined ? 0 : await maskOldSettledSms(adb, o.maskSmsCodes, batch),
    // SPEC L4: a number's SMS budget only counts the last hour.
    smsBudgets: await deleteOldSmsBudgets(db, now, o, batch),
    // SPEC S3–S5, D6, D8, N2: settled requests, once the audit log has held their settlement a retention.
    sharingRequests: o.settledRetentionMs === undefined ? 0 : await deleteSettledSharing(db, now - o.settledRetentionMs, batch),
    deviceOrders: o.settledRetentionMs === undefined ? 0 : await deleteCancelledOrders(db, now - o.settledRetentionMs, batch),
  };
}

export interface HousekeepingTimer {
  /** Stops the interval and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/**
 * Sweeps every `intervalMs` (0: never). A sweep still running when the next is due is not doubled;
 * a failed sweep is reported and the next one tries again. The timer does not keep the process alive.
 */
export function startHousekeeping(
  db: Kysely<Database>,
  now: () => number,
  o: HousekeepingOptions & { readonly intervalMs: number },
  report: { swept(r: HousekeepingReport): void; failed(err: unknown): void },
): HousekeepingTimer {
  if (o.intervalMs <= 0) return { stop: async () => undefined };
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = sweepExpired(db, now(), o)
      .then((r) => report.swept(r), (err: unknown) => report.failed(err))
      .finally(() => {
        running = null;
      });
  }, o.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
