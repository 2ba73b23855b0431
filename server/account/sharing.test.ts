// Sharing a physical device over HTTP (SPEC S1–S6): the procedure, each refusal, compliance, S5.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfirmationChallenge } from '../../core/account-api.ts';
import type { LoginStep } from '../../core/api.ts';
import { accountServices } from './index.ts';
import { errorCode, getJson, postJson } from '../testing/http.ts';
import { refuseAuditEvent } from '../testing/refuse-audit.ts';
import { answer, bearer, makeUser, ok, PASSWORD, PORTAL, signIn, startAccountServer } from './testing.ts';
import type { AccountTestServer, TestUser } from './testing.ts';

interface SharingBody {
  id: string;
  state: string;
  needsCompliance: boolean;
  device: { id: string; kind: string; serial?: string };
  requesterDevices: { id: string; status: string }[];
}

const IDENT = { dateOfBirth: '1980-04-12', citizenship: 'IT', residenceCountry: 'CH', idDocumentType: 'passport', idDocumentNumber: 'YA1234567' };

let t: AccountTestServer;
let owner: TestUser;
beforeEach(async () => {
  t = await startAccountServer();
  owner = await makeUser(t, 'owen', ['dscplus'], { entity: IDENT });
});
afterEach(async () => {
  await t.close();
});

async function start(requester: TestUser, token: string, ownerUsername = 'owen', ownerPassword = PASSWORD) {
  return postJson<{ request: SharingBody; confirmation: ConfirmationChallenge }>(t.app, '/v1/sharing', { ownerUsername, ownerPassword }, bearer(token));
}

/** S3: the whole procedure up to submit. */
async function share(requester: TestUser, token: string) {
  const s = ok(await start(requester, token));
  expect(s.request.device.kind).toBe('dscplus');
  // C2: the requester's desktop finds the owner's card plugged in by its full serial.
  expect(s.request.device.serial).toBe(owner.devices.dscplus!.device.serial);
  expect(s.request.device.serial).toMatch(/^\d{10}$/);
  const reviewed = ok(
    await postJson<SharingBody>(t.app, `/v1/sharing/${s.request.id}/response`, { confirmationId: s.confirmation.confirmationId, response: answer(owner.devices.dscplus!, s.confirmation.challenge) }, bearer(token)),
  );
  expect(reviewed.state).toBe('verified');
  return ok(await postJson<SharingBody>(t.app, `/v1/sharing/${s.request.id}/submit`, {}, bearer(token)));
}

