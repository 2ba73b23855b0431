/**
 * Recorded DSC+ protocol transcripts, and the channels that record and replay them.
 *
 * As ledgerjs' record/replay transports: tests read like the protocol and fail with the line number.
 *
 * Format (native/transcripts/*.txt), one packet per line:
 *   `=> <hex>`  a packet from the host to the device
 *   `<= <hex>`  a packet from the device to the host
 *   `#` starts a comment line; blank lines are ignored.
 * Padding rule: a packet is 64 bytes; a line may leave out trailing zero bytes, which the reader
 * puts back (a line is the packet's hex with trailing `00` pairs removed, never shorter than the
 * header: 7 bytes for an initialization packet, 5 for a continuation). A line longer than 64 bytes
 * or with odd or non-hex digits is a format error naming its line.
 */
import { PACKET_SIZE, fromHex, isInitPacket, toHex } from './framing.ts';
import type { HidChannel } from './transport.ts';

export type Direction = '=>' | '<=';

export interface TranscriptLine {
  readonly direction: Direction;
  readonly packet: Uint8Array;
  /** 1-based line number in the transcript text. */
  readonly line: number;
}

export class TranscriptError extends Error {
  readonly code = 'TRANSCRIPT_MISMATCH';
  constructor(message: string, readonly line: number | null) {
    super(message);
    this.name = 'TranscriptError';
  }
}

/** Writes one packet as a transcript line, trailing zero padding left out. */
export function formatTranscriptLine(direction: Direction, packet: Uint8Array): string {
  const header = isInitPacket(packet) ? 7 : 5;
  let end = packet.length;
  while (end > header && packet[end - 1] === 0) end--;
  return `${direction} ${toHex(packet.subarray(0, end))}`;
}

/** Parses a transcript; throws TranscriptError with the line number on a malformed line. */
export function parseTranscript(text: string): TranscriptLine[] {
  const lines: TranscriptLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^(=>|<=)\s+([0-9a-fA-F]+)$/.exec(line);
    if (!match) throw new TranscriptError(`line ${i + 1}: expected "=> hex" or "<= hex"`, i + 1);
    const hex = match[2]!;
    if (hex.length % 2 !== 0 || hex.length > PACKET_SIZE * 2 || hex.length < 10) {
      throw new TranscriptError(`line ${i + 1}: a packet is 5 to 64 bytes of hex`, i + 1);
    }
    const packet = new Uint8Array(PACKET_SIZE);
    packet.set(fromHex(hex));
    lines.push({ direction: match[1] as Direction, packet, line: i + 1 });
  });
  return lines;
}

/**
 * A channel that passes everything through to another and writes down every packet.
 *
 * `transcript()` gives the text to commit under native/transcripts/.
 */
export class RecordingChannel implements HidChannel {
  readonly lines: string[] = [];
  constructor(readonly inner: HidChannel, header: string[] = []) {
    this.lines.push(...header.map((h) => `# ${h}`));
    inner.onPacket((packet) => this.lines.push(formatTranscriptLine('<=', packet)));
  }
  async write(packet: Uint8Array): Promise<void> {
    this.lines.push(formatTranscriptLine('=>', packet));
    await this.inner.write(packet);
  }
  onPacket(listener: (packet: Uint8Array) => void): () => void {
    return this.inner.onPacket(listener);
  }
  onClose(listener: (error?: Error) => void): () => void {
    return this.inner.onClose(listener);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  transcript(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/**
 * A channel that plays a transcript back as the device.
 *
 * Each host write must equal the next `=>` line, or it fails with the line number; after it, the
 * `<=` lines up to the next `=>` are delivered, in order. `assertDone()` fails on the first mismatch
 * seen and on any line left unused.
 */
export class ReplayChannel implements HidChannel {
  readonly #lines: TranscriptLine[];
  readonly #name: string;
  #next = 0;
  #failure: TranscriptError | null = null;
  #closed = false;
  readonly #queue: Uint8Array[] = [];
  #draining = false;
  readonly #packetListeners = new Set<(packet: Uint8Array) => void>();
  readonly #closeListeners = new Set<(error?: Error) => void>();

  constructor(text: string, name = 'transcript') {
    this.#lines = parseTranscript(text);
    this.#name = name;
  }

  async write(packet: Uint8Array): Promise<void> {
    if (this.#failure) throw this.#failure;
    const expected = this.#lines[this.#next];
    const actual = formatTranscriptLine('=>', packet);
    if (!expected || expected.direction !== '=>') {
      const where = expected ? `line ${expected.line} expects the device to send ${formatTranscriptLine('<=', expected.packet)}` : 'the transcript has ended';
      throw this.#fail(`${this.#name}: unexpected host packet ${actual}: ${where}`, expected?.line ?? null);
    }
    if (toHex(expected.packet) !== toHex(packet)) {
      throw this.#fail(`${this.#name}: line ${expected.line}: expected ${formatTranscriptLine('=>', expected.packet)}, host sent ${actual}`, expected.line);
    }
    this.#next++;
    this.#deliverDeviceLines();
  }

  onPacket(listener: (packet: Uint8Array) => void): () => void {
    this.#packetListeners.add(listener);
    return () => this.#packetListeners.delete(listener);
  }

  onClose(listener: (error?: Error) => void): () => void {
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const listener of [...this.#closeListeners]) listener();
  }

  /** Throws the first mismatch, or a TranscriptError naming the first unused line. */
  assertDone(): void {
    if (this.#failure) throw this.#failure;
    const unused = this.#lines[this.#next];
    if (unused) {
      throw new TranscriptError(
        `${this.#name}: line ${unused.line} was never used (${formatTranscriptLine(unused.direction, unused.packet)}), ${this.#lines.length - this.#next} left`,
        unused.line,
      );
    }
  }

  #deliverDeviceLines(): void {
    while (this.#lines[this.#next]?.direction === '<=') this.#queue.push(this.#lines[this.#next++]!.packet);
    if (this.#draining || this.#queue.length === 0) return;
    // Delivered in order, one per macrotask, as a device would: never inside the host's write.
    this.#draining = true;
    const deliver = () => {
      const packet = this.#queue.shift();
      if (!packet || this.#closed) {
        this.#draining = false;
        return;
      }
      for (const listener of [...this.#packetListeners]) listener(packet.slice());
      setImmediate(deliver);
    };
    setImmediate(deliver);
  }

  #fail(message: string, line: number | null): TranscriptError {
    this.#failure ??= new TranscriptError(message, line);
    return new TranscriptError(message, line);
  }
}
