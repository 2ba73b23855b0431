/**
 * How the renderer reaches the host: `window.sls` from the Electron preload, else a WebSocket to the browser host.
 *
 * Both resolve calls to `CallResult` envelopes; this file turns them into one `SlsApi` whose
 * methods reject with a `ContractError`, so screens never know which host they run under.
 */
import { CALL_NAMES } from '../core/contract/names.ts';
import { ContractError } from '../core/contract/messages.ts';
import type { CallName, CallResult, ClientError, EventName, SlsApi } from '../core/contract/index.ts';

/** What the Electron preload exposes (electron/preload.ts): one method per call, plus `on`. */
export type PreloadApi = { [N in CallName]: (input?: unknown) => Promise<CallResult<unknown>> } & {
  on(event: EventName, listener: (payload: unknown) => void): () => void;
};

declare global {
  interface Window {
    sls?: PreloadApi;
  }
}

const WS_PROTOCOL = 'sls.v1';
const SESSION_KEY = 'sls.sessionToken';

function unwrap<T>(r: CallResult<T>): T {
  if (r.ok) return r.value;
  throw new ContractError(r.error);
}

type Listeners = Map<EventName, Set<(payload: unknown) => void>>;

function build(invoke: (name: CallName, input: unknown) => Promise<CallResult<unknown>>, on: SlsApi['on']): SlsApi {
  const api: Record<string, unknown> = { on };
  for (const name of CALL_NAMES) api[name] = async (input?: unknown) => unwrap(await invoke(name, input ?? {}));
  return api as SlsApi;
}

function fromPreload(p: PreloadApi): SlsApi {
  return build((name, input) => p[name](input), (event, listener) => p.on(event, listener as (x: unknown) => void));
}

/**
 * What this page presents to the browser host (electron/browser-host.ts): on first load the one-time
 * launch code from the fragment (removed from the address bar at once; the host answers with a
 * session token), after that the session token this tab's sessionStorage keeps, so a reload still works.
 */
function credential(): string | null {
  const m = /(?:^#|&)launch=([A-Za-z0-9_-]+)/.exec(window.location.hash);
  if (m?.[1]) {
    history.replaceState(null, '', window.location.pathname);
    return `launch.${m[1]}`;
  }
  const token = sessionStorage.getItem(SESSION_KEY);
  return token ? `token.${token}` : null;
}

/**
 * The page was opened without its launch code (the address typed or bookmarked without it, or a
 * tab the host never opened): it never had a connection, so it must not say one was lost.
 */
export class NotOpenedByHostError extends ContractError {
  constructor() {
    super({ code: 'SLS_ERR_HOST_DISCONNECTED', message: 'This window was not opened by SLS Desktop.' });
    this.name = 'NotOpenedByHostError';
  }
}

/**
 * The browser host's close code for a launch-code connection whose socket's owner it could not find
 * (Linux: no row in /proc/net/tcp): it cannot tell this window from another OS user's program, so it
 * gives it no session. The same number as electron/browser-host.ts WS_CLOSE_OWNER_UNKNOWN (the
 * renderer imports only core/; renderer/transport.test.ts checks the two agree).
 */
export const WS_CLOSE_OWNER_UNKNOWN = 4002;

/**
 * The browser host could not check that this window belongs to the user running SLS Desktop, and
 * closed the connection saying so (WS_CLOSE_OWNER_UNKNOWN): the user is told to restart SLS Desktop,
 * which opens a new window, rather than that a connection was lost.
 */
export class HostOwnerUnknownError extends ContractError {
  constructor() {
    super({ code: 'SLS_ERR_HOST_DISCONNECTED', message: 'SLS Desktop could not check that this window belongs to your user account.' });
    this.name = 'HostOwnerUnknownError';
  }
}

function lost(): ClientError {
  return { code: 'SLS_ERR_HOST_DISCONNECTED', message: 'The connection to SLS Desktop was lost.' };
}

/** Why the connection ended, from its close code: the owner check, or lost (every other close). */
function closedWith(code: number): ContractError {
  return code === WS_CLOSE_OWNER_UNKNOWN ? new HostOwnerUnknownError() : new ContractError(lost());
}

async function fromWebSocket(): Promise<SlsApi> {
  const presented = credential();
  if (!presented) throw new NotOpenedByHostError();
  const url = `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/contract`;
  const ws = new WebSocket(url, [WS_PROTOCOL, presented]);
  const pending = new Map<number, (r: CallResult<unknown>) => void>();
  const listeners: Listeners = new Map();
  let nextId = 1;
  let closed = false;
  let sessionStarted: () => void = () => {};

  // With the session token the connection is ready when it opens; with a launch code, once the host
  // has sent the session token (its first frame). A failed connection fires `error`, then always
  // `close`: the close code says why (an error alone would read as "lost" before the code is known).
  const opened = new Promise<void>((ok, fail) => {
    if (presented.startsWith('token.')) ws.addEventListener('open', () => ok(), { once: true });
    else sessionStarted = ok;
    ws.addEventListener('close', (e) => fail(closedWith(e.code)), { once: true });
  });
  ws.addEventListener('message', (e) => {
    const msg = JSON.parse(String(e.data)) as { id?: number; result?: CallResult<unknown>; event?: EventName; payload?: unknown; session?: unknown };
    if (typeof msg.session === 'string') {
      sessionStorage.setItem(SESSION_KEY, msg.session);
      sessionStarted();
    } else if (typeof msg.id === 'number' && msg.result) {
      pending.get(msg.id)?.(msg.result);
      pending.delete(msg.id);
    } else if (msg.event) {
      for (const l of listeners.get(msg.event) ?? []) l(msg.payload);
    }
  });
  ws.addEventListener('close', () => {
    closed = true;
    for (const resolve of pending.values()) resolve({ ok: false, error: lost() });
    pending.clear();
  });
  await opened;

  return build(
    (call, input) =>
      new Promise((resolve) => {
        if (closed) return resolve({ ok: false, error: lost() });
        const id = nextId++;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ id, call, input }));
      }),
    (event, listener) => {
      const set = listeners.get(event) ?? new Set();
      set.add(listener as (p: unknown) => void);
      listeners.set(event, set);
      return () => set.delete(listener as (p: unknown) => void);
    },
  );
}

export function connectHost(): Promise<SlsApi> {
  return window.sls ? Promise.resolve(fromPreload(window.sls)) : fromWebSocket();
}
