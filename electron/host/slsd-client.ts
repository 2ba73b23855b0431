/**
 * The host's client of slsd's HTTP API v1 (core/api.ts is the wire format).
 *
 * The host owns all network access (SPEC C3): the renderer never talks to slsd. Every answer is
 * parsed with the API's zod schemas; anything else becomes a coded error, so a wrong server address
 * or a proxy's HTML page reads as "not an SLS server", not as a crash.
 */
import { z } from 'zod';
import { API_PREFIX, ErrorBody, LoginStep, LogoutResponse, SessionInfo } from '../../core/api.ts';
import type { LoginRequest, RespondRequest, SelectDeviceRequest } from '../../core/api.ts';
import type { ClientError } from '../../core/contract/index.ts';
import { RestartResponse } from '../../core/account-api.ts';
import { BuildConfigError, checkServerAddress } from '../release/build-config.ts';

/** An error answer of slsd, or a host-side failure to get one; `error` is safe to show. */
export class SlsdError extends Error {
  readonly error: ClientError;
  readonly status: number | null;
  constructor(error: ClientError, status: number | null) {
    super(error.message);
    this.name = 'SlsdError';
    this.error = error;
    this.status = status;
  }
}

/**
 * GET /v1/login/:transactionId/status?wait=N — the IB Key long-poll (SPEC L4, L7).
 *
 * The wire shape of slsd's route (its schema is `LoginStatus` in ibkey/protocol.ts, not yet in
 * core/api.ts); kept here so the host does not depend on the authenticator's package.
 */
export const LoginStatus = z.discriminatedUnion('status', [
  z.object({ status: z.literal('waiting'), transactionId: z.string(), pushExpiresAt: z.string() }),
  z.object({ status: z.literal('signed_in'), session: SessionInfo }),
  z.object({ status: z.literal('denied'), transactionId: z.string() }),
  z.object({ status: z.literal('wrong_number'), transactionId: z.string() }),
  z.object({ status: z.literal('push_expired'), transactionId: z.string() }),
]);
export type LoginStatus = z.infer<typeof LoginStatus>;

/** Seconds slsd holds a status request open; the HTTP timeout allows for it. */
export const STATUS_WAIT_SECONDS = 25;

/** GET /v1/session answers the session without its token (the caller already has it). */
const SessionAnswer = SessionInfo.omit({ token: true });
export type SessionAnswer = z.infer<typeof SessionAnswer>;

export interface SlsdClient {
  login(request: LoginRequest): Promise<LoginStep>;
  selectDevice(transactionId: string, request: SelectDeviceRequest): Promise<LoginStep>;
  respond(transactionId: string, request: RespondRequest): Promise<LoginStep>;
  resend(transactionId: string): Promise<LoginStep>;
  /**
   * GET /v1/login/:transactionId: the step a live login is at now, with the user's devices as they
   * are now (SPEC L2, L4): read again when slsd says a device of the step is not available.
   */
  currentStep(transactionId: string): Promise<LoginStep>;
  /** SPEC L7, C5: the login ends on slsd too (a push left on the phone signs no one in). */
  cancelLogin(transactionId: string): Promise<void>;
  loginStatus(transactionId: string, waitSeconds: number): Promise<LoginStatus>;
  session(token: string): Promise<SessionAnswer>;
  logout(token: string): Promise<void>;
  /** SPEC L8: sign in with a restart token, no second factor, until the weekly cut-off. */
  restart(request: { username: string; restartToken: string }): Promise<RestartResponse>;
  /** An account-security route (core/account-api.ts) with the session's bearer token (SPEC C6). */
  authed<T>(method: 'GET' | 'POST', path: string, schema: z.ZodType<T>, token: string, body?: unknown): Promise<T>;
  /**
   * How far slsd's clock is ahead of this computer's (negative: behind), from the Date header of its
   * last answer; 0 while unknown or within the header's whole second. An slsd time minus this is the
   * same moment on this computer's clock (the login's 5 minutes, SPEC C5).
   */
  clockOffsetMs?(): number;
  /** The server address the next request goes to (no trailing slash). */
  address(): string;
  /**
   * The same client for requests to `address` only, whatever the settings say later: what ends a
   * login or a session on the server that started it once the user has chosen another (SPEC C3).
   */
  at(address: string): SlsdClient;
}

/** Below this the two clocks count as agreeing: the Date header has whole seconds, and the answer took a moment. */
const CLOCK_AGREES_MS = 2_000;

export interface SlsdClientOptions {
  /** Read on every request, so a changed server address applies to the next call. */
  baseUrl: () => string;
  fetch?: typeof fetch;
  /** Per request; IB Key long-polls get their own, longer budget later. */
  timeoutMs?: number;
}