describe('the sharing procedure (SPEC S3, S4, S5)', () => {
  it('S3, S5: same entity: approved at once; the requester\'s own card is set aside and the DSC+ is in their login', async () => {
    const req = await makeUser(t, 'rita', ['scc'], { entityId: owner.entityId });
    const token = await signIn(t, 'rita', req.devices.scc!);
    const done = await share(req, token);
    expect(done).toMatchObject({ state: 'approved', needsCompliance: false });
    expect(done.requesterDevices).toEqual([{ id: req.devices.scc!.device.id, label: req.devices.scc!.device.label, status: 'inactive' }]);
    // Both sides see it in their list (by index: the query-plan check fails a test whose lookup scans).
    const listed = async (tok: string) => ok(await getJson<{ requests: SharingBody[] }>(t.app, '/v1/sharing', bearer(tok))).requests.map((r) => [r.id, r.state]);
    // The requester now logs in with the owner's DSC+ (the only device they can use). Their session
    // opened with the card that is now set aside no longer has portal rights (D5, portal.ts).
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'rita', password: PASSWORD, client: PORTAL }));
    expect(step.status).toBe('challenge');
    if (step.status === 'challenge') expect(step.challenge.deviceId).toBe(owner.devices.dscplus!.device.id);
    const rita2 = await signIn(t, 'rita', owner.devices.dscplus!);
    expect(await listed(rita2)).toEqual([[done.id, 'approved']]);
    expect(await listed(await signIn(t, 'owen', owner.devices.dscplus!))).toEqual([[done.id, 'approved']]);
    // S5: cancelling reactivates the card.
    const cancelled = ok(await postJson<SharingBody>(t.app, `/v1/sharing/${done.id}/cancel`, {}, bearer(rita2)));
    expect(cancelled.state).toBe('cancelled');
    expect((await t.provisioning.devicesOf('rita')).map((d) => d.status)).toEqual(['active']);
  });

  it('S4: different entities with matching identification wait for compliance; slsctl approves', async () => {
    const req = await makeUser(t, 'carl', ['scc'], { entity: { ...IDENT, idDocumentNumber: 'ya 123-4567' } });
    const token = await signIn(t, 'carl', req.devices.scc!);
    const done = await share(req, token);
    expect(done).toMatchObject({ state: 'pending_compliance', needsCompliance: true });
    expect((await t.provisioning.devicesOf('carl'))[0]!.status).toBe('active');
    const approved = await accountServices(t.services).sharing.decide(done.id, true, 'compliance-officer');
    expect(approved.state).toBe('approved');
    expect((await t.provisioning.devicesOf('carl'))[0]!.status).toBe('inactive');
  });

  it('S4: compliance may reject; nothing changes for the requester', async () => {
    const req = await makeUser(t, 'rex', ['scc'], { entity: IDENT });
    const token = await signIn(t, 'rex', req.devices.scc!);
    const done = await share(req, token);
    expect((await accountServices(t.services).sharing.decide(done.id, false, 'compliance-officer')).state).toBe('rejected');
    expect((await t.provisioning.devicesOf('rex'))[0]!.status).toBe('active');
  });

  it('S3: the owner\'s password must be right (one generic error, counted)', async () => {
    const req = await makeUser(t, 'pia', ['scc'], { entityId: owner.entityId });
    const token = await signIn(t, 'pia', req.devices.scc!);
    expect(errorCode(await start(req, token, 'owen', 'wrong-password'))).toBe('SLS_ERR_INVALID_CREDENTIALS');
    expect(errorCode(await start(req, token, 'nobody', 'wrong-password'))).toBe('SLS_ERR_INVALID_CREDENTIALS');
  });

  it('S3, L6: a locked requester starts nothing: no owner password checked, no request left started', async () => {
    const req = await makeUser(t, 'pia', ['scc'], { entityId: owner.entityId });
    const token = await signIn(t, 'pia', req.devices.scc!);
    for (let i = 0; i < 10; i++) await t.services.throttle.recordFailure('pia', '198.51.100.7');
    expect(errorCode(await start(req, token))).toBe('SLS_ERR_USER_LOCKED');
    expect(await t.adb.selectFrom('sharing_requests').select('id').execute()).toEqual([]);
    expect(await t.services.db.selectFrom('audit_log').select('id').where('event', 'like', 'sharing.%').execute()).toEqual([]);
  });

  it('S3: a wrong response from the owner\'s device does not verify the request', async () => {
    const req = await makeUser(t, 'walt', ['scc'], { entityId: owner.entityId });
    const token = await signIn(t, 'walt', req.devices.scc!);
    const s = ok(await start(req, token));
    expect(errorCode(await postJson(t.app, `/v1/sharing/${s.request.id}/response`, { confirmationId: s.confirmation.confirmationId, response: '00000000' }, bearer(token)))).toBe('SLS_ERR_WRONG_RESPONSE');
    expect(errorCode(await postJson(t.app, `/v1/sharing/${s.request.id}/submit`, {}, bearer(token)))).toBe('SLS_ERR_CONFLICT');
  });
});

