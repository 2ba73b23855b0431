// SQLite's files are the owner's alone (SPEC D4): the database holds password hashes and sealed device
// secrets, its write-ahead log live SMS codes. Before, in a data folder that already existed (0755),
// sls.db, sls.db-wal and sls.db-shm were made with the umask's 0644: readable by every local user.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from './connect.ts';
import type { OpenDatabase } from './connect.ts';

let dir: string;
let opened: OpenDatabase | undefined;
let umask: number;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-owner-only-'));
  fs.chmodSync(dir, 0o755); // a data folder that was there before slsd, open to others
  umask = process.umask(0o022); // the usual umask, which made the files 0644
});
afterEach(async () => {
  await opened?.close();
  opened = undefined;
  process.umask(umask);
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

const modeOf = (f: string) => (fs.statSync(f).mode & 0o777).toString(8);
const filesOf = (file: string) => [file, `${file}-wal`, `${file}-shm`];

let writes = 0;
/** Opens it and writes, so that the log and its index exist. */
async function openAndWrite(file: string): Promise<OpenDatabase> {
  opened = await openDatabase(`sqlite:${file}`);
  await sql`insert into server_meta (name, value) values (${`probe-${++writes}`}, 'x')`.execute(opened.db);
  return opened;
}

describe.runIf(process.platform !== 'win32')('SQLite files: owner only (SPEC D4)', () => {
  it('a new database, its log and the log’s index are 0600 in a folder open to others, whatever the umask', async () => {
    const file = path.join(dir, 'sls.db');
    await openAndWrite(file);
    for (const f of filesOf(file)) expect([f, modeOf(f)]).toEqual([f, '600']);
  });

  it('an existing install’s files readable by others are narrowed to 0600, said once', async () => {
    const file = path.join(dir, 'sls.db');
    await openAndWrite(file);
    await opened!.close();
    opened = undefined;
    fs.writeFileSync(`${file}-wal`, ''); // a log left by an earlier version
    for (const f of [file, `${file}-wal`]) fs.chmodSync(f, 0o644);
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    await openAndWrite(file);
    for (const f of filesOf(file)) expect([f, modeOf(f)]).toEqual([f, '600']);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toBe(`${file}, ${file}-wal could be read by other users of this machine: made owner-only (0600), as SLS makes its database files (SPEC D4)`);
    await opened!.close();
    opened = undefined;
    await openAndWrite(file); // already owner-only: nothing more to say
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('a database the operator made owner-only stays as it is, and its folder’s mode is left alone', async () => {
    const file = path.join(dir, 'sls.db');
    await openAndWrite(file);
    await opened!.close();
    opened = undefined;
    fs.chmodSync(file, 0o400 | 0o200);
    await openAndWrite(file);
    expect(modeOf(file)).toBe('600');
    expect(modeOf(dir)).toBe('755');
  });
});
