/**
 * The slsd HTTP API, version 1: every request and response body, as zod schemas.
 *
 * One place for the wire format shared by slsd (which parses requests and builds responses with
 * these), the desktop host (which calls slsd) and the IB Key app. The OpenAPI document served at
 * `/v1/openapi.json` is generated from these schemas. Error codes are listed here so that clients can
 * map every one to a screen; their HTTP status and safe message live in the server's error registry.
 */
import { z } from 'zod';
import { DEVICE_KINDS } from './devices.ts';

export const API_PREFIX = '/v1';

// ---------------------------------------------------------------------------------------------
// Errors

/** Every coded error slsd can return. The server registry maps each to a status and a message. */
export const ERROR_CODES = [
  'SLS_ERR_VALIDATION',
  'SLS_ERR_MALFORMED_JSON',
  'SLS_ERR_BODY_TOO_LARGE',
  'SLS_ERR_UNSUPPORTED_MEDIA_TYPE',
  'SLS_ERR_NOT_FOUND',
  'SLS_ERR_METHOD_NOT_ALLOWED',
  'SLS_ERR_INVALID_CREDENTIALS',
  'SLS_ERR_USER_LOCKED',
  'SLS_ERR_RATE_LIMITED',
  'SLS_ERR_NO_ACTIVE_DEVICE',
  'SLS_ERR_TRANSACTION_NOT_FOUND',
  'SLS_ERR_TRANSACTION_ENDED',
  'SLS_ERR_TRANSACTION_EXPIRED',
  'SLS_ERR_DEVICE_NOT_AVAILABLE',
  'SLS_ERR_NO_CHALLENGE',
  'SLS_ERR_WRONG_RESPONSE',
  'SLS_ERR_CHALLENGE_USED',
  'SLS_ERR_RESEND_TOO_SOON',
  'SLS_ERR_UNAUTHENTICATED',
  'SLS_ERR_SESSION_EXPIRED',
  'SLS_ERR_FORBIDDEN',
  'SLS_ERR_CONFLICT',
  'SLS_ERR_INTERNAL',
  /** slsd cannot reach its database for now; nothing was changed. `retryAt` says when to try again. */
  'SLS_ERR_SERVICE_UNAVAILABLE',
  /** The code of this challenge (an SMS code) has expired: ask for a new one (SPEC L4). */
  'SLS_ERR_CODE_EXPIRED',
  /** A temporary passcode past its 2 full days opens only the Client Portal (SPEC T1). */
  'SLS_ERR_PORTAL_ONLY',
  /** Client services cannot issue two temporary passcodes in a row (SPEC T1). */
  'SLS_ERR_TEMP_PASSCODE_IN_A_ROW',
  // Account security (SPEC W1–W4, D6–D8, S1–S6, O3, P2, L8, C6).
  'SLS_ERR_SECOND_FACTOR_REQUIRED',
  'SLS_ERR_WITHDRAWAL_LIMIT',
  'SLS_ERR_IDEMPOTENCY_CONFLICT',
  'SLS_ERR_DSCPLUS_NOT_ELIGIBLE',
  'SLS_ERR_DEVICE_NOT_ISSUED',
  'SLS_ERR_LESS_SECURE_DEVICE',
  'SLS_ERR_DIFFERENT_IDENTIFICATION',
  'SLS_ERR_SHARING_TEMPORARY_DEVICE',
  'SLS_ERR_SHARING_IBKEY',
  'SLS_ERR_DEVICE_NOT_SHAREABLE',
  'SLS_ERR_NOT_PRIMARY_USER',
  'SLS_ERR_PHONE_INVALID',
  'SLS_ERR_PHONE_VOIP',
  'SLS_ERR_PHONE_NOT_MOBILE',
  'SLS_ERR_PHONE_DO_NOT_CALL',
  /** No SMS may be delivered to this number now (carrier hours, SPEC P2); a code that would arrive late is not sent. `retryAt` says from when. */
  'SLS_ERR_SMS_CARRIER_HOURS',
  'SLS_ERR_RESTART_TOKEN_INVALID',
  /** IB Key (SPEC L7): too many pushes wait for this user's approval (push-bombing defence). */
  'SLS_ERR_IBKEY_PUSH_LIMIT',
  /** IB Key: the signed request's nonce is unknown, used or expired: ask for a new one. */
  'SLS_ERR_IBKEY_NONCE_INVALID',
  /** IB Key: the signature does not verify for this request (wrong key, or made for another login). */
  'SLS_ERR_IBKEY_SIGNATURE_INVALID',
  /** IB Key: this app's key was replaced (reactivation, transfer, SPEC K4/K5) or deactivated. */
  'SLS_ERR_IBKEY_NOT_ACTIVE',
  /** IB Key: the push was already answered, expired, or its login moved on (single use, SPEC L7). */
  'SLS_ERR_IBKEY_REQUEST_ENDED',
  /** IB Key: the activation ended (used, or 3 wrong codes): start again. */
  'SLS_ERR_IBKEY_ACTIVATION_ENDED',
  /** IB Key: the activation code (or the other device's challenge, K6) outlived its 10 minutes: start again in the app for a new one. */
  'SLS_ERR_IBKEY_ACTIVATION_EXPIRED',
  /** IB Key activation needs a mobile number on file, which it verifies (SPEC P3). */
  'SLS_ERR_IBKEY_NO_MOBILE',
  /** IB Key cannot be recovered by the user: client services issue temporary access (SPEC K7). */
  'SLS_ERR_IBKEY_RECOVERY_UNAVAILABLE',
  /** The mobile number's verification code took 3 wrong codes and has ended; any code after that is refused too: ask for a new code (SPEC P1, L6). */
  'SLS_ERR_MOBILE_CODE_ENDED',
  /** Too many text messages lately: the number's hourly budget, or a user's daily verification codes (SPEC L4, P1); `retryAt`. */
  'SLS_ERR_SMS_LIMIT',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Any step that sends an SMS code may meet these (server/sms/policy.ts): the number is on the do-not-call list, or it is
 * outside the carrier's hours (SPEC P2); or the number had its budget of SMS for the last hour (SPEC L4: SLS_ERR_SMS_LIMIT, `retryAt`).
 */
export const SMS_POLICY_ERRORS: readonly ErrorCode[] = ['SLS_ERR_PHONE_DO_NOT_CALL', 'SLS_ERR_SMS_CARRIER_HOURS', 'SLS_ERR_SMS_LIMIT'];

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    /** Wrong responses left in this login transaction (SLS_ERR_WRONG_RESPONSE). */
    attemptsLeft: z.number().int().nonnegative().optional(),
    /** ISO time until which the user is locked (SLS_ERR_USER_LOCKED, SPEC L6). */
    lockedUntil: z.string().optional(),
    /** ISO time from which the action may be retried (SLS_ERR_RESEND_TOO_SOON, SLS_ERR_RATE_LIMITED, SLS_ERR_SMS_LIMIT). */
    retryAt: z.string().optional(),
    /** Field-level problems for SLS_ERR_VALIDATION. */
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    /** SLS_ERR_WITHDRAWAL_LIMIT (SPEC W2): which limit of the confirming device, what it could still confirm, and a device of the user that would allow it. */
    limit: z.enum(['per_day', 'five_business_days']).optional(),
    /** The limit passed, and the confirming device's kind (so a client can say it in its own words). */
    limitCents: z.number().int().nonnegative().optional(),
    deviceKind: z.enum(DEVICE_KINDS).optional(),
    availableCents: z.number().int().nonnegative().optional(),
    useDevice: z.object({ deviceId: z.string(), kind: z.enum(DEVICE_KINDS), label: z.string() }).optional(),
    /** SLS_ERR_NOT_PRIMARY_USER (SPEC O3): who may change the account's security settings. */
    primaryUser: z.object({ username: z.string(), displayName: z.string() }).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

// ---------------------------------------------------------------------------------------------
// Shared shapes

export const DeviceKindSchema = z.enum(DEVICE_KINDS);

const Id = z.string().min(1).max(64);
const IsoTime = z.string();

/** A second-factor device as a user sees it in the drop-down (SPEC L2). */
export const DeviceSummary = z.object({
  id: Id,
  kind: DeviceKindSchema,
  /** "Digital Security Card+ (…4821)", "IB Key (iPhone of Jane)". */
  label: z.string(),
  /** Full serial of a DSC+, so the desktop host can recognise the card when it is plugged in (SPEC C2). */
  serial: z.string().optional(),
  /** This is the device the user last logged in with (SPEC L2). */
  lastUsed: z.boolean(),
});
export type DeviceSummary = z.infer<typeof DeviceSummary>;

/** What the second-factor screen asks for (SPEC L4). */
export const Challenge = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('response_code'),
    deviceId: Id,
    kind: DeviceKindSchema,
    challenge: z.string(),
    responseLength: z.number().int().positive(),
    responseAlphabet: z.enum(['digits', 'platinum', 'alphanumeric']),
    /** The PIN is typed on the device (DSC+). */
    pinOnDevice: z.boolean(),
  }),
  z.object({
    type: z.literal('index_numbers'),
    deviceId: Id,
    kind: DeviceKindSchema,
    indexes: z.tuple([z.number().int().positive(), z.number().int().positive()]),
    /** Cells not yet asked since the card was last fully used (SPEC D3). */
    unusedCells: z.number().int().nonnegative(),
    nearlyUsedUp: z.boolean(),
  }),
  z.object({
    type: z.literal('push'),
    deviceId: Id,
    kind: DeviceKindSchema,
    /** The number the user must pick in the app (SPEC L7). */
    matchNumber: z.number().int().min(10).max(99),
    expiresAt: IsoTime,
  }),
  z.object({
    type: z.literal('sms_code'),
    deviceId: Id,
    kind: DeviceKindSchema,
    maskedNumber: z.string(),
    codeLength: z.number().int().positive(),
    resendAvailableAt: IsoTime,
    expiresAt: IsoTime,
  }),
  z.object({
    type: z.literal('passcode'),
    deviceId: Id,
    kind: DeviceKindSchema,
    codeLength: z.number().int().positive(),
    /** When the passcode itself stops giving access (SPEC T1). */
    validUntil: IsoTime,
  }),
]);
export type Challenge = z.infer<typeof Challenge>;

