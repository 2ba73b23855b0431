// Prepared statements (db/prepared.ts; issue 2) on SQLite and PostgreSQL: compiled once, they read
// and write exactly what the statement built afresh would, with each run's own values.
import { sql } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openDatabase } from './connect.ts';
import type { OpenDatabase } from './connect.ts';
import { describeEachBackend, probePostgres, tempDataDir } from './pg-testing.ts';
import type { FreshDatabase } from './pg-testing.ts';
import { prepared } from './prepared.ts';

const probe = await probePostgres();

const entityByName = prepared('entity by name', (db, name: string) => db.selectFrom('entities').select(['id', 'name']).where('name', '=', name));
const insertEntity = prepared('insert an entity', (db, id: string, name: string, createdAt: number) =>
  db.insertInto('entities').values({ id, kind: 'person', name, created_at: createdAt }),
);
/** A statement with its own constant (the LIKE pattern) beside a value used twice. */
const namedLikeOrEqual = prepared('entities like', (db, name: string) =>
  db
    .selectFrom('entities')
    .select('name')
    .where((eb) => eb.or([eb('name', '=', name), eb.and([eb('name', 'like', 'z%'), eb('name', '<>', name)])]))
    .orderBy('name'),
);

/** Every row of a select `*` of users: the columns it answers with. */
const everyUser = prepared('every user (test)', (db, createdAfter: number) => db.selectFrom('users').selectAll().where('created_at', '>', createdAfter));

