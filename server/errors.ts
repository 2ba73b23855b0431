/**
 * The registry of coded errors: every `SLS_ERR_…` with its HTTP status and a message safe to show.
 *
 * One place for each fact (STYLE): routes throw `SlsError(code, extra)`, the error handler turns it
 * into `{ error: { code, message, … } }`, and `docs/errors.md` is generated from this table
 * (`npm run docs:errors`), with a test that the two agree.
 */
import type { ErrorBody, ErrorCode } from '../core/api.ts';

export interface ErrorDefinition {
  readonly status: number;
  /** Safe to show to anyone: names no user, device or secret. */
  readonly message: string;
  /** When a client sees it, for the documentation. */
  readonly when: string;
}

export const ERROR_REGISTRY = {
  SLS_ERR_VALIDATION: {
    status: 400,
    message: 'The request is not valid.',
    when: 'A field is missing, of the wrong type or out of range; `issues` lists each problem.',
  },
  SLS_ERR_MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON.', when: 'The body cannot be parsed as JSON.' },
  SLS_ERR_BODY_TOO_LARGE: { status: 413, message: 'The request body is too large.', when: 'The body is larger than the configured limit (16 KiB by default).' },
  SLS_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'The request body must be application/json.',
    when: 'A body is sent with another Content-Type.',
  },
  SLS_ERR_NOT_FOUND: { status: 404, message: 'There is no such resource.', when: 'Unknown route, or an operator command names something that does not exist.' },
  SLS_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'This method is not allowed here.', when: 'The route exists with another method.' },
  SLS_ERR_INVALID_CREDENTIALS: {
    status: 401,
    message: 'The user name or password is not correct.',
    when: 'SPEC L1, A3: unknown user or wrong password, the same answer in the same time.',
  },
  SLS_ERR_USER_LOCKED: {
    status: 423,
    message: 'Too many failed attempts: this user is locked. Try again later or call client services.',
    when: 'SPEC L6: 10 consecutive failures within 24 hours; `lockedUntil` says until when. `slsctl user unlock` lifts it.',
  },
  SLS_ERR_RATE_LIMITED: {
    status: 429,
    message: 'Too many failed attempts from this address. Try again later.',
    when: 'SPEC L6: too many failures from one source address; `retryAt` says when.',
  },
  SLS_ERR_NO_ACTIVE_DEVICE: {
    status: 403,
    message: 'This user has no active second-factor device. Please call client services.',
    when: 'The password is right but the user has no device that can authenticate (SPEC D5, K7).',
  },
  SLS_ERR_TRANSACTION_NOT_FOUND: { status: 404, message: 'This login is not known. Please log in again.', when: 'Unknown login transaction id.' },
  SLS_ERR_TRANSACTION_ENDED: {
    status: 409,
    message: 'This login has ended. Please log in again.',
    when:
      'SPEC L6: after 3 wrong responses, or once the login completed. SPEC D5, D7: also a portal confirmation (a withdrawal\'s, a sharing\'s, a device activation\'s) whose challenge ended because its device was taken out of use (set inactive, lost, returned, set aside by a sharing) or changed hands: ask for a new challenge; and a login whose challenge was on such a device when its client has no device drop-down (a trading platform older than 966, SPEC L3) or the device changed hands: log in again.',
  },
  SLS_ERR_TRANSACTION_EXPIRED: { status: 410, message: 'This login has expired. Please log in again.', when: 'The login transaction outlived its lifetime (5 minutes by default).' },
  SLS_ERR_DEVICE_NOT_AVAILABLE: {
    status: 409,
    message: 'This device cannot be used for this login.',
    when:
      'The chosen device is not one of the user\'s active devices for this client (SPEC D5, T1). SPEC D5, L5, L2: also a response, a resend or the IB Key status wait (GET /v1/login/:transactionId/status) of a login sent back to the device choice because the device of its challenge was taken out of use (set inactive, lost, returned, set aside by a sharing), even once that device is active again: GET /v1/login/:transactionId gives the drop-down, a device of the same kind preselected. And a portal confirmation answered on a device that can no longer confirm it.',
  },
  SLS_ERR_NO_CHALLENGE: { status: 409, message: 'Choose a second-factor device first.', when: 'A response or resend arrives before a device was chosen (SPEC L2).' },
  SLS_ERR_WRONG_RESPONSE: {
    status: 401,
    message: 'The response is not correct.',
    when: 'SPEC L6: `attemptsLeft` says how many wrong responses this login still allows; at 0 the login has ended.',
  },
  SLS_ERR_CHALLENGE_USED: {
    status: 409,
    message: 'This challenge was already used. Please log in again.',
    when: 'SPEC D2: a challenge or code is single-use and bound to its login; a replay is refused.',
  },
  SLS_ERR_RESEND_TOO_SOON: { status: 429, message: 'Please wait before asking for a new code.', when: 'SPEC L4: a new SMS code is available after a cool-down; `retryAt` says when.' },
  SLS_ERR_UNAUTHENTICATED: { status: 401, message: 'Please log in.', when: 'No bearer token, or an unknown one.' },
  SLS_ERR_SESSION_EXPIRED: { status: 401, message: 'Your session has expired. Please log in again.', when: 'The session outlived its lifetime, or was logged out.' },
  SLS_ERR_FORBIDDEN: { status: 403, message: 'This is not allowed for this user.', when: 'The user may not do this (e.g. not the primary user, SPEC O3).' },
  SLS_ERR_CONFLICT: { status: 409, message: 'This conflicts with the current state.', when: 'E.g. creating a user name that exists, activating a device twice.' },
  SLS_ERR_INTERNAL: { status: 500, message: 'Something went wrong on the server.', when: 'A bug: the details are in the server log, never in the answer.' },
  SLS_ERR_SERVICE_UNAVAILABLE: {
    status: 503,
    message: 'The login service is briefly unavailable. Try again in a moment.',
    when: 'slsd cannot reach its database (PostgreSQL down, restarting, refusing connections or unreachable; SQLite locked past its timeout, its disk full or failing). Nothing was changed; `retryAt` (and the Retry-After header) say when to try again. The reason is in the server log and in `GET /v1/ready`. Also (SPEC P5) when the configured SMS gateway did not take a text: no code was sent, nothing of it was kept or counted, and the message says so; `retryAt` says when to try again.',
  },
  SLS_ERR_CODE_EXPIRED: {
    status: 410,
    message: 'This code has expired. Ask for a new one.',
    when: 'An SMS code outlived its lifetime (a login code 5 minutes by default, a mobile number verification code 15 minutes from its delivery, SPEC P1); ask for a new one (resend, or the mobile number again).',
  },
  SLS_ERR_PORTAL_ONLY: {
    status: 403,
    message: 'This temporary passcode now opens only the Client Portal.',
    when: 'SPEC T1: after its 2 days of full access, a temporary passcode opens only the Client Portal, for 10 more days.',
  },
  SLS_ERR_TEMP_PASSCODE_IN_A_ROW: {
    status: 409,
    message: 'A temporary passcode cannot follow another one.',
    when: 'SPEC T1: `slsctl temp-passcode issue` refuses while the user\'s last access was a temporary passcode.',
  },
  SLS_ERR_IBKEY_PUSH_LIMIT: {
    status: 429,
    message: 'Too many login requests are waiting for IB Key approval. Answer them on your phone or wait until they expire.',
    when: 'SPEC L7: at most 3 pushes may wait for one user (push-bombing defence); a fourth login asking for a push is refused.',
  },
  SLS_ERR_IBKEY_NONCE_INVALID: { status: 401, message: 'This request is no longer valid. Please try again.', when: 'An IB Key request was signed over an unknown, used or expired nonce.' },
  SLS_ERR_IBKEY_SIGNATURE_INVALID: {
    status: 401,
    message: 'The IB Key signature is not valid for this request.',
    when: 'SPEC L7: wrong key, a signature made for another request or login, or a replay under another id.',
  },
  SLS_ERR_IBKEY_NOT_ACTIVE: {
    status: 401,
    message: 'IB Key is no longer active on this phone. Reactivate it or transfer it to this phone.',
    when: 'SPEC K4, K5: the key was replaced by a reactivation or a transfer to another phone, or the device was deactivated.',
  },
  SLS_ERR_IBKEY_REQUEST_ENDED: {
    status: 409,
    message: 'This login request was already answered or has ended.',
    when: 'SPEC L7: an approval is used once and only for its own login; a replay, an expired push or a push whose login moved on is refused.',
  },
  SLS_ERR_IBKEY_ACTIVATION_ENDED: {
    status: 409,
    message: 'This IB Key activation has ended. Please start again.',
    when: 'SPEC K1, L6: the activation was completed (its code is used once) or got 3 wrong codes; an unknown activation id gets the same answer.',
  },
  SLS_ERR_IBKEY_ACTIVATION_EXPIRED: {
    status: 410,
    message: 'This activation code has expired: a code is good for 10 minutes. Start again in the IB Key app to get a new code.',
    when: 'SPEC K1: the activation (its SMS code, or the other device\'s challenge, K6) is still unused but older than 10 minutes; the code typed is not judged. A code already checked right stays good for completion a few minutes longer (time to choose the PIN).',
  },
  SLS_ERR_IBKEY_NO_MOBILE: {
    status: 409,
    message: 'IB Key needs a mobile phone number on file, which the activation verifies. Please add your number first.',
    when: 'SPEC P3: a verified number is a prerequisite for IB Key; activating IB Key verifies it by SMS.',
  },
  SLS_ERR_IBKEY_RECOVERY_UNAVAILABLE: {
    status: 403,
    message: 'IB Key cannot be recovered without the phone number originally used or another active security device. Please contact client services (Secure Login department) for a temporary passcode.',
    when: 'SPEC K7: reactivation or transfer without the SMS number and without another active physical device (K6); an iOS recovery with a key this iPhone held before IB Key moved to another phone (K5: that key no longer proves the PIN originally set).',
  },
  SLS_ERR_SECOND_FACTOR_REQUIRED: {
    status: 403,
    message: 'Please log in to the Client Portal with your security device first.',
    when: 'SPEC C6, O1: portal functions need a session opened with a second factor; a trading-platform session without one (opted out, auto-restart) is refused.',
  },
  SLS_ERR_WITHDRAWAL_LIMIT: {
    status: 403,
    message: 'This withdrawal is above the limits of the confirming device.',
    when: 'SPEC W1, W2: the confirming device\'s daily or five-business-day limit would be passed; `limit`, `limitCents`, `deviceKind` (of the confirming device), `availableCents` and `useDevice` (a device of the user that would allow it) say more.',
  },
  SLS_ERR_IDEMPOTENCY_CONFLICT: {
    status: 409,
    message: 'This idempotency key was used for another withdrawal.',
    when: 'SPEC W4: the same key with a different body; a retry must send the same body.',
  },
  SLS_ERR_DSCPLUS_NOT_ELIGIBLE: {
    status: 403,
    message: 'The Digital Security Card+ is available to accounts with a balance of USD 500,000 or more.',
    when: 'SPEC D6: the account balance is below USD 500K; the message names the balance.',
  },
  SLS_ERR_DEVICE_NOT_ISSUED: {
    status: 409,
    message: 'This device is no longer issued.',
    when: 'SPEC D7: legacy kinds keep working but cannot be ordered or replaced by the same kind.',
  },
  SLS_ERR_LESS_SECURE_DEVICE: {
    status: 409,
    message: 'Less secure device: please identify the most secure device and share that one.',
    when: 'SPEC S1c, S6: a device of a higher security level exists among the two users.',
  },
  SLS_ERR_DIFFERENT_IDENTIFICATION: {
    status: 409,
    message: 'Different identification information: the identification data of the users involved do not match.',
    when: 'SPEC S1a, S6: different entities whose identification data differ.',
  },
  SLS_ERR_SHARING_TEMPORARY_DEVICE: {
    status: 409,
    message: 'A temporary security device is assigned to one of the users: devices cannot be shared now.',
    when: 'SPEC S1b: a temporary passcode or online Security Code Card is assigned.',
  },
  SLS_ERR_SHARING_IBKEY: {
    status: 409,
    message: 'IB Key is not shared this way: add the other user in the IB Key app (Authenticate, Add user).',
    when: 'SPEC S2, K3.',
  },
  SLS_ERR_DEVICE_NOT_SHAREABLE: {
    status: 409,
    message: 'Only physical security devices can be shared.',
    when: 'SPEC S2: SMS and temporary devices are never shared.',
  },
  SLS_ERR_NOT_PRIMARY_USER: {
    status: 403,
    message: "Only the account's primary user can change its security settings.",
    when: "SPEC A1, O3: the message and `primaryUser` name the user who can; when the user's accounts have different primary users, none of them alone can, and the message sends the user to client services.",
  },
  SLS_ERR_PHONE_INVALID: {
    status: 400,
    message: 'This is not a valid phone number.',
    when: 'SPEC P2: the number cannot be parsed or is not a valid number.',
  },
  SLS_ERR_PHONE_VOIP: {
    status: 400,
    message: 'Numbers of virtual (VoIP) providers cannot receive security codes.',
    when: 'SPEC P2: libphonenumber-js (max metadata) types the number as VOIP.',
  },
  SLS_ERR_PHONE_NOT_MOBILE: {
    status: 400,
    message: 'This is not a mobile number.',
    when: 'SPEC P2: a fixed line, toll-free, premium or other non-mobile number.',
  },
  SLS_ERR_PHONE_DO_NOT_CALL: {
    status: 409,
    message: 'This number is on a do-not-call list and cannot receive text messages.',
    when: 'SPEC P2: the number is on the do-not-call list kept with `slsctl dnc`.',
  },
  SLS_ERR_SMS_CARRIER_HOURS: {
    status: 409,
    message: 'A text message cannot be delivered to this number at this hour (carrier hours). Use another device, or try again later.',
    when: 'SPEC P2: outside 08:00–21:00 in the number\'s country a login code, resend or IB Key activation code would arrive too late to be used, so it is not sent; `retryAt` says when texts are delivered again.',
  },
  SLS_ERR_SMS_LIMIT: {
    status: 429,
    message: 'Too many text messages were sent lately. Try again later.',
    when: 'SPEC L4, P1: the number had its budget of SMS for the last hour (SLS_SMS_BUDGET_PER_HOUR, server/sms/policy.ts), or the user had 10 number verification codes in 24 hours; the message says which, `retryAt` says when. Nothing was sent or stored.',
  },
  SLS_ERR_MOBILE_CODE_ENDED: {
    status: 409,
    message: 'This code has ended after 3 wrong codes. Ask for a new code.',
    when: 'SPEC P1, L6: a mobile number verification code allows 3 wrong codes; the third ends it, and any code typed after that, right or wrong, is refused. Each wrong code is also a failure of the user (10 lock). A new code can be asked after the cool-down.',
  },
  SLS_ERR_RESTART_TOKEN_INVALID: {
    status: 401,
    message: 'This restart token is not valid. Please log in.',
    when: 'SPEC L8: unknown, used, revoked, or past the weekly cut-off (Sunday 01:00 New York time).',
  },
} as const satisfies Record<ErrorCode, ErrorDefinition>;

