// slsd's start as operators meet it: an address it cannot take, a data folder it cannot make, a
// database it cannot reach end the start with one plain line and exit code 1, in one process and with
// --workers (no stack, no process left running without a listener, no worker restarted in a loop,
// no database password printed).
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { shownDatabaseUrl } from './db/connect.ts';
import { spawnSlsd } from './testing/slsd-process.ts';

let busy: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (busy ? busy.close(r) : r(undefined)));
  busy = undefined;
});

/** A port some other program holds. */
async function portInUse(): Promise<number> {
  busy = createServer();
  await new Promise<void>((r) => busy!.listen(0, '127.0.0.1', r));
  return (busy.address() as { port: number }).port;
}

const outcome = (p: Promise<{ stop(): Promise<void> }>) =>
  p.then(
    async (s) => (await s.stop(), 'started'),
    (e: unknown) => (e as Error).message,
  );

describe('slsd on a port already in use', () => {
  it('one process: exits 1 with the reason in one line', async () => {
    const port = await portInUse();
    const said = await outcome(spawnSlsd({ port, env: { SLS_LOG_LEVEL: 'silent' } }));
    expect(said).toMatch(/^slsd exited with 1:/);
    expect(said).toContain(`slsd: the API listener 127.0.0.1:${port} is in use`);
    expect(said).toContain('SLS_PORT / --host, --port');
    expect(said).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('--workers 2: the primary says it once and stops; no worker is restarted', async () => {
    const port = await portInUse();
    const said = await outcome(spawnSlsd({ port, workers: 2, env: { SLS_LOG_LEVEL: 'silent' } }));
    expect(said).toMatch(/^slsd exited with 1:/);
    expect(said.split(`the API listener 127.0.0.1:${port} is in use`)).toHaveLength(2);
    expect(said).not.toContain('starting another');
    expect(said).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe('slsd with a data folder or database it cannot open', () => {
  it('a file where the data folder should be: one line naming it and the setting', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'slsd-start-')), 'not-a-folder');
    fs.writeFileSync(file, 'x');
    const said = await outcome(spawnSlsd({ dataDir: file, env: { SLS_LOG_LEVEL: 'silent' } }));
    expect(said).toMatch(/^slsd exited with 1:/);
    expect(said).toContain(`slsd: the data folder ${file} cannot be made: a file of that name is in the way (SLS_DATA_DIR / --data-dir)`);
    expect(said).not.toMatch(/\n\s+at /);
    expect(fs.readFileSync(file, 'utf8')).toBe('x'); // nothing written over it
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }, 60_000);

  it.runIf(process.platform === 'linux')('a data folder under /proc: one line, where slsd used to hang for ever', async () => {
    const said = await outcome(spawnSlsd({ dataDir: '/proc/sls-data', env: { SLS_LOG_LEVEL: 'silent' }, timeoutMs: 20_000 }));
    expect(said).toMatch(/^slsd exited with 1:/);
    expect(said).toContain('slsd: the data folder /proc/sls-data cannot be made: that file system makes no folders there (/proc, /sys) (SLS_DATA_DIR / --data-dir)');
  }, 60_000);

  it('PostgreSQL not listening: one line with the URL, its password masked', async () => {
    const port = await portInUse(); // a port that speaks no PostgreSQL: closed at once below
    await new Promise((r) => busy!.close(r));
    busy = undefined;
    const url = `postgres://sls:Pg-Secret-Password-9@127.0.0.1:${port}/sls`;
    const said = await outcome(spawnSlsd({ env: { SLS_DATABASE_URL: url, SLS_LOG_LEVEL: 'silent' } }));
    expect(said).toMatch(/^slsd exited with 1:/);
    expect(said).toContain(`slsd: cannot open the database postgres://sls:***@127.0.0.1:${port}/sls: connect ECONNREFUSED`);
    expect(said).toContain('(SLS_DATABASE_URL / --database-url)');
    expect(said).not.toContain('Pg-Secret-Password-9');
    expect(said).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('shows a database URL without its password, a SQLite file as its path', () => {
    expect(shownDatabaseUrl('postgres://u:p%40ss@db.example:5432/sls?sslmode=require')).toBe('postgres://u:***@db.example:5432/sls?sslmode=require');
    expect(shownDatabaseUrl('postgresql://u@db/sls')).toBe('postgresql://u@db/sls');
    expect(shownDatabaseUrl('sqlite:/var/lib/sls/sls.db')).toBe('/var/lib/sls/sls.db');
    expect(shownDatabaseUrl('postgres://u:pw@[bad')).not.toContain('pw');
  });
});

describe('slsd with its secrets in files (systemd credentials, Docker and Kubernetes secrets)', () => {
  it('seals with the key SLS_SERVER_KEY_FILE names: the same data with another key file is refused', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slsd-keyfile-'));
    const keyFile = (name: string) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, randomBytes(32).toString('base64') + '\n', { mode: 0o400 });
      return f;
    };
    const dataDir = path.join(dir, 'data');
    const first = keyFile('first.key');
    const slsd = await spawnSlsd({ dataDir, demo: true, env: { SLS_SERVER_KEY_FILE: first, SLS_LOG_LEVEL: 'silent' } });
    expect((await fetch(`${slsd.url}/v1/health`)).status).toBe(200);
    await slsd.stop();
    expect(fs.existsSync(path.join(dataDir, 'server.key'))).toBe(false); // the key stays where the operator keeps it
    const said = await outcome(spawnSlsd({ dataDir, env: { SLS_SERVER_KEY_FILE: keyFile('other.key'), SLS_LOG_LEVEL: 'silent' } }));
    expect(said).toContain('is not the key this database was sealed with');
    const again = await spawnSlsd({ dataDir, env: { SLS_SERVER_KEY_FILE: first, SLS_LOG_LEVEL: 'silent' } });
    await again.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('a wrong setting: one line naming it, exit 1', async () => {
    const said = await outcome(spawnSlsd({ env: { SLS_SMS_CARRIER_HOURS: 'maybe' } }));
    expect(said).toMatch(/^slsd exited with 1:/);
    expect(said).toContain('slsd: SLS_SMS_CARRIER_HOURS must be on or off, got "maybe"');
    expect(said).not.toMatch(/\n\s+at /);
  }, 60_000);
});
