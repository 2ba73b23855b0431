// slsctl against the same database as a running slsd (SPEC §0, L6, T1, P5, N2).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoginStep } from '../../core/api.ts';
import { errorCode, login, postJson } from '../testing/http.ts';
import { startTestServer } from '../testing/test-server.ts';
import type { TestServer } from '../testing/test-server.ts';
import { appendAudit } from '../services/audit.ts';
import { runSlsctl } from './slsctl.ts';
import { slsctlAgainst } from '../testing/slsctl-runner.ts';
import type { SlsctlRun } from '../testing/slsctl-runner.ts';

const PASSWORD = 'Correct-Horse-1';
const repoRoot = path.resolve(import.meta.dirname, '../..');
let t: TestServer;

beforeEach(async () => {
  t = await startTestServer({ clock: null });
});
afterEach(async () => {
  await t.close();
});

function slsctl(args: string[], stdin = ''): Promise<SlsctlRun> {
  return slsctlAgainst(t, args, stdin);
}

async function createUser(username: string): Promise<void> {
  const entity = await slsctl(['entity', 'create', '--name', `Entity of ${username}`, '--dob', '1970-01-01']);
  expect(entity.code, entity.err).toBe(0);
  const account = await slsctl(['account', 'create', '--number', `U-${username}`, '--entity', entity.out.trim(), '--balance', '600000']);
  expect(account.code, account.err).toBe(0);
  const user = await slsctl(['user', 'create', '--username', username, '--entity', entity.out.trim(), '--account', `U-${username}`, '--mobile', '+15550109999', '--password-stdin'], `${PASSWORD}\n`);
  expect(user.code, user.err).toBe(0);
}

