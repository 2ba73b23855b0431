/**
 * The DSC+ plugged in (SPEC C2, H2; UI.md screen 3): the card answers the challenge by itself.
 *
 * The host has already sent the challenge to the card; this panel shows the PIN tries left and the
 * card's live status, and waits (`waitForApproval`) for the outcome: signed in, or why the user
 * has to type the response instead. The PIN is typed on the card only; nothing here asks for it.
 */
import { useEffect, useState } from 'react';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import type { ApprovalView, DscPlusStatus, ErrorText } from '../../core/contract/index.ts';
import { ContractError } from '../../core/contract/messages.ts';
import { Spinner, useLatest, useTimeLeft } from '../ui.tsx';

/**
 * Why the card does not answer by itself, each a line `card.<line>` in the catalogue: the host's
 * failures, a blocked card (UI.md wording; SPEC H2: three wrong PINs block it), the user chose to
 * type (`typed`), slsd refused what the card answered (`notAccepted`; the error line says why).
 */
export type CardLine = 'disconnected' | 'cancelled' | 'timeout' | 'failed' | 'blocked' | 'typed' | 'notAccepted';

/** The host's codes for a card that cannot answer (electron/host/dscplus-login.ts). */
const CARD_ERRORS: Partial<Record<string, CardLine>> = {
  SLS_ERR_DSCPLUS_DISCONNECTED: 'disconnected',
  SLS_ERR_DSCPLUS_CANCELLED: 'cancelled',
  SLS_ERR_DSCPLUS_TIMEOUT: 'timeout',
  SLS_ERR_DSCPLUS_FAILED: 'failed',
};

/** A card line's words in the language in use: what happened, what to do. */
export function cardLineText(t: TFunction<'challenge'>, line: CardLine): ErrorText {
  return { message: t(`card.${line}.message`), action: t(`card.${line}.action`) };
}

export interface DscPlusCardProps {
  serial: string;
  /** The outcome of the card's answer (the host's `waitForApproval` while a card challenge shows). */
  waitForCard(): Promise<ApprovalView>;
  /** Subscribes to `dscplusStatus`; returns the unsubscribe function. */
  onCardStatus(listener: (status: DscPlusStatus) => void): () => void;
  onSignedIn(view: Extract<ApprovalView, { status: 'signed_in' }>): void;
  /** The card cannot answer: type instead, with this line saying why. */
  onFallback(reason: CardLine): void;
  onBlocked(): void;
  /** Any other error (from slsd: the login ended, a response refused). */
  onError(error: unknown): void;
}

export function DscPlusCardPanel({ serial, waitForCard, onCardStatus, onSignedIn, onFallback, onBlocked, onError }: DscPlusCardProps) {
  const { t } = useTranslation('challenge');
  const [status, setStatus] = useState<DscPlusStatus | null>(null);
  const [triesLeft, setTriesLeft] = useState<number | undefined>(undefined);
  const [wrongPin, setWrongPin] = useState(false);
  // The card is asked once per serial and wait: new callbacks from a re-render are used, never a second wait
  // (after the card's answer signed in, a second wait finds no login and would end it on screen).
  const on = useLatest({ onCardStatus, onSignedIn, onFallback, onBlocked, onError });

  useEffect(() => {
    let live = true;
    const off = on.current.onCardStatus((s) => {
      if (!live || s.serial !== serial) return;
      setStatus(s);
      if (s.pinTriesLeft !== undefined) setTriesLeft(s.pinTriesLeft);
      if (s.state === 'wrong_pin') setWrongPin(true);
      else if (s.state === 'response_received') setWrongPin(false);
    });
    waitForCard().then(
      (r) => {
        if (live && r.status === 'signed_in') on.current.onSignedIn(r);
      },
      (e: unknown) => {
        if (!live) return;
        const code = e instanceof ContractError ? e.error.code : '';
        const reason = CARD_ERRORS[code];
        if (code === 'SLS_ERR_DSCPLUS_BLOCKED') on.current.onBlocked();
        else if (reason) on.current.onFallback(reason);
        else on.current.onError(e);
      },
    );
    return () => {
      live = false;
      off();
    };
  }, [serial, waitForCard, on]);

  const state = status?.state;
  // SPEC C5: the card waits for the PIN a limited time (its RESPOND timeout): the time left, counting down.
  const left = useTimeLeft(state === 'waiting_for_pin' ? status?.pinTimeoutAt : undefined);
  let line: string;
  if (state === 'response_received') line = t('card.status.received');
  else if (state === 'waiting_for_pin' || state === 'wrong_pin') line = t('card.status.waitingForPin');
  else line = t('card.status.sending');

  return (
    <div className="dscplus-card">
      <ol className="steps">
        <li>{triesLeft === undefined ? t('card.pin') : t('card.pinTries', { count: triesLeft })}</li>
      </ol>
      {wrongPin && state !== 'response_received' ? (
        <p className="error" role="alert">
          <strong>{t('card.wrongPin')}</strong> {triesLeft === undefined ? t('card.tryAgain') : t('card.triesBeforeBlock', { count: triesLeft })}
        </p>
      ) : null}
      <p className="waiting" role="status">
        <Spinner /> {line}
      </p>
      {/* Outside the live region: a screen reader is not told every second. */}
      {left ? <p className="hint time-left">{t('card.status.pinTimeLeft', { left })}</p> : null}
    </div>
  );
}
