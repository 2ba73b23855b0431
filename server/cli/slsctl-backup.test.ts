// `slsctl backup`: an online copy of slsd's SQLite database (SPEC N1, D4). The copy is taken while
// logins go on, is owner-only, never replaces a file, and a server started on it with the same key
// signs the user in with the same device (the encrypted secrets came along, the key did not).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoginStep } from '../../core/api.ts';
import { login, postJson } from '../testing/http.ts';
import { startTestServer, TEST_POSTGRES_URL } from '../testing/test-server.ts';
import type { TestServer } from '../testing/test-server.ts';
import { slsctlAgainst } from '../testing/slsctl-runner.ts';
import { startOn } from '../conformance/backends.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';

const PASSWORD = 'Correct-Horse-1';
let t: TestServer;
const others: TestServer[] = [];

beforeEach(async () => {
  t = await startTestServer({ clock: null });
});
afterEach(async () => {
  for (const o of others.splice(0)) await o.close();
  await t.close();
});

const slsctl = slsctlAgainst;

/** A user with a Gold token (its file answers challenges); resolves to the token file. */
async function userWithToken(username: string): Promise<string> {
  const entity = await slsctl(t, ['entity', 'create', '--name', `Entity of ${username}`, '--dob', '1970-01-01']);
  expect(entity.code, entity.err).toBe(0);
  const user = await slsctl(t, ['user', 'create', '--username', username, '--entity', entity.out.trim(), '--password-stdin'], `${PASSWORD}\n`);
  expect(user.code, user.err).toBe(0);
  const tokenFile = path.join(t.dataDir, `${username}.token.json`);
  const gold = await slsctl(t, ['device', 'add', '--user', username, '--kind', 'gold', '--token-file', tokenFile]);
  expect(gold.code, gold.err).toBe(0);
  return tokenFile;
}

/** A full login on `server` answered with the token file; resolves to the final step's status. */
async function signInWithToken(server: TestServer, username: string, tokenFile: string): Promise<string> {
  const first = await login(server.app, username, PASSWORD);
  if (first.body.status !== 'challenge') throw new Error(`expected a challenge: ${JSON.stringify(first.body)}`);
  const step = first.body as LoginStep & { status: 'challenge' };
  const answer = await slsctl(server, ['token', 'respond', '--token-file', tokenFile, (step.challenge as { challenge: string }).challenge]);
  expect(answer.code, answer.err).toBe(0);
  const done = await postJson(server.app, `/v1/login/${step.transactionId}/response`, { response: answer.out.trim() });
  return (done.body.status as string | undefined) ?? `${done.status} ${JSON.stringify(done.body)}`;
}

describe.skipIf(TEST_POSTGRES_URL)('slsctl backup (SQLite)', () => {
  it('copies the database while logins go on; the copy is owner-only, checked, and serves the same user and device with the same key', async () => {
    const tokenFile = await userWithToken('backup.user');
    // Enough rows that the copy takes several steps, with logins running between them.
    for (let i = 0; i < 40; i++) await slsctl(t, ['user', 'create', '--username', `filler.${i}`, '--entity', (await slsctl(t, ['entity', 'create', '--name', `F${i}`, '--dob', '1970-01-01'])).out.trim(), '--password-stdin'], `${PASSWORD}\n`);
    const file = path.join(t.dataDir, 'backups-sls.db');
    const [backup, ...logins] = await Promise.all([
      slsctl(t, ['backup', file]),
      ...Array.from({ length: 5 }, () => signInWithToken(t, 'backup.user', tokenFile)),
    ]);
    expect(backup.code, backup.err).toBe(0);
    expect(logins).toEqual(Array(5).fill('signed_in'));
    expect(backup.out).toMatch(/^backup written: .*backups-sls\.db \(\d+ pages, [\d.]+ MB; integrity ok; 41 users, 1 devices\)/);
    expect(backup.out).toContain('The server key is NOT in it');
    expect(backup.err).toMatch(/copying: \d+ of \d+ pages \(100 %\)/);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);

    // Restored: a server on a new data folder with the copy as its database and the same key.
    const restoredDir = fs.mkdtempSync(path.join(path.dirname(t.dataDir), 'slsd-restored-'));
    fs.copyFileSync(file, path.join(restoredDir, 'sls.db'));
    const restored = await startTestServer({ clock: null, dataDir: restoredDir, config: { databaseUrl: `sqlite:${path.join(restoredDir, 'sls.db')}`, serverKey: t.config.serverKey } });
    others.push(restored);
    expect(await signInWithToken(restored, 'backup.user', tokenFile)).toBe('signed_in');

    // Restored without its key, a server refuses to start rather than fail every device (D4, services/server-key.ts).
    const keyless = fs.mkdtempSync(path.join(path.dirname(t.dataDir), 'slsd-keyless-'));
    fs.copyFileSync(file, path.join(keyless, 'sls.db'));
    await expect(startTestServer({ clock: null, dataDir: keyless, config: { databaseUrl: `sqlite:${path.join(keyless, 'sls.db')}` } })).rejects.toThrow(/not the key this database was sealed with/);

  });

  it('never replaces a file, never writes into a missing folder or over the database itself, and changes nothing when it refuses', async () => {
    const existing = path.join(t.dataDir, 'already-there.db');
    fs.writeFileSync(existing, 'keep me');
    const r = await slsctl(t, ['backup', existing]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('already exists: choose a new file name');
    expect(fs.readFileSync(existing, 'utf8')).toBe('keep me');

    const missing = await slsctl(t, ['backup', path.join(t.dataDir, 'no-such-folder', 'b.db')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('does not exist');

    const live = t.config.databaseUrl.slice('sqlite:'.length);
    const before = fs.statSync(live).size;
    const self = await slsctl(t, ['backup', live]);
    expect(self.code).toBe(2);
    expect(self.err).toContain('would overwrite the database itself');
    expect(fs.statSync(live).size).toBe(before);
    expect(fs.readdirSync(t.dataDir).filter((f) => f.startsWith('backup'))).toEqual([]);
  });
});

// Whenever PostgreSQL is there (required in CI), not only under test:server:pg.
describeEachBackend('slsctl backup', await probePostgres(), (backend) => {
  it('points to pg_dump and writes nothing: a refusal (exit 1), the command line being right', async () => {
    const pg = await startOn(backend, { clock: null });
    others.push(pg);
    const file = path.join(pg.dataDir, 'pg-backup.db');
    const r = await slsctl(pg, ['backup', file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('pg_dump');
    expect(fs.existsSync(file)).toBe(false);
  });
}, 'postgres');