/**
 * The restrictions slsd puts on a session, each with a stable code (SPEC O2, P1, T1, S1b). Clients
 * show their own words for a code they know and `message` (slsd's English) for any other: a newer
 * slsd may add codes (always `SLS_RESTRICTION_*`), so the wire format takes any string, not this list.
 */
export const RESTRICTION_CODES = [
  /** SPEC O2: opted out of SLS for trading-platform login; no Pink Sheet and OTCBB trading. */
  'SLS_RESTRICTION_OPT_OUT',
  /** SPEC P1: no verified mobile number; trading restricted until one is verified. */
  'SLS_RESTRICTION_MOBILE_NOT_VERIFIED',
  /** SPEC T1: the last 10 days of a temporary passcode open the Client Portal functions only. */
  'SLS_RESTRICTION_PORTAL_ONLY',
  /** SPEC S1b: signed in with a temporary device; no device can be shared. */
  'SLS_RESTRICTION_TEMPORARY_NO_SHARING',
] as const;
export type RestrictionCode = (typeof RESTRICTION_CODES)[number];

export const Restriction = z.object({
  code: z
    .string()
    .min(1)
    .max(64)
    .describe(`Stable code to translate; unknown codes are shown by their message. Known: ${RESTRICTION_CODES.join(', ')}.`),
  message: z.string().describe('slsd\'s English sentence, e.g. "Pink Sheet and OTCBB trading restricted: SLS opt-out"; shown when the code is unknown.'),
});
export type Restriction = z.infer<typeof Restriction>;

