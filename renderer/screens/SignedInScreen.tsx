/**
 * The signed-in shell (SPEC C1): who, which account, how the session was authenticated, until
 * when, restrictions (O2, P1), and Sign out.
 */
import { useId } from 'react';
import type { ReactNode } from 'react';
import { formatNewYorkTime } from '../../core/contract/messages.ts';
import type { SessionView } from '../../core/contract/index.ts';
import { Spinner } from '../ui.tsx';

export function SignedInScreen({ session, onSignOut, signingOut, footer, onAccount, notice }: { session: SessionView; onSignOut(): void; signingOut: boolean; footer: ReactNode; onAccount?: () => void; notice?: ReactNode }) {
  const id = useId();
  const expires = formatNewYorkTime(new Date(session.expiresAt), new Date());
  return (
    <main className="screen shell" aria-labelledby={`${id}-t`}>
      <header className="brand">
        <h1 id={`${id}-t`}>
          <span className="logo" aria-hidden="true">SLS</span> Signed in
        </h1>
      </header>
      {/* SPEC C5: the polite notice before the session ends (role=status, never takes the focus). */}
      {notice}
      <dl className="facts">
        <dt>User</dt>
        <dd>
          {session.user.displayName} <span className="muted">({session.user.username})</span>
        </dd>
        <dt>Account</dt>
        <dd>{session.account ? session.account.number : 'No account'}</dd>
        <dt>Signed in with</dt>
        <dd>{session.authenticatedWith ? session.authenticatedWith.label : 'No second factor (SLS opt-out)'}</dd>
        <dt>Session ends</dt>
        <dd>{expires} (New York time)</dd>
        {session.access === 'portal_only' ? (
          <>
            <dt>Access</dt>
            <dd>Client Portal functions only (temporary passcode)</dd>
          </>
        ) : null}
        <dt>Restrictions</dt>
        <dd>
          {session.restrictions.length === 0 ? (
            'None'
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
            Account security
          </button>
        </p>
      ) : null}
      <p>
        <button type="button" className="primary" onClick={onSignOut} disabled={signingOut} aria-busy={signingOut}>
          {signingOut ? (
            <>
              <Spinner /> Signing out…
            </>
          ) : (
            'Sign out'
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
