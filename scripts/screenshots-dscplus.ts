/**
 * The DSC+ plugged-in screens for `npm run screenshots` (SPEC C2, H2; UI.md screens 2 and 3).
 *
 * These need a card whose serial slsd knows, so they run against a real slsd with its demo data
 * (the fake slsd's serials are not a card's 10 digits) and the DSC+ emulator on the state file
 * slsd wrote, through a browser host with a DeviceManager on a private discovery directory.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from '@playwright/test';
import { startBrowserHost } from '../electron/browser-host.ts';
import type { BrowserHost } from '../electron/browser-host.ts';
import { createDeviceManagerDscPlusService } from '../electron/host/dscplus-devices.ts';
import { DeviceManager } from '../native/device-manager.ts';
import { DscPlusEmulator } from '../native/emulator/emulator.ts';
import { createMemoryKeychain } from '../native/keychain.ts';
import { createConfSettingsStore } from '../native/settings.ts';

const ROOT = new URL('../', import.meta.url).pathname;

export interface DemoCard {
  username: string;
  password: string;
  pin: string;
  deviceId: string;
  label: string;
  emulator: DscPlusEmulator;
  /** Plugs the card back in and waits until the host has seen it. */
  replug(): Promise<void>;
}

export interface DemoDesk {
  url: string;
  dataDir: string;
  host: BrowserHost;
  /** The emulator for this demo user's DSC+ (a copy of slsd's state file), plugged in. */
  plugIn(username: string): Promise<DemoCard>;
  close(): Promise<void>;
}

interface DemoFile {
  password: string;
  users: { username: string; devices: { kind: string; deviceId: string; label: string; file: string | null; pin?: string }[] }[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** slsd `--demo` on a temp data dir and loopback, and a browser host that sees only the emulators started here. */
export async function startDemoDesk(): Promise<DemoDesk> {
  const dir = mkdtempSync(join(tmpdir(), 'sls-dscplus-desk-'));
  const dataDir = join(dir, 'data');
  const cards = join(dir, 'cards');
  const port = await freePort();
  const slsd = spawn(process.execPath, [join(ROOT, 'bin/slsd.cjs'), '--data-dir', dataDir, '--port', String(port), '--demo'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  slsd.stderr?.on('data', (d) => (err += String(d)));
  const url = `http://127.0.0.1:${port}`;
  const emulators: DscPlusEmulator[] = [];
  let host: BrowserHost | null = null;
  const close = async () => {
    await host?.close();
    for (const e of emulators) await e.close();
    slsd.kill('SIGTERM');
    await new Promise((r) => (slsd.exitCode !== null ? r(null) : slsd.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let up = false, until = Date.now() + 60_000; !up; ) {
      if (Date.now() > until || slsd.exitCode !== null) throw new Error(`slsd did not start: ${err}`);
      up = await fetch(`${url}/v1/health`).then((r) => r.ok, () => false);
      if (!up) await new Promise((r) => setTimeout(r, 100));
    }
    const demo = JSON.parse(readFileSync(join(dataDir, 'demo', 'demo.json'), 'utf8')) as DemoFile;
    const dscplus = createDeviceManagerDscPlusService(new DeviceManager({ hid: null, emulatorDir: cards, pollIntervalMs: 200 }));
    await dscplus.start();
    const settings = createConfSettingsStore({ dir: join(dir, 'config') });
    settings.update({ serverAddress: url });
    host = await startBrowserHost({ settings, keychain: createMemoryKeychain(), dscplus });
    const h = host;
    return {
      url,
      dataDir,
      host: h,
      async plugIn(username) {
        const device = demo.users.find((u) => u.username === username)?.devices.find((d) => d.kind === 'dscplus');
        if (!device?.file || !device.pin) throw new Error(`demo data has no DSC+ with a PIN for ${username}`);
        const stateFile = join(dir, `${username}.card.json`);
        copyFileSync(join(dataDir, device.file), stateFile);
        const emulator = await DscPlusEmulator.start({ stateFile, dir: cards });
        emulators.push(emulator);
        // Seen by the host once its manager has connected (hot-plug).
        const seen = async () => {
          for (let until = Date.now() + 5_000; !dscplus.connected().includes(emulator.serial); ) {
            if (Date.now() > until) throw new Error('the host did not see the emulator');
            await new Promise((r) => setTimeout(r, 20));
          }
        };
        await seen();
        const replug = async () => {
          await emulator.replug();
          await seen();
        };
        return { username, password: demo.password, pin: device.pin, deviceId: device.deviceId, label: device.label, emulator, replug };
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Screens 2 and 3 with the card plugged in: connected and preselected, PIN on the card, wrong PIN, unplugged, blocked. */
export async function dscplusScreenshots(browser: Browser, shot: (page: Page, name: string) => Promise<void>): Promise<void> {
  const desk = await startDemoDesk();
  const context = await browser.newContext({ viewport: { width: 420, height: 560 }, reducedMotion: 'reduce' });
  try {
    const card = await desk.plugIn('demo.m2fs');
    const wrong = card.pin === '0000' ? '1111' : '0000';
    const open = async (): Promise<Page> => {
      const page = await context.newPage();
      await page.goto(desk.host.url);
      await page.getByLabel('Username', { exact: true }).fill(card.username);
      await page.getByLabel('Password', { exact: true }).fill(card.password);
      await page.getByRole('button', { name: 'Log In' }).click();
      await page.getByRole('heading', { name: 'Select Second Factor Device' }).waitFor();
      return page;
    };

    let page = await open();
    await shot(page, '21-select-device-dscplus-connected');
    let prompt = card.emulator.nextPinPrompt();
    await page.getByRole('button', { name: 'Continue' }).click();
    await prompt;
    await page.getByText('Waiting for your PIN on the card').waitFor();
    await shot(page, '22-dscplus-enter-pin-on-card');
    prompt = card.emulator.nextPinPrompt();
    card.emulator.keypad.enter(wrong);
    await page.getByText('Wrong PIN.').waitFor();
    await prompt;
    await shot(page, '23-dscplus-wrong-pin');
    await card.emulator.unplug();
    await page.getByText('The card was unplugged.').waitFor();
    await shot(page, '24-dscplus-unplugged-typing');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.close();

    await card.replug();
    page = await open();
    prompt = card.emulator.nextPinPrompt();
    await page.getByRole('button', { name: 'Continue' }).click();
    for (let i = 0; i < 2; i++) {
      // One wrong PIN was already typed above: two more block the card.
      await prompt;
      prompt = card.emulator.nextPinPrompt();
      card.emulator.keypad.enter(wrong);
    }
    await page.getByText('This card is blocked after 3 wrong PINs.').waitFor();
    await shot(page, '25-dscplus-blocked-other-devices');
    await page.close();
  } finally {
    await context.close();
    await desk.close();
  }
}
