import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { createMemoryKeychain } from '../native/keychain.ts';
import { createMemorySettingsStore } from '../native/settings.ts';
import { chromiumArgs, chromiumProfile, LAUNCH_CODE_TTL_MS, startBrowserHost, WS_CLOSE_REPLACED, WS_PROTOCOL } from './browser-host.ts';
import type { BrowserHost } from './browser-host.ts';

let dir: string;
let bh: BrowserHost;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sls-bh-'));
  mkdirSync(join(dir, 'renderer'));
  writeFileSync(join(dir, 'renderer', 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(dir, 'secret.txt'), 'outside the renderer');
  bh = await startBrowserHost({ settings: createMemorySettingsStore(), keychain: createMemoryKeychain(), rendererDir: join(dir, 'renderer') });
});
afterAll(async () => {
  await bh.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The launch code in an address the host made (`#launch=…`). */
function codeOf(url: string): string {
  return new URL(url).hash.replace(/^#launch=/, '');
}

interface Conn {
  opened: boolean;
  ws: WebSocket;
  /** Every frame received, from the first. */
  frames: string[];
  closed: Promise<{ code: number; reason: string }>;
}

/** `origin` null: no Origin header at all (a local program's request). */
function connect(protocols: string[], origin: string | null = bh.origin): Promise<Conn> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${bh.origin.replace('http', 'ws')}/contract`, protocols, origin ? { origin } : {});
    const frames: string[] = [];
    ws.on('message', (d) => frames.push(String(d)));
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: String(reason) })));
    ws.once('open', () => resolve({ opened: true, ws, frames, closed }));
    ws.once('error', () => resolve({ opened: false, ws, frames, closed }));
  });
}

/** The close of `c`, or 'still open' after a second. */
function closeOf(c: Conn): Promise<{ code: number; reason: string } | 'still open'> {
  return Promise.race([c.closed, new Promise<'still open'>((r) => setTimeout(() => r('still open'), 1_000))]);
}

async function firstFrame(c: Conn): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100 && c.frames.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  return JSON.parse(c.frames[0] ?? '{}') as Record<string, unknown>;
}

/** What the page does on first load: presents the launch code, keeps the session token it gets back. */
async function startSession(url = bh.url): Promise<Conn & { token: string }> {
  const c = await connect([WS_PROTOCOL, `launch.${codeOf(url)}`]);
  expect(c.opened).toBe(true);
  const { session } = await firstFrame(c);
  expect(typeof session).toBe('string');
  return { ...c, token: String(session) };
}

async function call(ws: WebSocket, id: number): Promise<unknown> {
  const answer = new Promise<string>((r) => ws.on('message', (d) => (JSON.parse(String(d)) as { id?: number }).id === id && r(String(d))));
  ws.send(JSON.stringify({ id, call: 'getAppInfo', input: {} }));
  return JSON.parse(await answer);
}

function get(path: string, host?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const u = new URL(bh.origin);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One character changed, always to a different one (a 32-byte secret's last base64url character is 'A' one time in 16). */
function wrong(secret: string): string {
  return `${secret[0] === 'A' ? 'B' : 'A'}${secret.slice(1)}`;
}

describe('browser host guards (SPEC C3)', () => {
  it('listens on loopback only and keeps the launch code out of the path', () => {
    const url = bh.url;
    expect(bh.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(codeOf(url)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new URL(url).pathname).toBe('/');
  });

  it('accepts the contract socket with the launch code from its own origin, and answers calls', async () => {
    const s = await startSession();
    expect(s.ws.protocol).toBe(WS_PROTOCOL);
    expect(await call(s.ws, 1)).toMatchObject({ id: 1, result: { ok: true, value: { name: 'SLS Desktop', host: 'browser' } } });
    s.ws.close();
  });

  it('refuses a wrong or missing launch code or session token', async () => {
    const code = codeOf(bh.url);
    expect((await connect([WS_PROTOCOL, `launch.${wrong(code)}`])).opened).toBe(false);
    expect((await connect([WS_PROTOCOL, `launch.${code.slice(0, -1)}`])).opened).toBe(false);
    expect((await connect([WS_PROTOCOL])).opened).toBe(false);
    const s = await startSession(`${bh.origin}/#launch=${code}`);
    s.ws.close();
    expect((await connect([WS_PROTOCOL, `token.${wrong(s.token)}`])).opened).toBe(false);
    expect((await connect([WS_PROTOCOL, `token.${s.token.slice(0, -1)}`])).opened).toBe(false);
    // The launch code is no session token, nor the other way round.
    expect((await connect([WS_PROTOCOL, `token.${codeOf(bh.url)}`])).opened).toBe(false);
    expect((await connect([WS_PROTOCOL, `launch.${s.token}`])).opened).toBe(false);
  });

  it('refuses another origin even with the right launch code or token (a web page the user visits), and such a refusal does not use up the code', async () => {
    const code = codeOf(bh.url);
    expect((await connect([WS_PROTOCOL, `launch.${code}`], 'http://evil.example')).opened).toBe(false);
    expect((await connect([WS_PROTOCOL, `launch.${code}`], null)).opened).toBe(false);
    const s = await startSession(`${bh.origin}/#launch=${code}`);
    s.ws.close();
    expect((await connect([WS_PROTOCOL, `token.${s.token}`], 'http://evil.example')).opened).toBe(false);
    expect((await connect([WS_PROTOCOL, `token.${s.token}`], null)).opened).toBe(false);
  });

  it('serves the renderer with a strict CSP and nothing outside its folder', async () => {
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(String(index.headers['content-security-policy'])).toContain("script-src 'self'");
    expect(String(index.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
    expect((await get('/../secret.txt')).status).toBe(404);
    expect((await get('/%2e%2e/secret.txt')).status).toBe(404);
  });

  it('crash-safety (SPEC C3): a frame that is JSON but not an object (null, a number, an array) closes that socket, and the host keeps answering', async () => {
    for (const frame of ['null', '42', '"x"', '[]', 'true']) {
      const s = await startSession();
      s.ws.send(frame);
      expect(await closeOf(s)).toMatchObject({ code: 1003 });
      const again = await connect([WS_PROTOCOL, `token.${s.token}`]);
      expect(await call(again.ws, 1)).toMatchObject({ id: 1, result: { ok: true } });
      again.ws.close();
      await again.closed;
    }
  });

  it('refuses a request for another host name (DNS rebinding)', async () => {
    const u = new URL(bh.origin);
    expect((await get('/', `rebind.example:${u.port}`)).status).toBe(421);
  });
});

describe('launch code and session token (SPEC C3: the code on the command line opens the door once)', () => {
  it('a launch code works once; a second use is refused like a wrong one', async () => {
    const url = bh.url;
    const first = await startSession(url);
    expect((await connect([WS_PROTOCOL, `launch.${codeOf(url)}`])).opened).toBe(false);
    // Not even after the first connection ended.
    first.ws.close();
    await first.closed;
    expect((await connect([WS_PROTOCOL, `launch.${codeOf(url)}`])).opened).toBe(false);
  });

  it('the session token from the first connection reconnects (a reload), again and again', async () => {
    const s = await startSession();
    s.ws.close();
    await s.closed;
    for (const id of [1, 2]) {
      const again = await connect([WS_PROTOCOL, `token.${s.token}`]);
      expect(again.opened).toBe(true);
      expect(await call(again.ws, id)).toMatchObject({ id, result: { ok: true } });
      // A reconnect is told no new token.
      expect(again.frames.some((f) => 'session' in (JSON.parse(f) as object))).toBe(false);
      again.ws.close();
      await again.closed;
    }
  });

  it('one live connection: the newest (a reload) replaces the older, which is closed with a coded reason', async () => {
    const s = await startSession();
    const reload = await connect([WS_PROTOCOL, `token.${s.token}`]);
    expect(reload.opened).toBe(true);
    expect(await closeOf(s)).toEqual({ code: WS_CLOSE_REPLACED, reason: 'replaced by a newer connection' });
    expect(await call(reload.ws, 7)).toMatchObject({ id: 7, result: { ok: true } });
    const again = await connect([WS_PROTOCOL, `token.${s.token}`]);
    expect(await closeOf(reload)).toMatchObject({ code: WS_CLOSE_REPLACED });
    again.ws.close();
  });

  it('a new launch code ends the session before it: its token stops working, its socket is closed', async () => {
    const old = await startSession();
    const fresh = await startSession();
    expect(fresh.token).not.toBe(old.token);
    expect(await closeOf(old)).toMatchObject({ code: WS_CLOSE_REPLACED });
    expect((await connect([WS_PROTOCOL, `token.${old.token}`])).opened).toBe(false);
    fresh.ws.close();
  });

  it(`a launch code older than ${LAUNCH_CODE_TTL_MS / 1000} s is refused; a fresh one works`, async () => {
    const stale = bh.url;
    const fresh = bh.url;
    const s = await startSession(fresh);
    s.ws.close();
    const now = Date.now();
    const clock = vi.spyOn(Date, 'now').mockReturnValue(now + LAUNCH_CODE_TTL_MS + 1_000);
    try {
      expect((await connect([WS_PROTOCOL, `launch.${codeOf(stale)}`])).opened).toBe(false);
    } finally {
      clock.mockRestore();
    }
    // Refused for good, also once the clock is back.
    expect((await connect([WS_PROTOCOL, `launch.${codeOf(stale)}`])).opened).toBe(false);
  });

  it("the session token is in no address the host makes, nor on Chromium's command line", async () => {
    const url = bh.url;
    const s = await startSession(url);
    s.ws.close();
    const args = chromiumArgs(url, '/tmp/p').join(' ');
    expect(args).toContain(codeOf(url));
    expect(args).not.toContain(s.token);
    expect(url).not.toContain(s.token);
    expect(bh.url).not.toContain(s.token);
    expect(bh.launchUrl(1_000)).not.toContain(s.token);
    expect(s.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe("Chromium's profile (it holds the page's sessionStorage, so the session token)", () => {
  it('without a config dir: a fresh 0700 folder per launch, not a fixed name in the shared temp folder, removed on exit', () => {
    const a = chromiumProfile();
    const b = chromiumProfile();
    try {
      expect(a.dir).not.toBe(b.dir);
      expect(a.dir).not.toBe(join(tmpdir(), 'chromium-profile'));
      for (const p of [a, b]) {
        const st = statSync(p.dir);
        expect(st.isDirectory()).toBe(true);
        expect(st.mode & 0o777).toBe(0o700);
        if (process.getuid) expect(st.uid).toBe(process.getuid());
      }
    } finally {
      a.remove();
      b.remove();
    }
    expect(() => statSync(a.dir)).toThrow();
  });

  it("with a config dir: <config dir>/chromium-profile, made 0700 even if it was open, and kept", () => {
    const config = mkdtempSync(join(tmpdir(), 'sls-bh-config-'));
    try {
      mkdirSync(join(config, 'chromium-profile'), { mode: 0o755 });
      const p = chromiumProfile(config);
      expect(p.dir).toBe(join(config, 'chromium-profile'));
      expect(statSync(p.dir).mode & 0o777).toBe(0o700);
      p.remove();
      expect(statSync(p.dir).isDirectory()).toBe(true);
    } finally {
      rmSync(config, { recursive: true, force: true });
    }
  });
});

describe('Chromium app window flags (ARCHITECTURE.md)', () => {
  const guards = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];

  it('as root: --no-sandbox, where Chromium demands it, with --test-type so its warning bar does not cover the window; every other switch kept', () => {
    const uid = vi.spyOn(process, 'getuid').mockReturnValue(0);
    try {
      const args = chromiumArgs('http://127.0.0.1:1/#launch=x', '/tmp/p');
      expect(args).toEqual(expect.arrayContaining([...guards, '--no-sandbox', '--test-type']));
      expect(args.filter((a) => a.startsWith('--disable-web-security') || a.startsWith('--allow-') || a === '--disable-site-isolation-trials')).toEqual([]);
    } finally {
      uid.mockRestore();
    }
  });

  it('as another user: the sandbox stays, and so does every Chromium warning', () => {
    const uid = vi.spyOn(process, 'getuid').mockReturnValue(1000);
    try {
      const args = chromiumArgs('http://127.0.0.1:1/#launch=x', '/tmp/p');
      expect(args).toEqual(expect.arrayContaining(guards));
      expect(args).not.toContain('--no-sandbox');
      expect(args).not.toContain('--test-type');
    } finally {
      uid.mockRestore();
    }
  });
});
