/**
 * The DSC+ in software: the protocol state machine, its screen and its keypad.
 *
 * Implements protocols/dscplus-hid.md from the device's side (SPEC H2): channels and INIT resync,
 * broadcast, CHANNEL_BUSY, INVALID_SEQ, MSG_TIMEOUT, INVALID_LEN/PAR, RESPOND waiting for the PIN with
 * KEEPALIVEs, tries persisted on every wrong PIN, PIN_BLOCKED, CANCEL, USER_TIMEOUT. It knows nothing
 * of sockets: packets come in through `receive()` and go out through the link given to `plug()`.
 *
 * Choices the protocol page leaves open (documented here, tested in emulator.test.ts):
 * - a command on a channel never allocated answers ERROR OTHER; a non-INIT on broadcast INVALID_CMD;
 * - CANCEL with no RESPOND pending has no answer (as CTAPHID);
 * - OK on the keypad with fewer than 4 digits is ignored (the PIN is 4 digits, SPEC D2);
 * - a right PIN restores the 3 tries; a blocked card answers RESPOND with PIN_BLOCKED at once;
 * - a challenge the suite cannot take (QN06: not 6 digits) is INVALID_PAR, like a malformed one;
 * - unplugging forgets every channel and the RESPOND in progress (USB power is gone);
 * - the Enter-PIN screen that follows a wrong PIN says so ("Wrong PIN, 2 left" over "Enter PIN ____")
 *   until the first digit is typed, then shows the challenge again: the host asks again at once after
 *   PIN_INVALID (electron/host/dscplus-devices.ts), which would otherwise replace the card's "Wrong PIN"
 *   screen before anyone looking at the card could read it. The protocol leaves the screen to the card,
 *   so this is the card's business, not a delay in the host.
 *
 * Offline, as on paper (SPEC C2 "a card without USB", D2): from the idle screen, digits typed on the
 * keypad start "Enter PIN" (masked); OK checks it like a RESPOND does (same tries, same blocking, saved
 * the same way; a blocked card refuses to start); then "Challenge ______" takes the challenge the app
 * shows (the DSC+ suite's length, core/devices.ts), and OK shows "Response 12345678", computed exactly as
 * for RESPOND (`cardResponse`), until any key or the offline timeout. Cancel returns to the idle screen
 * at any step. The card's battery keeps an offline entry going across plugging and unplugging. A host
 * RESPOND accepted meanwhile aborts the offline entry (its digits and PIN are forgotten; a PIN being
 * checked still counts) and is handled as usual: the USB request wins, as on the real card, so a login
 * that sends the challenge to the card is never blocked by someone's half-typed offline code.
 */
import { EventEmitter } from 'node:events';
import { hexToBytes } from '@noble/hashes/utils.js';
import { deviceResponse } from '../../core/codes.ts';
import { DEVICE_CATALOGUE } from '../../core/devices.ts';
import { ocraPasswordHash } from '../../core/ocra.ts';
import { checkDscPlusPinAsync, DSCPLUS_MAX_TRIES, type DscPlusState } from '../../core/dscplus-state.ts';
import {
  BROADCAST_CID, Command, ErrorCode, KeepAliveStatus, Reassembler, encodeMessage, type HidMessage,
} from '../framing.ts';

/** Protocol version in the INIT answer. */
export const PROTOCOL_VERSION = 1;
/** Capability flags: bit 0 keypad, bit 1 display. */
export const CAPABILITIES = 0b11;
/** RESPOND timeout when the host sends 0. */
export const DEFAULT_USER_TIMEOUT_S = 60;
/** KEEPALIVE period; the protocol asks for at least every 100 ms. */
export const KEEPALIVE_INTERVAL_MS = 50;
/** How long an offline entry (or its response on the screen) waits for a key before going back to idle. */
export const DEFAULT_OFFLINE_TIMEOUT_MS = DEFAULT_USER_TIMEOUT_S * 1000;
const PIN_LENGTH = 4;
/** The challenge typed offline: the DSC+ suite's length (QN06, SPEC D2). */
const CHALLENGE_LENGTH = DEVICE_CATALOGUE.dscplus.challengeLength ?? 6;
const OFFLINE_TITLE = 'DSC+ offline';

