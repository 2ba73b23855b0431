/**
 * Full logins against the real slsd (started by the fixture with `--demo` on a temp data dir), with
 * every device kind, the M2FS drop-down, switching device, lockout, SMS resend and Reset app data.
 * Responses come from the demo files: `slsctl token respond`, the card JSON, `slsctl sms`.
 */
import type { Page } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { createOsKeychain } from '../../native/keychain.ts';
import { fillLogin } from '../fixtures/ui.ts';
import { expectAccessible } from './axe.ts';
import { cardCodes, demoDevice, deviceResponse, latestSmsCode, readDemo } from './demo.ts';
import type { Demo } from './demo.ts';
import { expect, test } from './fixtures.ts';
import type { Slsd } from './fixtures.ts';

/** The challenge shown on a challenge-code screen, as the user reads it. */
async function shownChallenge(page: Page): Promise<string> {
  return (await page.locator('output.challenge').innerText()).replace(/\s+/g, '');
}

async function submitResponse(page: Page, response: string): Promise<void> {
  const field = page.locator('input[name="response"]');
  await field.fill(response);
  await field.press('Enter');
}

async function expectSignedIn(page: Page, demo: Demo, username: string, deviceLabel: RegExp | string): Promise<void> {
  await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();
  const user = demo.users.find((u) => u.username === username)!;
  await expect(page.getByText(`(${username})`)).toBeVisible();
  await expect(page.getByText(user.account)).toBeVisible();
  await expect(page.locator('dt:text-is("Signed in with") + dd')).toHaveText(deviceLabel);
}

/** IB Key may be offered as a notification (push) or straight as a challenge code. */
async function ibKeyChallengeCode(page: Page): Promise<void> {
  const push = page.getByRole('button', { name: "Didn't receive the notification?" });
  const code = page.getByRole('heading', { name: 'IB Key — challenge code' });
  await expect(push.or(code)).toBeVisible();
  if (await push.isVisible()) await push.click();
  await expect(code).toBeVisible();
}

test.describe('login with each device kind against slsd (SPEC L1–L5, D2, D3)', () => {
  for (const kind of ['gold', 'platinum', 'dsc'] as const) {
    test(`legacy ${kind} device: challenge code, response from the token, signed in`, async ({ desktop: { page }, slsd }) => {
      const demo = readDemo(slsd);
      const user = `demo.${kind}`;
      const device = demoDevice(demo, user, kind);
      await fillLogin(page, user, demo.password);
      await expect(page.getByText(device.label)).toBeVisible();
      const response = await deviceResponse(slsd, device, await shownChallenge(page));
      await submitResponse(page, response);
      await expectSignedIn(page, demo, user, device.label);
    });
  }

  test('DSC+ typed by hand: PIN on the card, challenge, 8-digit response (SPEC D2, C2 unplugged)', async ({ desktop: { page }, slsd }) => {
    const demo = readDemo(slsd);
    const device = demoDevice(demo, 'demo.dscplus', 'dscplus');
    await fillLogin(page, 'demo.dscplus', demo.password);
    await expect(page.getByText('Enter your PIN on the card.')).toBeVisible();
    const challenge = await shownChallenge(page);
    expect(challenge).toMatch(/^\d{6}$/);
    await submitResponse(page, await deviceResponse(slsd, device, challenge));
    await expectSignedIn(page, demo, 'demo.dscplus', device.label);
  });

  test('IB Key offline: challenge code answered by the app (SPEC K2)', async ({ desktop: { page }, slsd }) => {
    const demo = readDemo(slsd);
    const device = demoDevice(demo, 'demo.ibkey', 'ibkey');
    await fillLogin(page, 'demo.ibkey', demo.password);
    await ibKeyChallengeCode(page);
    await submitResponse(page, await deviceResponse(slsd, device, await shownChallenge(page)));
    await expectSignedIn(page, demo, 'demo.ibkey', device.label);
  });

  test('Security Code Card: the codes at the two index numbers, from the card', async ({ desktop: { page }, slsd }) => {
    const demo = readDemo(slsd);
    await fillLogin(page, 'demo.scc', demo.password);
    const indexes = page.locator('.challenge.indexes');
    await expect(indexes).toBeVisible();
    const [a, b] = (await indexes.innerText()).match(/\d+/g)!.map(Number);
    await submitResponse(page, cardCodes(slsd, 'demo.scc', [a!, b!]));
    await expectSignedIn(page, demo, 'demo.scc', demoDevice(demo, 'demo.scc', 'scc').label);
  });

  test('SMS: masked number, the code from the outbox (SPEC P5)', async ({ desktop: { page }, slsd }) => {
    const demo = readDemo(slsd);
    const device = demoDevice(demo, 'demo.sms', 'sms');
    await fillLogin(page, 'demo.sms', demo.password);
    await expect(page.getByText(/A code was sent to \+1 ••• ••• ••07\./)).toBeVisible();
    await submitResponse(page, await latestSmsCode(slsd, device.mobileNumber!));
    await expectSignedIn(page, demo, 'demo.sms', device.label);
  });

  test('temporary passcode from client services (SPEC T1)', async ({ desktop: { page }, slsd }) => {
    const demo = readDemo(slsd);
    const device = demoDevice(demo, 'demo.temp', 'temp_passcode');
    await fillLogin(page, 'demo.temp', demo.password);
    await expect(page.getByRole('heading', { name: 'Temporary passcode' })).toBeVisible();
    await submitResponse(page, device.passcode!);
    await expectSignedIn(page, demo, 'demo.temp', 'Temporary passcode');
  });
});

