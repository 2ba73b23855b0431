// The signed-in session ends cleanly at its expiry (SPEC C1, C5, L8): the host drops the token at
// `expiresAt` (slsd confirms; the wall clock decides when slsd cannot be reached), survives sleep
// (timers that slept are not trusted), tells the renderer when it ended, and treats an slsd answer
// SESSION_EXPIRED / UNAUTHENTICATED the same way. A computer clock ahead of slsd ends nothing early.
// Against a real slsd (SQLite) whose clock the test moves, with a fake host clock and timers.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoginStepView } from '../../core/contract/index.ts';
import { createMemoryKeychain } from '../../native/keychain.ts';
import { createMemorySettingsStore } from '../../native/settings.ts';
import { answer, makeUser, PASSWORD, startAccountServer } from '../../server/account/testing.ts';
import type { AccountTestServer, TestUser } from '../../server/account/testing.ts';
import { testClock } from '../../server/testing/test-server.ts';
import { appInfo } from './app-info.ts';
import type { HostClock } from './host-services.ts';
import { createHost, SESSION_RECHECK_MS } from './index.ts';

const TTL_MS = 60 * 60_000;

/**
 * A wall clock with timers that count awake time only, like Node's and Chromium's: `elapse` runs
 * time awake (due timers fire), `sleep` moves the wall clock while no timer advances.
 */
function fakeClock(wall: { now(): number; advance(ms: number): void }) {
  let nextId = 1;
  const timers = new Map<number, { fn: () => void; left: number }>();
  const clock: HostClock = {
    now: () => wall.now(),
    setTimeout(fn, ms) {
      timers.set(nextId, { fn, left: Math.max(0, ms) });
      return nextId++;
    },
    clearTimeout: (h) => void timers.delete(h as number),
  };
  return {
    clock,
    /** The delays of the timers armed now. */
    armed: () => [...timers.values()].map((t) => t.left),
    elapse(ms: number) {
      let rest = ms;
      for (;;) {
        const due = [...timers.entries()].sort((a, b) => a[1].left - b[1].left)[0];
        if (!due || due[1].left > rest) break;
        const step = due[1].left;
        for (const t of timers.values()) t.left -= step;
        wall.advance(step);
        rest -= step;
        timers.delete(due[0]);
        due[1].fn();
      }
      for (const t of timers.values()) t.left -= rest;
      wall.advance(rest);
    },
    sleep: (ms: number) => wall.advance(ms),
  };
}

let t: AccountTestServer;
let u: TestUser;
beforeEach(async () => {
  t = await startAccountServer({ listen: true, clock: testClock(), config: { sessionTtlMs: TTL_MS } });
  u = await makeUser(t, 'expiry', ['scc']);
});
afterEach(async () => {
  await t.close();
});

async function signedInHost(hostWall: { now(): number; advance(ms: number): void } = t.clock) {
  const fake = fakeClock(hostWall);
  const keychain = createMemoryKeychain();
  const settings = createMemorySettingsStore({ serverAddress: t.url! });
  const h = createHost({ settings, keychain, appInfo: appInfo('browser', '0.1.0'), clock: fake.clock });
  const events: unknown[] = [];
  h.events.subscribe((e, p) => events.push({ event: e, ...(p as object) }));
  const call = async (name: string, input?: unknown) => h.dispatch(name, input);
  const step = await call('login', { username: 'expiry', password: PASSWORD, rememberUsername: true });
  if (!step.ok || (step.value as LoginStepView).status !== 'challenge') throw new Error('no challenge');
  const c = step.value as Extract<LoginStepView, { status: 'challenge' }>;
  const done = await call('respond', { loginId: c.loginId, response: answer(u.devices.scc!, c.challenge) });
  if (!done.ok || (done.value as LoginStepView).status !== 'signed_in') throw new Error('not signed in');
  const expiresAt = (done.value as Extract<LoginStepView, { status: 'signed_in' }>).session.expiresAt;
  return { h, fake, call, events, expiresAt, keychain };
}

