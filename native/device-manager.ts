/**
 * Finds DSC+ cards — on USB and as emulators — follows them being plugged in and out, and hands
 * out a connected client by serial.
 *
 * The desktop client asks it which cards are present (`list()`), listens for `attached` and
 * `detached`, and gets a `DscPlusClient` for the serial the server says the user's card has
 * (`client(serial)`, SPEC H2). USB cards come through hid-api; emulators announce themselves as
 * `<serial>.sock` in a directory (SLS_DSCPLUS_DIR, default `<tmpdir>/sls-dscplus`): a socket
 * appearing is a card plugged in, the socket disappearing or its connection closing is the card
 * unplugged. The manager holds each emulator's connection (the emulator serves one host at a time).
 */
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DscPlusClient, type DscPlusClientOptions } from './dscplus-client.ts';
import { DeviceNotFoundError } from './errors.ts';
import { HidApi } from './hid-api.ts';
import { connectEmulator, emulatorDirectory } from './socket-channel.ts';

export { emulatorDirectory };
import type { HidChannel } from './transport.ts';

export type DscPlusSource = 'usb' | 'emulator';

/** A card that is plugged in. */
export interface DscPlusDescriptor {
  /** The card's 10-digit serial (as registered with the server). */
  readonly serial: string;
  readonly source: DscPlusSource;
  /** The HID path (usb) or the socket path (emulator). */
  readonly path: string;
}

export interface DeviceManagerEvents {
  attached: [DscPlusDescriptor];
  detached: [DscPlusDescriptor];
  /** A discovery problem that does not stop the manager (node-hid missing, unreadable directory). */
  error: [Error];
}

export interface DeviceManagerOptions {
  /** USB access; `null` for emulators only. Default: `new HidApi()` (node-hid and usb, loaded lazily). */
  readonly hid?: HidApi | null;
  /**
   * Directory of emulator sockets; `null` for USB only. Default: env SLS_DSCPLUS_DIR, else
   * `path.join(os.tmpdir(), 'sls-dscplus')`.
   */
  readonly emulatorDir?: string | null;
  /** Re-scan period where fs.watch is unavailable, and a safety net besides it. Default 1000 ms. */
  readonly pollIntervalMs?: number;
  /** Options for the clients handed out (timeouts, nonce source). */
  readonly clientOptions?: DscPlusClientOptions;
  readonly env?: NodeJS.ProcessEnv;
  /** Use fs.watch besides polling (default true; false tests the polling fallback). */
  readonly useFsWatch?: boolean;
}

const SOCKET_NAME = /^(\d{10})\.sock$/;

interface Present {
  readonly descriptor: DscPlusDescriptor;
  /** Emulators: the held connection. */
  channel?: HidChannel;
  client?: Promise<DscPlusClient>;
}

/**
 * Discovery and hot-plug of DSC+ cards.
 *
 * Usage: `const m = new DeviceManager(); m.on('attached', d => …); await m.start();` then
 * `await m.client(serial)`; `await m.stop()` at the end. Events fire once per plug-in/unplug.
 */
export class DeviceManager extends EventEmitter<DeviceManagerEvents> {
  readonly #hid: HidApi | null;
  readonly #dir: string | null;
  readonly #pollMs: number;
  readonly #useFsWatch: boolean;
  readonly #clientOptions: DscPlusClientOptions;
  readonly #present = new Map<string, Present>(); // key: `${source}:${path}`
  readonly #connecting = new Set<string>();
  /** Emulator sockets that refused us, by path → file identity, not retried until the file changes. */
  readonly #refused = new Map<string, string>();
  #stops: Array<() => void> = [];
  #running = false;
  #scanQueue: Promise<void> = Promise.resolve();

  constructor(options: DeviceManagerOptions = {}) {
    super();
    this.#hid = options.hid === undefined ? new HidApi() : options.hid;
    this.#dir = options.emulatorDir === undefined ? emulatorDirectory(options.env) : options.emulatorDir;
    this.#pollMs = options.pollIntervalMs ?? 1_000;
    this.#useFsWatch = options.useFsWatch ?? true;
    this.#clientOptions = options.clientOptions ?? {};
  }

  /** The emulator directory watched (null if emulators are off). */
  get emulatorDir(): string | null {
    return this.#dir;
  }

