// The device remembered on this computer for a user (SPEC L2: "the one used last preselected") is the
// user's whatever way the name is typed: slsd compares user names NFKC-normalized, trimmed and in
// lower case (core/username.ts), so "Rhea", " RHEA " and "ｒｈｅａ" are one user here too. A device
// remembered under the name exactly as typed before (the old key) still counts.
// Against a real slsd (SQLite): another computer's login moves slsd's own pick elsewhere, so only this
// computer's memory can preselect the device it used.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoginStepView } from '../../core/contract/index.ts';
import { createMemoryKeychain } from '../../native/keychain.ts';
import { createMemorySettingsStore } from '../../native/settings.ts';
import type { SettingsStore } from '../../native/settings.ts';
import { answer, makeUser, PASSWORD, startAccountServer } from '../../server/account/testing.ts';
import type { AccountTestServer, TestUser } from '../../server/account/testing.ts';
import { appInfo } from './app-info.ts';
import { createHost } from './index.ts';

let t: AccountTestServer;
let u: TestUser;
beforeEach(async () => {
  t = await startAccountServer({ listen: true, clock: null });
  u = await makeUser(t, 'rhea', ['scc', 'dsc']);
});
afterEach(async () => {
  await t.close();
});

/** A desktop on its own computer: its own settings file. */
function computer(settings: SettingsStore = createMemorySettingsStore({ serverAddress: t.url! })) {
  const h = createHost({ settings, keychain: createMemoryKeychain(), appInfo: appInfo('browser', '0.1.0') });
  const call = async (name: string, input?: unknown): Promise<LoginStepView> => {
    const r = await h.dispatch(name, input);
    if (!r.ok) throw new Error(`${name}: ${r.error.code}`);
    return r.value as LoginStepView;
  };
  /** The login up to Select Second Factor Device (L2): what the drop-down preselects. */
  const preselected = async (username: string): Promise<string> => {
    const step = await call('login', { username, password: PASSWORD, rememberUsername: false });
    if (step.status !== 'select_device') throw new Error(step.status);
    return step.preselectedDeviceId;
  };
  /** Signs in with this device, then out. */
  const signInWith = async (username: string, device: 'scc' | 'dsc') => {
    const first = await call('login', { username, password: PASSWORD, rememberUsername: false });
    if (first.status !== 'select_device') throw new Error(first.status);
    const step = await call('selectDevice', { loginId: first.loginId, deviceId: u.devices[device]!.device.id });
    if (step.status !== 'challenge') throw new Error(step.status);
    expect((await call('respond', { loginId: step.loginId, response: answer(u.devices[device]!, step.challenge) })).status).toBe('signed_in');
    await h.dispatch('signOut', undefined);
  };
  return { settings, preselected, signInWith };
}

describe('the device remembered on this computer, by user (SPEC L2)', () => {
  it('preselects the device this computer used whatever case, spacing or Unicode width the user name is typed in', async () => {
    const here = computer();
    await here.signInWith('Rhea', 'dsc');
    // Elsewhere the user signed in with the card: slsd's own pick is now the card.
    await computer().signInWith('rhea', 'scc');

    expect(await here.preselected('rhea')).toBe(u.devices.dsc!.device.id);
    expect(await here.preselected('  RHEA ')).toBe(u.devices.dsc!.device.id);
    expect(await here.preselected('ｒｈｅａ')).toBe(u.devices.dsc!.device.id);
    // One entry for the user, under slsd's form of the name.
    expect(here.settings.read().lastDeviceByUser).toEqual({ rhea: u.devices.dsc!.device.id });
  });

  it('reads a device remembered before under the name as it was typed, and keeps it under the normalized name after the next sign-in', async () => {
    const settings = createMemorySettingsStore({ serverAddress: t.url!, lastDeviceByUser: { Rhea: u.devices.dsc!.device.id, 'demo.other': 'x-1' } });
    await computer().signInWith('rhea', 'scc');
    const here = computer(settings);

    expect(await here.preselected('RHEA')).toBe(u.devices.dsc!.device.id);
    await here.signInWith('RHEA', 'scc');
    expect(settings.read().lastDeviceByUser).toEqual({ rhea: u.devices.scc!.device.id, 'demo.other': 'x-1' });
  });
});
