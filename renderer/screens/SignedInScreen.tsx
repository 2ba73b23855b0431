/**
 * The signed-in shell (SPEC C1): who, which account, how the session was authenticated, until
 * when, restrictions (O2, P1), and Sign out.
 */
import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import type { ReactNode } from 'react';
import { formatNewYorkTime } from '../../core/contract/messages.ts';
import type { SessionView } from '../../core/contract/index.ts';
import { locale } from '../i18n/index.ts';
import { Spinner } from '../ui.tsx';
import { deviceLabel } from '../devices.ts';

export function SignedInScreen({ session, onSignOut, signingOut, footer, onAccount, notice }: { session: SessionView; onSignOut(): void; signingOut: boolean; footer: ReactNode; onAccount?: () => void; notice?: ReactNode }) {
  const { t } = useTranslation('common');
  const id = useId();
  const expires = formatNewYorkTime(new Date(session.expiresAt), new Date(), locale());
  return (
    <main className="screen shell" aria-labelledby={`${id}-t`}>
      <header className="brand">
        <h1 id={`${id}-t`}>
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
        {session.access === 'portal_only' ? (
          <>
            <dt>{t('signedIn.access')}</dt>
            <dd>{t('signedIn.portalOnly')}</dd>
          </>
        ) : null}
        <dt>{t('signedIn.restrictions')}</dt>
        <dd>
          {session.restrictions.length === 0 ? (
            t('signedIn.noRestrictions')
          ) : (
            <ul className="restrictions">
              {session.restrictions.map((r) => (
                <li key={r}>{r}</li>
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
        <button type="button" className="primary" onClick={onSignOut} disabled={signingOut} aria-busy={signingOut}>
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