describe('slsctl', () => {
  it('creates a user, provisions a legacy token and a DSC+, and the token files answer real challenges', async () => {
    await createUser('cli.user');
    const tokenFile = path.join(t.dataDir, 'gold.token.json');
    const gold = await slsctl(['device', 'add', '--user', 'cli.user', '--kind', 'gold', '--token-file', tokenFile]);
    expect(gold.code, gold.err).toBe(0);
    expect(fs.statSync(tokenFile).mode & 0o777).toBe(0o600);
    const dscplus = await slsctl(['device', 'add', '--user', 'cli.user', '--kind', 'dscplus', '--serial', '1234567890', '--pin', '4821']);
    expect(dscplus.out).toContain('PIN (shown once): 4821');
    const stateFile = path.join(t.dataDir, 'dscplus', '1234567890.json');
    expect(fs.existsSync(stateFile)).toBe(true);

    const sel = await login(t.app, 'cli.user', PASSWORD);
    if (sel.body.status !== 'select_device') throw new Error(JSON.stringify(sel.body));
    const goldId = sel.body.devices.find((d) => d.kind === 'gold')!.id;
    const dscId = sel.body.devices.find((d) => d.kind === 'dscplus')!.id;
    expect(sel.body.devices.find((d) => d.kind === 'dscplus')!.serial).toBe('1234567890');

    const step = (await postJson(t.app, `/v1/login/${sel.body.transactionId}/device`, { deviceId: goldId })).body as LoginStep & { status: 'challenge' };
    if (step.challenge.type !== 'response_code') throw new Error('expected a challenge code');
    const answer = await slsctl(['token', 'respond', '--token-file', tokenFile, step.challenge.challenge]);
    expect((await postJson(t.app, `/v1/login/${step.transactionId}/response`, { response: answer.out.trim() })).body.status).toBe('signed_in');

    const sel2 = await login(t.app, 'cli.user', PASSWORD);
    if (sel2.body.status !== 'select_device') throw new Error('expected select_device');
    const step2 = (await postJson(t.app, `/v1/login/${sel2.body.transactionId}/device`, { deviceId: dscId })).body as LoginStep & { status: 'challenge' };
    if (step2.challenge.type !== 'response_code') throw new Error('expected a challenge code');
    expect(step2.challenge.pinOnDevice).toBe(true);
    const wrongPin = await slsctl(['token', 'respond', '--token-file', stateFile, '--pin', '0000', step2.challenge.challenge]);
    expect(wrongPin.code).toBe(1);
    const answer2 = await slsctl(['token', 'respond', '--token-file', stateFile, '--pin', '4821', step2.challenge.challenge]);
    expect((await postJson(t.app, `/v1/login/${step2.transactionId}/response`, { response: answer2.out.trim() })).body.status).toBe('signed_in');
  });

  it('writes a Security Code Card PDF', async () => {
    await createUser('cli.card');
    const pdf = path.join(t.dataDir, 'card.pdf');
    const r = await slsctl(['device', 'add', '--user', 'cli.card', '--kind', 'scc', '--pdf-file', pdf]);
    expect(r.code, r.err).toBe(0);
    expect(fs.readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('unlocks a locked user (SPEC L6), through its command function', async () => {
    await createUser('cli.locked');
    await slsctl(['device', 'add', '--user', 'cli.locked', '--kind', 'dsc']);
    for (let i = 0; i < 10; i++) await login(t.app, 'cli.locked', 'bad password');
    expect(errorCode(await login(t.app, 'cli.locked', PASSWORD))).toBe('SLS_ERR_USER_LOCKED');
    const shown = await slsctl(['user', 'show', 'cli.locked']);
    expect(shown.out).toMatch(/locked: until /);
    const r = await slsctl(['user', 'unlock', 'cli.locked']);
    expect(r.out).toContain('cli.locked unlocked');
    expect((await login(t.app, 'cli.locked', PASSWORD)).status).toBe(200);
    const audit = await slsctl(['audit', '--user', 'cli.locked']);
    expect(audit.out).toContain('user.locked');
    expect(audit.out).toContain('user.unlocked');
    expect(audit.out).toContain('"by":"agent.test"');
  });

  it('signs a user out everywhere: sessions and restart tokens end, other users keep theirs, audited as the operator\'s (L8, N2)', async () => {
    await createUser('cli.gone');
    await createUser('cli.stays');
    const session = async (username: string) => {
      const id = (await t.services.db.selectFrom('users').select('id').where('username_normalized', '=', username).executeTakeFirstOrThrow()).id;
      return t.services.sessions.open(t.services.db, { userId: id, loginTransactionId: null, deviceId: null, clientKind: 'trading_platform', access: 'full' });
    };
    const gone = await session('cli.gone');
    const stays = await session('cli.stays');
    const r = await slsctl(['user', 'sign-out', 'CLI.Gone']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('CLI.Gone signed out everywhere: 1 session(s) ended, 0 restart token(s) revoked');
    const get = (token: string) => t.app.inject({ method: 'GET', url: '/v1/session', headers: { authorization: `Bearer ${token}` } });
    expect((await get(gone.token)).json()).toMatchObject({ error: { code: 'SLS_ERR_SESSION_EXPIRED' } });
    expect((await get(stays.token)).statusCode).toBe(200);
    const audit = await slsctl(['audit', '--user', 'cli.gone']);
    expect(audit.out).toContain('user.signed_out');
    expect(audit.out).toContain('"by":"agent.test"');
    expect((await slsctl(['user', 'sign-out', 'nobody.at.all'])).code).not.toBe(0);
  });

  it("audit --user shows the user's events recorded by id only (a timer's, an operator's), and no one else's (SPEC N2)", async () => {
    await createUser('cli.audited');
    await createUser('cli.other');
    const id = async (u: string) => (await t.services.db.selectFrom('users').select('id').where('username_normalized', '=', u).executeTakeFirstOrThrow()).id;
    await appendAudit(t.services.db, Date.now(), { event: 'device.self_activated', userId: await id('cli.audited'), details: { orderId: 'ord_test' } });
    await appendAudit(t.services.db, Date.now(), { event: 'device.sent', userId: await id('cli.other'), details: { orderId: 'ord_other' } });
    const audit = await slsctl(['audit', '--user', 'CLI.Audited']);
    expect(audit.code, audit.err).toBe(0);
    expect(audit.out).toContain('user.created');
    expect(audit.out).toContain('device.self_activated');
    expect(audit.out).not.toContain('ord_other');
    expect(audit.out).not.toContain('cli.other');
    expect((await slsctl(['audit', '--user', 'nobody.at.all'])).out).toBe('(no entries)\n');
  });

  it('unlocks a locked user as a real process (bin/slsctl.mjs)', async () => {
    await createUser('cli.proc');
    await slsctl(['device', 'add', '--user', 'cli.proc', '--kind', 'dsc']);
    for (let i = 0; i < 10; i++) await login(t.app, 'cli.proc', 'bad password');
    expect(errorCode(await login(t.app, 'cli.proc', PASSWORD))).toBe('SLS_ERR_USER_LOCKED');
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(repoRoot, 'bin/slsctl.mjs'), '--data-dir', t.dataDir, '--database-url', t.config.databaseUrl, 'user', 'unlock', 'cli.proc'], {
      env: { ...process.env, SLS_SERVER_KEY: t.config.serverKey },
    });
    expect(stdout).toContain('cli.proc unlocked');
    expect((await login(t.app, 'cli.proc', PASSWORD)).status).toBe(200);
  });

  it('issues a temporary passcode, never two in a row (SPEC T1)', async () => {
    await createUser('cli.temp');
    const r = await slsctl(['temp-passcode', 'issue', '--user', 'cli.temp']);
    expect(r.code, r.err).toBe(0);
    const passcode = /: (\d{8})\n/.exec(r.out)![1]!;
    const step = await login(t.app, 'cli.temp', PASSWORD);
    if (step.body.status !== 'challenge') throw new Error('expected challenge');
    expect((await postJson(t.app, `/v1/login/${step.body.transactionId}/response`, { response: passcode })).body.status).toBe('signed_in');
    const again = await slsctl(['temp-passcode', 'issue', '--user', 'cli.temp']);
    expect(again.code).toBe(1);
    expect(again.err).toContain('SLS_ERR_TEMP_PASSCODE_IN_A_ROW');
  });

  it('lists the SMS outbox (SPEC P5)', async () => {
    await createUser('cli.sms');
    await slsctl(['device', 'add', '--user', 'cli.sms', '--kind', 'sms']);
    await login(t.app, 'cli.sms', PASSWORD);
    const r = await slsctl(['sms', '--to', '+15550109999']);
    expect(r.out).toMatch(/\+15550109999 {2}\[login_code\] {2}Your SLS login code is \d{6}/);
  });

  it('follows the audit log until stopped', async () => {
    await createUser('cli.follow');
    const controller = new AbortController();
    let out = '';
    const running = runSlsctl(['--data-dir', t.dataDir, '--database-url', t.config.databaseUrl, 'audit', '--follow', '--limit', '1'], {
      out: (s) => void (out += s),
      err: () => {},
      readStdin: async () => '',
      promptHidden: async () => null,
      stopSignal: controller.signal,
      env: { SLS_SERVER_KEY: t.config.serverKey },
    });
    await new Promise((r) => setTimeout(r, 200));
    await login(t.app, 'cli.follow', 'bad password');
    for (let i = 0; i < 40 && !out.includes('login.password_failed'); i++) await new Promise((r) => setTimeout(r, 100));
    controller.abort();
    expect(await running).toBe(0);
    expect(out).toContain('login.password_failed');
  });

  it('answers bad input with a clear error and a non-zero exit', async () => {
    expect((await slsctl(['device', 'add', '--user', 'nobody', '--kind', 'gold'])).err).toContain('SLS_ERR_NOT_FOUND');
    expect((await slsctl(['device', 'add', '--user', 'nobody', '--kind', 'fax'])).code).toBe(2);
    expect((await slsctl(['user', 'set-password', 'nobody'])).err).toContain('--password-stdin');
    const help = await slsctl(['user', 'create', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('--password-stdin');
  });

  it('refuses a data folder with no database in it, and makes nothing there (a mistyped --data-dir)', async () => {
    const typo = path.join(t.dataDir, 'no-such-folder');
    let err = '';
    const code = await runSlsctl(['--data-dir', typo, 'user', 'show', 'anyone'], {
      out: () => {},
      err: (s) => void (err += s),
      readStdin: async () => '',
      promptHidden: async () => null,
      env: {},
    });
    expect(code).toBe(2);
    expect(err).toBe(`slsctl: no SLS database at ${path.join(typo, 'sls.db')}: pass the data folder of slsd (--data-dir or SLS_DATA_DIR; here ${typo}) or its --database-url; slsd creates it when it first starts\n`);
    expect(fs.existsSync(typo)).toBe(false); // no folder, no new server key, no empty database
  });

  it('--version prints the SLS version and exits 0', async () => {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const v = await slsctl(['--version']);
    expect(v.code).toBe(0);
    expect(v.out.trim()).toBe(pkg.version);
  });
});
