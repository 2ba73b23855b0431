/**
 * `npm run screenshots`: a PNG of every screen of SLS Desktop into screenshots/.
 *
 * Drives the real renderer in Debian's Chromium through the browser host, against the in-process
 * fake slsd (tests/fixtures/fake-slsd.ts), which can put a user in any state at once (a lock until
 * a given time, a nearly used-up card). Window size 420×560, as UI.md sketches it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import type { Page } from '@playwright/test';
import { startBrowserHost } from '../electron/browser-host.ts';
import { createMemoryKeychain } from '../native/keychain.ts';
import { createConfSettingsStore } from '../native/settings.ts';
import { FAKE_PASSWORD, startFakeSlsd } from '../tests/fixtures/fake-slsd.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../tests/fixtures/chromium.ts';
import { capsLockOn } from '../tests/fixtures/ui.ts';
import { accountScreenshots } from './screenshots-account.ts';
import { dscplusScreenshots } from './screenshots-dscplus.ts';

const out = join(process.cwd(), 'screenshots');
mkdirSync(out, { recursive: true });
execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });

const fake = await startFakeSlsd({ resendCooldownMs: 30_000 });
const configDir = mkdtempSync(join(tmpdir(), 'sls-shots-'));
const settings = createConfSettingsStore({ dir: configDir });
settings.update({ serverAddress: fake.url });
const bh = await startBrowserHost({ settings, keychain: createMemoryKeychain() });
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
const context = await browser.newContext({ viewport: { width: 420, height: 560 }, reducedMotion: 'reduce' });
const shots: string[] = [];

async function shot(page: Page, name: string): Promise<void> {
  const path = join(out, `${name}.png`);
  await page.screenshot({ path });
  shots.push(path);
}

async function open(logIn = 'Log In'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(bh.url);
  await page.getByRole('button', { name: logIn, exact: true }).waitFor();
  return page;
}

async function login(page: Page, user: string, password = FAKE_PASSWORD): Promise<void> {
  await page.getByLabel('Username', { exact: true }).fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log In' }).click();
}

try {
  let page = await open();
  await shot(page, '01-login');
  await page.getByLabel('Username', { exact: true }).fill('demo.gold');
  await page.getByLabel('Password', { exact: true }).fill('Demo-Pass');
  await page.getByRole('button', { name: 'Show password' }).click();
  await capsLockOn(page);
  await page.getByText('Caps Lock is on').waitFor();
  await shot(page, '02-login-caps-lock-show-password');
  await page.getByRole('button', { name: /change server address/i }).click();
  await page.getByRole('button', { name: 'Log In' }).click();
  await page.getByText('The user name or password is incorrect.').waitFor();
  await shot(page, '03-login-wrong-password');
  await page.close();

  fake.lockUser('demo.platinum', new Date(Date.now() + 3 * 3_600_000));
  page = await open();
  await login(page, 'demo.platinum');
  await page.getByText('Too many failed attempts.').waitFor();
  await shot(page, '04-lockout');
  fake.lockUser('demo.platinum', new Date(0));
  await page.close();

  page = await open();
  await login(page, 'demo.m2fs');
  await page.getByRole('heading', { name: 'Select Second Factor Device' }).waitFor();
  await shot(page, '05-select-device');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByText('Enter your PIN on the card.').waitFor();
  await shot(page, '06-challenge-dscplus');
  await page.getByRole('button', { name: 'Use another device' }).click();
  await page.getByRole('combobox', { name: 'Device' }).selectOption({ label: 'IB Key (iPhone of Jane)' });
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByText('waiting for approval').waitFor();
  await shot(page, '07-ibkey-notification');
  await page.getByRole('button', { name: "Didn't receive the notification?" }).click();
  await page.getByRole('heading', { name: 'IB Key — challenge code' }).waitFor();
  await shot(page, '08-ibkey-challenge-code');
  await page.getByRole('button', { name: 'Use another device' }).click();
  await page.getByRole('combobox', { name: 'Device' }).selectOption({ label: 'SMS (+1 ••• ••• ••12)' });
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByText('A code was sent to').waitFor();
  await shot(page, '09-sms-code');
  await page.close();

  page = await open();
  await login(page, 'demo.scc');
  await page.getByText('Enter the codes at index numbers').waitFor();
  await shot(page, '10-index-numbers-nearly-used-up');
  await page.close();

  page = await open();
  await login(page, 'demo.platinum');
  await page.getByRole('heading', { name: 'Platinum device' }).waitFor();
  await page.getByLabel(/Enter the response/).fill('ACE');
  await page.getByRole('button', { name: 'Submit' }).click();
  await shot(page, '11-challenge-platinum-too-short');
  await page.getByLabel(/Enter the response/).fill('ACEF0000');
  await page.getByRole('button', { name: 'Submit' }).click();
  await page.getByText('attempts left').waitFor();
  await shot(page, '12-wrong-response');
  await page.close();

  page = await open();
  await login(page, 'demo.temp');
  await page.getByRole('heading', { name: 'Temporary passcode' }).waitFor();
  await shot(page, '13-temporary-passcode');
  await page.getByRole('textbox', { name: 'Temporary passcode' }).fill(fake.expectedResponse() ?? '');
  await page.getByRole('button', { name: 'Submit' }).click();
  await page.getByRole('heading', { name: 'Signed in' }).waitFor();
  await shot(page, '14-signed-in');
  await page.getByRole('button', { name: 'More ▾' }).click();
  await shot(page, '15-more-menu');
  await page.getByRole('button', { name: 'Reset app data…' }).click();
  await page.getByRole('dialog').waitFor();
  await shot(page, '16-reset-app-data-confirm');
  await page.getByRole('button', { name: 'Reset app data', exact: true }).click();
  await page.getByText('App data was reset').waitFor();
  await shot(page, '17-after-reset');
  await page.close();

  settings.update({ serverAddress: fake.url }); // Reset app data just put it back to the default
  // SPEC C1, C5: the notice a few minutes before the session ends (the fake's sessions last 12 h: this
  // context's clock moves on; a context of its own, since the clock is the context's, not the page's).
  const later = await browser.newContext({ viewport: { width: 420, height: 560 }, reducedMotion: 'reduce' });
  page = await later.newPage();
  await page.clock.install();
  await page.goto(bh.url);
  await login(page, 'demo.gold');
  await page.getByLabel(/Enter the response/).fill(fake.expectedResponse() ?? '');
  await page.getByRole('button', { name: 'Submit' }).click();
  await page.getByRole('heading', { name: 'Signed in' }).waitFor();
  await page.clock.fastForward(12 * 3_600_000 - 4 * 60_000);
  await page.getByText('Your session ends at').waitFor();
  await shot(page, '17b-session-ending');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Log In' }).waitFor();
  await later.close();

  page = await open();
  await login(page, 'demo.ibkey');
  await page.getByText('waiting for approval').waitFor();
  fake.answerPush('denied');
  await page.getByText('The request was denied on your phone.').waitFor();
  await shot(page, '18-ibkey-denied');
  await page.close();

  settings.update({ serverAddress: fake.url, theme: 'light' });
  page = await open();
  await shot(page, '19-login-light');
  await login(page, 'demo.dsc');
  await page.getByRole('heading', { name: 'Digital Security Card' }).waitFor();
  await shot(page, '20-challenge-dsc-light');
  await page.close();

  // UI.md "More: language": German, chosen in the More menu (kept in the settings).
  settings.update({ serverAddress: fake.url, theme: 'dark', language: 'de' });
  page = await open('Anmelden');
  await page.getByRole('button', { name: 'Mehr ▾' }).click();
  await shot(page, '20b-login-german-more-menu');
  await page.getByRole('button', { name: 'Mehr ▾' }).click();
  await page.getByLabel('Benutzername', { exact: true }).fill('demo.gold');
  await page.getByLabel('Passwort', { exact: true }).fill(FAKE_PASSWORD);
  await page.getByRole('button', { name: 'Anmelden' }).click();
  await page.locator('input[name="response"]').fill(fake.expectedResponse() ?? '');
  await page.locator('input[name="response"]').press('Enter');
  await page.getByRole('heading', { name: 'Angemeldet' }).waitFor();
  await shot(page, '20c-signed-in-german');
  await page.close();
  settings.update({ language: null });

  // SPEC C2: the DSC+ plugged in (a real slsd and the emulator: see screenshots-dscplus.ts).
  await dscplusScreenshots(browser, shot);
  // SPEC C1, C6, D6, D8, T1–T3: account security devices and the online code card (screenshots-account.ts).
  await accountScreenshots(browser, shot);

  for (const s of shots) process.stdout.write(`${s}\n`);
} finally {
  await browser.close();
  await bh.close();
  await fake.close();
  rmSync(configDir, { recursive: true, force: true });
}
