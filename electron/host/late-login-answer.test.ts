// A late answer of an earlier login never becomes the current login again (SPEC L1–L5, L7, L8, C3).
//
// Each login the host starts is an attempt of its own; an answer of a step is kept only while its
// attempt is still the current one. A slow HTTP answer of an earlier login that comes back after a
// new login began (or after Cancel) used to make that earlier login the current one again: the user
// saw its screen, and the next step went to a login slsd had already cancelled. Now such an answer is
// dropped: the transaction it names is cancelled on its own server, a session it opened signed out
// there, and the login now current goes on. The fake slsd holds chosen answers back (`holdAnswers`):
// slsd has done the work, the answer is slow on its way.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LoginStepView, SessionView } from '../../core/contract/index.ts';
import { createMemoryKeychain } from '../../native/keychain.ts';
import type { Keychain } from '../../native/keychain.ts';
import { createMemorySettingsStore } from '../../native/settings.ts';
import { FAKE_PASSWORD, startFakeSlsd } from '../../tests/fixtures/fake-slsd.ts';
import type { FakeSlsd } from '../../tests/fixtures/fake-slsd.ts';
import { namingShownLogin } from '../../tests/fixtures/login-steps.ts';
import { appInfo } from './app-info.ts';
import { createHost } from './index.ts';
import { createSlsdClient } from './slsd-client.ts';

let fake: FakeSlsd;
/** SMS codes may be sent again at once here (SPEC L4's cool-down is the fake's option). */
let quick: FakeSlsd;
beforeAll(async () => {
  fake = await startFakeSlsd();
  quick = await startFakeSlsd({ resendCooldownMs: 0 });
});
afterAll(async () => {
  await fake.close();
  await quick.close();
});
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