describe('every decision audited with it (SPEC N2, S4, S5)', () => {
  /** The audit log refuses this event (a full disk, a lost connection): nothing it records may stay changed. */
  const refuseAudit = (event: string) => refuseAuditEvent(t.adb, event);
  const stateOf = async (id: string) => (await t.adb.selectFrom('sharing_requests').select('state').where('id', '=', id).executeTakeFirstOrThrow()).state;

  it('N2, S5: an approval whose audit entry cannot be written approves nothing: the request stays verified, the requester\'s card active', async () => {
    const req = await makeUser(t, 'ada', ['scc'], { entityId: owner.entityId });
    const token = await signIn(t, 'ada', req.devices.scc!);
    const s = ok(await start(req, token));
    ok(await postJson(t.app, `/v1/sharing/${s.request.id}/response`, { confirmationId: s.confirmation.confirmationId, response: answer(owner.devices.dscplus!, s.confirmation.challenge) }, bearer(token)));
    await refuseAudit('sharing.approved');
    expect((await postJson(t.app, `/v1/sharing/${s.request.id}/submit`, {}, bearer(token))).status).toBe(500);
    expect(await stateOf(s.request.id)).toBe('verified');
    expect((await t.provisioning.devicesOf('ada')).map((d) => d.status)).toEqual(['active']);
  });

  it('N2, S4: a submit to compliance, and compliance\'s rejection, whose audit entry cannot be written change nothing', async () => {
    const req = await makeUser(t, 'bea', ['scc'], { entity: IDENT });
    const token = await signIn(t, 'bea', req.devices.scc!);
    const s = ok(await start(req, token));
    ok(await postJson(t.app, `/v1/sharing/${s.request.id}/response`, { confirmationId: s.confirmation.confirmationId, response: answer(owner.devices.dscplus!, s.confirmation.challenge) }, bearer(token)));
    const allow = await refuseAudit('sharing.pending_compliance');
    expect((await postJson(t.app, `/v1/sharing/${s.request.id}/submit`, {}, bearer(token))).status).toBe(500);
    expect(await stateOf(s.request.id)).toBe('verified');
    await allow();
    expect(ok(await postJson<SharingBody>(t.app, `/v1/sharing/${s.request.id}/submit`, {}, bearer(token))).state).toBe('pending_compliance');
    await refuseAudit('sharing.rejected');
    await expect(accountServices(t.services).sharing.decide(s.request.id, false, 'compliance-officer')).rejects.toThrow(/audit refused/);
    expect(await stateOf(s.request.id)).toBe('pending_compliance');
  });
});

describe('refusals with exact meanings (SPEC S1, S2, S6)', () => {
  it('S1c, S6: "Less secure device" when the requester holds a DSC+ and the owner offers a code card', async () => {
    await makeUser(t, 'cora', ['scc'], { entityId: owner.entityId });
    const req = await makeUser(t, 'dina', ['dscplus'], { entityId: owner.entityId });
    const token = await signIn(t, 'dina', req.devices.dscplus!);
    const r = await start(req, token, 'cora');
    expect(errorCode(r)).toBe('SLS_ERR_LESS_SECURE_DEVICE');
    expect((r.body as unknown as { error: { message: string } }).error.message).toMatch(/^Less secure device/);
    const audit = await t.adb.selectFrom('audit_log').select('details').where('event', '=', 'sharing.refused').execute();
    expect(JSON.parse(audit[0]!.details)).toMatchObject({ reason: 'less_secure_device' });
  });

  it('S1a, S6: "Different identification information" across entities', async () => {
    const req = await makeUser(t, 'edna', ['scc'], { entity: { ...IDENT, dateOfBirth: '1990-01-01' } });
    const token = await signIn(t, 'edna', req.devices.scc!);
    const r = await start(req, token);
    expect(errorCode(r)).toBe('SLS_ERR_DIFFERENT_IDENTIFICATION');
    expect((r.body as unknown as { error: { message: string } }).error.message).toMatch(/^Different identification information/);
  });

  it('S1b: a temporary passcode blocks sharing', async () => {
    const req = await makeUser(t, 'tim', ['scc'], { entityId: owner.entityId });
    const token = await signIn(t, 'tim', req.devices.scc!);
    await t.provisioning.issueTemporaryPasscode('tim', 'test');
    expect(errorCode(await start(req, token))).toBe('SLS_ERR_SHARING_TEMPORARY_DEVICE');
  });

  it('S2: IB Key is never shared this way: add the user in the app', async () => {
    await makeUser(t, 'ivy', ['ibkey'], { entityId: owner.entityId });
    const req = await makeUser(t, 'ian', ['scc'], { entityId: owner.entityId });
    const token = await signIn(t, 'ian', req.devices.scc!);
    const r = await start(req, token, 'ivy');
    expect(errorCode(r)).toBe('SLS_ERR_SHARING_IBKEY');
    expect((r.body as unknown as { error: { message: string } }).error.message).toMatch(/Add user/);
  });
});

