// A device taken out of use ends the challenges waiting on it, and made active again it revives none,
// on SQLite and PostgreSQL (server/services/provisioning.ts `changeDeviceStatus`,
// `endChallengesOnDevice`; server/services/devices-admin.ts `retire`; login.ts `respond`):
// - SPEC D5, L5, L2: `slsctl device set-status … inactive` (or lost, returned, revoked), a device
//   reported lost or broken, or returned, by its user: a login whose challenge is on it goes back to
//   the device choice. Made active again, the right response to that challenge signs no one in
//   (SLS_ERR_DEVICE_NOT_AVAILABLE, nothing judged or counted, L6); the login's current step is the
//   drop-down with a device of the same kind preselected, and that device gets a fresh challenge.
//   A client without the drop-down (L3) has its login ended instead (SLS_ERR_TRANSACTION_ENDED).
// - SPEC W1, D6: a withdrawal's or an activation's portal confirmation on it ends
//   (SLS_ERR_TRANSACTION_ENDED): no withdrawal, no activation with the challenge from before.
// - SPEC L7: an IB Key push waiting for it is superseded: the app lists it no more and its approval
//   signs no one in, after the IB Key is active again. The desktop's wait for the push (GET
//   /v1/login/:id/status?wait=) is woken (`tx:<id>`) and answers SLS_ERR_DEVICE_NOT_AVAILABLE, as the
//   response does, so the desktop reads the current step (the drop-down), not NO_CHALLENGE.
// - SPEC S5, D5, L5: a sharing's approval that sets the requester's device aside tells the desktops
//   of the logins it sent back (`tx:<id>`), after it committed.
// - SPEC N2: counted in the `device.status_changed` entry; slsctl says how many, as `device assign` does.
// Before, each answer path refused such a challenge only while the device was out of use.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { ConfirmationChallenge } from '../../core/account-api.ts';
import type { LoginStep } from '../../core/api.ts';
import type { IbKeyApp } from '../../ibkey/app.ts';
import { startOn } from '../conformance/backends.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import { activate, createUser, newApp, PIN, ScriptedPrompter, startLogin, status } from '../ibkey/testkit.ts';
import { notifierOf } from '../services/ibkey-notifier.ts';
import type { ProvisionedDevice } from '../services/provisioning.ts';
import { errorCode, getJson, postJson } from '../testing/http.ts';
import { slsctlAgainst } from '../testing/slsctl-runner.ts';
import type { TestServer } from '../testing/test-server.ts';
import { IBKEY_PUSH_RESEND_MS } from '../verifiers/ibkey-push.ts';
import { accountServerForEachTest, answer, bearer, makeUser, ok, PASSWORD, PORTAL, signIn, USD } from './testing.ts';
import type { AccountTestServer, TestUser } from './testing.ts';

const probe = await probePostgres();

/** Monday 2 November 2026, 10:00 in New York: withdrawal windows open (W2). */
const MONDAY = Date.parse('2026-11-02T15:00:00Z');
/** SPEC L3: a trading platform older than 966 gets no drop-down. */
const OLD_TRADING = { kind: 'trading_platform', version: 960, name: 'TWS 960 test' } as const;

type Challenged = LoginStep & { status: 'challenge' };

