/**
 * The HTTP API as one table: method, path, schemas, the errors each route can answer, and a thin
 * handler (parse → service → result). The app registers it; the OpenAPI document is generated from it.
 */
import { z } from 'zod';
import type { ErrorCode } from '../../core/api.ts';
import { SMS_POLICY_ERRORS } from '../../core/api.ts';
import {
  API_PREFIX,
  HealthResponse,
  LoginRequest,
  ReadyResponse,
  LoginStep,
  LogoutResponse,
  RespondRequest,
  ResendRequest,
  CancelLoginRequest,
  SelectDeviceRequest,
  SessionInfo,
} from '../../core/api.ts';
import type { Services } from '../services/index.ts';
import { ACCOUNT_ROUTES } from './account.ts';
import { IBKEY_ROUTES } from './ibkey.ts';

export interface RouteInput {
  readonly body: unknown;
  readonly params: Record<string, string>;
  /** The query string (e.g. `?wait=25` of a long-poll). */
  readonly query?: Record<string, string>;
  /** The bearer token, when the route needs one (already checked to be present). */
  readonly token: string | null;
  /** The source address for throttling (SPEC L6): the socket peer unless trustProxy is set. */
  readonly sourceAddress: string;
}

export interface RouteDefinition {
  readonly method: 'GET' | 'POST';
  /** Fastify path syntax: `/v1/login/:transactionId/device`. */
  readonly url: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly spec?: string;
  readonly auth: boolean;
  readonly body?: z.ZodType;
  readonly response: z.ZodType;
  readonly errors: readonly ErrorCode[];
  handler(services: Services, input: RouteInput): Promise<unknown>;
}

const BODY_ERRORS: readonly ErrorCode[] = ['SLS_ERR_VALIDATION', 'SLS_ERR_MALFORMED_JSON', 'SLS_ERR_BODY_TOO_LARGE', 'SLS_ERR_UNSUPPORTED_MEDIA_TYPE'];
const TX_ERRORS: readonly ErrorCode[] = [
  'SLS_ERR_TRANSACTION_NOT_FOUND',
  'SLS_ERR_TRANSACTION_ENDED',
  'SLS_ERR_TRANSACTION_EXPIRED',
  'SLS_ERR_CHALLENGE_USED',
  'SLS_ERR_USER_LOCKED',
];

export const TransactionParams = z.object({ transactionId: z.string().min(1).max(64) });

