/**
 * The DSC+ driver's command layer: typed INIT, INFO, RESPOND, CANCEL and PING, typed errors.
 *
 * Sits on a Transport, so it runs the same against a USB card, the emulator's socket or a replayed
 * transcript (SPEC H2, protocols/dscplus-hid.md). The PIN never crosses USB: RESPOND only carries
 * the challenge, the card asks for the PIN on its own keypad.
 */
import { randomBytes } from 'node:crypto';
import { BROADCAST_CID, Command, ErrorCode, KeepAliveStatus, errorCodeName, toHex, type HidMessage } from './framing.ts';
import { DscPlusError, ProtocolError } from './errors.ts';
import { Transport, type HidChannel, type TransportOptions } from './transport.ts';

/** What INIT tells about the card. */
export interface DscPlusInitInfo {
  readonly cid: number;
  readonly protocolVersion: number;
  readonly firmware: readonly [number, number, number];
  readonly capabilities: { readonly keypad: boolean; readonly display: boolean };
}

/** What INFO tells about the card. */
export interface DscPlusInfo {
  readonly serial: string;
  /** 1 = DSC+. */
  readonly model: number;
  readonly triesLeft: number;
  readonly state: 'ready' | 'pin_blocked';
  readonly suite: string;
}

/** What the card is doing while a RESPOND is pending (from its KEEPALIVEs). */
export type DscPlusStatus = 'processing' | 'waiting_for_pin';

export interface CommandOptions {
  readonly signal?: AbortSignal;
  /** Longest silence from the card, ms (the transport's default otherwise). */
  readonly timeoutMs?: number;
}

export interface RespondOptions extends CommandOptions {
  /** How long the card waits for the PIN, 1–255 s; the card's default (60 s) if absent. */
  readonly timeoutSeconds?: number;
  /** Called on every KEEPALIVE: "waiting for PIN" is the moment to tell the user to look at the card. */
  readonly onStatus?: (status: DscPlusStatus) => void;
}

/** The card answered ERROR: the base of the per-code errors below. */
export class DeviceErrorResponse extends DscPlusError {
  readonly code: string;
  constructor(readonly deviceCode: number, message?: string) {
    const name = errorCodeName(deviceCode) ?? 'UNKNOWN';
    super(message ?? `the DSC+ answered ERROR ${name} (0x${deviceCode.toString(16).padStart(2, '0')})`);
    this.name = 'DeviceErrorResponse';
    this.code = `DEVICE_${name}`;
  }
}

export class InvalidCommandError extends DeviceErrorResponse {
  constructor() { super(ErrorCode.INVALID_CMD); this.name = 'InvalidCommandError'; }
}
export class InvalidParameterError extends DeviceErrorResponse {
  constructor() { super(ErrorCode.INVALID_PAR); this.name = 'InvalidParameterError'; }
}
export class InvalidLengthError extends DeviceErrorResponse {
  constructor() { super(ErrorCode.INVALID_LEN); this.name = 'InvalidLengthError'; }
}
export class InvalidSequenceError extends DeviceErrorResponse {
  constructor() { super(ErrorCode.INVALID_SEQ); this.name = 'InvalidSequenceError'; }
}
export class MessageTimeoutError extends DeviceErrorResponse {
  constructor() { super(ErrorCode.MSG_TIMEOUT); this.name = 'MessageTimeoutError'; }
}
/** The card is busy with another channel (another app, or a RESPOND waiting for the PIN). */
export class ChannelBusyError extends DeviceErrorResponse {
  constructor() { super(ErrorCode.CHANNEL_BUSY); this.name = 'ChannelBusyError'; }
}
/** A wrong PIN was typed on the card; `triesLeft` comes from a follow-up INFO (null if that failed). */
export class PinInvalidError extends DeviceErrorResponse {
  constructor(readonly triesLeft: number | null) {
    super(ErrorCode.PIN_INVALID, `wrong PIN on the DSC+${triesLeft === null ? '' : `, ${triesLeft} tries left`}`);
    this.name = 'PinInvalidError';
  }
}
/** No PIN tries are left: the card must be replaced or reset by the operator. */
export class PinBlockedError extends DeviceErrorResponse {
  constructor() { super(ErrorCode.PIN_BLOCKED, 'the DSC+ PIN is blocked'); this.name = 'PinBlockedError'; }
}
/** The user pressed cancel on the card, or the host sent CANCEL. */
export class UserCancelledError extends DeviceErrorResponse {
  constructor() { super(ErrorCode.USER_CANCELLED, 'cancelled on the DSC+'); this.name = 'UserCancelledError'; }
}
/** Nobody typed the PIN in time. */
export class UserTimeoutError extends DeviceErrorResponse {
  constructor() { super(ErrorCode.USER_TIMEOUT, 'no PIN was entered on the DSC+ in time'); this.name = 'UserTimeoutError'; }
}
export class DeviceOtherError extends DeviceErrorResponse {
  constructor(deviceCode: number = ErrorCode.OTHER) { super(deviceCode); this.name = 'DeviceOtherError'; }
}

