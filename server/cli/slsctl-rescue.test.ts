// Client services at 8:30 with a trader on the phone: commands run twice, run without a terminal,
// given a wrong id, and what the audit log keeps of them (SPEC A1, D4, D5, L6, T1, P2, N2).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { login } from '../testing/http.ts';
import { startOn } from '../conformance/backends.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import type { TestServer } from '../testing/test-server.ts';
import { slsctlAgainst } from '../testing/slsctl-runner.ts';
import { runSlsctl } from './slsctl.ts';
import type { SlsctlRun } from '../testing/slsctl-runner.ts';

const PASSWORD = 'Correct-Horse-1';
let t: TestServer;

afterEach(async () => {
  await t.close();
});

function slsctl(args: string[], stdin = ''): Promise<SlsctlRun> {
  return slsctlAgainst(t, args, stdin);
}

async function createUser(username: string): Promise<string> {
  const entity = await slsctl(['entity', 'create', '--name', `Entity of ${username}`]);
  expect(entity.code, entity.err).toBe(0);
  const user = await slsctl(['user', 'create', '--username', username, '--entity', entity.out.trim(), '--password-stdin'], `${PASSWORD}\n`);
  expect(user.code, user.err).toBe(0);
  return entity.out.trim();
}

async function auditDetails(event: string): Promise<Record<string, unknown>[]> {
  const rows = await t.services.db.selectFrom('audit_log').select(['id', 'details']).where('event', '=', event).execute();
  return rows.sort((a, b) => a.id - b.id).map((r) => JSON.parse(r.details) as Record<string, unknown>);
}

async function deviceCount(username: string): Promise<number> {
  const rows = await t.services.db.selectFrom('devices').innerJoin('users', 'users.id', 'devices.user_id').select('devices.id').where('users.username_normalized', '=', username).execute();
  return rows.length;
}

