/**
 * The slsd HTTP API for account security, version 1: request and response bodies as zod schemas.
 *
 * Withdrawals (SPEC W1–W4), devices (D1, D6–D8, T3), mobile number (P1–P5), SLS opt-out/in
 * (O1–O3), sharing (S1–S6), temporary access (T1, T2) and auto-restart (L8). All routes but
 * `POST /v1/login/restart` take the session's bearer token; portal functions need a session opened
 * with a second factor (C6: SLS_ERR_SECOND_FACTOR_REQUIRED otherwise). Shared by slsd and the
 * desktop host, like `core/api.ts`.
 */
import { z } from 'zod';
import { Challenge, DeviceKindSchema, SessionInfo } from './api.ts';

const Id = z.string().min(1).max(64);
const IsoTime = z.string();
/** Integer US cents, positive, at most USD 10 billion (a sanity bound, not a limit of SPEC W1). */
export const AmountCents = z.number().int().positive().max(1_000_000_000_000);
/** Nullable cents: null is unlimited (W1). */
const Cents = z.number().int().nonnegative();

/** A fresh challenge for a portal action (W1 confirming device, D6 activation, S3 sharing). */
export const ConfirmationChallenge = z.object({
  confirmationId: Id,
  expiresAt: IsoTime,
  challenge: Challenge,
});
export type ConfirmationChallenge = z.infer<typeof ConfirmationChallenge>;

export const ConfirmationAnswer = z.object({ id: Id, response: z.string().min(1).max(64) });

// ---------------------------------------------------------------------------------------------
// Withdrawals (SPEC W1–W4)

/** POST /v1/withdrawals/challenge — a fresh challenge on the device that will confirm. */
export const WithdrawalChallengeRequest = z.object({ deviceId: Id, amountCents: AmountCents, accountId: Id.optional() });

/** POST /v1/withdrawals — confirm exactly once (W4). */
export const WithdrawalRequest = z.object({
  amountCents: AmountCents,
  /** Chosen by the client (a UUID), unique per user: a retry with the same key returns the same result. */
  idempotencyKey: z.string().min(8).max(100).regex(/^[A-Za-z0-9_.:-]+$/),
  accountId: Id.optional(),
  /** The answer to the challenge of POST /v1/withdrawals/challenge for this amount. */
  confirmation: ConfirmationAnswer,
});
export type WithdrawalRequest = z.infer<typeof WithdrawalRequest>;

export const Withdrawal = z.object({
  id: Id,
  accountId: Id,
  amountCents: AmountCents,
  idempotencyKey: z.string(),
  confirmedWith: z.object({ deviceId: Id, kind: DeviceKindSchema, label: z.string() }),
  confirmedAt: IsoTime,
});

export const WithdrawalResponse = z.object({ withdrawal: Withdrawal, replayed: z.boolean() });
export type WithdrawalResponse = z.infer<typeof WithdrawalResponse>;

/** GET /v1/withdrawals — limits per device and what is left (C1 "limits shown"). */
export const WithdrawalOverview = z.object({
  withdrawnTodayCents: Cents,
  withdrawnFiveBusinessDaysCents: Cents,
  windows: z.object({ dayStart: IsoTime, fiveBusinessDaysStart: IsoTime }),
  devices: z.array(
    z.object({
      deviceId: Id,
      kind: DeviceKindSchema,
      label: z.string(),
      perDayCents: Cents.nullable(),
      perFiveBusinessDaysCents: Cents.nullable(),
      availableNowCents: Cents.nullable(),
    }),
  ),
  recent: z.array(Withdrawal),
});
export type WithdrawalOverview = z.infer<typeof WithdrawalOverview>;

// ---------------------------------------------------------------------------------------------
// Devices (SPEC D1, D5–D8, T3)

export const DeviceStatusSchema = z.enum(['pending', 'active', 'inactive', 'lost', 'returned', 'revoked']);

export const DeviceView = z.object({
  id: Id,
  kind: DeviceKindSchema,
  name: z.string(),
  label: z.string(),
  status: DeviceStatusSchema,
  serial: z.string().nullable(),
  securityLevel: z.number().int().nullable(),
  legacy: z.boolean(),
  physical: z.boolean(),
  activatedAt: IsoTime.nullable(),
  lastUsedAt: IsoTime.nullable(),
  ownership: z.enum(['own', 'shared']),
});

export const DeviceOrder = z.object({
  id: Id,
  kind: DeviceKindSchema,
  reason: z.enum(['new', 'replacement']),
  state: z.enum(['ordered', 'sent', 'activated', 'cancelled']),
  createdAt: IsoTime,
  sentAt: IsoTime.nullable(),
  selfActivatesAt: IsoTime.nullable(),
  depositCents: Cents,
});

