// A step of the login refused because its device is gone (SPEC L2, L5, K5: IB Key moved to another
// phone) comes with the step the login is at now; the app shows that step's screen, with the devices
// the user has now, and the error. The drop-down then shows a device that is listed.
import { describe, expect, it } from 'vitest';
import { ContractError } from '../../core/contract/messages.ts';
import type { DeviceView, LoginStepView } from '../../core/contract/index.ts';
import { withCurrentLoginStep } from '../ui.tsx';
import { shownDevice } from './SelectDeviceScreen.tsx';

const device = (id: string, kind: DeviceView['kind'], label: string): DeviceView => ({ id, kind, label, lastUsed: false, connected: false });
const OLD_PHONE = device('dev_old', 'ibkey', 'IB Key (Pixel of Jane)');
const NEW_PHONE = device('dev_new', 'ibkey', 'IB Key (iPhone of Jane)');
const SMS = device('dev_sms', 'sms', 'SMS (+1 ••• ••• ••42)');
const NOW: LoginStepView = { status: 'select_device', loginId: 'login_1', expiresAt: '2026-11-28T15:05:00Z', devices: [NEW_PHONE, SMS], preselectedDeviceId: NEW_PHONE.id };

describe('withCurrentLoginStep (SPEC L2, L5)', () => {
  it('shows the current step that came with the refusal, and lets the refusal go on to be shown', async () => {
    const shown: LoginStepView[] = [];
    const refusal = new ContractError({ code: 'SLS_ERR_DEVICE_NOT_AVAILABLE', message: 'This device is not available.', loginStep: NOW });
    const run = withCurrentLoginStep(() => Promise.reject(refusal), (s) => shown.push(s));
    await expect(run()).rejects.toBe(refusal);
    expect(shown).toEqual([NOW]);
  });

  it('a refusal without a step, or a step that went through, shows nothing more', async () => {
    const shown: LoginStepView[] = [];
    const wrong = new ContractError({ code: 'SLS_ERR_WRONG_RESPONSE', message: 'Wrong response', attemptsLeft: 2 });
    await expect(withCurrentLoginStep(() => Promise.reject(wrong), (s) => shown.push(s))()).rejects.toBe(wrong);
    expect(await withCurrentLoginStep(() => Promise.resolve(NOW), (s) => shown.push(s))()).toBe(NOW);
    expect(shown).toEqual([]);
  });
});

describe("the drop-down's device when the list changes under it (SPEC L2, L5)", () => {
  it('keeps the device the user picked while it is listed', () => {
    expect(shownDevice([NEW_PHONE, SMS], SMS.id, NEW_PHONE.id)).toBe(SMS.id);
  });

  it('the picked device gone (the old phone): the preselected one, else the first', () => {
    expect(shownDevice([NEW_PHONE, SMS], OLD_PHONE.id, NEW_PHONE.id)).toBe(NEW_PHONE.id);
    expect(shownDevice([SMS, NEW_PHONE], OLD_PHONE.id, OLD_PHONE.id)).toBe(SMS.id);
    expect(shownDevice([NEW_PHONE, SMS], null, NEW_PHONE.id)).toBe(NEW_PHONE.id);
    expect(shownDevice([], null, NEW_PHONE.id)).toBe('');
  });
});
