/**
 * The "More" menu (UI.md): language, theme, Reset app data (SPEC C4, behind a confirmation), version.
 *
 * A disclosure of plain buttons rather than an ARIA menu: Tab and Enter reach everything, Escape
 * closes it, and screen readers announce it as what it is.
 */
import { useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { LANGUAGES } from '../core/contract/index.ts';
import type { AppInfo, Language, SlsApi, Theme } from '../core/contract/index.ts';
import { LANGUAGE_NAMES, systemLanguage } from './i18n/index.ts';
import { describeError } from './messages.ts';
import { toClientError } from './ui.tsx';

export interface MoreMenuProps {
  api: SlsApi;
  appInfo: AppInfo | null;
  theme: Theme;
  onTheme(theme: Theme): void;
  /** The language chosen here; null follows the system's. */
  language: Language | null;
  onLanguage(language: Language | null): void;
  /** After a reset: settings are back to defaults, the login screen starts over. */
  onReset(message: string): void;
}

export function MoreMenu({ api, appInfo, theme, onTheme, language, onLanguage, onReset }: MoreMenuProps) {
  const { t } = useTranslation('shell');
  const [open, setOpen] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);
  const id = useId();

  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (confirming && !d.open) d.showModal();
    if (!confirming && d.open) d.close();
  }, [confirming]);

  async function reset() {
    try {
      const r = await api.resetAppData();
      setConfirming(false);
      setOpen(false);
      onReset(r.keychainAvailable ? t('reset.done', { count: r.keychainEntriesRemoved }) : t('reset.doneNoKeychain'));
    } catch (e) {
      const t = describeError(toClientError(e));
      setFailure(`${t.message} ${t.action}`);
    }
  }

  return (
    <div
      className="more"
      onKeyDown={(e) => {
        if (e.key === 'Escape' && open && !confirming) {
          // Handled: a screen's own Escape (its Cancel, `useEscape`) leaves this key alone (SPEC C5).
          e.preventDefault();
          setOpen(false);
          toggle.current?.focus();
        }
      }}
    >
      <button ref={toggle} type="button" className="link" aria-expanded={open} aria-controls={`${id}-menu`} onClick={() => setOpen((v) => !v)}>
        {t('more.toggle')}
      </button>
      {open ? (
        <div className="menu" id={`${id}-menu`}>
          <label className="menu-field">
            <span>{t('more.language')}</span>
            <select value={language ?? ''} onChange={(e) => onLanguage(LANGUAGES.find((l) => l === e.target.value) ?? null)}>
              <option value="">{t('more.systemLanguage', { name: LANGUAGE_NAMES[systemLanguage()] })}</option>
              {LANGUAGES.map((l) => (
                <option key={l} value={l} lang={l}>
                  {LANGUAGE_NAMES[l]}
                </option>
              ))}
            </select>
          </label>
          <button type="button" onClick={() => onTheme(theme === 'dark' ? 'light' : 'dark')}>
            {theme === 'dark' ? t('more.lightTheme') : t('more.darkTheme')}
          </button>
          <button type="button" onClick={() => { setFailure(null); setConfirming(true); }}>
            {t('more.reset')}
          </button>
          <p className="version">{appInfo ? t('more.version', { name: appInfo.name, version: appInfo.version, build: appInfo.build }) : ''}</p>
        </div>
      ) : null}
      <dialog ref={dialog} aria-labelledby={`${id}-dt`} aria-describedby={`${id}-dd`} onClose={() => setConfirming(false)}>
        <h2 id={`${id}-dt`}>{t('reset.title')}</h2>
        <p id={`${id}-dd`}>{t('reset.body')}</p>
        {failure ? <p className="error" role="alert">{failure}</p> : null}
        <div className="dialog-buttons">
          <button type="button" onClick={() => setConfirming(false)} autoFocus>
            {t('reset.cancel')}
          </button>
          <button type="button" className="danger" onClick={reset}>
            {t('reset.confirm')}
          </button>
        </div>
      </dialog>
    </div>
  );
}
