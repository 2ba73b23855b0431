// A login lives on the server it began on (SPEC C3, L7): choosing another server address while a login
// is in progress (password accepted, second factor pending, no session yet) ends that login on its own
// server, and its next step answers SLS_ERR_NO_LOGIN_IN_PROGRESS (the renderer returns to the login
// form) instead of going to the new server with the old one's transaction id. An answer of the old
// server that arrives after the change (a response, an approval, a password) is not kept: a session it
// opened is signed out there, and none of its tokens ever goes to the new server.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LoginStepView } from '../../core/contract/index.ts';
import { createMemoryKeychain } from '../../native/keychain.ts';
import { createMemorySettingsStore } from '../../native/settings.ts';
import { FAKE_PASSWORD, startFakeSlsd } from '../../tests/fixtures/fake-slsd.ts';
import type { FakeSlsd } from '../../tests/fixtures/fake-slsd.ts';
import { namingShownLogin } from '../../tests/fixtures/login-steps.ts';
import { appInfo } from './app-info.ts';
import { createHost } from './index.ts';
import { createSlsdClient } from './slsd-client.ts';

let oldServer: FakeSlsd;
let newServer: FakeSlsd;
beforeAll(async () => {
  oldServer = await startFakeSlsd();
  newServer = await startFakeSlsd();
});
afterAll(async () => {
  await oldServer.close();
  await newServer.close();
});

