import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { newDscPlusState } from '../../core/dscplus-state.ts';
import { deviceResponse } from '../../core/codes.ts';
import { ocraPasswordHash } from '../../core/ocra.ts';
import { DEVICE_CATALOGUE } from '../../core/devices.ts';
import { DscPlusEmulator } from './emulator.ts';
import { connectEmulator, type SocketChannel } from '../socket-channel.ts';
import {
  ChannelBusyError, DscPlusClient, InvalidLengthError, InvalidParameterError, PinBlockedError, PinInvalidError,
  UserCancelledError, UserTimeoutError, deviceError,
} from '../dscplus-client.ts';
import { Transport } from '../transport.ts';
import { Command, ErrorCode, encodeMessage, type HidMessage } from '../framing.ts';
import { DeviceDisconnectedError, TransportAbortedError, TransportBusyError } from '../errors.ts';

const SERIAL = '4000000017';
const PIN = '2468';
const SECRET = new Uint8Array(32).map((_, i) => (i * 7 + 3) & 0xff);
/** The offline entry's timeout here (device.ts; 60 s on a real run). */
const OFFLINE_TIMEOUT_MS = 400;
const slsctlBin = path.join(import.meta.dirname, '../../bin/slsctl.mjs');

let dir: string;
let stateFile: string;
let emulator: DscPlusEmulator;
let channel: SocketChannel;
let client: DscPlusClient;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dscplus-emu-'));
  stateFile = path.join(dir, 'card.json');
  await writeFile(stateFile, JSON.stringify(newDscPlusState({ serial: SERIAL, secret: SECRET, pin: PIN })));
  emulator = await DscPlusEmulator.start({ stateFile, dir, offlineTimeoutMs: OFFLINE_TIMEOUT_MS });
  channel = await connectEmulator(emulator.address!);
  client = await DscPlusClient.connect(channel);
});

