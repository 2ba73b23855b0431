/**
 * The second-factor screens, one per kind of challenge (SPEC L4): challenge code, index numbers,
 * IB Key notification, SMS code, temporary passcode. Each has "Use another device" (L5).
 */
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import type { Challenge } from '../../core/api.ts';
import { DEVICE_CATALOGUE, PLATINUM_ALPHABET } from '../../core/devices.ts';
import type { ResponseAlphabet } from '../../core/devices.ts';
import { formatCountdown, formatNewYorkTime } from '../../core/contract/messages.ts';
import type { ApprovalView, DscPlusStatus, ErrorText } from '../../core/contract/index.ts';
import { BusyButton, ErrorLine, Spinner, spelled, useNow } from '../ui.tsx';
import { CARD_BLOCKED, CARD_NOT_ACCEPTED, CARD_TYPED, CARD_UNPLUGGED, DscPlusCardPanel } from './DscPlusCard.tsx';

export interface ChallengeProps<C extends Challenge = Challenge> {
  challenge: C;
  deviceLabel: string;
  canSwitch: boolean;
  busy: boolean;
  error: ErrorText | null;
  onRespond(response: string): void;
  onSwitch(): void;
  onCancel(): void;
  /** IB Key: challenge/response instead of the notification, or send it again. */
  onSelectAgain(mode: 'default' | 'offline'): void;
  onResend(): void;
  /** A status line to announce (e.g. "A new code was sent."). */
  status: string | null;
  /** IB Key: one long-poll for the approval (about 25 s); the screen repeats it while shown. */
  waitForApproval(): Promise<ApprovalView>;
  onApproved(view: Extract<ApprovalView, { status: 'signed_in' }>): void;
  onApprovalError(error: unknown): void;
  /** DSC+ (SPEC C2): the serial of this challenge's card while it is plugged in; the card then answers by itself. */
  cardSerial?: string | null;
  /** Subscribes to the card's live status (`dscplusStatus`); returns the unsubscribe function. */
  onCardStatus?(listener: (status: DscPlusStatus) => void): () => void;
  /** The card blocked after three wrong PINs (SPEC H2): the app offers the other devices. */
  onCardBlocked?(): void;
}

/** Keep only what the device can produce, uppercased where the alphabet has letters (SPEC D2, D3). */
export function cleanResponse(raw: string, alphabet: ResponseAlphabet, max: number): string {
  const up = raw.toUpperCase();
  const allowed = alphabet === 'digits' ? '0123456789' : alphabet === 'platinum' ? PLATINUM_ALPHABET : '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let out = '';
  for (const ch of up) if (allowed.includes(ch)) out += ch;
  return out.slice(0, max);
}

function alphabetHint(alphabet: ResponseAlphabet, length: number): string {
  if (alphabet === 'digits') return `${length} digits`;
  if (alphabet === 'platinum') return `${length} characters: 0–9 and A C E F H P`;
  return `${length} characters, letters and digits`;
}

function Frame({ title, children, canSwitch, onSwitch, onCancel, titleId }: { title: string; titleId: string; children: ReactNode; canSwitch: boolean; onSwitch(): void; onCancel(): void }) {
  return (
    <main className="screen" aria-labelledby={titleId}>
      <h1 id={titleId}>{title}</h1>
      {children}
      <nav className="secondary" aria-label="Login">
        {canSwitch ? (
          <button type="button" className="link" onClick={onSwitch}>
            Use another device
          </button>
        ) : null}
        <button type="button" className="link" onClick={onCancel}>
          Cancel
        </button>
      </nav>
    </main>
  );
}

