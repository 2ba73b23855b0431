/**
 * The browser host's launch-code guard on Linux: only a socket of the host's own OS user may trade the
 * launch code (electron/socket-owner.ts reads its owner from /proc/net/tcp). The attack it stops:
 * another user's program reads the code from Chromium's /proc/<pid>/cmdline and connects first.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createMemoryKeychain } from '../native/keychain.ts';
import { createMemorySettingsStore } from '../native/settings.ts';
import { OWNER_UNKNOWN_REASON, startBrowserHost, WS_CLOSE_OWNER_UNKNOWN, WS_PROTOCOL } from './browser-host.ts';
import type { BrowserHost } from './browser-host.ts';

const NOBODY = 65534;
const SETPRIV = '/usr/bin/setpriv';
/** Another user to be: needs root, Linux and setpriv (util-linux). */
const canBeAnotherUser = process.platform === 'linux' && process.geteuid?.() === 0 && existsSync(SETPRIV);

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sls-bh-owner-'));
  mkdirSync(join(dir, 'renderer'));
  writeFileSync(join(dir, 'renderer', 'index.html'), '<!doctype html><title>t</title>');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function host(extra: { procNetDir?: string } = {}): Promise<{ bh: BrowserHost; logs: string[] }> {
  const logs: string[] = [];
  const bh = await startBrowserHost({
    settings: createMemorySettingsStore(),
    keychain: createMemoryKeychain(),
    rendererDir: join(dir, 'renderer'),
    log: (l) => logs.push(l),
    ...extra,
  });
  return { bh, logs };
}

function codeOf(url: string): string {
  return new URL(url).hash.replace(/^#launch=/, '');
}

interface Conn {
  opened: boolean;
  frames: string[];
  closed: Promise<{ code: number; reason: string }>;
  ws: WebSocket;
}

/** The page's first connection from this process (this user): the launch code. */
function connect(bh: BrowserHost, code: string): Promise<Conn> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${bh.origin.replace('http', 'ws')}/contract`, [WS_PROTOCOL, `launch.${code}`], { origin: bh.origin });
    const frames: string[] = [];
    ws.on('message', (d) => frames.push(String(d)));
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (c, reason) => r({ code: c, reason: String(reason) })));
    ws.once('open', () => resolve({ opened: true, frames, closed, ws }));
    ws.once('error', () => resolve({ opened: false, frames, closed, ws }));
  });
}

async function session(c: Conn): Promise<string | undefined> {
  for (let i = 0; i < 100 && c.frames.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  return (JSON.parse(c.frames[0] ?? '{}') as { session?: string }).session;
}

async function logged(logs: string[], text: string): Promise<string | undefined> {
  for (let i = 0; i < 100 && !logs.some((l) => l.includes(text)); i++) await new Promise((r) => setTimeout(r, 10));
  return logs.find((l) => l.includes(text));
}

// A program that read the code: a raw WebSocket upgrade with the right Origin, Host and code; prints
// the status line it gets back. Plain `node -e` with no module of this repository, so `nobody` can run it.
const THIEF = `
const net = require('node:net');
const [port, code] = process.argv.slice(1);
const s = net.connect(Number(port), '127.0.0.1', () => s.write(
  'GET /contract HTTP/1.1\\r\\nHost: 127.0.0.1:' + port + '\\r\\nOrigin: http://127.0.0.1:' + port +
  '\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Version: 13\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' +
  '\\r\\nSec-WebSocket-Protocol: sls.v1, launch.' + code + '\\r\\n\\r\\n'));
let got = '';
s.on('data', (d) => { got += d; if (got.includes('\\r\\n')) { process.stdout.write(got.split('\\r\\n')[0]); process.exit(0); } });
s.on('error', (e) => { process.stdout.write('error ' + e.message); process.exit(0); });
s.on('end', () => { process.stdout.write(got.split('\\r\\n')[0] || 'closed'); process.exit(0); });
setTimeout(() => { process.stdout.write('timeout'); process.exit(0); }, 10000);
`;

/** Runs THIEF as `uid` (null: as this process's user); its status line. */
function steal(bh: BrowserHost, code: string, uid: number | null): Promise<string> {
  const port = new URL(bh.origin).port;
  const node = [process.execPath, '-e', THIEF, port, code];
  const [cmd, ...args] = uid === null ? node : [SETPRIV, `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...node];
  // Asynchronously: the host answers from this very process.
  return new Promise((resolve) => {
    execFile(cmd!, args, { cwd: '/', timeout: 15_000 }, (_e, stdout, stderr) => resolve(String(stdout) || `no answer: ${String(stderr)}`));
  });
}

