// What the signed-in screen learns of auto-restart (SPEC L8, C3; UI.md 7; UI audit #13): the session
// view says on until the weekly cut-off (Sunday 01:00 New York time) or off and why — no keychain on
// this computer, a keychain that refused the token, not for this login, not set up in time, revoked on slsd while signed in — and never
// carries the restart token.
// Against a real slsd (SQLite), with memory, broken and slow keychains, and the operator's slsctl.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoginStepView, SessionView } from '../../core/contract/index.ts';
import { SessionView as SessionViewSchema } from '../../core/contract/index.ts';
import { createMemoryKeychain, KeychainUnavailableError } from '../../native/keychain.ts';
import type { Keychain } from '../../native/keychain.ts';
import { createMemorySettingsStore } from '../../native/settings.ts';
import type { SettingsStore } from '../../native/settings.ts';
import { bearer, makeUser, ok, PASSWORD, PORTAL, signIn, startAccountServer, answer } from '../../server/account/testing.ts';
import type { AccountTestServer, TestUser } from '../../server/account/testing.ts';
import { runSlsctl } from '../../server/cli/slsctl.ts';
import { postJson } from '../../server/testing/http.ts';
import { nextWeeklyCutoff } from '../../core/calendar.ts';
import { appInfo } from './app-info.ts';
import type { HostClock } from './host-services.ts';
import { RESTART_RECHECK_MS, RESTART_SETUP_WAIT_MS, SESSION_RECHECK_MS } from './host-services.ts';
import { createHost } from './index.ts';
import { createSlsdClient } from './slsd-client.ts';

// The host checks a stored token's cut-off against the wall clock, so slsd runs on it too.
let t: AccountTestServer;
let u: TestUser;
/** The next weekly cut-off from now, as slsd computes it (core/calendar.ts). */
let CUT_OFF: string;
beforeEach(async () => {
  t = await startAccountServer({ listen: true, clock: null });
  u = await makeUser(t, 'rhea', ['scc']);
  CUT_OFF = nextWeeklyCutoff(new Date()).toISOString();
});

it('the cut-off the view shows is a Sunday, 01:00 New York time, within a week', () => {
  const ny = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(CUT_OFF));
  expect(ny).toBe('Sun 01:00');
  expect(Date.parse(CUT_OFF) - Date.now()).toBeLessThanOrEqual(7 * 24 * 3600_000);
});
afterEach(async () => {
  await t.close();
});

/** No OS keychain answers (a bare Linux box without a Secret Service): every call fails as the real one does. */
function brokenKeychain(): Keychain {
  const fail = async (): Promise<never> => {
    throw new KeychainUnavailableError(new Error('org.freedesktop.secrets was not provided by any .service files'));
  };
  return { get: fail, set: fail, delete: fail, accounts: fail, clear: fail, available: async () => false };
}

/** Timers that fire only when the test says so. */
function manualClock() {
  const timers = new Map<number, { fn: () => void; at: number }>();
  let id = 1;
  let now = Date.now();
  const clock: HostClock = {
    now: () => now,
    setTimeout(fn, ms) {
      timers.set(id, { fn, at: now + ms });
      return id++;
    },
    clearTimeout: (h) => void timers.delete(h as number),
  };
  return {
    clock,
    armed: () => [...timers.values()].map((x) => x.at - now),
    elapse(ms: number) {
      now += ms;
      for (const [k, x] of [...timers]) {
        if (x.at <= now) {
          timers.delete(k);
          x.fn();
        }
      }
    },
  };
}

function host(keychain: Keychain, opts: { settings?: SettingsStore; clock?: HostClock; logs?: string[] } = {}) {
  const settings = opts.settings ?? createMemorySettingsStore({ serverAddress: t.url! });
  const h = createHost({ settings, keychain, appInfo: appInfo('browser', '0.1.0'), ...(opts.clock ? { clock: opts.clock } : {}), log: (l) => opts.logs?.push(l) });
  const call = async <T>(name: string, input?: unknown): Promise<T> => {
    const r = await h.dispatch(name, input);
    if (!r.ok) throw Object.assign(new Error(`${name}: ${r.error.code} ${r.error.message}`), { code: r.error.code });
    return r.value as T;
  };
  /** What the renderer was told, in order. */
  const events: { event: string; payload: unknown }[] = [];
  h.events.subscribe((event, payload) => events.push({ event, payload }));
  return { h, call, settings, events };
}

