/**
 * `slsctl backup FILE`: a consistent copy of slsd's SQLite database while slsd keeps running (SPEC N1).
 *
 * SQLite's online backup API (better-sqlite3 `backup`) copies the pages of one snapshot, a batch at a
 * time, so logins go on meanwhile. The copy is created owner-only before anything is written into it
 * (it holds password hashes and the encrypted device secrets), never over an existing file, and is
 * checked (`PRAGMA integrity_check`) before slsctl says it is done. It does not hold the server key:
 * without the key the device secrets in it cannot be read, so the key is kept (and backed up) apart.
 * PostgreSQL is backed up with its own tools (pg_dump).
 */
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import type { Command } from 'commander';
import type { SlsConfig } from '../config.ts';
import { sqliteConnectionOf } from '../db/connect.ts';
import type { Services } from '../services/index.ts';

export interface BackupIo {
  out(text: string): void;
  err(text: string): void;
}

/** What a finished backup holds, read back from the copy. */
export interface BackupSummary {
  /** The live database file that was copied, and the copy. */
  readonly source: string;
  readonly file: string;
  readonly pages: number;
  readonly bytes: number;
  readonly users: number;
  readonly devices: number;
}

/**
 * A backup slsctl will not take. `usage`: the FILE argument is wrong (it exists, its folder does not,
 * it is the database itself), a usage error (exit code 2); otherwise the database cannot be copied
 * this way (PostgreSQL, in memory), a refusal (exit code 1) like every other one.
 */
export class BackupRefused extends Error {
  readonly usage: boolean;

  constructor(message: string, usage: boolean) {
    super(message);
    this.usage = usage;
  }
}

/**
 * Copies the SQLite database behind `s` to `file` (which must not exist), reporting progress to
 * `progress`; removes a partial copy if anything fails.
 */
export async function backupSqlite(s: Services, file: string, progress: (copied: number, total: number) => void = () => {}): Promise<BackupSummary> {
  const sqlite = sqliteConnectionOf(s.db);
  if (s.database.dialect !== 'sqlite' || !sqlite) {
    throw new BackupRefused('the database is PostgreSQL: back it up with pg_dump (for example `pg_dump --format=custom --file=sls.dump "$SLS_DATABASE_URL"`)', false);
  }
  if (sqlite.memory) throw new BackupRefused('the database is in memory: there is nothing on disk to back up', false);
  const target = path.resolve(file);
  if (target === path.resolve(sqlite.name)) throw new BackupRefused('the backup would overwrite the database itself: choose another file', true);
  if (!fs.existsSync(path.dirname(target))) throw new BackupRefused(`the folder ${path.dirname(target)} does not exist`, true);
  // Created here, owner-only and only if absent, so the copy is never readable by others, not even
  // for the moment before SQLite writes into it, and never replaces a file.
  let fd: number;
  try {
    fd = fs.openSync(target, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new BackupRefused(`${target} already exists: choose a new file name (a backup never replaces a file)`, true);
    throw e;
  }
  fs.closeSync(fd);
  try {
    const done = await sqlite.backup(target, {
      progress: ({ totalPages, remainingPages }) => {
        progress(totalPages - remainingPages, totalPages);
        return 1000; // pages per step: the event loop (and a slsd sharing the file) gets a turn in between
      },
    });
    progress(done.totalPages, done.totalPages);
    const copy = new SQLite(target, { readonly: true, fileMustExist: true });
    try {
      const check = copy.pragma('integrity_check', { simple: true });
      if (check !== 'ok') throw new Error(`the copy failed SQLite's integrity check: ${String(check)}`);
      const count = (table: string) => (copy.prepare(`select count(*) as n from "${table}"`).get() as { n: number }).n;
      const pages = copy.pragma('page_count', { simple: true }) as number;
      return { source: path.resolve(sqlite.name), file: target, pages, bytes: fs.statSync(target).size, users: count('users'), devices: count('devices') };
    } finally {
      copy.close();
    }
  } catch (e) {
    fs.rmSync(target, { force: true });
    fs.rmSync(`${target}-wal`, { force: true });
    fs.rmSync(`${target}-shm`, { force: true });
    throw e;
  }
}

export function registerBackupCommand(program: Command, open: () => Promise<{ s: Services; config: SlsConfig }>, io: BackupIo): void {
  program
    .command('backup')
    .description('copy the SQLite database to FILE while slsd runs (owner-only, checked); the server key is not in it: keep it apart (SPEC N1, D4)')
    .argument('<file>', 'the new file to write; never an existing one')
    .action(async (file: string) => {
      const { s, config } = await open();
      let last = -1;
      const summary = await backupSqlite(s, file, (copied, total) => {
        const pct = total === 0 ? 100 : Math.floor((copied / total) * 100);
        if (pct !== last) io.err(`\rcopying: ${copied} of ${total} pages (${pct} %)`);
        last = pct;
      });
      io.err('\n');
      const key = config.serverKey ? 'SLS_SERVER_KEY' : path.join(config.dataDir, 'server.key');
      io.out(
        `backup written: ${summary.file} (${summary.pages} pages, ${(summary.bytes / 1_048_576).toFixed(1)} MB; integrity ok; ${summary.users} users, ${summary.devices} devices)\n` +
          `It holds password hashes and encrypted device secrets: store it like the live database. The server key is NOT in it; ` +
          `the device secrets can only be read with the key from ${key}: back the key up too, in a separate place.\n` +
          `To restore: stop slsd, put the copy in place of ${summary.source} (and remove ${path.basename(summary.source)}-wal and -shm beside it), start slsd with the same key.\n`,
      );
    });
}
