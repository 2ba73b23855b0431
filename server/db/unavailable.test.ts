// When the database cannot serve, slsd answers 503 SLS_ERR_SERVICE_UNAVAILABLE with Retry-After,
// changes nothing, stays up, and serves again as soon as the database does (SPEC N1; issue 7 faults).
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { sqliteUrl } from '../config.ts';
import { actAsDevice, errorCode, getJson, login, postJson } from '../testing/http.ts';
import type { Answer } from '../testing/http.ts';
import { startTestServer } from '../testing/test-server.ts';
import type { TestServer } from '../testing/test-server.ts';
import type { LoginStep } from '../../core/api.ts';
import type { ProvisionedDevice } from '../services/provisioning.ts';
import { openDatabase } from './connect.ts';
import { describeEachBackend, probePostgres, tempDataDir } from './pg-testing.ts';
import type { FreshDatabase } from './pg-testing.ts';
import { DatabaseUnavailable, databaseUnavailableReason } from './unavailable.ts';

const probe = await probePostgres();
const PASSWORD = 'Correct-Horse-1';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('databaseUnavailableReason: which failures mean "try again shortly"', () => {
  it('knows PostgreSQL down, restarting, refusing or unreachable', () => {
    expect(databaseUnavailableReason(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toContain('ECONNREFUSED');
    expect(databaseUnavailableReason(withCode('terminating connection due to administrator command', '57P01'))).toContain('57P01');
    expect(databaseUnavailableReason(withCode('the database system is starting up', '57P03'))).toContain('57P03');
    expect(databaseUnavailableReason(withCode('sorry, too many clients already', '53300'))).toContain('53300');
    expect(databaseUnavailableReason(withCode('could not send data to server', '08006'))).toContain('08006');
    // slsd's own lock_timeout and statement_timeout (pg-config.ts): waited seconds, then "try again".
    expect(databaseUnavailableReason(withCode('canceling statement due to lock timeout', '55P03'))).toContain('55P03');
    expect(databaseUnavailableReason(withCode('canceling statement due to statement timeout', '57014'))).toContain('57014');
    expect(databaseUnavailableReason(withCode('PostgreSQL did not answer within 12000 ms: connection closed', 'ETIMEDOUT'))).toContain('ETIMEDOUT');
    expect(databaseUnavailableReason(new Error('Connection terminated unexpectedly'))).toBe('Connection terminated unexpectedly');
    expect(databaseUnavailableReason(new Error('timeout exceeded when trying to connect'))).not.toBeNull();
    expect(databaseUnavailableReason(new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')]))).toContain('ECONNREFUSED');
    expect(databaseUnavailableReason(new DatabaseUnavailable('no PostgreSQL connection: 55000'))).toBe('no PostgreSQL connection: 55000');
    expect(databaseUnavailableReason(new Error('query failed', { cause: withCode('x', '57P01') }))).toContain('57P01');
  });

  it('knows SQLite locked past its timeout, its disk full or failing', () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED', 'SQLITE_FULL', 'SQLITE_IOERR_FSYNC', 'SQLITE_CANTOPEN', 'SQLITE_READONLY']) {
      expect(databaseUnavailableReason(withCode('x', code)), code).toContain(code);
    }
  });

  it('leaves bugs and refusals as they are: they are not the database being away', () => {
    for (const e of [
      withCode('duplicate key value violates unique constraint', '23505'),
      withCode('relation "nope" does not exist', '42P01'),
      withCode('UNIQUE constraint failed: users.username', 'SQLITE_CONSTRAINT_UNIQUE'),
      withCode('no such table: nope', 'SQLITE_ERROR'),
      new TypeError("Cannot read properties of undefined (reading 'id')"),
      'a string',
      null,
    ]) {
      expect(databaseUnavailableReason(e)).toBeNull();
    }
  });
});

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function jane(server: TestServer): Promise<ProvisionedDevice> {
  const entityId = await server.provisioning.createEntity({ name: 'jane' });
  await server.provisioning.createUser({ username: 'jane', entityId, password: PASSWORD });
  return server.provisioning.addDevice({ username: 'jane', kind: 'dsc' });
}

async function fullLogin(server: TestServer, device: ProvisionedDevice): Promise<number> {
  const step = (await login(server.app, 'jane', PASSWORD)) as Answer<LoginStep>;
  if (step.body.status !== 'challenge') throw new Error(JSON.stringify(step.body));
  return (await postJson(server.app, `/v1/login/${step.body.transactionId}/response`, { response: actAsDevice(device, step.body) })).status;
}

function expectUnavailable(a: { status: number; headers: Record<string, unknown>; body: unknown }): void {
  expect(a.status).toBe(503);
  expect(a.headers['retry-after']).toBe('2');
  const e = (a.body as { error: { code: string; message: string; retryAt?: string } }).error;
  expect(e.code).toBe('SLS_ERR_SERVICE_UNAVAILABLE');
  expect(Date.parse(e.retryAt!)).toBeGreaterThan(Date.now());
  // Nothing of the cause reaches the client (the log has it).
  expect(e.message).toBe('The login service is briefly unavailable. Try again in a moment.');
}

describe('SQLite held by another writer', () => {
  /** slsd on a SQLite file with jane and her DSC, and an operator's sqlite3 shell inside a write transaction. */
  async function withLockedDatabase(run: (device: ProvisionedDevice, shell: SQLite.Database) => Promise<void>): Promise<void> {
    const data = tempDataDir('slsd-busy-');
    try {
      t = await startTestServer({ dataDir: data.dir, config: { databaseUrl: sqliteUrl(data.dir) } });
      const device = await jane(t);
      const shell = new SQLite(`${data.dir}/sls.db`);
      shell.exec('BEGIN IMMEDIATE');
      try {
        await run(device, shell);
      } finally {
        if (shell.inTransaction) shell.exec('ROLLBACK');
        shell.close();
      }
    } finally {
      await t?.close();
      t = undefined;
      data.remove();
    }
  }

  it('past the busy patience (5 s): answers 503 with Retry-After, records nothing, and logs in once the writer lets go', async () => {
    await withLockedDatabase(async (device, shell) => {
      const refused = await t!.app.inject({ method: 'POST', url: '/v1/login', payload: { username: 'jane', password: PASSWORD, client: { kind: 'trading_platform', version: 1010, name: 't' } } });
      expectUnavailable({ status: refused.statusCode, headers: refused.headers, body: refused.json() });
      // Reads still work in WAL mode, so readiness says ready: the answer is for writes to try again.
      expect((await getJson(t!.app, '/v1/ready')).status).toBe(200);
      shell.exec('ROLLBACK');
      expect(await t!.services.db.selectFrom('login_transactions').select('id').execute()).toEqual([]);
      expect(await t!.services.db.selectFrom('failure_counters').select('failures').execute()).toEqual([]);
      expect(await fullLogin(t!, device)).toBe(200);
    });
  }, 30_000);

  it('a full login that meets a short lock waits for it on timers and signs in; slsd answers health meanwhile', async () => {
    await withLockedDatabase(async (device, shell) => {
      const signIn = fullLogin(t!, device);
      // While the login waits for the lock: a health check. Before, SQLite's busy handler held the
      // event loop for its 5 s timeout, this waited as long, and the login got a 503.
      const asked = performance.now();
      await new Promise((r) => setTimeout(r, 200));
      expect((await getJson(t!.app, '/v1/health')).status).toBe(200);
      const healthMs = performance.now() - asked;
      shell.exec('COMMIT');
      expect(await signIn).toBe(200);
      expect(healthMs).toBeLessThan(1_500);
    });
  }, 30_000);
});

describeEachBackend(
  'PostgreSQL refusing connections',
  probe,
  (backend) => {
    let fresh: FreshDatabase;
    const data = tempDataDir('slsd-unavail-');
    afterEach(async () => {
      await fresh?.drop();
    });

    async function admin(text: string): Promise<void> {
      if (!probe.available) throw new Error('no PostgreSQL');
      const c = new pg.Client({ connectionString: probe.adminUrl });
      await c.connect();
      try {
        await c.query(text);
      } finally {
        await c.end();
      }
    }

    it('GET /v1/ready and every request answer 503 while it refuses; nothing is recorded; slsd serves again when it is back', async () => {
      fresh = await backend.freshDatabase(data.dir);
      const name = new URL(fresh.url).pathname.slice(1);
      t = await startTestServer({ config: { databaseUrl: fresh.url } });
      const device = await jane(t);
      expect((await getJson(t.app, '/v1/ready')).body).toMatchObject({ status: 'ready', database: 'postgres' });

      // As a restart or failover looks to slsd: its connections cut, new ones refused.
      await admin(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
      try {
        const ready = await t.app.inject({ method: 'GET', url: '/v1/ready' });
        expectUnavailable({ status: ready.statusCode, headers: ready.headers, body: ready.json() });
        for (let i = 0; i < 3; i++) {
          const refused = await t.app.inject({ method: 'POST', url: '/v1/login', payload: { username: 'jane', password: 'Wrong-Password-1', client: { kind: 'trading_platform', version: 1010, name: 't' } } });
          expectUnavailable({ status: refused.statusCode, headers: refused.headers, body: refused.json() });
        }
        // Liveness does not depend on the database: slsd itself is fine.
        expect((await getJson(t.app, '/v1/health')).status).toBe(200);
      } finally {
        await admin(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      }
      expect((await getJson(t.app, '/v1/ready')).status).toBe(200);
      // The wrong passwords tried meanwhile were never counted (L6): nothing was changed.
      expect(await t.services.db.selectFrom('failure_counters').select('failures').execute()).toEqual([]);
      expect(errorCode(await login(t.app, 'jane', 'Wrong-Password-1'))).toBe('SLS_ERR_INVALID_CREDENTIALS');
      expect(await fullLogin(t, device)).toBe(200);
    }, 60_000);

    it('a connection lost while a transaction holds it between two statements: slsd does not crash; that transaction fails as unavailable, the next one works', async () => {
      // pg-pool stops listening to a client's errors while it is checked out; the connection ending
      // then, with no statement running, was an 'error' event nobody heard: an uncaught exception
      // that ended slsd (seen once in CI, in the test above).
      fresh = await backend.freshDatabase(data.dir);
      const name = new URL(fresh.url).pathname.slice(1);
      const opened = await openDatabase(fresh.url);
      try {
        let inGap!: () => void;
        const reachedGap = new Promise<void>((r) => (inGap = r));
        let resume!: () => void;
        const resumed = new Promise<void>((r) => (resume = r));
        const tx = opened.db.transaction().execute(async (trx) => {
          await sql`SELECT 1`.execute(trx);
          inGap();
          await resumed; // JavaScript work between two statements, the connection held
          await sql`SELECT 1`.execute(trx);
        });
        const failed = tx.then(
          () => null,
          (e: unknown) => e,
        );
        await reachedGap;
        const ended = new Promise((r) => setTimeout(r, 300));
        await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
        await ended; // the connection's end reaches the held client meanwhile
        resume();
        expect(databaseUnavailableReason(await failed)).not.toBeNull();
        expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(opened.db)).rows).toEqual([{ one: 1 }]);
      } finally {
        await opened.close();
      }
    }, 60_000);
  },
  'postgres',
);

describeEachBackend(
  'PostgreSQL rolling a transaction back (deadlock, serialization failure)',
  probe,
  (backend) => {
    let fresh: FreshDatabase | undefined;
    const data = tempDataDir('slsd-rollback-');
    afterEach(async () => {
      await fresh?.drop();
      fresh = undefined;
    });

    /** Two sessions on a fresh database with two rows, and the error the one PostgreSQL rolled back got. */
    async function twoSessions(run: (a: pg.Client, b: pg.Client) => Promise<unknown>): Promise<unknown> {
      fresh = await backend.freshDatabase(data.dir);
      const a = new pg.Client({ connectionString: fresh.url });
      const b = new pg.Client({ connectionString: fresh.url });
      await a.connect();
      await b.connect();
      try {
        await a.query('CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL); INSERT INTO t VALUES (1, 0), (2, 0)');
        return await run(a, b).then(
          () => null,
          (e: unknown) => e,
        );
      } finally {
        await Promise.all([a.end(), b.end()]);
      }
    }

    it('a real deadlock (40P01) reads as "try again shortly" (503), not as a bug (500)', async () => {
      const err = await twoSessions(async (a, b) => {
        await a.query('BEGIN');
        await b.query('BEGIN');
        await a.query('UPDATE t SET v = 1 WHERE id = 1');
        await b.query('UPDATE t SET v = 1 WHERE id = 2');
        // Each now waits for the other's row: PostgreSQL's deadlock check (1 s) rolls one back.
        const settled = await Promise.allSettled([a.query('UPDATE t SET v = 2 WHERE id = 2'), b.query('UPDATE t SET v = 2 WHERE id = 1')]);
        await Promise.all([a.query('ROLLBACK'), b.query('ROLLBACK')]);
        const rejected = settled.find((s) => s.status === 'rejected');
        if (rejected) throw rejected.reason;
      });
      expect((err as { code?: string }).code).toBe('40P01');
      expect(databaseUnavailableReason(err)).toContain('40P01');
    }, 30_000);

    it('a real serialization failure (40001) reads as "try again shortly" (503), not as a bug (500)', async () => {
      const err = await twoSessions(async (a, b) => {
        await a.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
        await b.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
        await a.query('SELECT sum(v) FROM t');
        await b.query('SELECT sum(v) FROM t');
        await a.query('UPDATE t SET v = v + 1 WHERE id = 1');
        await b.query('UPDATE t SET v = v + 1 WHERE id = 2');
        await a.query('COMMIT');
        try {
          await b.query('COMMIT');
        } finally {
          await b.query('ROLLBACK').catch(() => undefined);
        }
      });
      expect((err as { code?: string }).code).toBe('40001');
      expect(databaseUnavailableReason(err)).toContain('40001');
    }, 30_000);
  },
  'postgres',
);
