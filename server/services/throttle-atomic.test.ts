// A failure is counted for the user and for the address together, or not at all (SPEC L6, N2: nothing
// is ever lost or counted twice), on a real SQLite file and on PostgreSQL. When any part of counting it
// fails — the address counter's write, the `user.locked` or `address.rate_limited` entry — neither
// counter moves. Several slsd on one database (SPEC N1): failures counted at once through separate
// connections are each counted exactly once on both counters, and a counter created by another
// transaction meanwhile makes the whole count be tried again, not half of it, and no count deadlocks.
import { PostgresAdapter, sql } from 'kysely';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { startOn } from '../conformance/backends.ts';
import { openDatabase } from '../db/connect.ts';
import type { OpenDatabase } from '../db/connect.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import type { Database } from '../db/schema.ts';
import { refuseAuditEvent } from '../testing/refuse-audit.ts';
import type { TestServer } from '../testing/test-server.ts';
import { Throttle } from './throttle.ts';

const probe = await probePostgres();
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const ADDRESS = '203.0.113.9';

let t: TestServer;
const opened: OpenDatabase[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((d) => d.close()));
  await t.close();
});

/** From now on every write of an address counter fails, as a full disk or a lost connection would; the returned function undoes it. */
async function refuseAddressCounterWrites(db: Kysely<Database>): Promise<() => Promise<void>> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`CREATE FUNCTION refuse_address_counter() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.scope = 'address' THEN RAISE EXCEPTION 'address counter refused'; END IF; RETURN NEW; END $$`.execute(db);
    await sql`CREATE TRIGGER refuse_address_counter BEFORE INSERT OR UPDATE ON failure_counters FOR EACH ROW EXECUTE FUNCTION refuse_address_counter()`.execute(db);
    return async () => {
      await sql`DROP TRIGGER refuse_address_counter ON failure_counters`.execute(db);
      await sql`DROP FUNCTION refuse_address_counter()`.execute(db);
    };
  }
  await sql`CREATE TRIGGER refuse_address_insert BEFORE INSERT ON failure_counters WHEN NEW.scope = 'address' BEGIN SELECT RAISE(ABORT, 'address counter refused'); END`.execute(db);
  await sql`CREATE TRIGGER refuse_address_update BEFORE UPDATE ON failure_counters WHEN NEW.scope = 'address' BEGIN SELECT RAISE(ABORT, 'address counter refused'); END`.execute(db);
  return async () => {
    await sql`DROP TRIGGER refuse_address_insert`.execute(db);
    await sql`DROP TRIGGER refuse_address_update`.execute(db);
  };
}

