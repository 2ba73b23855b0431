/**
 * The DSC+ plugged in (SPEC C2, H1, H2; UI.md screen 3), end to end: the renderer in Chromium, the
 * browser host with a real DeviceManager watching a temp SLS_DSCPLUS_DIR, the DSC+ emulator on the
 * card state file slsd's demo data wrote, and the real slsd. The test is the person at the card:
 * it presses the PIN on the emulator's keypad; the PIN never goes through the host (H2).
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { startBrowserHost } from '../../electron/browser-host.ts';
import { createDeviceManagerDscPlusService } from '../../electron/host/dscplus-devices.ts';
import { DeviceManager } from '../../native/device-manager.ts';
import { DscPlusEmulator } from '../../native/emulator/emulator.ts';
import { createMemoryKeychain } from '../../native/keychain.ts';
import { createConfSettingsStore } from '../../native/settings.ts';
import type { SettingsStore } from '../../native/settings.ts';
import { fillLogin } from '../fixtures/ui.ts';
import { expectAccessible } from './axe.ts';
import { demoDevice, deviceResponse, readDemo } from './demo.ts';
import type { Demo, DemoDevice } from './demo.ts';
import { expect, slsctlWithInput, test as base } from './fixtures.ts';

interface CardDesk {
  page: Page;
  demo: Demo;
  settings: SettingsStore;
  /** Starts the emulator for this demo user's card (a copy of slsd's state file, so tries stay per test), plugged in. */
  plugIn(username: string): Promise<{ emulator: DscPlusEmulator; device: DemoDevice }>;
  /** Starts the emulator for a card's state file written by `slsctl` (a copy), plugged in. */
  plugInFile(stateFile: string): Promise<DscPlusEmulator>;
}

