// Devices named in the client's language (SPEC D1; UI.md "More: language").
import { afterEach, describe, expect, it } from 'vitest';
import { DEVICE_CATALOGUE, DEVICE_KINDS } from '../core/devices.ts';
import { deviceLabel, deviceName } from './devices.ts';
import { applyLanguage } from './i18n/index.ts';
import { describeError } from './messages.ts';

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
});
