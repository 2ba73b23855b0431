// The IB Key lifecycle on SQLite and PostgreSQL (SPEC K5, K8, L7, N1, N2): a transfer completed on
// two phones at once leaves one phone working, and every change (a transfer, a denial, a temporary
// password) commits with its audit entry or not at all.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { refuseAuditEvent } from '../testing/refuse-audit.ts';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { TestServer } from '../testing/test-server.ts';
import { startOn } from '../conformance/backends.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import type { StorageBackend } from '../db/pg-testing.ts';
import { activate, createUser, lastActivationCode, newApp, PASSWORD, PIN, ScriptedPrompter, startLogin, status } from './testkit.ts';

const probe = await probePostgres();

/** A fresh P-256 public key as the app sends it (SPKI DER, base64url). */
function appPublicKey(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64url');
}

describeEachBackend('IB Key lifecycle under concurrency and audit (K5, K8, L7, N1, N2)', probe, (backend: StorageBackend) => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startOn(backend, { listen: true });
  });
  afterEach(async () => {
    await t.close();
  });

  /** The audit log refuses entries of this event (a full disk, a failing write), as the database would. */
  function refuseAudit(event: string): Promise<() => Promise<void>> {
    return refuseAuditEvent(t.services.db, event);
  }

  const ibkeys = async (userId: string) =>
    (await t.services.db.selectFrom('devices').select(['id', 'status']).where('user_id', '=', userId).where('kind', '=', 'ibkey').execute()).map((d) => `${d.id}:${d.status}`).sort();

  it('K5, N1: a transfer completed on two phones at once leaves exactly one phone\'s key working', async () => {
    for (let round = 0; round < 4; round++) {
      const username = `jane.twice.${round}`;
      // Each user her own number: the SMS policy's per-number limits stay out of the way.
      const userId = await createUser(t, username, { mobile: `+1212555${String(1000 + round)}` });
      const prompter = new ScriptedPrompter();
      await activate(t, newApp(t, 'android', prompter), prompter, username, userId);
      const started: { id: string; code: string }[] = [];
      for (let phone = 0; phone < 2; phone++) {
        const r = await t.app.inject({
          method: 'POST',
          url: '/v1/ibkey/activations',
          payload: { purpose: 'transfer', platform: 'android', installationId: randomUUID(), credentials: { username, password: PASSWORD } },
        });
        expect(r.statusCode).toBe(200);
        started.push({ id: (r.json() as { activationId: string }).activationId, code: await lastActivationCode(t, userId) });
      }
      const done = await Promise.all(
        started.map((a) => t.app.inject({ method: 'POST', url: `/v1/ibkey/activations/${a.id}/complete`, payload: { code: a.code, publicKey: appPublicKey() } })),
      );
      expect(done.map((r) => r.statusCode)).toEqual([200, 200]);
      const active = (await ibkeys(userId)).filter((d) => d.endsWith(':active'));
      expect(active).toHaveLength(1);
    }
  });

  it('N2, K5: a transfer whose audit entry cannot be written changes nothing: the old phone still works, and the same code completes it afterwards, on record', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter();
    const first = await activate(t, newApp(t, 'android', prompter), prompter, 'jane', userId);
    const r = await t.app.inject({
      method: 'POST',
      url: '/v1/ibkey/activations',
      payload: { purpose: 'transfer', platform: 'android', installationId: randomUUID(), credentials: { username: 'jane', password: PASSWORD } },
    });
    const activationId = (r.json() as { activationId: string }).activationId;
    const code = await lastActivationCode(t, userId);
    const allow = await refuseAudit('ibkey.transferred');
    const refused = await t.app.inject({ method: 'POST', url: `/v1/ibkey/activations/${activationId}/complete`, payload: { code, publicKey: appPublicKey() } });
    expect(refused.statusCode).toBe(500);
    expect(await ibkeys(userId)).toEqual([`${first.deviceId}:active`]);
    expect(await t.services.db.selectFrom('audit_log').select('id').where('event', '=', 'ibkey.device_revoked').execute()).toEqual([]);

    await allow();
    const ok = await t.app.inject({ method: 'POST', url: `/v1/ibkey/activations/${activationId}/complete`, payload: { code, publicKey: appPublicKey() } });
    expect(ok.statusCode).toBe(200);
    const moved = (ok.json() as { deviceId: string }).deviceId;
    expect(await ibkeys(userId)).toEqual([`${first.deviceId}:revoked`, `${moved}:active`].sort());
    const onRecord = async (event: string) => (await t.services.db.selectFrom('audit_log').select('device_id').where('event', '=', event).execute()).map((e) => e.device_id);
    expect(await onRecord('ibkey.device_revoked')).toEqual([first.deviceId]);
    expect(await onRecord('ibkey.transferred')).toEqual([moved]);
  });

  it('N2, L7: a denial whose audit entry (possible fraud) cannot be written ends nothing; answered again, it ends the login, on record', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'ios', prompter);
    await activate(t, app, prompter, 'jane', userId);
    const step = await startLogin(t, 'jane');
    if (step.status !== 'challenge' || step.challenge.type !== 'push') throw new Error('expected a push');
    const keys = await app.unlock(PIN);
    const request = (await app.poll(keys, 0)).requests.find((x) => x.transactionId === step.transactionId)!;
    const allow = await refuseAudit('ibkey.push_denied');
    prompter.push('deny', PIN);
    await expect(app.answerPush(request)).rejects.toThrow();
    const push = async () => (await t.services.db.selectFrom('ibkey_push_requests').select('state').where('id', '=', request.requestId).executeTakeFirstOrThrow()).state;
    expect(await push()).toBe('pending');
    expect((await status(t, step.transactionId)).body.status).toBe('waiting');

    await allow();
    prompter.push('deny', PIN);
    expect((await app.answerPush(request)).outcome).toBe('denied');
    expect((await status(t, step.transactionId)).body.status).toBe('denied');
    const denied = await t.services.db.selectFrom('audit_log').select('details').where('event', '=', 'ibkey.push_denied').execute();
    expect(denied.map((d) => JSON.parse(d.details) as { possibleFraud: boolean })).toMatchObject([{ possibleFraud: true }]);
  });

  it('N2, K8: a temporary password whose audit entry cannot be written is not set: the old password still signs in, nothing reaches the app', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'android', prompter);
    await activate(t, app, prompter, 'jane', userId);
    const allow = await refuseAudit('ibkey.temporary_password_sent');
    await expect(t.services.ibkey.sendTemporaryPassword('jane', 'cs-agent')).rejects.toThrow();
    expect((await startLogin(t, 'jane')).status).not.toBe('password');
    expect((await app.poll(await app.unlock(PIN), 0)).messages).toEqual([]);

    await allow();
    await t.services.ibkey.sendTemporaryPassword('jane', 'cs-agent');
    expect((await app.poll(await app.unlock(PIN), 0)).messages).toHaveLength(1);
    expect(await t.services.db.selectFrom('audit_log').select('id').where('event', '=', 'ibkey.temporary_password_sent').execute()).toHaveLength(1);
  });
});