/** `slsctl restart revoke --user NAME`, as client services run it on slsd's data. */
async function slsctlRestartRevoke(username: string): Promise<string> {
  let out = '';
  let err = '';
  const code = await runSlsctl(['--data-dir', t.dataDir, '--database-url', t.config.databaseUrl, 'restart', 'revoke', '--user', username], {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    readStdin: async () => '',
    promptHidden: async () => null,
    env: { SLS_SERVER_KEY: t.config.serverKey, SLSCTL_OPERATOR: 'agent.test' },
  });
  expect(code, err).toBe(0);
  return out;
}

const REVOKED = { state: 'off', reason: 'revoked' } as const;

/** Password, then the code card: the signed-in view the renderer gets. */
async function signInThrough(call: <T>(name: string, input?: unknown) => Promise<T>, username = 'rhea', user = u): Promise<SessionView> {
  const step = await call<LoginStepView>('login', { username, password: PASSWORD, rememberUsername: false });
  if (step.status !== 'challenge') throw new Error(step.status);
  const done = await call<LoginStepView>('respond', { loginId: step.loginId, response: answer(user.devices.scc!, step.challenge) });
  if (done.status !== 'signed_in') throw new Error(done.status);
  return done.session;
}

/** The view is exactly the contract's, and nothing in it is a token. */
function expectNoSecrets(view: unknown, ...secrets: string[]): void {
  const json = JSON.stringify(view);
  expect(json).not.toMatch(/"(token|restartToken)"/);
  for (const s of secrets) expect(json).not.toContain(s);
  expect(SessionViewSchema.parse(view)).toEqual(view);
}

