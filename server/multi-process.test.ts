// Two slsd processes on one database behave as one (SPEC N1): throttling, lockout (L6), one-time use
// (D2) and sessions are rows, so failures spread over both lock the user, a response is taken once
// however it is sent, and a session opened on one is seen and ended on the other.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IbKeyApp } from '../ibkey/app.ts';
import { defaultConfig } from './config.ts';
import { describeEachBackend, probePostgres, tempDataDir } from './db/pg-testing.ts';
import type { FreshDatabase } from './db/pg-testing.ts';
import { spawnSlsd } from './testing/slsd-process.ts';
import type { SlsdProcess } from './testing/slsd-process.ts';
import { deviceResponse } from '../core/codes.ts';
import { createServices } from './services/index.ts';
import type { Services } from './services/index.ts';
import type { ProvisionedDevice } from './services/provisioning.ts';
import { Provisioning } from './services/provisioning.ts';
import { ScriptedPrompter } from './ibkey/testkit.ts';
import { answer } from './account/testing.ts';

const probe = await probePostgres();
const CLIENT = { kind: 'trading_platform', version: 1010, name: 'multi-process test' };

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string }; transactionId?: string; challenge?: { challenge: string } };
}

async function call(base: string, method: 'GET' | 'POST', p: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await fetch(base + p, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: r.status, body: (await r.json()) as Answer['body'] };
}

