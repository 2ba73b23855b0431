// Portal confirmations are refused, unjudged and with nothing changed, when the answering device stopped
// being able to authenticate after the challenge was issued (SPEC D5, T1), and while the user is locked
// or the source address is throttled (SPEC L6). Withdrawals (W1), sharing answers (S3) and device
// activation (D6) all go through the same confirmation path.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfirmationChallenge, WithdrawalOverview } from '../../core/account-api.ts';
import { USER_FAILURE_LIMIT } from '../config.ts';
import type { SlsConfig } from '../config.ts';
import { isSlsError } from '../errors.ts';
import type { ProvisionedDevice } from '../services/provisioning.ts';
import { errorCode, getJson, postJson } from '../testing/http.ts';
import { testClock } from '../testing/test-server.ts';
import { consumeConfirmation } from './confirmations.ts';
import { accountServices } from './index.ts';
import { answer, bearer, makeUser, ok, PASSWORD, signIn, startAccountServer, TRADING, USD } from './testing.ts';
import type { AccountTestServer, TestUser } from './testing.ts';

/** A Monday morning in New York (EST, UTC−5): withdrawal windows open. */
const MONDAY = Date.parse('2026-11-02T09:30:00-05:00');
const MINUTE = 60_000;

let t: AccountTestServer;
afterEach(async () => {
  await t.close();
});

const start = async (config: Partial<SlsConfig> = {}) => {
  t = await startAccountServer({ clock: testClock(MONDAY), config });
};

const challenge = (token: string, device: ProvisionedDevice | { device: { id: string } }, amountCents: number) =>
  postJson<ConfirmationChallenge>(t.app, '/v1/withdrawals/challenge', { deviceId: device.device.id, amountCents }, bearer(token));

const submit = (token: string, c: ConfirmationChallenge, amountCents: number, response: string) =>
  postJson(t.app, '/v1/withdrawals', { amountCents, idempotencyKey: randomUUID(), confirmation: { id: c.confirmationId, response } }, bearer(token));

const withdrawalRows = async (u: TestUser) => (await t.adb.selectFrom('withdrawals').select('id').where('user_id', '=', u.userId).execute()).length;
const confirmationRow = (id: string) => t.adb.selectFrom('confirmations').select(['state', 'wrong_responses', 'used_at']).where('id', '=', id).executeTakeFirstOrThrow();
const counters = () => t.adb.selectFrom('failure_counters').select(['scope', 'subject', 'failures', 'locked_until']).orderBy('scope').orderBy('subject').execute();
const withdrawnToday = async (token: string) => ok(await getJson<WithdrawalOverview>(t.app, '/v1/withdrawals', bearer(token))).withdrawnTodayCents;

/** Locks the user as L6 says: 10 wrong passwords. */
async function lock(username: string) {
  for (let i = 0; i < USER_FAILURE_LIMIT; i++) await postJson(t.app, '/v1/login', { username, password: 'wrong-password', client: TRADING });
  expect(errorCode(await postJson(t.app, '/v1/login', { username, password: PASSWORD, client: TRADING }))).toBe('SLS_ERR_USER_LOCKED');
}