/** Another server that records what it is sent (on this computer, so the address is allowed) and knows no login. */
async function recordingServer(): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const s = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} authorization=${req.headers.authorization ?? 'none'}`);
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"SLS_ERR_TRANSACTION_NOT_FOUND","message":"No such login"}}');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((r) => s.close(() => r())) };
}
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/**
 * A host on the old server. `hold(path)` makes the next request whose path ends so wait (after slsd has
 * answered) until `release()`: the user changes the server while that answer is on its way.
 */
function host() {
  const settings = createMemorySettingsStore({ serverAddress: oldServer.url });
  const requests: string[] = [];
  let held: { suffix: string; gate: Promise<void>; reached: () => void } | null = null;
  let release: () => void = () => {};
  const gatedFetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const auth = new Headers(init?.headers).get('authorization');
    requests.push(`${init?.method ?? 'GET'} ${url.origin}${url.pathname}${auth ? ' with a bearer token' : ''}`);
    const res = await fetch(input, init);
    const h = held;
    if (h && url.pathname.endsWith(h.suffix)) {
      held = null;
      h.reached();
      await h.gate;
    }
    return res;
  };
  const logs: string[] = [];
  const h = createHost({
    settings,
    keychain: createMemoryKeychain(),
    appInfo: appInfo('browser', '0.1.0'),
    slsd: createSlsdClient({ baseUrl: () => settings.read().serverAddress, fetch: gatedFetch }),
    log: (l) => logs.push(l),
  });
  closers.push(() => h.close());
  // The login's steps name the login shown, as the renderer's do (SPEC L6, C5).
  const dispatch = namingShownLogin(h.dispatch);
  const call = (name: string, input?: unknown) => dispatch(name, input);
  const value = async <T = LoginStepView>(name: string, input?: unknown): Promise<T> => {
    const r = await call(name, input);
    if (!r.ok) throw new Error(`${name} failed: ${r.error.code}`);
    return r.value as T;
  };
  /** Holds the answer of the next request to a path ending with `suffix`; resolves once it has arrived. */
  const hold = (suffix: string): Promise<void> =>
    new Promise<void>((reached) => {
      const gate = new Promise<void>((r) => (release = r));
      held = { suffix, gate, reached };
    });
  return { h, call, value, settings, requests, logs, hold, release: () => release() };
}

/** Requests that went to `url`. */
const to = (requests: string[], url: string) => requests.filter((r) => r.split(' ')[1]!.startsWith(url));

describe('choosing another server while a login is in progress (SPEC C3, L7)', () => {
  it('ends the login on the server it began on, sends nothing of it to the new one, and its next step answers SLS_ERR_NO_LOGIN_IN_PROGRESS', async () => {
    const other = await recordingServer();
    closers.push(other.close);
    const { call, value, settings, requests } = host();
    const step = await value('login', { username: 'demo.m2fs', password: FAKE_PASSWORD, rememberUsername: false });
    expect(step.status).toBe('select_device');
    const cancelledBefore = oldServer.cancelledLogins().length;

    // The change itself is accepted: the login form saves a new address just before it logs in.
    expect(await value('setSettings', { serverAddress: other.url })).toMatchObject({ serverAddress: other.url });
    expect(settings.read().serverAddress).toBe(other.url);
    // The login is ended on its own server (an IB Key push left on the phone signs no one in).
    await expect.poll(() => oldServer.cancelledLogins().length, { timeout: 10_000 }).toBe(cancelledBefore + 1);

    for (const [name, input] of [
      ['selectDevice', { deviceId: 'd-sms' }],
      ['respond', { response: '123456' }],
      ['resendCode', {}],
      ['waitForApproval', { quick: true }],
    ] as const) {
      expect(await call(name, input), name).toMatchObject({ ok: false, error: { code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS' } });
    }
    expect(other.seen).toEqual([]);
    expect(to(requests, other.url)).toEqual([]);
  });

  it('lets the user log in on the new server at once, and the old login stays ended there', async () => {
    const { value, call } = host();
    await value('login', { username: 'demo.m2fs', password: FAKE_PASSWORD, rememberUsername: false });
    await value('setSettings', { serverAddress: newServer.url });
    const step = await value('login', { username: 'demo.gold', password: FAKE_PASSWORD, rememberUsername: false });
    expect(step).toMatchObject({ status: 'challenge', challenge: { kind: 'gold' } });
    expect(await value('respond', { response: newServer.expectedResponse() })).toMatchObject({ status: 'signed_in' });
    expect(await call('getSession')).toMatchObject({ ok: true, value: { user: { username: 'demo.gold' } } });
  });

  it('the same address again, or other settings, leave the login as it is', async () => {
    const { value } = host();
    await value('login', { username: 'demo.m2fs', password: FAKE_PASSWORD, rememberUsername: false });
    const cancelledBefore = oldServer.cancelledLogins().length;
    await value('setSettings', { serverAddress: oldServer.url, theme: 'light' });
    await value('setSettings', { language: 'de' });
    expect(await value('selectDevice', { deviceId: 'd-sms' })).toMatchObject({ status: 'challenge', challenge: { type: 'sms_code' } });
    expect(oldServer.cancelledLogins().length).toBe(cancelledBefore);
  });

  it('a response the old server accepts after the change opens no session here: it is signed out there, and no token goes to the new server', async () => {
    const other = await recordingServer();
    closers.push(other.close);
    const { call, value, requests, hold, release } = host();
    await value('login', { username: 'demo.gold', password: FAKE_PASSWORD, rememberUsername: false });
    const arrived = hold('/response');
    const responding = call('respond', { response: oldServer.expectedResponse() });
    await arrived;
    await value('setSettings', { serverAddress: other.url });
    release();
    expect(await responding).toMatchObject({ ok: false, error: { code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS' } });
    // The session the old server opened is ended there, with its token; the new server gets nothing.
    await expect.poll(() => to(requests, oldServer.url).filter((r) => r.startsWith('POST') && r.includes('/v1/logout with a bearer token')).length, { timeout: 10_000 }).toBe(1);
    expect(await call('getSession')).toEqual({ ok: true, value: null });
    expect(await call('getDevices')).toMatchObject({ ok: false, error: { code: 'SLS_ERR_UNAUTHENTICATED' } });
    expect(other.seen).toEqual([]);
  });

  it('an IB Key approval that arrives after the change is signed out on the old server, not kept', async () => {
    const other = await recordingServer();
    closers.push(other.close);
    const { call, value, requests, hold, release } = host();
    await value('login', { username: 'demo.ibkey', password: FAKE_PASSWORD, rememberUsername: false });
    const arrived = hold('/status');
    oldServer.answerPush('approved');
    const waiting = call('waitForApproval', { quick: true });
    await arrived;
    await value('setSettings', { serverAddress: other.url });
    release();
    expect(await waiting).toMatchObject({ ok: false, error: { code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS' } });
    await expect.poll(() => to(requests, oldServer.url).filter((r) => r.includes('/v1/logout with a bearer token')).length, { timeout: 10_000 }).toBe(1);
    expect(await call('getSession')).toEqual({ ok: true, value: null });
    expect(other.seen).toEqual([]);
  });

  it("a password the old server accepts after the change starts no login here: it is ended there, and the form can say so", async () => {
    const other = await recordingServer();
    closers.push(other.close);
    const { call, value, hold, release } = host();
    const cancelledBefore = oldServer.cancelledLogins().length;
    const arrived = hold('/v1/login');
    const loggingIn = call('login', { username: 'demo.m2fs', password: FAKE_PASSWORD, rememberUsername: true });
    await arrived;
    await value('setSettings', { serverAddress: other.url });
    release();
    expect(await loggingIn).toMatchObject({ ok: false, error: { code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS' } });
    await expect.poll(() => oldServer.cancelledLogins().length, { timeout: 10_000 }).toBe(cancelledBefore + 1);
    // No step of it was shown: whatever login a step names, none is in progress (SPEC L6, C5).
    expect(await call('selectDevice', { loginId: 'login_never_shown', deviceId: 'd-sms' })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS' } });
    expect(other.seen).toEqual([]);
  });
});
