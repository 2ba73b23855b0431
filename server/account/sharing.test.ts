// Sharing a physical device over HTTP (SPEC S1–S6): the procedure, each refusal, compliance, S5.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfirmationChallenge } from '../../core/account-api.ts';
import type { LoginStep } from '../../core/api.ts';
import { accountServices } from './index.ts';
import { errorCode, postJson } from '../testing/http.ts';
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
    // The requester now logs in with the owner's DSC+ (the only device they can use).
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'rita', password: PASSWORD, client: PORTAL }));
    expect(step.status).toBe('challenge');
    if (step.status === 'challenge') expect(step.challenge.deviceId).toBe(owner.devices.dscplus!.device.id);
    const rita2 = await signIn(t, 'rita', owner.devices.dscplus!);
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

  it('S3: a wrong response from the owner\'s device does not verify the request', async () => {
    const req = await makeUser(t, 'walt', ['scc'], { entityId: owner.entityId });
    const token = await signIn(t, 'walt', req.devices.scc!);
    const s = ok(await start(req, token));
    expect(errorCode(await postJson(t.app, `/v1/sharing/${s.request.id}/response`, { confirmationId: s.confirmation.confirmationId, response: '00000000' }, bearer(token)))).toBe('SLS_ERR_WRONG_RESPONSE');
    expect(errorCode(await postJson(t.app, `/v1/sharing/${s.request.id}/submit`, {}, bearer(token)))).toBe('SLS_ERR_CONFLICT');
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