/** The typed error for an ERROR code (PIN_INVALID without tries; the client fills them in). */
export function deviceError(code: number): DeviceErrorResponse {
  switch (code) {
    case ErrorCode.INVALID_CMD: return new InvalidCommandError();
    case ErrorCode.INVALID_PAR: return new InvalidParameterError();
    case ErrorCode.INVALID_LEN: return new InvalidLengthError();
    case ErrorCode.INVALID_SEQ: return new InvalidSequenceError();
    case ErrorCode.MSG_TIMEOUT: return new MessageTimeoutError();
    case ErrorCode.CHANNEL_BUSY: return new ChannelBusyError();
    case ErrorCode.PIN_INVALID: return new PinInvalidError(null);
    case ErrorCode.PIN_BLOCKED: return new PinBlockedError();
    case ErrorCode.USER_CANCELLED: return new UserCancelledError();
    case ErrorCode.USER_TIMEOUT: return new UserTimeoutError();
    default: return new DeviceOtherError(code);
  }
}

export interface DscPlusClientOptions extends TransportOptions {
  /** Random source for INIT nonces (injected for replayed transcripts). */
  readonly rng?: (n: number) => Uint8Array;
}

const ascii = new TextDecoder('ascii');
const CHALLENGE = /^\d{4,10}$/;

/**
 * A connected DSC+: one channel on one card.
 *
 * Commands are serialised by the transport: a second command while one is pending fails with
 * TransportBusyError. Create with `DscPlusClient.connect(channel)`, which allocates the channel.
 */
export class DscPlusClient {
  readonly transport: Transport;
  readonly #rng: (n: number) => Uint8Array;
  #cid: number = BROADCAST_CID;
  /** Whether a RESPOND is pending (close() cancels it on the card). */
  #responding = false;

  constructor(transport: Transport, options: Pick<DscPlusClientOptions, 'rng'> = {}) {
    this.transport = transport;
    this.#rng = options.rng ?? ((n) => new Uint8Array(randomBytes(n)));
  }

  /** Opens a client on a channel and allocates a CID with INIT on the broadcast channel. */
  static async connect(channel: HidChannel, options: DscPlusClientOptions & CommandOptions = {}): Promise<DscPlusClient> {
    const client = new DscPlusClient(new Transport(channel, options), options);
    try {
      await client.init(options);
    } catch (error) {
      await client.close().catch(() => {});
      throw error;
    }
    return client;
  }

  /** The allocated channel id (0xFFFFFFFF before INIT). */
  get cid(): number {
    return this.#cid;
  }

  /**
   * INIT: allocates a channel on broadcast, or resynchronises the allocated one (aborting whatever
   * it was doing).
   */
  async init(options: CommandOptions & { readonly broadcast?: boolean } = {}): Promise<DscPlusInitInfo> {
    const nonce = this.#rng(8);
    const cid = options.broadcast || this.#cid === BROADCAST_CID ? BROADCAST_CID : this.#cid;
    const expected = toHex(nonce);
    const answer = await this.transport.exchange(
      { cid, cmd: Command.INIT, payload: nonce },
      { ...options, accept: (m) => m.cmd !== Command.INIT || toHex(m.payload.subarray(0, 8)) === expected },
    );
    const p = expectAnswer(answer, Command.INIT);
    if (p.length < 17) throw new ProtocolError(`INIT answer of ${p.length} bytes`);
    const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
    const newCid = view.getUint32(8);
    if (newCid === BROADCAST_CID || newCid === 0) throw new ProtocolError('INIT allocated an invalid channel');
    this.#cid = newCid;
    return {
      cid: newCid,
      protocolVersion: p[12]!,
      firmware: [p[13]!, p[14]!, p[15]!],
      capabilities: { keypad: (p[16]! & 1) !== 0, display: (p[16]! & 2) !== 0 },
    };
  }

