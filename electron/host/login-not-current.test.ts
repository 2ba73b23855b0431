// Every login step names the login it answers (SPEC L6, L5, C5, C6). The contract's steps (selectDevice,
// respond, waitForApproval, resendCode, cancelLogin) used to carry no login: the host acted on whichever
// login was current. A second window, or a page left on an earlier login's screen, could then send a
// response into a NEWER login started meanwhile, where a wrong one counts against the user (L6: 3 end a
// login, 10 failures lock the user), or cancel it, or switch its device. Now each step names the login
// (`loginId`, which the host gives with every step it answers), and a step naming another login than
// the current one is refused with SLS_ERR_LOGIN_NOT_CURRENT before anything goes to slsd; a step naming
// none does not match the contract. Against a real slsd (SQLite): what it counted is read from its tables.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallResult, LoginStepView } from '../../core/contract/index.ts';
import { createMemoryKeychain } from '../../native/keychain.ts';
import { createMemorySettingsStore } from '../../native/settings.ts';
import { answer, makeUser, PASSWORD, startAccountServer } from '../../server/account/testing.ts';
import type { AccountTestServer, TestUser } from '../../server/account/testing.ts';
import { appInfo } from './app-info.ts';
import { createHost } from './index.ts';
import { createSlsdClient } from './slsd-client.ts';

let t: AccountTestServer;
let jane: TestUser;
let mia: TestUser;
beforeEach(async () => {
  t = await startAccountServer({ listen: true, clock: null });
  // One device: straight to its challenge (L2). Two: the drop-down first.
  jane = await makeUser(t, 'jane', ['scc']);
  mia = await makeUser(t, 'mia', ['scc', 'sms']);
});
afterEach(async () => {
  await t.close();
});

/** `fetch`: how the host reaches slsd (a test may hold an answer back, as a slow network would). */
function desktop(fetch: typeof globalThis.fetch = globalThis.fetch) {
  const h = createHost({
    settings: createMemorySettingsStore({ serverAddress: t.url! }),
    keychain: createMemoryKeychain(),
    appInfo: appInfo('browser', '0.1.0'),
    slsd: createSlsdClient({ baseUrl: () => t.url!, fetch }),
  });
  const call = (name: string, input?: unknown): Promise<CallResult<unknown>> => h.dispatch(name, input);
  const step = async (name: string, input?: unknown): Promise<LoginStepView> => {
    const r = await call(name, input);
    if (!r.ok) throw new Error(`${name} failed: ${r.error.code}`);
    return r.value as LoginStepView;
  };
  return { h, call, step };
}

const creds = (username: string) => ({ username, password: PASSWORD, rememberUsername: false });
const notCurrent = { ok: false, error: { code: 'SLS_ERR_LOGIN_NOT_CURRENT' } };

function loginId(s: LoginStepView): string {
  if (s.status === 'signed_in') throw new Error('signed in');
  return s.loginId;
}

function challengeOf(s: LoginStepView) {
  if (s.status !== 'challenge') throw new Error(`expected a challenge, got ${s.status}`);
  return s.challenge;
}

/** What slsd counted (SPEC L6, N2): wrong responses per login, the failure counters, the audit entries. */
async function counted() {
  const logins = await t.services.db.selectFrom('login_transactions').select(['id', 'user_id', 'state', 'device_id', 'wrong_responses']).execute();
  const failures = await t.services.db.selectFrom('failure_counters').select(['scope', 'subject', 'failures']).execute();
  const audit = (await t.services.db.selectFrom('audit_log').select(['event']).execute()).map((a) => a.event);
  return {
    logins,
    wrongResponses: logins.reduce((n, l) => n + l.wrong_responses, 0),
    failures: failures.reduce((n, f) => n + (JSON.parse(f.failures) as unknown[]).length, 0),
    responseFailedEntries: audit.filter((e) => e === 'login.response_failed').length,
  };
}

/** The open login of `user` on slsd (the newer one: the earlier one is cancelled there, in the background). */
async function openLoginOf(user: TestUser) {
  await expect.poll(async () => (await counted()).logins.filter((l) => l.user_id === user.userId && (l.state === 'challenge' || l.state === 'select_device')).length, { timeout: 10_000 }).toBe(1);
  return (await counted()).logins.find((l) => l.user_id === user.userId && (l.state === 'challenge' || l.state === 'select_device'))!;
}

