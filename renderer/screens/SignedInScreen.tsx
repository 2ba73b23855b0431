/**
 * The signed-in shell (SPEC C1, UI.md 7): who, which account, how the session was authenticated, until
 * when, whether the app may auto-restart and until which weekly cut-off (L8), restrictions (O2, P1,
 * T1, S1b) in the user's language, and Sign out. The heading takes the focus, so a screen reader
 * says where the user is (C5).
 */
import { useEffect, useId, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import type { ReactNode } from 'react';
import type { RestrictionCode } from '../../core/api.ts';
import { formatNewYorkTime } from '../../core/contract/messages.ts';
import type { AutoRestartView, SessionView } from '../../core/contract/index.ts';
import { locale } from '../i18n/index.ts';
import { Spinner } from '../ui.tsx';
import { deviceLabel } from '../devices.ts';

/** The words of each restriction code slsd sends (core/api.ts); any other code is shown as slsd wrote it. */
const RESTRICTION_KEYS = {
  SLS_RESTRICTION_OPT_OUT: 'signedIn.restriction.optOut',
  SLS_RESTRICTION_MOBILE_NOT_VERIFIED: 'signedIn.restriction.mobileNotVerified',
  SLS_RESTRICTION_PORTAL_ONLY: 'signedIn.restriction.portalOnly',
  SLS_RESTRICTION_TEMPORARY_NO_SHARING: 'signedIn.restriction.temporaryNoSharing',
} as const satisfies Record<RestrictionCode, string>;

function restrictionText(t: TFunction<'common'>, r: { code: string; message: string }): string {
  return Object.hasOwn(RESTRICTION_KEYS, r.code) ? t(RESTRICTION_KEYS[r.code as RestrictionCode]) : r.message;
}

const AUTO_RESTART_OFF_KEYS = {
  no_keychain: 'signedIn.autoRestartOff.noKeychain',
  keychain_refused: 'signedIn.autoRestartOff.keychainRefused',
  not_for_this_login: 'signedIn.autoRestartOff.notForThisLogin',
  not_set_up: 'signedIn.autoRestartOff.notSetUp',
  revoked: 'signedIn.autoRestartOff.revoked',
  expired: 'signedIn.autoRestartOff.expired',
  devices: 'signedIn.autoRestartOff.devices',
} as const satisfies Record<Extract<AutoRestartView, { state: 'off' }>['reason'], string>;

/** SPEC L8: "On until Sun, Nov 29, 01:00 (New York time)", or off and why. */
function autoRestartText(t: TFunction<'common'>, a: AutoRestartView, now: Date): string {
  if (a.state === 'on') return t('signedIn.autoRestartOn', { when: formatNewYorkTime(new Date(a.until), now, locale()) });
  return t(AUTO_RESTART_OFF_KEYS[a.reason]);
}

export function SignedInScreen({ session, onSignOut, signingOut, footer, onAccount, notice }: { session: SessionView; onSignOut(): void; signingOut: boolean; footer: ReactNode; onAccount?: () => void; notice?: ReactNode }) {
  const { t } = useTranslation('common');
  const id = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  // SPEC C5: the screen changed; the heading takes the focus so it is announced, and Tab goes on from here.
  useEffect(() => {
    heading.current?.focus();
  }, []);
  const now = new Date();
  const expires = formatNewYorkTime(new Date(session.expiresAt), now, locale());
  return (
    <main className="screen shell" aria-labelledby={`${id}-t`}>
      <header className="brand">
        <h1 id={`${id}-t`} ref={heading} tabIndex={-1}>
          <span className="logo" aria-hidden="true">SLS</span> {t('signedIn.title')}
        </h1>
      </header>
      {/* SPEC C5: the polite notice before the session ends (role=status, never takes the focus). */}
      {notice}
      <dl className="facts">
        <dt>{t('signedIn.user')}</dt>
        <dd>
          {session.user.displayName} <span className="muted">({session.user.username})</span>
        </dd>
        <dt>{t('signedIn.account')}</dt>
        <dd>{session.account ? session.account.number : t('signedIn.noAccount')}</dd>
        <dt>{t('signedIn.signedInWith')}</dt>
        <dd>{session.authenticatedWith ? deviceLabel(session.authenticatedWith.label, session.authenticatedWith.kind) : t('signedIn.noSecondFactor')}</dd>
        <dt>{t('signedIn.sessionEnds')}</dt>
        <dd>{t('signedIn.sessionEndsAt', { when: expires })}</dd>
        <dt>{t('signedIn.autoRestart')}</dt>
        <dd className={session.autoRestart.state === 'off' ? 'muted' : undefined}>{autoRestartText(t, session.autoRestart, now)}</dd>
        {session.access === 'portal_only' ? (
          <>
            <dt>{t('signedIn.access')}</dt>
            <dd>{t('signedIn.portalOnly')}</dd>
          </>
        ) : null}
        <dt>{t('signedIn.restrictions')}</dt>
        <dd>
          {session.restrictionDetails.length === 0 ? (
            t('signedIn.noRestrictions')
          ) : (
            <ul className="restrictions">
              {session.restrictionDetails.map((r, i) => (
                <li key={`${i}-${r.code}`} data-code={r.code}>
                  {restrictionText(t, r)}
                </li>
              ))}
            </ul>
          )}
        </dd>
      </dl>
      {onAccount ? (
        <p>
          {/* SPEC C1, C6: the account security settings (portal functions) under the Account menu. */}
          <button type="button" className="secondary-button" onClick={onAccount}>
            {t('signedIn.accountSecurity')}
          </button>
        </p>
      ) : null}
      <p>
        {/* UI.md 7: Sign out is the Account menu's last entry, after Security: a plain button, not the screen's primary action. */}
        <button type="button" className="secondary-button" onClick={onSignOut} disabled={signingOut} aria-busy={signingOut}>
          {signingOut ? (
            <>
              <Spinner /> {t('signedIn.signingOut')}
            </>
          ) : (
            t('signedIn.signOut')
          )}
        </button>
      </p>
      <footer className="footer">
        <span />
        {footer}
      </footer>
    </main>
  );
}
