/**
 * Login (SPEC L1, C1): user name, password with show/hide and a Caps Lock warning, server address,
 * remember user name; Enter submits; a spinner while waiting.
 */
import { useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { FormEvent, KeyboardEvent, ReactNode } from 'react';
import type { LoginStepView, SettingsView, SlsApi } from '../../core/contract/index.ts';
import { BusyButton, ErrorLine, toClientError, useAction } from '../ui.tsx';
import type { Notice } from '../ui.tsx';

export interface LoginScreenProps {
  api: SlsApi;
  settings: SettingsView;
  notice: Notice | null;
  /** The user name typed for the login that just ended (SPEC L2–L5, C5): there again, so the user starts again with the password. */
  username?: string;
  /** The login's next step, and the user name it was started with. */
  onStep(step: LoginStepView, username: string): void;
  onSettings(settings: SettingsView): void;
  /**
   * SPEC C3, C5: the host refused the server address typed with SLS_ERR_SIGN_OUT_FIRST (a session is
   * held, maybe signed in in another window). The form says so; the app reads the session again.
   */
  onSignOutFirst(): void;
  footer: ReactNode;
}

function hostOf(address: string): string {
  try {
    return new URL(address).host;
  } catch {
    return address;
  }
}

export function LoginScreen({ api, settings, notice, username: typed, onStep, onSettings, onSignOutFirst, footer }: LoginScreenProps) {
  const [username, setUsername] = useState(typed ?? settings.lastUsername ?? '');
  const [password, setPassword] = useState('');
  const [showPassword, setShowPassword] = useState(false);
  const [capsLock, setCapsLock] = useState(false);
  const [remember, setRemember] = useState(settings.rememberUsername);
  const [editingServer, setEditingServer] = useState(false);
  const [server, setServer] = useState(settings.serverAddress);
  const { t } = useTranslation('login');
  // SPEC L1: the password goes once (Enter pressed twice sends one login); the answer of a form that
  // is gone (Reset app data, the form shown anew) is dropped, not shown over the one there now.
  const { busy, error, setError, run, leave } = useAction(undefined, undefined, { oneAtATime: true });
  useEffect(() => leave, [leave]);
  const id = useId();
  const shown = error ?? notice;
  const userField = useRef<HTMLInputElement>(null);
  const passwordField = useRef<HTMLInputElement>(null);
  const serverToggle = useRef<HTMLButtonElement>(null);
  const serverInput = useRef<HTMLInputElement>(null);
  const serverWasOpen = useRef(false);
  // SPEC C5: the focus follows the server address: into the field when it opens, back to
  // "Server: … ▾" when it closes, never lost to <body>.
  useEffect(() => {
    if (editingServer) serverInput.current?.focus();
    else if (serverWasOpen.current) serverToggle.current?.focus();
    serverWasOpen.current = editingServer;
  }, [editingServer]);

  /** Close the server address without changing it: Cancel, or Escape in the field (SPEC C5). */
  function keepServer() {
    setServer(settings.serverAddress);
    setEditingServer(false);
  }

  function onKey(e: KeyboardEvent<HTMLInputElement>) {
    setCapsLock(e.getModifierState('CapsLock'));
  }

  /**
   * After a refused login the focus goes where the user goes on (SPEC C5): the first empty field,
   * else the password, selected so that typing it again replaces it; it stays in the server address
   * when the user submitted from there (its error is most likely about it). Without this, Log In
   * (disabled while waiting) dropped the focus to <body>, and Tab started over from the page's end.
   */
  function focusFieldToFix() {
    if (!username.trim()) return userField.current?.focus();
    if (password && serverInput.current && document.activeElement === serverInput.current) return;
    passwordField.current?.focus();
    passwordField.current?.select();
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    // Log In is disabled while it waits (so is Enter's implicit submission); this is for a second Enter before that shows.
    if (busy) return;
    if (!username.trim() || !password) {
      setError({ message: t('form.missingCredentials'), action: '' });
      focusFieldToFix();
      return;
    }
    const step = await run(async (live) => {
      if (server.trim() !== settings.serverAddress) {
        try {
          onSettings(await api.setSettings({ serverAddress: server.trim() }));
        } catch (e) {
          // The refusal still shows on the form (`run`); the app then reads the session again.
          if (live() && toClientError(e).code === 'SLS_ERR_SIGN_OUT_FIRST') onSignOutFirst();
          throw e;
        }
      }
      return api.login({ username: username.trim(), password, rememberUsername: remember });
    });
    if (step) {
      setPassword('');
      onStep(step, username.trim());
    } else {
      focusFieldToFix();
    }
  }

  return (
    <main className="screen login" aria-labelledby={`${id}-title`}>
      <header className="brand">
        <h1 id={`${id}-title`}>
          <span className="logo" aria-hidden="true">SLS</span> {t('form.title')}
        </h1>
      </header>
      <form id={`${id}-form`} onSubmit={submit} noValidate aria-busy={busy}>
        <div className="field">
          <label htmlFor={`${id}-user`}>{t('form.username')}</label>
          <input
            ref={userField}
            id={`${id}-user`}
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            value={username}
            maxLength={64}
            onChange={(e) => setUsername(e.target.value)}
            onKeyDown={onKey}
            onKeyUp={onKey}
            autoFocus={!username}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-pass`}>{t('form.password')}</label>
          <div className="with-button">
            <input
              ref={passwordField}
              id={`${id}-pass`}
              name="password"
              type={showPassword ? 'text' : 'password'}
              autoComplete="current-password"
              value={password}
              maxLength={256}
              onChange={(e) => setPassword(e.target.value)}
              onKeyDown={onKey}
              onKeyUp={onKey}
              aria-describedby={capsLock ? `${id}-caps` : undefined}
              autoFocus={!!username}
            />
            <button
              type="button"
              className="icon"
              aria-pressed={showPassword}
              aria-label={showPassword ? t('form.hidePassword') : t('form.showPassword')}
              title={showPassword ? t('form.hidePassword') : t('form.showPassword')}
              onClick={() => setShowPassword((v) => !v)}
            >
              {/* Both words in one grid cell, the other one hidden: the button is as wide as the longer
                  ("Ausblenden"), so toggling it does not resize the password field beside it. */}
              <span className="stable-label">
                <span>{showPassword ? t('form.hide') : t('form.show')}</span>
                <span className="stable-label-other" aria-hidden="true">
                  {showPassword ? t('form.show') : t('form.hide')}
                </span>
              </span>
            </button>
          </div>
          <p className="hint warn" id={`${id}-caps`} aria-live="polite">
            {capsLock ? t('form.capsLock') : ''}
          </p>
        </div>
        <div className="check">
          <input id={`${id}-remember`} type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} />
          <label htmlFor={`${id}-remember`}>{t('form.rememberUsername')}</label>
        </div>
        <BusyButton busy={busy} busyLabel={t('form.submitting')}>
          {t('form.submit')}
        </BusyButton>
        <ErrorLine error={shown} />
      </form>
      <footer className="footer">
        {/* UI.md screen 1: the address opens where "Server: … ▾" was; it belongs to the form (Enter logs in). */}
        {editingServer ? (
          <div className="field server-field">
            <label htmlFor={`${id}-server`}>{t('form.serverAddress')}</label>
            <div className="with-button">
              <input
                ref={serverInput}
                id={`${id}-server`}
                form={`${id}-form`}
                name="server"
                inputMode="url"
                spellCheck={false}
                autoCapitalize="none"
                value={server}
                maxLength={200}
                onChange={(e) => setServer(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key !== 'Escape') return;
                  e.preventDefault();
                  keepServer();
                }}
              />
              <button type="button" className="secondary-button" onClick={keepServer} aria-label={t('form.keepServer', { host: hostOf(settings.serverAddress) })}>
                {t('form.cancelServer')}
              </button>
            </div>
          </div>
        ) : (
          <button ref={serverToggle} type="button" className="link" onClick={() => setEditingServer(true)} aria-label={t('form.changeServer', { host: hostOf(settings.serverAddress) })}>
            {t('form.server', { host: hostOf(settings.serverAddress) })}
          </button>
        )}
        {footer}
      </footer>
    </main>
  );
}
