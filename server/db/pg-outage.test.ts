// PostgreSQL gone while slsd runs, as an operator meets it in production (SPEC N1): restarted, cut
// off by the network, or holding a lock an operator took. Requests get a coded 503 within seconds,
// not a hang or a 500; slsd keeps running and serves again when PostgreSQL is back; each slsd's
// LISTEN connection (IB Key wake-ups across processes) comes back. The shared test cluster is never
// stopped (other test files use it meanwhile): a proxy between slsd and PostgreSQL is cut instead.
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, expect, it } from 'vitest';
import { errorCode, login } from '../testing/http.ts';
import { spawnSlsd } from '../testing/slsd-process.ts';
import type { SlsdProcess } from '../testing/slsd-process.ts';
import { startTestServer } from '../testing/test-server.ts';
import type { TestServer } from '../testing/test-server.ts';
import { IBKEY_NOTIFY_CHANNEL } from '../services/ibkey-notifier-pg.ts';
import { describeEachBackend, probePostgres, tempDataDir } from './pg-testing.ts';
import type { FreshDatabase } from './pg-testing.ts';
import { startPgProxy } from './pg-proxy-testing.ts';
import type { PgProxy } from './pg-proxy-testing.ts';

const probe = await probePostgres();
const CLIENT = { kind: 'trading_platform', version: 1010, name: 'outage test' };

interface Reply {
  status: number;
  code: string | undefined;
  ms: number;
  text: string;
}

/** One request to a slsd process; a reply that takes more than `limitMs` fails the test as a hang. */
async function ask(base: string, method: 'GET' | 'POST', path: string, limitMs = 12_000): Promise<Reply> {
  const start = performance.now();
  const r = await fetch(base + path, {
    method,
    signal: AbortSignal.timeout(limitMs),
    ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'nobody.here', password: 'Wrong-Password-1', client: CLIENT }) } : {}),
  }).catch((e: Error) => {
    throw new Error(`${method} ${path}: no answer within ${limitMs} ms (${e.name})`);
  });
  const text = await r.text();
  const code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  return { status: r.status, code, ms: performance.now() - start, text };
}

/** Asks until `done` holds (PostgreSQL back: the pool and the listener reconnect on their own). */
async function eventually<T>(what: string, attempt: () => Promise<T>, done: (v: T) => boolean, withinMs = 15_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const v = await attempt();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)} after ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function expectCoded503(r: Reply): void {
  expect(r.status, r.text).toBe(503);
  expect(r.code).toBe('SLS_ERR_SERVICE_UNAVAILABLE');
  expect(r.text).not.toMatch(/\bat .*\.(ts|js|mjs):\d+/); // no stack reaches the client
}

