/**
 * The session's expiry as the signed-in screens see it (SPEC C1, C5): fine, ending soon, or ended;
 * and the same for a login's own time limit on the device screens (L2–L5).
 *
 * Computed from the absolute `expiresAt` on every look, never from how long a timer ran: timers
 * sleep with the computer, so the phase is looked at again when the window shows or gets focus.
 */
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { SESSION_WARNING_MS } from '../core/contract/messages.ts';
import type { ErrorText } from '../core/contract/index.ts';
import { loginEndingText, sessionEndingText } from './messages.ts';

export type SessionPhase = 'active' | 'ending' | 'ended';

/** The longest wait between two looks at the clock while signed in. */
const RECHECK_MS = 30_000;

function phaseAt(expiresAt: number, now: number, warningMs: number): SessionPhase {
  if (now >= expiresAt) return 'ended';
  return now >= expiresAt - warningMs ? 'ending' : 'active';
}

/**
 * Where the session (or login) with this expiry stands now; null (none) is 'active'. `warningMs`:
 * how long before the end it is 'ending'.
 */
export function useSessionPhase(expiresAt: string | null, warningMs: number = SESSION_WARNING_MS): SessionPhase {
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
      setPhase(phaseAt(end, now, warningMs));
      const next = now < end - warningMs ? end - warningMs - now : end - now;
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
  }, [expiresAt, warningMs]);
  return phase;
}

/**
 * The polite notice before the session ends, never a dialog that takes the focus away from the
 * user's work. The polite live region is always there (so what is put into it is announced); the
 * notice itself is the status, only while it shows.
 */
function PoliteNotice({ text }: { text: ErrorText | null }) {
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

export function SessionEndingNotice({ expiresAt, phase }: { expiresAt: string; phase: SessionPhase }) {
  // The wording is `messages.ts`'s (errors namespace); subscribing re-renders it when the language changes.
  useTranslation('errors');
  return <PoliteNotice text={phase === 'ending' ? sessionEndingText(expiresAt) : null} />;
}

/**
 * SPEC L2–L5, C5: the same notice in a login's last minute on the device screens: the user can still
 * finish, and nothing takes the focus away from the step.
 */
export function LoginEndingNotice({ phase }: { phase: SessionPhase }) {
  useTranslation('errors');
  return <PoliteNotice text={phase === 'ending' ? loginEndingText() : null} />;
}
