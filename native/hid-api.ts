/**
 * The only file that touches node-hid and usb: lists DSC+ cards, opens them, watches for hot-plug.
 *
 * As ledgerjs' node-hid transport: it picks the interface (vendor 0x1209, product 0xD5C1, usage page
 * 0xFF00), adds the report-id byte and maps native errors to typed ones; as Trezor's, the native
 * module is injected, so everything here is tested without hardware (no HID devices exist on the
 * build machines). node-hid and usb are imported lazily: a machine without them still loads the
 * rest of the driver and the emulator (SPEC H2).
 */
import { PACKET_SIZE } from './framing.ts';
import { DeviceAccessDeniedError, DeviceDisconnectedError, HidUnavailableError } from './errors.ts';
import type { HidChannel } from './transport.ts';

/** pid.codes vendor id and the DSC+ product id (protocols/dscplus-hid.md "USB identity"). */
export const DSCPLUS_VENDOR_ID = 0x1209;
export const DSCPLUS_PRODUCT_ID = 0xd5c1;
/** Vendor-defined HID usage page of the DSC+ interface. */
export const DSCPLUS_USAGE_PAGE = 0xff00;
/** How often to re-list devices where USB hot-plug events are unavailable. */
export const HID_POLL_INTERVAL_MS = 1_000;
/** After a USB attach, the HID node appears a little later: wait before re-listing. */
export const ATTACH_SETTLE_MS = 250;

/** What node-hid's `devicesAsync()` returns per interface (the fields we read). */
export interface NativeHidDeviceInfo {
  readonly vendorId: number;
  readonly productId: number;
  readonly path?: string | undefined;
  readonly serialNumber?: string | undefined;
  readonly product?: string | undefined;
  readonly usagePage?: number | undefined;
  readonly usage?: number | undefined;
}

