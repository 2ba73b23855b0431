// The user's devices over HTTP (SPEC D1, D6, D7, D8, T3): order, send, activate, report, return.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfirmationChallenge, DevicesOverview } from '../../core/account-api.ts';
import type { LoginStep } from '../../core/api.ts';
import { accountServices } from './index.ts';
import { SELF_ACTIVATION_MS } from '../services/devices-admin.ts';
import { errorCode, getJson, postJson } from '../testing/http.ts';
import { answer, bearer, makeUser, ok, PASSWORD, PORTAL, signIn, startAccountServer, USD } from './testing.ts';
import type { AccountTestServer } from './testing.ts';

let t: AccountTestServer;
beforeEach(async () => {
  t = await startAccountServer();
});
afterEach(async () => {
  await t.close();
});

const devicesOf = async (token: string) => ok(await getJson<DevicesOverview>(t.app, '/v1/devices', bearer(token)));

describe('ordering a DSC+ (SPEC D6, D7)', () => {
  it('D6: exactly USD 500,000 may order a DSC+', async () => {
    const u = await makeUser(t, 'rich', ['ibkey'], { balanceUsd: 500_000 });
    const token = await signIn(t, 'rich', u.devices.ibkey!);
    expect((await devicesOf(token)).dscPlus).toEqual({ eligible: true, reason: null });
    const order = await postJson(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token));
    expect(order.status, JSON.stringify(order.body)).toBe(200);
    expect(order.body).toMatchObject({ kind: 'dscplus', state: 'ordered', reason: 'new', depositCents: 0 });
  });

  it('D6: one cent below USD 500,000 is refused with the reason', async () => {
    await t.provisioning.createEntity({ name: 'x' });
    const u = await makeUser(t, 'almost', ['ibkey'], { balanceUsd: 499_999.99, accountNumber: 'U500' });
    const token = await signIn(t, 'almost', u.devices.ibkey!);
    const r = await postJson(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token));
    expect(errorCode(r)).toBe('SLS_ERR_DSCPLUS_NOT_ELIGIBLE');
    expect((r.body as unknown as { error: { message: string } }).error.message).toMatch(/USD 500,000.00 or more; account U500 has USD 499,999.99/);
    expect((await devicesOf(token)).orders).toHaveLength(0);
  });

  it('D6: a user whose second account holds USD 500K may order; the order goes on that account (the desktop names none)', async () => {
    const entityId = await t.provisioning.createEntity({ name: 'two accounts' });
    await t.provisioning.createAccount({ number: 'U100', entityId, balanceUsd: 100_000 });
    await t.provisioning.createAccount({ number: 'U600', entityId, balanceUsd: 600_000 });
    await t.provisioning.createUser({ username: 'twoacc', entityId, password: PASSWORD, accountNumbers: ['U100', 'U600'] });
    const ibkey = await t.provisioning.addDevice({ username: 'twoacc', kind: 'ibkey' });
    const token = await signIn(t, 'twoacc', ibkey);
    expect((await devicesOf(token)).dscPlus).toEqual({ eligible: true, reason: null });
    const order = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    const row = await t.adb.selectFrom('device_orders').innerJoin('accounts', 'accounts.id', 'device_orders.account_id').select('accounts.number').where('device_orders.id', '=', order.id).executeTakeFirstOrThrow();
    expect(row.number).toBe('U600');
  });

  it('D6: with no account at USD 500K the reason names the largest', async () => {
    const entityId = await t.provisioning.createEntity({ name: 'two small accounts' });
    await t.provisioning.createAccount({ number: 'U200', entityId, balanceUsd: 200_000 });
    await t.provisioning.createAccount({ number: 'U300', entityId, balanceUsd: 300_000 });
    await t.provisioning.createUser({ username: 'twosmall', entityId, password: PASSWORD, accountNumbers: ['U200', 'U300'] });
    const token = await signIn(t, 'twosmall', await t.provisioning.addDevice({ username: 'twosmall', kind: 'ibkey' }));
    expect((await devicesOf(token)).dscPlus.reason).toMatch(/account U300 has USD 300,000.00/);
    expect(errorCode(await postJson(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)))).toBe('SLS_ERR_DSCPLUS_NOT_ELIGIBLE');
  });

  it('D7: legacy kinds are never issued: ordering one is refused', async () => {
    const u = await makeUser(t, 'legacy', ['gold']);
    const token = await signIn(t, 'legacy', u.devices.gold!);
    for (const kind of ['gold', 'platinum', 'dsc', 'scc']) {
      expect(errorCode(await postJson(t.app, '/v1/devices/orders', { kind }, bearer(token))), kind).toBe('SLS_ERR_DEVICE_NOT_ISSUED');
    }
    expect(errorCode(await postJson(t.app, '/v1/devices/orders', { kind: 'ibkey' }, bearer(token)))).toBe('SLS_ERR_VALIDATION');
  });

  it('D7: a legacy device keeps working (login and the device list)', async () => {
    const u = await makeUser(t, 'legacy2', ['platinum']);
    const token = await signIn(t, 'legacy2', u.devices.platinum!);
    expect((await devicesOf(token)).devices[0]).toMatchObject({ kind: 'platinum', legacy: true, status: 'active', securityLevel: 3 });
  });
});

