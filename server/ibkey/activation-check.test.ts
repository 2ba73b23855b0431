// IB Key activation codes checked before the PIN (SPEC K1, L6, N1), on SQLite and PostgreSQL: the
// check does not use the code (completion still takes it once), a wrong code counts there exactly as
// at completion (3 per activation, one failure of the user each, the lock at 10), and an unused code
// past its 10 minutes is told as expired, with what to do, without being judged.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startOn } from '../conformance/backends.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import { ACTIVATION_PIN_GRACE_MS, ACTIVATION_TTL_MS } from '../services/ibkey.ts';
import type { TestServer } from '../testing/test-server.ts';
import { createUser, lastActivationCode, PASSWORD } from './testkit.ts';

const probe = await probePostgres();

const EXPIRED_MESSAGE = 'This activation code has expired: a code is good for 10 minutes. Start again in the IB Key app to get a new code.';

/** A fresh P-256 public key as the app sends it (SPKI DER, base64url). */
function appPublicKey(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64url');
}

/** Six-digit codes other than the right one. */
const wrongCodes = (right: string, n: number) => Array.from({ length: n + 1 }, (_, i) => String(100_000 + i)).filter((g) => g !== right).slice(0, n);

describeEachBackend('IB Key activation code check (K1, L6)', probe, (backend) => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startOn(backend);
  });
  afterEach(async () => {
    await t.close();
  });

  async function start(username: string, userId?: string): Promise<{ activationId: string; userId: string; code: string; startedAt: number }> {
    const id = userId ?? (await createUser(t, username));
    const r = await t.app.inject({
      method: 'POST',
      url: '/v1/ibkey/activations',
      payload: { purpose: 'activate', platform: 'android', installationId: randomUUID(), credentials: { username, password: PASSWORD } },
    });
    if (r.statusCode !== 200) throw new Error(`start: ${r.statusCode} ${r.body}`);
    return { activationId: (r.json() as { activationId: string }).activationId, userId: id, code: await lastActivationCode(t, id), startedAt: t.clock.now() };
  }

  const check = (activationId: string, code: string) => t.app.inject({ method: 'POST', url: `/v1/ibkey/activations/${activationId}/check`, payload: { code } });
  const complete = (activationId: string, code: string) =>
    t.app.inject({ method: 'POST', url: `/v1/ibkey/activations/${activationId}/complete`, payload: { code, publicKey: appPublicKey(), label: 'phone' } });
  const errorOf = (r: { json(): unknown }) => (r.json() as { error: { code: string; message: string; attemptsLeft?: number } }).error;
  const activationRow = (id: string) => t.services.db.selectFrom('ibkey_activations').select(['state', 'wrong_attempts', 'expires_at']).where('id', '=', id).executeTakeFirstOrThrow();
  async function userFailures(username: string): Promise<number> {
    const row = await t.services.db.selectFrom('failure_counters').select('failures').where('scope', '=', 'user').where('subject', '=', username).executeTakeFirst();
    return row ? (JSON.parse(row.failures) as number[]).length : 0;
  }

  it('checks a right code without using it: completion still takes it, once', async () => {
    const { activationId, code, startedAt } = await start('jane.check');
    for (let i = 0; i < 2; i++) {
      const r = await check(activationId, code);
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toEqual({ activationId, expiresAt: new Date(startedAt + ACTIVATION_TTL_MS).toISOString() });
    }
    expect(await activationRow(activationId)).toMatchObject({ state: 'pending', wrong_attempts: 0 });
    expect((await complete(activationId, code)).statusCode).toBe(200);
    // Used: the check and completion both refuse it, with the one answer of an ended activation.
    for (const r of [await check(activationId, code), await complete(activationId, code)]) {
      expect(r.statusCode).toBe(409);
      expect(errorOf(r).code).toBe('SLS_ERR_IBKEY_ACTIVATION_ENDED');
    }
  });

  it('counts a wrong code at the check exactly as at completion: 3 per activation, a failure of the user each (L6)', async () => {
    const { activationId, code } = await start('jane.guess');
    const [w1, w2, w3] = wrongCodes(code, 3) as [string, string, string];
    expect(errorOf(await check(activationId, w1))).toMatchObject({ code: 'SLS_ERR_WRONG_RESPONSE', attemptsLeft: 2 });
    expect(errorOf(await complete(activationId, w2))).toMatchObject({ code: 'SLS_ERR_WRONG_RESPONSE', attemptsLeft: 1 });
    expect(errorOf(await check(activationId, w3))).toMatchObject({ code: 'SLS_ERR_WRONG_RESPONSE', attemptsLeft: 0 });
    expect(await activationRow(activationId)).toMatchObject({ state: 'ended', wrong_attempts: 3 });
    // The right code after the third wrong one is answered like any code: no oracle, no fourth guess.
    for (const r of [await check(activationId, code), await complete(activationId, code)]) expect(errorOf(r).code).toBe('SLS_ERR_IBKEY_ACTIVATION_ENDED');
    expect(await userFailures('jane.guess')).toBe(3);
    const failed = await t.services.db.selectFrom('audit_log').select('id').where('event', '=', 'ibkey.activation_failed').execute();
    expect(failed).toHaveLength(3);
  });

  it('locks the user at the 10th wrong code, checks counted like completions (L6)', async () => {
    const userId = await createUser(t, 'jane.lock');
    const answers: string[] = [];
    for (let a = 0; a < 4 && !answers.includes('SLS_ERR_USER_LOCKED'); a++) {
      const { activationId, code } = await start('jane.lock', userId);
      for (const w of wrongCodes(code, 3)) {
        answers.push(errorOf(await check(activationId, w)).code);
        if (answers.at(-1) === 'SLS_ERR_USER_LOCKED') {
          // Locked: even the right code is refused now.
          expect(errorOf(await check(activationId, code)).code).toBe('SLS_ERR_USER_LOCKED');
          break;
        }
      }
    }
    expect(answers).toEqual([...Array<string>(9).fill('SLS_ERR_WRONG_RESPONSE'), 'SLS_ERR_USER_LOCKED']);
  });

  it('judges at most 3 codes of one activation however checks and completions arrive together (L6, N1)', async () => {
    for (let round = 0; round < 2; round++) {
      const { activationId, code } = await start(`jane.race.${round}`);
      const calls = [...wrongCodes(code, 6), code].map((c, i) => (i % 2 === 0 ? check(activationId, c) : complete(activationId, c)));
      const answers = await Promise.all(calls);
      const wrong = answers.slice(0, -1);
      for (const a of wrong) expect(['SLS_ERR_WRONG_RESPONSE', 'SLS_ERR_IBKEY_ACTIVATION_ENDED']).toContain(errorOf(a).code);
      expect(wrong.filter((a) => errorOf(a).code === 'SLS_ERR_WRONG_RESPONSE').length).toBeLessThanOrEqual(3);
      const right = answers.at(-1)!;
      expect([200, 409]).toContain(right.statusCode);
      if (right.statusCode === 409) expect(errorOf(right).code).toBe('SLS_ERR_IBKEY_ACTIVATION_ENDED');
      expect((await activationRow(activationId)).wrong_attempts).toBeLessThanOrEqual(3);
    }
  });

  it('says an unused code expired and what to do, without judging it (K1)', async () => {
    const { activationId, code } = await start('jane.late');
    const [wrong] = wrongCodes(code, 1) as [string];
    t.clock.advance(ACTIVATION_TTL_MS);
    // Right or wrong, at the check or at completion: the same answer, so it tells nothing about the code.
    for (const r of [await complete(activationId, code), await complete(activationId, wrong), await check(activationId, code), await check(activationId, wrong)]) {
      expect(r.statusCode).toBe(410);
      expect(errorOf(r)).toEqual({ code: 'SLS_ERR_IBKEY_ACTIVATION_EXPIRED', message: EXPIRED_MESSAGE });
    }
    expect(await activationRow(activationId)).toMatchObject({ state: 'pending', wrong_attempts: 0 });
    expect(await userFailures('jane.late')).toBe(0);
    // An unknown activation is not "expired": the one answer of an ended one.
    expect(errorOf(await check('iba_unknown', code)).code).toBe('SLS_ERR_IBKEY_ACTIVATION_ENDED');
  });

  it('keeps a code checked right in its last seconds good while the PIN is chosen, not longer (K1)', async () => {
    const { activationId, code, startedAt } = await start('jane.slow');
    t.clock.advance(ACTIVATION_TTL_MS - 1_000);
    const first = await check(activationId, code);
    expect(first.json()).toEqual({ activationId, expiresAt: new Date(t.clock.now() + ACTIVATION_PIN_GRACE_MS).toISOString() });
    // Checking again and again does not keep it open for ever: at most the grace past the 10 minutes.
    t.clock.advance(ACTIVATION_PIN_GRACE_MS - 2_000);
    const again = await check(activationId, code);
    expect(again.json()).toEqual({ activationId, expiresAt: new Date(startedAt + ACTIVATION_TTL_MS + ACTIVATION_PIN_GRACE_MS).toISOString() });
    expect((await complete(activationId, code)).statusCode).toBe(200);

    const late = await start('jane.later');
    t.clock.advance(ACTIVATION_TTL_MS - 1_000);
    expect((await check(late.activationId, late.code)).statusCode).toBe(200);
    t.clock.advance(ACTIVATION_PIN_GRACE_MS);
    expect(errorOf(await complete(late.activationId, late.code)).code).toBe('SLS_ERR_IBKEY_ACTIVATION_EXPIRED');
  });
});
