/**
 * Failure counting and lockout (SPEC L6).
 *
 * Failed passwords and wrong second-factor responses count per user and per source address.
 * Per user: 10 consecutive failures within 24 hours lock the user until 24 hours after the last one;
 * a success resets the count, `slsctl user unlock` lifts a lock. The per-user counter is keyed by the
 * normalized user name whether or not such a user exists, so a lockout answer reveals nothing.
 * Per address: too many failures within a window (`addressFailureLimit`, default 100 in
 * `addressFailureWindowMs`, 15 min) refuse every attempt from it until the oldest of them leaves the
 * window; `slsctl address list` shows such addresses and `slsctl address unblock` clears one.
 *
 * Counters are rows (no state in a process, SPEC N1); a failure's two counters are read and written
 * in one transaction, the update conditional on the row's version and the whole retried, which works
 * alike on SQLite and PostgreSQL (`recordFailure`).
 */
import { PostgresAdapter, sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import type { Database, FailureCounterTable } from '../db/schema.ts';
import { SlsError } from '../errors.ts';
import { USER_FAILURE_LIMIT, USER_FAILURE_WINDOW_MS } from '../config.ts';
import { appendAudit } from './audit.ts';

/** User names are unique case-insensitively; this is the form they are compared and counted in (shared with the desktop, SPEC L2). */
export { normalizeUsername } from '../../core/username.ts';

/** An address's counter as client services see it (SPEC L6, `slsctl address list`). */
export interface AddressThrottle {
  readonly address: string;
  /** Failures from it within the window (`addressFailureWindowMs`). */
  readonly failures: number;
  readonly lastFailureAt: number;
  /** Every attempt from it is refused (SLS_ERR_RATE_LIMITED) until then; null while under the limit. */
  readonly blockedUntil: number | null;
}

/** A request's two counters as read: the address's failures, the user's failures and lock (null: no row). */
export interface RequestCounters {
  readonly addressFailures: string | null;
  readonly userFailures: string | null;
  readonly userLockedUntil: number | null;
}

export interface ThrottleOptions {
  readonly addressFailureLimit: number;
  readonly addressFailureWindowMs: number;
}

type Scope = FailureCounterTable['scope'];

/** A counter changed between `recordFailure`'s read and its write: the transaction is rolled back and tried again. */
class CountersChanged extends Error {}

/**
 * SPEC L6, N1: how many times `recordFailure` tries its transaction again after PostgreSQL rolled it
 * back to break a deadlock (SQLSTATE 40P01) or a serialization failure (40001), before the request
 * gives up with the error (answered 503, db/unavailable.ts). Each wait is short and jittered
 * (`rollbackBackoffMs`), so the transactions that met do not meet again in step.
 */
const ROLLBACK_RETRIES = 3;

/** SPEC N1: PostgreSQL rolled the whole transaction back (deadlock, serialization failure): nothing of it committed. */
function rolledBackByPostgres(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === '40P01' || code === '40001') return true;
  }
  return false;
}

/** The wait before retry `n` (1, 2, 3) of a rolled-back count: 5, 10, 20 ms, plus up to as much again at random. */
const rollbackBackoffMs = (n: number) => 5 * 2 ** (n - 1) * (1 + Math.random());

/** A counter as `recordFailure` reads it. */
type CounterRead = Pick<FailureCounterTable, 'scope' | 'failures' | 'locked_until' | 'version'>;

/** A counter with one more failure (`#next`): as read (undefined: no row), as to be written, and what the failure did. */
interface Counted {
  readonly read: CounterRead | undefined;
  readonly values: FailureCounterTable;
  readonly outcome: CountOutcome;
}

/** One more failure counted (`#next`): the user's lock, whether this failure started the lock or block, the oldest failure kept. */
interface CountOutcome {
  readonly lockedUntil: number | null;
  readonly started: boolean;
  readonly oldest: number;
}

export class Throttle {
  readonly #db: Kysely<Database>;
  readonly #opts: ThrottleOptions;
  readonly #now: () => number;