/** A code field with its length and alphabet, and the submit button. */
function ResponseForm({ label, alphabet, length, hint, busy, error, onRespond, autoComplete = 'one-time-code', extra }: { label: string; alphabet: ResponseAlphabet; length: number; hint: string; busy: boolean; error: ErrorText | null; onRespond(r: string): void; autoComplete?: string; extra?: ReactNode }) {
  const [value, setValue] = useState('');
  const [short, setShort] = useState<ErrorText | null>(null);
  const id = useId();
  function submit(e: FormEvent) {
    e.preventDefault();
    if (value.length !== length) {
      setShort({ message: `Enter all ${length} characters.`, action: `You typed ${value.length}.` });
      return;
    }
    setShort(null);
    onRespond(value);
    setValue('');
  }
  return (
    <form onSubmit={submit} className="response-form" aria-busy={busy}>
      <label htmlFor={`${id}-r`}>{label}</label>
      <div className="with-button">
        <input
          id={`${id}-r`}
          className="code-input"
          name="response"
          value={value}
          inputMode={alphabet === 'digits' ? 'numeric' : 'text'}
          autoComplete={autoComplete}
          autoCapitalize="characters"
          spellCheck={false}
          aria-describedby={`${id}-h`}
          onChange={(e) => setValue(cleanResponse(e.target.value, alphabet, length))}
          autoFocus
        />
        <BusyButton busy={busy} busyLabel="Checking…">
          Submit
        </BusyButton>
      </div>
      <p className="hint" id={`${id}-h`}>
        {hint}
      </p>
      {extra}
      <ErrorLine error={short ?? error} />
    </form>
  );
}

export function ResponseCodeScreen(p: ChallengeProps<Extract<Challenge, { type: 'response_code' }>>) {
  const c = p.challenge;
  const id = useId();
  const name = DEVICE_CATALOGUE[c.kind].name;
  const onCard = c.kind === 'dscplus' || c.kind === 'dsc' ? 'card' : 'device';
  const title = c.kind === 'ibkey' ? 'IB Key — challenge code' : name;
  // SPEC C2: a plugged-in DSC+ answers by itself; typing is the fallback, with a line saying why.
  const [fallback, setFallback] = useState<ErrorText | null>(null);
  const [blocked, setBlocked] = useState(false);
  const serial = c.kind === 'dscplus' && p.onCardStatus ? (p.cardSerial ?? null) : null;
  const answersItself = serial !== null && !fallback && !blocked;
  const was = useRef(serial);
  useEffect(() => {
    // Hot-plug: unplugged while answering → type, saying why; plugged in again → the card answers.
    if (was.current !== null && serial === null) setFallback((f) => f ?? CARD_UNPLUGGED);
    if (was.current === null && serial !== null) setFallback(null);
    was.current = serial;
  }, [serial]);
  const { onCardBlocked, onApprovalError, onSelectAgain } = p;
  const cardBlocked = useCallback(() => {
    setBlocked(true);
    onCardBlocked?.();
  }, [onCardBlocked]);
  const cardError = useCallback(
    (e: unknown) => {
      setFallback(CARD_NOT_ACCEPTED);
      onApprovalError(e);
    },
    [onApprovalError],
  );
  const typeInstead = () => {
    setFallback(CARD_TYPED);
    // The host sends CANCEL to the card and keeps this challenge (mode offline: no USB).
    onSelectAgain('offline');
  };
  if (blocked) {
    return (
      <Frame title={title} titleId={`${id}-t`} canSwitch={p.canSwitch} onSwitch={p.onSwitch} onCancel={p.onCancel}>
        <p className="device-label">{p.deviceLabel}</p>
        <ErrorLine error={CARD_BLOCKED} />
      </Frame>
    );
  }
  if (answersItself && serial !== null && p.onCardStatus) {
    return (
      <Frame title={title} titleId={`${id}-t`} canSwitch={p.canSwitch} onSwitch={p.onSwitch} onCancel={p.onCancel}>
        <p className="device-label">{p.deviceLabel} — connected</p>
        <DscPlusCardPanel
          serial={serial}
          waitForCard={p.waitForApproval}
          onCardStatus={p.onCardStatus}
          onSignedIn={p.onApproved}
          onFallback={setFallback}
          onBlocked={cardBlocked}
          onError={cardError}
        />
        <p className="hint">The card shows this challenge code:</p>
        <output className="challenge" aria-label={`Challenge code: ${spelled(c.challenge)}`}>
          {c.challenge}
        </output>
        <ErrorLine error={p.error} />
        <p>
          <button type="button" className="link" onClick={typeInstead}>
            Type the response instead
          </button>
        </p>
      </Frame>
    );
  }
  return (
    <Frame title={title} titleId={`${id}-t`} canSwitch={p.canSwitch} onSwitch={p.onSwitch} onCancel={p.onCancel}>
      <p className="device-label">{p.deviceLabel}</p>
      {fallback ? (
        <div className="notice" role="status">
          <p>
            <strong>{fallback.message}</strong> {fallback.action}
          </p>
          {serial !== null ? (
            <button type="button" className="link" onClick={() => setFallback(null)}>
              Send the challenge to the card again
            </button>
          ) : null}
        </div>
      ) : null}
      <ol className="steps">
        {c.pinOnDevice ? <li>Enter your PIN on the {onCard}.</li> : null}
        {c.kind === 'ibkey' ? <li>Open IB Key, choose Authenticate, and enter this challenge code:</li> : <li>Enter this challenge code on the {onCard}:</li>}
      </ol>
      <output className="challenge" aria-label={`Challenge code: ${spelled(c.challenge)}`}>
        {c.challenge}
      </output>
      <ResponseForm
        label={`${c.pinOnDevice ? 3 : 2}. Enter the response:`}
        alphabet={c.responseAlphabet}
        length={c.responseLength}
        hint={alphabetHint(c.responseAlphabet, c.responseLength)}
        busy={p.busy}
        error={p.error}
        onRespond={p.onRespond}
      />
    </Frame>
  );
}

