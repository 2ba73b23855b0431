// loginAccountState on SQLite and PostgreSQL (SPEC O1, S5, T2, T3; issue 2): the one read a password
// step makes after the hash says what the separate reads and the housekeeping sweep would.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeEachBackend, probePostgres, tempDataDir } from '../db/pg-testing.ts';
import type { FreshDatabase } from '../db/pg-testing.ts';
import { testClock } from '../testing/test-server.ts';
import { accountHousekeeping, isOptedOut, loginAccountState, sharedDeviceIds } from './restrictions.ts';
import { makeUser, startAccountServer } from './testing.ts';
import type { AccountTestServer, TestUser } from './testing.ts';

const probe = await probePostgres();
const NOW = Date.parse('2026-11-04T12:00:00Z');
const DAY = 24 * 60 * 60 * 1000;

describeEachBackend('loginAccountState: opt-out, housekeeping due and devices in one read (O1, S5, T2, T3)', probe, (backend) => {
  let t: AccountTestServer;
  let fresh: FreshDatabase;
  let data: ReturnType<typeof tempDataDir>;
  let u: TestUser;

  beforeEach(async () => {
    data = tempDataDir();
    fresh = await backend.freshDatabase(data.dir);
    t = await startAccountServer({ clock: testClock(NOW), dataDir: data.dir, config: { databaseUrl: fresh.url } });
    u = await makeUser(t, 'olga', ['dsc', 'gold']);
  });
  afterEach(async () => {
    await t.close();
    await fresh.drop();
    data.remove();
  });

  const state = () => loginAccountState(t.services.db, NOW, u.userId);
  const ids = (s: { devices: { id: string }[] }) => s.devices.map((d) => d.id).sort();
  const deviceId = (kind: string) => u.devices[kind]!.device.id;

  /** The reads the login made before: the user's active devices, the approved shared ones, the opt-out. */
  async function separately() {
    const shared = await sharedDeviceIds(t.services.db, u.userId);
    const rows = await t.adb.selectFrom('devices').select('id').where('status', '=', 'active').where((eb) => eb.or([eb('user_id', '=', u.userId), eb('id', 'in', [...shared, ''])])).execute();
    return { optedOut: await isOptedOut(t.services.db, u.userId), devices: rows.map((r) => r.id).sort() };
  }

  it('nothing due: the active devices, no opt-out; then an opt-out and a shared device (O1, S5)', async () => {
    let s = await state();
    expect(s.housekeepingDue).toBe(false);
    expect(s.optedOut).toBe(false);
    expect(ids(s)).toEqual([deviceId('dsc'), deviceId('gold')].sort());
    expect({ optedOut: s.optedOut, devices: ids(s) }).toEqual(await separately());

    const owner = await makeUser(t, 'pavel', ['dscplus']);
    await t.adb.insertInto('sls_opt_outs').values({ user_id: u.userId, opted_out_at: NOW, opted_out_by: 'test' }).execute();
    const sharing = {
      owner_user_id: owner.userId,
      requester_user_id: u.userId,
      device_id: owner.devices.dscplus!.device.id,
      needs_compliance: 0,
      deactivated_device_ids: '[]',
      created_at: NOW,
    };
    await t.adb.insertInto('sharing_requests').values({ ...sharing, id: 'shr_approved', state: 'approved' }).execute();
    await t.adb.insertInto('sharing_requests').values({ ...sharing, id: 'shr_pending', state: 'pending_compliance' }).execute();
    await t.adb.updateTable('devices').set({ status: 'revoked' }).where('id', '=', deviceId('gold')).execute();
    s = await state();
    expect(s.optedOut).toBe(true);
    expect(ids(s)).toEqual([deviceId('dsc'), owner.devices.dscplus!.device.id].sort());
    expect({ optedOut: s.optedOut, devices: ids(s) }).toEqual(await separately());
  });

  it('no active device: the flags still come back, no device rows', async () => {
    await t.adb.updateTable('devices').set({ status: 'lost' }).where('user_id', '=', u.userId).execute();
    await t.adb.insertInto('sls_opt_outs').values({ user_id: u.userId, opted_out_at: NOW, opted_out_by: 'test' }).execute();
    const s = await state();
    expect(s).toEqual({ optedOut: true, housekeepingDue: false, devices: [] });
  });

  it('T3: a sent device whose 14 days are over is due until the sweep activates it; one not yet over is not', async () => {
    const account = await t.adb.selectFrom('accounts').select('id').executeTakeFirstOrThrow();
    await t.adb.updateTable('devices').set({ status: 'pending', activated_at: null }).where('id', '=', deviceId('gold')).execute();
    const order = { user_id: u.userId, account_id: account.id, kind: 'gold' as const, reason: 'new' as const, replaces_device_id: null, state: 'sent' as const, device_id: deviceId('gold'), created_at: NOW - 20 * DAY, sent_at: NOW - 14 * DAY, activated_at: null };
    await t.adb.insertInto('device_orders').values({ ...order, id: 'ord_1', self_activates_at: NOW + 1 }).execute();
    let s = await state();
    expect(s.housekeepingDue).toBe(false);
    expect(ids(s)).toEqual([deviceId('dsc')]);

    await t.adb.updateTable('device_orders').set({ self_activates_at: NOW }).where('id', '=', 'ord_1').execute();
    s = await state();
    expect(s.housekeepingDue).toBe(true);
    await accountHousekeeping(t.services.db, NOW, u.userId);
    s = await state();
    expect(s.housekeepingDue).toBe(false);
    expect(ids(s)).toEqual([deviceId('dsc'), deviceId('gold')].sort());
  });

  it('T2: an active online card past its 21 days is due until the sweep revokes it', async () => {
    await t.adb.insertInto('online_cards').values({ device_id: deviceId('gold'), user_id: u.userId, issued_at: NOW - 21 * DAY, valid_until: NOW + 1 }).execute();
    expect((await state()).housekeepingDue).toBe(false);
    await t.adb.updateTable('online_cards').set({ valid_until: NOW }).where('device_id', '=', deviceId('gold')).execute();
    let s = await state();
    expect(s.housekeepingDue).toBe(true);
    expect(ids(s)).toEqual([deviceId('dsc'), deviceId('gold')].sort());
    await accountHousekeeping(t.services.db, NOW, u.userId);
    s = await state();
    expect(s.housekeepingDue).toBe(false);
    expect(ids(s)).toEqual([deviceId('dsc')]);
  });
});