  /** INFO: serial, model, PIN tries left, state, OCRA suite. */
  async info(options: CommandOptions = {}): Promise<DscPlusInfo> {
    const p = expectAnswer(await this.#exchange(Command.INFO, new Uint8Array(), options), Command.INFO);
    if (p.length < 14) throw new ProtocolError(`INFO answer of ${p.length} bytes`);
    const serial = ascii.decode(p.subarray(0, 10));
    const suiteLength = p[13]!;
    if (!/^\d{10}$/.test(serial) || p.length !== 14 + suiteLength) throw new ProtocolError('malformed INFO answer');
    return {
      serial,
      model: p[10]!,
      triesLeft: p[11]!,
      state: p[12] === 1 ? 'pin_blocked' : 'ready',
      suite: ascii.decode(p.subarray(14)),
    };
  }

  /**
   * RESPOND: shows the challenge on the card, waits for the PIN on its keypad, resolves with the
   * response code (SPEC H2).
   *
   * Aborting the signal sends CANCEL and rejects with TransportAbortedError once the card has
   * stopped. A wrong PIN rejects with PinInvalidError carrying the tries left (a follow-up INFO).
   */
  async respond(challenge: string, options: RespondOptions = {}): Promise<string> {
    if (!CHALLENGE.test(challenge)) throw new InvalidParameterError();
    const seconds = options.timeoutSeconds ?? 0;
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 255) throw new RangeError('timeoutSeconds must be 0–255');
    const payload = new Uint8Array(challenge.length + 2);
    payload[0] = challenge.length;
    payload.set(new TextEncoder().encode(challenge), 1);
    payload[challenge.length + 1] = seconds;
    let answer: HidMessage;
    this.#responding = true;
    try {
      answer = await this.transport.exchange(
        { cid: this.#cid, cmd: Command.RESPOND, payload },
        {
          ...options,
          onKeepAlive: (status) => options.onStatus?.(status === KeepAliveStatus.WAITING_FOR_PIN ? 'waiting_for_pin' : 'processing'),
          onAbort: () => this.cancel(),
        },
      );
    } finally {
      this.#responding = false;
    }
    if (answer.cmd === Command.ERROR && answer.payload[0] === ErrorCode.PIN_INVALID) {
      const triesLeft = await this.info().then((i) => i.triesLeft, () => null);
      throw new PinInvalidError(triesLeft);
    }
    const p = expectAnswer(answer, Command.RESPOND);
    if (p.length < 2 || p[0] !== 0 || p.length !== 2 + p[1]!) throw new ProtocolError('malformed RESPOND answer');
    const response = ascii.decode(p.subarray(2));
    if (!/^\d+$/.test(response)) throw new ProtocolError('RESPOND answer is not digits');
    return response;
  }

  /** CANCEL: ends a pending RESPOND on this channel (which then fails with UserCancelledError). No answer of its own. */
  async cancel(): Promise<void> {
    await this.transport.send({ cid: this.#cid, cmd: Command.CANCEL, payload: new Uint8Array() });
  }

  /** PING: the card echoes the bytes. */
  async ping(data: Uint8Array, options: CommandOptions = {}): Promise<Uint8Array> {
    return expectAnswer(await this.#exchange(Command.PING, data, options), Command.PING);
  }

  /** Registers a listener for the card going away; returns its unsubscribe function. */
  onDisconnect(listener: (error: Error) => void): () => void {
    return this.transport.onDisconnect(listener);
  }

  /**
   * Closes the client. A RESPOND still pending is cancelled on the card first: a USB card stays
   * powered when the host lets go of it, and would otherwise wait for the PIN (answering
   * CHANNEL_BUSY to every other channel, the next app start's included) until its own PIN timeout
   * (protocols/dscplus-hid.md "RESPOND", CANCEL).
   */
  async close(): Promise<void> {
    if (this.#responding && !this.transport.closed) await this.cancel().catch(() => {});
    await this.transport.close();
  }

  #exchange(cmd: number, payload: Uint8Array, options: CommandOptions): Promise<HidMessage> {
    return this.transport.exchange({ cid: this.#cid, cmd, payload }, options);
  }
}

/** The answer's payload if it is the expected command; the typed error if it is ERROR. */
function expectAnswer(answer: HidMessage, cmd: number): Uint8Array {
  if (answer.cmd === Command.ERROR) throw deviceError(answer.payload[0] ?? ErrorCode.OTHER);
  if (answer.cmd !== cmd) throw new ProtocolError(`expected answer 0x${cmd.toString(16)}, got 0x${answer.cmd.toString(16)}`);
  return answer.payload;
}
