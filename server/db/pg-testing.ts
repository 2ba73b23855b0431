/**
 * PostgreSQL for tests: find it, make a fresh database per test, and say why when it is absent.
 *
 * The storage conformance suite runs every case on SQLite and on PostgreSQL (SPEC N1, ARCHITECTURE
 * "one conformance suite run on both"). PostgreSQL is `SLS_TEST_POSTGRES_URL` when set, else the local
 * Unix socket (`/var/run/postgresql`, peer authentication as the current OS user, which `.ci/run`
 * creates as a superuser). Where neither answers, PostgreSQL cases skip with the reason in their
 * name; with `CI=true` or `SLS_REQUIRE_POSTGRES=1` they fail instead, so CI can never pass without having run them.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, it } from 'vitest';
import { sqliteUrl } from '../config.ts';
import { shownDatabaseUrl } from './url.ts';

export const POSTGRES_SOCKET_DIR = '/var/run/postgresql';

/** The URL tried when `SLS_TEST_POSTGRES_URL` is not set: the local socket, as the current OS user. */
export function defaultPostgresUrl(): string {
  const user = process.env.USER || os.userInfo().username;
  // `localhost` only fills the URL's host; `?host=` sends pg to the socket folder.
  return `postgres://${encodeURIComponent(user)}@localhost/postgres?host=${encodeURIComponent(POSTGRES_SOCKET_DIR)}`;
}

export type PostgresProbe =
  | { readonly available: true; readonly adminUrl: string }
  | { readonly available: false; readonly reason: string; readonly required: boolean };

const truthy = (v: string | undefined) => v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';

/** Whether PostgreSQL cases must run: CI=true (GitHub Actions) or SLS_REQUIRE_POSTGRES=1 (`.ci/run`). */
export function postgresRequired(): boolean {
  return truthy(process.env.CI) || truthy(process.env.SLS_REQUIRE_POSTGRES);
}

/** Never print a password that a URL may carry (its user info or `?password=`). */
export function redactUrl(url: string): string {
  return shownDatabaseUrl(url);
}

let probed: Promise<PostgresProbe> | null = null;

/** Finds PostgreSQL once per test process: connects and checks it may create databases. */
export function probePostgres(): Promise<PostgresProbe> {
  probed ??= (async (): Promise<PostgresProbe> => {
    const explicit = process.env.SLS_TEST_POSTGRES_URL;
    const adminUrl = explicit || defaultPostgresUrl();
    const required = postgresRequired();
    if (!explicit && !fs.existsSync(path.join(POSTGRES_SOCKET_DIR, '.s.PGSQL.5432'))) {
      return { available: false, required, reason: `no SLS_TEST_POSTGRES_URL and no PostgreSQL socket in ${POSTGRES_SOCKET_DIR}` };
    }
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      const r = await client.query<{ ok: boolean }>('select rolcreatedb or rolsuper as ok from pg_roles where rolname = current_user');
      if (!r.rows[0]?.ok) return { available: false, required, reason: `${redactUrl(adminUrl)}: the role may not create databases` };
      return { available: true, adminUrl };
    } catch (err) {
      return { available: false, required, reason: `${redactUrl(adminUrl)} unreachable: ${(err as Error).message}` };
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return probed;
}

export interface FreshDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** A new empty database on the server of `adminUrl` (one per test, so tests never see each other's rows). */
export async function freshPostgresDatabase(adminUrl: string): Promise<FreshDatabase> {
  const name = `sls_conf_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export type BackendName = 'sqlite' | 'postgres';

/** One storage backend of the conformance suite. */
export interface StorageBackend {
  readonly name: BackendName;
  /** A fresh, empty database URL for one test, and its clean-up. SQLite files go in `dataDir`. */
  freshDatabase(dataDir: string): Promise<FreshDatabase>;
}

const SQLITE: StorageBackend = {
  name: 'sqlite',
  async freshDatabase(dataDir) {
    return { url: sqliteUrl(dataDir), drop: async () => undefined };
  },
};

function postgresBackend(adminUrl: string): StorageBackend {
  return { name: 'postgres', freshDatabase: () => freshPostgresDatabase(adminUrl) };
}

/**
 * Declares `body` once per backend (`title [sqlite]`, `title [postgres]`).
 *
 * Without PostgreSQL the PostgreSQL block is skipped with the reason in its title, or, in CI,
 * replaced by one failing test that gives the reason. Call at the top level of a test file after
 * `await probePostgres()`.
 */
export function describeEachBackend(title: string, probe: PostgresProbe, body: (backend: StorageBackend) => void, only?: BackendName): void {
  if (only !== 'postgres') describe(`${title} [sqlite]`, () => body(SQLITE));
  if (only === 'sqlite') return;
  if (probe.available) {
    describe(`${title} [postgres]`, () => body(postgresBackend(probe.adminUrl)));
  } else if (probe.required) {
    describe(`${title} [postgres]`, () => {
      it('needs PostgreSQL: CI=true / SLS_REQUIRE_POSTGRES=1, so its absence fails the run', () => {
        throw new Error(`PostgreSQL is required in CI (SPEC N1 conformance): ${probe.reason}`);
      });
    });
  } else {
    describe.skip(`${title} [postgres] — skipped: ${probe.reason}`, () => body(postgresBackend('postgres://absent/')));
  }
}

/** A temporary data folder, removed by the returned function. */
export function tempDataDir(prefix = 'slsd-conf-'): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