test.describe('M2FS against slsd (SPEC L2, L5)', () => {
  test('drop-down of active devices, switch mid-login, then the device last used is preselected next time', async ({ desktop: { page }, slsd }) => {
    const demo = readDemo(slsd);
    const m2fs = demo.users.find((u) => u.username === 'demo.m2fs')!;
    await fillLogin(page, 'demo.m2fs', demo.password);
    const select = page.getByRole('combobox', { name: 'Device' });
    await expect(select).toBeVisible();
    await expect(select.locator('option')).toHaveText(m2fs.devices.map((d) => d.label));
    await expectAccessible(page, 'select device (slsd)');
    // Start with the card, then switch to IB Key from the card's screen.
    await select.selectOption({ label: demoDevice(demo, 'demo.m2fs', 'scc').label });
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.locator('.challenge.indexes')).toBeVisible();
    await page.getByRole('button', { name: 'Use another device' }).click();
    await select.selectOption({ label: demoDevice(demo, 'demo.m2fs', 'ibkey').label });
    await page.getByRole('button', { name: 'Continue' }).click();
    await ibKeyChallengeCode(page);
    const ibkey = demoDevice(demo, 'demo.m2fs', 'ibkey');
    await submitResponse(page, await deviceResponse(slsd, ibkey, await shownChallenge(page)));
    await expectSignedIn(page, demo, 'demo.m2fs', ibkey.label);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.getByLabel('Username', { exact: true })).toHaveValue('demo.m2fs');
    await page.getByLabel('Password', { exact: true }).fill(demo.password);
    await page.getByRole('button', { name: 'Log In' }).click();
    await expect(page.getByRole('combobox', { name: 'Device' })).toHaveValue(ibkey.deviceId);
  });
});

test.describe('remember user name (SPEC C1)', () => {
  test('the first login on this computer, cancelled at the second factor: the form keeps the user name', async ({ desktop: { page }, slsd }) => {
    const demo = readDemo(slsd);
    await expect(page.getByLabel('Username', { exact: true })).toHaveValue('');
    await fillLogin(page, 'demo.gold', demo.password);
    await expect(page.getByRole('heading', { name: 'Gold device' })).toBeVisible();
    await page.keyboard.press('Escape');
    await expect(page.getByRole('button', { name: 'Log In' })).toBeVisible();
    await expect(page.getByLabel('Username', { exact: true })).toHaveValue('demo.gold');
  });
});

test.describe('throttling against slsd (SPEC L6)', () => {
  test('ten failures lock the user; the client says until when, in New York time', async ({ desktop: { page } }) => {
    // Counted per user name whether or not it exists, so a fresh name locks without touching the demo users.
    const name = `lock.${randomBytes(3).toString('hex')}`;
    for (let i = 0; i < 10; i++) {
      await fillLogin(page, name, 'wrong-password');
      await expect(page.getByRole('alert')).not.toBeEmpty();
    }
    await fillLogin(page, name, 'wrong-password');
    await expect(page.getByRole('alert')).toContainText(/Too many failed attempts\. Try again after (\w{3}, \w{3} \d{1,2}, )?\d\d:\d\d \(New York time\) or call client services\./);
    await expectAccessible(page, 'lockout (slsd)');
  });

  test('a wrong response says how many attempts are left', async ({ desktop: { page }, slsd }) => {
    const demo = readDemo(slsd);
    await fillLogin(page, 'demo.gold', demo.password);
    await submitResponse(page, '00000000');
    await expect(page.getByRole('alert')).toContainText(/attempts? left in this login/);
  });
});