export type ErrorExtra = Omit<ErrorBody['error'], 'code' | 'message'> & {
  /** Replaces the registry's message (e.g. an operator CLI explaining what is wrong); must be safe. */
  message?: string;
};

/** A coded error: thrown by services, turned into an HTTP answer by the app's error handler. */
export class SlsError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly extra: ErrorExtra;

  constructor(code: ErrorCode, extra: ErrorExtra = {}) {
    const def: ErrorDefinition = ERROR_REGISTRY[code];
    super(extra.message ?? def.message);
    this.name = 'SlsError';
    this.code = code;
    this.status = def.status;
    this.extra = extra;
  }

  toBody(): ErrorBody {
    const { message: _m, ...rest } = this.extra;
    return { error: { code: this.code, message: this.message, ...rest } };
  }
}

export function isSlsError(e: unknown): e is SlsError {
  return e instanceof SlsError;
}

/** The Markdown page `docs/errors.md`, generated from the registry. */
export function renderErrorsMarkdown(): string {
  const lines = [
    '# slsd error codes',
    '',
    '<!-- Generated from server/errors.ts by `npm run docs:errors`; do not edit by hand. -->',
    '',
    'Every error answer has the body `{ "error": { "code", "message", … } }`. The message is safe to show;',
    'clients choose their screen by `code`. Extra fields: `attemptsLeft`, `lockedUntil`, `retryAt`, `issues`.',
    '',
    'The codes SLS Desktop raises itself (slsd never sends them), with what the user reads and what client',
    'services do: [host-errors.md](host-errors.md).',
    '',
    '| code | HTTP status | message | when |',
    '|---|---|---|---|',
  ];
  for (const [code, def] of Object.entries(ERROR_REGISTRY) as [ErrorCode, ErrorDefinition][]) {
    lines.push(`| \`${code}\` | ${def.status} | ${def.message} | ${def.when.replace(/\|/g, '\\|')} |`);
  }
  return lines.join('\n') + '\n';
}