describeEachBackend('two slsd processes on one database', probe, (backend) => {
  let a: SlsdProcess;
  let b: SlsdProcess;
  let data: { dir: string; remove(): void };
  let fresh: FreshDatabase;
  /** The database as slsctl sees it: provisioning, SMS outbox. */
  let ops: Services;
  const serverKey = randomBytes(32).toString('base64');
  const PASSWORD = 'Two-Processes-Pass-1';
  const devices = new Map<string, ProvisionedDevice>();

  beforeAll(async () => {
    data = tempDataDir('slsd-multi-');
    fresh = await backend.freshDatabase(data.dir);
    ops = await createServices(defaultConfig({ dataDir: data.dir, databaseUrl: fresh.url, serverKey, logLevel: 'silent' }));
    const p = new Provisioning(ops);
    for (const username of ['u.lock', 'u.once', 'u.cross']) {
      const entityId = await p.createEntity({ name: username });
      await p.createUser({ username, entityId, password: PASSWORD });
      devices.set(username, await p.addDevice({ username, kind: 'dsc' }));
    }
    [a, b] = (await Promise.all([0, 1].map(() => spawnSlsd({ dataDir: data.dir, env: { SLS_DATABASE_URL: fresh.url, SLS_SERVER_KEY: serverKey } })))) as [SlsdProcess, SlsdProcess];
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await ops?.close();
    await fresh?.drop();
    data?.remove();
  });
  const respond = (username: string, step: Answer) =>
    deviceResponse('dsc', devices.get(username)!.secret!, step.body.challenge!.challenge);

  it('both report the same database', async () => {
    for (const p of [a, b]) expect((await call(p.url, 'GET', '/v1/health')).body.database).toBe(backend.name);
  });

  it('locks a user after ten failures spread over both processes, on both (L6)', async () => {
    for (let i = 0; i < 9; i++) {
      const r = await call(i % 2 ? b.url : a.url, 'POST', '/v1/login', { username: 'u.lock', password: `wrong-${i}-password`, client: CLIENT });
      expect(r.body.error?.code).toBe('SLS_ERR_INVALID_CREDENTIALS');
    }
    const tenth = await call(b.url, 'POST', '/v1/login', { username: 'u.lock', password: 'wrong-9-password', client: CLIENT });
    expect(tenth.status).toBe(423);
    expect(tenth.body.error?.code).toBe('SLS_ERR_USER_LOCKED');
    for (const p of [a, b]) expect((await call(p.url, 'POST', '/v1/login', { username: 'u.lock', password: PASSWORD, client: CLIENT })).body.error?.code).toBe('SLS_ERR_USER_LOCKED');
  });

  it('takes a right response once when it is sent to both processes at the same time (D2)', async () => {
    const step = await call(a.url, 'POST', '/v1/login', { username: 'u.once', password: PASSWORD, client: CLIENT });
    expect(step.status).toBe(200);
    const response = respond('u.once', step);
    const answers = await Promise.all(
      [a, b, a, b, a, b].map((p) => call(p.url, 'POST', `/v1/login/${step.body.transactionId}/response`, { response })),
    );
    expect(answers.filter((x) => x.status === 200)).toHaveLength(1);
    for (const x of answers.filter((y) => y.status !== 200)) expect(x.body.error?.code).toBe('SLS_ERR_CHALLENGE_USED');
  });

  it('continues a login on the other process, and a session opened on one ends on the other (N1)', async () => {
    const step = await call(b.url, 'POST', '/v1/login', { username: 'u.cross', password: PASSWORD, client: CLIENT });
    expect((await call(a.url, 'GET', `/v1/login/${step.body.transactionId}`)).body.status).toBe('challenge');
    const response = respond('u.cross', step);
    const done = await call(a.url, 'POST', `/v1/login/${step.body.transactionId}/response`, { response });
    expect(done.body.status).toBe('signed_in');
    const auth = { authorization: `Bearer ${(done.body.session as { token: string }).token}` };
    expect((await call(b.url, 'GET', '/v1/session', undefined, auth)).status).toBe(200);
    expect((await call(b.url, 'POST', '/v1/logout', {}, auth)).status).toBe(200);
    expect((await call(a.url, 'GET', '/v1/session', undefined, auth)).status).toBe(401);
  });

  it('completes a login started on the first when the IB Key app approves through the second (L7, N1)', async () => {
    // Provisioned as slsctl would: the same database and server key, from this process.
    const password = 'Push-Approval-Pass-1';
    const pin = '482916';
    const p = new Provisioning(ops);
    const entityId = await p.createEntity({ name: 'Push Across' });
    const userId = await p.createUser({ username: 'u.push', entityId, password, mobileNumber: '+12125550142' });
    const prompter = new ScriptedPrompter();
    const appDir = tempDataDir('ibkey-app-');
    try {
      const app = new IbKeyApp(appDir.dir, prompter, { platform: 'android', server: b.url });
      const smsCode = async () => {
        const row = await ops.db.selectFrom('sms_outbox').select('body').where('user_id', '=', userId).orderBy('id', 'desc').executeTakeFirstOrThrow();
        return /code is (\d+)/.exec(row.body)![1]!;
      };
      prompter.push(smsCode, pin, pin);
      await app.activate('u.push', password, 'phone of u.push');

      const step = await call(a.url, 'POST', '/v1/login', { username: 'u.push', password, client: CLIENT });
      const challenge = step.body.challenge as unknown as { type: string; matchNumber: number };
      expect(challenge.type).toBe('push');
      // The desktop long-polls the first process while the app answers through the second.
      const waiting = call(a.url, 'GET', `/v1/login/${step.body.transactionId}/status?wait=20`);
      const keys = await app.unlock(pin);
      const request = (await app.poll(keys, 0)).requests[0]!;
      prompter.push(String(challenge.matchNumber), pin);
      await app.answerPush(request);
      const done = await waiting;
      expect(done.body.status).toBe('signed_in');
      // The approval is taken once: answering the same request again, through either process, is refused.
      prompter.push(String(challenge.matchNumber), pin);
      const again = await app.answerPush(request).then(
        () => 'accepted',
        (e: Error) => e.message,
      );
      expect(again).toMatch(/already answered/);
    } finally {
      appDir.remove();
    }
  });

  it('keeps a withdrawal limit when two processes confirm at once (W2, W4, N1)', async () => {
    const password = 'Withdraw-Across-Pass-1';
    const p = new Provisioning(ops);
    const entityId = await p.createEntity({ name: 'Withdraw Across' });
    await p.createAccount({ number: 'U8880001', entityId, balanceUsd: 5_000_000 });
    await p.createUser({ username: 'u.wd', entityId, password, accountNumbers: ['U8880001'] });
    const scc = await p.addDevice({ username: 'u.wd', kind: 'scc' });
    const step = await call(a.url, 'POST', '/v1/login', { username: 'u.wd', password, client: { kind: 'client_portal', version: 1 } });
    const token = ((await call(b.url, 'POST', `/v1/login/${step.body.transactionId}/response`, { response: answer(scc, step.body.challenge as never) })).body.session as { token: string }).token;
    const auth = { authorization: `Bearer ${token}` };
    const bodies = [];
    for (let i = 0; i < 8; i++) {
      const c = (await call(i % 2 ? a.url : b.url, 'POST', '/v1/withdrawals/challenge', { deviceId: scc.device.id, amountCents: 60_000 * 100 }, auth)).body;
      bodies.push({ amountCents: 60_000 * 100, idempotencyKey: `across-${i}-${Date.now()}`, confirmation: { id: c.confirmationId, response: answer(scc, c.challenge as never) } });
    }
    // Half to each process, all at once: the Security Code Card allows USD 200,000 a day (W1).
    const answers = await Promise.all(bodies.map((body, i) => call(i % 2 ? a.url : b.url, 'POST', '/v1/withdrawals', body, auth)));
    expect(answers.filter((x) => x.status === 200)).toHaveLength(3);
    for (const x of answers.filter((y) => y.status !== 200)) expect(x.body.error?.code).toBe('SLS_ERR_WITHDRAWAL_LIMIT');
  });
});
