import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { createMemoryKeychain } from '../native/keychain.ts';
import { createMemorySettingsStore } from '../native/settings.ts';
import { chromiumArgs, startBrowserHost, WS_PROTOCOL } from './browser-host.ts';
import type { BrowserHost } from './browser-host.ts';

let dir: string;
let bh: BrowserHost;
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sls-bh-'));
  mkdirSync(join(dir, 'renderer'));
  writeFileSync(join(dir, 'renderer', 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(dir, 'secret.txt'), 'outside the renderer');
  bh = await startBrowserHost({ settings: createMemorySettingsStore(), keychain: createMemoryKeychain(), rendererDir: join(dir, 'renderer') });
  token = new URL(bh.url).hash.replace('#token=', '');
});
afterAll(async () => {
  await bh.close();
  rmSync(dir, { recursive: true, force: true });
});

function connect(protocols: string[], origin: string | undefined): Promise<{ opened: boolean; ws: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${bh.origin.replace('http', 'ws')}/contract`, protocols, origin ? { origin } : {});
    ws.once('open', () => resolve({ opened: true, ws }));
    ws.once('error', () => resolve({ opened: false, ws }));
  });
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

describe('browser host guards (SPEC C3)', () => {
  it('listens on loopback only and keeps the token out of the path', () => {
    expect(bh.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new URL(bh.url).pathname).toBe('/');
  });

  it('accepts the contract socket with the launch token from its own origin, and answers calls', async () => {
    const { opened, ws } = await connect([WS_PROTOCOL, `token.${token}`], bh.origin);
    expect(opened).toBe(true);
    expect(ws.protocol).toBe(WS_PROTOCOL);
    const answer = new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
    ws.send(JSON.stringify({ id: 1, call: 'getAppInfo', input: {} }));
    expect(JSON.parse(await answer)).toMatchObject({ id: 1, result: { ok: true, value: { name: 'SLS Desktop', host: 'browser' } } });
    ws.close();
  });

  it('refuses a wrong or missing token', async () => {
    // One character changed, always to a different one (a 32-byte token's last base64url character is 'A' one time in 16).
    const wrong = `${token[0] === 'A' ? 'B' : 'A'}${token.slice(1)}`;
    expect(wrong).not.toBe(token);
    expect((await connect([WS_PROTOCOL, `token.${wrong}`], bh.origin)).opened).toBe(false);
    expect((await connect([WS_PROTOCOL, `token.${token.slice(0, -1)}`], bh.origin)).opened).toBe(false);
    expect((await connect([WS_PROTOCOL], bh.origin)).opened).toBe(false);
  });

  it('refuses another origin even with the right token (a web page the user visits)', async () => {
    expect((await connect([WS_PROTOCOL, `token.${token}`], 'http://evil.example')).opened).toBe(false);
    expect((await connect([WS_PROTOCOL, `token.${token}`], undefined)).opened).toBe(false);
  });

  it('serves the renderer with a strict CSP and nothing outside its folder', async () => {
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(String(index.headers['content-security-policy'])).toContain("script-src 'self'");
    expect(String(index.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
    expect((await get('/../secret.txt')).status).toBe(404);
    expect((await get('/%2e%2e/secret.txt')).status).toBe(404);
  });

  it('refuses a request for another host name (DNS rebinding)', async () => {
    const u = new URL(bh.origin);
    expect((await get('/', `rebind.example:${u.port}`)).status).toBe(421);
  });
});

describe('Chromium app window flags (ARCHITECTURE.md)', () => {
  const guards = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];

  it('as root: --no-sandbox, where Chromium demands it, with --test-type so its warning bar does not cover the window; every other switch kept', () => {
    const uid = vi.spyOn(process, 'getuid').mockReturnValue(0);
    try {
      const args = chromiumArgs('http://127.0.0.1:1/#token=x', '/tmp/p');
      expect(args).toEqual(expect.arrayContaining([...guards, '--no-sandbox', '--test-type']));
      expect(args.filter((a) => a.startsWith('--disable-web-security') || a.startsWith('--allow-') || a === '--disable-site-isolation-trials')).toEqual([]);
    } finally {
      uid.mockRestore();
    }
  });

  it('as another user: the sandbox stays, and so does every Chromium warning', () => {
    const uid = vi.spyOn(process, 'getuid').mockReturnValue(1000);
    try {
      const args = chromiumArgs('http://127.0.0.1:1/#token=x', '/tmp/p');
      expect(args).toEqual(expect.arrayContaining(guards));
      expect(args).not.toContain('--no-sandbox');
      expect(args).not.toContain('--test-type');
    } finally {
      uid.mockRestore();
    }
  });
});
