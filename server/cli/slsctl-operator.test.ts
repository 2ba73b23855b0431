// Client services' audit of slsctl (SPEC L6, T1, K8, D5, D8, N2): what an operator sees and can do
// for a trader who cannot log in, and how slsctl answers, exits and records who did what.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { errorCode, login } from '../testing/http.ts';
import { startTestServer } from '../testing/test-server.ts';
import type { TestServer } from '../testing/test-server.ts';
import { slsctlAgainst } from '../testing/slsctl-runner.ts';
import type { SlsctlRun } from '../testing/slsctl-runner.ts';
import { startOn } from '../conformance/backends.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import { runSlsctl } from './slsctl.ts';
import { operatorName } from './slsctl-common.ts';

const PASSWORD = 'Correct-Horse-1';
const repoRoot = path.resolve(import.meta.dirname, '../..');
let t: TestServer;

afterEach(async () => {
  await t.close();
});

function slsctl(args: string[], stdin = ''): Promise<SlsctlRun> {
  return slsctlAgainst(t, args, stdin);
}

async function createUser(username: string, kinds: string[] = ['dsc']): Promise<void> {
  const entity = await slsctl(['entity', 'create', '--name', `Entity of ${username}`]);
  expect(entity.code, entity.err).toBe(0);
  const user = await slsctl(['user', 'create', '--username', username, '--entity', entity.out.trim(), '--password-stdin'], `${PASSWORD}\n`);
  expect(user.code, user.err).toBe(0);
  for (const kind of kinds) expect((await slsctl(['device', 'add', '--user', username, '--kind', kind])).code).toBe(0);
}

/** A login from `address` (the socket peer); resolves to the error code, or the step's status. */
async function loginFrom(address: string, username: string, password: string): Promise<string> {
  const r = await t.app.inject({ method: 'POST', url: '/v1/login', remoteAddress: address, payload: { username, password, client: { kind: 'client_portal', version: 1 } } });
  const body = r.json<{ status?: string; error?: { code: string } }>();
  return body.error?.code ?? body.status!;
}

async function auditCount(event: string): Promise<number> {
  return (await t.services.db.selectFrom('audit_log').select('id').where('event', '=', event).execute()).length;
}

const OFFICE = '203.0.113.9';

