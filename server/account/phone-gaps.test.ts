// Gaps found in a review of number verification and SMS (SPEC P1–P5, L4, L6, N2), on SQLite and
// PostgreSQL: a number put on the do-not-call list after its code left, P4 for a sharing requester,
// an expired code, a wrong code and its audit entry, a failing SMS gateway (nothing kept, nothing
// counted), and the deferred codes the dispatcher must not send (replaced, expired) or drop unaudited.
import { afterEach, expect, it } from 'vitest';
import type { ConfirmationChallenge, MobileNumberStatus } from '../../core/account-api.ts';
import type { LoginStep } from '../../core/api.ts';
import type { SlsConfig } from '../config.ts';
import { describeEachBackend, probePostgres, tempDataDir } from '../db/pg-testing.ts';
import type { FreshDatabase } from '../db/pg-testing.ts';
import { addToDoNotCall } from '../services/phone.ts';
import type { SmsGateway, SmsMessage } from '../sms/gateway.ts';
import { errorCode, postJson } from '../testing/http.ts';
import type { Answer } from '../testing/http.ts';
import { refuseAuditEvent } from '../testing/refuse-audit.ts';
import { startTestServer, testClock } from '../testing/test-server.ts';
import { accountServices } from './index.ts';
import { accountDb } from './schema.ts';
import { answer, bearer, makeUser, ok, PASSWORD, PORTAL, signIn } from './testing.ts';
import type { AccountTestServer, TestUser } from './testing.ts';

const probe = await probePostgres();

const LONDON_NOON = Date.parse('2026-11-04T12:00:00Z');
/** 23:00 in London: a verification code waits for the carriers' hours (08:00). */
const LONDON_NIGHT = Date.parse('2026-11-04T23:00:00Z');
const LONDON_MORNING = Date.parse('2026-11-05T08:00:00Z');
const COOL_DOWN_MS = 30_000;
const MINUTE_MS = 60_000;

interface ErrorBodyOf {
  code: string;
  message: string;
  retryAt?: string;
}
const errorOf = (a: Answer<unknown>): ErrorBodyOf => (a.body as { error: ErrorBodyOf }).error;