describe('sending and activating (SPEC D6, D1, T3)', () => {
  async function orderAndSend(username: string) {
    const u = await makeUser(t, username, ['ibkey', 'scc'], { balanceUsd: 2_000_000 });
    const token = await signIn(t, username, u.devices.ibkey!);
    const order = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    const sent = await accountServices(t.services).devices.sendOrder(order.id, 'test-operator');
    return { u, token, sent };
  }

  it('D6, D1: serial + a correct response activates the DSC+; the other devices stay active', async () => {
    const { token, sent } = await orderAndSend('newcard');
    expect(sent.device.status).toBe('pending');
    const c = ok(await postJson<ConfirmationChallenge>(t.app, '/v1/devices/activation', { serial: sent.device.serial }, bearer(token)));
    expect(c.challenge.type).toBe('response_code');
    const done = await postJson(t.app, `/v1/devices/activation/${c.confirmationId}`, { response: answer(sent, c.challenge) }, bearer(token));
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    const list = await devicesOf(token);
    expect(list.devices.map((d) => [d.kind, d.status])).toEqual([
      ['ibkey', 'active'],
      ['scc', 'active'],
      ['dscplus', 'active'],
    ]);
    expect(list.orders[0]!.state).toBe('activated');
  });

  it('D6: a wrong response does not activate it; an unknown serial is not found', async () => {
    const { token, sent } = await orderAndSend('wrongcard');
    const c = ok(await postJson<ConfirmationChallenge>(t.app, '/v1/devices/activation', { serial: sent.device.serial }, bearer(token)));
    expect(errorCode(await postJson(t.app, `/v1/devices/activation/${c.confirmationId}`, { response: '00000000' }, bearer(token)))).toBe('SLS_ERR_WRONG_RESPONSE');
    expect((await devicesOf(token)).devices.find((d) => d.kind === 'dscplus')?.status).toBe('pending');
    expect(errorCode(await postJson(t.app, '/v1/devices/activation', { serial: '9999999999' }, bearer(token)))).toBe('SLS_ERR_NOT_FOUND');
  });

  it('T3: one minute before 14 days it is still pending; at 14 days it activates itself', async () => {
    const { u, sent } = await orderAndSend('lazy');
    t.clock.advance(SELF_ACTIVATION_MS - 60_000);
    let token = await signIn(t, 'lazy', u.devices.ibkey!);
    expect((await devicesOf(token)).devices.find((d) => d.id === sent.device.id)?.status).toBe('pending');
    t.clock.advance(60_000);
    token = await signIn(t, 'lazy', u.devices.ibkey!);
    const dsc = (await devicesOf(token)).devices.find((d) => d.id === sent.device.id);
    expect(dsc?.status).toBe('active');
    const audit = await t.adb.selectFrom('audit_log').select('event').where('event', '=', 'device.self_activated').execute();
    expect(audit).toHaveLength(1);
  });

});

