import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './tests/fixtures/chromium.ts';

// End-to-end tests of SLS Desktop: the real renderer in Debian's Chromium (never `playwright install`),
// through the browser host, against a real slsd started by the fixture on a temp data dir.
export default defineConfig({
  testDir: 'tests/e2e',
  globalSetup: './tests/e2e/global-setup.ts',
  fullyParallel: false,
  workers: 2,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 5_000 },
  reporter: process.env.CI ? 'line' : 'list',
  use: {
    viewport: { width: 420, height: 560 },
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
    trace: 'retain-on-failure',
  },
  projects: [{ name: 'chromium', testIgnore: /electron\.spec\.ts/ }, { name: 'electron', testMatch: /electron\.spec\.ts/ }],
});
