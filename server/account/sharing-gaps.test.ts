// Device sharing on SQLite and PostgreSQL, four gaps closed (server/services/sharing.ts):
// - SPEC N2, S3: `sharing.started` is written in the transaction that starts the request, so an entry
//   the audit log refuses starts nothing (and replaces nothing); the retry is on record exactly once.
// - SPEC S2, S6: an owner with IB Key and nothing shareable is told how IB Key is shared (add the user
//   in the app, K3), even when SMS was enrolled before it; "no active device" only when none is active.
// - SPEC S3, S5: the owner's GET /v1/sharing lists the requests for their device in every state.
//   Nothing ever waits for the owner's approval: the owner consents at S3 (their password and a
//   response of their device, typed in the requester's session); only compliance approves later (S4).
// - SPEC S5, T3, D6: a physical device of the requester's that becomes active while the sharing is
//   approved is set aside with the others (`setAsideOnActivation`) and active again when it ends.
import { expect, it, vi } from 'vitest';
import type { ConfirmationChallenge } from '../../core/account-api.ts';
import type { LoginStep } from '../../core/api.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import { SELF_ACTIVATION_MS } from '../services/devices-admin.ts';
import { setAsideOnActivation } from '../services/sharing.ts';
import { errorCode, getJson, postJson } from '../testing/http.ts';
import type { Answer } from '../testing/http.ts';
import { refuseAuditEvent } from '../testing/refuse-audit.ts';
import { accountServices } from './index.ts';
import { sessionCaller } from './portal.ts';
import { accountServerForEachTest, answer, bearer, makeUser, ok, PASSWORD, PORTAL, signIn } from './testing.ts';
import type { AccountTestServer, TestUser } from './testing.ts';

const probe = await probePostgres();

/** Monday 2 November 2026, 10:00 in New York. */
const MONDAY = Date.parse('2026-11-02T15:00:00Z');
const IDENT = { dateOfBirth: '1980-04-12', citizenship: 'IT', residenceCountry: 'CH', idDocumentType: 'passport', idDocumentNumber: 'YA1234567' };

interface SharingBody {
  id: string;
  state: string;
  device: { id: string; kind: string };
  requester: { username: string };
  requesterDevices: { id: string; status: string }[];
}
interface Started {
  request: SharingBody;
  confirmation: ConfirmationChallenge;
}