afterEach(async () => {
  await client.close().catch(() => {});
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

const expectedResponse = (challenge: string) =>
  deviceResponse('dscplus', SECRET, challenge, { pinHash: ocraPasswordHash(DEVICE_CATALOGUE.dscplus.ocraSuite!, PIN) });

/** Collects the raw messages the card sends on one channel (bypassing the transport). */
function rawMessages(ch: SocketChannel, cid: number): HidMessage[] {
  const seen: HidMessage[] = [];
  ch.onPacket((p) => {
    const view = new DataView(p.buffer, p.byteOffset);
    if (view.getUint32(0) === cid && (p[4]! & 0x80) !== 0) seen.push({ cid, cmd: p[4]!, payload: p.slice(7, 7 + view.getUint16(5)) });
  });
  return seen;
}
const until = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('DSC+ driver against the emulator over a real socket (SPEC H2, protocols/dscplus-hid.md)', () => {
  it('INIT allocates a channel and reports version, firmware and capabilities; INFO tells serial, tries, suite', async () => {
    const init = await client.init();
    expect(init).toMatchObject({ cid: client.cid, protocolVersion: 1, firmware: [1, 0, 0], capabilities: { keypad: true, display: true } });
    await expect(client.info()).resolves.toEqual({
      serial: SERIAL, model: 1, triesLeft: 3, state: 'ready', suite: 'OCRA-1:HOTP-SHA256-8:QN06-PSHA1',
    });
  });

  it('RESPOND: the PIN typed on the keypad yields deviceResponse(dscplus, secret, challenge, PIN hash)', async () => {
    const statuses: string[] = [];
    emulator.once('pinPrompt', ({ challenge }) => {
      expect(challenge).toBe('123456');
      expect(emulator.screen).toEqual({ title: 'Challenge 123456', line: 'Enter PIN ____' });
      emulator.keypad.press('24');
      expect(emulator.screen.line).toBe('Enter PIN **__');
      emulator.keypad.press('6').backspace().press('68').ok();
    });
    const response = await client.respond('123456', { onStatus: (s) => statuses.push(s) });
    expect(response).toBe(expectedResponse('123456'));
    expect(response).toMatch(/^\d{8}$/);
    expect(statuses[0]).toBe('waiting_for_pin');
  });

  it('sends KEEPALIVE at least every 100 ms while waiting for the PIN', async () => {
    const times: number[] = [];
    const start = performance.now();
    const pending = client.respond('654321', { onStatus: () => times.push(performance.now()) });
    await new Promise((r) => setTimeout(r, 450));
    emulator.keypad.enter(PIN);
    await expect(pending).resolves.toBe(expectedResponse('654321'));
    const elapsed = times.at(-1)! - start;
    const gaps = times.slice(1).map((t, i) => t - times[i]!).sort((a, b) => a - b);
    // Counted, not only timed, so a loaded CI machine's timer jitter cannot fail it alone.
    expect(times.length).toBeGreaterThanOrEqual(Math.floor(elapsed / 100));
    expect(gaps[Math.floor(gaps.length / 2)]!).toBeLessThan(100);
  });

  it('counts wrong PINs down 3→2→1, blocks at 0 and stays blocked; the tries are persisted', async () => {
    for (const left of [2, 1]) {
      emulator.once('pinPrompt', () => emulator.keypad.enter('0000'));
      const error = await client.respond('111111').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PinInvalidError);
      expect((error as PinInvalidError).triesLeft).toBe(left);
      expect(JSON.parse(await readFile(stateFile, 'utf8')).triesLeft).toBe(left);
    }
    emulator.once('pinPrompt', () => emulator.keypad.enter('9999'));
    await expect(client.respond('111111')).rejects.toBeInstanceOf(PinBlockedError);
    expect(JSON.parse(await readFile(stateFile, 'utf8')).triesLeft).toBe(0);
    await expect(client.info()).resolves.toMatchObject({ triesLeft: 0, state: 'pin_blocked' });
    // Stays blocked, even across a restart from the state file, and even with the right PIN.
    await client.close();
    await emulator.close();
    emulator = await DscPlusEmulator.start({ stateFile, dir });
    client = await DscPlusClient.connect(await connectEmulator(emulator.address!));
    let prompted = false;
    emulator.once('pinPrompt', () => (prompted = true));
    await expect(client.respond('111111')).rejects.toBeInstanceOf(PinBlockedError);
    expect(prompted).toBe(false);
  });

  it('a right PIN restores the tries after a wrong one', async () => {
    emulator.once('pinPrompt', () => emulator.keypad.enter('0000'));
    await expect(client.respond('222222')).rejects.toBeInstanceOf(PinInvalidError);
    emulator.once('pinPrompt', () => emulator.keypad.enter(PIN));
    await client.respond('222222');
    await expect(client.info()).resolves.toMatchObject({ triesLeft: 3 });
  });

  it('CANCEL from the host ends a waiting RESPOND with USER_CANCELLED', async () => {
    emulator.once('pinPrompt', () => void client.cancel());
    await expect(client.respond('123456')).rejects.toBeInstanceOf(UserCancelledError);
    await expect(client.info()).resolves.toMatchObject({ triesLeft: 3 });
  });

  it('cancel on the keypad ends RESPOND with USER_CANCELLED', async () => {
    emulator.once('pinPrompt', () => emulator.keypad.press('12').cancel());
    await expect(client.respond('123456')).rejects.toBeInstanceOf(UserCancelledError);
  });

  it('aborting the signal sends CANCEL and rejects with TransportAbortedError once the card stopped', async () => {
    const ac = new AbortController();
    emulator.once('pinPrompt', () => ac.abort());
    await expect(client.respond('123456', { signal: ac.signal })).rejects.toBeInstanceOf(TransportAbortedError);
    expect(emulator.device.waitingForPin).toBe(false);
    await expect(client.ping(new Uint8Array([1]))).resolves.toEqual(new Uint8Array([1]));
  });

  it('a second command on the same client while RESPOND is pending fails at once with TransportBusyError', async () => {
    const pending = client.respond('123456');
    await emulator.nextPinPrompt();
    await expect(client.info()).rejects.toBeInstanceOf(TransportBusyError);
    emulator.keypad.enter(PIN);
    await expect(pending).resolves.toBe(expectedResponse('123456'));
  });

  it('USER_TIMEOUT when nobody types the PIN within the RESPOND timeout', async () => {
    await expect(client.respond('123456', { timeoutSeconds: 1 })).rejects.toBeInstanceOf(UserTimeoutError);
  });

  it('CHANNEL_BUSY for any other command, on any channel, while RESPOND waits for the PIN; INIT still answers', async () => {
    const other = new DscPlusClient(new Transport(channel));
    await other.init();
    expect(other.cid).not.toBe(client.cid);
    const pending = client.respond('123456');
    await emulator.nextPinPrompt();
    await expect(other.info()).rejects.toBeInstanceOf(ChannelBusyError);
    await expect(other.ping(new Uint8Array([1]))).rejects.toBeInstanceOf(ChannelBusyError);
    await expect(other.init()).resolves.toMatchObject({ cid: other.cid }); // INIT on another channel: RESPOND goes on
    expect(emulator.device.waitingForPin).toBe(true);
    emulator.keypad.enter(PIN);
    await expect(pending).resolves.toBe(expectedResponse('123456'));
  });

  it('CHANNEL_BUSY for a packet on another channel while a message is being received; that message goes on', async () => {
    const other = new DscPlusClient(new Transport(channel));
    await other.init();
    const mine = rawMessages(channel, client.cid);
    const theirs = rawMessages(channel, other.cid);
    const big = encodeMessage({ cid: client.cid, cmd: Command.PING, payload: new Uint8Array(120).fill(5) });
    await channel.write(big[0]!);
    await channel.write(encodeMessage({ cid: other.cid, cmd: Command.INFO, payload: new Uint8Array() })[0]!);
    for (const p of big.slice(1)) await channel.write(p);
    await until(() => mine.length > 0 && theirs.length > 0);
    expect(theirs[0]).toEqual({ cid: other.cid, cmd: Command.ERROR, payload: new Uint8Array([ErrorCode.CHANNEL_BUSY]) });
    expect(mine[0]!.cmd).toBe(Command.PING);
  });

  it('INVALID_SEQ for a continuation out of sequence', async () => {
    const seen = rawMessages(channel, client.cid);
    const packets = encodeMessage({ cid: client.cid, cmd: Command.PING, payload: new Uint8Array(200) });
    await channel.write(packets[0]!);
    await channel.write(packets[2]!); // SEQ 1 where SEQ 0 is due
    await until(() => seen.length > 0);
    expect(seen[0]).toEqual({ cid: client.cid, cmd: Command.ERROR, payload: new Uint8Array([ErrorCode.INVALID_SEQ]) });
  });

  it('MSG_TIMEOUT for a message not completed within 500 ms', async () => {
    const seen = rawMessages(channel, client.cid);
    const packets = encodeMessage({ cid: client.cid, cmd: Command.PING, payload: new Uint8Array(200) });
    const start = performance.now();
    await channel.write(packets[0]!);
    await until(() => seen.length > 0);
    expect(performance.now() - start).toBeGreaterThanOrEqual(490);
    expect(seen[0]).toEqual({ cid: client.cid, cmd: Command.ERROR, payload: new Uint8Array([ErrorCode.MSG_TIMEOUT]) });
  });

  it('MSG_TIMEOUT still ends a half-sent message when another app INITs meanwhile; the card then serves that app (not CHANNEL_BUSY for good)', async () => {
    const seen = rawMessages(channel, client.cid);
    const packets = encodeMessage({ cid: client.cid, cmd: Command.PING, payload: new Uint8Array(200) });
    await channel.write(packets[0]!); // the rest never comes (the app stopped mid-message)
    const other = new DscPlusClient(new Transport(channel));
    await other.init(); // INIT gets through a message in progress (protocols/dscplus-hid.md "Packets")
    await until(() => seen.length > 0, 1500);
    expect(seen[0]).toEqual({ cid: client.cid, cmd: Command.ERROR, payload: new Uint8Array([ErrorCode.MSG_TIMEOUT]) });
    await expect(other.info()).resolves.toMatchObject({ serial: SERIAL });
  });

  it('INVALID_PAR for a challenge that is not 4–10 digits or that the QN06 suite cannot take', async () => {
    const raw = (challenge: string) => {
      const bytes = new TextEncoder().encode(challenge);
      return client.transport.exchange({ cid: client.cid, cmd: Command.RESPOND, payload: new Uint8Array([bytes.length, ...bytes, 0]) });
    };
    for (const bad of ['12a456', '123', '12345678901', '1234']) {
      const answer = await raw(bad);
      expect(answer.cmd).toBe(Command.ERROR);
      expect(deviceError(answer.payload[0]!)).toBeInstanceOf(InvalidParameterError);
    }
    await expect(client.respond('1234')).rejects.toBeInstanceOf(InvalidParameterError);
    expect(emulator.device.waitingForPin).toBe(false);
  });

  it('INVALID_LEN for a payload of the wrong length', async () => {
    const info = await client.transport.exchange({ cid: client.cid, cmd: Command.INFO, payload: new Uint8Array([1]) });
    expect(deviceError(info.payload[0]!)).toBeInstanceOf(InvalidLengthError);
    const respond = await client.transport.exchange({ cid: client.cid, cmd: Command.RESPOND, payload: new Uint8Array([6, 0x31, 0x32]) });
    expect(deviceError(respond.payload[0]!)).toBeInstanceOf(InvalidLengthError);
    const init = await client.transport.exchange({ cid: client.cid, cmd: Command.INIT, payload: new Uint8Array(7) });
    expect(deviceError(init.payload[0]!)).toBeInstanceOf(InvalidLengthError);
  });

  it('INVALID_CMD for an unknown command and for a non-INIT on broadcast; OTHER on an unallocated channel', async () => {
    const unknown = await client.transport.exchange({ cid: client.cid, cmd: 0xc7, payload: new Uint8Array() });
    expect(unknown.payload[0]).toBe(ErrorCode.INVALID_CMD);
    const broadcast = await client.transport.exchange({ cid: 0xffffffff, cmd: Command.PING, payload: new Uint8Array() });
    expect(broadcast.payload[0]).toBe(ErrorCode.INVALID_CMD);
    const stray = await client.transport.exchange({ cid: 0x12345678, cmd: Command.PING, payload: new Uint8Array() });
    expect(stray.payload[0]).toBe(ErrorCode.OTHER);
  });

  it('INIT on the allocated channel resynchronises: a waiting RESPOND is aborted', async () => {
    const raw = rawMessages(channel, client.cid);
    const before = client.cid;
    const pending = client.transport.exchange(
      { cid: client.cid, cmd: Command.RESPOND, payload: new Uint8Array([6, ...new TextEncoder().encode('123456'), 0]) },
    ).catch((e: unknown) => e);
    await emulator.nextPinPrompt();
    await channel.write(encodeMessage({ cid: client.cid, cmd: Command.INIT, payload: new Uint8Array(8).fill(1) })[0]!);
    await until(() => raw.some((m) => m.cmd === Command.INIT));
    expect(emulator.device.waitingForPin).toBe(false);
    const init = raw.find((m) => m.cmd === Command.INIT)!;
    expect(new DataView(init.payload.buffer).getUint32(8)).toBe(before);
    // The aborted RESPOND never answers: the next message on the channel is the INIT answer.
    expect(await pending).toMatchObject({ cmd: Command.INIT });
    expect(raw.filter((m) => m.cmd === Command.RESPOND || m.cmd === Command.ERROR)).toEqual([]);
  });

  it('echoes a PING of the largest message, 7609 bytes', async () => {
    const data = new Uint8Array(7609).map((_, i) => (i * 31) & 0xff);
    await expect(client.ping(data)).resolves.toEqual(data);
  });

  it('unplugging during RESPOND fails it with DeviceDisconnectedError', async () => {
    emulator.once('pinPrompt', () => void emulator.unplug());
    await expect(client.respond('123456')).rejects.toBeInstanceOf(DeviceDisconnectedError);
    expect(existsSync(path.join(dir, `${SERIAL}.sock`))).toBe(false);
    await emulator.replug();
    client = await DscPlusClient.connect(await connectEmulator(emulator.address!));
    await expect(client.info()).resolves.toMatchObject({ serial: SERIAL });
  });

  it('accepts one host at a time: a second connection is closed at once', async () => {
    const second = net.connect({ path: (emulator.address as { path: string }).path });
    await new Promise((r) => second.once('close', r));
    await expect(client.ping(new Uint8Array([7]))).resolves.toEqual(new Uint8Array([7]));
  });

  it('refuses to start on a state file with another suite or malformed content', async () => {
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ ...newDscPlusState({ serial: SERIAL, secret: SECRET, pin: PIN }), suite: 'OCRA-1:HOTP-SHA1-6:QN06' }));
    await expect(DscPlusEmulator.start({ stateFile: bad, dir })).rejects.toThrow(/suite/);
    await writeFile(bad, '{"version":1}');
    await expect(DscPlusEmulator.start({ stateFile: bad, dir })).rejects.toThrow(/invalid at/);
  });
});

