/**
 * Opening the database: SQLite (embedded default, SPEC N1) or PostgreSQL, migrated to the latest schema.
 */
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { CompiledQuery, Kysely, Migrator, PostgresDialect, sql, SqliteDialect } from 'kysely';
import type { DatabaseConnection, Driver, PostgresPool, PostgresPoolClient, QueryResult } from 'kysely';
import type { Pool as PgPool, PoolClient as PgPoolClient } from 'pg';
import type { Database } from './schema.ts';
import { migrationProvider } from './migrations.ts';
import { makeFolder } from '../folders.ts';
import type { SqlDialect } from './migrations.ts';
import { startBackgroundCheckpointer } from './checkpointer.ts';
import { DatabaseUnavailable, databaseUnavailableReason } from './unavailable.ts';
import { startRefused } from '../start-refused.ts';
import type { BackgroundCheckpointer } from './checkpointer.ts';
import { databaseTarget, shownDatabaseUrl } from './url.ts';
import { pgAnswerTimeoutMs, pgOptions, pgSessionSetup } from './pg-config.ts';
import { statementName } from './statement-names.ts';

export { shownDatabaseUrl };

export interface OpenDatabase {
  readonly db: Kysely<Database>;
  readonly dialect: SqlDialect;
  /** What /v1/health reports: "sqlite" or "postgres" (never the URL, which may hold a password). */
  readonly description: string;
  /** SQLite with background checkpoints (slsd): the worker copying the log into the database. */
  readonly checkpointer?: BackgroundCheckpointer;
  /**
   * One `SELECT 1`, its time in ms (GET /v1/ready). Throws DatabaseUnavailable when the database
   * does not answer within `PING_TIMEOUT_MS` or answers with an error.
   */
  ping(): Promise<number>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /**
   * SQLite file only: checkpoint the write-ahead log on a worker thread (db/checkpointer.ts), so the
   * event loop never waits for the fsyncs. slsd's server turns it on; short-lived tools (slsctl) and
   * in-process tests leave it off.
   */
  readonly backgroundCheckpoints?: boolean;
  /** Hears why background checkpoints stopped, if they do (they then run inside commits, as before). */
  readonly onCheckpointFailure?: (reason: string) => void;
  /** SQLite: how long a statement waits for another writer before failing busy. Default SQLITE_BUSY_PATIENCE_MS. */
  readonly busyPatienceMs?: number;
  /** PostgreSQL: the request pool's size (SLS_DATABASE_POOL_MAX); default PG_POOL_MAX. */
  readonly pgPoolMax?: number;
}

/** The better-sqlite3 connection behind each SQLite Kysely instance we opened (db/prepared.ts runs on it directly). */
const sqliteConnections = new WeakMap<Kysely<Database>, SQLite.Database>();

/**
 * The SQLite connection of `db` when it is a SQLite database opened here and not a transaction;
 * else undefined (PostgreSQL, a transaction, a derived instance): run through Kysely then.
 */
export function sqliteConnectionOf(db: Kysely<Database>): SQLite.Database | undefined {
  return db.isTransaction ? undefined : sqliteConnections.get(db);
}

/**
 * How long a SQLite statement waits for another writer (another slsd or slsctl on the same file, an
 * operator's `sqlite3` shell inside a write transaction) before its request is answered 503
 * (unavailable.ts). Only the first SQLITE_BUSY_SLICE_MS of it is SQLite's own busy handler, which
 * sleeps on the calling thread — the event loop; the rest waits on timers, so meanwhile slsd answers
 * health checks, reads, signals and everything that needs no write.
 */
export const SQLITE_BUSY_PATIENCE_MS = 5000;
const SQLITE_BUSY_SLICE_MS = 20;

export const isSqliteBusy = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || (typeof code === 'string' && code.startsWith('SQLITE_BUSY_'));
};