function host(server: FakeSlsd = fake, opts: { fetch?: typeof fetch; keychain?: Keychain } = {}) {
  const settings = createMemorySettingsStore({ serverAddress: server.url });
  const logs: string[] = [];
  const h = createHost({
    settings,
    keychain: opts.keychain ?? createMemoryKeychain(),
    appInfo: appInfo('browser', '0.1.0'),
    slsd: createSlsdClient({ baseUrl: () => settings.read().serverAddress, ...(opts.fetch ? { fetch: opts.fetch } : {}) }),
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
  return { call, value, settings, logs };
}

const creds = (username: string, rememberUsername = false) => ({ username, password: FAKE_PASSWORD, rememberUsername });
const replaced = { ok: false, error: { code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS' } };
const txOf = (body: unknown) => (body as { transactionId: string }).transactionId;
const openFor = (server: FakeSlsd, username: string) => server.openSessions().filter((u) => u === username).length;

describe('the password step answers after a new login began (SPEC L1, L7, C1)', () => {
  it('the new login stays the current one; the earlier login is cancelled on slsd; the remembered name is the new one', async () => {
    const { call, value, settings, logs } = host();
    const slow = fake.holdAnswers('POST', '/v1/login');
    const first = call('login', creds('demo.ibkey', true));
    await slow.held();
    const earlier = txOf(slow.bodies()[0]);

    // The form came back (a page reload): the user logs in again, and slsd answers that one at once.
    expect(await value('login', creds('demo.gold', true))).toMatchObject({ status: 'challenge', challenge: { kind: 'gold' } });
    slow.release();
    const late = await first;

    // The earlier login's transaction, which the host learnt of only now, is ended on slsd (its IB Key push too, L7).
    await expect.poll(() => fake.cancelledLogins(), { timeout: 10_000 }).toContain(earlier);
    expect(logs).toContain('login answer of an earlier login not kept: its login is ended on slsd');
    // The user name remembered is the one of the login that is going on (C1).
    expect(settings.read().lastUsername).toBe('demo.gold');
    // The current step is the new login's: its response signs in.
    expect(await value('respond', { response: fake.expectedResponse() })).toMatchObject({ status: 'signed_in', session: { user: { username: 'demo.gold' } } });
    // Its own caller is told that login is over.
    expect(late).toMatchObject(replaced);
  });

  // The renderer cancels only a login whose step it shows (its steps name it, SPEC L6, C5): a login let
  // go of while its password is on its way is one Sign out (or Reset app data) leaves behind.
  it('after Sign out: the late answer does not bring the login back, and its transaction is cancelled on slsd', async () => {
    const { call } = host();
    const slow = fake.holdAnswers('POST', '/v1/login');
    const first = call('login', creds('demo.gold'));
    await slow.held();
    expect(await call('signOut')).toMatchObject({ ok: true });
    slow.release();
    const late = await first;
    await expect.poll(() => fake.cancelledLogins(), { timeout: 10_000 }).toContain(txOf(slow.bodies()[0]));
    expect(await call('respond', { loginId: 'login_from_before', response: fake.expectedResponse() })).toMatchObject(replaced);
    // Its own caller is told that login is over.
    expect(late).toMatchObject(replaced);
  });
});

describe('a second-factor step answers after a new login began (SPEC L2, L4, L5)', () => {
  it('a response that signed in: its session is signed out on slsd, none is held, and the new login goes on', async () => {
    const { call, value } = host();
    await value('login', creds('demo.gold'));
    const before = openFor(fake, 'demo.gold');
    const slow = fake.holdAnswers('POST', /^\/v1\/login\/[^/]+\/response$/);
    const responding = call('respond', { response: fake.expectedResponse() });
    await slow.held();
    expect(slow.bodies()[0]).toMatchObject({ status: 'signed_in' });

    expect(await value('login', creds('demo.sms'))).toMatchObject({ status: 'challenge', challenge: { type: 'sms_code' } });
    slow.release();
    const late = await responding;
    // The session slsd opened for the earlier login is not held here, and ended on slsd.
    await expect.poll(() => openFor(fake, 'demo.gold'), { timeout: 10_000 }).toBe(before);
    expect(await value<SessionView | null>('getSession')).toBeNull();
    expect(await value('respond', { response: fake.expectedResponse() })).toMatchObject({ status: 'signed_in', session: { user: { username: 'demo.sms' } } });
    // Its own caller is told that login is over.
    expect(late).toMatchObject(replaced);
  });

  it('a device chosen: the earlier login does not come back with its challenge', async () => {
    const { call, value } = host();
    expect(await value('login', creds('demo.m2fs'))).toMatchObject({ status: 'select_device' });
    const slow = fake.holdAnswers('POST', /^\/v1\/login\/[^/]+\/device$/);
    const choosing = call('selectDevice', { deviceId: 'd-scc' });
    await slow.held();
    const earlier = txOf(slow.bodies()[0]);

    expect(await value('login', creds('demo.gold'))).toMatchObject({ status: 'challenge', challenge: { kind: 'gold' } });
    slow.release();
    const late = await choosing;
    await expect.poll(() => fake.cancelledLogins(), { timeout: 10_000 }).toContain(earlier);
    expect(await value('respond', { response: fake.expectedResponse() })).toMatchObject({ status: 'signed_in', session: { user: { username: 'demo.gold' } } });
    // Its own caller is told that login is over.
    expect(late).toMatchObject(replaced);
  });

  it('a new SMS code: the earlier login does not come back with it', async () => {
    const { call, value } = host(quick);
    expect(await value('login', creds('demo.sms'))).toMatchObject({ status: 'challenge', challenge: { type: 'sms_code' } });
    const slow = quick.holdAnswers('POST', /^\/v1\/login\/[^/]+\/resend$/);
    const resending = call('resendCode');
    await slow.held();
    const earlier = txOf(slow.bodies()[0]);

    expect(await value('login', creds('demo.gold'))).toMatchObject({ status: 'challenge', challenge: { kind: 'gold' } });
    slow.release();
    const late = await resending;
    await expect.poll(() => quick.cancelledLogins(), { timeout: 10_000 }).toContain(earlier);
    expect(await value('respond', { response: quick.expectedResponse() })).toMatchObject({ status: 'signed_in', session: { user: { username: 'demo.gold' } } });
    // Its own caller is told that login is over.
    expect(late).toMatchObject(replaced);
  });
});

describe('the IB Key status answers after a new login began (SPEC L4, L7)', () => {
  it('"waiting": the earlier login\'s waiting screen is told it ended, and the new login goes on', async () => {
    const { call, value } = host();
    await value('login', creds('demo.ibkey'));
    const slow = fake.holdAnswers('GET', /^\/v1\/login\/[^/]+\/status$/);
    const waiting = call('waitForApproval', { quick: true });
    await slow.held();
    expect(slow.bodies()[0]).toMatchObject({ status: 'waiting' });

    expect(await value('login', creds('demo.gold'))).toMatchObject({ status: 'challenge', challenge: { kind: 'gold' } });
    slow.release();
    const late = await waiting;
    expect(await value('respond', { response: fake.expectedResponse() })).toMatchObject({ status: 'signed_in', session: { user: { username: 'demo.gold' } } });
    // Its own caller is told that login is over; not "waiting", which would keep the earlier screen
    // asking (and its next poll would be about the new login).
    expect(late).toMatchObject(replaced);
  });

  it('approved on the phone: that session is signed out on slsd, none is held, and the new login goes on', async () => {
    const { call, value } = host();
    await value('login', creds('demo.ibkey'));
    const before = openFor(fake, 'demo.ibkey');
    fake.answerPush('approved');
    const slow = fake.holdAnswers('GET', /^\/v1\/login\/[^/]+\/status$/);
    const waiting = call('waitForApproval', { quick: true });
    await slow.held();
    expect(slow.bodies()[0]).toMatchObject({ status: 'signed_in' });

    expect(await value('login', creds('demo.gold'))).toMatchObject({ status: 'challenge' });
    slow.release();
    const late = await waiting;
    await expect.poll(() => openFor(fake, 'demo.ibkey'), { timeout: 10_000 }).toBe(before);
    expect(await value<SessionView | null>('getSession')).toBeNull();
    expect(await value('respond', { response: fake.expectedResponse() })).toMatchObject({ status: 'signed_in', session: { user: { username: 'demo.gold' } } });
    // Its own caller is told that login is over.
    expect(late).toMatchObject(replaced);
  });
});

describe('an auto-restart answers after a login began (SPEC L8, L6)', () => {
  const validUntil = new Date(Date.now() + 86_400_000).toISOString();
  const restartedToken = 'restarted-session-token-0123456789';

  /** The fake slsd has no restart route: this one answers it (when let go) and notes sign-outs of its session. */
  function restartingSlsd() {
    let letGo!: () => void;
    const gate = new Promise<void>((r) => (letGo = r));
    let asked!: () => void;
    const restartAsked = new Promise<void>((r) => (asked = r));
    const restarts: string[] = [];
    const signedOut: string[] = [];
    const restarting: typeof fetch = async (input, init) => {
      const path = new URL(String(input)).pathname;
      if (path === '/v1/login/restart') {
        restarts.push(String(init?.body));
        asked();
        await gate;
        const session = {
          token: restartedToken,
          expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
          user: { id: 'u-demo.gold', username: 'demo.gold', displayName: 'Gary Gold' },
          account: null,
          authenticatedWith: null,
          clientKind: 'trading_platform',
          access: 'full',
          restrictions: [],
          restrictionDetails: [],
        };
        return Response.json({ restartToken: 'next-restart-token-0123456789', validUntil, session });
      }
      if (path === '/v1/logout' && new Headers(init?.headers).get('authorization') === `Bearer ${restartedToken}`) {
        signedOut.push(restartedToken);
        return Response.json({ ok: true });
      }
      return fetch(input, init);
    };
    return { fetch: restarting, letGo, restartAsked, restarts, signedOut };
  }

  async function keychainWithToken() {
    const keychain = createMemoryKeychain();
    const account = `restart-token:${fake.url}`;
    await keychain.set(account, JSON.stringify({ username: 'demo.gold', restartToken: 'spent-restart-token-0123456789', validUntil }));
    return { keychain, account };
  }

  it('the session of the full login stays; the restarted one is signed out on slsd and its spent token leaves the keychain', async () => {
    const stub = restartingSlsd();
    const { keychain, account } = await keychainWithToken();
    const { call, value } = host(fake, { fetch: stub.fetch, keychain });

    // The app starts: the restart is on its way; the login form comes back meanwhile and the user logs in.
    const starting = call('getSession');
    await stub.restartAsked;
    await value('login', creds('demo.gold'));
    expect(await value('respond', { response: fake.expectedResponse() })).toMatchObject({ status: 'signed_in', session: { authenticatedWith: { kind: 'gold' } } });
    stub.letGo();

    // The answer of the start is the session there is: the full login's, not the restarted one.
    const late = await starting;
    expect(await value<SessionView | null>('getSession')).toMatchObject({ authenticatedWith: { kind: 'gold' } });
    expect(late).toMatchObject({ ok: true, value: { authenticatedWith: { kind: 'gold' } } });
    await expect.poll(() => stub.signedOut, { timeout: 10_000 }).toHaveLength(1);
    // The spent token would be refused at the next start, and a refused token counts as a failure (L6).
    expect(await keychain.get(account)).toBeNull();
  });

  it('two starts at once (a page reload): the token is sent once, and both get the restarted session', async () => {
    const stub = restartingSlsd();
    const { keychain, account } = await keychainWithToken();
    const { call } = host(fake, { fetch: stub.fetch, keychain });
    const first = call('getSession');
    await stub.restartAsked;
    const second = call('getSession');
    await new Promise((r) => setTimeout(r, 50));
    stub.letGo();
    const restarted = { ok: true, value: { user: { username: 'demo.gold' }, authenticatedWith: null } };
    expect(await first).toMatchObject(restarted);
    expect(await second).toMatchObject(restarted);
    expect(stub.restarts).toHaveLength(1);
    expect(stub.signedOut).toEqual([]);
    expect(JSON.parse((await keychain.get(account))!)).toMatchObject({ restartToken: 'next-restart-token-0123456789' });
  });
});
