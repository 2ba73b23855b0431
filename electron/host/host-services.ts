/**
 * The host's services: the login flow, session, settings and Reset app data, behind the contract.
 *
 * Plain Node, no `electron` import: the Electron main process and the browser host run this same
 * code. The host keeps the login transaction id and the session token; the renderer only ever gets
 * the views of core/contract (SPEC C3).
 *
 * Two sessions may be held (SPEC C6): the trading session of the desktop's login, and, after the
 * step-up of the Account screens, a Client Portal session of the same user, opened with a second
 * factor. The portal session lives in this process's memory only (never a settings file, the
 * keychain, a log or the renderer); while it lasts it carries the account calls.
 */
import type { Challenge, DeviceSummary, LoginStep, SessionInfo } from '../../core/api.ts';
import type { AppInfo, AutoRestartAttempt, AutoRestartView, CALLS, CallName, CallOutput, DeviceView, SessionView, SettingsView } from '../../core/contract/index.ts';
import { endsLogin, endsSession, LoginStepView } from '../../core/contract/index.ts';
import { normalizeUsername } from '../../core/username.ts';
import type { Keychain } from '../../native/keychain.ts';
import type { SettingsStore, StoredSettings } from '../../native/settings.ts';
import type { DscPlusService } from './dscplus-service.ts';
import type { EventHub } from './events.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  ConfirmationChallenge,
  ConfirmationChallenge as ActivationChallenge,
  type ConfirmationChallenge as ConfirmationChallengeValue,
  DeviceOrder,
  DeviceReportResponse,
  DevicesOverview,
  DeviceView as AccountDeviceView,
  MobileNumberStatus,
  MobileNumberVerifyResponse,
  OnlineCard,
  OnlineCardPdf,
  OptOutStatus,
  RestartGrant,
  RestartTokenStatus,
  SharingList,
  SharingStartResponse,
  SharingView,
  WithdrawalOverview,
  WithdrawalResponse,
} from '../../core/account-api.ts';
import { DeviceNotFoundError } from '../../native/errors.ts';
import { DSCPLUS_ERROR_CODES, dscPlusClientError } from './dscplus-login.ts';
import { assertSecureServerAddress, SlsdError, STATUS_WAIT_SECONDS } from './slsd-client.ts';
import type { LoginStatus, SlsdClient } from './slsd-client.ts';
import { CLIENT_BUILD, clientName } from './app-info.ts';

/** Services receive the input after zod parsing (trimmed, defaults applied). */
export type ParsedInput<N extends CallName> = z.output<(typeof CALLS)[N]['input']>;

export type HostServices = { [N in CallName]: (input: ParsedInput<N>) => Promise<CallOutput<N>> } & {
  close(): Promise<void>;
};

export interface HostServiceDeps {
  slsd: SlsdClient;
  settings: SettingsStore;
  keychain: Keychain;
  dscplus: DscPlusService;
  events: EventHub;
  appInfo: AppInfo;
  /** Host log: codes and ids only, never tokens, passwords or responses. */
  log?: (line: string) => void;
  /** Extra caches to clear on Reset app data (Electron: the session's storage and HTTP cache). */
  clearCaches?: () => Promise<void>;
  /**
   * Offers a file to the user (the online Security Code Card PDF, SPEC T1, T2): the browser host
   * serves it at a short-lived same-origin address, Electron saves it to the Downloads folder.
   */
  offerFile?: OfferFile;
  /** Wall clock and timers for the session's expiry (SPEC C1, C5); tests pass a fake one. */
  clock?: HostClock;
}

/**
 * The host's wall clock and timers.
 *
 * Expiry is computed from the absolute `expiresAt` against `now()` on every check: a timer armed
 * before a sleep fires late (timers count awake time), so it is never trusted to mean "expired".
 */
export interface HostClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The longest the host waits between two looks at the session's expiry, so a wake from sleep is noticed soon. */
export const SESSION_RECHECK_MS = 30_000;

/**
 * How often, while the signed-in screen says auto-restart is on, the host asks slsd whether the
 * session's restart token still works (SPEC L8): an operator's `slsctl restart revoke` shows as "off"
 * within this long, and the token leaves the keychain. Looked at on the expiry watch's ticks.
 */
export const RESTART_RECHECK_MS = 5 * 60_000;

const systemClock: HostClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** A file for the user: where the renderer finds it. Never carries the session token. */
export type OfferFile = (file: { name: string; type: string; bytes: Uint8Array }) => Promise<{ url: string } | { savedTo: string }>;

interface LoginInProgress {
  /**
   * The login attempt this step belongs to (`attempt` in createHostServices): the same for every step
   * of one login, from its password to its last second factor; a new login is a new attempt.
   */
  attempt: number;
  /**
   * The id the renderer names this login by in its steps (`LoginId` of core/contract, SPEC L6, C5):
   * the attempt's, the same for every step of it. Not the transaction id, which stays here (C3).
   */
  loginId: string;
  transactionId: string;
  username: string;
  /** SPEC C6: the Client Portal login of the signed-in user (the step-up for the Account screens), not a sign-in. */
  portal: boolean;
  /**
   * The slsd this login lives on (SPEC C3): its transaction id means nothing to another server. When
   * the server address changes, the login is ended there (setSettings), never continued elsewhere.
   */
  server: string;
}

interface HeldSession {
  token: string;
  info: Omit<SessionInfo, 'token'>;
  /** SPEC L8: whether this session's app can auto-restart, and until when; the token itself stays in the keychain. */
  restart: AutoRestartView;
  /**
   * The restart token this session put in the keychain, if any: what `checkRestart` removes when slsd
   * says it no longer works, and only while the keychain still holds that one (another copy of the app
   * may have restarted with it and put the next one there). Host memory only, never the renderer.
   */
  restartToken?: string;
}

/** What the renderer gets of a held session: never its token, never the restart token (SPEC C3). */
function sessionView(held: HeldSession, info: HeldSession['info'] = held.info): SessionView {
  return { ...info, autoRestart: held.restart };
}

/** `text` parsed as JSON, or undefined when it is not JSON. */
function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** SPEC L8: answers to a restart that say nothing about its token (it was not used): the token stays in the keychain. */
const RESTART_NOT_JUDGED: ReadonlySet<string> = new Set(['SLS_ERR_SERVER_UNREACHABLE', 'SLS_ERR_SERVICE_UNAVAILABLE', 'SLS_ERR_RATE_LIMITED']);

/** SPEC L8: why a restart slsd answered with this error did not sign in, as the login form says it (never the token). */
function restartFailure(error: SlsdError['error']): AutoRestartAttempt {
  if (RESTART_NOT_JUDGED.has(error.code)) return { outcome: 'unavailable' };
  switch (error.code) {
    case 'SLS_ERR_USER_LOCKED':
      return { outcome: 'locked', ...(error.lockedUntil ? { lockedUntil: error.lockedUntil } : {}) };
    case 'SLS_ERR_NO_ACTIVE_DEVICE':
    case 'SLS_ERR_PORTAL_ONLY':
      return { outcome: 'devices' };
    default:
      return { outcome: 'refused' };
  }
}

/** SPEC L8: no restart token for this session (no second factor, a Client Portal or portal-only session, or slsd said no). */
const RESTART_NOT_FOR_THIS_LOGIN: AutoRestartView = { state: 'off', reason: 'not_for_this_login' };
/** SPEC L8: slsd could not be asked, or setting it up took longer than a sign-in waits. */
const RESTART_NOT_SET_UP: AutoRestartView = { state: 'off', reason: 'not_set_up' };
/**
 * SPEC L8, C3: a keychain answers, but refused to store the restart token (after a sign-in, or the next
 * token after an auto-restart); not `no_keychain`, which is for a computer without one.
 */
const RESTART_KEYCHAIN_REFUSED: AutoRestartView = { state: 'off', reason: 'keychain_refused' };

/**
 * How long the last login step waits for auto-restart to be set up (SPEC L8: the token from slsd, then
 * into the keychain) before it answers "off" without it. An OS keychain that asks to be unlocked can
 * take that long; a token stored later is forgotten, so what the signed-in screen said stays true.
 */
export const RESTART_SETUP_WAIT_MS = 10_000;

