/**
 * A plugged-in DSC+ answers the login's challenge by itself (SPEC C2, H2): the host side of UI.md screen 3.
 *
 * Wraps a host's dispatcher, so it works the same behind Electron's IPC and the browser host's
 * WebSocket without new contract calls:
 * - a `select_device` step preselects a connected card of the user (even over the last used one);
 * - a `challenge` step for a connected DSC+ sends the challenge to the card at once (RESPOND); the
 *   card's progress goes to the renderer as `dscplusStatus` events, the response straight on to
 *   slsd (it never reaches the renderer), and `waitForApproval` resolves with the outcome: signed
 *   in, or a coded error (`SLS_ERR_DSCPLUS_*`) saying why the user has to type instead;
 * - `selectDevice({ deviceId: <that card>, mode: 'offline' })` means "answer this card without its
 *   USB link": CANCEL to the card, and the same challenge back for typing (no slsd round trip);
 * - every other step of the login (respond typed, select another device, cancel, sign out) sends
 *   CANCEL to the card first;
 * - the card plugged in while its challenge shows starts RESPOND again;
 * - the Account screens' Client Portal login (`portalLogin`, the step-up of SPEC C6) is treated as `login`;
 * - the steps name their login (`loginId`, SPEC L6, C5), and so do the card's own: its response goes
 *   to slsd as a `respond` of the login whose challenge it answered, so the host refuses it should
 *   another login have become current meanwhile. A step naming another login than the card's passes
 *   to the host untouched (which refuses it): no CANCEL to the card of the login now current.
 */
import { CALLS, endsLogin } from '../../core/contract/index.ts';
import type { ApprovalView, CallResult, ClientError, DscPlusStatus, LoginStepView } from '../../core/contract/index.ts';
import { PinBlockedError, UserCancelledError, UserTimeoutError } from '../../native/dscplus-client.ts';
import { DeviceDisconnectedError, DeviceNotFoundError, TransportAbortedError } from '../../native/errors.ts';
import type { Dispatch } from './dispatcher.ts';
import type { DscPlusService } from './dscplus-service.ts';
import type { EventHub } from './events.ts';
import type { Host } from './index.ts';

/** The codes `waitForApproval` rejects with when the card cannot answer (the renderer falls back to typing, or to another device when blocked). */
export const DSCPLUS_ERROR_CODES = {
  disconnected: 'SLS_ERR_DSCPLUS_DISCONNECTED',
  blocked: 'SLS_ERR_DSCPLUS_BLOCKED',
  cancelled: 'SLS_ERR_DSCPLUS_CANCELLED',
  timeout: 'SLS_ERR_DSCPLUS_TIMEOUT',
  failed: 'SLS_ERR_DSCPLUS_FAILED',
} as const;

/** Calls that move the login on or end it: the card's pending RESPOND is cancelled first. */
const STOPS_THE_CARD = new Set(['login', 'portalLogin', 'selectDevice', 'respond', 'resendCode', 'cancelLogin', 'signOut', 'resetAppData']);
/** Calls after which a repeated wait no longer gets the card's sign-in: a new login, or none. */
const FORGETS_THE_SIGN_IN = STOPS_THE_CARD;