function challenged(step: LoginStep): Challenged {
  if (step.status !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(step)}`);
  return step;
}

/** Helpers over one test server (`t()` is read at call time: the server of the running test). */
function helpers(t: () => TestServer) {
  const loginOn = async (username: string, device: ProvisionedDevice, client: object = PORTAL, mode = 'default'): Promise<Challenged> => {
    const first = ok(await postJson<LoginStep>(t().app, '/v1/login', { username, password: PASSWORD, client }));
    if (first.status === 'challenge' && first.challenge.deviceId === device.device.id) return first;
    if (first.status === 'signed_in') throw new Error('signed in without a second factor');
    return challenged(ok(await postJson<LoginStep>(t().app, `/v1/login/${first.transactionId}/device`, { deviceId: device.device.id, mode })));
  };
  const respond = (transactionId: string, response: string) => postJson<LoginStep>(t().app, `/v1/login/${transactionId}/response`, { response });
  const current = (transactionId: string) => getJson<LoginStep>(t().app, `/v1/login/${transactionId}`);
  const choose = (transactionId: string, device: ProvisionedDevice | { device: { id: string } }, mode = 'default') =>
    postJson<LoginStep>(t().app, `/v1/login/${transactionId}/device`, { deviceId: device.device.id, mode });
  const loginRow = (id: string) =>
    t().services.db.selectFrom('login_transactions').select(['state', 'device_id', 'wrong_responses', 'challenge']).where('id', '=', id).executeTakeFirstOrThrow();
  const sessionsOf = async (userId: string) => (await t().services.db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()).length;
  const failures = async () => (await t().services.db.selectFrom('failure_counters').select('subject').execute()).length;
  const entries = async (event: string): Promise<{ deviceId: string | null; [detail: string]: unknown }[]> =>
    (await t().services.db.selectFrom('audit_log').select(['id', 'device_id', 'details']).where('event', '=', event).execute())
      .sort((a, b) => Number(a.id) - Number(b.id))
      .map((e) => ({ deviceId: e.device_id, ...(JSON.parse(e.details) as Record<string, unknown>) }));
  return { loginOn, respond, current, choose, loginRow, sessionsOf, failures, entries };
}

describeEachBackend('a device taken out of use ends the challenges waiting on it; active again, it revives none (SPEC D5, L5, W1, D6)', probe, (backend) => {
  let t: AccountTestServer;
  accountServerForEachTest(backend, MONDAY, (s) => (t = s));
  const { loginOn, respond, current, choose, loginRow, sessionsOf, failures, entries } = helpers(() => t);

  const confirmationState = async (id: string) => (await t.adb.selectFrom('confirmations').select('state').where('id', '=', id).executeTakeFirstOrThrow()).state;
  const withdrawalChallenge = (token: string, device: ProvisionedDevice) =>
    postJson<ConfirmationChallenge>(t.app, '/v1/withdrawals/challenge', { deviceId: device.device.id, amountCents: 1_000 * USD }, bearer(token));
  const withdraw = (token: string, c: ConfirmationChallenge, device: ProvisionedDevice) =>
    postJson(t.app, '/v1/withdrawals', { amountCents: 1_000 * USD, idempotencyKey: randomUUID(), confirmation: { id: c.confirmationId, response: answer(device, c.challenge) } }, bearer(token));
  const withdrawals = async (userId: string) => (await t.adb.selectFrom('withdrawals').select('id').where('user_id', '=', userId).execute()).length;

  it('D5, L5, L2: slsctl sets the DSC+ inactive, then active: the right response to the login\'s challenge on it is refused (DEVICE_NOT_AVAILABLE, nothing counted), the login offers the drop-down with the DSC+ preselected, and a fresh challenge on it signs in', async () => {
    const u = await makeUser(t, 'dora', ['dscplus', 'scc']);
    const dsc = u.devices.dscplus!;
    const onDsc = await loginOn('dora', dsc);
    // Another login of hers, its challenge on the code card: untouched.
    const onCard = await loginOn('dora', u.devices.scc!);

    await t.provisioning.setDeviceStatus(dsc.device.id, 'inactive', 'ops-anna');
    await t.provisioning.setDeviceStatus(dsc.device.id, 'active', 'ops-anna');

    const r = await respond(onDsc.transactionId, answer(dsc, onDsc.challenge));
    expect(r.status, JSON.stringify(r.body)).toBe(409);
    expect(errorCode(r)).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
    // L6: not judged: nothing counted; no session opened.
    expect(await failures()).toBe(0);
    expect(await loginRow(onDsc.transactionId)).toEqual({ state: 'select_device', device_id: dsc.device.id, wrong_responses: 0, challenge: null });
    expect(await sessionsOf(u.userId)).toBe(0);
    // L2, L5: back at the device choice, the device of the same kind preselected.
    const step = ok(await current(onDsc.transactionId));
    expect(step).toMatchObject({ status: 'select_device', preselectedDeviceId: dsc.device.id });
    if (step.status !== 'select_device') throw new Error('unreachable');
    expect(step.devices.map((d) => d.id)).toEqual([dsc.device.id, u.devices.scc!.device.id]);
    // The old challenge stays dead; a fresh one on the DSC+ signs in.
    const fresh = challenged(ok(await choose(onDsc.transactionId, dsc)));
    expect(ok(await respond(onDsc.transactionId, answer(dsc, fresh.challenge))).status).toBe('signed_in');
    expect(ok(await respond(onCard.transactionId, answer(u.devices.scc!, onCard.challenge))).status).toBe('signed_in');
    // N2: counted in the entry of the change that took it out of use; the activation ended nothing.
    expect(await entries('device.status_changed')).toEqual([
      { deviceId: dsc.device.id, from: 'active', to: 'inactive', by: 'ops-anna', sessionsEnded: 0, restartTokensRevoked: 0, loginsBackToChoice: 1, loginsEnded: 0, confirmationsEnded: 0, pushesEnded: 0 },
      { deviceId: dsc.device.id, from: 'inactive', to: 'active', by: 'ops-anna' },
    ]);
  });

  it('D5, L5: so does every status out of use (lost, returned, revoked, pending) with a response while it is out of use too', async () => {
    for (const [i, to] of (['lost', 'returned', 'revoked', 'pending'] as const).entries()) {
      const u = await makeUser(t, `lena${i}`, ['dscplus', 'scc']);
      const dsc = u.devices.dscplus!;
      const step = await loginOn(u.username, dsc);
      await t.provisioning.setDeviceStatus(dsc.device.id, to, 'ops-anna');
      expect(errorCode(await respond(step.transactionId, answer(dsc, step.challenge))), to).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
      expect(ok(await current(step.transactionId)), to).toMatchObject({ status: 'select_device', preselectedDeviceId: u.devices.scc!.device.id });
      await t.provisioning.setDeviceStatus(dsc.device.id, 'active', 'ops-anna');
      expect(errorCode(await respond(step.transactionId, answer(dsc, step.challenge))), to).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
      expect(await sessionsOf(u.userId), to).toBe(0);
    }
  });

  it('L3, D5: the login of a trading platform without the drop-down ends instead (TRANSACTION_ENDED); its next login gets a device that can answer', async () => {
    const u = await makeUser(t, 'otto', ['dscplus', 'scc']);
    const dsc = u.devices.dscplus!;
    // L3: the server picks the strongest device.
    const step = challenged(ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'otto', password: PASSWORD, client: OLD_TRADING })));
    expect(step.challenge.deviceId).toBe(dsc.device.id);
    await t.provisioning.setDeviceStatus(dsc.device.id, 'inactive', 'ops-anna');
    const next = challenged(ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'otto', password: PASSWORD, client: OLD_TRADING })));
    expect(next.challenge.deviceId).toBe(u.devices.scc!.device.id);
    await t.provisioning.setDeviceStatus(dsc.device.id, 'active', 'ops-anna');
    expect(errorCode(await respond(step.transactionId, answer(dsc, step.challenge)))).toBe('SLS_ERR_TRANSACTION_ENDED');
    expect((await loginRow(step.transactionId)).state).toBe('ended');
    expect(await entries('device.status_changed')).toMatchObject([{ to: 'inactive', loginsBackToChoice: 0, loginsEnded: 1 }, { to: 'active' }]);
    expect(ok(await respond(next.transactionId, answer(u.devices.scc!, next.challenge))).status).toBe('signed_in');
  });

  it('W1, D5: a withdrawal challenge on the DSC+ set inactive and active again confirms nothing (TRANSACTION_ENDED); a new challenge on it does', async () => {
    const u = await makeUser(t, 'wim', ['dscplus', 'scc']);
    const dsc = u.devices.dscplus!;
    const token = await signIn(t, 'wim', u.devices.scc!);
    const c = ok(await withdrawalChallenge(token, dsc));
    const onCard = ok(await withdrawalChallenge(token, u.devices.scc!));

    await t.provisioning.setDeviceStatus(dsc.device.id, 'inactive', 'ops-anna');
    await t.provisioning.setDeviceStatus(dsc.device.id, 'active', 'ops-anna');

    expect(errorCode(await withdraw(token, c, dsc))).toBe('SLS_ERR_TRANSACTION_ENDED');
    expect(await confirmationState(c.confirmationId)).toBe('ended');
    expect(await withdrawals(u.userId)).toBe(0);
    expect(await entries('device.status_changed')).toMatchObject([{ to: 'inactive', loginsBackToChoice: 0, confirmationsEnded: 1 }, { to: 'active' }]);
    // The card's challenge is untouched; the DSC+ confirms a new one.
    expect(await confirmationState(onCard.confirmationId)).toBe('challenge');
    ok(await withdraw(token, ok(await withdrawalChallenge(token, dsc)), dsc));
    expect(await withdrawals(u.userId)).toBe(1);
  });

  it('D6, D5: a card\'s activation challenge ends when slsctl takes it out of use; pending again, the challenge from before activates nothing, a new one does', async () => {
    const u = await makeUser(t, 'pia', ['scc']);
    const token = await signIn(t, 'pia', u.devices.scc!);
    const card = await t.provisioning.addDevice({ username: 'pia', kind: 'dscplus', pending: true });
    const c = ok(await postJson<ConfirmationChallenge>(t.app, '/v1/devices/activation', { serial: card.device.serial }, bearer(token)));

    await t.provisioning.setDeviceStatus(card.device.id, 'inactive', 'ops-anna');
    await t.provisioning.setDeviceStatus(card.device.id, 'pending', 'ops-anna');

    const r = await postJson(t.app, `/v1/devices/activation/${c.confirmationId}`, { response: answer(card, c.challenge) }, bearer(token));
    expect(errorCode(r)).toBe('SLS_ERR_TRANSACTION_ENDED');
    expect((await t.adb.selectFrom('devices').select('status').where('id', '=', card.device.id).executeTakeFirstOrThrow()).status).toBe('pending');
    expect(await entries('device.activated')).toEqual([]);
    const again = ok(await postJson<ConfirmationChallenge>(t.app, '/v1/devices/activation', { serial: card.device.serial }, bearer(token)));
    expect(ok(await postJson<{ status: string }>(t.app, `/v1/devices/activation/${again.confirmationId}`, { response: answer(card, again.challenge) }, bearer(token))).status).toBe('active');
  });

  it('D8, D5, L5, W1: a DSC+ its user reports lost, found and made active again by client services (--force), answers neither the login\'s challenge from before nor the withdrawal\'s', async () => {
    const u = await makeUser(t, 'liv', ['dscplus', 'scc']);
    const dsc = u.devices.dscplus!;
    const token = await signIn(t, 'liv', u.devices.scc!);
    const c = ok(await withdrawalChallenge(token, dsc));
    // A login on the card (hers, or whoever holds it) waits for its response.
    const step = await loginOn('liv', dsc);

    ok(await postJson(t.app, `/v1/devices/${dsc.device.id}/report`, { reason: 'lost', replace: false }, bearer(token)));
    expect(await entries('device.status_changed')).toMatchObject([
      { deviceId: dsc.device.id, from: 'active', to: 'lost', reason: 'lost', loginsBackToChoice: 1, loginsEnded: 0, confirmationsEnded: 1, pushesEnded: 0 },
    ]);
    await t.provisioning.setDeviceStatus(dsc.device.id, 'active', 'ops-anna');

    expect(errorCode(await respond(step.transactionId, answer(dsc, step.challenge)))).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
    expect(ok(await current(step.transactionId))).toMatchObject({ status: 'select_device', preselectedDeviceId: dsc.device.id });
    expect(await sessionsOf(u.userId)).toBe(1);
    expect(errorCode(await withdraw(token, c, dsc))).toBe('SLS_ERR_TRANSACTION_ENDED');
    expect(await withdrawals(u.userId)).toBe(0);
  });

  it('D8, D5, L5: a device its user returns, made active again, answers no login challenge from before; the return refused as the last device ends nothing', async () => {
    const u = await makeUser(t, 'rex', ['dscplus', 'scc']);
    const dsc = u.devices.dscplus!;
    const token = await signIn(t, 'rex', u.devices.scc!);
    const step = await loginOn('rex', dsc);
    ok(await postJson(t.app, `/v1/devices/${dsc.device.id}/return`, {}, bearer(token)));
    await t.provisioning.setDeviceStatus(dsc.device.id, 'active', 'ops-anna');
    expect(errorCode(await respond(step.transactionId, answer(dsc, step.challenge)))).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
    expect(await entries('device.status_changed')).toMatchObject([{ to: 'returned', loginsBackToChoice: 1 }, { to: 'active' }]);

    // D8: the only lasting device cannot be returned; the refusal rolls back the challenges' end too.
    const solo = await makeUser(t, 'sol', ['dscplus']);
    const soloToken = await signIn(t, 'sol', solo.devices.dscplus!);
    const waiting = await loginOn('sol', solo.devices.dscplus!);
    expect(errorCode(await postJson(t.app, `/v1/devices/${solo.devices.dscplus!.device.id}/return`, {}, bearer(soloToken)))).toBe('SLS_ERR_CONFLICT');
    expect((await loginRow(waiting.transactionId)).state).toBe('challenge');
    expect(ok(await respond(waiting.transactionId, answer(solo.devices.dscplus!, waiting.challenge))).status).toBe('signed_in');
  });
});

describeEachBackend('slsctl device set-status says what ended waiting on the device (SPEC D5, L5, N2)', probe, (backend) => {
  let t: AccountTestServer;
  // slsctl runs on the real clock: the server's starts at it.
  accountServerForEachTest(backend, Date.now(), (s) => (t = s));
  const { loginOn, respond, current } = helpers(() => t);
  const slsctl = (args: string[]) => slsctlAgainst(t, args);

  it('D5, L5, W1: set-status inactive counts the login back at the device choice and the confirmation ended; activate counts nothing, and revives neither', async () => {
    const u = await makeUser(t, 'cleo', ['dscplus', 'scc']);
    const dsc = u.devices.dscplus!;
    const token = await signIn(t, 'cleo', u.devices.scc!);
    const c = ok(await postJson<ConfirmationChallenge>(t.app, '/v1/withdrawals/challenge', { deviceId: dsc.device.id, amountCents: 100 * USD }, bearer(token)));
    const step = await loginOn('cleo', dsc);
    const what = `${dsc.device.id} (dscplus "${dsc.device.label}" of cleo)`;

    expect(await slsctl(['device', 'set-status', dsc.device.id, 'inactive'])).toEqual({
      code: 0,
      out: `${what}: active → inactive; 1 login(s) and 1 confirmation(s) waiting on it ended (1 of those login(s) back at choosing a device)\n`,
      err: '',
    });
    expect(await slsctl(['device', 'activate', dsc.device.id])).toEqual({ code: 0, out: `${what}: inactive → active\n`, err: '' });
    expect(await slsctl(['device', 'set-status', u.devices.scc!.device.id, 'inactive'])).toMatchObject({
      out: `${u.devices.scc!.device.id} (scc "${u.devices.scc!.device.label}" of cleo): active → inactive; 0 login(s) and 0 confirmation(s) waiting on it ended\n`,
    });

    expect(errorCode(await respond(step.transactionId, answer(dsc, step.challenge)))).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
    expect(ok(await current(step.transactionId))).toMatchObject({ status: 'select_device', preselectedDeviceId: dsc.device.id });
    const w = await postJson(t.app, '/v1/withdrawals', { amountCents: 100 * USD, idempotencyKey: randomUUID(), confirmation: { id: c.confirmationId, response: answer(dsc, c.challenge) } }, bearer(await signIn(t, 'cleo', dsc)));
    expect(errorCode(w)).toBe('SLS_ERR_TRANSACTION_ENDED');
  });
});

describeEachBackend('an IB Key push waiting on a device taken out of use (SPEC L7, D5, L5)', probe, (backend) => {
  let t: TestServer;
  let app: IbKeyApp;
  let prompter: ScriptedPrompter;
  let userId: string;
  beforeEach(async () => {
    t = await startOn(backend, { listen: true });
    userId = await createUser(t, 'jane');
    prompter = new ScriptedPrompter();
    app = newApp(t, 'android', prompter);
    await activate(t, app, prompter, 'jane', userId);
  });
  afterEach(async () => {
    await t.close();
  });
  const { current, choose, loginRow, sessionsOf } = helpers(() => t);

  it('L7, D5: the IB Key set inactive and active again: the push from before is superseded, the app lists it no more, its approval signs no one in; a new push does', async () => {
    const ibkey = (await t.services.db.selectFrom('devices').select(['id', 'user_id', 'kind']).where('user_id', '=', userId).execute()).find((d) => d.kind === 'ibkey')!;
    // A second device, so the login shows the drop-down meanwhile.
    const card = await t.provisioning.addDevice({ username: 'jane', kind: 'scc' });
    const first = await startLogin(t, 'jane');
    if (first.status !== 'select_device') throw new Error(`expected the drop-down, got ${first.status}`);
    const step = challenged(ok(await choose(first.transactionId, { device: { id: ibkey.id } })));
    if (step.challenge.type !== 'push') throw new Error(`expected a push, got ${JSON.stringify(step.challenge)}`);
    const keys = await app.unlock(PIN);
    const request = (await app.poll(keys, 0)).requests.find((x) => x.transactionId === step.transactionId);
    if (!request) throw new Error('the push did not reach the app');

    await t.provisioning.setDeviceStatus(ibkey.id, 'inactive', 'ops-anna');
    expect(ok(await current(step.transactionId))).toMatchObject({ status: 'select_device', preselectedDeviceId: card.device.id });
    await t.provisioning.setDeviceStatus(ibkey.id, 'active', 'ops-anna');

    const pushes = await t.services.db
      .withTables<{ ibkey_push_requests: { transaction_id: string; state: string } }>()
      .selectFrom('ibkey_push_requests')
      .select('state')
      .where('transaction_id', '=', step.transactionId)
      .execute();
    expect(pushes.map((p) => p.state)).toEqual(['superseded']);
    expect((await app.poll(await app.unlock(PIN), 0)).requests.filter((x) => x.transactionId === step.transactionId)).toEqual([]);
    prompter.push(String(step.challenge.matchNumber), PIN);
    await expect(app.answerPush(request)).rejects.toMatchObject({ code: 'SLS_ERR_IBKEY_REQUEST_ENDED' });
    expect((await status(t, step.transactionId)).body.status).not.toBe('signed_in');
    expect(await sessionsOf(ibkey.user_id)).toBe(0);
    expect((await loginRow(step.transactionId)).state).toBe('select_device');

    // L2, K5: the drop-down preselects the IB Key again; a new push (after the 30 s between two, L7), approved, signs in.
    expect(ok(await current(step.transactionId))).toMatchObject({ status: 'select_device', preselectedDeviceId: ibkey.id });
    t.clock.advance(IBKEY_PUSH_RESEND_MS);
    const again = challenged(ok(await choose(step.transactionId, { device: { id: ibkey.id } })));
    if (again.challenge.type !== 'push') throw new Error('expected a push');
    const renewed = (await app.poll(await app.unlock(PIN), 0)).requests.find((x) => x.transactionId === step.transactionId)!;
    prompter.push(String(again.challenge.matchNumber), PIN);
    expect((await app.answerPush(renewed)).outcome).toBe('approved');
    expect((await status(t, step.transactionId)).body.status).toBe('signed_in');
  });
  it('L7, D5, L5, L2: the desktop waiting for the push (?wait=25) when slsctl sets the IB Key inactive is woken and answered DEVICE_NOT_AVAILABLE, not NO_CHALLENGE; so is every later wait, the IB Key active again', async () => {
    const ibkey = (await t.services.db.selectFrom('devices').select(['id', 'kind']).where('user_id', '=', userId).execute()).find((d) => d.kind === 'ibkey')!;
    const card = await t.provisioning.addDevice({ username: 'jane', kind: 'scc' });
    const first = await startLogin(t, 'jane');
    if (first.status !== 'select_device') throw new Error(`expected the drop-down, got ${first.status}`);
    const step = challenged(ok(await choose(first.transactionId, { device: { id: ibkey.id } })));
    if (step.challenge.type !== 'push') throw new Error(`expected a push, got ${JSON.stringify(step.challenge)}`);

    const notifier = notifierOf(t.services.db);
    if (!notifier) throw new Error('no notifier for the server\'s database');
    const told = vi.spyOn(notifier, 'notify');
    // The desktop's long-poll, waiting (subscribed to its login) when the IB Key is taken out of use.
    const subscribe = notifier.subscribe.bind(notifier);
    let waiting!: () => void;
    const subscribed = new Promise<void>((resolve) => (waiting = resolve));
    vi.spyOn(notifier, 'subscribe').mockImplementation((topics) => {
      if (topics.includes(`tx:${step.transactionId}`)) waiting();
      return subscribe(topics);
    });
    const started = Date.now();
    const poll = status(t, step.transactionId, 25);
    await subscribed;
    await new Promise((resolve) => setTimeout(resolve, 100));
    await t.provisioning.setDeviceStatus(ibkey.id, 'inactive', 'ops-anna');
    const woken = await poll;
    expect(woken.body.error?.code, JSON.stringify(woken.body)).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
    expect(woken.code).toBe(409);
    // Woken, not answered at the end of its 25 s.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(told).toHaveBeenCalledWith(`tx:${step.transactionId}`);
    // L2, L5: the desktop reads the current step: the drop-down, the card preselected while the IB Key is out of use.
    expect(ok(await current(step.transactionId))).toMatchObject({ status: 'select_device', preselectedDeviceId: card.device.id });

    await t.provisioning.setDeviceStatus(ibkey.id, 'active', 'ops-anna');
    const later = await status(t, step.transactionId, 0);
    expect(later.body.error?.code, JSON.stringify(later.body)).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
    expect(ok(await current(step.transactionId))).toMatchObject({ status: 'select_device', preselectedDeviceId: ibkey.id });
    expect(await sessionsOf(userId)).toBe(0);
    vi.restoreAllMocks();
  });
});

describeEachBackend('a sharing that sets a device aside tells the desktops of the logins it sent back (SPEC S5, D5, L5, L7)', probe, (backend) => {
  let t: AccountTestServer;
  accountServerForEachTest(backend, MONDAY, (s) => (t = s));
  const { loginRow } = helpers(() => t);

  /** S3, S4, S5: rita (a code card) shares owen's DSC+, approved at once (same entity): her code card is set aside. */
  async function share(owner: TestUser, token: string): Promise<void> {
    const s = ok(await postJson<{ request: { id: string }; confirmation: ConfirmationChallenge }>(t.app, '/v1/sharing', { ownerUsername: 'owen', ownerPassword: PASSWORD }, bearer(token)));
    const response = answer(owner.devices.dscplus!, s.confirmation.challenge);
    ok(await postJson(t.app, `/v1/sharing/${s.request.id}/response`, { confirmationId: s.confirmation.confirmationId, response }, bearer(token)));
    expect(ok(await postJson<{ state: string }>(t.app, `/v1/sharing/${s.request.id}/submit`, {}, bearer(token))).state).toBe('approved');
  }

  it('S5, D5, L5, L7: the approval sends her login at its challenge on the code card back to the device choice and notifies tx:<id> once committed; its status answers DEVICE_NOT_AVAILABLE', async () => {
    const owner = await makeUser(t, 'owen', ['dscplus', 'scc']);
    const rita = await makeUser(t, 'rita', ['scc'], { entityId: owner.entityId });
    const token = await signIn(t, 'rita', rita.devices.scc!);
    const step = challenged(ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'rita', password: PASSWORD, client: PORTAL })));
    expect(step.challenge.deviceId).toBe(rita.devices.scc!.device.id);

    const notifier = notifierOf(t.services.db);
    if (!notifier) throw new Error('no notifier for the server\'s database');
    // What the login is when its desktop is told (read at once, on another connection on PostgreSQL): the change committed.
    const seen: Promise<{ state: string } | undefined>[] = [];
    const notify = notifier.notify.bind(notifier);
    vi.spyOn(notifier, 'notify').mockImplementation((topic) => {
      if (topic === `tx:${step.transactionId}`) seen.push(t.services.db.selectFrom('login_transactions').select('state').where('id', '=', step.transactionId).executeTakeFirst());
      notify(topic);
    });
    await share(owner, token);
    expect(seen).toHaveLength(1);
    expect(await Promise.all(seen)).toEqual([{ state: 'select_device' }]);
    expect(await loginRow(step.transactionId)).toMatchObject({ state: 'select_device', device_id: rita.devices.scc!.device.id });
    const r = await getJson(t.app, `/v1/login/${step.transactionId}/status?wait=0`);
    expect(errorCode(r), JSON.stringify(r.body)).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
    vi.restoreAllMocks();
  });
});
