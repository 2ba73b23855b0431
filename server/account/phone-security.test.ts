// Abuse of the SMS that slsd sends, and of the number verification code, on SQLite and PostgreSQL
// (SPEC L4, L6, P1, N1): one cool-down and a daily cap per user for number verification codes,
// whatever the number; each wrong code a failure of the user (10 lock, a locked user gets no
// judgement); and a rolling budget of SMS per number shared by every slsd.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MobileNumberStatus } from '../../core/account-api.ts';
import type { LoginStep } from '../../core/api.ts';
import { describeEachBackend, probePostgres, tempDataDir } from '../db/pg-testing.ts';
import type { FreshDatabase } from '../db/pg-testing.ts';
import type { SlsConfig } from '../config.ts';
import { errorCode, postJson } from '../testing/http.ts';
import type { Answer } from '../testing/http.ts';
import { testClock } from '../testing/test-server.ts';
import { bearer, makeUser, ok, PASSWORD, PORTAL, signIn, startAccountServer } from './testing.ts';
import type { AccountTestServer, TestUser } from './testing.ts';

const probe = await probePostgres();

/** Noon in London: inside the carriers' hours, every SMS goes at once. */
const LONDON_NOON = Date.parse('2026-11-04T12:00:00Z');
const COOL_DOWN_MS = 30_000;
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** The request address of Fastify's inject: where the per-address counter counts (L6). */
const ADDRESS = '127.0.0.1';

interface ErrorBodyOf {
  code: string;
  message: string;
  retryAt?: string;
  lockedUntil?: string;
  attemptsLeft?: number;
}
const errorOf = (a: Answer<unknown>): ErrorBodyOf => (a.body as { error: ErrorBodyOf }).error;