describe('one DSC+ on its way at a time (SPEC D6, D8)', () => {
  const orders = async (userId: string) => (await t.adb.selectFrom('device_orders').select(['state', 'reason']).where('user_id', '=', userId).execute()).map((o) => `${o.reason}:${o.state}`);
  const message = (a: { body: unknown }) => (a.body as { error: { message: string } }).error.message;

  it('D6: a second order while one is ordered is refused SLS_ERR_CONFLICT, saying which; nothing is added; audited', async () => {
    const u = await makeUser(t, 'eager', ['ibkey'], { balanceUsd: 600_000 });
    const token = await signIn(t, 'eager', u.devices.ibkey!);
    const first = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    const again = await postJson(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token));
    expect(again.status).toBe(409);
    expect(errorCode(again)).toBe('SLS_ERR_CONFLICT');
    expect(message(again)).toMatch(new RegExp(`already on order for you \\(order ${first.id}, .*cancel it before ordering another`));
    // Many more, even at once: still the one order.
    const burst = await Promise.all(Array.from({ length: 10 }, () => postJson(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token))));
    expect(burst.map(errorCode)).toEqual(Array(10).fill('SLS_ERR_CONFLICT'));
    expect(await orders(u.userId)).toEqual(['new:ordered']);
    expect((await devicesOf(token)).orders).toHaveLength(1);
    const refused = await t.adb.selectFrom('audit_log').select('details').where('event', '=', 'device.order_refused').execute();
    expect(refused.map((a) => JSON.parse(a.details))).toContainEqual({ kind: 'dscplus', reason: 'open_order', openOrderId: first.id });
  });

  it('D6: sent and not yet activated still counts; once activated (or cancelled before sending) a new order is taken', async () => {
    const u = await makeUser(t, 'patient', ['ibkey'], { balanceUsd: 600_000 });
    const token = await signIn(t, 'patient', u.devices.ibkey!);
    const first = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    const sent = await accountServices(t.services).devices.sendOrder(first.id, 'test-operator');
    const refused = await postJson(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token));
    expect(errorCode(refused)).toBe('SLS_ERR_CONFLICT');
    expect(message(refused)).toMatch(/already been sent to you .*activate it with its serial number, or report it lost/);
    const c = ok(await postJson<ConfirmationChallenge>(t.app, '/v1/devices/activation', { serial: sent.device.serial }, bearer(token)));
    ok(await postJson(t.app, `/v1/devices/activation/${c.confirmationId}`, { response: answer(sent, c.challenge) }, bearer(token)));
    const second = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    ok(await postJson(t.app, `/v1/devices/orders/${second.id}/cancel`, {}, bearer(token)));
    ok(await postJson(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    expect((await orders(u.userId)).sort()).toEqual(['new:activated', 'new:cancelled', 'new:ordered']);
  });

  it('D6, D8: a sent card reported lost before its activation is no longer on its way: a new order is taken', async () => {
    const u = await makeUser(t, 'unlucky', ['ibkey'], { balanceUsd: 600_000 });
    const token = await signIn(t, 'unlucky', u.devices.ibkey!);
    const first = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    const sent = await accountServices(t.services).devices.sendOrder(first.id, 'test-operator');
    ok(await postJson(t.app, `/v1/devices/${sent.device.id}/report`, { reason: 'lost' }, bearer(token)));
    expect((await postJson(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token))).status).toBe(200);
  });

  it('D8, D6: a second replacement for the same device while the first is on its way is refused, and the report changes nothing', async () => {
    const u = await makeUser(t, 'twice', ['dscplus', 'ibkey']);
    const token = await signIn(t, 'twice', u.devices.ibkey!);
    const url = `/v1/devices/${u.devices.dscplus!.device.id}/report`;
    ok(await postJson(t.app, url, { reason: 'lost', replace: true }, bearer(token)));
    // Found again: client services set it active; then lost again, with a replacement asked again.
    await t.provisioning.setDeviceStatus(u.devices.dscplus!.device.id, 'active');
    const again = await postJson(t.app, url, { reason: 'lost', replace: true }, bearer(token));
    expect(errorCode(again)).toBe('SLS_ERR_CONFLICT');
    expect(message(again)).toMatch(/A replacement Digital Security Card\+ is already on order for you/);
    expect((await t.provisioning.devicesOf('twice')).find((d) => d.id === u.devices.dscplus!.device.id)?.status).toBe('active');
    expect(await orders(u.userId)).toEqual(['replacement:ordered']);
    expect((await t.adb.selectFrom('account_deposits').select('amount_cents').execute()).map((d) => Number(d.amount_cents))).toEqual([2000]);
    // Without a replacement the report goes through.
    expect(ok(await postJson<{ device: { status: string } }>(t.app, url, { reason: 'lost' }, bearer(token))).device.status).toBe('lost');
  });

  it('D8, D5, L8: reporting the device of one\'s own session lost ends that session too (the report itself is answered)', async () => {
    const u = await makeUser(t, 'self', ['dscplus', 'ibkey']);
    const token = await signIn(t, 'self', u.devices.dscplus!);
    const r = await postJson<{ device: { status: string } }>(t.app, `/v1/devices/${u.devices.dscplus!.device.id}/report`, { reason: 'lost' }, bearer(token));
    expect(r.status).toBe(200);
    expect(errorCode(await getJson(t.app, '/v1/devices', bearer(token)))).toBe('SLS_ERR_SESSION_EXPIRED');
  });
});

