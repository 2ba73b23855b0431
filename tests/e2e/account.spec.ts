/**
 * Account security in SLS Desktop against the real slsd (SPEC C1, C6): a withdrawal refused under
 * the Security Code Card's limit then confirmed with the DSC+ (W1–W3), a sharing attempt refused as
 * "Less secure device" (S1c, S6), an opted-out user's "Verify it's you" before the portal functions
 * (C6, O1), an opted-out primary user opting back in (O3), and a user who is not the primary user
 * told who may (O3). Users beyond the demo data are made with slsctl; responses come from the token files.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Locator, Page } from '@playwright/test';
import { formatNewYorkTime } from '../../core/contract/messages.ts';
import { checkMobileNumber, smsDeliverableFrom } from '../../core/phone.ts';
import { de } from '../../renderer/i18n/de/index.ts';
import { en } from '../../renderer/i18n/en/index.ts';
import { fr } from '../../renderer/i18n/fr/index.ts';
import { fillLogin } from '../fixtures/ui.ts';
import { expectAccessible } from './axe.ts';
import { demoDevice, deviceResponse, readDemo } from './demo.ts';
import type { DemoDevice } from './demo.ts';
import { expect, slsctlWithInput, test } from './fixtures.ts';
import type { Slsd } from './fixtures.ts';

const PASSWORD = 'Account-Security-1';

/** An entity with one account; users join it, the first one is its primary user (SPEC A1). */
async function entityWithAccount(slsd: Slsd, name: string, number: string): Promise<string> {
  const entity = (await slsd.slsctl('entity', 'create', '--name', name, '--dob', '1975-05-05', '--citizenship', 'CH', '--residence', 'CH')).trim();
  await slsd.slsctl('account', 'create', '--number', number, '--entity', entity, '--balance', '100000');
  return entity;
}

async function user(slsd: Slsd, entity: string, account: string, username: string, displayName: string): Promise<void> {
  await slsctlWithInput(slsd, `${PASSWORD}\n`, 'user', 'create', '--username', username, '--display-name', displayName, '--entity', entity, '--account', account, '--mobile', '+447400123456', '--password-stdin');
}

/** A legacy device registered with slsctl (SPEC D7), answered from its token file. */
async function legacyToken(slsd: Slsd, username: string, kind: 'gold' | 'dsc'): Promise<DemoDevice> {
  const file = `${username}.${kind}.token.json`;
  await slsd.slsctl('device', 'add', '--user', username, '--kind', kind, '--token-file', join(slsd.dataDir, file));
  return { kind, deviceId: '', label: '', serial: null, file };
}

const goldToken = (slsd: Slsd, username: string): Promise<DemoDevice> => legacyToken(slsd, username, 'gold');

async function shownChallenge(page: Page): Promise<string> {
  return (await page.locator('output.challenge').first().innerText()).replace(/\s+/g, '');
}

async function respondOnLogin(page: Page, response: string): Promise<void> {
  const field = page.locator('input[name="response"]');
  await field.fill(response);
  await field.press('Enter');
}

async function openAccountSecurity(page: Page): Promise<void> {
  await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();
  await page.getByRole('button', { name: 'Account security' }).click();
  await expect(page.getByRole('heading', { name: 'Account security' })).toBeVisible();
}

/** Ends a user's Client Portal sessions as their expiry would (slsd has no command for it): in slsd's SQLite file. */
function expirePortalSessions(slsd: Slsd, username: string): void {
  const db = new Database(join(slsd.dataDir, 'sls.db'), { timeout: 5_000 });
  try {
    db.prepare("UPDATE sessions SET expires_at = ? WHERE client_kind = 'client_portal' AND user_id = (SELECT id FROM users WHERE username_normalized = ?)").run(Date.now() - 1, username);
  } finally {
    db.close();
  }
}

/** An opted-out user (SPEC O1) with a Gold device, signed in to the trading platform without it. */
async function optedOutSignedIn(page: Page, slsd: Slsd, username: string): Promise<DemoDevice> {
  const gold = await goldToken(slsd, username);
  await slsd.slsctl('sls', 'opt-out', '--user', username);
  await fillLogin(page, username, PASSWORD);
  await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();
  await expect(page.getByText('No second factor (SLS opt-out)')).toBeVisible();
  return gold;
}

/** SPEC C6: "Verify it's you" with the password (Enter submits), then the Gold device's challenge. */
async function verifyWithGold(page: Page, slsd: Slsd, gold: DemoDevice): Promise<void> {
  await expect(page.getByRole('heading', { name: "Verify it's you" })).toBeVisible();
  const password = page.getByLabel('Password');
  await expect(password).toBeFocused();
  await password.fill(PASSWORD);
  await password.press('Enter');
  await expect(page.getByRole('heading', { name: 'Gold device' })).toBeVisible();
  await respondOnLogin(page, await deviceResponse(slsd, gold, await shownChallenge(page)));
  await expect(page.getByRole('heading', { name: 'Account security' })).toBeVisible();
}

