/**
 * SLS Desktop in Electron itself (Playwright's `_electron`): where an Electron runtime exists.
 * Elsewhere every test here is skipped with the reason; the same renderer and host services run
 * for real through the browser host in ui.spec.ts and login.spec.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron } from '@playwright/test';
import type { ElectronApplication, Page } from '@playwright/test';
import { CALL_NAMES } from '../../core/contract/names.ts';
import { findElectronRuntime } from '../fixtures/electron-runtime.ts';
import { fillLogin } from '../fixtures/ui.ts';
import { readDemo, demoDevice } from './demo.ts';
import { ROOT, expect, test } from './fixtures.ts';

const runtime = findElectronRuntime(ROOT);

test.describe('Electron shell (SPEC C3)', () => {
  test.skip(!runtime.path, runtime.reason ?? '');
  let app: ElectronApplication;
  let page: Page;
  let userData: string;

  test.beforeEach(async () => {
    execFileSync('npx', ['tsx', 'scripts/build-electron.ts'], { cwd: ROOT, stdio: 'ignore' });
    userData = mkdtempSync(join(tmpdir(), 'sls-electron-'));
    app = await _electron.launch({ executablePath: runtime.path!, args: [ROOT, `--user-data-dir=${userData}`], cwd: ROOT });
    page = await app.firstWindow();
  });
  test.afterEach(async () => {
    await app?.close();
    rmSync(userData, { recursive: true, force: true });
  });

  test('the renderer is isolated: no Node, window.sls has only the contract', async () => {
    await expect(page.getByRole('button', { name: 'Log In' })).toBeVisible();
    expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
    expect(await page.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined');
    const keys = await page.evaluate(() => Object.keys((globalThis as unknown as { sls: object }).sls).sort());
    // Exactly the contract's calls (core/contract/names.ts) and `on`, nothing else.
    expect(keys).toEqual([...CALL_NAMES, 'on'].sort());
  });

  test('refuses navigation and new windows', async () => {
    await page.evaluate(() => {
      (globalThis as unknown as { open(u: string): unknown }).open('https://example.com');
      (globalThis as unknown as { location: { href: string } }).location.href = 'https://example.com';
    });
    await page.waitForTimeout(500);
    expect(app.windows()).toHaveLength(1);
    expect(page.url()).toMatch(/^file:.*index\.html/);
  });

  test('logs in over IPC against slsd with a temporary passcode', async ({ slsd }) => {
    const demo = readDemo(slsd);
    await page.getByRole('button', { name: /change server address/i }).click();
    await page.getByLabel('Server address').fill(slsd.url);
    await fillLogin(page, 'demo.temp', demo.password);
    await page.locator('input[name="response"]').fill(demoDevice(demo, 'demo.temp', 'temp_passcode').passcode!);
    await page.getByRole('button', { name: 'Submit' }).click();
    await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();
  });
});
