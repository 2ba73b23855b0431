// Upgrading a database from migration 0014 to 0015 (`sharing_requests.ended_reason`, SPEC S3–S5), on
// SQLite and PostgreSQL (N1): the requests that ended before it are backfilled as migration 0015 says —
// a rejected one can only have been rejected by compliance (S4: `rejected_by_compliance`); a cancelled
// one stays null, as nothing kept who ended it (the audit log's `sharing.cancelled` entry says); open
// ones stay null. The API then reads each sensibly: `rejected_by_compliance`, or `not_recorded` with
// when it was cancelled (sharing.ts `endedOf`), and nothing ended for an open one.
import { sql } from 'kysely';
import { afterEach, expect, it } from 'vitest';
import { databaseAtMigration } from './migration-testing.ts';
import { describeEachBackend, probePostgres, tempDataDir } from './pg-testing.ts';
import type { FreshDatabase, StorageBackend } from './pg-testing.ts';
import { getJson } from '../testing/http.ts';
import { testClock } from '../testing/test-server.ts';
import { bearer, ok, PASSWORD, signIn, startAccountServer } from '../account/testing.ts';
import type { AccountTestServer } from '../account/testing.ts';

const probe = await probePostgres();

/** Monday 2 November 2026, 10:00 in New York: the day of the upgrade. */
const UPGRADE = Date.parse('2026-11-02T15:00:00Z');
const DAY = 86_400_000;
const BEFORE = UPGRADE - 3 * DAY;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A database at `0014_device_serial`, as an slsd released before migration 0015 left it: an owner's
 * DSC+ and one requester's sharing requests, some of them ended. Written with plain inserts on a
 * connection of its own (no slsd of this version has touched it), then closed.
 */
async function databaseAt0014(url: string): Promise<void> {
  await databaseAtMigration(url, '0014_device_serial', async (db) => {
    const columns = (await db.introspection.getTables()).find((t) => t.name === 'sharing_requests')!.columns.map((c) => c.name);
    expect(columns).not.toContain('ended_reason');

    await db.insertInto('entities').values({ id: 'ent_1', kind: 'person', name: 'Owen and Rita', created_at: BEFORE }).execute();
    for (const [id, name] of [
      ['usr_owen', 'owen'],
      ['usr_rita', 'rita'],
    ]) {
      await db.insertInto('users').values({ id, username: name, username_normalized: name, display_name: name, entity_id: 'ent_1', created_at: BEFORE }).execute();
    }
    await db.insertInto('devices').values({ id: 'dev_card', user_id: 'usr_owen', kind: 'dscplus', status: 'active', serial: '1234567890', label: 'DSC+', created_at: BEFORE }).execute();
    const request = (id: string, at: number, r: Record<string, unknown>) =>
      db
        .insertInto('sharing_requests')
        .values({ id, requester_user_id: 'usr_rita', owner_user_id: 'usr_owen', device_id: 'dev_card', needs_compliance: 0, deactivated_device_ids: '[]', created_at: at, ...r })
        .execute();
    // S4: rejected by compliance (the only way a request was ever rejected).
    await request('shr_rejected', BEFORE, { state: 'rejected', needs_compliance: 1, verified_at: BEFORE, decided_at: BEFORE + 60_000, decided_by: 'compliance-officer' });
    // S5: withdrawn before approval, and ended after it — by whom, the request never said.
    await request('shr_withdrawn', BEFORE + DAY, { state: 'cancelled', cancelled_at: BEFORE + DAY + 60_000 });
    await request('shr_ended', BEFORE + 2 * DAY, { state: 'cancelled', verified_at: BEFORE + 2 * DAY, decided_at: BEFORE + 2 * DAY, decided_by: 'automatic', cancelled_at: BEFORE + 2 * DAY + 60_000 });
    // Still open at the upgrade: nothing ended it.
    await request('shr_open', UPGRADE - 60_000, { state: 'started' });
  });
}

describeEachBackend('migration 0015 on a database from before it (SPEC S3, S4, S5, N1)', probe, (backend: StorageBackend) => {
  let data: ReturnType<typeof tempDataDir> | undefined;
  let fresh: FreshDatabase | undefined;
  let t: AccountTestServer | undefined;
  afterEach(async () => {
    await t?.close();
    await fresh?.drop();
    data?.remove();
    [t, fresh, data] = [undefined, undefined, undefined];
  });

  it('upgrade from 0014: rejected requests read rejected_by_compliance, cancelled ones not_recorded with their time, open ones nothing', async () => {
    data = tempDataDir('slsd-migration-0015-');
    fresh = await backend.freshDatabase(data.dir);
    await databaseAt0014(fresh.url);

    // slsd starts on it and migrates, as after an upgrade (db/connect.ts).
    t = await startAccountServer({ clock: testClock(UPGRADE), dataDir: data.dir, config: { databaseUrl: fresh.url } });
    const ran = await sql<{ name: string }>`select name from kysely_migration`.execute(t.services.db);
    expect(ran.rows.map((r) => r.name)).toContain('0015_sharing_ended_reason');
    const stored = await t.adb.selectFrom('sharing_requests').select(['id', 'state', 'ended_reason']).orderBy('id').execute();
    expect(stored).toEqual([
      { id: 'shr_ended', state: 'cancelled', ended_reason: null },
      { id: 'shr_open', state: 'started', ended_reason: null },
      { id: 'shr_rejected', state: 'rejected', ended_reason: 'rejected_by_compliance' },
      { id: 'shr_withdrawn', state: 'cancelled', ended_reason: null },
    ]);

    // The requester, given a password and a card of her own after the upgrade, reads her list.
    await t.provisioning.setPassword('rita', PASSWORD);
    const token = await signIn(t, 'rita', await t.provisioning.addDevice({ username: 'rita', kind: 'scc' }));
    const listed = ok(await getJson<{ requests: { id: string; state: string; decidedAt?: string; ended?: { reason: string; at: string } }[] }>(t.app, '/v1/sharing', bearer(token))).requests;
    expect(Object.fromEntries(listed.map((r) => [r.id, { state: r.state, decidedAt: r.decidedAt, ended: r.ended }]))).toEqual({
      shr_rejected: { state: 'rejected', decidedAt: iso(BEFORE + 60_000), ended: { reason: 'rejected_by_compliance', at: iso(BEFORE + 60_000) } },
      shr_withdrawn: { state: 'cancelled', decidedAt: undefined, ended: { reason: 'not_recorded', at: iso(BEFORE + DAY + 60_000) } },
      shr_ended: { state: 'cancelled', decidedAt: iso(BEFORE + 2 * DAY), ended: { reason: 'not_recorded', at: iso(BEFORE + 2 * DAY + 60_000) } },
      shr_open: { state: 'started', decidedAt: undefined, ended: undefined },
    });
  });
});
