import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoginStepView } from '../../core/contract/index.ts';
import { createMemoryKeychain } from '../../native/keychain.ts';
import { createMemorySettingsStore } from '../../native/settings.ts';
import type { SettingsStore } from '../../native/settings.ts';
import { FAKE_PASSWORD, startFakeSlsd } from '../../tests/fixtures/fake-slsd.ts';
import { namingShownLogin } from '../../tests/fixtures/login-steps.ts';
import type { FakeSlsd } from '../../tests/fixtures/fake-slsd.ts';
import { appInfo } from './app-info.ts';
import { createHost } from './index.ts';
import { createSlsdClient } from './slsd-client.ts';

let fake: FakeSlsd;
beforeAll(async () => {
  fake = await startFakeSlsd({ resendCooldownMs: 60_000 });
});
afterAll(() => fake.close());

function host(settings: SettingsStore = createMemorySettingsStore({ serverAddress: fake.url }), keychain = createMemoryKeychain()) {
  const logs: string[] = [];
  const h = createHost({ settings, keychain, appInfo: appInfo('browser', '0.1.0'), log: (l) => logs.push(l) });
  // The login's steps name the login shown, as the renderer's do (SPEC L6, C5).
  const dispatch = namingShownLogin(h.dispatch);
  const call = async (name: string, input?: unknown) => dispatch(name, input);
  const value = async <T = LoginStepView>(name: string, input?: unknown): Promise<T> => {
    const r = await call(name, input);
    if (!r.ok) throw new Error(`${name} failed: ${r.error.code}`);
    return r.value as T;
  };
  return { h, call, value, logs, settings, keychain };
}

