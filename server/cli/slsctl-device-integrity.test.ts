// slsctl's device provisioning keeps devices whole, on SQLite and PostgreSQL (SPEC D4, D5, D7, L8, S5, N2):
// - `device assign` takes the device from its former owner: the sessions opened with it and the
//   sharings of it end with the assign, in its transaction, audited;
// - one serial number is one device: a second device of the kind in use with the same serial is
//   refused (`device add`, `order send`, and a retired one made active again), nothing changed;
// - a secret file that cannot be written registers nothing: `device add` / `order send` write it
//   inside the registration's transaction.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ConfirmationChallenge } from '../../core/account-api.ts';
import type { LoginStep } from '../../core/api.ts';
import { accountDb } from '../account/schema.ts';
import { answer, bearer, makeUser, ok, PASSWORD, PORTAL, signIn, TRADING } from '../account/testing.ts';
import { startOn } from '../conformance/backends.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import { errorCode, getJson, postJson } from '../testing/http.ts';
import { refuseAuditEvent } from '../testing/refuse-audit.ts';
import { slsctlAgainst } from '../testing/slsctl-runner.ts';
import type { SlsctlRun } from '../testing/slsctl-runner.ts';
import type { TestServer } from '../testing/test-server.ts';

/** The identification sharing compares (S1a): one entity for owner and requester. */
const IDENT = { dateOfBirth: '1980-04-12', citizenship: 'IT', residenceCountry: 'CH', idDocumentType: 'passport', idDocumentNumber: 'YA1234567' };

let t: TestServer;

afterEach(async () => {
  await t.close();
});

function slsctl(args: string[]): Promise<SlsctlRun> {
  return slsctlAgainst(t, args);
}

async function auditOf(event: string): Promise<Record<string, unknown>[]> {
  const rows = await t.services.db.selectFrom('audit_log').select(['id', 'user_id', 'device_id', 'details']).where('event', '=', event).execute();
  return rows.sort((a, b) => a.id - b.id).map((r) => ({ userId: r.user_id, deviceId: r.device_id, ...(JSON.parse(r.details) as Record<string, unknown>) }));
}

/** `kind:status` of each of the user's devices, sorted. */
const devicesOf = async (userId: string) => (await t.services.db.selectFrom('devices').select(['kind', 'status']).where('user_id', '=', userId).execute()).map((d) => `${d.kind}:${d.status}`).sort();
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const session = (token: string) => getJson(t.app, '/v1/session', bearer(token));
const issueRestart = (token: string) => postJson<{ restartToken: string }>(t.app, '/v1/login/restart-token', {}, bearer(token));
const restart = (username: string, restartToken: string) => postJson(t.app, '/v1/login/restart', { username, restartToken });

