// slsd's start as operators meet it: an address it cannot take, a data folder it cannot make, a
// database it cannot reach end the start with one plain line and exit code 1, in one process and with
// --workers (no stack, no process left running without a listener, no worker restarted in a loop,
// no database password printed).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFlagsOf } from '../bin/node-flags.mjs';
import { defaultConfig } from './config.ts';
import { shownDatabaseUrl } from './db/connect.ts';
import { start } from './main.ts';
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

const SLSD = fileURLToPath(new URL('../bin/slsd.cjs', import.meta.url));

/**
 * `node bin/slsd.cjs …args` in the folder `cwd`, as an operator types it, until it exits or `timeoutMs`
 * passes (then it is killed: 'started or hung'). Its exit code and everything it wrote.
 */
function runSlsd(args: string[], opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<{ code: number | string; out: string }> {
  const child = spawn(process.execPath, [...nodeFlagsOf(SLSD), SLSD, '--host', '127.0.0.1', ...args], {
    cwd: opts.cwd,
    env: { ...process.env, SLS_SERVER_KEY: randomBytes(32).toString('base64'), SLS_LOG_LEVEL: 'silent', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => void (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => void (out += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? `${signal}: started or hung`, out });
    }),
  );
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
    expect(shownDatabaseUrl('postgress://u:pw@db/sls')).toBe('postgress://u:***@db/sls');
    expect(shownDatabaseUrl('mysql:u:pw@db/sls')).toBe('mysql:…');
  });

  it('a database URL of a scheme SLS does not know: one line, its password masked, nothing made', async () => {
    // Before: read as a file path, it started on a new SQLite database in ./postgress:/sls:S3cretPw@db.example:5432/.
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'slsd-url-'));
    const dataDir = path.join(cwd, 'data');
    for (const [args, env] of [
      [['--database-url', 'postgress://sls:S3cretPw@db.example:5432/sls'], {}],
      [[], { SLS_DATABASE_URL: 'mysql://sls:S3cretPw@db.example/sls' }],
    ] as const) {
      const { code, out } = await runSlsd(['--data-dir', dataDir, '--port', '0', ...args], { cwd, env });
      expect(code).toBe(1);
      expect(out).toMatch(/^slsd: the database URL (postgress|mysql):\/\/sls:\*\*\*@db\.example(:5432)?\/sls has the scheme "(postgress|mysql):", which SLS does not know: .* \(SLS_DATABASE_URL \/ --database-url\)\n$/);
      expect(out).not.toContain('S3cretPw');
      expect(fs.readdirSync(cwd)).toEqual([]);
    }
    fs.rmSync(cwd, { recursive: true, force: true });
  }, 60_000);

  it('SLS_LOG_LEVEL not a level: one line naming the levels, exit 1, where slsd printed pino\'s stack and hung', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'slsd-level-'));
    const { code, out } = await runSlsd(['--data-dir', path.join(cwd, 'data'), '--port', '0'], { cwd, env: { SLS_LOG_LEVEL: 'verbose' } });
    expect(code).toBe(1);
    expect(out).toBe('slsd: SLS_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"\n');
    expect(fs.readdirSync(cwd)).toEqual([]);
    fs.rmSync(cwd, { recursive: true, force: true });
  }, 60_000);
});

describe('a first start that fails before slsd listens leaves nothing of itself behind', () => {
  const noKey = { SLS_SERVER_KEY: '' }; // server.key in the data folder, generated on a first start

  it('a new data folder: gone again, so a next start with SLS_SERVER_KEY is not refused as the wrong key', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'slsd-first-'));
    const dataDir = path.join(root, 'new', 'data');
    const port = await portInUse();
    const { code, out } = await runSlsd(['--data-dir', dataDir, '--port', String(port)], { cwd: root, env: noKey });
    expect(code).toBe(1);
    expect(out).toContain(`slsd: the API listener 127.0.0.1:${port} is in use`);
    // Before: a new server.key and an empty sls.db sealed with it stayed.
    expect(fs.readdirSync(root)).toEqual([]);
    const slsd = await spawnSlsd({ dataDir, env: { SLS_LOG_LEVEL: 'silent' } });
    await slsd.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it('a data folder that was there (--demo, --workers 2): what this start made in it is removed, nothing else', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'slsd-first-'));
    fs.writeFileSync(path.join(dataDir, 'README.operator'), 'mine');
    const port = await portInUse();
    for (const args of [['--demo'], ['--workers', '2']]) {
      const { code } = await runSlsd(['--data-dir', dataDir, '--port', String(port), ...args], { cwd: dataDir, env: noKey });
      expect(code).toBe(1);
      expect(fs.readdirSync(dataDir)).toEqual(['README.operator']);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('an existing key and database are never removed', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'slsd-first-'));
    const first = await spawnSlsd({ dataDir, demo: true, env: { ...noKey, SLS_LOG_LEVEL: 'silent' } });
    await first.stop();
    const key = fs.readFileSync(path.join(dataDir, 'server.key'), 'utf8');
    const before = fs.readdirSync(dataDir).sort();
    const port = await portInUse();
    const { code } = await runSlsd(['--data-dir', dataDir, '--port', String(port)], { cwd: dataDir, env: noKey });
    expect(code).toBe(1);
    expect(fs.readdirSync(dataDir).sort()).toEqual(before);
    expect(fs.readFileSync(path.join(dataDir, 'server.key'), 'utf8')).toBe(key);
    const again = await spawnSlsd({ dataDir, env: { ...noKey, SLS_LOG_LEVEL: 'silent' } });
    await again.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);
});

