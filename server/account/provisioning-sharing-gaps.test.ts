// Sharing and operators' device changes on SQLite and PostgreSQL, three gaps closed
// (server/services/sharing.ts, server/services/provisioning.ts):
// - SPEC N2, S3: the owner's password and device response accepted (`answer`, the request verified)
//   is audited `sharing.verified` in the transaction that verifies it: an entry the audit log refuses
//   verifies nothing (the confirmation stays unused), and the retry is on record exactly once.
// - SPEC S5, D7, D5: a physical device an operator adds (`device add`), assigns (`device assign`) or
//   makes active (`device activate`, `set-status … active`) for a user who shares another user's
//   device (an approved request) is set aside like their own others (`setAsideOnActivation`), and
//   active again when the sharing ends.
// - SPEC D7, D5, D2, L5, L7, W1, S3, D6: `device assign` ends, in its transaction, what is still open
//   on the device for its former owner: portal confirmations (a withdrawal's, a sharing's, an
//   activation's), logins whose challenge is on it. None answers after. Only a physical device is
//   assigned (D7, K1): IB Key, whose pushes those would be, is refused and its push goes on.
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type { ConfirmationChallenge } from '../../core/account-api.ts';
import type { LoginStep } from '../../core/api.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import { errorCode, postJson } from '../testing/http.ts';
import { refuseAuditEvent } from '../testing/refuse-audit.ts';
import { accountServerForEachTest, answer, bearer, makeUser, ok, PASSWORD, PORTAL, signIn, TRADING, USD } from './testing.ts';
import type { AccountTestServer, TestUser } from './testing.ts';

const probe = await probePostgres();

/** Monday 2 November 2026, 10:00 in New York. */
const MONDAY = Date.parse('2026-11-02T15:00:00Z');

interface SharingBody {
  id: string;
  state: string;
}
interface Started {
  request: SharingBody;
  confirmation: ConfirmationChallenge;
}

