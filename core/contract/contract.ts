/**
 * The renderer↔host contract: every call with zod schemas for its input and output, every event.
 *
 * The host validates each input before it touches a service and parses each output before it
 * leaves, so the renderer gets exactly these shapes and nothing more (SPEC C3). In particular the
 * session token never crosses: `SessionView` omits it and zod strips unknown keys on parse.
 * Modelled on GitHub Desktop's `ipc-shared.ts`: one map from channel to signature, typed wrappers
 * on each side.
 */
import { z } from 'zod';
import { Challenge, DeviceSummary, SessionInfo } from '../api.ts';
import {
  AmountCents,
  ConfirmationChallenge,
  DeviceOrder,
  DeviceReportResponse,
  DevicesOverview,
  DeviceView as AccountDeviceView,
  MobileNumberStatus,
  MobileNumberVerifyResponse,
  OnlineCard,
  OptOutStatus,
  SharingList,
  SharingStartResponse,
  SharingView,
  WithdrawalOverview,
  WithdrawalResponse,
} from '../account-api.ts';
import type { CallName, EventName } from './names.ts';

const Empty = z.object({}).strict();
const Ok = z.object({ ok: z.literal(true) });
/**
 * An id slsd gave (`prefix_base64url`): letters, digits, `_` and `-` only. The host puts ids into slsd
 * routes as path segments, where `.` and `..` would be resolved away (SPEC C3): refused here, at the
 * contract, whatever the transport (IPC or the browser host's WebSocket).
 */
const Id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'Not an id.');

/** A device in the drop-down; `connected` is true while its DSC+ is plugged in (SPEC C2). */
export const DeviceView = DeviceSummary.extend({ connected: z.boolean() });
export type DeviceView = z.infer<typeof DeviceView>;

/**
 * Auto-restart (SPEC L8) as the signed-in screen shows it (UI.md 7): on until the weekly cut-off,
 * Sunday 01:00 New York time, or off and why. The restart token itself stays in the host and the OS
 * keychain (C3); only this state crosses.
 * - `no_keychain`: no OS keychain answers on this computer (SLS_ERR_KEYCHAIN), so nothing can be kept.
 * - `keychain_refused`: a keychain answers, but it refused to store the restart token (locked since,
 *   its unlock prompt dismissed, its service gone or its module failing): after a sign-in, or after an
 *   auto-restart that signed in but could not keep the next token. The next start is a login.
 * - `not_for_this_login`: only a full trading-platform login with a second factor gets one (not an
 *   opted-out login without one, not a Client Portal or portal-only session), or slsd refused it.
 * - `not_set_up`: slsd could not be reached for it, or it took too long (a keychain waiting to be unlocked).
 * - `revoked`: it was on, and slsd said the token no longer works before its cut-off (`slsctl restart
 *   revoke`, a device reported or set aside, another copy of the token used); the host removed it from the keychain.
 * - `expired`: it was on, and the weekly cut-off has passed.
 * - `devices`: it was on, and slsd said a restart would be refused now, as a trading-platform login
 *   would (L8 × T1, D5: a temporary passcode's full access is over, no usable device is left); the
 *   host removed it from the keychain (that restart would revoke it), and the next start is a login.
 */
export const AUTO_RESTART_OFF_REASONS = ['no_keychain', 'keychain_refused', 'not_for_this_login', 'not_set_up', 'revoked', 'expired', 'devices'] as const;
export const AutoRestartView = z.discriminatedUnion('state', [
  z.object({ state: z.literal('on'), /** The weekly cut-off (ISO): no restart after it. */ until: z.string() }),
  z.object({ state: z.literal('off'), reason: z.enum(AUTO_RESTART_OFF_REASONS) }),
]);
export type AutoRestartView = z.infer<typeof AutoRestartView>;

