/**
 * The DSC+ transport: one exchange at a time over a packet channel.
 *
 * Modelled on ledgerjs' Transport (an atomic lock, `exchange()`) and Trezor's transport (AbortSignal,
 * typed errors, the raw I/O injected): the channel may be a HID device, an emulator socket, a
 * recording or a replay, and the transport cannot tell (SPEC H2, ARCHITECTURE.md "The devices").
 */
import {
  Command, KeepAliveStatus, PACKET_SIZE, Reassembler, encodeMessage, errorCodeName, packetCid, type HidMessage,
} from './framing.ts';
import {
  DeviceDisconnectedError, ProtocolError, TransportAbortedError, TransportBusyError, TransportTimeoutError,
} from './errors.ts';

/**
 * Raw packet I/O with one device: 64-byte packets each way.
 *
 * `onPacket` and `onClose` register a listener and return its unsubscribe function. `onClose` fires
 * once, when the device goes away or `close()` is called.
 */
export interface HidChannel {
  write(packet: Uint8Array): Promise<void>;
  onPacket(listener: (packet: Uint8Array) => void): () => void;
  onClose(listener: (error?: Error) => void): () => void;
  close(): Promise<void>;
}

export interface ExchangeOptions {
  /** Aborts the exchange: it rejects with TransportAbortedError. */
  readonly signal?: AbortSignal;
  /**
   * Longest silence from the device, in ms: every KEEPALIVE restarts the clock (a RESPOND waiting
   * for the PIN stays alive for as long as the device says so). Default: the transport's.
   */
  readonly timeoutMs?: number;
  /** Called for every KEEPALIVE (1 processing, 2 waiting for the PIN on the keypad). */
  readonly onKeepAlive?: (status: number) => void;
  /**
   * Called when the signal fires, to ask the device to stop (the client sends CANCEL). The exchange
   * then keeps the lock until the device's final answer, or `abortGraceMs`, so that answer cannot be
   * mistaken for the next exchange's.
   */
  readonly onAbort?: () => Promise<void> | void;
  readonly abortGraceMs?: number;
  /**
   * Whether an answer belongs to this exchange; others are dropped (an INIT answer on the broadcast
   * channel carrying another host's nonce, CTAPHID).
   */
  readonly accept?: (message: HidMessage) => boolean;
}

export interface TransportOptions {
  /** Default silence timeout for exchanges, ms. */
  readonly timeoutMs?: number;
}

/** Default silence timeout: the device keeps a RESPOND alive with KEEPALIVEs every ≤ 100 ms. */
export const DEFAULT_EXCHANGE_TIMEOUT_MS = 2_000;

interface PendingExchange {
  cid: number;
  onMessage(message: HidMessage): void;
  fail(error: Error): void;
}

/**
 * Exchanges messages with a DSC+ over a HidChannel.
 *
 * Only one exchange may be pending: a second one fails at once with TransportBusyError (the lock is
 * taken synchronously, so two calls in the same tick cannot both get it). Packets not for the
 * pending exchange's channel, or arriving while none is pending, are dropped.
 */
export class Transport {
  readonly #channel: HidChannel;
  readonly #timeoutMs: number;
  readonly #reassembler = new Reassembler();
  #pending: PendingExchange | null = null;
  #closed: Error | null = null;
  readonly #closeListeners = new Set<(error: Error) => void>();
  readonly #unsubscribe: Array<() => void>;

