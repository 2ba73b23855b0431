// Every SMS passes the do-not-call list and the carrier hours (SPEC P2, P5): login codes, resends,
// IB Key activation codes, number verification; deferred SMS leave through the dispatcher.
import { afterEach, describe, expect, it } from 'vitest';
import type { LoginStep } from '../../core/api.ts';
import { runSlsctl } from '../cli/slsctl.ts';
import { postJson } from '../testing/http.ts';
import type { Answer } from '../testing/http.ts';
import { testClock } from '../testing/test-server.ts';
import type { SmsGateway, SmsMessage } from '../sms/gateway.ts';
import { accountServices } from './index.ts';
import { bearer, makeUser, ok, PASSWORD, PORTAL, signIn, startAccountServer } from './testing.ts';
import type { AccountTestServer } from './testing.ts';
import { addToDoNotCall } from '../services/phone.ts';

/** The carriers deliver 08:00–21:00 (config smsCarrierHours; test servers turn it off by default). */
const HOURS = { smsCarrierHours: true };
const LONDON_AFTERNOON = Date.parse('2026-11-04T14:00:00Z');
const LONDON_NIGHT = Date.parse('2026-11-04T22:00:00Z');
const LONDON_MORNING = Date.parse('2026-11-05T08:00:00Z');

let t: AccountTestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function errorOf(a: Answer<unknown>): { code: string; message: string; retryAt?: string } {
  return (a.body as { error: { code: string; message: string; retryAt?: string } }).error;
}

async function outbox(server: AccountTestServer) {
  return server.adb.selectFrom('sms_outbox').selectAll().orderBy('id').execute();
}

async function login(server: AccountTestServer, username: string): Promise<Answer<LoginStep>> {
  return postJson<LoginStep>(server.app, '/v1/login', { username, password: PASSWORD, client: PORTAL });
}