describe('auto-restart in the session view (SPEC L8, C3; UI.md 7)', () => {
  it('on after a full login: until the weekly cut-off, the same on GET session and after a restart; never the token', async () => {
    const keychain = createMemoryKeychain();
    const first = host(keychain);
    const view = await signInThrough(first.call);
    expect(view.autoRestart).toEqual({ state: 'on', until: CUT_OFF });
    const stored = JSON.parse((await keychain.get(`restart-token:${t.url}`))!) as { restartToken: string; validUntil: string };
    expect(stored.validUntil).toBe(CUT_OFF);
    expectNoSecrets(view, stored.restartToken);
    const again = await first.call<SessionView>('getSession');
    expect(again.autoRestart).toEqual({ state: 'on', until: CUT_OFF });
    expectNoSecrets(again, stored.restartToken);

    // The app starts again: signed in by the token, still on until the same cut-off (rotation keeps it).
    const second = host(keychain, { settings: first.settings });
    const restarted = await second.call<SessionView>('getSession');
    expect(restarted).toMatchObject({ authenticatedWith: null, autoRestart: { state: 'on', until: CUT_OFF } });
    const rotated = JSON.parse((await keychain.get(`restart-token:${t.url}`))!) as { restartToken: string };
    expectNoSecrets(restarted, stored.restartToken, rotated.restartToken);
  });

  it('off, no keychain on this computer (SLS_ERR_KEYCHAIN): the login still succeeds and says so', async () => {
    const logs: string[] = [];
    const { call } = host(brokenKeychain(), { logs });
    const view = await signInThrough(call);
    expect(view.autoRestart).toEqual({ state: 'off', reason: 'no_keychain' });
    expect((await call<SessionView>('getSession')).autoRestart).toEqual({ state: 'off', reason: 'no_keychain' });
    expect(logs).toContain('auto-restart not enabled code=SLS_ERR_KEYCHAIN');
    expectNoSecrets(view);
    // Nothing asked of slsd that could not be kept: no token issued, none audited.
    expect(await t.adb.selectFrom('restart_tokens').select('id').execute()).toEqual([]);
  });

  it('off, the keychain refused the token (it answers, but is locked): keychain_refused, not no_keychain; the login still succeeds', async () => {
    const inner = createMemoryKeychain();
    const refusing: Keychain = {
      ...inner,
      set: async () => {
        throw new KeychainUnavailableError(new Error('org.freedesktop.Secret.Error.IsLocked'));
      },
    };
    const logs: string[] = [];
    const { call } = host(refusing, { logs });
    const view = await signInThrough(call);
    expect(view.autoRestart).toEqual({ state: 'off', reason: 'keychain_refused' });
    expect((await call<SessionView>('getSession')).autoRestart).toEqual({ state: 'off', reason: 'keychain_refused' });
    expect(logs).toContain('auto-restart not enabled: the keychain refused the restart token code=SLS_ERR_KEYCHAIN');
    expect(logs).not.toContain('auto-restart not enabled code=SLS_ERR_KEYCHAIN');
    expectNoSecrets(view);
    expect(await inner.accounts()).toEqual([]);
  });

  it('off, not for this login: an opted-out user signed in without a second factor (O1), and the step-up portal session (C6)', async () => {
    const portal = await signIn(t, 'rhea', u.devices.scc!, PORTAL);
    ok(await postJson(t.app, '/v1/sls/opt-out', { username: 'rhea' }, bearer(portal)));
    const keychain = createMemoryKeychain();
    const { call } = host(keychain);
    const step = await call<LoginStepView>('login', { username: 'rhea', password: PASSWORD, rememberUsername: false });
    if (step.status !== 'signed_in') throw new Error(step.status);
    expect(step.session).toMatchObject({ authenticatedWith: null, autoRestart: { state: 'off', reason: 'not_for_this_login' } });
    expect(await keychain.accounts()).toEqual([]);

    // The Client Portal session of the Account screens' step-up gets no restart token either (L8 is for trading logins).
    const up = await call<LoginStepView>('portalLogin', { password: PASSWORD });
    if (up.status !== 'challenge') throw new Error(up.status);
    const upDone = await call<LoginStepView>('respond', { loginId: up.loginId, response: answer(u.devices.scc!, up.challenge) });
    if (upDone.status !== 'signed_in') throw new Error(upDone.status);
    expect(upDone.session.autoRestart).toEqual({ state: 'off', reason: 'not_for_this_login' });
    expect((await call<SessionView>('getPortalSession')).autoRestart).toEqual({ state: 'off', reason: 'not_for_this_login' });
    expectNoSecrets(upDone.session);
  });

  it('off, not set up: a keychain that does not answer in time; the token it takes later is forgotten again', async () => {
    const inner = createMemoryKeychain();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let setCalled!: () => void;
    const called = new Promise<void>((r) => (setCalled = r));
    const slow: Keychain = {
      ...inner,
      async set(account, secret) {
        setCalled();
        await gate; // e.g. the OS asks the user to unlock the keychain
        await inner.set(account, secret);
      },
    };
    const clock = manualClock();
    const logs: string[] = [];
    const { call } = host(slow, { clock: clock.clock, logs });
    const step = await call<LoginStepView>('login', { username: 'rhea', password: PASSWORD, rememberUsername: false });
    if (step.status !== 'challenge') throw new Error(step.status);
    const answered = call<LoginStepView>('respond', { loginId: step.loginId, response: answer(u.devices.scc!, step.challenge) });
    await called;
    expect(clock.armed()).toContain(RESTART_SETUP_WAIT_MS);
    clock.elapse(RESTART_SETUP_WAIT_MS);
    const done = await answered;
    if (done.status !== 'signed_in') throw new Error(done.status);
    expect(done.session.autoRestart).toEqual({ state: 'off', reason: 'not_set_up' });
    expect(logs).toContain('auto-restart not enabled: setting it up took too long');
    // The keychain takes the token after all: the host forgets it, as the screen said "off".
    release();
    expect((await call<SessionView>('getSession')).autoRestart).toEqual({ state: 'off', reason: 'not_set_up' });
    expect(await inner.get(`restart-token:${t.url}`)).toBeNull();
  });

  it('a quick keychain leaves no timer behind', async () => {
    const clock = manualClock();
    const { call } = host(createMemoryKeychain(), { clock: clock.clock });
    expect((await signInThrough(call)).autoRestart).toEqual({ state: 'on', until: CUT_OFF });
    expect(clock.armed()).not.toContain(RESTART_SETUP_WAIT_MS);
  });
});

