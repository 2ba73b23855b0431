// SLS opt-out and back in (SPEC O1–O3, C6) and the mobile number (P1–P5), over HTTP.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MobileNumberStatus } from '../../core/account-api.ts';
import type { LoginStep, SessionInfo } from '../../core/api.ts';
import { accountServices } from './index.ts';
import { addToDoNotCall } from '../services/phone.ts';
import { errorCode, getJson, postJson } from '../testing/http.ts';
import { testClock } from '../testing/test-server.ts';
import { bearer, makeUser, ok, PASSWORD, PORTAL, signIn, startAccountServer, TRADING } from './testing.ts';
import type { AccountTestServer, TestUser } from './testing.ts';

let t: AccountTestServer;
afterEach(async () => {
  await t.close();
});

describe('opting out and back in (SPEC O1, O2, O3)', () => {
  let jane: TestUser;
  let bob: TestUser;
  beforeEach(async () => {
    t = await startAccountServer();
    jane = await makeUser(t, 'jane', ['dscplus'], { accountNumber: 'U100', displayName: 'Jane Doe' });
    bob = await makeUser(t, 'bob', ['scc'], { entityId: jane.entityId, joinAccount: 'U100', displayName: 'Bob Roe' });
  });

  async function optOutBob() {
    const token = await signIn(t, 'jane', jane.devices.dscplus!);
    const r = await postJson(t.app, '/v1/sls/opt-out', { username: 'bob' }, bearer(token));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ username: 'bob', optedOut: true, canChange: true });
  }

  it('O1, O2: an opted-out user signs in to the trading platform without a second factor, with the restriction', async () => {
    await optOutBob();
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'bob', password: PASSWORD, client: TRADING }));
    expect(step.status).toBe('signed_in');
    if (step.status !== 'signed_in') return;
    expect(step.session.authenticatedWith).toBeNull();
    expect(step.session.restrictions).toContain('Pink Sheet and OTCBB trading restricted: SLS opt-out');
    const again = ok(await getJson<SessionInfo>(t.app, '/v1/session', bearer(step.session.token)));
    expect(again.restrictions).toContain('Pink Sheet and OTCBB trading restricted: SLS opt-out');
    expect(again.restrictionDetails).toContainEqual({ code: 'SLS_RESTRICTION_OPT_OUT', message: 'Pink Sheet and OTCBB trading restricted: SLS opt-out' });
  });

  const OPT_OUT = 'Pink Sheet and OTCBB trading restricted: SLS opt-out';
  const restrictionsOf = async (token: string) => ok(await getJson<SessionInfo>(t.app, '/v1/session', bearer(token))).restrictions;

  async function passwordOnlyLogin(): Promise<string> {
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'bob', password: PASSWORD, client: TRADING }));
    if (step.status !== 'signed_in') throw new Error(`expected signed_in, got ${step.status}`);
    return step.session.token;
  }

  it('O2, O3: a session opened with the password only stays restricted after its user opts back in, until it ends; sessions opened with the device are not', async () => {
    await optOutBob();
    const passwordOnly = await passwordOnlyLogin();
    expect(await restrictionsOf(passwordOnly)).toContain(OPT_OUT);
    // No auto-restart continues it (L8 needs a session opened with a device).
    expect(errorCode(await postJson(t.app, '/v1/login/restart-token', {}, bearer(passwordOnly)))).toBe('SLS_ERR_SECOND_FACTOR_REQUIRED');

    const janeToken = await signIn(t, 'jane', jane.devices.dscplus!);
    ok(await postJson(t.app, '/v1/sls/opt-in', { username: 'bob' }, bearer(janeToken)));
    // It was never more than a password: opting in does not lift its restriction (it did).
    expect(await restrictionsOf(passwordOnly)).toContain(OPT_OUT);
    // From now on the device is asked, and a session opened with it has no opt-out restriction.
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'bob', password: PASSWORD, client: TRADING }));
    expect(step.status).toBe('challenge');
    const withDevice = await signIn(t, 'bob', bob.devices.scc!);
    expect(await restrictionsOf(withDevice)).not.toContain(OPT_OUT);
  });

  it('O1, C6: the Client Portal still asks the second factor, and portal functions refuse the trading session', async () => {
    await optOutBob();
    const portal = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'bob', password: PASSWORD, client: PORTAL }));
    expect(portal.status).toBe('challenge');
    const trading = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'bob', password: PASSWORD, client: TRADING }));
    if (trading.status !== 'signed_in') throw new Error('expected signed_in');
    const w = await getJson(t.app, '/v1/withdrawals', bearer(trading.session.token));
    expect(errorCode(w)).toBe('SLS_ERR_SECOND_FACTOR_REQUIRED');
  });

  it('O1: a wrong password is still refused for an opted-out user', async () => {
    await optOutBob();
    expect(errorCode(await postJson(t.app, '/v1/login', { username: 'bob', password: 'wrong-password', client: TRADING }))).toBe('SLS_ERR_INVALID_CREDENTIALS');
  });

  it('O3: a user who is not the primary user is told who may opt back in', async () => {
    await optOutBob();
    const token = await signIn(t, 'bob', bob.devices.scc!);
    const r = await postJson(t.app, '/v1/sls/opt-in', {}, bearer(token));
    expect(errorCode(r)).toBe('SLS_ERR_NOT_PRIMARY_USER');
    expect(r.status).toBe(403);
    expect((r.body as unknown as { error: { message: string } }).error.message).toBe("Only Jane Doe (jane), the account's primary user, can opt users back into the Secure Login System.");
    const status = ok(await getJson(t.app, '/v1/sls/opt-out', bearer(token)));
    expect(status).toMatchObject({ optedOut: true, canChange: false, primaryUser: { username: 'jane', displayName: 'Jane Doe' }, severalPrimaryUsers: false });
  });

  it('O3: the primary user opts the user back in; the trading login asks the device again', async () => {
    await optOutBob();
    const token = await signIn(t, 'jane', jane.devices.dscplus!);
    const r = ok(await postJson(t.app, '/v1/sls/opt-in', { username: 'bob' }, bearer(token)));
    expect(r).toMatchObject({ optedOut: false });
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'bob', password: PASSWORD, client: TRADING }));
    expect(step.status).toBe('challenge');
    const events = await t.adb.selectFrom('audit_log').select('event').where('event', 'like', 'sls.%').execute();
    expect(events.map((e) => e.event)).toEqual(['sls.opted_out', 'sls.opted_in']);
  });

  it('N2, O1, O3: opting out an opted-out user, or in one who is not, changes nothing and writes no audit entry', async () => {
    const token = await signIn(t, 'jane', jane.devices.dscplus!);
    // Opting in a user who never opted out: the status as it is, no "opted in by jane" in the log.
    expect(ok(await postJson(t.app, '/v1/sls/opt-in', { username: 'bob' }, bearer(token)))).toMatchObject({ username: 'bob', optedOut: false });
    const first = ok(await postJson<{ optedOutAt: string }>(t.app, '/v1/sls/opt-out', { username: 'bob' }, bearer(token)));
    t.clock.advance(60_000);
    const again = ok(await postJson<{ optedOutAt: string }>(t.app, '/v1/sls/opt-out', { username: 'bob' }, bearer(token)));
    expect(again).toMatchObject({ optedOut: true, optedOutAt: first.optedOutAt });
    ok(await postJson(t.app, '/v1/sls/opt-in', { username: 'bob' }, bearer(token)));
    ok(await postJson(t.app, '/v1/sls/opt-in', { username: 'bob' }, bearer(token)));
    const events = await t.adb.selectFrom('audit_log').select(['event', 'details']).where('event', 'like', 'sls.%').execute();
    expect(events.map((e) => e.event)).toEqual(['sls.opted_out', 'sls.opted_in']);
    expect(events.map((e) => JSON.parse(e.details) as unknown)).toEqual([{ by: 'jane' }, { by: 'jane' }]);
  });

  it('A1: a non-primary user cannot opt out either, nor touch users of other accounts', async () => {
    const token = await signIn(t, 'bob', bob.devices.scc!);
    expect(errorCode(await postJson(t.app, '/v1/sls/opt-out', {}, bearer(token)))).toBe('SLS_ERR_NOT_PRIMARY_USER');
    await makeUser(t, 'stranger', ['scc']);
    const janeToken = await signIn(t, 'jane', jane.devices.dscplus!);
    expect(errorCode(await postJson(t.app, '/v1/sls/opt-out', { username: 'stranger' }, bearer(janeToken)))).toBe('SLS_ERR_NOT_FOUND');
  });
});

