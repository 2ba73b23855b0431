// IB Key activation codes under concurrency, on SQLite and PostgreSQL (SPEC K1, L6, N1): at most 3
// codes of one activation are judged however they arrive, and a right code that arrives with wrong
// ones is answered like a wrong one once the third ended the activation: no oracle for the SMS code.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startOn } from '../conformance/backends.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import type { TestServer } from '../testing/test-server.ts';
import { createUser, lastActivationCode, PASSWORD } from './testkit.ts';

const probe = await probePostgres();

/** A fresh P-256 public key as the app sends it (SPKI DER, base64url). */
function appPublicKey(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64url');
}

describeEachBackend('IB Key activation codes under concurrency (K1, L6)', probe, (backend) => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startOn(backend);
  });
  afterEach(async () => {
    await t.close();
  });

  async function start(username: string): Promise<{ activationId: string; userId: string }> {
    const userId = await createUser(t, username);
    const r = await t.app.inject({
      method: 'POST',
      url: '/v1/ibkey/activations',
      payload: { purpose: 'activate', platform: 'android', installationId: randomUUID(), credentials: { username, password: PASSWORD } },
    });
    if (r.statusCode !== 200) throw new Error(`start: ${r.statusCode} ${r.body}`);
    return { activationId: (r.json() as { activationId: string }).activationId, userId };
  }

  const complete = (activationId: string, code: string) =>
    t.app.inject({ method: 'POST', url: `/v1/ibkey/activations/${activationId}/complete`, payload: { code, publicKey: appPublicKey(), label: 'phone' } });
  const codeOf = (r: { json(): unknown }) => (r.json() as { error?: { code: string } }).error?.code;
  const wrongCodes = (right: string) => Array.from({ length: 7 }, (_, i) => String(100_000 + i)).filter((g) => g !== right).slice(0, 6);

  it('judges at most 3 codes of one activation however they arrive (L6)', async () => {
    const { activationId, userId } = await start('jane.strict');
    const right = await lastActivationCode(t, userId);
    const answers = await Promise.all(wrongCodes(right).map((code) => complete(activationId, code)));
    const judged = answers.filter((a) => codeOf(a) === 'SLS_ERR_WRONG_RESPONSE');
    expect(judged.length).toBeLessThanOrEqual(3);
    for (const a of answers.filter((x) => codeOf(x) !== 'SLS_ERR_WRONG_RESPONSE')) expect(codeOf(a)).toBe('SLS_ERR_IBKEY_ACTIVATION_ENDED');
    const row = await t.services.db.selectFrom('ibkey_activations').select(['state', 'wrong_attempts']).where('id', '=', activationId).executeTakeFirstOrThrow();
    expect(row.state).toBe('ended');
    expect(row.wrong_attempts).toBe(3);
    const failed = await t.services.db.selectFrom('audit_log').select('id').where('event', '=', 'ibkey.activation_failed').execute();
    expect(failed.length).toBeLessThanOrEqual(3);
  });

  it('answers a right code that arrives with wrong ones like a wrong one once the activation ended: no oracle (L6, K1)', async () => {
    for (let round = 0; round < 3; round++) {
      const { activationId, userId } = await start(`jane.oracle.${round}`);
      const right = await lastActivationCode(t, userId);
      const answers = await Promise.all([...wrongCodes(right), right].map((code) => complete(activationId, code)));
      const rightAnswer = answers.at(-1)!;
      expect(answers.filter((a) => codeOf(a) === 'SLS_ERR_WRONG_RESPONSE').length).toBeLessThanOrEqual(3);
      const row = await t.services.db.selectFrom('ibkey_activations').select(['state', 'wrong_attempts']).where('id', '=', activationId).executeTakeFirstOrThrow();
      expect(row.wrong_attempts).toBeLessThanOrEqual(3);
      if (rightAnswer.statusCode === 200) {
        // The right code came before the third wrong one: it won; the others find the activation over.
        expect(row.state).toBe('completed');
      } else {
        // The third wrong code ended it: the right one is told exactly what the unjudged wrong ones are.
        expect(row.state).toBe('ended');
        expect(codeOf(rightAnswer)).toBe('SLS_ERR_IBKEY_ACTIVATION_ENDED');
      }
      for (const a of answers.slice(0, -1)) expect(['SLS_ERR_WRONG_RESPONSE', 'SLS_ERR_IBKEY_ACTIVATION_ENDED']).toContain(codeOf(a));
    }
  });
});