/** The two lines of the card's screen. */
export interface DeviceScreen {
  readonly title: string;
  readonly line: string;
}

export interface DeviceEvents {
  screen: [DeviceScreen];
  /** A RESPOND is waiting for the PIN (the moment a person or test types it). */
  pinPrompt: [{ readonly challenge: string }];
  /** The PIN typed was checked (the end of the PIN wait; the bench measures without it). */
  pinChecked: [{ readonly ok: boolean }];
  /** The card's state changed and was saved (tries). */
  stateSaved: [DscPlusState];
}

export interface DscPlusDeviceOptions {
  readonly state: DscPlusState;
  /** Persists the state (tries); the device waits for it before answering. */
  readonly save: (state: DscPlusState) => Promise<void>;
  readonly keepAliveIntervalMs?: number;
  /** Checks a typed PIN against the state's hash; default `checkDscPlusPinAsync` (core). */
  readonly checkPin?: (state: DscPlusState, pin: string) => Promise<boolean>;
  readonly rng?: (n: number) => Uint8Array;
  readonly now?: () => number;
  /** Offline entry: idle time before it goes back to the idle screen; default DEFAULT_OFFLINE_TIMEOUT_MS. */
  readonly offlineTimeoutMs?: number;
}

interface PendingRespond {
  readonly cid: number;
  readonly challenge: string;
  entered: string;
  phase: 'pin' | 'checking';
  keepAlive: ReturnType<typeof setInterval>;
  userTimer: ReturnType<typeof setTimeout>;
}

/** A code being worked out on the keypad without USB (see the header). */
interface OfflineEntry {
  phase: 'pin' | 'checking' | 'challenge' | 'response';
  /** The PIN's digits (phase pin) or the challenge's (phase challenge). */
  entered: string;
  /** The right PIN's OCRA password hash, between the PIN and the challenge; never the PIN itself. */
  pinHash: Uint8Array | null;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** What a PIN typed on the keypad did to the card (`ok`, or the tries left after a wrong one; 0 = blocked). */
type PinOutcome = { readonly ok: true } | { readonly ok: false; readonly triesLeft: number };

/** The card's keypad: digits, OK, backspace, cancel. */
export class Keypad {
  constructor(readonly device: DscPlusDevice) {}
  /** Types digits (other characters are ignored, as a keypad has none). */
  press(keys: string): this {
    for (const key of keys) if (/\d/.test(key)) this.device.keyDigit(key);
    return this;
  }
  ok(): this {
    this.device.keyOk();
    return this;
  }
  backspace(): this {
    this.device.keyBackspace();
    return this;
  }
  cancel(): this {
    this.device.keyCancel();
    return this;
  }
  /** Digits then OK. */
  enter(pin: string): this {
    return this.press(pin).ok();
  }
}

export class DscPlusDevice extends EventEmitter<DeviceEvents> {
  readonly keypad = new Keypad(this);
  #state: DscPlusState;
  readonly #save: (state: DscPlusState) => Promise<void>;
  readonly #keepAliveMs: number;
  readonly #checkPin: (state: DscPlusState, pin: string) => Promise<boolean>;
  readonly #rng: (n: number) => Uint8Array;
  readonly #now: () => number;
  readonly #reassembler = new Reassembler();
  readonly #channels = new Set<number>();
  #link: ((packet: Uint8Array) => void) | null = null;
  #respond: PendingRespond | null = null;
  #offline: OfflineEntry | null = null;
  readonly #offlineTimeoutMs: number;
  /** Tries left after the last PIN, while it was wrong: the next Enter-PIN screen says so (see the header). */
  #wrongPinNotice: number | null = null;
  #msgTimer: ReturnType<typeof setTimeout> | undefined;
  /** The state file save in progress (saves run one at a time, in order). */
  #saving: Promise<void> = Promise.resolve();
  #screen: DeviceScreen;