/** `https://` in front of a bare host name; no trailing slash. */
export function normalizeServerAddress(typed: string): string {
  const t = typed.trim().replace(/\/+$/, '');
  return /^https?:\/\//i.test(t) ? t : `https://${t}`;
}

/**
 * SPEC C1, C3: a server address the user types is used only if passwords, codes and session tokens
 * would travel encrypted (slsd-client.ts `assertSecureServerAddress`). Refused with a coded error, and
 * nothing saved.
 */
export function checkedServerAddress(typed: string): string {
  const address = normalizeServerAddress(typed);
  assertSecureServerAddress(address);
  return address;
}

function settingsView(s: StoredSettings): SettingsView {
  return {
    serverAddress: s.serverAddress,
    rememberUsername: s.rememberUsername,
    lastUsername: s.rememberUsername ? s.lastUsername : null,
    theme: s.theme,
    language: s.language,
  };
}

/**
 * The device this computer last signed in with for a user (SPEC L2), by slsd's form of the name
 * (`normalizeUsername`): "JSmith" and "jsmith" are one user to slsd, so they are one here. An entry
 * written before under the name exactly as typed still counts.
 */
function rememberedDevice(byUser: Readonly<Record<string, string>>, username: string): string | undefined {
  const key = normalizeUsername(username);
  return byUser[key] ?? Object.entries(byUser).find(([typed]) => normalizeUsername(typed) === key)?.[1];
}

/** `byUser` with this user's device, under the normalized name; older entries of the same user (as typed) go. */
function withRememberedDevice(byUser: Readonly<Record<string, string>>, username: string, deviceId: string): Record<string, string> {
  const key = normalizeUsername(username);
  const others = Object.entries(byUser).filter(([typed]) => normalizeUsername(typed) !== key);
  return { ...Object.fromEntries(others), [key]: deviceId };
}

/**
 * An id from the renderer as one path segment of an slsd route (SPEC C3). `encodeURIComponent` leaves
 * `.` and `..` as they are, and the URL parser then resolves them: `returnDevice({ deviceId: '..' })`
 * would POST, with the session's token, to `/v1/return` instead of `/v1/devices/…/return`. Refused.
 */
function idSegment(id: string): string {
  if (id === '.' || id === '..') {
    const message = 'Not an id.';
    throw new SlsdError({ code: 'SLS_ERR_INVALID_INPUT', message, issues: [{ path: '', message }] }, null);
  }
  return encodeURIComponent(id);
}