export function IndexNumbersScreen(p: ChallengeProps<Extract<Challenge, { type: 'index_numbers' }>>) {
  const c = p.challenge;
  const id = useId();
  const [a, b] = c.indexes;
  return (
    <Frame title={DEVICE_CATALOGUE[c.kind].name} titleId={`${id}-t`} canSwitch={p.canSwitch} onSwitch={p.onSwitch} onCancel={p.onCancel}>
      <p className="device-label">{p.deviceLabel}</p>
      <p>Enter the codes at index numbers</p>
      <p className="challenge indexes" aria-label={`index ${a} and index ${b}`}>
        {a} <span className="and">and</span> {b}
      </p>
      <ResponseForm
        label="Codes"
        alphabet="alphanumeric"
        length={6}
        hint="Both codes, no spaces: the code at the first index, then the second."
        busy={p.busy}
        error={p.error}
        onRespond={p.onRespond}
        autoComplete="off"
        extra={
          c.nearlyUsedUp ? (
            <p className="notice warn" role="note">
              This card has {c.unusedCells} unused {c.unusedCells === 1 ? 'cell' : 'cells'} left. Call client services for a new way to log in before it runs out.
            </p>
          ) : null
        }
      />
    </Frame>
  );
}

export function PushScreen(p: ChallengeProps<Extract<Challenge, { type: 'push' }>>) {
  const c = p.challenge;
  const id = useId();
  const now = useNow(1000);
  const [answeredExpired, setAnsweredExpired] = useState(false);
  const left = Date.parse(c.expiresAt) - now;
  const expired = left <= 0 || answeredExpired;
  const { waitForApproval, onApproved, onApprovalError } = p;

  // SPEC L4, L7: wait for the phone's answer for as long as this screen shows this notification.
  // A poll still open when the user moves on is ignored when it returns.
  useEffect(() => {
    let live = true;
    void (async () => {
      while (live) {
        try {
          const r = await waitForApproval();
          if (!live) return;
          if (r.status === 'signed_in') return onApproved(r);
          if (r.status === 'push_expired') return setAnsweredExpired(true);
        } catch (e) {
          if (live) onApprovalError(e);
          return;
        }
      }
    })();
    return () => {
      live = false;
    };
  }, [c, waitForApproval, onApproved, onApprovalError]);
  return (
    <Frame title="IB Key" titleId={`${id}-t`} canSwitch={p.canSwitch} onSwitch={p.onSwitch} onCancel={p.onCancel}>
      <p>
        A notification was sent to <strong>{p.deviceLabel.replace(/^IB Key \((.*)\)$/, '$1')}</strong>. Open it and choose
      </p>
      <p className="challenge match" aria-label={`the number ${c.matchNumber}`}>
        {c.matchNumber}
      </p>
      {expired ? (
        <div className="notice">
          <p>The notification has expired.</p>
          <button type="button" className="primary" onClick={() => p.onSelectAgain('default')} disabled={p.busy}>
            Send a new notification
          </button>
        </div>
      ) : (
        <p className="waiting" role="status">
          <Spinner /> waiting for approval… <span className="countdown" aria-label={`${formatCountdown(left)} left`}>{formatCountdown(left)}</span>
        </p>
      )}
      <ErrorLine error={p.error} />
      <p>
        <button type="button" className="link" onClick={() => p.onSelectAgain('offline')} disabled={p.busy}>
          Didn't receive the notification?
        </button>
      </p>
    </Frame>
  );
}