  constructor(options: DscPlusDeviceOptions) {
    super();
    this.#state = options.state;
    this.#save = options.save;
    this.#keepAliveMs = options.keepAliveIntervalMs ?? KEEPALIVE_INTERVAL_MS;
    this.#checkPin = options.checkPin ?? checkDscPlusPinAsync;
    this.#rng = options.rng ?? ((n) => crypto.getRandomValues(new Uint8Array(n)));
    this.#now = options.now ?? (() => performance.now());
    this.#offlineTimeoutMs = options.offlineTimeoutMs ?? DEFAULT_OFFLINE_TIMEOUT_MS;
    this.#screen = this.#idleScreen();
  }

  get state(): Readonly<DscPlusState> {
    return this.#state;
  }

  get screen(): DeviceScreen {
    return this.#screen;
  }

  get plugged(): boolean {
    return this.#link !== null;
  }

  /** Whether a RESPOND is waiting for the PIN. */
  get waitingForPin(): boolean {
    return this.#respond?.phase === 'pin';
  }

  /** Whether a code is being worked out on the keypad without USB (offline entry, see the header). */
  get offline(): boolean {
    return this.#offline !== null;
  }

  /** Plugs the card into a host: packets to the host go to `link`. An offline entry goes on. */
  plug(link: (packet: Uint8Array) => void): void {
    this.#powerOff();
    this.#link = link;
    if (!this.#offline) this.#show(this.#idleScreen());
  }

  /** Unplugs: forgets its channels and any message or RESPOND in progress. An offline entry goes on (battery). */
  unplug(): void {
    this.#powerOff();
    if (!this.#offline) this.#show({ title: 'DSC+', line: 'Unplugged' });
  }

  /** Stops for good: unplugged, and any offline entry ended (no timer left behind). */
  shutdown(): void {
    this.#endOffline();
    this.unplug();
  }

  #powerOff(): void {
    this.#link = null;
    this.#endRespond();
    this.#channels.clear();
    this.#reassembler.reset();
    clearTimeout(this.#msgTimer);
  }

  /** One packet from the host. */
  receive(packet: Uint8Array): void {
    const event = this.#reassembler.push(packet, this.#now());
    switch (event.type) {
      case 'message':
        // Not a plain clearTimeout: an INIT from another channel gets through while a message is
        // being received, and that message must still time out (protocol page, MSG_TIMEOUT), or the
        // card would answer CHANNEL_BUSY to every channel for good.
        this.#armMessageTimeout();
        this.#dispatch(event.message);
        return;
      case 'partial':
        this.#armMessageTimeout();
        return;
      case 'error':
        this.#armMessageTimeout(); // still pending after CHANNEL_BUSY to another channel: its clock runs on
        this.#error(event.cid, event.code);
        return;
      case 'ignored':
        return;
    }
  }

  // Keypad input (through `keypad`): to the RESPOND waiting for the PIN, else to an offline entry.
  keyDigit(digit: string): void {
    const r = this.#respond;
    if (!r) return this.#offlineDigit(digit);
    if (r.phase !== 'pin' || r.entered.length >= PIN_LENGTH) return;
    r.entered += digit;
    this.#wrongPinNotice = null; // read: the prompt shows the challenge again
    this.#showPrompt(r);
  }

  keyBackspace(): void {
    const r = this.#respond;
    if (!r) return this.#offlineKey('backspace');
    if (r.phase !== 'pin') return;
    r.entered = r.entered.slice(0, -1);
    this.#showPrompt(r);
  }

  keyCancel(): void {
    const r = this.#respond;
    if (!r) return this.#offlineKey('cancel');
    if (r.phase !== 'pin') return;
    this.#endRespond();
    this.#error(r.cid, ErrorCode.USER_CANCELLED);
    this.#show({ title: 'DSC+', line: 'Cancelled' });
  }

  keyOk(): void {
    const r = this.#respond;
    if (!r) return this.#offlineKey('ok');
    if (r.phase !== 'pin' || r.entered.length < PIN_LENGTH) return;
    r.phase = 'checking';
    this.#show({ title: `Challenge ${r.challenge}`, line: 'Checking PIN…' });
    void this.#verifyPin(r, r.entered);
    r.entered = '';
  }

  async #verifyPin(r: PendingRespond, pin: string): Promise<void> {
    let answer: HidMessage;
    try {
      const outcome = await this.#checkPinAndCount(pin);
      if (outcome.ok) {
        const response = cardResponse(this.#state, r.challenge, ocraPasswordHash(this.#state.suite, pin));
        const payload = new Uint8Array(2 + response.length);
        payload[0] = 0;
        payload[1] = response.length;
        payload.set(new TextEncoder().encode(response), 2);
        answer = { cid: r.cid, cmd: Command.RESPOND, payload };
        if (this.#respond === r) this.#show({ title: 'DSC+', line: 'PIN OK' });
      } else {
        const code = outcome.triesLeft === 0 ? ErrorCode.PIN_BLOCKED : ErrorCode.PIN_INVALID;
        answer = errorMessage(r.cid, code);
        if (this.#respond === r) this.#show(wrongPinScreen(outcome.triesLeft));
      }
    } catch {
      answer = errorMessage(r.cid, ErrorCode.OTHER);
    }
    if (this.#respond !== r) return; // unplugged or resynchronised meanwhile
    this.#endRespond();
    this.#send(answer);
  }

  /**
   * Checks a PIN typed on the keypad and counts it (SPEC H2), for RESPOND and offline alike: a wrong
   * one costs a try, saved before the answer; a right one restores the 3 tries. A card blocked
   * meanwhile (by the other path) refuses any PIN.
   */
  async #checkPinAndCount(pin: string): Promise<PinOutcome> {
    if (this.#state.triesLeft === 0) return { ok: false, triesLeft: 0 };
    const ok = await this.#checkPin(this.#state, pin);
    this.emit('pinChecked', { ok });
    // Blocked while this PIN was being checked (a wrong PIN by the other path, checked at the same
    // time): three wrong PINs block the card, so not even the right one counts now (SPEC H2).
    if (this.#state.triesLeft === 0) return { ok: false, triesLeft: 0 };
    if (ok) {
      this.#wrongPinNotice = null;
      if (this.#state.triesLeft !== DSCPLUS_MAX_TRIES) await this.#persist({ ...this.#state, triesLeft: DSCPLUS_MAX_TRIES });
      return { ok };
    }
    const triesLeft = Math.max(0, this.#state.triesLeft - 1);
    this.#wrongPinNotice = triesLeft > 0 ? triesLeft : null;
    await this.#persist({ ...this.#state, triesLeft });
    return { ok, triesLeft };
  }

  // Offline entry (see the header) ------------------------------------------------------------

  #offlineDigit(digit: string): void {
    const o = this.#offline;
    if (!o) {
      if (this.#state.triesLeft === 0) return this.#show(this.#idleScreen()); // blocked: no PIN, no code
      this.#offline = { phase: 'pin', entered: '', pinHash: null, timer: undefined };
      return this.#offlineDigit(digit);
    }
    this.#armOfflineTimer(o);
    if (o.phase === 'response') return this.#endOffline(this.#idleScreen());
    if (o.phase === 'pin' && o.entered.length < PIN_LENGTH) {
      o.entered += digit;
      this.#wrongPinNotice = null;
    } else if (o.phase === 'challenge' && o.entered.length < CHALLENGE_LENGTH) {
      o.entered += digit;
    } else {
      return;
    }
    this.#showOffline(o);
  }

  #offlineKey(key: 'ok' | 'backspace' | 'cancel'): void {
    const o = this.#offline;
    if (!o) return;
    this.#armOfflineTimer(o);
    if (key === 'cancel' || o.phase === 'response') return this.#endOffline(this.#idleScreen());
    if (o.phase === 'checking') return;
    if (key === 'backspace') {
      o.entered = o.entered.slice(0, -1);
      return this.#showOffline(o);
    }
    if (o.phase === 'pin' && o.entered.length === PIN_LENGTH) {
      const pin = o.entered;
      o.phase = 'checking';
      o.entered = '';
      this.#show({ title: OFFLINE_TITLE, line: 'Checking PIN…' });
      void this.#verifyOfflinePin(o, pin);
    } else if (o.phase === 'challenge' && o.entered.length === CHALLENGE_LENGTH) {
      const challenge = o.entered;
      let response: string;
      try {
        response = cardResponse(this.#state, challenge, o.pinHash!);
      } catch {
        return this.#endOffline({ title: OFFLINE_TITLE, line: 'Error' });
      }
      o.phase = 'response';
      o.entered = '';
      o.pinHash = null; // one code per PIN, as the card would
      this.#show({ title: `Challenge ${challenge}`, line: `Response ${response}` });
    }
  }

  async #verifyOfflinePin(o: OfflineEntry, pin: string): Promise<void> {
    let outcome: PinOutcome;
    try {
      outcome = await this.#checkPinAndCount(pin);
    } catch {
      if (this.#offline === o) this.#endOffline({ title: OFFLINE_TITLE, line: 'Error' });
      return;
    }
    if (this.#offline !== o) {
      // Cancelled, timed out or taken over by a RESPOND: the try counted all the same, and a RESPOND's
      // prompt with nothing typed yet says so.
      if (this.#respond?.phase === 'pin') this.#showPrompt(this.#respond);
      return;
    }
    if (outcome.ok) {
      o.phase = 'challenge';
      o.pinHash = ocraPasswordHash(this.#state.suite, pin);
      this.#showOffline(o);
    } else if (outcome.triesLeft === 0) {
      this.#endOffline(wrongPinScreen(0));
    } else {
      o.phase = 'pin'; // ask again, saying it was wrong
      this.#showOffline(o);
    }
  }

  #armOfflineTimer(o: OfflineEntry): void {
    clearTimeout(o.timer);
    o.timer = setTimeout(() => {
      if (this.#offline === o) this.#endOffline(this.#idleScreen());
    }, this.#offlineTimeoutMs);
    o.timer.unref?.();
  }

  /** Ends an offline entry, forgetting what was typed; shows `screen` if given. */
  #endOffline(screen?: DeviceScreen): void {
    const o = this.#offline;
    if (!o) return;
    clearTimeout(o.timer);
    o.entered = '';
    o.pinHash = null;
    this.#offline = null;
    if (screen) this.#show(screen);
  }

  #showOffline(o: OfflineEntry): void {
    if (o.phase === 'pin') {
      this.#show({ title: this.#pinTitle(OFFLINE_TITLE, o.entered), line: pinLine(o.entered) });
    } else if (o.phase === 'challenge') {
      this.#show({ title: OFFLINE_TITLE, line: `Challenge ${o.entered}${'_'.repeat(CHALLENGE_LENGTH - o.entered.length)}` });
    }
  }

  /**
   * Saves one state after the other: two PINs checked at once (offline and RESPOND) must not let an
   * older save land last, or the state file would give back a try (or unblock) at the next start.
   */
  async #persist(state: DscPlusState): Promise<void> {
    this.#state = state;
    const saved = this.#saving.then(() => this.#save(state));
    this.#saving = saved.catch(() => {});
    await saved;
    this.emit('stateSaved', state);
  }

  #dispatch(message: HidMessage): void {
    const { cid, cmd, payload } = message;
    if (cmd === Command.INIT) return this.#init(cid, payload);
    if (cid === BROADCAST_CID) return this.#error(cid, ErrorCode.INVALID_CMD);
    if (!this.#channels.has(cid)) return this.#error(cid, ErrorCode.OTHER);
    if (this.#respond) {
      if (cmd === Command.CANCEL && cid === this.#respond.cid && this.#respond.phase === 'pin') {
        const r = this.#respond;
        this.#endRespond();
        this.#show({ title: 'DSC+', line: 'Cancelled' });
        return this.#error(r.cid, ErrorCode.USER_CANCELLED);
      }
      if (cmd === Command.CANCEL && cid === this.#respond.cid) return; // too late: the PIN is being checked
      return this.#error(cid, ErrorCode.CHANNEL_BUSY);
    }
    switch (cmd) {
      case Command.PING:
        return this.#send({ cid, cmd, payload });
      case Command.INFO:
        if (payload.length !== 0) return this.#error(cid, ErrorCode.INVALID_LEN);
        return this.#send({ cid, cmd, payload: this.#infoPayload() });
      case Command.RESPOND:
        return this.#startRespond(cid, payload);
      case Command.CANCEL:
        return; // nothing to cancel: no answer (CTAPHID)
      default:
        return this.#error(cid, ErrorCode.INVALID_CMD);
    }
  }

  #init(cid: number, nonce: Uint8Array): void {
    if (nonce.length !== 8) return this.#error(cid, ErrorCode.INVALID_LEN);
    let newCid: number;
    if (cid === BROADCAST_CID) {
      do {
        const b = this.#rng(4);
        newCid = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
      } while (newCid === 0 || newCid === BROADCAST_CID || this.#channels.has(newCid));
      this.#channels.add(newCid);
    } else if (this.#channels.has(cid)) {
      newCid = cid; // resynchronisation: abort whatever the channel was doing
      if (this.#respond?.cid === cid) {
        this.#endRespond();
        this.#show(this.#idleScreen());
      }
    } else {
      return this.#error(cid, ErrorCode.OTHER);
    }
    const [major, minor, build] = this.#state.firmware;
    const payload = new Uint8Array(17);
    payload.set(nonce, 0);
    new DataView(payload.buffer).setUint32(8, newCid);
    payload.set([PROTOCOL_VERSION, major, minor, build, CAPABILITIES], 12);
    this.#send({ cid, cmd: Command.INIT, payload });
  }

  #infoPayload(): Uint8Array {
    const s = this.#state;
    const suite = new TextEncoder().encode(s.suite);
    const payload = new Uint8Array(14 + suite.length);
    payload.set(new TextEncoder().encode(s.serial), 0);
    payload.set([s.model, s.triesLeft, s.triesLeft === 0 ? 1 : 0, suite.length], 10);
    payload.set(suite, 14);
    return payload;
  }

  #startRespond(cid: number, payload: Uint8Array): void {
    if (payload.length < 2) return this.#error(cid, ErrorCode.INVALID_LEN);
    const length = payload[0]!;
    if (payload.length !== length + 2) return this.#error(cid, ErrorCode.INVALID_LEN);
    const challenge = new TextDecoder('latin1').decode(payload.subarray(1, 1 + length));
    if (!/^\d{4,10}$/.test(challenge) || !this.#suiteTakes(challenge)) return this.#error(cid, ErrorCode.INVALID_PAR);
    if (this.#state.triesLeft === 0) return this.#error(cid, ErrorCode.PIN_BLOCKED);
    const seconds = payload[length + 1]! || DEFAULT_USER_TIMEOUT_S;
    this.#endOffline(); // the USB request wins over an offline entry (see the header)
    const r: PendingRespond = {
      cid,
      challenge,
      entered: '',
      phase: 'pin',
      keepAlive: setInterval(() => {
        this.#send({
          cid,
          cmd: Command.KEEPALIVE,
          payload: new Uint8Array([r.phase === 'pin' ? KeepAliveStatus.WAITING_FOR_PIN : KeepAliveStatus.PROCESSING]),
        });
      }, this.#keepAliveMs),
      userTimer: setTimeout(() => {
        if (this.#respond !== r || r.phase !== 'pin') return;
        this.#endRespond();
        this.#show({ title: 'DSC+', line: 'Timed out' });
        this.#error(cid, ErrorCode.USER_TIMEOUT);
      }, seconds * 1000),
    };
    this.#respond = r;
    this.#send({ cid, cmd: Command.KEEPALIVE, payload: new Uint8Array([KeepAliveStatus.WAITING_FOR_PIN]) });
    this.#showPrompt(r);
    this.emit('pinPrompt', { challenge });
  }

  /** Whether the suite accepts the challenge (a dry run with a dummy PIN hash). */
  #suiteTakes(challenge: string): boolean {
    try {
      cardResponse(this.#state, challenge, new Uint8Array(20));
      return true;
    } catch {
      return false;
    }
  }

  #endRespond(): void {
    const r = this.#respond;
    if (!r) return;
    clearInterval(r.keepAlive);
    clearTimeout(r.userTimer);
    r.entered = '';
    this.#respond = null;
  }

  #armMessageTimeout(): void {
    clearTimeout(this.#msgTimer);
    const deadline = this.#reassembler.deadline;
    if (deadline === null) return;
    this.#msgTimer = setTimeout(() => {
      const event = this.#reassembler.expire(this.#now());
      if (event?.type === 'error') this.#error(event.cid, event.code);
      else this.#armMessageTimeout();
    }, Math.max(0, deadline - this.#now()) + 1);
  }

  #error(cid: number, code: number): void {
    this.#send(errorMessage(cid, code));
  }

  #send(message: HidMessage): void {
    const link = this.#link;
    if (!link) return;
    for (const packet of encodeMessage(message)) link(packet);
  }

  #showPrompt(r: PendingRespond): void {
    this.#show({ title: this.#pinTitle(`Challenge ${r.challenge}`, r.entered), line: pinLine(r.entered) });
  }

  /** An Enter-PIN screen's title: "Wrong PIN, 2 left" after a wrong PIN, until a digit is typed. */
  #pinTitle(title: string, entered: string): string {
    return this.#wrongPinNotice !== null && entered === '' ? `Wrong PIN, ${this.#wrongPinNotice} left` : title;
  }

  #idleScreen(): DeviceScreen {
    return { title: `DSC+ ${this.#state.serial}`, line: this.#state.triesLeft === 0 ? 'PIN blocked' : 'Ready' };
  }

  #show(screen: DeviceScreen): void {
    this.#screen = screen;
    this.emit('screen', screen);
  }
}

/**
 * The response the card gives (SPEC D2): the one OCRA computation behind RESPOND and the offline
 * keypad alike, with the OCRA password hash of the PIN typed on the keypad.
 */
function cardResponse(state: DscPlusState, challenge: string, pinHash: Uint8Array): string {
  return deviceResponse('dscplus', hexToBytes(state.secretHex), challenge, { pinHash });
}

function pinLine(entered: string): string {
  return `Enter PIN ${'*'.repeat(entered.length)}${'_'.repeat(PIN_LENGTH - entered.length)}`;
}

function wrongPinScreen(triesLeft: number): DeviceScreen {
  return { title: 'Wrong PIN', line: triesLeft === 0 ? 'PIN blocked' : `${triesLeft} tries left` };
}

function errorMessage(cid: number, code: number): HidMessage {
  return { cid, cmd: Command.ERROR, payload: new Uint8Array([code]) };
}
