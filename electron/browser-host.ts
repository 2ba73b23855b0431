/**
 * The browser host: the same host services under plain Node, for machines without an Electron runtime.
 *
 * It serves the built renderer (`dist/renderer`) on 127.0.0.1 and carries the contract over a
 * WebSocket. Guards stand in for Electron's process boundary (ARCHITECTURE.md, SPEC C3):
 *
 * - A one-time launch code in the address's fragment (`#launch=…`: never in a request line, never
 *   logged). Chromium's command line shows it (/proc/<pid>/cmdline is readable by every local
 *   user), so it opens the door once: the page's first connection presents it (a WebSocket
 *   subprotocol `launch.<code>`), the host takes it back and answers with a fresh random session
 *   token (32 bytes, the connection's first frame), which never appears on a command line. The page
 *   keeps that token in its tab's sessionStorage and presents it (`token.<token>`) on every later
 *   connection (a reload). A code used twice, or older than LAUNCH_CODE_TTL_MS, is refused like a
 *   wrong one.
 *   Who may trade the code (Linux): only a socket of the host's own OS user. Before the code is
 *   looked at, the host finds the connecting socket's row in /proc/net/tcp and /proc/net/tcp6 and
 *   reads its uid (electron/socket-owner.ts); another user's program that read the code from /proc
 *   is refused (403, logged with its uid) and the code stays good for the page. A socket whose owner
 *   cannot be found is refused too, logged with the reason, and its page is told why (the upgrade
 *   completes and closes at once with WS_CLOSE_OWNER_UNKNOWN and a reason); the code stays good.
 *   Elsewhere (macOS, Windows: no /proc) the check is skipped and the race stays: a local program
 *   that reads the code and connects before the page does gets the session instead. The window is
 *   small (the code is made just before Chromium starts, and the page connects as soon as it loads),
 *   and it does not pass unseen: the page is then refused and shows an error instead of the login,
 *   and the host logs that the code had already been used. A program of the same user is not
 *   stopped by any of this (it could read Chromium's profile as well). A code printed for a person to
 *   open (no display) is not on a command line and waits longer (PRINTED_LAUNCH_CODE_TTL_MS).
 * - One live connection: the page is one window. A newer connection with the session token (a
 *   reload) replaces the older one, which is closed with WS_CLOSE_REPLACED; a new launch code
 *   exchange also replaces the session token.
 * - An Origin and Host check, so no other web page and no DNS-rebound name can drive the host
 *   (a local program can send any Origin: against those, the credentials above).
 * - Chromium's profile (it stores the page's sessionStorage) is a fresh private folder per launch
 *   (chromiumProfile), removed on exit.
 */
import { spawn } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
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
import type { CallResult } from '../core/contract/index.ts';
import { scrubText } from './release/logger.ts';
import { socketOwner } from './socket-owner.ts';
import type { SocketOwnerResult } from './socket-owner.ts';

/**
 * Subprotocol the renderer asks for; its credential travels as a second one: `launch.<code>` on the
 * page's first connection, `token.<session token>` on every later one (both base64url).
 */
export const WS_PROTOCOL = 'sls.v1';
export const WS_PATH = '/contract';

/** How long a launch code waits for its page: Chromium's page connects within a second or two. */
export const LAUNCH_CODE_TTL_MS = 60 * 1000;

/** How long the launch code printed for a person to open (no display here) waits: time to copy it. */
export const PRINTED_LAUNCH_CODE_TTL_MS = 10 * 60 * 1000;

/** Close code of a connection that a newer one with the same session replaced (a reload). */
export const WS_CLOSE_REPLACED = 4001;

/**
 * Close code of a launch-code connection whose socket's owner could not be found in /proc/net/tcp
 * (Linux): the host cannot tell it from another user's, so it hands it no session; the reason says so.
 */
export const WS_CLOSE_OWNER_UNKNOWN = 4002;

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
  /** Gets every log line of this host (its own, the host services', the DSC+ login's), scrubbed (`scrubText`). */
  log?: (line: string) => void;
  /** Where the launch-code guard reads tcp and tcp6 (Linux); `/proc/net`. */
  procNetDir?: string;
}

