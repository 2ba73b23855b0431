// slsctl's account-security commands (SPEC P2 dnc, S4 sharing, D6/T3 order, W4 withdrawals, L8 restart).
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSlsctl } from '../cli/slsctl.ts';
import { getJson, postJson } from '../testing/http.ts';
import { accountServices } from './index.ts';
import { answer, bearer, makeUser, ok, signIn, startAccountServer, TRADING } from './testing.ts';
import type { AccountTestServer } from './testing.ts';

let t: AccountTestServer;
beforeEach(async () => {
  t = await startAccountServer();
});
afterEach(async () => {
  await t.close();
});

async function slsctl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runSlsctl(['--data-dir', t.dataDir, '--database-url', t.config.databaseUrl, ...args], {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    readStdin: async () => '',
    promptHidden: async () => null,
    env: { SLS_SERVER_KEY: t.config.serverKey, SLSCTL_OPERATOR: 'agent.test' },
  });
  return { code, out, err };
}

describe('slsctl account-security commands', () => {
  it('P2: dnc add, list, remove', async () => {
    expect((await slsctl(['dnc', 'add', '+44 7400 123456', '--note', 'registry'])).out).toBe('+447400123456 is on the do-not-call list\n');
    expect((await slsctl(['dnc', 'list'])).out).toMatch(/^\+447400123456 .* agent\.test {2}registry\n$/);
    expect((await slsctl(['dnc', 'remove', '+447400123456'])).out).toBe('removed\n');
    expect((await slsctl(['dnc', 'list'])).out).toBe('(no numbers)\n');
  });

  it('D6, T3: order list, send writes the DSC+ state file, prints the PIN once and the self-activation date', async () => {
    const u = await makeUser(t, 'olga', ['ibkey'], { balanceUsd: 600_000 });
    const token = await signIn(t, 'olga', u.devices.ibkey!);
    const order = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    expect((await slsctl(['order', 'list'])).out).toContain(`${order.id}  olga  dscplus  new  ordered`);
    const sent = await slsctl(['order', 'send', order.id, '--serial', '4000123456', '--pin', '2468']);
    expect(sent.code, sent.err).toBe(0);
    expect(sent.out).toMatch(/pending {2}serial 4000123456 {2}self-activates \d{4}-\d{2}-\d{2}T/);
    expect(sent.out).toContain('PIN (shown once): 2468');
    const file = /DSC\+ state file: (.*)\n/.exec(sent.out)![1]!;
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).serial).toBe('4000123456');
    expect((await slsctl(['order', 'send', order.id])).code).toBe(1);
    expect((await slsctl(['order', 'sweep'])).out).toBe('done\n');
  });

  it('D6, D8: order cancel while pending, audited with the operator; a cancelled order cannot be cancelled again', async () => {
    const u = await makeUser(t, 'olive', ['ibkey'], { balanceUsd: 600_000 });
    const token = await signIn(t, 'olive', u.devices.ibkey!);
    const order = ok(await postJson<{ id: string }>(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(token)));
    const c = await slsctl(['order', 'cancel', order.id]);
    expect(c).toMatchObject({ code: 0, out: `${order.id}  cancelled\n` });
    expect((await slsctl(['order', 'list', '--user', 'olive'])).out).toContain(`${order.id}  olive  dscplus  new  cancelled`);
    const again = await slsctl(['order', 'cancel', order.id]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already cancelled/);
    const audit = await t.adb.selectFrom('audit_log').selectAll().where('event', '=', 'device.order_cancelled').execute();
    expect(JSON.parse(audit[0]!.details)).toMatchObject({ orderId: order.id, by: 'agent.test' });
  });

  it('S4: sharing list and approve', async () => {
    const ident = { dateOfBirth: '1970-01-01', citizenship: 'US', residenceCountry: 'US', idDocumentType: 'passport', idDocumentNumber: 'P1' };
    const owner = await makeUser(t, 'owner1', ['dscplus'], { entity: ident });
    const req = await makeUser(t, 'asker1', ['scc'], { entity: ident });
    await signIn(t, 'asker1', req.devices.scc!);
    const svc = accountServices(t.services).sharing;
    const caller = { session: (await t.adb.selectFrom('sessions').selectAll().orderBy('created_at', 'desc').executeTakeFirstOrThrow()), user: await t.adb.selectFrom('users').selectAll().where('username', '=', 'asker1').executeTakeFirstOrThrow() };
    const started = await svc.start(caller, { ownerUsername: 'owner1', ownerPassword: 'Correct-Horse-1' }, 'test');
    await svc.answer(caller, started.request.id, { confirmationId: started.confirmation.confirmationId, response: answer(owner.devices.dscplus!, started.confirmation.challenge) }, 'test');
    await svc.submit(caller, started.request.id, 'test');
    expect((await slsctl(['sharing', 'list'])).out).toContain(`${started.request.id}  asker1 → owner1's`);
    expect((await slsctl(['sharing', 'approve', started.request.id])).out).toBe(`${started.request.id}  approved\n`);
    expect((await slsctl(['sharing', 'reject', started.request.id])).code).toBe(1);
  });

  it('P2, P5: sms shows a message deferred to the carrier\'s hours with its not-before time', async () => {
    const notBefore = Date.now() + 3_600_000;
    await t.adb.insertInto('sms_outbox').values({ at: Date.now(), to_number: '+447400123456', body: 'code 123456', user_id: null, purpose: 'verify_number', not_before: notBefore }).execute();
    expect((await slsctl(['sms'])).out).toContain(`[verify_number]  code 123456  (deferred until ${new Date(notBefore).toISOString()})`);
  });

  it('O1, O3, N2: sls opt-out and opt-in say when nothing changed, and audit only the changes', async () => {
    await makeUser(t, 'sven', ['scc']);
    expect((await slsctl(['sls', 'opt-in', '--user', 'sven'])).out).toBe('sven: already opted into the Secure Login System for trading-platform login; nothing changed\n');
    expect((await slsctl(['sls', 'opt-out', '--user', 'sven'])).out).toBe('sven: opted out of the Secure Login System for trading-platform login\n');
    expect((await slsctl(['sls', 'opt-out', '--user', 'sven'])).out).toBe('sven: already opted out of the Secure Login System for trading-platform login; nothing changed\n');
    expect((await slsctl(['sls', 'opt-in', '--user', 'sven'])).out).toBe('sven: opted back into the Secure Login System for trading-platform login\n');
    const audit = await t.adb.selectFrom('audit_log').select(['event', 'details']).where('event', 'like', 'sls.%').execute();
    expect(audit.map((a) => [a.event, JSON.parse(a.details) as unknown])).toEqual([
      ['sls.opted_out', { by: 'slsctl:agent.test' }],
      ['sls.opted_in', { by: 'slsctl:agent.test' }],
    ]);
  });

  it('L8: restart revoke', async () => {
    const u = await makeUser(t, 'rhea', ['dscplus']);
    const token = await signIn(t, 'rhea', u.devices.dscplus!, TRADING);
    const grant = ok(await postJson<{ restartToken: string; validUntil: string }>(t.app, '/v1/login/restart-token', {}, bearer(token)));
    expect(ok(await getJson(t.app, '/v1/login/restart-token', bearer(token)))).toEqual({ state: 'live', validUntil: grant.validUntil });
    expect((await slsctl(['restart', 'revoke', '--user', 'rhea'])).out).toBe('1 restart token(s) revoked\n');
    // The running client asks and learns it (SPEC L8): auto-restart is off.
    expect(ok(await getJson(t.app, '/v1/login/restart-token', bearer(token)))).toEqual({ state: 'revoked' });
    const r = await postJson(t.app, '/v1/login/restart', { username: 'rhea', restartToken: grant.restartToken });
    expect(r.status).toBe(401);
    // N2: on record once, with the user and the operator; run again, nothing left to revoke: nothing written.
    expect((await slsctl(['restart', 'revoke', 'rhea'])).out).toBe('0 restart token(s) revoked\n');
    const audit = await t.adb.selectFrom('audit_log').select(['username', 'details']).where('event', '=', 'restart.revoked').execute();
    expect(audit.map((a) => [a.username, JSON.parse(a.details) as unknown])).toEqual([['rhea', { by: 'agent.test', count: 1 }]]);
  });
});