describe('a confirmation is answered only while its device can still authenticate (SPEC D5)', () => {
  it('D5: a withdrawal challenge on a DSC+ reported lost before the answer is refused (the report ended it: SLS_ERR_TRANSACTION_ENDED); no withdrawal, limits unchanged, nothing judged', async () => {
    await start();
    const u = await makeUser(t, 'bob', ['dscplus', 'gold']);
    const token = await signIn(t, 'bob', u.devices.gold!);
    const c = ok(await challenge(token, u.devices.dscplus!, 5_000_000 * USD));
    ok(await postJson(t.app, `/v1/devices/${u.devices.dscplus!.device.id}/report`, { reason: 'lost', replace: false }, bearer(token)));

    const w = await submit(token, c, 5_000_000 * USD, answer(u.devices.dscplus!, c.challenge));
    expect(w.status, JSON.stringify(w.body)).toBe(409);
    // D5, L5: the report ended the challenges waiting on the card (devices-admin.ts `retire`), so a
    // card found and made active again confirms nothing with it (device-status-challenges.test.ts).
    expect(errorCode(w)).toBe('SLS_ERR_TRANSACTION_ENDED');
    expect(await withdrawalRows(u)).toBe(0);
    expect(await withdrawnToday(token)).toBe(0);
    // Not judged, not used: ended, nothing counted on it.
    expect(await confirmationRow(c.confirmationId)).toEqual({ state: 'ended', wrong_responses: 0, used_at: null });
    // A wrong answer is not judged either: no failure counted.
    const before = await counters();
    expect(errorCode(await submit(token, c, 5_000_000 * USD, '00000000'))).toBe('SLS_ERR_TRANSACTION_ENDED');
    expect(await counters()).toEqual(before);
    expect(await confirmationRow(c.confirmationId)).toEqual({ state: 'ended', wrong_responses: 0, used_at: null });
  });

  it('D5, T1: a temporary passcode whose portal period ends after the challenge was issued cannot confirm the withdrawal', async () => {
    await start();
    const u = await makeUser(t, 'tess', ['ibkey']);
    const issued = await t.provisioning.issueTemporaryPasscode('tess', 'test');
    // Two minutes before the end of the portal-only period: a challenge on the passcode still works.
    // The session is opened with IB Key: one opened with the passcode ends with it (portal.ts, T1).
    t.clock.set(issued.portalAccessUntil - 2 * MINUTE);
    const passcode = { device: { id: issued.deviceId } };
    const token = await signIn(t, 'tess', u.devices.ibkey!);
    const c = ok(await challenge(token, passcode, 100 * USD));
    t.clock.advance(3 * MINUTE); // the period ended; the confirmation (5 minutes) has not expired

    const w = await submit(token, c, 100 * USD, issued.passcode);
    expect(w.status, JSON.stringify(w.body)).toBe(409);
    expect(errorCode(w)).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
    expect(await withdrawalRows(u)).toBe(0);
    expect(await confirmationRow(c.confirmationId)).toEqual({ state: 'challenge', wrong_responses: 0, used_at: null });
    // And no new challenge on it either (as before the fix).
    expect(errorCode(await challenge(token, passcode, 100 * USD))).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
  });

  it('D5, S3: a sharing answer with the owner\'s DSC+ no longer active is refused; the request stays started', async () => {
    await start();
    const owner = await makeUser(t, 'olive', ['dscplus']);
    const req = await makeUser(t, 'rene', ['scc'], { entityId: owner.entityId });
    const token = await signIn(t, 'rene', req.devices.scc!);
    const s = ok(await postJson<{ request: { id: string }; confirmation: ConfirmationChallenge }>(t.app, '/v1/sharing', { ownerUsername: 'olive', ownerPassword: PASSWORD }, bearer(token)));
    // The device's row alone changes (a report or `slsctl device set-status` may also end the request
    // itself, S5): the confirmation path refuses by the device, whatever else the change did.
    await t.adb.updateTable('devices').set({ status: 'revoked' }).where('id', '=', owner.devices.dscplus!.device.id).execute();

    const r = await postJson(t.app, `/v1/sharing/${s.request.id}/response`, { confirmationId: s.confirmation.confirmationId, response: answer(owner.devices.dscplus!, s.confirmation.challenge) }, bearer(token));
    expect(r.status, JSON.stringify(r.body)).toBe(409);
    expect(errorCode(r)).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
    const row = await t.adb.selectFrom('sharing_requests').select('state').where('id', '=', s.request.id).executeTakeFirstOrThrow();
    expect(row.state).toBe('started');
    expect(await confirmationRow(s.confirmation.confirmationId)).toEqual({ state: 'challenge', wrong_responses: 0, used_at: null });
  });

  it('D5, D6: activating a pending DSC+ reported lost after the challenge is refused (the report ended it: SLS_ERR_TRANSACTION_ENDED); it stays lost', async () => {
    await start();
    const u = await makeUser(t, 'nina', ['ibkey', 'scc'], { balanceUsd: 2_000_000 });
    const token = await signIn(t, 'nina', u.devices.ibkey!);
    const order = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    const sent = await accountServices(t.services).devices.sendOrder(order.id, 'test-operator');
    const c = ok(await postJson<ConfirmationChallenge>(t.app, '/v1/devices/activation', { serial: sent.device.serial }, bearer(token)));
    ok(await postJson(t.app, `/v1/devices/${sent.device.id}/report`, { reason: 'lost', replace: false }, bearer(token)));

    const r = await postJson(t.app, `/v1/devices/activation/${c.confirmationId}`, { response: answer(sent, c.challenge) }, bearer(token));
    expect(r.status, JSON.stringify(r.body)).toBe(409);
    // D5, D6: the report ended the activation's challenge with the card (devices-admin.ts `retire`).
    expect(errorCode(r)).toBe('SLS_ERR_TRANSACTION_ENDED');
    const device = await t.adb.selectFrom('devices').select('status').where('id', '=', sent.device.id).executeTakeFirstOrThrow();
    expect(device.status).toBe('lost');
    expect(await confirmationRow(c.confirmationId)).toEqual({ state: 'ended', wrong_responses: 0, used_at: null });
  });

  it('D5, D2: a device that stops being active between the check and the use of a confirmation still cannot use it (the use is conditional)', async () => {
    await start();
    const u = await makeUser(t, 'rae', ['dscplus', 'gold']);
    const token = await signIn(t, 'rae', u.devices.gold!);
    const c = ok(await challenge(token, u.devices.dscplus!, 100 * USD));
    // The report commits after the answer was checked, before the withdrawal's transaction uses the confirmation.
    await t.adb.updateTable('devices').set({ status: 'lost' }).where('id', '=', u.devices.dscplus!.device.id).execute();
    const used = await consumeConfirmation(t.adb, c.confirmationId, t.clock.now()).then(
      (r) => r,
      (e: unknown) => (isSlsError(e) ? e.code : e),
    );
    expect(used).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
    expect(await confirmationRow(c.confirmationId)).toEqual({ state: 'challenge', wrong_responses: 0, used_at: null });
    // Only its row changed back (not `slsctl device set-status`, which ends the challenges waiting on a
    // device it takes out of use, D5): the same confirmation is usable once, as before.
    await t.adb.updateTable('devices').set({ status: 'active' }).where('id', '=', u.devices.dscplus!.device.id).execute();
    expect(await consumeConfirmation(t.adb, c.confirmationId, t.clock.now())).toBe(true);
    expect(await consumeConfirmation(t.adb, c.confirmationId, t.clock.now())).toBe(false);
  });
});

