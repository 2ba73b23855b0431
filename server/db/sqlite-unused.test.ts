// sqliteUnused: whether a SQLite database is open elsewhere, as SQLite's locks tell. slsd's failed first
// start removes the database it made only when it is (server/main.ts): never one another process uses.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import SQLite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { sqliteUnused } from './connect.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-unused-'));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('sqliteUnused', () => {
  it('false while another connection has the database open; true once it is closed, or left by a process that died', () => {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'sls.db');
    const other = new SQLite(file);
    other.pragma('journal_mode = WAL');
    other.exec('create table t (x integer); insert into t values (1)');
    expect(sqliteUnused(file)).toBe(false);
    expect(other.prepare('select count(*) as n from t').get()).toEqual({ n: 1 }); // untouched
    other.close();
    expect(sqliteUnused(file)).toBe(true);
    // A process that ended without closing leaves its log: nobody holds it.
    const script = `const S = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))}); const d = new S(${JSON.stringify(file)}); d.pragma('journal_mode = WAL'); d.exec('insert into t values (2)'); process.kill(process.pid, 'SIGKILL');`;
    spawnSync(process.execPath, ['-e', script]);
    expect(fs.existsSync(`${file}-wal`)).toBe(true);
    expect(sqliteUnused(file)).toBe(true);
    expect(sqliteUnused(path.join(dir, 'none.db'))).toBe(true);
  });
});
