// SPEC N2 on SQLite and PostgreSQL: "nothing is ever lost or counted twice". Each change below is
// written in one transaction with its audit entry: when the audit log refuses the entry (a full disk,
// a failing write; here a trigger), the change does not happen either, and the retry once the log
// takes entries again does it, on record exactly once. Before, the entry was written after the
// change's commit, and a failure (or a crash) between the two left the change with no entry.
import { expect, it } from 'vitest';
import type { ConfirmationChallenge } from '../../core/account-api.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import type { StorageBackend } from '../db/pg-testing.ts';
import { SELF_ACTIVATION_MS } from '../services/devices-admin.ts';
import { addToDoNotCall, removeFromDoNotCall } from '../services/phone.ts';
import { postJson } from '../testing/http.ts';
import { refuseAuditEvent } from '../testing/refuse-audit.ts';
import { accountHousekeeping, accountServices } from './index.ts';
import { accountServerForEachTest, answer, bearer, makeUser, ok, PORTAL, signIn } from './testing.ts';
import type { AccountTestServer } from './testing.ts';

const probe = await probePostgres();

/** Monday 2 November 2026, 10:00 in New York. */
const MONDAY = Date.parse('2026-11-02T15:00:00Z');

/**
 * The audit log refuses entries of `event` (as the database would on a full disk) until the returned
 * function is called.
 */
function refuseAudit(t: AccountTestServer, _backend: StorageBackend, event: string): Promise<() => Promise<void>> {
  return refuseAuditEvent(t.adb, event);
}