export function SmsScreen(p: ChallengeProps<Extract<Challenge, { type: 'sms_code' }>>) {
  const c = p.challenge;
  const id = useId();
  const now = useNow(1000);
  const wait = Date.parse(c.resendAvailableAt) - now;
  return (
    <Frame title="SMS code" titleId={`${id}-t`} canSwitch={p.canSwitch} onSwitch={p.onSwitch} onCancel={p.onCancel}>
      <p>
        A code was sent to <strong className="nowrap">{c.maskedNumber}</strong>.
      </p>
      <ResponseForm
        label="Code"
        alphabet="digits"
        length={c.codeLength}
        hint={`${c.codeLength} digits, valid until ${formatNewYorkTime(new Date(c.expiresAt), new Date(now))} (New York time)`}
        busy={p.busy}
        error={p.error}
        onRespond={p.onRespond}
        extra={
          <p>
            <button type="button" className="secondary-button" disabled={wait > 0 || p.busy} onClick={p.onResend}>
              {wait > 0 ? `Resend code (${formatCountdown(wait)})` : 'Resend code'}
            </button>
          </p>
        }
      />
      <p className="hint" role="status">
        {p.status ?? ''}
      </p>
    </Frame>
  );
}

export function PasscodeScreen(p: ChallengeProps<Extract<Challenge, { type: 'passcode' }>>) {
  const c = p.challenge;
  const id = useId();
  return (
    <Frame title="Temporary passcode" titleId={`${id}-t`} canSwitch={p.canSwitch} onSwitch={p.onSwitch} onCancel={p.onCancel}>
      <p>Enter the temporary passcode client services gave you.</p>
      <ResponseForm
        label="Temporary passcode"
        alphabet="digits"
        length={c.codeLength}
        hint={`${c.codeLength} digits. The passcode gives access until ${formatNewYorkTime(new Date(c.validUntil), new Date())} (New York time).`}
        busy={p.busy}
        error={p.error}
        onRespond={p.onRespond}
        autoComplete="off"
      />
    </Frame>
  );
}

export function ChallengeScreen(p: ChallengeProps) {
  const c = p.challenge;
  switch (c.type) {
    case 'response_code':
      return <ResponseCodeScreen {...p} challenge={c} />;
    case 'index_numbers':
      return <IndexNumbersScreen {...p} challenge={c} />;
    case 'push':
      return <PushScreen {...p} challenge={c} />;
    case 'sms_code':
      return <SmsScreen {...p} challenge={c} />;
    case 'passcode':
      return <PasscodeScreen {...p} challenge={c} />;
  }
}