/*
 * The DSC+ without USB (SPEC C2 "a card without USB, the user types it as on paper", D2, H2): the
 * keypad's offline entry — PIN, challenge, response on the screen — against the operator CLI's
 * `slsctl token respond` (a separate process: native/ never imports server/), with the same tries
 * and blocking as RESPOND.
 */

/** What the operator CLI says this card answers (SPEC D2), from the same state file. */
async function slsctlRespond(challenge: string, pin = PIN): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [slsctlBin, 'token', 'respond', '--token-file', stateFile, '--pin', pin, challenge]);
  return stdout.trim();
}

const screen = () => `${emulator.screen.title} | ${emulator.screen.line}`;
/** Waits for the screen to show `expected`; resolves with it. */
async function screenIs(expected: string | RegExp, ms = 3000): Promise<string> {
  await until(() => (typeof expected === 'string' ? screen() === expected : expected.test(screen())), ms);
  return screen();
}
const triesInFile = async () => (JSON.parse(await readFile(stateFile, 'utf8')) as { triesLeft: number }).triesLeft;

/** PIN, OK, challenge, OK on the keypad; resolves with the response the screen shows. */
async function offlineCode(challenge: string, pin = PIN): Promise<string> {
  emulator.keypad.enter(pin);
  await screenIs('DSC+ offline | Challenge ______');
  emulator.keypad.enter(challenge);
  const [, response] = /^Challenge \d+ \| Response (\d+)$/.exec(await screenIs(/Response/))!;
  return response!;
}