describe('temporary devices past their periods (SPEC S1b, T1, D5)', () => {
  const DAY = 24 * 60 * 60 * 1000;

  it('S1b, T1: a temporary passcode blocks sharing through its 12 days; then it is retired (revoked, audited) and no longer does', async () => {
    const req = await makeUser(t, 'tess', ['scc'], { entityId: owner.entityId });
    const issued = await t.provisioning.issueTemporaryPasscode('tess', 'test');
    // T1's portal-only period: still assigned, still blocks sharing.
    t.clock.set(issued.portalAccessUntil - 60_000);
    expect(errorCode(await start(req, await signIn(t, 'tess', req.devices.scc!)))).toBe('SLS_ERR_SHARING_TEMPORARY_DEVICE');
    // Past it: the passcode is gone, and the rules that remain allow the sharing.
    t.clock.set(issued.portalAccessUntil);
    const s = await start(req, await signIn(t, 'tess', req.devices.scc!));
    expect(s.status, JSON.stringify(s.body)).toBe(200);
    expect((await t.provisioning.devicesOf('tess')).map((d) => `${d.kind}:${d.status}`)).toEqual(['scc:active', 'temp_passcode:revoked']);
    const audit = await t.adb.selectFrom('audit_log').select(['details', 'device_id']).where('event', '=', 'device.status_changed').execute();
    expect(audit.map((a) => ({ deviceId: a.device_id, ...(JSON.parse(a.details) as object) }))).toEqual([
      { deviceId: issued.deviceId, from: 'active', to: 'revoked', reason: 'temporary passcode expired (T1)' },
    ]);
  });

  it('S1b, T1: the OWNER\'s expired temporary passcode no longer blocks sharing either (30 days after issue)', async () => {
    const issued = await t.provisioning.issueTemporaryPasscode('owen', 'test');
    const req = await makeUser(t, 'rudy', ['scc'], { entityId: owner.entityId });
    t.clock.set(issued.portalAccessUntil + 18 * DAY); // 30 days after issue
    const s = await start(req, await signIn(t, 'rudy', req.devices.scc!));
    expect(s.status, JSON.stringify(s.body)).toBe(200);
  });
});

