/**
 * The DSC+ plugged in (SPEC C2, H2; UI.md screen 3): the card answers the challenge by itself.
 *
 * The host has already sent the challenge to the card; this panel shows the PIN tries left and the
 * card's live status, and waits (`waitForApproval`) for the outcome: signed in, or why the user
 * has to type the response instead. The PIN is typed on the card only; nothing here asks for it.
 */
import { useEffect, useState } from 'react';
import type { ApprovalView, DscPlusStatus, ErrorText } from '../../core/contract/index.ts';
import { ContractError } from '../../core/contract/messages.ts';
import { Spinner } from '../ui.tsx';

/** The host's codes for a card that cannot answer (electron/host/dscplus-login.ts). */
const CARD_ERRORS: Record<string, ErrorText> = {
  SLS_ERR_DSCPLUS_DISCONNECTED: { message: 'The card was unplugged.', action: 'Type the response from the card instead.' },
  SLS_ERR_DSCPLUS_CANCELLED: { message: 'Cancelled on the card.', action: 'Type the response from the card, or send the challenge to the card again.' },
  SLS_ERR_DSCPLUS_TIMEOUT: { message: 'No PIN was entered on the card in time.', action: 'Type the response from the card, or send the challenge to the card again.' },
  SLS_ERR_DSCPLUS_FAILED: { message: 'The card did not answer.', action: 'Type the response from the card instead.' },
};

/** UI.md wording for a blocked card (SPEC H2: three wrong PINs block it). */
export const CARD_BLOCKED: ErrorText = { message: 'This card is blocked after 3 wrong PINs.', action: 'Call client services.' };

/** The typing fallback's line when the user chose to type. */
export const CARD_TYPED: ErrorText = { message: 'The card no longer answers by itself.', action: 'Type the response it shows.' };

/** The typing fallback's line when slsd refused what the card answered (the error line says why). */
export const CARD_NOT_ACCEPTED: ErrorText = { message: 'The card could not log you in.', action: 'Type the response from the card instead.' };

/** The typing fallback's line when the card is unplugged while it was answering. */
export const CARD_UNPLUGGED = CARD_ERRORS.SLS_ERR_DSCPLUS_DISCONNECTED!;

function triesText(n: number | undefined): string {
  return n === undefined ? '' : ` (${n} ${n === 1 ? 'try' : 'tries'} left)`;
}

export interface DscPlusCardProps {
  serial: string;
  /** The outcome of the card's answer (the host's `waitForApproval` while a card challenge shows). */
  waitForCard(): Promise<ApprovalView>;
  /** Subscribes to `dscplusStatus`; returns the unsubscribe function. */
  onCardStatus(listener: (status: DscPlusStatus) => void): () => void;
  onSignedIn(view: Extract<ApprovalView, { status: 'signed_in' }>): void;
  /** The card cannot answer: type instead, with this line saying why. */
  onFallback(reason: ErrorText): void;
  onBlocked(): void;
  /** Any other error (from slsd: the login ended, a response refused). */
  onError(error: unknown): void;
}

export function DscPlusCardPanel({ serial, waitForCard, onCardStatus, onSignedIn, onFallback, onBlocked, onError }: DscPlusCardProps) {
  const [status, setStatus] = useState<DscPlusStatus | null>(null);
  const [triesLeft, setTriesLeft] = useState<number | undefined>(undefined);
  const [wrongPin, setWrongPin] = useState(false);

  useEffect(() => {
    let live = true;
    const off = onCardStatus((s) => {
      if (!live || s.serial !== serial) return;
      setStatus(s);
      if (s.pinTriesLeft !== undefined) setTriesLeft(s.pinTriesLeft);
      if (s.state === 'wrong_pin') setWrongPin(true);
      else if (s.state === 'response_received') setWrongPin(false);
    });
    waitForCard().then(
      (r) => {
        if (live && r.status === 'signed_in') onSignedIn(r);
      },
      (e: unknown) => {
        if (!live) return;
        const code = e instanceof ContractError ? e.error.code : '';
        if (code === 'SLS_ERR_DSCPLUS_BLOCKED') onBlocked();
        else if (CARD_ERRORS[code]) onFallback(CARD_ERRORS[code]);
        else onError(e);
      },
    );
    return () => {
      live = false;
      off();
    };
  }, [serial, waitForCard, onCardStatus, onSignedIn, onFallback, onBlocked, onError]);

  const state = status?.state;
  let line: string;
  if (state === 'response_received') line = 'Response received — logging in…';
  else if (state === 'waiting_for_pin' || state === 'wrong_pin') line = 'Waiting for your PIN on the card…';
  else line = 'Sending the challenge to the card…';

  return (
    <div className="dscplus-card">
      <ol className="steps">
        <li>Enter your PIN on the card{triesText(triesLeft)}.</li>
      </ol>
      {wrongPin && state !== 'response_received' ? (
        <p className="error" role="alert">
          <strong>Wrong PIN.</strong> {triesLeft === undefined ? 'Try again on the card.' : `${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left before the card blocks. Try again on the card.`}
        </p>
      ) : null}
      <p className="waiting" role="status">
        <Spinner /> {line}
      </p>
    </div>
  );
}
