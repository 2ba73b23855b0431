// SPEC C3, C5: the host refuses another server address while it holds a session (signed in in
// another window, say) with SLS_ERR_SIGN_OUT_FIRST. The login form says so, then the app reads the
// session again, as it does for SLS_ERR_LOGIN_NOT_CURRENT: held, the signed-in screen shows (its
// heading takes the focus; Sign out is there); none (the other window signed out meanwhile), the form
// stays with the message, the typed address kept and the focus in it, and the user can try again.
// Nothing is sent to log in with the refused address.
//
// The real renderer (App) runs in Debian's Chromium on the fake host of held-host.harness.tsx, whose
// setSettings the test holds and refuses.
import type { Browser, Page } from '@playwright/test';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ClientError, SessionView } from '../core/contract/index.ts';
import { en } from './i18n/en/index.ts';
import type { HeldHost } from './held-host.harness.tsx';
import { heldHostBundle, launchChromium, openHeldApp } from './held-app.harness.ts';

let bundle: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  bundle = await heldHostBundle();
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

const errors: string[] = [];
beforeEach(async () => {
  errors.length = 0;
  page = await openHeldApp(browser, bundle, errors);
  // The server address waits for the test, which refuses it.
  await page.evaluate(() => (window as unknown as { heldHost: HeldHost }).heldHost.hold('setSettings'));
});
afterEach(async () => {
  expect(errors).toEqual([]);
  await page?.close();
});

type Calls = ReturnType<HeldHost['calls']>;
const host = () => page.evaluate(() => (window as unknown as { heldHost: HeldHost }).heldHost.calls());
const named = (calls: Calls, name: string) => calls.filter((c) => c.name === name);
const refuse = (index: number, error: ClientError) => page.evaluate(([i, e]) => (window as unknown as { heldHost: HeldHost }).heldHost.refuse(i as number, e as ClientError), [index, error] as const);
const replySession = (s: SessionView | null) => page.evaluate((v) => (window as unknown as { heldHost: HeldHost }).heldHost.reply('getSession', v), s);

/** The index of the first call named `name` not answered yet, waiting for it to be made. */
async function pending(name: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const at = (await host()).findIndex((c) => c.name === name && !c.answered);
    if (at >= 0) return at;
    await page.waitForTimeout(10);
  }
  throw new Error(`no ${name} call waits: ${JSON.stringify(await host())}`);
}

/** Long enough for a late answer to be rendered, were it taken (a promise, a render, a paint). */
const settled = () => page.waitForTimeout(200);

const SESSION: SessionView = {
  expiresAt: new Date(Date.now() + 8 * 3600_000).toISOString(),
  user: { id: 'u1', username: 'demo.gold', displayName: 'Goldie' },
  account: { id: 'a1', number: 'U1000004', primaryUser: 'demo.gold' },
  authenticatedWith: { deviceId: 'dev-gold', kind: 'gold', label: 'Gold device (…6507)' },
  clientKind: 'trading_platform',
  access: 'full',
  restrictions: [],
  restrictionDetails: [],
  autoRestart: { state: 'off', reason: 'not_set_up' },
};

const SIGN_OUT_FIRST: ClientError = { code: 'SLS_ERR_SIGN_OUT_FIRST', message: 'Sign out before choosing another server.' };
const OTHER_SERVER = 'https://sls.example.com';
const serverField = () => page.getByLabel(en.login.form.serverAddress, { exact: true });

/** Log in on the form with another server address, typed there (Enter in it); refuses its setSettings SLS_ERR_SIGN_OUT_FIRST. */
async function logInElsewhere(): Promise<void> {
  await page.getByLabel(en.login.form.username, { exact: true }).fill('demo.gold');
  await page.getByLabel(en.login.form.password, { exact: true }).fill('secret-password');
  await page.getByRole('button', { name: /Change server address/ }).click();
  await serverField().fill(OTHER_SERVER);
  await serverField().press('Enter');
  const set = await pending('setSettings');
  expect((await host())[set]!.input).toEqual({ serverAddress: OTHER_SERVER });
  await refuse(set, SIGN_OUT_FIRST);
}

const signOutFirstText = `${en.errors.signOutFirst.message} ${en.errors.signOutFirst.action}`;

describe('another server refused SLS_ERR_SIGN_OUT_FIRST (SPEC C3, C5)', () => {
  it('a session is held (signed in in another window): the session is read again, the signed-in screen shows, its heading focused', async () => {
    await replySession(SESSION);
    const before = named(await host(), 'getSession').length;
    await logInElsewhere();

    const heading = page.getByRole('heading', { name: en.common.signedIn.title });
    await heading.waitFor();
    expect(named(await host(), 'getSession').length).toBe(before + 1);
    await page.getByRole('button', { name: en.common.signedIn.accountSecurity, exact: true }).waitFor();
    await expect.poll(() => heading.evaluate((h) => h === document.activeElement)).toBe(true);
    expect(await page.getByRole('button', { name: en.login.form.submit }).count()).toBe(0);
    expect(named(await host(), 'login')).toHaveLength(0);
  });

  it('no session (signed out meanwhile): the form stays with the message, the address typed and the focus kept; trying again changes the server and logs in', async () => {
    const before = named(await host(), 'getSession').length;
    await logInElsewhere();

    await expect.poll(() => page.locator('[role="alert"] .error').innerText()).toBe(signOutFirstText);
    await expect.poll(async () => named(await host(), 'getSession').length).toBe(before + 1);
    await settled();
    // Still the form, still saying why, the address as typed, the focus where the user was.
    await expect.poll(() => page.locator('[role="alert"] .error').innerText()).toBe(signOutFirstText);
    expect(await page.getByRole('button', { name: en.login.form.submit }).isEnabled()).toBe(true);
    expect(await serverField().inputValue()).toBe(OTHER_SERVER);
    expect(await serverField().evaluate((el) => el === document.activeElement)).toBe(true);
    expect(named(await host(), 'login')).toHaveLength(0);

    // Again: the host takes the address now, and the login goes.
    await serverField().press('Enter');
    await page.evaluate(
      ([i, v]) => (window as unknown as { heldHost: HeldHost }).heldHost.answer(i as number, v),
      [await pending('setSettings'), { serverAddress: OTHER_SERVER, rememberUsername: false, lastUsername: null, theme: 'dark', language: 'en' }] as const,
    );
    await pending('login');
  });
});
