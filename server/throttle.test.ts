// SPEC L6: failures counted per user and per source address; 10 in 24 h lock until 24 h after the last.
import { afterEach, describe, expect, it } from 'vitest';
import { actAsDevice, errorCode, login, postJson } from './testing/http.ts';
import { startTestServer } from './testing/test-server.ts';
import type { TestServer } from './testing/test-server.ts';

const PASSWORD = 'Correct-Horse-1';
const HOUR = 3_600_000;
let t: TestServer;

afterEach(async () => {
  await t.close();
});

async function seed(username: string) {
  const entityId = await t.provisioning.createEntity({ name: username });
  await t.provisioning.createUser({ username, entityId, password: PASSWORD });
  return t.provisioning.addDevice({ username, kind: 'dsc' });
}

describe('user lockout (SPEC L6)', () => {
  it('locks after 10 consecutive failures within 24 h, until 24 h after the last, and says until when', async () => {
    t = await startTestServer();
    const dsc = await seed('u.lock');
    for (let i = 0; i < 9; i++) {
      expect(errorCode(await login(t.app, 'u.lock', 'bad password'))).toBe('SLS_ERR_INVALID_CREDENTIALS');
      t.clock.advance(HOUR);
    }
    const tenth = await login(t.app, 'u.lock', 'bad password');
    const lastFailure = t.clock.now();
    expect(tenth.status).toBe(423);
    expect(tenth.body).toMatchObject({ error: { code: 'SLS_ERR_USER_LOCKED', lockedUntil: new Date(lastFailure + 24 * HOUR).toISOString() } });
    // Even the right password is refused while locked.
    t.clock.advance(23 * HOUR);
    expect(errorCode(await login(t.app, 'u.lock', PASSWORD))).toBe('SLS_ERR_USER_LOCKED');
    t.clock.advance(HOUR);
    const step = await login(t.app, 'u.lock', PASSWORD);
    expect(step.status).toBe(200);
    const events = await t.services.db.selectFrom('audit_log').select('event').where('event', '=', 'user.locked').execute();
    expect(events).toHaveLength(1);
    expect(dsc.device.kind).toBe('dsc');
  });

  // Found by a SPEC audit: only the login and IB Key wrote `user.locked`; locks counted by restart
  // tokens, Client Portal confirmations or a sharing owner's password were off the record.
  it('puts a lock on record once, whichever request counted it: here wrong restart tokens (N2, L6, L8)', async () => {
    t = await startTestServer();
    await seed('u.restartlock');
    const restart = () => postJson(t.app, '/v1/login/restart', { username: 'u.restartlock', restartToken: 'A'.repeat(43) });
    for (let i = 0; i < 9; i++) expect(errorCode(await restart())).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    expect(errorCode(await restart())).toBe('SLS_ERR_USER_LOCKED');
    // Refused while locked: nothing more counted, nothing more written.
    expect(errorCode(await restart())).toBe('SLS_ERR_USER_LOCKED');
    const user = await t.services.db.selectFrom('users').select('id').where('username_normalized', '=', 'u.restartlock').executeTakeFirstOrThrow();
    const locked = await t.services.db.selectFrom('audit_log').selectAll().where('event', '=', 'user.locked').execute();
    expect(locked).toHaveLength(1);
    expect(locked[0]).toMatchObject({ user_id: user.id, username: 'u.restartlock' });
    expect(JSON.parse(locked[0]!.details)).toEqual({ lockedUntil: new Date(t.clock.now() + 24 * HOUR).toISOString() });
  });

  it('puts an address that reached its limit on record once, with when it may try again (N2, L6)', async () => {
    t = await startTestServer({ config: { addressFailureLimit: 5 } });
    for (let i = 0; i < 5; i++) expect(errorCode(await login(t.app, `nobody.${i}`, 'bad password'))).toBe('SLS_ERR_INVALID_CREDENTIALS');
    const refused = await login(t.app, 'nobody.else', 'bad password');
    expect(errorCode(refused)).toBe('SLS_ERR_RATE_LIMITED');
    const limited = await t.services.db.selectFrom('audit_log').selectAll().where('event', '=', 'address.rate_limited').execute();
    expect(limited).toHaveLength(1);
    expect(JSON.parse(limited[0]!.details)).toMatchObject({ failures: 5, retryAt: (refused.body as unknown as { error: { retryAt: string } }).error.retryAt });
    expect(limited[0]!.source_address).toBeTruthy();
  });

  it('does not count failures older than 24 h', async () => {
    t = await startTestServer();
    await seed('u.window');
    for (let i = 0; i < 9; i++) await login(t.app, 'u.window', 'bad password');
    t.clock.advance(24 * HOUR + 1);
    expect(errorCode(await login(t.app, 'u.window', 'bad password'))).toBe('SLS_ERR_INVALID_CREDENTIALS');
    expect((await login(t.app, 'u.window', PASSWORD)).status).toBe(200);
  });

  it('a full login resets the run of consecutive failures; a password alone does not', async () => {
    t = await startTestServer();
    const dsc = await seed('u.reset');
    for (let i = 0; i < 9; i++) await login(t.app, 'u.reset', 'bad password');
    const step = await login(t.app, 'u.reset', PASSWORD);
    if (step.body.status !== 'challenge') throw new Error('expected challenge');
    expect((await postJson(t.app, `/v1/login/${step.body.transactionId}/response`, { response: actAsDevice(dsc, step.body) })).status).toBe(200);
    for (let i = 0; i < 9; i++) expect(errorCode(await login(t.app, 'u.reset', 'bad password'))).toBe('SLS_ERR_INVALID_CREDENTIALS');
  });

  it('counts wrong second-factor responses as user failures', async () => {
    t = await startTestServer();
    const dsc = await seed('u.mixed');
    let lastCode: string | undefined;
    for (let tx = 0; tx < 4 && lastCode !== 'SLS_ERR_USER_LOCKED'; tx++) {
      const step = await login(t.app, 'u.mixed', PASSWORD);
      if (step.body.status !== 'challenge') throw new Error(`expected challenge, got ${JSON.stringify(step.body)}`);
      const right = actAsDevice(dsc, step.body);
      const wrong = right === '000000' ? '111111' : '000000';
      for (let i = 0; i < 3; i++) {
        lastCode = errorCode(await postJson(t.app, `/v1/login/${step.body.transactionId}/response`, { response: wrong }));
        if (lastCode === 'SLS_ERR_USER_LOCKED') break;
      }
    }
    // 3 + 3 + 3 wrong responses, then the tenth failure locks.
    expect(lastCode).toBe('SLS_ERR_USER_LOCKED');
    const failures = await t.services.db.selectFrom('audit_log').select('event').where('event', '=', 'login.response_failed').execute();
    expect(failures).toHaveLength(10);
  });

  it('locks unknown user names too, with the same answer, so a lockout reveals nothing', async () => {
    t = await startTestServer();
    await seed('u.exists');
    const answers = [];
    for (const name of ['u.exists', 'u.doesnotexist']) {
      for (let i = 0; i < 9; i++) await login(t.app, name, 'bad password');
      const tenth = await login(t.app, name, 'bad password');
      answers.push({ status: tenth.status, code: errorCode(tenth) });
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]).toEqual({ status: 423, code: 'SLS_ERR_USER_LOCKED' });
  });

  it('client services unlock a user (slsctl user unlock)', async () => {
    t = await startTestServer();
    await seed('u.unlock');
    for (let i = 0; i < 10; i++) await login(t.app, 'u.unlock', 'bad password');
    expect(errorCode(await login(t.app, 'u.unlock', PASSWORD))).toBe('SLS_ERR_USER_LOCKED');
    expect(await t.provisioning.unlockUser('u.unlock', 'test')).toEqual({ cleared: true, wasLocked: true });
    expect((await login(t.app, 'u.unlock', PASSWORD)).status).toBe(200);
  });
});