describe('DSC+ offline entry on the keypad (SPEC C2, D2)', () => {
  it('PIN (masked), OK, the challenge, OK: the screen shows the response slsctl and RESPOND give; a key clears it', async () => {
    expect(screen()).toBe(`DSC+ ${SERIAL} | Ready`);
    emulator.keypad.press('24');
    expect(screen()).toBe('DSC+ offline | Enter PIN **__');
    emulator.keypad.backspace().press('468').ok();
    await screenIs('DSC+ offline | Challenge ______');
    emulator.keypad.press('4096');
    expect(screen()).toBe('DSC+ offline | Challenge 4096__');
    emulator.keypad.ok(); // too short: ignored
    expect(screen()).toBe('DSC+ offline | Challenge 4096__');
    emulator.keypad.press('17999'); // the seventh digit and on: ignored, a QN06 challenge has 6 (core/devices.ts)
    emulator.keypad.ok();
    const [, response] = /^Challenge 409617 \| Response (\d{8})$/.exec(await screenIs(/Response/))!;
    emulator.keypad.press('1'); // any key ends the response
    expect(screen()).toBe(`DSC+ ${SERIAL} | Ready`);
    expect(response).toBe(await slsctlRespond('409617'));
    // The same card over USB gives the same code for the same challenge.
    emulator.once('pinPrompt', () => emulator.keypad.enter(PIN));
    expect(await client.respond('409617')).toBe(response);
  });

  it('works unplugged (the card on its battery) and goes on across unplug and replug', async () => {
    await emulator.unplug();
    expect(screen()).toBe('DSC+ | Unplugged');
    emulator.keypad.enter(PIN);
    await screenIs('DSC+ offline | Challenge ______');
    emulator.keypad.press('123');
    await emulator.replug();
    client = await DscPlusClient.connect(await connectEmulator(emulator.address!));
    expect(screen()).toBe('DSC+ offline | Challenge 123___');
    emulator.keypad.enter('456');
    expect(await screenIs(/Response/)).toBe(`Challenge 123456 | Response ${await slsctlRespond('123456')}`);
  });

  it('a wrong PIN costs a try (saved, seen by INFO), says so and asks again; the right one restores the tries', async () => {
    emulator.keypad.enter('0000');
    await screenIs('Wrong PIN, 2 left | Enter PIN ____');
    expect(await triesInFile()).toBe(2);
    await expect(client.info()).resolves.toMatchObject({ triesLeft: 2, state: 'ready' });
    emulator.keypad.press('2');
    expect(screen()).toBe('DSC+ offline | Enter PIN *___');
    emulator.keypad.press('460').ok();
    await screenIs('Wrong PIN, 1 left | Enter PIN ____');
    expect(await triesInFile()).toBe(1);
    expect(await offlineCode('987654')).toBe(await slsctlRespond('987654'));
    expect(await triesInFile()).toBe(3);
  });

  it('three wrong PINs block the card, offline as over USB: a blocked card refuses both', async () => {
    for (const left of [2, 1]) {
      emulator.keypad.enter('1111');
      await screenIs(`Wrong PIN, ${left} left | Enter PIN ____`);
    }
    emulator.keypad.enter('2222');
    await screenIs('Wrong PIN | PIN blocked');
    expect(emulator.device.offline).toBe(false);
    expect(await triesInFile()).toBe(0);
    // Blocked: typing starts nothing, not even with the right PIN.
    emulator.keypad.enter(PIN);
    expect(screen()).toBe(`DSC+ ${SERIAL} | PIN blocked`);
    expect(emulator.device.offline).toBe(false);
    await expect(client.respond('123456')).rejects.toBeInstanceOf(PinBlockedError);
    // Blocked over USB first refuses offline too (and after a restart from the state file).
    await emulator.close();
    emulator = await DscPlusEmulator.start({ stateFile, dir });
    emulator.keypad.press('5');
    expect(screen()).toBe(`DSC+ ${SERIAL} | PIN blocked`);
  });

  it('Cancel returns to Ready at every step, and so does the timeout', async () => {
    const ready = `DSC+ ${SERIAL} | Ready`;
    emulator.keypad.press('12').cancel();
    expect(screen()).toBe(ready);
    emulator.keypad.enter(PIN);
    await screenIs('DSC+ offline | Challenge ______');
    emulator.keypad.press('12').cancel();
    expect(screen()).toBe(ready);
    await offlineCode('111111');
    emulator.keypad.cancel();
    expect(screen()).toBe(ready);
    // Nothing typed for OFFLINE_TIMEOUT_MS: back to Ready, from an entry or from the response.
    emulator.keypad.press('1');
    await screenIs(ready, 2000);
    await offlineCode('222222');
    await screenIs(ready, 2000);
    expect(emulator.device.offline).toBe(false);
  });

  it('a host RESPOND takes over an offline entry: the digits are forgotten, the USB request is answered', async () => {
    emulator.keypad.enter(PIN);
    await screenIs('DSC+ offline | Challenge ______');
    emulator.keypad.press('12');
    const prompt = emulator.nextPinPrompt();
    const pending = client.respond('654321');
    await prompt;
    expect(emulator.device.offline).toBe(false);
    expect(screen()).toBe('Challenge 654321 | Enter PIN ____');
    emulator.keypad.enter(PIN);
    await expect(pending).resolves.toBe(await slsctlRespond('654321'));
  });

  it('a wrong PIN being checked offline when a RESPOND takes over still costs its try', async () => {
    const saved: number[] = [];
    emulator.on('stateSaved', (s) => saved.push(s.triesLeft));
    emulator.keypad.enter('0000');
    expect(screen()).toBe('DSC+ offline | Checking PIN…');
    const prompt = emulator.nextPinPrompt();
    const pending = client.respond('654321');
    await prompt;
    expect(emulator.device.offline).toBe(false);
    await until(() => saved.length === 1);
    expect(saved).toEqual([2]);
    await screenIs('Wrong PIN, 2 left | Enter PIN ____'); // the RESPOND's prompt, told of the wrong PIN
    emulator.keypad.enter(PIN);
    await pending;
    expect(saved).toEqual([2, 3]);
  });
});
