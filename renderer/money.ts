/**
 * US dollar amounts in the client's language (SPEC W1–W3).
 *
 * Written: "USD 1,200,000.00" in English (slsd's and the knowledge base's form), "1.200.000,00 USD" in
 * German, "1 200 000,00 USD" in French (Intl). Typed: the language's own marks, checked strictly, so
 * a German "1250.50" (English habit) is refused with an example rather than read as 125,050 — money
 * is never guessed at.
 */
import { formatUsd as englishUsd } from '../core/limits.ts';
import type { Language } from '../core/contract/index.ts';
import { currentLanguage, locale } from './i18n/index.ts';

/**
 * `wrap`: the line may break between the amount and "USD" (a narrow table cell, UI.md 420 px). Intl
 * joins them with a no-break space in German and French, which kept each amount whole on one line and
 * pushed the limits table 40–50 px past the window. The digits' own groups never break.
 */
export function formatUsd(cents: number, { wrap = false }: { wrap?: boolean } = {}): string {
  if (currentLanguage() === 'en') return englishUsd(cents);
  const format = new Intl.NumberFormat(locale(), { style: 'currency', currency: 'USD', currencyDisplay: 'code' });
  if (!wrap) return format.format(cents / 100);
  return format
    .formatToParts(cents / 100)
    .map((p) => (p.type === 'literal' && /^\s+$/.test(p.value) ? ' ' : p.value))
    .join('');
}

/** Whole dollars, with the language's group mark every three digits or none; then its decimal mark and 1–2 digits. */
const AMOUNT: Record<Language, RegExp> = {
  en: /^(\d{1,3}(?:,\d{3})+|\d{1,10})(?:\.(\d{1,2}))?$/,
  de: /^(\d{1,3}(?:\.\d{3})+|\d{1,10})(?:,(\d{1,2}))?$/,
  fr: /^(\d{1,3}(?: \d{3})+|\d{1,10})(?:,(\d{1,2}))?$/,
};

/** An amount as the user typed it ("1,200,000.50"; "1.200.000,50"; "1 200 000,50"), in whole cents, or null. */
export function parseUsd(typed: string, language: Language = currentLanguage()): number | null {
  const t = typed
    .replace(/[\u00a0\u202f]/g, ' ')
    .trim()
    .replace(/^(USD|US\$|\$)\s*/i, '')
    .replace(/\s*(USD|US\$|\$)$/i, '')
    .replace(/\s+/g, language === 'fr' ? ' ' : '');
  const m = AMOUNT[language].exec(t);
  if (!m) return null;
  const whole = m[1]!.replace(/\D/g, '');
  if (whole.length > 10) return null;
  const cents = Number(whole) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  return cents > 0 ? cents : null;
}
