/**
 * DSC+ HID framing: messages to 64-byte packets and back.
 *
 * Pure (no I/O, no clock of its own): the same code frames for the driver and the emulator, and the
 * property tests drive it directly. Packet shapes and channel rules are those of FIDO CTAPHID, as
 * fixed by protocols/dscplus-hid.md (SPEC H2).
 */

/** Every report is one 64-byte packet, no report id. */
export const PACKET_SIZE = 64;
/** Payload bytes in an initialization packet (64 − CID 4 − CMD 1 − BCNT 2). */
export const INIT_PAYLOAD_SIZE = 57;
/** Payload bytes in a continuation packet (64 − CID 4 − SEQ 1). */
export const CONT_PAYLOAD_SIZE = 59;
/** SEQ runs 0x00–0x7F. */
export const MAX_CONTINUATIONS = 128;
/** Largest message: 57 + 128 × 59. */
export const MAX_MESSAGE_SIZE = INIT_PAYLOAD_SIZE + MAX_CONTINUATIONS * CONT_PAYLOAD_SIZE;
/** The broadcast channel, for INIT only. */
export const BROADCAST_CID = 0xffffffff;
/** A message not completed within this time is aborted with MSG_TIMEOUT. */
export const MESSAGE_TIMEOUT_MS = 500;

export const Command = {
  PING: 0x81,
  INIT: 0x86,
  CANCEL: 0x91,
  KEEPALIVE: 0xbb,
  ERROR: 0xbf,
  INFO: 0xc0,
  RESPOND: 0xc1,
} as const;
export type CommandName = keyof typeof Command;

export const ErrorCode = {
  INVALID_CMD: 0x01,
  INVALID_PAR: 0x02,
  INVALID_LEN: 0x03,
  INVALID_SEQ: 0x04,
  MSG_TIMEOUT: 0x05,
  CHANNEL_BUSY: 0x06,
  PIN_INVALID: 0x21,
  PIN_BLOCKED: 0x22,
  USER_CANCELLED: 0x23,
  USER_TIMEOUT: 0x24,
  OTHER: 0x7f,
} as const;
export type ErrorCodeName = keyof typeof ErrorCode;

/** KEEPALIVE status byte. */
export const KeepAliveStatus = { PROCESSING: 1, WAITING_FOR_PIN: 2 } as const;

export function errorCodeName(code: number): ErrorCodeName | undefined {
  return (Object.keys(ErrorCode) as ErrorCodeName[]).find((k) => ErrorCode[k] === code);
}

export function commandName(cmd: number): CommandName | undefined {
  return (Object.keys(Command) as CommandName[]).find((k) => Command[k] === cmd);
}

/** One protocol message: a command (bit 7 set) and its payload on a channel. */
export interface HidMessage {
  readonly cid: number;
  readonly cmd: number;
  readonly payload: Uint8Array;
}

export class FramingError extends Error {
  readonly code = 'FRAMING';
  constructor(message: string) {
    super(message);
    this.name = 'FramingError';
  }
}

/**
 * Splits a message into its packets: one initialization packet, then continuations SEQ 0, 1, …
 *
 * Throws a FramingError for a payload over 7609 bytes, a CMD without bit 7 or a CID outside 32 bits.
 */
export function encodeMessage(message: HidMessage): Uint8Array[] {
  const { cid, cmd, payload } = message;
  if (!Number.isInteger(cid) || cid < 0 || cid > 0xffffffff) throw new FramingError(`invalid channel id ${cid}`);
  if (!Number.isInteger(cmd) || cmd < 0x80 || cmd > 0xff) throw new FramingError(`invalid command 0x${cmd.toString(16)}: bit 7 must be set`);
  if (payload.length > MAX_MESSAGE_SIZE) throw new FramingError(`payload of ${payload.length} bytes exceeds ${MAX_MESSAGE_SIZE}`);
  const packets: Uint8Array[] = [];
  const first = new Uint8Array(PACKET_SIZE);
  const view = new DataView(first.buffer);
  view.setUint32(0, cid);
  first[4] = cmd;
  view.setUint16(5, payload.length);
  first.set(payload.subarray(0, INIT_PAYLOAD_SIZE), 7);
  packets.push(first);
  let offset = INIT_PAYLOAD_SIZE;
  for (let seq = 0; offset < payload.length; seq++) {
    const packet = new Uint8Array(PACKET_SIZE);
    new DataView(packet.buffer).setUint32(0, cid);
    packet[4] = seq;
    packet.set(payload.subarray(offset, offset + CONT_PAYLOAD_SIZE), 5);
    packets.push(packet);
    offset += CONT_PAYLOAD_SIZE;
  }
  return packets;
}

/** The channel id of a packet (first 4 bytes, big-endian). */
export function packetCid(packet: Uint8Array): number {
  return ((packet[0]! << 24) | (packet[1]! << 16) | (packet[2]! << 8) | packet[3]!) >>> 0;
}

/** Whether a packet is an initialization packet (bit 7 of byte 4). */
export function isInitPacket(packet: Uint8Array): boolean {
  return (packet[4]! & 0x80) !== 0;
}

