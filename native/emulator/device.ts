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
 * - unplugging forgets every channel (the card loses power).
 */
import { EventEmitter } from 'node:events';
import { hexToBytes } from '@noble/hashes/utils.js';
import { deviceResponse } from '../../core/codes.ts';
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
const PIN_LENGTH = 4;

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
}

interface PendingRespond {
  readonly cid: number;
  readonly challenge: string;
  entered: string;
  phase: 'pin' | 'checking';
  keepAlive: ReturnType<typeof setInterval>;
  userTimer: ReturnType<typeof setTimeout>;
}

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
  #msgTimer: ReturnType<typeof setTimeout> | undefined;
  #screen: DeviceScreen;

  constructor(options: DscPlusDeviceOptions) {
    super();
    this.#state = options.state;
    this.#save = options.save;
    this.#keepAliveMs = options.keepAliveIntervalMs ?? KEEPALIVE_INTERVAL_MS;
    this.#checkPin = options.checkPin ?? checkDscPlusPinAsync;
    this.#rng = options.rng ?? ((n) => crypto.getRandomValues(new Uint8Array(n)));
    this.#now = options.now ?? (() => performance.now());
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

  /** Plugs the card into a host: packets to the host go to `link`. */
  plug(link: (packet: Uint8Array) => void): void {
    this.#powerOff();
    this.#link = link;
    this.#show(this.#idleScreen());
  }

  /** Unplugs: the card loses power, forgets its channels and any message or RESPOND in progress. */
  unplug(): void {
    this.#powerOff();
    this.#show({ title: 'DSC+', line: 'Unplugged' });
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
        clearTimeout(this.#msgTimer);
        this.#dispatch(event.message);
        return;
      case 'partial':
        this.#armMessageTimeout();
        return;
      case 'error':
        if (event.aborted) clearTimeout(this.#msgTimer);
        this.#error(event.cid, event.code);
        return;
      case 'ignored':
        return;
    }
  }

  // Keypad input (through `keypad`).
  keyDigit(digit: string): void {
    const r = this.#respond;
    if (!r || r.phase !== 'pin' || r.entered.length >= PIN_LENGTH) return;
    r.entered += digit;
    this.#showPrompt(r);
  }

  keyBackspace(): void {
    const r = this.#respond;
    if (!r || r.phase !== 'pin') return;
    r.entered = r.entered.slice(0, -1);
    this.#showPrompt(r);
  }

  keyCancel(): void {
    const r = this.#respond;
    if (!r || r.phase !== 'pin') return;
    this.#endRespond();
    this.#error(r.cid, ErrorCode.USER_CANCELLED);
    this.#show({ title: 'DSC+', line: 'Cancelled' });
  }

  keyOk(): void {
    const r = this.#respond;
    if (!r || r.phase !== 'pin' || r.entered.length < PIN_LENGTH) return;
    r.phase = 'checking';
    this.#show({ title: `Challenge ${r.challenge}`, line: 'Checking PIN…' });
    void this.#verifyPin(r, r.entered);
    r.entered = '';
  }

  async #verifyPin(r: PendingRespond, pin: string): Promise<void> {
    const state = this.#state;
    let answer: HidMessage;
    try {
      const ok = await this.#checkPin(state, pin);
      this.emit('pinChecked', { ok });
      if (ok) {
        const response = deviceResponse('dscplus', hexToBytes(state.secretHex), r.challenge, {
          pinHash: ocraPasswordHash(state.suite, pin),
        });
        if (state.triesLeft !== DSCPLUS_MAX_TRIES) await this.#persist({ ...this.#state, triesLeft: DSCPLUS_MAX_TRIES });
        const payload = new Uint8Array(2 + response.length);
        payload[0] = 0;
        payload[1] = response.length;
        payload.set(new TextEncoder().encode(response), 2);
        answer = { cid: r.cid, cmd: Command.RESPOND, payload };
        if (this.#respond === r) this.#show({ title: 'DSC+', line: 'PIN OK' });
      } else {
        const triesLeft = Math.max(0, this.#state.triesLeft - 1);
        await this.#persist({ ...this.#state, triesLeft });
        const code = triesLeft === 0 ? ErrorCode.PIN_BLOCKED : ErrorCode.PIN_INVALID;
        answer = errorMessage(r.cid, code);
        if (this.#respond === r) this.#show({ title: 'Wrong PIN', line: triesLeft === 0 ? 'PIN blocked' : `${triesLeft} tries left` });
      }
    } catch {
      answer = errorMessage(r.cid, ErrorCode.OTHER);
    }
    if (this.#respond !== r) return; // unplugged or resynchronised meanwhile
    this.#endRespond();
    this.#send(answer);
  }

  async #persist(state: DscPlusState): Promise<void> {
    this.#state = state;
    await this.#save(state);
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
      deviceResponse('dscplus', hexToBytes(this.#state.secretHex), challenge, { pinHash: new Uint8Array(20) });
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
    this.#show({ title: `Challenge ${r.challenge}`, line: `Enter PIN ${'*'.repeat(r.entered.length)}${'_'.repeat(PIN_LENGTH - r.entered.length)}` });
  }

  #idleScreen(): DeviceScreen {
    return { title: `DSC+ ${this.#state.serial}`, line: this.#state.triesLeft === 0 ? 'PIN blocked' : 'Ready' };
  }

  #show(screen: DeviceScreen): void {
    this.#screen = screen;
    this.emit('screen', screen);
  }
}

function errorMessage(cid: number, code: number): HidMessage {
  return { cid, cmd: Command.ERROR, payload: new Uint8Array([code]) };
}
