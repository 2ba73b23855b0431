/**
 * The browser host: the same host services under plain Node, for machines without an Electron runtime.
 *
 * It serves the built renderer (`dist/renderer`) on 127.0.0.1 and carries the contract over a
 * WebSocket. Two guards stand in for Electron's process boundary (ARCHITECTURE.md, SPEC C3):
 * a random per-launch token, passed to the page in the URL fragment (never sent to the server in a
 * request line, never logged) and presented as a WebSocket subprotocol; and an Origin and Host
 * check, so no other web page and no DNS-rebound name can drive the host.
 */
import { spawn } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { DeviceManager } from '../native/device-manager.ts';
import { createOsKeychain } from '../native/keychain.ts';
import type { Keychain } from '../native/keychain.ts';
import { createConfSettingsStore } from '../native/settings.ts';
import type { SettingsStore } from '../native/settings.ts';
import { appInfo } from './host/app-info.ts';
import { createDeviceManagerDscPlusService } from './host/dscplus-devices.ts';
import { withDscPlusLogin } from './host/dscplus-login.ts';
import { createNoDscPlusService } from './host/dscplus-service.ts';
import { createHost } from './host/index.ts';
import type { DscPlusService, Host } from './host/index.ts';

/** Subprotocol the renderer asks for; the token travels as a second one, `token.<base64url>`. */
export const WS_PROTOCOL = 'sls.v1';
export const WS_PATH = '/contract';

/** The same policy as the renderer's meta tag, plus what only a header can say. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** How long an offered file stays at its address. */
export const OFFERED_FILE_TTL_MS = 5 * 60 * 1000;

export const DEFAULT_RENDERER_DIR = fileURLToPath(new URL('../dist/renderer/', import.meta.url));

export interface BrowserHostOptions {
  settings: SettingsStore;
  keychain: Keychain;
  dscplus?: DscPlusService;
  rendererDir?: string;
  /** 0 picks a free port. */
  port?: number;
  log?: (line: string) => void;
}

export interface BrowserHost {
  /** Open this (it carries the token in its fragment); treat it like a password. */
  readonly url: string;
  readonly origin: string;
  readonly host: Host;
  close(): Promise<void>;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startBrowserHost(options: BrowserHostOptions): Promise<BrowserHost> {
  const rendererDir = resolve(options.rendererDir ?? DEFAULT_RENDERER_DIR);
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new Error(`The renderer is not built: ${join(rendererDir, 'index.html')} is missing (run \`npx vite build\`).`);
  }
  const log = options.log ?? (() => {});
  const token = randomBytes(32).toString('base64url');
  // Files offered to the user (the online Security Code Card PDF, SPEC T1, T2): each at an address
  // with its own random part, for a few minutes; the session token stays in the host.
  const offered = new Map<string, { name: string; type: string; bytes: Uint8Array; until: number }>();
  const offerFile = async (file: { name: string; type: string; bytes: Uint8Array }) => {
    const now = Date.now();
    for (const [k, f] of offered) if (f.until <= now) offered.delete(k);
    const key = randomBytes(24).toString('base64url');
    offered.set(key, { ...file, until: now + OFFERED_FILE_TTL_MS });
    return { url: `/files/${key}/${encodeURIComponent(file.name)}` };
  };
  // SPEC C2: a plugged-in DSC+ answers the challenge by itself (electron/host/dscplus-login.ts).
  const host = withDscPlusLogin(
    createHost({
      settings: options.settings,
      keychain: options.keychain,
      appInfo: appInfo('browser'),
      ...(options.dscplus ? { dscplus: options.dscplus } : {}),
      log,
      offerFile,
    }),
    options.dscplus ?? createNoDscPlusService(),
    log,
  );
  let origin = '';
  let hostHeader = '';