describe('auto-restart revoked while signed in (SPEC L8: `slsctl restart revoke`)', () => {
  const account = () => `restart-token:${t.url}`;

  it('the next look at the session says off, revoked; the token leaves the keychain; the renderer is told; the next start is a full login, no failure counted', async () => {
    const keychain = createMemoryKeychain();
    const logs: string[] = [];
    const first = host(keychain, { logs });
    expect((await signInThrough(first.call)).autoRestart).toEqual({ state: 'on', until: CUT_OFF });
    expect(await keychain.get(account())).not.toBeNull();
    expect(await slsctlRestartRevoke('rhea')).toBe('1 restart token(s) revoked\n');

    const view = await first.call<SessionView>('getSession');
    expect(view.autoRestart).toEqual(REVOKED);
    expectNoSecrets(view);
    expect(first.events).toEqual([{ event: 'autoRestartChanged', payload: REVOKED }]);
    expect(await keychain.get(account())).toBeNull();
    expect(logs).toContain('auto-restart off: slsd says the restart token is revoked');
    // Still signed in; it stays off, said once.
    expect((await first.call<SessionView>('getSession')).autoRestart).toEqual(REVOKED);
    expect(first.events).toHaveLength(1);

    // The app starts again: nothing to restart with, so the login form, and slsd saw no wrong token (L6).
    const second = host(keychain, { settings: first.settings });
    expect(await second.call('getSession')).toBeNull();
    expect(await t.services.db.selectFrom('audit_log').select('id').where('event', '=', 'restart.failed').execute()).toEqual([]);
  });

  it('found by the host itself while the screen shows it, within RESTART_RECHECK_MS, without a call from the renderer', async () => {
    const clock = manualClock();
    const keychain = createMemoryKeychain();
    const { call, events } = host(keychain, { clock: clock.clock });
    expect((await signInThrough(call)).autoRestart).toEqual({ state: 'on', until: CUT_OFF });
    expect(RESTART_RECHECK_MS).toBeGreaterThan(SESSION_RECHECK_MS);
    await slsctlRestartRevoke('rhea');
    clock.elapse(RESTART_RECHECK_MS);
    await expect.poll(() => events).toEqual([{ event: 'autoRestartChanged', payload: REVOKED }]);
    await expect.poll(() => keychain.get(account())).toBeNull();
    expect((await call<SessionView>('getSession')).autoRestart).toEqual(REVOKED);
  });

  it('another copy of the app restarted with the token: this one says off, and leaves the copy\'s new token in the keychain', async () => {
    const keychain = createMemoryKeychain();
    const first = host(keychain);
    await signInThrough(first.call);
    const second = host(keychain, { settings: first.settings });
    expect((await second.call<SessionView>('getSession')).autoRestart).toEqual({ state: 'on', until: CUT_OFF });
    const handedOn = await keychain.get(account());

    expect((await first.call<SessionView>('getSession')).autoRestart).toEqual(REVOKED);
    expect(await keychain.get(account())).toBe(handedOn);
    // The copy's token still restarts the app.
    const third = host(keychain, { settings: first.settings });
    expect(await third.call<SessionView>('getSession')).toMatchObject({ autoRestart: { state: 'on', until: CUT_OFF } });
  });

  it('L8 × D5: no usable device left (a restart would be refused): off, devices; the token leaves the keychain; slsd revoked nothing; the next start is a login', async () => {
    const keychain = createMemoryKeychain();
    const logs: string[] = [];
    const first = host(keychain, { logs });
    expect((await signInThrough(first.call)).autoRestart).toEqual({ state: 'on', until: CUT_OFF });
    expect(await keychain.get(account())).not.toBeNull();
    // The code card stops authenticating by a way that does not touch restart tokens (here: the table itself).
    await t.adb.updateTable('devices').set({ status: 'revoked' }).where('id', '=', u.devices.scc!.device.id).execute();

    const DEVICES = { state: 'off', reason: 'devices' } as const;
    const view = await first.call<SessionView>('getSession');
    expect(view.autoRestart).toEqual(DEVICES);
    expectNoSecrets(view);
    expect(first.events).toEqual([{ event: 'autoRestartChanged', payload: DEVICES }]);
    expect(await keychain.get(account())).toBeNull();
    expect(logs).toContain('auto-restart off: slsd says the restart token is refused code=SLS_ERR_NO_ACTIVE_DEVICE');
    // Asking was a read: the token is neither revoked nor used on slsd.
    expect(await t.adb.selectFrom('restart_tokens').select(['revoked_at', 'used_at']).execute()).toEqual([{ revoked_at: null, used_at: null }]);
    expect((await first.call<SessionView>('getSession')).autoRestart).toEqual(DEVICES);
    expect(first.events).toHaveLength(1);

    // The app starts again: nothing to restart with, so the login form; slsd saw no restart.
    const second = host(keychain, { settings: first.settings });
    expect(await second.call('getSession')).toBeNull();
    expect(await t.services.db.selectFrom('audit_log').select('id').where('event', '=', 'restart.failed').execute()).toEqual([]);
  });

  it('an slsd that cannot be asked leaves it as it was', async () => {
    const keychain = createMemoryKeychain();
    const logs: string[] = [];
    const { call } = host(keychain, { logs });
    await signInThrough(call);
    await t.close();
    // slsd gone: the session holds until its expiry by our clock, and so does what the screen says.
    expect((await call<SessionView>('getSession')).autoRestart).toEqual({ state: 'on', until: CUT_OFF });
    expect(await keychain.get(account())).not.toBeNull();
    expect(logs.some((l) => l.startsWith('auto-restart not checked code='))).toBe(true);
    t = await startAccountServer({ listen: true, clock: null }); // for afterEach
  });
});