describeEachBackend('prepared statements (issue 2)', probe, (backend) => {
  let data: ReturnType<typeof tempDataDir>;
  let fresh: FreshDatabase;
  let open: OpenDatabase;

  beforeEach(async () => {
    data = tempDataDir();
    fresh = await backend.freshDatabase(data.dir);
    open = await openDatabase(fresh.url);
  });
  afterEach(async () => {
    await open.close();
    await fresh.drop();
    data.remove();
  });

  it('runs with each call’s own values, the same as the statement built afresh', async () => {
    await insertEntity(open.db, 'ent_1', 'alpha', 1);
    await insertEntity(open.db, 'ent_2', 'beta', 2);
    expect((await entityByName(open.db, 'alpha')).rows).toEqual([{ id: 'ent_1', name: 'alpha' }]);
    expect((await entityByName(open.db, 'beta')).rows).toEqual([{ id: 'ent_2', name: 'beta' }]);
    expect((await entityByName(open.db, 'gamma')).rows).toEqual([]);
    const built = await open.db.selectFrom('entities').select(['id', 'name']).where('name', '=', 'beta').execute();
    expect((await entityByName(open.db, 'beta')).rows).toEqual(built);
  });

  it('keeps the statement’s own constants and fills a value used twice in both places', async () => {
    for (const [i, name] of ['zeta', 'zulu', 'alpha'].entries()) await insertEntity(open.db, `ent_${i}`, name, i);
    expect((await namedLikeOrEqual(open.db, 'alpha')).rows.map((r) => r.name)).toEqual(['alpha', 'zeta', 'zulu']);
    expect((await namedLikeOrEqual(open.db, 'zeta')).rows.map((r) => r.name)).toEqual(['zeta', 'zulu']);
  });

  it('runs inside a transaction, and a rollback takes its write back', async () => {
    await expect(
      open.db.transaction().execute(async (trx) => {
        await insertEntity(trx, 'ent_t', 'inside', 3);
        expect((await entityByName(trx, 'inside')).rows).toHaveLength(1);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await entityByName(open.db, 'inside')).rows).toEqual([]);
  });

  it('a statement run while another request’s transaction is open stays out of it (waits for it on SQLite)', async () => {
    let outside: Promise<unknown> = Promise.resolve();
    let seen: Promise<{ rows: unknown[] }> = Promise.resolve({ rows: [] });
    await expect(
      open.db.transaction().execute(async (trx) => {
        await insertEntity(trx, 'ent_in', 'inside', 6);
        // Another request, between two statements of this transaction.
        outside = insertEntity(open.db, 'ent_out', 'outside', 7);
        seen = entityByName(open.db, 'inside');
        await new Promise((r) => setTimeout(r, 20));
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await outside;
    expect((await seen).rows).toEqual([]);
    expect((await entityByName(open.db, 'outside')).rows).toEqual([{ id: 'ent_out', name: 'outside' }]);
    expect((await entityByName(open.db, 'inside')).rows).toEqual([]);
  });

  it('passes values as parameters, never as SQL text', async () => {
    const hostile = "x' OR '1'='1";
    await insertEntity(open.db, 'ent_h', hostile, 4);
    await insertEntity(open.db, 'ent_o', 'other', 5);
    expect((await entityByName(open.db, hostile)).rows).toEqual([{ id: 'ent_h', name: hostile }]);
  });

  it.runIf(backend.name === 'postgres')('named statements (statement-names.ts; issue 7): parses a compiled-once statement once per connection: it is among the connection\'s prepared statements', async () => {
    await open.db.connection().execute(async (c) => {
      await insertEntity(c, 'ent_n', 'named', 1);
      expect((await entityByName(c, 'named')).rows).toEqual([{ id: 'ent_n', name: 'named' }]);
      const kept = await sql<{ name: string; statement: string }>`SELECT name, statement FROM pg_prepared_statements`.execute(c);
      const texts = kept.rows.map((r) => r.statement);
      expect(texts.some((t) => t.startsWith('select "id", "name" from "entities"'))).toBe(true);
      expect(texts.some((t) => t.startsWith('insert into "entities"'))).toBe(true);
      for (const r of kept.rows) expect(r.name).toMatch(/^sls_\d+$/);
      // A statement built per request stays unnamed: nothing kept for it.
      await c.selectFrom('entities').select('id').where('name', 'in', ['a', 'b', 'c']).execute();
      const after = await sql<{ n: string }>`SELECT count(*) AS n FROM pg_prepared_statements`.execute(c);
      expect(Number(after.rows[0]!.n)).toBe(kept.rows.length);
    });
  });

  it.runIf(backend.name === 'postgres')('answers with the new columns when a newer slsd changed a table under a named SELECT * (runs it unnamed)', async () => {
    await open.db.connection().execute(async (c) => {
      expect((await everyUser(c, 0)).rows).toEqual([]);
      // A migration from another process while this connection keeps the parsed statement.
      const other = await openDatabase(fresh.url);
      try {
        await sql`ALTER TABLE users ADD COLUMN nickname text`.execute(other.db);
      } finally {
        await other.close();
      }
      await c.insertInto('entities').values({ id: 'ent_u', kind: 'person', name: 'u', created_at: 1 }).execute();
      await sql`INSERT INTO users (id, username, username_normalized, display_name, entity_id, created_at, nickname) VALUES ('usr_1', 'u', 'u', 'U', 'ent_u', 5, 'nick')`.execute(c);
      const rows = (await everyUser(c, 0)).rows as Record<string, unknown>[];
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ id: 'usr_1', nickname: 'nick' });
      // And again: from now on unnamed on this connection, still right.
      expect(((await everyUser(c, 0)).rows as Record<string, unknown>[])[0]).toMatchObject({ id: 'usr_1', nickname: 'nick' });
    });
  });
});

it('refuses a statement that drops an argument (it would silently ignore that value)', async () => {
  const data = tempDataDir();
  const open = await openDatabase(`sqlite:${data.dir}/sls.db`);
  try {
    const broken = prepared('ignores its name', (db, _name: string) => db.selectFrom('entities').select('id'));
    await expect(broken(open.db, 'alpha')).rejects.toThrow(/argument 0 never reached the SQL/);
  } finally {
    await open.close();
    data.remove();
  }
});