export const SessionInfo = z.object({
  token: z.string(),
  expiresAt: IsoTime,
  user: z.object({ id: Id, username: z.string(), displayName: z.string() }),
  account: z.object({ id: Id, number: z.string(), primaryUser: z.string() }).nullable(),
  /** The device that completed the login, or null when no second factor was asked (SPEC O1). */
  authenticatedWith: z.object({ deviceId: Id, kind: DeviceKindSchema, label: z.string() }).nullable(),
  clientKind: z.enum(['trading_platform', 'client_portal']),
  /** full, or portal_only during the last 10 days of a temporary passcode (SPEC T1). */
  access: z.enum(['full', 'portal_only']),
  /**
   * Human-readable restrictions, e.g. "Pink Sheet and OTCBB trading restricted: SLS opt-out" (SPEC O2, P1):
   * the `message` of each of `restrictionDetails`, in the same order. Kept for clients that show text only.
   */
  restrictions: z.array(z.string()),
  /** The same restrictions with their codes, for clients that translate them (SPEC O2, P1, T1, S1b). */
  restrictionDetails: z.array(Restriction),
});
export type SessionInfo = z.infer<typeof SessionInfo>;

// ---------------------------------------------------------------------------------------------
// Login (SPEC L1–L7)

export const ClientInfo = z.object({
  /** trading_platform is the desktop client; client_portal always gets the drop-down (SPEC L3, C6). */
  kind: z.enum(['trading_platform', 'client_portal']),
  /** Build number of the trading-platform client; below 966 there is no drop-down (SPEC L3). */
  version: z.number().int().nonnegative(),
  /** Shown in the IB Key approval request (SPEC L7), e.g. "SLS Desktop on Linux". */
  name: z.string().max(100).optional(),
});