describe('auto-restart at the start of the day, slsd briefly unavailable (SPEC L8)', () => {
  /** slsd behind a proxy that answers 503 (as during a failover or slsd's restart) to the restart, `times` times. */
  function unavailableForRestart(times: number) {
    let left = times;
    const fetch503: typeof fetch = async (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (left > 0 && url.endsWith('/v1/login/restart')) {
        left -= 1;
        return new Response('Service Unavailable', { status: 503, headers: { 'content-type': 'text/plain' } });
      }
      return fetch(input, init);
    };
    return createSlsdClient({ baseUrl: () => t.url!, fetch: fetch503 });
  }

  it('a 503 keeps the restart token: the app opens on the login form, and the next start signs in without a second factor', async () => {
    const keychain = createMemoryKeychain();
    const first = host(keychain);
    await signInThrough(first.call);
    const account = `restart-token:${t.url}`;
    const stored = await keychain.get(account);
    expect(stored).not.toBeNull();

    const logs: string[] = [];
    const blipped = createHost({ settings: first.settings, keychain, appInfo: appInfo('browser', '0.1.0'), slsd: unavailableForRestart(1), log: (l) => logs.push(l) });
    const none = await blipped.dispatch('getSession', undefined);
    expect(none).toEqual({ ok: true, value: null });
    // Nothing was judged: the token is still there, and slsd counted no failure (L6).
    expect(await keychain.get(account)).toBe(stored);
    expect(logs).toContain('auto-restart failed code=SLS_ERR_SERVICE_UNAVAILABLE');
    expect(await t.adb.selectFrom('failure_counters').select('subject').where('scope', '=', 'user').execute()).toEqual([]);

    // The next start, slsd back: signed in by the token, as every morning until the cut-off.
    const later = host(keychain, { settings: first.settings });
    const restarted = await later.call<SessionView>('getSession');
    expect(restarted).toMatchObject({ user: { username: 'rhea' }, authenticatedWith: null, autoRestart: { state: 'on', until: CUT_OFF } });
  });
});

