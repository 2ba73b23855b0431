/**
 * The session's expiry as the signed-in screens see it (SPEC C1, C5): fine, ending soon, or ended.
 *
 * Computed from the absolute `expiresAt` on every look, never from how long a timer ran: timers
 * sleep with the computer, so the phase is looked at again when the window shows or gets focus.
 */
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { SESSION_WARNING_MS } from '../core/contract/messages.ts';
import { sessionEndingText } from './messages.ts';

export type SessionPhase = 'active' | 'ending' | 'ended';

/** The longest wait between two looks at the clock while signed in. */
const RECHECK_MS = 30_000;

function phaseAt(expiresAt: number, now: number): SessionPhase {
  if (now >= expiresAt) return 'ended';
  return now >= expiresAt - SESSION_WARNING_MS ? 'ending' : 'active';
}

/** Where the session with this expiry stands now; null (no session) is 'active'. */
export function useSessionPhase(expiresAt: string | null): SessionPhase {
  const [phase, setPhase] = useState<SessionPhase>('active');
  useEffect(() => {
    const end = expiresAt ? Date.parse(expiresAt) : Number.NaN;
    if (Number.isNaN(end)) {
      setPhase('active');
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const look = () => {
      clearTimeout(timer);
      const now = Date.now();
      setPhase(phaseAt(end, now));
      const next = now < end - SESSION_WARNING_MS ? end - SESSION_WARNING_MS - now : end - now;
      if (next > 0) timer = setTimeout(look, Math.min(next, RECHECK_MS));
    };
    look();
    const onVisible = () => {
      if (document.visibilityState === 'visible') look();
    };
    document.addEventListener('visibilitychange', onVisible);
    window.addEventListener('focus', look);
    return () => {
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
      window.removeEventListener('focus', look);
    };
  }, [expiresAt]);
  return phase;
}

/**
 * The polite notice before the session ends, never a dialog that takes the focus away from the
 * user's work. The polite live region is always there (so what is put into it is announced); the
 * notice itself is the status, only while it shows.
 */
export function SessionEndingNotice({ expiresAt, phase }: { expiresAt: string; phase: SessionPhase }) {
  // The wording is `messages.ts`'s (errors namespace); subscribing re-renders it when the language changes.
  useTranslation('errors');
  const text = phase === 'ending' ? sessionEndingText(expiresAt) : null;
  return (
    <div className="session-notice-slot" aria-live="polite">
      {text ? (
        <p className="session-notice" role="status">
          <strong>{text.message}</strong> {text.action}
        </p>
      ) : null}
    </div>
  );
}