export type DeviceOrder = z.infer<typeof DeviceOrder>;

/** GET /v1/devices */
export const DevicesOverview = z.object({
  devices: z.array(DeviceView),
  orders: z.array(DeviceOrder),
  dscPlus: z.object({ eligible: z.boolean(), reason: z.string().nullable() }),
});
export type DevicesOverview = z.infer<typeof DevicesOverview>;

/** POST /v1/devices/orders — D6 (DSC+ from USD 500K), D7 (legacy kinds refused). */
export const DeviceOrderRequest = z.object({ kind: DeviceKindSchema, accountId: Id.optional() });

/** POST /v1/devices/activation — the serial of the received device → a challenge on it (D6). */
export const DeviceActivationRequest = z.object({ serial: z.string().min(4).max(32) });
/** POST /v1/devices/activation/:confirmationId — the device's response. */
export const DeviceActivationResponseRequest = z.object({ response: z.string().min(1).max(64) });

/** POST /v1/devices/:deviceId/report — lost or broken (D8). */
export const DeviceReportRequest = z.object({ reason: z.enum(['lost', 'broken']), replace: z.boolean().default(false) });
export const DeviceReportResponse = z.object({ device: DeviceView, replacement: DeviceOrder.nullable() });

// ---------------------------------------------------------------------------------------------
// Mobile number (SPEC P1–P5)

export const MobileNumberStatus = z.object({
  number: z.string().nullable(),
  verified: z.boolean(),
  verifiedAt: IsoTime.nullable(),
  pending: z
    .object({ maskedNumber: z.string(), deliverAt: IsoTime, deferred: z.boolean(), expiresAt: IsoTime, resendAvailableAt: IsoTime })
    .nullable(),
});
/** POST /v1/mobile-number */
export const MobileNumberRequest = z.object({ number: z.string().min(3).max(40), defaultCountry: z.string().length(2).optional() });
/** POST /v1/mobile-number/verify */
export const MobileNumberVerifyRequest = z.object({ code: z.string().min(1).max(16) });
export type MobileNumberStatus = z.infer<typeof MobileNumberStatus>;
export const MobileNumberVerifyResponse = MobileNumberStatus.extend({ enrolledInSms: z.boolean() });
export type MobileNumberVerifyResponse = z.infer<typeof MobileNumberVerifyResponse>;

// ---------------------------------------------------------------------------------------------
// SLS opt-out (SPEC O1–O3)

/** Body of POST /v1/sls/opt-out and /v1/sls/opt-in; `username` defaults to the caller. */
export const OptOutRequest = z.object({ username: z.string().min(1).max(64).optional() });
export const OptOutStatus = z.object({
  username: z.string(),
  optedOut: z.boolean(),
  optedOutAt: IsoTime.nullable(),
  canChange: z.boolean(),
  primaryUser: z.object({ username: z.string(), displayName: z.string() }).nullable(),
  /** SPEC A1, O3: the user's accounts have different primary users, so none of them alone may change it (client services can); absent from an older slsd. */
  severalPrimaryUsers: z.boolean().optional(),
});
export type OptOutStatus = z.infer<typeof OptOutStatus>;

// ---------------------------------------------------------------------------------------------
// Sharing (SPEC S1–S6)

/**
 * What ended a sharing request (SPEC S3–S5), kept with the request (`sharing_requests.ended_reason`):
 * - `withdrawn` / `ended_by_requester`: its requester cancelled it before / after it was approved;
 * - `refused_by_owner` / `ended_by_owner`: the device's owner did;
 * - `rejected_by_compliance`: compliance rejected it (S4, `slsctl sharing reject`);
 * - `replaced`: the requester started a new request, which replaced this one not yet submitted (S5);
 * - `device_reported` / `device_returned`: the shared device was reported lost or broken, or returned (D8);
 * - `device_set_aside`: the owner's own devices were set aside as they share another user's device (S5);
 * - `device_unavailable`: an operator took the device out of use or gave it to another user (D5, D7);
 * - `not_recorded`: it ended before slsd recorded why (a request older than this field).
 */
export const SharingEndReason = z.enum([
  'withdrawn',
  'ended_by_requester',
  'refused_by_owner',
  'ended_by_owner',
  'rejected_by_compliance',
  'replaced',
  'device_reported',
  'device_returned',
  'device_set_aside',
  'device_unavailable',
  'not_recorded',
]);
export type SharingEndReason = z.infer<typeof SharingEndReason>;