const test = base.extend<{ card: CardDesk }>({
  card: async ({ slsd, page }, use) => {
    const dir = mkdtempSync(join(tmpdir(), 'sls-e2e-dscplus-'));
    const configDir = join(dir, 'config');
    const settings = createConfSettingsStore({ dir: configDir });
    settings.update({ serverAddress: slsd.url });
    const demo = readDemo(slsd);
    // SLS_DSCPLUS_DIR of this host: only this test's emulators are seen.
    const dscplus = createDeviceManagerDscPlusService(new DeviceManager({ hid: null, env: { SLS_DSCPLUS_DIR: join(dir, 'cards') }, pollIntervalMs: 200 }));
    await dscplus.start();
    const host = await startBrowserHost({ settings, keychain: createMemoryKeychain(), dscplus });
    const emulators: DscPlusEmulator[] = [];
    await page.goto(host.url);
    await page.getByRole('button', { name: 'Log In' }).waitFor();
    try {
      await use({
        page,
        demo,
        settings,
        async plugIn(username) {
          const device = demoDevice(demo, username, 'dscplus');
          const stateFile = join(dir, `${device.serial}.json`);
          copyFileSync(join(slsd.dataDir, device.file!), stateFile);
          const emulator = await DscPlusEmulator.start({ stateFile, dir: join(dir, 'cards') });
          emulators.push(emulator);
          return { emulator, device };
        },
        async plugInFile(file) {
          const stateFile = join(dir, `copy-${emulators.length}.json`);
          copyFileSync(file, stateFile);
          const emulator = await DscPlusEmulator.start({ stateFile, dir: join(dir, 'cards') });
          emulators.push(emulator);
          return emulator;
        },
      });
    } finally {
      await host.close();
      for (const e of emulators) await e.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

async function expectSignedIn(page: Page, deviceLabel: string): Promise<void> {
  await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();
  await expect(page.locator('dt:text-is("Signed in with") + dd')).toHaveText(deviceLabel);
}

function wrongPin(pin: string): string {
  return pin === '0000' ? '1111' : '0000';
}

test.describe('DSC+ plugged in (SPEC C2, H2)', () => {
  test('the card answers: PIN pressed on the card, response straight to slsd, signed in', async ({ card: { page, demo, plugIn } }) => {
    const { emulator, device } = await plugIn('demo.dscplus');
    const prompt = emulator.nextPinPrompt();
    await fillLogin(page, 'demo.dscplus', demo.password);
    await expect(page.getByText('Enter your PIN on the card (3 tries left).')).toBeVisible();
    const shown = await prompt;
    // The card shows the same challenge the screen does; no response field while the card answers.
    await expect(page.locator('output.challenge')).toHaveText(shown.challenge);
    await expect(page.locator('input[name="response"]')).toHaveCount(0);
    await expect(page.locator('p.waiting[role="status"]')).toHaveText('Waiting for your PIN on the card…');
    // SPEC C5: the card waits 60 s for the PIN: the time left counts down, outside the live region.
    const left = page.locator('p.time-left');
    await expect(left).toHaveText(/^Time left to enter it: 0:[0-5]\d$/);
    const first = await left.innerText();
    await expect(left).not.toHaveText(first, { timeout: 3_000 });
    await expect(page.locator('[role="status"] .time-left, [aria-live] .time-left')).toHaveCount(0);
    // SPEC C5: nothing to type here, so the heading takes the focus (announced; Tab starts there).
    await expect(page.getByRole('heading', { name: 'Digital Security Card+' })).toBeFocused();
    await expectAccessible(page, 'DSC+ plugged in: PIN on the card');
    emulator.keypad.enter(device.pin!);
    await expectSignedIn(page, device.label);
  });

  test('a wrong PIN shows the tries left and the card is asked again (SPEC H2)', async ({ card: { page, demo, plugIn } }) => {
    const { emulator, device } = await plugIn('demo.dscplus');
    let prompt = emulator.nextPinPrompt();
    await fillLogin(page, 'demo.dscplus', demo.password);
    await prompt;
    prompt = emulator.nextPinPrompt();
    emulator.keypad.enter(wrongPin(device.pin!));
    await expect(page.locator('p.error[role="alert"]')).toHaveText('Wrong PIN. 2 tries left before the card blocks. Try again on the card.');
    await expect(page.getByText('Enter your PIN on the card (2 tries left).')).toBeVisible();
    await expectAccessible(page, 'DSC+ plugged in: wrong PIN');
    await prompt; // re-armed: RESPOND sent again
    emulator.keypad.enter(device.pin!);
    await expectSignedIn(page, device.label);
  });

  test('unplugged mid-way: typing, with a line saying why, then the typed response logs in', async ({ card: { page, demo, plugIn }, slsd }) => {
    const { emulator, device } = await plugIn('demo.dscplus');
    const prompt = emulator.nextPinPrompt();
    await fillLogin(page, 'demo.dscplus', demo.password);
    const { challenge } = await prompt;
    await emulator.unplug();
    await expect(page.getByText('The card was unplugged.')).toBeVisible();
    await expectAccessible(page, 'DSC+ unplugged: typing');
    const field = page.locator('input[name="response"]');
    await expect(field).toBeVisible();
    await expect(page.locator('output.challenge')).toHaveText(challenge);
    await field.fill(await deviceResponse(slsd, device, challenge));
    await field.press('Enter');
    await expectSignedIn(page, device.label);
  });

  test('Type the response instead: CANCEL to the card, the same challenge typed logs in', async ({ card: { page, demo, plugIn }, slsd }) => {
    const { emulator, device } = await plugIn('demo.dscplus');
    const prompt = emulator.nextPinPrompt();
    await fillLogin(page, 'demo.dscplus', demo.password);
    const { challenge } = await prompt;
    await page.getByRole('button', { name: 'Type the response instead' }).click();
    const field = page.locator('input[name="response"]');
    await expect(field).toBeVisible();
    await expect.poll(() => emulator.device.screen.line).toBe('Cancelled');
    await expect(page.locator('output.challenge')).toHaveText(challenge);
    await field.fill(await deviceResponse(slsd, device, challenge));
    await field.press('Enter');
    await expectSignedIn(page, device.label);
  });

  test('Type the response instead, pressed with the keyboard: the field takes the focus; a wrong response sent with Tab and Enter on Submit brings it back there, selected (SPEC C5)', async ({ card: { page, demo, plugIn }, slsd }) => {
    const { device } = await plugIn('demo.dscplus');
    await fillLogin(page, 'demo.dscplus', demo.password);
    const typeInstead = page.getByRole('button', { name: 'Type the response instead' });
    await typeInstead.focus();
    await page.keyboard.press('Enter');
    const field = page.locator('input[name="response"]');
    await expect(field).toBeFocused();
    const challenge = (await page.locator('output.challenge').innerText()).replace(/\s+/g, '');
    const right = await deviceResponse(slsd, device, challenge);
    const wrong = `${right.startsWith('1') ? '2' : '1'}${right.slice(1)}`;
    await page.keyboard.type(wrong);
    await page.keyboard.press('Tab');
    await expect(page.getByRole('button', { name: 'Submit' })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(page.getByRole('alert')).toContainText('That response is not correct.');
    await expect(field).toBeFocused();
    await expect(field).toHaveValue(wrong);
    expect(await field.evaluate((el) => [(el as unknown as { selectionStart: number }).selectionStart, (el as unknown as { selectionEnd: number }).selectionEnd])).toEqual([0, wrong.length]);
    await page.keyboard.type(right);
    await page.keyboard.press('Enter');
    await expectSignedIn(page, device.label);
  });

  test('cancelled on the card: typing offered, and the challenge can be sent to the card again', async ({ card: { page, demo, plugIn } }) => {
    const { emulator, device } = await plugIn('demo.dscplus');
    let prompt = emulator.nextPinPrompt();
    await fillLogin(page, 'demo.dscplus', demo.password);
    await prompt;
    emulator.keypad.cancel();
    await expect(page.getByText('Cancelled on the card.')).toBeVisible();
    await expect(page.locator('input[name="response"]')).toBeVisible();
    prompt = emulator.nextPinPrompt();
    await page.getByRole('button', { name: 'Send the challenge to the card again' }).click();
    await prompt;
    emulator.keypad.enter(device.pin!);
    await expectSignedIn(page, device.label);
  });

  test('drop-down: the plugged-in card is preselected over the last used device, "connected" follows hot-plug', async ({ card: { page, demo, settings, plugIn } }) => {
    const { emulator, device } = await plugIn('demo.m2fs');
    const scc = demoDevice(demo, 'demo.m2fs', 'scc');
    settings.update({ lastDeviceByUser: { 'demo.m2fs': scc.deviceId } });
    await fillLogin(page, 'demo.m2fs', demo.password);
    const select = page.getByLabel('Device', { exact: true });
    await expect(select).toHaveValue(device.deviceId);
    await expect(select.locator('option:checked')).toHaveText(`${device.label} — connected`);
    await emulator.unplug();
    await expect(select.locator(`option[value="${device.deviceId}"]`)).toHaveText(device.label);
    await emulator.replug();
    await expect(select.locator(`option[value="${device.deviceId}"]`)).toHaveText(`${device.label} — connected`);
    const prompt = emulator.nextPinPrompt();
    await page.getByRole('button', { name: 'Continue' }).click();
    await prompt;
    emulator.keypad.enter(device.pin!);
    await expectSignedIn(page, device.label);
  });

  test('C2: another user\'s card plugged in: the typing screen says it is not this card, and the right one, plugged in, answers', async ({ card: { page, demo, plugIn } }) => {
    const { device: other } = await plugIn('demo.m2fs');
    await fillLogin(page, 'demo.dscplus', demo.password);
    const mine = demoDevice(demo, 'demo.dscplus', 'dscplus');
    await expect(page.locator('input[name="response"]')).toBeVisible();
    await expect(page.getByRole('note')).toHaveText(
      `The card plugged in (…${other.serial!.slice(-4)}) is not ${mine.label}: it cannot answer this challenge. Plug in ${mine.label}, or type the response ${mine.label} shows.`,
    );
    await expectAccessible(page, 'DSC+: another card plugged in');
    const { emulator, device } = await plugIn('demo.dscplus');
    const prompt = emulator.nextPinPrompt();
    await expect(page.getByText('Enter your PIN on the card (3 tries left).')).toBeVisible();
    await prompt;
    emulator.keypad.enter(device.pin!);
    await expectSignedIn(page, device.label);
  });

  test('plugged in while the challenge shows: the card takes over from typing', async ({ card: { page, demo, plugIn } }) => {
    const { emulator, device } = await plugIn('demo.dscplus');
    await emulator.unplug();
    await fillLogin(page, 'demo.dscplus', demo.password);
    await expect(page.locator('input[name="response"]')).toBeVisible();
    const prompt = emulator.nextPinPrompt();
    await emulator.replug();
    await expect(page.getByText('Enter your PIN on the card (3 tries left).')).toBeVisible();
    await prompt;
    emulator.keypad.enter(device.pin!);
    await expectSignedIn(page, device.label);
  });

  test('three wrong PINs: the card is blocked, the other devices are offered (SPEC H2)', async ({ card: { page, demo, plugIn } }) => {
    const { emulator, device } = await plugIn('demo.m2fs');
    await fillLogin(page, 'demo.m2fs', demo.password);
    let prompt = emulator.nextPinPrompt();
    await page.getByRole('button', { name: 'Continue' }).click();
    for (let i = 0; i < 3; i++) {
      await prompt;
      prompt = emulator.nextPinPrompt();
      emulator.keypad.enter(wrongPin(device.pin!));
    }
    await expect(page.getByRole('heading', { name: 'Select Second Factor Device' })).toBeVisible();
    await expect(page.getByRole('alert')).toHaveText('This card is blocked after 3 wrong PINs. Call client services.');
    await expect(page.getByLabel('Device', { exact: true }).locator(`option[value="${device.deviceId}"]`)).toHaveCount(0);
  });

  test('three wrong PINs on the only device: the card is blocked, said so, the focus on the heading (SPEC H2, C5)', async ({ card: { page, demo, plugIn } }) => {
    const { emulator, device } = await plugIn('demo.dscplus');
    let prompt = emulator.nextPinPrompt();
    await fillLogin(page, 'demo.dscplus', demo.password);
    for (let i = 0; i < 3; i++) {
      await prompt;
      prompt = emulator.nextPinPrompt();
      emulator.keypad.enter(wrongPin(device.pin!));
    }
    await expect(page.getByRole('alert').filter({ hasText: 'blocked' })).toHaveText('This card is blocked after 3 wrong PINs. Call client services.', { timeout: 15_000 });
    await expect(page.getByRole('heading', { name: 'Digital Security Card+' })).toBeFocused();
    await expectAccessible(page, 'DSC+ blocked');
    // Escape is Cancel (SPEC C5): back to the login form.
    await page.keyboard.press('Escape');
    await expect(page.getByRole('button', { name: 'Log In' })).toBeVisible();
  });

  test('Use another device and Cancel send CANCEL to the card', async ({ card: { page, demo, plugIn } }) => {
    const { emulator, device } = await plugIn('demo.m2fs');
    await fillLogin(page, 'demo.m2fs', demo.password);
    let prompt = emulator.nextPinPrompt();
    await page.getByRole('button', { name: 'Continue' }).click();
    await prompt;
    await page.getByRole('button', { name: 'Use another device' }).click();
    await expect(page.getByRole('heading', { name: 'Select Second Factor Device' })).toBeVisible();
    await expect.poll(() => emulator.device.screen.line).toBe('Cancelled');
    prompt = emulator.nextPinPrompt();
    await page.getByLabel('Device', { exact: true }).selectOption(device.deviceId);
    await page.getByRole('button', { name: 'Continue' }).click();
    await prompt;
    await page.getByRole('button', { name: 'Cancel' }).click();
    await expect(page.getByRole('button', { name: 'Log In' })).toBeVisible();
    await expect.poll(() => emulator.device.screen.line).toBe('Cancelled');
  });

  test('W1, C2: a withdrawal is confirmed by the PIN pressed on the card; the response never reaches the page', async ({ card: { page, demo, plugIn }, slsd }) => {
    const { emulator, device } = await plugIn('demo.dscplus');
    let prompt = emulator.nextPinPrompt();
    await fillLogin(page, 'demo.dscplus', demo.password);
    await prompt;
    emulator.keypad.enter(device.pin!);
    await expectSignedIn(page, device.label);
    await page.getByRole('button', { name: 'Account security' }).click();
    await page.getByLabel('Amount (USD)').fill('2,500');
    await page.getByLabel('Confirm with').selectOption({ label: device.label });
    prompt = emulator.nextPinPrompt();
    await page.getByRole('button', { name: 'Continue' }).click();
    const shown = await prompt;
    await expect(page.getByText('Enter your PIN on the card (3 tries left).')).toBeVisible();
    await expect(page.locator('p.waiting[role="status"]')).toHaveText('Waiting for your PIN on the card…');
    await expect(page.locator('p.time-left')).toHaveText(/^Time left to enter it: 0:[0-5]\d$/);
    await expect(page.locator('input[name="confirm-response"]')).toHaveCount(0);
    await expectAccessible(page, 'Withdrawal: PIN on the card');
    // The challenge the card shows, to compare (UI.md screen 3, as at login).
    await expect(page.locator('output.challenge')).toHaveText(shown.challenge);
    // A wrong PIN first: said, with the tries left, while the card asks again (H2).
    prompt = emulator.nextPinPrompt();
    emulator.keypad.enter(wrongPin(device.pin!));
    await expect(page.getByText('Enter your PIN on the card (2 tries left).')).toBeVisible();
    await prompt;
    await expect(page.getByRole('alert').filter({ hasText: 'Wrong PIN' })).toHaveText('Wrong PIN. 2 tries left before the card blocks. Try again on the card.');
    emulator.keypad.enter(device.pin!);
    await expect(page.getByText(`Withdrawal of USD 2,500.00 confirmed with ${device.label}.`)).toBeVisible();
    expect(await slsd.slsctl('withdrawals', '--user', 'demo.dscplus')).toMatch(/USD 2,500\.00 {2}dscplus/);
    // The card's response went from the host to slsd: the page never held it.
    const response = await deviceResponse(slsd, device, shown.challenge);
    expect(await page.content()).not.toContain(response);
  });

  test('W1, C2: "Type the response instead" cancels the card; the typed response confirms the withdrawal', async ({ card: { page, demo, plugIn }, slsd }) => {
    const { emulator, device } = await plugIn('demo.dscplus');
    let prompt = emulator.nextPinPrompt();
    await fillLogin(page, 'demo.dscplus', demo.password);
    await prompt;
    emulator.keypad.enter(device.pin!);
    await expectSignedIn(page, device.label);
    await page.getByRole('button', { name: 'Account security' }).click();
    await page.getByLabel('Amount (USD)').fill('1,000');
    prompt = emulator.nextPinPrompt();
    await page.getByRole('button', { name: 'Continue' }).click();
    const { challenge } = await prompt;
    await page.getByRole('button', { name: 'Type the response instead' }).click();
    // The user chose to type: said as such, not as if cancelled on the card.
    await expect(page.getByText('The card no longer answers by itself.')).toBeVisible();
    await expect(page.getByText('Cancelled on the card.')).toHaveCount(0);
    await expect(page.locator('output[aria-label="Challenge code"]')).toHaveText(challenge);
    await page.getByLabel('Response').fill(await deviceResponse(slsd, device, challenge));
    await page.getByRole('button', { name: 'Confirm withdrawal' }).click();
    await expect(page.getByText(`Withdrawal of USD 1,000.00 confirmed with ${device.label}.`)).toBeVisible();
  });
  test('W1, C2: unplugged during a withdrawal\'s PIN: typing, saying why; plugged in again, the card answers the same challenge', async ({ card: { page, demo, plugIn }, slsd }) => {
    const { emulator, device } = await plugIn('demo.dscplus');
    let prompt = emulator.nextPinPrompt();
    await fillLogin(page, 'demo.dscplus', demo.password);
    await prompt;
    emulator.keypad.enter(device.pin!);
    await expectSignedIn(page, device.label);
    await page.getByRole('button', { name: 'Account security' }).click();
    await page.getByLabel('Amount (USD)').fill('750');
    prompt = emulator.nextPinPrompt();
    await page.getByRole('button', { name: 'Continue' }).click();
    const { challenge } = await prompt;
    await emulator.unplug();
    await expect(page.getByText('The card was unplugged.')).toBeVisible();
    await expect(page.getByLabel('Response')).toBeVisible();
    prompt = emulator.nextPinPrompt();
    await emulator.replug();
    expect((await prompt).challenge).toBe(challenge);
    await expect(page.getByText('The card was unplugged.')).toHaveCount(0);
    emulator.keypad.enter(device.pin!);
    await expect(page.getByText(`Withdrawal of USD 750.00 confirmed with ${device.label}.`)).toBeVisible();
    expect(await slsd.slsctl('withdrawals', '--user', 'demo.dscplus')).toMatch(/USD 750\.00 {2}dscplus/);
  });

  test('W1, H2: three wrong PINs during a withdrawal: blocked, said so, and no response field for a card that answers nothing', async ({ card: { page, plugInFile }, slsd }) => {
    // A card of its own (blocking a demo card would change it for the other tests of this worker).
    const entity = (await slsd.slsctl('entity', 'create', '--name', 'Bea Blocked', '--dob', '1970-01-01')).trim();
    await slsd.slsctl('account', 'create', '--number', 'U-BLOCK', '--entity', entity, '--balance', '750000');
    await slsctlWithInput(slsd, 'Blocked-Card-Password-1\n', 'user', 'create', '--username', 'card.blocked', '--entity', entity, '--account', 'U-BLOCK', '--password-stdin');
    const stateFile = join(slsd.dataDir, 'card.blocked.dscplus.json');
    const pin = '2468';
    await slsd.slsctl('device', 'add', '--user', 'card.blocked', '--kind', 'dscplus', '--serial', '4000888101', '--pin', pin, '--state-file', stateFile);
    const emulator = await plugInFile(stateFile);
    let prompt = emulator.nextPinPrompt();
    await fillLogin(page, 'card.blocked', 'Blocked-Card-Password-1');
    await prompt;
    emulator.keypad.enter(pin);
    await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();
    await page.getByRole('button', { name: 'Account security' }).click();
    await page.getByLabel('Amount (USD)').fill('100');
    prompt = emulator.nextPinPrompt();
    await page.getByRole('button', { name: 'Continue' }).click();
    for (let i = 0; i < 3; i++) {
      await prompt;
      prompt = emulator.nextPinPrompt();
      emulator.keypad.enter(wrongPin(pin));
    }
    await expect(page.getByText('This card is blocked after 3 wrong PINs.')).toBeVisible({ timeout: 15_000 });
    await expect(page.getByLabel('Response')).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Confirm withdrawal' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Send the challenge to the card again' })).toHaveCount(0);
  });

  test('D6, C2: a DSC+ received is activated by the PIN pressed on it; its response never reaches the page', async ({ card: { page, plugInFile }, slsd }) => {
    // A user of its own (the worker's slsd is shared: the demo users stay as they are), signing in with a first card.
    const entity = (await slsd.slsctl('entity', 'create', '--name', 'Carla Cards', '--dob', '1970-01-01')).trim();
    await slsd.slsctl('account', 'create', '--number', 'U-CARDS', '--entity', entity, '--balance', '750000');
    await slsctlWithInput(slsd, 'Two-Cards-Password-1\n', 'user', 'create', '--username', 'card.owner', '--entity', entity, '--account', 'U-CARDS', '--password-stdin');
    const firstFile = join(slsd.dataDir, 'card.owner.first.json');
    await slsd.slsctl('device', 'add', '--user', 'card.owner', '--kind', 'dscplus', '--serial', '4000888001', '--pin', '2468', '--state-file', firstFile);
    const first = await plugInFile(firstFile);
    let prompt = first.nextPinPrompt();
    await fillLogin(page, 'card.owner', 'Two-Cards-Password-1');
    await prompt;
    first.keypad.enter('2468');
    await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();
    // A second card, sent and waiting for activation (D6, T3), is plugged in beside the first.
    const secondFile = join(slsd.dataDir, 'card.owner.second.json');
    await slsd.slsctl('device', 'add', '--user', 'card.owner', '--kind', 'dscplus', '--serial', '4000888002', '--pin', '1357', '--pending', '--state-file', secondFile);
    const second = await plugInFile(secondFile);
    await page.getByRole('button', { name: 'Account security' }).click();
    await page.getByRole('button', { name: 'Devices' }).click();
    await page.getByLabel('Serial number').fill('4000888002');
    prompt = second.nextPinPrompt();
    await page.getByRole('button', { name: 'Continue' }).click();
    const shown = await prompt;
    await expect(page.getByText('Enter your PIN on the card (3 tries left).')).toBeVisible();
    await expect(page.locator('input[name="confirm-response"]')).toHaveCount(0);
    await expectAccessible(page, 'Device activation: PIN on the card');
    second.keypad.enter('1357');
    await expect(page.getByText('is active. Your other devices stay active.')).toBeVisible();
    expect(await slsd.slsctl('audit', '--user', 'card.owner')).toContain('device.activated');
    const secondCard: DemoDevice = { kind: 'dscplus', deviceId: '', label: '', serial: '4000888002', file: 'card.owner.second.json', pin: '1357' };
    expect(await page.content()).not.toContain(await deviceResponse(slsd, secondCard, shown.challenge));
  });
  test('S3, C2: sharing the owner\'s DSC+ plugged in at the requester\'s desk: the PIN is pressed on the card, not typed', async ({ card: { page, plugInFile }, slsd }) => {
    // Two users of one family entity (S1a); the requester holds a less secure DSC (S1c holds).
    const entity = (await slsd.slsctl('entity', 'create', '--name', 'Lender Family', '--dob', '1966-06-06')).trim();
    await slsd.slsctl('account', 'create', '--number', 'U-LEND', '--entity', entity, '--balance', '100000');
    const password = 'Sharing-On-Card-1';
    for (const [username, displayName] of [
      ['card.lender', 'Lena Lender'],
      ['card.borrower', 'Boris Borrower'],
    ]) {
      await slsctlWithInput(slsd, `${password}\n`, 'user', 'create', '--username', username!, '--display-name', displayName!, '--entity', entity, '--account', 'U-LEND', '--password-stdin');
    }
    const ownerFile = join(slsd.dataDir, 'card.lender.json');
    await slsd.slsctl('device', 'add', '--user', 'card.lender', '--kind', 'dscplus', '--serial', '4000777001', '--pin', '8642', '--state-file', ownerFile);
    const dsc: DemoDevice = { kind: 'dsc', deviceId: '', label: '', serial: null, file: 'card.borrower.dsc.json' };
    await slsd.slsctl('device', 'add', '--user', 'card.borrower', '--kind', 'dsc', '--token-file', join(slsd.dataDir, dsc.file!));
    const lenders = await plugInFile(ownerFile);

    await fillLogin(page, 'card.borrower', password);
    const loginChallenge = (await page.locator('output.challenge').first().innerText()).replace(/\s+/g, '');
    await page.locator('input[name="response"]').fill(await deviceResponse(slsd, dsc, loginChallenge));
    await page.locator('input[name="response"]').press('Enter');
    await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();
    await page.getByRole('button', { name: 'Account security' }).click();
    await page.getByRole('button', { name: 'Share a device' }).click();
    await page.getByLabel("Device owner's user name").fill('card.lender');
    await page.getByLabel("Device owner's password").fill(password);
    const prompt = lenders.nextPinPrompt();
    await page.getByRole('button', { name: 'Continue' }).click();
    const shown = await prompt;
    await expect(page.getByText("Answer with Lena Lender's")).toBeVisible();
    await expect(page.getByText('Enter your PIN on the card (3 tries left).')).toBeVisible();
    await expect(page.locator('input[name="confirm-response"]')).toHaveCount(0);
    await expectAccessible(page, 'Share a device: PIN on the owner\'s card');
    lenders.keypad.enter('8642');
    await expect(page.getByText("Share Lena Lender's")).toBeVisible();
    await page.getByRole('button', { name: 'Submit' }).click();
    await expect(page.getByText("You now use Lena Lender's")).toBeVisible();
    const audit = await slsd.slsctl('audit', '--user', 'card.borrower');
    expect(audit).toContain('sharing.approved');
    const lendersCard: DemoDevice = { kind: 'dscplus', deviceId: '', label: '', serial: '4000777001', file: 'card.lender.json', pin: '8642' };
    expect(await page.content()).not.toContain(await deviceResponse(slsd, lendersCard, shown.challenge));
  });
});

