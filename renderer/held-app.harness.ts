/**
 * The real renderer (App) in Debian's Chromium on the fake host of held-host.harness.tsx, for the
 * tests that hold the host's answers (late-login-answer, late-account-answer, sign-out-first): the
 * page bundle, the browser, and a page at the login form.
 */
import { build } from 'esbuild';
import { chromium } from '@playwright/test';
import type { Browser, Page } from '@playwright/test';
import { en } from './i18n/en/index.ts';

/** held-host.harness.tsx and the App it renders, as one script for the page. */
export async function heldHostBundle(): Promise<string> {
  const out = await build({
    entryPoints: [new URL('./held-host.harness.tsx', import.meta.url).pathname],
    bundle: true,
    write: false,
    format: 'iife',
    jsx: 'automatic',
    target: 'es2022',
    define: { 'process.env.NODE_ENV': '"development"' },
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.SLS_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--disable-gpu', '--no-first-run', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
  });
}

/** A new page with the App at its login form; the page's uncaught errors go into `errors`. */
export async function openHeldApp(browser: Browser, bundle: string, errors: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 420, height: 560 } });
  // A screen that is not there fails the test in seconds, saying which.
  page.setDefaultTimeout(5_000);
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.setContent('<!doctype html><html lang="en"><head><meta charset="utf-8"></head><body><div id="root"></div></body></html>');
  await page.addScriptTag({ content: bundle });
  await page.getByRole('button', { name: en.login.form.submit }).waitFor();
  return page;
}