function noLogin(): SlsdError {
  return new SlsdError({ code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS', message: 'No login is in progress.' }, null);
}

/**
 * SPEC L6, C5: a step that names a login other than the current one (a newer login was started in
 * another window, or after a page reload, while this screen still showed the earlier one). Refused
 * before anything goes to slsd: a response meant for the earlier login never counts as a wrong
 * response of the newer one (3 end a login, 10 lock the user), and nothing of the newer login changes.
 */
function loginNotCurrent(): SlsdError {
  return new SlsdError({ code: 'SLS_ERR_LOGIN_NOT_CURRENT', message: 'This login is no longer the current one: a newer login was started. Nothing was sent for it.' }, null);
}

/** A new login attempt's id (SPEC L6, C5): random, so that an id of another run of the host never names this one's login. */
function newLoginId(): string {
  return `login_${randomBytes(16).toString('base64url')}`;
}

/**
 * An answer of a login that is no longer the current one (SPEC L1–L5, L7): a new login, Cancel, Sign
 * out or Reset app data came first. Its caller is told the login is over; the login now current is
 * left as it is.
 */
function loginReplaced(): SlsdError {
  return new SlsdError({ code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS', message: 'This login was ended by a newer one, or cancelled. Log in again.' }, null);
}

/** A login ended because the user chose another server (SPEC C3): its steps answer this; the renderer goes back to the login form. */
function loginEndedByServerChange(): SlsdError {
  return new SlsdError({ code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS', message: 'The server address changed, so the login in progress was ended. Log in again.' }, null);
}

/**
 * The step a login is at now, for the renderer to show with SLS_ERR_DEVICE_NOT_AVAILABLE (SPEC L2, L5).
 *
 * slsd answers a challenge on the device the login last used even when that device is gone (an IB Key
 * moved to another phone is revoked, and the new phone is a new device): its screen would offer
 * "Send a new notification" again, to the same refusal. Then the user chooses from the devices there
 * are now, one of the same kind first (the IB Key on the new phone).
 */
function stepWithAvailableDevice(view: LoginStepView, remembered: string | undefined): LoginStepView {
  if (view.status !== 'challenge') return view;
  const { devices, challenge } = view;
  if (devices.length === 0 || devices.some((d) => d.id === challenge.deviceId)) return view;
  const preselected =
    devices.find((d) => d.kind === challenge.kind)?.id ?? (remembered && devices.some((d) => d.id === remembered) ? remembered : devices[0]!.id);
  return { status: 'select_device', loginId: view.loginId, expiresAt: view.expiresAt, devices, preselectedDeviceId: preselected };
}

export function createHostServices(deps: HostServiceDeps): HostServices {
  const { slsd, settings, keychain, dscplus, events } = deps;
  const log = deps.log ?? (() => {});
  let login: LoginInProgress | null = null;
  /**
   * The login attempt whose answers the host applies (SPEC L1–L5, L7, L8; the idea of C3's
   * `refuseIfServerChanged`, for logins instead of servers). A login, a Client Portal login and an
   * auto-restart note it when they send their first request; it moves on when a login starts and
   * whenever the login in progress is let go of (`forgetLogin`: Cancel, a new login, Sign out, Reset
   * app data, another server, slsd ending it, signed in). An answer of an earlier attempt that comes
   * back late (a slow HTTP answer of any step: password, device, response, resend, IB Key status,
   * restart) is then dropped, never made the current login again: the user would see the wrong screen,
   * and the next step would go to a login slsd no longer continues. Its transaction is ended on its
   * server, a session it opened signed out there (`dropLateAnswer`). Invariant: `login` is null or of
   * this attempt.
   */
  let attempt = 0;
  let session: HeldSession | null = null;
  /** SPEC C6: the Client Portal session of the step-up, for the account calls; memory only. */
  let portal: HeldSession | null = null;
  const clock = deps.clock ?? systemClock;
  let expiryTimer: unknown = null;
  /** A session ended while the host ran (not at a start): no auto-restart until the next full login. */
  let endedHere = false;
  /** When slsd was last asked about the held session's restart token (SPEC L8), by `clock`. */
  let restartCheckedAt = 0;

  function stopExpiryWatch(): void {
    if (expiryTimer !== null) clock.clearTimeout(expiryTimer);
    expiryTimer = null;
  }

  /** True once the held session's lifetime has run out by the wall clock. */
  function expired(held: HeldSession): boolean {
    return clock.now() >= Date.parse(held.info.expiresAt);
  }

  /**
   * Hold a session and watch its expiry (SPEC C1, C5): at `expiresAt` the host drops it.
   *
   * The timer waits at most SESSION_RECHECK_MS, then looks at the wall clock again, so after a
   * sleep the session ends within that much of waking even though the timer slept too. Past the
   * expiry by our clock, slsd is asked (a computer's clock may be off); it decides, and the wall
   * clock only when slsd cannot be reached.
   */
  function holdSession(held: HeldSession): void {
    session = held;
    stopExpiryWatch();
    restartCheckedAt = clock.now();
    const arm = (ms: number) => {
      if (session === held) expiryTimer = clock.setTimeout(check, ms);
    };
    const check = () => {
      expiryTimer = null;
      if (session !== held) return;
      // SPEC L8: while the screen says auto-restart is on, slsd is asked now and then whether it still is.
      if (held.restart.state === 'on' && clock.now() - restartCheckedAt >= RESTART_RECHECK_MS) void checkRestart(held);
      const left = Date.parse(held.info.expiresAt) - clock.now();
      if (left > 0) return arm(Math.min(left, SESSION_RECHECK_MS));
      void refreshSession(held).then((info) => {
        if (info && session === held && expiryTimer === null) arm(SESSION_RECHECK_MS);
      });
    };
    check();
  }

  /**
   * The session as slsd sees it now, or null when it has ended (and then the host has dropped it).
   *
   * slsd decides; when it cannot be reached, what we knew holds until its expiry by our clock.
   */
  async function refreshSession(held: HeldSession): Promise<HeldSession['info'] | null> {
    try {
      // SPEC L8: and whether its restart token still works, so the answer says auto-restart as it is.
      const [info] = await Promise.all([slsd.session(held.token), checkRestart(held)]);
      if (session !== held) return null;
      const moved = info.expiresAt !== held.info.expiresAt;
      held.info = info;
      if (moved) holdSession(held);
      return info;
    } catch (e) {
      if (e instanceof SlsdError && endsSession(e.error)) {
        endSession(held, e.error.code === 'SLS_ERR_SESSION_EXPIRED' && expired(held));
        return null;
      }
      if (session !== held) return null;
      if (expired(held)) {
        endSession(held, true);
        return null;
      }
      return held.info;
    }
  }

  /**
   * The session is over (its expiry passed, or slsd said so): forget the token, stop a card answering,
   * and tell the renderer, which returns to the login form (SPEC C1, C5). `ranOut`: its lifetime ended.
   */
  function endSession(held: HeldSession, ranOut: boolean): void {
    if (session !== held) return;
    session = null;
    endedHere = true;
    stopExpiryWatch();
    void stopCardConfirmation();
    void endPortalSession();
    log(`session ended ${ranOut ? 'at its expiry' : 'by slsd'}`);
    events.emit('sessionEnded', { reason: 'expired', ...(ranOut ? { expiresAt: held.info.expiresAt } : {}) });
  }

  /** Forget the session without telling anyone (sign out, Reset app data say so themselves). */
  function dropSession(): void {
    session = null;
    stopExpiryWatch();
  }

  /** Forget the Client Portal session and end it on slsd (best effort: slsd expires it on its own). */
  /**
   * A cancelled login, ended on slsd (SPEC L7, C5). Best effort: an unreachable slsd lets it expire on
   * its own; a login signed in meanwhile (an approval raced the Cancel) has its session signed out by
   * the long-poll that receives it (waitForApproval).
   */
  async function endLoginOnSlsd(ended: Pick<LoginInProgress, 'transactionId' | 'server'>): Promise<void> {
    try {
      // On the server of the login, even when the user has chosen another since (SPEC C3).
      await slsd.at(ended.server).cancelLogin(ended.transactionId);
      log('login cancelled on slsd');
    } catch (e) {
      if (e instanceof SlsdError) log(`login cancel not confirmed by slsd code=${e.error.code}`);
    }
  }

  /**
   * Let go of the login in progress, here only (SPEC L1–L5): answers still on their way for it are
   * dropped from now on (`attempt`). Returns the login let go of, if any, for the caller to end on slsd.
   */
  function forgetLogin(): LoginInProgress | null {
    const earlier = login;
    login = null;
    attempt += 1;
    return earlier;
  }

  /**
   * A new login attempt (a login, a Client Portal login): its number, and the id the renderer will
   * name its login by in every step (SPEC L1, L6, C5), once slsd has answered its password.
   */
  function startAttempt(): { mine: number; loginId: string } {
    return { mine: ++attempt, loginId: newLoginId() };
  }

  /** Whether answers of `mine` are still applied: no login started, and the login was not let go of, since it was sent. */
  function isCurrent(mine: number): boolean {
    return mine === attempt;
  }

  /**
   * SPEC L1–L5, L7, C3: an answer of a login attempt that is no longer current (see `attempt`). Nothing
   * of it is kept: a login transaction it names is ended on its own server, as abandoned logins are
   * (a password step that comes back late started one nobody else knows of; for a later step this
   * repeats the Cancel, which slsd takes as done), a session it opened is signed out there. Throws.
   */
  function dropLateAnswer(step: LoginStep, server: string): never {
    if (step.status === 'signed_in') {
      log('login answer of an earlier login not kept: its session is signed out');
      void slsd.at(server).logout(step.session.token).catch(() => {});
    } else {
      log('login answer of an earlier login not kept: its login is ended on slsd');
      void endLoginOnSlsd({ transactionId: step.transactionId, server });
    }
    throw loginReplaced();
  }

  /**
   * Forget the login in progress and end it on its server in the background (SPEC L7, C5, C3): a new
   * login over it (the form came back after a page reload), a new Client Portal login, Sign out or
   * Reset app data. Forgotten here only, its IB Key push would stay on the phone and count among the
   * three that may wait until it expired; an approval that races this is signed out by the long-poll
   * that receives it (waitForApproval).
   */
  function abandonLogin(why: string): void {
    const earlier = forgetLogin();
    if (!earlier) return;
    log(`earlier login in progress ended: ${why}`);
    void endLoginOnSlsd(earlier);
  }

  async function endPortalSession(): Promise<void> {
    const held = portal;
    if (!held) return;
    portal = null;
    try {
      await slsd.logout(held.token);
    } catch (e) {
      if (e instanceof SlsdError) log(`portal logout failed code=${e.error.code}`);
    }
    log('portal session ended');
  }

  /**
   * The Client Portal session for the account calls of this trading session, while it lasts (SPEC C6).
   * Past its expiry by our clock it is forgotten: the trading session's token goes, and slsd decides.
   */
  function livePortal(held: HeldSession): HeldSession | null {
    const p = portal;
    if (!p) return null;
    if (p.info.user.id === held.info.user.id && !expired(p)) return p;
    portal = null;
    log('portal session forgotten: past its expiry');
    return null;
  }

  /**
   * An account-security call with the session's token; an answer that the session is gone ends it here (SPEC C6, C5).
   *
   * With a Client Portal session (the step-up, SPEC C6, O1, L8) its token goes instead. When slsd
   * says that one is over, only it is forgotten: the call goes again with the trading session's
   * token (slsd refused it before doing anything), whose answer for an opted-out user is
   * SLS_ERR_SECOND_FACTOR_REQUIRED, and the Account screen asks to verify again.
   */
  async function authed<T>(method: 'GET' | 'POST', path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const held = session;
    if (!held) {
      events.emit('sessionEnded', { reason: 'expired' });
      throw new SlsdError({ code: 'SLS_ERR_UNAUTHENTICATED', message: 'Please log in.' }, null);
    }
    const p = livePortal(held);
    if (p) {
      try {
        return await slsd.authed(method, path, schema, p.token, body);
      } catch (e) {
        if (!(e instanceof SlsdError && endsSession(e.error))) throw e;
        if (portal === p) portal = null;
        log(`portal session ended by slsd code=${e.error.code}`);
      }
    }
    try {
      return await slsd.authed(method, path, schema, held.token, body);
    } catch (e) {
      if (e instanceof SlsdError && endsSession(e.error)) endSession(held, e.error.code === 'SLS_ERR_SESSION_EXPIRED' && expired(held));
      throw e;
    }
  }

  /**
   * SPEC L8 auto-restart: after a full trading-platform login the host asks slsd for a restart token
   * and keeps it in the OS keychain (never in the settings file), one entry per server address. On
   * the next start, `getSession` signs in with it (no second factor) until the weekly cut-off; each
   * use hands out the next token. Sign out forgets it; Reset app data clears the keychain (C4).
   */
  const LoginInputUsername = z.string().min(1).max(64);
  const restartAccount = () => `restart-token:${settings.read().serverAddress}`;
  let restartPending: Promise<void> = Promise.resolve();
  /** The auto-restart this start tried that did not sign in, and why (`getAutoRestartAttempt`); null once a login began. */
  let restartAttempt: AutoRestartAttempt | null = null;
  /**
   * The start's restart while it is on its way (getSession): a second getSession meanwhile (a page
   * reload) waits for it instead of sending the same token again, which slsd would refuse as used and
   * count as a failure (L6).
   */
  let restarting: Promise<void> | null = null;

  /**
   * Ask slsd for a restart token and keep it in the keychain; answers what the signed-in screen says of
   * auto-restart (UI.md 7): on until the weekly cut-off, or off and why. The token never leaves the host.
   */
  async function enableRestart(held: HeldSession, username: string): Promise<AutoRestartView> {
    // No keychain to keep a token in (never a settings file, C4): ask slsd for none, so it neither
    // issues nor audits a token that could not be stored.
    if (!(await keychain.available())) {
      log('auto-restart not enabled code=SLS_ERR_KEYCHAIN');
      return { state: 'off', reason: 'no_keychain' };
    }
    let grant: z.output<typeof RestartGrant>;
    try {
      grant = await slsd.authed('POST', '/login/restart-token', RestartGrant, held.token, {});
    } catch (e) {
      const code = e instanceof SlsdError ? e.error.code : 'SLS_ERR_HOST_INTERNAL';
      log(`auto-restart not enabled code=${code}`);
      return code === 'SLS_ERR_SECOND_FACTOR_REQUIRED' ? RESTART_NOT_FOR_THIS_LOGIN : RESTART_NOT_SET_UP;
    }
    if (session !== held) return RESTART_NOT_SET_UP;
    try {
      await keychain.set(restartAccount(), JSON.stringify({ username, restartToken: grant.restartToken, validUntil: grant.validUntil }));
      held.restartToken = grant.restartToken;
    } catch {
      // A keychain answered `available` but refused the token (locked, its unlock prompt dismissed, its
      // service gone since): nowhere to keep it (never a settings file). Not "no keychain on this
      // computer" (SPEC L8, C5): the screen says the keychain refused.
      log('auto-restart not enabled: the keychain refused the restart token code=SLS_ERR_KEYCHAIN');
      return RESTART_KEYCHAIN_REFUSED;
    }
    return { state: 'on', until: grant.validUntil };
  }

  /**
   * Auto-restart for a session just signed in (SPEC L8), waited for at most RESTART_SETUP_WAIT_MS so
   * the signed-in screen can say it. Past that the answer is "off", and a token the keychain takes
   * later is forgotten again: the screen never says off while a restart would sign in.
   */
  async function setUpRestart(held: HeldSession, username: string): Promise<AutoRestartView> {
    const setup = enableRestart(held, username);
    restartPending = setup.then(() => {});
    let timer: unknown = null;
    const tooLong = new Promise<null>((resolve) => {
      timer = clock.setTimeout(() => resolve(null), RESTART_SETUP_WAIT_MS);
    });
    const state = await Promise.race([setup, tooLong]);
    clock.clearTimeout(timer);
    if (state) return state;
    log('auto-restart not enabled: setting it up took too long');
    restartPending = setup.then(async (late) => {
      // Unless a newer sign-in has put its own token there since.
      if (late.state === 'on' && (session === held || session === null)) await forgetRestart();
    });
    return RESTART_NOT_SET_UP;
  }

  /**
   * SPEC L8: asks slsd whether the restart token the held session keeps in the keychain still works.
   *
   * Revoked (`slsctl restart revoke`, a device reported or set aside), used by another copy, or past
   * the cut-off: the token leaves the keychain (the next start would be refused, and a refused token
   * counts as a failure, L6), the signed-in screen says auto-restart is off and why, and the renderer
   * is told at once (`autoRestartChanged`). slsd not reachable, or one without this question: what the
   * screen says stays. Never throws.
   */
  async function checkRestart(held: HeldSession): Promise<void> {
    if (held.restart.state !== 'on') return;
    restartCheckedAt = clock.now();
    let status: z.output<typeof RestartTokenStatus>;
    try {
      status = await slsd.authed('GET', '/login/restart-token', RestartTokenStatus, held.token);
    } catch (e) {
      if (!(e instanceof SlsdError)) return;
      log(`auto-restart not checked code=${e.error.code}`);
      // The session itself is over: as any call that hears so (`authed`).
      if (endsSession(e.error)) endSession(held, e.error.code === 'SLS_ERR_SESSION_EXPIRED' && expired(held));
      return;
    }
    const until = held.restart.until;
    if (session !== held || held.restart.state !== 'on' || (status.state === 'live' && status.validUntil === until)) return;
    if (status.state === 'live') {
      held.restart = { state: 'on', until: status.validUntil };
    } else {
      // Past the cut-off, or no token left for this session after it (housekeeping deletes expired ones).
      // Or live, but a restart with it would be refused now (L8 × T1, D5), and that restart would revoke it.
      const ranOut = status.state === 'expired' || (status.state === 'none' && Date.parse(until) <= clock.now());
      held.restart = { state: 'off', reason: status.state === 'refused' ? 'devices' : ranOut ? 'expired' : 'revoked' };
      log(`auto-restart off: slsd says the restart token is ${status.state}${status.state === 'refused' ? ` code=${status.reason}` : ''}`);
      await restartPending;
      // Only this session's token: another copy of the app (or a newer sign-in) may have put its own there since.
      if (held.restartToken !== undefined) await forgetRestart(held.restartToken);
    }
    if (session === held) events.emit('autoRestartChanged', held.restart);
  }

  /**
   * Removes the stored restart token; with `only`, only while the keychain holds that one (or one of
   * those). `account`: the keychain entry of the server it was stored for (default: the server of the
   * settings now). False when the keychain failed (nothing removed); true otherwise.
   */
  async function forgetRestart(only?: string | readonly string[], account = restartAccount()): Promise<boolean> {
    try {
      if (only !== undefined) {
        const stored = await keychain.get(account);
        const held = stored === null ? undefined : (jsonOrUndefined(stored) as { restartToken?: unknown } | undefined)?.restartToken;
        if (typeof held !== 'string' || !(typeof only === 'string' ? [only] : only).includes(held)) return true;
      }
      await keychain.delete(account);
      return true;
    } catch {
      // No keychain: nothing was stored there. An entry that is not ours to read stays.
      return false;
    }
  }

  /**
   * SPEC L8: sign in with the restart token in the keychain, at the start (getSession).
   *
   * Like every login's answer (`attempt`), the restart's is kept only if nothing came first while it
   * was on its way: a login begun (the form came back, the user typed a password), Sign out or Reset
   * app data, a session held already, another server chosen (C3). Else `dropRestart`.
   */
  async function autoRestart(): Promise<HeldSession | null> {
    restartAttempt = null;
    const mine = attempt;
    const server = slsd.address();
    const account = restartAccount();
    const late = () => !isCurrent(mine) || session !== null || slsd.address() !== server;
    let stored: string | null;
    try {
      stored = await keychain.get(account);
    } catch {
      return null;
    }
    if (!stored) return null;
    // A damaged entry (edited by hand, written half by a crash) is one we cannot read: it goes, and the
    // app opens on the login form instead of failing at start.
    const parsed = RestartGrant.extend({ username: LoginInputUsername }).safeParse(jsonOrUndefined(stored));
    if (!parsed.success || Date.parse(parsed.data.validUntil) <= Date.now()) {
      await forgetRestart();
      // Past the weekly cut-off: the login form says so. An entry we cannot read says nothing useful.
      if (parsed.success) restartAttempt = { outcome: 'expired' };
      return null;
    }
    const used = parsed.data.restartToken;
    try {
      const r = await slsd.restart({ username: parsed.data.username, restartToken: used });
      if (late()) return await dropRestart(r, server, used, account);
      const kept = await keepNextRestart(account, parsed.data.username, used, r);
      // The keychain may have taken its time (an OS keychain that asks to be unlocked).
      if (late()) {
        if (kept) await forgetRestart(r.restartToken, account);
        return await dropRestart(r, server, used, account);
      }
      const { token: sessionToken, ...info } = r.session;
      log(`auto-restart user=${info.user.username}`);
      if (!kept) return { token: sessionToken, info, restart: RESTART_KEYCHAIN_REFUSED };
      return { token: sessionToken, info, restart: { state: 'on', until: r.validUntil }, restartToken: r.restartToken };
    } catch (e) {
      // SPEC L8: refused (used, revoked, past the cut-off, the user locked or without a device): forget
      // it. An answer that judged nothing keeps it for the next start: slsd out of reach, briefly
      // unavailable (a failover, a proxy's 502–504 while it restarts), or this address throttled
      // (refused before the token is looked at). Forgetting it there cost the trader a second factor
      // for a token still good.
      // Only that token: a login that signed in while the restart was on its way may have put its own there.
      if (e instanceof SlsdError && !RESTART_NOT_JUDGED.has(e.error.code)) await forgetRestart(used, account);
      if (e instanceof SlsdError) {
        log(`auto-restart failed code=${e.error.code}`);
        // A login begun meanwhile made it old news (as `login` clears it): its form says nothing of it.
        if (isCurrent(mine)) restartAttempt = restartFailure(e.error);
      }
      return null;
    }
  }

  /**
   * SPEC L8: the restart token slsd handed out with a restart (`autoRestart`) goes into the keychain in
   * place of the one just used. True once it is there.
   *
   * The keychain may refuse it (locked since the last start, its service gone, its module failing).
   * The restart signed in all the same, and the user is signed in legitimately, so the session stays,
   * as after a sign-in whose token the keychain refused (`enableRestart`): the signed-in screen says
   * auto-restart is off, `keychain_refused` (SLS_ERR_KEYCHAIN; the keychain is there, it refused), and
   * the next start is a login. The token just used is spent on slsd: left in the keychain, the next
   * start would be refused with it and slsd would count a failure (L6), so it is removed (with the new
   * one, should the keychain have taken it after all: what the screen says stays true). The new token is
   * forgotten with the answer; slsd keeps it until its cut-off (it has no call to revoke one token
   * alone) and sign out revokes it. Logged by code, never a token nor the keychain's message.
   */
  async function keepNextRestart(account: string, username: string, used: string, r: { restartToken: string; validUntil: string }): Promise<boolean> {
    try {
      await keychain.set(account, JSON.stringify({ username, restartToken: r.restartToken, validUntil: r.validUntil }));
      return true;
    } catch {
      log('auto-restart: the next restart token could not be stored code=SLS_ERR_KEYCHAIN; the next start is a login');
    }
    if (!(await forgetRestart([used, r.restartToken], account))) log('auto-restart: the spent restart token could not be removed from the keychain code=SLS_ERR_KEYCHAIN');
    return false;
  }

  /**
   * SPEC L8, C3: a restart whose answer came back late (`autoRestart`). Its session is not held: it is
   * signed out on the server that opened it, which revokes the restart token it handed out (slsd's
   * logout ends the session's tokens); the token it used is spent, so it leaves the keychain while it
   * is still the one there (a next start would be refused with it, and a refused token counts as a
   * failure, L6). The login that came first goes on as it is.
   */
  async function dropRestart(r: { session: SessionInfo }, server: string, used: string, account: string): Promise<null> {
    log('auto-restart answer not kept: a login or another session came first; its session is signed out');
    await slsd.at(server).logout(r.session.token).catch(() => {});
    await forgetRestart(used, account);
    return null;
  }

  /** SPEC W4: one idempotency key per withdrawal confirmation, reused when the user retries it. */
  const withdrawalKeys = new Map<string, string>();
  /** SPEC C2: confirmations whose challenge a DSC+ answers: confirmation id → the card's serial and challenge. */
  const cardChallenges = new Map<string, { serial: string; challenge: string }>();
  /** The card answering a confirmation now, if any. */
  let cardJob: { abort: AbortController; done: Promise<unknown> } | null = null;

  /** CANCEL to a card answering a confirmation; waits a moment for it to stop. */
  async function stopCardConfirmation(): Promise<void> {
    const j = cardJob;
    if (!j) return;
    j.abort.abort();
    await Promise.race([j.done.catch(() => {}), new Promise((r) => setTimeout(r, 1_000).unref?.())]);
  }

  /** Remember which card answers a fresh confirmation challenge (a DSC+ of the user, by its serial from slsd). */
  async function noteCardChallenge(c: ConfirmationChallengeValue): Promise<void> {
    const ch = c.challenge;
    if (ch.type !== 'response_code' || ch.kind !== 'dscplus') return;
    const overview = await authed('GET', '/devices', DevicesOverview);
    const serial = overview.devices.find((d) => d.id === ch.deviceId)?.serial;
    if (!serial) return;
    noteChallengeOnCard(c.confirmationId, serial, ch.challenge);
  }

  /** The card a confirmation's challenge goes to, by serial; bounded (the oldest goes first). */
  function noteChallengeOnCard(confirmationId: string, serial: string, challenge: string): void {
    cardChallenges.set(confirmationId, { serial, challenge });
    if (cardChallenges.size > 50) cardChallenges.delete(cardChallenges.keys().next().value!);
  }

  const answerSharing = (requestId: string, confirmationId: string, response: string) =>
    authed('POST', `/sharing/${idSegment(requestId)}/response`, SharingView, { confirmationId, response });

  const completeDeviceActivation = (confirmationId: string, response: string) =>
    authed('POST', `/devices/activation/${idSegment(confirmationId)}`, AccountDeviceView, { response });

  /** SPEC W4: confirm with the idempotency key of this confirmation (the same on a retry). */
  async function confirmWithdrawal(input: ParsedInput<'confirmWithdrawal'>) {
    let key = withdrawalKeys.get(input.confirmationId);
    if (!key) {
      key = randomUUID();
      withdrawalKeys.set(input.confirmationId, key);
      // Kept after success too, so a retry answers the same withdrawal (replayed); bounded.
      if (withdrawalKeys.size > 100) withdrawalKeys.delete(withdrawalKeys.keys().next().value!);
    }
    const body = { amountCents: input.amountCents, idempotencyKey: key, confirmation: { id: input.confirmationId, response: input.response } };
    const done = await authed('POST', '/withdrawals', WithdrawalResponse, body);
    log(`withdrawal confirmed kind=${done.withdrawal.confirmedWith.kind} replayed=${done.replayed}`);
    return done;
  }

  /**
   * The card answers a confirmation challenge (SPEC C2, H2): the PIN is typed on the card; the response comes back to the host only.
   */
  async function answerOnCard(confirmationId: string): Promise<string> {
    const c = cardChallenges.get(confirmationId);
    if (!c || !dscplus.connected().includes(c.serial)) {
      throw new SlsdError(dscPlusClientError(new DeviceNotFoundError(c?.serial ?? 'none')), null);
    }
    await stopCardConfirmation();
    const abort = new AbortController();
    const done = dscplus.respond(c.serial, c.challenge, (st) => events.emit('dscplusStatus', st), abort.signal);
    const job = { abort, done };
    cardJob = job;
    try {
      const response = await done;
      events.emit('dscplusStatus', { serial: c.serial, state: 'response_received' });
      return response;
    } catch (e) {
      const error = dscPlusClientError(e);
      log(`DSC+ confirmation failed serial=${c.serial} ${e instanceof Error ? e.name : 'unknown'}`);
      events.emit('dscplusStatus', { serial: c.serial, state: error.code === DSCPLUS_ERROR_CODES.cancelled ? 'cancelled' : 'failed', message: error.message });
      throw new SlsdError(error, null);
    } finally {
      if (cardJob === job) cardJob = null;
    }
  }

  const unsubscribeDsc = dscplus.subscribe((e) => {
    if (e.type === 'attached') events.emit('dscplusAttached', { serial: e.serial });
    else events.emit('dscplusDetached', { serial: e.serial });
  });

  function devicesView(devices: readonly DeviceSummary[]): DeviceView[] {
    const plugged = new Set(dscplus.connected());
    return devices.map((d) => ({ ...d, connected: d.kind === 'dscplus' && d.serial !== undefined && plugged.has(d.serial) }));
  }

  /**
   * The login's own time limit on this computer's clock, which the renderer counts down by (SPEC
   * L2–L5, C5): a computer whose clock is minutes off would otherwise say the login ended at once,
   * or long after slsd ended it.
   */
  function onOurClock(slsdTime: string): string {
    const offset = slsd.clockOffsetMs?.() ?? 0;
    const at = Date.parse(slsdTime);
    return offset === 0 || !Number.isFinite(at) ? slsdTime : new Date(at - offset).toISOString();
  }

  /**
   * A challenge's own countdowns on this computer's clock, as the login's (onOurClock): the IB Key
   * push's minute (SPEC L7: then the screen offers the challenge code) and the SMS code's life and
   * resend wait (L4). A passcode's validity is a date slsd keeps, shown as it is.
   */
  function challengeOnOurClock(c: Challenge): Challenge {
    if (c.type === 'push') return { ...c, expiresAt: onOurClock(c.expiresAt) };
    if (c.type === 'sms_code') return { ...c, expiresAt: onOurClock(c.expiresAt), resendAvailableAt: onOurClock(c.resendAvailableAt) };
    return c;
  }

  /**
   * SPEC C3: an answer of slsd about a login on `server`, which arrived after the host had moved to
   * another server (the user chose one while the request was on its way). Nothing of it is kept: the
   * login is ended on its own server, a session it opened is signed out there, and the call fails.
   */
  function refuseIfServerChanged(step: LoginStep, server: string): void {
    if (slsd.address() === server) return;
    const there = slsd.at(server);
    if (step.status === 'signed_in') void there.logout(step.session.token).catch(() => {});
    else void endLoginOnSlsd({ transactionId: step.transactionId, server });
    log('login answer of the previous server not kept: the server address changed');
    throw loginEndedByServerChange();
  }

  /**
   * Turn slsd's step into the renderer's view, keeping the ids and the token in the host. `ofAttempt`:
   * the login attempt the step is an answer of; one no longer current is dropped (`dropLateAnswer`).
   */
  async function accept(step: LoginStep, username: string, isPortal: boolean, server: string, ofAttempt: number, loginId: string): Promise<LoginStepView> {
    refuseIfServerChanged(step, server);
    if (!isCurrent(ofAttempt)) dropLateAnswer(step, server);
    switch (step.status) {
      case 'select_device': {
        login = { attempt: ofAttempt, loginId, transactionId: step.transactionId, username, portal: isPortal, server };
        // SPEC L2: the device this user last logged in with on this computer, else slsd's pick.
        const mine = rememberedDevice(settings.read().lastDeviceByUser, username);
        const preselected = mine && step.devices.some((d) => d.id === mine) ? mine : step.preselectedDeviceId;
        return { status: 'select_device', loginId, expiresAt: onOurClock(step.expiresAt), devices: devicesView(step.devices), preselectedDeviceId: preselected };
      }
      case 'challenge':
        login = { attempt: ofAttempt, loginId, transactionId: step.transactionId, username, portal: isPortal, server };
        return { status: 'challenge', loginId, expiresAt: onOurClock(step.expiresAt), devices: devicesView(step.devices), challenge: challengeOnOurClock(step.challenge) };
      case 'signed_in': {
        // The login is over: another answer of it still on its way is not a step to show.
        forgetLogin();
        const { token, ...info } = step.session;
        const held: HeldSession = { token, info, restart: RESTART_NOT_FOR_THIS_LOGIN };
        if (isPortal) return acceptPortal(held);
        holdSession(held);
        endedHere = false;
        // SPEC L8: after a full trading-platform login; the answer waits for it, so the screen can say it.
        if (info.authenticatedWith && info.clientKind === 'trading_platform' && info.access === 'full') held.restart = await setUpRestart(held, username);
        const used = info.authenticatedWith?.deviceId;
        if (used) {
          const s = settings.read();
          settings.update({ lastDeviceByUser: withRememberedDevice(s.lastDeviceByUser, username, used) });
        }
        log(`signed in user=${info.user.username} device=${info.authenticatedWith?.kind ?? 'none'} auto-restart=${held.restart.state}`);
        return { status: 'signed_in', session: sessionView(held) };
      }
    }
  }

  /**
   * SPEC C6: the step-up's Client Portal session, kept for the account calls of the trading session
   * of the same user; the trading session stays as it is (no restart token: L8 is for trading logins).
   */
  function acceptPortal(held: HeldSession): LoginStepView {
    const trading = session;
    if (!trading || trading.info.user.id !== held.info.user.id) {
      // Signed out (or someone else signed in) while the device was answered: this session is of no use.
      void slsd.logout(held.token).catch(() => {});
      throw new SlsdError({ code: 'SLS_ERR_UNAUTHENTICATED', message: 'Please log in.' }, null);
    }
    const previous = portal;
    portal = held;
    if (previous) void slsd.logout(previous.token).catch(() => {});
    const used = held.info.authenticatedWith?.deviceId;
    if (used) {
      const s = settings.read();
      settings.update({ lastDeviceByUser: withRememberedDevice(s.lastDeviceByUser, trading.info.user.username, used) });
    }
    log(`portal session opened user=${held.info.user.username} device=${held.info.authenticatedWith?.kind ?? 'none'}`);
    return { status: 'signed_in', session: sessionView(held) };
  }

  /**
   * The login a step names (SPEC L6, C5), if it is the login in progress and lives on the server the
   * host talks to now (C3). A step naming another login is refused (SLS_ERR_LOGIN_NOT_CURRENT) before
   * anything else: nothing goes to slsd, and the login in progress is left exactly as it is (a server
   * change of its own included). No login in progress at all (none yet, ended, signed in, or a newer
   * one whose password slsd has not answered yet): SLS_ERR_NO_LOGIN_IN_PROGRESS, nothing sent either.
   */
  function namedLogin(loginId: string): LoginInProgress {
    if (login !== null && login.loginId !== loginId) {
      log('login step refused: it names a login that is not the current one');
      throw loginNotCurrent();
    }
    return liveLogin();
  }

  /** The login in progress, if it lives on the server the host talks to now (SPEC C3); else it is ended there. */
  function liveLogin(): LoginInProgress {
    const current = login;
    if (!current) throw noLogin();
    if (slsd.address() !== current.server) {
      // The address changed without setSettings (the settings file written by another copy): the same outcome.
      forgetLogin();
      void endLoginOnSlsd(current);
      throw loginEndedByServerChange();
    }
    return current;
  }

  /**
   * Run a step of the login in progress; forget it when the error ends the login.
   *
   * `rereadWhenDeviceGone`: on SLS_ERR_DEVICE_NOT_AVAILABLE the login's current step is read again
   * from slsd and goes with the error (`loginStep`), so the screen shows the devices the user has now
   * (SPEC L2, L5): after an IB Key push expired because IB Key moved to another phone, "Send a new
   * notification" is refused for the old phone, and the new one is there to choose.
   */
  async function step(loginId: string, run: (tx: LoginInProgress) => Promise<LoginStep>, rereadWhenDeviceGone = false): Promise<LoginStepView> {
    // SPEC L6, C5: only a step of the login the host is at; one of another login is refused, unsent.
    const current = namedLogin(loginId);
    try {
      // SPEC L2–L5: a device, a response or a resend whose answer comes back after a new login started is dropped there.
      return await accept(await run(current), current.username, current.portal, current.server, current.attempt, current.loginId);
    } catch (e) {
      if (e instanceof SlsdError) {
        log(`login step failed code=${e.error.code}`);
        if (endsLogin(e.error) && isCurrent(current.attempt)) forgetLogin();
        if (rereadWhenDeviceGone && e.error.code === 'SLS_ERR_DEVICE_NOT_AVAILABLE') throw await withCurrentStep(e, current);
      }
      throw e;
    }
  }

  /**
   * `refused` (SLS_ERR_DEVICE_NOT_AVAILABLE) with the login's current step read again from slsd
   * (`step`'s rereadWhenDeviceGone). A login that ended meanwhile answers its own error instead (the
   * renderer returns to the login form); slsd out of reach, or a login that moved on, the refusal as it was.
   */
  async function withCurrentStep(refused: SlsdError, current: LoginInProgress): Promise<SlsdError> {
    if (!isCurrent(current.attempt)) return refused;
    let now: LoginStep;
    try {
      now = await slsd.currentStep(current.transactionId);
    } catch (e) {
      if (!(e instanceof SlsdError)) return refused;
      log(`login step not read again code=${e.error.code}`);
      if (endsLogin(e.error)) {
        if (isCurrent(current.attempt)) forgetLogin();
        return e;
      }
      // No device left that may sign in: that says more than "this device cannot be used".
      return e.error.code === 'SLS_ERR_NO_ACTIVE_DEVICE' ? e : refused;
    }
    // Another step of this login may have answered meanwhile; a signed-in login is not a step to show.
    if (now.status === 'signed_in' || !isCurrent(current.attempt)) return refused;
    const view = await accept(now, current.username, current.portal, current.server, current.attempt, current.loginId);
    const remembered = rememberedDevice(settings.read().lastDeviceByUser, current.username);
    const loginStep = LoginStepView.parse(stepWithAvailableDevice(view, remembered));
    log(`login step read again after code=${refused.error.code}: ${loginStep.status}`);
    return new SlsdError({ ...refused.error, loginStep }, refused.status);
  }

  return {
    async login(input) {
      abandonLogin('a new login');
      // SPEC L1: this login's attempt; an answer that comes back after another has begun is not kept.
      // Its steps name its id (SPEC L6, C5): those of the login before are refused from now on.
      const { mine, loginId } = startAttempt();
      // What the start's auto-restart did is old news once the user logs in (SPEC L8).
      restartAttempt = null;
      // A new sign-in: a step-up session of an earlier one has no place any more (SPEC C6).
      void endPortalSession();
      // Unticking "Remember username" forgets the name at once (SPEC C1).
      settings.update({ rememberUsername: input.rememberUsername, ...(input.rememberUsername ? {} : { lastUsername: null }) });
      // The server this login is made on; should the user choose another before slsd answers, the answer is not kept (C3).
      const server = slsd.address();
      let first: LoginStep;
      try {
        first = await slsd.login({
          username: input.username,
          password: input.password,
          client: { kind: 'trading_platform', version: CLIENT_BUILD, name: clientName() },
        });
      } catch (e) {
        if (e instanceof SlsdError) log(`login failed code=${e.error.code}`);
        if (!(e instanceof SlsdError) || e.error.code !== 'SLS_ERR_PORTAL_ONLY') throw e;
        // The password again only to the server that answered (C3): the user may have chosen another meanwhile.
        if (slsd.address() !== server) throw loginEndedByServerChange();
        // Nor for a login that a newer one (or Cancel) replaced meanwhile (L1).
        if (!isCurrent(mine)) throw loginReplaced();
        // SPEC C6, T1: in the portal-only days of a temporary passcode the desktop signs in to the
        // portal functions alone (Account security: the online Security Code Card, withdrawals).
        first = await slsd.login({
          username: input.username,
          password: input.password,
          client: { kind: 'client_portal', version: CLIENT_BUILD, name: clientName() },
        });
      }
      // Kept only once the password was accepted, so a typo never replaces the remembered name; nor does
      // the late answer of an earlier login replace the name of the one after it (L1, C1).
      if (input.rememberUsername && slsd.address() === server && isCurrent(mine)) settings.update({ lastUsername: input.username });
      return accept(first, input.username, false, server, mine, loginId);
    },

    async portalLogin(input) {
      // SPEC C6, O1, O3, L8: the Account screens' portal functions need a session opened with a second
      // factor; the signed-in user logs in to the Client Portal with the password typed now (never
      // kept) and a device, while the trading session stays as it is.
      const held = session;
      if (!held) {
        events.emit('sessionEnded', { reason: 'expired' });
        throw new SlsdError({ code: 'SLS_ERR_UNAUTHENTICATED', message: 'Please log in.' }, null);
      }
      abandonLogin('a new Client Portal login');
      const { mine, loginId } = startAttempt();
      const username = held.info.user.username;
      const server = slsd.address();
      let first: LoginStep;
      try {
        first = await slsd.login({ username, password: input.password, client: { kind: 'client_portal', version: CLIENT_BUILD, name: clientName() } });
      } catch (e) {
        if (e instanceof SlsdError) log(`portal login failed code=${e.error.code}`);
        throw e;
      }
      return accept(first, username, true, server, mine, loginId);
    },

    async getPortalSession() {
      const held = session;
      const p = held ? livePortal(held) : null;
      if (!p) return null;
      // slsd decides whether it still holds; unreachable, what we knew holds until its expiry.
      try {
        p.info = await slsd.session(p.token);
      } catch (e) {
        if (e instanceof SlsdError && endsSession(e.error)) {
          if (portal === p) portal = null;
          log(`portal session ended by slsd code=${e.error.code}`);
          return null;
        }
      }
      return portal === p ? sessionView(p) : null;
    },

    // SPEC L6, C5: each names its login; only the current one's go to slsd (`namedLogin`).
    selectDevice: (input) => step(input.loginId, (tx) => slsd.selectDevice(tx.transactionId, { deviceId: input.deviceId, mode: input.mode }), true),
    respond: (input) => step(input.loginId, (tx) => slsd.respond(tx.transactionId, { response: input.response }), true),
    resendCode: (input) => step(input.loginId, (tx) => slsd.resend(tx.transactionId), true),

    async waitForApproval(input) {
      const current = namedLogin(input.loginId);
      let status: LoginStatus;
      try {
        status = await slsd.loginStatus(current.transactionId, input.quick ? 0 : STATUS_WAIT_SECONDS);
      } catch (e) {
        if (e instanceof SlsdError && endsLogin(e.error) && isCurrent(current.attempt)) forgetLogin();
        // SPEC D5, L5, L2: the IB Key was taken out of use while its push waited (slsd sent the login back
        // to the device choice): the waiting screen goes straight to the drop-down, as respond and resend do.
        if (e instanceof SlsdError && e.error.code === 'SLS_ERR_DEVICE_NOT_AVAILABLE') throw await withCurrentStep(e, current);
        throw e;
      }
      if (!isCurrent(current.attempt)) {
        // SPEC L7, L1: the status of a login that is no longer current (Cancel, a new login, Sign out,
        // another server came first). Its waiting screen stops; the login now current is left as it is.
        if (status.status === 'signed_in') {
          // Approved on the phone as the user pressed Cancel (or started another login, or chose
          // another server): no session this user did not wait for; the one slsd opened is ended at
          // once (SPEC L7), on the server that opened it (C3).
          log('approval arrived after the login was cancelled: its session is signed out');
          await slsd.at(current.server).logout(status.session.token).catch(() => {});
        } else {
          log(`IB Key status of an earlier login not kept: ${status.status}`);
        }
        throw loginReplaced();
      }
      switch (status.status) {
        case 'waiting':
          return { status: 'waiting', pushExpiresAt: onOurClock(status.pushExpiresAt) };
        case 'push_expired':
          return { status: 'push_expired' };
        case 'signed_in': {
          const view = await accept(status, current.username, current.portal, current.server, current.attempt, current.loginId);
          if (view.status !== 'signed_in') throw new Error('unreachable');
          return view;
        }
        case 'denied':
        case 'wrong_number':
          // SPEC L7: the app ended the login (a denial is recorded by slsd as possible fraud).
          forgetLogin();
          log(`push ${status.status}`);
          throw new SlsdError(
            status.status === 'denied'
              ? { code: 'SLS_ERR_PUSH_DENIED', message: 'The request was denied on the phone.' }
              : { code: 'SLS_ERR_PUSH_WRONG_NUMBER', message: 'The number chosen on the phone did not match.' },
            null,
          );
      }
    },

    async cancelLogin(input) {
      // SPEC L6, L7, C5: the login named only. A newer login started meanwhile (another window, a page
      // reload) is not cancelled by the Cancel of a screen left from the one before: refused, unchanged.
      // No login in progress: the one named has ended already (signed in, cancelled, ended by slsd),
      // as asked; a newer login whose password is still on its way is not the one named either.
      if (login === null) return { ok: true };
      if (login.loginId !== input.loginId) {
        log('login cancel refused: it names a login that is not the current one');
        throw loginNotCurrent();
      }
      const cancelled = forgetLogin();
      // SPEC L7, C5: slsd ends the login too, so an IB Key push left on the phone signs no one in and
      // does not count among the three that may wait. In the background: the form comes back at once.
      if (cancelled) void endLoginOnSlsd(cancelled);
      return { ok: true };
    },

    async getSession() {
      await restartPending;
      if (!session) {
        // SPEC L8 is for starting the app: a session that ended while it ran goes back to the login form.
        if (endedHere) return null;
        restarting ??= autoRestart()
          .then((restarted) => {
            if (restarted) holdSession(restarted);
          })
          .finally(() => {
            restarting = null;
          });
        await restarting;
        // The restarted session; or, when the restart's answer came late and was dropped (SPEC L8), the
        // session a login opened meanwhile, if any.
        return session ? sessionView(session) : null;
      }
      // The renderer asks again at the expiry and on wake (visibilitychange, focus).
      const held = session;
      const info = await refreshSession(held);
      return info ? sessionView(held, info) : null;
    },

    async getAutoRestartAttempt() {
      await restartPending;
      return restartAttempt;
    },

    async signOut() {
      await stopCardConfirmation();
      const held = session;
      dropSession();
      abandonLogin('sign out');
      await restartPending;
      await forgetRestart();
      // SPEC C6: signing out ends the step-up's Client Portal session too.
      await endPortalSession();
      if (held) {
        try {
          await slsd.logout(held.token);
        } catch (e) {
          // The local session is gone either way; slsd expires the token on its own.
          if (e instanceof SlsdError) log(`logout failed code=${e.error.code}`);
        }
        events.emit('sessionEnded', { reason: 'signed_out' });
      }
      return { ok: true };
    },

    async getSettings() {
      return settingsView(settings.read());
    },

    async setSettings(input) {
      const patch: Partial<StoredSettings> = {};
      if (input.serverAddress !== undefined) {
        const address = checkedServerAddress(input.serverAddress);
        // SPEC C3: the slsd client reads the address on every request, so a new one while a session is
        // held would carry its bearer token (and the portal session's) to that server, and sign out would
        // end nothing on the one that issued it. The login form chooses the server; signed in, it stays.
        // Its own code, not SLS_ERR_INVALID_INPUT: the address is valid, and the renderer says why (C5).
        if (address !== settings.read().serverAddress && (session !== null || portal !== null)) {
          throw new SlsdError({ code: 'SLS_ERR_SIGN_OUT_FIRST', message: 'Sign out before choosing another server.' }, null);
        }
        patch.serverAddress = address;
      }
      if (input.theme !== undefined) patch.theme = input.theme;
      if (input.language !== undefined) patch.language = input.language;
      if (input.rememberUsername !== undefined) {
        patch.rememberUsername = input.rememberUsername;
        if (!input.rememberUsername) patch.lastUsername = null;
      }
      const updated = settings.update(patch);
      // SPEC C3: a login in progress (password accepted, second factor pending) lives on the server it
      // began on; its transaction means nothing elsewhere. Choosing another server ends it there (an IB
      // Key push left on the phone then signs no one in, L7), in the background as Cancel does; its next
      // step answers SLS_ERR_NO_LOGIN_IN_PROGRESS and the renderer returns to the login form. The login
      // form saves a new address just before it logs in, so this is also what a login hidden by a page
      // reload comes to: refusing the change instead would leave the form stuck on a login nobody sees.
      const ended = login;
      if (ended && slsd.address() !== ended.server) {
        forgetLogin();
        log('login in progress ended: the server address changed');
        void endLoginOnSlsd(ended);
      }
      return settingsView(updated);
    },

    async resetAppData() {
      // SPEC C4: settings, caches (the login in progress, the session) and our keychain entries.
      const held = session;
      dropSession();
      abandonLogin('app data reset');
      await endPortalSession();
      if (held) {
        try {
          await slsd.logout(held.token);
        } catch {
          // Best effort: the token is forgotten here regardless.
        }
      }
      settings.clear();
      await deps.clearCaches?.();
      const keychainAvailable = await keychain.available();
      const keychainEntriesRemoved = keychainAvailable ? await keychain.clear() : 0;
      log(`app data reset keychainEntriesRemoved=${keychainEntriesRemoved}`);
      return { settingsCleared: true, keychainAvailable, keychainEntriesRemoved };
    },

    async getAppInfo() {
      return deps.appInfo;
    },

    async getConnectedCards() {
      return { serials: [...dscplus.connected()] };
    },

    // Account security (SPEC C1, C6): slsd decides; the host adds the token and the idempotency key.
    getWithdrawals: async () => authed('GET', '/withdrawals', WithdrawalOverview),
    async startWithdrawal(input) {
      await stopCardConfirmation();
      const c = await authed('POST', '/withdrawals/challenge', ConfirmationChallenge, input);
      await noteCardChallenge(c);
      return c;
    },
    async confirmWithdrawalOnCard(input) {
      const response = await answerOnCard(input.confirmationId);
      return confirmWithdrawal({ confirmationId: input.confirmationId, amountCents: input.amountCents, response });
    },
    async cancelCardConfirmation() {
      await stopCardConfirmation();
      return { ok: true };
    },
    confirmWithdrawal: (input) => confirmWithdrawal(input),
    getDevices: async () => authed('GET', '/devices', DevicesOverview),
    orderDscPlus: async () => authed('POST', '/devices/orders', DeviceOrder, { kind: 'dscplus' }),
    getOptOut: async () => authed('GET', '/sls/opt-out', OptOutStatus),
    optOut: async () => authed('POST', '/sls/opt-out', OptOutStatus, {}),
    optIn: async () => authed('POST', '/sls/opt-in', OptOutStatus, {}),
    async startSharing(input) {
      await stopCardConfirmation();
      const started = await authed('POST', '/sharing', SharingStartResponse, input);
      // SPEC S3, C2: the requester holds the owner's card; slsd names it by its serial once the owner's password was given.
      const ch = started.confirmation.challenge;
      if (ch.type === 'response_code' && ch.kind === 'dscplus' && started.request.device.serial) {
        noteChallengeOnCard(started.confirmation.confirmationId, started.request.device.serial, ch.challenge);
      }
      return started;
    },
    answerSharing: async (input) => answerSharing(input.requestId, input.confirmationId, input.response),
    async answerSharingOnCard(input) {
      const response = await answerOnCard(input.confirmationId);
      return answerSharing(input.requestId, input.confirmationId, response);
    },
    submitSharing: async (input) => authed('POST', `/sharing/${idSegment(input.requestId)}/submit`, SharingView, {}),
    async getSharings() {
      const list = await authed('GET', '/sharing', SharingList);
      // SPEC S3, C2: a started request's challenge, given again after the desktop restarted, goes to the
      // owner's card plugged in as it did when the request started (not only to the typed response).
      for (const r of list.requests) {
        const ch = r.challenge?.challenge;
        if (r.state === 'started' && r.challenge && ch?.type === 'response_code' && ch.kind === 'dscplus' && r.device.serial) {
          noteChallengeOnCard(r.challenge.confirmationId, r.device.serial, ch.challenge);
        }
      }
      return list;
    },
    cancelSharing: async (input) => authed('POST', `/sharing/${idSegment(input.requestId)}/cancel`, SharingView, {}),
    getMobileNumber: async () => authed('GET', '/mobile-number', MobileNumberStatus),
    setMobileNumber: async (input) => authed('POST', '/mobile-number', MobileNumberStatus, input),
    verifyMobileNumber: async (input) => authed('POST', '/mobile-number/verify', MobileNumberVerifyResponse, input),
    // Devices (SPEC D6, D8, T3).
    async startDeviceActivation(input) {
      await stopCardConfirmation();
      const c = await authed('POST', '/devices/activation', ActivationChallenge, input);
      // SPEC D6, C2: the card being activated is not active yet, so it is known by the serial just typed.
      const ch = c.challenge;
      if (ch.type === 'response_code' && ch.kind === 'dscplus') noteChallengeOnCard(c.confirmationId, input.serial.trim(), ch.challenge);
      return c;
    },
    completeDeviceActivation: async (input) => completeDeviceActivation(input.confirmationId, input.response),
    async completeDeviceActivationOnCard(input) {
      const response = await answerOnCard(input.confirmationId);
      return completeDeviceActivation(input.confirmationId, response);
    },
    reportDevice: async (input) =>
      authed('POST', `/devices/${idSegment(input.deviceId)}/report`, DeviceReportResponse, { reason: input.reason, replace: input.replace }),
    returnDevice: async (input) => authed('POST', `/devices/${idSegment(input.deviceId)}/return`, AccountDeviceView, {}),
    cancelDeviceOrder: async (input) => authed('POST', `/devices/orders/${idSegment(input.orderId)}/cancel`, DeviceOrder, {}),
    // Temporary access (SPEC T1, T2): the card, and its PDF offered by the host (never the token).
    getOnlineCard: async () => authed('POST', '/temporary-access/online-card', OnlineCard, {}),
    async downloadOnlineCard() {
      const pdf = await authed('POST', '/temporary-access/online-card/pdf', OnlineCardPdf, {});
      if (!deps.offerFile) throw new SlsdError({ code: 'SLS_ERR_HOST_INTERNAL', message: 'This app cannot offer files.' }, null);
      const fileName = `online-security-code-card-${pdf.validUntil.slice(0, 10)}.pdf`;
      const offered = await deps.offerFile({ name: fileName, type: 'application/pdf', bytes: Buffer.from(pdf.pdfBase64, 'base64') });
      log('online code card offered');
      return { fileName, url: 'url' in offered ? offered.url : null, savedTo: 'savedTo' in offered ? offered.savedTo : null, validUntil: pdf.validUntil };
    },

    async close() {
      await stopCardConfirmation();
      stopExpiryWatch();
      unsubscribeDsc();
      await dscplus.close();
    },
  };
}