/**
 * SPEC L8: an auto-restart this start tried that did not sign in, and why, for one line on the
 * login form (the trader would otherwise see a plain form and wonder). Never the token (C3).
 * - `refused`: slsd refused the token (used by another copy, revoked, past slsd's cut-off); the host removed it.
 * - `expired`: kept past the weekly cut-off, Sunday 01:00 New York time; the host removed it without asking slsd.
 * - `locked`: the user is locked (L6) until `lockedUntil`.
 * - `devices`: no device of the user may sign in to trading now (SLS_ERR_NO_ACTIVE_DEVICE, SLS_ERR_PORTAL_ONLY: L8 × T1, D5).
 * - `unavailable`: slsd out of reach, briefly unavailable or this address throttled: nothing was judged,
 *   the token stays in the keychain and the next start tries again.
 */
export const AUTO_RESTART_FAILURES = ['refused', 'expired', 'locked', 'devices', 'unavailable'] as const;
export const AutoRestartAttempt = z.object({ outcome: z.enum(AUTO_RESTART_FAILURES), lockedUntil: z.string().optional() });
export type AutoRestartAttempt = z.infer<typeof AutoRestartAttempt>;

/** What the renderer knows of a session: everything of slsd's SessionInfo except the token, and the host's auto-restart state. */
export const SessionView = SessionInfo.omit({ token: true }).extend({ autoRestart: AutoRestartView }).strip();
export type SessionView = z.infer<typeof SessionView>;

/**
 * The login a step answers (SPEC L6, C5, C3): an id the host gives each login attempt (a login, a
 * Client Portal login), random, never slsd's transaction id, which stays in the host. Every step the
 * renderer sends names the login whose screen it shows; the host refuses one that names another than
 * its current login (SLS_ERR_LOGIN_NOT_CURRENT) before anything goes to slsd, so a response typed on a
 * screen left from an earlier login (a second window, a page not yet updated) never counts as a wrong
 * response of a newer login (L6: 3 end a login, failures lock the user).
 */
export const LoginId = Id;

/**
 * The step the login is at (SPEC L1–L5); the host keeps the transaction id. `loginId`: the login this
 * step is of, for the steps that follow (`LoginId`). `expiresAt`: the end of the login's own time
 * limit, on this computer's clock (the host allows for slsd's clock being off).
 */
export const LoginStepView = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('select_device'),
    loginId: LoginId,
    expiresAt: z.string(),
    devices: z.array(DeviceView),
    preselectedDeviceId: Id,
  }),
  z.object({
    status: z.literal('challenge'),
    loginId: LoginId,
    expiresAt: z.string(),
    devices: z.array(DeviceView),
    challenge: Challenge,
  }),
  z.object({ status: z.literal('signed_in'), session: SessionView }),
]);
export type LoginStepView = z.infer<typeof LoginStepView>;

/** Where an IB Key notification stands (SPEC L4, L7): still waiting, expired unanswered, or approved. */
export const ApprovalView = z.discriminatedUnion('status', [
  z.object({ status: z.literal('waiting'), pushExpiresAt: z.string() }),
  z.object({ status: z.literal('push_expired') }),
  z.object({ status: z.literal('signed_in'), session: SessionView }),
]);
export type ApprovalView = z.infer<typeof ApprovalView>;

export const Theme = z.enum(['dark', 'light']);
export type Theme = z.infer<typeof Theme>;

/** The client's languages (UI.md "More: language"); null in settings means the system's language. */
export const LANGUAGES = ['en', 'de', 'fr'] as const;
export const Language = z.enum(LANGUAGES);
export type Language = z.infer<typeof Language>;

/** Settings the renderer may read: never secrets (SPEC C3). */
export const SettingsView = z.object({
  serverAddress: z.string(),
  rememberUsername: z.boolean(),
  /** Only kept while "Remember username" is ticked. */
  lastUsername: z.string().nullable(),
  theme: Theme,
  /** Chosen in the More menu; null: the system's language when the client has it, else English. */
  language: Language.nullable(),
});
export type SettingsView = z.infer<typeof SettingsView>;

/** A server address as typed: `https://sls.example.com`, `http://127.0.0.1:8700`, or a bare host. */
export const ServerAddressInput = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^(https?:\/\/)?[A-Za-z0-9.[\]:-]+(:\d{1,5})?\/?$/, 'Enter a host name or an http(s) address');

