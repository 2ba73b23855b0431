// A login the host forgets is ended on slsd too (SPEC L7, C5, C3). Starting a new login while an
// earlier one is still in progress there (the login form came back after a page reload, so the user
// logs in again) used to forget the earlier one here only: its IB Key push stayed on the phone and
// counted among the 3 that may wait. The earlier login is now cancelled on its own server, in the
// background, as Cancel does; so are a Client Portal login replaced by another and one left behind by
// Sign out or Reset app data.
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

let fake: FakeSlsd;
let other: FakeSlsd;
beforeAll(async () => {
  fake = await startFakeSlsd();
  other = await startFakeSlsd();
});
afterAll(async () => {
  await fake.close();
  await other.close();
});
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** A host on `fake` that notes the transaction id of every login slsd started (host memory only otherwise). */
function host() {
  const settings = createMemorySettingsStore({ serverAddress: fake.url });
  const started: string[] = [];
  const noting: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (new URL(String(input)).pathname === '/v1/login' && res.ok) {
      const step = (await res.clone().json()) as { transactionId?: string };
      if (step.transactionId) started.push(step.transactionId);
    }
    return res;
  };
  const logs: string[] = [];
  const h = createHost({
    settings,
    keychain: createMemoryKeychain(),
    appInfo: appInfo('browser', '0.1.0'),
    slsd: createSlsdClient({ baseUrl: () => settings.read().serverAddress, fetch: noting }),
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
  return { call, value, settings, started, logs };
}

const creds = (username: string, password = FAKE_PASSWORD) => ({ username, password, rememberUsername: false });

describe('a new login while an earlier one is in progress on slsd (SPEC L7, C5)', () => {
  it('ends the earlier login (its IB Key push) on slsd, and the new one goes on', async () => {
    const { call, value, started } = host();
    expect(await value('login', creds('demo.ibkey'))).toMatchObject({ status: 'challenge', challenge: { type: 'push' } });
    const earlier = started.at(-1)!;
    // The page reloads: the long-poll of the earlier login is still out, the form comes back.
    const waiting = call('waitForApproval');
    await new Promise((r) => setTimeout(r, 100));

    const step = await value('login', creds('demo.gold'));
    expect(step).toMatchObject({ status: 'challenge', challenge: { kind: 'gold' } });
    // The push no longer waits on the phone: slsd has the earlier login cancelled, its long-poll ends.
    await expect.poll(() => fake.cancelledLogins(), { timeout: 10_000 }).toContain(earlier);
    expect(await waiting).toMatchObject({ ok: false, error: { code: 'SLS_ERR_TRANSACTION_ENDED' } });
    // Only the earlier one: the new login signs in.
    expect(fake.cancelledLogins()).not.toContain(started.at(-1));
    expect(await value('respond', { response: fake.expectedResponse() })).toMatchObject({ status: 'signed_in' });
  });

  it('ends the earlier login even when the new password is refused', async () => {
    const { call, value, started } = host();
    await value('login', creds('demo.m2fs'));
    await value('selectDevice', { deviceId: 'd-ibkey' });
    const earlier = started.at(-1)!;
    expect(await call('login', creds('demo.m2fs', 'Wrong-Password-1'))).toMatchObject({ ok: false, error: { code: 'SLS_ERR_INVALID_CREDENTIALS' } });
    await expect.poll(() => fake.cancelledLogins(), { timeout: 10_000 }).toContain(earlier);
    expect(await call('respond', { response: '123456' })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS' } });
  });

  it('ends the earlier login on the server it began on when the address changed meanwhile (C3)', async () => {
    const { value, settings, started } = host();
    await value('login', creds('demo.ibkey'));
    const earlier = started.at(-1)!;
    const otherCancelled = other.cancelledLogins().length;
    // Written by another copy of the app: no setSettings here to end it.
    settings.update({ serverAddress: other.url });
    expect(await value('login', creds('demo.gold'))).toMatchObject({ status: 'challenge' });
    await expect.poll(() => fake.cancelledLogins(), { timeout: 10_000 }).toContain(earlier);
    expect(other.cancelledLogins().length).toBe(otherCancelled);
  });

  it('no earlier login: nothing is cancelled', async () => {
    const { value } = host();
    const before = fake.cancelledLogins().length;
    await value('login', creds('demo.gold'));
    await value('respond', { response: fake.expectedResponse() });
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.cancelledLogins().length).toBe(before);
  });
});

describe('a Client Portal login left behind (SPEC C6, L7)', () => {
  async function signedIn() {
    const d = host();
    await d.value('login', creds('demo.gold'));
    await d.value('respond', { response: fake.expectedResponse() });
    return d;
  }

  it('a second portal login ends the first on slsd', async () => {
    const { value, started } = await signedIn();
    expect(await value('portalLogin', { password: FAKE_PASSWORD })).toMatchObject({ status: 'challenge' });
    const earlier = started.at(-1)!;
    expect(await value('portalLogin', { password: FAKE_PASSWORD })).toMatchObject({ status: 'challenge' });
    await expect.poll(() => fake.cancelledLogins(), { timeout: 10_000 }).toContain(earlier);
    expect(fake.cancelledLogins()).not.toContain(started.at(-1));
  });

  it('Sign out ends a portal login in progress on slsd', async () => {
    const { call, value, started } = await signedIn();
    await value('portalLogin', { password: FAKE_PASSWORD });
    const earlier = started.at(-1)!;
    expect(await call('signOut')).toMatchObject({ ok: true });
    await expect.poll(() => fake.cancelledLogins(), { timeout: 10_000 }).toContain(earlier);
  });

  it('Reset app data ends a login in progress on slsd', async () => {
    const { call, value, started } = host();
    await value('login', creds('demo.ibkey'));
    const earlier = started.at(-1)!;
    expect(await call('resetAppData')).toMatchObject({ ok: true });
    await expect.poll(() => fake.cancelledLogins(), { timeout: 10_000 }).toContain(earlier);
  });
});