/**
 * Kysely's SQLite driver, patient with other writers:
 * - a transaction begins IMMEDIATE: it takes the write lock before its first statement, so it never
 *   fails half-way (a deferred one that read, then met a write committed by another process, got
 *   SQLITE_BUSY_SNAPSHOT: a 503 for nothing), and a busy lock is met at BEGIN, when nothing is done yet;
 * - a statement outside any transaction (BEGIN included) that finds the database locked did nothing,
 *   so it is tried again after 5, 10, 20 … 100 ms on a timer, for up to `patienceMs` in all, then its
 *   SQLITE_BUSY goes up (503). Inside a transaction nothing is retried (the lock is held already).
 * While it waits it holds Kysely's one connection, so this process's other writes queue behind it, as
 * they would behind any statement.
 */
class PatientSqliteDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly sqlite: SQLite.Database,
    private readonly patienceMs: number,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.inner.acquireConnection();
    const { sqlite, patienceMs } = this;
    return {
      async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
        let deadline = 0;
        for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
          const outside = !sqlite.inTransaction;
          try {
            return await connection.executeQuery<R>(query);
          } catch (err) {
            if (!outside || !isSqliteBusy(err)) throw err;
            deadline ||= performance.now() + patienceMs - SQLITE_BUSY_SLICE_MS;
            if (performance.now() + wait > deadline) throw err;
            await new Promise((resolve) => setTimeout(resolve, wait));
          }
        }
      },
      streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
    };
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(connection);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(connection);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

class PatientSqliteDialect extends SqliteDialect {
  constructor(
    handle: SQLite.Database,
    private readonly raw: SQLite.Database,
    private readonly patienceMs: number,
  ) {
    super({ database: handle });
  }

  override createDriver(): Driver {
    return new PatientSqliteDriver(super.createDriver(), this.raw, this.patienceMs);
  }
}

/**
 * better-sqlite3 with prepared statements reused: Kysely's SQLite driver prepares every query anew,
 * which was a seventh of a login's CPU time. Kysely runs one query at a time on this connection,
 * so a cached statement is never in use twice at once.
 */
