import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import {
  DSCPLUS_PRODUCT_ID, DSCPLUS_USAGE_PAGE, DSCPLUS_VENDOR_ID, HidApi,
  type NativeHidDeviceInfo, type NativeHidHandle, type NativeHidModule, type NativeUsbDevice, type NativeUsbModule,
} from './hid-api.ts';
import { DeviceAccessDeniedError, DeviceDisconnectedError, HidUnavailableError } from './errors.ts';
import { DscPlusClient } from './dscplus-client.ts';
import { DscPlusDevice } from './emulator/device.ts';
import { newDscPlusState } from '../core/dscplus-state.ts';
import { Command, encodeMessage } from './framing.ts';

/** A node-hid handle whose far end is a test function (or a DscPlusDevice). */
class FakeHandle extends EventEmitter implements NativeHidHandle {
  readonly writes: Buffer[] = [];
  closed = false;
  onWrite: (report: Buffer) => void = () => {};
  failWrites = false;
  async write(data: number[] | Buffer): Promise<number> {
    if (this.failWrites) throw new Error('Cannot write to hid device');
    const report = Buffer.from(data);
    this.writes.push(report);
    this.onWrite(report);
    return report.length;
  }
  async close() {
    this.closed = true;
  }
}

const card = (over: Partial<NativeHidDeviceInfo> = {}): NativeHidDeviceInfo => ({
  vendorId: DSCPLUS_VENDOR_ID, productId: DSCPLUS_PRODUCT_ID, usagePage: DSCPLUS_USAGE_PAGE, usage: 1,
  path: '/dev/hidraw3', serialNumber: '4000000099', product: 'DSC+', ...over,
});

function fakeHid(devices: NativeHidDeviceInfo[], handles: Map<string, FakeHandle> = new Map(), openError?: Error) {
  const module: NativeHidModule = {
    devicesAsync: async () => devices,
    HIDAsync: {
      open: async (path: string) => {
        if (openError) throw openError;
        const handle = handles.get(path) ?? new FakeHandle();
        handles.set(path, handle);
        return handle;
      },
    },
  };
  return module;
}