  constructor(channel: HidChannel, options: TransportOptions = {}) {
    this.#channel = channel;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_EXCHANGE_TIMEOUT_MS;
    this.#unsubscribe = [
      channel.onPacket((packet) => this.#onPacket(packet)),
      channel.onClose((error) => this.#onClose(error)),
    ];
  }

  /** Whether the device has gone away (or the transport was closed). */
  get closed(): boolean {
    return this.#closed !== null;
  }

  /** Whether an exchange is pending. */
  get busy(): boolean {
    return this.#pending !== null;
  }

  /** Registers a listener for the device going away; returns its unsubscribe function. */
  onDisconnect(listener: (error: Error) => void): () => void {
    if (this.#closed) {
      queueMicrotask(() => listener(this.#closed!));
      return () => {};
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /**
   * Sends a message and resolves with the device's answer on the same channel (any command but
   * KEEPALIVE, including ERROR: the client interprets it).
   */
  exchange(message: HidMessage, options: ExchangeOptions = {}): Promise<HidMessage> {
    if (this.#closed) return Promise.reject(new DeviceDisconnectedError(undefined, { cause: this.#closed }));
    if (this.#pending) return Promise.reject(new TransportBusyError());
    if (options.signal?.aborted) return Promise.reject(new TransportAbortedError({ cause: options.signal.reason }));
    const packets = encodeMessage(message); // throws before taking the lock
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    return new Promise<HidMessage>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let aborted = false;
      const arm = (ms: number, error: () => Error) => {
        clearTimeout(timer);
        timer = setTimeout(() => finish(error()), ms);
      };
      const onAbortSignal = () => {
        if (aborted) return;
        aborted = true;
        const abortError = new TransportAbortedError({ cause: options.signal?.reason });
        if (!options.onAbort) return finish(abortError);
        arm(options.abortGraceMs ?? 1_000, () => abortError);
        Promise.resolve()
          .then(() => options.onAbort!())
          .catch(() => finish(abortError));
      };
      const pending: PendingExchange = {
        cid: message.cid,
        onMessage: (answer) => {
          if (answer.cmd === Command.KEEPALIVE) {
            if (aborted) return;
            arm(timeoutMs, () => new TransportTimeoutError(timeoutMs));
            const status = answer.payload[0] ?? 0;
            if (status === KeepAliveStatus.PROCESSING || status === KeepAliveStatus.WAITING_FOR_PIN) options.onKeepAlive?.(status);
            return;
          }
          if (options.accept && !options.accept(answer)) return;
          if (aborted) return finish(new TransportAbortedError({ cause: options.signal?.reason }));
          finish(null, answer);
        },
        fail: (error) => finish(error),
      };
      const finish = (error: Error | null, answer?: HidMessage) => {
        if (this.#pending !== pending) return;
        this.#pending = null;
        this.#reassembler.reset();
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbortSignal);
        if (error) reject(error);
        else resolve(answer!);
      };
      this.#pending = pending; // the lock, taken synchronously
      options.signal?.addEventListener('abort', onAbortSignal);
      arm(timeoutMs, () => new TransportTimeoutError(timeoutMs));
      (async () => {
        for (const packet of packets) {
          if (this.#pending !== pending) return;
          await this.#channel.write(packet);
        }
      })().catch((error: unknown) => finish(this.#closed ? new DeviceDisconnectedError(undefined, { cause: error }) : asError(error)));
    });
  }

  /**
   * Writes a message outside the lock, expecting no answer of its own (CANCEL during a RESPOND:
   * the pending RESPOND gets the answer).
   */
  async send(message: HidMessage): Promise<void> {
    if (this.#closed) throw new DeviceDisconnectedError(undefined, { cause: this.#closed });
    for (const packet of encodeMessage(message)) await this.#channel.write(packet);
  }

  /** Closes the channel; a pending exchange fails with DeviceDisconnectedError. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#onClose(new Error('closed by the host'));
    await this.#channel.close();
  }

  #onPacket(packet: Uint8Array): void {
    const pending = this.#pending;
    if (!pending || packet.length !== PACKET_SIZE || packetCid(packet) !== pending.cid) return;
    const event = this.#reassembler.push(packet);
    if (event.type === 'message') pending.onMessage(event.message);
    // Host side: an answer the framing refuses (a continuation out of sequence, a new message in the
    // middle of one, BCNT over 7609) can never complete: fail now with a coded error rather than
    // wait for the silence timeout (protocols/dscplus-hid.md "Packets").
    else if (event.type === 'error') {
      const name = errorCodeName(event.code) ?? `0x${event.code.toString(16)}`;
      pending.fail(new ProtocolError(`the device sent a malformed answer (${name})`));
    }
  }

  #onClose(error?: Error): void {
    if (this.#closed) return;
    this.#closed = error ?? new Error('channel closed');
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#pending?.fail(new DeviceDisconnectedError(undefined, { cause: this.#closed }));
    for (const listener of this.#closeListeners) listener(this.#closed);
    this.#closeListeners.clear();
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
