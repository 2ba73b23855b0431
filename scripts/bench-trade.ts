/**
 * `npm run bench:trade` (and the end of `npm run bench:hid`): time to trade with a plugged-in DSC+.
 *
 * From Log In pressed to the Signed in screen, for `demo.dscplus` with its card plugged in (SPEC C2):
 * Debian's Chromium (Playwright) on the built renderer, the browser host with a real DeviceManager,
 * the DSC+ emulator on the state file slsd's demo data wrote, and a real slsd (`--demo`, SQLite) on
 * loopback. The PIN is pressed on the emulator's keypad the moment the card asks for it, so this
 * is everything but the person: argon2id of the password, the challenge, INFO and RESPOND over the
 * socket, the card's PIN check (PBKDF2) and OCRA, the response to slsd, the session. Median of
 * `BENCH_TRADE_RUNS` (default 9) after one warm-up; target < 300 ms.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium } from '@playwright/test';
import { API_PREFIX } from '../core/api.ts';
import { startBrowserHost } from '../electron/browser-host.ts';
import { CLIENT_BUILD, clientName } from '../electron/host/app-info.ts';
import { createDeviceManagerDscPlusService } from '../electron/host/dscplus-devices.ts';
import { DeviceManager } from '../native/device-manager.ts';
import { DscPlusEmulator } from '../native/emulator/emulator.ts';
import { createMemoryKeychain } from '../native/keychain.ts';
import { createConfSettingsStore } from '../native/settings.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../tests/fixtures/chromium.ts';

const RUNS = Number(process.env.BENCH_TRADE_RUNS ?? 9);
const TARGET_MS = 300;
const ROOT = new URL('../', import.meta.url).pathname;

interface DemoFile {
  password: string;
  users: { username: string; devices: { kind: string; file: string | null; pin?: string }[] }[];
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

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;

if (!existsSync(CHROMIUM_PATH)) {
  // `npm run bench:hid` runs this too; without a browser the driver numbers above still stand.
  process.stdout.write(`time to trade: skipped (no Chromium at ${CHROMIUM_PATH}; set SLS_CHROMIUM)\n`);
  process.exit(0);
}
execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });

const dir = mkdtempSync(join(tmpdir(), 'sls-bench-trade-'));
const dataDir = join(dir, 'data');
const port = await freePort();
const slsd = spawn(process.execPath, [join(ROOT, 'bin/slsd.cjs'), '--data-dir', dataDir, '--port', String(port), '--demo'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
const url = `http://127.0.0.1:${port}`;
const cleanups: Array<() => Promise<unknown>> = [];
try {
  for (let up = false, until = Date.now() + 60_000; !up; ) {
    if (Date.now() > until || slsd.exitCode !== null) throw new Error('slsd did not start');
    up = await fetch(`${url}/v1/health`).then((r) => r.ok, () => false);
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  const demo = JSON.parse(readFileSync(join(dataDir, 'demo', 'demo.json'), 'utf8')) as DemoFile;
  const card = demo.users.find((u) => u.username === 'demo.dscplus')?.devices.find((d) => d.kind === 'dscplus');
  if (!card?.file || !card.pin) throw new Error('demo data has no DSC+ with a PIN for demo.dscplus');
  const pin = card.pin;

  // The card: a copy of slsd's state file, plugged into this benchmark's own discovery directory.
  const cards = join(dir, 'cards');
  const stateFile = join(dir, 'card.json');
  copyFileSync(join(dataDir, card.file), stateFile);
  const emulator = await DscPlusEmulator.start({ stateFile, dir: cards });
  cleanups.push(() => emulator.close());
  let promptAt = 0;
  let checkedAt = 0;
  emulator.on('pinPrompt', () => {
    promptAt = performance.now();
    emulator.keypad.enter(pin);
  });
  emulator.on('pinChecked', () => {
    checkedAt = performance.now();
  });

  const dscplus = createDeviceManagerDscPlusService(new DeviceManager({ hid: null, emulatorDir: cards }));
  await dscplus.start();
  const settings = createConfSettingsStore({ dir: join(dir, 'config') });
  settings.update({ serverAddress: url });
  const bh = await startBrowserHost({ settings, keychain: createMemoryKeychain(), dscplus });
  cleanups.push(() => bh.close());
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  cleanups.push(() => browser.close());

  const total: number[] = [];
  const toPrompt: number[] = [];
  const pinCheck: number[] = [];
  const afterCard: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    await bh.host.dispatch('signOut', {});
    const context = await browser.newContext({ viewport: { width: 420, height: 560 } });
    const page = await context.newPage();
    await page.goto(bh.url);
    await page.getByLabel('Username', { exact: true }).fill('demo.dscplus');
    await page.getByLabel('Password', { exact: true }).fill(demo.password);
    const button = page.getByRole('button', { name: 'Log In' });
    await button.waitFor();
    const signedIn = page.waitForFunction(
      () => (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document.querySelector('main.shell h1')?.textContent?.endsWith('Signed in') === true,
      undefined,
      { polling: 'raf', timeout: 10_000 },
    );
    promptAt = 0;
    checkedAt = 0;
    const t0 = performance.now();
    await button.click();
    await signedIn;
    const t1 = performance.now();
    await context.close();
    if (!promptAt || !checkedAt) throw new Error('the card was not asked for the PIN');
    // The first run warms Chromium, V8 and slsd's caches; it is not counted.
    if (i === 0) continue;
    total.push(t1 - t0);
    toPrompt.push(promptAt - t0);
    pinCheck.push(checkedAt - promptAt);
    afterCard.push(t1 - checkedAt);
  }
  // For scale: slsd's first step alone (the password's argon2id), straight over HTTP, no browser or card.
  const slsdLogin: number[] = [];
  for (let i = 0; i < Math.min(RUNS, 5); i++) {
    const t = performance.now();
    const r = await fetch(`${url}${API_PREFIX}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'demo.dscplus', password: demo.password, client: { kind: 'trading_platform', version: CLIENT_BUILD, name: clientName() } }),
    });
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`slsd login answered ${r.status}`);
    slsdLogin.push(performance.now() - t);
  }
  const m = median(total);
  process.stdout.write(
    [
      `time to trade (DSC+ plugged in, Log In pressed → signed in; browser host + slsd on loopback, Chromium; PIN pressed at the prompt), median of ${RUNS}:`,
      `  total                              ${ms(m)}   (min ${ms(Math.min(...total))}, max ${ms(Math.max(...total))})  target < ${TARGET_MS} ms: ${m < TARGET_MS ? 'met' : 'NOT met'}`,
      `  Log In → card asks for the PIN     ${ms(median(toPrompt))}   (password check, challenge, INFO, RESPOND)`,
      `  PIN on the card checked            ${ms(median(pinCheck))}   (the card's PBKDF2)`,
      `  card answered → Signed in shown    ${ms(median(afterCard))}   (OCRA, response to slsd, session, render)`,
      `  for scale: slsd POST /login alone  ${ms(median(slsdLogin))}   (argon2id of the password, over HTTP)`,
      '',
    ].join('\n'),
  );
} finally {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  slsd.kill('SIGTERM');
  await new Promise((r) => (slsd.exitCode !== null ? r(null) : slsd.once('exit', r)));
  rmSync(dir, { recursive: true, force: true });
}