describe('per-address throttling (SPEC L6)', () => {
  it('refuses an address after too many failures, with retryAt, whatever user names it tries', async () => {
    t = await startTestServer({ config: { addressFailureLimit: 5, addressFailureWindowMs: 15 * 60_000 } });
    await seed('u.addr');
    for (let i = 0; i < 5; i++) await login(t.app, `someone${i}`, 'bad password');
    const r = await login(t.app, 'u.addr', PASSWORD);
    expect(r.status).toBe(429);
    expect(r.body).toMatchObject({ error: { code: 'SLS_ERR_RATE_LIMITED', retryAt: expect.any(String) } });
    t.clock.advance(15 * 60_000);
    expect((await login(t.app, 'u.addr', PASSWORD)).status).toBe(200);
  });

  it('ignores X-Forwarded-For unless trustProxy is set, so a forged header cannot dodge the limit', async () => {
    t = await startTestServer({ config: { addressFailureLimit: 3 } });
    await seed('u.xff');
    for (let i = 0; i < 3; i++) {
      await t.app.inject({
        method: 'POST',
        url: '/v1/login',
        headers: { 'x-forwarded-for': `203.0.113.${i}` },
        payload: { username: 'u.xff', password: 'bad', client: { kind: 'client_portal', version: 1 } },
      });
    }
    const r = await t.app.inject({
      method: 'POST',
      url: '/v1/login',
      headers: { 'x-forwarded-for': '198.51.100.7' },
      payload: { username: 'u.xff', password: PASSWORD, client: { kind: 'client_portal', version: 1 } },
    });
    expect(r.json()).toMatchObject({ error: { code: 'SLS_ERR_RATE_LIMITED' } });
    // A different socket peer is not affected.
    const other = await t.app.inject({
      method: 'POST',
      url: '/v1/login',
      remoteAddress: '192.0.2.10',
      payload: { username: 'u.xff', password: PASSWORD, client: { kind: 'client_portal', version: 1 } },
    });
    expect(other.statusCode).toBe(200);
  });

  it('counts per forwarded client address when the operator trusts the proxy (trustProxy)', async () => {
    t = await startTestServer({ config: { addressFailureLimit: 3, trustProxy: ['127.0.0.1'] } });
    await seed('u.proxy');
    const attempt = (xff: string, password: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/login',
        headers: { 'x-forwarded-for': xff },
        payload: { username: 'u.proxy', password, client: { kind: 'client_portal', version: 1 } },
      });
    for (let i = 0; i < 3; i++) await attempt('203.0.113.9', 'bad');
    expect((await attempt('203.0.113.9', PASSWORD)).json()).toMatchObject({ error: { code: 'SLS_ERR_RATE_LIMITED' } });
    expect((await attempt('198.51.100.7', PASSWORD)).statusCode).toBe(200);
  });
});
