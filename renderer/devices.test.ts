// Devices named in the client's language (SPEC D1; UI.md "More: language").
import { afterEach, describe, expect, it } from 'vitest';
import { DEVICE_CATALOGUE, DEVICE_KINDS } from '../core/devices.ts';
import { deviceLabel, deviceName, deviceToSwitchTo } from './devices.ts';
import { applyLanguage } from './i18n/index.ts';
import { describeError, describeWithdrawalSwitched } from './messages.ts';

afterEach(() => applyLanguage('en'));

describe('device names and labels (SPEC D1)', () => {
  it("in English every kind reads as slsd's catalogue names it, so English labels are unchanged", () => {
    for (const kind of DEVICE_KINDS) {
      expect(deviceName(kind)).toBe(DEVICE_CATALOGUE[kind].name);
      expect(deviceLabel(`${DEVICE_CATALOGUE[kind].name} (…4821)`, kind)).toBe(`${DEVICE_CATALOGUE[kind].name} (…4821)`);
    }
  });

  it("translates slsd's default labels, keeping the serial's last digits", () => {
    applyLanguage('de');
    expect(deviceLabel('Platinum device (…4821)', 'platinum')).toBe('Platinum-Gerät (…4821)');
    expect(deviceLabel('Gold device', 'gold')).toBe('Gold-Gerät');
    expect(deviceLabel('Temporary passcode', 'temp_passcode')).toBe('Temporärer Passcode');
    applyLanguage('fr');
    expect(deviceLabel('Platinum device (…4821)', 'platinum')).toBe('Appareil Platinum (…4821)');
    expect(deviceLabel('Temporary passcode', 'temp_passcode')).toBe("Code d'accès temporaire");
  });

  it('keeps a name a user or an operator chose exactly as written', () => {
    applyLanguage('de');
    expect(deviceLabel("Jane's iPhone", 'ibkey')).toBe("Jane's iPhone");
    // An IB Key phone its user called "Gold device" is not a Gold device.
    expect(deviceLabel('Gold device', 'ibkey')).toBe('Gold device');
    expect(deviceLabel('Gold devices of mine', 'gold')).toBe('Gold devices of mine');
    expect(deviceLabel('Platinum device (…4821', 'platinum')).toBe('Platinum device (…4821');
  });

  it('without a kind, recognises the longest name first', () => {
    applyLanguage('de');
    expect(deviceLabel('Online Security Code Card')).toBe('Online Security Code Card');
    expect(deviceLabel('Gold device (…0042)')).toBe('Gold-Gerät (…0042)');
    expect(deviceLabel('Büro')).toBe('Büro');
  });

  it('names an unknown kind (a newer slsd) as it came', () => {
    applyLanguage('de');
    expect(deviceName('yubikey')).toBe('yubikey');
    expect(deviceLabel('YubiKey (…1)', 'yubikey')).toBe('YubiKey (…1)');
  });

  it('W2: the limit refusal names the device in the language, a suggested device too', () => {
    applyLanguage('de');
    const t = describeError({
      code: 'SLS_ERR_WITHDRAWAL_LIMIT',
      message: 'x',
      withdrawalLimit: { limit: 'five_business_days', limitCents: 1_000_000_00, availableCents: 12_345_00, deviceKind: 'gold', useDeviceLabel: 'Platinum device (…4821)' },
    });
    expect(t.message.replace(/\s/g, ' ')).toBe('Diese Auszahlung würde das Limit für fünf Geschäftstage Ihres Geräts überschreiten (Gold-Gerät: 1.000.000,00 USD; noch 12.345,00 USD).');
    expect(t.action).toBe('Bestätigen Sie diese Auszahlung mit Ihrem Gerät „Platinum-Gerät (…4821)“.');
  });

  const refusal = {
    code: 'SLS_ERR_WITHDRAWAL_LIMIT',
    message: 'x',
    withdrawalLimit: { limit: 'per_day', limitCents: 200_000_00, availableCents: 200_000_00, deviceKind: 'scc', useDeviceLabel: 'Digital Security Card+ (…4821)', useDeviceId: 'd-plus' },
  } as const;

  it('W2: the device slsd names is chosen only when the drop-down offers it (a device the user can use) and it is not the one refused', () => {
    const offered = [{ deviceId: 'd-scc' }, { deviceId: 'd-plus' }];
    expect(deviceToSwitchTo(refusal, offered, 'd-scc')).toEqual({ deviceId: 'd-plus' });
    // Not offered (not usable, or a list from before): nothing is chosen for the user.
    expect(deviceToSwitchTo(refusal, [{ deviceId: 'd-scc' }], 'd-scc')).toBeNull();
    expect(deviceToSwitchTo(refusal, offered, 'd-plus')).toBeNull();
    expect(deviceToSwitchTo({ ...refusal, withdrawalLimit: { ...refusal.withdrawalLimit, useDeviceId: undefined } }, offered, 'd-scc')).toBeNull();
    expect(deviceToSwitchTo({ code: 'SLS_ERR_DEVICE_NOT_AVAILABLE', message: 'x' }, offered, 'd-scc')).toBeNull();
  });

  it('W2: after the switch the refusal says the device was switched and what to press, in every language', () => {
    expect(describeWithdrawalSwitched(refusal, 'Digital Security Card+ (…4821)').action).toBe(
      'We switched to your Digital Security Card+ (…4821), which allows this amount: press Continue to confirm this withdrawal with it.',
    );
    applyLanguage('de');
    const german = describeWithdrawalSwitched(refusal, 'Digital Security Card+ (…4821)');
    expect(german.message.replace(/\s/g, ' ')).toBe('Diese Auszahlung würde das Tageslimit Ihres Geräts überschreiten (Security Code Card: 200.000,00 USD; noch 200.000,00 USD).');
    expect(german.action).toBe('Wir haben auf Ihr Gerät „Digital Security Card+ (…4821)“ umgestellt, das diesen Betrag erlaubt: Drücken Sie „Weiter“, um diese Auszahlung damit zu bestätigen.');
    applyLanguage('fr');
    expect(describeWithdrawalSwitched(refusal, 'Digital Security Card+ (…4821)').action).toContain('« Continuer »');
  });
});