describeEachBackend(
  'PostgreSQL gone while slsd runs',
  probe,
  (backend) => {
    let fresh: FreshDatabase | undefined;
    let proxy: PgProxy | undefined;
    const processes: SlsdProcess[] = [];
    let server: TestServer | undefined;
    const data = tempDataDir('slsd-outage-');
    afterEach(async () => {
      await Promise.all(processes.splice(0).map((p) => p.stop()));
      await server?.close();
      server = undefined;
      await proxy?.close();
      await fresh?.drop();
      fresh = undefined;
    });
    afterAll(() => data.remove());

    async function admin<T extends pg.QueryResultRow>(text: string, url = fresh!.url): Promise<T[]> {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query<T>(text)).rows;
      } finally {
        await c.end();
      }
    }

    const sessionSettings = async (t: TestServer) => {
      const names = ['application_name', 'lock_timeout', 'statement_timeout', 'idle_in_transaction_session_timeout'];
      const rows = await sql<{ name: string; value: string }>`SELECT name, current_setting(name) AS value FROM unnest(${names}::text[]) AS name`.execute(t.services.db);
      return Object.fromEntries(rows.rows.map((r) => [r.name, r.value]));
    };

    const listeners = async () =>
      Number((await admin<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN ${IBKEY_NOTIFY_CHANNEL}'`))[0]!.n);

    it('the network loses PostgreSQL without a word: requests get a coded 503 within seconds, not a hang; slsd serves again when it is back', async () => {
      fresh = await backend.freshDatabase(data.dir);
      proxy = await startPgProxy(probe.available ? probe.adminUrl : '');
      // Its statement timeout shortened from 10 s, so that a connection with no answer is given up after 1 + 2 s.
      const slsd = await spawnSlsd({ dataDir: `${data.dir}/a`, env: { SLS_DATABASE_URL: `${proxy.through(fresh.url)}?statement_timeout=1000` } });
      processes.push(slsd);
      expect((await ask(slsd.url, 'POST', '/v1/login')).code).toBe('SLS_ERR_INVALID_CREDENTIALS'); // a pooled connection, now idle

      // Every open connection silently dead, new ones never answered: a host gone, a partition.
      proxy.sever();
      proxy.hold();
      const during = await ask(slsd.url, 'POST', '/v1/login');
      expectCoded503(during);
      // Before: it waited for TCP to give up (a quarter of an hour); SLS Desktop gives up after 15 s.
      expect(during.ms).toBeLessThan(10_000);
      expectCoded503(await ask(slsd.url, 'GET', '/v1/ready'));
      expect((await ask(slsd.url, 'GET', '/v1/health')).status).toBe(200);

      await proxy.restore();
      await eventually('login after the network is back', () => ask(slsd.url, 'POST', '/v1/login'), (r) => r.code === 'SLS_ERR_INVALID_CREDENTIALS');
      expect((await ask(slsd.url, 'GET', '/v1/ready')).status).toBe(200);
      expect(slsd.child.exitCode).toBeNull();
    }, 90_000);

    it('PostgreSQL restarted: two slsd answer a coded 503 at once, stay up, serve again, and each LISTENs again (IB Key wake-ups across processes)', async () => {
      fresh = await backend.freshDatabase(data.dir);
      proxy = await startPgProxy(probe.available ? probe.adminUrl : '');
      const url = proxy.through(fresh.url);
      // One first, so the second does not wait on its migrations; both then hold their LISTEN connection.
      processes.push(await spawnSlsd({ dataDir: `${data.dir}/b1`, env: { SLS_DATABASE_URL: url } }));
      processes.push(await spawnSlsd({ dataDir: `${data.dir}/b2`, env: { SLS_DATABASE_URL: url, SLS_SERVER_KEY: processes[0]!.serverKey } }));
      await eventually('both LISTEN', listeners, (n) => n === 2);

      // As a restart looks to slsd: every connection ended, new ones refused until it is back.
      await proxy.refuse();
      for (const p of processes) {
        const r = await ask(p.url, 'POST', '/v1/login');
        expectCoded503(r);
        expect(r.ms).toBeLessThan(5_000);
        expectCoded503(await ask(p.url, 'GET', '/v1/ready'));
        expect((await ask(p.url, 'GET', '/v1/health')).status).toBe(200);
      }
      await eventually('no LISTEN while it is down', listeners, (n) => n === 0);

      await proxy.restore();
      for (const p of processes) {
        await eventually('login after the restart', () => ask(p.url, 'POST', '/v1/login'), (r) => r.code === 'SLS_ERR_INVALID_CREDENTIALS');
        expect(p.child.exitCode).toBeNull();
      }
      await eventually('both LISTEN again', listeners, (n) => n === 2);
      for (const p of processes) expect(p.stdout()).not.toMatch(/"level":(50|60)/); // warnings, not errors
    }, 90_000);

    it('a lock an operator holds: a request waits lock_timeout (5 s), then gets a coded 503; it signs in once the lock is gone', async () => {
      fresh = await backend.freshDatabase(data.dir);
      server = await startTestServer({ config: { databaseUrl: fresh.url } });
      const entityId = await server.provisioning.createEntity({ name: 'jane' });
      await server.provisioning.createUser({ username: 'jane', entityId, password: 'Correct-Horse-1' });
      await server.provisioning.addDevice({ username: 'jane', kind: 'dsc' });
      // What every request connection starts with (pg-config.ts), as pg_stat_activity and SHOW tell an operator.
      expect(await sessionSettings(server)).toEqual({
        application_name: 'slsd',
        lock_timeout: '5s',
        statement_timeout: '10s',
        idle_in_transaction_session_timeout: '1min',
      });
      const shell = new pg.Client({ connectionString: fresh.url });
      await shell.connect();
      try {
        await shell.query('BEGIN');
        await shell.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
        const start = performance.now();
        const refused = await Promise.race([
          login(server.app, 'jane', 'Correct-Horse-1'),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the login waited for the lock for ever')), 15_000)),
        ]);
        expect(refused.status).toBe(503);
        expect(errorCode(refused)).toBe('SLS_ERR_SERVICE_UNAVAILABLE');
        expect(performance.now() - start).toBeGreaterThan(4_000);
      } finally {
        await shell.query('ROLLBACK');
        await shell.end();
      }
      expect((await login(server.app, 'jane', 'Correct-Horse-1')).status).toBe(200);
    }, 60_000);

    it('the URL may shorten the timeouts: a statement past statement_timeout is a coded 503, not a 500', async () => {
      fresh = await backend.freshDatabase(data.dir);
      server = await startTestServer({ config: { databaseUrl: `${fresh.url}${fresh.url.includes('?') ? '&' : '?'}lock_timeout=0&statement_timeout=300` } });
      expect(await sessionSettings(server)).toMatchObject({ lock_timeout: '0', statement_timeout: '300ms' });
      const shell = new pg.Client({ connectionString: fresh.url });
      await shell.connect();
      try {
        await shell.query('BEGIN');
        await shell.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
        const refused = await login(server.app, 'jane', 'Correct-Horse-1');
        expect(refused.status).toBe(503);
        expect(errorCode(refused)).toBe('SLS_ERR_SERVICE_UNAVAILABLE');
      } finally {
        await shell.query('ROLLBACK');
        await shell.end();
      }
      expect(errorCode(await login(server.app, 'jane', 'Correct-Horse-1'))).toBe('SLS_ERR_INVALID_CREDENTIALS');
    }, 60_000);
  },
  'postgres',
);