describeEachBackend('a change and its audit entry, in one transaction (SPEC N2)', probe, (backend) => {
  let t: AccountTestServer;
  accountServerForEachTest(backend, MONDAY, (s) => (t = s));

  const entries = (event: string) => t.adb.selectFrom('audit_log').selectAll().where('event', '=', event).execute();
  const devicesOf = (userId: string) => t.adb.selectFrom('devices').select(['id', 'kind', 'status']).where('user_id', '=', userId).orderBy('created_at').execute();
  const ordersOf = (userId: string) => t.adb.selectFrom('device_orders').select(['id', 'state']).where('user_id', '=', userId).execute();

  it('N2, P1, P4: a number is verified (and SMS enrolled) with mobile.verified or not at all; the same code verifies it after, on record once', async () => {
    const u = await makeUser(t, 'vera', [], { mobile: null });
    const passcode = await t.provisioning.issueTemporaryPasscode('vera', 'test');
    const token = await signIn(t, 'vera', { device: { id: passcode.deviceId } } as never, PORTAL, () => passcode.passcode);
    ok(await postJson(t.app, '/v1/mobile-number', { number: '+44 7400 123456' }, bearer(token)));
    const sms = await t.adb.selectFrom('sms_outbox').select('body').where('purpose', '=', 'verify_number').executeTakeFirstOrThrow();
    const code = /(\d{6})/.exec(sms.body)![1]!;

    const allow = await refuseAudit(t, backend, 'mobile.verified');
    expect((await postJson(t.app, '/v1/mobile-number/verify', { code }, bearer(token))).status).toBe(500);
    const user = () => t.adb.selectFrom('users').select(['mobile_number', 'mobile_verified_at']).where('id', '=', u.userId).executeTakeFirstOrThrow();
    expect(await user()).toEqual({ mobile_number: null, mobile_verified_at: null });
    expect((await devicesOf(u.userId)).filter((d) => d.kind === 'sms')).toEqual([]);

    await allow();
    const done = ok(await postJson<{ enrolledInSms: boolean }>(t.app, '/v1/mobile-number/verify', { code }, bearer(token)));
    expect(done.enrolledInSms).toBe(true);
    expect((await user()).mobile_number).toBe('+447400123456');
    const sms2 = (await devicesOf(u.userId)).filter((d) => d.kind === 'sms');
    expect(sms2).toHaveLength(1);
    expect((await entries('mobile.verified')).map((e) => e.device_id)).toEqual([sms2[0]!.id]);
  });

  it('N2, P1, P5: a number verification code is stored with its mobile.code_sent entry before its SMS is written to the outbox, or neither; the retry writes one, on record once', async () => {
    const u = await makeUser(t, 'cora', [], { mobile: null });
    const passcode = await t.provisioning.issueTemporaryPasscode('cora', 'test');
    const token = await signIn(t, 'cora', { device: { id: passcode.deviceId } } as never, PORTAL, () => passcode.passcode);
    const outbox = () => t.adb.selectFrom('sms_outbox').select('body').where('purpose', '=', 'verify_number').execute();
    const verifications = () => t.adb.selectFrom('mobile_verifications').select('number').where('user_id', '=', u.userId).execute();

    const allow = await refuseAudit(t, backend, 'mobile.code_sent');
    expect((await postJson(t.app, '/v1/mobile-number', { number: '+44 7400 123456' }, bearer(token))).status).toBe(500);
    expect(await outbox()).toEqual([]);
    expect(await verifications()).toEqual([]);

    await allow();
    ok(await postJson(t.app, '/v1/mobile-number', { number: '+44 7400 123456' }, bearer(token)));
    expect(await outbox()).toHaveLength(1);
    expect(await verifications()).toEqual([{ number: '+447400123456' }]);
    expect((await entries('mobile.code_sent')).map((e) => [e.user_id, JSON.parse(e.details)])).toEqual([[u.userId, { masked: '+44 ••• ••• ••56', deferredUntil: null }]]);
    const code = /(\d{6})/.exec((await outbox())[0]!.body)![1]!;
    expect(ok(await postJson<{ verified: boolean }>(t.app, '/v1/mobile-number/verify', { code }, bearer(token))).verified).toBe(true);
  });

  it('N2, O1, O3: an opt-out (and back in) happens with its sls.opted_out (sls.opted_in) entry or not at all, on record once', async () => {
    const jane = await makeUser(t, 'jane', ['dscplus']);
    const token = await signIn(t, 'jane', jane.devices.dscplus!);
    const row = () => t.adb.selectFrom('sls_opt_outs').select('user_id').where('user_id', '=', jane.userId).execute();

    let allow = await refuseAudit(t, backend, 'sls.opted_out');
    expect((await postJson(t.app, '/v1/sls/opt-out', {}, bearer(token))).status).toBe(500);
    expect(await row()).toEqual([]);
    await allow();
    expect(ok(await postJson<{ optedOut: boolean }>(t.app, '/v1/sls/opt-out', {}, bearer(token))).optedOut).toBe(true);
    expect(await entries('sls.opted_out')).toHaveLength(1);

    allow = await refuseAudit(t, backend, 'sls.opted_in');
    expect((await postJson(t.app, '/v1/sls/opt-in', {}, bearer(token))).status).toBe(500);
    expect(await row()).toHaveLength(1);
    await allow();
    expect(ok(await postJson<{ optedOut: boolean }>(t.app, '/v1/sls/opt-in', {}, bearer(token))).optedOut).toBe(false);
    expect(await entries('sls.opted_in')).toHaveLength(1);
    expect(await entries('sls.opted_out')).toHaveLength(1);
  });

  it('N2, D6: a DSC+ is ordered with its device.ordered entry or not at all, on record once', async () => {
    const u = await makeUser(t, 'otto', ['ibkey']);
    const token = await signIn(t, 'otto', u.devices.ibkey!);
    const allow = await refuseAudit(t, backend, 'device.ordered');
    expect((await postJson(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token))).status).toBe(500);
    expect(await ordersOf(u.userId)).toEqual([]);
    await allow();
    const order = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    expect(await ordersOf(u.userId)).toEqual([{ id: order.id, state: 'ordered' }]);
    expect((await entries('device.ordered')).map((e) => JSON.parse(e.details).orderId)).toEqual([order.id]);
  });

  it('N2, D8: a device reported lost with a replacement: the report, the order and its deposit happen with device.ordered or not at all, on record once', async () => {
    const u = await makeUser(t, 'rita', ['dscplus', 'ibkey']);
    const token = await signIn(t, 'rita', u.devices.ibkey!);
    const card = u.devices.dscplus!.device.id;
    const url = `/v1/devices/${card}/report`;
    const allow = await refuseAudit(t, backend, 'device.ordered');
    expect((await postJson(t.app, url, { reason: 'lost', replace: true }, bearer(token))).status).toBe(500);
    expect((await devicesOf(u.userId)).find((d) => d.id === card)?.status).toBe('active');
    expect(await ordersOf(u.userId)).toEqual([]);
    expect(await t.adb.selectFrom('account_deposits').select('id').execute()).toEqual([]);
    expect(await entries('device.status_changed')).toEqual([]);
    await allow();
    const r = ok(await postJson<{ replacement: { id: string } }>(t.app, url, { reason: 'lost', replace: true }, bearer(token)));
    expect((await devicesOf(u.userId)).find((d) => d.id === card)?.status).toBe('lost');
    expect((await entries('device.ordered')).map((e) => JSON.parse(e.details))).toEqual([{ orderId: r.replacement.id, kind: 'dscplus', replaces: card, depositCents: 2000 }]);
    expect(await entries('device.status_changed')).toHaveLength(1);
  });

  it('N2, D6, D8: an order is cancelled with its device.order_cancelled entry or not at all, on record once', async () => {
    const u = await makeUser(t, 'cleo', ['ibkey']);
    const token = await signIn(t, 'cleo', u.devices.ibkey!);
    const order = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    const allow = await refuseAudit(t, backend, 'device.order_cancelled');
    expect((await postJson(t.app, `/v1/devices/orders/${order.id}/cancel`, {}, bearer(token))).status).toBe(500);
    expect(await ordersOf(u.userId)).toEqual([{ id: order.id, state: 'ordered' }]);
    await allow();
    ok(await postJson(t.app, `/v1/devices/orders/${order.id}/cancel`, {}, bearer(token)));
    expect(await ordersOf(u.userId)).toEqual([{ id: order.id, state: 'cancelled' }]);
    expect(await entries('device.order_cancelled')).toHaveLength(1);
  });

  it('N2, D6: an order is sent (its pending card registered) with device.sent or not at all, on record once with its device.added', async () => {
    const u = await makeUser(t, 'sam', ['ibkey']);
    const token = await signIn(t, 'sam', u.devices.ibkey!);
    const order = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    const { devices } = accountServices(t.services);
    const allow = await refuseAudit(t, backend, 'device.sent');
    await expect(devices.sendOrder(order.id, 'test-operator')).rejects.toThrow(/audit refused/);
    expect(await ordersOf(u.userId)).toEqual([{ id: order.id, state: 'ordered' }]);
    expect((await devicesOf(u.userId)).map((d) => d.kind)).toEqual(['ibkey']);
    await allow();
    const sent = await devices.sendOrder(order.id, 'test-operator');
    expect(await ordersOf(u.userId)).toEqual([{ id: order.id, state: 'sent' }]);
    expect((await entries('device.sent')).map((e) => e.device_id)).toEqual([sent.device.id]);
    expect((await entries('device.added')).filter((e) => e.device_id !== u.devices.ibkey!.device.id).map((e) => e.device_id)).toEqual([sent.device.id]);
  });

  it('N2, D6: a received card is activated with device.activated or not at all; the same confirmation activates it after, on record once', async () => {
    const u = await makeUser(t, 'ada', ['ibkey']);
    const token = await signIn(t, 'ada', u.devices.ibkey!);
    const order = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    const sent = await accountServices(t.services).devices.sendOrder(order.id, 'test-operator');
    const c = ok(await postJson<ConfirmationChallenge>(t.app, '/v1/devices/activation', { serial: sent.device.serial }, bearer(token)));
    const complete = () => postJson(t.app, `/v1/devices/activation/${c.confirmationId}`, { response: answer(sent, c.challenge) }, bearer(token));
    const allow = await refuseAudit(t, backend, 'device.activated');
    expect((await complete()).status).toBe(500);
    expect((await devicesOf(u.userId)).find((d) => d.id === sent.device.id)?.status).toBe('pending');
    await allow();
    ok(await complete());
    expect((await devicesOf(u.userId)).find((d) => d.id === sent.device.id)?.status).toBe('active');
    expect((await entries('device.activated')).map((e) => e.device_id)).toEqual([sent.device.id]);
  });

  it('N2, T3: a card self-activates after 14 days with device.self_activated or not at all, on record once', async () => {
    const u = await makeUser(t, 'tom', ['ibkey']);
    const token = await signIn(t, 'tom', u.devices.ibkey!);
    const order = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    const sent = await accountServices(t.services).devices.sendOrder(order.id, 'test-operator');
    t.clock.advance(SELF_ACTIVATION_MS + 1000);
    // The sweep a login and `slsctl order sweep` run (account/restrictions.ts).
    const sweep = () => accountHousekeeping(t.services.db, t.services.now());
    const allow = await refuseAudit(t, backend, 'device.self_activated');
    await expect(sweep()).rejects.toThrow(/audit refused/);
    expect((await devicesOf(u.userId)).find((d) => d.id === sent.device.id)?.status).toBe('pending');
    expect(await ordersOf(u.userId)).toEqual([{ id: order.id, state: 'sent' }]);
    await allow();
    await sweep();
    expect((await devicesOf(u.userId)).find((d) => d.id === sent.device.id)?.status).toBe('active');
    expect((await entries('device.self_activated')).map((e) => e.device_id)).toEqual([sent.device.id]);
  });

  it('N2, T1: a temporary passcode is issued with temporary_access.issued or not at all, and the retry is not refused as a second in a row', async () => {
    const u = await makeUser(t, 'tia', ['dscplus']);
    const allow = await refuseAudit(t, backend, 'temporary_access.issued');
    await expect(t.provisioning.issueTemporaryPasscode('tia', 'test')).rejects.toThrow(/audit refused/);
    expect((await devicesOf(u.userId)).map((d) => d.kind)).toEqual(['dscplus']);
    expect(await t.adb.selectFrom('temporary_passcodes').select('device_id').execute()).toEqual([]);
    await allow();
    const issued = await t.provisioning.issueTemporaryPasscode('tia', 'test');
    expect((await entries('temporary_access.issued')).map((e) => e.device_id)).toEqual([issued.deviceId]);
  });

  it('N2, D1, D7: a device is added (device.added) and assigned to another user (device.status_changed) with its entry or not at all, on record once', async () => {
    const a = await makeUser(t, 'alma', []);
    const b = await makeUser(t, 'bert', []);
    let allow = await refuseAudit(t, backend, 'device.added');
    await expect(t.provisioning.addDevice({ username: 'alma', kind: 'scc' })).rejects.toThrow(/audit refused/);
    expect(await devicesOf(a.userId)).toEqual([]);
    expect(await t.adb.selectFrom('scc_cells').select('device_id').execute()).toEqual([]);
    await allow();
    const added = await t.provisioning.addDevice({ username: 'alma', kind: 'scc' });
    expect((await entries('device.added')).map((e) => e.device_id)).toEqual([added.device.id]);

    allow = await refuseAudit(t, backend, 'device.status_changed');
    await expect(t.provisioning.assignDevice(added.device.id, 'bert')).rejects.toThrow(/audit refused/);
    expect((await devicesOf(a.userId)).map((d) => d.id)).toEqual([added.device.id]);
    await allow();
    await t.provisioning.assignDevice(added.device.id, 'bert');
    expect((await devicesOf(b.userId)).map((d) => d.id)).toEqual([added.device.id]);
    expect((await entries('device.status_changed')).map((e) => [e.user_id, e.device_id])).toEqual([[b.userId, added.device.id]]);
  });

  it('N2: an entity, an account and a user are created with their entries or not at all, on record once', async () => {
    let allow = await refuseAudit(t, backend, 'entity.created');
    await expect(t.provisioning.createEntity({ name: 'Ent' })).rejects.toThrow(/audit refused/);
    expect(await t.adb.selectFrom('entities').select('id').execute()).toEqual([]);
    await allow();
    const entityId = await t.provisioning.createEntity({ name: 'Ent' });
    expect((await entries('entity.created')).map((e) => JSON.parse(e.details).entityId)).toEqual([entityId]);

    allow = await refuseAudit(t, backend, 'account.created');
    await expect(t.provisioning.createAccount({ number: 'U777', entityId })).rejects.toThrow(/audit refused/);
    expect(await t.adb.selectFrom('accounts').select('id').execute()).toEqual([]);
    await allow();
    const accountId = await t.provisioning.createAccount({ number: 'U777', entityId });
    expect((await entries('account.created')).map((e) => JSON.parse(e.details).accountId)).toEqual([accountId]);

    allow = await refuseAudit(t, backend, 'user.created');
    await expect(t.provisioning.createUser({ username: 'newt', entityId, accountNumbers: ['U777'] })).rejects.toThrow(/audit refused/);
    expect(await t.adb.selectFrom('users').select('id').execute()).toEqual([]);
    await allow();
    const userId = await t.provisioning.createUser({ username: 'newt', entityId, accountNumbers: ['U777'] });
    expect((await entries('user.created')).map((e) => e.user_id)).toEqual([userId]);
  });

  it('N2, P2: a number is added to and removed from the do-not-call list with its entry or not at all, on record once', async () => {
    const { deps } = accountServices(t.services);
    const listed = () => t.adb.selectFrom('do_not_call').select('number').execute();
    let allow = await refuseAudit(t, backend, 'mobile.do_not_call_added');
    await expect(addToDoNotCall(deps, '+447400123456', 'op')).rejects.toThrow(/audit refused/);
    expect(await listed()).toEqual([]);
    await allow();
    await addToDoNotCall(deps, '+447400123456', 'op');
    expect(await listed()).toEqual([{ number: '+447400123456' }]);
    expect(await entries('mobile.do_not_call_added')).toHaveLength(1);

    allow = await refuseAudit(t, backend, 'mobile.do_not_call_removed');
    await expect(removeFromDoNotCall(deps, '+447400123456', 'op')).rejects.toThrow(/audit refused/);
    expect(await listed()).toEqual([{ number: '+447400123456' }]);
    await allow();
    expect(await removeFromDoNotCall(deps, '+447400123456', 'op')).toBe(true);
    expect(await listed()).toEqual([]);
    expect(await entries('mobile.do_not_call_removed')).toHaveLength(1);
  });
});