export const LoginInput = z.object({
  username: z.string().trim().min(1).max(64),
  password: z.string().min(1).max(256),
  rememberUsername: z.boolean(),
}).strict();

export const SelectDeviceInput = z.object({
  /** The login whose drop-down (or challenge) the renderer shows (SPEC L5, L6, C5). */
  loginId: LoginId,
  deviceId: Id,
  /** IB Key: challenge/response instead of a notification ("Didn't receive the notification?"). */
  mode: z.enum(['default', 'offline']).default('default'),
}).strict();

/**
 * SPEC C6, O1, L8: the Client Portal login of the signed-in user (the step-up before Account
 * security): the password only; the user is the session's, never the renderer's choice.
 */
export const PortalLoginInput = z.object({ password: z.string().min(1).max(256) }).strict();

/** SPEC L6: the response answers the challenge of this login only; never another login's. */
export const RespondInput = z.object({ loginId: LoginId, response: z.string().trim().min(1).max(64) }).strict();

/** A step with nothing but the login it is for (SPEC L4, L6, L7, C5): a new code, Cancel. */
export const LoginStepInput = z.object({ loginId: LoginId }).strict();

export const SetSettingsInput = z.object({
  serverAddress: ServerAddressInput.optional(),
  rememberUsername: z.boolean().optional(),
  theme: Theme.optional(),
  language: Language.nullable().optional(),
}).strict();

export const ResetAppDataResult = z.object({
  settingsCleared: z.literal(true),
  /** False where no OS keychain is reachable (no Secret Service); nothing could be stored there then. */
  keychainAvailable: z.boolean(),
  keychainEntriesRemoved: z.number().int().nonnegative(),
});
export type ResetAppDataResult = z.infer<typeof ResetAppDataResult>;

export const AppInfo = z.object({
  name: z.string(),
  version: z.string(),
  /** The trading-platform build number slsd sees (SPEC L3: 966 and newer get the drop-down). */
  build: z.number().int(),
  host: z.enum(['electron', 'browser']),
  platform: z.string(),
});
export type AppInfo = z.infer<typeof AppInfo>;

/**
 * The online Security Code Card as a file the host offers (SPEC T1, T2): a same-origin address the
 * browser host serves for a few minutes (download or print), or the path where the Electron host
 * saved it. The session token never reaches the renderer.
 */
export const OfferedFile = z.object({
  fileName: z.string(),
  /** Browser host: a one-time-secret, same-origin address of the PDF (opens in the PDF viewer; `download` saves it). */
  url: z.string().nullable(),
  /** Electron host: where the PDF was saved. */
  savedTo: z.string().nullable(),
  validUntil: z.string(),
});
export type OfferedFile = z.infer<typeof OfferedFile>;