describe('the shared device stops working (SPEC S5, D8)', () => {
  interface AuditRow {
    userId: string | null;
    deviceId: string | null;
    [k: string]: unknown;
  }
  const auditOf = async (event: string): Promise<AuditRow[]> =>
    (await t.adb.selectFrom('audit_log').select(['details', 'user_id', 'device_id']).where('event', '=', event).execute()).map((a) => ({
      userId: a.user_id,
      deviceId: a.device_id,
      ...(JSON.parse(a.details) as object),
    }));
  const dscplus = () => owner.devices.dscplus!.device.id;
  const report = async (reason: string) => postJson<{ device: { status: string } }>(t.app, `/v1/devices/${dscplus()}/report`, { reason }, bearer(await signIn(t, 'owen', owner.devices.dscplus!)));
  const statuses = async (username: string) => (await t.provisioning.devicesOf(username)).map((d) => `${d.kind}:${d.status}`);

  async function shared(username: string) {
    const req = await makeUser(t, username, ['scc'], { entityId: owner.entityId });
    const done = await share(req, await signIn(t, username, req.devices.scc!));
    expect(done.state).toBe('approved');
    expect(await statuses(username)).toEqual(['scc:inactive']);
    return { req, done };
  }

  it('S5, D8: the owner reports the shared DSC+ lost: the sharing ends, the requester\'s own card is active again and signs in; audited', async () => {
    const { req, done } = await shared('rene');
    const r = await report('lost');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.device.status).toBe('lost');
    expect(await statuses('rene')).toEqual(['scc:active']);
    // The requester signs in with their own card again (before: SLS_ERR_NO_ACTIVE_DEVICE) …
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'rene', password: PASSWORD, client: PORTAL }));
    expect(step.status === 'challenge' && step.challenge.deviceId).toBe(req.devices.scc!.device.id);
    await signIn(t, 'rene', req.devices.scc!);
    // … and the sharing has ended.
    expect(await t.adb.selectFrom('sharing_requests').select(['id', 'state']).where('requester_user_id', '=', req.userId).execute()).toEqual([{ id: done.id, state: 'cancelled' }]);
    expect(await auditOf('sharing.cancelled')).toEqual([
      { userId: req.userId, deviceId: dscplus(), requestId: done.id, from: 'approved', reactivated: 1, reason: 'device_reported', note: 'shared device reported lost (S5, D8)', by: 'owen' },
    ]);
    // toMatchObject: the report may record more (the sessions and restart tokens it ended, devices-admin.ts).
    expect((await auditOf('device.status_changed')).filter((a) => a.deviceId === dscplus())).toMatchObject([
      { userId: owner.userId, deviceId: dscplus(), from: 'active', to: 'lost', reason: 'lost' },
    ]);
  });

  it('S5, D5: a withdrawal challenge on the shared DSC+ cannot be confirmed once the sharing was cancelled meanwhile', async () => {
    const { req, done } = await shared('wes');
    const session = await signIn(t, 'wes', owner.devices.dscplus!);
    const challenge = ok(await postJson<ConfirmationChallenge>(t.app, '/v1/withdrawals/challenge', { deviceId: dscplus(), amountCents: 100_00 }, bearer(session)));
    ok(await postJson<SharingBody>(t.app, `/v1/sharing/${done.id}/cancel`, {}, bearer(session)));
    // S5, D5: the cancel ended the session opened with the shared DSC+ (sharing.ts `cancel`); the
    // requester signs in with their own card, active again, and tries the challenge from before.
    expect(errorCode(await getJson(t.app, '/v1/session', bearer(session)))).toBe('SLS_ERR_SESSION_EXPIRED');
    const own = await signIn(t, 'wes', req.devices.scc!);
    const r = await postJson(
      t.app,
      '/v1/withdrawals',
      { amountCents: 100_00, idempotencyKey: 'c1b6a3c2-5f1e-4d0a-9a47-0c1c6f7e9a11', confirmation: { id: challenge.confirmationId, response: answer(owner.devices.dscplus!, challenge.challenge) } },
      bearer(own),
    );
    expect(errorCode(r)).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
    expect(await t.adb.selectFrom('withdrawals').select('id').where('user_id', '=', req.userId).execute()).toEqual([]);
  });

  it('S5: a login begun with the shared DSC+ before the sharing ended opens no session after it, whoever ended it', async () => {
    for (const [username, by] of [['lara', 'requester'], ['liam', 'owner']] as const) {
      const { req, done } = await shared(username);
      const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username, password: PASSWORD, client: PORTAL }));
      if (step.status !== 'challenge') throw new Error(`expected a challenge, got ${step.status}`);
      expect(step.challenge.deviceId).toBe(dscplus());
      const ender = by === 'owner' ? await signIn(t, 'owen', owner.devices.dscplus!) : await signIn(t, username, owner.devices.dscplus!);
      ok(await postJson<SharingBody>(t.app, `/v1/sharing/${done.id}/cancel`, {}, bearer(ender)));
      const r = await postJson(t.app, `/v1/login/${step.transactionId}/response`, { response: answer(owner.devices.dscplus!, step.challenge) });
      expect(errorCode(r), `${by}: ${JSON.stringify(r.body)}`).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
      expect(await t.adb.selectFrom('sessions').select('id').where('user_id', '=', req.userId).where('device_id', '=', dscplus()).where('revoked_at', 'is', null).execute()).toEqual([]);
      // Their own card, active again, signs them in.
      await signIn(t, username, req.devices.scc!);
    }
  });

  it('S5, D8: a request waiting for compliance ends too when its device is reported broken: compliance can no longer approve it', async () => {
    const req = await makeUser(t, 'carla', ['scc'], { entity: IDENT });
    const done = await share(req, await signIn(t, 'carla', req.devices.scc!));
    expect(done.state).toBe('pending_compliance');
    expect(ok(await report('broken')).device.status).toBe('revoked');
    await expect(accountServices(t.services).sharing.decide(done.id, true, 'compliance-officer')).rejects.toMatchObject({ code: 'SLS_ERR_CONFLICT' });
    expect(await statuses('carla')).toEqual(['scc:active']);
    expect(await auditOf('sharing.cancelled')).toMatchObject([{ userId: req.userId, requestId: done.id, from: 'pending_compliance', reactivated: 0, reason: 'device_reported', note: 'shared device reported broken (S5, D8)' }]);
  });

  it('S5, D8: bad input changes nothing: an unknown report reason is refused (400) and the sharing stays as it was', async () => {
    const { done } = await shared('ruth');
    const r = await report('stolen');
    expect([r.status, errorCode(r)]).toEqual([400, 'SLS_ERR_VALIDATION']);
    expect(await statuses('ruth')).toEqual(['scc:inactive']);
    expect((await t.adb.selectFrom('sharing_requests').select('state').where('id', '=', done.id).executeTakeFirstOrThrow()).state).toBe('approved');
    expect((await t.adb.selectFrom('devices').select('status').where('id', '=', dscplus()).executeTakeFirstOrThrow()).status).toBe('active');
    expect(await auditOf('sharing.cancelled')).toEqual([]);
  });

  it('S5, D8: the owner returns the shared DSC+ (they have another device): its sharings end like a lost one\'s, a request only started too; the requester\'s own card is active again and her session with the DSC+ ends; audited', async () => {
    const ownerCard = await t.provisioning.addDevice({ username: 'owen', kind: 'scc' });
    const { req, done } = await shared('rhea');
    const rheaShared = await signIn(t, 'rhea', owner.devices.dscplus!);
    const owenWithCard = await signIn(t, 'owen', owner.devices.dscplus!);
    // Another requester has only started (S3 step 1): before, a return left such a request open on a returned device.
    const other = await makeUser(t, 'stan', ['scc'], { entityId: owner.entityId });
    const started = ok(await start(other, await signIn(t, 'stan', other.devices.scc!)));
    const r = await postJson<{ status: string }>(t.app, `/v1/devices/${dscplus()}/return`, {}, bearer(await signIn(t, 'owen', ownerCard)));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.status).toBe('returned');
    expect(await statuses('rhea')).toEqual(['scc:active']);
    for (const tok of [rheaShared, owenWithCard]) expect(errorCode(await getJson(t.app, '/v1/session', bearer(tok)))).toBe('SLS_ERR_SESSION_EXPIRED');
    await signIn(t, 'rhea', req.devices.scc!);
    expect(Object.fromEntries((await t.adb.selectFrom('sharing_requests').select(['id', 'state']).execute()).map((x) => [x.id, x.state]))).toEqual({
      [done.id]: 'cancelled',
      [started.request.id]: 'cancelled',
    });
    expect(await auditOf('sharing.cancelled')).toEqual(
      expect.arrayContaining([
        { userId: req.userId, deviceId: dscplus(), requestId: done.id, from: 'approved', reactivated: 1, reason: 'device_returned', note: 'shared device returned (S5, D8)', by: 'owen' },
        { userId: other.userId, deviceId: dscplus(), requestId: started.request.id, from: 'started', reactivated: 0, reason: 'device_returned', note: 'shared device returned (S5, D8)', by: 'owen' },
      ]),
    );
    // The return's own entry counts every session it ended, whoever's (rhea's and owen's with the DSC+).
    expect((await auditOf('device.status_changed')).filter((a) => a.deviceId === dscplus())).toMatchObject([{ userId: owner.userId, from: 'active', to: 'returned', sessionsEnded: 2 }]);
  });

  it('S5, D8: an operator setting the shared device lost (`slsctl device set-status`) ends the sharing the same way', async () => {
    const { req, done } = await shared('rosa');
    await t.provisioning.setDeviceStatus(dscplus(), 'lost');
    expect(await statuses('rosa')).toEqual(['scc:active']);
    await signIn(t, 'rosa', req.devices.scc!);
    expect(await auditOf('sharing.cancelled')).toMatchObject([{ userId: req.userId, requestId: done.id, from: 'approved', reactivated: 1, by: 'slsctl' }]);
  });
});