/** node-hid's HIDAsync handle (the members we use). */
export interface NativeHidHandle {
  write(data: number[] | Buffer): Promise<number>;
  on(event: 'data', listener: (data: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeAllListeners(event?: string): unknown;
  close(): Promise<void>;
}

/** node-hid v3's module shape (the members we use). */
export interface NativeHidModule {
  devicesAsync(vendorId: number, productId: number): Promise<NativeHidDeviceInfo[]>;
  readonly HIDAsync: { open(path: string): Promise<NativeHidHandle> };
}

/** A usb v2 device as its attach/detach events carry it. */
export interface NativeUsbDevice {
  readonly deviceDescriptor?: { readonly idVendor: number; readonly idProduct: number };
}

/** usb v2's module shape (hot-plug only). */
export interface NativeUsbModule {
  readonly usb: {
    on(event: 'attach' | 'detach', listener: (device: NativeUsbDevice) => void): unknown;
    removeListener(event: 'attach' | 'detach', listener: (device: NativeUsbDevice) => void): unknown;
    unrefHotplugEvents?(): void;
  };
}

/** A DSC+ found on USB. */
export interface DscPlusHidDevice {
  /** The OS path node-hid opens it by. */
  readonly path: string;
  /** The card's 10-digit serial (its USB serial number string). */
  readonly serial: string;
  readonly product: string | null;
}

export interface HidApiOptions {
  /** Loads node-hid; injected in tests. Default: `import('node-hid')`. */
  readonly loadHid?: () => Promise<NativeHidModule>;
  /** Loads usb for hot-plug events, or null to poll. Default: `import('usb')`, null if it fails. */
  readonly loadUsb?: () => Promise<NativeUsbModule | null>;
  readonly pollIntervalMs?: number;
}

async function defaultLoadHid(): Promise<NativeHidModule> {
  const mod = (await import('node-hid')) as unknown as NativeHidModule & { default?: NativeHidModule };
  return typeof mod.devicesAsync === 'function' ? mod : mod.default!;
}

async function defaultLoadUsb(): Promise<NativeUsbModule | null> {
  try {
    const mod = (await import('usb')) as unknown as NativeUsbModule & { default?: NativeUsbModule };
    return mod.usb ? mod : (mod.default ?? null);
  } catch {
    return null;
  }
}

/** Whether a node-hid entry is a DSC+ interface we can open. */
export function isDscPlusInterface(info: NativeHidDeviceInfo): boolean {
  return (
    info.vendorId === DSCPLUS_VENDOR_ID &&
    info.productId === DSCPLUS_PRODUCT_ID &&
    // Some backends (libusb, older macOS) report no usage page: accept, the VID/PID is ours.
    (info.usagePage === undefined || info.usagePage === DSCPLUS_USAGE_PAGE) &&
    typeof info.path === 'string' &&
    typeof info.serialNumber === 'string' &&
    /^\d{10}$/.test(info.serialNumber)
  );
}

export class HidApi {
  readonly #loadHid: () => Promise<NativeHidModule>;
  readonly #loadUsb: () => Promise<NativeUsbModule | null>;
  readonly #pollIntervalMs: number;
  #hid: Promise<NativeHidModule> | null = null;

  constructor(options: HidApiOptions = {}) {
    this.#loadHid = options.loadHid ?? defaultLoadHid;
    this.#loadUsb = options.loadUsb ?? defaultLoadUsb;
    this.#pollIntervalMs = options.pollIntervalMs ?? HID_POLL_INTERVAL_MS;
  }

  /** Whether node-hid can be loaded on this machine. */
  async available(): Promise<boolean> {
    return this.#module().then(() => true, () => false);
  }

  /** The DSC+ cards plugged in. */
  async list(): Promise<DscPlusHidDevice[]> {
    const hid = await this.#module();
    let infos: NativeHidDeviceInfo[];
    try {
      infos = await hid.devicesAsync(DSCPLUS_VENDOR_ID, DSCPLUS_PRODUCT_ID);
    } catch (cause) {
      // node-hid loads its binding on first use: a missing shared library shows up here.
      const dlopen = (cause as NodeJS.ErrnoException).code === 'ERR_DLOPEN_FAILED';
      throw new HidUnavailableError(
        dlopen ? "node-hid's native library cannot load (Debian/Ubuntu: apt-get install libusb-1.0-0)" : 'listing HID devices failed',
        { cause },
      );
    }
    const seen = new Set<string>();
    const devices: DscPlusHidDevice[] = [];
    for (const info of infos) {
      if (!isDscPlusInterface(info) || seen.has(info.path!)) continue;
      seen.add(info.path!);
      devices.push({ path: info.path!, serial: info.serialNumber!, product: info.product ?? null });
    }
    return devices;
  }

  /**
   * Opens a card as a packet channel.
   *
   * A failed open is DeviceAccessDeniedError if the card is still listed (on Linux: the udev rule
   * resources/linux/70-dscplus.rules is missing), DeviceDisconnectedError if it is gone.
   */
  async open(path: string): Promise<HidChannel> {
    const hid = await this.#module();
    let handle: NativeHidHandle;
    try {
      handle = await hid.HIDAsync.open(path);
    } catch (cause) {
      const stillThere = await this.list().then((l) => l.some((d) => d.path === path), () => false);
      if (stillThere) {
        throw new DeviceAccessDeniedError(
          `cannot open the DSC+ at ${path}: permission denied? On Linux install resources/linux/70-dscplus.rules`,
          { cause },
        );
      }
      throw new DeviceDisconnectedError(`the DSC+ at ${path} is gone`, { cause });
    }
    return new HidDeviceChannel(handle);
  }

  /**
   * Calls `onChange` when a DSC+ may have been plugged in or out (then `list()` tells which).
   *
   * Uses usb's attach/detach events where available, polling every second otherwise. Returns the
   * function that stops watching.
   */
  async watch(onChange: () => void): Promise<() => void> {
    const usbModule = await this.#loadUsb().catch(() => null);
    if (usbModule) {
      try {
        const timers = new Set<ReturnType<typeof setTimeout>>();
        const ours = (device: NativeUsbDevice) =>
          device.deviceDescriptor?.idVendor === DSCPLUS_VENDOR_ID && device.deviceDescriptor.idProduct === DSCPLUS_PRODUCT_ID;
        const onAttach = (device: NativeUsbDevice) => {
          if (!ours(device)) return;
          const timer = setTimeout(() => {
            timers.delete(timer);
            onChange();
          }, ATTACH_SETTLE_MS);
          timers.add(timer);
        };
        const onDetach = (device: NativeUsbDevice) => {
          if (ours(device)) onChange();
        };
        usbModule.usb.on('attach', onAttach);
        usbModule.usb.on('detach', onDetach);
        usbModule.usb.unrefHotplugEvents?.();
        return () => {
          usbModule.usb.removeListener('attach', onAttach);
          usbModule.usb.removeListener('detach', onDetach);
          for (const t of timers) clearTimeout(t);
        };
      } catch {
        // No hot-plug support in this libusb build (e.g. Windows without it): poll instead.
      }
    }
    let last = '';
    let stopped = false;
    const poll = async () => {
      const key = await this.list().then((l) => l.map((d) => `${d.serial}@${d.path}`).sort().join('|'), () => last);
      if (!stopped && key !== last) {
        last = key;
        onChange();
      }
    };
    await poll();
    const timer = setInterval(() => void poll(), this.#pollIntervalMs);
    timer.unref?.();
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }

  #module(): Promise<NativeHidModule> {
    this.#hid ??= this.#loadHid().catch((cause: unknown) => {
      this.#hid = null;
      throw new HidUnavailableError('node-hid is not available on this machine', { cause });
    });
    return this.#hid;
  }
}