  /** Starts discovery; `attached` fires for every card already present. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    if (this.#dir) await this.#startEmulatorDiscovery(this.#dir);
    if (this.#hid) {
      try {
        this.#stops.push(await this.#hid.watch(() => void this.#scanUsb()));
        await this.#scanUsb();
      } catch (error) {
        this.emit('error', error as Error);
      }
    }
  }

  /** Stops discovery and closes every connection; no events after it resolves. */
  async stop(): Promise<void> {
    this.#running = false;
    for (const stop of this.#stops) stop();
    this.#stops = [];
    await this.#scanQueue.catch(() => {});
    const present = [...this.#present.values()];
    this.#present.clear();
    await Promise.all(present.map((p) => this.#closeQuietly(p)));
  }

  /** The cards plugged in now. */
  list(): DscPlusDescriptor[] {
    return [...this.#present.values()].map((p) => p.descriptor);
  }

  /**
   * A connected client for the card with this serial (a USB card first, if both are present).
   *
   * The client is shared and kept while the card is plugged in: callers do not close it. Throws
   * DeviceNotFoundError if no such card is plugged in; the client's own errors otherwise.
   */
  client(serial: string): Promise<DscPlusClient> {
    const candidates = [...this.#present.values()].filter((p) => p.descriptor.serial === serial);
    const present = candidates.find((p) => p.descriptor.source === 'usb') ?? candidates[0];
    if (!present) return Promise.reject(new DeviceNotFoundError(serial));
    if (!present.client) {
      const opening = this.#openClient(present);
      present.client = opening;
      opening.then(
        (client) => client.onDisconnect(() => {
          if (present.client === opening) delete present.client;
        }),
        () => {
          if (present.client === opening) delete present.client;
        },
      );
    }
    return present.client;
  }

  async #openClient(present: Present): Promise<DscPlusClient> {
    const { source, path: where } = present.descriptor;
    if (source === 'emulator') {
      if (!present.channel) throw new DeviceNotFoundError(present.descriptor.serial);
      return DscPlusClient.connect(present.channel, this.#clientOptions);
    }
    return DscPlusClient.connect(await this.#hid!.open(where), this.#clientOptions);
  }

  // USB ---------------------------------------------------------------------------------------

  #scanUsb(): Promise<void> {
    return this.#serial(async () => {
      if (!this.#hid || !this.#running) return;
      let devices;
      try {
        devices = await this.#hid.list();
      } catch (error) {
        this.emit('error', error as Error);
        return;
      }
      const seen = new Set<string>();
      for (const d of devices) {
        const key = `usb:${d.path}`;
        seen.add(key);
        if (!this.#present.has(key)) this.#attach({ descriptor: { serial: d.serial, source: 'usb', path: d.path } });
      }
      for (const [key, p] of this.#present) {
        if (p.descriptor.source === 'usb' && !seen.has(key)) await this.#detach(key);
      }
    });
  }

  // Emulators ---------------------------------------------------------------------------------

  async #startEmulatorDiscovery(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 }).catch((error: Error) => this.emit('error', error));
    let watcher: FSWatcher | null = null;
    try {
      if (this.#useFsWatch) watcher = watch(dir, () => void this.#scanEmulators(dir));
      watcher?.on('error', () => {}); // the poll below carries on
    } catch {
      watcher = null; // fs.watch unsupported here: polling only
    }
    const timer = setInterval(() => void this.#scanEmulators(dir), this.#pollMs);
    timer.unref?.();
    this.#stops.push(() => {
      watcher?.close();
      clearInterval(timer);
    });
    await this.#scanEmulators(dir);
  }

  #scanEmulators(dir: string): Promise<void> {
    return this.#serial(async () => {
      if (!this.#running) return;
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.emit('error', error as Error);
        names = [];
      }
      const sockets = new Map<string, string>(); // path → serial
      for (const name of names) {
        const m = SOCKET_NAME.exec(name);
        if (m) sockets.set(path.join(dir, name), m[1]!);
      }
      for (const [key, p] of this.#present) {
        if (p.descriptor.source === 'emulator' && !sockets.has(p.descriptor.path)) await this.#detach(key);
      }
      for (const [socketPath, serial] of sockets) {
        const key = `emulator:${socketPath}`;
        if (this.#present.has(key) || this.#connecting.has(key)) continue;
        void this.#connectEmulator(key, socketPath, serial);
      }
    });
  }

  async #connectEmulator(key: string, socketPath: string, serial: string): Promise<void> {
    const identity = await stat(socketPath).then((s) => `${s.ino}:${s.mtimeMs}`, () => null);
    if (identity === null || this.#refused.get(socketPath) === identity) return;
    this.#connecting.add(key);
    try {
      const channel = await connectEmulator({ path: socketPath });
      if (!this.#running) {
        await channel.close();
        return;
      }
      this.#refused.delete(socketPath);
      const present: Present = { descriptor: { serial, source: 'emulator', path: socketPath }, channel };
      channel.onClose(() => {
        if (this.#present.get(key) !== present) return;
        void this.#serial(() => this.#detach(key));
        // The same socket may take us again later (a fresh plug-in from our side): forget the refusal.
        setTimeout(() => void this.#scanEmulators(path.dirname(socketPath)), 50).unref?.();
      });
      this.#attach(present);
    } catch {
      this.#refused.set(socketPath, identity); // stale socket, or another host holds it
    } finally {
      this.#connecting.delete(key);
    }
  }

  // Common ------------------------------------------------------------------------------------

  #attach(present: Present): void {
    const { source, path: where } = present.descriptor;
    this.#present.set(`${source}:${where}`, present);
    this.emit('attached', present.descriptor);
  }

  async #detach(key: string): Promise<void> {
    const present = this.#present.get(key);
    if (!present) return;
    this.#present.delete(key);
    await this.#closeQuietly(present);
    this.emit('detached', present.descriptor);
  }

  async #closeQuietly(present: Present): Promise<void> {
    const client = await present.client?.catch(() => null);
    await client?.close().catch(() => {});
    await present.channel?.close().catch(() => {});
  }

  /** Runs scans one after another, so attach/detach decisions never interleave. */
  #serial(task: () => Promise<void>): Promise<void> {
    const next = this.#scanQueue.then(task, task);
    this.#scanQueue = next.catch(() => {});
    return next;
  }
}