describe('auto-restart that did not sign in at the start: why, for the login form (SPEC L8, L6, C3)', () => {
  const account = () => `restart-token:${t.url}`;

  /** The app starts again on this computer: the login form (no session), and what it learns of the attempt. */
  async function nextStart(keychain: Keychain, settings: SettingsStore) {
    const again = host(keychain, { settings });
    expect(await again.call('getSession')).toBeNull();
    return again.call<unknown>('getAutoRestartAttempt');
  }

  /** Signed in with a second factor: a restart token in the keychain for the next start; the sign-in's token. */
  async function signedInWithToken() {
    const keychain = createMemoryKeychain();
    const first = host(keychain);
    await signInThrough(first.call);
    const stored = JSON.parse((await keychain.get(account()))!) as { restartToken: string };
    return { keychain, settings: first.settings, token: stored.restartToken };
  }

  it('nothing tried (no token kept), or the restart signed in: nothing to say', async () => {
    const keychain = createMemoryKeychain();
    const fresh = host(keychain);
    expect(await fresh.call('getSession')).toBeNull();
    expect(await fresh.call('getAutoRestartAttempt')).toBeNull();
    await signInThrough(fresh.call);
    const restarted = host(keychain, { settings: fresh.settings });
    expect(await restarted.call<SessionView>('getSession')).toMatchObject({ autoRestart: { state: 'on' } });
    expect(await restarted.call('getAutoRestartAttempt')).toBeNull();
  });

  it('refused: the token was revoked (`slsctl restart revoke`); it left the keychain; the view carries no token', async () => {
    const { keychain, settings, token } = await signedInWithToken();
    await slsctlRestartRevoke('rhea');
    const attempt = await nextStart(keychain, settings);
    expect(attempt).toEqual({ outcome: 'refused' });
    expect(JSON.stringify(attempt)).not.toContain(token);
    expect(await keychain.get(account())).toBeNull();
  });

  it('expired: kept past the weekly cut-off, by this computer\'s clock; slsd was not asked', async () => {
    const { keychain, settings } = await signedInWithToken();
    const stored = JSON.parse((await keychain.get(account()))!) as Record<string, string>;
    await keychain.set(account(), JSON.stringify({ ...stored, validUntil: new Date(Date.now() - 60_000).toISOString() }));
    expect(await nextStart(keychain, settings)).toEqual({ outcome: 'expired' });
    expect(await keychain.get(account())).toBeNull();
  });

  it('a damaged keychain entry (not JSON): the app opens on the login form, the entry goes, nothing to say', async () => {
    const { keychain, settings } = await signedInWithToken();
    await keychain.set(account(), '{"username":"rhea","restartTok');
    expect(await nextStart(keychain, settings)).toBeNull();
    expect(await keychain.get(account())).toBeNull();
  });

  it('locked (L6): ten failed passwords since; says until when', async () => {
    const { keychain, settings } = await signedInWithToken();
    for (let i = 0; i < 10; i++) await postJson(t.app, '/v1/login', { username: 'rhea', password: 'not-the-password', client: PORTAL });
    const lockedUntil = (await t.adb.selectFrom('failure_counters').select('locked_until').where('scope', '=', 'user').executeTakeFirstOrThrow()).locked_until;
    expect(await nextStart(keychain, settings)).toEqual({ outcome: 'locked', lockedUntil: new Date(Number(lockedUntil)).toISOString() });
  });

  it('devices (L8 × D5): no usable device left since the token was given', async () => {
    const { keychain, settings } = await signedInWithToken();
    await t.adb.updateTable('devices').set({ status: 'revoked' }).where('id', '=', u.devices.scc!.device.id).execute();
    expect(await nextStart(keychain, settings)).toEqual({ outcome: 'devices' });
  });

  it('unavailable: slsd out of reach; the token stays for the next start', async () => {
    const { keychain, settings, token } = await signedInWithToken();
    await t.close();
    expect(await nextStart(keychain, settings)).toEqual({ outcome: 'unavailable' });
    expect(await keychain.get(account())).toContain(token);
    t = await startAccountServer({ listen: true, clock: null }); // for afterEach
  });

  it('a new login forgets it: it was about the start, not this sign-in', async () => {
    const { keychain, settings } = await signedInWithToken();
    await slsctlRestartRevoke('rhea');
    const again = host(keychain, { settings });
    expect(await again.call('getSession')).toBeNull();
    await again.call('login', { username: 'rhea', password: PASSWORD, rememberUsername: false });
    expect(await again.call('getAutoRestartAttempt')).toBeNull();
  });
});