/** Every call: input and output schema. */
export const CALLS = {
  login: { input: LoginInput, output: LoginStepView },
  // The login's steps name the login they answer (`LoginId`, SPEC L6, C5): the host refuses a step of a
  // login that is not its current one with SLS_ERR_LOGIN_NOT_CURRENT, and sends nothing to slsd.
  selectDevice: { input: SelectDeviceInput, output: LoginStepView },
  respond: { input: RespondInput, output: LoginStepView },
  /**
   * One long-poll (about 25 s) for the outcome of an IB Key notification or a plugged-in card's answer;
   * denial and wrong number reject with coded errors. `quick` asks without waiting (after slsd was
   * briefly unavailable: is it back?).
   */
  waitForApproval: { input: LoginStepInput.extend({ quick: z.boolean().optional() }).strict(), output: ApprovalView },
  resendCode: { input: LoginStepInput, output: LoginStepView },
  /** Ends the login named (SPEC L7, C5); a login no longer in progress is ended already. Never another login. */
  cancelLogin: { input: LoginStepInput, output: Ok },
  getSession: { input: Empty, output: SessionView.nullable() },
  /** SPEC L8: after `getSession` answered null at the start, why the auto-restart it tried did not sign in; null when none was tried, or after a login. */
  getAutoRestartAttempt: { input: Empty, output: AutoRestartAttempt.nullable() },
  signOut: { input: Empty, output: Ok },
  getSettings: { input: Empty, output: SettingsView },
  setSettings: { input: SetSettingsInput, output: SettingsView },
  resetAppData: { input: Empty, output: ResetAppDataResult },
  getAppInfo: { input: Empty, output: AppInfo },
  /** SPEC C2: the serials of the DSC+ cards plugged in now (then `dscplusAttached`/`dscplusDetached` follow them). */
  getConnectedCards: { input: Empty, output: z.object({ serials: z.array(z.string()) }) },
  /**
   * SPEC C6, O1, O3, L8: log in to the Client Portal as the signed-in user, for the Account screens,
   * when the trading session had no second factor (opted out, auto-restart). The steps that follow
   * are the login's (selectDevice, respond, waitForApproval, resendCode, cancelLogin), naming its
   * `loginId` as a login's do (SPEC L6, C5); once signed in,
   * the host keeps that session in memory for the account calls, and the trading session stays.
   */
  portalLogin: { input: PortalLoginInput, output: LoginStepView },
  /** The Client Portal session the host holds for the Account screens (SPEC C6), or null: then the screens ask to verify. */
  getPortalSession: { input: Empty, output: SessionView.nullable() },
  // Account security (SPEC C1, C6, W1–W4, D6, O1–O3, S1–S6, P1–P5): the host adds the session token
  // and, for withdrawals, the idempotency key (one per confirmation, reused on retries, W4).
  getWithdrawals: { input: Empty, output: WithdrawalOverview },
  startWithdrawal: { input: z.object({ deviceId: Id, amountCents: AmountCents }).strict(), output: ConfirmationChallenge },
  confirmWithdrawal: { input: z.object({ confirmationId: Id, amountCents: AmountCents, response: z.string().trim().min(1).max(64) }).strict(), output: WithdrawalResponse },
  getDevices: { input: Empty, output: DevicesOverview },
  orderDscPlus: { input: Empty, output: DeviceOrder },
  getOptOut: { input: Empty, output: OptOutStatus },
  optOut: { input: Empty, output: OptOutStatus },
  optIn: { input: Empty, output: OptOutStatus },
  startSharing: { input: z.object({ ownerUsername: z.string().trim().min(1).max(64), ownerPassword: z.string().min(1).max(256) }).strict(), output: SharingStartResponse },
  answerSharing: { input: z.object({ requestId: Id, confirmationId: Id, response: z.string().trim().min(1).max(64) }).strict(), output: SharingView },
  submitSharing: { input: z.object({ requestId: Id }).strict(), output: SharingView },
  /** SPEC S3, S5: the user's sharing requests, as requester or as the device's owner, most recent first. */
  getSharings: { input: Empty, output: SharingList },
  /** SPEC S5: end a sharing (or withdraw a request): the requester's own devices are active again. */
  cancelSharing: { input: z.object({ requestId: Id }).strict(), output: SharingView },
  /** SPEC S3, C2: the owner's DSC+, plugged in where the requester signs in, answers the sharing challenge (PIN on the card, H2). */
  answerSharingOnCard: { input: z.object({ requestId: Id, confirmationId: Id }).strict(), output: SharingView },
  getMobileNumber: { input: Empty, output: MobileNumberStatus },
  setMobileNumber: { input: z.object({ number: z.string().trim().min(3).max(40) }).strict(), output: MobileNumberStatus },
  verifyMobileNumber: { input: z.object({ code: z.string().trim().min(1).max(16) }).strict(), output: MobileNumberVerifyResponse },
  startDeviceActivation: { input: z.object({ serial: z.string().trim().min(4).max(32) }).strict(), output: ConfirmationChallenge },
  completeDeviceActivation: { input: z.object({ confirmationId: Id, response: z.string().trim().min(1).max(64) }).strict(), output: AccountDeviceView },
  /** SPEC D6, C2: a DSC+ being activated answers its challenge itself when plugged in (PIN on the card, H2). */
  completeDeviceActivationOnCard: { input: z.object({ confirmationId: Id }).strict(), output: AccountDeviceView },
  reportDevice: { input: z.object({ deviceId: Id, reason: z.enum(['lost', 'broken']), replace: z.boolean() }).strict(), output: DeviceReportResponse },
  returnDevice: { input: z.object({ deviceId: Id }).strict(), output: AccountDeviceView },
  cancelDeviceOrder: { input: z.object({ orderId: Id }).strict(), output: DeviceOrder },
  getOnlineCard: { input: Empty, output: OnlineCard },
  downloadOnlineCard: { input: Empty, output: OfferedFile },
  /**
   * A plugged-in DSC+ answers the withdrawal's challenge (SPEC C2, H2, W1): the host sends it to the
   * card, the user types the PIN on the card (progress as `dscplusStatus` events), and the response
   * goes from the host to slsd, never to the renderer. SLS_ERR_DSCPLUS_* when the card cannot answer:
   * the user types the response instead.
   */
  confirmWithdrawalOnCard: { input: z.object({ confirmationId: Id, amountCents: AmountCents }).strict(), output: WithdrawalResponse },
  /** Stop the card answering a confirmation ("Type the response instead"): CANCEL to the card. */
  cancelCardConfirmation: { input: Empty, output: Ok },
} as const satisfies Record<CallName, { input: z.ZodType; output: z.ZodType }>;

