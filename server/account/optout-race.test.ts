// SLS opt-out and back in under concurrency, on SQLite and PostgreSQL (SPEC O1, O3, N1, N2): requests
// that arrive together (a double click, a retrying proxy, two slsd) change the setting once each way,
// and the audit log says exactly what happened, in order: it never shows a change that did not happen.
import { expect, it } from 'vitest';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import { postJson } from '../testing/http.ts';
import { accountServerForEachTest, bearer, makeUser, signIn } from './testing.ts';
import type { AccountTestServer } from './testing.ts';

const probe = await probePostgres();
const NOON = Date.parse('2026-11-04T12:00:00Z');

describeEachBackend('SLS opt-out under concurrency (O1, O3, N1, N2)', probe, (backend) => {
  let t: AccountTestServer;
  accountServerForEachTest(backend, NOON, (s) => (t = s));

  const events = async () => (await t.adb.selectFrom('audit_log').select(['id', 'event']).where('event', 'like', 'sls.%').execute()).sort((a, b) => a.id - b.id).map((e) => e.event);
  const optedOut = async (userId: string) => (await t.adb.selectFrom('sls_opt_outs').select('user_id').where('user_id', '=', userId).execute()).length === 1;

  it('O1, N2: opt-outs asked together opt out once, with one sls.opted_out; opt-ins together opt back in once', async () => {
    const jane = await makeUser(t, 'jane', ['dscplus'], { accountNumber: 'U100' });
    const bob = await makeUser(t, 'bob', ['scc'], { entityId: jane.entityId, joinAccount: 'U100' });
    const token = await signIn(t, 'jane', jane.devices.dscplus!);
    const outs = await Promise.all(Array.from({ length: 8 }, () => postJson(t.app, '/v1/sls/opt-out', { username: 'bob' }, bearer(token))));
    expect(outs.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(await optedOut(bob.userId)).toBe(true);
    expect(await events()).toEqual(['sls.opted_out']);
    const ins = await Promise.all(Array.from({ length: 8 }, () => postJson(t.app, '/v1/sls/opt-in', { username: 'bob' }, bearer(token))));
    expect(ins.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(await optedOut(bob.userId)).toBe(false);
    expect(await events()).toEqual(['sls.opted_out', 'sls.opted_in']);
  });

  it('O1, O3, N2: opt-outs and opt-ins interleaved: the log alternates, and its last entry is the state', async () => {
    const jane = await makeUser(t, 'jane', ['dscplus']);
    const token = await signIn(t, 'jane', jane.devices.dscplus!);
    await Promise.all(Array.from({ length: 12 }, (_, i) => postJson(t.app, i % 2 === 0 ? '/v1/sls/opt-out' : '/v1/sls/opt-in', {}, bearer(token))));
    const log = await events();
    log.forEach((e, i) => expect(e).toBe(i % 2 === 0 ? 'sls.opted_out' : 'sls.opted_in'));
    expect(await optedOut(jane.userId)).toBe(log.at(-1) === 'sls.opted_out');
  });
});
