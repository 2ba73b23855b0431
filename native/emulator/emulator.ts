/**
 * The DSC+ emulator: a DscPlusDevice behind a local stream socket.
 *
 * A connection is the card being plugged in, its closing the card being unplugged
 * (protocols/dscplus-hid.md "The emulator"). Only one host at a time: a second connection while one
 * is open is closed at once. By default the socket is `<serial>.sock` in the discovery directory
 * the device manager watches (SLS_DSCPLUS_DIR, or `<tmpdir>/sls-dscplus`).
 */
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { DscPlusDevice, type DeviceScreen, type Keypad } from './device.ts';
import { checkDscPlusPinNative, loadDscPlusState, saveDscPlusState } from './state-store.ts';
import { PacketSplitter, emulatorDirectory, emulatorSocketName, type EmulatorAddress } from '../socket-channel.ts';
import type { DscPlusState } from '../../core/dscplus-state.ts';

export interface EmulatorOptions {
  /** The state file (core/dscplus-state.ts); tries are written back to it. */
  readonly stateFile: string;
  /** Unix socket path; default `<dir>/<serial>.sock`. */
  readonly socketPath?: string;
  /** Listen on TCP 127.0.0.1 instead (0 = any free port). */
  readonly tcpPort?: number;
  /** Discovery directory; default `emulatorDirectory()`. */
  readonly dir?: string;
  readonly keepAliveIntervalMs?: number;
  /** How long an offline entry on the keypad waits for a key (device.ts); default 60 s. */
  readonly offlineTimeoutMs?: number;
}

export interface EmulatorEvents {
  screen: [DeviceScreen];
  pinPrompt: [{ readonly challenge: string }];
  pinChecked: [{ readonly ok: boolean }];
  /** A host connected (card plugged in). */
  connected: [];
  /** The host went away or the card was unplugged. */
  disconnected: [];
  stateSaved: [DscPlusState];
}

export class DscPlusEmulator extends EventEmitter<EmulatorEvents> {
  readonly device: DscPlusDevice;
  readonly #options: EmulatorOptions;
  #server: net.Server | null = null;
  #connection: net.Socket | null = null;
  #address: EmulatorAddress | null = null;

  private constructor(device: DscPlusDevice, options: EmulatorOptions) {
    super();
    this.device = device;
    this.#options = options;
    device.on('screen', (s) => this.emit('screen', s));
    device.on('pinPrompt', (p) => this.emit('pinPrompt', p));
    device.on('pinChecked', (p) => this.emit('pinChecked', p));
    device.on('stateSaved', (s) => this.emit('stateSaved', s));
  }

  /** Loads the state file and starts listening (the card is "available to plug in"). */
  static async start(options: EmulatorOptions): Promise<DscPlusEmulator> {
    const state = await loadDscPlusState(options.stateFile);
    const device = new DscPlusDevice({
      state,
      save: (s) => saveDscPlusState(options.stateFile, s),
      checkPin: checkDscPlusPinNative,
      ...(options.keepAliveIntervalMs !== undefined ? { keepAliveIntervalMs: options.keepAliveIntervalMs } : {}),
      ...(options.offlineTimeoutMs !== undefined ? { offlineTimeoutMs: options.offlineTimeoutMs } : {}),
    });
    const emulator = new DscPlusEmulator(device, options);
    await emulator.replug();
    return emulator;
  }

  get keypad(): Keypad {
    return this.device.keypad;
  }

  get serial(): string {
    return this.device.state.serial;
  }

  get screen(): DeviceScreen {
    return this.device.screen;
  }

  /** Where it listens (null while unplugged). */
  get address(): EmulatorAddress | null {
    return this.#address;
  }

  /** Whether a host is connected. */
  get connected(): boolean {
    return this.#connection !== null;
  }

  /** Resolves at the next PIN prompt (for tests and the bench). */
  nextPinPrompt(): Promise<{ challenge: string }> {
    return new Promise((resolve) => this.once('pinPrompt', resolve));
  }

  /** Unplugs: drops the connection, stops listening and removes the socket file. */
  async unplug(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    this.#address = null;
    this.#connection?.destroy();
    this.#connection = null;
    this.device.unplug();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Plugs back in: listens again on the same address. */
  async replug(): Promise<void> {
    if (this.#server) return;
    const server = net.createServer((socket) => this.#accept(socket));
    const o = this.#options;
    if (o.tcpPort !== undefined) {
      await listen(server, { host: '127.0.0.1', port: o.tcpPort });
      const a = server.address() as net.AddressInfo;
      this.#address = { host: '127.0.0.1', port: a.port };
    } else {
      const socketPath = o.socketPath ?? path.join(o.dir ?? emulatorDirectory(), emulatorSocketName(this.serial));
      await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o700 });
      await removeStaleSocket(socketPath);
      await listen(server, { path: socketPath });
      this.#address = { path: socketPath };
    }
    this.#server = server;
  }

  /** Stops for good. */
  async close(): Promise<void> {
    await this.unplug();
    this.device.shutdown(); // an offline entry too
    this.removeAllListeners();
  }

  #accept(socket: net.Socket): void {
    if (this.#connection) {
      socket.destroy(); // one host at a time
      return;
    }
    this.#connection = socket;
    socket.setNoDelay?.(true);
    const splitter = new PacketSplitter();
    this.device.plug((packet) => {
      if (!socket.destroyed) socket.write(packet);
    });
    socket.on('data', (chunk: Buffer) => splitter.push(chunk, (p) => this.device.receive(p)));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.#connection !== socket) return;
      this.#connection = null;
      this.device.unplug();
      this.emit('disconnected');
    });
    this.emit('connected');
  }
}

function listen(server: net.Server, options: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Removes a socket file left by a crashed emulator; refuses if another emulator is listening on it. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect({ path: socketPath });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another DSC+ emulator is already listening on ${socketPath}`);
  await unlink(socketPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}
