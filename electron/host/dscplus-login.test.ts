/**
 * The DSC+ answering the login by itself (SPEC C2, H2), host side: the DeviceManager-backed service
 * and the dispatcher wrapper, against the real emulator on a Unix socket and a scripted slsd step.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoginStepView } from '../../core/contract/index.ts';
import { deviceResponse } from '../../core/codes.ts';
import { DEVICE_CATALOGUE } from '../../core/devices.ts';
import { newDscPlusState } from '../../core/dscplus-state.ts';
import { ocraPasswordHash } from '../../core/ocra.ts';
import { DeviceManager } from '../../native/device-manager.ts';
import { PinBlockedError } from '../../native/dscplus-client.ts';
import { TransportAbortedError } from '../../native/errors.ts';
import { DscPlusEmulator } from '../../native/emulator/emulator.ts';
import { KEEPALIVE_INTERVAL_MS } from '../../native/emulator/device.ts';
import type { Dispatch } from './dispatcher.ts';
import { createDeviceManagerDscPlusService } from './dscplus-devices.ts';
import type { DeviceManagerDscPlusService } from './dscplus-devices.ts';
import { createDscPlusLogin, DSCPLUS_ERROR_CODES } from './dscplus-login.ts';
import { createEventHub } from './events.ts';

const SERIAL = '4000000017';
const PIN = '2468';
const SECRET = new Uint8Array(32).map((_, i) => (i * 7 + 3) & 0xff);
const CHALLENGE = '623491';
const expected = (challenge: string) => deviceResponse('dscplus', SECRET, challenge, { pinHash: ocraPasswordHash(DEVICE_CATALOGUE.dscplus.ocraSuite!, PIN) });

const card = { id: 'dev-card', kind: 'dscplus' as const, label: 'Digital Security Card+ (…0017)', serial: SERIAL, lastUsed: false };
const scc = { id: 'dev-scc', kind: 'scc' as const, label: 'Security Code Card', lastUsed: true };
const session = {
  expiresAt: '2030-01-01T00:00:00.000Z',
  user: { id: 'u1', username: 'jane', displayName: 'Jane' },
  account: null,
  authenticatedWith: { deviceId: card.id, kind: 'dscplus' as const, label: card.label },
  clientKind: 'trading_platform' as const,
  access: 'full' as const,
  restrictions: [],
  restrictionDetails: [],
  autoRestart: { state: 'on' as const, until: '2029-12-30T06:00:00.000Z' },
};

let dir: string;
let emulator: DscPlusEmulator;
let service: DeviceManagerDscPlusService;

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sls-host-dscplus-'));
  const stateFile = path.join(dir, 'card.json');
  await writeFile(stateFile, JSON.stringify(newDscPlusState({ serial: SERIAL, secret: SECRET, pin: PIN })));
  emulator = await DscPlusEmulator.start({ stateFile, dir: path.join(dir, 'cards') });
  service = createDeviceManagerDscPlusService(new DeviceManager({ hid: null, emulatorDir: path.join(dir, 'cards'), pollIntervalMs: 100 }));
  await service.start();
  // The manager connects to an emulator's socket after start() returns: wait for the card to be there.
  await waitFor(() => service.connected().length === 1);
});

afterEach(async () => {
  await service.close();
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

describe('DeviceManager-backed DscPlusService (SPEC C2, H2)', () => {
  it('lists the plugged-in card and follows unplug and replug', async () => {
    expect(service.connected()).toEqual([SERIAL]);
    const events: string[] = [];
    service.subscribe((e) => events.push(`${e.type} ${e.serial}`));
    await emulator.unplug();
    await waitFor(() => events.length === 1);
    expect(service.connected()).toEqual([]);
    await emulator.replug();
    await waitFor(() => events.length === 2);
    expect(events).toEqual([`detached ${SERIAL}`, `attached ${SERIAL}`]);
  });

  it('sends only the challenge, reports tries and the PIN wait, and re-arms after a wrong PIN', async () => {
    const statuses: string[] = [];
    let prompt = emulator.nextPinPrompt();
    const pending = service.respond(SERIAL, CHALLENGE, (s) => statuses.push(`${s.state}:${s.pinTriesLeft}`));
    expect((await prompt).challenge).toBe(CHALLENGE);
    prompt = emulator.nextPinPrompt();
    emulator.keypad.enter('1357');
    await prompt; // RESPOND sent again after the wrong PIN
    emulator.keypad.enter(PIN);
    expect(await pending).toBe(expected(CHALLENGE));
    expect(statuses[0]).toBe('sending_challenge:3');
    expect(statuses).toContain('waiting_for_pin:3');
    expect(statuses).toContain('wrong_pin:2');
    expect(statuses.at(-1)).toBe('waiting_for_pin:2');
  });

  it('after a wrong PIN the card, asked again at once, still shows it failed on its Enter-PIN screen', async () => {
    const screens: string[] = [];
    emulator.on('screen', (s) => screens.push(`${s.title} | ${s.line}`));
    let prompt = emulator.nextPinPrompt();
    const pending = service.respond(SERIAL, CHALLENGE, () => {});
    await prompt;
    prompt = emulator.nextPinPrompt();
    emulator.keypad.enter('1357');
    await prompt; // RESPOND sent again
    expect(screens.slice(-2)).toEqual(['Wrong PIN | 2 tries left', 'Wrong PIN, 2 left | Enter PIN ____']);
    emulator.keypad.press('2');
    expect(emulator.screen).toEqual({ title: `Challenge ${CHALLENGE}`, line: 'Enter PIN *___' }); // the challenge again once typing
    emulator.keypad.press('468').ok();
    expect(await pending).toBe(expected(CHALLENGE));
  });

  it('C2: the PIN wait says until when the card waits (RESPOND\'s timeout, 60 s by default), anew after a wrong PIN', async () => {
    const deadlines: number[] = [];
    let prompt = emulator.nextPinPrompt();
    const sent = Date.now();
    const pending = service.respond(SERIAL, CHALLENGE, (st) => {
      if (st.state === 'waiting_for_pin') deadlines.push(Date.parse(st.pinTimeoutAt!));
      else expect(st.pinTimeoutAt).toBeUndefined();
    });
    await prompt;
    await waitFor(() => deadlines.length === 1);
    expect(deadlines[0]).toBeGreaterThanOrEqual(sent + 60_000);
    expect(deadlines[0]).toBeLessThanOrEqual(Date.now() + 60_000);
    await new Promise((r) => setTimeout(r, 20));
    prompt = emulator.nextPinPrompt();
    emulator.keypad.enter('1357');
    await prompt;
    await waitFor(() => deadlines.length === 2);
    expect(deadlines[1]).toBeGreaterThan(deadlines[0]!);
    emulator.keypad.enter(PIN);
    expect(await pending).toBe(expected(CHALLENGE));
  });

  it('reports the PIN wait once, not once per KEEPALIVE', async () => {
    const statuses: string[] = [];
    let prompt = emulator.nextPinPrompt();
    const pending = service.respond(SERIAL, CHALLENGE, (s) => statuses.push(`${s.state}:${s.pinTriesLeft}`));
    await prompt;
    await new Promise((r) => setTimeout(r, 10 * KEEPALIVE_INTERVAL_MS)); // about ten KEEPALIVEs
    prompt = emulator.nextPinPrompt();
    emulator.keypad.enter('0000');
    await prompt;
    await new Promise((r) => setTimeout(r, 10 * KEEPALIVE_INTERVAL_MS));
    emulator.keypad.enter(PIN);
    await pending;
    expect(statuses).toEqual(['sending_challenge:3', 'waiting_for_pin:3', 'wrong_pin:2', 'waiting_for_pin:2']);
  });

  it('three wrong PINs end with PinBlockedError, and a blocked card is refused before RESPOND', async () => {
    const pending = service.respond(SERIAL, CHALLENGE, () => {});
    for (let i = 0; i < 3; i++) {
      await emulator.nextPinPrompt();
      emulator.keypad.enter('0000');
    }
    await expect(pending).rejects.toBeInstanceOf(PinBlockedError);
    await expect(service.respond(SERIAL, CHALLENGE, () => {})).rejects.toBeInstanceOf(PinBlockedError);
  });

  it('aborting sends CANCEL to the card', async () => {
    const ac = new AbortController();
    const prompt = emulator.nextPinPrompt();
    const pending = service.respond(SERIAL, CHALLENGE, () => {}, ac.signal);
    await prompt;
    ac.abort();
    await expect(pending).rejects.toBeInstanceOf(TransportAbortedError);
    expect(emulator.device.screen.line).toBe('Cancelled');
  });
});

describe('createDscPlusLogin: the card answers the challenge step (SPEC C2)', () => {
  const LOGIN = 'login_card';
  const challengeStep: LoginStepView = {
    status: 'challenge',
    loginId: LOGIN,
    expiresAt: '2030-01-01T00:00:00.000Z',
    devices: [{ ...card, connected: true }, { ...scc, connected: false }],
    challenge: { type: 'response_code', deviceId: card.id, kind: 'dscplus', challenge: CHALLENGE, responseLength: 8, responseAlphabet: 'digits', pinOnDevice: true },
  };

  /** `status`: what slsd's login status answers a quick wait (the host's waitForApproval) for a login not yet signed in. */
  function harness(first: LoginStepView, status: { code: string; message: string } = { code: 'SLS_ERR_NO_CHALLENGE', message: 'This login is not waiting for an IB Key approval.' }) {
    const calls: Array<{ call: unknown; input: unknown }> = [];
    let signedIn = false;
    const inner: Dispatch = async (call, input) => {
      calls.push({ call, input });
      // As the host (SPEC L6, C5): a step naming another login than the one of `first` is refused.
      const named = (input as { loginId?: unknown } | undefined)?.loginId;
      if (named !== undefined && first.status !== 'signed_in' && named !== first.loginId) {
        return { ok: false, error: { code: 'SLS_ERR_LOGIN_NOT_CURRENT', message: 'This login is no longer the current one.' } };
      }
      if (call === 'login' || call === 'portalLogin' || call === 'selectDevice') return { ok: true, value: first };
      if (call === 'respond') {
        signedIn = true;
        return { ok: true, value: { status: 'signed_in', session } };
      }
      // The host forgets the login once it is signed in: a wait then finds none.
      if (call === 'waitForApproval') return { ok: false, error: signedIn ? { code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS', message: 'No login is in progress.' } : status };
      return { ok: true, value: { ok: true } };
    };
    const events = createEventHub();
    const seen: unknown[] = [];
    events.subscribe((name, payload) => seen.push({ name, payload }));
    const login = createDscPlusLogin({ dispatch: inner, events, dscplus: service });
    return { calls, seen, login };
  }

  it('preselects the connected card in the drop-down over the last used device', async () => {
    const { login } = harness({ status: 'select_device', loginId: LOGIN, expiresAt: '2030-01-01T00:00:00.000Z', devices: [{ ...scc, connected: false }, { ...card, connected: true }], preselectedDeviceId: scc.id });
    const r = await login.dispatch('login', { username: 'jane', password: 'x', rememberUsername: false });
    expect(r.ok && (r.value as { preselectedDeviceId: string }).preselectedDeviceId).toBe(card.id);
    await login.close();
  });

  it('arms the card with the step, sends its response to slsd, never to the renderer', async () => {
    const { login, calls, seen } = harness(challengeStep);
    const prompt = emulator.nextPinPrompt();
    await login.dispatch('login', { username: 'jane', password: 'x', rememberUsername: false });
    expect((await prompt).challenge).toBe(CHALLENGE);
    const outcome = login.dispatch('waitForApproval', { loginId: LOGIN });
    emulator.keypad.enter(PIN);
    const r = await outcome;
    expect(r).toEqual({ ok: true, value: { status: 'signed_in', session } });
    expect(calls.at(-1)).toEqual({ call: 'respond', input: { loginId: LOGIN, response: expected(CHALLENGE) } });
    expect(JSON.stringify(seen)).not.toContain(expected(CHALLENGE));
    expect(seen).toContainEqual({ name: 'dscplusStatus', payload: { serial: SERIAL, state: 'response_received' } });
    // A renderer that waits again (a re-render) gets the same sign-in, not "this login has ended"; the card is not asked twice.
    expect(await login.dispatch('waitForApproval', { loginId: LOGIN })).toEqual({ ok: true, value: { status: 'signed_in', session } });
    expect(calls.filter((c) => c.call === 'respond')).toHaveLength(1);
    // Not to a wait naming another login (SPEC L6, C5): that one goes to the host, which decides.
    expect(await login.dispatch('waitForApproval', { loginId: 'login_other' })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_LOGIN_NOT_CURRENT' } });
    // A new login forgets it.
    await login.dispatch('cancelLogin', { loginId: LOGIN });
    expect(await login.dispatch('waitForApproval', { loginId: LOGIN })).toMatchObject({ ok: false, error: { code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS' } });
    await login.close();
  });

  it('sends the renderer one dscplusStatus per change while the card waits for the PIN, not one per KEEPALIVE', async () => {
    const { login, seen } = harness(challengeStep);
    const prompt = emulator.nextPinPrompt();
    await login.dispatch('login', { username: 'jane', password: 'x', rememberUsername: false });
    await prompt;
    await new Promise((r) => setTimeout(r, 20 * KEEPALIVE_INTERVAL_MS)); // about twenty KEEPALIVEs
    const outcome = login.dispatch('waitForApproval', { loginId: LOGIN });
    emulator.keypad.enter(PIN);
    expect(await outcome).toMatchObject({ ok: true });
    const states = seen.filter((e) => (e as { name: string }).name === 'dscplusStatus').map((e) => (e as { payload: { state: string } }).payload.state);
    // waitForApproval repeats the last status once, for a renderer that subscribes after the card was armed.
    expect(states).toEqual(['sending_challenge', 'waiting_for_pin', 'waiting_for_pin', 'response_received']);
    await login.close();
  });

  it('unplugged mid-way: waitForApproval says so with a code', async () => {
    const { login } = harness(challengeStep);
    const prompt = emulator.nextPinPrompt();
    await login.dispatch('login', { username: 'jane', password: 'x', rememberUsername: false });
    await prompt;
    const outcome = login.dispatch('waitForApproval', { loginId: LOGIN });
    await emulator.unplug();
    const r = await outcome;
    expect(r.ok === false && r.error.code).toBe(DSCPLUS_ERROR_CODES.disconnected);
    await login.close();
  });

  it('mode offline for the card: CANCEL to the card, the same challenge back without asking slsd; typed respond goes through', async () => {
    const { login, calls } = harness(challengeStep);
    const prompt = emulator.nextPinPrompt();
    await login.dispatch('login', { username: 'jane', password: 'x', rememberUsername: false });
    await prompt;
    const r = await login.dispatch('selectDevice', { loginId: LOGIN, deviceId: card.id, mode: 'offline' });
    expect(r).toEqual({ ok: true, value: challengeStep });
    expect(calls.map((c) => c.call)).toEqual(['login']);
    expect(emulator.device.screen.line).toBe('Cancelled');
    await login.dispatch('respond', { loginId: LOGIN, response: '12345678' });
    expect(calls.at(-1)).toEqual({ call: 'respond', input: { loginId: LOGIN, response: '12345678' } });
    await login.close();
  });

  it('L6, C5: sent to the card again after the login expired: said at once, the card is not asked (no PIN entry spent)', async () => {
    const expired = { code: 'SLS_ERR_TRANSACTION_EXPIRED', message: 'This login took too long and has expired. Log in again.' };
    const { login } = harness(challengeStep, expired);
    const prompt = emulator.nextPinPrompt();
    await login.dispatch('login', { username: 'jane', password: 'x', rememberUsername: false });
    await prompt;
    // The renderer's card panel waits; the user chooses to type.
    const first = login.dispatch('waitForApproval', { loginId: LOGIN });
    await login.dispatch('selectDevice', { loginId: LOGIN, deviceId: card.id, mode: 'offline' });
    expect(await first).toMatchObject({ ok: false });
    expect(emulator.device.screen.line).toBe('Cancelled');
    // Minutes later on the typing screen, "Send the challenge to the card again": slsd says the login is over.
    let asked = 0;
    emulator.on('pinPrompt', () => asked++);
    expect(await login.dispatch('waitForApproval', { loginId: LOGIN })).toEqual({ ok: false, error: expired });
    await new Promise((r) => setTimeout(r, 100));
    expect(asked).toBe(0);
    expect(emulator.device.screen.line).toBe('Cancelled');
    await login.close();
  });

  it('sent to the card again while the login is open: the card is asked and answers', async () => {
    const { login } = harness(challengeStep);
    let prompt = emulator.nextPinPrompt();
    await login.dispatch('login', { username: 'jane', password: 'x', rememberUsername: false });
    await prompt;
    const first = login.dispatch('waitForApproval', { loginId: LOGIN });
    await login.dispatch('selectDevice', { loginId: LOGIN, deviceId: card.id, mode: 'offline' });
    expect(await first).toMatchObject({ ok: false });
    prompt = emulator.nextPinPrompt();
    const outcome = login.dispatch('waitForApproval', { loginId: LOGIN });
    expect((await prompt).challenge).toBe(CHALLENGE);
    emulator.keypad.enter(PIN);
    expect(await outcome).toEqual({ ok: true, value: { status: 'signed_in', session } });
    await login.close();
  });

  it("C6: the Account screens' Client Portal login arms the card like a login, and its Cancel sends CANCEL to the card", async () => {
    const { login, calls } = harness(challengeStep);
    let prompt = emulator.nextPinPrompt();
    await login.dispatch('portalLogin', { password: 'x' });
    expect((await prompt).challenge).toBe(CHALLENGE);
    await login.dispatch('cancelLogin', { loginId: LOGIN });
    expect(emulator.device.screen.line).toBe('Cancelled');
    prompt = emulator.nextPinPrompt();
    await login.dispatch('portalLogin', { password: 'x' });
    await prompt;
    const outcome = login.dispatch('waitForApproval', { loginId: LOGIN });
    emulator.keypad.enter(PIN);
    expect(await outcome).toEqual({ ok: true, value: { status: 'signed_in', session } });
    expect(calls.at(-1)).toEqual({ call: 'respond', input: { loginId: LOGIN, response: expected(CHALLENGE) } });
    await login.close();
  });

  it('L6, C5: a step naming another login (a screen left from an earlier one, another window) reaches the host untouched; the card of this login goes on', async () => {
    const { login, calls } = harness(challengeStep);
    const prompt = emulator.nextPinPrompt();
    await login.dispatch('login', { username: 'jane', password: 'x', rememberUsername: false });
    await prompt;
    const earlier = 'login_earlier';
    for (const [call, input] of [
      ['respond', { loginId: earlier, response: '12345678' }],
      ['selectDevice', { loginId: earlier, deviceId: card.id, mode: 'offline' }],
      ['resendCode', { loginId: earlier }],
      ['cancelLogin', { loginId: earlier }],
    ] as const) {
      expect(await login.dispatch(call, input), call).toMatchObject({ ok: false, error: { code: 'SLS_ERR_LOGIN_NOT_CURRENT' } });
    }
    // No CANCEL went to the card: it still waits for the PIN of this login's challenge, and answers it.
    expect(emulator.device.screen.line).not.toBe('Cancelled');
    const outcome = login.dispatch('waitForApproval', { loginId: LOGIN });
    emulator.keypad.enter(PIN);
    expect(await outcome).toEqual({ ok: true, value: { status: 'signed_in', session } });
    expect(calls.filter((c) => c.call === 'respond')).toEqual([
      { call: 'respond', input: { loginId: earlier, response: '12345678' } },
      { call: 'respond', input: { loginId: LOGIN, response: expected(CHALLENGE) } },
    ]);
    await login.close();
  });

  it('cancelLogin sends CANCEL to the card first', async () => {
    const { login } = harness(challengeStep);
    const prompt = emulator.nextPinPrompt();
    await login.dispatch('login', { username: 'jane', password: 'x', rememberUsername: false });
    await prompt;
    await login.dispatch('cancelLogin', { loginId: LOGIN });
    expect(emulator.device.screen.line).toBe('Cancelled');
    await login.close();
  });
});

describe('createDscPlusLogin: a refused step with the login\'s current step (SPEC L2, L5, C2)', () => {
  it('bookkeeps that step as any other: a plugged-in card of the user is preselected in the devices there are now', async () => {
    const now: LoginStepView = {
      status: 'select_device',
      loginId: 'login_now',
      expiresAt: '2030-01-01T00:00:00.000Z',
      devices: [{ ...scc, connected: false }, { ...card, connected: true }],
      preselectedDeviceId: scc.id,
    };
    const inner: Dispatch = async (call) =>
      call === 'selectDevice'
        ? { ok: false, error: { code: 'SLS_ERR_DEVICE_NOT_AVAILABLE', message: 'This device is not available.', loginStep: now } }
        : { ok: true, value: { ok: true } };
    const login = createDscPlusLogin({ dispatch: inner, events: createEventHub(), dscplus: service });
    expect(await login.dispatch('selectDevice', { loginId: 'login_now', deviceId: 'dev-gone' })).toMatchObject({
      ok: false,
      error: { code: 'SLS_ERR_DEVICE_NOT_AVAILABLE', loginStep: { status: 'select_device', preselectedDeviceId: card.id } },
    });
    await login.close();
  });
});
