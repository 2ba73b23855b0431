// Mobile number verification codes under concurrency, on SQLite and PostgreSQL (SPEC P1, L6, N1): at
// most 3 codes of one verification are judged however they arrive, and a right code that arrives with
// wrong ones is answered like the unjudged wrong ones once the third ended the verification
// (SLS_ERR_MOBILE_CODE_ENDED): no oracle for the SMS code.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeEachBackend, probePostgres, tempDataDir } from '../db/pg-testing.ts';
import type { FreshDatabase } from '../db/pg-testing.ts';
import { errorCode, postJson } from '../testing/http.ts';
import { testClock } from '../testing/test-server.ts';
import { bearer, makeUser, ok, signIn, startAccountServer } from './testing.ts';
import type { AccountTestServer } from './testing.ts';

const probe = await probePostgres();

/** Noon in London: inside the carriers' hours, the SMS goes at once. */
const LONDON_NOON = Date.parse('2026-11-04T12:00:00Z');

describeEachBackend('mobile number verification codes under concurrency (P1, L6)', probe, (backend) => {
  let t: AccountTestServer;
  let token: string;
  let fresh: FreshDatabase;
  let data: ReturnType<typeof tempDataDir>;

  beforeEach(async () => {
    data = tempDataDir();
    fresh = await backend.freshDatabase(data.dir);
    t = await startAccountServer({ clock: testClock(LONDON_NOON), dataDir: data.dir, config: { databaseUrl: fresh.url } });
    const u = await makeUser(t, 'phil', ['dscplus'], { mobile: null });
    token = await signIn(t, 'phil', u.devices.dscplus!);
  });
  afterEach(async () => {
    await t.close();
    await fresh.drop();
    data.remove();
  });

  /** Asks a code for a new number, after the user's cool-down (L4: one per user, whatever the number), and reads it from the SMS outbox. */
  async function sendCode(number: string): Promise<{ verificationId: string; code: string }> {
    t.clock.advance(t.config.smsResendCooldownMs);
    ok(await postJson(t.app, '/v1/mobile-number', { number }, bearer(token)));
    const sms = await t.adb.selectFrom('sms_outbox').select('body').where('purpose', '=', 'verify_number').where('to_number', '=', number).executeTakeFirstOrThrow();
    const v = await t.adb.selectFrom('mobile_verifications').select('id').where('number', '=', number).executeTakeFirstOrThrow();
    return { verificationId: v.id, code: /(\d{6})/.exec(sms.body)![1]! };
  }

  const verify = (code: string) => postJson(t.app, '/v1/mobile-number/verify', { code }, bearer(token));
  const wrongCodes = (right: string) => Array.from({ length: 7 }, (_, i) => String(100_000 + i)).filter((g) => g !== right).slice(0, 6);
  const verification = (id: string) => t.adb.selectFrom('mobile_verifications').select(['wrong_attempts', 'verified_at', 'ended_at']).where('id', '=', id).executeTakeFirstOrThrow();
  const verifiedNumber = async () => (await t.adb.selectFrom('users').select(['mobile_number', 'mobile_verified_at']).where('username_normalized', '=', 'phil').executeTakeFirstOrThrow());

  it('judges at most 3 codes of one verification however they arrive (L6)', async () => {
    const { verificationId, code } = await sendCode('+447400123456');
    const answers = await Promise.all(wrongCodes(code).map((c) => verify(c)));
    // The first two judged are wrong; the third is wrong too and ends it, answered as every code after it.
    expect(answers.filter((a) => errorCode(a) === 'SLS_ERR_WRONG_RESPONSE').length).toBe(2);
    for (const a of answers.filter((x) => errorCode(x) !== 'SLS_ERR_WRONG_RESPONSE')) expect(errorCode(a)).toBe('SLS_ERR_MOBILE_CODE_ENDED');
    const row = await verification(verificationId);
    expect(row.wrong_attempts).toBe(3);
    expect(row.verified_at).toBeNull();
    expect(row.ended_at).not.toBeNull();
    const failed = await t.adb.selectFrom('audit_log').select('id').where('event', '=', 'mobile.code_failed').execute();
    expect(failed).toHaveLength(3);
    // SPEC L6: exactly the 3 judged codes are failures of the user, however many arrived.
    const counter = await t.adb.selectFrom('failure_counters').select('failures').where('scope', '=', 'user').where('subject', '=', 'phil').executeTakeFirstOrThrow();
    expect(JSON.parse(counter.failures)).toHaveLength(3);
    // The right code afterwards is told the code ended, as any code is.
    expect(errorCode(await verify(code))).toBe('SLS_ERR_MOBILE_CODE_ENDED');
    expect((await verifiedNumber()).mobile_verified_at).toBeNull();
  });

  it('answers a right code that arrives with wrong ones like a wrong one once the verification ended: no oracle (L6, P1)', async () => {
    for (let round = 0; round < 3; round++) {
      const number = `+44740012345${round}`;
      const { verificationId, code } = await sendCode(number);
      const answers = await Promise.all([...wrongCodes(code), code].map((c) => verify(c)));
      const rightAnswer = answers.at(-1)!;
      expect(answers.filter((a) => errorCode(a) === 'SLS_ERR_WRONG_RESPONSE').length).toBeLessThanOrEqual(2);
      const row = await verification(verificationId);
      expect(row.wrong_attempts).toBeLessThanOrEqual(3);
      if (rightAnswer.status === 200) {
        // The right code came before the third wrong one: it won; later wrong ones find it used, or (read
        // after it was verified) no code waiting at all — neither says anything about the code.
        expect(row.verified_at).not.toBeNull();
        expect(row.ended_at).toBeNull();
        expect((await verifiedNumber()).mobile_number).toBe(number);
        for (const a of answers.slice(0, -1)) expect(['SLS_ERR_WRONG_RESPONSE', 'SLS_ERR_CHALLENGE_USED', 'SLS_ERR_NO_CHALLENGE']).toContain(errorCode(a));
      } else {
        // The third wrong code ended it: the right one is told exactly what the third and the unjudged wrong ones are.
        expect(row.verified_at).toBeNull();
        expect(row.wrong_attempts).toBe(3);
        expect(errorCode(rightAnswer)).toBe('SLS_ERR_MOBILE_CODE_ENDED');
        for (const a of answers.slice(0, -1)) expect(['SLS_ERR_WRONG_RESPONSE', 'SLS_ERR_MOBILE_CODE_ENDED']).toContain(errorCode(a));
        expect((await verifiedNumber()).mobile_number).not.toBe(number);
      }
    }
  });
});
