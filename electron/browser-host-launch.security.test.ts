/**
 * `npm start`'s browser host as a process (its `main`), with a stand-in for Chromium that records
 * what any local user could read of it (/proc/<pid>/cmdline) and its profile folder, the way an
 * attacker on the machine would look.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { WS_PROTOCOL } from './browser-host.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

// What it records: its argv, its /proc cmdline, and who owns its --user-data-dir with which mode.
const FAKE_CHROMIUM = `#!${process.execPath}
const fs = require('node:fs');
const args = process.argv.slice(2);
const dir = args.find((a) => a.startsWith('--user-data-dir='))?.slice('--user-data-dir='.length) ?? '';
const st = fs.statSync(dir);
const cmdline = fs.existsSync('/proc/self/cmdline') ? fs.readFileSync('/proc/self/cmdline', 'utf8').split('\\0').join(' ') : args.join(' ');
const out = process.env.FAKE_CHROMIUM_RECORD;
fs.writeFileSync(out + '.tmp', JSON.stringify({ args, cmdline, dir, mode: st.mode & 0o777, uid: st.uid }));
fs.renameSync(out + '.tmp', out);
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);
`;

interface Record {
  args: string[];
  cmdline: string;
  dir: string;
  mode: number;
  uid: number;
}

let work: string;
const started: ChildProcess[] = [];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sls-bh-main-'));
  mkdirSync(join(work, 'renderer'));
  writeFileSync(join(work, 'renderer', 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(work, 'chromium'), FAKE_CHROMIUM);
  chmodSync(join(work, 'chromium'), 0o755);
});
afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** One launch: the host with its own temp folder (TMPDIR) and config home, and the fake Chromium. */
async function launch(name: string): Promise<{ record: Record; tmp: string; host: ChildProcess; stderr: () => string }> {
  const tmp = join(work, name, 'tmp');
  mkdirSync(tmp, { recursive: true });
  mkdirSync(join(work, name, 'config'));
  const recordFile = join(work, name, 'record.json');
  const host = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'electron/browser-host.ts'), '--chromium', join(work, 'chromium'), '--renderer-dir', join(work, 'renderer')], {
    cwd: ROOT,
    env: { ...process.env, DISPLAY: ':99', TMPDIR: tmp, XDG_CONFIG_HOME: join(work, name, 'config'), FAKE_CHROMIUM_RECORD: recordFile },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  started.push(host);
  let err = '';
  host.stderr?.on('data', (d) => (err += String(d)));
  const until = Date.now() + 20_000;
  while (!existsSync(recordFile)) {
    if (host.exitCode !== null || Date.now() > until) throw new Error(`the fake Chromium never started: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { record: JSON.parse(readFileSync(recordFile, 'utf8')) as Record, tmp, host, stderr: () => err };
}

function connect(url: string, credential: string): Promise<{ opened: boolean; ws: WebSocket; first: Promise<string> }> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${u.host}/contract`, [WS_PROTOCOL, credential], { origin: u.origin });
    const first = new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
    ws.once('open', () => resolve({ opened: true, ws, first }));
    ws.once('error', () => resolve({ opened: false, ws, first }));
  });
}

describe('npm start without Electron: what Chromium is given (SPEC C3)', () => {
  it("its command line holds a launch code good once, never the session token; its profile is a fresh 0700 folder per launch, removed on exit", async () => {
    const [one, two] = await Promise.all([launch('one'), launch('two')]);
    for (const { record, tmp, host, stderr } of [one, two]) {
      // The profile: private, this user's, in this launch's temp folder under a name of its own.
      expect(record.mode).toBe(0o700);
      if (process.getuid) expect(record.uid).toBe(process.getuid());
      expect(record.dir.startsWith(join(tmp, 'sls-chromium-'))).toBe(true);

      // What another local user reads in /proc: the address with a launch code.
      const app = record.args.find((a) => a.startsWith('--app='))!.slice('--app='.length);
      expect(record.cmdline).toContain(app);
      const code = /#launch=([A-Za-z0-9_-]{43})$/.exec(app)?.[1] ?? '';
      expect(code).not.toBe('');

      // The page's first connection: the code, taken back; the session token comes back in the first frame.
      const page = await connect(app, `launch.${code}`);
      expect(page.opened).toBe(true);
      const { session } = JSON.parse(await page.first) as { session?: string };
      expect(session).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(record.cmdline).not.toContain(session);
      // Whoever reads the code from /proc now comes too late.
      expect((await connect(app, `launch.${code}`)).opened).toBe(false);
      // …and the host says so (its log may come a moment after the refusal).
      for (let i = 0; i < 100 && !stderr().includes('launch code already used'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(stderr()).toContain('launch code already used');
      page.ws.close();

      // Stopping the host stops Chromium and removes its profile.
      const exited = new Promise((r) => host.once('exit', r));
      host.kill('SIGTERM');
      await exited;
      expect(existsSync(record.dir)).toBe(false);
    }
    expect(one.record.dir).not.toBe(two.record.dir);
  }, 60_000);
});
