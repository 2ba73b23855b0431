// The query-plan check itself (server/testing/query-plans.ts, SPEC N1): it must see a lookup that reads
// a whole table, and be quiet once an index serves it.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { fullScans } from './query-plans.ts';

describe('fullScans (the query-plan check every test runs, SPEC N1)', () => {
  it('names a table a lookup reads whole, and nothing once an index serves the lookup', () => {
    const db = new Database(':memory:');
    db.exec('create table orders (id text primary key, user_id text, state text)');
    const lookup = 'select "id" from "orders" where "user_id" = ? and "state" = ?';
    expect(fullScans(db, lookup)).toEqual(['orders']);
    expect(fullScans(db, 'update "orders" set "state" = ? where "user_id" = ?')).toEqual(['orders']);
    db.exec('create index orders_user on orders (user_id, state)');
    expect(fullScans(db, lookup)).toEqual([]);
    // By primary key: a search, never a scan.
    expect(fullScans(db, 'select * from "orders" where "id" = ?')).toEqual([]);
    db.close();
  });

  it('leaves alone what reads everything on purpose, and subqueries\' own rows', () => {
    const db = new Database(':memory:');
    db.exec('create table t (id integer primary key, v text)');
    expect(fullScans(db, 'select * from "t" order by "id" desc limit ?')).toEqual([]);
    expect(fullScans(db, 'insert into "t" ("v") values (?)')).toEqual([]);
    expect(fullScans(db, 'select * from (select 1 as "one") as "request" left join "t" on "t"."id" = ? where "request"."one" = 1')).toEqual([]);
    db.close();
  });
});
