/**
 * The renderer's screens, behaviour and accessibility, through the browser host, against the fake
 * slsd (tests/fixtures/fake-slsd.ts), which reaches any state at once. The same flows against the
 * real slsd are in login.spec.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBrowserHost } from '../../electron/browser-host.ts';
import { createMemoryKeychain } from '../../native/keychain.ts';
import { createConfSettingsStore } from '../../native/settings.ts';
import { capsLockOn, fillLogin } from '../fixtures/ui.ts';
import { FAKE_PASSWORD } from '../fixtures/fake-slsd.ts';
import { expectAccessible } from './axe.ts';
import { expect, test } from './fixtures.ts';

test.describe('login screen (SPEC L1, C1, C5)', () => {
  test('is accessible in both themes, warns about Caps Lock, shows and hides the password', async ({ fakeDesktop: { page } }) => {
    await expectAccessible(page, 'login (dark)');
    const password = page.getByLabel('Password', { exact: true });
    await password.fill('secret');
    await expect(password).toHaveAttribute('type', 'password');
    await page.getByRole('button', { name: 'Show password' }).click();
    await expect(password).toHaveAttribute('type', 'text');
    await expect(page.getByRole('button', { name: 'Hide password' })).toHaveAttribute('aria-pressed', 'true');
    await capsLockOn(page);
    await expect(page.getByText('Caps Lock is on')).toBeVisible();
    await expect(password).toHaveAttribute('aria-describedby', /caps/);
    await page.getByRole('button', { name: 'More ▾' }).click();
    await page.getByRole('button', { name: 'Light theme' }).click();
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
    await expectAccessible(page, 'login (light, More open)');
  });

  test('logs in with the keyboard alone: Tab between fields, Enter submits (SPEC C5)', async ({ fakeDesktop: { page, fake } }) => {
    await page.keyboard.type('demo.gold');
    await page.keyboard.press('Tab');
    await page.keyboard.type(FAKE_PASSWORD);
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { name: 'Gold device' })).toBeVisible();
    await expect(page.getByLabel(/Enter the response/)).toBeFocused();
    await page.keyboard.type(fake.expectedResponse() ?? '');
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();
  });

  test('one generic line for a wrong password; the lockout says until when in New York time (SPEC L1, L6)', async ({ fakeDesktop: { page, fake } }) => {
    await fillLogin(page, 'demo.gold', 'wrong');
    await expect(page.getByRole('alert')).toHaveText('The user name or password is incorrect. Check both and try again.');
    await fillLogin(page, 'nobody.here', 'wrong');
    await expect(page.getByRole('alert')).toHaveText('The user name or password is incorrect. Check both and try again.');
    const until = new Date(Date.now() + 2 * 3_600_000);
    fake.lockUser('demo.gold', until);
    await fillLogin(page, 'demo.gold', FAKE_PASSWORD);
    const hhmm = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(until);
    await expect(page.getByRole('alert')).toContainText(`Too many failed attempts. Try again after`);
    await expect(page.getByRole('alert')).toContainText(`${hhmm} (New York time) or call client services.`);
    await expectAccessible(page, 'lockout');
  });

  test('says so when the server cannot be reached, and the server address can be changed', async ({ fakeDesktop: { page, settings } }) => {
    await page.getByRole('button', { name: /change server address/i }).click();
    await page.getByLabel('Server address').fill('http://127.0.0.1:1');
    await fillLogin(page, 'demo.gold', FAKE_PASSWORD);
    await expect(page.getByRole('alert')).toContainText('Cannot reach the SLS server.');
    expect(settings.read().serverAddress).toBe('http://127.0.0.1:1');
  });
});

test.describe('the browser host page (SPEC C3)', () => {
  test('loads with no failed request (the icon is served) and no console error', async ({ fakeDesktop: { page, host } }) => {
    const failed: string[] = [];
    const errors: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.reload();
    await expect(page.getByRole('button', { name: 'Log In' })).toBeVisible();
    await expect(page.locator('link[rel="icon"]')).toHaveAttribute('href', /\.svg$/);
    const icon = await page.request.get(new URL(await page.locator('link[rel="icon"]').getAttribute('href') ?? '', page.url()).href);
    expect(icon.status()).toBe(200);
    expect(failed).toEqual([]);
    expect(errors).toEqual([]);
    expect(page.url().startsWith(host.origin)).toBe(true);
  });

  test('opened without its launch token: says this window was not opened by SLS Desktop, not that a connection was lost', async ({ fakeDesktop: { page, host } }) => {
    // A new tab: no token in its address, none in its sessionStorage.
    const tab = await page.context().newPage();
    await tab.goto(`${host.origin}/`);
    await expect(tab.getByRole('alert')).toHaveText('This window was not opened by SLS Desktop. Start SLS Desktop and use the window it opens, or the full address it prints.');
    await expect(tab.getByText('connection', { exact: false })).toHaveCount(0);
    await tab.close();
  });

  test('the host cannot check that the window is of its OS user (close 4002): says so and to restart, not that a connection was lost', async ({ page }) => {
    test.skip(process.platform !== 'linux', 'the owner check reads /proc/net (Linux)');
    // No tcp or tcp6 table where the host looks: the socket's owner cannot be found.
    const dir = mkdtempSync(join(tmpdir(), 'sls-e2e-owner-'));
    const host = await startBrowserHost({ settings: createConfSettingsStore({ dir }), keychain: createMemoryKeychain(), procNetDir: dir, log: () => {} });
    try {
      await page.goto(host.url);
      await expect(page.getByRole('alert')).toHaveText('SLS Desktop could not check that this window belongs to your user account. Restart SLS Desktop.');
    } finally {
      await host.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test.describe('second-factor screens (SPEC L2–L5, D3)', () => {
  test('every screen passes axe, and the user can switch device mid-login', async ({ fakeDesktop: { page, fake } }) => {
    await fillLogin(page, 'demo.m2fs', FAKE_PASSWORD);
    await expect(page.getByRole('heading', { name: 'Select Second Factor Device' })).toBeVisible();
    await expectAccessible(page, 'select device');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText('Enter your PIN on the card.')).toBeVisible();
    await expectAccessible(page, 'challenge code (DSC+)');
    await page.getByRole('button', { name: 'Use another device' }).click();
    await page.getByRole('combobox', { name: 'Device' }).selectOption({ label: 'IB Key (iPhone of Jane)' });
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText('waiting for approval')).toBeVisible();
    await expectAccessible(page, 'IB Key notification');
    await page.getByRole('button', { name: "Didn't receive the notification?" }).click();
    await expect(page.getByRole('heading', { name: 'IB Key — challenge code' })).toBeVisible();
    await page.getByRole('button', { name: 'Use another device' }).click();
    await page.getByRole('combobox', { name: 'Device' }).selectOption({ label: 'Security Code Card (…0042)' });
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText('Enter the codes at index numbers')).toBeVisible();
    await expectAccessible(page, 'index numbers');
    await page.getByRole('button', { name: 'Use another device' }).click();
    await page.getByRole('combobox', { name: 'Device' }).selectOption({ label: 'SMS (+1 ••• ••• ••12)' });
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText('A code was sent to')).toBeVisible();
    await expectAccessible(page, 'SMS code');
    await page.getByRole('textbox', { name: 'Code' }).fill(fake.expectedResponse() ?? '');
    await page.getByRole('button', { name: 'Submit' }).click();
    await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();
    await expect(page.getByText('SMS (+1 ••• ••• ••12)')).toBeVisible();
    await expectAccessible(page, 'signed in');
  });

  test('the Security Code Card warns when nearly used up (SPEC D3)', async ({ fakeDesktop: { page } }) => {
    await fillLogin(page, 'demo.scc', FAKE_PASSWORD);
    await expect(page.getByRole('note')).toHaveText(/This card has 9 unused cells left\./);
  });

  test('the response field takes only what the device can show: Platinum letters, length from the challenge', async ({ fakeDesktop: { page } }) => {
    await fillLogin(page, 'demo.platinum', FAKE_PASSWORD);
    const field = page.getByLabel(/Enter the response/);
    // A pasted code with spaces and dashes still fits: no maxLength cuts it before cleaning.
    await field.fill('ac-e bx f01234567');
    await expect(field).toHaveValue('ACEF0123');
    await expect(page.getByText('8 characters: 0–9 and A C E F H P')).toBeVisible();
  });

  test('a wrong response counts down; the third ends the login back at the login form (SPEC L6)', async ({ fakeDesktop: { page } }) => {
    await fillLogin(page, 'demo.dsc', FAKE_PASSWORD);
    const field = page.getByLabel(/Enter the response/);
    for (const left of ['2 attempts left', '1 attempt left']) {
      await field.fill('000000');
      await field.press('Enter');
      await expect(page.getByRole('alert')).toContainText(left);
    }
    await expectAccessible(page, 'wrong response');
    await field.fill('000000');
    await field.press('Enter');
    await expect(page.getByRole('button', { name: 'Log In' })).toBeVisible();
    await expect(page.getByRole('alert')).toContainText('This login has ended after 3 wrong responses. Log in again.');
  });

  test('SMS resend is disabled with a countdown, then sends a new code (SPEC L4)', async ({ fakeDesktop: { page, fake } }) => {
    await fillLogin(page, 'demo.sms', FAKE_PASSWORD);
    const resend = page.getByRole('button', { name: /Resend code/ });
    await expect(resend).toBeDisabled();
    await expect(resend).toHaveText(/Resend code \(0:0\d\)/);
    const first = fake.expectedResponse();
    await expect(resend).toBeEnabled({ timeout: 5_000 });
    await resend.click();
    await expect(page.getByRole('status').filter({ hasText: 'A new code was sent.' })).toBeVisible();
    expect(fake.expectedResponse()).not.toBe(first);
    await expect(page.getByRole('button', { name: /Resend code/ })).toBeDisabled();
  });

  test('temporary passcode screen says until when the passcode gives access (SPEC T1)', async ({ fakeDesktop: { page } }) => {
    await fillLogin(page, 'demo.temp', FAKE_PASSWORD);
    await expect(page.getByText(/The passcode gives access until .* \(New York time\)/)).toBeVisible();
    await expectAccessible(page, 'temporary passcode');
  });
});

test.describe('Reset app data (SPEC C4)', () => {
  test('asks first, then clears settings and the keychain entries, and says so', async ({ fakeDesktop: { page, fake, settings, keychain } }) => {
    await keychain.set('restart-token:demo.gold', 'not-a-real-token');
    settings.update({ theme: 'light' });
    await fillLogin(page, 'demo.gold', FAKE_PASSWORD);
    // The challenge screen first: the fake knows the expected response only once it issued the challenge.
    await expect(page.getByLabel(/Enter the response/)).toBeVisible();
    await page.getByLabel(/Enter the response/).fill(fake.expectedResponse() ?? '');
    await page.getByRole('button', { name: 'Submit' }).click();
    await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();
    expect(settings.read().lastUsername).toBe('demo.gold');
    await page.getByRole('button', { name: 'More ▾' }).click();
    await page.getByRole('button', { name: 'Reset app data…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reset app data?' });
    await expect(dialog).toBeVisible();
    await expectAccessible(page, 'reset confirm');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(settings.read().lastUsername).toBe('demo.gold');
    await page.getByRole('button', { name: 'Reset app data…' }).click();
    await dialog.getByRole('button', { name: 'Reset app data' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'App data was reset' })).toContainText('1 keychain entry removed');
    await expect(page.getByLabel('Username', { exact: true })).toHaveValue('');
    expect(settings.read()).toMatchObject({ lastUsername: null, lastDeviceByUser: {}, theme: 'dark' });
    expect(await keychain.accounts()).toEqual([]);
  });
});

test.describe('IB Key notification (SPEC L4, L7)', () => {
  test('signs in when the phone approves, while the screen waits with the number and a countdown', async ({ fakeDesktop: { page, fake } }) => {
    await fillLogin(page, 'demo.ibkey', FAKE_PASSWORD);
    await expect(page.getByText('waiting for approval')).toBeVisible();
    await expect(page.locator('.challenge.match')).toHaveText(/^\d\d$/);
    await expect(page.locator('.countdown')).toHaveText(/^[01]:\d\d$/);
    fake.answerPush('approved');
    await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();
    await expect(page.locator('dt:text-is("Signed in with") + dd')).toHaveText('IB Key (iPhone of Ivy)');
  });

  test('slsd briefly unavailable while waiting: the screen says so, keeps waiting, and the approval still signs in (N1)', async ({ fakeDesktop: { page, fake } }) => {
    await fillLogin(page, 'demo.ibkey', FAKE_PASSWORD);
    await expect(page.getByText('waiting for approval')).toBeVisible();
    fake.statusUnavailable(true);
    await expect(page.getByRole('alert')).toHaveText('The SLS server cannot complete this right now. Nothing was changed. Try again in a moment.');
    await expect(page.getByText('waiting for approval')).toBeVisible();
    fake.statusUnavailable(false);
    // The alert region stays (a live region); its words go as soon as slsd answers again.
    await expect(page.getByRole('alert')).toBeEmpty();
    fake.answerPush('approved');
    await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();
  });

  test('a denial on the phone ends the login with the knowledge-base wording', async ({ fakeDesktop: { page, fake } }) => {
    await fillLogin(page, 'demo.ibkey', FAKE_PASSWORD);
    await expect(page.getByText('waiting for approval')).toBeVisible();
    fake.answerPush('denied');
    await expect(page.getByRole('button', { name: 'Log In' })).toBeVisible();
    await expect(page.getByRole('alert')).toHaveText("The request was denied on your phone. If that wasn't you, your account is protected: call client services.");
  });

  test('a wrong number chosen on the phone ends the login (push fatigue)', async ({ fakeDesktop: { page, fake } }) => {
    await fillLogin(page, 'demo.ibkey', FAKE_PASSWORD);
    await expect(page.getByText('waiting for approval')).toBeVisible();
    fake.answerPush('wrong_number');
    await expect(page.getByRole('alert')).toContainText('did not match the one on this screen');
  });
});