describeEachBackend('slsctl address (SPEC L6)', await probePostgres(), (backend) => {
  it('client services see a throttled source address, are pointed to it from user show/unlock, and unblock it (audited with by)', async () => {
    t = await startOn(backend, { clock: null });
    await createUser('addr.trader');
    // The trader fails twice from the office; colleagues behind the same address fail the rest of
    // the default limit (100 in 15 min).
    for (let i = 0; i < 2; i++) expect(await loginFrom(OFFICE, 'addr.trader', 'bad password')).toBe('SLS_ERR_INVALID_CREDENTIALS');
    const rest = Array.from({ length: 98 }, (_, i) => `colleague${i}`);
    for (let i = 0; i < rest.length; i += 20) await Promise.all(rest.slice(i, i + 20).map((u) => loginFrom(OFFICE, u, 'bad password')));
    expect(await loginFrom(OFFICE, 'addr.trader', PASSWORD)).toBe('SLS_ERR_RATE_LIMITED');
    await loginFrom('198.51.100.7', 'someone.else', 'bad password'); // counted, not blocked

    const list = await slsctl(['address', 'list']);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(new RegExp(`^${OFFICE} {2}100 failure\\(s\\) {2}blocked until \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z {2}last failure .*Z\\n198\\.51\\.100\\.7 {2}1 failure\\(s\\) {2}not blocked {2}last failure .*Z\\n$`));
    expect((await slsctl(['address', 'list', '--blocked'])).out).not.toContain('198.51.100.7');

    const shown = await slsctl(['user', 'show', 'addr.trader']);
    expect(shown.out).toContain('  locked: no\n');
    expect(shown.out).toMatch(new RegExp(`  address blocked: ${OFFICE} until .*Z \\(100 failed attempts from it; \`slsctl address unblock ${OFFICE}\`\\)\\n`));
    const unlock = await slsctl(['user', 'unlock', 'addr.trader']);
    expect(unlock.code, unlock.err).toBe(0);
    expect(unlock.out).toContain('addr.trader was not locked; its failed attempts were cleared\n');
    expect(unlock.out).toMatch(new RegExp(`addr.trader logged in lately from ${OFFICE}, which is blocked too until .*Z \\(100 failed attempts from it\\): every login from it is refused until then; run \`slsctl address unblock ${OFFICE}\``));
    expect(await loginFrom(OFFICE, 'addr.trader', PASSWORD)).toBe('SLS_ERR_RATE_LIMITED');

    const unblocked = await slsctl(['address', 'unblock', OFFICE]);
    expect(unblocked.code, unblocked.err).toBe(0);
    expect(unblocked.out).toMatch(new RegExp(`^${OFFICE} unblocked: it was blocked until .*Z after 100 failure\\(s\\)\\n$`));
    expect(await loginFrom(OFFICE, 'addr.trader', PASSWORD)).toBe('challenge');
    const audited = await t.services.db.selectFrom('audit_log').selectAll().where('event', '=', 'address.unblocked').execute();
    expect(audited).toHaveLength(1);
    expect(audited[0]!.source_address).toBe(OFFICE);
    expect(JSON.parse(audited[0]!.details)).toMatchObject({ by: 'agent.test', failures: 100, blockedUntil: expect.stringMatching(/Z$/) });

    // Nothing counted: a refusal (exit 1), nothing audited.
    const again = await slsctl(['address', 'unblock', OFFICE]);
    expect(again.code).toBe(1);
    expect(again.err).toContain(`SLS_ERR_NOT_FOUND: no failures counted for address ${OFFICE}`);
    expect(await auditCount('address.unblocked')).toBe(1);
    expect((await slsctl(['user', 'show', 'addr.trader'])).out).toContain('  address blocks: none of its recent addresses\n');
    expect((await slsctl(['address', 'list', '--blocked'])).out).toBe('(no address blocked)\n');
    expect((await slsctl(['address', 'unblock', '198.51.100.7'])).out).toBe('198.51.100.7: 1 failure(s) cleared (it was not blocked)\n');
    expect((await slsctl(['address', 'list'])).out).toBe('(no address has failures counted)\n');
  });
});