describe('auto-restart at the start, the next restart token not stored (SPEC L8, C3: keychain locked or gone since)', () => {
  const account = () => `restart-token:${t.url}`;

  /** A keychain whose `set` throws, as the OS keychain does when locked or gone (or its module fails); `delete` too if asked. */
  function keychainFailing(inner: Keychain, opts: { set: Error; delete?: Error }): Keychain {
    return {
      ...inner,
      set: async () => {
        throw opts.set;
      },
      delete: async (a) => {
        if (opts.delete) throw opts.delete;
        return inner.delete(a);
      },
    };
  }

  /** Signed in with a second factor: a restart token in the keychain for the next start; the sign-in's token. */
  async function signedInWithToken() {
    const keychain = createMemoryKeychain();
    const first = host(keychain);
    await signInThrough(first.call);
    const stored = JSON.parse((await keychain.get(account()))!) as { restartToken: string };
    return { keychain, settings: first.settings, token: stored.restartToken };
  }

  for (const [kind, error] of [
    ['the keychain is locked or gone (SLS_ERR_KEYCHAIN)', new KeychainUnavailableError(new Error('org.freedesktop.Secret.Error.IsLocked'))],
    ['the keychain module throws something else', new TypeError('keyring: unexpected reply')],
  ] as const) {
    it(`${kind}: still signed in, auto-restart says off (keychain_refused, not no_keychain: the keychain is there); the spent token leaves the keychain; logged without a token`, async () => {
      const { keychain, settings, token } = await signedInWithToken();
      const logs: string[] = [];
      const restarted = host(keychainFailing(keychain, { set: error }), { settings, logs });
      const view = await restarted.call<SessionView>('getSession');
      // The restart signed in on slsd: the user is signed in, legitimately, without a second factor (L8).
      expect(view).toMatchObject({ user: { username: 'rhea' }, authenticatedWith: null, autoRestart: { state: 'off', reason: 'keychain_refused' } });
      expectNoSecrets(view, token);
      expect((await restarted.call<SessionView>('getSession')).autoRestart).toEqual({ state: 'off', reason: 'keychain_refused' });
      expect(await restarted.call('getAutoRestartAttempt')).toBeNull();
      // The token it used is spent on slsd: kept, the next start would be refused with it, a failure counted (L6).
      expect(await keychain.get(account())).toBeNull();
      expect(logs).toContain('auto-restart: the next restart token could not be stored code=SLS_ERR_KEYCHAIN; the next start is a login');
      for (const line of logs) expect(line).not.toContain(token);
      // The session is held as any other: sign out works and ends it on slsd.
      const open = async () => (await t.adb.selectFrom('sessions').select('revoked_at').execute()).filter((x) => x.revoked_at === null).length;
      expect(await open()).toBe(2); // the first sign-in's, the restart's
      await restarted.call('signOut');
      expect(await open()).toBe(1);

      // The next start: nothing to restart with, the login form; slsd saw no spent token, counted no failure.
      const next = host(keychain, { settings });
      expect(await next.call('getSession')).toBeNull();
      expect(await next.call('getAutoRestartAttempt')).toBeNull();
      expect(await t.services.db.selectFrom('audit_log').select('id').where('event', '=', 'restart.failed').execute()).toEqual([]);
    });
  }

  it('the spent token cannot be removed either: still signed in, off; logged without a token', async () => {
    const { keychain, settings, token } = await signedInWithToken();
    const logs: string[] = [];
    const failing = keychainFailing(keychain, { set: new KeychainUnavailableError(new Error('locked')), delete: new KeychainUnavailableError(new Error('locked')) });
    const restarted = host(failing, { settings, logs });
    const view = await restarted.call<SessionView>('getSession');
    expect(view).toMatchObject({ user: { username: 'rhea' }, autoRestart: { state: 'off', reason: 'keychain_refused' } });
    expect(logs).toContain('auto-restart: the spent restart token could not be removed from the keychain code=SLS_ERR_KEYCHAIN');
    for (const line of logs) expect(line).not.toContain(token);
    expect(JSON.parse((await keychain.get(account()))!)).toMatchObject({ restartToken: token });
  });
});
