// Prepared statements (db/prepared.ts; issue 2) on SQLite and PostgreSQL: compiled once, they read
// and write exactly what the statement built afresh would, with each run's own values.
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
