/**
 * Account security screens for `npm run screenshots` (SPEC C1, C6, D6, D8, S3–S5, T1–T3): devices (the
 * USD 500K refusal, an order, activation by serial, a report with the replacement deposit), sharing
 * (the verify step after approval, the sharing listed, ending it) and the online Security Code Card
 * of a temporary passcode.
 *
 * Against a real slsd with its demo data (the fake slsd has no account-security API); users are
 * made with slsctl, responses come from their token files.
 */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from '@playwright/test';
import { startDemoDesk } from './screenshots-dscplus.ts';

const ROOT = new URL('../', import.meta.url).pathname;
const PASSWORD = 'Account-Shots-1';
const run = promisify(execFile);

export async function accountScreenshots(browser: Browser, shot: (page: Page, name: string) => Promise<void>): Promise<void> {
  const desk = await startDemoDesk();
  const slsctl = async (...args: string[]) => (await run(process.execPath, [join(ROOT, 'bin/slsctl.mjs'), '--data-dir', desk.dataDir, ...args], { cwd: ROOT })).stdout;
  const withPassword = (...args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin/slsctl.mjs'), '--data-dir', desk.dataDir, ...args, '--password-stdin'], { cwd: ROOT });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`slsctl ${args.join(' ')} failed`))));
      child.stdin.end(`${PASSWORD}\n`);
    });
  const person = async (username: string, name: string, account: string, balance: string) => {
    const entity = (await slsctl('entity', 'create', '--name', name, '--dob', '1970-01-01', '--citizenship', 'CH', '--residence', 'CH')).trim();
    await slsctl('account', 'create', '--number', account, '--entity', entity, '--balance', balance);
    await withPassword('user', 'create', '--username', username, '--display-name', name, '--entity', entity, '--account', account);
  };
  const respond = async (file: string, challenge: string, pin?: string) =>
    (await slsctl('token', 'respond', '--token-file', join(desk.dataDir, file), ...(pin ? ['--pin', pin] : []), challenge)).trim();
  const context = await browser.newContext({ viewport: { width: 420, height: 560 }, reducedMotion: 'reduce' });
  const signIn = async (username: string, answer: (page: Page) => Promise<string>): Promise<Page> => {
    const page = await context.newPage();
    await page.goto(desk.host.url);
    await page.getByLabel('Username', { exact: true }).fill(username);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Log In' }).click();
    const field = page.locator('input[name="response"]');
    await field.waitFor();
    await field.fill(await answer(page));
    await field.press('Enter');
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
    await page.getByRole('button', { name: 'Account security' }).click();
    return page;
  };
  // The host keeps the session: sign out before the next user.
  const signOut = async (page: Page) => {
    await page.getByRole('button', { name: 'Back' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Log In' }).waitFor();
    await page.close();
  };
  const goldAnswer = (file: string) => async (page: Page) => respond(file, (await page.locator('output.challenge').first().innerText()).replace(/\s+/g, ''));
  try {
    // D6: below USD 500K the reason instead of the button.
    await person('shots.small', 'Sam Small', 'U-SMALL', '100000');
    await slsctl('device', 'add', '--user', 'shots.small', '--kind', 'gold', '--token-file', join(desk.dataDir, 'small.gold.json'));
    let page = await signIn('shots.small', goldAnswer('small.gold.json'));
    await page.getByRole('button', { name: 'Devices' }).click();
    await page.getByText('is available to accounts with a balance').waitFor();
    await shot(page, '26-account-devices-dscplus-refused');
    await signOut(page);

    await person('shots.rich', 'Rita Rich', 'U-RICH', '750000');
    await slsctl('device', 'add', '--user', 'shots.rich', '--kind', 'gold', '--token-file', join(desk.dataDir, 'rich.gold.json'));
    page = await signIn('shots.rich', goldAnswer('rich.gold.json'));
    await page.getByRole('button', { name: 'Devices' }).click();
    await page.getByRole('button', { name: 'Request a Digital Security Card+' }).click();
    await page.getByText('Your Digital Security Card+ has been ordered.').waitFor();
    await shot(page, '27-account-devices-ordered');
    const orderId = /^(\S+)\s+shots\.rich\s+dscplus\s+new\s+ordered$/m.exec(await slsctl('order', 'list', '--user', 'shots.rich'))![1]!;
    await slsctl('order', 'send', orderId, '--serial', '4000777002', '--pin', '1357', '--state-file', join(desk.dataDir, 'rich.dscplus.json'));
    await page.getByRole('button', { name: 'Mobile number' }).click();
    await page.getByRole('button', { name: 'Devices' }).click();
    await page.getByLabel('Serial number').fill('4000777002');
    await page.getByRole('button', { name: 'Continue' }).click();
    const challenge = (await page.locator('output[aria-label="Challenge code"]').innerText()).replace(/\s+/g, '');
    await page.getByLabel('Response').fill(await respond('rich.dscplus.json', challenge, '1357'));
    await page.getByLabel('Response').scrollIntoViewIfNeeded();
    await shot(page, '28-account-device-activate');
    await page.getByRole('button', { name: 'Activate' }).click();
    await page.getByText('Your other devices stay active.').waitFor();
    await page.getByRole('button', { name: /^Report Digital Security Card\+/ }).click();
    await page.getByRole('button', { name: 'Report and deactivate' }).scrollIntoViewIfNeeded();
    await shot(page, '29-account-device-report');
    await page.getByRole('button', { name: 'Report and deactivate' }).click();
    await page.getByText('a deposit of USD 20.00 is recorded').waitFor();
    await page.getByRole('table', { name: 'Orders' }).scrollIntoViewIfNeeded();
    await shot(page, '30-account-device-reported-deposit');
    await signOut(page);

    // S3–S5: sharing a household member's Gold device: the approval sets aside the DSC this session was
    // opened with (Verify it's you, saying why), the sharing listed, and ending it asks first.
    const household = (await slsctl('entity', 'create', '--name', 'Lena Lender', '--dob', '1970-01-01', '--citizenship', 'CH', '--residence', 'CH')).trim();
    await slsctl('account', 'create', '--number', 'U-LEND', '--entity', household, '--balance', '300000');
    await withPassword('user', 'create', '--username', 'shots.lend', '--display-name', 'Lena Lender', '--entity', household, '--account', 'U-LEND');
    await withPassword('user', 'create', '--username', 'shots.borrow', '--display-name', 'Bo Borrower', '--entity', household, '--account', 'U-LEND');
    await slsctl('device', 'add', '--user', 'shots.lend', '--kind', 'gold', '--token-file', join(desk.dataDir, 'lend.gold.json'));
    await slsctl('device', 'add', '--user', 'shots.borrow', '--kind', 'dsc', '--token-file', join(desk.dataDir, 'borrow.dsc.json'));
    page = await signIn('shots.borrow', goldAnswer('borrow.dsc.json'));
    await page.getByRole('button', { name: 'Share a device' }).click();
    await page.getByLabel("Device owner's user name").fill('shots.lend');
    await page.getByLabel("Device owner's password").fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Response').fill(await goldAnswer('lend.gold.json')(page));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.getByRole('heading', { name: "Verify it's you" }).waitFor();
    await shot(page, '33-account-share-verify-with-shared');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    const verifyField = page.locator('input[name="response"]');
    await verifyField.fill(await goldAnswer('lend.gold.json')(page));
    await verifyField.press('Enter');
    await page.locator('.sharing-now').waitFor();
    await shot(page, '34-account-share-sharing-now');
    await page.getByRole('button', { name: /^End sharing: / }).click();
    await page.getByRole('button', { name: 'Keep it' }).scrollIntoViewIfNeeded();
    await shot(page, '35-account-share-end-confirm');
    await page.getByRole('button', { name: 'Keep it' }).click();
    await signOut(page);

    // T1, T2: a temporary passcode, the online card and its PDF offered by the host.
    await person('shots.temp', 'Tina Temp', 'U-TEMP', '50000');
    const passcode = /temporary passcode for shots\.temp: (\S+)/.exec(await slsctl('temp-passcode', 'issue', '--user', 'shots.temp'))![1]!;
    page = await signIn('shots.temp', async () => passcode);
    await page.getByRole('button', { name: 'View the card' }).click();
    await page.getByRole('list', { name: 'Codes by index number' }).waitFor();
    await shot(page, '31-account-online-code-card');
    await page.getByRole('button', { name: 'Print or save as PDF' }).click();
    await page.getByRole('link', { name: 'Open the PDF to print' }).scrollIntoViewIfNeeded();
    await shot(page, '32-account-online-code-card-pdf');
    await signOut(page);
  } finally {
    await context.close();
    await desk.close();
  }
}
