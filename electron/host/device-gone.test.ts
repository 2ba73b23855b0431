// A device of the login is gone mid-login (SPEC L2, L5, K5): the user's IB Key moved to another phone
// while its notification waited, so slsd answers `push_expired`, then SLS_ERR_DEVICE_NOT_AVAILABLE to
// "Send a new notification" (the old phone's device is revoked; the new phone is a new device). The
// host then reads the login's current step again from slsd and gives it with the error (`loginStep`),
// so the screen shows the devices the user has now, the new phone's IB Key preselected, and says why.
// Against a real slsd (SQLite) and real IB Key apps in state folders.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClientError, LoginStepView } from '../../core/contract/index.ts';
import { createMemoryKeychain } from '../../native/keychain.ts';
import { createMemorySettingsStore } from '../../native/settings.ts';
import { activate, createUser, ibkeyServer, lastActivationCode, newApp, PASSWORD, PIN, ScriptedPrompter } from '../../server/ibkey/testkit.ts';
import type { TestServer } from '../../server/testing/test-server.ts';
import { namingShownLogin } from '../../tests/fixtures/login-steps.ts';
import { appInfo } from './app-info.ts';
import { createHost } from './index.ts';
import { createSlsdClient, SlsdError } from './slsd-client.ts';
import type { SlsdClient } from './slsd-client.ts';

let t: TestServer;
let userId: string;
let oldPhoneDevice: string;
let cardDevice: string;
beforeEach(async () => {
  t = await ibkeyServer();
  userId = await createUser(t, 'jane');
  const prompter = new ScriptedPrompter();
  oldPhoneDevice = (await activate(t, newApp(t, 'android', prompter), prompter, 'jane', userId)).deviceId;
  cardDevice = (await t.provisioning.addDevice({ username: 'jane', kind: 'sms' })).device.id;
});
afterEach(async () => {
  await t.close();
});

/** Jane moves IB Key to a new phone (K5): the old phone's device is revoked, the new phone's is a new one. */
async function moveIbKeyToNewPhone(): Promise<string> {
  const prompter = new ScriptedPrompter([() => lastActivationCode(t, userId), PIN, PIN]);
  const done = await newApp(t, 'android', prompter).recover('transfer', 'jane', { password: PASSWORD });
  expect(done.revokedDeviceIds).toEqual([oldPhoneDevice]);
  return done.deviceId;
}

function desktop(wrap: (inner: SlsdClient) => SlsdClient = (inner) => inner) {
  const settings = createMemorySettingsStore({ serverAddress: t.url! });
  const logs: string[] = [];
  const h = createHost({ settings, keychain: createMemoryKeychain(), appInfo: appInfo('browser', '0.1.0'), slsd: wrap(createSlsdClient({ baseUrl: () => t.url! })), log: (l) => logs.push(l) });
  // The login's steps name the login shown, as the renderer's do (SPEC L6, C5).
  const dispatch = namingShownLogin(h.dispatch);
  const call = (name: string, input?: unknown) => dispatch(name, input);
  const value = async <T = LoginStepView>(name: string, input?: unknown): Promise<T> => {
    const r = await call(name, input);
    if (!r.ok) throw new Error(`${name} failed: ${r.error.code}`);
    return r.value as T;
  };
  const refused = async (name: string, input?: unknown): Promise<ClientError> => {
    const r = await call(name, input);
    if (r.ok) throw new Error(`${name} answered ${JSON.stringify(r.value)}`);
    return r.error;
  };
  return { h, call, value, refused, logs };
}

/** Jane's login up to the IB Key notification on her old phone; the login's own time limit. */
async function waitingOnOldPhone(d: ReturnType<typeof desktop>): Promise<string> {
  const first = await d.value('login', { username: 'jane', password: PASSWORD, rememberUsername: false });
  if (first.status !== 'select_device') throw new Error(first.status);
  const push = await d.value('selectDevice', { deviceId: oldPhoneDevice });
  expect(push).toMatchObject({ status: 'challenge', challenge: { type: 'push', deviceId: oldPhoneDevice } });
  return first.expiresAt;
}