const noUsb = async () => null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('hid-api with an injected native module (SPEC H2; no HID hardware here)', () => {
  it('lists only DSC+ interfaces: VID 0x1209, PID 0xD5C1, usage page 0xFF00, a 10-digit serial, a path', async () => {
    const api = new HidApi({
      loadUsb: noUsb,
      loadHid: async () => fakeHid([
        card(),
        card({ path: '/dev/hidraw3' }), // same interface twice
        card({ path: '/dev/hidraw4', usagePage: 0xf1d0 }), // another interface of the same device
        card({ path: '/dev/hidraw5', productId: 0x0001 }),
        card({ path: '/dev/hidraw6', serialNumber: 'ABC' }),
        card({ path: undefined }),
        card({ path: '/dev/hidraw7', serialNumber: '4000000100', usagePage: undefined }),
      ]),
    });
    expect(await api.list()).toEqual([
      { path: '/dev/hidraw3', serial: '4000000099', product: 'DSC+' },
      { path: '/dev/hidraw7', serial: '4000000100', product: 'DSC+' },
    ]);
  });

  it('fails with HidUnavailableError when node-hid cannot be loaded, and loads nothing else', async () => {
    const api = new HidApi({ loadUsb: noUsb, loadHid: async () => { throw new Error('Cannot find module node-hid'); } });
    await expect(api.list()).rejects.toBeInstanceOf(HidUnavailableError);
    await expect(api.available()).resolves.toBe(false);
  });

  it('writes 65-byte reports, a 0x00 report-id byte before the packet; reads 64-byte packets', async () => {
    const handles = new Map<string, FakeHandle>();
    const api = new HidApi({ loadUsb: noUsb, loadHid: async () => fakeHid([card()], handles) });
    const channel = await api.open('/dev/hidraw3');
    const packet = encodeMessage({ cid: 0x00abcdef, cmd: Command.PING, payload: new Uint8Array([1]) })[0]!;
    await channel.write(packet);
    const handle = handles.get('/dev/hidraw3')!;
    expect(handle.writes[0]!.length).toBe(65);
    expect(handle.writes[0]![0]).toBe(0);
    expect(new Uint8Array(handle.writes[0]!.subarray(1))).toEqual(packet);
    const got: Uint8Array[] = [];
    channel.onPacket((p) => got.push(p));
    handle.emit('data', Buffer.from(packet));
    handle.emit('data', Buffer.concat([Buffer.from([0]), Buffer.from(packet)])); // a backend keeping the report id
    handle.emit('data', Buffer.alloc(10)); // not a packet: dropped
    expect(got).toEqual([packet, packet]);
  });

  it('maps a native read error (unplug) to DeviceDisconnectedError, closes the handle, fails later writes', async () => {
    const handles = new Map<string, FakeHandle>();
    const api = new HidApi({ loadUsb: noUsb, loadHid: async () => fakeHid([card()], handles) });
    const channel = await api.open('/dev/hidraw3');
    const closed: Array<Error | undefined> = [];
    channel.onClose((e) => closed.push(e));
    handles.get('/dev/hidraw3')!.emit('error', new Error('could not read from HID device'));
    expect(closed[0]).toBeInstanceOf(DeviceDisconnectedError);
    expect(handles.get('/dev/hidraw3')!.closed).toBe(true);
    await expect(channel.write(new Uint8Array(64))).rejects.toBeInstanceOf(DeviceDisconnectedError);
  });

  it('maps a native write error to DeviceDisconnectedError', async () => {
    const handles = new Map<string, FakeHandle>([['/dev/hidraw3', Object.assign(new FakeHandle(), { failWrites: true })]]);
    const api = new HidApi({ loadUsb: noUsb, loadHid: async () => fakeHid([card()], handles) });
    const channel = await api.open('/dev/hidraw3');
    await expect(channel.write(new Uint8Array(64))).rejects.toBeInstanceOf(DeviceDisconnectedError);
  });

  it('a failed open is DeviceAccessDeniedError if the card is still listed (udev rule), DeviceDisconnectedError if gone', async () => {
    const denied = new HidApi({ loadUsb: noUsb, loadHid: async () => fakeHid([card()], new Map(), new Error('cannot open device with path /dev/hidraw3')) });
    await expect(denied.open('/dev/hidraw3')).rejects.toBeInstanceOf(DeviceAccessDeniedError);
    await expect(denied.open('/dev/hidraw3')).rejects.toThrow(/70-dscplus\.rules/);
    const gone = new HidApi({ loadUsb: noUsb, loadHid: async () => fakeHid([], new Map(), new Error('cannot open device')) });
    await expect(gone.open('/dev/hidraw3')).rejects.toBeInstanceOf(DeviceDisconnectedError);
  });

  it('drives a whole INIT/INFO/RESPOND through the HID channel to the device state machine', async () => {
    const state = newDscPlusState({ serial: '4000000099', secret: new Uint8Array(20).fill(9), pin: '1111' });
    const handle = new FakeHandle();
    const device = new DscPlusDevice({ state, save: async () => {} });
    device.plug((packet) => setImmediate(() => handle.emit('data', Buffer.from(packet))));
    handle.onWrite = (report) => {
      // What the OS does with the report-id byte before the device sees the packet.
      expect(report[0]).toBe(0);
      device.receive(new Uint8Array(report.subarray(1)));
    };
    const api = new HidApi({ loadUsb: noUsb, loadHid: async () => fakeHid([card()], new Map([['/dev/hidraw3', handle]])) });
    const client = await DscPlusClient.connect(await api.open('/dev/hidraw3'));
    await expect(client.info()).resolves.toMatchObject({ serial: '4000000099', triesLeft: 3 });
    device.once('pinPrompt', () => device.keypad.enter('1111'));
    await expect(client.respond('123456')).resolves.toMatch(/^\d{8}$/);
    device.unplug();
    await client.close();
  });

  it('closing the client during a RESPOND cancels it on the USB card, which stays powered: the next app start is not answered CHANNEL_BUSY (protocols/dscplus-hid.md "RESPOND", CANCEL)', async () => {
    const state = newDscPlusState({ serial: '4000000099', secret: new Uint8Array(20).fill(9), pin: '1111' });
    const device = new DscPlusDevice({ state, save: async () => {} });
    // One USB card, opened by one app then another: the handle goes, the card (and its power) stays.
    const handles = new Map<string, FakeHandle>();
    let current: FakeHandle | null = null;
    device.plug((packet) => setImmediate(() => current?.emit('data', Buffer.from(packet))));
    const openHandle = () => {
      const handle = new FakeHandle();
      handle.onWrite = (report) => device.receive(new Uint8Array(report.subarray(1)));
      handles.set('/dev/hidraw3', handle);
      current = handle;
    };
    const api = new HidApi({ loadUsb: noUsb, loadHid: async () => fakeHid([card()], handles) });
    openHandle();
    const first = await DscPlusClient.connect(await api.open('/dev/hidraw3'));
    const prompt = new Promise((r) => device.once('pinPrompt', r));
    const respond = first.respond('123456').catch((e: unknown) => e);
    await prompt;
    await first.close(); // the app quits while the card shows "Enter PIN"
    expect(await respond).toBeInstanceOf(DeviceDisconnectedError);
    expect(handles.get('/dev/hidraw3')!.closed).toBe(true);
    await sleep(20);
    expect(device.waitingForPin).toBe(false);
    openHandle();
    const second = await DscPlusClient.connect(await api.open('/dev/hidraw3'));
    await expect(second.info()).resolves.toMatchObject({ serial: '4000000099', triesLeft: 3 });
    await second.close();
    device.unplug();
  });

  it('hot-plug: re-lists on usb attach/detach of our VID/PID only, and stops when asked', async () => {
    const usb = new EventEmitter();
    const usbModule: NativeUsbModule = { usb: usb as unknown as NativeUsbModule['usb'] };
    const api = new HidApi({ loadUsb: async () => usbModule, loadHid: async () => fakeHid([]) });
    let changes = 0;
    const stop = await api.watch(() => changes++);
    const ours: NativeUsbDevice = { deviceDescriptor: { idVendor: DSCPLUS_VENDOR_ID, idProduct: DSCPLUS_PRODUCT_ID } };
    usb.emit('detach', ours);
    usb.emit('detach', { deviceDescriptor: { idVendor: 0x046d, idProduct: 0xc52b } });
    expect(changes).toBe(1);
    usb.emit('attach', ours);
    await sleep(300); // attach waits for the HID node to settle
    expect(changes).toBe(2);
    stop();
    usb.emit('detach', ours);
    expect(changes).toBe(2);
    expect(usb.listenerCount('attach')).toBe(0);
  });

  it('hot-plug falls back to polling where usb is unavailable', async () => {
    const devices: NativeHidDeviceInfo[] = [];
    const api = new HidApi({ loadUsb: noUsb, loadHid: async () => fakeHid(devices), pollIntervalMs: 10 });
    let changes = 0;
    const stop = await api.watch(() => changes++);
    const initial = changes;
    await sleep(40);
    expect(changes).toBe(initial); // nothing changed, nothing reported
    devices.push(card());
    await sleep(60);
    expect(changes).toBe(initial + 1);
    devices.pop();
    await sleep(60);
    expect(changes).toBe(initial + 2);
    stop();
  });
});