export const ROUTES: readonly RouteDefinition[] = [
  {
    method: 'GET',
    url: `${API_PREFIX}/health`,
    operationId: 'health',
    summary: 'Liveness and the database kind',
    auth: false,
    response: HealthResponse,
    errors: [],
    async handler(s) {
      return { status: 'ok', version: s.version, database: s.database.description };
    },
  },
  {
    method: 'GET',
    url: `${API_PREFIX}/ready`,
    operationId: 'ready',
    summary: 'Readiness: the database answers a query (for load balancers); 503 SLS_ERR_SERVICE_UNAVAILABLE when it does not',
    spec: 'N1',
    auth: false,
    response: ReadyResponse,
    errors: ['SLS_ERR_SERVICE_UNAVAILABLE'],
    async handler(s) {
      const latencyMs = await s.database.ping();
      return { status: 'ready', database: s.database.description, latencyMs };
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/login`,
    operationId: 'login',
    summary: 'Step 1: user name and password',
    description:
      'Answers `challenge` at once when the user has one usable device, or the client is a trading platform older than 966 (the server picks the preferred device); otherwise `select_device` with the device used last preselected.',
    spec: 'L1 L2 L3 L6 A3',
    auth: false,
    body: LoginRequest,
    response: LoginStep,
    errors: [...BODY_ERRORS, 'SLS_ERR_INVALID_CREDENTIALS', 'SLS_ERR_USER_LOCKED', 'SLS_ERR_RATE_LIMITED', 'SLS_ERR_NO_ACTIVE_DEVICE', 'SLS_ERR_PORTAL_ONLY', ...SMS_POLICY_ERRORS],
    async handler(s, { body, sourceAddress }) {
      return s.login.startLogin(LoginRequest.parse(body), sourceAddress);
    },
  },
  {
    method: 'GET',
    url: `${API_PREFIX}/login/:transactionId`,
    operationId: 'loginCurrentStep',
    summary: 'The current step of a login transaction',
    spec: 'L2 L4',
    auth: false,
    response: LoginStep,
    errors: [...TX_ERRORS, 'SLS_ERR_VALIDATION', 'SLS_ERR_NO_ACTIVE_DEVICE'],
    async handler(s, { params }) {
      return s.login.current(TransactionParams.parse(params).transactionId);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/login/:transactionId/device`,
    operationId: 'loginSelectDevice',
    summary: 'Choose or switch the second-factor device',
    description: 'Issues a new challenge on the device; any earlier challenge of this login is dead. Wrong responses so far still count.',
    spec: 'L2 L5 D2',
    auth: false,
    body: SelectDeviceRequest,
    response: LoginStep,
    errors: [...BODY_ERRORS, ...TX_ERRORS, 'SLS_ERR_DEVICE_NOT_AVAILABLE', 'SLS_ERR_CONFLICT', 'SLS_ERR_RATE_LIMITED', ...SMS_POLICY_ERRORS],
    async handler(s, { body, params, sourceAddress }) {
      return s.login.selectDevice(TransactionParams.parse(params).transactionId, SelectDeviceRequest.parse(body), sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/login/:transactionId/response`,
    operationId: 'loginRespond',
    summary: 'Answer the challenge',
    description:
      'Right: `signed_in` with a session. Wrong: SLS_ERR_WRONG_RESPONSE with `attemptsLeft`; the third wrong response ends the login (attemptsLeft 0), later calls get SLS_ERR_TRANSACTION_ENDED. A response already used gets SLS_ERR_CHALLENGE_USED.',
    spec: 'L5 L6 D2 D3 T1',
    auth: false,
    body: RespondRequest,
    response: LoginStep,
    errors: [
      ...BODY_ERRORS,
      ...TX_ERRORS,
      'SLS_ERR_NO_CHALLENGE',
      'SLS_ERR_WRONG_RESPONSE',
      'SLS_ERR_CODE_EXPIRED',
      'SLS_ERR_DEVICE_NOT_AVAILABLE',
      'SLS_ERR_RATE_LIMITED',
    ],
    async handler(s, { body, params, sourceAddress }) {
      return s.login.respond(TransactionParams.parse(params).transactionId, RespondRequest.parse(body).response, sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/login/:transactionId/resend`,
    operationId: 'loginResend',
    summary: 'Send a new SMS code after the cool-down',
    description: 'The previous code is dead. Never resets a failure count.',
    spec: 'L4 L6',
    auth: false,
    body: ResendRequest,
    response: LoginStep,
    errors: [...BODY_ERRORS, ...TX_ERRORS, 'SLS_ERR_NO_CHALLENGE', 'SLS_ERR_DEVICE_NOT_AVAILABLE', 'SLS_ERR_RESEND_TOO_SOON', 'SLS_ERR_CONFLICT', 'SLS_ERR_RATE_LIMITED', ...SMS_POLICY_ERRORS],
    async handler(s, { body, params, sourceAddress }) {
      // No body stands for `{}`; `null` is malformed (server/fuzz-routes.test.ts).
      ResendRequest.parse(body === undefined ? {} : body);
      return s.login.resend(TransactionParams.parse(params).transactionId, sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/login/:transactionId/cancel`,
    operationId: 'loginCancel',
    summary: 'Cancel the login (the desktop\'s Cancel)',
    description:
      'The login ends: an IB Key push still on the phone signs no one in and no longer counts among the 3 that may wait; a long-poll on it ends. ' +
      'Idempotent for a login already ended or expired; one already signed in answers SLS_ERR_CHALLENGE_USED.',
    spec: 'L7 L4 C5',
    auth: false,
    body: CancelLoginRequest,
    response: LogoutResponse,
    errors: [...BODY_ERRORS, 'SLS_ERR_VALIDATION', 'SLS_ERR_TRANSACTION_NOT_FOUND', 'SLS_ERR_CHALLENGE_USED'],
    async handler(s, { body, params, sourceAddress }) {
      // The body must be `{}` itself: a malformed one (`null`, none) ends nothing (server/fuzz.test.ts).
      CancelLoginRequest.parse(body);
      return s.login.cancel(TransactionParams.parse(params).transactionId, sourceAddress, (id) => s.ibkey.notifier.notify(`tx:${id}`));
    },
  },
  {
    method: 'GET',
    url: `${API_PREFIX}/session`,
    operationId: 'session',
    summary: 'The session of the bearer token',
    auth: true,
    response: SessionInfo,
    errors: ['SLS_ERR_UNAUTHENTICATED', 'SLS_ERR_SESSION_EXPIRED'],
    async handler(s, { token }) {
      return s.sessions.info(token ?? '');
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/logout`,
    operationId: 'logout',
    summary: 'End the session of the bearer token',
    auth: true,
    response: LogoutResponse,
    errors: ['SLS_ERR_UNAUTHENTICATED', 'SLS_ERR_SESSION_EXPIRED'],
    async handler(s, { token, sourceAddress }) {
      await s.sessions.logout(token ?? '', sourceAddress);
      return { ok: true };
    },
  },
  ...IBKEY_ROUTES,
  // Account security (SPEC W1–W4, D1, D6–D8, T1–T3, P1–P5, O1–O3, S1–S6, L8): server/routes/account.ts.
  ...ACCOUNT_ROUTES,
];