describe('what slsd makes is its owner\'s alone (SPEC D4)', () => {
  it.runIf(process.platform !== 'win32')('in a data folder open to others: the database, its log and index 0600, folders 0700 (umask 077)', async () => {
    // Before: sls.db, sls.db-wal (live SMS codes, password hashes) and sls.db-shm were 0644, demo folders 0755.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'slsd-modes-'));
    fs.chmodSync(dataDir, 0o755);
    const slsd = await spawnSlsd({ dataDir, demo: true, env: { SLS_LOG_LEVEL: 'silent' } });
    try {
      const modeOf = (name: string) => [name, (fs.statSync(path.join(dataDir, name)).mode & 0o777).toString(8)];
      for (const name of ['sls.db', 'sls.db-wal', 'sls.db-shm']) expect(modeOf(name)).toEqual([name, '600']);
      expect(modeOf('demo')).toEqual(['demo', '700']);
      if (process.platform === 'linux') expect(fs.readFileSync(`/proc/${slsd.child.pid}/status`, 'utf8')).toMatch(/^Umask:\s+0077$/m);
    } finally {
      await slsd.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
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

describe('SLS_TRUST_PROXY', () => {
  it('not true, false or a list of addresses and ranges: one line naming it, exit 1, nothing made, where Fastify threw a TypeError after the database opened', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'slsd-proxy-'));
    const { code, out } = await runSlsd(['--data-dir', path.join(cwd, 'data'), '--port', '0'], { cwd, env: { SLS_TRUST_PROXY: '10.0.0.0/99' } });
    expect(code).toBe(1);
    expect(out).toBe(
      "slsd: SLS_TRUST_PROXY must be true, false or a comma-separated list of the proxies' IP addresses and CIDR ranges " +
        '(e.g. 127.0.0.1,10.0.0.0/8; or loopback, linklocal, uniquelocal), got "10.0.0.0/99": a range whose prefix length is not 1–32\n',
    );
    expect(fs.readdirSync(cwd)).toEqual([]);
    fs.rmSync(cwd, { recursive: true, force: true });
  }, 60_000);
});

describe('a start that fails with something still open (bin/slsd.cjs)', () => {
  /**
   * A Node process that requires bin/slsd.cjs (which then starts nothing), opens a worker thread (as
   * the SQLite checkpointer's) and a listener, and hands bin/slsd.cjs's failure path `error` (an
   * expression): its exit code, or how it was killed after 15 s, and everything it wrote.
   */
  function failWithOpenHandles(error: string): Promise<{ code: number | string; out: string; ms: number }> {
    const script = `
      const { startFailed } = require(${JSON.stringify(SLSD)});
      new (require('node:worker_threads').Worker)('setInterval(() => {}, 1000)', { eval: true });
      require('node:net').createServer().listen(0, '127.0.0.1', () => startFailed(${error}));`;
    const started = Date.now();
    // In a folder of its own: a bin/slsd.cjs that starts when required makes its data folder there.
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'slsd-failed-'));
    const child = spawn(process.execPath, ['-e', script], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => void (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => void (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    return new Promise((resolve) =>
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        fs.rmSync(cwd, { recursive: true, force: true });
        resolve({ code: code ?? `${signal}: hung`, out, ms: Date.now() - started });
      }),
    );
  }

  it('an unexpected error: its stack, then exit 1 at once rather than a process that said why and hung', async () => {
    const { code, out, ms } = await failWithOpenHandles("new TypeError('invalid range on address: 10.0.0.0/99')");
    expect(code, out).toBe(1);
    expect(ms).toBeLessThan(10_000);
    expect(out).toMatch(/^slsd: TypeError: invalid range on address: 10\.0\.0\.0\/99\n\s+at /);
  }, 60_000);

  it("an operator's mistake (StartRefused, ServerKeyMismatch): the one line, then exit 1", async () => {
    for (const name of ['StartRefused', 'ServerKeyMismatch']) {
      const { code, out } = await failWithOpenHandles(`Object.assign(new Error('what to fix'), { name: '${name}' })`);
      expect(code, out).toBe(1);
      expect(out).toBe('slsd: what to fix\n');
    }
  }, 60_000);
});

describe('a first start whose app cannot be built after the database opened', () => {
  it('closes the database before the error goes on, so the start removes the database and key it made', async () => {
    // A config Fastify refuses (loadConfig refuses this one from the environment): the app fails to
    // build after the database, its checkpointer's thread and the new server key were made. Before:
    // buildApp left the database open, the first start's cleanup found it in use and removed nothing,
    // and the next start with SLS_SERVER_KEY was refused as "not the key this database was sealed with".
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'slsd-first-'));
    const dataDir = path.join(root, 'new', 'data');
    const config = defaultConfig({ dataDir, port: 0, logLevel: 'silent', trustProxy: ['10.0.0.0/99'] });
    await expect(start(config, { demo: false })).rejects.toThrow('invalid range on address: 10.0.0.0/99');
    expect(fs.readdirSync(root)).toEqual([]);
    fs.rmSync(root, { recursive: true, force: true });
  }, 60_000);
});