describe('lost, broken, replaced, returned (SPEC D8)', () => {
  it('D8: a lost DSC+ is deactivated at once and no longer offered at login; the replacement deposit is recorded', async () => {
    const u = await makeUser(t, 'loser', ['dscplus', 'ibkey']);
    const token = await signIn(t, 'loser', u.devices.ibkey!);
    const r = await postJson<{ device: { status: string }; replacement: { depositCents: number; reason: string } }>(
      t.app,
      `/v1/devices/${u.devices.dscplus!.device.id}/report`,
      { reason: 'lost', replace: true },
      bearer(token),
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.device.status).toBe('lost');
    expect(r.body.replacement).toMatchObject({ depositCents: 20 * USD, reason: 'replacement' });
    const deposits = await t.adb.selectFrom('account_deposits').selectAll().execute();
    expect(deposits.map((d) => Number(d.amount_cents))).toEqual([2000]);
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'loser', password: PASSWORD, client: PORTAL }));
    expect(step.status).toBe('challenge'); // only IB Key is left: straight to its challenge
    if (step.status === 'challenge') expect(step.challenge.kind).toBe('ibkey');
  });

  it('D8: a broken device is revoked; a second report is a conflict', async () => {
    const u = await makeUser(t, 'breaker', ['dscplus', 'ibkey']);
    const token = await signIn(t, 'breaker', u.devices.ibkey!);
    const url = `/v1/devices/${u.devices.dscplus!.device.id}/report`;
    expect(ok(await postJson<{ device: { status: string } }>(t.app, url, { reason: 'broken' }, bearer(token))).device.status).toBe('revoked');
    expect(errorCode(await postJson(t.app, url, { reason: 'lost' }, bearer(token)))).toBe('SLS_ERR_CONFLICT');
  });

  it('D8, D7: a legacy device cannot be replaced by the same kind', async () => {
    const u = await makeUser(t, 'oldgold', ['gold', 'ibkey']);
    const token = await signIn(t, 'oldgold', u.devices.ibkey!);
    expect(errorCode(await postJson(t.app, `/v1/devices/${u.devices.gold!.device.id}/report`, { reason: 'lost', replace: true }, bearer(token)))).toBe('SLS_ERR_DEVICE_NOT_ISSUED');
  });

  it('D8: a device no longer needed is returned; never the last active one', async () => {
    const u = await makeUser(t, 'returner', ['dscplus', 'scc']);
    const token = await signIn(t, 'returner', u.devices.dscplus!);
    const r = await postJson<{ status: string }>(t.app, `/v1/devices/${u.devices.scc!.device.id}/return`, {}, bearer(token));
    expect(r.body.status).toBe('returned');
    expect(errorCode(await postJson(t.app, `/v1/devices/${u.devices.dscplus!.device.id}/return`, {}, bearer(token)))).toBe('SLS_ERR_CONFLICT');
  });

  it('D8: only the user\'s own physical devices', async () => {
    const u = await makeUser(t, 'mine', ['dscplus', 'ibkey']);
    const other = await makeUser(t, 'theirs', ['dscplus']);
    const token = await signIn(t, 'mine', u.devices.dscplus!);
    expect(errorCode(await postJson(t.app, `/v1/devices/${other.devices.dscplus!.device.id}/report`, { reason: 'lost' }, bearer(token)))).toBe('SLS_ERR_NOT_FOUND');
    expect(errorCode(await postJson(t.app, `/v1/devices/${u.devices.ibkey!.device.id}/report`, { reason: 'lost' }, bearer(token)))).toBe('SLS_ERR_VALIDATION');
  });
});