describeEachBackend('sharing and operators\' device changes (SPEC N2, S3, S5, D5, D7)', probe, (backend) => {
  let t: AccountTestServer;
  accountServerForEachTest(backend, MONDAY, (s) => (t = s));

  const entries = async (event: string): Promise<{ userId: string | null; deviceId: string | null; [detail: string]: unknown }[]> =>
    (await t.adb.selectFrom('audit_log').select(['id', 'user_id', 'device_id', 'details']).where('event', '=', event).execute())
      .sort((a, b) => Number(a.id) - Number(b.id))
      .map((e) => ({ userId: e.user_id, deviceId: e.device_id, ...(JSON.parse(e.details) as Record<string, unknown>) }));
  const statusOf = async (deviceId: string) => (await t.adb.selectFrom('devices').select('status').where('id', '=', deviceId).executeTakeFirstOrThrow()).status;
  const ownerOf = async (deviceId: string) => (await t.adb.selectFrom('devices').select('user_id').where('id', '=', deviceId).executeTakeFirstOrThrow()).user_id;
  const requestState = async (id: string) => (await t.adb.selectFrom('sharing_requests').select('state').where('id', '=', id).executeTakeFirstOrThrow()).state;
  const confirmationState = async (id: string) => (await t.adb.selectFrom('confirmations').select('state').where('id', '=', id).executeTakeFirstOrThrow()).state;
  const setAsideIds = async (id: string) =>
    JSON.parse((await t.adb.selectFrom('sharing_requests').select('deactivated_device_ids').where('id', '=', id).executeTakeFirstOrThrow()).deactivated_device_ids) as string[];

  const start = (token: string, ownerUsername = 'owen') => postJson<Started>(t.app, '/v1/sharing', { ownerUsername, ownerPassword: PASSWORD }, bearer(token));
  const respond = (token: string, s: Started, owner: TestUser) =>
    postJson<SharingBody>(t.app, `/v1/sharing/${s.request.id}/response`, { confirmationId: s.confirmation.confirmationId, response: answer(owner.devices.dscplus!, s.confirmation.challenge) }, bearer(token));
  const submit = (token: string, id: string) => postJson<SharingBody>(t.app, `/v1/sharing/${id}/submit`, {}, bearer(token));

  /** The owner (a DSC+ and a code card), a requester of the same entity with a code card, signed in with it. */
  async function parties() {
    const owner = await makeUser(t, 'owen', ['dscplus', 'scc']);
    const rita = await makeUser(t, 'rita', ['scc'], { entityId: owner.entityId });
    const token = await signIn(t, 'rita', rita.devices.scc!);
    return { owner, rita, token };
  }

  /** S3, S4, S5: rita shares owen's DSC+: approved at once (same entity); her code card is set aside. */
  async function shared(owner: TestUser, token: string): Promise<string> {
    const s = ok(await start(token));
    expect(ok(await respond(token, s, owner)).state).toBe('verified');
    const done = ok(await submit(token, s.request.id));
    expect(done.state).toBe('approved');
    return done.id;
  }

  /** S5: rita ends her sharing, signed in with the shared DSC+. */
  async function cancel(owner: TestUser, id: string): Promise<void> {
    const ritaShared = await signIn(t, 'rita', owner.devices.dscplus!);
    ok(await postJson(t.app, `/v1/sharing/${id}/cancel`, {}, bearer(ritaShared)));
  }

  // --- N2, S3: sharing.verified -------------------------------------------------------------------

  it('N2, S3: the answer verifies the request with its sharing.verified entry, in its transaction', async () => {
    const { owner, rita, token } = await parties();
    const s = ok(await start(token));
    expect(ok(await respond(token, s, owner)).state).toBe('verified');
    expect(await entries('sharing.verified')).toEqual([{ userId: rita.userId, deviceId: owner.devices.dscplus!.device.id, requestId: s.request.id, owner: 'owen' }]);
  });

  it('N2, S3: when sharing.verified cannot be written the request is not verified and its confirmation stays unused; the same answer then verifies it, on record once', async () => {
    const { owner, token } = await parties();
    const s = ok(await start(token));
    const allow = await refuseAuditEvent(t.adb, 'sharing.verified');
    const refused = await respond(token, s, owner);
    expect(refused.status, JSON.stringify(refused.body)).toBe(500);
    expect(await requestState(s.request.id)).toBe('started');
    expect(await confirmationState(s.confirmation.confirmationId)).toBe('challenge');
    // Not submittable: nothing was verified.
    expect(errorCode(await submit(token, s.request.id))).toBe('SLS_ERR_CONFLICT');
    expect(await entries('sharing.verified')).toEqual([]);

    await allow();
    expect(ok(await respond(token, s, owner)).state).toBe('verified');
    expect((await entries('sharing.verified')).map((e) => e.requestId)).toEqual([s.request.id]);
    expect(ok(await submit(token, s.request.id)).state).toBe('approved');
  });

  // --- S5: devices an operator adds, assigns or makes active during a sharing ----------------------

  it('S5, D5, L5, N2: a login whose challenge waits on a device the approval sets aside goes back to the device choice; active again when the sharing ends, the device answers no challenge from before', async () => {
    const { owner, rita, token } = await parties();
    const card = rita.devices.scc!;
    // Her login on another machine, at its challenge on the code card, when the sharing is approved.
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'rita', password: PASSWORD, client: PORTAL }));
    if (step.status !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(step)}`);
    expect(step.challenge.deviceId).toBe(card.device.id);
    const id = await shared(owner, token);
    expect(await statusOf(card.device.id)).toBe('inactive');
    expect(await entries('sharing.approved')).toEqual([
      expect.objectContaining({ requestId: id, deactivated: 1, loginsBackToChoice: 1, loginsEnded: 0, confirmationsEnded: 0, pushesEnded: 0 }),
    ]);
    await cancel(owner, id);
    expect(await statusOf(card.device.id)).toBe('active');
    // Before, the card's old challenge signed her in once the card was back.
    const late = await postJson<LoginStep>(t.app, `/v1/login/${step.transactionId}/response`, { response: answer(card, step.challenge) });
    expect(errorCode(late), JSON.stringify(late.body)).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
    const row = await t.adb.selectFrom('login_transactions').select('state').where('id', '=', step.transactionId).executeTakeFirstOrThrow();
    expect(row).toEqual({ state: 'select_device' });
  });

  it('S5, D7, N2: a physical device slsctl adds active for the requester during the sharing is set aside (audited) and active when the sharing ends; a pending one, or one not physical, is left as it is', async () => {
    const { owner, rita, token } = await parties();
    const id = await shared(owner, token);
    const card = await t.provisioning.addDevice({ username: 'rita', kind: 'dscplus' });
    expect(card.device.status).toBe('inactive');
    expect(await statusOf(card.device.id)).toBe('inactive');
    expect(await setAsideIds(id)).toEqual([rita.devices.scc!.device.id, card.device.id]);
    expect(await entries('device.status_changed')).toMatchObject([{ userId: rita.userId, deviceId: card.device.id, from: 'active', to: 'inactive', requestId: id, by: 'slsctl' }]);
    // D5: the login offers only the shared DSC+.
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'rita', password: PASSWORD, client: PORTAL }));
    expect(step.status === 'challenge' && step.challenge.deviceId).toBe(owner.devices.dscplus!.device.id);

    const pending = await t.provisioning.addDevice({ username: 'rita', kind: 'dscplus', pending: true });
    const sms = await t.provisioning.addDevice({ username: 'rita', kind: 'sms' });
    expect([pending.device.status, await statusOf(pending.device.id), sms.device.status, await statusOf(sms.device.id)]).toEqual(['pending', 'pending', 'active', 'active']);
    expect(await entries('device.status_changed')).toHaveLength(1);

    await cancel(owner, id);
    expect([await statusOf(rita.devices.scc!.device.id), await statusOf(card.device.id)]).toEqual(['active', 'active']);
    expect(await entries('sharing.cancelled')).toMatchObject([{ requestId: id, reactivated: 2 }]);
    await signIn(t, 'rita', card);
  });

  it('S5, N2: a device added during the sharing whose set-aside entry cannot be written is not registered at all', async () => {
    const { owner, rita, token } = await parties();
    const id = await shared(owner, token);
    const allow = await refuseAuditEvent(t.adb, 'device.status_changed');
    await expect(t.provisioning.addDevice({ username: 'rita', kind: 'dscplus' })).rejects.toThrow(/audit refused/);
    expect((await t.adb.selectFrom('devices').select('id').where('user_id', '=', rita.userId).execute()).map((d) => d.id)).toEqual([rita.devices.scc!.device.id]);
    expect(await entries('device.added')).toHaveLength(3);
    expect(await setAsideIds(id)).toEqual([rita.devices.scc!.device.id]);
    await allow();
  });

  it('S5, D7: a physical device slsctl assigns to the requester during the sharing is set aside, and active (and hers) when the sharing ends', async () => {
    const { owner, rita, token } = await parties();
    const nina = await makeUser(t, 'nina', ['dscplus', 'scc'], { entityId: owner.entityId });
    const id = await shared(owner, token);
    const card = nina.devices.dscplus!.device.id;
    const r = await t.provisioning.assignDevice(card, 'rita');
    expect([await ownerOf(card), await statusOf(card)]).toEqual([rita.userId, 'inactive']);
    expect(r).toMatchObject({ changed: true, from: 'nina', setAside: true });
    expect(await setAsideIds(id)).toEqual([rita.devices.scc!.device.id, card]);
    expect((await entries('device.status_changed')).filter((e) => e.to === 'inactive')).toMatchObject([{ userId: rita.userId, deviceId: card, requestId: id }]);
    await cancel(owner, id);
    expect([await statusOf(rita.devices.scc!.device.id), await statusOf(card)]).toEqual(['active', 'active']);
    await signIn(t, 'rita', nina.devices.dscplus!);
  });

  it('S5, D7: the shared device itself assigned to its requester ends the sharing and stays active, hers, beside her own devices active again', async () => {
    const { owner, rita, token } = await parties();
    const id = await shared(owner, token);
    const dsc = owner.devices.dscplus!.device.id;
    const r = await t.provisioning.assignDevice(dsc, 'rita');
    expect(await requestState(id)).toBe('cancelled');
    expect([await ownerOf(dsc), await statusOf(dsc), await statusOf(rita.devices.scc!.device.id)]).toEqual([rita.userId, 'active', 'active']);
    expect(r).toMatchObject({ changed: true, sharingsEnded: 1, setAside: false });
  });

  it('S5, D5, D8: a device slsctl makes active during the sharing (set-status, activate) is set aside again, and active when the sharing ends', async () => {
    const { owner, rita, token } = await parties();
    const card = await t.provisioning.addDevice({ username: 'rita', kind: 'dscplus', pending: true });
    const id = await shared(owner, token);
    expect(await statusOf(card.device.id)).toBe('pending');
    // A card pending at approval, made active by the operator.
    const made = [await t.provisioning.setDeviceStatus(card.device.id, 'active', 'ops-anna')];
    // The code card set aside at approval, set active again by the operator (after a status of its own).
    const scc = rita.devices.scc!.device.id;
    await t.provisioning.setDeviceStatus(scc, 'lost', 'ops-anna');
    made.push(await t.provisioning.setDeviceStatus(scc, 'active', 'ops-anna'));
    expect([await statusOf(scc), await statusOf(card.device.id)]).toEqual(['inactive', 'inactive']);
    expect(made).toEqual([{ setAsideFor: id }, { setAsideFor: id }]);
    expect(await setAsideIds(id)).toEqual([scc, card.device.id]);
    expect((await entries('device.status_changed')).map((e) => [e.deviceId, e.from, e.to, e.by])).toEqual([
      [card.device.id, 'pending', 'active', 'ops-anna'],
      [card.device.id, 'active', 'inactive', 'ops-anna'],
      [scc, 'inactive', 'lost', 'ops-anna'],
      [scc, 'lost', 'active', 'ops-anna'],
      [scc, 'active', 'inactive', 'ops-anna'],
    ]);
    // D5: only the shared DSC+ authenticates her.
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'rita', password: PASSWORD, client: PORTAL }));
    expect(step.status === 'challenge' && step.challenge.deviceId).toBe(owner.devices.dscplus!.device.id);
    await cancel(owner, id);
    expect([await statusOf(scc), await statusOf(card.device.id)]).toEqual(['active', 'active']);
    // Without a sharing, made active is active (D1).
    await t.provisioning.setDeviceStatus(card.device.id, 'inactive', 'ops-anna');
    expect(await t.provisioning.setDeviceStatus(card.device.id, 'active', 'ops-anna')).toEqual({ setAsideFor: null });
    expect(await statusOf(card.device.id)).toBe('active');
  });

  // --- D7, D5: what is open on a device its assign ends ---------------------------------------------

  it('D7, W1, S3, L5: after an assign neither the former owner\'s withdrawal confirmation, nor a sharing\'s on the device, nor a login whose challenge is on it answers; those on other devices stay', async () => {
    const { owner, token: ritaToken } = await parties();
    await makeUser(t, 'nina', ['scc'], { entityId: owner.entityId });
    const dsc = owner.devices.dscplus!;
    // The owner signed in with the code card; a withdrawal's challenge on the DSC+, another on the card.
    const owen = await signIn(t, 'owen', owner.devices.scc!);
    const onDsc = ok(await postJson<ConfirmationChallenge>(t.app, '/v1/withdrawals/challenge', { deviceId: dsc.device.id, amountCents: 1_000 * USD }, bearer(owen)));
    const onCard = ok(await postJson<ConfirmationChallenge>(t.app, '/v1/withdrawals/challenge', { deviceId: owner.devices.scc!.device.id, amountCents: 1_000 * USD }, bearer(owen)));
    // Rita's sharing request waits for the DSC+'s response (S3).
    const s = ok(await start(ritaToken));
    // A login of the owner's with its challenge on the DSC+ (L5).
    const first = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'owen', password: PASSWORD, client: PORTAL }));
    if (first.status !== 'select_device') throw new Error('expected the drop-down');
    const login = ok(await postJson<LoginStep>(t.app, `/v1/login/${first.transactionId}/device`, { deviceId: dsc.device.id, mode: 'default' }));
    if (login.status !== 'challenge') throw new Error('expected a challenge');

    const r = await t.provisioning.assignDevice(dsc.device.id, 'nina');

    // W1: the former owner's withdrawal is not confirmed by the DSC+ now nina's.
    const withdraw = (c: ConfirmationChallenge, device = dsc) =>
      postJson(t.app, '/v1/withdrawals', { amountCents: 1_000 * USD, idempotencyKey: randomUUID(), confirmation: { id: c.confirmationId, response: answer(device, c.challenge) } }, bearer(owen));
    expect(errorCode(await withdraw(onDsc))).toBe('SLS_ERR_TRANSACTION_ENDED');
    expect(await confirmationState(onDsc.confirmationId)).toBe('ended');
    expect(await t.adb.selectFrom('withdrawals').select('id').execute()).toEqual([]);
    // S3: nor the sharing's: its confirmation ended, and the request itself with the assign (S5).
    expect(await confirmationState(s.confirmation.confirmationId)).toBe('ended');
    expect(errorCode(await respond(ritaToken, s, owner))).toBe('SLS_ERR_CONFLICT');
    expect(await requestState(s.request.id)).toBe('cancelled');
    // L5: nor the login's challenge: that login is over.
    const response = await postJson<LoginStep>(t.app, `/v1/login/${login.transactionId}/response`, { response: answer(dsc, login.challenge) });
    expect(errorCode(response)).toBe('SLS_ERR_TRANSACTION_ENDED');
    expect((await t.adb.selectFrom('login_transactions').select('state').where('id', '=', login.transactionId).executeTakeFirstOrThrow()).state).toBe('ended');
    expect(await entries('login.succeeded')).toHaveLength(2);
    // N2: what ended is counted in the assign's entry.
    expect(r).toMatchObject({ changed: true, loginsEnded: 1, confirmationsEnded: 2, pushesEnded: 0 });
    expect(await entries('device.status_changed')).toMatchObject([{ deviceId: dsc.device.id, assignedFrom: 'owen', assignedTo: 'nina', loginsEnded: 1, confirmationsEnded: 2, pushesEnded: 0 }]);

    // Challenges on the owner's other devices are untouched: the card still confirms its withdrawal.
    expect(await confirmationState(onCard.confirmationId)).toBe('challenge');
    ok(await withdraw(onCard, owner.devices.scc!));
    // The device works for its new owner.
    await signIn(t, 'nina', dsc);
  });

  it('D7, D6: a card sent to one user and assigned to another before its activation cannot be activated by the first with the challenge they already had', async () => {
    const { owner } = await parties();
    const nina = await makeUser(t, 'nina', ['scc'], { entityId: owner.entityId });
    const owen = await signIn(t, 'owen', owner.devices.scc!);
    const card = await t.provisioning.addDevice({ username: 'owen', kind: 'dscplus', pending: true });
    const c = ok(await postJson<ConfirmationChallenge>(t.app, '/v1/devices/activation', { serial: card.device.serial }, bearer(owen)));

    const assigned = await t.provisioning.assignDevice(card.device.id, 'nina');
    const r = await postJson(t.app, `/v1/devices/activation/${c.confirmationId}`, { response: answer(card, c.challenge) }, bearer(owen));
    expect(errorCode(r)).toBe('SLS_ERR_TRANSACTION_ENDED');
    expect([await ownerOf(card.device.id), await statusOf(card.device.id)]).toEqual([nina.userId, 'pending']);
    expect(await entries('device.activated')).toEqual([]);
    expect(assigned).toMatchObject({ changed: true, confirmationsEnded: 1 });
    // Its new owner activates it.
    const ninaToken = await signIn(t, 'nina', nina.devices.scc!);
    const mine = ok(await postJson<ConfirmationChallenge>(t.app, '/v1/devices/activation', { serial: card.device.serial }, bearer(ninaToken)));
    expect(ok(await postJson<{ status: string }>(t.app, `/v1/devices/activation/${mine.confirmationId}`, { response: answer(card, mine.challenge) }, bearer(ninaToken))).status).toBe('active');
  });

  it('D7, K1, L7: an IB Key is never assigned (it is its user\'s key in their app): refused, and the push waiting for its owner goes on', async () => {
    const owner = await makeUser(t, 'ivo', ['ibkey']);
    await makeUser(t, 'nina', ['scc'], { entityId: owner.entityId });
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'ivo', password: PASSWORD, client: TRADING }));
    if (step.status !== 'challenge' || step.challenge.type !== 'push') throw new Error(`expected a push, got ${JSON.stringify(step)}`);
    await expect(t.provisioning.assignDevice(owner.devices.ibkey!.device.id, 'nina')).rejects.toMatchObject({ code: 'SLS_ERR_CONFLICT' });
    const rows = await t.services.db
      .withTables<{ ibkey_push_requests: { transaction_id: string; state: string } }>()
      .selectFrom('ibkey_push_requests')
      .select('state')
      .where('transaction_id', '=', step.transactionId)
      .execute();
    expect(rows.map((x) => x.state)).toEqual(['pending']);
    expect((await t.services.db.selectFrom('login_transactions').select('state').where('id', '=', step.transactionId).executeTakeFirstOrThrow()).state).toBe('challenge');
    expect((await t.services.db.selectFrom('devices').select('user_id').where('id', '=', owner.devices.ibkey!.device.id).executeTakeFirstOrThrow()).user_id).toBe(owner.userId);
  });
});
