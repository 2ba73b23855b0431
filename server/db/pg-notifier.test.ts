// IB Key approval wake-ups across processes through LISTEN/NOTIFY (SPEC N1, L7): a notification sent
// by one slsd's notifier wakes a waiter of another's, and survives the listener losing its connection.
// Tests the IB Key engineer's PgApprovalNotifier (server/services/ibkey-notifier-pg.ts).
import pg from 'pg';
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { startPgProxy } from './pg-proxy-testing.ts';
import { describeEachBackend, probePostgres, tempDataDir } from './pg-testing.ts';
import type { FreshDatabase } from './pg-testing.ts';
import { InProcessApprovalNotifier } from '../services/ibkey-notifier.ts';
import { IBKEY_NOTIFY_CHANNEL, PgApprovalNotifier } from '../services/ibkey-notifier-pg.ts';

const probe = await probePostgres();
/** Far beyond any wake-up: a waiter that returns before it was woken, not timed out. */
const LONG = 20_000;

async function woken(wait: Promise<void>): Promise<boolean> {
  const start = Date.now();
  await wait;
  return Date.now() - start < LONG / 2;
}

describeEachBackend(
  'PgApprovalNotifier',
  probe,
  (backend) => {
    let fresh: FreshDatabase;
    const data = tempDataDir('slsd-notify-');
    const open: PgApprovalNotifier[] = [];
    beforeEach(async () => {
      fresh = await backend.freshDatabase(data.dir);
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((n) => n.close()));
      await fresh.drop();
    });
    afterAll(() => data.remove());
    const connect = async () => {
      const n = await PgApprovalNotifier.connect(fresh.url);
      open.push(n);
      return n;
    };

    it('wakes a waiter of another slsd on its topic only', async () => {
      const [first, second] = [await connect(), await connect()];
      const onTx = second.subscribe(['tx:ltx_1']);
      const onOther = second.subscribe(['tx:ltx_2']);
      const waitTx = onTx.wait(LONG);
      const waitOther = onOther.wait(300);
      first.notify('tx:ltx_1');
      expect(await woken(waitTx)).toBe(true);
      await waitOther;
      // Not woken by tx:ltx_1: a later wait on it still times out quickly rather than returning at once.
      const t0 = Date.now();
      await onOther.wait(200);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
      onTx.close();
      onOther.close();
    });

    it('carries notifications sent with plain SQL by any process (slsctl, another slsd)', async () => {
      const n = await connect();
      const sub = n.subscribe(['user:usr_9']);
      const wait = sub.wait(LONG);
      const c = new pg.Client({ connectionString: fresh.url });
      await c.connect();
      await c.query('select pg_notify($1, $2)', [IBKEY_NOTIFY_CHANNEL, 'user:usr_9']);
      await c.end();
      expect(await woken(wait)).toBe(true);
      sub.close();
    });

    it('listens again after its connection is killed', async () => {
      const listener = await connect();
      const sender = await connect();
      const admin = new pg.Client({ connectionString: fresh.url });
      await admin.connect();
      const killed = await admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`,
      );
      await admin.end();
      expect(killed.rowCount).toBeGreaterThanOrEqual(2);
      const sub = listener.subscribe(['tx:after']);
      // Both reconnect after a pause; keep notifying until the waiter wakes (the bound is far above it).
      let done = false;
      const wait = sub.wait(LONG).then(() => void (done = true));
      const deadline = Date.now() + LONG / 2;
      while (!done && Date.now() < deadline) {
        // The sender's own local wake-up does not reach `listener`: only NOTIFY through PostgreSQL does.
        sender.notify('tx:after');
        await new Promise((r) => setTimeout(r, 250));
      }
      // Woken while notifying, not when the wait ran out (`woken` would time only what is left of it).
      expect(done).toBe(true);
      await wait;
      sub.close();
    });

    it('listens again after the network silently forgot its connection (a firewall\'s idle timeout, a host gone)', async () => {
      // Before: nothing goes over a connection that only listens, so a connection no longer there was
      // never noticed and this slsd heard no other process again (only its once-a-second re-reads).
      const proxy = await startPgProxy(probe.available ? probe.adminUrl : '');
      try {
        const listener = await PgApprovalNotifier.connect(proxy.through(fresh.url), { heartbeatMs: 200, answerMs: 500, reconnectMs: 100, maxReconnectMs: 200 });
        open.push(listener);
        const sub = listener.subscribe(['tx:severed']);
        proxy.sever();
        let done = false;
        const wait = sub.wait(LONG).then(() => void (done = true));
        const sender = new pg.Client({ connectionString: fresh.url });
        await sender.connect();
        try {
          const deadline = Date.now() + LONG / 2;
          while (!done && Date.now() < deadline) {
            await sender.query('select pg_notify($1, $2)', [IBKEY_NOTIFY_CHANNEL, 'tx:severed']);
            await new Promise((r) => setTimeout(r, 250));
          }
        } finally {
          await sender.end();
        }
        expect(done).toBe(true);
        await wait;
        sub.close();
      } finally {
        await proxy.close();
      }
    });

    it('PostgreSQL refusing its first connection does not fail the start: it says so once, and listens once PostgreSQL answers', async () => {
      // Before: the refusal went up through createServices, and slsd's start ended with a stack.
      const proxy = await startPgProxy(probe.available ? probe.adminUrl : '');
      const warnings: string[] = [];
      const onWarning = (w: Error) => void (w.name === 'SlsDatabaseWarning' && warnings.push(w.message));
      process.on('warning', onWarning);
      try {
        await proxy.refuse();
        const listener = await PgApprovalNotifier.connect(proxy.through(fresh.url), { reconnectMs: 100, maxReconnectMs: 200 });
        open.push(listener);
        await new Promise((r) => setTimeout(r, 500)); // a few attempts meanwhile
        await proxy.restore();
        const sub = listener.subscribe(['tx:late']);
        let done = false;
        const wait = sub.wait(LONG).then(() => void (done = true));
        const sender = await connect();
        const deadline = Date.now() + LONG / 2;
        while (!done && Date.now() < deadline) {
          sender.notify('tx:late');
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(done).toBe(true);
        await wait;
        sub.close();
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toMatch(/^IB Key wake-ups from other slsd processes \(PostgreSQL LISTEN\) have no connection \(ECONNREFUSED\)/);
      } finally {
        process.off('warning', onWarning);
        await proxy.close();
      }
    });
  },
  'postgres',
);

it('in one process (SQLite): notify wakes a subscriber of the same notifier', async () => {
  const n = new InProcessApprovalNotifier();
  const sub = n.subscribe(['tx:1']);
  const wait = sub.wait(LONG);
  n.notify('tx:1');
  expect(await woken(wait)).toBe(true);
  sub.close();
});
