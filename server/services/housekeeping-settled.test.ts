// Housekeeping of settled requests (SPEC S3–S5 sharing, D6, D8 device orders, N1 bounded storage, N2
// audit log): cancelled or rejected rows go a retention after their audited settlement, open ones
// never; on SQLite and PostgreSQL.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfirmationChallenge } from '../../core/account-api.ts';
import { accountServices } from '../account/index.ts';
import { accountDb } from '../account/schema.ts';
import { answer, bearer, makeUser, ok, PASSWORD, signIn } from '../account/testing.ts';
import type { TestUser } from '../account/testing.ts';
import { loadConfig } from '../config.ts';
import { startOn } from '../conformance/backends.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import { getJson, postJson } from '../testing/http.ts';
import type { TestServer } from '../testing/test-server.ts';
import { appendAudit } from './audit.ts';
import { sweepExpired, totalDeleted } from './housekeeping.ts';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const GRACE = DAY;
const IDENT = { dateOfBirth: '1980-04-12', citizenship: 'IT', residenceCountry: 'CH', idDocumentType: 'passport', idDocumentNumber: 'YA1234567' };
const probe = await probePostgres();

interface SharingBody {
  id: string;
  state: string;
}
interface OrderBody {
  id: string;
  state: string;
  reason: string;
}

