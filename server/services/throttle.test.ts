// The throttle's view for client services (SPEC L6, N2): throttled addresses listed and cleared,
// a user's lock with its failures, the blocked addresses a user logged in from; on both backends (N1).
import { afterEach, expect, it } from 'vitest';
import { startOn } from '../conformance/backends.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import type { TestServer } from '../testing/test-server.ts';
import { appendAudit } from './audit.ts';
import { Throttle } from './throttle.ts';

const MINUTE = 60_000;
let t: TestServer;

afterEach(async () => {
  await t.close();
});

describeEachBackend('Throttle for client services', await probePostgres(), (backend) => {
  function throttle(): Throttle {
    return new Throttle(t.services.db, { addressFailureLimit: 3, addressFailureWindowMs: 15 * MINUTE }, t.clock.now);
  }

  it('lists the addresses with failures in the window, blocked first with until when, and forgets those past it', async () => {
    t = await startOn(backend);
    const th = throttle();
    const first = t.clock.now();
    for (let i = 0; i < 3; i++) {
      await th.recordFailure(`u${i}`, '203.0.113.9');
      t.clock.advance(MINUTE);
    }
    await th.recordFailure('u9', '198.51.100.7');
    expect(await th.addresses()).toEqual([
      { address: '203.0.113.9', failures: 3, lastFailureAt: first + 2 * MINUTE, blockedUntil: first + 15 * MINUTE },
      { address: '198.51.100.7', failures: 1, lastFailureAt: first + 3 * MINUTE, blockedUntil: null },
    ]);
    await expect(th.assertAddressAllowed('203.0.113.9')).rejects.toMatchObject({ code: 'SLS_ERR_RATE_LIMITED' });
    t.clock.advance(15 * MINUTE);
    expect(await th.addresses()).toEqual([]);
    // Past the window there is nothing to clear: null, nothing written.
    expect(await th.unblockAddress('203.0.113.9', 'cs.agent')).toBeNull();
    expect(await t.services.db.selectFrom('audit_log').select('id').where('event', '=', 'address.unblocked').execute()).toEqual([]);
  });

  it('unblocks an address at once, audited address.unblocked with by and what it cleared (N2); another address stays blocked', async () => {
    t = await startOn(backend);
    const th = throttle();
    for (let i = 0; i < 3; i++) {
      await th.recordFailure('u', '203.0.113.9');
      await th.recordFailure('u', '203.0.113.10');
    }
    const until = t.clock.now() + 15 * MINUTE;
    expect(await th.unblockAddress('203.0.113.9', 'cs.agent')).toMatchObject({ address: '203.0.113.9', failures: 3, blockedUntil: until });
    await th.assertAddressAllowed('203.0.113.9');
    await expect(th.assertAddressAllowed('203.0.113.10')).rejects.toMatchObject({ code: 'SLS_ERR_RATE_LIMITED' });
    const rows = await t.services.db.selectFrom('audit_log').selectAll().where('event', '=', 'address.unblocked').execute();
    expect(rows.map((r) => ({ address: r.source_address, details: JSON.parse(r.details) as unknown }))).toEqual([
      { address: '203.0.113.9', details: { by: 'cs.agent', failures: 3, blockedUntil: new Date(until).toISOString() } },
    ]);
    expect(await th.unblockAddress('203.0.113.9', 'cs.agent')).toBeNull();
    // The failures after an unblock count afresh.
    await th.recordFailure('u', '203.0.113.9');
    expect((await th.addresses()).find((a) => a.address === '203.0.113.9')).toMatchObject({ failures: 1, blockedUntil: null });
  });

  it("a user's lock with its failures, and the blocked addresses among those the user's audited events came from", async () => {
    t = await startOn(backend);
    const th = throttle();
    const entityId = await t.provisioning.createEntity({ name: 'Lock Smith' });
    const userId = await t.provisioning.createUser({ username: 'lock.smith', entityId, password: 'Correct-Horse-1' });
    expect(await th.userLock('lock.smith')).toBeNull();
    for (let i = 0; i < 10; i++) await th.recordFailure('lock.smith', '192.0.2.1');
    expect(await th.userLock('lock.smith')).toEqual({ lockedUntil: t.clock.now() + 24 * 60 * MINUTE, failures: 10 });
    await appendAudit(t.services.db, t.clock.now(), { event: 'login.password_failed', userId, sourceAddress: '203.0.113.9' });
    await appendAudit(t.services.db, t.clock.now(), { event: 'login.succeeded', userId, sourceAddress: '192.0.2.1' });
    for (let i = 0; i < 3; i++) await th.recordFailure('someone', '203.0.113.9');
    await th.recordFailure('someone', '198.51.100.7'); // counted, not blocked: 1 of 3
    expect((await th.blockedAddressesOf(userId)).map((a) => a.address).sort()).toEqual(['192.0.2.1', '203.0.113.9']);
    await th.unblockAddress('192.0.2.1', 'cs.agent');
    expect((await th.blockedAddressesOf(userId)).map((a) => a.address)).toEqual(['203.0.113.9']);
    expect(await th.unlockUser('lock.smith')).toBe(true);
    expect(await th.userLock('lock.smith')).toBeNull();
  });
});