export function createSlsdClient(options: SlsdClientOptions): SlsdClient {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 15_000;
  let clockOffset = 0;

  const address = () => options.baseUrl().replace(/\/+$/, '');

  async function request<T>(method: 'GET' | 'POST', path: string, schema: z.ZodType<T>, body?: unknown, token?: string, timeout = timeoutMs): Promise<T> {
    const base = address();
    // Whatever the settings file says (it may predate the check when the address is typed).
    assertSecureServerAddress(base);
    const url = `${base}${API_PREFIX}${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await doFetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeout),
        redirect: 'error',
      });
    } catch {
      throw new SlsdError({ code: 'SLS_ERR_SERVER_UNREACHABLE', message: 'The SLS server could not be reached.' }, null);
    }
    // The header is slsd's time to the second, truncated: the middle of that second is the best guess.
    const serverDate = Date.parse(res.headers.get('date') ?? '');
    if (Number.isFinite(serverDate)) {
      const offset = serverDate + 500 - Date.now();
      clockOffset = Math.abs(offset) < CLOCK_AGREES_MS ? 0 : offset;
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch {
      throw badResponse(res.status);
    }
    if (!res.ok) {
      const err = ErrorBody.safeParse(json);
      if (!err.success) throw badResponse(res.status);
      const e = err.data.error;
      const safe: ClientError = {
        code: /^SLS_ERR_[A-Z_]+$/.test(e.code) ? e.code : 'SLS_ERR_BAD_SERVER_RESPONSE',
        message: e.message.slice(0, 500),
        ...(e.attemptsLeft !== undefined ? { attemptsLeft: e.attemptsLeft } : {}),
        ...(e.lockedUntil !== undefined ? { lockedUntil: e.lockedUntil } : {}),
        ...(e.retryAt !== undefined ? { retryAt: e.retryAt } : {}),
        ...(e.issues !== undefined ? { issues: e.issues } : {}),
        ...(e.limit !== undefined && e.limitCents !== undefined && e.availableCents !== undefined && e.deviceKind !== undefined
          ? { withdrawalLimit: { limit: e.limit, limitCents: e.limitCents, availableCents: e.availableCents, deviceKind: e.deviceKind, ...(e.useDevice ? { useDeviceLabel: e.useDevice.label.slice(0, 200), ...(e.useDevice.deviceId.length <= 64 ? { useDeviceId: e.useDevice.deviceId } : {}) } : {}) } }
          : {}),
        ...(e.primaryUser !== undefined ? { primaryUser: { username: e.primaryUser.username.slice(0, 64), displayName: e.primaryUser.displayName.slice(0, 200) } } : {}),
      };
      throw new SlsdError(safe, res.status);
    }
    const ok = schema.safeParse(json);
    if (!ok.success) throw badResponse(res.status);
    return ok.data;
  }

  const tx = (id: string) => `/login/${encodeURIComponent(id)}`;
  return {
    login: (r) => request('POST', '/login', LoginStep, r),
    selectDevice: (id, r) => request('POST', `${tx(id)}/device`, LoginStep, r),
    respond: (id, r) => request('POST', `${tx(id)}/response`, LoginStep, r),
    resend: (id) => request('POST', `${tx(id)}/resend`, LoginStep, {}),
    currentStep: (id) => request('GET', tx(id), LoginStep),
    cancelLogin: async (id) => {
      await request('POST', `${tx(id)}/cancel`, LogoutResponse, {}, undefined, CANCEL_TIMEOUT_MS);
    },
    loginStatus: (id, wait) => request('GET', `${tx(id)}/status?wait=${wait}`, LoginStatus, undefined, undefined, (wait + 10) * 1000),
    session: (token) => request('GET', '/session', SessionAnswer, undefined, token),
    logout: async (token) => {
      await request('POST', '/logout', LogoutResponse, {}, token);
    },
    restart: (r) => request('POST', '/login/restart', RestartResponse, r),
    authed: (method, path, schema, token, body) => request(method, path, schema, body, token),
    clockOffsetMs: () => clockOffset,
    address,
    at: (other) => createSlsdClient({ ...options, baseUrl: () => other }),
  };
}

/**
 * SPEC C1, C3: slsd is reached only where passwords, codes and session tokens travel encrypted:
 * https, or plain http to this computer (a local slsd); the release's default address follows the
 * same rule (electron/release/build-config.ts `checkServerAddress`). Else a coded SlsdError
 * (SLS_ERR_SERVER_ADDRESS_INSECURE / _INVALID).
 */
export function assertSecureServerAddress(address: string): void {
  try {
    checkServerAddress(address);
  } catch (e) {
    if (e instanceof BuildConfigError) throw new SlsdError({ code: e.code, message: e.message }, null);
    throw e;
  }
}

/** A Cancel is told to slsd in the background; an unreachable slsd is not waited for long (its login expires anyway). */
const CANCEL_TIMEOUT_MS = 5_000;

function badResponse(status: number): SlsdError {
  // A proxy or load balancer in front of slsd answers these in its own form when slsd is down,
  // restarting or overloaded: the user should try again shortly, not check the server address.
  if (status === 502 || status === 503 || status === 504) {
    return new SlsdError({ code: 'SLS_ERR_SERVICE_UNAVAILABLE', message: 'The login service is briefly unavailable. Try again in a moment.' }, status);
  }
  return new SlsdError({ code: 'SLS_ERR_BAD_SERVER_RESPONSE', message: `The server answered HTTP ${status} in a form SLS does not know.` }, status);
}