describeEachBackend('housekeeping of settled sharing requests and device orders', probe, (backend) => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startOn(backend);
  });
  afterEach(async () => {
    await t.close();
  });

  const sweep = (settledRetentionMs: number | undefined, batchSize = 2) =>
    sweepExpired(t.services.db, t.clock.now(), { graceMs: GRACE, addressFailureWindowMs: t.config.addressFailureWindowMs, batchSize, ...(settledRetentionMs === undefined ? {} : { settledRetentionMs }) });
  const sharingIds = async () => (await accountDb(t.services.db).selectFrom('sharing_requests').select(['id', 'state']).orderBy('id').execute()).map((r) => `${r.id}:${r.state}`);
  const orderIds = async () => (await accountDb(t.services.db).selectFrom('device_orders').select(['id', 'state']).orderBy('id').execute()).map((r) => `${r.id}:${r.state}`);
  const auditCount = async () => Number((await t.services.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  /** SPEC S3: start (the owner's password), the owner's device answers, submit. */
  async function share(owner: TestUser, token: string): Promise<SharingBody> {
    const s = ok(await postJson<{ request: SharingBody; confirmation: ConfirmationChallenge }>(t.app, '/v1/sharing', { ownerUsername: owner.username, ownerPassword: PASSWORD }, bearer(token)));
    const { confirmationId, challenge } = s.confirmation;
    ok(await postJson(t.app, `/v1/sharing/${s.request.id}/response`, { confirmationId, response: answer(owner.devices.dscplus!, challenge) }, bearer(token)));
    return ok(await postJson<SharingBody>(t.app, `/v1/sharing/${s.request.id}/submit`, {}, bearer(token)));
  }
  const sharingList = async (token: string) => ok(await getJson<{ requests: SharingBody[] }>(t.app, '/v1/sharing', bearer(token))).requests;
  const ordersList = async (token: string) => ok(await getJson<{ orders: OrderBody[] }>(t.app, '/v1/devices', bearer(token))).orders;

  it('deletes sharing requests cancelled or rejected and device orders cancelled a retention after their audited settlement; open ones, and what the users see of them, stay (S3–S5, D6, D8, N2)', async () => {
    const owner = await makeUser(t, 'owen', ['dscplus'], { entity: IDENT });
    const rita = await makeUser(t, 'rita', ['scc'], { entityId: owner.entityId });
    const rex = await makeUser(t, 'rex', ['scc'], { entity: { ...IDENT, idDocumentNumber: 'ya 123-4567' } });
    const pia = await makeUser(t, 'pia', ['scc'], { entityId: owner.entityId });
    const olga = await makeUser(t, 'olga', ['dscplus', 'scc']);
    // Each step a minute after the last, so the lists' newest-first order is the same on every backend.
    const t0 = t.clock.now();
    const later = () => t.clock.advance(MIN);

    // S5: approved, then cancelled by the requester. S4: rejected by compliance.
    const ritaToken = await signIn(t, 'rita', rita.devices.scc!);
    const cancelled = await share(owner, ritaToken);
    // Her own card set aside (S5), she signs in with the shared one to cancel.
    ok(await postJson(t.app, `/v1/sharing/${cancelled.id}/cancel`, {}, bearer(await signIn(t, 'rita', owner.devices.dscplus!))));
    later();
    const rejected = await share(owner, await signIn(t, 'rex', rex.devices.scc!));
    expect(rejected.state).toBe('pending_compliance');
    await accountServices(t.services).sharing.decide(rejected.id, false, 'compliance-officer');
    later();
    // S3, S5: a request only started is replaced (cancelled) by a new start; the new one is approved and stays open.
    const piaToken = await signIn(t, 'pia', pia.devices.scc!);
    const replaced = ok(await postJson<{ request: SharingBody }>(t.app, '/v1/sharing', { ownerUsername: 'owen', ownerPassword: PASSWORD }, bearer(piaToken))).request;
    later();
    const open = await share(owner, piaToken);
    expect(open.state).toBe('approved');

    // D6: an order cancelled; D8: a replacement cancelled, its deposit and release naming it; an order open.
    const olgaToken = await signIn(t, 'olga', olga.devices.scc!);
    const dropped = ok(await postJson<OrderBody>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(olgaToken)));
    ok(await postJson(t.app, `/v1/devices/orders/${dropped.id}/cancel`, {}, bearer(olgaToken)));
    later();
    const replacement = ok(await postJson<{ replacement: OrderBody }>(t.app, `/v1/devices/${olga.devices.dscplus!.device.id}/report`, { reason: 'lost', replace: true }, bearer(olgaToken))).replacement;
    ok(await postJson(t.app, `/v1/devices/orders/${replacement.id}/cancel`, {}, bearer(olgaToken)));
    later();
    const onOrder = ok(await postJson<OrderBody>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(olgaToken)));
    const settledBy = t.clock.now();

    const isOpen = (r: SharingBody | OrderBody) => !['cancelled', 'rejected'].includes(r.state);
    const ownerSaw = await sharingList(await signIn(t, 'owen', owner.devices.dscplus!));
    const piaSaw = await sharingList(await signIn(t, 'pia', owner.devices.dscplus!));
    const olgaSaw = await ordersList(olgaToken);
    expect(ownerSaw.map((r) => r.id).sort()).toEqual([cancelled.id, rejected.id, replaced.id, open.id].sort());
    expect(olgaSaw.map((o) => `${o.reason}:${o.state}`)).toEqual(['new:ordered', 'replacement:cancelled', 'new:cancelled']);
    const sharingBefore = await sharingIds();
    const ordersBefore = await orderIds();
    const audited = await auditCount();

    // Without a retention nothing settled goes; within the default retention (365 days) of the first settlement neither.
    t.clock.set(t0 + t.config.settledRetentionMs - MIN);
    expect(await sweep(undefined)).toMatchObject({ sharingRequests: 0, deviceOrders: 0 });
    expect(await sweep(t.config.settledRetentionMs)).toMatchObject({ sharingRequests: 0, deviceOrders: 0 });
    expect(await sharingIds()).toEqual(sharingBefore);
    expect(await orderIds()).toEqual(ordersBefore);

    // A retention on: the three settled requests and the cancelled order without deposits go, in batches of 2.
    t.clock.set(settledBy + t.config.settledRetentionMs + MIN);
    expect(await sweep(t.config.settledRetentionMs)).toMatchObject({ sharingRequests: 3, deviceOrders: 1 });
    expect(await sharingIds()).toEqual([`${open.id}:approved`]);
    expect((await orderIds()).sort()).toEqual([`${onOrder.id}:ordered`, `${replacement.id}:cancelled`].sort());
    expect(totalDeleted(await sweep(t.config.settledRetentionMs))).toBe(0);

    // N2: the audit log only grew, and still tells each settlement.
    expect(await auditCount()).toBeGreaterThanOrEqual(audited);
    const settledIn = async (event: string) =>
      (await t.services.db.selectFrom('audit_log').select('details').where('event', '=', event).execute()).map((e) => (JSON.parse(e.details) as { requestId?: string; orderId?: string }));
    expect((await settledIn('sharing.cancelled')).map((d) => d.requestId).sort()).toEqual([cancelled.id, replaced.id].sort());
    expect((await settledIn('sharing.rejected')).map((d) => d.requestId)).toEqual([rejected.id]);
    expect((await settledIn('device.order_cancelled')).map((d) => d.orderId).sort()).toEqual([dropped.id, replacement.id].sort());

    // What the users see of their open requests and orders is unchanged, and they still act on them.
    const owenToken = await signIn(t, 'owen', owner.devices.dscplus!);
    expect(await sharingList(owenToken)).toEqual(ownerSaw.filter(isOpen));
    const pia2 = await signIn(t, 'pia', owner.devices.dscplus!);
    expect(await sharingList(pia2)).toEqual(piaSaw.filter(isOpen));
    const olga2 = await signIn(t, 'olga', olga.devices.scc!);
    expect(await ordersList(olga2)).toEqual(olgaSaw.filter((o) => o.id !== dropped.id));
    expect(ok(await postJson<SharingBody>(t.app, `/v1/sharing/${open.id}/cancel`, {}, bearer(owenToken))).state).toBe('cancelled');
    expect(ok(await postJson<OrderBody>(t.app, `/v1/devices/orders/${onOrder.id}/cancel`, {}, bearer(olga2))).state).toBe('cancelled');
  });

  it('keeps a settled row until its settlement is audited longer ago than the retention, and one whose settlement was never audited; pages past them (D6, S4, N2)', async () => {
    const adb = accountDb(t.services.db);
    const owner = await makeUser(t, 'owen', ['dscplus']);
    const req = await makeUser(t, 'rita', ['scc'], { entityId: owner.entityId });
    const account = await adb.selectFrom('user_accounts').select('account_id').where('user_id', '=', req.userId).executeTakeFirstOrThrow();
    const now = t.clock.now();
    const RETENTION = 30 * DAY;
    const long = now - 3 * RETENTION;
    const order = (id: string) => ({
      id,
      user_id: req.userId,
      account_id: account.account_id,
      kind: 'dscplus' as const,
      reason: 'new' as const,
      replaces_device_id: null,
      state: 'cancelled' as const,
      device_id: null,
      created_at: long,
      sent_at: null,
      self_activates_at: null,
      activated_at: null,
    });
    // Ordered long ago: cancelled long ago (goes), cancelled yesterday (stays: the row has no time of
    // cancelling, the audit log has), cancellation never audited (stays).
    await adb.insertInto('device_orders').values([order('ord_a_old'), order('ord_b_yesterday'), order('ord_c_unaudited'), order('ord_d_old'), order('ord_e_old')]).execute();
    const cancelledOrder = (orderId: string, at: number) => appendAudit(t.services.db, at, { event: 'device.order_cancelled', userId: req.userId, details: { orderId, kind: 'dscplus', reason: 'new', by: 'user', depositReleasedCents: 0 } });
    await cancelledOrder('ord_a_old', long + DAY);
    await cancelledOrder('ord_b_yesterday', now - DAY);
    await cancelledOrder('ord_d_old', long + DAY);
    await cancelledOrder('ord_e_old', long + DAY);
    // Another user's entry naming an order is not its settlement, even with that user's own order in the same page.
    const ownerAccount = await adb.selectFrom('user_accounts').select('account_id').where('user_id', '=', owner.userId).executeTakeFirstOrThrow();
    await adb.insertInto('device_orders').values({ ...order('ord_c_owner'), user_id: owner.userId, account_id: ownerAccount.account_id }).execute();
    await appendAudit(t.services.db, long, { event: 'device.order_cancelled', userId: owner.userId, details: { orderId: 'ord_c_unaudited' } });
    await appendAudit(t.services.db, long, { event: 'device.order_cancelled', userId: owner.userId, details: { orderId: 'ord_c_owner' } });
    // S4: rejected long ago, but the audit entry never written (the process stopped between the two): stays.
    await adb
      .insertInto('sharing_requests')
      .values({
        id: 'shr_unaudited',
        requester_user_id: req.userId,
        owner_user_id: owner.userId,
        device_id: owner.devices.dscplus!.device.id,
        state: 'rejected',
        needs_compliance: 1,
        deactivated_device_ids: '[]',
        created_at: long,
        verified_at: long,
        decided_at: long + MIN,
        decided_by: 'compliance-officer',
        cancelled_at: null,
      })
      .execute();

    // Two sweeps at once (two slsd processes, SPEC N1): each row goes once, neither fails.
    const both = await Promise.all([sweep(RETENTION), sweep(RETENTION)]);
    expect(both.map((r) => r.sharingRequests)).toEqual([0, 0]);
    expect(both[0]!.deviceOrders + both[1]!.deviceOrders).toBe(4);
    expect(await orderIds()).toEqual(['ord_b_yesterday:cancelled', 'ord_c_unaudited:cancelled']);
    expect(await sharingIds()).toEqual(['shr_unaudited:rejected']);
    expect(totalDeleted(await sweep(RETENTION))).toBe(0);
    // A retention on from the cancelling, yesterday's goes too.
    t.clock.set(now + RETENTION);
    expect((await sweep(RETENTION)).deviceOrders).toBe(1);
    expect(await orderIds()).toEqual(['ord_c_unaudited:cancelled']);
    await expect(sweep(-1)).rejects.toThrow(/retention/);
  });
});

describe('the retention of settled requests in the config', () => {
  it('is 365 days by default, SLS_SETTLED_RETENTION_DAYS sets it, anything but a non-negative integer refuses to start', () => {
    expect(loadConfig({}).settledRetentionMs).toBe(365 * DAY);
    expect(loadConfig({ SLS_SETTLED_RETENTION_DAYS: '90' }).settledRetentionMs).toBe(90 * DAY);
    expect(loadConfig({ SLS_SETTLED_RETENTION_DAYS: '0' }).settledRetentionMs).toBe(0);
    expect(() => loadConfig({ SLS_SETTLED_RETENTION_DAYS: '-1' })).toThrow(/SLS_SETTLED_RETENTION_DAYS must be a non-negative integer/);
    expect(() => loadConfig({ SLS_SETTLED_RETENTION_DAYS: 'a year' })).toThrow(/SLS_SETTLED_RETENTION_DAYS/);
  });
});
