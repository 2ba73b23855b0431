/**
 * Two slsd on one PostgreSQL database wake each other's IB Key long-polls (SPEC N1, L7).
 *
 * Runs on PostgreSQL only (on SQLite there is no LISTEN/NOTIFY to wake another process): in `npm test`
 * whenever PostgreSQL is there, and in CI, where its absence fails the run (db/pg-testing.ts).
 */
import { afterEach, expect, it } from 'vitest';
import { startOn } from '../conformance/backends.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import { startTestServer } from '../testing/test-server.ts';
import type { TestServer } from '../testing/test-server.ts';
import { PgApprovalNotifier } from '../services/ibkey-notifier-pg.ts';
import { activate, createUser, newApp, PIN, ScriptedPrompter, startLogin, status } from './testkit.ts';

const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0).reverse()) await s.close();
});

const probe = await probePostgres();

describeEachBackend('IB Key wake-ups over LISTEN/NOTIFY', probe, (backend) => {
  it('a notification from one connection wakes a subscriber of another', { timeout: 10_000 }, async () => {
    const a = await startOn(backend);
    servers.push(a);
    const [n1, n2] = [await PgApprovalNotifier.connect(a.config.databaseUrl), await PgApprovalNotifier.connect(a.config.databaseUrl)];
    try {
      const sub = n2.subscribe(['tx:42']);
      n1.notify('tx:41');
      n1.notify('tx:42');
      // Woken by the NOTIFY, long before this wait (which outlasts the test) would end.
      await sub.wait(60_000);
      sub.close();
    } finally {
      await n1.close();
      await n2.close();
    }
  });

  it('the desktop waiting on one slsd is signed in when the app answers through another', async () => {
    const a = await startOn(backend, { listen: true });
    servers.push(a);
    const b = await startTestServer({ config: { databaseUrl: a.config.databaseUrl, serverKey: a.config.serverKey }, clock: a.clock });
    servers.push(b);
    const userId = await createUser(a, 'jane');
    const prompter = new ScriptedPrompter();
    const app = newApp(a, 'android', prompter);
    await activate(a, app, prompter, 'jane', userId);
    const step = await startLogin(a, 'jane');
    if (step.status !== 'challenge' || step.challenge.type !== 'push') throw new Error('no push');
    const waiting = status(b, step.transactionId, 20);
    const keys = await app.unlock(PIN);
    const request = (await app.poll(keys, 0)).requests[0]!;
    prompter.push(String(step.challenge.matchNumber), PIN);
    await app.answerPush(request);
    expect((await waiting).body.status).toBe('signed_in');
  });
}, 'postgres');
