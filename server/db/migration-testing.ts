/**
 * Upgrade tests (migration-00NN.test.ts): a database as an earlier slsd left it, on SQLite or
 * PostgreSQL — migrated only up to `migration`, then filled by `fill` with plain inserts on a
 * connection of its own (no slsd of this version has touched it), then closed.
 */
import fs from 'node:fs';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrationProvider } from './migrations.ts';
import { databaseTarget } from './url.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema of an older version, not this one's types
export type OldDb = Kysely<any>;

export async function databaseAtMigration(url: string, migration: string, fill: (db: OldDb) => Promise<void>): Promise<void> {
  const target = databaseTarget(url);
  let db: OldDb;
  if (target.kind === 'sqlite') {
    fs.writeFileSync(target.file, '', { mode: 0o600 }); // owner-only, as slsd makes it (SPEC D4)
    db = new Kysely({ dialect: new SqliteDialect({ database: new SQLite(target.file) }) });
  } else {
    db = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) });
  }
  try {
    const { error } = await new Migrator({ db, provider: migrationProvider(target.kind === 'sqlite' ? 'sqlite' : 'postgres') }).migrateTo(migration);
    if (error) throw error;
    await fill(db);
  } finally {
    await db.destroy();
  }
}