describe('a response naming an earlier login never reaches the newer one (SPEC L6, C5)', () => {
  it('refused with SLS_ERR_LOGIN_NOT_CURRENT: no wrong response counted on the newer login, no failure, no audit entry; its own id signs in', async () => {
    const d = desktop();
    // Window 1 shows login A's challenge; window 2 (or a reloaded page) starts login B meanwhile.
    const a = await d.step('login', creds('jane'));
    const b = await d.step('login', creds('jane'));
    expect(loginId(a)).not.toBe(loginId(b));
    const newer = await openLoginOf(jane);

    // Window 1's user types a response for A's challenge, three times (L6: three would end a login).
    for (let i = 0; i < 3; i++) expect(await d.call('respond', { loginId: loginId(a), response: 'WRONG1' })).toMatchObject(notCurrent);

    const after = await counted();
    expect(after.wrongResponses).toBe(0);
    expect(after.failures).toBe(0);
    expect(after.responseFailedEntries).toBe(0);
    expect(after.logins.find((l) => l.id === newer.id)).toMatchObject({ state: 'challenge', wrong_responses: 0 });
    // Login B goes on with its own id, all its attempts left.
    expect(await d.step('respond', { loginId: loginId(b), response: answer(jane.devices.scc!, challengeOf(b)) })).toMatchObject({ status: 'signed_in' });
  });

  it('a response naming no login (a renderer from before) does not match the contract: nothing is counted', async () => {
    const d = desktop();
    await d.step('login', creds('jane'));
    const b = await d.step('login', creds('jane'));
    const newer = await openLoginOf(jane);
    expect(await d.call('respond', { response: 'WRONG1' })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_INVALID_INPUT' } });
    const after = await counted();
    expect(after.wrongResponses).toBe(0);
    expect(after.failures).toBe(0);
    expect(after.logins.find((l) => l.id === newer.id)).toMatchObject({ state: 'challenge', wrong_responses: 0 });
    expect(await d.step('respond', { loginId: loginId(b), response: answer(jane.devices.scc!, challengeOf(b)) })).toMatchObject({ status: 'signed_in' });
  });

  it("while the newer login's password is on its way: a response naming the earlier login finds none in progress, and is not sent", async () => {
    let hold = false;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let arrived!: () => void;
    const held = new Promise<void>((r) => (arrived = r));
    const d = desktop(async (input, init) => {
      const res = await fetch(input, init);
      if (hold && new URL(String(input)).pathname === '/v1/login') {
        arrived();
        await released;
      }
      return res;
    });
    const a = await d.step('login', creds('jane'));
    hold = true;
    const loggingIn = d.step('login', creds('jane'));
    await held;
    expect(await d.call('respond', { loginId: loginId(a), response: 'WRONG1' })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS' } });
    release();
    const b = await loggingIn;
    expect((await counted()).wrongResponses).toBe(0);
    expect(await d.step('respond', { loginId: loginId(b), response: answer(jane.devices.scc!, challengeOf(b)) })).toMatchObject({ status: 'signed_in' });
  });

  it('a wrong response naming the current login still counts (L6): the check names logins, it does not swallow responses', async () => {
    const d = desktop();
    const b = await d.step('login', creds('jane'));
    expect(await d.call('respond', { loginId: loginId(b), response: 'WRONG1' })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_WRONG_RESPONSE', attemptsLeft: 2 } });
    expect((await counted()).wrongResponses).toBe(1);
  });
});

describe('the other steps naming an earlier login leave the newer one as it is (SPEC L5, L7, C5)', () => {
  it('selectDevice, resendCode, waitForApproval and cancelLogin are refused; the newer login keeps its step and signs in', async () => {
    const d = desktop();
    const a = await d.step('login', creds('mia'));
    expect(a).toMatchObject({ status: 'select_device' });
    const b = await d.step('login', creds('mia'));
    const newer = await openLoginOf(mia);
    const sms = mia.devices.sms!.device.id;
    const scc = mia.devices.scc!.device.id;

    expect(await d.call('selectDevice', { loginId: loginId(a), deviceId: sms })).toMatchObject(notCurrent);
    expect(await d.call('resendCode', { loginId: loginId(a) })).toMatchObject(notCurrent);
    expect(await d.call('waitForApproval', { loginId: loginId(a), quick: true })).toMatchObject(notCurrent);
    expect(await d.call('cancelLogin', { loginId: loginId(a) })).toMatchObject(notCurrent);

    // slsd heard none of it: no device chosen for B (no SMS sent), B not cancelled.
    await new Promise((r) => setTimeout(r, 100));
    expect((await counted()).logins.find((l) => l.id === newer.id)).toMatchObject({ state: 'select_device', device_id: null });
    expect(await t.services.db.selectFrom('sms_outbox').select('id').execute()).toEqual([]);

    const c = await d.step('selectDevice', { loginId: loginId(b), deviceId: scc });
    expect(loginId(c)).toBe(loginId(b));
    expect(await d.step('respond', { loginId: loginId(b), response: answer(mia.devices.scc!, challengeOf(c)) })).toMatchObject({ status: 'signed_in' });
  });

  it("Cancel naming the current login ends it; one naming a login already over answers ok and changes nothing", async () => {
    const d = desktop();
    const a = await d.step('login', creds('jane'));
    expect(await d.call('cancelLogin', { loginId: loginId(a) })).toMatchObject({ ok: true });
    await expect.poll(async () => (await counted()).logins.find((l) => l.state === 'ended'), { timeout: 10_000 }).toBeTruthy();
    expect(await d.call('respond', { loginId: loginId(a), response: 'WRONG1' })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS' } });
    expect(await d.call('cancelLogin', { loginId: loginId(a) })).toMatchObject({ ok: true });
    expect((await counted()).wrongResponses).toBe(0);
  });
});

describe('the Client Portal login of the Account screens names its login too (SPEC C6, L6)', () => {
  it('a response naming the first step-up is refused after a second one began; nothing counted; the second signs in', async () => {
    const d = desktop();
    const login = await d.step('login', creds('jane'));
    expect(await d.step('respond', { loginId: loginId(login), response: answer(jane.devices.scc!, challengeOf(login)) })).toMatchObject({ status: 'signed_in' });

    const first = await d.step('portalLogin', { password: PASSWORD });
    const second = await d.step('portalLogin', { password: PASSWORD });
    expect(loginId(first)).not.toBe(loginId(second));
    // The trading login's id names nothing any more either.
    expect(await d.call('respond', { loginId: loginId(login), response: 'WRONG1' })).toMatchObject(notCurrent);
    expect(await d.call('respond', { loginId: loginId(first), response: 'WRONG1' })).toMatchObject(notCurrent);
    expect((await counted()).wrongResponses).toBe(0);

    expect(await d.step('respond', { loginId: loginId(second), response: answer(jane.devices.scc!, challengeOf(second)) })).toMatchObject({ status: 'signed_in' });
    expect(await d.call('getPortalSession')).toMatchObject({ ok: true, value: { clientKind: 'client_portal' } });
  });
});
