/**
 * The client's languages (UI.md: "More: language"): English, German, French, with i18next.
 *
 * One catalogue per screen group and language (`en/`, `de/`, `fr/`); English is the source and the
 * fallback, and `Catalogue<typeof en>` makes the others carry exactly its keys. Components take
 * their words from `useTranslation(ns)`; code outside components (error wording, `messages.ts`)
 * from `i18n.t`. Dates and times follow the language (`locale()`); New York time stays the
 * broker's clock. slsd's own messages, shown for errors the client has no wording of, stay English.
 */
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { LANGUAGES } from '../../core/contract/index.ts';
import type { Language } from '../../core/contract/index.ts';
import { de } from './de/index.ts';
import { en } from './en/index.ts';
import { fr } from './fr/index.ts';

export const resources = { en, de, fr } as const;

/** Each language by its own name, as a language menu shows it. */
export const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', de: 'Deutsch', fr: 'Français' };

const LOCALES: Record<Language, string> = { en: 'en-US', de: 'de-DE', fr: 'fr-FR' };

/** The first of the system's languages the client has; English otherwise. */
/** The window's globals where there is one (this module also serves the host's tests under Node). */
const page = globalThis as { navigator?: { languages?: readonly string[] }; document?: { documentElement: { lang: string } } };

export function systemLanguage(preferred: readonly string[] = page.navigator?.languages ?? []): Language {
  for (const tag of preferred) {
    const base = tag.toLowerCase().split('-')[0];
    const found = LANGUAGES.find((l) => l === base);
    if (found) return found;
  }
  return 'en';
}

export const i18n = i18next.createInstance();
void i18n.use(initReactI18next).init({
  resources,
  lng: systemLanguage(),
  fallbackLng: 'en',
  supportedLngs: [...LANGUAGES],
  ns: Object.keys(en),
  defaultNS: 'common',
  // React escapes what it renders; catalogues are ours.
  interpolation: { escapeValue: false },
  initAsync: false,
  returnNull: false,
});

/** The language in use, as the contract names it. */
export function currentLanguage(): Language {
  return LANGUAGES.find((l) => l === i18n.language) ?? 'en';
}

/** Switch the words, and tell screen readers and the browser which language the page is in. */
export function applyLanguage(language: Language | null): void {
  const l = language ?? systemLanguage();
  if (i18n.language !== l) void i18n.changeLanguage(l);
  if (page.document) page.document.documentElement.lang = l;
}

/** The BCP 47 locale for dates, times and numbers in the language in use. */
export function locale(): string {
  return LOCALES[currentLanguage()];
}