describe('cancelling an order while it is pending (SPEC D6, D8)', () => {
  it('D6: the user cancels an order not yet sent; it is audited, and a sent order can no longer be cancelled', async () => {
    const u = await makeUser(t, 'canceller', ['ibkey'], { balanceUsd: 600_000 });
    const token = await signIn(t, 'canceller', u.devices.ibkey!);
    const first = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    const cancelled = await postJson(t.app, `/v1/devices/orders/${first.id}/cancel`, {}, bearer(token));
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body).toMatchObject({ id: first.id, state: 'cancelled', depositCents: 0 });
    expect((await devicesOf(token)).orders.map((o) => o.state)).toEqual(['cancelled']);
    // Twice: a conflict that changes nothing.
    const again = await postJson(t.app, `/v1/devices/orders/${first.id}/cancel`, {}, bearer(token));
    expect(errorCode(again)).toBe('SLS_ERR_CONFLICT');
    const audit = await t.adb.selectFrom('audit_log').selectAll().where('event', '=', 'device.order_cancelled').execute();
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.details)).toMatchObject({ orderId: first.id, by: 'user', depositReleasedCents: 0 });
    // Sent: too late, the device is reported or returned instead.
    const second = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    await accountServices(t.services).devices.sendOrder(second.id, 'test', { serial: '4000555111' });
    const late = await postJson(t.app, `/v1/devices/orders/${second.id}/cancel`, {}, bearer(token));
    expect(errorCode(late)).toBe('SLS_ERR_CONFLICT');
    expect((late.body as unknown as { error: { message: string } }).error.message).toMatch(/already sent/);
  });

  it('D8: cancelling a replacement releases its USD 20 deposit with a matching entry', async () => {
    const u = await makeUser(t, 'replacer', ['dscplus', 'ibkey']);
    const token = await signIn(t, 'replacer', u.devices.ibkey!);
    const r = ok(await postJson<{ replacement: { id: string } }>(t.app, `/v1/devices/${u.devices.dscplus!.device.id}/report`, { reason: 'broken', replace: true }, bearer(token)));
    const c = await postJson(t.app, `/v1/devices/orders/${r.replacement.id}/cancel`, {}, bearer(token));
    expect(c.body).toMatchObject({ state: 'cancelled', reason: 'replacement', depositCents: 0 });
    const deposits = await t.adb.selectFrom('account_deposits').select('amount_cents').orderBy('recorded_at').execute();
    expect(deposits.map((d) => Number(d.amount_cents)).sort((a, b) => a - b)).toEqual([-20 * USD, 20 * USD]);
  });

  it('D6: another user\'s order is not found, and changes nothing', async () => {
    const a = await makeUser(t, 'orderer', ['ibkey'], { balanceUsd: 600_000 });
    const b = await makeUser(t, 'stranger', ['ibkey']);
    const ta = await signIn(t, 'orderer', a.devices.ibkey!);
    const tb = await signIn(t, 'stranger', b.devices.ibkey!);
    const order = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(ta)));
    expect(errorCode(await postJson(t.app, `/v1/devices/orders/${order.id}/cancel`, {}, bearer(tb)))).toBe('SLS_ERR_NOT_FOUND');
    expect((await devicesOf(ta)).orders.map((o) => o.state)).toEqual(['ordered']);
  });
});

