import { describe, expect, it } from 'vitest';
import { newDscPlusState, type DscPlusState } from '../../core/dscplus-state.ts';
import { DscPlusClient, PinBlockedError } from '../dscplus-client.ts';
import type { HidChannel } from '../transport.ts';
import { DscPlusDevice } from './device.ts';

/*
 * The card's PIN tries when two PINs are checked at the same time (SPEC H2 "three blocks it"): an
 * offline entry on the keypad whose PIN is still being checked when a host RESPOND takes over (the
 * try still counts, device.ts), and the PIN then typed for that RESPOND. The PIN check and the state
 * file save are made slow on purpose (injected), so the order of events is the test's.
 */

const PIN = '2468';
const base = newDscPlusState({ serial: '4000000025', secret: new Uint8Array(20).fill(3), pin: PIN });

/** The driver's side of a card plugged into this process: packets go straight to the device and back. */
function plugIn(device: DscPlusDevice): HidChannel {
  const packetListeners = new Set<(p: Uint8Array) => void>();
  const closeListeners = new Set<(e?: Error) => void>();
  device.plug((p) => setImmediate(() => packetListeners.forEach((l) => l(p.slice()))));
  return {
    async write(p) {
      device.receive(p.slice());
    },
    onPacket(l) {
      packetListeners.add(l);
      return () => packetListeners.delete(l);
    },
    onClose(l) {
      closeListeners.add(l);
      return () => closeListeners.delete(l);
    },
    async close() {
      device.unplug();
      closeListeners.forEach((l) => l());
    },
  };
}

/** A PIN check that answers only when the test says so. */
function heldPinChecks() {
  const held: Array<{ pin: string; answer: () => void }> = [];
  const checkPin = (_state: DscPlusState, pin: string) =>
    new Promise<boolean>((resolve) => held.push({ pin, answer: () => resolve(pin === PIN) }));
  return { held, checkPin };
}

const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(2);
  }
}

describe('DSC+ emulator: PIN tries with two PINs checked at once (SPEC H2)', () => {
  it('a card blocked by the third wrong PIN while another PIN was being checked stays blocked, even if that one is right', async () => {
    let file: DscPlusState = { ...base, triesLeft: 1 };
    const { held, checkPin } = heldPinChecks();
    const device = new DscPlusDevice({ state: file, checkPin, save: async (s) => void (file = s) });
    const client = await DscPlusClient.connect(plugIn(device));
    device.keypad.enter('0000'); // offline, the last try: being checked
    await until(() => held.length === 1);
    const prompt = new Promise((r) => device.once('pinPrompt', r));
    const respond = client.respond('123456').catch((e: unknown) => e);
    await prompt; // the RESPOND took over; the offline PIN still counts
    device.keypad.enter(PIN); // a fourth guess, typed before the third was counted
    await until(() => held.length === 2);
    held[0]!.answer(); // wrong: the card blocks
    await until(() => file.triesLeft === 0);
    held[1]!.answer(); // right, but too late
    expect(await respond).toBeInstanceOf(PinBlockedError);
    expect(device.state.triesLeft).toBe(0);
    expect(file.triesLeft).toBe(0);
    await expect(client.info()).resolves.toMatchObject({ triesLeft: 0, state: 'pin_blocked' });
    await client.close();
  });

  it('the state file ends with the last count: two wrong PINs saved at once block the card across a restart', async () => {
    let file: DscPlusState = { ...base, triesLeft: 2 };
    const { held, checkPin } = heldPinChecks();
    let saves = 0;
    const save = async (s: DscPlusState) => {
      // The first save is slow (a busy disk), the second fast: the file must still end with the second.
      if (saves++ === 0) await sleep(60);
      file = s;
    };
    const device = new DscPlusDevice({ state: file, checkPin, save });
    const client = await DscPlusClient.connect(plugIn(device));
    device.keypad.enter('0000');
    await until(() => held.length === 1);
    const prompt = new Promise((r) => device.once('pinPrompt', r));
    const respond = client.respond('123456').catch((e: unknown) => e);
    await prompt;
    device.keypad.enter('1111');
    await until(() => held.length === 2);
    held[0]!.answer(); // wrong: 1 left, saved slowly
    await tick();
    held[1]!.answer(); // wrong: 0 left, blocked
    expect(await respond).toBeInstanceOf(PinBlockedError);
    await sleep(100); // every save has landed
    expect(file.triesLeft).toBe(0);
    await client.close();
    // The emulator restarted from its state file: still blocked.
    const restarted = new DscPlusDevice({ state: file, checkPin, save });
    const again = await DscPlusClient.connect(plugIn(restarted));
    await expect(again.info()).resolves.toMatchObject({ triesLeft: 0, state: 'pin_blocked' });
    await again.close();
  });
});
