/**
 * Opening the database: SQLite (embedded default, SPEC N1) or PostgreSQL, migrated to the latest schema.
 */
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import type { Database } from './schema.ts';
import { migrationProvider } from './migrations.ts';
import type { SqlDialect } from './migrations.ts';

export interface OpenDatabase {
  readonly db: Kysely<Database>;
  readonly dialect: SqlDialect;
  /** What /v1/health reports: "sqlite" or "postgres" (never the URL, which may hold a password). */
  readonly description: string;
  close(): Promise<void>;
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

export async function openDatabase(databaseUrl: string): Promise<OpenDatabase> {
  let db: Kysely<Database>;
  let dialect: SqlDialect;
  if (databaseUrl.startsWith('postgres://') || databaseUrl.startsWith('postgresql://')) {
    const pg = await import('pg');
    // bigint columns (epoch ms, cents) come back as numbers: all stay below 2^53.
    pg.default.types.setTypeParser(20, (v: string) => Number(v));
    db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.default.Pool({ connectionString: databaseUrl, max: 10 }) }),
    });
    dialect = 'postgres';
  } else {
    const file = databaseUrl.startsWith('sqlite:') ? databaseUrl.slice('sqlite:'.length) : databaseUrl;
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    // Checkpoints run inside some commit; fewer, larger ones halve a commit's average cost here
    // (the WAL may grow to ~16 MiB between them). Durability is unchanged.
    sqlite.pragma('wal_autocheckpoint = 4000');
    sqlite.pragma('foreign_keys = ON');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    dialect = 'sqlite';
  }
  const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
  return { db, dialect, description: dialect, close: () => db.destroy() };
}