describe('confirmations honour the user lock and the address throttle (SPEC L6)', () => {
  it('L6: a locked user can neither get a withdrawal challenge nor confirm one issued before the lock, even with the right response', async () => {
    await start();
    const u = await makeUser(t, 'lou', ['dsc']);
    const token = await signIn(t, 'lou', u.devices.dsc!);
    const c = ok(await challenge(token, u.devices.dsc!, 100 * USD));
    await lock('lou');
    const audits = async () => (await t.adb.selectFrom('audit_log').select('event').where('event', 'like', 'withdrawal.%').execute()).length;
    const auditBefore = await audits();

    const again = await challenge(token, u.devices.dsc!, 100 * USD);
    expect(again.status).toBe(423);
    expect(errorCode(again)).toBe('SLS_ERR_USER_LOCKED');
    // Over the limit too: the lock is answered first, and no refusal is audited (nothing changes).
    expect(errorCode(await challenge(token, u.devices.dsc!, 10_000_000 * USD))).toBe('SLS_ERR_USER_LOCKED');

    const w = await submit(token, c, 100 * USD, answer(u.devices.dsc!, c.challenge));
    expect(w.status, JSON.stringify(w.body)).toBe(423);
    expect(errorCode(w)).toBe('SLS_ERR_USER_LOCKED');
    expect((w.body as unknown as { error: { lockedUntil?: string } }).error.lockedUntil).toBeTruthy();
    expect(await withdrawalRows(u)).toBe(0);
    expect(await audits()).toBe(auditBefore);
    expect(await t.adb.selectFrom('confirmations').select('id').execute()).toHaveLength(1);
    expect(await confirmationRow(c.confirmationId)).toEqual({ state: 'challenge', wrong_responses: 0, used_at: null });
    // The portal answers the locked user's session nothing (L6, portal.ts); unlocked, nothing was withdrawn.
    await t.services.throttle.unlockUser('lou');
    expect(await withdrawnToday(token)).toBe(0);
  });

  it('L6: while locked, a wrong answer is not judged: no attempt used, no failure counted', async () => {
    await start();
    const u = await makeUser(t, 'lena', ['dsc']);
    const token = await signIn(t, 'lena', u.devices.dsc!);
    const c = ok(await challenge(token, u.devices.dsc!, 100 * USD));
    await lock('lena');
    const before = await counters();
    for (let i = 0; i < 4; i++) {
      const w = await submit(token, c, 100 * USD, '000000');
      expect(errorCode(w)).toBe('SLS_ERR_USER_LOCKED');
    }
    expect(await counters()).toEqual(before);
    expect(await confirmationRow(c.confirmationId)).toEqual({ state: 'challenge', wrong_responses: 0, used_at: null });
    // Unlocked by client services: the same confirmation is judged again, and the right response confirms.
    await t.services.throttle.unlockUser('lena');
    expect((await submit(token, c, 100 * USD, answer(u.devices.dsc!, c.challenge))).status).toBe(200);
    expect(await withdrawalRows(u)).toBe(1);
  });

  it('L6: from an address over its failure limit, challenges and answers are refused with SLS_ERR_RATE_LIMITED', async () => {
    await start({ addressFailureLimit: 3 });
    const u = await makeUser(t, 'ada', ['dsc']);
    const token = await signIn(t, 'ada', u.devices.dsc!);
    const c = ok(await challenge(token, u.devices.dsc!, 100 * USD));
    for (let i = 0; i < 3; i++) await postJson(t.app, '/v1/login', { username: 'nobody', password: 'wrong-password', client: TRADING });
    const before = await counters();

    const again = await challenge(token, u.devices.dsc!, 100 * USD);
    expect(again.status).toBe(429);
    expect(errorCode(again)).toBe('SLS_ERR_RATE_LIMITED');
    const w = await submit(token, c, 100 * USD, answer(u.devices.dsc!, c.challenge));
    expect(w.status, JSON.stringify(w.body)).toBe(429);
    expect(errorCode(w)).toBe('SLS_ERR_RATE_LIMITED');
    expect(errorCode(await submit(token, c, 100 * USD, '000000'))).toBe('SLS_ERR_RATE_LIMITED');
    expect(await withdrawalRows(u)).toBe(0);
    expect(await withdrawnToday(token)).toBe(0);
    expect(await counters()).toEqual(before);
    expect(await confirmationRow(c.confirmationId)).toEqual({ state: 'challenge', wrong_responses: 0, used_at: null });
  });

  it('L6, S3: a locked requester\'s answer to a sharing challenge is refused; the request stays started', async () => {
    await start();
    const owner = await makeUser(t, 'owen', ['dscplus']);
    const req = await makeUser(t, 'rita', ['scc'], { entityId: owner.entityId });
    const token = await signIn(t, 'rita', req.devices.scc!);
    const s = ok(await postJson<{ request: { id: string }; confirmation: ConfirmationChallenge }>(t.app, '/v1/sharing', { ownerUsername: 'owen', ownerPassword: PASSWORD }, bearer(token)));
    await lock('rita');

    const r = await postJson(t.app, `/v1/sharing/${s.request.id}/response`, { confirmationId: s.confirmation.confirmationId, response: answer(owner.devices.dscplus!, s.confirmation.challenge) }, bearer(token));
    expect(r.status, JSON.stringify(r.body)).toBe(423);
    expect(errorCode(r)).toBe('SLS_ERR_USER_LOCKED');
    const row = await t.adb.selectFrom('sharing_requests').select('state').where('id', '=', s.request.id).executeTakeFirstOrThrow();
    expect(row.state).toBe('started');
    expect(await confirmationRow(s.confirmation.confirmationId)).toEqual({ state: 'challenge', wrong_responses: 0, used_at: null });
  });

  it('L6, D6: a locked user can neither start nor complete a device activation; the device stays pending', async () => {
    await start();
    const u = await makeUser(t, 'nico', ['ibkey', 'scc'], { balanceUsd: 2_000_000 });
    const token = await signIn(t, 'nico', u.devices.ibkey!);
    const order = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    const sent = await accountServices(t.services).devices.sendOrder(order.id, 'test-operator');
    const c = ok(await postJson<ConfirmationChallenge>(t.app, '/v1/devices/activation', { serial: sent.device.serial }, bearer(token)));
    await lock('nico');

    expect(errorCode(await postJson(t.app, '/v1/devices/activation', { serial: sent.device.serial }, bearer(token)))).toBe('SLS_ERR_USER_LOCKED');
    const r = await postJson(t.app, `/v1/devices/activation/${c.confirmationId}`, { response: answer(sent, c.challenge) }, bearer(token));
    expect(r.status, JSON.stringify(r.body)).toBe(423);
    expect(errorCode(r)).toBe('SLS_ERR_USER_LOCKED');
    const device = await t.adb.selectFrom('devices').select('status').where('id', '=', sent.device.id).executeTakeFirstOrThrow();
    expect(device.status).toBe('pending');
    expect(await t.adb.selectFrom('confirmations').select('id').execute()).toHaveLength(1);
  });
});
