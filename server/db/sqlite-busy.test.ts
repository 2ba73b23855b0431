// SQLite held by another writer (another slsd or slsctl on the same file, an operator's sqlite3 shell):
// slsd's statements wait for it on timers, not on the event loop, for up to the patience (5 s), then
// fail busy (503, unavailable.ts); transactions take the write lock at BEGIN, so none fails half-way
// (SPEC N1; issue 7 faults). Before: SQLite's busy handler slept 5 s on the event loop per statement.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from './connect.ts';
import type { OpenDatabase } from './connect.ts';
import { databaseUnavailableReason } from './unavailable.ts';

let dir: string;
let file: string;
let opened: OpenDatabase | undefined;
let shell: SQLite.Database | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-busy-'));
  file = path.join(dir, 'sls.db');
});
afterEach(async () => {
  if (shell?.inTransaction) shell.exec('ROLLBACK');
  shell?.close();
  shell = undefined;
  await opened?.close();
  opened = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

async function open(busyPatienceMs?: number): Promise<OpenDatabase> {
  opened = await openDatabase(`sqlite:${file}`, busyPatienceMs === undefined ? {} : { busyPatienceMs });
  await sql`create table probe (x integer)`.execute(opened.db);
  return opened;
}

/** Another connection inside a write transaction, as an operator's `sqlite3` shell after BEGIN IMMEDIATE. */
function holdWriteLock(): SQLite.Database {
  shell = new SQLite(file);
  shell.pragma('busy_timeout = 0');
  shell.exec('BEGIN IMMEDIATE');
  return shell;
}

/** The longest gap between the ticks of a 10 ms interval while `during` runs: how long the event loop was held. */
async function longestStall(during: Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 10);
  try {
    await during;
  } finally {
    clearInterval(timer);
  }
  return Math.max(longest, performance.now() - last);
}

const rows = async (db: OpenDatabase) => (await sql<{ x: number }>`select x from probe order by x`.execute(db.db)).rows.map((r) => r.x);

describe('SQLite held by another writer', () => {
  it('a write waits on timers and goes through once the writer lets go; the event loop runs meanwhile', async () => {
    const db = await open();
    const other = holdWriteLock();
    const started = performance.now();
    const write = sql`insert into probe (x) values (1)`.execute(db.db);
    const release = new Promise<void>((resolve) =>
      setTimeout(() => {
        other.exec('COMMIT');
        resolve();
      }, 500),
    );
    const stall = await longestStall(Promise.all([write, release]));
    expect(performance.now() - started).toBeGreaterThanOrEqual(450); // it did wait for the lock
    // Before: SQLite's busy handler slept on this thread until its 5 s timeout, and the write failed.
    expect(stall).toBeLessThan(1_000);
    expect(await rows(db)).toEqual([1]);
  });

  it('a transaction takes the write lock at BEGIN: it waits there, its callback runs once, and no other writer gets in while it reads', async () => {
    const db = await open();
    const other = holdWriteLock();
    let runs = 0;
    let otherWriterRefused = '';
    const done = db.db.transaction().execute(async (trx) => {
      runs++;
      await sql`select count(*) from probe`.execute(trx);
      // Only read so far, yet another writer is kept out already (BEGIN IMMEDIATE): nothing can
      // change between this read and the write below (a deferred BEGIN failed here with BUSY_SNAPSHOT).
      const intruder = new SQLite(file);
      intruder.pragma('busy_timeout = 0');
      try {
        intruder.exec('insert into probe (x) values (99)');
      } catch (e) {
        otherWriterRefused = (e as { code?: string }).code ?? '';
      } finally {
        intruder.close();
      }
      await sql`insert into probe (x) values (2)`.execute(trx);
    });
    setTimeout(() => other.exec('COMMIT'), 300);
    await done;
    expect(runs).toBe(1);
    expect(otherWriterRefused).toBe('SQLITE_BUSY');
    expect(await rows(db)).toEqual([2]);
  });

  it('past the patience: fails busy (answered 503), and nothing is written', async () => {
    const db = await open(400);
    const other = holdWriteLock();
    const err = await sql`insert into probe (x) values (3)`.execute(db.db).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as { code?: string }).code).toBe('SQLITE_BUSY');
    expect(databaseUnavailableReason(err)).toMatch(/^SQLITE_BUSY/);
    other.exec('ROLLBACK');
    expect(await rows(db)).toEqual([]);
  });
});
