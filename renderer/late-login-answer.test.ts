// The renderer applies a login step's answer only while the user is still on the login that sent it
// (SPEC L1–L5, L7, C5, C6). A step on its way (a response, a device chosen, a resend) when the user
// pressed Cancel and logged in again comes back late: the host answers it SLS_ERR_NO_LOGIN_IN_PROGRESS
// (an earlier login's answer is dropped there), or slsd's answer came before the host let go. Either
// way it is of a login the user left: it must not send the new login back to the form, show its error
// on the new login's screen, keep the new screen busy, nor show its step. Enter pressed twice sends a
// step once (a response sent twice would count twice, L6). Every step names the login whose screen
// sent it (`loginId`, L6, C5); one the host refuses as not current (SLS_ERR_LOGIN_NOT_CURRENT: a newer
// login began in another window) makes the app read the state again instead of showing a raw error.
//
// The real renderer (App) runs in Debian's Chromium on a fake host (held-host.harness.tsx) whose login
// steps wait until the test answers them, in the order the test chooses.
import type { Browser, Page } from '@playwright/test';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ClientError, LoginStepView, SessionView } from '../core/contract/index.ts';
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

beforeEach(async () => {
  const errors: string[] = [];
  page = await openHeldApp(browser, bundle, errors);
  expect(errors).toEqual([]);
});
afterEach(async () => {
  await page?.close();
});

type Calls = ReturnType<HeldHost['calls']>;
const host = () => page.evaluate(() => (window as unknown as { heldHost: HeldHost }).heldHost.calls());

/** The index of the first call named `name` not answered yet, waiting for it to be made. */
async function pending(name: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const at = (await host()).findIndex((c) => c.name === name && !c.answered);
    if (at >= 0) return at;
    await page.waitForTimeout(10);
  }
  throw new Error(`no ${name} call waits: ${JSON.stringify(await host())}`);
}

const answer = (index: number, value: unknown) => page.evaluate(([i, v]) => (window as unknown as { heldHost: HeldHost }).heldHost.answer(i as number, v), [index, value] as const);
const refuse = (index: number, error: ClientError) => page.evaluate(([i, e]) => (window as unknown as { heldHost: HeldHost }).heldHost.refuse(i as number, e as ClientError), [index, error] as const);
const named = (calls: Calls, name: string) => calls.filter((c) => c.name === name);

/** Long enough for a late answer to be rendered, were it taken (a promise, a render, a paint). */
const settled = () => page.waitForTimeout(200);

const in5min = () => new Date(Date.now() + 5 * 60_000).toISOString();
const GOLD = { id: 'dev-gold', kind: 'gold', label: 'Gold device (…6507)', lastUsed: true, connected: false } as const;
const SMS = { id: 'dev-sms', kind: 'sms', label: 'SMS (…1234)', lastUsed: false, connected: false } as const;
const IBKEY = { id: 'dev-ibkey', kind: 'ibkey', label: 'IB Key (iPhone of Jane)', lastUsed: false, connected: false } as const;

/** Steps of the login the host calls `loginId` (SPEC L6, C5): the first login of a test is login_a, the next login_b. */
function goldChallenge(code: string, loginId = 'login_a'): LoginStepView {
  return {
    status: 'challenge',
    loginId,
    expiresAt: in5min(),
    devices: [GOLD],
    challenge: { type: 'response_code', deviceId: GOLD.id, kind: 'gold', challenge: code, responseLength: 6, responseAlphabet: 'digits', pinOnDevice: false },
  };
}

function smsChallenge(masked: string, loginId = 'login_a'): LoginStepView {
  const past = new Date(Date.now() - 1000).toISOString();
  return {
    status: 'challenge',
    loginId,
    expiresAt: in5min(),
    devices: [SMS],
    challenge: { type: 'sms_code', deviceId: SMS.id, kind: 'sms', maskedNumber: masked, codeLength: 6, resendAvailableAt: past, expiresAt: in5min() },
  };
}

function selectStep(preselected: string, loginId = 'login_a'): LoginStepView {
  return { status: 'select_device', loginId, expiresAt: in5min(), devices: [GOLD, SMS], preselectedDeviceId: preselected };
}