export type CallInput<N extends CallName> = z.input<(typeof CALLS)[N]['input']>;
export type CallOutput<N extends CallName> = z.output<(typeof CALLS)[N]['output']>;

/** What the DSC+ over USB is doing (SPEC C2, H2); filled by the DSC+ integration. */
export const DscPlusStatus = z.object({
  serial: z.string(),
  state: z.enum(['sending_challenge', 'waiting_for_pin', 'wrong_pin', 'response_received', 'failed', 'cancelled']),
  pinTriesLeft: z.number().int().nonnegative().optional(),
  /**
   * While the card waits for the PIN: when it stops waiting (the RESPOND's timeout, 60 s by default;
   * SPEC C2, H2), by this computer's clock, which host and renderer share. The screen counts down to it.
   */
  pinTimeoutAt: z.string().optional(),
  message: z.string().optional(),
});
export type DscPlusStatus = z.infer<typeof DscPlusStatus>;

export const EVENTS = {
  dscplusAttached: z.object({ serial: z.string() }),
  dscplusDetached: z.object({ serial: z.string() }),
  dscplusStatus: DscPlusStatus,
  /**
   * The host dropped the session (SPEC C1, C5): signed out, or ended by slsd or by its expiry time.
   * `expiresAt` is set when it was the session's lifetime that ran out, so the login form can say when.
   */
  sessionEnded: z.object({ reason: z.enum(['signed_out', 'expired']), expiresAt: z.string().optional() }),
  /**
   * SPEC L8: what the signed-in screen says of auto-restart changed while signed in: slsd said the
   * held session's restart token no longer works (revoked, past the cut-off, or a restart would be
   * refused now: L8 × T1, D5), so it is off, and why.
   */
  autoRestartChanged: AutoRestartView,
} as const satisfies Record<EventName, z.ZodType>;

export type EventPayload<E extends EventName> = z.output<(typeof EVENTS)[E]>;

/** A call whose input may be `{}` can be made without an argument. */
type Args<N extends CallName> = Record<never, never> extends CallInput<N> ? [input?: CallInput<N>] : [input: CallInput<N>];

/**
 * The renderer's view of the host: `window.sls` in Electron, a WebSocket client in the browser host.
 *
 * Every method resolves with the output or rejects with a `ContractError` carrying a ClientError.
 */
export type SlsApi = { [N in CallName]: (...args: Args<N>) => Promise<CallOutput<N>> } & {
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
};