  async function serveFile(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers: Record<string, string> = {
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      'cache-control': 'no-store',
    };
    if (req.headers.host !== hostHeader) {
      res.writeHead(421, headers).end('Misdirected request');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, allow: 'GET, HEAD' }).end();
      return;
    }
    const pathname = decodeURIComponent(new URL(req.url ?? '/', origin).pathname);
    const fileMatch = /^\/files\/([A-Za-z0-9_-]{32})\/[^/]+$/.exec(pathname);
    if (fileMatch) {
      const f = offered.get(fileMatch[1]!);
      if (!f || f.until <= Date.now()) {
        res.writeHead(404, headers).end();
        return;
      }
      // No page CSP here: its object-src 'none' would stop Chromium's PDF viewer.
      res.writeHead(200, {
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-store',
        'content-type': f.type,
        'content-disposition': `inline; filename="${f.name.replace(/[^\w.-]/g, '_')}"`,
      });
      res.end(req.method === 'HEAD' ? undefined : Buffer.from(f.bytes));
      return;
    }
    const rel = normalize(pathname === '/' ? '/index.html' : pathname).replace(/^([/\\])+/, '');
    const file = resolve(rendererDir, rel);
    if (!file.startsWith(rendererDir + sep)) {
      res.writeHead(404, headers).end();
      return;
    }
    try {
      if (!(await stat(file)).isFile()) throw new Error('not a file');
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, headers).end();
    }
  }

  const server = createServer((req, res) => {
    serveFile(req, res).catch(() => res.writeHead(500).end());
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024,
    handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
  const sockets = new Set<WebSocket>();

  server.on('upgrade', (req, socket, head) => {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const presented = offered.find((p) => p.startsWith('token.'))?.slice('token.'.length) ?? '';
    const path = new URL(req.url ?? '/', origin).pathname;
    const trusted =
      path === WS_PATH &&
      req.headers.origin === origin &&
      req.headers.host === hostHeader &&
      offered.includes(WS_PROTOCOL) &&
      sameSecret(presented, token);
    if (!trusted) {
      // No detail to the caller; the log says which guard refused, never the token.
      log(`refused a contract connection (origin=${req.headers.origin ?? 'none'} path=${path})`);
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const unsubscribe = host.events.subscribe((event, payload) => {
    const frame = JSON.stringify({ event, payload });
    for (const ws of sockets) ws.send(frame);
  });

  wss.on('connection', (ws: WebSocket) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('message', async (data) => {
      let msg: { id?: unknown; call?: unknown; input?: unknown };
      try {
        msg = JSON.parse(String(data)) as typeof msg;
      } catch {
        ws.close(1003, 'not JSON');
        return;
      }
      if (typeof msg.id !== 'number') {
        ws.close(1003, 'no id');
        return;
      }
      const result = await host.dispatch(msg.call, msg.input);
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id: msg.id, result }));
    });
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  hostHeader = `127.0.0.1:${port}`;

  return {
    url: `${origin}/#token=${token}`,
    origin,
    host,
    async close() {
      unsubscribe();
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await host.close();
    },
  };
}

/**
 * Chromium flags for app mode here (ARCHITECTURE.md); `--no-sandbox` only as root, where Chromium demands it.
 *
 * As root, `--test-type` too: without it Chromium puts its "unsupported command-line flag:
 * --no-sandbox" infobar over the top 57 px of this small window. Chromium's startup code skips its
 * startup infobars (bad flags, missing API keys, default browser) under this switch;
 * `--disable-infobars` no longer hides that bar (both checked on Debian's Chromium 156 under xvfb).
 * It is meant for test harnesses and relaxes none of the switches above, nor the page's CSP; as
 * root only, so a normal user's window keeps every warning.
 */
export function chromiumArgs(url: string, profileDir: string): string[] {
  const args = [
    `--app=${url}`,
    `--user-data-dir=${profileDir}`,
    '--window-size=420,600',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-quic',
  ];
  if (process.getuid?.() === 0) args.push('--no-sandbox', '--test-type');
  return args;
}

function argValue(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/**
 * `tsx electron/browser-host.ts [--server URL] [--port N] [--config-dir DIR] [--chromium PATH | --headless]`
 *
 * Opens a Chromium app window where a display and Chromium exist, else prints where to point a
 * browser. `bin/start.mjs` runs this as its own process.
 */
export async function main(argv: readonly string[]): Promise<void> {
  const configDir = argValue(argv, '--config-dir');
  const settings = createConfSettingsStore(configDir ? { dir: configDir } : {});
  const server = argValue(argv, '--server');
  if (server) settings.update({ serverAddress: server });
  const hostLog = (l: string) => process.stderr.write(`[host] ${l}\n`);
  // SPEC C2: DSC+ cards over USB and emulators in SLS_DSCPLUS_DIR (native/README.md).
  const dscplus = createDeviceManagerDscPlusService(new DeviceManager(), { log: hostLog });
  // Without discovery the typed response still works: never let it stop the app.
  await dscplus.start().catch((e: unknown) => hostLog(`DSC+ discovery did not start: ${e instanceof Error ? e.message : String(e)}`));
  const bh = await startBrowserHost({
    settings,
    keychain: createOsKeychain(),
    dscplus,
    port: Number(argValue(argv, '--port') ?? 0),
    log: hostLog,
  });
  const chromium = argValue(argv, '--chromium') ?? '/usr/bin/chromium';
  const headless = argv.includes('--headless') || !process.env.DISPLAY || !existsSync(chromium);
  let child: ReturnType<typeof spawn> | null = null;
  if (headless) {
    process.stdout.write(`SLS Desktop (browser host) is listening. Open this address in Chromium (it holds this launch's key):\n  ${bh.url}\n`);
  } else {
    const profile = join(configDir ?? tmpdir(), 'chromium-profile');
    mkdirSync(profile, { recursive: true });
    child = spawn(chromium, chromiumArgs(bh.url, profile), { stdio: 'ignore' });
    process.stdout.write(`SLS Desktop (browser host) opened in a Chromium app window (${bh.origin}).\n`);
    child.on('exit', () => void shutdown());
  }
  let closing = false;
  async function shutdown(): Promise<void> {
    if (closing) return;
    closing = true;
    if (child && child.exitCode === null) child.kill('SIGTERM');
    await bh.close();
    process.exit(0);
  }
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