test.describe('SMS resend against slsd (SPEC L4, L6)', () => {
  test.setTimeout(60_000);
  test('Resend is disabled during the cool-down, then sends a new code that signs in', async ({ desktop: { page }, slsd }) => {
    const demo = readDemo(slsd);
    const to = demoDevice(demo, 'demo.sms', 'sms').mobileNumber!;
    await fillLogin(page, 'demo.sms', demo.password);
    const resend = page.getByRole('button', { name: /Resend code/ });
    await expect(resend).toBeDisabled();
    await expect(resend).toHaveText(/Resend code \(0:[0-3]\d\)/);
    const first = await latestSmsCode(slsd, to);
    await expect(resend).toBeEnabled({ timeout: 40_000 });
    await resend.click();
    await expect(page.getByText('A new code was sent.')).toBeVisible();
    await expect(resend).toBeDisabled();
    const second = await latestSmsCode(slsd, to);
    await submitResponse(page, second);
    await expectSignedIn(page, demo, 'demo.sms', 'SMS');
    test.info().annotations.push({ type: 'codes', description: first === second ? 'same code resent' : 'new code' });
  });
});

test.describe('auto-restart that did not sign in at the start (SPEC L8)', () => {
  test('the token was revoked since: the login form says so in one calm line, in the language shown, never the token', async ({ desktop: { page, settings, keychain }, slsd }) => {
    const demo = readDemo(slsd);
    await fillLogin(page, 'demo.gold', demo.password);
    await submitResponse(page, await deviceResponse(slsd, demoDevice(demo, 'demo.gold', 'gold'), await shownChallenge(page)));
    await expectSignedIn(page, demo, 'demo.gold', /Gold/);
    const stored = JSON.parse((await keychain.get(`restart-token:${slsd.url}`))!) as { restartToken: string };
    await slsd.slsctl('restart', 'revoke', '--user', 'demo.gold');

    // The next start on this computer: the same settings and keychain, a new host.
    const { startBrowserHost } = await import('../../electron/browser-host.ts');
    const next = await startBrowserHost({ settings, keychain });
    try {
      await page.goto(next.url);
      await expect(page.getByRole('button', { name: 'Log In' })).toBeVisible();
      const line = page.getByRole('status').filter({ hasText: 'Auto-restart' });
      await expect(line).toHaveText('Auto-restart did not sign you in: it is no longer valid. Log in to turn it on again.');
      // Calm: news, not an error; the user name remembered, the focus where the login goes on.
      await expect(page.getByRole('alert').filter({ hasText: 'Auto-restart' })).toHaveCount(0);
      await expect(page.getByLabel('Username', { exact: true })).toHaveValue('demo.gold');
      await expect(page.getByLabel('Password', { exact: true })).toBeFocused();
      expect(await page.content()).not.toContain(stored.restartToken);
      await expectAccessible(page, 'login after auto-restart refused');
      // The words follow the language chosen (UI.md More ▾ → Language).
      await page.getByRole('button', { name: 'More ▾' }).click();
      await page.getByLabel('Language').selectOption({ label: 'Deutsch' });
      await expect(page.getByRole('status').filter({ hasText: 'Auto-Neustart' })).toHaveText(/^Der Auto-Neustart hat Sie nicht angemeldet: Er ist nicht mehr gültig\./);
    } finally {
      await next.close();
    }
  });
});

test.describe('Reset app data against slsd and the OS keychain (SPEC C4)', () => {
  test('clears settings and the app keychain entries', async ({ slsd, page }) => {
    const service = `SLS Desktop e2e ${randomBytes(4).toString('hex')}`;
    const keychain = createOsKeychain(service);
    test.skip(!(await keychain.available()), 'No Secret Service on this machine: run under tests/fixtures/with-keyring.sh to include the OS keychain');
    await keychain.set('restart-token:demo.temp', 'e2e-not-a-token');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { createConfSettingsStore } = await import('../../native/settings.ts');
    const { startBrowserHost } = await import('../../electron/browser-host.ts');
    const dir = mkdtempSync(join(tmpdir(), 'sls-e2e-reset-'));
    const settings = createConfSettingsStore({ dir });
    settings.update({ serverAddress: slsd.url, theme: 'light' });
    const host = await startBrowserHost({ settings, keychain });
    try {
      await page.goto(host.url);
      await page.getByRole('button', { name: 'More ▾' }).click();
      await page.getByRole('button', { name: 'Reset app data…' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Reset app data' }).click();
      await expect(page.getByText(/App data was reset: settings cleared, 1 keychain entry removed\./)).toBeVisible();
      expect(await keychain.accounts()).toEqual([]);
      expect(settings.read().theme).toBe('dark');
    } finally {
      await keychain.clear();
      await host.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

export type { Slsd };