/**
 * A HidChannel over an open node-hid handle.
 *
 * Writes are 65 bytes: a 0x00 report-id byte, then the packet. The protocol page asks for it on
 * Windows; hidapi's contract (hid_write: "the first byte must contain the Report ID", 0 for devices
 * with a single report) and the Linux and macOS backends, which strip a leading 0x00, make it right
 * everywhere — without it, Linux would drop the first byte of every packet whose CID starts with 0x00.
 */
export class HidDeviceChannel implements HidChannel {
  readonly #handle: NativeHidHandle;
  readonly #packetListeners = new Set<(packet: Uint8Array) => void>();
  readonly #closeListeners = new Set<(error?: Error) => void>();
  #closed: Error | null = null;

  constructor(handle: NativeHidHandle) {
    this.#handle = handle;
    handle.on('data', (data: Buffer) => {
      // A backend that keeps the report-id byte hands over 65 bytes starting with 0x00.
      const packet = data.length === PACKET_SIZE + 1 && data[0] === 0 ? data.subarray(1) : data;
      if (packet.length !== PACKET_SIZE) return;
      const copy = new Uint8Array(packet);
      for (const listener of this.#packetListeners) listener(copy);
    });
    handle.on('error', (error: Error) => this.#fail(new DeviceDisconnectedError(`the DSC+ stopped answering: ${error.message}`, { cause: error })));
  }

  async write(packet: Uint8Array): Promise<void> {
    if (this.#closed) throw new DeviceDisconnectedError(undefined, { cause: this.#closed });
    if (packet.length !== PACKET_SIZE) throw new RangeError(`a packet is ${PACKET_SIZE} bytes, not ${packet.length}`);
    const report = Buffer.alloc(PACKET_SIZE + 1);
    report.set(packet, 1);
    try {
      await this.#handle.write(report);
    } catch (cause) {
      const error = new DeviceDisconnectedError(`writing to the DSC+ failed: ${(cause as Error).message}`, { cause });
      this.#fail(error);
      throw error;
    }
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
    this.#fail(new DeviceDisconnectedError('closed by the host'));
  }

  #fail(error: Error): void {
    if (this.#closed) return;
    this.#closed = error;
    this.#handle.removeAllListeners('data');
    this.#handle.removeAllListeners('error');
    this.#handle.on('error', () => {}); // a late native error must not crash the process
    void this.#handle.close().catch(() => {});
    for (const listener of [...this.#closeListeners]) listener(error);
    this.#closeListeners.clear();
    this.#packetListeners.clear();
  }
}