/** POST /v1/login */
export const LoginRequest = z.object({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(256),
  client: ClientInfo,
});
export type LoginRequest = z.infer<typeof LoginRequest>;

/** The answer of every login step: either a second factor is needed, or the user is signed in. */
export const LoginStep = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('select_device'),
    transactionId: Id,
    expiresAt: IsoTime,
    devices: z.array(DeviceSummary),
    preselectedDeviceId: Id,
  }),
  z.object({
    status: z.literal('challenge'),
    transactionId: Id,
    expiresAt: IsoTime,
    /** All of the user's active devices, for "Use another device" (SPEC L5); empty for clients below 966. */
    devices: z.array(DeviceSummary),
    challenge: Challenge,
  }),
  z.object({ status: z.literal('signed_in'), session: SessionInfo }),
]);
export type LoginStep = z.infer<typeof LoginStep>;

/** POST /v1/login/:transactionId/device — choose (or switch to) a device (SPEC L2, L5). */
export const SelectDeviceRequest = z.object({
  deviceId: Id,
  /** For IB Key: ask for a challenge/response code instead of a push (SPEC L4, K2). */
  mode: z.enum(['default', 'offline']).default('default'),
});
export type SelectDeviceRequest = z.infer<typeof SelectDeviceRequest>;

/** POST /v1/login/:transactionId/response */
export const RespondRequest = z.object({
  response: z.string().min(1).max(64),
});
export type RespondRequest = z.infer<typeof RespondRequest>;

/**
 * GET /v1/login/:transactionId/status?wait=25 — the desktop's long-poll while IB Key is asked (SPEC L4, L7).
 *
 * `waiting` after `wait` seconds (0–25) without news; `signed_in` once the app approved; `denied` or
 * `wrong_number` when the app ended the login; `push_expired` when the app did not answer in time: fall
 * back to a challenge code with POST /v1/login/:transactionId/device, mode `offline` (SPEC K2).
 */
export const LoginStatus = z.discriminatedUnion('status', [
  z.object({ status: z.literal('waiting'), transactionId: Id, pushExpiresAt: IsoTime }),
  z.object({ status: z.literal('signed_in'), session: SessionInfo }),
  z.object({ status: z.literal('denied'), transactionId: Id }),
  z.object({ status: z.literal('wrong_number'), transactionId: Id }),
  z.object({ status: z.literal('push_expired'), transactionId: Id }),
]);
export type LoginStatus = z.infer<typeof LoginStatus>;

/** POST /v1/login/:transactionId/resend — a new SMS code, after the cool-down; never resets failure counts (L6). */
export const ResendRequest = z.object({}).strict();

/** POST /v1/logout (Authorization: Bearer <token>) */
export const LogoutResponse = z.object({ ok: z.literal(true) });
/** POST /v1/login/:transactionId/cancel: no body; `{ ok: true }` (SPEC L7, C5). */
export const CancelLoginRequest = z.object({}).strict();

export const HealthResponse = z.object({ status: z.literal('ok'), version: z.string(), database: z.string() });
/** GET /v1/ready: the database answered a query just now (load balancers, orchestrators). */
export const ReadyResponse = z.object({ status: z.literal('ready'), database: z.string(), latencyMs: z.number() });
