// Amounts in the client's language (SPEC W1–W3): written as the language writes them, typed likewise, never guessed.
import { afterEach, describe, expect, it } from 'vitest';
import { applyLanguage } from './i18n/index.ts';
import { formatUsd, parseUsd } from './money.ts';

afterEach(() => applyLanguage('en'));

describe('amounts written (SPEC W1)', () => {
  it("writes English as slsd does, German and French their way", () => {
    expect(formatUsd(120_000_050)).toBe('USD 1,200,000.50');
    applyLanguage('de');
    expect(formatUsd(120_000_050).replace(/\s/g, ' ')).toBe('1.200.000,50 USD');
    applyLanguage('fr');
    expect(formatUsd(120_000_050).replace(/\s/g, ' ')).toBe('1 200 000,50 USD');
  });

  it('in a narrow cell (wrap) may break before "USD" only, never inside the digits (UI.md 420 px)', () => {
    for (const lang of ['de', 'fr'] as const) {
      applyLanguage(lang);
      const whole = formatUsd(120_000_050);
      const wrapping = formatUsd(120_000_050, { wrap: true });
      // Where a line may break: at a plain space (U+0020), and in German and French only before the code.
      expect(whole.includes(' '), `${lang}: ${JSON.stringify(whole)}`).toBe(false);
      expect(wrapping.split(' ')).toHaveLength(2);
      expect(wrapping.split(' ')[1]).toBe('USD');
      expect(wrapping.replace(/\s/g, ' ')).toBe(whole.replace(/\s/g, ' '));
    }
    applyLanguage('en');
    expect(formatUsd(120_000_050, { wrap: true })).toBe('USD 1,200,000.50');
  });
});

describe('amounts typed (SPEC W1)', () => {
  it('reads each language with its own marks, with or without groups and the currency', () => {
    expect(parseUsd('1,200,000.5', 'en')).toBe(120_000_050);
    expect(parseUsd('250000', 'en')).toBe(25_000_000);
    expect(parseUsd('USD 1,250.50', 'en')).toBe(125_050);
    expect(parseUsd('1.200.000,5', 'de')).toBe(120_000_050);
    expect(parseUsd('1250,50 USD', 'de')).toBe(125_050);
    expect(parseUsd('1 200 000,50', 'fr')).toBe(120_000_050);
    expect(parseUsd('1\u202f200\u202f000,50', 'fr')).toBe(120_000_050);
    expect(parseUsd('$42', 'en')).toBe(4_200);
  });

  it('refuses what another convention would read otherwise, rather than guess by a factor of 100', () => {
    // English habit in German: "1250.50" is not 125,050.
    expect(parseUsd('1250.50', 'de')).toBeNull();
    expect(parseUsd('1,250.50', 'de')).toBeNull();
    // German habit in English.
    expect(parseUsd('1.250,50', 'en')).toBeNull();
    // Groups must be of three.
    expect(parseUsd('1,2,3', 'en')).toBeNull();
    expect(parseUsd('12,34', 'en')).toBeNull();
  });

  it('refuses zero, negatives, three decimals, letters and absurd sizes', () => {
    for (const bad of ['0', '0.00', '-5', '1.234', 'ten', '', '12345678901', '1e6']) expect(parseUsd(bad, 'en'), bad).toBeNull();
  });
});
