/**
 * Typed errors the renderer receives, mapped from slsd's codes plus the host's own.
 *
 * The renderer shows every error with what to do and until when (SPEC L6, C5), so each carries a
 * code it can switch on; none carries a secret (no token, no password, no response typed).
 */
import { z } from 'zod';
import { LoginStepView } from './contract.ts';

/**
 * Codes raised by the host itself (or by the window's own transport), never by slsd. Each is
 * documented for client services in docs/host-errors.md, generated from scripts/host-errors-doc.ts
 * (`npm run docs:errors`); its test fails for a code raised anywhere in the desktop that is neither
 * slsd's (core/api.ts `ERROR_CODES`) nor listed here.
 */
export const HOST_ERROR_CODES = [
  /** slsd could not be reached (network, DNS, refused, timeout). */
  'SLS_ERR_SERVER_UNREACHABLE',
  /** slsd answered something that is not the v1 API (wrong address, proxy page, version skew). */
  'SLS_ERR_BAD_SERVER_RESPONSE',
  /** SPEC C1, C3: the server address is plain http to another computer (electron/release/build-config.ts `checkServerAddress`). */
  'SLS_ERR_SERVER_ADDRESS_INSECURE',
  /** The server address is not an http(s) URL, or carries a user name, password, query or fragment. */
  'SLS_ERR_SERVER_ADDRESS_INVALID',
  /** The renderer sent input that does not match the contract. */
  'SLS_ERR_INVALID_INPUT',
  /**
   * SPEC C3: another server address was chosen while a session (or the step-up's Client Portal session,
   * C6) is held, maybe in another window; its bearer token must never go to that server. Not an invalid
   * address: the renderer says to sign out first, never "the server address is not valid".
   */
  'SLS_ERR_SIGN_OUT_FIRST',
  /** selectDevice/respond/resend without a login in progress (e.g. after a restart). */
  'SLS_ERR_NO_LOGIN_IN_PROGRESS',
  /**
   * SPEC L6, C5: a login step (selectDevice, respond, waitForApproval, resendCode, cancelLogin) named a
   * login that is not the host's current one: a newer login was started meanwhile (in another window,
   * or after a page reload). Nothing was sent to slsd, so nothing counted against the newer login; the
   * renderer reads the current state again.
   */
  'SLS_ERR_LOGIN_NOT_CURRENT',
  /** The call came from a frame the host does not trust (Electron sender check). */
  'SLS_ERR_UNTRUSTED_SENDER',
  /** The OS keychain refused (Secret Service missing or locked). */
  'SLS_ERR_KEYCHAIN',
  /** IB Key: the request was denied in the app (SPEC L7); the login has ended. */
  'SLS_ERR_PUSH_DENIED',
  /** IB Key: the number chosen in the app was not the one on the screen (SPEC L7); the login has ended. */
  'SLS_ERR_PUSH_WRONG_NUMBER',
  /**
   * A plugged-in DSC+ could not answer its challenge by itself (SPEC C2, H2; electron/host/dscplus-login.ts
   * `DSCPLUS_ERROR_CODES`): unplugged, blocked after 3 wrong PINs, cancelled on the card, no PIN in
   * time, or any other failure. The window shows the card's line instead of an error, and lets the user
   * type the response (a blocked card: choose another device).
   */
  'SLS_ERR_DSCPLUS_DISCONNECTED',
  'SLS_ERR_DSCPLUS_BLOCKED',
  'SLS_ERR_DSCPLUS_CANCELLED',
  'SLS_ERR_DSCPLUS_TIMEOUT',
  'SLS_ERR_DSCPLUS_FAILED',
  /** The renderer lost its connection to the host (browser host stopped). */
  'SLS_ERR_HOST_DISCONNECTED',
  /** Anything unexpected inside the host; details go to the host's log, not to the renderer. */
  'SLS_ERR_HOST_INTERNAL',
] as const;
export type HostErrorCode = (typeof HOST_ERROR_CODES)[number];

export const ClientErrorSchema = z.object({
  code: z.string().regex(/^SLS_ERR_[A-Z_]+$/),
  message: z.string().max(500),
  attemptsLeft: z.number().int().nonnegative().optional(),
  lockedUntil: z.string().optional(),
  retryAt: z.string().optional(),
  /** Field-level problems (SLS_ERR_VALIDATION / SLS_ERR_INVALID_INPUT); paths only, never values. */
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  /** SLS_ERR_WITHDRAWAL_LIMIT (SPEC W2), for the client's own words: the limit passed, of which device, what is left, a device that would allow it. */
  withdrawalLimit: z
    .object({
      limit: z.enum(['per_day', 'five_business_days']),
      limitCents: z.number().int().nonnegative(),
      availableCents: z.number().int().nonnegative(),
      deviceKind: z.string().max(32),
      useDeviceLabel: z.string().max(200).optional(),
      /** That device's id, so the client can choose it for the user (SPEC W2); only ever one of the user's usable devices. */
      useDeviceId: z.string().max(64).optional(),
    })
    .optional(),
  /** SLS_ERR_NOT_PRIMARY_USER (SPEC O3): who may change the account's security settings. */
  primaryUser: z.object({ username: z.string().max(64), displayName: z.string().max(200) }).optional(),
  /**
   * SLS_ERR_DEVICE_NOT_AVAILABLE for a step of the login (SPEC L2, L5): the step the login is at now,
   * which the host read again from slsd, with the devices the user has now (an IB Key moved to another
   * phone is a new device). The renderer shows it, with the error. Never a signed-in step.
   */
  loginStep: LoginStepView.optional(),
});
export type ClientError = z.infer<typeof ClientErrorSchema>;

/** The envelope every call resolves to: errors cross IPC and WebSocket as data, not exceptions. */
export type CallResult<T> = { ok: true; value: T } | { ok: false; error: ClientError };