const SESSION: SessionView = {
  expiresAt: new Date(Date.now() + 8 * 3600_000).toISOString(),
  user: { id: 'u1', username: 'demo.gold', displayName: 'Goldie' },
  account: { id: 'a1', number: 'U1000004', primaryUser: 'demo.gold' },
  authenticatedWith: { deviceId: GOLD.id, kind: 'gold', label: GOLD.label },
  clientKind: 'trading_platform',
  access: 'full',
  restrictions: [],
  restrictionDetails: [],
  autoRestart: { state: 'off', reason: 'not_set_up' },
};

const NOT_CURRENT: ClientError = { code: 'SLS_ERR_LOGIN_NOT_CURRENT', message: 'This login is no longer the current one: a newer login was started. Nothing was sent for it.' };
const NO_LOGIN: ClientError = { code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS', message: 'This login was ended by a newer one, or cancelled. Log in again.' };
const WRONG: ClientError = { code: 'SLS_ERR_WRONG_RESPONSE', message: 'Wrong response.', attemptsLeft: 2 };

/** Log in on the form; answers the password step with `step`. */
async function logIn(step: LoginStepView, username = 'demo.gold'): Promise<void> {
  await page.getByLabel(en.login.form.username, { exact: true }).fill(username);
  await page.getByLabel(en.login.form.password, { exact: true }).fill('secret-password');
  await page.getByLabel(en.login.form.password, { exact: true }).press('Enter');
  await answer(await pending('login'), step);
}

/** The screen shows no error line (role=alert with text). */
async function expectNoError(): Promise<void> {
  expect(await page.locator('[role="alert"] .error').count()).toBe(0);
}

const cancelChallenge = () => page.getByRole('button', { name: en.challenge.cancel, exact: true }).click();
const challengeShown = () => page.locator('output.challenge').innerText();

describe('a late answer of a step of a login the user left (SPEC L1–L5, C5)', () => {
  for (const [what, late] of [
    ['refused SLS_ERR_NO_LOGIN_IN_PROGRESS by the host', (i: number) => refuse(i, NO_LOGIN)],
    ['refused as a wrong response', (i: number) => refuse(i, WRONG)],
    ['signed in (slsd answered before the host let go)', (i: number) => answer(i, { status: 'signed_in', session: SESSION })],
    ['another challenge', (i: number) => answer(i, goldChallenge('999999'))],
  ] as const) {
    it(`response sent, Cancel, logged in again, the old response ${what}: the new login's screen stays, no error, not busy`, async () => {
      await logIn(goldChallenge('111111'));
      expect(await challengeShown()).toBe('111111');
      await page.locator('input[name="response"]').fill('123456');
      await page.locator('input[name="response"]').press('Enter');
      const oldRespond = await pending('respond');

      await cancelChallenge();
      await page.getByRole('button', { name: en.login.form.submit }).waitFor();
      await logIn(goldChallenge('222222', 'login_b'));
      expect(await challengeShown()).toBe('222222');
      // The new login's screen is not busy with the old login's step.
      await expect.poll(() => page.getByRole('button', { name: en.challenge.form.submit }).isEnabled()).toBe(true);

      await late(oldRespond);
      await settled();
      expect(await challengeShown()).toBe('222222');
      expect(await page.getByRole('button', { name: en.login.form.submit }).count()).toBe(0);
      await expectNoError();
      // The new login goes on: its response is sent.
      await page.locator('input[name="response"]').fill('654321');
      await page.locator('input[name="response"]').press('Enter');
      await pending('respond');
      // Each names the login whose screen sent it (SPEC L6, C5).
      expect(named(await host(), 'respond').map((c) => c.input)).toEqual([
        { loginId: 'login_a', response: '123456' },
        { loginId: 'login_b', response: '654321' },
      ]);
    });
  }

  it('device chosen, Cancel, logged in again, the old choice answers with its challenge: the new login stays on Select device', async () => {
    await logIn(selectStep(GOLD.id));
    await page.getByRole('heading', { name: en.login.selectDevice.title }).waitFor();
    await page.getByRole('button', { name: en.login.selectDevice.submit }).click();
    const oldSelect = await pending('selectDevice');

    await page.getByRole('button', { name: en.login.selectDevice.cancel }).click();
    await page.getByRole('button', { name: en.login.form.submit }).waitFor();
    await logIn(selectStep(SMS.id, 'login_b'));
    await page.getByRole('heading', { name: en.login.selectDevice.title }).waitFor();

    await answer(oldSelect, goldChallenge('111111'));
    await settled();
    expect(await page.getByRole('heading', { name: en.login.selectDevice.title }).count()).toBe(1);
    expect(await page.locator('output.challenge').count()).toBe(0);
    await expectNoError();
    expect(await page.getByRole('button', { name: en.login.selectDevice.submit }).isEnabled()).toBe(true);
  });

  it('device chosen, Cancel, logged in again, the old choice refused SLS_ERR_NO_LOGIN_IN_PROGRESS: no return to the form', async () => {
    await logIn(selectStep(GOLD.id));
    await page.getByRole('button', { name: en.login.selectDevice.submit }).click();
    const oldSelect = await pending('selectDevice');
    await page.getByRole('button', { name: en.login.selectDevice.cancel }).click();
    await page.getByRole('button', { name: en.login.form.submit }).waitFor();
    await logIn(selectStep(SMS.id, 'login_b'));

    await refuse(oldSelect, NO_LOGIN);
    await settled();
    expect(await page.getByRole('heading', { name: en.login.selectDevice.title }).count()).toBe(1);
    expect(await page.getByRole('button', { name: en.login.form.submit }).count()).toBe(0);
    await expectNoError();
  });

  it('SMS resend, Cancel, logged in again, the old resend answers late: no error, no "new code sent" on the new login', async () => {
    await logIn(smsChallenge('…1111'));
    await page.getByRole('button', { name: en.challenge.sms.resend }).click();
    const oldResend = await pending('resendCode');
    await cancelChallenge();
    await page.getByRole('button', { name: en.login.form.submit }).waitFor();
    await logIn(smsChallenge('…2222', 'login_b'));
    await page.getByText('…2222').waitFor();

    await refuse(oldResend, NO_LOGIN);
    await settled();
    await page.getByText('…2222').waitFor();
    await expectNoError();
    expect(await page.getByText(en.shell.newCodeSent).count()).toBe(0);
  });

  it('a response answered (signed in) after Cancel, with the form back: the form stays (SPEC L7)', async () => {
    await logIn(goldChallenge('111111'));
    await page.locator('input[name="response"]').fill('123456');
    await page.locator('input[name="response"]').press('Enter');
    const oldRespond = await pending('respond');
    await cancelChallenge();
    await answer(oldRespond, { status: 'signed_in', session: SESSION });
    await page.getByRole('button', { name: en.login.form.submit }).waitFor();
    await settled();
    expect(await page.getByRole('button', { name: en.login.form.submit }).count()).toBe(1);
    await expectNoError();
  });
});

describe('every step names the login its screen shows (SPEC L6, L5, C5)', () => {
  const pushChallenge = (loginId: string): LoginStepView => ({
    status: 'challenge',
    loginId,
    expiresAt: in5min(),
    devices: [IBKEY],
    challenge: { type: 'push', deviceId: IBKEY.id, kind: 'ibkey', matchNumber: 42, expiresAt: in5min() },
  });

  it('the device chosen, a new code, a response, the IB Key poll and Cancel each carry the id of the login shown', async () => {
    await logIn(selectStep(SMS.id, 'login_a'));
    await page.getByRole('button', { name: en.login.selectDevice.submit }).click();
    const select = await pending('selectDevice');
    expect((await host())[select]!.input).toEqual({ loginId: 'login_a', deviceId: SMS.id, mode: 'default' });
    await answer(select, smsChallenge('…1111', 'login_a'));
    await page.getByRole('button', { name: en.challenge.sms.resend }).click();
    const resend = await pending('resendCode');
    expect((await host())[resend]!.input).toEqual({ loginId: 'login_a' });
    await answer(resend, smsChallenge('…1111', 'login_a'));
    await page.locator('input[name="response"]').fill('123456');
    await page.locator('input[name="response"]').press('Enter');
    const respond = await pending('respond');
    expect((await host())[respond]!.input).toEqual({ loginId: 'login_a', response: '123456' });
    await refuse(respond, WRONG);
    await cancelChallenge();
    await page.getByRole('button', { name: en.login.form.submit }).waitFor();
    expect(named(await host(), 'cancelLogin').map((c) => c.input)).toEqual([{ loginId: 'login_a' }]);

    // The next login's IB Key poll names that login.
    await logIn(pushChallenge('login_b'));
    const poll = await pending('waitForApproval');
    expect((await host())[poll]!.input).toEqual({ loginId: 'login_b' });
    // Nothing the renderer sent was refused for its shape (the fake host checks the contract as the host does).
    expect(named(await host(), 'respond').every((c) => c.answered)).toBe(true);
  });

  it('a response refused SLS_ERR_LOGIN_NOT_CURRENT (a newer login began in another window), no session: the state is read again, the form says why, the user name kept', async () => {
    await logIn(goldChallenge('111111', 'login_a'));
    const before = named(await host(), 'getSession').length;
    await page.locator('input[name="response"]').fill('123456');
    await page.locator('input[name="response"]').press('Enter');
    await refuse(await pending('respond'), NOT_CURRENT);

    await page.getByRole('button', { name: en.login.form.submit }).waitFor();
    expect(named(await host(), 'getSession').length).toBe(before + 1);
    // The client's words, not the host's message nor "Something went wrong".
    await expect.poll(() => page.locator('[role="alert"] .error').innerText()).toBe(`${en.errors.loginNotCurrent.message} ${en.errors.loginNotCurrent.action}`);
    expect(await page.getByLabel(en.login.form.username, { exact: true }).inputValue()).toBe('demo.gold');
  });

  it('the IB Key poll refused SLS_ERR_LOGIN_NOT_CURRENT, and the other window signed in meanwhile: the state read again is the signed-in screen', async () => {
    await logIn(pushChallenge('login_a'));
    const poll = await pending('waitForApproval');
    await page.evaluate((s) => (window as unknown as { heldHost: HeldHost }).heldHost.reply('getSession', s), SESSION);
    await refuse(poll, NOT_CURRENT);
    await page.getByRole('button', { name: en.common.signedIn.accountSecurity, exact: true }).waitFor();
    await expectNoError();
    expect(await page.locator('output.challenge').count()).toBe(0);
  });

  it('refused as not current after the user already left that login: nothing is read again, the screen they went to stays', async () => {
    await logIn(goldChallenge('111111', 'login_a'));
    await page.locator('input[name="response"]').fill('123456');
    await page.locator('input[name="response"]').press('Enter');
    const old = await pending('respond');
    await cancelChallenge();
    await page.getByRole('button', { name: en.login.form.submit }).waitFor();
    await logIn(goldChallenge('222222', 'login_b'));
    const before = named(await host(), 'getSession').length;
    await refuse(old, NOT_CURRENT);
    await settled();
    expect(await challengeShown()).toBe('222222');
    await expectNoError();
    expect(named(await host(), 'getSession').length).toBe(before);
  });
});

describe('a step goes once, however often it is submitted (SPEC L1, L4, L6)', () => {
  it('Log In: two submits before the form re-renders send one login', async () => {
    await page.getByLabel(en.login.form.username, { exact: true }).fill('demo.gold');
    await page.getByLabel(en.login.form.password, { exact: true }).fill('secret-password');
    await page.evaluate(() => {
      const form = document.querySelector('form')!;
      form.requestSubmit();
      form.requestSubmit();
    });
    await pending('login');
    await settled();
    expect(named(await host(), 'login')).toHaveLength(1);
  });

  it('a response: two submits before the screen re-renders send one response', async () => {
    await logIn(goldChallenge('111111'));
    await page.locator('input[name="response"]').fill('123456');
    await page.evaluate(() => {
      const form = document.querySelector('form.response-form') as HTMLFormElement;
      form.requestSubmit();
      form.requestSubmit();
    });
    await pending('respond');
    await settled();
    expect(named(await host(), 'respond')).toHaveLength(1);
  });

  it('Enter pressed twice on a response: Submit is disabled while it waits, one response goes', async () => {
    await logIn(goldChallenge('111111'));
    const field = page.locator('input[name="response"]');
    await field.fill('123456');
    await field.press('Enter');
    await field.press('Enter');
    await pending('respond');
    expect(await page.getByRole('button', { name: en.challenge.form.checking }).isDisabled()).toBe(true);
    await settled();
    expect(named(await host(), 'respond')).toHaveLength(1);
  });
});
