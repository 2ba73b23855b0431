// slsd refuses to run with a server key that cannot open the database's secrets (SPEC D4): a second
// process with another SLS_SERVER_KEY, a restored backup without its server.key, a database from
// before the check. On real SQLite files and on PostgreSQL (whenever it is there; required in CI).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { defaultConfig } from '../config.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import type { StorageBackend } from '../db/pg-testing.ts';
import { spawnSlsd } from '../testing/slsd-process.ts';
import { createServices } from './index.ts';
import type { Services } from './index.ts';
import { Provisioning } from './provisioning.ts';
import { ServerKeyMismatch } from './server-key.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const newKey = () => randomBytes(32).toString('base64');

/** A data folder and a database of the backend (SQLite in it, or a fresh PostgreSQL database). */
async function place(backend: StorageBackend): Promise<{ dataDir: string; databaseUrl: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sls-key-'));
  cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const fresh = await backend.freshDatabase(dataDir);
  cleanups.push(fresh.drop);
  return { dataDir, databaseUrl: fresh.url };
}

async function open(at: { dataDir: string; databaseUrl: string }, serverKey?: string): Promise<Services> {
  const s = await createServices(defaultConfig({ ...at, logLevel: 'silent', ...(serverKey ? { serverKey } : {}) }));
  cleanups.push(() => s.close());
  return s;
}

/** A user with a Gold token, so the database holds a sealed device secret. */
async function withDevice(s: Services): Promise<void> {
  const p = new Provisioning(s);
  const entityId = await p.createEntity({ name: 'Key Holder' });
  await p.createUser({ username: 'key.holder', entityId, password: 'Correct-Horse-1' });
  await p.addDevice({ username: 'key.holder', kind: 'gold' });
}

const users = async (s: Services) => (await s.db.selectFrom('users').select('username').execute()).map((u) => u.username);

describeEachBackend('the server key must be the database\'s (SPEC D4)', await probePostgres(), (backend) => {
  it('records the check on a new database, opens with the same key, and refuses another key saying which', async () => {
    const at = await place(backend);
    const key = newKey();
    const first = await open(at, key);
    await withDevice(first);
    await first.close();
    cleanups.pop();

    const again = await open(at, key);
    expect(await users(again)).toEqual(['key.holder']);
    await again.close();
    cleanups.pop();

    const refused = createServices(defaultConfig({ ...at, logLevel: 'silent', serverKey: newKey() }));
    await expect(refused).rejects.toThrow(ServerKeyMismatch);
    await expect(refused).rejects.toThrow(/the server key \(SLS_SERVER_KEY or SLS_SERVER_KEY_FILE\) is not the key this database was sealed with/);
    // Nothing changed: the right key still opens it, with the same user.
    expect(await users(await open(at, key))).toEqual(['key.holder']);
  });

  it('a restored database without its server.key: refuses, and leaves no newly generated key behind', async () => {
    const at = await place(backend);
    const original = await open(at); // key generated in server.key
    await withDevice(original);
    await original.close();
    cleanups.pop();
    const keyFile = path.join(at.dataDir, 'server.key');
    const saved = fs.readFileSync(keyFile, 'utf8');
    fs.rmSync(keyFile);

    await expect(createServices(defaultConfig({ ...at, logLevel: 'silent' }))).rejects.toThrow(/none was found, so a new one was generated in .*server\.key/);
    expect(fs.existsSync(keyFile)).toBe(false);

    fs.writeFileSync(keyFile, saved, { mode: 0o600 });
    expect(await users(await open(at))).toEqual(['key.holder']);
  });

  it('a database from before the check: its device secrets decide, then the check is recorded', async () => {
    const at = await place(backend);
    const key = newKey();
    const s = await open(at, key);
    await withDevice(s);
    await s.db.deleteFrom('server_meta').execute(); // as a database migrated from before 0007 would be
    await s.close();
    cleanups.pop();

    await expect(createServices(defaultConfig({ ...at, logLevel: 'silent', serverKey: newKey() }))).rejects.toThrow(ServerKeyMismatch);
    const reopened = await open(at, key);
    expect(await reopened.db.selectFrom('server_meta').select('name').execute()).toEqual([{ name: 'server_key_check' }]);
  });

  it('slsd itself exits with the reason in one line, no stack', async () => {
    const at = await place(backend);
    const key = newKey();
    const first = await spawnSlsd({ dataDir: at.dataDir, env: { SLS_SERVER_KEY: key, SLS_DATABASE_URL: at.databaseUrl } });
    await first.stop();
    const second = spawnSlsd({ dataDir: at.dataDir, env: { SLS_SERVER_KEY: newKey(), SLS_DATABASE_URL: at.databaseUrl } });
    const failure = await second.then(
      async (p) => {
        await p.stop();
        return 'started';
      },
      (e: Error) => e.message,
    );
    expect(failure).toMatch(/slsd exited with 1/);
    expect(failure).toContain('slsd: the server key (SLS_SERVER_KEY or SLS_SERVER_KEY_FILE) is not the key this database was sealed with');
    expect(failure).not.toMatch(/\n\s+at /);
  });
});