describe('the mobile number (SPEC P1–P5)', () => {
  const LONDON_NOON = Date.parse('2026-11-04T12:00:00Z');
  let u: TestUser;
  let token: string;
  beforeEach(async () => {
    t = await startAccountServer({ config: { smsCarrierHours: true }, clock: testClock(LONDON_NOON) });
    u = await makeUser(t, 'phil', ['dscplus'], { mobile: null });
    token = await signIn(t, 'phil', u.devices.dscplus!);
  });

  const lastCode = async () => {
    const row = await t.adb.selectFrom('sms_outbox').selectAll().where('purpose', '=', 'verify_number').orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
    return { code: /(\d{6})/.exec(row.body)![1]!, row };
  };

  it('P1: set, receive the code by SMS, type it back: verified, and the trading restriction goes', async () => {
    const before = ok(await getJson<SessionInfo>(t.app, '/v1/session', bearer(token)));
    expect(before.restrictions).toContain('Trading restricted: mobile number not verified');
    expect(before.restrictionDetails.map((r) => r.code)).toContain('SLS_RESTRICTION_MOBILE_NOT_VERIFIED');
    const set = ok(await postJson<MobileNumberStatus>(t.app, '/v1/mobile-number', { number: '+44 7400 123456' }, bearer(token)));
    expect(set.pending).toMatchObject({ maskedNumber: '+44 ••• ••• ••56', deferred: false });
    const { code, row } = await lastCode();
    expect(row.to_number).toBe('+447400123456');
    const wrong = await postJson(t.app, '/v1/mobile-number/verify', { code: code === '000000' ? '111111' : '000000' }, bearer(token));
    expect(errorCode(wrong)).toBe('SLS_ERR_WRONG_RESPONSE');
    const done = ok(await postJson<MobileNumberStatus & { enrolledInSms: boolean }>(t.app, '/v1/mobile-number/verify', { code }, bearer(token)));
    expect(done).toMatchObject({ number: '+447400123456', verified: true, pending: null, enrolledInSms: false });
    const after = ok(await getJson<SessionInfo>(t.app, '/v1/session', bearer(token)));
    expect(after.restrictions).not.toContain('Trading restricted: mobile number not verified');
    expect(after.restrictionDetails.map((r) => r.code)).not.toContain('SLS_RESTRICTION_MOBILE_NOT_VERIFIED');
  });

  it('P2: a VOIP number is refused with its own error', async () => {
    const r = await postJson(t.app, '/v1/mobile-number', { number: '+44 56 1234 5678' }, bearer(token));
    expect(errorCode(r)).toBe('SLS_ERR_PHONE_VOIP');
    expect(r.status).toBe(400);
    expect(await t.adb.selectFrom('sms_outbox').selectAll().execute()).toHaveLength(0);
  });

  it('P2: fixed lines and invalid numbers are refused', async () => {
    expect(errorCode(await postJson(t.app, '/v1/mobile-number', { number: '+44 20 7123 4567' }, bearer(token)))).toBe('SLS_ERR_PHONE_NOT_MOBILE');
    expect(errorCode(await postJson(t.app, '/v1/mobile-number', { number: '+1 555 123 4567' }, bearer(token)))).toBe('SLS_ERR_PHONE_INVALID');
  });

  it('P2: a number on the do-not-call list (slsctl dnc) may not receive SMS', async () => {
    await addToDoNotCall(accountServices(t.services).deps, '+44 7400 123456', 'test');
    const r = await postJson(t.app, '/v1/mobile-number', { number: '07400 123456', defaultCountry: 'GB' }, bearer(token));
    expect(errorCode(r)).toBe('SLS_ERR_PHONE_DO_NOT_CALL');
    expect(await t.adb.selectFrom('sms_outbox').selectAll().execute()).toHaveLength(0);
  });

  it('P2: at 22:00 in London the SMS waits in the outbox until 08:00', async () => {
    t.clock.set(Date.parse('2026-11-04T22:00:00Z'));
    token = await signIn(t, 'phil', u.devices.dscplus!);
    const set = ok(await postJson<MobileNumberStatus>(t.app, '/v1/mobile-number', { number: '+447400123456' }, bearer(token)));
    expect(set.pending).toMatchObject({ deferred: true, deliverAt: '2026-11-05T08:00:00.000Z' });
    const { row } = await lastCode();
    expect(row.not_before).toBe(Date.parse('2026-11-05T08:00:00Z'));
  });

  it('P2: asking again for the same number before the cool-down is refused', async () => {
    ok(await postJson(t.app, '/v1/mobile-number', { number: '+447400123456' }, bearer(token)));
    expect(errorCode(await postJson(t.app, '/v1/mobile-number', { number: '+447400123456' }, bearer(token)))).toBe('SLS_ERR_RESEND_TOO_SOON');
  });

  it('P4: a user without an active device who verifies a number is enrolled in SMS', async () => {
    await makeUser(t, 'tina', [], { mobile: null });
    const { passcode, deviceId } = await t.provisioning.issueTemporaryPasscode('tina', 'test');
    const tt = await signIn(t, 'tina', { device: { id: deviceId } } as never, PORTAL, () => passcode);
    ok(await postJson(t.app, '/v1/mobile-number', { number: '+447400654321' }, bearer(tt)));
    const { code } = await lastCode();
    const done = ok(await postJson<{ enrolledInSms: boolean }>(t.app, '/v1/mobile-number/verify', { code }, bearer(tt)));
    expect(done.enrolledInSms).toBe(true);
    const devices = await t.provisioning.devicesOf('tina');
    expect(devices.filter((d) => d.kind === 'sms' && d.status === 'active')).toHaveLength(1);
  });
});

