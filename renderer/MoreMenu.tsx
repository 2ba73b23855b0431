/**
 * The "More" menu (UI.md): theme, Reset app data (SPEC C4, behind a confirmation), version.
 *
 * A disclosure of plain buttons rather than an ARIA menu: Tab and Enter reach everything, Escape
 * closes it, and screen readers announce it as what it is.
 */
import { useEffect, useId, useRef, useState } from 'react';
import type { AppInfo, SlsApi, Theme } from '../core/contract/index.ts';
import { describeError } from '../core/contract/messages.ts';
import { toClientError } from './ui.tsx';

export interface MoreMenuProps {
  api: SlsApi;
  appInfo: AppInfo | null;
  theme: Theme;
  onTheme(theme: Theme): void;
  /** After a reset: settings are back to defaults, the login screen starts over. */
  onReset(message: string): void;
}

export function MoreMenu({ api, appInfo, theme, onTheme, onReset }: MoreMenuProps) {
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
      onReset(
        r.keychainAvailable
          ? `App data was reset: settings cleared, ${r.keychainEntriesRemoved} keychain ${r.keychainEntriesRemoved === 1 ? 'entry' : 'entries'} removed.`
          : 'App data was reset: settings cleared (no system keychain on this computer).',
      );
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
          setOpen(false);
          toggle.current?.focus();
        }
      }}
    >
      <button ref={toggle} type="button" className="link" aria-expanded={open} aria-controls={`${id}-menu`} onClick={() => setOpen((v) => !v)}>
        More ▾
      </button>
      {open ? (
        <div className="menu" id={`${id}-menu`}>
          <button type="button" onClick={() => onTheme(theme === 'dark' ? 'light' : 'dark')}>
            {theme === 'dark' ? 'Light theme' : 'Dark theme'}
          </button>
          <button type="button" onClick={() => { setFailure(null); setConfirming(true); }}>
            Reset app data…
          </button>
          <p className="version">{appInfo ? `${appInfo.name} ${appInfo.version} (build ${appInfo.build})` : ''}</p>
        </div>
      ) : null}
      <dialog ref={dialog} aria-labelledby={`${id}-dt`} aria-describedby={`${id}-dd`} onClose={() => setConfirming(false)}>
        <h2 id={`${id}-dt`}>Reset app data?</h2>
        <p id={`${id}-dd`}>
          This removes the server address, the remembered user name, device choices and any saved sign-in on this computer, and signs you out. Your account and your devices are not changed.
        </p>
        {failure ? <p className="error" role="alert">{failure}</p> : null}
        <div className="dialog-buttons">
          <button type="button" onClick={() => setConfirming(false)} autoFocus>
            Cancel
          </button>
          <button type="button" className="danger" onClick={reset}>
            Reset app data
          </button>
        </div>
      </dialog>
    </div>
  );
}