describeEachBackend('slsctl rescues that must not leave the user stuck', await probePostgres(), (backend) => {
  beforeEach(async () => {
    t = await startOn(backend, { clock: null });
  });

  it('D4, D5: device add run twice with the same serial is refused (exit 2) and registers nothing; the token file of the first device is left as it was', async () => {
    await createUser('twice.user');
    const first = await slsctl(['device', 'add', 'twice.user', '--kind', 'dsc', '--serial', '7000000001']);
    expect(first.code, first.err).toBe(0);
    const file = path.join(t.dataDir, 'tokens', '7000000001.token.json');
    const token = fs.readFileSync(file, 'utf8');
    const again = await slsctl(['device', 'add', 'twice.user', '--kind', 'dsc', '--serial', '7000000001']);
    expect(again.code).toBe(2);
    expect(again.err).toContain(`slsctl: ${file} already exists`);
    expect(again.err).toContain('nothing was registered');
    expect(fs.readFileSync(file, 'utf8')).toBe(token);
    expect(await deviceCount('twice.user')).toBe(1);
    // Naming another device's file outright is refused the same way.
    const other = await slsctl(['device', 'add', 'twice.user', '--kind', 'gold', '--token-file', file]);
    expect(other.code).toBe(2);
    expect(fs.readFileSync(file, 'utf8')).toBe(token);
    expect(await deviceCount('twice.user')).toBe(1);
  });

  it('A1, L1: user create without a terminal and without --password-stdin refuses (exit 2) and creates no user no password opens', async () => {
    const entity = (await slsctl(['entity', 'create', '--name', 'Nobody at a terminal'])).out.trim();
    const r = await slsctl(['user', 'create', '--username', 'no.tty', '--entity', entity]);
    expect(r).toEqual({ code: 2, out: '', err: 'slsctl: no terminal to ask for the password: use --password-stdin, or --no-password to set it later\n' });
    expect(await t.services.db.selectFrom('users').select('id').where('username_normalized', '=', 'no.tty').executeTakeFirst()).toBeUndefined();
    // At a terminal, Enter twice is an empty password: refused (8–256 characters), not a user without one.
    let err = '';
    const typed = await runSlsctl(['--data-dir', t.dataDir, '--database-url', t.config.databaseUrl, 'user', 'create', '--username', 'no.tty', '--entity', entity], {
      out: () => {},
      err: (text) => void (err += text),
      readStdin: async () => '',
      promptHidden: async () => '',
      env: { SLS_SERVER_KEY: t.config.serverKey, SLSCTL_OPERATOR: 'agent.test' },
    });
    expect({ typed, err }).toEqual({ typed: 1, err: 'slsctl: SLS_ERR_VALIDATION: a password is 8–256 characters\n' });
    expect(await t.services.db.selectFrom('users').select('id').where('username_normalized', '=', 'no.tty').executeTakeFirst()).toBeUndefined();
    // Asked for: a user without a password, to set later.
    expect((await slsctl(['user', 'create', '--username', 'no.tty', '--entity', entity, '--no-password'])).code).toBe(0);
  });

  it('A1: account and user create for an entity id that names none say so (SLS_ERR_NOT_FOUND, exit 1) and create nothing', async () => {
    const account = await slsctl(['account', 'create', '--number', 'U-NOENT', '--entity', 'ent_typo']);
    expect(account).toEqual({ code: 1, out: '', err: 'slsctl: SLS_ERR_NOT_FOUND: no entity ent_typo (`slsctl entity create` prints the id of a new one)\n' });
    const user = await slsctl(['user', 'create', '--username', 'no.entity', '--entity', 'ent_typo', '--password-stdin'], `${PASSWORD}\n`);
    expect(user).toEqual({ code: 1, out: '', err: 'slsctl: SLS_ERR_NOT_FOUND: no entity ent_typo (`slsctl entity create` prints the id of a new one)\n' });
    expect(await t.services.db.selectFrom('accounts').select('id').where('number', '=', 'U-NOENT').executeTakeFirst()).toBeUndefined();
  });

  it('N2: entity, account and user created, a device added and a device assigned to another user are audited with the operator (by)', async () => {
    const entity = await createUser('by.user');
    expect((await slsctl(['account', 'create', '--number', 'U-BY', '--entity', entity])).code).toBe(0);
    await createUser('by.other');
    const added = await slsctl(['device', 'add', 'by.user', '--kind', 'gold']);
    expect(added.code, added.err).toBe(0);
    expect((await slsctl(['device', 'assign', added.out.split(' ')[0]!, '--user', 'by.other'])).code).toBe(0);
    for (const event of ['entity.created', 'account.created', 'user.created', 'device.added']) {
      const details = await auditDetails(event);
      expect(details.length, event).toBeGreaterThan(0);
      for (const d of details) expect(d, event).toMatchObject({ by: 'agent.test' });
    }
    expect(await auditDetails('device.status_changed')).toEqual([
      { assignedTo: 'by.other', assignedFrom: 'by.user', by: 'agent.test', sessionsEnded: 0, restartTokensRevoked: 0, loginsEnded: 0, confirmationsEnded: 0, pushesEnded: 0 },
    ]);
  });

  it('N2, P2: dnc add twice audits once; dnc remove of a number not on the list, or of no number, changes nothing and audits nothing', async () => {
    expect((await slsctl(['dnc', 'add', '+447400123456'])).out).toBe('+447400123456 is on the do-not-call list\n');
    expect(await slsctl(['dnc', 'add', '+44 7400 123456'])).toEqual({ code: 0, out: '+447400123456 is already on the do-not-call list: nothing changed\n', err: '' });
    expect(await auditDetails('mobile.do_not_call_added')).toHaveLength(1);
    expect(await slsctl(['dnc', 'remove', '+447400999999'])).toEqual({ code: 0, out: '+447400999999 is not on the do-not-call list: nothing changed\n', err: '' });
    expect(await slsctl(['dnc', 'remove', 'garbage'])).toEqual({ code: 1, out: '', err: 'slsctl: SLS_ERR_VALIDATION: a number in international form, e.g. +447400123456\n' });
    expect(await auditDetails('mobile.do_not_call_removed')).toHaveLength(0);
    expect((await slsctl(['dnc', 'remove', '+447400123456'])).out).toBe('removed\n');
    expect(await auditDetails('mobile.do_not_call_removed')).toHaveLength(1);
  });

  it('says so when no device order is listed', async () => {
    expect(await slsctl(['order', 'list'])).toEqual({ code: 0, out: '(no orders)\n', err: '' });
  });

  it('T1, L6: a temporary passcode for a user whose office address is blocked warns that every login from it is refused, and how to lift it', async () => {
    await createUser('office.user');
    expect((await slsctl(['device', 'add', 'office.user', '--kind', 'dsc'])).code).toBe(0);
    const office = '203.0.113.20';
    const from = (username: string, password: string) =>
      t.app.inject({ method: 'POST', url: '/v1/login', remoteAddress: office, payload: { username, password, client: { kind: 'client_portal', version: 1 } } });
    expect((await from('office.user', 'bad password')).statusCode).toBe(401);
    for (let i = 0; i < 99; i++) await from(`colleague${i}`, 'bad password');
    expect((await from('office.user', PASSWORD)).json()).toMatchObject({ error: { code: 'SLS_ERR_RATE_LIMITED' } });
    const r = await slsctl(['temp-passcode', 'issue', 'office.user']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(
      /^WARNING: office\.user logged in lately from 203\.0\.113\.20, which is blocked until \S+Z \(100 failed attempts from it\): every login from it is refused until then; run `slsctl address unblock 203\.0\.113\.20`\n$/,
    );
    expect((await login(t.app, 'office.user', PASSWORD)).status).toBe(200); // from elsewhere it works
  });
});
