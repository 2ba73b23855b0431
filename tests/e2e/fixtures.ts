/**
 * Playwright fixtures: a real slsd per worker, a browser host per test, and the page on it.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test as base } from '@playwright/test';
import type { Page } from '@playwright/test';
import { startBrowserHost } from '../../electron/browser-host.ts';
import type { BrowserHost } from '../../electron/browser-host.ts';
import { createMemoryKeychain } from '../../native/keychain.ts';
import type { Keychain } from '../../native/keychain.ts';
import { createConfSettingsStore } from '../../native/settings.ts';
import type { SettingsStore } from '../../native/settings.ts';
import { startFakeSlsd } from '../fixtures/fake-slsd.ts';
import type { FakeSlsd } from '../fixtures/fake-slsd.ts';

export const ROOT = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);

export interface Slsd {
  url: string;
  dataDir: string;
  /** Run `slsctl --data-dir <data>` with these arguments; its stdout. */
  slsctl(...args: string[]): Promise<string>;
}

/** `slsctl --data-dir <data>` with `input` on its standard input (`--password-stdin`); its stdout. */
export function slsctlWithInput(slsd: Slsd, input: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/slsctl.mjs'), '--data-dir', slsd.dataDir, ...args], { cwd: ROOT });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`slsctl ${args.join(' ')}: ${err}`))));
    child.stdin.end(input);
  });
}

export interface Desktop {
  page: Page;
  host: BrowserHost;
  settings: SettingsStore;
  keychain: Keychain;
  configDir: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`slsd exited with ${child.exitCode}: ${stderr()}`);
    try {
      const r = await fetch(`${url}/v1/health`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`slsd did not become healthy: ${stderr()}`);
}

async function openDesktop(serverUrl: string, keychain: Keychain, use: (d: Desktop) => Promise<void>, page: Page): Promise<void> {
  const configDir = mkdtempSync(join(tmpdir(), 'sls-e2e-config-'));
  const settings = createConfSettingsStore({ dir: configDir });
  settings.update({ serverAddress: serverUrl });
  const host = await startBrowserHost({ settings, keychain });
  await page.goto(host.url);
  await page.getByRole('button', { name: 'Log In' }).waitFor();
  try {
    await use({ page, host, settings, keychain, configDir });
  } finally {
    await host.close();
    rmSync(configDir, { recursive: true, force: true });
  }
}

export const test = base.extend<{ desktop: Desktop; fakeDesktop: Desktop & { fake: FakeSlsd }; keychain: Keychain }, { slsd: Slsd; slsdEnv: Record<string, string> }>({
  /** Extra environment for slsd (e.g. a short SLS_SESSION_TTL_MS); a spec with its own gets its own worker and slsd. */
  slsdEnv: [{}, { option: true, scope: 'worker' }],
  slsd: [
    async ({ slsdEnv }, use) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'sls-e2e-data-'));
      const port = await freePort();
      let err = '';
      const child = spawn(process.execPath, [join(ROOT, 'bin/slsd.cjs'), '--data-dir', dataDir, '--port', String(port), '--demo'], {
        cwd: ROOT,
        env: { ...process.env, ...slsdEnv },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr?.on('data', (d) => (err += String(d)));
      const url = `http://127.0.0.1:${port}`;
      try {
        await waitHealthy(url, child, () => err);
        await use({
          url,
          dataDir,
          slsctl: async (...args) => (await run(process.execPath, [join(ROOT, 'bin/slsctl.mjs'), '--data-dir', dataDir, ...args], { cwd: ROOT })).stdout,
        });
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    { scope: 'worker', timeout: 60_000 },
  ],
  // eslint-disable-next-line no-empty-pattern
  keychain: async ({}, use) => use(createMemoryKeychain()),
  desktop: async ({ slsd, keychain, page }, use) => openDesktop(slsd.url, keychain, use, page),
  fakeDesktop: async ({ keychain, page }, use) => {
    const fake = await startFakeSlsd({ resendCooldownMs: 2_000 });
    try {
      await openDesktop(fake.url, keychain, (d) => use({ ...d, fake }), page);
    } finally {
      await fake.close();
    }
  },
});

export { expect } from '@playwright/test';
