/**
 * The account-security routes (SPEC W1–W4, D1, D6–D8, T1–T3, P1–P5, O1–O3, S1–S6, L8), in the
 * shape of the route table: thin handlers (parse → service → result).
 *
 * Every route but `POST /v1/login/restart` needs the session's bearer token; portal functions need
 * a session opened with a second factor (C6, SLS_ERR_SECOND_FACTOR_REQUIRED otherwise).
 */
import { z } from 'zod';
import type { ErrorCode } from '../../core/api.ts';
import { API_PREFIX, SMS_POLICY_ERRORS } from '../../core/api.ts';
import {
  ConfirmationChallenge,
  DeviceActivationRequest,
  DeviceActivationResponseRequest,
  DeviceOrder,
  DeviceOrderRequest,
  DeviceReportRequest,
  DeviceReportResponse,
  DevicesOverview,
  DeviceView,
  Empty,
  MobileNumberRequest,
  MobileNumberStatus,
  MobileNumberVerifyRequest,
  MobileNumberVerifyResponse,
  OnlineCard,
  OnlineCardPdf,
  OptOutRequest,
  OptOutStatus,
  RestartGrant,
  RestartRequest,
  RestartResponse,
  RestartTokenStatus,
  SharingAnswerRequest,
  SharingList,
  SharingStartRequest,
  SharingStartResponse,
  SharingView,
  WithdrawalChallengeRequest,
  WithdrawalOverview,
  WithdrawalRequest,
  WithdrawalResponse,
} from '../../core/account-api.ts';
import { accountServices } from '../account/index.ts';
import { portalCaller, sessionCaller } from '../account/portal.ts';
import type { Caller } from '../account/portal.ts';
import type { Services } from '../services/index.ts';
import type { RouteDefinition, RouteInput } from './table.ts';

const BODY: readonly ErrorCode[] = ['SLS_ERR_VALIDATION', 'SLS_ERR_MALFORMED_JSON', 'SLS_ERR_BODY_TOO_LARGE', 'SLS_ERR_UNSUPPORTED_MEDIA_TYPE'];
const AUTH: readonly ErrorCode[] = ['SLS_ERR_UNAUTHENTICATED', 'SLS_ERR_SESSION_EXPIRED'];
// SPEC C6, L6: a session with a second factor whose device is still active, of a user not locked.
const PORTAL: readonly ErrorCode[] = [...AUTH, 'SLS_ERR_SECOND_FACTOR_REQUIRED', 'SLS_ERR_USER_LOCKED'];
const CONFIRM: readonly ErrorCode[] = [
  'SLS_ERR_TRANSACTION_NOT_FOUND',
  'SLS_ERR_TRANSACTION_ENDED',
  'SLS_ERR_TRANSACTION_EXPIRED',
  'SLS_ERR_CHALLENGE_USED',
  'SLS_ERR_WRONG_RESPONSE',
  'SLS_ERR_CODE_EXPIRED',
  'SLS_ERR_USER_LOCKED',
];

const Params = {
  deviceId: z.object({ deviceId: z.string().min(1).max(64) }),
  confirmationId: z.object({ confirmationId: z.string().min(1).max(64) }),
  requestId: z.object({ requestId: z.string().min(1).max(64) }),
  orderId: z.object({ orderId: z.string().min(1).max(64) }),
};

/** A portal route: the caller must hold a session opened with a second factor (C6). */
async function portal(s: Services, input: RouteInput): Promise<Caller> {
  return portalCaller(accountServices(s).deps.adb, input.token, s.now());
}

const A = accountServices;

/**
 * A route whose body is `Empty`: `{}` or none, nothing else. Checked after the caller (an unknown
 * session is still SLS_ERR_UNAUTHENTICATED), before anything is done: a body such as `null`, `[]` or
 * `{"x":1}` once returned a device (server/fuzz-routes.test.ts).
 */
function noBody(input: RouteInput): void {
  Empty.parse(bodyOrEmpty(input.body));
}

