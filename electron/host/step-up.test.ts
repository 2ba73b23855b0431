// The Account screens' Client Portal login through the host, against a real slsd (SPEC C6, O1, O3,
// L8, C3): a trading session without a second factor reaches the portal functions through a second,
// Client Portal session of the same user that the host keeps in memory and uses for the account
// calls; sign out ends both; the token never reaches the settings, the keychain, the log or the renderer.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoginStep } from '../../core/api.ts';
import type { OptOutStatus, WithdrawalOverview } from '../../core/account-api.ts';
import type { LoginStepView, SessionView } from '../../core/contract/index.ts';
import { createMemoryKeychain } from '../../native/keychain.ts';
import { createMemorySettingsStore } from '../../native/settings.ts';
import { answer, bearer, makeUser, ok, PASSWORD, PORTAL, signIn, startAccountServer } from '../../server/account/testing.ts';
import type { AccountTestServer, TestUser } from '../../server/account/testing.ts';
import { postJson } from '../../server/testing/http.ts';
import { appInfo } from './app-info.ts';
import { createHost } from './index.ts';
import { createSlsdClient } from './slsd-client.ts';
import type { SlsdClient } from './slsd-client.ts';

let t: AccountTestServer;
let u: TestUser;
beforeEach(async () => {
  t = await startAccountServer({ listen: true, clock: null });
  // The primary user of their own account (SPEC A1), with a code card, opted out (O1).
  u = await makeUser(t, 'stepy', ['scc'], { displayName: 'Stella Step' });
  const token = await signIn(t, 'stepy', u.devices.scc!, PORTAL);
  ok(await postJson<OptOutStatus>(t.app, '/v1/sls/opt-out', {}, bearer(token)));
  ok(await postJson(t.app, '/v1/logout', {}, bearer(token)));
});
afterEach(async () => {
  await t.close();
});

/** slsd as the host sees it, noting every token slsd hands out and which token each call carries. */
function spiedSlsd() {
  const inner = createSlsdClient({ baseUrl: () => t.url! });
  const issued: { token: string; clientKind: string }[] = [];
  const authed: { path: string; token: string }[] = [];
  const loggedOut: string[] = [];
  const note = <S extends LoginStep | { status: string }>(step: S): S => {
    if (step.status === 'signed_in' && 'session' in step) {
      const s = (step as { session: { token: string; clientKind: string } }).session;
      issued.push({ token: s.token, clientKind: s.clientKind });
    }
    return step;
  };
  const slsd: SlsdClient = {
    ...inner,
    login: async (r) => note(await inner.login(r)),
    selectDevice: async (id, r) => note(await inner.selectDevice(id, r)),
    respond: async (id, r) => note(await inner.respond(id, r)),
    loginStatus: async (id, wait) => note(await inner.loginStatus(id, wait)),
    logout: async (token) => {
      loggedOut.push(token);
      await inner.logout(token);
    },
    authed: async (method, path, schema, token, body) => {
      authed.push({ path, token });
      return inner.authed(method, path, schema, token, body);
    },
  };
  const tokenOf = (clientKind: string) => issued.find((i) => i.clientKind === clientKind)?.token;
  return { slsd, issued, authed, loggedOut, tokenOf };
}

function desktop() {
  const spy = spiedSlsd();
  const settings = createMemorySettingsStore({ serverAddress: t.url! });
  const keychain = createMemoryKeychain();
  const logs: string[] = [];
  const ended: unknown[] = [];
  const h = createHost({ settings, keychain, appInfo: appInfo('browser', '0.1.0'), slsd: spy.slsd, log: (l) => logs.push(l) });
  h.events.subscribe((event, payload) => {
    if (event === 'sessionEnded') ended.push(payload);
  });
  /** What the renderer gets: every answer as it crosses the contract. */
  const seen: string[] = [];
  const call = async <T>(name: string, input?: unknown): Promise<T> => {
    const r = await h.dispatch(name, input);
    seen.push(JSON.stringify(r));
    if (!r.ok) throw Object.assign(new Error(`${name}: ${r.error.code} ${r.error.message}`), { code: r.error.code });
    return r.value as T;
  };
  return { h, call, spy, settings, keychain, logs, ended, seen };
}