describeEachBackend('number verification and SMS: review gaps (P1–P5, L4, N2)', probe, (backend) => {
  let t: AccountTestServer;
  let fresh: FreshDatabase;
  let data: ReturnType<typeof tempDataDir>;
  /** What the configured gateway sent; `failing` makes it throw, as a gateway that is down. */
  let sent: SmsMessage[];
  let failing: boolean;

  async function start(opts: { at?: number; config?: Partial<SlsConfig> } = {}): Promise<void> {
    sent = [];
    failing = false;
    const gateway: SmsGateway = {
      send: async (m) => {
        // A real gateway's error may well carry the message it could not send.
        if (failing) throw new Error(`gateway down, could not send "${m.body}"`);
        sent.push(m);
      },
    };
    data = tempDataDir();
    fresh = await backend.freshDatabase(data.dir);
    const base = await startTestServer({ clock: testClock(opts.at ?? LONDON_NOON), dataDir: data.dir, smsGateway: gateway, config: { databaseUrl: fresh.url, ...opts.config } });
    t = Object.assign(base, { adb: accountDb(base.services.db) });
  }
  afterEach(async () => {
    await t.close();
    await fresh.drop();
    data.remove();
  });

  const setNumber = (token: string, number: string) => postJson<MobileNumberStatus>(t.app, '/v1/mobile-number', { number }, bearer(token));
  const verify = (token: string, code: string) => postJson<MobileNumberStatus & { enrolledInSms: boolean }>(t.app, '/v1/mobile-number/verify', { code }, bearer(token));
  /** The code in the last verification SMS to `number`: sent by the gateway, or waiting in the outbox. */
  const codeFor = async (number: string) => {
    const gone = sent.filter((m) => m.to === number && m.purpose === 'verify_number');
    const body = gone.length > 0 ? gone.at(-1)!.body : (await t.adb.selectFrom('sms_outbox').select('body').where('to_number', '=', number).orderBy('id', 'desc').executeTakeFirstOrThrow()).body;
    return /(\d{6})/.exec(body)![1]!;
  };
  const wrongFor = (right: string) => (right === '000000' ? '111111' : '000000');
  const audit = async (event: string) =>
    (await t.adb.selectFrom('audit_log').selectAll().where('event', '=', event).execute()).sort((a, b) => a.id - b.id).map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
  const userRow = (userId: string) => t.adb.selectFrom('users').select(['mobile_number', 'mobile_verified_at']).where('id', '=', userId).executeTakeFirstOrThrow();
  const smsDevices = async (userId: string) => (await t.adb.selectFrom('devices').select(['kind', 'status']).where('user_id', '=', userId).execute()).filter((d) => d.kind === 'sms');
  const verifications = (userId: string) => t.adb.selectFrom('mobile_verifications').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
  const budget = async (number: string) => {
    const rows = await t.adb.withTables<{ sms_budget: { number: string; bucket: string; sent: string } }>().selectFrom('sms_budget').select(['bucket', 'sent']).where('number', '=', number).execute();
    return Object.fromEntries(rows.map((r) => [r.bucket, (JSON.parse(r.sent) as number[]).length]));
  };
  /** A user without any device, signed in to the portal with a temporary passcode (P4 would enrol SMS). */
  const deviceless = async (username: string) => {
    const u = await makeUser(t, username, [], { mobile: null });
    const { passcode, deviceId } = await t.provisioning.issueTemporaryPasscode(username, 'test');
    return { u, token: await signIn(t, username, { device: { id: deviceId } } as never, PORTAL, () => passcode) };
  };

  it('P2, P4: a number put on the do-not-call list after its code left is not verified (SLS_ERR_PHONE_DO_NOT_CALL); no SMS device is enrolled for it; the refusal is audited', async () => {
    await start();
    const { u, token } = await deviceless('dora');
    ok(await setNumber(token, '+447400123456'));
    const code = await codeFor('+447400123456');
    await addToDoNotCall(accountServices(t.services).deps, '+447400123456', 'test');
    const r = await verify(token, code);
    expect(r.status).toBe(409);
    expect(errorOf(r).code).toBe('SLS_ERR_PHONE_DO_NOT_CALL');
    expect(errorOf(r).message).toMatch(/another mobile number/);
    expect(await userRow(u.userId)).toEqual({ mobile_number: null, mobile_verified_at: null });
    expect(await smsDevices(u.userId)).toEqual([]);
    expect(await audit('mobile.verified')).toEqual([]);
    expect((await audit('mobile.refused')).map((e) => e.details)).toEqual([{ reason: 'do_not_call', at: 'verify', masked: '+44 ••• ••• ••56' }]);
    // A wrong code is still a wrong code (nothing told apart for it), and the verification stays as it was.
    expect(errorCode(await verify(token, wrongFor(code)))).toBe('SLS_ERR_WRONG_RESPONSE');
    expect((await verifications(u.userId)).map((v) => [v.verified_at, v.ended_at, v.wrong_attempts])).toEqual([[null, null, 1]]);
  });

  it('P4, S5: a sharing requester (own devices set aside for the shared one) who verifies a number is not enrolled in SMS beside it', async () => {
    await start();
    const owner = await makeUser(t, 'owen', ['dscplus']);
    const rita: TestUser = await makeUser(t, 'rita', ['scc'], { entityId: owner.entityId, mobile: null });
    const ritaCard = await signIn(t, 'rita', rita.devices.scc!);
    // S3: the owner's credentials, a challenge on the owner's card, review, submit: approved at once (same entity).
    const s = ok(await postJson<{ request: { id: string }; confirmation: ConfirmationChallenge }>(t.app, '/v1/sharing', { ownerUsername: 'owen', ownerPassword: PASSWORD }, bearer(ritaCard)));
    ok(await postJson(t.app, `/v1/sharing/${s.request.id}/response`, { confirmationId: s.confirmation.confirmationId, response: answer(owner.devices.dscplus!, s.confirmation.challenge) }, bearer(ritaCard)));
    expect(ok(await postJson<{ state: string }>(t.app, `/v1/sharing/${s.request.id}/submit`, {}, bearer(ritaCard))).state).toBe('approved');
    // S5: Rita now logs in with the owner's DSC+, her only device.
    const token = await signIn(t, 'rita', owner.devices.dscplus!);
    ok(await setNumber(token, '+447400654321'));
    const done = ok(await verify(token, await codeFor('+447400654321')));
    expect(done).toMatchObject({ number: '+447400654321', verified: true, enrolledInSms: false });
    expect(await smsDevices(rita.userId)).toEqual([]);
    // Her login still offers the shared card only.
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'rita', password: PASSWORD, client: PORTAL }));
    expect(step.status === 'challenge' ? step.challenge.deviceId : step.status).toBe(owner.devices.dscplus!.device.id);
  });

  it('P1: a code past its 15 minutes is answered SLS_ERR_CODE_EXPIRED (ask for a new code), right or wrong, and counts no failure', async () => {
    await start();
    const { u, token } = await deviceless('evan');
    ok(await setNumber(token, '+447400123456'));
    const code = await codeFor('+447400123456');
    t.clock.advance(15 * MINUTE_MS);
    for (const typed of [code, wrongFor(code)]) {
      const r = await verify(token, typed);
      expect(r.status).toBe(410);
      expect(errorOf(r).code).toBe('SLS_ERR_CODE_EXPIRED');
      expect(errorOf(r).message).toMatch(/new code/);
    }
    expect(await audit('mobile.code_failed')).toEqual([]);
    expect((await verifications(u.userId)).map((v) => [v.verified_at, v.wrong_attempts])).toEqual([[null, 0]]);
    // A new code works.
    ok(await setNumber(token, '+447400123456'));
    expect(ok(await verify(token, await codeFor('+447400123456'))).verified).toBe(true);
  });

  it('N2, L6: a wrong code is counted with its mobile.code_failed entry or not at all; once the log takes entries it is counted, on record once', async () => {
    await start();
    const { u, token } = await deviceless('wendy');
    ok(await setNumber(token, '+447400123456'));
    const code = await codeFor('+447400123456');
    const allow = await refuseAuditEvent(t.adb, 'mobile.code_failed');
    expect((await verify(token, wrongFor(code))).status).toBe(500);
    expect((await verifications(u.userId)).map((v) => v.wrong_attempts)).toEqual([0]);
    await allow();
    expect(errorOf(await verify(token, wrongFor(code)))).toMatchObject({ code: 'SLS_ERR_WRONG_RESPONSE', attemptsLeft: 2 });
    expect((await verifications(u.userId)).map((v) => v.wrong_attempts)).toEqual([1]);
    expect((await audit('mobile.code_failed')).map((e) => e.details)).toEqual([{ attemptsLeft: 2 }]);
  });

  it('P5, L4: the SMS gateway failing: SLS_ERR_SERVICE_UNAVAILABLE with retryAt (not a 500, no code in it); nothing kept, nothing counted; the code goes at once when it is back', async () => {
    await start({ config: { smsBudgetPerHour: 1 } });
    const { u, token } = await deviceless('gail');
    failing = true;
    for (let i = 0; i < 3; i++) {
      const r = await setNumber(token, '+447400123456');
      expect(r.status).toBe(503);
      expect(errorOf(r)).toMatchObject({ code: 'SLS_ERR_SERVICE_UNAVAILABLE', retryAt: new Date(t.clock.now() + COOL_DOWN_MS).toISOString() });
      expect(errorOf(r).message).toMatch(/text message service/);
      expect(JSON.stringify(r.body)).not.toMatch(/\d{6}|gateway down/);
    }
    // Not stored, not in the cool-down or the daily cap, not in the number's budget of 1.
    expect(await verifications(u.userId)).toEqual([]);
    expect(await budget('+447400123456')).toEqual({ verify_number: 0 });
    // SPEC N2: each code was stored with its mobile.code_sent before its SMS was asked for, and withdrawn
    // with its mobile.code_not_sent when the SMS did not leave.
    const story = async () => [...(await audit('mobile.code_sent')), ...(await audit('mobile.code_not_sent'))].sort((a, b) => a.id - b.id).map((e) => [e.event, e.details]);
    const codeSent = ['mobile.code_sent', { masked: '+44 ••• ••• ••56', deferredUntil: null }];
    const notSent = ['mobile.code_not_sent', { masked: '+44 ••• ••• ••56', reason: 'SLS_ERR_SERVICE_UNAVAILABLE' }];
    expect(await story()).toEqual([codeSent, notSent, codeSent, notSent, codeSent, notSent]);
    failing = false;
    const s = ok(await setNumber(token, '+447400123456'));
    expect(s.pending).toMatchObject({ maskedNumber: '+44 ••• ••• ••56', deferred: false });
    expect(sent.map((m) => m.to)).toEqual(['+447400123456']);
    expect(await budget('+447400123456')).toEqual({ verify_number: 1 });
    expect(await story()).toEqual([codeSent, notSent, codeSent, notSent, codeSent, notSent, codeSent]);
    expect(ok(await verify(token, await codeFor('+447400123456'))).verified).toBe(true);
  });

  it('N2, P1: a code is stored with its mobile.code_sent entry before its SMS leaves, or not at all: refused by the log, nothing is sent or kept and the code that waited still stands; the retry sends one, on record once', async () => {
    await start();
    const { u, token } = await deviceless('audrey');
    ok(await setNumber(token, '+447400111222'));
    t.clock.advance(COOL_DOWN_MS);

    const allow = await refuseAuditEvent(t.adb, 'mobile.code_sent');
    expect((await setNumber(token, '+447400654321')).status).toBe(500);
    // No SMS to the new number, none waiting, nothing of its budget used; no code stored for it.
    expect(sent.map((m) => m.to)).toEqual(['+447400111222']);
    expect(await t.adb.selectFrom('sms_outbox').select('id').execute()).toEqual([]);
    expect(await budget('+447400654321')).toEqual({});
    expect((await verifications(u.userId)).map((v) => [v.number, v.ended_at])).toEqual([['+447400111222', null]]);
    expect((await audit('mobile.code_sent')).map((e) => e.details)).toEqual([{ masked: '+44 ••• ••• ••22', deferredUntil: null }]);

    await allow();
    expect(ok(await setNumber(token, '+447400654321')).pending).toMatchObject({ maskedNumber: '+44 ••• ••• ••21', deferred: false });
    expect(sent.map((m) => m.to)).toEqual(['+447400111222', '+447400654321']);
    expect((await verifications(u.userId)).map((v) => [v.number, v.ended_at === null])).toEqual([
      ['+447400111222', false],
      ['+447400654321', true],
    ]);
    expect((await audit('mobile.code_sent')).map((e) => e.details)).toEqual([
      { masked: '+44 ••• ••• ••22', deferredUntil: null },
      { masked: '+44 ••• ••• ••21', deferredUntil: null },
    ]);
    expect(await audit('mobile.code_not_sent')).toEqual([]);
    expect(ok(await verify(token, await codeFor('+447400654321'))).verified).toBe(true);
  });

  it('N2, P2: a code held for the carrier hours is held with its mobile.code_sent entry or not at all; the retry holds one, on record once', async () => {
    await start({ at: LONDON_NIGHT, config: { smsCarrierHours: true } });
    const { u, token } = await deviceless('holly');
    const allow = await refuseAuditEvent(t.adb, 'mobile.code_sent');
    expect((await setNumber(token, '+447400111222')).status).toBe(500);
    expect(await t.adb.selectFrom('sms_outbox').select('id').execute()).toEqual([]);
    expect(await verifications(u.userId)).toEqual([]);

    await allow();
    expect(ok(await setNumber(token, '+447400111222')).pending).toMatchObject({ deferred: true, deliverAt: new Date(LONDON_MORNING).toISOString() });
    expect(await t.adb.selectFrom('sms_outbox').select(['to_number', 'not_before']).execute()).toEqual([{ to_number: '+447400111222', not_before: LONDON_MORNING }]);
    expect((await audit('mobile.code_sent')).map((e) => e.details)).toEqual([{ masked: '+44 ••• ••• ••22', deferredUntil: new Date(LONDON_MORNING).toISOString() }]);
    t.clock.set(LONDON_MORNING);
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 1, dropped: 0, failed: 0 });
    expect(sent.map((m) => m.to)).toEqual(['+447400111222']);
  });

  it('P5, L4: a login code the gateway failed to send is SLS_ERR_SERVICE_UNAVAILABLE and uses none of the number\'s budget', async () => {
    await start({ config: { smsBudgetPerHour: 1 } });
    await makeUser(t, 'sam', ['sms']);
    const login = () => postJson<LoginStep>(t.app, '/v1/login', { username: 'sam', password: PASSWORD, client: PORTAL });
    failing = true;
    for (let i = 0; i < 2; i++) expect(errorCode(await login())).toBe('SLS_ERR_SERVICE_UNAVAILABLE');
    expect(await budget('+447400123456')).toEqual({ codes: 0 });
    failing = false;
    const step = ok(await login());
    expect(step.status === 'challenge' ? step.challenge.type : step.status).toBe('sms_code');
    expect(sent.map((m) => m.purpose)).toEqual(['login_code']);
  });

  it('P2, P1, N1: a code held for the night and replaced by a newer one (a corrected number) is dropped at 08:00 (code_ended, audited); only the live code leaves, once, however many dispatch', async () => {
    await start({ at: LONDON_NIGHT, config: { smsCarrierHours: true } });
    const { u, token } = await deviceless('nina');
    expect(ok(await setNumber(token, '+447400111222')).pending?.deferred).toBe(true);
    t.clock.advance(COOL_DOWN_MS);
    expect(ok(await setNumber(token, '+447400654321')).pending?.deferred).toBe(true);
    t.clock.set(LONDON_MORNING);
    const rounds = await Promise.all([t.services.sms.dispatchDue(), t.services.sms.dispatchDue()]);
    expect(rounds.reduce((a, r) => ({ sent: a.sent + r.sent, dropped: a.dropped + r.dropped, failed: a.failed + r.failed }), { sent: 0, dropped: 0, failed: 0 })).toEqual({ sent: 1, dropped: 1, failed: 0 });
    expect(sent.map((m) => m.to)).toEqual(['+447400654321']);
    const rows = await t.adb.selectFrom('sms_outbox').select(['to_number', 'sent_at', 'dropped_reason']).orderBy('id').execute();
    expect(rows).toEqual([
      { to_number: '+447400111222', sent_at: null, dropped_reason: 'code_ended' },
      { to_number: '+447400654321', sent_at: LONDON_MORNING, dropped_reason: null },
    ]);
    expect((await audit('sms.dropped')).map((e) => [e.user_id, e.details])).toEqual([[u.userId, { purpose: 'verify_number', reason: 'code_ended', masked: '+44 ••• ••• ••22' }]]);
    expect(ok(await verify(token, await codeFor('+447400654321'))).verified).toBe(true);
  });

  it('P2, P5: a held code whose 15 minutes ran out while the gateway was failing is dropped, not sent hours late', async () => {
    await start({ at: LONDON_NIGHT, config: { smsCarrierHours: true } });
    const { token } = await deviceless('gary');
    ok(await setNumber(token, '+447400111222'));
    t.clock.set(LONDON_MORNING);
    failing = true;
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 0, dropped: 0, failed: 1 });
    t.clock.set(LONDON_MORNING + 15 * MINUTE_MS);
    failing = false;
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 0, dropped: 1, failed: 0 });
    expect(sent).toEqual([]);
    expect(errorCode(await verify(token, '123456'))).toBe('SLS_ERR_CODE_EXPIRED');
  });

  it('N2, P2: a held SMS is dropped (do-not-call) with its sms.dropped entry or not at all: it waits for the next round meanwhile', async () => {
    await start({ at: LONDON_NIGHT, config: { smsCarrierHours: true } });
    const { token } = await deviceless('dave');
    ok(await setNumber(token, '+447400111222'));
    await addToDoNotCall(accountServices(t.services).deps, '+447400111222', 'test');
    t.clock.set(LONDON_MORNING);
    const allow = await refuseAuditEvent(t.adb, 'sms.dropped');
    await expect(t.services.sms.dispatchDue()).rejects.toThrow();
    const row = () => t.adb.selectFrom('sms_outbox').select(['sent_at', 'dropped_reason']).executeTakeFirstOrThrow();
    expect(await row()).toEqual({ sent_at: null, dropped_reason: null });
    await allow();
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 0, dropped: 1, failed: 0 });
    expect(await row()).toEqual({ sent_at: null, dropped_reason: 'do_not_call' });
    expect(await audit('sms.dropped')).toHaveLength(1);
    expect(sent).toEqual([]);
  });
});