describe('a user of several accounts (SPEC A1, O1, O3)', () => {
  it('A1: the opt-out of a user whose accounts have different primary users needs each of them: neither alone may, and nothing changes', async () => {
    t = await startAccountServer();
    const jane = await makeUser(t, 'jane', ['dscplus'], { accountNumber: 'U100', displayName: 'Jane Doe' });
    // Bob uses Jane's account U100 and is the primary user of his own account U300.
    await t.provisioning.createAccount({ number: 'U300', entityId: jane.entityId, balanceUsd: 10_000 });
    await t.provisioning.createUser({ username: 'bob', entityId: jane.entityId, password: PASSWORD, displayName: 'Bob Roe', mobileNumber: '+447400123457', accountNumbers: ['U100', 'U300'] });
    const bobScc = await t.provisioning.addDevice({ username: 'bob', kind: 'scc' });
    const refusal = /^This user's accounts have different primary users: only the primary user of every one of them can opt users out of the Secure Login System\. Please contact client services\.$/;

    const bobToken = await signIn(t, 'bob', bobScc);
    const own = await postJson(t.app, '/v1/sls/opt-out', {}, bearer(bobToken));
    expect(errorCode(own)).toBe('SLS_ERR_NOT_PRIMARY_USER');
    expect((own.body as unknown as { error: { message: string } }).error.message).toMatch(refusal);
    // O3: the status says why nobody is named, so the client can send the user to client services.
    expect(ok(await getJson(t.app, '/v1/sls/opt-out', bearer(bobToken)))).toMatchObject({ optedOut: false, canChange: false, primaryUser: null, severalPrimaryUsers: true });

    const janeToken = await signIn(t, 'jane', jane.devices.dscplus!);
    const byJane = await postJson(t.app, '/v1/sls/opt-out', { username: 'bob' }, bearer(janeToken));
    expect(errorCode(byJane)).toBe('SLS_ERR_NOT_PRIMARY_USER');
    expect((byJane.body as unknown as { error: { message: string } }).error.message).toMatch(refusal);

    // O1: still no trading-platform login without Bob's device; nothing written to the log.
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'bob', password: PASSWORD, client: TRADING }));
    expect(step.status).toBe('challenge');
    expect(await t.adb.selectFrom('sls_opt_outs').selectAll().execute()).toEqual([]);
    expect(await t.adb.selectFrom('audit_log').select('event').where('event', 'like', 'sls.%').execute()).toEqual([]);
  });
});