describe('returning the last real device beside a temporary one (SPEC D8, T1, D5)', () => {
  const DAY = 24 * 60 * 60 * 1000;
  const statuses = async (username: string) => (await t.provisioning.devicesOf(username)).map((d) => `${d.kind}:${d.status}`);

  it('D8, T1: a live temporary passcode is not "another device": the only code card cannot be returned, and nothing changes', async () => {
    const u = await makeUser(t, 'tilda', ['scc']);
    await t.provisioning.issueTemporaryPasscode('tilda', 'test');
    const token = await signIn(t, 'tilda', u.devices.scc!);
    const r = await postJson(t.app, `/v1/devices/${u.devices.scc!.device.id}/return`, {}, bearer(token));
    expect([r.status, errorCode(r)]).toEqual([409, 'SLS_ERR_CONFLICT']);
    expect(await statuses('tilda')).toEqual(['scc:active', 'temp_passcode:active']);
    expect(await t.adb.selectFrom('audit_log').select('id').where('event', '=', 'device.status_changed').execute()).toEqual([]);
  });

  it('D8, T1, D5: 13 days after a temporary passcode it is listed as revoked, the last real device cannot be returned, and login keeps working', async () => {
    await makeUser(t, 'quinn', []);
    const issued = await t.provisioning.issueTemporaryPasscode('quinn', 'test');
    await signIn(t, 'quinn', { device: { id: issued.deviceId } } as never, PORTAL, () => issued.passcode);
    t.clock.advance(13 * DAY);
    const scc = await t.provisioning.addDevice({ username: 'quinn', kind: 'scc' });
    const token = await signIn(t, 'quinn', scc);
    const listed = await devicesOf(token);
    expect(listed.devices.map((d) => `${d.kind}:${d.status}`)).toEqual(['temp_passcode:revoked', 'scc:active']);
    const r = await postJson(t.app, `/v1/devices/${scc.device.id}/return`, {}, bearer(token));
    expect([r.status, errorCode(r)]).toEqual([409, 'SLS_ERR_CONFLICT']);
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'quinn', password: PASSWORD, client: PORTAL }));
    expect(step.status === 'challenge' && step.challenge.deviceId).toBe(scc.device.id);
  });

  it('D8: another lasting device (here IB Key) still lets the code card be returned', async () => {
    const u = await makeUser(t, 'ines', ['scc', 'ibkey']);
    await t.provisioning.issueTemporaryPasscode('ines', 'test');
    const token = await signIn(t, 'ines', u.devices.scc!);
    expect(ok(await postJson<{ status: string }>(t.app, `/v1/devices/${u.devices.scc!.device.id}/return`, {}, bearer(token))).status).toBe('returned');
  });
});