describeEachBackend('SMS and number verification abuse (L4, L6, P1)', probe, (backend) => {
  let t: AccountTestServer;
  let fresh: FreshDatabase;
  let data: ReturnType<typeof tempDataDir>;

  async function start(config: Partial<SlsConfig> = {}): Promise<void> {
    data = tempDataDir();
    fresh = await backend.freshDatabase(data.dir);
    t = await startAccountServer({ clock: testClock(LONDON_NOON), dataDir: data.dir, config: { databaseUrl: fresh.url, ...config } });
  }
  afterEach(async () => {
    await t.close();
    await fresh.drop();
    data.remove();
  });

  const outbox = (purpose?: string) => {
    let q = t.adb.selectFrom('sms_outbox').selectAll().orderBy('id');
    if (purpose) q = q.where('purpose', '=', purpose);
    return q.execute();
  };
  const verifications = (userId: string) => t.adb.selectFrom('mobile_verifications').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
  const audit = async (event: string) =>
    (await t.adb.selectFrom('audit_log').selectAll().where('event', '=', event).execute())
      .sort((a, b) => a.id - b.id)
      .map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
  const userFailures = async (username: string) => {
    const row = await t.adb.selectFrom('failure_counters').select('failures').where('scope', '=', 'user').where('subject', '=', username).executeTakeFirst();
    return row ? (JSON.parse(row.failures) as number[]).length : 0;
  };
  const addressFailures = async () => {
    const row = await t.adb.selectFrom('failure_counters').select('failures').where('scope', '=', 'address').where('subject', '=', ADDRESS).executeTakeFirst();
    return row ? (JSON.parse(row.failures) as number[]).length : 0;
  };

  describe('number verification codes (L4, L6, P1)', () => {
    let u: TestUser;
    let token: string;
    const setNumber = (number: string, tok = token) => postJson<MobileNumberStatus>(t.app, '/v1/mobile-number', { number }, bearer(tok));
    const verify = (code: string, tok = token) => postJson<MobileNumberStatus>(t.app, '/v1/mobile-number/verify', { code }, bearer(tok));
    /** The code of the last verification SMS to `number`. */
    const codeSentTo = async (number: string) => {
      const rows = (await outbox('verify_number')).filter((r) => r.to_number === number);
      return /(\d{6})/.exec(rows.at(-1)!.body)![1]!;
    };
    const wrongFor = (right: string, i = 0) => String(100_000 + i + (String(100_000 + i) === right ? 1 : 0)).padStart(6, '0');
    /** A new code for a new number, after the cool-down: its right code and a wrong one. */
    const freshCode = async (number: string) => {
      t.clock.advance(COOL_DOWN_MS);
      ok(await setNumber(number));
      return codeSentTo(number);
    };

    beforeEach(async () => {
      await start();
      u = await makeUser(t, 'mallory', ['dscplus'], { mobile: null });
      token = await signIn(t, 'mallory', u.devices.dscplus!);
    });

    it('L4, P1: during the cool-down a code for ANOTHER number is refused too (SLS_ERR_RESEND_TOO_SOON, retryAt); nothing is sent or stored', async () => {
      ok(await setNumber('+447400111222'));
      const r = await setNumber('+447400654321');
      expect(r.status).toBe(429);
      expect(errorOf(r)).toMatchObject({ code: 'SLS_ERR_RESEND_TOO_SOON', retryAt: new Date(LONDON_NOON + COOL_DOWN_MS).toISOString() });
      expect((await outbox()).map((m) => m.to_number)).toEqual(['+447400111222']);
      const rows = await verifications(u.userId);
      expect(rows.map((v) => [v.number, v.ended_at])).toEqual([['+447400111222', null]]);
      // From retryAt, the other number gets its code, and the first one's ends.
      t.clock.advance(COOL_DOWN_MS);
      const s = ok(await setNumber('+447400654321'));
      expect(s.pending?.maskedNumber).toBe('+44 ••• ••• ••21');
      expect(await outbox()).toHaveLength(2);
    });

    it('P1, P2: a code held for the night holds its own number until morning, not a corrected one: another number after the cool-down', async () => {
      await t.close();
      await fresh.drop();
      data.remove();
      await start({ smsCarrierHours: true });
      t.clock.set(Date.parse('2026-11-04T23:00:00Z')); // 23:00 in London: SMS wait for the carriers' hours
      u = await makeUser(t, 'mallory', ['dscplus'], { mobile: null });
      token = await signIn(t, 'mallory', u.devices.dscplus!);
      expect(ok(await setNumber('+447400111222')).pending?.deferred).toBe(true);
      t.clock.advance(COOL_DOWN_MS);
      const same = await setNumber('+447400111222');
      expect(errorOf(same).code).toBe('SLS_ERR_RESEND_TOO_SOON');
      expect(Date.parse(errorOf(same).retryAt!)).toBeGreaterThan(t.clock.now() + HOUR_MS);
      const corrected = ok(await setNumber('+447400654321'));
      expect(corrected.pending?.maskedNumber).toBe('+44 ••• ••• ••21');
    });

    it('L4, P1: alternating two numbers 20 times in the same instant sends ONE SMS (was 20)', async () => {
      const numbers = ['+447400111222', '+447400654321'];
      const answers: string[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await setNumber(numbers[i % 2]!);
        answers.push(r.status === 200 ? 'ok' : errorCode(r)!);
      }
      expect(answers[0]).toBe('ok');
      expect(new Set(answers.slice(1))).toEqual(new Set(['SLS_ERR_RESEND_TOO_SOON']));
      expect(await outbox()).toHaveLength(1);
      expect(await verifications(u.userId)).toHaveLength(1);
    });

    it('L4, P1, N1: codes asked together for different numbers: one is sent, the others are refused', async () => {
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => setNumber(`+44740011122${i}`)));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
      for (const a of answers.filter((x) => x.status !== 200)) expect(errorCode(a)).toBe('SLS_ERR_RESEND_TOO_SOON');
      expect(await outbox()).toHaveLength(1);
      expect(await verifications(u.userId)).toHaveLength(1);
    });

    it('L4, P1: at most 10 verification codes per user in 24 hours; the 11th is SLS_ERR_SMS_LIMIT with retryAt, nothing sent or stored', async () => {
      for (let i = 0; i < 10; i++) {
        ok(await setNumber(`+4474001112${String(i).padStart(2, '0')}`));
        t.clock.advance(COOL_DOWN_MS);
      }
      const r = await setNumber('+447400999888');
      expect(r.status).toBe(429);
      expect(errorOf(r)).toMatchObject({ code: 'SLS_ERR_SMS_LIMIT', retryAt: new Date(LONDON_NOON + DAY_MS).toISOString() });
      expect(errorOf(r).message).toMatch(/10 codes/);
      expect(await outbox('verify_number')).toHaveLength(10);
      expect(await verifications(u.userId)).toHaveLength(10);
      expect((await audit('mobile.refused')).map((e) => e.details.reason)).toEqual(['daily_limit']);
      // A day after the first, one more (in a new session: the first one's 12 hours are over).
      t.clock.set(LONDON_NOON + DAY_MS);
      token = await signIn(t, 'mallory', u.devices.dscplus!);
      ok(await setNumber('+447400999888'));
      expect(await outbox('verify_number')).toHaveLength(11);
    });

    it('L6: each wrong code counts a failure for the user and for the address; the audit says so', async () => {
      ok(await setNumber('+447400111222'));
      const right = await codeSentTo('+447400111222');
      const r = await verify(wrongFor(right));
      expect(r.status).toBe(401);
      expect(errorOf(r)).toMatchObject({ code: 'SLS_ERR_WRONG_RESPONSE', attemptsLeft: 2 });
      expect(await userFailures('mallory')).toBe(1);
      expect(await addressFailures()).toBe(1);
      expect(await audit('mobile.code_failed')).toHaveLength(1);
    });

    it('L6, P1: the third wrong code ends the verification (SLS_ERR_MOBILE_CODE_ENDED: ask for a new code); the right code after it is refused the same way', async () => {
      ok(await setNumber('+447400111222'));
      const right = await codeSentTo('+447400111222');
      expect(errorOf(await verify(wrongFor(right, 0)))).toMatchObject({ code: 'SLS_ERR_WRONG_RESPONSE', attemptsLeft: 2 });
      expect(errorOf(await verify(wrongFor(right, 2)))).toMatchObject({ code: 'SLS_ERR_WRONG_RESPONSE', attemptsLeft: 1 });
      const third = await verify(wrongFor(right, 4));
      expect(third.status).toBe(409);
      expect(errorOf(third).code).toBe('SLS_ERR_MOBILE_CODE_ENDED');
      expect(errorOf(third).message).toMatch(/ask for a new code/i);
      const late = await verify(right);
      expect(late.status).toBe(409);
      expect(errorOf(late)).toEqual(errorOf(third));
      const user = await t.adb.selectFrom('users').select(['mobile_number', 'mobile_verified_at']).where('id', '=', u.userId).executeTakeFirstOrThrow();
      expect(user).toEqual({ mobile_number: null, mobile_verified_at: null });
      expect(await userFailures('mallory')).toBe(3);
      // A new code (after the cool-down) is judged again; the failures stay (L6: a new code never resets them).
      const next = await freshCode('+447400111222');
      ok(await verify(next));
      expect(await userFailures('mallory')).toBe(3);
    });

    it('L6: 10 wrong codes over new codes lock the user (SLS_ERR_USER_LOCKED, user.locked audited); 60 guesses are no longer possible', async () => {
      const answers: string[] = [];
      for (let round = 0; round < 4; round++) {
        const right = await freshCode(`+44740011122${round}`);
        for (let k = 0; k < 3 && answers.length < 10; k++) answers.push(errorCode(await verify(wrongFor(right, 2 * k)))!);
      }
      expect(answers.slice(0, 9).filter((c) => c === 'SLS_ERR_WRONG_RESPONSE')).toHaveLength(6);
      expect(answers.slice(0, 9).filter((c) => c === 'SLS_ERR_MOBILE_CODE_ENDED')).toHaveLength(3);
      expect(answers[9]).toBe('SLS_ERR_USER_LOCKED');
      expect(await t.services.throttle.userLockedUntil('mallory')).toBe(t.clock.now() + DAY_MS);
      expect(await audit('user.locked')).toHaveLength(1);
      expect(await audit('mobile.code_failed')).toHaveLength(10);
    });

    it('L6: a locked user gets no judgement, right code or wrong: nothing counted or changed; after client services unlock, the code works', async () => {
      ok(await setNumber('+447400111222'));
      const right = await codeSentTo('+447400111222');
      for (let i = 0; i < 10; i++) await t.services.throttle.recordFailure('mallory', '203.0.113.9');
      for (const code of [wrongFor(right), right]) {
        const r = await verify(code);
        expect(r.status).toBe(423);
        expect(errorOf(r).code).toBe('SLS_ERR_USER_LOCKED');
        expect(errorOf(r).lockedUntil).toBe(new Date(LONDON_NOON + DAY_MS).toISOString());
      }
      expect(await userFailures('mallory')).toBe(10);
      expect(await addressFailures()).toBe(0);
      expect((await verifications(u.userId)).map((v) => [v.wrong_attempts, v.verified_at, v.ended_at])).toEqual([[0, null, null]]);
      expect(await audit('mobile.code_failed')).toHaveLength(0);
      await t.services.throttle.unlockUser('mallory');
      expect(ok(await verify(right))).toMatchObject({ number: '+447400111222', verified: true });
    });

    it('L6: an address over its failure limit gets no judgement (SLS_ERR_RATE_LIMITED); nothing counted', async () => {
      ok(await setNumber('+447400111222'));
      const right = await codeSentTo('+447400111222');
      for (let i = 0; i < t.config.addressFailureLimit; i++) await t.services.throttle.recordFailure(`someone-${i}`, ADDRESS);
      const r = await verify(right);
      expect(r.status).toBe(429);
      expect(errorOf(r).code).toBe('SLS_ERR_RATE_LIMITED');
      expect(await userFailures('mallory')).toBe(0);
      expect((await verifications(u.userId))[0]!.verified_at).toBeNull();
    });
  });

  describe('the SMS budget per number (L4, N1)', () => {
    /** The budget of the defaults, whatever a test server's default is. */
    const BUDGET = { smsBudgetPerHour: 10 };
    const loginCode = () => postJson<LoginStep>(t.app, '/v1/login', { username: 'sam', password: PASSWORD, client: PORTAL });
    const activation = (i: number) =>
      postJson(t.app, '/v1/ibkey/activations', { purpose: 'activate', platform: 'android', installationId: `inst-${i}`, credentials: { username: 'sam', password: PASSWORD } });

    it('L4: at most 10 SMS per number per hour, login codes and IB Key activation codes together; the 11th is SLS_ERR_SMS_LIMIT with retryAt and audited', async () => {
      await start(BUDGET);
      await makeUser(t, 'sam', ['sms']);
      for (let i = 0; i < 6; i++) expect(ok(await loginCode()).status).toBe('challenge');
      t.clock.advance(10 * 60 * 1000);
      for (let i = 0; i < 4; i++) ok(await activation(i));
      const refused = [await loginCode(), await activation(9)];
      for (const r of refused) {
        expect(r.status).toBe(429);
        expect(errorOf(r)).toMatchObject({ code: 'SLS_ERR_SMS_LIMIT', retryAt: new Date(LONDON_NOON + HOUR_MS).toISOString() });
        expect(errorOf(r).message).toMatch(/Too many text messages/);
      }
      expect(await outbox('login_code')).toHaveLength(6);
      expect(await outbox('ibkey_activation')).toHaveLength(4);
      const refusals = await audit('sms.refused');
      expect(refusals.map((e) => [e.details.purpose, e.details.reason])).toEqual([
        ['login_code', 'budget'],
        ['ibkey_activation', 'budget'],
      ]);
      expect(JSON.stringify(refusals)).not.toContain('+447400123456');
      // An hour after the first, the oldest leave the window: the budget is rolling.
      t.clock.set(LONDON_NOON + HOUR_MS);
      expect(ok(await loginCode()).status).toBe('challenge');
      expect(await outbox('login_code')).toHaveLength(7);
    });

    it('L4, N1: SMS asked together never pass the budget', async () => {
      await start(BUDGET);
      await makeUser(t, 'sam', ['sms']);
      const answers = await Promise.all(Array.from({ length: 16 }, () => loginCode()));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(10);
      for (const a of answers.filter((x) => x.status !== 200)) expect(errorCode(a)).toBe('SLS_ERR_SMS_LIMIT');
      expect(await outbox('login_code')).toHaveLength(10);
    });

    it('L4: smsBudgetPerHour 0 turns the budget off', async () => {
      await start({ smsBudgetPerHour: 0 });
      await makeUser(t, 'sam', ['sms']);
      for (let i = 0; i < 12; i++) expect(ok(await loginCode()).status).toBe('challenge');
      expect(await outbox('login_code')).toHaveLength(12);
    });

    it('L4, P1: verification codes that other accounts send to a number have their own budget: they cannot block its owner\'s login codes; the refused code is not stored', async () => {
      await start(BUDGET);
      const victim = '+447400123456';
      await makeUser(t, 'sam', ['sms'], { mobile: victim });
      const flooders = [await makeUser(t, 'mallory', ['dscplus'], { mobile: null }), await makeUser(t, 'trudy', ['dscplus'], { mobile: null })];
      const tokens = [await signIn(t, 'mallory', flooders[0]!.devices.dscplus!), await signIn(t, 'trudy', flooders[1]!.devices.dscplus!)];
      for (let i = 0; i < 10; i++) {
        ok(await postJson(t.app, '/v1/mobile-number', { number: victim }, bearer(tokens[i % 2]!)));
        if (i % 2 === 1) t.clock.advance(COOL_DOWN_MS);
      }
      const r = await postJson(t.app, '/v1/mobile-number', { number: victim }, bearer(tokens[0]!));
      expect(errorOf(r)).toMatchObject({ code: 'SLS_ERR_SMS_LIMIT', retryAt: new Date(LONDON_NOON + HOUR_MS).toISOString() });
      expect(await outbox('verify_number')).toHaveLength(10);
      // Nothing stored for the refused one: mallory's last code stays the one waiting, and the cool-down is not taken.
      expect(await verifications(flooders[0]!.userId)).toHaveLength(5);
      expect((await verifications(flooders[0]!.userId)).at(-1)!.ended_at).toBeNull();
      t.clock.advance(COOL_DOWN_MS);
      ok(await postJson(t.app, '/v1/mobile-number', { number: '+447400654321' }, bearer(tokens[0]!)));
      // The owner still gets a login code.
      expect(ok(await loginCode()).status).toBe('challenge');
      expect(await outbox('login_code')).toHaveLength(1);
    });
  });
});
