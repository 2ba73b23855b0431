// SQLite's write-ahead log checkpointed on a worker thread (issue 7, SPEC N1): the log is copied into
// the database file without the event loop, stays bounded, loses nothing, and when the worker cannot
// run the commits checkpoint as before. Real SQLite files in a temporary folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from './connect.ts';
import type { OpenDatabase } from './connect.ts';
import { startBackgroundCheckpointer } from './checkpointer.ts';

const open: OpenDatabase[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

async function fresh(backgroundCheckpoints: boolean, onCheckpointFailure?: (reason: string) => void): Promise<{ d: OpenDatabase; file: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sls-checkpoint-'));
  const file = path.join(dir, 'sls.db');
  const d = await openDatabase(`sqlite:${file}`, { backgroundCheckpoints, ...(onCheckpointFailure ? { onCheckpointFailure } : {}) });
  open.push(d);
  return { d, file };
}

/** `n` commits of one audit row each (a login writes several such small transactions). */
async function commits(d: OpenDatabase, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) {
    await sql`insert into audit_log (at, event, user_id, username, source_address, details) values (${i}, ${'test.checkpoint'}, ${null}, ${`user-${i}`}, ${null}, ${'{}'})`.execute(d.db);
  }
}

const walBytes = (file: string) => (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);

describe('background checkpoints (db/checkpointer.ts)', () => {
  it('copies the log into the database file from the worker, while the main connection keeps writing', async () => {
    const { d, file } = await fresh(true);
    expect(d.checkpointer).toBeDefined();
    await commits(d, 200);
    // The next run of the worker finds the 200 commits in the log and copies all of them.
    const s = await d.checkpointer!.nextRun();
    expect(s.failed).toBeUndefined();
    expect(s.frames).toBeGreaterThanOrEqual(200);
    const caughtUp = s.copied === s.frames ? s : await d.checkpointer!.nextRun();
    expect(caughtUp.copied).toBe(caughtUp.frames);
    // What the worker copied is in the database file itself: a reader that ignores the log sees every row.
    const copy = path.join(path.dirname(file), 'copy.db');
    fs.copyFileSync(file, copy);
    const reader = new SQLite(copy, { readonly: true });
    try {
      expect(reader.prepare(`select count(*) as n from "audit_log" where "event" = ?`).get('test.checkpoint')).toEqual({ n: 200 });
    } finally {
      reader.close();
    }
  });

  it('keeps the log bounded under a long stream of commits (the main connection restarts it)', async () => {
    const { d, file } = await fresh(true);
    let largest = 0;
    for (let round = 0; round < 12; round++) {
      await commits(d, 500, round * 500);
      largest = Math.max(largest, walBytes(file));
    }
    // 6,000 commits of at least two pages each would be a log of 50+ MB without checkpoints (81 MB
    // measured without the backstop); the backstop (wal_autocheckpoint = 4000 frames) restarts it once
    // a checkpoint has copied everything. A checkpoint still running in the worker when the backstop
    // tries puts that off for as long as it runs (18.5 MB seen once on a loaded CI machine).
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThan(8_000 * (4096 + 24));
    const count = await d.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).where('event', '=', 'test.checkpoint').executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(6_000);
  });

  it('stops on close, and the last connection to close leaves no log behind', async () => {
    const { d, file } = await fresh(true);
    await commits(d, 50);
    await d.checkpointer!.nextRun();
    open.splice(open.indexOf(d), 1);
    await d.close();
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    const reader = new SQLite(file, { readonly: true });
    try {
      expect(reader.prepare(`select count(*) as n from "audit_log" where "event" = ?`).get('test.checkpoint')).toEqual({ n: 50 });
    } finally {
      reader.close();
    }
    // Stopping twice is harmless (a signal during shutdown).
    await d.checkpointer!.stop();
  });

  it('reports once why it could not run, and the commits checkpoint as before', async () => {
    const reasons: string[] = [];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sls-checkpoint-'));
    const missing = startBackgroundCheckpointer(path.join(dir, 'no-such.db'), { onFailure: (r) => reasons.push(r), intervalMs: 10 });
    const s = await missing.nextRun();
    expect(s.failed).toMatch(/unable to open database file/);
    await missing.stop();
    expect(reasons).toHaveLength(1);
    expect(missing.status().failed).toBe(s.failed);

    // Without the worker, the main connection's own checkpoints still bound the log.
    const { d, file } = await fresh(false);
    expect(d.checkpointer).toBeUndefined();
    let largest = 0;
    for (let round = 0; round < 10; round++) {
      await commits(d, 500, round * 500);
      largest = Math.max(largest, walBytes(file));
    }
    expect(largest).toBeLessThan(4_200 * (4096 + 24));
  });

  it('refuses a nonsensical interval', () => {
    expect(() => startBackgroundCheckpointer('/nonexistent', { intervalMs: 0 })).toThrow(RangeError);
    expect(() => startBackgroundCheckpointer('/nonexistent', { intervalMs: 2.5 })).toThrow(RangeError);
  });
});