export interface BrowserHost {
  /**
   * The address to open: its fragment carries a new one-time launch code, good for the page's first
   * connection within LAUNCH_CODE_TTL_MS. Each read makes a new code, so read it just before opening.
   */
  readonly url: string;
  /** The same, with a code that waits `ttlMs` for its page. */
  launchUrl(ttlMs?: number): string;
  readonly origin: string;
  readonly host: Host;
  close(): Promise<void>;
}

/** WS_CLOSE_OWNER_UNKNOWN's reason (a close reason holds at most 123 bytes). */
export const OWNER_UNKNOWN_REASON = 'SLS Desktop could not check that this window runs as your user; restart SLS Desktop';

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
  // Every line passes the release logger's scrubber (electron/release/logger.ts), as Electron's log file
  // does: a password, code, response or token in an error message or a request never reaches the log.
  const sink = options.log ?? (() => {});
  const log = (line: string) => sink(scrubText(line));
  // Launch codes not yet used (each good once, until `until`); the last few used, so the log can say
  // that one came back; the session token (none until a launch code was used).
  const launchCodes: { code: string; until: number }[] = [];
  const usedCodes: string[] = [];
  let sessionToken: string | null = null;
  const mintLaunchCode = (ttlMs: number): string => {
    const now = Date.now();
    // Codes long expired go (one expired a while ago is still refused as such, for the log).
    for (let i = launchCodes.length - 1; i >= 0; i--) if (launchCodes[i]!.until + LAUNCH_CODE_TTL_MS < now) launchCodes.splice(i, 1);
    const code = randomBytes(32).toString('base64url');
    launchCodes.push({ code, until: now + ttlMs });
    return code;
  };
  /** Who may connect: a launch code not used yet and not expired, or the session token. */
  const admit = (protocols: readonly string[]): { ok: true; launch: boolean } | { ok: false; reason: string } => {
    const launch = protocols.find((p) => p.startsWith('launch.'))?.slice('launch.'.length);
    if (launch !== undefined) {
      let hit = -1;
      launchCodes.forEach((c, i) => {
        if (sameSecret(launch, c.code)) hit = i;
      });
      if (hit < 0) {
        const reused = usedCodes.reduce((seen, c) => sameSecret(launch, c) || seen, false);
        return { ok: false, reason: reused ? 'launch code already used: if this window did not connect, another program took it; restart SLS Desktop' : 'wrong launch code' };
      }
      const { code, until } = launchCodes.splice(hit, 1)[0]!;
      usedCodes.push(code);
      if (usedCodes.length > 16) usedCodes.shift();
      return until > Date.now() ? { ok: true, launch: true } : { ok: false, reason: 'launch code expired' };
    }
    const token = protocols.find((p) => p.startsWith('token.'))?.slice('token.'.length) ?? '';
    return sessionToken !== null && sameSecret(token, sessionToken) ? { ok: true, launch: false } : { ok: false, reason: 'wrong or missing session token' };
  };
  // Files offered to the user (the online Security Code Card PDF, SPEC T1, T2): each at an address
  // with its own random part, for a few minutes; no launch code or session token in that address.
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
  // The page's one connection: a newer one replaces it.
  let live: WebSocket | null = null;

  /**
   * Whose socket presents a launch code. Linux: its row in /proc/net/tcp(6) must be this user's.
   * Other platforms have no such table: the check is skipped (today's behaviour, with the race the
   * header describes).
   */
  const ownUid = process.geteuid?.() ?? process.getuid?.() ?? null;
  const checkOwner = async (conn: Socket): Promise<{ kind: 'own' } | { kind: 'other'; uid: number } | { kind: 'unknown'; reason: string }> => {
    if (process.platform !== 'linux' || ownUid === null) return { kind: 'own' };
    const found: SocketOwnerResult = await socketOwner(
      { localAddress: conn.localAddress ?? '', localPort: conn.localPort ?? 0, remoteAddress: conn.remoteAddress ?? '', remotePort: conn.remotePort ?? 0 },
      options.procNetDir ? { procNetDir: options.procNetDir } : {},
    ).catch((e: unknown) => ({ found: false as const, reason: e instanceof Error ? e.message : String(e) }));
    if (!found.found) return { kind: 'unknown', reason: found.reason };
    return found.uid === ownUid ? { kind: 'own' } : { kind: 'other', uid: found.uid };
  };

  const onUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    // A socket error while the owner is looked up (the client went away) ends only this socket;
    // once upgraded, the WebSocket handles its errors.
    const onError = () => socket.destroy();
    socket.on('error', onError);
    const upgrade = (then: (ws: WebSocket) => void) => {
      socket.off('error', onError);
      wss.handleUpgrade(req, socket, head, then);
    };
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const path = new URL(req.url ?? '/', origin).pathname;
    const refuse = (reason: string) => {
      // No detail to the caller; the log says which guard refused, never a code or token.
      log(`refused a contract connection (${reason}; origin=${req.headers.origin ?? 'none'} path=${path})`);
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
    };
    if (!(path === WS_PATH && req.headers.origin === origin && req.headers.host === hostHeader && offered.includes(WS_PROTOCOL))) {
      refuse('origin, host, path or protocol');
      return;
    }
    // The owner before the credential: a socket of another user (or of nobody known) never uses up
    // a launch code, so the page can still trade it.
    if (offered.some((p) => p.startsWith('launch.'))) {
      const owner = await checkOwner(req.socket);
      if (socket.destroyed) return;
      if (owner.kind === 'other') {
        refuse(
          `launch code presented from a socket of another OS user (uid ${owner.uid}; this host runs as uid ${ownUid}): a program of that user may have read it from Chromium's command line; the code stays good for this user's window`,
        );
        return;
      }
      if (owner.kind === 'unknown') {
        log(
          `refused a contract connection (launch code presented from a socket whose owner could not be found: ${owner.reason}; on Linux only a socket of this user (uid ${ownUid}) may trade it; origin=${req.headers.origin ?? 'none'} path=${path})`,
        );
        // The page is told why: a WebSocket close with a code and reason is all a page can read.
        upgrade((ws) => ws.close(WS_CLOSE_OWNER_UNKNOWN, OWNER_UNKNOWN_REASON));
        return;
      }
    }
    // The credential last, so a request any guard refuses never uses up a launch code.
    const admitted = admit(offered);
    if (!admitted.ok) {
      refuse(admitted.reason);
      return;
    }
    upgrade((ws) => {
      if (live) live.close(WS_CLOSE_REPLACED, 'replaced by a newer connection');
      live = ws;
      if (admitted.launch) {
        // A new session: the token of any earlier one stops working.
        sessionToken = randomBytes(32).toString('base64url');
        ws.send(JSON.stringify({ session: sessionToken }));
      }
      wss.emit('connection', ws, req);
    });
  };

  server.on('upgrade', (req, socket, head) => {
    onUpgrade(req, socket, head).catch((e: unknown) => {
      log(`contract connection failed: ${e instanceof Error ? e.message : String(e)}`);
      socket.destroy();
    });
  });

  const unsubscribe = host.events.subscribe((event, payload) => {
    const ws = live;
    if (ws && ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event, payload }));
  });

  wss.on('connection', (ws: WebSocket) => {
    ws.on('close', () => {
      if (live === ws) live = null;
    });
    // Never lets a frame reject: an async listener's rejection would be unhandled and end the host (crash-safety, SPEC C3).
    ws.on('message', async (data) => {
      let msg: unknown;
      try {
        msg = JSON.parse(String(data));
      } catch {
        ws.close(1003, 'not JSON');
        return;
      }
      // `null`, a number, a string or an array is JSON too, but no call.
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg) || typeof (msg as { id?: unknown }).id !== 'number') {
        ws.close(1003, 'no id');
        return;
      }
      const { id, call, input } = msg as { id: number; call?: unknown; input?: unknown };
      let result: CallResult<unknown>;
      try {
        result = await host.dispatch(call, input);
      } catch (e) {
        log(`internal error in a contract call: ${e instanceof Error ? e.name : 'unknown'}`);
        result = { ok: false, error: { code: 'SLS_ERR_HOST_INTERNAL', message: 'Something went wrong in SLS Desktop.' } };
      }
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id, result }));
    });
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  hostHeader = `127.0.0.1:${port}`;

  const launchUrl = (ttlMs = LAUNCH_CODE_TTL_MS) => `${origin}/#launch=${mintLaunchCode(ttlMs)}`;
  return {
    get url() {
      return launchUrl();
    },
    launchUrl,
    origin,
    host,
    async close() {
      unsubscribe();
      live?.terminate();
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

export interface ChromiumProfile {
  readonly dir: string;
  /** Removes a per-launch profile (once Chromium has exited); keeps a configured one. */
  remove(): void;
}

/**
 * Chromium's profile folder: it stores the page's sessionStorage, so the session token. Without a
 * config dir, a fresh private folder per launch (`mkdtemp`: mode 0700, a name nobody could create
 * first in the shared temp folder), removed on exit; with one, `<config dir>/chromium-profile`, which
 * must be this user's own directory and is made 0700.
 */
export function chromiumProfile(configDir?: string): ChromiumProfile {
  if (!configDir) {
    const dir = mkdtempSync(join(tmpdir(), 'sls-chromium-'));
    return { dir, remove: () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }) };
  }
  const dir = join(configDir, 'chromium-profile');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || (process.getuid && st.uid !== process.getuid())) {
    throw new Error(`${dir} is not a directory of this user's: Chromium's profile holds the session and must be private.`);
  }
  chmodSync(dir, 0o700);
  return { dir, remove: () => {} };
}