describe('SMS policy for every SMS (SPEC P2, P5)', () => {
  it('P2: a login SMS code to a number on the do-not-call list is refused with what to do; nothing is sent', async () => {
    t = await startAccountServer({ config: HOURS, clock: testClock(LONDON_AFTERNOON) });
    await makeUser(t, 'dora', ['sms']);
    await addToDoNotCall(accountServices(t.services).deps, '+447400123456', 'test');
    const r = await login(t, 'dora');
    expect(r.status).toBe(409);
    expect(errorOf(r).code).toBe('SLS_ERR_PHONE_DO_NOT_CALL');
    expect(errorOf(r).message).toMatch(/no login code can be sent.*Choose another device/);
    expect(await outbox(t)).toHaveLength(0);
    const audit = await t.adb.selectFrom('audit_log').selectAll().where('event', '=', 'sms.refused').execute();
    expect(JSON.parse(audit[0]!.details)).toMatchObject({ purpose: 'login_code', reason: 'do_not_call' });
  });

  it('P2: at 22:00 in London a login code is refused (it would arrive dead at 08:00); another device still works', async () => {
    t = await startAccountServer({ config: HOURS, clock: testClock(LONDON_NIGHT) });
    const u = await makeUser(t, 'nina', ['sms', 'dscplus']);
    const start = ok(await login(t, 'nina'));
    if (start.status !== 'select_device') throw new Error(start.status);
    const r = await postJson<LoginStep>(t.app, `/v1/login/${start.transactionId}/device`, { deviceId: u.devices.sms!.device.id });
    expect(r.status).toBe(409);
    expect(errorOf(r)).toMatchObject({ code: 'SLS_ERR_SMS_CARRIER_HOURS', retryAt: new Date(LONDON_MORNING).toISOString() });
    expect(errorOf(r).message).toMatch(/carrier hours.*Use another device/);
    expect(await outbox(t)).toHaveLength(0);
    // The login goes on with the DSC+.
    const token = await signIn(t, 'nina', u.devices.dscplus!);
    expect(token).toMatch(/\S+/);
  });

  it('P2: a resend in the evening is refused when the hours close between the code and the resend', async () => {
    t = await startAccountServer({ config: HOURS, clock: testClock(Date.parse('2026-11-04T20:59:00Z')) });
    await makeUser(t, 'rita', ['sms']);
    const step = ok(await login(t, 'rita'));
    if (step.status !== 'challenge') throw new Error(step.status);
    expect(await outbox(t)).toHaveLength(1);
    t.clock.advance(60_000);
    const r = await postJson(t.app, `/v1/login/${step.transactionId}/resend`, {});
    expect(errorOf(r).code).toBe('SLS_ERR_SMS_CARRIER_HOURS');
    expect(await outbox(t)).toHaveLength(1);
  });

  it('P2: an IB Key activation code is refused for a do-not-call number and at night', async () => {
    t = await startAccountServer({ config: HOURS, clock: testClock(LONDON_NIGHT) });
    await makeUser(t, 'ivan', []);
    const body = { purpose: 'activate', platform: 'android', installationId: 'inst-ivan-1', credentials: { username: 'ivan', password: PASSWORD } };
    const night = await postJson(t.app, '/v1/ibkey/activations', body);
    expect(errorOf(night).code).toBe('SLS_ERR_SMS_CARRIER_HOURS');
    t.clock.set(LONDON_AFTERNOON + 24 * 3600_000);
    await addToDoNotCall(accountServices(t.services).deps, '+447400123456', 'test');
    const dnc = await postJson(t.app, '/v1/ibkey/activations', body);
    expect(errorOf(dnc).code).toBe('SLS_ERR_PHONE_DO_NOT_CALL');
    expect(errorOf(dnc).message).toMatch(/Activate IB Key with another device/);
    expect(await outbox(t)).toHaveLength(0);
  });

  it('P2, P5: a deferred number code leaves through the configured gateway when due, once, also from slsctl sms dispatch', async () => {
    const sent: SmsMessage[] = [];
    const gateway: SmsGateway = { send: async (m) => void sent.push(m) };
    const clock = testClock(LONDON_AFTERNOON);
    const { startTestServer } = await import('../testing/test-server.ts');
    const base = await startTestServer({ config: HOURS, clock, smsGateway: gateway });
    t = Object.assign(base, { adb: accountServices(base.services).deps.adb });
    const u = await makeUser(t, 'phil', ['dscplus']);
    const token = await signIn(t, 'phil', u.devices.dscplus!);
    t.clock.set(LONDON_NIGHT);
    ok(await postJson(t.app, '/v1/mobile-number', { number: '+447400654321' }, bearer(token)));
    expect(sent).toHaveLength(0);
    const rows = await outbox(t);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ purpose: 'verify_number', not_before: LONDON_MORNING, sent_at: null });
    // With a real gateway the held code is sealed at rest (server/sms/held-at-rest.test.ts reads the raw rows).
    expect(rows[0]!.body).toMatch(/^v1\./);

    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 0, dropped: 0, failed: 0 });
    t.clock.set(LONDON_MORNING - 1);
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 0, dropped: 0, failed: 0 });
    t.clock.set(LONDON_MORNING);
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 1, dropped: 0, failed: 0 });
    expect(sent.map((m) => [m.to, m.purpose])).toEqual([['+447400654321', 'verify_number']]);
    expect(sent[0]!.body).toMatch(/Your SLS confirmation code is \d{6}/);
    expect((await outbox(t))[0]).toMatchObject({ sent_at: LONDON_MORNING, body: sent[0]!.body.replace(/\d{6}/, '••••••') });
    // Once only.
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 0, dropped: 0, failed: 0 });
    expect(sent).toHaveLength(1);
  });

  it('P2: a gateway failure leaves the row for the next round; a number put on the do-not-call list meanwhile is dropped', async () => {
    let fail = true;
    const sent: SmsMessage[] = [];
    const gateway: SmsGateway = {
      send: async (m) => {
        if (fail && m.purpose === 'verify_number') throw new Error('gateway down');
        sent.push(m);
      },
    };
    const { startTestServer } = await import('../testing/test-server.ts');
    const base = await startTestServer({ config: HOURS, clock: testClock(LONDON_AFTERNOON), smsGateway: gateway });
    t = Object.assign(base, { adb: accountServices(base.services).deps.adb });
    const u = await makeUser(t, 'gina', ['dscplus']);
    const v = await makeUser(t, 'hugo', ['dscplus']);
    const tg = await signIn(t, 'gina', u.devices.dscplus!);
    const th = await signIn(t, 'hugo', v.devices.dscplus!);
    t.clock.set(LONDON_NIGHT);
    ok(await postJson(t.app, '/v1/mobile-number', { number: '+447400654321' }, bearer(tg)));
    ok(await postJson(t.app, '/v1/mobile-number', { number: '+447400111222' }, bearer(th)));
    t.clock.set(LONDON_MORNING);
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 0, dropped: 0, failed: 2 });
    await addToDoNotCall(accountServices(t.services).deps, '+447400111222', 'test');
    fail = false;
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 1, dropped: 1, failed: 0 });
    expect(sent.map((m) => m.to)).toEqual(['+447400654321']);
    const dropped = (await outbox(t)).find((r) => r.to_number === '+447400111222')!;
    expect(dropped).toMatchObject({ sent_at: null, dropped_reason: 'do_not_call' });
    expect(dropped.body).toContain('code is ••••••.');
  });

  it('P2: with smsCarrierHours off (carriers that deliver at any hour) a login code goes at night; the do-not-call list still applies', async () => {
    t = await startAccountServer({ config: { smsCarrierHours: false }, clock: testClock(LONDON_NIGHT) });
    await makeUser(t, 'owen', ['sms']);
    expect(ok(await login(t, 'owen')).status).toBe('challenge');
    expect(await outbox(t)).toHaveLength(1);
    await addToDoNotCall(accountServices(t.services).deps, '+447400123456', 'test');
    expect(errorOf(await login(t, 'owen')).code).toBe('SLS_ERR_PHONE_DO_NOT_CALL');
  });

  it('P5: with the outbox gateway, slsctl sms dispatch marks the due rows sent and slsctl sms shows it', async () => {
    t = await startAccountServer({ config: HOURS, clock: testClock(LONDON_AFTERNOON) });
    const u = await makeUser(t, 'otto', ['dscplus']);
    const token = await signIn(t, 'otto', u.devices.dscplus!);
    t.clock.set(LONDON_NIGHT);
    ok(await postJson(t.app, '/v1/mobile-number', { number: '+447400654321' }, bearer(token)));
    const server = t;
    const slsctl = async (args: string[]) => {
      let out = '';
      const code = await runSlsctl(['--data-dir', server.dataDir, '--database-url', server.config.databaseUrl, ...args], {
        out: (s) => void (out += s),
        err: (s) => void (out += s),
        readStdin: async () => '',
        promptHidden: async () => null,
        env: { SLS_SERVER_KEY: server.config.serverKey, SLSCTL_OPERATOR: 'agent.test' },
      });
      return { code, out };
    };
    // slsctl runs on the real clock, long after the test clock's morning: the row is due. Its code is
    // kept alive until then here (a code that expired while it waited is dropped, not sent: phone-gaps.test.ts).
    await t.adb.updateTable('mobile_verifications').set({ expires_at: Date.now() + 60 * 60 * 1000 }).execute();
    expect((await slsctl(['sms'])).out).toContain('(deferred until 2026-11-05T08:00:00.000Z)');
    const d = await slsctl(['sms', 'dispatch']);
    expect(d).toEqual({ code: 0, out: 'sent 1, dropped 0, failed 0\n' });
    const listed = (await slsctl(['sms'])).out;
    expect(listed).not.toContain('deferred');
    // The outbox is the phone: the code stays readable once sent.
    expect(listed).toMatch(/\[verify_number\] {2}Your SLS confirmation code is \d{6}\./);
    expect((await slsctl(['sms', 'dispatch'])).out).toBe('sent 0, dropped 0, failed 0\n');
    const row = (await outbox(t))[0]!;
    expect(row.sent_at).not.toBeNull();
  });
});