describe.runIf(canBeAnotherUser)('launch code from a socket of another OS user (Linux; the tests run as root, the thief as nobody)', () => {
  it('another user who read the code and connects first is refused (403, logged with its uid); the code stays good for the page', async () => {
    expect(spawnSync(SETPRIV, [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '-p', 'process.getuid()'], { cwd: '/' }).stdout.toString().trim()).toBe(String(NOBODY));
    const { bh, logs } = await host();
    try {
      // The same raw request from this user is let in: the refusal below is the uid's doing.
      expect(await steal(bh, codeOf(bh.url), null)).toBe('HTTP/1.1 101 Switching Protocols');

      const code = codeOf(bh.url);
      expect(await steal(bh, code, NOBODY)).toBe('HTTP/1.1 403 Forbidden');
      expect(await logged(logs, 'another OS user')).toContain(`uid ${NOBODY}`);
      expect(logs.join('\n')).not.toContain(code);

      // The page comes after the thief and still gets the session.
      const page = await connect(bh, code);
      expect(page.opened).toBe(true);
      expect(await session(page)).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // The thief again, now that the code is used: refused as before (the owner is checked first).
      expect(await steal(bh, code, NOBODY)).toBe('HTTP/1.1 403 Forbidden');
      page.ws.close();
    } finally {
      await bh.close();
    }
  });
});

describe.runIf(process.platform === 'linux')('launch code from a socket whose owner cannot be found (Linux)', () => {
  it('is refused with WS_CLOSE_OWNER_UNKNOWN and a reason the page can show, logged; the code stays good; other platforms keep the old behaviour', async () => {
    const procNet = mkdtempSync(join(tmpdir(), 'sls-procnet-'));
    const { bh, logs } = await host({ procNetDir: procNet });
    try {
      // No tables (as on a system that does not fill them): nobody is known, so nobody trades the code.
      const code = codeOf(bh.url);
      const page = await connect(bh, code);
      expect(await Promise.race([page.closed, new Promise((r) => setTimeout(() => r('still open'), 5_000))])).toEqual({ code: WS_CLOSE_OWNER_UNKNOWN, reason: OWNER_UNKNOWN_REASON });
      expect(page.frames).toEqual([]);
      const line = await logged(logs, 'owner could not be found');
      expect(line).toContain(`no row for the client socket 127.0.0.1:`);
      expect(line).toContain(join(procNet, 'tcp'));
      expect(line).toContain(`uid ${process.geteuid!()}`);
      expect(logs.join('\n')).not.toContain(code);

      // The tables back: the same code now trades for a session.
      symlinkSync('/proc/net/tcp', join(procNet, 'tcp'));
      if (existsSync('/proc/net/tcp6')) symlinkSync('/proc/net/tcp6', join(procNet, 'tcp6'));
      const again = await connect(bh, code);
      expect(again.opened).toBe(true);
      expect(await session(again)).toMatch(/^[A-Za-z0-9_-]{43}$/);
      again.ws.close();

      // Elsewhere (no /proc): not checked, as before.
      unlinkSync(join(procNet, 'tcp'));
      const platform = Object.getOwnPropertyDescriptor(process, 'platform')!;
      Object.defineProperty(process, 'platform', { ...platform, value: 'darwin' });
      try {
        const mac = await connect(bh, codeOf(bh.url));
        expect(mac.opened).toBe(true);
        expect(await session(mac)).toMatch(/^[A-Za-z0-9_-]{43}$/);
        mac.ws.close();
      } finally {
        Object.defineProperty(process, 'platform', platform);
      }
    } finally {
      await bh.close();
      rmSync(procNet, { recursive: true, force: true });
    }
  });
});