/** The login a step's input names (SPEC L6, C5), if any; the host checks it (the contract's `loginId`). */
function namedLoginId(input: unknown): string | undefined {
  const id = input && typeof input === 'object' ? (input as { loginId?: unknown }).loginId : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** How long a step waits for the card to confirm CANCEL before going on regardless. */
const CANCEL_WAIT_MS = 1_000;

interface CardChallenge {
  view: Extract<LoginStepView, { status: 'challenge' }>;
  deviceId: string;
  serial: string;
  challenge: string;
  /** The user chose to type the response (mode offline): no RESPOND for this challenge. */
  typed: boolean;
}

interface CardJob {
  for: CardChallenge;
  abort: AbortController;
  outcome: Promise<CallResult<ApprovalView>>;
  settled: boolean;
  /** The renderer has been handed this outcome. */
  consumed: boolean;
}

export interface DscPlusLoginOptions {
  dispatch: Dispatch;
  events: EventHub;
  dscplus: DscPlusService;
  log?: (line: string) => void;
}

export interface DscPlusLogin {
  dispatch: Dispatch;
  /** Cancels a pending RESPOND and stops listening to hot-plug. */
  close(): Promise<void>;
}

function cardError(code: string, message: string): ClientError {
  return { code, message };
}

/** The typed driver error as the coded error the renderer gets; the log gets the class name only. */
export function dscPlusClientError(e: unknown): ClientError {
  if (e instanceof PinBlockedError) return cardError(DSCPLUS_ERROR_CODES.blocked, 'This card is blocked after 3 wrong PINs.');
  if (e instanceof DeviceDisconnectedError || e instanceof DeviceNotFoundError) return cardError(DSCPLUS_ERROR_CODES.disconnected, 'The card was unplugged.');
  if (e instanceof UserCancelledError || e instanceof TransportAbortedError) return cardError(DSCPLUS_ERROR_CODES.cancelled, 'Cancelled on the card.');
  if (e instanceof UserTimeoutError) return cardError(DSCPLUS_ERROR_CODES.timeout, 'No PIN was entered on the card in time.');
  return cardError(DSCPLUS_ERROR_CODES.failed, 'The card did not answer.');
}

/** Wraps `dispatch` so a connected DSC+ answers its challenge by itself (see the file header). */
export function createDscPlusLogin(options: DscPlusLoginOptions): DscPlusLogin {
  const { dispatch: inner, events, dscplus } = options;
  const log = options.log ?? (() => {});
  let current: CardChallenge | null = null;
  let job: CardJob | null = null;
  let lastStatus: DscPlusStatus | null = null;
  /**
   * The card's sign-in, given again to a repeated wait for it: the login is over by then (the host
   * forgot it), and a renderer that asked twice must not be told it ended. Only to a wait naming that
   * login (SPEC L6, C5).
   */
  let cardSignIn: { loginId: string; result: CallResult<ApprovalView> } | null = null;

  const status = (s: DscPlusStatus) => {
    lastStatus = s;
    events.emit('dscplusStatus', s);
  };

  function isConnected(serial: string): boolean {
    return dscplus.connected().includes(serial);
  }

  function startJob(c: CardChallenge): CardJob {
    const abort = new AbortController();
    lastStatus = null;
    const j: CardJob = { for: c, abort, settled: false, consumed: false, outcome: Promise.resolve({ ok: false, error: cardError(DSCPLUS_ERROR_CODES.failed, '') }) };
    j.outcome = runCard(c, abort.signal).finally(() => {
      j.settled = true;
    });
    job = j;
    return j;
  }

  async function runCard(c: CardChallenge, signal: AbortSignal): Promise<CallResult<ApprovalView>> {
    let response: string;
    try {
      response = await dscplus.respond(c.serial, c.challenge, status, signal);
    } catch (e) {
      const error = dscPlusClientError(e);
      log(`DSC+ respond failed serial=${c.serial} ${e instanceof Error ? e.name : 'unknown'}`);
      status({ serial: c.serial, state: error.code === DSCPLUS_ERROR_CODES.cancelled ? 'cancelled' : 'failed', message: error.message });
      return { ok: false, error };
    }
    if (signal.aborted) return { ok: false, error: dscPlusClientError(new TransportAbortedError()) };
    status({ serial: c.serial, state: 'response_received' });
    // SPEC L6: the response answers the login whose challenge the card was given, never a newer one.
    const r = await inner('respond', { loginId: c.view.loginId, response });
    if (!r.ok) return r;
    const step = r.value as LoginStepView;
    if (current === c) current = null;
    if (step.status !== 'signed_in') {
      log(`DSC+ response led to ${step.status}, not signed in`);
      return { ok: false, error: { code: 'SLS_ERR_HOST_INTERNAL', message: 'Something went wrong in SLS Desktop.' } };
    }
    const signedIn: CallResult<ApprovalView> = { ok: true, value: CALLS.waitForApproval.output.parse({ status: 'signed_in', session: step.session }) };
    cardSignIn = { loginId: c.view.loginId, result: signedIn };
    return signedIn;
  }

  async function stopCard(): Promise<void> {
    const j = job;
    if (!j || j.settled) return;
    j.abort.abort();
    // The client sends CANCEL and settles once the card has stopped; a card that does not answer is not waited for long.
    await Promise.race([j.outcome, new Promise((r) => setTimeout(r, CANCEL_WAIT_MS).unref?.())]);
  }

  /** Bookkeeping after a step from slsd: preselect a connected card, arm a card challenge. */
  function afterStep(value: unknown): unknown {
    const step = value as LoginStepView;
    if (step.status === 'select_device') {
      current = null;
      const preselected = step.devices.find((d) => d.id === step.preselectedDeviceId);
      const card = preselected?.connected ? preselected : step.devices.find((d) => d.kind === 'dscplus' && d.connected);
      // SPEC C2: the card the user has plugged in is the one they mean to use, even over the last used device.
      return card ? { ...step, preselectedDeviceId: card.id } : step;
    }
    if (step.status === 'challenge') {
      const ch = step.challenge;
      const device = step.devices.find((d) => d.id === ch.deviceId);
      if (ch.type === 'response_code' && ch.kind === 'dscplus' && device?.serial) {
        current = { view: step, deviceId: device.id, serial: device.serial, challenge: ch.challenge, typed: false };
        if (isConnected(device.serial)) startJob(current);
      } else {
        current = null;
      }
      return step;
    }
    current = null;
    return step;
  }

  /**
   * SPEC L6, C5: before the card is asked again (the user sent the challenge back to it, or plugged it
   * in again), is the login still open? A login that expired or ended meanwhile (5 minutes on the typing
   * screen) would otherwise cost a PIN entry on the card before the user hears it is over. slsd decides
   * (no clock of ours): its status route answers SLS_ERR_NO_CHALLENGE for an open login that waits for
   * no IB Key, and the login's own end otherwise. Unreachable: the card is asked, as before.
   */
  async function loginEnded(c: CardChallenge): Promise<CallResult<unknown> | null> {
    const r = await inner('waitForApproval', { loginId: c.view.loginId, quick: true });
    if (r.ok || !endsLogin(r.error)) return null;
    log(`DSC+ not asked again: the login ended (${r.error.code})`);
    if (current) current = null;
    return r;
  }

  async function waitForCard(c: CardChallenge): Promise<CallResult<unknown>> {
    let j = job && job.for === c && (!job.settled || !job.consumed) ? job : null;
    if (!j) {
      if (!isConnected(c.serial)) return { ok: false, error: dscPlusClientError(new DeviceNotFoundError(c.serial)) };
      const ended = await loginEnded(c);
      if (ended) return ended;
      if (current !== c) return { ok: false, error: dscPlusClientError(new TransportAbortedError()) };
      j = job && job.for === c && !job.settled ? job : startJob(c);
    }
    j.consumed = true;
    // Statuses sent before the renderer listened (the card was armed with the step itself).
    if (lastStatus && !j.settled) events.emit('dscplusStatus', lastStatus);
    return j.outcome;
  }

  const unsubscribe = dscplus.subscribe((e) => {
    const c = current;
    if (e.type !== 'attached' || !c || c.typed || c.serial !== e.serial) return;
    if (job && job.for === c && !job.settled) return;
    // SPEC C2 hot-plug: plugged in while its challenge shows: send it to the card now, if the login is still open.
    void loginEnded(c).then((ended) => {
      if (ended || current !== c || c.typed || (job && job.for === c && !job.settled) || !isConnected(c.serial)) return;
      startJob(c);
    });
  });

  const dispatch: Dispatch = async (call, input) => {
    const named = namedLoginId(input);
    // SPEC L6, C5: a step naming another login than the card's (a screen left from an earlier login,
    // another window) is not the card's business: no CANCEL, no bookkeeping; the host refuses it.
    const ofAnother = (login: string | undefined) => named !== undefined && login !== undefined && named !== login;
    if (ofAnother(current?.view.loginId) || ofAnother(cardSignIn?.loginId)) return inner(call, input);
    const c = current;
    if (call === 'waitForApproval' && !c && cardSignIn) return cardSignIn.result;
    if (typeof call === 'string' && FORGETS_THE_SIGN_IN.has(call)) cardSignIn = null;
    if (call === 'waitForApproval' && c) {
      // The renderer waits on a card challenge only to have the card answer (again, after typing was chosen).
      c.typed = false;
      return waitForCard(c);
    }
    if (call === 'selectDevice' && c) {
      const parsed = CALLS.selectDevice.input.safeParse(input ?? {});
      if (parsed.success && parsed.data.mode === 'offline' && parsed.data.deviceId === c.deviceId) {
        c.typed = true;
        await stopCard();
        return { ok: true, value: c.view };
      }
    }
    if (typeof call === 'string' && STOPS_THE_CARD.has(call)) await stopCard();
    const r = await inner(call, input);
    // SPEC C6: the Account screens' Client Portal login (step-up) is a login like the others for the card.
    if (r.ok && (call === 'login' || call === 'portalLogin' || call === 'selectDevice' || call === 'respond' || call === 'resendCode')) {
      return { ok: true, value: afterStep(r.value) };
    }
    // SPEC L2, L5: a refused step that comes with the login's current step (a device gone) moves the login there too.
    if (!r.ok && r.error.loginStep && (call === 'selectDevice' || call === 'respond' || call === 'resendCode')) {
      return { ok: false, error: { ...r.error, loginStep: afterStep(r.error.loginStep) as LoginStepView } };
    }
    if (call === 'cancelLogin' || call === 'signOut' || call === 'resetAppData') current = null;
    return r;
  };

  return {
    dispatch,
    async close() {
      unsubscribe();
      current = null;
      await stopCard();
    },
  };
}

/** The host with its dispatcher wrapped by `createDscPlusLogin`; closing it cancels a pending RESPOND first. */
export function withDscPlusLogin(host: Host, dscplus: DscPlusService, log?: (line: string) => void): Host {
  const card = createDscPlusLogin({ dispatch: host.dispatch, events: host.events, dscplus, ...(log ? { log } : {}) });
  return {
    ...host,
    dispatch: card.dispatch,
    async close() {
      await card.close();
      await host.close();
    },
  };
}