describe('contract dispatcher (SPEC C3)', () => {
  it('refuses an unknown call', async () => {
    const { call } = host();
    expect(await call('readFile', { path: '/etc/passwd' })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_INVALID_INPUT' } });
  });

  it('refuses input that does not match the schema, naming the field but never echoing the value', async () => {
    const { call } = host();
    const r = await call('login', { username: 'demo.gold', password: 'x'.repeat(300), rememberUsername: true });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('SLS_ERR_INVALID_INPUT');
    expect(r.error.issues?.[0]?.path).toBe('password');
    expect(JSON.stringify(r)).not.toContain('xxxxxxxx');
  });

  it('refuses extra keys, so a renderer cannot smuggle a transaction id or a server address into login', async () => {
    const { call } = host();
    const r = await call('login', { username: 'a', password: 'b', rememberUsername: false, serverAddress: 'http://evil' });
    expect(r).toMatchObject({ ok: false, error: { code: 'SLS_ERR_INVALID_INPUT' } });
  });
});

describe('login through the host (SPEC L1–L6)', () => {
  it('one generic error for a wrong password (L1)', async () => {
    const { call } = host();
    const r = await call('login', { username: 'demo.gold', password: 'nope', rememberUsername: true });
    expect(r).toMatchObject({ ok: false, error: { code: 'SLS_ERR_INVALID_CREDENTIALS' } });
  });

  it('goes straight to the challenge with one device, signs in with the right response, and never hands out the token', async () => {
    const { value, call, logs } = host();
    const step = await value('login', { username: 'demo.gold', password: FAKE_PASSWORD, rememberUsername: true });
    expect(step.status).toBe('challenge');
    if (step.status !== 'challenge') return;
    expect(step.challenge).toMatchObject({ type: 'response_code', kind: 'gold', responseLength: 8 });
    expect(JSON.stringify(step)).not.toMatch(/transactionId/);
    const done = await value('respond', { response: fake.expectedResponse() });
    expect(done.status).toBe('signed_in');
    expect(JSON.stringify(done)).not.toMatch(/token/i);
    const session = await call('getSession');
    expect(session).toMatchObject({ ok: true, value: { user: { username: 'demo.gold' } } });
    expect(JSON.stringify(session)).not.toMatch(/token/i);
    expect(logs.join('\n')).not.toContain(FAKE_PASSWORD);
  });

  it('shows Select Second Factor Device with several devices and preselects the one last used on this computer (L2)', async () => {
    const settings = createMemorySettingsStore({ serverAddress: fake.url, lastDeviceByUser: { 'demo.m2fs': 'd-scc' } });
    const { value } = host(settings);
    const step = await value('login', { username: 'demo.m2fs', password: FAKE_PASSWORD, rememberUsername: true });
    expect(step).toMatchObject({ status: 'select_device', preselectedDeviceId: 'd-scc' });
    if (step.status !== 'select_device') return;
    expect(step.devices.map((d) => d.kind)).toEqual(['dscplus', 'ibkey', 'scc', 'sms']);
    expect(step.devices.every((d) => d.connected === false)).toBe(true);
  });

  it('switches device mid-login without starting over (L5) and remembers the device that signed in', async () => {
    const { value, settings } = host();
    await value('login', { username: 'demo.m2fs', password: FAKE_PASSWORD, rememberUsername: true });
    const sms = await value('selectDevice', { deviceId: 'd-sms' });
    expect(sms).toMatchObject({ status: 'challenge', challenge: { type: 'sms_code', maskedNumber: '+1 ••• ••• ••12' } });
    const push = await value('selectDevice', { deviceId: 'd-ibkey' });
    expect(push).toMatchObject({ challenge: { type: 'push' } });
    const offline = await value('selectDevice', { deviceId: 'd-ibkey', mode: 'offline' });
    expect(offline).toMatchObject({ challenge: { type: 'response_code', kind: 'ibkey' } });
    const done = await value('respond', { response: fake.expectedResponse() });
    expect(done.status).toBe('signed_in');
    expect(settings.read().lastDeviceByUser['demo.m2fs']).toBe('d-ibkey');
  });

  it('counts wrong responses down and ends the login after three (L6)', async () => {
    const { value, call } = host();
    await value('login', { username: 'demo.dsc', password: FAKE_PASSWORD, rememberUsername: true });
    expect(await call('respond', { response: '000000x' })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_WRONG_RESPONSE', attemptsLeft: 2 } });
    expect(await call('respond', { response: '000000x' })).toMatchObject({ ok: false, error: { attemptsLeft: 1 } });
    expect(await call('respond', { response: '000000x' })).toMatchObject({ ok: false, error: { attemptsLeft: 0 } });
    expect(await call('respond', { response: fake.expectedResponse() })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS' } });
  });

  it('passes the lock end time through for the lockout message (L6)', async () => {
    const until = new Date(Date.now() + 3_600_000);
    fake.lockUser('demo.platinum', until);
    const { call } = host();
    const r = await call('login', { username: 'demo.platinum', password: FAKE_PASSWORD, rememberUsername: true });
    expect(r).toMatchObject({ ok: false, error: { code: 'SLS_ERR_USER_LOCKED', lockedUntil: until.toISOString() } });
    fake.lockUser('demo.platinum', new Date(0));
  });

  it('refuses a resend during the cool-down with the time it becomes possible (L4)', async () => {
    const { value, call } = host();
    await value('login', { username: 'demo.sms', password: FAKE_PASSWORD, rememberUsername: true });
    const r = await call('resendCode');
    expect(r).toMatchObject({ ok: false, error: { code: 'SLS_ERR_RESEND_TOO_SOON' } });
    if (!r.ok) expect(Date.parse(r.error.retryAt!)).toBeGreaterThan(Date.now());
  });

  it('says the server cannot be reached, that a non-SLS server is not one, and that a proxy\'s 502/503/504 page means try again shortly', async () => {
    let status = 200;
    const other = createServer((_q, s) => {
      s.writeHead(status, { 'content-type': 'text/html' });
      s.end('<html>proxy</html>');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const port = (other.address() as AddressInfo).port;
    try {
      const a = host(createMemorySettingsStore({ serverAddress: 'http://127.0.0.1:1' }));
      expect(await a.call('login', { username: 'x', password: 'y', rememberUsername: false })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_SERVER_UNREACHABLE' } });
      const b = host(createMemorySettingsStore({ serverAddress: `http://127.0.0.1:${port}` }));
      expect(await b.call('login', { username: 'x', password: 'y', rememberUsername: false })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_BAD_SERVER_RESPONSE' } });
      for (const proxyStatus of [502, 503, 504, 500]) {
        status = proxyStatus;
        expect(await b.call('login', { username: 'x', password: 'y', rememberUsername: false })).toMatchObject({
          ok: false,
          error: { code: proxyStatus === 500 ? 'SLS_ERR_BAD_SERVER_RESPONSE' : 'SLS_ERR_SERVICE_UNAVAILABLE' },
        });
      }
    } finally {
      other.close();
    }
  });
});

describe('IB Key approval long-poll (SPEC L4, L7)', () => {
  it('signs in when the phone approves, remembering IB Key as the last device', async () => {
    const { value, settings } = host();
    const step = await value('login', { username: 'demo.ibkey', password: FAKE_PASSWORD, rememberUsername: true });
    expect(step).toMatchObject({ status: 'challenge', challenge: { type: 'push' } });
    const pending = value<{ status: string }>('waitForApproval');
    setTimeout(() => fake.answerPush('approved'), 100);
    expect(await pending).toMatchObject({ status: 'signed_in', session: { authenticatedWith: { kind: 'ibkey' } } });
    expect(settings.read().lastDeviceByUser['demo.ibkey']).toBe('i1');
  });

  it('L7, C5: Cancel ends the login on slsd too: the waiting long-poll ends, and no session is held', async () => {
    const { value, call } = host();
    await value('login', { username: 'demo.ibkey', password: FAKE_PASSWORD, rememberUsername: true });
    const pending = call('waitForApproval');
    await new Promise((r) => setTimeout(r, 100));
    const before = fake.cancelledLogins().length;
    expect(await call('cancelLogin')).toEqual({ ok: true, value: { ok: true } });
    await expect.poll(() => fake.cancelledLogins().length, { timeout: 10_000 }).toBe(before + 1);
    expect(await pending).toMatchObject({ ok: false, error: { code: 'SLS_ERR_TRANSACTION_ENDED' } });
    // An approval on the phone now finds nothing to sign in.
    fake.answerPush('approved');
    expect(await call('getSession')).toEqual({ ok: true, value: null });
  });

  it('turns a denial into SLS_ERR_PUSH_DENIED and ends the login', async () => {
    const { value, call } = host();
    await value('login', { username: 'demo.ibkey', password: FAKE_PASSWORD, rememberUsername: true });
    fake.answerPush('denied');
    expect(await call('waitForApproval')).toMatchObject({ ok: false, error: { code: 'SLS_ERR_PUSH_DENIED' } });
    expect(await call('selectDevice', { deviceId: 'i1', mode: 'offline' })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS' } });
  });
});

describe('settings and Reset app data (SPEC C1, C3, C4)', () => {
  it('remembers the user name only while the box is ticked', async () => {
    const { value, settings } = host();
    await value('login', { username: 'demo.gold', password: FAKE_PASSWORD, rememberUsername: true });
    expect((await value<{ lastUsername: string | null }>('getSettings')).lastUsername).toBe('demo.gold');
    await value('login', { username: 'demo.dsc', password: FAKE_PASSWORD, rememberUsername: false });
    expect((await value<{ lastUsername: string | null }>('getSettings')).lastUsername).toBeNull();
    expect(settings.read().lastUsername).toBeNull();
  });

  it('does not replace the remembered name when the password is wrong', async () => {
    const { value, call } = host();
    await value('login', { username: 'demo.gold', password: FAKE_PASSWORD, rememberUsername: true });
    await call('login', { username: 'demo.typo', password: 'bad', rememberUsername: true });
    expect((await value<{ lastUsername: string | null }>('getSettings')).lastUsername).toBe('demo.gold');
  });

  it('normalizes a bare host name to https and refuses an address with a path or script', async () => {
    const { value, call } = host();
    expect(await value('setSettings', { serverAddress: 'sls.example.com' })).toMatchObject({ serverAddress: 'https://sls.example.com' });
    expect(await call('setSettings', { serverAddress: 'javascript:alert(1)' })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_INVALID_INPUT' } });
  });

  it('C1, C3: a typed address in plain http to another computer is refused and nothing is saved; http to this computer is kept', async () => {
    const { value, call, settings } = host();
    const before = settings.read().serverAddress;
    for (const typed of ['http://sls.example.com', 'http://10.0.0.5:8700', 'http://sls.example.com/']) {
      expect(await call('setSettings', { serverAddress: typed })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_SERVER_ADDRESS_INSECURE' } });
      expect(settings.read().serverAddress).toBe(before);
    }
    expect(await value('setSettings', { serverAddress: 'http://127.0.0.1:7860' })).toMatchObject({ serverAddress: 'http://127.0.0.1:7860' });
    expect(await value('setSettings', { serverAddress: 'http://localhost:7860' })).toMatchObject({ serverAddress: 'http://localhost:7860' });
    expect(await value('setSettings', { serverAddress: 'https://sls.example.com' })).toMatchObject({ serverAddress: 'https://sls.example.com' });
  });

  it('C3: a settings file that already holds a plain-http remote address sends nothing to it: the login is refused with the code', async () => {
    const { call } = host(createMemorySettingsStore({ serverAddress: 'http://sls.example.com' }));
    expect(await call('login', { username: 'demo.gold', password: FAKE_PASSWORD, rememberUsername: false })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_SERVER_ADDRESS_INSECURE' } });
  });

  it('C3: while signed in, the server address cannot be changed, so the session token never goes to another server', async () => {
    // Another server (a compromised renderer's choice), on this computer so the address is allowed: it records what it is sent.
    const seen: string[] = [];
    const other = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} authorization=${req.headers.authorization ?? 'none'}`);
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"SLS_ERR_NOT_FOUND","message":"no"}}');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    try {
      const { value, call, settings } = host();
      await value('login', { username: 'demo.gold', password: FAKE_PASSWORD, rememberUsername: false });
      await value('respond', { response: fake.expectedResponse() });
      const r = await call('setSettings', { serverAddress: otherUrl });
      // Its own code, not SLS_ERR_INVALID_INPUT: the address is valid, and the window must not say it is not (C5).
      expect(r).toEqual({ ok: false, error: { code: 'SLS_ERR_SIGN_OUT_FIRST', message: 'Sign out before choosing another server.' } });
      expect(settings.read().serverAddress).toBe(fake.url);
      await call('getSession');
      await call('getDevices');
      expect(seen).toEqual([]);
      // The same address again, or other settings, are fine.
      expect(await value('setSettings', { serverAddress: fake.url, theme: 'light' })).toMatchObject({ serverAddress: fake.url, theme: 'light' });
      await value('signOut');
      expect(seen).toEqual([]);
      // Signed out: the user may choose another server.
      expect(await value('setSettings', { serverAddress: otherUrl })).toMatchObject({ serverAddress: otherUrl });
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
    }
  });

  it("C3: an id of '.' or '..' is refused, so the renderer cannot steer the session's token to another slsd route", async () => {
    const urls: string[] = [];
    const recording: typeof fetch = async (input, init) => {
      urls.push(new URL(String(input)).pathname);
      return fetch(input, init);
    };
    const settings = createMemorySettingsStore({ serverAddress: fake.url });
    const h = createHost({ settings, keychain: createMemoryKeychain(), appInfo: appInfo('browser', '0.1.0'), slsd: createSlsdClient({ baseUrl: () => fake.url, fetch: recording }) });
    const step = await h.dispatch('login', { username: 'demo.gold', password: FAKE_PASSWORD, rememberUsername: false });
    if (!step.ok || (step.value as LoginStepView).status !== 'challenge') throw new Error(JSON.stringify(step));
    expect(await h.dispatch('respond', { loginId: (step.value as Extract<LoginStepView, { status: 'challenge' }>).loginId, response: fake.expectedResponse() })).toMatchObject({ ok: true });
    urls.length = 0;
    const calls: [string, Record<string, unknown>][] = [
      ['returnDevice', { deviceId: '..' }],
      ['reportDevice', { deviceId: '..', reason: 'lost', replace: false }],
      ['cancelDeviceOrder', { orderId: '..' }],
      ['submitSharing', { requestId: '..' }],
      ['cancelSharing', { requestId: '.' }],
      ['answerSharing', { requestId: '..', confirmationId: 'c', response: '123456' }],
      ['completeDeviceActivation', { confirmationId: '..', response: '123456' }],
      // Not an id slsd gives (letters, digits, _ and -): refused by the contract itself.
      ['returnDevice', { deviceId: 'dev_1/../../v1/logout' }],
      ['reportDevice', { deviceId: 'dev 1', reason: 'lost', replace: false }],
    ];
    for (const [name, input] of calls) {
      expect(await h.dispatch(name, input), name).toMatchObject({ ok: false, error: { code: 'SLS_ERR_INVALID_INPUT' } });
    }
    expect(urls).toEqual([]);
    await h.close();
  });

  it('keeps the language chosen in the More menu, back to the system language with null, and refuses others (UI.md)', async () => {
    const { value, call } = host();
    expect(await value('getSettings')).toMatchObject({ language: null });
    expect(await value('setSettings', { language: 'de' })).toMatchObject({ language: 'de' });
    expect(await value('getSettings')).toMatchObject({ language: 'de' });
    expect(await call('setSettings', { language: 'xx' })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_INVALID_INPUT' } });
    expect(await value('getSettings')).toMatchObject({ language: 'de' });
    expect(await value('setSettings', { language: null })).toMatchObject({ language: null });
  });

  it('Reset app data clears settings, the session and every keychain entry', async () => {
    const keychain = createMemoryKeychain();
    await keychain.set('restart-token:demo.gold', 'secret');
    const settings = createMemorySettingsStore({ serverAddress: fake.url, theme: 'light' });
    const { value } = host(settings, keychain);
    await value('login', { username: 'demo.gold', password: FAKE_PASSWORD, rememberUsername: true });
    await value('respond', { response: fake.expectedResponse() });
    const r = await value('resetAppData');
    expect(r).toEqual({ settingsCleared: true, keychainAvailable: true, keychainEntriesRemoved: 1 });
    expect(await keychain.accounts()).toEqual([]);
    expect(settings.read()).toMatchObject({ theme: 'dark', lastUsername: null, lastDeviceByUser: {} });
    expect(await value('getSession')).toBeNull();
  });

  it('signOut ends the session and tells the renderer', async () => {
    const { h, value } = host();
    const seen: string[] = [];
    h.events.subscribe((e, p) => seen.push(`${e}:${JSON.stringify(p)}`));
    await value('login', { username: 'demo.gold', password: FAKE_PASSWORD, rememberUsername: true });
    await value('respond', { response: fake.expectedResponse() });
    await value('signOut');
    expect(seen).toEqual(['sessionEnded:{"reason":"signed_out"}']);
    expect(await value('getSession')).toBeNull();
  });
});

describe("the login's own time limit on this computer's clock (SPEC L2–L5, C5)", () => {
  /** slsd answers through fetch with its Date header `behindMs` behind this computer's clock (one of the two is off). */
  function clockOff(behindMs: number): typeof fetch {
    return async (input, init) => {
      const res = await fetch(input, init);
      const headers = new Headers(res.headers);
      headers.set('date', new Date(Date.now() - behindMs).toUTCString());
      return new Response(await res.text(), { status: res.status, headers });
    };
  }

  it("moves the login's expiry by the difference of the two clocks, so a screen left open ends when slsd ends the login, not minutes early or late", async () => {
    const settings = createMemorySettingsStore({ serverAddress: fake.url });
    const h = createHost({ settings, keychain: createMemoryKeychain(), appInfo: appInfo('browser', '0.1.0'), slsd: createSlsdClient({ baseUrl: () => fake.url, fetch: clockOff(10 * 60_000) }) });
    const before = Date.now();
    const r = await h.dispatch('login', { username: 'demo.m2fs', password: FAKE_PASSWORD, rememberUsername: false });
    if (!r.ok) throw new Error(r.error.code);
    const step = r.value as LoginStepView;
    if (step.status !== 'select_device') throw new Error(step.status);
    // The fake gives 5 minutes by its clock, 10 minutes behind ours: 15 minutes from now by ours (the header has whole seconds).
    const left = Date.parse(step.expiresAt) - before;
    expect(left).toBeGreaterThan(15 * 60_000 - 2_000);
    expect(left).toBeLessThan(15 * 60_000 + 2_000);
  });

  it("moves the challenge's own countdowns too: the IB Key push's minute and the SMS code's life and resend wait (SPEC L4, L7)", async () => {
    const settings = createMemorySettingsStore({ serverAddress: fake.url });
    const h = createHost({ settings, keychain: createMemoryKeychain(), appInfo: appInfo('browser', '0.1.0'), slsd: createSlsdClient({ baseUrl: () => fake.url, fetch: clockOff(10 * 60_000) }) });
    const fromNow = (iso: string, before: number) => Date.parse(iso) - before;
    const near = (ms: number, expected: number) => {
      expect(ms).toBeGreaterThan(expected - 2_000);
      expect(ms).toBeLessThan(expected + 2_000);
    };
    let before = Date.now();
    const push = await h.dispatch('login', { username: 'demo.ibkey', password: FAKE_PASSWORD, rememberUsername: false });
    if (!push.ok) throw new Error(push.error.code);
    const pushStep = push.value as LoginStepView;
    if (pushStep.status !== 'challenge' || pushStep.challenge.type !== 'push') throw new Error(JSON.stringify(pushStep));
    // 60 s by slsd's clock, 10 minutes behind ours.
    near(fromNow(pushStep.challenge.expiresAt, before), 10 * 60_000 + 60_000);
    const waiting = await h.dispatch('waitForApproval', { loginId: pushStep.loginId, quick: true });
    if (!waiting.ok) throw new Error(waiting.error.code);
    const w = waiting.value as { status: string; pushExpiresAt?: string };
    expect(w.status).toBe('waiting');
    near(fromNow(w.pushExpiresAt!, before), 10 * 60_000 + 60_000);

    before = Date.now();
    const sms = await h.dispatch('login', { username: 'demo.sms', password: FAKE_PASSWORD, rememberUsername: false });
    if (!sms.ok) throw new Error(sms.error.code);
    const smsStep = sms.value as LoginStepView;
    if (smsStep.status !== 'challenge' || smsStep.challenge.type !== 'sms_code') throw new Error(JSON.stringify(smsStep));
    near(fromNow(smsStep.challenge.expiresAt, before), 10 * 60_000 + 60_000);
    near(fromNow(smsStep.challenge.resendAvailableAt, before), 10 * 60_000 + 60_000); // this fake waits 60 s
  });

  it('leaves it as slsd said when the two clocks agree (within the header\'s second)', async () => {
    const settings = createMemorySettingsStore({ serverAddress: fake.url });
    const h = createHost({ settings, keychain: createMemoryKeychain(), appInfo: appInfo('browser', '0.1.0'), slsd: createSlsdClient({ baseUrl: () => fake.url, fetch: clockOff(0) }) });
    const before = Date.now();
    const r = await h.dispatch('login', { username: 'demo.gold', password: FAKE_PASSWORD, rememberUsername: false });
    if (!r.ok) throw new Error(r.error.code);
    const left = Date.parse((r.value as Extract<LoginStepView, { status: 'challenge' }>).expiresAt) - before;
    expect(left).toBeGreaterThan(5 * 60_000 - 2_000);
    expect(left).toBeLessThan(5 * 60_000 + 2_000);
  });
});