describe('session expiry in the host (SPEC C1, C5, L8)', () => {
  it('drops the session at its expiry time, tells the renderer when, and does not sign in again by the restart token', async () => {
    const { fake, call, events, expiresAt, keychain } = await signedInHost();
    expect(Date.parse(expiresAt) - t.clock.now()).toBe(TTL_MS);
    // L8: a full trading-platform login stored a restart token; it is for the next start, not for now.
    await expect.poll(async () => (await keychain.accounts()).length).toBe(1);

    fake.elapse(TTL_MS - 1_000);
    expect(events).toEqual([]);
    expect(await call('getSession')).toMatchObject({ ok: true, value: { user: { username: 'expiry' } } });

    fake.elapse(1_000);
    await expect.poll(() => events).toEqual([{ event: 'sessionEnded', reason: 'expired', expiresAt }]);
    expect(fake.armed()).toEqual([]);
    expect(await call('getSession')).toEqual({ ok: true, value: null });
    expect(await call('getWithdrawals')).toMatchObject({ ok: false, error: { code: 'SLS_ERR_UNAUTHENTICATED' } });
  });

  it('never trusts a timer across sleep: each wait is at most SESSION_RECHECK_MS, and a wake past expiry ends it on the next look', async () => {
    const { fake, events, expiresAt } = await signedInHost();
    expect(Math.max(...fake.armed())).toBeLessThanOrEqual(SESSION_RECHECK_MS);
    fake.elapse(10 * 60_000);
    expect(Math.max(...fake.armed())).toBeLessThanOrEqual(SESSION_RECHECK_MS);
    // The laptop sleeps through the expiry: the wall clock moves, the armed timer does not.
    fake.sleep(TTL_MS);
    expect(events).toEqual([]);
    fake.elapse(SESSION_RECHECK_MS);
    await expect.poll(() => events).toEqual([{ event: 'sessionEnded', reason: 'expired', expiresAt }]);
  });

  it('on wake the renderer asks getSession (visibilitychange, focus): past expiry it is null at once', async () => {
    const { fake, call, events, expiresAt } = await signedInHost();
    fake.sleep(TTL_MS + 5 * 60_000);
    expect(await call('getSession')).toEqual({ ok: true, value: null });
    expect(events).toEqual([{ event: 'sessionEnded', reason: 'expired', expiresAt }]);
    fake.elapse(SESSION_RECHECK_MS);
    expect(events).toHaveLength(1);
  });

  it('woken with slsd out of reach (network not back yet): past expiry by the wall clock it ends all the same', async () => {
    // The host reads the server address on every request: an address where nothing listens.
    const { fake, call, events, expiresAt } = await signedInHost();
    fake.sleep(TTL_MS + 60_000);
    await call('setSettings', { serverAddress: 'http://127.0.0.1:9' });
    expect(await call('getSession')).toEqual({ ok: true, value: null });
    expect(events).toEqual([{ event: 'sessionEnded', reason: 'expired', expiresAt }]);
  });

  it('slsd out of reach before the expiry: the session is kept (nothing is known to have ended)', async () => {
    const { call, events } = await signedInHost();
    await call('setSettings', { serverAddress: 'http://127.0.0.1:9' });
    expect(await call('getSession')).toMatchObject({ ok: true, value: { user: { username: 'expiry' } } });
    expect(events).toEqual([]);
  });

  it('a computer clock 10 minutes ahead of slsd ends nothing early: at our expiry slsd is asked, and it goes on until slsd says it ended', async () => {
    let hostNow = t.clock.now() + 10 * 60_000;
    const { fake, call, events, expiresAt } = await signedInHost({ now: () => hostNow, advance: (ms) => void (hostNow += ms) });
    t.clock.advance(TTL_MS - 10 * 60_000);
    fake.elapse(TTL_MS - 10 * 60_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(events).toEqual([]);
    expect(await call('getWithdrawals')).toMatchObject({ ok: true });
    expect(fake.armed()).toEqual([SESSION_RECHECK_MS]);
    // slsd's clock reaches the expiry: the next look ends it.
    t.clock.advance(10 * 60_000);
    fake.elapse(SESSION_RECHECK_MS);
    await expect.poll(() => events).toEqual([{ event: 'sessionEnded', reason: 'expired', expiresAt }]);
  });

  it('a call answered SLS_ERR_SESSION_EXPIRED by slsd ends the session the same way (slsd clock ahead of ours)', async () => {
    let hostNow = t.clock.now();
    const { fake, call, events } = await signedInHost({ now: () => hostNow, advance: (ms) => void (hostNow += ms) });
    expect(await call('getWithdrawals')).toMatchObject({ ok: true });
    t.clock.advance(TTL_MS + 1);
    expect(await call('getWithdrawals')).toMatchObject({ ok: false, error: { code: 'SLS_ERR_SESSION_EXPIRED' } });
    // Our clock says it should still run: slsd ended it early, so no time is claimed.
    expect(events).toEqual([{ event: 'sessionEnded', reason: 'expired' }]);
    expect(fake.armed()).toEqual([]);
    expect(await call('getSession')).toEqual({ ok: true, value: null });
    expect(await call('getDevices')).toMatchObject({ ok: false, error: { code: 'SLS_ERR_UNAUTHENTICATED' } });
  });

  it('a getSession refused by slsd (session revoked there) ends the session, without claiming a time', async () => {
    const { call, events } = await signedInHost();
    await t.services.db.updateTable('sessions').set({ revoked_at: t.clock.now() }).execute();
    expect(await call('getSession')).toEqual({ ok: true, value: null });
    expect(events).toEqual([{ event: 'sessionEnded', reason: 'expired' }]);
  });

  it('signing out stops the expiry watch and says signed_out only', async () => {
    const { fake, call, events } = await signedInHost();
    await call('signOut');
    expect(fake.armed()).toEqual([]);
    fake.elapse(TTL_MS);
    expect(events).toEqual([{ event: 'sessionEnded', reason: 'signed_out' }]);
  });
});