/** No body at all stands for `{}`; `null` is a body, and malformed (with `?? {}` it opted a user out). */
function bodyOrEmpty(body: unknown): unknown {
  return body === undefined ? {} : body;
}

export const ACCOUNT_ROUTES: readonly RouteDefinition[] = [
  // --- Withdrawals (W1–W4)
  {
    method: 'GET',
    url: `${API_PREFIX}/withdrawals`,
    operationId: 'withdrawalOverview',
    summary: 'Withdrawal limits of each device and what is left in the windows',
    spec: 'W1 W2 C1',
    auth: true,
    response: WithdrawalOverview,
    errors: [...PORTAL],
    async handler(s, input) {
      return A(s).withdrawals.overview(await portal(s, input));
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/withdrawals/challenge`,
    operationId: 'withdrawalChallenge',
    summary: 'A fresh challenge on the device that will confirm a withdrawal',
    description: 'Refused at once (SLS_ERR_WITHDRAWAL_LIMIT, naming a device that would allow it) when the device cannot allow the amount now.',
    spec: 'W1 W2',
    auth: true,
    body: WithdrawalChallengeRequest,
    response: ConfirmationChallenge,
    errors: [...BODY, ...PORTAL, 'SLS_ERR_DEVICE_NOT_AVAILABLE', 'SLS_ERR_WITHDRAWAL_LIMIT', 'SLS_ERR_NOT_FOUND', ...SMS_POLICY_ERRORS],
    async handler(s, input) {
      return A(s).withdrawals.challenge(await portal(s, input), WithdrawalChallengeRequest.parse(input.body), input.sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/withdrawals`,
    operationId: 'withdraw',
    summary: 'Confirm a withdrawal, exactly once',
    description:
      'The device that answered the challenge sets the limits; both windows count all of the user\'s withdrawals. The same idempotency key returns the same result (`replayed: true`); with another body it is SLS_ERR_IDEMPOTENCY_CONFLICT.',
    spec: 'W1 W2 W3 W4',
    auth: true,
    body: WithdrawalRequest,
    response: WithdrawalResponse,
    errors: [...BODY, ...PORTAL, ...CONFIRM, 'SLS_ERR_WITHDRAWAL_LIMIT', 'SLS_ERR_IDEMPOTENCY_CONFLICT', 'SLS_ERR_NOT_FOUND'],
    async handler(s, input) {
      return A(s).withdrawals.withdraw(await portal(s, input), WithdrawalRequest.parse(input.body), input.sourceAddress);
    },
  },
  // --- Devices (D1, D6–D8, T3)
  {
    method: 'GET',
    url: `${API_PREFIX}/devices`,
    operationId: 'devices',
    summary: 'All of the user\'s devices, orders and DSC+ eligibility',
    spec: 'D1 D5 D6 T3',
    auth: true,
    response: DevicesOverview,
    errors: [...PORTAL],
    async handler(s, input) {
      return A(s).devices.list(await portal(s, input));
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/devices/orders`,
    operationId: 'orderDevice',
    summary: 'Order a Digital Security Card+ (balance of USD 500K or more)',
    spec: 'D6 D7',
    auth: true,
    body: DeviceOrderRequest,
    response: DeviceOrder,
    errors: [...BODY, ...PORTAL, 'SLS_ERR_DSCPLUS_NOT_ELIGIBLE', 'SLS_ERR_DEVICE_NOT_ISSUED', 'SLS_ERR_NOT_FOUND', 'SLS_ERR_CONFLICT'],
    async handler(s, input) {
      return A(s).devices.order(await portal(s, input), DeviceOrderRequest.parse(input.body), input.sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/devices/orders/:orderId/cancel`,
    operationId: 'cancelDeviceOrder',
    summary: 'Cancel an order not yet sent; a replacement deposit is released',
    spec: 'D6 D8',
    auth: true,
    body: Empty,
    response: DeviceOrder,
    errors: [...BODY, ...PORTAL, 'SLS_ERR_NOT_FOUND', 'SLS_ERR_CONFLICT'],
    async handler(s, input) {
      const { orderId } = Params.orderId.parse(input.params);
      const caller = await portal(s, input);
      noBody(input);
      return A(s).devices.cancelOrder(orderId, { caller }, input.sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/devices/activation`,
    operationId: 'startDeviceActivation',
    summary: 'Activate a received device: its serial → a challenge on it',
    spec: 'D6 D1',
    auth: true,
    body: DeviceActivationRequest,
    response: ConfirmationChallenge,
    errors: [...BODY, ...PORTAL, 'SLS_ERR_NOT_FOUND', 'SLS_ERR_DEVICE_NOT_AVAILABLE'],
    async handler(s, input) {
      return A(s).devices.startActivation(await portal(s, input), DeviceActivationRequest.parse(input.body).serial, input.sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/devices/activation/:confirmationId`,
    operationId: 'completeDeviceActivation',
    summary: 'The device\'s response activates it; the other devices stay active',
    spec: 'D6 D1',
    auth: true,
    body: DeviceActivationResponseRequest,
    response: DeviceView,
    errors: [...BODY, ...PORTAL, ...CONFIRM, 'SLS_ERR_CONFLICT'],
    async handler(s, input) {
      const { confirmationId } = Params.confirmationId.parse(input.params);
      return A(s).devices.completeActivation(await portal(s, input), { confirmationId, response: DeviceActivationResponseRequest.parse(input.body).response }, input.sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/devices/:deviceId/report`,
    operationId: 'reportDevice',
    summary: 'Report a device lost or broken (deactivated at once); optionally order a replacement',
    spec: 'D8',
    auth: true,
    body: DeviceReportRequest,
    response: DeviceReportResponse,
    errors: [...BODY, ...PORTAL, 'SLS_ERR_NOT_FOUND', 'SLS_ERR_CONFLICT', 'SLS_ERR_DEVICE_NOT_ISSUED'],
    async handler(s, input) {
      const { deviceId } = Params.deviceId.parse(input.params);
      return A(s).devices.report(await portal(s, input), deviceId, DeviceReportRequest.parse(input.body), input.sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/devices/:deviceId/return`,
    operationId: 'returnDevice',
    summary: 'Return a device no longer needed: the sessions and restart chains opened with it end, and so do its sharings',
    spec: 'D8 D5 L8 S5',
    auth: true,
    body: Empty,
    response: DeviceView,
    errors: [...BODY, ...PORTAL, 'SLS_ERR_NOT_FOUND', 'SLS_ERR_CONFLICT'],
    async handler(s, input) {
      const { deviceId } = Params.deviceId.parse(input.params);
      const caller = await portal(s, input);
      noBody(input);
      return A(s).devices.returnDevice(caller, deviceId, input.sourceAddress);
    },
  },
  // --- Mobile number (P1–P5)
  {
    method: 'GET',
    url: `${API_PREFIX}/mobile-number`,
    operationId: 'mobileNumber',
    summary: 'The mobile number, whether verified, and a code waiting',
    spec: 'P1',
    auth: true,
    response: MobileNumberStatus,
    errors: [...PORTAL],
    async handler(s, input) {
      return A(s).phone.status(await portal(s, input));
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/mobile-number`,
    operationId: 'setMobileNumber',
    summary: 'Set a mobile number and send its code by SMS',
    description: 'VOIP and non-mobile numbers and numbers on the do-not-call list are refused; outside 08:00–21:00 in the number\'s country the SMS is deferred (`pending.deferred`). One code per cool-down whatever the number (`SLS_ERR_RESEND_TOO_SOON`), at most 10 in 24 hours, and the number\'s SMS budget for the hour (both `SLS_ERR_SMS_LIMIT`), each with `retryAt`. When the SMS gateway fails nothing is kept or counted (`SLS_ERR_SERVICE_UNAVAILABLE`, `retryAt`).',
    spec: 'P1 P2 P5 L4',
    auth: true,
    body: MobileNumberRequest,
    response: MobileNumberStatus,
    errors: [...BODY, ...PORTAL, 'SLS_ERR_PHONE_INVALID', 'SLS_ERR_PHONE_VOIP', 'SLS_ERR_PHONE_NOT_MOBILE', 'SLS_ERR_RESEND_TOO_SOON', ...SMS_POLICY_ERRORS],
    async handler(s, input) {
      return A(s).phone.setNumber(await portal(s, input), MobileNumberRequest.parse(input.body), input.sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/mobile-number/verify`,
    operationId: 'verifyMobileNumber',
    summary: 'Type back the SMS code',
    description:
      'Verifies the number; a user with no active device (own, or shared with them) is enrolled in SMS as second factor (`enrolledInSms`). Each wrong code is a failure of the user (L6); the third ends the code (`SLS_ERR_MOBILE_CODE_ENDED`: ask for a new one); after 15 minutes it has expired (`SLS_ERR_CODE_EXPIRED`). A number put on the do-not-call list since its code was sent is not verified (`SLS_ERR_PHONE_DO_NOT_CALL`).',
    spec: 'P1 P2 P4 L6',
    auth: true,
    body: MobileNumberVerifyRequest,
    response: MobileNumberVerifyResponse,
    errors: [...BODY, ...PORTAL, 'SLS_ERR_NO_CHALLENGE', 'SLS_ERR_WRONG_RESPONSE', 'SLS_ERR_MOBILE_CODE_ENDED', 'SLS_ERR_CODE_EXPIRED', 'SLS_ERR_CHALLENGE_USED', 'SLS_ERR_PHONE_DO_NOT_CALL', 'SLS_ERR_USER_LOCKED', 'SLS_ERR_RATE_LIMITED'],
    async handler(s, input) {
      return A(s).phone.verify(await portal(s, input), MobileNumberVerifyRequest.parse(input.body).code, input.sourceAddress);
    },
  },
  // --- Opt-out (O1–O3)
  {
    method: 'GET',
    url: `${API_PREFIX}/sls/opt-out`,
    operationId: 'optOutStatus',
    summary: 'Whether the user is opted out of the second factor for trading-platform login',
    spec: 'O1 O2 O3',
    auth: true,
    response: OptOutStatus,
    errors: [...AUTH],
    async handler(s, input) {
      return A(s).optOut.status(await sessionCaller(A(s).deps.adb, input.token, s.now()));
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/sls/opt-out`,
    operationId: 'optOut',
    summary: 'Opt a user out of the second factor for trading-platform login (primary user only)',
    spec: 'O1 O2 A1',
    auth: true,
    body: OptOutRequest,
    response: OptOutStatus,
    errors: [...BODY, ...PORTAL, 'SLS_ERR_NOT_PRIMARY_USER', 'SLS_ERR_NOT_FOUND', 'SLS_ERR_PORTAL_ONLY'],
    async handler(s, input) {
      // Who may is said to anyone signed in; the change itself needs a second factor (checked by the service).
      return A(s).optOut.optOut(await sessionCaller(A(s).deps.adb, input.token, s.now()), OptOutRequest.parse(bodyOrEmpty(input.body)).username, input.sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/sls/opt-in`,
    operationId: 'optIn',
    summary: '"I want to always use my Secure Login Device when logging in" (primary user only)',
    description: 'Any other user gets SLS_ERR_NOT_PRIMARY_USER naming the user who may.',
    spec: 'O3 A1',
    auth: true,
    body: OptOutRequest,
    response: OptOutStatus,
    errors: [...BODY, ...PORTAL, 'SLS_ERR_NOT_PRIMARY_USER', 'SLS_ERR_NOT_FOUND', 'SLS_ERR_PORTAL_ONLY'],
    async handler(s, input) {
      return A(s).optOut.optIn(await sessionCaller(A(s).deps.adb, input.token, s.now()), OptOutRequest.parse(bodyOrEmpty(input.body)).username, input.sourceAddress);
    },
  },
  // --- Sharing (S1–S6)
  {
    method: 'GET',
    url: `${API_PREFIX}/sharing`,
    operationId: 'sharingRequests',
    summary: 'Sharing requests of the user, as requester or owner',
    spec: 'S3 S4 S5',
    auth: true,
    response: SharingList,
    errors: [...PORTAL],
    async handler(s, input) {
      return { requests: await A(s).sharing.list(await portal(s, input)) };
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/sharing`,
    operationId: 'startSharing',
    summary: 'Start sharing another user\'s device: the owner\'s credentials → a challenge on the owner\'s device',
    spec: 'S1 S2 S3 S6',
    auth: true,
    body: SharingStartRequest,
    response: SharingStartResponse,
    errors: [
      ...BODY,
      ...PORTAL,
      'SLS_ERR_INVALID_CREDENTIALS',
      'SLS_ERR_USER_LOCKED',
      'SLS_ERR_RATE_LIMITED',
      'SLS_ERR_LESS_SECURE_DEVICE',
      'SLS_ERR_DIFFERENT_IDENTIFICATION',
      'SLS_ERR_SHARING_TEMPORARY_DEVICE',
      'SLS_ERR_SHARING_IBKEY',
      'SLS_ERR_DEVICE_NOT_SHAREABLE',
      'SLS_ERR_DEVICE_NOT_AVAILABLE',
      'SLS_ERR_NO_ACTIVE_DEVICE',
      'SLS_ERR_CONFLICT',
    ],
    async handler(s, input) {
      return A(s).sharing.start(await portal(s, input), SharingStartRequest.parse(input.body), input.sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/sharing/:requestId/response`,
    operationId: 'answerSharing',
    summary: 'The owner\'s device answered: the request is ready for review',
    spec: 'S3',
    auth: true,
    body: SharingAnswerRequest,
    response: SharingView,
    errors: [...BODY, ...PORTAL, ...CONFIRM, 'SLS_ERR_NOT_FOUND', 'SLS_ERR_CONFLICT'],
    async handler(s, input) {
      const { requestId } = Params.requestId.parse(input.params);
      return A(s).sharing.answer(await portal(s, input), requestId, SharingAnswerRequest.parse(input.body), input.sourceAddress);
    },
  },
  {
    method: 'GET',
    url: `${API_PREFIX}/sharing/:requestId/challenge`,
    operationId: 'sharingChallenge',
    summary: 'The challenge of the caller\'s started request again, while it can still be answered (no owner\'s password again)',
    description:
      'Only the requester\'s session; any other user, the device\'s owner included, gets SLS_ERR_NOT_FOUND. A request no longer started: SLS_ERR_CONFLICT. Its challenge expired or took 3 wrong responses: SLS_ERR_TRANSACTION_EXPIRED or SLS_ERR_TRANSACTION_ENDED, and POST /v1/sharing with the owner\'s password gives a new one. Nothing is issued, sent or counted.',
    spec: 'S3 L6',
    auth: true,
    response: ConfirmationChallenge,
    errors: [...PORTAL, 'SLS_ERR_NOT_FOUND', 'SLS_ERR_CONFLICT', 'SLS_ERR_TRANSACTION_NOT_FOUND', 'SLS_ERR_TRANSACTION_EXPIRED', 'SLS_ERR_TRANSACTION_ENDED', 'SLS_ERR_CHALLENGE_USED'],
    async handler(s, input) {
      const { requestId } = Params.requestId.parse(input.params);
      return A(s).sharing.challenge(await portal(s, input), requestId);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/sharing/:requestId/submit`,
    operationId: 'submitSharing',
    summary: 'Submit after review: approved at once, or pending compliance',
    spec: 'S3 S4 S5',
    auth: true,
    body: Empty,
    response: SharingView,
    errors: [...BODY, ...PORTAL, 'SLS_ERR_NOT_FOUND', 'SLS_ERR_CONFLICT', 'SLS_ERR_LESS_SECURE_DEVICE', 'SLS_ERR_DIFFERENT_IDENTIFICATION', 'SLS_ERR_SHARING_TEMPORARY_DEVICE'],
    async handler(s, input) {
      const { requestId } = Params.requestId.parse(input.params);
      const caller = await portal(s, input);
      noBody(input);
      return A(s).sharing.submit(caller, requestId, input.sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/sharing/:requestId/cancel`,
    operationId: 'cancelSharing',
    summary: 'End a sharing, by its requester or the device\'s owner: the requester\'s own devices are active again; their sessions and restart chains with the shared device end',
    spec: 'S5 D5 L8',
    auth: true,
    body: Empty,
    response: SharingView,
    errors: [...BODY, ...PORTAL, 'SLS_ERR_NOT_FOUND', 'SLS_ERR_CONFLICT'],
    async handler(s, input) {
      const { requestId } = Params.requestId.parse(input.params);
      const caller = await portal(s, input);
      noBody(input);
      return A(s).sharing.cancel(caller, requestId, input.sourceAddress);
    },
  },
  // --- Temporary access (T1, T2)
  {
    method: 'POST',
    url: `${API_PREFIX}/temporary-access/online-card`,
    operationId: 'onlineCard',
    summary: 'View the online Security Code Card (issued on first view, valid 21 days)',
    spec: 'T1 T2',
    auth: true,
    body: Empty,
    response: OnlineCard,
    errors: [...BODY, ...PORTAL, 'SLS_ERR_FORBIDDEN'],
    async handler(s, input) {
      const caller = await portal(s, input);
      noBody(input);
      return A(s).temporaryAccess.onlineCard(caller, input.sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/temporary-access/online-card/pdf`,
    operationId: 'onlineCardPdf',
    summary: 'The online Security Code Card as a printable PDF (base64)',
    spec: 'T1 T2',
    auth: true,
    body: Empty,
    response: OnlineCardPdf,
    errors: [...BODY, ...PORTAL, 'SLS_ERR_FORBIDDEN'],
    async handler(s, input) {
      const caller = await portal(s, input);
      noBody(input);
      return A(s).temporaryAccess.onlineCardPdf(caller, input.sourceAddress);
    },
  },
  // --- Auto-restart (L8)
  {
    method: 'POST',
    url: `${API_PREFIX}/login/restart-token`,
    operationId: 'issueRestartToken',
    summary: 'A restart token for this session, valid until Sunday 01:00 New York time',
    spec: 'L8',
    auth: true,
    body: Empty,
    response: RestartGrant,
    errors: [...BODY, ...PORTAL],
    async handler(s, input) {
      const caller = await sessionCaller(A(s).deps.adb, input.token, s.now());
      noBody(input);
      return A(s).restart.issue(caller, input.sourceAddress);
    },
  },
  {
    method: 'GET',
    url: `${API_PREFIX}/login/restart-token`,
    operationId: 'restartTokenStatus',
    summary: 'Whether the restart token this session holds still works, and if not why (revoked, used, past the cut-off)',
    description: 'Asked by a running client, so it says auto-restart is off once an operator revoked it (`slsctl restart revoke`) and removes the token from the keychain. Changes nothing.',
    spec: 'L8',
    auth: true,
    response: RestartTokenStatus,
    errors: [...AUTH],
    async handler(s, input) {
      return A(s).restart.status(await sessionCaller(A(s).deps.adb, input.token, s.now()));
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/login/restart`,
    operationId: 'restart',
    summary: 'Sign in with a restart token, without a second factor, until the weekly cut-off',
    description:
      'Each token works once; the answer carries the next one (same cut-off). Only a user whom a trading-platform login would let in now restarts: ' +
      'past a temporary passcode\'s days of full access, or with no usable device left, the answer is the login\'s and every restart token of the user is revoked.',
    spec: 'L8 L6 T1 D5',
    auth: false,
    body: RestartRequest,
    response: RestartResponse,
    errors: [...BODY, 'SLS_ERR_RESTART_TOKEN_INVALID', 'SLS_ERR_USER_LOCKED', 'SLS_ERR_RATE_LIMITED', 'SLS_ERR_PORTAL_ONLY', 'SLS_ERR_NO_ACTIVE_DEVICE'],
    async handler(s, input) {
      return A(s).restart.restart(RestartRequest.parse(input.body), input.sourceAddress);
    },
  },
];
