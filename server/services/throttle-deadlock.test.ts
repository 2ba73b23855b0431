// SPEC L6, N1 on PostgreSQL: a failure's count (both counters, one transaction, throttle.ts
// `recordFailure`) that PostgreSQL rolls back to break a deadlock (40P01) or a serialization failure
// (40001) is tried again, whole, a few times: the failure is counted exactly once and the request gets
// its own answer (a wrong password: 401), not a 503. Only when every try is rolled back does it give
// up (503), having counted nothing.
//
// The rollback is made by a trigger on the counters of a fresh test database that raises
// `deadlock_detected` (SQLSTATE 40P01, the error PostgreSQL's deadlock detector raises) or
// `serialization_failure` (40001) on the first write statement of an attempt. A sequence counts the
// attempts: `nextval` is not undone by the rollback it causes, so "only the first attempt" holds
// across retries.
import { sql } from 'kysely';
import { afterEach, expect, it } from 'vitest';
import { startOn } from '../conformance/backends.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import { errorCode, login } from '../testing/http.ts';
import type { TestServer } from '../testing/test-server.ts';

const probe = await probePostgres();
const PASSWORD = 'Correct-Horse-1';

describeEachBackend(
  'a failure count rolled back by PostgreSQL is tried again (SPEC L6, N1)',
  probe,
  (backend) => {
    let t: TestServer | undefined;
    afterEach(async () => {
      await t?.close();
      t = undefined;
    });

    /**
     * From now on the first write statement of each of the next `times` attempts to count a failure
     * raises SQLSTATE `code` (every one when `times` is Infinity), as PostgreSQL's deadlock detector
     * (40P01 `deadlock_detected`) or a serializable transaction (40001 `serialization_failure`) would.
     * Returns how many attempts wrote since. FOR EACH STATEMENT: one `nextval` per attempt, at its first
     * write (the INSERT of a new counter, or the UPDATE of known ones).
     */
    async function injectRollbacks(db: TestServer['services']['db'], code: 'deadlock_detected' | 'serialization_failure', times: number): Promise<() => Promise<number>> {
      await sql`CREATE SEQUENCE IF NOT EXISTS count_attempts`.execute(db);
      await sql`ALTER SEQUENCE count_attempts RESTART`.execute(db);
      const limit = Number.isFinite(times) ? times : 2_147_483_647;
      await sql`CREATE OR REPLACE FUNCTION injected_rollback() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF nextval('count_attempts') <= ${sql.lit(limit)} THEN
            RAISE EXCEPTION '% (injected by the test)', ${sql.lit(code)} USING ERRCODE = ${sql.lit(code)};
          END IF;
          RETURN NULL;
        END $$`.execute(db);
      await sql`DROP TRIGGER IF EXISTS injected_rollback ON failure_counters`.execute(db);
      await sql`CREATE TRIGGER injected_rollback BEFORE INSERT OR UPDATE ON failure_counters FOR EACH STATEMENT EXECUTE FUNCTION injected_rollback()`.execute(db);
      return async () => Number((await sql<{ n: string }>`SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM count_attempts`.execute(db)).rows[0]!.n);
    }

    async function counters() {
      const rows = await t!.services.db.selectFrom('failure_counters').select(['scope', 'failures', 'version']).orderBy('scope').execute();
      return rows.map((r) => ({ scope: r.scope, failures: (JSON.parse(r.failures) as number[]).length, version: r.version }));
    }

    async function seed(username: string) {
      const entityId = await t!.provisioning.createEntity({ name: username });
      await t!.provisioning.createUser({ username, entityId, password: PASSWORD });
      await t!.provisioning.addDevice({ username, kind: 'dsc' });
    }

    it('a deadlock (40P01) or serialization failure (40001) on the first attempt: the wrong password is answered 401 and counted once for the user and the address', async () => {
      t = await startOn(backend);
      await seed('u.deadlock');
      let attempts = await injectRollbacks(t.services.db, 'deadlock_detected', 1);
      const r = await login(t.app, 'u.deadlock', 'bad password');
      expect([r.status, errorCode(r)]).toEqual([401, 'SLS_ERR_INVALID_CREDENTIALS']);
      // The first attempt was rolled back by the deadlock, the second counted: once, not twice.
      expect(await attempts()).toBe(2);
      expect(await counters()).toEqual([
        { scope: 'address', failures: 1, version: 1 },
        { scope: 'user', failures: 1, version: 1 },
      ]);

      // Counters that exist take the UPDATE path; a serialization failure there is tried again the same way.
      attempts = await injectRollbacks(t.services.db, 'serialization_failure', 1);
      const again = await login(t.app, 'u.deadlock', 'bad password');
      expect([again.status, errorCode(again)]).toEqual([401, 'SLS_ERR_INVALID_CREDENTIALS']);
      expect(await attempts()).toBe(2);
      expect(await counters()).toEqual([
        { scope: 'address', failures: 2, version: 2 },
        { scope: 'user', failures: 2, version: 2 },
      ]);
    });

    it('deadlocked every time: it gives up after 3 more tries (503), having counted nothing', async () => {
      t = await startOn(backend);
      await seed('u.stuck');
      const attempts = await injectRollbacks(t.services.db, 'deadlock_detected', Infinity);
      const r = await login(t.app, 'u.stuck', 'bad password');
      expect([r.status, errorCode(r)]).toEqual([503, 'SLS_ERR_SERVICE_UNAVAILABLE']);
      expect(await attempts()).toBe(4);
      expect(await counters()).toEqual([]);
    });
  },
  'postgres',
);