/** demo.m2fs logged in with the DSC+, on Account security; its DSC+ and Security Code Card. */
/** A withdrawal made elsewhere meanwhile (the Client Portal in a browser): through slsd's API, confirmed with `device`. */
async function withdrawElsewhere(slsd: Slsd, username: string, password: string, device: DemoDevice, amountCents: number): Promise<void> {
  type Step = { status: string; transactionId: string; challenge: { challenge: string }; session: { token: string }; confirmationId: string };
  const post = async (path: string, body: unknown, token?: string): Promise<Step> => {
    const r = await fetch(`${slsd.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    const json = (await r.json()) as Step;
    if (!r.ok) throw new Error(`${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  };
  let step = await post('/v1/login', { username, password, client: { kind: 'client_portal', version: 0, name: 'Client Portal' } });
  if (step.status === 'select_device') step = await post(`/v1/login/${step.transactionId}/device`, { deviceId: device.deviceId });
  const { token } = (await post(`/v1/login/${step.transactionId}/response`, { response: await deviceResponse(slsd, device, step.challenge.challenge) })).session;
  const c = await post('/v1/withdrawals/challenge', { deviceId: device.deviceId, amountCents }, token);
  await post('/v1/withdrawals', { amountCents, idempotencyKey: `elsewhere-${Date.now()}`, confirmation: { id: c.confirmationId, response: await deviceResponse(slsd, device, c.challenge.challenge) } }, token);
}

async function m2fsOnAccountSecurity(page: Page, slsd: Slsd) {
  const demo = readDemo(slsd);
  const dscplus = demoDevice(demo, 'demo.m2fs', 'dscplus');
  const scc = demoDevice(demo, 'demo.m2fs', 'scc');
  await fillLogin(page, 'demo.m2fs', demo.password);
  await page.getByRole('combobox', { name: 'Device' }).selectOption({ label: dscplus.label });
  await page.getByRole('button', { name: 'Continue' }).click();
  await respondOnLogin(page, await deviceResponse(slsd, dscplus, await shownChallenge(page)));
  await openAccountSecurity(page);
  return { demo, dscplus, scc };
}

test.describe('account security in SLS Desktop (SPEC C1, C6)', () => {
  test('W1–W3: a withdrawal refused under the Security Code Card limit is then confirmed with the DSC+', async ({ desktop: { page }, slsd }) => {
    const { dscplus, scc } = await m2fsOnAccountSecurity(page, slsd);

    await expectAccessible(page, 'Account security: withdraw funds');
    // The limits of each device are shown (C1).
    const table = page.getByRole('table', { name: 'Limits of your devices' });
    await expect(table.getByRole('row', { name: new RegExp(scc.label.replace(/[()+.]/g, '\\$&')) })).toContainText('USD 200,000.00');
    await expect(table.getByRole('row', { name: new RegExp(dscplus.label.replace(/[()+.]/g, '\\$&')) })).toContainText('Unlimited');

    await page.getByLabel('Amount (USD)').fill('1,200,000');
    await page.getByLabel('Confirm with').selectOption({ label: scc.label });
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByRole('alert')).toContainText('would pass the daily limit of your Security Code Card');
    // W2: the device that would allow it is chosen for the user, and said so.
    await expect(page.getByRole('alert')).toContainText(`We switched to your ${dscplus.label}, which allows this amount: press Continue to confirm this withdrawal with it.`);
    await expect(page.getByLabel('Confirm with')).toHaveValue(dscplus.deviceId);

    await page.getByRole('button', { name: 'Continue' }).click();
    // L5: with several devices, another one can be chosen; the focus goes to the choice.
    await expect(page.getByLabel('Response')).toBeFocused();
    await page.getByRole('button', { name: 'Use another device' }).click();
    await expect(page.getByLabel('Confirm with')).toBeFocused();
    await page.getByRole('button', { name: 'Continue' }).click();
    const challenge = (await page.locator('output[aria-label="Challenge code"]').innerText()).replace(/\s+/g, '');
    await page.getByLabel('Response').fill(await deviceResponse(slsd, dscplus, challenge));
    await page.getByRole('button', { name: 'Confirm withdrawal' }).click();
    await expect(page.getByText(`Withdrawal of USD 1,200,000.00 confirmed with ${dscplus.label}.`)).toBeVisible();
    expect(await slsd.slsctl('withdrawals', '--user', 'demo.m2fs')).toMatch(/USD 1,200,000\.00 {2}dscplus/);
  });

  test('S1c, S6: sharing a code card while holding a Gold device is refused as "Less secure device"', async ({ desktop: { page }, slsd }) => {
    const entity = await entityWithAccount(slsd, 'Sharing Family', 'U-SHARE');
    await user(slsd, entity, 'U-SHARE', 'share.owner', 'Olive Owner');
    await slsd.slsctl('device', 'add', '--user', 'share.owner', '--kind', 'scc');
    await user(slsd, entity, 'U-SHARE', 'share.req', 'Rene Requester');
    const gold = await goldToken(slsd, 'share.req');
    await fillLogin(page, 'share.req', PASSWORD);
    await respondOnLogin(page, await deviceResponse(slsd, gold, await shownChallenge(page)));
    await openAccountSecurity(page);
    await page.getByRole('button', { name: 'Share a device' }).click();
    await page.getByLabel("Device owner's user name").fill('share.owner');
    await page.getByLabel("Device owner's password").fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByRole('alert')).toContainText('Less secure device');
    expect(await slsd.slsctl('audit', '--limit', '50')).toContain('sharing.refused');
  });

  test('C6, O1: an opted-out user verifies with the device before the portal functions, then sees the withdrawal limits', async ({ desktop: { page }, slsd }) => {
    const entity = await entityWithAccount(slsd, 'Step Up Trading', 'U-STEP');
    await user(slsd, entity, 'U-STEP', 'step.ulla', 'Ulla Up');
    const gold = await optedOutSignedIn(page, slsd, 'step.ulla');
    await openAccountSecurity(page);
    // C6: the session had no second factor: "Verify it's you" at once, not a dead end.
    await expect(page.getByRole('heading', { name: "Verify it's you" })).toBeVisible();
    await expect(page.getByText('Security settings and withdrawals need your security device.')).toBeVisible();
    await expect(page.getByRole('button', { name: 'Withdraw funds' })).toHaveCount(0);
    await expect(page.getByLabel('Password')).toBeFocused();
    await expectAccessible(page, "Account security: Verify it's you");

    // A wrong password is the generic error, in the panel (L1).
    await page.getByLabel('Password').fill('Wrong-Password-9');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByRole('alert')).toContainText('The user name or password is incorrect.');

    // Escape on the device screen is its Cancel: back to Account security, which asks again.
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await expect(page.getByRole('heading', { name: 'Gold device' })).toBeVisible();
    await page.keyboard.press('Escape');
    await expect(page.getByRole('heading', { name: "Verify it's you" })).toBeVisible();
    await expect(page.getByLabel('Password')).toBeFocused();

    await verifyWithGold(page, slsd, gold);
    const table = page.getByRole('table', { name: 'Limits of your devices' });
    await expect(table.getByRole('row', { name: /Gold device/ })).toContainText('Unlimited');
    // The trading session is still the one without a second factor (O1, O2).
    await page.getByRole('button', { name: 'Back' }).click();
    await expect(page.getByText('No second factor (SLS opt-out)')).toBeVisible();
    await expect(page.getByText('Pink Sheet and OTCBB trading restricted: SLS opt-out')).toBeVisible();
    // The host holds the Client Portal session: Account security opens without asking again.
    await page.getByRole('button', { name: 'Account security' }).click();
    await expect(page.getByRole('table', { name: 'Limits of your devices' })).toBeVisible();
    await expect(page.getByRole('heading', { name: "Verify it's you" })).toHaveCount(0);
    expect(await slsd.slsctl('audit', '--user', 'step.ulla')).toContain('client_portal');

    // The Client Portal session expires: the next portal call brings the panel back.
    expirePortalSessions(slsd, 'step.ulla');
    await page.getByRole('button', { name: 'Devices' }).click();
    await expect(page.getByRole('heading', { name: "Verify it's you" })).toBeVisible();
    // Escape on the panel goes back to the signed-in screen; the trading session goes on.
    await page.getByLabel('Password').press('Escape');
    await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();

    // Sign out ends both sessions; after signing in again without a device, it asks again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await fillLogin(page, 'step.ulla', PASSWORD);
    await openAccountSecurity(page);
    await expect(page.getByRole('heading', { name: "Verify it's you" })).toBeVisible();
  });

  test('O3: an opted-out primary user opts back in from the desktop, and the next trading login asks for the device', async ({ desktop: { page }, slsd }) => {
    const entity = await entityWithAccount(slsd, 'Opt Back In', 'U-BACK');
    await user(slsd, entity, 'U-BACK', 'back.paula', 'Paula Primary');
    const gold = await optedOutSignedIn(page, slsd, 'back.paula');
    await openAccountSecurity(page);
    await verifyWithGold(page, slsd, gold);
    await page.getByRole('button', { name: 'Secure Login System' }).click();
    await expect(page.getByText('You are opted out')).toBeVisible();
    await page.getByRole('button', { name: 'I want to always use my Secure Login Device when logging in' }).click();
    await expect(page.getByText('You always use your Secure Login Device when logging in.')).toBeVisible();
    expect(await slsd.slsctl('audit', '--user', 'back.paula')).toContain('sls.opted_in');

    await page.getByRole('button', { name: 'Back' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await fillLogin(page, 'back.paula', PASSWORD);
    await expect(page.getByRole('heading', { name: 'Gold device' })).toBeVisible();
    await respondOnLogin(page, await deviceResponse(slsd, gold, await shownChallenge(page)));
    await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();
    await expect(page.getByText('Pink Sheet and OTCBB trading restricted: SLS opt-out')).toHaveCount(0);
  });

  test('O3: a user who is not the primary user is told who may opt back in', async ({ desktop: { page }, slsd }) => {
    const entity = await entityWithAccount(slsd, 'Opt Household', 'U-OPT');
    await user(slsd, entity, 'U-OPT', 'opt.jane', 'Jane Doe');
    await user(slsd, entity, 'U-OPT', 'opt.bob', 'Bob Roe');
    // O1: the trading platform asks no second factor; O2: the restriction is shown.
    const gold = await optedOutSignedIn(page, slsd, 'opt.bob');
    await expect(page.getByText('Pink Sheet and OTCBB trading restricted: SLS opt-out')).toBeVisible();
    await openAccountSecurity(page);
    // C6: portal functions want a second factor from a session that had none: the device first.
    await verifyWithGold(page, slsd, gold);
    await page.getByRole('button', { name: 'Secure Login System' }).click();
    await expect(page.getByText("Only Jane Doe (opt.jane), the account's primary user, can opt you back in.")).toBeVisible();
    await page.getByRole('button', { name: 'I want to always use my Secure Login Device when logging in' }).click();
    await expect(page.getByRole('alert')).toContainText("Only Jane Doe (opt.jane), the account's primary user, can opt users back into the Secure Login System.");
  });

  test('A1, O3: a user whose accounts have different primary users is told why nobody alone may change the setting and to contact client services, in English and German', async ({ desktop: { page }, slsd }) => {
    // Pia is the primary user of U-SEV1; Sam uses U-SEV1 and is the primary user of his own U-SEV2 (A1).
    const entity = await entityWithAccount(slsd, 'Several Primaries', 'U-SEV1');
    await user(slsd, entity, 'U-SEV1', 'sev.pia', 'Pia Primary');
    await slsd.slsctl('account', 'create', '--number', 'U-SEV2', '--entity', entity, '--balance', '100000');
    await slsctlWithInput(slsd, `${PASSWORD}\n`, 'user', 'create', '--username', 'sev.sam', '--display-name', 'Sam Several', '--entity', entity, '--account', 'U-SEV1', 'U-SEV2', '--mobile', '+447400123456', '--password-stdin');
    await legacyDeviceOnAccountSecurity(page, slsd, 'sev.sam', 'gold');
    await page.getByRole('button', { name: 'Secure Login System' }).click();
    await expect(page.getByText('You always use your Secure Login Device when logging in.')).toBeVisible();
    // Not the generic line: why nobody is named, and what to do.
    await expect(page.getByText('Your accounts have different primary users, and none of them alone can change this setting. Please contact client services.')).toBeVisible();
    await expect(page.getByText("Only the account's primary user can change this setting.")).toHaveCount(0);
    await expectAccessible(page, 'Account security: Secure Login System, different primary users');

    // Trying anyway: slsd refuses it in the same words, and nothing changes (O1).
    await page.getByRole('button', { name: 'Opt out for trading-platform login…' }).click();
    await page.getByRole('button', { name: 'Opt out', exact: true }).click();
    await expect(page.getByRole('alert')).toContainText("This user's accounts have different primary users: only the primary user of every one of them can opt users out of the Secure Login System. Please contact client services.");
    await expect(page.getByText('You always use your Secure Login Device when logging in.')).toBeVisible();
    expect(await slsd.slsctl('audit', '--user', 'sev.sam')).not.toContain('sls.opted_out');

    // UI.md languages: the same line in German, in the 420×560 window.
    await page.getByRole('button', { name: en.shell.more.toggle }).click();
    await page.getByLabel(en.shell.more.language).selectOption({ label: 'Deutsch' });
    await page.keyboard.press('Escape');
    const line = page.getByText(de.account.sls.severalPrimariesChange);
    await expect(line).toBeVisible();
    await expect(line).toBeInViewport({ ratio: 1 });
  });

  test('D6: below USD 500K a DSC+ is refused with the reason', async ({ desktop: { page }, slsd }) => {
    // Below USD 500K: the reason, not the button (D6).
    const poorEntity = await entityWithAccount(slsd, 'Small Saver', 'U-SMALL');
    await user(slsd, poorEntity, 'U-SMALL', 'dev.small', 'Sam Small');
    const poorGold = await goldToken(slsd, 'dev.small');
    await fillLogin(page, 'dev.small', PASSWORD);
    await respondOnLogin(page, await deviceResponse(slsd, poorGold, await shownChallenge(page)));
    await openAccountSecurity(page);
    await page.getByRole('button', { name: 'Devices' }).click();
    await expect(page.getByText('The Digital Security Card+ is available to accounts with a balance of USD 500,000.00 or more; account U-SMALL has USD 100,000.00.')).toBeVisible();
    await expect(page.getByRole('button', { name: 'Request a Digital Security Card+' })).toHaveCount(0);
  });

  test('D6, T3: a DSC+ ordered, cancelled while pending, ordered again, sent, activated by serial and response', async ({ desktop: { page }, slsd }) => {
    const entity = (await slsd.slsctl('entity', 'create', '--name', 'Rich Trader', '--dob', '1970-01-01', '--citizenship', 'CH', '--residence', 'CH')).trim();
    await slsd.slsctl('account', 'create', '--number', 'U-RICH', '--entity', entity, '--balance', '750000');
    await user(slsd, entity, 'U-RICH', 'dev.rich', 'Rita Rich');
    const gold = await goldToken(slsd, 'dev.rich');
    await fillLogin(page, 'dev.rich', PASSWORD);
    await respondOnLogin(page, await deviceResponse(slsd, gold, await shownChallenge(page)));
    await openAccountSecurity(page);
    await page.getByRole('button', { name: 'Devices' }).click();

    // Order, then cancel while pending (not yet sent).
    await page.getByRole('button', { name: 'Request a Digital Security Card+' }).click();
    await expect(page.getByRole('status')).toHaveText('Your Digital Security Card+ has been ordered.');
    const orders = page.getByRole('table', { name: 'Orders' });
    await expect(orders.getByRole('row', { name: /Digital Security Card\+/ })).toContainText('ordered, not yet sent');
    await expectAccessible(page, 'Account security: devices with an order');
    await page.getByRole('button', { name: 'Cancel the order of a Digital Security Card+' }).click();
    await expect(page.getByRole('status')).toHaveText('The order is cancelled.');
    await expect(orders.getByRole('row', { name: /Digital Security Card\+/ })).toContainText('cancelled');
    expect(await slsd.slsctl('audit', '--user', 'dev.rich')).toContain('device.order_cancelled');

    // Order again; client services send it (T3: it would activate itself in 14 days).
    await page.getByRole('button', { name: 'Request a Digital Security Card+' }).click();
    await expect(page.getByRole('status')).toHaveText('Your Digital Security Card+ has been ordered.');
    const orderId = /^(\S+)\s+dev\.rich\s+dscplus\s+new\s+ordered$/m.exec(await slsd.slsctl('order', 'list', '--user', 'dev.rich'))![1]!;
    const stateFile = join(slsd.dataDir, 'dev.rich.dscplus.json');
    await slsd.slsctl('order', 'send', orderId, '--serial', '4000777001', '--pin', '2468', '--state-file', stateFile);
    await page.getByRole('button', { name: 'Secure Login System' }).click();
    await page.getByRole('button', { name: 'Devices' }).click();
    // UI.md: New York time, labelled, like every other screen.
    await expect(page.getByRole('table', { name: 'Orders' }).getByRole('row', { name: /Digital Security Card\+/ }).first()).toContainText(/activates itself on \w{3}, \w{3} \d{1,2}, \d{2}:\d{2} \(New York time\)/);

    // D6: the serial and a correct response activate it; the Gold device stays active (D1).
    await page.getByLabel('Serial number').fill('4000777001');
    await page.getByRole('button', { name: 'Continue' }).click();
    const challenge = (await page.locator('output[aria-label="Challenge code"]').innerText()).replace(/\s+/g, '');
    const card: DemoDevice = { kind: 'dscplus', deviceId: '', label: '', serial: '4000777001', file: 'dev.rich.dscplus.json', pin: '2468' };
    await page.getByLabel('Response').fill(await deviceResponse(slsd, card, challenge));
    await page.getByRole('button', { name: 'Activate' }).click();
    await expect(page.getByRole('status')).toContainText('is active. Your other devices stay active.');
    const list = page.locator('.device-list');
    await expect(list.getByRole('listitem').filter({ hasText: 'Digital Security Card+' })).toContainText('active');
    await expect(list.getByRole('listitem').filter({ hasText: 'Gold' })).toContainText('active');
  });

  test('S3–S5: a sharing approved from the desktop is listed; ending it says it signs the user out, and their own device works again', async ({ desktop: { page }, slsd }) => {
    // Four logins and a dozen slsctl runs (a Node process each): 12 s alone, past 30 s on a loaded 2-core CI machine.
    test.slow();
    const entity = await entityWithAccount(slsd, 'Sharing Household', 'U-SHARE2');
    await user(slsd, entity, 'U-SHARE2', 'lend.owner', 'Lena Lender');
    const ownerGold = await goldToken(slsd, 'lend.owner');
    await user(slsd, entity, 'U-SHARE2', 'borrow.req', 'Bo Borrower');
    const dsc = { kind: 'dsc', deviceId: '', label: '', serial: null, file: 'borrow.req.dsc.token.json' } satisfies DemoDevice;
    await slsd.slsctl('device', 'add', '--user', 'borrow.req', '--kind', 'dsc', '--token-file', join(slsd.dataDir, dsc.file));

    // S3: the requester (signed in with their own DSC) gives the owner's name and password, answers with the owner's Gold device, reviews, submits.
    await fillLogin(page, 'borrow.req', PASSWORD);
    await respondOnLogin(page, await deviceResponse(slsd, dsc, await shownChallenge(page)));
    await openAccountSecurity(page);
    await page.getByRole('button', { name: 'Share a device' }).click();
    await page.getByLabel("Device owner's user name").fill('lend.owner');
    await page.getByLabel("Device owner's password").fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText("Answer with Lena Lender's Gold device")).toBeVisible();
    await page.getByLabel('Response').fill(await deviceResponse(slsd, ownerGold, (await page.locator('output[aria-label="Challenge code"]').innerText()).replace(/\s+/g, '')));
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText("Share Lena Lender's Gold device")).toBeVisible();
    await page.getByRole('button', { name: 'Submit' }).click();
    // S5, D5: the DSC this session was opened with is set aside now: the screens ask to verify with the shared device, saying why.
    await expect(page.getByRole('heading', { name: "Verify it's you" })).toBeVisible();
    await expect(page.getByRole('status')).toContainText(/You now use Lena Lender's Gold device.*, and your own devices are set aside\. This session was opened with one of them/);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    // The requester's only active device now is the owner's Gold device (S5).
    await expect(page.getByRole('heading', { name: 'Gold device' })).toBeVisible();
    await respondOnLogin(page, await deviceResponse(slsd, ownerGold, await shownChallenge(page)));
    // Back on the tab the user was on (C6), with the sharing listed.
    await expect(page.getByRole('button', { name: 'Share a device' })).toHaveAttribute('aria-pressed', 'true');
    const now = page.locator('.sharing-now');
    await expect(now.getByRole('listitem')).toContainText(/You use Lena Lender's Gold device.*Your own Digital Security Card.* is set aside\./);
    // One sharing at a time (S5): no form for another while this one holds.
    await expect(page.getByText('One sharing at a time: end this one to share another device.')).toBeVisible();
    await expect(page.getByLabel("Device owner's user name")).toHaveCount(0);
    await expectAccessible(page, 'Share a device: a sharing in use');

    // S5: the owner sees who uses their device, and may end it too (no sign-out: the owner's own sessions stay).
    await page.getByRole('button', { name: 'Back' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await fillLogin(page, 'lend.owner', PASSWORD);
    await respondOnLogin(page, await deviceResponse(slsd, ownerGold, await shownChallenge(page)));
    await openAccountSecurity(page);
    await page.getByRole('button', { name: 'Share a device' }).click();
    await expect(now.getByRole('listitem')).toContainText(/^Bo Borrower uses your Gold device/);
    await now.getByRole('button', { name: /^End sharing: .*Gold/ }).click();
    await expect(page.getByRole('listitem').getByRole('listitem').first()).toContainText('Bo Borrower can no longer log in with your Gold device');
    await expect(page.getByRole('note')).toHaveCount(0);
    await page.getByRole('button', { name: 'Keep it' }).click();
    await page.getByRole('button', { name: 'Back' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();

    // The requester again, with the shared device: ending asks first and says it signs this session out; Escape keeps it.
    await fillLogin(page, 'borrow.req', PASSWORD);
    await respondOnLogin(page, await deviceResponse(slsd, ownerGold, await shownChallenge(page)));
    await openAccountSecurity(page);
    await page.getByRole('button', { name: 'Share a device' }).click();
    await now.getByRole('button', { name: /^End sharing: .*Gold/ }).click();
    await expect(page.getByRole('heading', { name: 'End this sharing?' })).toBeVisible();
    await expect(page.getByRole('note')).toContainText("You signed in with Lena Lender's Gold device");
    await expect(page.getByRole('button', { name: 'Keep it' })).toBeFocused();
    await page.keyboard.press('Escape');
    await expect(page.getByRole('heading', { name: 'End this sharing?' })).toHaveCount(0);
    await now.getByRole('button', { name: /^End sharing: .*Gold/ }).click();
    await page.locator('form.inline-form').getByRole('button', { name: 'End sharing' }).click();
    await expect(page.getByRole('heading', { name: 'Log In' })).toBeVisible();
    await expect(page.getByText("The sharing has ended, and you are signed out: you signed in with Lena Lender's Gold device")).toBeVisible();
    expect(await slsd.slsctl('audit', '--limit', '50')).toContain('sharing.cancelled');

    // S5: the requester's own DSC is active again: the login asks for it.
    await fillLogin(page, 'borrow.req', PASSWORD);
    await expect(page.getByRole('heading', { name: 'Digital Security Card' })).toBeVisible();
    await respondOnLogin(page, await deviceResponse(slsd, dsc, await shownChallenge(page)));
    await openAccountSecurity(page);
    await page.getByRole('button', { name: 'Share a device' }).click();
    await expect(page.getByLabel("Device owner's user name")).toBeVisible();
    await expect(now).toHaveCount(0);
  });

  test('S3, S4, C5: a request left before it is answered or submitted stays listed for both users; the requester continues it, by keyboard, and submits it from the list', async ({ desktop: { page }, slsd }) => {
    // Four logins and a dozen slsctl runs, like the test above.
    test.slow();
    const entity = await entityWithAccount(slsd, 'Sharing Returners', 'U-SHARE3');
    await user(slsd, entity, 'U-SHARE3', 'lend.later', 'Lena Later');
    const ownerGold = await goldToken(slsd, 'lend.later');
    await user(slsd, entity, 'U-SHARE3', 'borrow.later', 'Bo Later');
    const dsc = { kind: 'dsc', deviceId: '', label: '', serial: null, file: 'borrow.later.dsc.token.json' } satisfies DemoDevice;
    await slsd.slsctl('device', 'add', '--user', 'borrow.later', '--kind', 'dsc', '--token-file', join(slsd.dataDir, dsc.file));
    const challengeCode = async () => (await page.locator('output[aria-label="Challenge code"]').innerText()).replace(/\s+/g, '');
    const shareTab = page.getByRole('button', { name: 'Share a device' });
    const now = page.locator('.sharing-now');
    const row = now.getByRole('listitem');
    /** Away to another tab and back: the panel is made again from what slsd says. */
    const leaveAndComeBack = async () => {
      await page.getByRole('button', { name: 'Devices' }).click();
      await expect(page.getByRole('heading', { name: 'Devices' })).toBeVisible();
      await shareTab.click();
    };

    await fillLogin(page, 'borrow.later', PASSWORD);
    await respondOnLogin(page, await deviceResponse(slsd, dsc, await shownChallenge(page)));
    await openAccountSecurity(page);
    await shareTab.click();
    await page.getByLabel("Device owner's user name").fill('lend.later');
    await page.getByLabel("Device owner's password").fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText("Answer with Lena Later's Gold device")).toBeVisible();

    // Started over, then given up (Escape): the request is listed, with what moves it on; no second request meanwhile.
    await page.getByRole('button', { name: 'Start over' }).click();
    await expect(page.getByLabel("Device owner's user name")).toBeFocused();
    await page.keyboard.press('Escape');
    await expect(row).toHaveText(/^You started a request to use Lena Later's Gold device.*: it still needs the response from that device\./);
    await expect(page.getByText('One request at a time: continue this one, or withdraw it to share another device.')).toBeVisible();
    await expect(page.getByLabel("Device owner's user name")).toHaveCount(0);
    await expect(now.getByRole('button', { name: /^Withdraw request: .*Gold/ })).toBeVisible();
    const resume = now.getByRole('button', { name: /^Continue: .*Gold/ });
    await expect(resume).toBeFocused();
    // Its challenge was given up: Continue asks for the owner's password again, the owner's name filled in.
    await page.keyboard.press('Enter');
    await expect(page.getByText("Enter Lena Later's password again: a new challenge goes to their Gold device")).toBeVisible();
    await expect(page.getByLabel("Device owner's user name")).toHaveValue('lend.later');
    await expect(page.getByLabel("Device owner's password")).toBeFocused();
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await expect(page.getByText("Answer with Lena Later's Gold device")).toBeVisible();
    const challenge = await challengeCode();

    // Left while the owner's device has not answered: Continue comes back to the same challenge.
    await leaveAndComeBack();
    await expect(row).toHaveCount(1);
    await expect(row).toContainText("You started a request to use Lena Later's Gold device");
    await expectAccessible(page, 'Share a device: a request started');
    await resume.click();
    await expect(page.getByLabel('Response')).toBeFocused();
    expect(await challengeCode()).toBe(challenge);
    await expect(now).toHaveCount(0);
    await page.getByLabel('Response').fill(await deviceResponse(slsd, ownerGold, challenge));
    await page.getByLabel('Response').press('Enter');
    await expect(page.getByText("Share Lena Later's Gold device")).toBeVisible();

    // Left after the owner's device answered: the request waits to be submitted, saying what submitting does.
    await leaveAndComeBack();
    await expect(row).toHaveText(/^Lena Later's Gold device.* has answered: submit your request to use it\. Your own Digital Security Card.* will be set aside\./);
    await expect(now.getByRole('button', { name: /^Submit: .*Gold/ })).toBeVisible();
    await expect(now.getByRole('button', { name: /^Withdraw request: .*Gold/ })).toBeVisible();

    // S3: the owner sees the request for their device as it stands, and could refuse it.
    await page.getByRole('button', { name: 'Back' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await fillLogin(page, 'lend.later', PASSWORD);
    await respondOnLogin(page, await deviceResponse(slsd, ownerGold, await shownChallenge(page)));
    await openAccountSecurity(page);
    await shareTab.click();
    await expect(row).toHaveText(/^Bo Later asked to use your Gold device.*, and your device has answered; the request is not submitted yet\./);
    await expect(now.getByRole('button', { name: /^Refuse: .*Gold/ })).toBeVisible();
    await page.getByRole('button', { name: 'Back' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();

    // S4: the requester submits it from the list: approved at once (one entity); the session's own DSC is set aside (S5).
    await fillLogin(page, 'borrow.later', PASSWORD);
    await respondOnLogin(page, await deviceResponse(slsd, dsc, await shownChallenge(page)));
    await openAccountSecurity(page);
    await shareTab.click();
    await now.getByRole('button', { name: /^Submit: .*Gold/ }).click();
    await expect(page.getByRole('heading', { name: "Verify it's you" })).toBeVisible();
    await expect(page.getByRole('status')).toContainText("You now use Lena Later's Gold device");
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await respondOnLogin(page, await deviceResponse(slsd, ownerGold, await shownChallenge(page)));
    await expect(row).toContainText("You use Lena Later's Gold device");
    const audit = await slsd.slsctl('audit', '--limit', '50');
    expect(audit).toContain('sharing.approved');
  });

  test('S3, S5: a started request is continued after the desktop restarts with the same challenge, no password again; the owner refuses it and the requester reads so', async ({ desktop: { page }, slsd }) => {
    // Five logins and a dozen slsctl runs, like the tests above.
    test.slow();
    const entity = await entityWithAccount(slsd, 'Sharing Refusers', 'U-SHARE4');
    await user(slsd, entity, 'U-SHARE4', 'lend.nope', 'Nora Owner');
    const ownerGold = await goldToken(slsd, 'lend.nope');
    await user(slsd, entity, 'U-SHARE4', 'borrow.nope', 'Rob Requester');
    const dsc = { kind: 'dsc', deviceId: '', label: '', serial: null, file: 'borrow.nope.dsc.token.json' } satisfies DemoDevice;
    await slsd.slsctl('device', 'add', '--user', 'borrow.nope', '--kind', 'dsc', '--token-file', join(slsd.dataDir, dsc.file));
    const challengeCode = async () => (await page.locator('output[aria-label="Challenge code"]').innerText()).replace(/\s+/g, '');
    const shareTab = page.getByRole('button', { name: 'Share a device' });
    const row = page.locator('.sharing-now').getByRole('listitem');
    const signInAs = async (username: string, device: DemoDevice) => {
      await fillLogin(page, username, PASSWORD);
      await respondOnLogin(page, await deviceResponse(slsd, device, await shownChallenge(page)));
      await openAccountSecurity(page);
      await shareTab.click();
    };
    const signOut = async () => {
      await page.getByRole('button', { name: 'Back' }).click();
      await page.getByRole('button', { name: 'Sign out' }).click();
    };

    await signInAs('borrow.nope', dsc);
    await page.getByLabel("Device owner's user name").fill('lend.nope');
    await page.getByLabel("Device owner's password").fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText("Answer with Nora Owner's Gold device")).toBeVisible();
    const challenge = await challengeCode();

    // The desktop restarts (signed out, the app loaded anew: nothing of this run kept): Continue comes back
    // to the same challenge, which slsd gives back while it can be answered (S3), without the owner's password.
    await signOut();
    await page.reload();
    await signInAs('borrow.nope', dsc);
    await expect(row).toHaveText(/^You started a request to use Nora Owner's Gold device/);
    await row.getByRole('button', { name: /^Continue: .*Gold/ }).click();
    await expect(page.getByLabel('Response')).toBeFocused();
    expect(await challengeCode()).toBe(challenge);
    await expect(page.getByLabel("Device owner's password")).toHaveCount(0);
    await signOut();

    // S5: the owner refuses it.
    await signInAs('lend.nope', ownerGold);
    await expect(row).toHaveText(/^Rob Requester gave your password to start a request to use your Gold device/);
    await row.getByRole('button', { name: /^Refuse: .*Gold/ }).click();
    await expect(page.getByText("You refused Rob Requester's request to use your Gold device")).toBeVisible();
    await expect(row).toHaveCount(0);
    await signOut();

    // The requester is told the owner refused it, and when; a new request can be started.
    await signInAs('borrow.nope', dsc);
    await expect(row).toHaveText(/^Your request to use Nora Owner's Gold device.* has ended \(\d\d:\d\d, New York time\)\. Refused by the owner, Nora Owner\.$/);
    await expect(row.getByRole('button')).toHaveCount(0);
    await expect(page.getByRole('heading', { name: 'Sharing and requests' })).toBeVisible();
    await expect(page.getByLabel("Device owner's user name")).toBeVisible();
    await expectAccessible(page, 'Share a device: a request the owner refused');
  });

  test('D8: a lost DSC+ is deactivated with the USD 20 replacement deposit recorded; a device no longer needed is returned, never the last one', async ({ desktop: { page }, slsd }) => {
    const entity = (await slsd.slsctl('entity', 'create', '--name', 'Lou Loser', '--dob', '1970-01-01', '--citizenship', 'CH', '--residence', 'CH')).trim();
    await slsd.slsctl('account', 'create', '--number', 'U-LOST', '--entity', entity, '--balance', '750000');
    await user(slsd, entity, 'U-LOST', 'dev.lost', 'Lou Loser');
    await slsd.slsctl('device', 'add', '--user', 'dev.lost', '--kind', 'dscplus');
    const gold = await goldToken(slsd, 'dev.lost');
    await fillLogin(page, 'dev.lost', PASSWORD);
    const device = page.getByRole('combobox', { name: 'Device' });
    await device.selectOption({ label: (await device.locator('option', { hasText: 'Gold' }).textContent())!.trim() });
    await page.getByRole('button', { name: 'Continue' }).click();
    await respondOnLogin(page, await deviceResponse(slsd, gold, await shownChallenge(page)));
    await openAccountSecurity(page);
    await page.getByRole('button', { name: 'Devices' }).click();
    const list = page.locator('.device-list');
    await expect(list.getByRole('listitem').filter({ hasText: 'Digital Security Card+' })).toContainText('active');

    // D8, D5: the device this session was opened with — reporting it signs the user out: said first.
    const goldLabel = (await list.getByRole('listitem').filter({ hasText: 'Gold' }).innerText()).split(' — ')[0]!;
    await page.getByRole('button', { name: `Report ${goldLabel} lost or broken` }).click();
    await expect(page.getByRole('note')).toContainText('You signed in with this device: reporting it also signs you out');
    await page.locator('form.inline-form').getByRole('button', { name: 'Cancel' }).click();

    // D8: lost, with a replacement: deactivated at once, the USD 20 deposit recorded.
    const dscLabel = (await list.getByRole('listitem').filter({ hasText: 'Digital Security Card+' }).innerText()).split(' — ')[0]!;
    await page.getByRole('button', { name: `Report ${dscLabel} lost or broken` }).click();
    await expect(page.getByRole('note')).toHaveCount(0);
    await expect(page.getByRole('checkbox', { name: /Send me a replacement/ })).toBeChecked();
    await expectAccessible(page, 'Account security: report a device');
    await page.getByRole('button', { name: 'Report and deactivate' }).click();
    await expect(page.getByRole('status')).toHaveText(
      `${dscLabel} is reported lost and deactivated. A replacement Digital Security Card+ is ordered; a deposit of USD 20.00 is recorded on your account.`,
    );
    await expect(list.getByRole('listitem').filter({ hasText: dscLabel })).toContainText('reported lost');
    await expect(page.getByRole('table', { name: 'Orders' }).getByRole('row', { name: /Replacement DSC\+/ })).toContainText('USD 20.00');

    // D8: a device no longer needed is returned; never the last active one (slsd says so). Return
    // asks first, and says when the device opened this session (returning it would sign the user out).
    await page.getByRole('button', { name: /^Return .*Gold/ }).click();
    await expect(page.getByRole('heading', { name: /^Return .*Gold.*\?$/ })).toBeVisible();
    await expect(page.getByRole('note')).toContainText('You signed in with this device: returning it also signs you out');
    await expect(page.getByRole('button', { name: 'Cancel', exact: true })).toBeFocused();
    await page.getByRole('button', { name: 'Return', exact: true }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'This is your only active device' })).toBeVisible();
    await slsd.slsctl('device', 'add', '--user', 'dev.lost', '--kind', 'scc');
    await page.getByRole('button', { name: 'Secure Login System' }).click();
    await page.getByRole('button', { name: 'Devices' }).click();
    // The code card is no longer needed (the Gold device stays: it opened this session, D5).
    await page.getByRole('button', { name: /^Return .*Security Code Card/ }).click();
    await expect(page.getByRole('note')).toHaveCount(0);
    await page.getByRole('button', { name: 'Return', exact: true }).click();
    await expect(page.getByRole('status')).toContainText('is marked as returned.');
    await expect(list.getByRole('listitem').filter({ hasText: 'Security Code Card' })).toContainText('returned');
    await expect(list.getByRole('listitem').filter({ hasText: 'Gold' })).toContainText('active');
  });

  test('T1, T2: with a temporary passcode the online Security Code Card is shown and offered as a PDF by the host', async ({ desktop: { page, host }, slsd }) => {
    const entity = await entityWithAccount(slsd, 'Lost Everything', 'U-TEMP');
    await user(slsd, entity, 'U-TEMP', 'temp.tina', 'Tina Temp');
    const out = await slsd.slsctl('temp-passcode', 'issue', '--user', 'temp.tina');
    const passcode = /temporary passcode for temp\.tina: (\S+)/.exec(out)![1]!;
    await fillLogin(page, 'temp.tina', PASSWORD);
    await respondOnLogin(page, passcode);
    await openAccountSecurity(page);
    await expect(page.getByRole('heading', { name: 'Online Security Code Card' })).toBeVisible();
    await page.getByRole('button', { name: 'View the card' }).click();
    const cells = page.getByRole('list', { name: 'Codes by index number' }).getByRole('listitem');
    await expect(cells).toHaveCount(224);
    await expect(cells.first()).toContainText(/^1\s+\S+$/);
    // T2: 21 days, in New York time with its label (UI.md), not the computer's zone.
    await expect(page.getByText(/^Valid until \w{3}, \w{3} \d{1,2}, \d{2}:\d{2} \(New York time\)\.$/)).toBeVisible();
    await expectAccessible(page, 'Account security: online Security Code Card');
    await page.getByRole('button', { name: 'Print or save as PDF' }).click();
    const open = page.getByRole('link', { name: 'Open the PDF to print' });
    await expect(open).toBeVisible();
    const href = (await open.getAttribute('href'))!;
    // Same origin, served by the host; the address carries no session token.
    expect(href).toMatch(/^\/files\/[A-Za-z0-9_-]{32}\/online-security-code-card-\d{4}-\d{2}-\d{2}\.pdf$/);
    const pdf = await page.request.get(new URL(href, host.origin).toString());
    expect(pdf.headers()['content-type']).toBe('application/pdf');
    expect((await pdf.body()).subarray(0, 5).toString()).toBe('%PDF-');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /^Save online-security-code-card/ }).click()]);
    expect(download.suggestedFilename()).toMatch(/^online-security-code-card-\d{4}-\d{2}-\d{2}\.pdf$/);
    // Another address of this host serves nothing.
    expect((await page.request.get(new URL('/files/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/x.pdf', host.origin).toString())).status()).toBe(404);
  });
});


/** A new user of a new account with one Gold device (its primary user, SPEC A1), signed in with it and on Account security. */
async function goldUserOnAccount(page: Page, slsd: Slsd, username: string, account: string): Promise<DemoDevice> {
  const entity = await entityWithAccount(slsd, `${username} entity`, account);
  await user(slsd, entity, account, username, `${username} user`);
  return legacyDeviceOnAccountSecurity(page, slsd, username, 'gold');
}

/** A user given a legacy device (their only one), logged in with it, on Account security. */
async function legacyDeviceOnAccountSecurity(page: Page, slsd: Slsd, username: string, kind: 'gold' | 'dsc'): Promise<DemoDevice> {
  const device = await legacyToken(slsd, username, kind);
  await fillLogin(page, username, PASSWORD);
  await respondOnLogin(page, await deviceResponse(slsd, device, await shownChallenge(page)));
  await openAccountSecurity(page);
  return device;
}

/** The response a device did not give: its first character changed. */
const wrongOf = (right: string) => `${(Number(right[0]) + 1) % 10}${right.slice(1)}`;

/** The selected part of a field's text, as [start, end]. */
function selection(field: Locator): Promise<[number | null, number | null]> {
  return field.evaluate((el) => {
    const input = el as unknown as { selectionStart: number | null; selectionEnd: number | null };
    return [input.selectionStart, input.selectionEnd];
  });
}

test.describe('Account security in the 420×560 window (UI.md; SPEC C1, C5)', () => {
  test('W1, L6: the withdrawal challenge takes the focus in view; a short code is refused here, a wrong one counts for the confirmation; one device, no "Use another device"; Escape cancels', async ({ desktop: { page }, slsd }) => {
    const gold = await goldUserOnAccount(page, slsd, 'win.wendy', 'U-WIN');
    // Back is in the header, the section tabs one row (not 2–3 rows of the 560 px).
    await expect(page.locator('header').getByRole('button', { name: 'Back' })).toBeInViewport();
    expect((await page.getByRole('navigation', { name: 'Account security' }).boundingBox())!.height).toBeLessThan(56);

    await page.getByLabel('Amount (USD)').fill('1,250.50');
    await page.getByRole('button', { name: 'Continue' }).click();
    const response = page.getByLabel('Response');
    await expect(response).toBeFocused();
    await expect(response).toBeInViewport();
    await expect(page.getByRole('button', { name: 'Confirm withdrawal' })).toBeInViewport();
    await expect(page.locator('output[aria-label="Challenge code"]')).toBeInViewport();
    await expect(page.getByText('8 digits', { exact: true })).toBeVisible();
    // SPEC W1, L5: one device, nothing else to choose; Cancel instead.
    await expect(page.getByRole('button', { name: 'Use another device' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Cancel' })).toBeVisible();
    await expectAccessible(page, 'Account security: withdrawal challenge');

    // D2: only what the Gold device can produce; too short is refused here, with the login's hint.
    await response.pressSequentially('12ab3');
    await expect(response).toHaveValue('123');
    await response.press('Enter');
    const alert = page.locator('form.response-form').getByRole('alert');
    await expect(alert).toHaveText('Enter all 8 characters. You typed 3.');

    // L6: a wrong one is judged and counted; 2 left shows the short one never reached slsd.
    const challenge = (await page.locator('output[aria-label="Challenge code"]').innerText()).replace(/\s+/g, '');
    const right = await deviceResponse(slsd, gold, challenge);
    await response.fill(wrongOf(right));
    // C5: sent with Tab and Enter on the button, disabled while slsd judges it: the focus comes back to
    // the field (not <body>), the response refused selected, to compare with the device or type over.
    await response.press('Tab');
    await expect(page.getByRole('button', { name: 'Confirm withdrawal' })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(alert).toHaveText('That response is not correct. Check the code and try again: 2 attempts left for this confirmation.');
    await expect(response).toBeFocused();
    await expect(response).toHaveValue(wrongOf(right));
    expect(await selection(response)).toEqual([0, 8]);
    await expect(alert).toBeInViewport();

    // Escape is Cancel: the form again, the amount kept, nothing withdrawn.
    await response.press('Escape');
    await expect(page.getByLabel('Amount (USD)')).toBeFocused();
    await expect(page.getByLabel('Amount (USD)')).toHaveValue('1,250.50');
    expect(await slsd.slsctl('withdrawals', '--user', 'win.wendy')).not.toContain('1,250.50');

    // A new challenge, answered right with Enter.
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByLabel('Response')).toBeFocused();
    const again = (await page.locator('output[aria-label="Challenge code"]').innerText()).replace(/\s+/g, '');
    await page.getByLabel('Response').fill(await deviceResponse(slsd, gold, again));
    await page.getByLabel('Response').press('Enter');
    await expect(page.getByText(/^Withdrawal of USD 1,250\.50 confirmed with/)).toBeVisible();
  });

  test('L6: three wrong responses end the confirmation, in its own words, and the form comes back', async ({ desktop: { page }, slsd }) => {
    const gold = await goldUserOnAccount(page, slsd, 'win.walter', 'U-WIN3');
    await page.getByLabel('Amount (USD)').fill('500');
    await page.getByRole('button', { name: 'Continue' }).click();
    const challenge = (await page.locator('output[aria-label="Challenge code"]').innerText()).replace(/\s+/g, '');
    const wrong = wrongOf(await deviceResponse(slsd, gold, challenge));
    for (const left of ['2 attempts', '1 attempt']) {
      await page.getByLabel('Response').fill(wrong);
      await page.getByLabel('Response').press('Enter');
      await expect(page.locator('form.response-form').getByRole('alert')).toContainText(`${left} left for this confirmation.`);
    }
    await page.getByLabel('Response').fill(wrong);
    await page.getByLabel('Response').press('Enter');
    await expect(page.getByRole('alert')).toHaveText('That response is not correct. This confirmation has ended after 3 wrong responses; nothing was done. Start again for a new challenge.');
    await expect(page.getByLabel('Amount (USD)')).toBeFocused();
    await expect(page.getByRole('alert')).not.toContainText('login');
  });

  test('O1, O2: opting out says what it means first; Cancel has the focus, and Escape or Cancel changes nothing', async ({ desktop: { page }, slsd }) => {
    await goldUserOnAccount(page, slsd, 'care.olga', 'U-CARE');
    await page.getByRole('button', { name: 'Secure Login System' }).click();
    const optOut = page.getByRole('button', { name: 'Opt out for trading-platform login…' });
    await optOut.click();
    const confirmation = page.getByRole('form', { name: 'Opt out for trading-platform login?' });
    await expect(confirmation).toBeInViewport();
    await expect(confirmation).toContainText('The trading platform will no longer ask for your security device when you log in.');
    await expect(confirmation).toContainText('The Client Portal, security settings and withdrawals still need it.');
    await expect(confirmation).toContainText('Pink Sheet and OTCBB trading is restricted while you are opted out.');
    await expect(confirmation.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await expectAccessible(page, 'Account security: opt-out confirmation');

    // Escape, then Enter on the focused Cancel: nothing changes, the focus goes back to the button.
    await page.keyboard.press('Escape');
    await expect(confirmation).toHaveCount(0);
    await expect(optOut).toBeFocused();
    await optOut.press('Enter');
    await expect(confirmation.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(confirmation).toHaveCount(0);
    await expect(page.getByText('You always use your Secure Login Device when logging in.')).toBeVisible();
    expect(await slsd.slsctl('audit', '--user', 'care.olga')).not.toContain('sls.opted_out');

    // Confirmed: opted out, and the restriction said.
    await optOut.click();
    await confirmation.getByRole('button', { name: 'Opt out', exact: true }).click();
    await expect(page.getByText('You are opted out: the trading platform does not ask for your security device. Pink Sheet and OTCBB trading is restricted.')).toBeVisible();
    await expect(page.getByRole('button', { name: 'I want to always use my Secure Login Device when logging in' })).toBeFocused();
    expect(await slsd.slsctl('audit', '--user', 'care.olga')).toContain('sls.opted_out');
  });

  test('P2: a code the carrier delivers later says when in New York time, labelled', async ({ desktop: { page }, slsd }) => {
    await goldUserOnAccount(page, slsd, 'late.lara', 'U-LATE');
    // A number whose country is outside the carriers' hours now (Switzerland, Japan and the US between them always have one).
    const now = Date.now();
    const night = ['+41791234567', '+819012345678', '+12015550123']
      .map((n) => ({ n, at: smsDeliverableFrom(n, now) }))
      .sort((a, b) => b.at - a.at)[0]!;
    expect(checkMobileNumber(night.n).ok).toBe(true);
    expect(night.at).toBeGreaterThan(now + 10 * 60_000);
    await page.getByRole('button', { name: 'Mobile number' }).click();
    await page.getByLabel('Mobile number (international form)').fill(night.n);
    await page.getByRole('button', { name: 'Send code' }).click();
    const when = formatNewYorkTime(new Date(night.at), new Date(), 'en-US');
    await expect(page.getByText(/^Your carrier delivers text messages later/)).toHaveText(new RegExp(`at ${when.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(New York time\\)\\.$`));
  });

  test('P1, C5: Send code and Verify, pressed with Tab and Enter and refused: the focus back on the field, its text selected', async ({ desktop: { page }, slsd }) => {
    await goldUserOnAccount(page, slsd, 'mob.mona', 'U-MOB');
    await page.getByRole('button', { name: 'Mobile number' }).click();
    // A number slsd refuses: Send code, disabled while it waited, must not leave the focus on <body>.
    const number = page.getByLabel('Mobile number (international form)');
    await number.fill('+1 555');
    await number.press('Tab');
    await expect(page.getByRole('button', { name: 'Send code' })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(page.getByRole('alert')).toContainText('This is not a valid phone number.');
    await expect(number).toBeFocused();
    expect(await selection(number)).toEqual([0, '+1 555'.length]);
    await page.keyboard.type('+447400123456');
    await page.keyboard.press('Enter');
    // A wrong code, sent with Tab and Enter on Verify.
    const code = page.getByLabel('Confirmation code');
    await expect(code).toBeVisible();
    const sent = await slsd.slsctl('sms', '--to', '+447400123456');
    const right = /(\d{6})(?!.*\d{6})/s.exec(sent)![1]!;
    const wrong = `${right.startsWith('1') ? '2' : '1'}${right.slice(1)}`;
    await code.fill(wrong);
    await code.press('Tab');
    await expect(page.getByRole('button', { name: 'Verify' })).toBeFocused();
    await page.keyboard.press('Enter');
    // The code's own tries (SPEC P1, L6), not a login's.
    await expect(page.getByRole('alert')).toContainText('That code is not correct. Check the text message and try again: 2 attempts left for this code.');
    await expect(code).toBeFocused();
    await expect(code).toHaveValue(wrong);
    expect(await selection(code)).toEqual([0, wrong.length]);
  });

  test('P1, C5: a code that took 3 wrong codes gives the number back, focused and kept, to ask for a new code; a wrong number can be corrected while its code waits', async ({ desktop: { page }, slsd }) => {
    await goldUserOnAccount(page, slsd, 'mob.nina', 'U-MOB-NEW');
    await page.getByRole('button', { name: 'Mobile number' }).click();
    const number = page.getByLabel('Mobile number (international form)');
    await number.fill('+447400123490'); // a typo: the phone is …91
    await number.press('Enter');
    const code = page.getByLabel('Confirmation code');
    await expect(code).toBeVisible();
    // The text never arrives: the number can be corrected without waiting for the code to end.
    await code.press('Tab');
    await page.keyboard.press('Tab');
    const another = page.getByRole('button', { name: 'Send a new code or use another number' });
    await expect(another).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(number).toBeFocused();
    await expect(number).toHaveValue('+447400123490');
    // Back to the code waiting, by keyboard too.
    await page.getByRole('button', { name: 'Enter the code sent to +44 ••• ••• ••90' }).press('Enter');
    await expect(code).toBeFocused();
    // Three wrong codes end it (SPEC L6): the number form again, the number kept, to ask for a new code.
    const right = /(\d{6})(?!.*\d{6})/s.exec(await slsd.slsctl('sms', '--to', '+447400123490'))![1]!;
    const wrong = `${right.startsWith('1') ? '2' : '1'}${right.slice(1)}`;
    for (let i = 0; i < 3; i++) {
      await code.fill(wrong);
      await code.press('Enter');
      if (i < 2) await expect(page.getByRole('alert')).toContainText(`${2 - i} attempt`);
    }
    await expect(page.getByRole('alert')).toContainText('This code has ended after 3 wrong codes. Ask for a new code and type the new one.');
    await expect(number).toBeFocused();
    await expect(number).toHaveValue('+447400123490');
    await expect(code).toHaveCount(0);
  });

  test('W2, C5: over the chosen device\'s limit, the device that would allow it is chosen for the user, said so, the amount kept and the focus on Continue: Enter goes on with it', async ({ desktop: { page }, slsd }) => {
    const { dscplus, scc } = await m2fsOnAccountSecurity(page, slsd);

    // Above the Security Code Card's USD 200,000 a day: slsd refuses it and names the DSC+ (unlimited, W1).
    const amount = page.getByLabel('Amount (USD)');
    await amount.fill('1,200,000');
    const device = page.getByLabel('Confirm with');
    await device.selectOption({ label: scc.label });
    await device.press('Tab');
    const continueButton = page.getByRole('button', { name: 'Continue' });
    await expect(continueButton).toBeFocused();
    await page.keyboard.press('Enter');
    const alert = page.getByRole('alert');
    await expect(alert).toContainText('would pass the daily limit of your Security Code Card');
    await expect(alert).toContainText(`We switched to your ${dscplus.label}, which allows this amount: press Continue to confirm this withdrawal with it.`);
    // The drop-down shows the DSC+, the amount is kept, and Continue, disabled while it asked, has the focus back.
    await expect(device).toHaveValue(dscplus.deviceId);
    await expect(device.locator('option:checked')).toHaveText(dscplus.label);
    await expect(amount).toHaveValue('1,200,000');
    await expect(continueButton).toBeFocused();
    // UI.md, 420×560: the whole line in view, with Continue.
    await expect(alert).toBeInViewport({ ratio: 1 });
    await expect(continueButton).toBeInViewport({ ratio: 1 });
    await expectAccessible(page, 'Account security: a withdrawal switched to the device that allows it');

    // Enter goes on with the DSC+: its challenge for this amount, then the withdrawal is confirmed with it.
    await page.keyboard.press('Enter');
    await expect(page.getByText('You are withdrawing USD 1,200,000.00.')).toBeVisible();
    const challenge = (await page.locator('output[aria-label="Challenge code"]').innerText()).replace(/\s+/g, '');
    await page.getByLabel('Response').fill(await deviceResponse(slsd, dscplus, challenge));
    await page.getByLabel('Response').press('Enter');
    await expect(page.getByText(`Withdrawal of USD 1,200,000.00 confirmed with ${dscplus.label}.`)).toBeVisible();
    expect(await slsd.slsctl('withdrawals', '--user', 'demo.m2fs')).toMatch(/USD 1,200,000\.00 {2}dscplus/);
  });

  test('W2, C5: a limit passed between the challenge and the response (a withdrawal elsewhere meanwhile): the device that allows it is chosen for the user, the amount kept, Enter goes on with it', async ({ desktop: { page }, slsd }) => {
    // A legacy Digital Security Card (USD 1,000,000 a day, W1) and a Gold device (no limit).
    const entity = await entityWithAccount(slsd, 'Two Tokens', 'U-TWO');
    await user(slsd, entity, 'U-TWO', 'two.tess', 'Tess Two');
    const dsc = await legacyToken(slsd, 'two.tess', 'dsc');
    const gold = await goldToken(slsd, 'two.tess');
    await fillLogin(page, 'two.tess', PASSWORD);
    const loginDevice = page.getByRole('combobox', { name: 'Device' });
    await loginDevice.selectOption((await loginDevice.locator('option', { hasText: 'Gold' }).getAttribute('value'))!);
    await page.getByRole('button', { name: 'Continue' }).click();
    await respondOnLogin(page, await deviceResponse(slsd, gold, await shownChallenge(page)));
    await openAccountSecurity(page);
    const device = page.getByLabel('Confirm with');
    const option = async (text: string) => {
      const o = device.locator('option', { hasText: text });
      return { deviceId: (await o.getAttribute('value'))!, label: (await o.innerText()).trim() };
    };
    const [dscOption, goldOption] = [await option('Digital Security Card'), await option('Gold')];

    // USD 700,000 with the Digital Security Card: its challenge comes.
    const amount = page.getByLabel('Amount (USD)');
    await amount.fill('700,000');
    await device.selectOption(dscOption.deviceId);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText('You are withdrawing USD 700,000.00.')).toBeVisible();
    const challenge = (await page.locator('output[aria-label="Challenge code"]').innerText()).replace(/\s+/g, '');
    // Meanwhile USD 400,000 goes on the Client Portal with the Gold device: together over the card's day.
    await withdrawElsewhere(slsd, 'two.tess', PASSWORD, { ...gold, deviceId: goldOption.deviceId }, 400_000_00);
    await page.getByLabel('Response').fill(await deviceResponse(slsd, dsc, challenge));
    await page.getByLabel('Response').press('Enter');

    const alert = page.getByRole('alert');
    await expect(alert).toContainText('would pass the daily limit of your Digital Security Card');
    await expect(alert).toContainText(`We switched to your ${goldOption.label}, which allows this amount: press Continue to confirm this withdrawal with it.`);
    await expect(device).toHaveValue(goldOption.deviceId);
    await expect(amount).toHaveValue('700,000');
    await expect(page.getByRole('button', { name: 'Continue' })).toBeFocused();
    await expect(alert).toBeInViewport({ ratio: 1 });
    // The limits are read again: what the card has left today after the withdrawal elsewhere.
    await expect(page.getByRole('table', { name: 'Limits of your devices' }).getByRole('row', { name: new RegExp(dscOption.label.replace(/[()+.]/g, '\\$&')) })).toContainText('USD 600,000.00');
    // Nothing was withdrawn with the card.
    expect(await slsd.slsctl('withdrawals', '--user', 'two.tess')).not.toMatch(/USD 700,000\.00/);

    await page.keyboard.press('Enter');
    const goldChallenge = (await page.locator('output[aria-label="Challenge code"]').innerText()).replace(/\s+/g, '');
    await page.getByLabel('Response').fill(await deviceResponse(slsd, gold, goldChallenge));
    await page.getByLabel('Response').press('Enter');
    await expect(page.getByText(`Withdrawal of USD 700,000.00 confirmed with ${goldOption.label}.`)).toBeVisible();
    expect(await slsd.slsctl('withdrawals', '--user', 'two.tess')).toMatch(/USD 700,000\.00 {2}gold/);
  });

  test('W2, C5: over the limit of every device, sent with Tab and Enter on Continue: nothing is switched, the focus back on the amount, its text selected', async ({ desktop: { page }, slsd }) => {
    // One legacy Digital Security Card: USD 1,000,000 a day (W1), and no device of the user allows more.
    const entity = await entityWithAccount(slsd, 'Card Only', 'U-DSC');
    await user(slsd, entity, 'U-DSC', 'dsc.dora', 'Dora Card');
    await legacyDeviceOnAccountSecurity(page, slsd, 'dsc.dora', 'dsc');

    // Continue, disabled while it asked, must not leave the focus on <body>.
    const amount = page.getByLabel('Amount (USD)');
    await amount.fill('1,200,000');
    const device = page.getByLabel('Confirm with');
    const chosen = await device.inputValue();
    await device.press('Tab');
    await expect(page.getByRole('button', { name: 'Continue' })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(page.getByRole('alert')).toContainText('would pass the daily limit of your Digital Security Card');
    await expect(page.getByRole('alert')).toContainText('None of your devices allows this amount now');
    await expect(page.getByRole('alert')).not.toContainText('We switched');
    await expect(device).toHaveValue(chosen);
    await expect(amount).toBeFocused();
    await expect(amount).toHaveValue('1,200,000');
    expect(await selection(amount)).toEqual([0, '1,200,000'.length]);
    // Typing replaces it.
    await page.keyboard.type('150,000');
    await expect(amount).toHaveValue('150,000');
  });

  test('C1: in German and French the limits table, amounts and all, fits the 420 px window: no sideways scrolling', async ({ desktop: { page }, slsd }) => {
    await m2fsOnAccountSecurity(page, slsd);
    let shown: typeof en | typeof de | typeof fr = en;
    for (const [language, strings] of [['Deutsch', de], ['Français', fr]] as const) {
      await page.getByRole('button', { name: shown.shell.more.toggle }).click();
      await page.getByLabel(shown.shell.more.language).selectOption({ label: language });
      shown = strings;
      await page.keyboard.press('Escape');
      const table = page.getByRole('table', { name: strings.account.withdraw.limitsCaption });
      // The Security Code Card's limits are amounts ("200.000,00 USD"), not "unlimited".
      await expect(table.getByRole('row', { name: /Security Code Card/ })).toContainText('USD');
      const box = (await table.boundingBox())!;
      const widths = { page: await page.locator('html').evaluate((el) => (el as unknown as { scrollWidth: number }).scrollWidth), window: page.viewportSize()!.width, table: box.x + box.width };
      expect(widths.page, `${language}: ${JSON.stringify(widths)}`).toBeLessThanOrEqual(widths.window);
      expect(widths.table, `${language}: ${JSON.stringify(widths)}`).toBeLessThanOrEqual(widths.window);
    }
  });

  test('C1: in German the tabs stay one row, Back in view, and the limits table keeps device labels whole', async ({ desktop: { page }, slsd }) => {
    await goldUserOnAccount(page, slsd, 'de.dora', 'U-DE');
    await page.getByRole('button', { name: en.shell.more.toggle }).click();
    await page.getByLabel(en.shell.more.language).selectOption({ label: 'Deutsch' });
    await page.keyboard.press('Escape');
    await expect(page.getByRole('heading', { name: de.account.screen.title })).toBeVisible();
    await expect(page.locator('header').getByRole('button', { name: de.account.screen.back })).toBeInViewport();
    expect((await page.getByRole('navigation', { name: de.account.screen.nav }).boundingBox())!.height).toBeLessThan(56);
    // "Gold-Gerät (…NNNN)": wrapped at the space at most, never inside a word.
    const words = page.getByRole('table', { name: de.account.withdraw.limitsCaption }).locator('th[scope="row"] .nowrap');
    await expect(words.first()).toBeVisible();
    const lines = await words.evaluateAll((spans) => spans.map((s) => (s as unknown as { getClientRects(): { length: number } }).getClientRects().length));
    expect(lines.every((n) => n === 1), `lines per word: ${lines.join(', ')}`).toBe(true);
    // More tabs than fit: the row fades at the side where more are, and only there.
    const nav = page.getByRole('navigation', { name: de.account.screen.nav });
    await expect(nav).toHaveClass(/more-right/);
    await expect(nav).not.toHaveClass(/more-left/);
    // The last tab reached by scrolling the row, kept in view when chosen.
    const mobile = page.getByRole('button', { name: de.account.sections.mobile });
    await mobile.click();
    await expect(mobile).toBeInViewport({ ratio: 1 });
    await expect(nav).toHaveClass(/more-left/);
    await expect(nav).not.toHaveClass(/more-right/);
    await expectAccessible(page, 'Kontosicherheit: Mobilnummer');
  });
});