describeEachBackend('slsctl device assign, serial numbers and secret files', await probePostgres(), (backend) => {
  beforeEach(async () => {
    t = await startOn(backend, { clock: null });
  });

  /**
   * owen's DSC+ shared with rita (approved, S5: her own card set aside); each signed in with the DSC+
   * to the trading platform with a restart token; owen also with his own code card.
   */
  async function sharedCard() {
    const owner = await makeUser(t, 'owen', ['dscplus', 'scc'], { entity: IDENT });
    const requester = await makeUser(t, 'rita', ['scc'], { entityId: owner.entityId });
    const nora = await makeUser(t, 'nora', ['scc']);
    const ritaOwn = await signIn(t, 'rita', requester.devices.scc!);
    const started = ok(await postJson<{ request: { id: string }; confirmation: ConfirmationChallenge }>(t.app, '/v1/sharing', { ownerUsername: 'owen', ownerPassword: PASSWORD }, bearer(ritaOwn)));
    const response = answer(owner.devices.dscplus!, started.confirmation.challenge);
    ok(await postJson(t.app, `/v1/sharing/${started.request.id}/response`, { confirmationId: started.confirmation.confirmationId, response }, bearer(ritaOwn)));
    expect(ok(await postJson<{ state: string }>(t.app, `/v1/sharing/${started.request.id}/submit`, {}, bearer(ritaOwn))).state).toBe('approved');
    expect(await devicesOf(requester.userId)).toEqual(['scc:inactive']);
    const card = owner.devices.dscplus!;
    const ritaCard = await signIn(t, 'rita', card, TRADING);
    const ritaGrant = ok(await issueRestart(ritaCard));
    const owenCard = await signIn(t, 'owen', card, TRADING);
    const owenGrant = ok(await issueRestart(owenCard));
    const owenOther = await signIn(t, 'owen', owner.devices.scc!);
    return { owner, requester, nora, requestId: started.request.id, card, ritaCard, ritaGrant, owenCard, owenGrant, owenOther };
  }

  it('D7, D5, L8, S5, N2: device assign signs the former owner (and the sharing requester) out of the device, revokes their restart chains with it, ends its sharing and gives the requester her card back; one transaction, audited', async () => {
    const u = await sharedCard();
    const r = await slsctl(['device', 'assign', u.card.device.id, '--user', 'nora']);
    expect(r.code, r.err).toBe(0);
    // Before: owen stayed signed in through a DSC+ now nora's, and so did rita through the sharing.
    expect(errorCode(await session(u.owenCard))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect(errorCode(await session(u.ritaCard))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect(errorCode(await restart('owen', u.owenGrant.restartToken))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    expect(errorCode(await restart('rita', u.ritaGrant.restartToken))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    // Owen's session with his own card is not the device's: it stays.
    expect((await session(u.owenOther)).status).toBe(200);
    // S5: the sharing ended; rita's own card is active again, and the DSC+ is no longer in her login.
    expect(await accountDb(t.services.db).selectFrom('sharing_requests').select(['id', 'state']).execute()).toEqual([{ id: u.requestId, state: 'cancelled' }]);
    expect(await devicesOf(u.requester.userId)).toEqual(['scc:active']);
    const ritaStep = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'rita', password: PASSWORD, client: PORTAL }));
    expect(ritaStep.status === 'challenge' && ritaStep.challenge.deviceId).toBe(u.requester.devices.scc!.device.id);
    // Owen's login no longer offers it; nora's does.
    const owenStep = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'owen', password: PASSWORD, client: PORTAL }));
    expect(owenStep.status === 'challenge' && owenStep.challenge.deviceId).toBe(u.owner.devices.scc!.device.id);
    await signIn(t, 'nora', u.card);
    expect(r).toEqual({
      code: 0,
      out: `${u.card.device.id} assigned to nora (was owen's): 2 session(s) opened with it signed out, 2 restart token(s) revoked, 1 sharing(s) of it ended, 0 login(s) and 0 confirmation(s) waiting on it ended\n`,
      err: '',
    });
    expect(await auditOf('device.status_changed')).toEqual([
      {
        userId: u.nora.userId,
        deviceId: u.card.device.id,
        assignedTo: 'nora',
        assignedFrom: 'owen',
        by: 'agent.test',
        sessionsEnded: 2,
        restartTokensRevoked: 2,
        // D7, D5: no challenge was open on it (provisioning-sharing-gaps.test.ts has those).
        loginsEnded: 0,
        confirmationsEnded: 0,
        pushesEnded: 0,
      },
    ]);
    expect(await auditOf('sharing.cancelled')).toEqual([
      { userId: u.requester.userId, deviceId: u.card.device.id, requestId: u.requestId, from: 'approved', reactivated: 1, reason: 'device_unavailable', note: 'shared device assigned to another user by an operator (S5, D7)', by: 'agent.test' },
    ]);
  });

  it('N2, S5: an assign whose sharing.cancelled entry cannot be written changes nothing: the device, the sessions and the sharing stay', async () => {
    const u = await sharedCard();
    const allow = await refuseAuditEvent(t.services.db, 'sharing.cancelled');
    const r = await slsctl(['device', 'assign', u.card.device.id, '--user', 'nora']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('audit refused');
    expect(await devicesOf(u.owner.userId)).toEqual(['dscplus:active', 'scc:active']);
    expect((await session(u.owenCard)).status).toBe(200);
    expect((await session(u.ritaCard)).status).toBe(200);
    expect(await devicesOf(u.requester.userId)).toEqual(['scc:inactive']);
    expect(await auditOf('device.status_changed')).toEqual([]);
    await allow();
    expect((await slsctl(['device', 'assign', u.card.device.id, '--user', 'nora'])).code).toBe(0);
    expect(await auditOf('sharing.cancelled')).toHaveLength(1);
  });

  it('D7, N2: assigning a device to the user who has it changes nothing and writes no entry', async () => {
    const u = await makeUser(t, 'sam', ['dsc']);
    const token = await signIn(t, 'sam', u.devices.dsc!);
    const r = await slsctl(['device', 'assign', u.devices.dsc!.device.id, '--user', 'SAM']);
    expect(await auditOf('device.status_changed')).toEqual([]);
    expect((await session(token)).status).toBe(200);
    expect(r).toEqual({ code: 0, out: `${u.devices.dsc!.device.id} is already sam's: nothing changed\n`, err: '' });
    expect(await slsctl(['device', 'assign', 'dev_nosuch', '--user', 'sam'])).toEqual({ code: 1, out: '', err: 'slsctl: SLS_ERR_NOT_FOUND: no device dev_nosuch\n' });
  });

  it('D7, K1, P4, T1: IB Key, SMS and a temporary passcode stay with the user they were issued to: assign refuses them, nothing changes', async () => {
    const u = await makeUser(t, 'ivan', ['ibkey', 'sms', 'dsc']);
    await makeUser(t, 'otto', ['scc']);
    const token = await signIn(t, 'ivan', u.devices.dsc!);
    for (const kind of ['ibkey', 'sms'] as const) {
      const id = u.devices[kind]!.device.id;
      const r = await slsctl(['device', 'assign', id, '--user', 'otto']);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`^slsctl: SLS_ERR_CONFLICT: ${id} is .+ cannot be assigned`));
    }
    const passcode = await t.provisioning.issueTemporaryPasscode('ivan', 'agent.test');
    expect((await slsctl(['device', 'assign', passcode.deviceId, '--user', 'otto'])).err).toContain('SLS_ERR_CONFLICT');
    const owners = await t.services.db.selectFrom('devices').innerJoin('users', 'users.id', 'devices.user_id').select(['devices.kind', 'users.username_normalized as owner']).where('devices.user_id', '=', u.userId).execute();
    expect(owners.map((o) => `${o.kind}:${o.owner}`).sort()).toEqual(['dsc:ivan', 'ibkey:ivan', 'sms:ivan', 'temp_passcode:ivan']);
    expect(await auditOf('device.status_changed')).toEqual([]);
    expect((await session(token)).status).toBe(200);
  });

  it('D5, D7: device add with the serial of another device of the kind in use is refused (SLS_ERR_CONFLICT), nothing registered, no file; another kind, or a retired device\'s serial, is not', async () => {
    const a = await makeUser(t, 'anna', []);
    const b = await makeUser(t, 'bob', []);
    const first = await slsctl(['device', 'add', 'anna', '--kind', 'dsc', '--serial', '5100000001']);
    expect(first.code, first.err).toBe(0);
    const firstId = first.out.split(' ')[0]!;
    const file = path.join(t.dataDir, 'elsewhere', 'bob.token.json');
    const again = await slsctl(['device', 'add', 'bob', '--kind', 'dsc', '--serial', '5100000001', '--token-file', file]);
    expect(again).toEqual({
      code: 1,
      out: '',
      err: `slsctl: SLS_ERR_CONFLICT: a Digital Security Card with serial 5100000001 is already in use: ${firstId} of anna (active); nothing was registered. One serial number is one device (SPEC D5): set that one lost, returned or revoked first if it is the same card\n`,
    });
    expect(await devicesOf(b.userId)).toEqual([]);
    expect(fs.existsSync(file)).toBe(false);
    expect((await auditOf('device.added')).map((e) => e.deviceId)).toEqual([firstId]);
    // Pending counts too (a card sent and not yet activated, D6).
    expect((await slsctl(['device', 'add', 'anna', '--kind', 'gold', '--serial', '5100000002', '--pending'])).code).toBe(0);
    expect((await slsctl(['device', 'add', 'bob', '--kind', 'gold', '--serial', '5100000002', '--token-file', file])).err).toContain('SLS_ERR_CONFLICT: a Gold device with serial 5100000002 is already in use');
    // Another kind with the same number is another device (its token file named: the default is by serial only).
    const gold = await slsctl(['device', 'add', 'bob', '--kind', 'gold', '--serial', '5100000001', '--token-file', path.join(t.dataDir, 'gold.token.json')]);
    expect(gold.code, gold.err).toBe(0);
    // Once the first is retired its serial may be registered again (the card re-issued) …
    expect((await slsctl(['device', 'set-status', firstId, 'lost'])).code).toBe(0);
    const reissued = await slsctl(['device', 'add', 'bob', '--kind', 'dsc', '--serial', '5100000001', '--token-file', file]);
    expect(reissued.code, reissued.err).toBe(0);
    expect(await devicesOf(b.userId)).toEqual(['dsc:active', 'gold:active']);
    // … and the lost one can no longer be made active beside it, even with --force: nothing changes.
    const forced = await slsctl(['device', 'set-status', firstId, 'active', '--force']);
    expect(forced.code).toBe(1);
    expect(forced.err).toContain(`SLS_ERR_CONFLICT: a Digital Security Card with serial 5100000001 is already in use: ${reissued.out.split(' ')[0]} of bob (active); nothing changed.`);
    expect(await devicesOf(a.userId)).toEqual(['dsc:lost', 'gold:pending']);
    expect((await auditOf('device.status_changed')).map((e) => e.to)).toEqual(['lost']);
  });

  it('D5, D6: order send with the serial of a DSC+ in use is refused, the order stays ordered, no state file; two registrations of one serial at once: one wins', async () => {
    const held = (await makeUser(t, 'carla', ['dscplus'])).devices.dscplus!.device.serial!;
    const u = await makeUser(t, 'olga', ['ibkey'], { balanceUsd: 600_000 });
    const order = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(await signIn(t, 'olga', u.devices.ibkey!))));
    const stateFile = path.join(t.dataDir, 'sent', 'olga.json');
    const r = await slsctl(['order', 'send', order.id, '--serial', held, '--state-file', stateFile]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`SLS_ERR_CONFLICT: a Digital Security Card+ with serial ${held} is already in use`);
    expect(fs.existsSync(stateFile)).toBe(false);
    expect(await devicesOf(u.userId)).toEqual(['ibkey:active']);
    expect((await slsctl(['order', 'list', '--user', 'olga'])).out).toContain(`${order.id}  olga  dscplus  new  ordered`);
    expect(await auditOf('device.sent')).toEqual([]);

    // N1: two operators registering one serial at the same moment (a pool of connections on PostgreSQL).
    await makeUser(t, 'dora', []);
    const both = await Promise.allSettled([
      t.provisioning.addDevice({ username: 'dora', kind: 'platinum', serial: '5200000001' }),
      t.provisioning.addDevice({ username: 'olga', kind: 'platinum', serial: '5200000001' }),
    ]);
    expect(both.map((x) => x.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(both.find((x) => x.status === 'rejected')).toMatchObject({ reason: { code: 'SLS_ERR_CONFLICT' } });
    expect(await t.services.db.selectFrom('devices').select('id').where('serial', '=', '5200000001').where('kind', '=', 'platinum').execute()).toHaveLength(1);
  });

  it('D4, N2: device add whose secret file cannot be written registers nothing and writes no entry (token file, DSC+ state file, card PDF)', async () => {
    const u = await makeUser(t, 'fay', []);
    // A path through a regular file: no folder can be made there, whoever runs the test (root too).
    const blocker = path.join(t.dataDir, 'not-a-folder');
    fs.writeFileSync(blocker, '');
    for (const [kind, option] of [['dsc', '--token-file'], ['dscplus', '--state-file'], ['scc', '--pdf-file']] as const) {
      const file = path.join(blocker, `${kind}.out`);
      const r = await slsctl(['device', 'add', 'fay', '--kind', kind, option, file]);
      expect(r.code, kind).toBe(1);
      expect(r.out, kind).toBe('');
      expect(r.err, kind).toMatch(new RegExp(`^slsctl: cannot write the (software token file|DSC\\+ state file|card PDF) ${escape(file)}: .*: nothing was registered\\n$`));
    }
    expect(await devicesOf(u.userId)).toEqual([]);
    expect(await auditOf('device.added')).toEqual([]);
    expect(await t.services.db.selectFrom('scc_cells').select('device_id').execute()).toEqual([]);
    // Written where it can be: registered, with its file.
    const ok1 = await slsctl(['device', 'add', 'fay', '--kind', 'dsc', '--serial', '5300000001']);
    expect(ok1.code, ok1.err).toBe(0);
    expect(ok1.out).toContain(`software token file: ${path.join(t.dataDir, 'tokens', '5300000001.token.json')}\n`);
    expect(JSON.parse(fs.readFileSync(path.join(t.dataDir, 'tokens', '5300000001.token.json'), 'utf8'))).toMatchObject({ serial: '5300000001', username: 'fay' });
    expect(fs.statSync(path.join(t.dataDir, 'tokens', '5300000001.token.json')).mode & 0o777).toBe(0o600);
    expect(await devicesOf(u.userId)).toEqual(['dsc:active']);
  });

  it('D4, N2: a device.added entry that cannot be written leaves no secret file behind either', async () => {
    const u = await makeUser(t, 'gus', []);
    const allow = await refuseAuditEvent(t.services.db, 'device.added');
    const r = await slsctl(['device', 'add', 'gus', '--kind', 'dsc', '--serial', '5400000001']);
    expect(r.code).toBe(1);
    expect(fs.existsSync(path.join(t.dataDir, 'tokens', '5400000001.token.json'))).toBe(false);
    expect(await devicesOf(u.userId)).toEqual([]);
    await allow();
    expect((await slsctl(['device', 'add', 'gus', '--kind', 'dsc', '--serial', '5400000001'])).code).toBe(0);
  });

  it('D4, D6, N2: order send whose state file cannot be written sends nothing: the order stays ordered, no card registered, no entry', async () => {
    const u = await makeUser(t, 'hana', ['ibkey'], { balanceUsd: 600_000 });
    const order = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(await signIn(t, 'hana', u.devices.ibkey!))));
    const blocker = path.join(t.dataDir, 'not-a-folder');
    fs.writeFileSync(blocker, '');
    const file = path.join(blocker, 'hana.json');
    const r = await slsctl(['order', 'send', order.id, '--serial', '5500000001', '--state-file', file]);
    expect(r).toEqual({ code: 1, out: '', err: expect.stringMatching(/^slsctl: cannot write the DSC\+ state file .*hana\.json: .*: nothing was registered\n$/) });
    expect(await devicesOf(u.userId)).toEqual(['ibkey:active']);
    expect((await slsctl(['order', 'list', '--user', 'hana'])).out).toBe(`${order.id}  hana  dscplus  new  ordered\n`);
    expect(await auditOf('device.sent')).toEqual([]);
    expect((await auditOf('device.added')).map((e) => e.kind)).toEqual(['ibkey']);
    // Sent again to a folder it can write: sent, with the same serial (nothing of the first kept it).
    const sent = await slsctl(['order', 'send', order.id, '--serial', '5500000001']);
    expect(sent.code, sent.err).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(t.dataDir, 'dscplus', '5500000001.json'), 'utf8')).serial).toBe('5500000001');
    expect(await devicesOf(u.userId)).toEqual(['dscplus:pending', 'ibkey:active']);
  });
});