describe('who may change the setting is said before any second factor (SPEC O3, C6)', () => {
  it('O3: an opted-out user signed in without a device is still told who may opt back in; the primary user needs a device', async () => {
    t = await startAccountServer();
    const jane = await makeUser(t, 'jane', ['dscplus'], { accountNumber: 'U200', displayName: 'Jane Doe' });
    await makeUser(t, 'bob', ['scc'], { entityId: jane.entityId, joinAccount: 'U200', displayName: 'Bob Roe' });
    const janeToken = await signIn(t, 'jane', jane.devices.dscplus!);
    ok(await postJson(t.app, '/v1/sls/opt-out', { username: 'bob' }, bearer(janeToken)));
    ok(await postJson(t.app, '/v1/sls/opt-out', {}, bearer(janeToken)));
    const bob = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'bob', password: PASSWORD, client: TRADING }));
    if (bob.status !== 'signed_in') throw new Error('expected signed_in');
    const r = await postJson(t.app, '/v1/sls/opt-in', {}, bearer(bob.session.token));
    expect(errorCode(r)).toBe('SLS_ERR_NOT_PRIMARY_USER');
    expect((r.body as unknown as { error: { message: string } }).error.message).toMatch(/^Only Jane Doe \(jane\), the account's primary user/);
    const janeTrading = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'jane', password: PASSWORD, client: TRADING }));
    if (janeTrading.status !== 'signed_in') throw new Error('expected signed_in');
    expect(errorCode(await postJson(t.app, '/v1/sls/opt-in', {}, bearer(janeTrading.session.token)))).toBe('SLS_ERR_SECOND_FACTOR_REQUIRED');
  });
});
