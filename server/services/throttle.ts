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
 * Counters are rows (no state in a process, SPEC N1); concurrent updates are conditional on the
 * row's version and retried, which works alike on SQLite and PostgreSQL.
 */
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

/** One more failure counted (`#bump`): the user's lock, whether this failure started the lock or block, the oldest failure kept. */
interface BumpOutcome {
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
   */
  async recordFailure(usernameNormalized: string, address: string): Promise<number | null> {
    const user = await this.#bump('user', usernameNormalized, USER_FAILURE_LIMIT, USER_FAILURE_WINDOW_MS, true, async (trx, now, outcome) => {
      // The counter is keyed by the name whether or not such a user exists (no enumeration, L1).
      const known = await trx.selectFrom('users').select('id').where('username_normalized', '=', usernameNormalized).executeTakeFirst();
      await appendAudit(trx, now, {
        event: 'user.locked',
        userId: known?.id ?? null,
        username: usernameNormalized,
        sourceAddress: address,
        details: { lockedUntil: new Date(outcome.lockedUntil!).toISOString() },
      });
    });
    await this.#bump('address', address, this.#opts.addressFailureLimit, this.#opts.addressFailureWindowMs, false, async (trx, now, outcome) => {
      await appendAudit(trx, now, {
        event: 'address.rate_limited',
        username: usernameNormalized,
        sourceAddress: address,
        details: { failures: this.#opts.addressFailureLimit, retryAt: new Date(outcome.oldest + this.#opts.addressFailureWindowMs).toISOString() },
      });
    });
    return user.lockedUntil;
  }

  /**
   * One more failure on a counter. `started`: this failure locked the user (`locks`) or brought the
   * count to the limit (the address), which no failure before it in the window had done.
   *
   * SPEC N2: the write that starts a lock or a block runs `audit` in its own transaction, so the lock
   * and its entry commit together (a failed entry or a crash between them leaves neither); the other
   * failures write the counter alone, as before.
   */
  async #bump(scope: Scope, subject: string, limit: number, windowMs: number, locks: boolean, audit: (trx: Transaction<Database>, now: number, outcome: BumpOutcome) => Promise<void>): Promise<BumpOutcome> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const now = this.#now();
      const row = await this.#read(scope, subject);
      const times = row ? this.#recent(row.failures, now, windowMs) : [];
      const reachedBefore = times.length >= limit;
      times.push(now);
      const kept = times.slice(-limit);
      const previousLock = row?.locked_until != null && row.locked_until > now ? row.locked_until : null;
      // SPEC L6: the lock lasts until 24 h after the last failure.
      const lockedUntil = locks && kept.length >= limit ? now + windowMs : previousLock;
      const started = locks ? lockedUntil !== null && previousLock === null : kept.length >= limit && !reachedBefore;
      const outcome = { lockedUntil, started, oldest: kept[0]! };
      const failures = JSON.stringify(kept);
      const write = async (db: Kysely<Database>): Promise<boolean> => {
        if (!row) {
          const r = await db
            .insertInto('failure_counters')
            .values({ scope, subject, failures, locked_until: lockedUntil, version: 1 })
            .onConflict((oc) => oc.columns(['scope', 'subject']).doNothing())
            .executeTakeFirst();
          return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
        }
        const r = await db
          .updateTable('failure_counters')
          .set({ failures, locked_until: lockedUntil, version: row.version + 1 })
          .where('scope', '=', scope)
          .where('subject', '=', subject)
          .where('version', '=', row.version)
          .executeTakeFirst();
        return Number(r.numUpdatedRows) === 1;
      };
      const written = started
        ? await this.#db.transaction().execute(async (trx) => {
            if (!(await write(trx))) return false;
            await audit(trx, now, outcome);
            return true;
          })
        : await write(this.#db);
      if (written) return outcome;
    }
    throw new Error(`failure counter ${scope} kept changing under concurrent updates`);
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