describe('who may end a sharing (SPEC S5)', () => {
  const cancel = (id: string, token: string) => postJson<SharingBody>(t.app, `/v1/sharing/${id}/cancel`, {}, bearer(token));
  const cancelAudits = async () =>
    (await t.adb.selectFrom('audit_log').select(['details', 'user_id']).where('event', '=', 'sharing.cancelled').execute()).map((a) => ({ userId: a.user_id, ...(JSON.parse(a.details) as object) }));

  it('S4, S5: the owner withdraws a request waiting for compliance: cancelled, compliance can no longer approve it, the requester\'s card never set aside; audited by: owner under the requester', async () => {
    const req = await makeUser(t, 'cleo', ['scc'], { entity: IDENT });
    const done = await share(req, await signIn(t, 'cleo', req.devices.scc!));
    expect(done.state).toBe('pending_compliance');
    expect(ok(await cancel(done.id, await signIn(t, 'owen', owner.devices.dscplus!))).state).toBe('cancelled');
    await expect(accountServices(t.services).sharing.decide(done.id, true, 'compliance-officer')).rejects.toMatchObject({ code: 'SLS_ERR_CONFLICT' });
    expect((await t.provisioning.devicesOf('cleo')).map((d) => d.status)).toEqual(['active']);
    expect(await cancelAudits()).toEqual([{ userId: req.userId, requestId: done.id, from: 'pending_compliance', by: 'owner', reason: 'refused_by_owner', reactivated: 0, sessionsEnded: 0, restartTokensRevoked: 0 }]);
  });

  it('S3, S5: the owner may end a request only started; the requester cannot answer it any more; ending it twice is SLS_ERR_CONFLICT', async () => {
    const req = await makeUser(t, 'sara', ['scc'], { entityId: owner.entityId });
    const token = await signIn(t, 'sara', req.devices.scc!);
    const s = ok(await start(req, token));
    const owen = await signIn(t, 'owen', owner.devices.dscplus!);
    expect(ok(await cancel(s.request.id, owen)).state).toBe('cancelled');
    const r = await postJson(t.app, `/v1/sharing/${s.request.id}/response`, { confirmationId: s.confirmation.confirmationId, response: answer(owner.devices.dscplus!, s.confirmation.challenge) }, bearer(token));
    expect(errorCode(r)).toBe('SLS_ERR_CONFLICT');
    expect(errorCode(await cancel(s.request.id, owen))).toBe('SLS_ERR_CONFLICT');
    expect(errorCode(await cancel(s.request.id, token))).toBe('SLS_ERR_CONFLICT');
    expect(await cancelAudits()).toMatchObject([{ userId: req.userId, requestId: s.request.id, from: 'started', by: 'owner' }]);
  });

  it('S5: a third user is told the request does not exist, exactly as for an unknown id (no enumeration), and nothing changes', async () => {
    const req = await makeUser(t, 'rina', ['scc'], { entityId: owner.entityId });
    const done = await share(req, await signIn(t, 'rina', req.devices.scc!));
    expect(done.state).toBe('approved');
    // Of the owner's entity too: being near the sharing gives no right to end it.
    const third = await makeUser(t, 'tom', ['dscplus'], { entityId: owner.entityId });
    const tom = await signIn(t, 'tom', third.devices.dscplus!);
    const theirs = await cancel(done.id, tom);
    const unknown = await cancel('shr_doesnotexist', tom);
    expect([theirs.status, errorCode(theirs)]).toEqual([404, 'SLS_ERR_NOT_FOUND']);
    expect(theirs.body).toEqual(unknown.body);
    expect((await t.adb.selectFrom('sharing_requests').select('state').where('id', '=', done.id).executeTakeFirstOrThrow()).state).toBe('approved');
    expect((await t.provisioning.devicesOf('rina')).map((d) => d.status)).toEqual(['inactive']);
    expect(await cancelAudits()).toEqual([]);
  });
});
