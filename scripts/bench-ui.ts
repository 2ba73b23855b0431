/**
 * `npm run bench:ui`: how fast the login form is usable, and how big the renderer is.
 *
 * Prints (1) host start → listening, (2) listening → interactive login form (page loaded, the
 * WebSocket contract connected, settings read, the user-name field focused and Log In enabled),
 * measured in Debian's Chromium, already running, over `RUNS` fresh pages; and (3) the renderer's
 * gzipped size (level 9: every asset plus index.html). Targets: (2) < 300 ms, (3) < 150 KB.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { chromium } from '@playwright/test';
import { DEFAULT_RENDERER_DIR, startBrowserHost } from '../electron/browser-host.ts';
import { createMemoryKeychain } from '../native/keychain.ts';
import { createConfSettingsStore } from '../native/settings.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../tests/fixtures/chromium.ts';

const RUNS = Number(process.env.RUNS ?? 7);

execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });

function gzipSize(dir: string): { total: number; files: { name: string; raw: number; gz: number }[] } {
  const files: { name: string; raw: number; gz: number }[] = [];
  const walk = (d: string, prefix: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${prefix}${e.name}/`);
      else {
        const buf = readFileSync(join(d, e.name));
        files.push({ name: `${prefix}${e.name}`, raw: buf.length, gz: gzipSync(buf, { level: 9 }).length });
      }
    }
  };
  walk(dir, '');
  return { total: files.reduce((s, f) => s + f.gz, 0), files };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
const listening: number[] = [];
const interactive: number[] = [];
try {
  for (let i = 0; i < RUNS + 1; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'sls-bench-ui-'));
    const context = await browser.newContext({ viewport: { width: 420, height: 560 } });
    const page = await context.newPage();
    const t0 = performance.now();
    const bh = await startBrowserHost({ settings: createConfSettingsStore({ dir }), keychain: createMemoryKeychain() });
    const t1 = performance.now();
    await page.goto(bh.url, { waitUntil: 'commit' });
    await page.waitForFunction(() => {
      const d = (globalThis as unknown as { document: { activeElement: { getAttribute(n: string): string | null } | null; querySelector(s: string): { disabled: boolean } | null } }).document;
      const button = d.querySelector('button.primary');
      return d.activeElement?.getAttribute('name') === 'username' && button !== null && !button.disabled;
    }, undefined, { polling: 'raf' });
    const t2 = performance.now();
    // The first run warms Chromium's caches and V8; it is not counted.
    if (i > 0) {
      listening.push(t1 - t0);
      interactive.push(t2 - t1);
    }
    await context.close();
    await bh.close();
    rmSync(dir, { recursive: true, force: true });
  }
} finally {
  await browser.close();
}

const size = gzipSize(DEFAULT_RENDERER_DIR);
const ms = (x: number) => `${x.toFixed(1)} ms`;
process.stdout.write(`SLS Desktop UI benchmark (${RUNS} runs, median; Chromium ${browser.version()} already running)\n`);
process.stdout.write(`  host start → listening:                 ${ms(median(listening))}  (min ${ms(Math.min(...listening))}, max ${ms(Math.max(...listening))})\n`);
process.stdout.write(`  listening → interactive login form:     ${ms(median(interactive))}  (min ${ms(Math.min(...interactive))}, max ${ms(Math.max(...interactive))})  target < 300 ms\n`);
process.stdout.write(`  host start → interactive login form:    ${ms(median(listening.map((l, i) => l + interactive[i]!)))}\n`);
process.stdout.write(`  renderer bundle, gzipped (level 9):     ${(size.total / 1024).toFixed(1)} KB  target < 150 KB\n`);
for (const f of size.files) process.stdout.write(`    ${f.name.padEnd(36)} ${(f.raw / 1024).toFixed(1).padStart(7)} KB raw  ${(f.gz / 1024).toFixed(1).padStart(6)} KB gz\n`);
