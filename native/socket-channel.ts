/**
 * A HidChannel over a local stream socket: how the driver talks to the emulator.
 *
 * Each packet is 64 raw bytes in each direction (protocols/dscplus-hid.md "The emulator"); the
 * stream is cut back into packets here. The socket closing is the card being unplugged.
 */
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PACKET_SIZE } from './framing.ts';
import { DeviceDisconnectedError } from './errors.ts';
import type { HidChannel } from './transport.ts';

/**
 * The directory where emulators put their sockets and the device manager looks for them: env
 * SLS_DSCPLUS_DIR, else `path.join(os.tmpdir(), 'sls-dscplus')`.
 */
export function emulatorDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return env.SLS_DSCPLUS_DIR || path.join(os.tmpdir(), 'sls-dscplus');
}

/** An emulator's socket file name: the serial, so the device manager knows it before connecting. */
export function emulatorSocketName(serial: string): string {
  return `${serial}.sock`;
}

/** Where an emulator listens: a Unix socket path, or TCP on 127.0.0.1. */
export type EmulatorAddress = { readonly path: string } | { readonly host?: string; readonly port: number };

/** Cuts a byte stream into 64-byte packets. */
export class PacketSplitter {
  #buffer: Buffer = Buffer.alloc(0);
  push(chunk: Buffer, onPacket: (packet: Uint8Array) => void): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    let offset = 0;
    while (this.#buffer.length - offset >= PACKET_SIZE) {
      onPacket(new Uint8Array(this.#buffer.subarray(offset, offset + PACKET_SIZE)));
      offset += PACKET_SIZE;
    }
    this.#buffer = this.#buffer.subarray(offset);
  }
}

export class SocketChannel implements HidChannel {
  readonly #socket: net.Socket;
  readonly #packetListeners = new Set<(packet: Uint8Array) => void>();
  readonly #closeListeners = new Set<(error?: Error) => void>();
  #closed = false;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setNoDelay?.(true);
    const splitter = new PacketSplitter();
    socket.on('data', (chunk: Buffer) => splitter.push(chunk, (p) => this.#packetListeners.forEach((l) => l(p))));
    socket.on('error', () => {}); // 'close' follows
    socket.on('close', () => this.#close(new DeviceDisconnectedError('the DSC+ emulator connection closed')));
  }

  write(packet: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new DeviceDisconnectedError());
    if (packet.length !== PACKET_SIZE) return Promise.reject(new RangeError(`a packet is ${PACKET_SIZE} bytes, not ${packet.length}`));
    return new Promise((resolve, reject) => {
      this.#socket.write(packet, (error) => (error ? reject(new DeviceDisconnectedError(undefined, { cause: error })) : resolve()));
    });
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
    await new Promise<void>((resolve) => {
      this.#socket.once('close', () => resolve());
      this.#socket.end();
      this.#socket.destroySoon?.();
    });
  }

  #close(error: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const listener of [...this.#closeListeners]) listener(error);
    this.#closeListeners.clear();
    this.#packetListeners.clear();
  }
}

/** Connects to an emulator ("plugs the card in"); rejects with DeviceDisconnectedError if nobody listens. */
export function connectEmulator(address: EmulatorAddress, options: { signal?: AbortSignal } = {}): Promise<SocketChannel> {
  return new Promise((resolve, reject) => {
    const socket = 'path' in address
      ? net.connect({ path: address.path, signal: options.signal })
      : net.connect({ host: address.host ?? '127.0.0.1', port: address.port, signal: options.signal });
    const onError = (error: Error) => reject(new DeviceDisconnectedError(`cannot connect to the DSC+ emulator: ${error.message}`, { cause: error }));
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(new SocketChannel(socket));
    });
  });
}