/**
 * The browser host's log on stderr, one `[host] …` line each, through the release logger's scrubber
 * (`scrubText`), as Electron's log file: the DSC+ discovery's lines reach it without startBrowserHost.
 */
export function hostLogWriter(write: (text: string) => void): (line: string) => void {
  return (line) => write(`[host] ${scrubText(line)}\n`);
}

function argValue(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/**
 * `tsx electron/browser-host.ts [--server URL] [--port N] [--config-dir DIR] [--renderer-dir DIR] [--chromium PATH | --headless]`
 *
 * Opens a Chromium app window where a display and Chromium exist, else prints where to point a
 * browser. `bin/start.mjs` runs this as its own process.
 */
export async function main(argv: readonly string[]): Promise<void> {
  const configDir = argValue(argv, '--config-dir');
  const settings = createConfSettingsStore(configDir ? { dir: configDir } : {});
  const server = argValue(argv, '--server');
  if (server) settings.update({ serverAddress: server });
  const hostLog = hostLogWriter((text) => process.stderr.write(text));
  // SPEC C2: DSC+ cards over USB and emulators in SLS_DSCPLUS_DIR (native/README.md).
  const dscplus = createDeviceManagerDscPlusService(new DeviceManager(), { log: hostLog });
  // Without discovery the typed response still works: never let it stop the app.
  await dscplus.start().catch((e: unknown) => hostLog(`DSC+ discovery did not start: ${e instanceof Error ? e.message : String(e)}`));
  const rendererDir = argValue(argv, '--renderer-dir');
  const bh = await startBrowserHost({
    settings,
    keychain: createOsKeychain(),
    dscplus,
    ...(rendererDir ? { rendererDir } : {}),
    port: Number(argValue(argv, '--port') ?? 0),
    log: hostLog,
  });
  const chromium = argValue(argv, '--chromium') ?? '/usr/bin/chromium';
  const headless = argv.includes('--headless') || !process.env.DISPLAY || !existsSync(chromium);
  let child: ReturnType<typeof spawn> | null = null;
  let profile: ChromiumProfile | null = null;
  const removeProfile = () => {
    try {
      profile?.remove();
    } catch (e) {
      hostLog(`could not remove Chromium's profile ${profile?.dir}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  process.on('exit', removeProfile);
  if (headless) {
    // Not on a command line: a person copies it from here, so its code waits longer for them.
    const minutes = PRINTED_LAUNCH_CODE_TTL_MS / 60_000;
    process.stdout.write(
      `SLS Desktop (browser host) is listening. Open this address in Chromium within ${minutes} minutes (it holds this launch's key, and works once):\n  ${bh.launchUrl(PRINTED_LAUNCH_CODE_TTL_MS)}\n`,
    );
  } else {
    profile = chromiumProfile(configDir);
    // The launch code is made here, just before Chromium starts; its page uses it as soon as it loads.
    child = spawn(chromium, chromiumArgs(bh.url, profile.dir), { stdio: 'ignore' });
    process.stdout.write(`SLS Desktop (browser host) opened in a Chromium app window (${bh.origin}).\n`);
    child.on('exit', () => void shutdown());
    child.on('error', (e) => {
      hostLog(`Chromium did not start: ${e.message}`);
      void shutdown();
    });
  }
  let closing = false;
  async function shutdown(): Promise<void> {
    if (closing) return;
    closing = true;
    const c = child;
    if (c && c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      // Chromium writes to its profile until it exits: only then can the profile go.
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const late = setTimeout(() => c.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(late);
    }
    await bh.close();
    removeProfile();
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
