import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DeviceManager, type DscPlusDescriptor } from './device-manager.ts';
import { DscPlusEmulator } from './emulator/emulator.ts';
import { HidApi, DSCPLUS_PRODUCT_ID, DSCPLUS_USAGE_PAGE, DSCPLUS_VENDOR_ID, type NativeHidDeviceInfo } from './hid-api.ts';
import { DeviceNotFoundError } from './errors.ts';
import { newDscPlusState } from '../core/dscplus-state.ts';
import { emulatorDirectory } from './socket-channel.ts';

let dir: string;
let manager: DeviceManager | null = null;
const emulators: DscPlusEmulator[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dscplus-dm-'));
});
afterEach(async () => {
  await manager?.stop();
  manager = null;
  for (const e of emulators.splice(0)) await e.close();
  await rm(dir, { recursive: true, force: true });
});

async function startEmulator(serial: string): Promise<DscPlusEmulator> {
  const stateFile = path.join(dir, `${serial}.json`);
  await writeFile(stateFile, JSON.stringify(newDscPlusState({ serial, secret: new Uint8Array(20).fill(1), pin: '1234' })));
  const emulator = await DscPlusEmulator.start({ stateFile, dir });
  emulators.push(emulator);
  return emulator;
}

function nextEvent(m: DeviceManager, name: 'attached' | 'detached'): Promise<DscPlusDescriptor> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} event`)), 3000);
    m.once(name, (d) => {
      clearTimeout(timer);
      resolve(d);
    });
  });
}

describe('device manager (SPEC H2): discovery and hot-plug', () => {
  it('an emulator socket appearing is attached, its client works, unplug is detached, replug attached again', async () => {
    manager = new DeviceManager({ hid: null, emulatorDir: dir });
    await manager.start();
    expect(manager.list()).toEqual([]);
    const attached = nextEvent(manager, 'attached');
    const emulator = await startEmulator('4000000001');
    const socketPath = path.join(dir, '4000000001.sock');
    expect(await attached).toEqual({ serial: '4000000001', source: 'emulator', path: socketPath });
    expect(manager.list()).toEqual([{ serial: '4000000001', source: 'emulator', path: socketPath }]);
    const client = await manager.client('4000000001');
    expect(await manager.client('4000000001')).toBe(client); // shared
    await expect(client.info()).resolves.toMatchObject({ serial: '4000000001' });

    const detached = nextEvent(manager, 'detached');
    await emulator.unplug();
    expect(await detached).toMatchObject({ serial: '4000000001', source: 'emulator' });
    expect(manager.list()).toEqual([]);
    await expect(manager.client('4000000001')).rejects.toBeInstanceOf(DeviceNotFoundError);

    const again = nextEvent(manager, 'attached');
    await emulator.replug();
    await again;
    await expect((await manager.client('4000000001')).info()).resolves.toMatchObject({ triesLeft: 3 });
  });

  it('attaches emulators already running at start, ignores other files and a dead socket', async () => {
    await startEmulator('4000000002');
    await writeFile(path.join(dir, '4000000003.sock'), ''); // a stale file: nobody listens
    await writeFile(path.join(dir, 'notes.txt'), '');
    manager = new DeviceManager({ hid: null, emulatorDir: dir });
    const attached = nextEvent(manager, 'attached');
    await manager.start();
    expect((await attached).serial).toBe('4000000002');
    await new Promise((r) => setTimeout(r, 100));
    expect(manager.list().map((d) => d.serial)).toEqual(['4000000002']);
  });

  it('finds sockets by polling where fs.watch is not used', async () => {
    manager = new DeviceManager({ hid: null, emulatorDir: dir, useFsWatch: false, pollIntervalMs: 20 });
    await manager.start();
    const attached = nextEvent(manager, 'attached');
    const emulator = await startEmulator('4000000004');
    expect((await attached).serial).toBe('4000000004');
    const detached = nextEvent(manager, 'detached');
    await emulator.close();
    expect((await detached).serial).toBe('4000000004');
  });

  it('USB cards: attached when hid-api lists them, detached when they go (polling, fake native module)', async () => {
    const devices: NativeHidDeviceInfo[] = [];
    const hid = new HidApi({
      loadUsb: async () => null,
      pollIntervalMs: 20,
      loadHid: async () => ({ devicesAsync: async () => devices, HIDAsync: { open: async () => { throw new Error('no'); } } }),
    });
    manager = new DeviceManager({ hid, emulatorDir: null });
    await manager.start();
    const attached = nextEvent(manager, 'attached');
    devices.push({ vendorId: DSCPLUS_VENDOR_ID, productId: DSCPLUS_PRODUCT_ID, usagePage: DSCPLUS_USAGE_PAGE, path: '/dev/hidraw9', serialNumber: '4000000005' });
    expect(await attached).toEqual({ serial: '4000000005', source: 'usb', path: '/dev/hidraw9' });
    const detached = nextEvent(manager, 'detached');
    devices.pop();
    expect(await detached).toEqual({ serial: '4000000005', source: 'usb', path: '/dev/hidraw9' });
  });

  it('reports a missing node-hid as an error event and goes on with emulators', async () => {
    const hid = new HidApi({ loadUsb: async () => null, loadHid: async () => { throw new Error('no node-hid'); } });
    manager = new DeviceManager({ hid, emulatorDir: dir });
    const errors: Error[] = [];
    manager.on('error', (e) => errors.push(e));
    await manager.start();
    expect(errors[0]?.message).toMatch(/node-hid/);
    const attached = nextEvent(manager, 'attached');
    await startEmulator('4000000006');
    expect((await attached).serial).toBe('4000000006');
  });

  it('the discovery directory is SLS_DSCPLUS_DIR, else <tmpdir>/sls-dscplus', () => {
    expect(emulatorDirectory({ SLS_DSCPLUS_DIR: '/x/y' })).toBe('/x/y');
    expect(emulatorDirectory({})).toBe(path.join(os.tmpdir(), 'sls-dscplus'));
    expect(new DeviceManager({ hid: null, env: { SLS_DSCPLUS_DIR: '/x/z' } }).emulatorDir).toBe('/x/z');
  });
});
