// Withdrawal confirmations under concurrency, on SQLite and PostgreSQL (SPEC W1, W4, L6, D3, N1): at
// most 3 responses to one confirmation are judged however they arrive, and a right response that
// arrives with wrong ones is answered like a wrong one once the third ended it: no oracle for the
// Security Code Card, whose cells never change.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ConfirmationChallenge } from '../../core/account-api.ts';
import { describeEachBackend, probePostgres, tempDataDir } from '../db/pg-testing.ts';
import type { FreshDatabase } from '../db/pg-testing.ts';
import { errorCode, postJson } from '../testing/http.ts';
import { testClock } from '../testing/test-server.ts';
import { answer, bearer, makeUser, ok, signIn, startAccountServer, USD } from './testing.ts';
import type { AccountTestServer, TestUser } from './testing.ts';

const probe = await probePostgres();

/** A Monday morning in New York (EST, UTC−5): withdrawal windows open. */
const MONDAY = Date.parse('2026-11-02T09:30:00-05:00');

describeEachBackend('withdrawal confirmations under concurrency (W1, W4, L6)', probe, (backend) => {
  let t: AccountTestServer;
  let u: TestUser;
  let token: string;
  let fresh: FreshDatabase;
  let data: ReturnType<typeof tempDataDir>;

  beforeEach(async () => {
    data = tempDataDir();
    fresh = await backend.freshDatabase(data.dir);
    t = await startAccountServer({ clock: testClock(MONDAY), dataDir: data.dir, config: { databaseUrl: fresh.url } });
    u = await makeUser(t, 'wanda', ['scc', 'dscplus']);
    token = await signIn(t, 'wanda', u.devices.dscplus!);
  });
  afterEach(async () => {
    await t.close();
    await fresh.drop();
    data.remove();
  });

  const challenge = async () => ok(await postJson<ConfirmationChallenge>(t.app, '/v1/withdrawals/challenge', { deviceId: u.devices.scc!.device.id, amountCents: 100 * USD }, bearer(token)));
  const submit = (confirmationId: string, response: string) =>
    postJson(t.app, '/v1/withdrawals', { amountCents: 100 * USD, idempotencyKey: randomUUID(), confirmation: { id: confirmationId, response } }, bearer(token));
  const guesses = (right: string) => ['AAAAAA', 'BBBBBB', 'CCCCCC', 'DDDDDD', 'EEEEEE', 'FFFFFF', 'GGGGGG'].filter((g) => g !== right).slice(0, 6);
  const confirmation = (id: string) => t.adb.selectFrom('confirmations').select(['state', 'wrong_responses']).where('id', '=', id).executeTakeFirstOrThrow();
  const withdrawals = async () => (await t.adb.selectFrom('withdrawals').select('id').where('user_id', '=', u.userId).execute()).length;

  it('judges at most 3 responses of one confirmation however they arrive (L6)', async () => {
    const c = await challenge();
    const answers = await Promise.all(guesses(answer(u.devices.scc!, c.challenge)).map((g) => submit(c.confirmationId, g)));
    expect(answers.filter((a) => errorCode(a) === 'SLS_ERR_WRONG_RESPONSE').length).toBeLessThanOrEqual(3);
    for (const a of answers.filter((x) => errorCode(x) !== 'SLS_ERR_WRONG_RESPONSE')) expect(errorCode(a)).toBe('SLS_ERR_TRANSACTION_ENDED');
    expect(await confirmation(c.confirmationId)).toEqual({ state: 'ended', wrong_responses: 3 });
    expect(await withdrawals()).toBe(0);
  });

  it('answers a right response that arrives with wrong ones like a wrong one once the confirmation ended: no oracle (L6, D3)', async () => {
    for (let round = 0; round < 3; round++) {
      const c = await challenge();
      const right = answer(u.devices.scc!, c.challenge);
      const answers = await Promise.all([...guesses(right), right].map((g) => submit(c.confirmationId, g)));
      const rightAnswer = answers.at(-1)!;
      expect(answers.filter((a) => errorCode(a) === 'SLS_ERR_WRONG_RESPONSE').length).toBeLessThanOrEqual(3);
      const row = await confirmation(c.confirmationId);
      expect(row.wrong_responses).toBeLessThanOrEqual(3);
      if (rightAnswer.status === 200) {
        // The right response came before the third wrong one: it won; later wrong ones find it used.
        expect(row.state).toBe('used');
        for (const a of answers.slice(0, -1)) expect(['SLS_ERR_WRONG_RESPONSE', 'SLS_ERR_CHALLENGE_USED']).toContain(errorCode(a));
      } else {
        // The third wrong one ended it: the right one is told exactly what the unjudged wrong ones are.
        expect(row.state).toBe('ended');
        expect(errorCode(rightAnswer)).toBe('SLS_ERR_TRANSACTION_ENDED');
        for (const a of answers.slice(0, -1)) expect(['SLS_ERR_WRONG_RESPONSE', 'SLS_ERR_TRANSACTION_ENDED']).toContain(errorCode(a));
      }
      // Each round's wrong responses counted towards the user's lock (L6); keep under it.
      await t.services.throttle.unlockUser('wanda');
    }
    expect(await withdrawals()).toBeLessThanOrEqual(3);
  });
});