function withStatementCache(sqlite: SQLite.Database, max = 500): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  return new Proxy(sqlite, {
    get(target, prop, receiver) {
      if (prop === 'prepare') {
        return (sqlText: string) => {
          let stmt = cache.get(sqlText);
          if (!stmt) {
            stmt = target.prepare(sqlText);
            if (cache.size >= max) cache.delete(cache.keys().next().value!);
            cache.set(sqlText, stmt);
          }
          return stmt;
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * An idle pooled connection that PostgreSQL ends (a restart, a failover, `pg_terminate_backend`,
 * `idle_session_timeout`) makes the pool emit 'error'; unheard, that is an uncaught exception and
 * every slsd would die with its database's hiccup (found by the conformance suite). pg-pool already
 * drops the broken connection and opens a new one on next use, so the error is only reported.
 */
function survivingLostConnections(pool: PgPool): PgPool {
  pool.on('error', (err: Error & { code?: string }) => {
    process.emitWarning(`a PostgreSQL connection was lost (${err.code ?? err.message}); the pool replaces it on next use`, 'SlsDatabaseWarning');
  });
  return pool;
}

/** The socket under a pg client (not in pg's types): closed, it fails the statement waiting on it. */
function socketOf(client: PgPoolClient): { destroy(err?: Error): void } | undefined {
  return (client as unknown as { connection?: { stream?: { destroy(err?: Error): void } } }).connection?.stream;
}

/**
 * The pool as Kysely gets it, with what slsd adds to each connection:
 * - PostgreSQL text cannot hold U+0000, and a parameter with one fails the whole statement (a 500 on
 *   `GET /v1/login/%00`, a lost audit entry for a user name with a NUL). SQLite stores it. So that
 *   both answer alike (SPEC N1; found by server/fuzz.test.ts), string parameters carry U+FFFD
 *   instead: a lookup finds nothing, as on SQLite (no id or name of ours holds either), and text
 *   keeps a visible mark.
 * - A new connection first gets its timeouts (`setup`, pg-config.ts pgSessionSetup).
 * - A statement with no answer at all within `answerTimeoutMs` (pg-config.ts pgAnswerTimeoutMs: the
 *   server's statement timeout has passed, so the server or the network is gone) closes its
 *   connection: the statement fails as unavailable (503) and pg-pool drops the connection, where
 *   the request hung until TCP gave up and the connection went back to the pool still waiting.
 */
function slsdPool(pool: PgPool, answerTimeoutMs: number, setup: string | null = null): PostgresPool {
  const clean = (v: unknown) => (typeof v === 'string' && v.includes('\u0000') ? v.replaceAll('\u0000', '\uFFFD') : v);
  const patched = new WeakSet<object>();
  const connect = async (): Promise<PgPoolClient> => {
    try {
      return await pool.connect();
    } catch (err) {
      // No connection at all (PostgreSQL down, refusing, unreachable, its certificate refused, a
      // sslrootcert file that cannot be read): the request gets a 503, not a 500 (unavailable.ts).
      throw new DatabaseUnavailable(`no PostgreSQL connection: ${rootMessage(err)}`, { cause: err });
    }
  };
  return {
    async connect() {
      const client = await connect();
      if (!patched.has(client)) {
        patched.add(client);
        // pg-pool listens to a client's errors only while it is idle. Checked out between two
        // statements (a transaction's JavaScript in between), a connection that PostgreSQL ends
        // (restart, failover, an administrator) emits 'error' with no statement to fail: unheard,
        // an uncaught exception that ended slsd. Heard here: the next statement fails as unavailable
        // (503), and pg-pool drops the client when it is released (it is no longer queryable).
        client.on('error', () => undefined);
        const query = client.query.bind(client) as (...a: unknown[]) => unknown;
        /** Named statements this connection runs unnamed from now on (`replanned`). */
        const unnamed = new Set<string>();
        (client as unknown as { query: (...a: unknown[]) => unknown }).query = (text: unknown, values?: unknown, ...rest: unknown[]) => {
          let result: unknown;
          const name = typeof text === 'string' && Array.isArray(values) && rest.length === 0 ? statementName(text) : undefined;
          if (name !== undefined && !unnamed.has(name)) {
            const cleaned = (values as unknown[]).map(clean);
            // statement-names.ts: parsed and planned once on this connection.
            result = (query({ name, text, values: cleaned }) as Promise<unknown>).catch((err: unknown) => {
              if (!replanned(err)) throw err;
              unnamed.add(name);
              return query(text, cleaned);
            });
          } else result = Array.isArray(values) ? query(text, values.map(clean), ...rest) : query(text, values, ...rest);
          if (answerTimeoutMs > 0 && result instanceof Promise) {
            const timer = setTimeout(() => {
              const err = Object.assign(new Error(`PostgreSQL did not answer within ${answerTimeoutMs} ms: connection closed`), { code: 'ETIMEDOUT' });
              socketOf(client)?.destroy(err);
            }, answerTimeoutMs);
            timer.unref();
            void result.then(
              () => clearTimeout(timer),
              () => clearTimeout(timer),
            );
          }
          return result;
        };
        if (setup !== null) {
          try {
            await client.query(setup);
          } catch (err) {
            client.release(err as Error); // not back to the pool: a connection without its timeouts
            throw err;
          }
        }
      }
      return client as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}

/**
 * A named statement PostgreSQL will not run again as parsed: a table it reads with `*` changed its
 * columns since (a newer slsd migrated the database while this one runs: SQLSTATE 0A000 "cached plan
 * must not change result type"). Run unnamed, it is parsed anew and answers with the new columns.
 */
function replanned(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e?.code === '0A000' && typeof e.message === 'string' && e.message.includes('cached plan');
}

/** How long GET /v1/ready waits for `SELECT 1`. */
const PING_TIMEOUT_MS = 2000;

async function ping(db: Kysely<Database>): Promise<number> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailable(`no answer to SELECT 1 within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
  });
  try {
    await Promise.race([sql`SELECT 1`.execute(db), timeout]);
  } catch (err) {
    throw err instanceof DatabaseUnavailable ? err : new DatabaseUnavailable(databaseUnavailableReason(err) ?? (err as Error).message, { cause: err });
  } finally {
    clearTimeout(timer);
  }
  return Math.round((performance.now() - start) * 100) / 100;
}

/**
 * Opens (and migrates) the database. One that cannot be reached or opened at all ends slsd's or
 * slsctl's start with one plain line naming it (its password never shown) and the reason, not a stack.
 */
export async function openDatabase(databaseUrl: string, opts: OpenOptions = {}): Promise<OpenDatabase> {
  try {
    return await openAndMigrate(databaseUrl, opts);
  } catch (err) {
    if (databaseUnavailableReason(err) === null) throw err;
    throw startRefused(`cannot open the database ${shownDatabaseUrl(databaseUrl)}: ${rootMessage(err)}${tlsHint(err)} (SLS_DATABASE_URL / --database-url)`);
  }
}

/** Node's codes for a server certificate not signed by a CA it was given (sslrootcert) or knows. */
const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

/** What to do about a PostgreSQL certificate refused (pg-config.ts: every sslmode but disable verifies it). */
function tlsHint(err: unknown): string {
  const code = (rootError(err) as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return '';
  if (UNTRUSTED_CERTIFICATE.has(code)) return '; slsd checks the server\'s certificate with every sslmode but disable: give the CA that signed it with sslrootcert=<file>';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return '; slsd checks the server\'s name with every sslmode but disable: connect to a host name or address its certificate names';
  return '';
}

/** The innermost cause: pg's or SQLite's own error, under what slsd and Kysely wrapped it in. */
function rootError(err: unknown): unknown {
  let e = err;
  while (e instanceof Error && e.cause instanceof Error && e.cause !== e) e = e.cause;
  if (e instanceof AggregateError && e.errors[0] instanceof Error) e = e.errors[0];
  return e;
}

/** The innermost cause's message: pg's and SQLite's own words ("connect ECONNREFUSED …", "unable to open database file"). */
function rootMessage(err: unknown): string {
  const e = rootError(err);
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}

/** A SQLite database's files: the database, its write-ahead log and the log's index, a rollback journal. */
export const SQLITE_FILE_SUFFIXES = ['', '-wal', '-shm', '-journal'] as const;

/**
 * A SQLite database holds password hashes and sealed device secrets, and its write-ahead log live
 * SMS codes (SPEC D4): its files are the owner's alone. A new database file is made 0600 here, before
 * SQLite would make it with the process's umask (0644 under the usual 022); SQLite gives the log and
 * its index the database file's mode. Files an earlier version left readable by others (a data folder
 * that already existed, not 0700) are narrowed to 0600, and that is said once: the next start finds
 * them so. Where the file cannot be made, SQLite's own error says why (openDatabase).
 */
function ownerOnly(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, 'wx', 0o600));
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return;
  }
  if (process.platform === 'win32') return; // no group or other bits to narrow
  const narrowed: string[] = [];
  const refused: string[] = [];
  for (const f of SQLITE_FILE_SUFFIXES.map((suffix) => file + suffix)) {
    try {
      if ((fs.statSync(f).mode & 0o077) === 0) continue;
    } catch {
      continue; // not there
    }
    try {
      fs.chmodSync(f, 0o600);
      narrowed.push(f);
    } catch (err) {
      refused.push(`${f} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  if (narrowed.length > 0) process.emitWarning(`${narrowed.join(', ')} could be read by other users of this machine: made owner-only (0600), as SLS makes its database files (SPEC D4)`, 'SlsDatabaseWarning');
  if (refused.length > 0) process.emitWarning(`${refused.join(', ')} can be read by other users of this machine and could not be made owner-only: chmod 600 them (SPEC D4)`, 'SlsDatabaseWarning');
}

/**
 * Whether no connection (of another process) has the SQLite database `file` open, as SQLite's own
 * locks tell: leaving WAL mode needs the database alone. A log left by a process that ended without
 * closing (a worker stopped while starting) holds nothing. False when it cannot tell. It leaves the
 * database in rollback-journal mode (openDatabase sets WAL again): it is asked of a database about to
 * be removed (server/main.ts, a failed first start).
 */
export function sqliteUnused(file: string): boolean {
  if (!fs.existsSync(file)) return true;
  let probe: SQLite.Database | undefined;
  try {
    probe = new SQLite(file, { fileMustExist: true, timeout: 0 });
    return probe.pragma('journal_mode = DELETE', { simple: true }) === 'delete';
  } catch {
    return false;
  } finally {
    probe?.close();
  }
}

/** Brings the database to the latest schema (Kysely's Migrator: on PostgreSQL under an advisory lock, in one transaction). */
async function migrate(db: Kysely<Database>, dialect: SqlDialect): Promise<void> {
  const { error, results } = await new Migrator({ db, provider: migrationProvider(dialect) }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
  }
}

async function openAndMigrate(databaseUrl: string, opts: OpenOptions): Promise<OpenDatabase> {
  let db: Kysely<Database>;
  let dialect: SqlDialect;
  let sqliteFile: string | undefined;
  const target = databaseTarget(databaseUrl);
  if (target.kind === 'postgres') {
    const pg = await import('pg');
    // bigint columns (epoch ms, cents) come back as numbers: all stay below 2^53.
    pg.default.types.setTypeParser(20, (v: string) => Number(v));
    const pool = (use: 'requests' | 'migrations') => survivingLostConnections(new pg.default.Pool(pgOptions(databaseUrl, use, opts.pgPoolMax)));
    // Migrations on a connection of their own, without the requests' statement and lock timeouts
    // (pg-config.ts): one may rightly take long (an index on a large table), or wait for another
    // slsd starting at the same moment, which holds Kysely's advisory lock while it migrates.
    const migrating = new Kysely<Database>({ dialect: new PostgresDialect({ pool: slsdPool(pool('migrations'), 0) }) });
    try {
      await migrate(migrating, 'postgres');
    } finally {
      await migrating.destroy();
    }
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: slsdPool(pool('requests'), pgAnswerTimeoutMs(databaseUrl), pgSessionSetup(databaseUrl)) }) });
    dialect = 'postgres';
  } else {
    const file = target.file;
    if (file !== ':memory:') {
      makeFolder(path.dirname(path.resolve(file)));
      ownerOnly(file);
    }
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    // SQLite's own wait for a lock sleeps on the event loop: a short slice, the rest on timers (above).
    sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_SLICE_MS}`);
    // Checkpoints run inside some commit; fewer, larger ones halve a commit's average cost here
    // (the WAL may grow to ~16 MiB between them). Durability is unchanged.
    // With background checkpoints (db/checkpointer.ts) this stays as the backstop that restarts the
    // log; the worker has by then copied and synced nearly all of it.
    sqlite.pragma('wal_autocheckpoint = 4000');
    sqlite.pragma('foreign_keys = ON');
    const cached = withStatementCache(sqlite);
    db = new Kysely<Database>({ dialect: new PatientSqliteDialect(cached, sqlite, opts.busyPatienceMs ?? SQLITE_BUSY_PATIENCE_MS) });
    sqliteConnections.set(db, cached);
    dialect = 'sqlite';
    if (file !== ':memory:') sqliteFile = file;
    try {
      await migrate(db, dialect);
    } catch (err) {
      await db.destroy();
      throw err;
    }
  }
  const checkpointer = opts.backgroundCheckpoints && sqliteFile ? startBackgroundCheckpointer(sqliteFile, opts.onCheckpointFailure ? { onFailure: opts.onCheckpointFailure } : {}) : undefined;
  return {
    db,
    dialect,
    description: dialect,
    ...(checkpointer ? { checkpointer } : {}),
    ping: () => ping(db),
    close: async () => {
      // The worker's connection first: the main one, closing last, checkpoints and removes the log.
      await checkpointer?.stop();
      await db.destroy();
    },
  };
}