export const SharingView = z.object({
  id: Id,
  state: z.enum(['started', 'verified', 'pending_compliance', 'approved', 'rejected', 'cancelled']),
  requester: z.object({ username: z.string(), displayName: z.string() }),
  owner: z.object({ username: z.string(), displayName: z.string() }),
  /**
   * The shared device. A DSC+ carries its full serial, shown only to the two users of the request (the requester has
   * given the owner's password), so the requester's desktop can send the challenge to the card plugged in (SPEC S3, C2).
   */
  device: z.object({ id: Id, kind: DeviceKindSchema, label: z.string(), serial: z.string().optional() }),
  needsCompliance: z.boolean(),
  requesterDevices: z.array(z.object({ id: Id, label: z.string(), status: DeviceStatusSchema })),
  createdAt: IsoTime,
  /** When it was approved (at once or by compliance) or rejected (S4); absent before that, and from an older slsd. */
  decidedAt: IsoTime.optional(),
  /** A request cancelled or rejected: what ended it and when (S3–S5); absent while open, and from an older slsd. */
  ended: z.object({ reason: SharingEndReason, at: IsoTime }).optional(),
  /**
   * The challenge of a started request that can still be answered (S3), in the list of its REQUESTER only:
   * Continue goes back to it, after the desktop restarted too, without the owner's password again. Absent once
   * it expired or took its 3 wrong responses (L6): a new challenge needs the owner's password
   * (GET /v1/sharing/:requestId/challenge answers why, with its code).
   */
  challenge: ConfirmationChallenge.optional(),
});
export type SharingView = z.infer<typeof SharingView>;
/** POST /v1/sharing — the owner's credentials (S3). */
export const SharingStartRequest = z.object({ ownerUsername: z.string().min(1).max(64), ownerPassword: z.string().min(1).max(256), deviceId: Id.optional() });
export const SharingStartResponse = z.object({ request: SharingView, confirmation: ConfirmationChallenge });
export type SharingStartResponse = z.infer<typeof SharingStartResponse>;
/** POST /v1/sharing/:requestId/response — the owner's device answered. */
export const SharingAnswerRequest = z.object({ confirmationId: Id, response: z.string().min(1).max(64) });
export const SharingList = z.object({ requests: z.array(SharingView) });

// ---------------------------------------------------------------------------------------------
// Temporary access (SPEC T1, T2)

export const OnlineCard = z.object({ deviceId: Id, issuedAt: IsoTime, validUntil: IsoTime, cells: z.array(z.string()) });
export type OnlineCard = z.infer<typeof OnlineCard>;
export const OnlineCardPdf = z.object({ pdfBase64: z.string(), validUntil: IsoTime });

// ---------------------------------------------------------------------------------------------
// Auto-restart (SPEC L8)

export const RestartGrant = z.object({ restartToken: z.string(), validUntil: IsoTime });
/** POST /v1/login/restart — no second factor until the weekly cut-off. */
export const RestartRequest = z.object({ username: z.string().min(1).max(64), restartToken: z.string().min(20).max(100) });
export const RestartResponse = RestartGrant.extend({ session: SessionInfo });
export type RestartResponse = z.infer<typeof RestartResponse>;
/**
 * GET /v1/login/restart-token — the restart token this session holds, as slsd sees it now: `live`
 * until the weekly cut-off; else why it no longer works: `revoked` (`slsctl restart revoke`, a device
 * reported or set aside), `used` (another copy restarted with it), `expired` (past the cut-off), or
 * `none` (this session holds none). `refused`: the token is live, but a restart with it would be
 * refused now with `reason`, as a trading-platform login would (L8 × T1, D5: a temporary passcode's
 * full access over, no usable device left); that restart would revoke it.
 */
export const RESTART_TOKEN_ENDED_STATES = ['revoked', 'used', 'expired', 'none'] as const;
export const RESTART_REFUSAL_REASONS = ['SLS_ERR_PORTAL_ONLY', 'SLS_ERR_NO_ACTIVE_DEVICE'] as const;
export const RestartTokenStatus = z.discriminatedUnion('state', [
  z.object({ state: z.literal('live'), validUntil: IsoTime }),
  z.object({ state: z.literal('refused'), reason: z.enum(RESTART_REFUSAL_REASONS) }),
  z.object({ state: z.enum(RESTART_TOKEN_ENDED_STATES) }),
]);
export type RestartTokenStatus = z.infer<typeof RestartTokenStatus>;

export const Empty = z.object({}).strict();