describe('slsctl for client services', () => {
  it('user unlock of an unknown user: SLS_ERR_NOT_FOUND, exit 1, nothing audited (like user show)', async () => {
    t = await startTestServer({ clock: null });
    const r = await slsctl(['user', 'unlock', 'nosuch.user']);
    expect(r).toEqual({ code: 1, out: '', err: 'slsctl: SLS_ERR_NOT_FOUND: no user nosuch.user\n' });
    expect(await auditCount('user.unlocked')).toBe(0);
  });

  it('L6, N2: user unlock of a user who is not locked says so and audits nothing; failures below the lock are cleared and audited as no lock', async () => {
    t = await startTestServer({ clock: null });
    await createUser('free.user');
    const r = await slsctl(['user', 'unlock', 'free.user']);
    expect(r).toEqual({ code: 0, out: 'free.user is not locked (no failed attempts counted): nothing to unlock\n', err: '' });
    expect(await auditCount('user.unlocked')).toBe(0);

    // Two failures, no lock: they are cleared (the next 10 count from zero), and that is recorded.
    for (let i = 0; i < 2; i++) await login(t.app, 'free.user', 'bad password');
    const some = await slsctl(['user', 'unlock', 'free.user']);
    expect(some).toEqual({ code: 0, out: 'free.user was not locked; its failed attempts were cleared\n', err: '' });
    const rows = await t.services.db.selectFrom('audit_log').select('details').where('event', '=', 'user.unlocked').execute();
    expect(rows.map((x) => JSON.parse(x.details))).toEqual([{ by: 'agent.test', wasLocked: false }]);
    expect((await slsctl(['user', 'unlock', 'free.user'])).out).toBe('free.user is not locked (no failed attempts counted): nothing to unlock\n');
    expect(await auditCount('user.unlocked')).toBe(1);

    // Locked: unlocked, audited with until when it was locked.
    for (let i = 0; i < 10; i++) await login(t.app, 'free.user', 'bad password');
    expect(errorCode(await login(t.app, 'free.user', PASSWORD))).toBe('SLS_ERR_USER_LOCKED');
    expect((await slsctl(['user', 'unlock', 'free.user'])).out).toBe('free.user unlocked\n');
    const all = await t.services.db.selectFrom('audit_log').select('details').where('event', '=', 'user.unlocked').execute();
    expect(all.map((x) => JSON.parse(x.details))).toEqual([
      { by: 'agent.test', wasLocked: false },
      { by: 'agent.test', wasLocked: true, lockedUntil: expect.stringMatching(/Z$/) },
    ]);
  });

  it('N2: the audit names SLSCTL_OPERATOR, else the user who ran sudo, else the OS user, never $USER', async () => {
    t = await startTestServer({ clock: null });
    await createUser('op.user');
    const me = os.userInfo().username;
    expect(operatorName({ SLSCTL_OPERATOR: 'carol', SUDO_USER: 'alice', USER: 'sls' })).toBe('carol');
    expect(operatorName({ SUDO_USER: 'alice', USER: 'sls' })).toBe('alice');
    expect(operatorName({ USER: 'mallory' })).toBe(me);
    // As `sudo -u sls slsctl …` leaves it: USER=sls, SUDO_USER the operator.
    const asAliceViaSudo = (args: string[]) =>
      runSlsctl(['--data-dir', t.dataDir, '--database-url', t.config.databaseUrl, ...args], {
        out: () => {},
        err: () => {},
        readStdin: async () => '',
        promptHidden: async () => null,
        env: { SLS_SERVER_KEY: t.config.serverKey, USER: 'sls', SUDO_USER: 'alice' },
      });
    // A locked user, so the unlock changes something and is audited (SPEC L6, N2).
    for (let i = 0; i < 10; i++) await login(t.app, 'op.user', 'bad password');
    expect(await asAliceViaSudo(['user', 'unlock', 'op.user'])).toBe(0);
    const row = await t.services.db.selectFrom('audit_log').select('details').where('event', '=', 'user.unlocked').executeTakeFirstOrThrow();
    expect(JSON.parse(row.details)).toMatchObject({ by: 'alice' });
    // A device's status set by an operator names them too (D5, D8).
    const device = await t.services.db
      .selectFrom('devices')
      .innerJoin('users', 'users.id', 'devices.user_id')
      .select(['devices.id', 'devices.user_id'])
      .where('users.username_normalized', '=', 'op.user')
      .executeTakeFirstOrThrow();
    expect(await asAliceViaSudo(['device', 'set-status', device.id, 'lost'])).toBe(0);
    const changed = await t.services.db.selectFrom('audit_log').select('details').where('user_id', '=', device.user_id).where('event', '=', 'device.status_changed').orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(JSON.parse(changed.details)).toMatchObject({ from: 'active', to: 'lost', by: 'alice' });
    const help = await slsctl(['--help']);
    expect(help.out).toContain('$SLSCTL_OPERATOR if set, else $SUDO_USER');
  });

  it('D4: slsctl makes no data folder and no server key: without slsd\'s key it refuses, saying where it looked', async () => {
    t = await startTestServer({ clock: null });
    const dir = path.join(os.tmpdir(), `slsctl-no-key-${process.pid}-${Date.now()}`);
    const err: string[] = [];
    const code = await runSlsctl(['--data-dir', dir, '--database-url', 'postgres://nobody@127.0.0.1:1/none', 'user', 'show', 'anyone'], {
      out: () => {},
      err: (text) => err.push(text),
      readStdin: async () => '',
      promptHidden: async () => null,
      env: {},
    });
    expect(code).not.toBe(0);
    expect(err.join('')).toContain(`no server key: neither SLS_SERVER_KEY / SLS_SERVER_KEY_FILE nor ${path.join(dir, 'server.key')}`);
    expect(err.join('')).toContain('slsctl never makes one');
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('T1, L6: a temporary passcode or a new password for a locked user says the login stays refused, and how to lift it', async () => {
    t = await startTestServer({ clock: null });
    await createUser('locked.user');
    for (let i = 0; i < 10; i++) await login(t.app, 'locked.user', 'bad password');
    expect(errorCode(await login(t.app, 'locked.user', PASSWORD))).toBe('SLS_ERR_USER_LOCKED');
    const warning = /^WARNING: locked\.user is locked until \d{4}-[\d-]+T[\d:.]+Z \(10 failed attempts\): the login is refused until then; run `slsctl user unlock locked\.user`\n$/;
    const temp = await slsctl(['temp-passcode', 'issue', '--user', 'locked.user']);
    expect(temp.code, temp.err).toBe(0);
    expect(temp.out).toMatch(/^temporary passcode for locked\.user: \d{8}\n/);
    expect(temp.err).toMatch(warning);
    const set = await slsctl(['user', 'set-password', 'locked.user', '--password-stdin'], 'Another-Horse-2\n');
    expect(set.code, set.err).toBe(0);
    expect(set.err).toMatch(warning);
    expect((await slsctl(['user', 'unlock', 'locked.user'])).code).toBe(0);
    const after = await slsctl(['user', 'set-password', 'locked.user', '--password-stdin'], `${PASSWORD}\n`);
    expect(after.err).toBe('');
    // N2: each new password is on record with who set it.
    const set_ = await t.services.db.selectFrom('audit_log').select('details').where('event', '=', 'user.password_set').execute();
    expect(set_.map((a) => (JSON.parse(a.details) as { by?: string }).by)).toEqual(['agent.test', 'agent.test']);
  });

  it('D5, D8: a lost device becomes active only with --force, says what changed, and a status it already has writes nothing', async () => {
    t = await startTestServer({ clock: null });
    await createUser('dev.user', []);
    const added = await slsctl(['device', 'add', '--user', 'dev.user', '--kind', 'gold', '--label', 'Gold at home']);
    const id = added.out.split(' ')[0]!;
    const lost = await slsctl(['device', 'set-status', id, 'lost']);
    // D5, L5: and how many logins and confirmations waiting on it ended with it (none here).
    expect(lost.out).toBe(`${id} (gold "Gold at home" of dev.user): active → lost; 0 login(s) and 0 confirmation(s) waiting on it ended\n`);
    const changes = await auditCount('device.status_changed');
    const same = await slsctl(['device', 'set-status', id, 'lost']);
    expect(same).toEqual({ code: 0, out: `${id} (gold "Gold at home" of dev.user) is already lost: nothing changed\n`, err: '' });
    expect(await auditCount('device.status_changed')).toBe(changes);
    for (const args of [['device', 'set-status', id, 'active'], ['device', 'activate', id]]) {
      const refused = await slsctl(args);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain(`SLS_ERR_CONFLICT: ${id} (gold "Gold at home" of dev.user) is lost: made active it authenticates again, for whoever holds it (SPEC D5, D8). If dev.user has it back and you mean it, run again with --force`);
    }
    expect(await auditCount('device.status_changed')).toBe(changes);
    expect((await slsctl(['device', 'list', 'dev.user'])).out).toContain(' lost ');
    const forced = await slsctl(['device', 'set-status', id, 'active', '--force']);
    expect(forced.out).toBe(`${id} (gold "Gold at home" of dev.user): lost → active\n`);
    expect(await auditCount('device.status_changed')).toBe(changes + 1);
  });

  it('K8: an IB Key never activated in the app is named as such, nothing sent or changed', async () => {
    t = await startTestServer({ clock: null });
    await createUser('ib.user', ['ibkey']);
    expect((await slsctl(['user', 'show', 'ib.user'])).out).toMatch(/ibkey +active/);
    const r = await slsctl(['ibkey', 'send-temp-password', '--user', 'ib.user']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^slsctl: SLS_ERR_CONFLICT: ib\.user's IB Key \(dev_\S+\) is active but was never activated in the IB Key app: there is no app registration/);
    expect(await auditCount('ibkey.temporary_password_sent')).toBe(0);
    expect(await loginFrom('127.0.0.1', 'ib.user', PASSWORD)).not.toBe('SLS_ERR_INVALID_CREDENTIALS');
  });

  it('says so when a list is empty, and when audit --user names no user', async () => {
    t = await startTestServer({ clock: null });
    expect(await slsctl(['audit', '--user', 'nosuch'])).toEqual({ code: 0, out: '(no entries)\n', err: 'slsctl: no user nosuch; showing the events recorded under that name\n' });
    // A name nobody has still shows what was typed with it (failed logins).
    await login(t.app, 'nosuch', 'bad password');
    expect((await slsctl(['audit', '--user', 'nosuch'])).out).toContain('login.password_failed');
    expect((await slsctl(['sharing', 'list'])).out).toBe('(no sharing requests)\n');
    await createUser('empty.user', []);
    expect((await slsctl(['device', 'list', 'empty.user'])).out).toBe('(no devices)\n');
    expect((await slsctl(['withdrawals', 'empty.user'])).out).toBe('(no withdrawals)\n');
  });

  it('names the user positionally or with --user, and shows both forms when it is missing', async () => {
    t = await startTestServer({ clock: null });
    await createUser('pos.user');
    const positional = await slsctl(['temp-passcode', 'issue', 'pos.user']);
    expect(positional.code, positional.err).toBe(0);
    expect((await slsctl(['device', 'add', 'pos.user', '--kind', 'gold'])).code).toBe(0);
    expect((await slsctl(['device', 'list', '--user', 'pos.user'])).out).toContain('temp_passcode');
    const missing = await slsctl(['temp-passcode', 'issue']);
    expect(missing).toEqual({ code: 2, out: '', err: 'slsctl: name the user: `slsctl temp-passcode issue <username>` or `slsctl temp-passcode issue --user <username>`\n' });
    expect((await slsctl(['restart', 'revoke', 'pos.user', '--user', 'other.user'])).code).toBe(2);
  });

  it('describes every command, argument and option in its --help', async () => {
    t = await startTestServer({ clock: null });
    const undescribed: string[] = [];
    const visit = async (path: string[]): Promise<void> => {
      const help = await slsctl([...path, '--help']);
      expect(help.code, help.err).toBe(0);
      let section = '';
      for (const line of help.out.split('\n')) {
        if (/^\S.*:$/.test(line)) section = line;
        // An entry: two spaces, the term; a description follows after two or more spaces.
        const entry = /^ {2}(\S(?:\S| (?! ))*)( {2,}\S.*)?$/.exec(line);
        if (!entry || !['Arguments:', 'Options:', 'Commands:'].includes(section)) continue;
        if (!entry[2]) undescribed.push(`${path.join(' ')}: ${entry[1]}`);
        if (section === 'Commands:' && !entry[1]!.startsWith('help')) await visit([...path, entry[1]!.split(' ')[0]!]);
      }
    };
    await visit([]);
    expect(undescribed).toEqual([]);
  });

  it('exits 2 for usage errors and 1 for refusals (SLS_ERR_…)', async () => {
    t = await startTestServer({ clock: null });
    await createUser('exit.user');
    const usage = [['no-such-command'], ['user', 'show'], ['device', 'add', 'exit.user', '--kind', 'fax'], ['sms', '--limit', 'x'], ['user', 'set-password', 'exit.user']];
    for (const args of usage) expect((await slsctl(args)).code, args.join(' ')).toBe(2);
    expect((await slsctl(['temp-passcode', 'issue', '--user', 'exit.user'])).code).toBe(0);
    const refusals = [['user', 'show', 'nosuch'], ['user', 'unlock', 'nosuch'], ['temp-passcode', 'issue', '--user', 'exit.user'], ['sharing', 'approve', 'nosuch'], ['device', 'set-status', 'dev_nosuch', 'lost']];
    for (const args of refusals) {
      const r = await slsctl(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err).toMatch(/^slsctl: SLS_ERR_[A-Z_]+: /);
    }
  });
});

describe('slsctl as a process', () => {
  it('exits quietly when its output is piped into a reader that stops early (head)', async () => {
    t = await startTestServer({ clock: null });
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/slsctl.mjs'), '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before slsctl writes
    let err = '';
    child.stderr.on('data', (d: Buffer) => void (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(err).not.toContain('EPIPE');
    expect(code).toBe(0);
  });
});