/** Signed in to the trading platform without a second factor (O1), then through the Client Portal login with the code card. */
async function steppedUp() {
  const d = desktop();
  const signedIn = await d.call<LoginStepView>('login', { username: 'stepy', password: PASSWORD, rememberUsername: true });
  if (signedIn.status !== 'signed_in') throw new Error(signedIn.status);
  expect(signedIn.session).toMatchObject({ authenticatedWith: null, clientKind: 'trading_platform' });
  const step = await d.call<LoginStepView>('portalLogin', { password: PASSWORD });
  if (step.status !== 'challenge') throw new Error(step.status);
  expect(step.challenge.type).toBe('index_numbers');
  const done = await d.call<LoginStepView>('respond', { loginId: step.loginId, response: answer(u.devices.scc!, step.challenge) });
  if (done.status !== 'signed_in') throw new Error(done.status);
  expect(done.session).toMatchObject({ clientKind: 'client_portal', authenticatedWith: { kind: 'scc' }, user: { username: 'stepy' } });
  return d;
}

describe("the Account screens' Client Portal login through the host (SPEC C6, O1, O3)", () => {
  it('C6, O1: account calls of an opted-out session are refused until the Client Portal login; then they carry its token, and the trading session stays as it was', async () => {
    const d = desktop();
    await d.call('login', { username: 'stepy', password: PASSWORD, rememberUsername: false });
    await expect(d.call('getWithdrawals')).rejects.toMatchObject({ code: 'SLS_ERR_SECOND_FACTOR_REQUIRED' });
    expect(await d.call('getPortalSession')).toBeNull();

    const step = await d.call<LoginStepView>('portalLogin', { password: PASSWORD });
    if (step.status !== 'challenge') throw new Error(step.status);
    await d.call('respond', { loginId: step.loginId, response: answer(u.devices.scc!, step.challenge) });
    const overview = await d.call<WithdrawalOverview>('getWithdrawals');
    expect(overview.devices.map((x) => x.kind)).toEqual(['scc']);

    const trading = d.spy.tokenOf('trading_platform')!;
    const portal = d.spy.tokenOf('client_portal')!;
    expect(portal).toBeTruthy();
    expect(portal).not.toBe(trading);
    // The refused call went with the trading token; the one after the step-up with the portal token.
    expect(d.spy.authed.filter((a) => a.path === '/withdrawals').map((a) => a.token)).toEqual([trading, portal]);
    expect(await d.call<SessionView>('getSession')).toMatchObject({ clientKind: 'trading_platform', authenticatedWith: null });
    expect(await d.call<SessionView>('getPortalSession')).toMatchObject({ clientKind: 'client_portal', authenticatedWith: { kind: 'scc' } });
    // No restart token from a Client Portal login (L8 is for trading logins).
    expect(await d.keychain.get(`restart-token:${t.url}`)).toBeNull();
  });

  it('C3: the portal token is kept in memory only: not in the settings, the keychain, the log or anything the renderer gets; the password is not kept either', async () => {
    const d = await steppedUp();
    await d.call('getWithdrawals');
    const portal = d.spy.tokenOf('client_portal')!;
    expect(JSON.stringify(d.settings.read())).not.toContain(portal);
    expect(await d.keychain.get(`restart-token:${t.url}`)).toBeNull();
    expect(d.logs.join('\n')).not.toContain(portal);
    expect(d.logs.join('\n')).not.toContain(PASSWORD);
    expect(d.logs).toContain('portal session opened user=stepy device=scc');
    expect(d.seen.join('\n')).not.toContain(portal);
    expect(d.seen.join('\n')).not.toMatch(/"token"/);
    expect(JSON.stringify(d.settings.read())).not.toContain(PASSWORD);
  });

  it('O3: an opted-out primary user opts back in after the Client Portal login, and the next trading login asks for the device', async () => {
    const d = desktop();
    await d.call('login', { username: 'stepy', password: PASSWORD, rememberUsername: false });
    // The trading session alone may not change it (O3 "after logging in with a device").
    await expect(d.call('optIn')).rejects.toMatchObject({ code: 'SLS_ERR_SECOND_FACTOR_REQUIRED' });
    const step = await d.call<LoginStepView>('portalLogin', { password: PASSWORD });
    if (step.status !== 'challenge') throw new Error(step.status);
    await d.call('respond', { loginId: step.loginId, response: answer(u.devices.scc!, step.challenge) });
    expect(await d.call<OptOutStatus>('optIn')).toMatchObject({ optedOut: false, canChange: true });
    await d.call('signOut');

    const next = await d.call<LoginStepView>('login', { username: 'stepy', password: PASSWORD, rememberUsername: false });
    expect(next.status).toBe('challenge');
  });

  it('C6: sign out ends both sessions on slsd', async () => {
    const d = await steppedUp();
    const trading = d.spy.tokenOf('trading_platform')!;
    const portal = d.spy.tokenOf('client_portal')!;
    await d.call('signOut');
    expect(d.spy.loggedOut.sort()).toEqual([trading, portal].sort());
    const rows = await t.adb.selectFrom('sessions').select(['client_kind', 'revoked_at']).where('user_id', '=', u.userId).where('revoked_at', 'is', null).execute();
    expect(rows).toEqual([]);
    await expect(createSlsdClient({ baseUrl: () => t.url! }).session(portal)).rejects.toMatchObject({ error: { code: 'SLS_ERR_SESSION_EXPIRED' } });
    expect(await d.call('getPortalSession')).toBeNull();
    expect(d.ended).toEqual([{ reason: 'signed_out' }]);
  });

  it('C6: when slsd ends the portal session, the account calls ask for the device again and the trading session stays', async () => {
    const d = await steppedUp();
    await t.adb.updateTable('sessions').set({ revoked_at: Date.now() }).where('user_id', '=', u.userId).where('client_kind', '=', 'client_portal').execute();
    await expect(d.call('getWithdrawals')).rejects.toMatchObject({ code: 'SLS_ERR_SECOND_FACTOR_REQUIRED' });
    expect(d.ended).toEqual([]);
    expect(await d.call<SessionView>('getSession')).toMatchObject({ clientKind: 'trading_platform', user: { username: 'stepy' } });
    expect(await d.call('getPortalSession')).toBeNull();
    // Verified again, the calls go on.
    const step = await d.call<LoginStepView>('portalLogin', { password: PASSWORD });
    if (step.status !== 'challenge') throw new Error(step.status);
    await d.call('respond', { loginId: step.loginId, response: answer(u.devices.scc!, step.challenge) });
    await expect(d.call('getWithdrawals')).resolves.toBeTruthy();
  });

  it('L6, L1: a wrong password at the Client Portal login is the generic error; nothing is held and the trading session stays', async () => {
    const d = desktop();
    await d.call('login', { username: 'stepy', password: PASSWORD, rememberUsername: false });
    await expect(d.call('portalLogin', { password: 'Wrong-Password-1' })).rejects.toMatchObject({ code: 'SLS_ERR_INVALID_CREDENTIALS' });
    expect(await d.call('getPortalSession')).toBeNull();
    expect(await d.call<SessionView>('getSession')).toMatchObject({ clientKind: 'trading_platform' });
    expect(d.logs.join('\n')).not.toContain('Wrong-Password-1');
  });

  it('C6: cancelling the Client Portal login leaves the trading session as it was', async () => {
    const d = desktop();
    await d.call('login', { username: 'stepy', password: PASSWORD, rememberUsername: false });
    const step = await d.call<LoginStepView>('portalLogin', { password: PASSWORD });
    if (step.status === 'signed_in') throw new Error(step.status);
    await d.call('cancelLogin', { loginId: step.loginId });
    await expect(d.call('respond', { loginId: step.loginId, response: 'ABCDEF' })).rejects.toMatchObject({ code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS' });
    expect(await d.call<SessionView>('getSession')).toMatchObject({ clientKind: 'trading_platform' });
    expect(await d.call('getPortalSession')).toBeNull();
  });

  it('C6: without a trading session there is no Client Portal login to do', async () => {
    const d = desktop();
    await expect(d.call('portalLogin', { password: PASSWORD })).rejects.toMatchObject({ code: 'SLS_ERR_UNAUTHENTICATED' });
    expect(d.spy.issued).toEqual([]);
  });
});
