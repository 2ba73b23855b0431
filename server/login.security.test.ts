// Security regressions of the login (SPEC L1, L6, L7, A3, D2, N1, N2): user enumeration by message and
// by timing, replay of responses, card answers, SMS codes and IB Key signatures, push bombing under
// concurrency, session fixation, and secrets absent from slsd's own log output.
// (The browser host's WebSocket token and origin guards: electron/browser-host.security.test.ts.)
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IBKEY_PUSH_LIMIT } from './verifiers/ibkey-push.ts';
import { describeEachBackend, probePostgres } from './db/pg-testing.ts';
import { startOn } from './conformance/backends.ts';
import { activate, createUser, newApp, PASSWORD as IBKEY_PASSWORD, PIN, ScriptedPrompter, startLogin } from './ibkey/testkit.ts';
import { actAsDevice, errorCode, getJson, login, postJson } from './testing/http.ts';
import type { Answer } from './testing/http.ts';
import { spawnSlsd } from './testing/slsd-process.ts';
import type { TestServer } from './testing/test-server.ts';
import { respondWithTokenFile } from './tokens/software-token.ts';
import type { LoginStep } from '../core/api.ts';

const probe = await probePostgres();
const PASSWORD = 'Correct-Horse-1';

function challengeOf(a: Answer<LoginStep>): LoginStep & { status: 'challenge' } {
  if (a.body.status !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(a.body)}`);
  return a.body;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

describeEachBackend('login security', probe, (backend) => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startOn(backend, { listen: true });
  });
  afterEach(async () => {
    await t.close();
  });

  async function seed(username: string, kind: 'dsc' | 'scc' | 'sms' = 'dsc') {
    const entityId = await t.provisioning.createEntity({ name: username });
    await t.provisioning.createUser({ username, entityId, password: PASSWORD, ...(kind === 'sms' ? { mobileNumber: '+12125550142' } : {}) });
    return t.provisioning.addDevice({ username, kind });
  }

  it('stores a password only as argon2id at OWASP parameters at least: m=19 MiB, t=2, p=1 (A3)', async () => {
    await seed('u.stored');
    const { password_hash: stored } = await t.services.db.selectFrom('users').select('password_hash').where('username_normalized', '=', 'u.stored').executeTakeFirstOrThrow();
    const parts = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]{22,}\$[A-Za-z0-9+/]{43,}$/.exec(stored ?? '');
    expect(parts, String(stored)).not.toBeNull();
    const [, m, tCost, p] = parts!.map(Number);
    expect(m).toBeGreaterThanOrEqual(19_456);
    expect(tCost).toBeGreaterThanOrEqual(2);
    expect(p).toBe(1);
    expect(stored).not.toContain(PASSWORD);
  });

  it('answers an unknown user and a wrong password with the same status, body and headers, locked or not (L1, L6)', async () => {
    await seed('u.known');
    const shape = (r: Awaited<ReturnType<typeof t.app.inject>>) => ({
      status: r.statusCode,
      body: r.body,
      headers: Object.keys(r.headers).filter((h) => !['date', 'content-length'].includes(h)).sort(),
    });
    const attempt = (username: string) => t.app.inject({ method: 'POST', url: '/v1/login', payload: { username, password: 'wrong-password-1', client: { kind: 'client_portal', version: 1 } } });
    for (let i = 0; i < 12; i++) {
      const [known, unknown] = [await attempt('u.known'), await attempt('u.unknown')];
      expect(shape(unknown), `attempt ${i + 1}`).toEqual(shape(known));
    }
    // Locked alike, too: the counter is keyed by the name whether or not such a user exists.
    expect(errorCode({ status: 0, body: (await attempt('u.unknown')).json() })).toBe('SLS_ERR_USER_LOCKED');
  });

  it('does not take a response twice: not in its login, not in a new login (D2)', async () => {
    const dsc = await seed('u.replay');
    const first = challengeOf(await login(t.app, 'u.replay', PASSWORD));
    const response = actAsDevice(dsc, first);
    expect((await postJson(t.app, `/v1/login/${first.transactionId}/response`, { response })).status).toBe(200);
    expect(errorCode(await postJson(t.app, `/v1/login/${first.transactionId}/response`, { response }))).toBe('SLS_ERR_CHALLENGE_USED');
    const second = challengeOf(await login(t.app, 'u.replay', PASSWORD));
    expect(second.challenge).not.toEqual(first.challenge);
    expect(errorCode(await postJson(t.app, `/v1/login/${second.transactionId}/response`, { response }))).toBe('SLS_ERR_WRONG_RESPONSE');
  });

  it('does not take a Security Code Card answer again in a new login (D3)', async () => {
    const scc = await seed('u.card', 'scc');
    const first = challengeOf(await login(t.app, 'u.card', PASSWORD));
    const answer = actAsDevice(scc, first);
    expect((await postJson(t.app, `/v1/login/${first.transactionId}/response`, { response: answer })).status).toBe(200);
    const second = challengeOf(await login(t.app, 'u.card', PASSWORD));
    expect(errorCode(await postJson(t.app, `/v1/login/${second.transactionId}/response`, { response: answer }))).toBe('SLS_ERR_WRONG_RESPONSE');
  });

  it('does not take an SMS code again after it signed in (D2)', async () => {
    await seed('u.sms', 'sms');
    const step = challengeOf(await login(t.app, 'u.sms', PASSWORD));
    const sms = await t.services.db.selectFrom('sms_outbox').select('body').orderBy('id', 'desc').executeTakeFirstOrThrow();
    const code = /\b(\d{6,8})\b/.exec(sms.body)![1]!;
    expect((await postJson(t.app, `/v1/login/${step.transactionId}/response`, { response: code })).status).toBe(200);
    expect(errorCode(await postJson(t.app, `/v1/login/${step.transactionId}/response`, { response: code }))).toBe('SLS_ERR_CHALLENGE_USED');
    const next = challengeOf(await login(t.app, 'u.sms', PASSWORD));
    expect(errorCode(await postJson(t.app, `/v1/login/${next.transactionId}/response`, { response: code }))).toBe('SLS_ERR_WRONG_RESPONSE');
  });

  it('refuses the exact bytes of an IB Key approval sent again (L7)', async () => {
    const userId = await createUser(t, 'u.ibkey.replay');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'android', prompter);
    await activate(t, app, prompter, 'u.ibkey.replay', userId);
    const step = await startLogin(t, 'u.ibkey.replay');
    if (step.status !== 'challenge' || step.challenge.type !== 'push') throw new Error('no push');
    const keys = await app.unlock(PIN);
    const request = (await app.poll(keys, 0)).requests[0]!;
    // Record what the app sends, to send the very same request again.
    const sent: { url: string; body: string }[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
      if (typeof init?.body === 'string') sent.push({ url: String(input), body: init.body });
      return realFetch(input, init);
    }) as typeof fetch;
    try {
      prompter.push(String(step.challenge.matchNumber), PIN);
      expect((await app.answerPush(request)).outcome).toBe('approved');
    } finally {
      globalThis.fetch = realFetch;
    }
    const answer = sent.find((s) => s.url.endsWith('/answer'))!;
    const replay = await realFetch(answer.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: answer.body });
    expect(replay.status).toBeGreaterThanOrEqual(400);
    expect(replay.status).toBeLessThan(500);
    const approvals = await t.services.db.selectFrom('audit_log').select('id').where('event', '=', 'ibkey.push_approved').execute();
    expect(approvals).toHaveLength(1);
  });

  // Found by this test on PostgreSQL: the limit was a count followed by an insert, so logins arriving
  // together on a pool of connections (or on two slsd) all saw fewer than the limit and 4+ pushes
  // waited. Fixed in server/verifiers/ibkey-push.ts: count and insert in one transaction under a lock
  // of the user's row (SELECT … FOR UPDATE; SQLite's write lock), pushes of logins not stored yet counted.
  it(`keeps at most ${IBKEY_PUSH_LIMIT} pushes waiting for a user even when logins arrive together (push bombing, L7, N1)`, async () => {
    const userId = await createUser(t, 'u.bomb');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'android', prompter);
    await activate(t, app, prompter, 'u.bomb', userId);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        t.app.inject({ method: 'POST', url: '/v1/login', payload: { username: 'u.bomb', password: IBKEY_PASSWORD, client: { kind: 'trading_platform', version: 1000 } } }),
      ),
    );
    for (const a of answers) expect([200, 429]).toContain(a.statusCode);
    // Exactly the limit got a push; every other login was told why (never a 5xx, never a fourth push).
    expect(answers.filter((a) => a.statusCode === 200)).toHaveLength(IBKEY_PUSH_LIMIT);
    for (const a of answers.filter((x) => x.statusCode === 429)) expect((a.json() as { error: { code: string } }).error.code).toBe('SLS_ERR_IBKEY_PUSH_LIMIT');
    const pending = await t.services.db
      .selectFrom('ibkey_push_requests' as never)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('state' as never, '=', 'pending' as never)
      .executeTakeFirstOrThrow();
    expect(Number((pending as { n: number }).n)).toBeLessThanOrEqual(IBKEY_PUSH_LIMIT);
  });

  // Found by a SPEC audit: only /resend waited for the cool-down; choosing the SMS device again (at
  // once, or after another device) sent a new SMS every time — 11 within a second from one login.
  it('sends no second login SMS within the cool-down, however the SMS device is chosen again (SMS bombing, L4, L5)', async () => {
    const sms = await seed('u.smsbomb', 'sms');
    const dsc = await t.provisioning.addDevice({ username: 'u.smsbomb', kind: 'dsc' });
    const start = await login(t.app, 'u.smsbomb', PASSWORD);
    expect(start.body.status).toBe('select_device');
    const txId = (start.body as { transactionId: string }).transactionId;
    const outbox = async () => (await t.services.db.selectFrom('sms_outbox').select('body').where('purpose', '=', 'login_code').execute()).map((r) => /(\d{6})/.exec(r.body)![1]!);
    const choose = (deviceId: string) => postJson<LoginStep>(t.app, `/v1/login/${txId}/device`, { deviceId });
    expect(challengeOf(await choose(sms.device.id)).challenge.type).toBe('sms_code');
    const [code] = await outbox();
    // The same device again: its screen back, the code sent still the one that counts.
    for (let i = 0; i < 5; i++) expect(challengeOf(await choose(sms.device.id)).challenge.type).toBe('sms_code');
    expect(await outbox()).toEqual([code]);
    // Away and back within the cool-down: refused with when to try, nothing sent.
    expect(challengeOf(await choose(dsc.device.id)).challenge.type).toBe('response_code');
    const back = await choose(sms.device.id);
    expect(errorCode(back)).toBe('SLS_ERR_RESEND_TOO_SOON');
    expect(Date.parse((back.body as unknown as { error: { retryAt: string } }).error.retryAt)).toBeGreaterThan(t.clock.now());
    expect(await outbox()).toEqual([code]);
    // After the cool-down one new code, which signs in.
    t.clock.advance(31_000);
    expect(challengeOf(await choose(sms.device.id)).challenge.type).toBe('sms_code');
    const codes = await outbox();
    expect(codes).toHaveLength(2);
    expect((await postJson(t.app, `/v1/login/${txId}/response`, { response: codes[1] })).body).toMatchObject({ status: 'signed_in' });
  });

  it('sends no stream of IB Key pushes from one login: choosing it again while its push waits, or offline and back (push bombing, L7)', async () => {
    const userId = await createUser(t, 'u.pushagain');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'android', prompter);
    await activate(t, app, prompter, 'u.pushagain', userId);
    const step = await startLogin(t, 'u.pushagain');
    if (step.status !== 'challenge' || step.challenge.type !== 'push') throw new Error('no push');
    const { deviceId, matchNumber } = step.challenge;
    const pushes = async () =>
      (await t.services.db.selectFrom('ibkey_push_requests' as never).select('state' as never).where('transaction_id' as never, '=', step.transactionId as never).execute()).length;
    const choose = (mode: 'default' | 'offline') => postJson<LoginStep>(t.app, `/v1/login/${step.transactionId}/device`, { deviceId, mode });
    for (let i = 0; i < 3; i++) expect(challengeOf(await choose('default')).challenge).toMatchObject({ type: 'push', matchNumber });
    expect(await pushes()).toBe(1);
    expect(challengeOf(await choose('offline')).challenge.type).toBe('response_code');
    expect(errorCode(await choose('default'))).toBe('SLS_ERR_RESEND_TOO_SOON');
    expect(await pushes()).toBe(1);
    t.clock.advance(30_000);
    expect(challengeOf(await choose('default')).challenge.type).toBe('push');
    expect(await pushes()).toBe(2);
  });

  it('never accepts a token the client chose; each login issues a new one; logout ends it (session fixation)', async () => {
    const dsc = await seed('u.fixation');
    const chosen = 'A'.repeat(43);
    expect(errorCode(await getJson(t.app, '/v1/session', { authorization: `Bearer ${chosen}` }))).toMatch(/SLS_ERR_(UNAUTHENTICATED|SESSION_EXPIRED)/);
    const tokens: string[] = [];
    for (let i = 0; i < 2; i++) {
      // A client presenting its chosen token during the login gets a fresh one regardless.
      const step = challengeOf(await postJson(t.app, '/v1/login', { username: 'u.fixation', password: PASSWORD, client: { kind: 'client_portal', version: 1 } }, { authorization: `Bearer ${chosen}` }));
      const done = await postJson(t.app, `/v1/login/${step.transactionId}/response`, { response: actAsDevice(dsc, step) }, { authorization: `Bearer ${chosen}` });
      if (done.body.status !== 'signed_in') throw new Error('expected signed_in');
      tokens.push(done.body.session.token);
    }
    expect(tokens[0]).not.toBe(chosen);
    expect(tokens[1]).not.toBe(tokens[0]);
    for (const token of tokens) expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(32);
    const auth = { authorization: `Bearer ${tokens[0]}` };
    expect((await postJson(t.app, '/v1/logout', {}, auth)).status).toBe(200);
    expect((await getJson(t.app, '/v1/session', auth)).status).toBe(401);
    expect((await postJson(t.app, '/v1/logout', {}, auth)).status).toBe(401);
    // The other session is untouched by the first one's logout.
    expect((await getJson(t.app, '/v1/session', { authorization: `Bearer ${tokens[1]}` })).status).toBe(200);
  });
});

describe('user enumeration by timing (A3, L1)', () => {
  it('takes as long for an unknown user as for a wrong password (median of paired ratios within a factor 2)', async () => {
    // Real argon2id. Each attempt with an unknown user is paired with one with a wrong password,
    // back to back (which goes first alternates), and the test judges the median of the per-pair
    // ratios: load from other processes that slows one stretch of the run slows both halves of its
    // pairs alike and cancels out, and a few pairs hit by a spike cannot move the median. A leak
    // (skipping the hash for unknown users) makes every ratio ~0.1 or less and fails the bound.
    const t = await startOn({ name: 'sqlite', freshDatabase: async (dir) => ({ url: `sqlite:${path.join(dir, 'sls.db')}`, drop: async () => undefined }) });
    try {
      const names: string[] = [];
      for (let i = 0; i < 6; i++) {
        const entityId = await t.provisioning.createEntity({ name: `timing ${i}` });
        await t.provisioning.createUser({ username: `u.timing${i}`, entityId, password: PASSWORD });
        names.push(`u.timing${i}`);
      }
      const time = async (username: string) => {
        const start = process.hrtime.bigint();
        const r = await login(t.app, username, 'wrong-password-1', { kind: 'client_portal', version: 1 });
        expect(errorCode(r)).toBe('SLS_ERR_INVALID_CREDENTIALS');
        return Number(process.hrtime.bigint() - start) / 1e6;
      };
      const ratios: number[] = [];
      const known: number[] = [];
      const unknown: number[] = [];
      // 6 users x 8 attempts stays under the lock (10) and the per-address limit (100).
      for (let i = 0; i < 48; i++) {
        let k: number;
        let u: number;
        if (i % 2 === 0) {
          k = await time(names[i % names.length]!);
          u = await time(`u.nobody${i}`);
        } else {
          u = await time(`u.nobody${i}`);
          k = await time(names[i % names.length]!);
        }
        known.push(k);
        unknown.push(u);
        ratios.push(u / k);
      }
      const r = median(ratios);
      const why = `median of unknown/wrong-password ratios ${r.toFixed(2)} (medians: unknown ${median(unknown).toFixed(1)} ms, wrong password ${median(known).toFixed(1)} ms)`;
      expect(r, why).toBeGreaterThan(1 / 2);
      expect(r, why).toBeLessThan(2);
    } finally {
      await t.close();
    }
  });
});

describe('secrets in logs', () => {
  it('slsd at log level trace prints no password, response, code or token of a full login and logout', async () => {
    const slsd = await spawnSlsd({ demo: true, env: { SLS_LOG_LEVEL: 'trace' } });
    let err = '';
    slsd.child.stderr!.on('data', (c: Buffer) => void (err += c.toString()));
    try {
      const before = slsd.stdout().length;
      const post = async (p: string, body: unknown, headers: Record<string, string> = {}) =>
        (await fetch(slsd.url + p, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })).json() as Promise<Record<string, never>>;
      const secrets: string[] = [slsd.demo!.password, 'Wrong-Password-42'];
      await post('/v1/login', { username: 'demo.gold', password: 'Wrong-Password-42', client: { kind: 'client_portal', version: 1 } });
      const step = (await post('/v1/login', { username: 'demo.gold', password: slsd.demo!.password, client: { kind: 'client_portal', version: 1 } })) as unknown as {
        transactionId: string;
        challenge: { challenge: string };
      };
      const gold = slsd.demo!.users.find((u) => u.username === 'demo.gold')!.devices[0]!;
      const response = respondWithTokenFile(path.join(slsd.dataDir, gold.file!), step.challenge.challenge);
      secrets.push(response);
      const done = (await post(`/v1/login/${step.transactionId}/response`, { response })) as unknown as { session: { token: string } };
      secrets.push(done.session.token);
      await fetch(slsd.url + '/v1/session', { headers: { authorization: `Bearer ${done.session.token}` } });
      await post('/v1/logout', {}, { authorization: `Bearer ${done.session.token}` });
      const logged = slsd.stdout().slice(before) + err;
      // The run did log (trace level logs every request), so silence cannot pass this test.
      expect(logged).toMatch(/\/v1\/login/);
      for (const s of secrets) expect(logged.includes(s), `a secret (${s.length} chars) appears in the log`).toBe(false);
    } finally {
      await slsd.stop();
    }
  });
});