  constructor(db: Kysely<Database>, opts: ThrottleOptions, now: () => number) {
    this.#db = db;
    this.#opts = opts;
    this.#now = now;
  }

  async #read(scope: Scope, subject: string) {
    return this.#db
      .selectFrom('failure_counters')
      .select(['failures', 'locked_until', 'version'])
      .where('scope', '=', scope)
      .where('subject', '=', subject)
      .executeTakeFirst();
  }

  /**
   * Judges a request by its two counters (SPEC L6), as the caller read them in the same statement as
   * its own rows (the login's steps: one read instead of two; issue 2): throws SLS_ERR_RATE_LIMITED
   * for the address, then SLS_ERR_USER_LOCKED for the user. Returns whether the user has failures on
   * record (so a success knows whether there is a count to reset). Null: no counter row.
   */
  judge(counters: RequestCounters): { userHasFailures: boolean } {
    const now = this.#now();
    if (counters.addressFailures !== null) this.#refuseBlocked(this.#recent(counters.addressFailures, now, this.#opts.addressFailureWindowMs));
    if (counters.userLockedUntil != null && counters.userLockedUntil > now) {
      throw new SlsError('SLS_ERR_USER_LOCKED', { lockedUntil: new Date(counters.userLockedUntil).toISOString() });
    }
    return { userHasFailures: counters.userFailures !== null };
  }

  /** When the user is locked: throws SLS_ERR_USER_LOCKED with lockedUntil. */
  async assertUserNotLocked(usernameNormalized: string): Promise<void> {
    const until = await this.userLockedUntil(usernameNormalized);
    if (until !== null) throw new SlsError('SLS_ERR_USER_LOCKED', { lockedUntil: new Date(until).toISOString() });
  }

  async userLockedUntil(usernameNormalized: string): Promise<number | null> {
    const row = await this.#read('user', usernameNormalized);
    return row?.locked_until != null && row.locked_until > this.#now() ? row.locked_until : null;
  }

  /** When the address has failed too often lately: throws SLS_ERR_RATE_LIMITED with retryAt. */
  async assertAddressAllowed(address: string): Promise<void> {
    const row = await this.#read('address', address);
    if (row) this.#refuseBlocked(this.#recent(row.failures, this.#now(), this.#opts.addressFailureWindowMs));
  }

  /** The time an address's recent failures block it until (SPEC L6), or null while under the limit. */
  #blockedUntil(recent: readonly number[]): number | null {
    return recent.length >= this.#opts.addressFailureLimit ? recent[0]! + this.#opts.addressFailureWindowMs : null;
  }

  #refuseBlocked(recent: readonly number[]): void {
    const until = this.#blockedUntil(recent);
    if (until !== null) throw new SlsError('SLS_ERR_RATE_LIMITED', { retryAt: new Date(until).toISOString() });
  }

  #recent(json: string, now: number, windowMs: number): number[] {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed) ? parsed.filter((t): t is number => typeof t === 'number' && now - t < windowMs) : [];
  }

  /**
   * Counts one failure for the user name and one for the address.
   *
   * Returns the time until which the user is now locked, or null.
   *
   * SPEC N2, L6: the failure that locks the user writes `user.locked`, and the one that brings the
   * address to its limit writes `address.rate_limited` — here, whichever service counted it (a
   * password, a login response, a Client Portal confirmation, a sharing owner's password, a restart
   * token, IB Key activation), so no lock is left off the record and none is written twice.
   *
   * Both counters and those entries commit in one transaction, so a failure is counted for the user
   * and for the address together or not at all (an error or a crash between two writes left the user
   * counted and the address not). SPEC N1, several slsd on one PostgreSQL database: the transaction
   * reads both counters, locking them on PostgreSQL (on SQLite, BEGIN IMMEDIATE has taken the
   * database's write lock, db/connect.ts), then writes both (`#write`), each conditional on what was
   * read; a counter another transaction created or changed meanwhile leaves fewer than two rows
   * written, and the whole transaction is rolled back and tried again, so every failure is counted
   * exactly once on both counters. Usually four statements, as the two separate writes took (BEGIN,
   * read both, write both, COMMIT), and one commit instead of two.
   *
   * SPEC L6, N1: the fixed lock order above is meant to leave two counts no deadlock. Should PostgreSQL
   * still report one (40P01), or a serialization failure (40001), it has rolled this transaction back,
   * counters and entries alike: nothing of it was counted. So the whole transaction is tried again, up
   * to ROLLBACK_RETRIES times after a short jittered wait; the failure is then counted once, and the
   * request gets its own answer (a wrong password, a lock) instead of a 503. Only past those does the
   * error go up (a 503, db/unavailable.ts). SQLite reports neither code (one writer at a time).
   */
  async recordFailure(usernameNormalized: string, address: string): Promise<number | null> {
    let rolledBack = 0;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        return await this.#db.transaction().execute((trx) => this.#countBoth(trx, usernameNormalized, address));
      } catch (err) {
        if (err instanceof CountersChanged) continue;
        if (!rolledBackByPostgres(err) || rolledBack === ROLLBACK_RETRIES) throw err;
        rolledBack++;
        await new Promise((resolve) => setTimeout(resolve, rollbackBackoffMs(rolledBack)));
      }
    }
    throw new Error('failure counters kept changing under concurrent updates');
  }

  /** One attempt of `recordFailure` in `trx`; throws CountersChanged (rolling it all back) when a counter changed since it was read. */
  async #countBoth(trx: Transaction<Database>, usernameNormalized: string, address: string): Promise<number | null> {
    const now = this.#now();
    const rows = await trx
      .selectFrom('failure_counters')
      .select(['scope', 'subject', 'failures', 'locked_until', 'version'])
      .where((eb) =>
        eb.or([
          eb.and([eb('scope', '=', 'user'), eb('subject', '=', usernameNormalized)]),
          eb.and([eb('scope', '=', 'address'), eb('subject', '=', address)]),
        ]),
      )
      // PostgreSQL locks the rows in this order ('user' before 'address'), the same in every
      // transaction, so two failures sharing a user and an address never wait for each other in a circle.
      .orderBy('scope', 'desc')
      .$if(trx.getExecutor().adapter instanceof PostgresAdapter, (q) => q.forUpdate())
      .execute();
    const user = this.#next(rows.find((r) => r.scope === 'user'), 'user', usernameNormalized, now, USER_FAILURE_LIMIT, USER_FAILURE_WINDOW_MS, true);
    const addr = this.#next(rows.find((r) => r.scope === 'address'), 'address', address, now, this.#opts.addressFailureLimit, this.#opts.addressFailureWindowMs, false);
    if ((await this.#write(trx, [user, addr])) !== 2) throw new CountersChanged();
    // SPEC N2: a lock or a block commits with its entry (a failed entry rolls back both counters).
    if (user.outcome.started) {
      // The counter is keyed by the name whether or not such a user exists (no enumeration, L1).
      const known = await trx.selectFrom('users').select('id').where('username_normalized', '=', usernameNormalized).executeTakeFirst();
      await appendAudit(trx, now, {
        event: 'user.locked',
        userId: known?.id ?? null,
        username: usernameNormalized,
        sourceAddress: address,
        details: { lockedUntil: new Date(user.outcome.lockedUntil!).toISOString() },
      });
    }
    if (addr.outcome.started) {
      await appendAudit(trx, now, {
        event: 'address.rate_limited',
        username: usernameNormalized,
        sourceAddress: address,
        details: { failures: this.#opts.addressFailureLimit, retryAt: new Date(addr.outcome.oldest + this.#opts.addressFailureWindowMs).toISOString() },
      });
    }
    return user.outcome.lockedUntil;
  }

  /**
   * Writes both counters; returns how many rows it wrote (2 unless one changed since it was read).
   *
   * The counters the read found missing first, in one INSERT that leaves alone a row another
   * transaction created meanwhile (a missing row cannot be locked); then the ones it found, in one
   * UPDATE conditional on the version read. On PostgreSQL that UPDATE never waits (the read locked its
   * rows), and the INSERT waits only for a transaction inserting the same row — never for a row lock
   * (ON CONFLICT DO UPDATE would lock a row this transaction did not see when it read, maybe locked by
   * one that waits for a row this one holds: a deadlock, found by the storage conformance suite), nor
   * for an update made here first. So counts wait for each other's rows only in the order user, then
   * address, and never in a circle. Two statements only at a counter's first failure.
   */
  async #write(trx: Transaction<Database>, counted: readonly Counted[]): Promise<number> {
    let written = 0;
    const fresh = counted.filter((c) => c.read === undefined).map((c) => c.values);
    if (fresh.length > 0) {
      const r = await trx
        .insertInto('failure_counters')
        .values(fresh)
        .onConflict((oc) => oc.columns(['scope', 'subject']).doNothing())
        .executeTakeFirst();
      written += Number(r.numInsertedOrUpdatedRows ?? 0n);
    }
    const known = counted.filter((c): c is Counted & { read: CounterRead } => c.read !== undefined);
    if (known.length > 0) {
      // One statement for both rows: each takes its own values, told apart by scope.
      const each = <T>(column: 'failures' | 'locked_until', type: 'text' | 'bigint') =>
        sql<T>`case ${sql.join(known.map((c) => sql`when scope = ${c.values.scope} then cast(${c.values[column]} as ${sql.raw(type)})`), sql` `)} end`;
      const r = await trx
        .updateTable('failure_counters')
        .set((eb) => ({ failures: each<string>('failures', 'text'), locked_until: each<number | null>('locked_until', 'bigint'), version: eb('version', '+', 1) }))
        .where((eb) => eb.or(known.map((c) => eb.and([eb('scope', '=', c.values.scope), eb('subject', '=', c.values.subject), eb('version', '=', c.read.version)]))))
        .executeTakeFirst();
      written += Number(r.numUpdatedRows);
    }
    return written;
  }

  /**
   * A counter with one more failure at `now`, from its row as read (undefined: none). `started`: this
   * failure locked the user (`locks`) or brought the count to the limit (the address), which no
   * failure before it in the window had done.
   */
  #next(row: CounterRead | undefined, scope: Scope, subject: string, now: number, limit: number, windowMs: number, locks: boolean): Counted {
    const times = row ? this.#recent(row.failures, now, windowMs) : [];
    const reachedBefore = times.length >= limit;
    times.push(now);
    const kept = times.slice(-limit);
    const previousLock = row?.locked_until != null && row.locked_until > now ? row.locked_until : null;
    // SPEC L6: the lock lasts until 24 h after the last failure.
    const lockedUntil = locks && kept.length >= limit ? now + windowMs : previousLock;
    const started = locks ? lockedUntil !== null && previousLock === null : kept.length >= limit && !reachedBefore;
    return {
      read: row,
      values: { scope, subject, failures: JSON.stringify(kept), locked_until: lockedUntil, version: (row?.version ?? 0) + 1 },
      outcome: { lockedUntil, started, oldest: kept[0]! },
    };
  }

  /** A full success ends the run of consecutive failures (SPEC L6). */
  async recordUserSuccess(usernameNormalized: string): Promise<void> {
    await this.#db.deleteFrom('failure_counters').where('scope', '=', 'user').where('subject', '=', usernameNormalized).execute();
  }

  /**
   * A user's lock as client services see it (SPEC L6): until when, after how many failures; null when
   * not locked. slsctl warns with it when it gives a locked user a new way in (T1, K8, L6).
   */
  async userLock(usernameNormalized: string): Promise<{ lockedUntil: number; failures: number } | null> {
    const row = await this.#read('user', usernameNormalized);
    if (row?.locked_until == null || row.locked_until <= this.#now()) return null;
    return { lockedUntil: row.locked_until, failures: this.#recent(row.failures, this.#now(), Infinity).length };
  }

  #addressState(address: string, failures: string, now: number): AddressThrottle {
    const recent = this.#recent(failures, now, this.#opts.addressFailureWindowMs);
    return { address, failures: recent.length, lastFailureAt: recent.at(-1) ?? 0, blockedUntil: this.#blockedUntil(recent) };
  }

  /**
   * The addresses with failures counted within the window (SPEC L6, `slsctl address list`): blocked
   * ones first, the longest block first, then by failures.
   */
  async addresses(): Promise<AddressThrottle[]> {
    const now = this.#now();
    const rows = await this.#db.selectFrom('failure_counters').select(['subject', 'failures']).where('scope', '=', 'address').execute();
    return rows
      .map((r) => this.#addressState(r.subject, r.failures, now))
      .filter((a) => a.failures > 0)
      .sort((a, b) => (b.blockedUntil ?? 0) - (a.blockedUntil ?? 0) || b.failures - a.failures || a.address.localeCompare(b.address));
  }

  /**
   * The blocked addresses among those the user's last `lastEvents` audited events with an address
   * came from (their logins, failed or not; `audit_log_user` index): a user refused for the address
   * they log in from is no user lock, and client services are told where to lift it (SPEC L6).
   */
  async blockedAddressesOf(userId: string, lastEvents = 50): Promise<AddressThrottle[]> {
    const rows = await this.#db
      .selectFrom('audit_log')
      .select('source_address')
      .where('user_id', '=', userId)
      .where('source_address', 'is not', null)
      .orderBy('id', 'desc')
      .limit(lastEvents)
      .execute();
    const seen = [...new Set(rows.map((r) => r.source_address!))];
    if (seen.length === 0) return [];
    const now = this.#now();
    const counters = await this.#db.selectFrom('failure_counters').select(['subject', 'failures']).where('scope', '=', 'address').where('subject', 'in', seen).execute();
    return counters.map((r) => this.#addressState(r.subject, r.failures, now)).filter((a) => a.blockedUntil !== null);
  }

  /**
   * Client services clear an address's failures, lifting its block (SPEC L6, N2: audited
   * `address.unblocked` with `by`, in the same commit). Null, with nothing written, when no failure
   * from it is counted within the window.
   */
  async unblockAddress(address: string, by: string): Promise<AddressThrottle | null> {
    return this.#db.transaction().execute(async (trx) => {
      const now = this.#now();
      const row = await trx.selectFrom('failure_counters').select('failures').where('scope', '=', 'address').where('subject', '=', address).executeTakeFirst();
      const state = row ? this.#addressState(address, row.failures, now) : null;
      if (!state || state.failures === 0) return null;
      await trx.deleteFrom('failure_counters').where('scope', '=', 'address').where('subject', '=', address).execute();
      await appendAudit(trx, now, {
        event: 'address.unblocked',
        sourceAddress: address,
        details: { by, failures: state.failures, blockedUntil: state.blockedUntil === null ? null : new Date(state.blockedUntil).toISOString() },
      });
      return state;
    });
  }

  /** Client services lift a lock (SPEC L6). Returns whether there was anything to clear. */
  /**
   * Clears a user's failures and lock (SPEC L6: `slsctl user unlock`); `audit`, given what was cleared,
   * writes its entry in the same transaction (N2: never unlocked unaudited). True if there was any.
   */
  async unlockUser(usernameNormalized: string, audit?: (trx: Transaction<Database>, now: number, cleared: { lockedUntil: number | null }) => Promise<void>): Promise<boolean> {
    const now = this.#now();
    return this.#db.transaction().execute(async (trx) => {
      const r = await trx
        .deleteFrom('failure_counters')
        .where('scope', '=', 'user')
        .where('subject', '=', usernameNormalized)
        .returning('locked_until')
        .executeTakeFirst();
      if (!r) return false;
      const lockedUntil = r.locked_until !== null && Number(r.locked_until) > now ? Number(r.locked_until) : null;
      await audit?.(trx, now, { lockedUntil });
      return true;
    });
  }
}