describe('a device gone mid-login: the current devices come with SLS_ERR_DEVICE_NOT_AVAILABLE (SPEC L2, L5, K5)', () => {
  it('after IB Key moved to another phone, "Send a new notification" shows the devices there are now, the new phone preselected', async () => {
    const d = desktop();
    const expiresAt = await waitingOnOldPhone(d);
    const newPhoneDevice = await moveIbKeyToNewPhone();
    // The notification to the old phone died with its key.
    expect(await d.value('waitForApproval', { quick: true })).toEqual({ status: 'push_expired' });

    const e = await d.refused('selectDevice', { deviceId: oldPhoneDevice, mode: 'default' });
    expect(e.code).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
    expect(e.loginStep).toMatchObject({ status: 'select_device', preselectedDeviceId: newPhoneDevice });
    if (e.loginStep?.status !== 'select_device') throw new Error('no select_device step');
    expect(e.loginStep.devices.map((x) => x.id).sort()).toEqual([cardDevice, newPhoneDevice].sort());
    // The same login, with its own time limit (L5: no starting over).
    expect(e.loginStep.expiresAt).toBe(expiresAt);
    // The renderer never sees the transaction id (SPEC C3).
    expect(JSON.stringify(e)).not.toContain('transactionId');

    // The login goes on with the new phone, without starting over (L5), once the login's cool-down
    // between two notifications has passed (a transfer takes longer than that).
    t.clock.advance(t.config.smsResendCooldownMs);
    expect(await d.value('selectDevice', { deviceId: newPhoneDevice })).toMatchObject({ status: 'challenge', challenge: { type: 'push', deviceId: newPhoneDevice } });
  });

  it('D5, L5: the IB Key taken out of use while its notification waits (slsctl): the waiting screen gets the drop-down with the devices there are now', async () => {
    const d = desktop();
    await waitingOnOldPhone(d);
    await t.provisioning.setDeviceStatus(oldPhoneDevice, 'inactive', 'ops-anna');
    const e = await d.refused('waitForApproval', { quick: true });
    expect(e.code).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
    expect(e.loginStep).toMatchObject({ status: 'select_device' });
    if (e.loginStep?.status !== 'select_device') throw new Error('no select_device step');
    expect(e.loginStep.devices.map((x) => x.id)).toEqual([cardDevice]);
    // The login goes on with the device there is, without starting over (L5).
    expect(await d.value('selectDevice', { deviceId: cardDevice })).toMatchObject({ status: 'challenge', challenge: { deviceId: cardDevice } });
  });

  it('a response typed for the old phone (its offline code) gets the same current devices', async () => {
    const d = desktop();
    await waitingOnOldPhone(d);
    expect(await d.value('selectDevice', { deviceId: oldPhoneDevice, mode: 'offline' })).toMatchObject({ challenge: { type: 'response_code', kind: 'ibkey' } });
    const newPhoneDevice = await moveIbKeyToNewPhone();
    const e = await d.refused('respond', { response: '12345678' });
    expect(e.code).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
    expect(e.loginStep).toMatchObject({ status: 'select_device', preselectedDeviceId: newPhoneDevice });
  });

  it('a resend refused so gets the current step too', async () => {
    // slsd refusing the resend of a device no longer usable, as it refuses a selection.
    let refuseResend = false;
    const d = desktop((inner) => ({
      ...inner,
      resend: async (id) => {
        if (refuseResend) throw new SlsdError({ code: 'SLS_ERR_DEVICE_NOT_AVAILABLE', message: 'This device is not available.' }, 409);
        return inner.resend(id);
      },
    }));
    await waitingOnOldPhone(d);
    const newPhoneDevice = await moveIbKeyToNewPhone();
    refuseResend = true;
    const e = await d.refused('resendCode');
    expect(e.code).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
    expect(e.loginStep).toMatchObject({ status: 'select_device', preselectedDeviceId: newPhoneDevice });
  });

  it('a device refused while still listed keeps its screen, with the devices as they are now', async () => {
    let refuseOnce = false;
    const d = desktop((inner) => ({
      ...inner,
      selectDevice: async (id, r) => {
        if (refuseOnce) {
          refuseOnce = false;
          throw new SlsdError({ code: 'SLS_ERR_DEVICE_NOT_AVAILABLE', message: 'This device is not available.' }, 409);
        }
        return inner.selectDevice(id, r);
      },
    }));
    await d.value('login', { username: 'jane', password: PASSWORD, rememberUsername: false });
    await d.value('selectDevice', { deviceId: cardDevice });
    const newPhoneDevice = await moveIbKeyToNewPhone();
    refuseOnce = true;
    const e = await d.refused('selectDevice', { deviceId: oldPhoneDevice });
    expect(e.loginStep).toMatchObject({ status: 'challenge', challenge: { type: 'sms_code', deviceId: cardDevice } });
    if (e.loginStep?.status !== 'challenge') throw new Error('no challenge step');
    expect(e.loginStep.devices.map((x) => x.id).sort()).toEqual([cardDevice, newPhoneDevice].sort());
  });

  it('a login that ended meanwhile answers its own end instead, and is forgotten (the renderer returns to the login form)', async () => {
    const d = desktop((inner) => ({
      ...inner,
      selectDevice: async (id) => {
        // Ended on slsd meanwhile (another copy's Cancel, its expiry): the current step cannot be read.
        await inner.cancelLogin(id);
        throw new SlsdError({ code: 'SLS_ERR_DEVICE_NOT_AVAILABLE', message: 'This device is not available.' }, 409);
      },
    }));
    expect((await d.value('login', { username: 'jane', password: PASSWORD, rememberUsername: false })).status).toBe('select_device');
    const e = await d.refused('selectDevice', { deviceId: oldPhoneDevice });
    expect(e.code).toBe('SLS_ERR_TRANSACTION_ENDED');
    expect(e.loginStep).toBeUndefined();
    expect(await d.refused('respond', { response: '123456' })).toMatchObject({ code: 'SLS_ERR_NO_LOGIN_IN_PROGRESS' });
  });

  it('other refusals come as they are, without a step', async () => {
    const d = desktop();
    await d.value('login', { username: 'jane', password: PASSWORD, rememberUsername: false });
    await d.value('selectDevice', { deviceId: cardDevice });
    const e = await d.refused('respond', { response: 'AAAAAA' });
    expect(e.code).toBe('SLS_ERR_WRONG_RESPONSE');
    expect(e.loginStep).toBeUndefined();
  });
});