describeEachBackend('device sharing gaps (SPEC N2, S2, S3, S5, S6, T3, D6)', probe, (backend) => {
  let t: AccountTestServer;
  accountServerForEachTest(backend, MONDAY, (s) => (t = s));

  const entries = async (event: string): Promise<{ userId: string | null; deviceId: string | null; [detail: string]: unknown }[]> =>
    (await t.adb.selectFrom('audit_log').select(['id', 'user_id', 'device_id', 'details']).where('event', '=', event).execute())
      .sort((a, b) => Number(a.id) - Number(b.id))
      .map((e) => ({
      userId: e.user_id,
      deviceId: e.device_id,
      ...(JSON.parse(e.details) as Record<string, unknown>),
    }));
  const requestsOf = async (u: TestUser) =>
    (await t.adb.selectFrom('sharing_requests').select(['id', 'state']).where('requester_user_id', '=', u.userId).execute()).sort((a, b) => (a.id < b.id ? -1 : 1));
  const statusOf = async (deviceId: string) => (await t.adb.selectFrom('devices').select('status').where('id', '=', deviceId).executeTakeFirstOrThrow()).status;
  const message = (a: Answer<unknown>) => (a.body as { error?: { message?: string } }).error?.message ?? '';

  const start = (token: string, ownerUsername = 'owen') => postJson<Started>(t.app, '/v1/sharing', { ownerUsername, ownerPassword: PASSWORD }, bearer(token));
  const respond = (token: string, s: Started, owner: TestUser) =>
    postJson<SharingBody>(t.app, `/v1/sharing/${s.request.id}/response`, { confirmationId: s.confirmation.confirmationId, response: answer(owner.devices.dscplus!, s.confirmation.challenge) }, bearer(token));
  const submit = (token: string, id: string) => postJson<SharingBody>(t.app, `/v1/sharing/${id}/submit`, {}, bearer(token));
  const list = async (token: string) => ok(await getJson<{ requests: SharingBody[] }>(t.app, '/v1/sharing', bearer(token))).requests;

  /** The owner (a DSC+) and a requester with a code card, and a DSC+ of the requester's sent, not yet activated (D6, T3). */
  async function parties(opts: { otherEntity?: boolean } = {}) {
    const owner = await makeUser(t, 'owen', ['dscplus'], { entity: IDENT });
    const rita = await makeUser(t, 'rita', ['scc'], opts.otherEntity ? { entity: IDENT } : { entityId: owner.entityId });
    const token = await signIn(t, 'rita', rita.devices.scc!);
    return { owner, rita, token };
  }

  /** S3, S4: the whole procedure; the request approved (same entity) or pending compliance (another entity). */
  async function shared(owner: TestUser, token: string) {
    const s = ok(await start(token));
    expect(ok(await respond(token, s, owner)).state).toBe('verified');
    return ok(await submit(token, s.request.id));
  }

  /** What devices-admin.ts does to activate a device (T3 `selfActivateDue`, D6 `completeActivation`), with the call handed over. */
  const activate = (userId: string, deviceId: string) =>
    t.adb.transaction().execute(async (trx) => {
      const r = await trx.updateTable('devices').set({ status: 'active', activated_at: t.clock.now() }).where('id', '=', deviceId).where('status', '=', 'pending').executeTakeFirst();
      expect(Number(r.numUpdatedRows)).toBe(1);
      return setAsideOnActivation(trx, userId, deviceId, t.clock.now());
    });

  it('N2, S3: a request starts with its sharing.started entry or not at all (the request it would replace stays started); the retry is on record exactly once', async () => {
    const { owner, rita, token } = await parties();
    const first = ok(await start(token));
    expect(await entries('sharing.started')).toEqual([{ userId: rita.userId, deviceId: owner.devices.dscplus!.device.id, requestId: first.request.id, owner: 'owen' }]);

    const allow = await refuseAuditEvent(t.adb, 'sharing.started');
    const refused = await start(token);
    expect(refused.status, JSON.stringify(refused.body)).toBe(500);
    // Nothing started: no new request, no challenge issued for one, the first not replaced (no sharing.cancelled).
    expect(await requestsOf(rita)).toEqual([{ id: first.request.id, state: 'started' }]);
    expect(await t.adb.selectFrom('confirmations').select('id').where('device_id', '=', owner.devices.dscplus!.device.id).execute()).toHaveLength(1);
    expect(await entries('sharing.cancelled')).toEqual([]);

    await allow();
    const retry = ok(await start(token));
    expect(await requestsOf(rita)).toEqual(
      [
        { id: first.request.id, state: 'cancelled' },
        { id: retry.request.id, state: 'started' },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
    expect((await entries('sharing.started')).map((e) => e.requestId)).toEqual([first.request.id, retry.request.id]);
    expect((await entries('sharing.cancelled')).map((e) => [e.requestId, e.replacedBy])).toEqual([[first.request.id, retry.request.id]]);
    // The retry goes on as any request.
    expect(ok(await respond(token, retry, owner)).state).toBe('verified');
  });

  it('S2, S6: an owner with IB Key and nothing shareable is told to add the user in the IB Key app, even when SMS was enrolled first', async () => {
    const { owner, rita, token } = await parties();
    // SMS first (P4 enrols it when the number is verified), IB Key a second later.
    await makeUser(t, 'ivy', ['sms'], { entityId: owner.entityId });
    t.clock.advance(1000);
    await t.provisioning.addDevice({ username: 'ivy', kind: 'ibkey' });
    const r = await start(token, 'ivy');
    expect([r.status, errorCode(r)]).toEqual([409, 'SLS_ERR_SHARING_IBKEY']);
    expect(message(r)).toMatch(/IB Key app.*Add user/);
    expect(await entries('sharing.refused')).toMatchObject([{ userId: rita.userId, owner: 'ivy', reason: 'ibkey_use_add_user' }]);
    expect(await requestsOf(rita)).toEqual([]);
  });

  it('S2, S6: the other owners without a shareable device: IB Key alone (add the user in the app), SMS alone (only physical devices), nothing active (no active device to share)', async () => {
    const { owner, token } = await parties();
    await makeUser(t, 'ivo', ['ibkey'], { entityId: owner.entityId });
    await makeUser(t, 'sam', ['sms'], { entityId: owner.entityId });
    await makeUser(t, 'nora', [], { entityId: owner.entityId });
    const answers = async (username: string) => errorCode(await start(token, username));
    expect(await answers('ivo')).toBe('SLS_ERR_SHARING_IBKEY');
    expect(await answers('sam')).toBe('SLS_ERR_DEVICE_NOT_SHAREABLE');
    expect(await answers('nora')).toBe('SLS_ERR_NO_ACTIVE_DEVICE');
    // S1c: IB Key beside a shareable device does not stand in its way: the card is the one offered.
    await makeUser(t, 'cara', ['ibkey', 'scc'], { entityId: owner.entityId });
    expect(ok(await start(token, 'cara')).request.device.kind).toBe('scc');
  });

  it('S3, S4, S5: the owner\'s list has the requests for their device in every state, as the requester\'s has; none waits for the owner (they consented at S3)', async () => {
    const { owner, token } = await parties();
    const owen = await signIn(t, 'owen', owner.devices.dscplus!);
    const states = async (tok: string) => (await list(tok)).map((r) => [r.requester.username, r.state]);
    const s = ok(await start(token));
    expect(await states(owen)).toEqual([['rita', 'started']]);
    ok(await respond(token, s, owner));
    expect(await states(owen)).toEqual([['rita', 'verified']]);
    // Another entity's requester waits for compliance (S4): the owner sees that too.
    const carl = await makeUser(t, 'carl', ['scc'], { entity: IDENT });
    const carlToken = await signIn(t, 'carl', carl.devices.scc!);
    expect((await shared(owner, carlToken)).state).toBe('pending_compliance');
    expect(ok(await submit(token, s.request.id)).state).toBe('approved');
    expect(new Set(await states(owen))).toEqual(
      new Set([
        ['rita', 'approved'],
        ['carl', 'pending_compliance'],
      ]),
    );
    // The requester's own card is set aside now (S5): she reads her list signed in with the shared DSC+.
    expect(await states(await signIn(t, 'rita', owner.devices.dscplus!))).toEqual([['rita', 'approved']]);
  });

  it('S5, T3, D6, N2: a card of the requester\'s activated while the sharing is approved is set aside with the others (audited with it) and active again when the sharing ends', async () => {
    const { owner, rita, token } = await parties();
    const card = await t.provisioning.addDevice({ username: 'rita', kind: 'dscplus', pending: true });
    const done = await shared(owner, token);
    expect(done.state).toBe('approved');
    expect(await statusOf(rita.devices.scc!.device.id)).toBe('inactive');
    expect(await statusOf(card.device.id)).toBe('pending');

    expect(await activate(rita.userId, card.device.id)).toBe(done.id);
    expect(await statusOf(card.device.id)).toBe('inactive');
    expect(await entries('device.status_changed')).toMatchObject([{ userId: rita.userId, deviceId: card.device.id, from: 'active', to: 'inactive', requestId: done.id }]);
    // The login lists only the shared DSC+ (D5: only active devices authenticate) …
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'rita', password: PASSWORD, client: PORTAL }));
    expect(step.status === 'challenge' && step.challenge.deviceId).toBe(owner.devices.dscplus!.device.id);
    // … and the sharing names both own devices set aside.
    const ritaShared = await signIn(t, 'rita', owner.devices.dscplus!);
    expect((await list(ritaShared))[0]!.requesterDevices.map((d) => [d.id, d.status])).toEqual([
      [rita.devices.scc!.device.id, 'inactive'],
      [card.device.id, 'inactive'],
    ]);

    ok(await postJson(t.app, `/v1/sharing/${done.id}/cancel`, {}, bearer(ritaShared)));
    expect([await statusOf(rita.devices.scc!.device.id), await statusOf(card.device.id)]).toEqual(['active', 'active']);
    expect(await entries('sharing.cancelled')).toMatchObject([{ requestId: done.id, from: 'approved', reactivated: 2 }]);
    await signIn(t, 'rita', card);
  });

  it('S5, N2: when the set-aside entry cannot be written, the activation does not happen either (the card stays pending, the sharing as it was)', async () => {
    const { owner, rita, token } = await parties();
    const card = await t.provisioning.addDevice({ username: 'rita', kind: 'dscplus', pending: true });
    const done = await shared(owner, token);
    const allow = await refuseAuditEvent(t.adb, 'device.status_changed');
    await expect(activate(rita.userId, card.device.id)).rejects.toThrow(/audit refused/);
    expect(await statusOf(card.device.id)).toBe('pending');
    const row = await t.adb.selectFrom('sharing_requests').select(['state', 'deactivated_device_ids']).where('id', '=', done.id).executeTakeFirstOrThrow();
    expect({ state: row.state, ids: JSON.parse(row.deactivated_device_ids) }).toEqual({ state: 'approved', ids: [rita.devices.scc!.device.id] });
    await allow();
    expect(await activate(rita.userId, card.device.id)).toBe(done.id);
    expect(await entries('device.status_changed')).toHaveLength(1);
  });

  it('S5, S4, D1: without an approved sharing nothing is set aside: no sharing, one pending compliance (its approval then sets the card aside with the others), a device that is not physical', async () => {
    const { owner, rita, token } = await parties({ otherEntity: true });
    const card = await t.provisioning.addDevice({ username: 'rita', kind: 'dscplus', pending: true });
    const done = await shared(owner, token);
    expect(done.state).toBe('pending_compliance');
    expect(await activate(rita.userId, card.device.id)).toBeNull();
    expect(await statusOf(card.device.id)).toBe('active');
    // S4, S5: compliance's approval sets aside the own physical devices active then, the card among them.
    expect((await accountServices(t.services).sharing.decide(done.id, true, 'compliance-officer')).state).toBe('approved');
    expect([await statusOf(rita.devices.scc!.device.id), await statusOf(card.device.id)]).toEqual(['inactive', 'inactive']);
    // An IB Key activated during the sharing is not a physical device: it stays active (S5 sets aside physical devices only).
    const ibkey = await t.provisioning.addDevice({ username: 'rita', kind: 'ibkey', pending: true });
    expect(await activate(rita.userId, ibkey.device.id)).toBeNull();
    expect(await statusOf(ibkey.device.id)).toBe('active');
    // A user with no sharing at all: D1, the activated card is simply active.
    const solo = await makeUser(t, 'solo', ['scc']);
    const soloCard = await t.provisioning.addDevice({ username: 'solo', kind: 'dscplus', pending: true });
    expect(await activate(solo.userId, soloCard.device.id)).toBeNull();
    expect(await statusOf(soloCard.device.id)).toBe('active');
    expect(await entries('device.status_changed')).toEqual([]);
  });

  it('S5, N1: a cancel that read the sharing before the card was set aside still makes the card active again', async () => {
    const { owner, rita, token } = await parties();
    const card = await t.provisioning.addDevice({ username: 'rita', kind: 'dscplus', pending: true });
    const done = await shared(owner, token);
    const owen = await sessionCaller(t.adb, await signIn(t, 'owen', owner.devices.dscplus!), t.clock.now());
    // The card activates (and is set aside) between the cancel's read of the request and its
    // transaction: the cancel's first transaction runs the activation, committed, before its own.
    const adb = accountServices(t.services).deps.adb;
    const original = adb.transaction.bind(adb);
    let raced = 0;
    const spy = vi.spyOn(adb, 'transaction').mockImplementationOnce(
      () =>
        ({
          execute: async (body: Parameters<ReturnType<typeof original>['execute']>[0]) => {
            expect(await activate(rita.userId, card.device.id)).toBe(done.id);
            raced++;
            return original().execute(body);
          },
        }) as unknown as ReturnType<typeof original>,
    );
    await accountServices(t.services).sharing.cancel(owen, done.id, '127.0.0.1');
    spy.mockRestore();
    expect(raced).toBe(1);
    expect([await statusOf(rita.devices.scc!.device.id), await statusOf(card.device.id)]).toEqual(['active', 'active']);
    expect(await entries('sharing.cancelled')).toMatchObject([{ requestId: done.id, by: 'owner', reactivated: 2 }]);
  });

  it('S5, T3: end to end, a DSC+ ordered before the sharing that activates itself during it is set aside, and active when the sharing ends', async () => {
    const { owner, rita, token } = await parties();
    const order = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    const sent = await accountServices(t.services).devices.sendOrder(order.id, 'test-operator');
    const done = await shared(owner, token);
    expect(done.state).toBe('approved');
    t.clock.advance(SELF_ACTIVATION_MS + 1000);
    // The login's sweep activates the card (T3) and sets it aside (S5): only the shared DSC+ is offered.
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'rita', password: PASSWORD, client: PORTAL }));
    expect(step.status === 'challenge' && step.challenge.deviceId).toBe(owner.devices.dscplus!.device.id);
    expect(await statusOf(sent.device.id)).toBe('inactive');
    expect((await entries('device.self_activated')).map((e) => e.deviceId)).toEqual([sent.device.id]);
    const ritaShared = await signIn(t, 'rita', owner.devices.dscplus!);
    ok(await postJson(t.app, `/v1/sharing/${done.id}/cancel`, {}, bearer(ritaShared)));
    expect([await statusOf(rita.devices.scc!.device.id), await statusOf(sent.device.id)]).toEqual(['active', 'active']);
    await signIn(t, 'rita', sent);
  });

  it('S5, D7: a set-aside device an operator assigns to another user stays that user\'s and inactive when the sharing ends', async () => {
    const { owner, rita, token } = await parties();
    await makeUser(t, 'nina', ['sms'], { entityId: owner.entityId });
    const done = await shared(owner, token);
    const card = rita.devices.scc!.device.id;
    expect(await statusOf(card)).toBe('inactive');
    await t.provisioning.assignDevice(card, 'nina');
    const ritaShared = await signIn(t, 'rita', owner.devices.dscplus!);
    ok(await postJson(t.app, `/v1/sharing/${done.id}/cancel`, {}, bearer(ritaShared)));
    const row = await t.adb.selectFrom('devices').select(['status', 'user_id']).where('id', '=', card).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'inactive', user_id: (await t.adb.selectFrom('users').select('id').where('username_normalized', '=', 'nina').executeTakeFirstOrThrow()).id });
    expect((await entries('sharing.cancelled')).map((e) => [e.requestId, e.reactivated])).toEqual([[done.id, 0]]);
  });

  it('S5, D6: end to end, a card the requester activates (serial and response) during the sharing is activated and set aside at once', async () => {
    const { owner, rita, token } = await parties();
    const order = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    const sent = await accountServices(t.services).devices.sendOrder(order.id, 'test-operator');
    const done = await shared(owner, token);
    const ritaShared = await signIn(t, 'rita', owner.devices.dscplus!);
    const c = ok(await postJson<ConfirmationChallenge>(t.app, '/v1/devices/activation', { serial: sent.device.serial }, bearer(ritaShared)));
    const view = ok(await postJson<{ status: string }>(t.app, `/v1/devices/activation/${c.confirmationId}`, { response: answer(sent, c.challenge) }, bearer(ritaShared)));
    expect(view.status).toBe('inactive');
    ok(await postJson(t.app, `/v1/sharing/${done.id}/cancel`, {}, bearer(ritaShared)));
    expect([await statusOf(rita.devices.scc!.device.id), await statusOf(sent.device.id)]).toEqual(['active', 'active']);
  });
});