describeEachBackend('a failure counts for the user and the address in one transaction (SPEC L6, N2)', probe, (backend) => {
  const db = () => t.services.db;
  const throttle = (addressFailureLimit: number, on: Kysely<Database> = db()) => new Throttle(on, { addressFailureLimit, addressFailureWindowMs: 15 * MINUTE }, t.clock.now);
  /** A counter as stored: its failures kept, its lock, and its version (one more for every failure written). */
  async function counter(scope: 'user' | 'address', subject: string) {
    const row = await db().selectFrom('failure_counters').select(['failures', 'locked_until', 'version']).where('scope', '=', scope).where('subject', '=', subject).executeTakeFirst();
    return row ? { failures: (JSON.parse(row.failures) as number[]).length, lockedUntil: row.locked_until, version: row.version } : null;
  }
  const entries = async (event: string) => (await db().selectFrom('audit_log').select(['username', 'source_address']).where('event', '=', event).execute()).length;

  it('an address counter that cannot be written leaves the user uncounted too, new or counted before (L6)', async () => {
    t = await startOn(backend);
    const th = throttle(100);
    const allow = await refuseAddressCounterWrites(db());
    await expect(th.recordFailure('u.atomic', ADDRESS)).rejects.toThrow(/address counter refused/);
    expect(await counter('user', 'u.atomic')).toBeNull();
    await allow();

    await th.recordFailure('u.atomic', ADDRESS);
    const allowAgain = await refuseAddressCounterWrites(db());
    await expect(th.recordFailure('u.atomic', ADDRESS)).rejects.toThrow(/address counter refused/);
    expect(await counter('user', 'u.atomic')).toEqual({ failures: 1, lockedUntil: null, version: 1 });
    expect(await counter('address', ADDRESS)).toEqual({ failures: 1, lockedUntil: null, version: 1 });
    await allowAgain();

    // Written again, it counts once on both.
    await th.recordFailure('u.atomic', ADDRESS);
    expect(await counter('user', 'u.atomic')).toEqual({ failures: 2, lockedUntil: null, version: 2 });
    expect(await counter('address', ADDRESS)).toEqual({ failures: 2, lockedUntil: null, version: 2 });
  });

  it('a refused address.rate_limited entry leaves the address unblocked and the user uncounted (N2, L6)', async () => {
    t = await startOn(backend);
    const th = throttle(3);
    await th.recordFailure('u.block', ADDRESS);
    await th.recordFailure('u.block', ADDRESS);
    const allow = await refuseAuditEvent(db(), 'address.rate_limited');
    await expect(th.recordFailure('u.block', ADDRESS)).rejects.toThrow(/audit refused/);
    expect(await counter('user', 'u.block')).toEqual({ failures: 2, lockedUntil: null, version: 2 });
    expect(await counter('address', ADDRESS)).toEqual({ failures: 2, lockedUntil: null, version: 2 });
    await th.assertAddressAllowed(ADDRESS);
    await allow();

    expect(await th.recordFailure('u.block', ADDRESS)).toBeNull();
    expect(await counter('user', 'u.block')).toEqual({ failures: 3, lockedUntil: null, version: 3 });
    expect(await counter('address', ADDRESS)).toEqual({ failures: 3, lockedUntil: null, version: 3 });
    await expect(th.assertAddressAllowed(ADDRESS)).rejects.toMatchObject({ code: 'SLS_ERR_RATE_LIMITED' });
    expect(await entries('address.rate_limited')).toBe(1);
  });

  it('a refused user.locked entry leaves the user unlocked and the address uncounted (N2, L6)', async () => {
    t = await startOn(backend);
    const entityId = await t.provisioning.createEntity({ name: 'Lou Locke' });
    await t.provisioning.createUser({ username: 'lou.locke', entityId, password: 'Correct-Horse-1' });
    const th = throttle(100);
    for (let i = 0; i < 9; i++) await th.recordFailure('lou.locke', '192.0.2.1');
    const allow = await refuseAuditEvent(db(), 'user.locked');
    await expect(th.recordFailure('lou.locke', ADDRESS)).rejects.toThrow(/audit refused/);
    expect(await counter('user', 'lou.locke')).toEqual({ failures: 9, lockedUntil: null, version: 9 });
    expect(await counter('address', ADDRESS)).toBeNull();
    expect(await th.userLockedUntil('lou.locke')).toBeNull();
    await allow();

    // SPEC L6: the tenth failure locks until 24 h after it, once on record, with the user's id.
    const lockedUntil = t.clock.now() + DAY;
    expect(await th.recordFailure('lou.locke', ADDRESS)).toBe(lockedUntil);
    expect(await counter('user', 'lou.locke')).toEqual({ failures: 10, lockedUntil, version: 10 });
    expect(await counter('address', ADDRESS)).toEqual({ failures: 1, lockedUntil: null, version: 1 });
    const locked = await db().selectFrom('audit_log').select(['user_id', 'username', 'source_address', 'details']).where('event', '=', 'user.locked').execute();
    expect(locked).toHaveLength(1);
    expect(locked[0]).toMatchObject({ user_id: expect.any(String), username: 'lou.locke', source_address: ADDRESS });
    expect(JSON.parse(locked[0]!.details)).toEqual({ lockedUntil: new Date(lockedUntil).toISOString() });
  });

  it('a lock and a block started by the same failure commit together, each on record once (N2, L6)', async () => {
    t = await startOn(backend);
    const th = throttle(10);
    for (let i = 0; i < 9; i++) expect(await th.recordFailure('u.both', ADDRESS)).toBeNull();
    const allow = await refuseAuditEvent(db(), 'address.rate_limited');
    await expect(th.recordFailure('u.both', ADDRESS)).rejects.toThrow(/audit refused/);
    // The user's lock was written before the refused entry, in the same transaction: rolled back with it.
    expect(await th.userLockedUntil('u.both')).toBeNull();
    expect(await entries('user.locked')).toBe(0);
    await allow();
    expect(await th.recordFailure('u.both', ADDRESS)).toBe(t.clock.now() + DAY);
    expect([await entries('user.locked'), await entries('address.rate_limited')]).toEqual([1, 1]);
  });

  it('20 failures at once through separate connections (several slsd, N1) are each counted once on both counters', async () => {
    t = await startOn(backend);
    for (let i = 0; i < 4; i++) opened.push(await openDatabase(t.config.databaseUrl));
    const throttles = opened.map((d) => throttle(20, d.db));
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => throttles[i % throttles.length]!.recordFailure('u.race', ADDRESS)));
    // SPEC L6: the 10th to the 20th failure find the user locked; the counter keeps the last 10.
    const lockedUntil = t.clock.now() + DAY;
    expect(answers.filter((a) => a === lockedUntil)).toHaveLength(11);
    expect(answers.filter((a) => a === null)).toHaveLength(9);
    expect(await counter('user', 'u.race')).toEqual({ failures: 10, lockedUntil, version: 20 });
    expect(await counter('address', ADDRESS)).toEqual({ failures: 20, lockedUntil: null, version: 20 });
    expect([await entries('user.locked'), await entries('address.rate_limited')]).toEqual([1, 1]);
  });

  it('failures crossing two users and two addresses at once neither deadlock nor lose a count (N1)', async () => {
    t = await startOn(backend);
    for (let i = 0; i < 4; i++) opened.push(await openDatabase(t.config.databaseUrl));
    const throttles = opened.map((d) => throttle(100, d.db));
    const pairs = [
      ['u.0', '198.51.100.1'],
      ['u.1', '198.51.100.2'],
      ['u.0', '198.51.100.2'],
      ['u.1', '198.51.100.1'],
    ] as const;
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const [username, address] = pairs[i % pairs.length]!;
        return throttles[i % throttles.length]!.recordFailure(username, address);
      }),
    );
    for (const [scope, subject] of [['user', 'u.0'], ['user', 'u.1'], ['address', '198.51.100.1'], ['address', '198.51.100.2']] as const) {
      expect((await counter(scope, subject))?.version, `${scope} ${subject}`).toBe(20);
    }
    expect(await entries('user.locked')).toBe(2);
  });
});