/** What the reassembler made of a packet. */
export type ReassemblyEvent =
  /** A whole message. */
  | { readonly type: 'message'; readonly message: HidMessage }
  /** Part of a message; more packets are expected. */
  | { readonly type: 'partial'; readonly cid: number }
  /** A continuation no message is waiting for: dropped, as CTAPHID does. */
  | { readonly type: 'ignored'; readonly cid: number }
  /**
   * A protocol error to answer on `cid`. `aborted` tells whether the message in progress on that
   * channel was dropped (INVALID_SEQ, MSG_TIMEOUT) or goes on (CHANNEL_BUSY for another channel).
   */
  | { readonly type: 'error'; readonly cid: number; readonly code: number; readonly aborted: boolean };

interface Pending {
  cid: number;
  cmd: number;
  payload: Uint8Array;
  received: number;
  nextSeq: number;
  startedAt: number;
}

/**
 * Turns a stream of packets back into messages, one message in progress at a time.
 *
 * Rules (protocols/dscplus-hid.md): a packet on another channel while a message is being received is
 * CHANNEL_BUSY on that other channel, and the message in progress goes on — except an INIT, which
 * always gets through (on the same channel it resynchronises and drops the partial message); a
 * continuation out of sequence aborts the message with INVALID_SEQ; an initialization packet other
 * than INIT on the channel being received is out of sequence too (CTAPHID); a BCNT over 7609 or a
 * packet that is not 64 bytes is INVALID_LEN; a message not completed within 500 ms is MSG_TIMEOUT
 * (checked by `expire(now)`, time is the caller's).
 */
export class Reassembler {
  #pending: Pending | null = null;

  /** The channel whose message is being received, if any. */
  get busyCid(): number | null {
    return this.#pending?.cid ?? null;
  }

  /** Drops any partial message (after a disconnect or a resync). */
  reset(): void {
    this.#pending = null;
  }

  push(packet: Uint8Array, now = 0): ReassemblyEvent {
    if (packet.length < 5) return { type: 'error', cid: packet.length >= 4 ? packetCid(packet) : BROADCAST_CID, code: ErrorCode.INVALID_LEN, aborted: false };
    const cid = packetCid(packet);
    if (packet.length !== PACKET_SIZE) return { type: 'error', cid, code: ErrorCode.INVALID_LEN, aborted: false };
    const pending = this.#pending;
    if (isInitPacket(packet)) {
      const cmd = packet[4]!;
      if (pending && pending.cid !== cid && cmd !== Command.INIT) {
        return { type: 'error', cid, code: ErrorCode.CHANNEL_BUSY, aborted: false };
      }
      if (pending && pending.cid === cid && cmd !== Command.INIT) {
        this.#pending = null;
        return { type: 'error', cid, code: ErrorCode.INVALID_SEQ, aborted: true };
      }
      if (pending && pending.cid === cid) this.#pending = null; // INIT resynchronises its channel
      const bcnt = (packet[5]! << 8) | packet[6]!;
      if (bcnt > MAX_MESSAGE_SIZE) return { type: 'error', cid, code: ErrorCode.INVALID_LEN, aborted: false };
      if (bcnt <= INIT_PAYLOAD_SIZE) return { type: 'message', message: { cid, cmd, payload: packet.slice(7, 7 + bcnt) } };
      if (cmd === Command.INIT) return { type: 'error', cid, code: ErrorCode.INVALID_LEN, aborted: false };
      if (pending) return { type: 'error', cid, code: ErrorCode.CHANNEL_BUSY, aborted: false };
      const payload = new Uint8Array(bcnt);
      payload.set(packet.subarray(7, 7 + INIT_PAYLOAD_SIZE));
      this.#pending = { cid, cmd, payload, received: INIT_PAYLOAD_SIZE, nextSeq: 0, startedAt: now };
      return { type: 'partial', cid };
    }
    if (!pending) return { type: 'ignored', cid };
    if (pending.cid !== cid) return { type: 'error', cid, code: ErrorCode.CHANNEL_BUSY, aborted: false };
    const seq = packet[4]!;
    if (seq !== pending.nextSeq) {
      this.#pending = null;
      return { type: 'error', cid, code: ErrorCode.INVALID_SEQ, aborted: true };
    }
    const take = Math.min(CONT_PAYLOAD_SIZE, pending.payload.length - pending.received);
    pending.payload.set(packet.subarray(5, 5 + take), pending.received);
    pending.received += take;
    pending.nextSeq++;
    if (pending.received < pending.payload.length) return { type: 'partial', cid };
    this.#pending = null;
    return { type: 'message', message: { cid, cmd: pending.cmd, payload: pending.payload } };
  }

  /** MSG_TIMEOUT for a message begun more than 500 ms before `now`; drops it. */
  expire(now: number, timeoutMs = MESSAGE_TIMEOUT_MS): ReassemblyEvent | null {
    const pending = this.#pending;
    if (!pending || now - pending.startedAt < timeoutMs) return null;
    this.#pending = null;
    return { type: 'error', cid: pending.cid, code: ErrorCode.MSG_TIMEOUT, aborted: true };
  }

  /** When the message in progress times out, or null. */
  get deadline(): number | null {
    return this.#pending ? this.#pending.startedAt + MESSAGE_TIMEOUT_MS : null;
  }
}

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Bytes of a hex string; throws a FramingError on odd length or non-hex characters. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new FramingError(`not hex: ${hex.slice(0, 20)}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
