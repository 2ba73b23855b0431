/**
 * IB Key push approval with number matching (SPEC L4, L7, K2, K3) over a real listening slsd,
 * a real SQLite file, and apps in temporary state folders.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { answerMessage } from '../../ibkey/protocol.ts';
import { phoneTime } from '../../ibkey/app.ts';
import type { IbKeyApp } from '../../ibkey/app.ts';
import { signWith } from '../../ibkey/crypto.ts';
import type { TestServer } from '../testing/test-server.ts';
import { IBKEY_PUSH_LIMIT, IBKEY_PUSH_TTL_MS } from '../verifiers/ibkey-push.ts';
import { activate, auditEvents, createUser, ibkeyServer, newApp, PIN, ScriptedPrompter, startLogin, status } from './testkit.ts';

let t: TestServer;
let app: IbKeyApp;
let prompter: ScriptedPrompter;
let userId: string;

beforeEach(async () => {
  t = await ibkeyServer();
  userId = await createUser(t, 'jane');
  prompter = new ScriptedPrompter();
  app = newApp(t, 'ios', prompter);
  await activate(t, app, prompter, 'jane', userId);
});
afterEach(async () => {
  await t.close();
});

async function pushLogin() {
  const step = await startLogin(t, 'jane');
  if (step.status !== 'challenge' || step.challenge.type !== 'push') throw new Error(`expected a push, got ${JSON.stringify(step)}`);
  return { transactionId: step.transactionId, matchNumber: step.challenge.matchNumber, expiresAt: step.challenge.expiresAt };
}

async function pendingRequest(transactionId: string) {
  const keys = await app.unlock(PIN);
  const polled = await app.poll(keys, 0);
  const r = polled.requests.find((x) => x.transactionId === transactionId);
  if (!r) throw new Error('the push did not reach the app');
  return r;
}

describe('push approval with number matching (SPEC L7)', () => {
  it('shows client, place, time and several numbers; the right number and the PIN complete the waiting desktop login', async () => {
    const login = await pushLogin();
    // The desktop long-polls while the app answers.
    const waiting = status(t, login.transactionId, 10);
    const request = await pendingRequest(login.transactionId);
    expect(request.clientName).toBe('SLS Desktop on Linux');
    expect(request.place).toBe('127.0.0.1');
    expect(request.username).toBe('jane');
    expect(request.choices.length).toBeGreaterThanOrEqual(3);
    expect(request.choices).toContain(login.matchNumber);
    expect(new Set(request.choices).size).toBe(request.choices.length);

    prompter.push(String(login.matchNumber), PIN);
    const answered = await app.answerPush(request);
    expect(answered.outcome).toBe('approved');
    expect(prompter.said.some((l) => l.includes('client: SLS Desktop on Linux'))).toBe(true);
    expect(prompter.said.some((l) => l.includes('place:  127.0.0.1'))).toBe(true);
    // L7: the time as the phone shows it, not ISO UTC with milliseconds.
    const time = prompter.said.find((l) => l.includes('time:'))!;
    expect(time).toContain(phoneTime(request.createdAt));
    expect(time).not.toMatch(/\d{4}-\d{2}-\d{2}T|\.\d{3}Z/);

    const done = await waiting;
    expect(done.code).toBe(200);
    expect(done.body.status).toBe('signed_in');
    expect(done.body.session?.authenticatedWith?.kind).toBe('ibkey');
    expect(await auditEvents(t, 'ibkey.push_approved')).toHaveLength(1);
    expect(await auditEvents(t, 'login.succeeded')).toHaveLength(1);
    // The approval opened one session, once: asking again is refused.
    expect((await status(t, login.transactionId)).body.error?.code).toBe('SLS_ERR_CHALLENGE_USED');
  });

  it('waiting without an answer says so, with the push expiry', async () => {
    const login = await pushLogin();
    const s = await status(t, login.transactionId, 0);
    expect(s.body).toEqual({ status: 'waiting', transactionId: login.transactionId, pushExpiresAt: login.expiresAt });
  });

  it('a login deleted by housekeeping meanwhile answers as ended or not found, never a 500 (N1)', async () => {
    const login = await pushLogin();
    const request = await pendingRequest(login.transactionId);
    const waiting = status(t, login.transactionId, 1);
    await new Promise((r) => setTimeout(r, 200));
    await t.services.db.deleteFrom('login_transactions').where('id', '=', login.transactionId).execute();
    const waited = await waiting;
    expect(waited.code).toBe(404);
    expect(waited.body.error?.code).toBe('SLS_ERR_TRANSACTION_NOT_FOUND');
    prompter.push(String(login.matchNumber), PIN);
    await expect(app.answerPush(request)).rejects.toMatchObject({ code: 'SLS_ERR_IBKEY_REQUEST_ENDED' });
  });

  it('a denial ends the login and is recorded in the audit log as possible fraud', async () => {
    const login = await pushLogin();
    const request = await pendingRequest(login.transactionId);
    prompter.push('deny', PIN);
    expect((await app.answerPush(request)).outcome).toBe('denied');
    expect((await status(t, login.transactionId)).body.status).toBe('denied');
    const denied = await auditEvents(t, 'ibkey.push_denied');
    expect(denied).toHaveLength(1);
    expect(JSON.parse(denied[0]!.details)).toMatchObject({ possibleFraud: true, transactionId: login.transactionId });
    // The login is over: no other device, no response, can finish it.
    const r = await t.app.inject({ method: 'POST', url: `/v1/login/${login.transactionId}/response`, payload: { response: '12345678' } });
    expect(r.json().error.code).toBe('SLS_ERR_TRANSACTION_ENDED');
  });

  it('a wrong number ends the login too (push fatigue) and counts as a failure', async () => {
    const login = await pushLogin();
    const request = await pendingRequest(login.transactionId);
    const wrong = request.choices.find((n) => n !== login.matchNumber)!;
    prompter.push(String(wrong), PIN);
    expect((await app.answerPush(request)).outcome).toBe('wrong_number');
    expect((await status(t, login.transactionId)).body.status).toBe('wrong_number');
    expect(await auditEvents(t, 'ibkey.push_wrong_number')).toHaveLength(1);
    const counter = await t.services.db.selectFrom('failure_counters').select('failures').where('scope', '=', 'user').where('subject', '=', 'jane').executeTakeFirstOrThrow();
    expect(JSON.parse(counter.failures)).toHaveLength(1);
  });

  it(`refuses more than ${IBKEY_PUSH_LIMIT} waiting pushes for one user (push-bombing)`, async () => {
    for (let i = 0; i < IBKEY_PUSH_LIMIT; i++) await pushLogin();
    const r = await t.app.inject({ method: 'POST', url: '/v1/login', payload: { username: 'jane', password: 'correct horse battery', client: { kind: 'trading_platform', version: 1000 } } });
    expect(r.statusCode).toBe(429);
    expect(r.json().error.code).toBe('SLS_ERR_IBKEY_PUSH_LIMIT');
    // Once they expire, a new login may push again.
    t.clock.advance(IBKEY_PUSH_TTL_MS + 1);
    expect((await pushLogin()).matchNumber).toBeGreaterThanOrEqual(10);
  });

  it('L7, C5: the desktop\'s Cancel ends the login on slsd: its waiting long-poll ends, the push on the phone signs no one in and no longer counts among the 3', async () => {
    const cancel = (id: string) => t.app.inject({ method: 'POST', url: `/v1/login/${id}/cancel`, payload: {} });
    const login = await pushLogin();
    const request = await pendingRequest(login.transactionId);
    const waiting = status(t, login.transactionId, 10);
    const r = await cancel(login.transactionId);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({ ok: true });
    // The desktop's long-poll does not wait out its 10 s: the login is over.
    expect((await waiting).body.error?.code).toBe('SLS_ERR_TRANSACTION_ENDED');
    // The request left on the phone is gone from its list, and approving it anyway signs no one in.
    const keys = await app.unlock(PIN);
    expect((await app.poll(keys, 0)).requests.map((x) => x.transactionId)).not.toContain(login.transactionId);
    prompter.push(String(login.matchNumber), PIN);
    await expect(app.answerPush(request)).rejects.toThrow();
    expect(await t.services.db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()).toEqual([]);
    expect(await auditEvents(t, 'login.cancelled')).toHaveLength(1);
    // Idempotent; an unknown login is said so.
    expect((await cancel(login.transactionId)).statusCode).toBe(200);
    expect((await cancel('ltx_unknown')).json().error.code).toBe('SLS_ERR_TRANSACTION_NOT_FOUND');
    // Cancelled logins do not use up the pushes a user may have waiting.
    for (let i = 0; i < IBKEY_PUSH_LIMIT; i++) expect((await cancel((await pushLogin()).transactionId)).statusCode).toBe(200);
    expect((await pushLogin()).matchNumber).toBeGreaterThanOrEqual(10);
  });

  it('L7: a login already signed in cannot be cancelled (SLS_ERR_CHALLENGE_USED): the desktop signs that session out', async () => {
    const login = await pushLogin();
    const request = await pendingRequest(login.transactionId);
    prompter.push(String(login.matchNumber), PIN);
    expect((await app.answerPush(request)).outcome).toBe('approved');
    expect((await status(t, login.transactionId)).body.status).toBe('signed_in');
    const r = await t.app.inject({ method: 'POST', url: `/v1/login/${login.transactionId}/cancel`, payload: {} });
    expect(r.json().error.code).toBe('SLS_ERR_CHALLENGE_USED');
  });

  it('an approval is used once: replaying it is refused', async () => {
    const login = await pushLogin();
    const request = await pendingRequest(login.transactionId);
    const keys = await app.unlock(PIN);
    const key = [...keys.values()][0]!.secrets.privateKey;
    const body = {
      transactionId: request.transactionId,
      decision: 'approve',
      chosenNumber: login.matchNumber,
      signature: signWith(key, answerMessage({ ...request, decision: 'approve', chosenNumber: login.matchNumber })),
    };
    const url = `/v1/ibkey/requests/${request.requestId}/answer`;
    expect((await t.app.inject({ method: 'POST', url, payload: body })).json()).toEqual({ outcome: 'approved' });
    const replay = await t.app.inject({ method: 'POST', url, payload: body });
    expect(replay.statusCode).toBe(409);
    expect(replay.json().error.code).toBe('SLS_ERR_IBKEY_REQUEST_ENDED');
  });

  it('an approval signed for one login is refused for another', async () => {
    const a = await pushLogin();
    const b = await pushLogin();
    const ra = await pendingRequest(a.transactionId);
    const rb = await pendingRequest(b.transactionId);
    const key = [...(await app.unlock(PIN)).values()][0]!.secrets.privateKey;
    const signedForA = signWith(key, answerMessage({ ...ra, decision: 'approve', chosenNumber: a.matchNumber }));
    // Presented on B's request (as if for B), or on A's request naming B: both refused.
    const onB = await t.app.inject({
      method: 'POST',
      url: `/v1/ibkey/requests/${rb.requestId}/answer`,
      payload: { transactionId: b.transactionId, decision: 'approve', chosenNumber: a.matchNumber, signature: signedForA },
    });
    expect(onB.json().error.code).toBe('SLS_ERR_IBKEY_SIGNATURE_INVALID');
    const namingB = await t.app.inject({
      method: 'POST',
      url: `/v1/ibkey/requests/${ra.requestId}/answer`,
      payload: { transactionId: b.transactionId, decision: 'approve', chosenNumber: a.matchNumber, signature: signedForA },
    });
    expect(namingB.json().error.code).toBe('SLS_ERR_IBKEY_SIGNATURE_INVALID');
    // Neither login moved.
    expect((await status(t, a.transactionId)).body.status).toBe('waiting');
    expect((await status(t, b.transactionId)).body.status).toBe('waiting');
  });

  it('a poll needs a fresh nonce and a valid signature', async () => {
    const keys = await app.unlock(PIN);
    const [entry] = [...keys.values()];
    const nonce = (await t.app.inject({ method: 'POST', url: '/v1/ibkey/nonces', payload: {} })).json().nonce as string;
    const bad = await t.app.inject({ method: 'POST', url: '/v1/ibkey/requests', payload: { nonce, proofs: [{ deviceId: entry!.entry.deviceId, signature: signWith(entry!.secrets.privateKey, 'something else') }] } });
    expect(bad.json().error.code).toBe('SLS_ERR_IBKEY_SIGNATURE_INVALID');
    // The nonce was spent by that attempt.
    const again = await t.app.inject({ method: 'POST', url: '/v1/ibkey/requests', payload: { nonce, proofs: [{ deviceId: entry!.entry.deviceId, signature: 'AAAA' }] } });
    expect(again.json().error.code).toBe('SLS_ERR_IBKEY_NONCE_INVALID');
  });

  it('when the push times out the desktop falls back to an offline code from the app (SPEC L4, K2)', async () => {
    const login = await pushLogin();
    t.clock.advance(IBKEY_PUSH_TTL_MS);
    expect((await status(t, login.transactionId)).body.status).toBe('push_expired');
    const deviceId = (await t.services.db.selectFrom('devices').select('id').where('user_id', '=', userId).where('kind', '=', 'ibkey').executeTakeFirstOrThrow()).id;
    const sel = await t.app.inject({ method: 'POST', url: `/v1/login/${login.transactionId}/device`, payload: { deviceId, mode: 'offline' } });
    const step = sel.json();
    expect(step.challenge).toMatchObject({ type: 'response_code', kind: 'ibkey', responseLength: 8 });
    prompter.push(PIN);
    const code = await app.respond('jane', step.challenge.challenge);
    const r = await t.app.inject({ method: 'POST', url: `/v1/login/${login.transactionId}/response`, payload: { response: code } });
    expect(r.json().status).toBe('signed_in');
    // The expired push can no longer be answered.
    const stale = await t.services.db.selectFrom('ibkey_push_requests').selectAll().where('transaction_id', '=', login.transactionId).executeTakeFirstOrThrow();
    expect(stale.state).toBe('superseded');
  });

  it('a wrong PIN opens nothing and signs nothing', async () => {
    prompter.push('000000');
    await expect(app.respond('jane', '123456')).rejects.toThrow('The PIN is not correct.');
  });
});

describe('several users in one app (SPEC K3)', () => {
  it('adds a user with its own key; one poll serves both and each approval signs with its user\'s key', async () => {
    const johnId = await createUser(t, 'john', { mobile: '+12125550199' });
    await activate(t, app, prompter, 'john', johnId, false);
    expect(app.users().map((u) => u.username)).toEqual(['jane', 'john']);
    const keys = await t.services.db.selectFrom('ibkey_devices').select(['public_key', 'installation_id']).execute();
    expect(keys).toHaveLength(2);
    expect(keys[0]!.public_key).not.toBe(keys[1]!.public_key);
    expect(keys[0]!.installation_id).toBe(keys[1]!.installation_id);

    const step = await startLogin(t, 'john');
    if (step.status !== 'challenge' || step.challenge.type !== 'push') throw new Error('no push');
    const request = await pendingRequest(step.transactionId);
    expect(request.username).toBe('john');
    prompter.push(String(step.challenge.matchNumber), PIN);
    expect((await app.answerPush(request)).outcome).toBe('approved');
    expect((await status(t, step.transactionId)).body.status).toBe('signed_in');
  });

  it('add-user checks the app PIN', async () => {
    const johnId = await createUser(t, 'john');
    prompter.push(async () => {
      const { lastActivationCode } = await import('./testkit.ts');
      return lastActivationCode(t, johnId);
    }, '111111');
    await expect(app.activate('john', 'correct horse battery')).rejects.toThrow('The PIN is not correct.');
  });
});