describeEachBackend('a counter created by another slsd meanwhile (SPEC N1, L6)', probe, (backend) => {
  /**
   * Waits until `n` statements on this database wait for a lock another transaction holds. `watcher`
   * is in no transaction: one sees pg_stat_activity as it was at its first read.
   */
  async function lockWaiters(watcher: pg.Client, n: number): Promise<void> {
    for (let waited = 0; ; waited += 10) {
      const r = await watcher.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
      if (Number(r.rows[0]!.n) >= n) return;
      if (waited > 5000) throw new Error(`fewer than ${n} statements ever waited for a lock`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  async function client(): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: t.config.databaseUrl });
    await c.connect();
    return c;
  }
  const counters = async () =>
    (await t.services.db.selectFrom('failure_counters').select(['scope', 'subject', 'failures', 'version']).orderBy('scope').orderBy('subject').execute()).map((r) => ({
      scope: r.scope,
      subject: r.subject,
      failures: (JSON.parse(r.failures) as number[]).length,
      version: r.version,
    }));

  // Found by the storage conformance suite ("no oracle"): a count whose read had waited for the
  // address's lock had not seen the user's counter another transaction created meanwhile; its write
  // then waited for that counter, locked by a third count waiting for the address: a deadlock (503).
  it("a count that waited for the address while the user's counter was created meets no deadlock", async () => {
    t = await startOn(backend);
    const th = new Throttle(t.services.db, { addressFailureLimit: 100, addressFailureWindowMs: 15 * MINUTE }, t.clock.now);
    await th.recordFailure('u.elsewhere', ADDRESS);
    const [holder, creator, watcher] = [await client(), await client(), await client()];
    try {
      // Another transaction holds the address's counter.
      await holder.query('BEGIN');
      await holder.query(`SELECT version FROM failure_counters WHERE scope = 'address' AND subject = $1 FOR UPDATE`, [ADDRESS]);
      // This count finds no counter for u.new and waits for the address.
      const first = th.recordFailure('u.new', ADDRESS);
      await lockWaiters(watcher, 1);
      // Another slsd counts a failure of u.new (from another address) meanwhile.
      await creator.query(`INSERT INTO failure_counters (scope, subject, failures, locked_until, version) VALUES ('user', 'u.new', $1, NULL, 1)`, [JSON.stringify([t.clock.now()])]);
      // This one locks u.new's counter and waits for the address too.
      const second = th.recordFailure('u.new', ADDRESS);
      await lockWaiters(watcher, 2);
      await holder.query('COMMIT');
      expect(await Promise.all([first, second])).toEqual([null, null]);
    } finally {
      await Promise.all([holder.end(), creator.end(), watcher.end()]);
    }
    expect(await counters()).toEqual([
      { scope: 'address', subject: ADDRESS, failures: 3, version: 3 },
      { scope: 'user', subject: 'u.elsewhere', failures: 1, version: 1 },
      { scope: 'user', subject: 'u.new', failures: 3, version: 3 },
    ]);
  });

  it('tries the whole count again: the user counted once, the address on top of the other one', async () => {
    t = await startOn(backend);
    const th = new Throttle(t.services.db, { addressFailureLimit: 100, addressFailureWindowMs: 15 * MINUTE }, t.clock.now);
    // Another slsd's transaction has inserted the address's counter and not committed yet.
    const [other, watcher] = [await client(), await client()];
    try {
      await other.query('BEGIN');
      await other.query(`INSERT INTO failure_counters (scope, subject, failures, locked_until, version) VALUES ('address', $1, $2, NULL, 1)`, [ADDRESS, JSON.stringify([t.clock.now()])]);
      const counting = th.recordFailure('u.meanwhile', ADDRESS);
      // This count read no address counter, and its insert now waits for the other transaction.
      await lockWaiters(watcher, 1);
      await other.query('COMMIT');
      expect(await counting).toBeNull();
    } finally {
      await Promise.all([other.end(), watcher.end()]);
    }
    expect(await counters()).toEqual([
      { scope: 'address', subject: ADDRESS, failures: 2, version: 2 },
      { scope: 'user', subject: 'u.meanwhile', failures: 1, version: 1 },
    ]);
  });
}, 'postgres');
