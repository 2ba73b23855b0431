/**
 * The second-factor screens, one per kind of challenge (SPEC L4): challenge code, index numbers,
 * IB Key notification, SMS code, temporary passcode. Each has "Use another device" (L5).
 */
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import type { Challenge } from '../../core/api.ts';
import { formatCountdown, formatNewYorkTime } from '../../core/contract/messages.ts';
import type { ApprovalView, DscPlusStatus, ErrorText } from '../../core/contract/index.ts';
import { locale } from '../i18n/index.ts';
import { ErrorLine, Spinner, refocus, spelled, toClientError, useAfterFailure, useEscape, useNow } from '../ui.tsx';
import { DscPlusCardPanel, cardLineText } from './DscPlusCard.tsx';
import type { CardLine } from './DscPlusCard.tsx';
import { deviceName } from '../devices.ts';
import { ResponseForm, alphabetHint } from './response-field.tsx';

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
  /** IB Key: one long-poll for the approval (about 25 s; `quick`: no wait); the screen repeats it while shown. */
  waitForApproval(options?: { quick?: boolean }): Promise<ApprovalView>;
  onApproved(view: Extract<ApprovalView, { status: 'signed_in' }>): void;
  onApprovalError(error: unknown): void;
  /** IB Key: a poll answered again after a passing error (slsd briefly unavailable): the error line goes. */
  onApprovalResumed?(): void;
  /** DSC+ (SPEC C2): the serial of this challenge's card while it is plugged in; the card then answers by itself. */
  cardSerial?: string | null;
  /** DSC+ (SPEC C2): a card plugged in that is not this challenge's (another user's, an old one): named, so the user knows why it stays silent. */
  otherCard?: string | null;
  /** Subscribes to the card's live status (`dscplusStatus`); returns the unsubscribe function. */
  onCardStatus?(listener: (status: DscPlusStatus) => void): () => void;
  /** The card blocked after three wrong PINs (SPEC H2): the app offers the other devices. */
  onCardBlocked?(): void;
  /** Under the heading: the polite notice in the login's last minute (SPEC L2–L5, C5). */
  notice?: ReactNode;
}

/**
 * A second-factor screen: its heading, its steps, then "Use another device" (L5) and Cancel.
 *
 * Escape is its Cancel (SPEC C5). When the screen opens, or shows another state (`view`: the card
 * answering, blocked, an expired notification), and no field in it took the focus, the heading
 * takes it, so screen readers announce the screen and Tab starts there, not from <body> (SPEC C5).
 */
function Frame({ title, children, canSwitch, onSwitch, onCancel, titleId, view = '', notice = null }: { title: string; titleId: string; children: ReactNode; canSwitch: boolean; onSwitch(): void; onCancel(): void; view?: string; notice?: ReactNode }) {
  const { t } = useTranslation('challenge');
  const heading = useRef<HTMLHeadingElement>(null);
  useEscape(onCancel);
  useEffect(() => {
    const h = heading.current;
    if (h && !h.closest('main')?.contains(document.activeElement)) h.focus();
  }, [view]);
  return (
    <main className="screen" aria-labelledby={titleId}>
      <h1 id={titleId} ref={heading} tabIndex={-1}>
        {title}
      </h1>
      {notice}
      {children}
      <nav className="secondary" aria-label={t('navLabel')}>
        {canSwitch ? (
          <button type="button" className="link" onClick={onSwitch}>
            {t('useAnotherDevice')}
          </button>
        ) : null}
        <button type="button" className="link" onClick={onCancel}>
          {t('cancel')}
        </button>
      </nav>
    </main>
  );
}

export function ResponseCodeScreen(p: ChallengeProps<Extract<Challenge, { type: 'response_code' }>>) {
  const { t } = useTranslation('challenge');
  const c = p.challenge;
  const id = useId();
  const onCard = c.kind === 'dscplus' || c.kind === 'dsc';
  const title = c.kind === 'ibkey' ? t('responseCode.ibKeyTitle') : deviceName(c.kind);
  // SPEC C2: a plugged-in DSC+ answers by itself; typing is the fallback, with a line saying why.
  const [fallback, setFallback] = useState<CardLine | null>(null);
  const [blocked, setBlocked] = useState(false);
  const serial = c.kind === 'dscplus' && p.onCardStatus ? (p.cardSerial ?? null) : null;
  const answersItself = serial !== null && !fallback && !blocked;
  const was = useRef(serial);
  useEffect(() => {
    // Hot-plug: unplugged while answering → type, saying why; plugged in again → the card answers.
    if (was.current !== null && serial === null) setFallback((f) => f ?? 'disconnected');
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
      setFallback('notAccepted');
      onApprovalError(e);
    },
    [onApprovalError],
  );
  const typeInstead = () => {
    setFallback('typed');
    // The host sends CANCEL to the card and keeps this challenge (mode offline: no USB).
    onSelectAgain('offline');
  };
  if (blocked) {
    return (
      <Frame notice={p.notice} title={title} titleId={`${id}-t`} canSwitch={p.canSwitch} onSwitch={p.onSwitch} onCancel={p.onCancel} view="blocked">
        <p className="device-label">{p.deviceLabel}</p>
        <ErrorLine error={cardLineText(t, 'blocked')} />
      </Frame>
    );
  }
  if (answersItself && serial !== null && p.onCardStatus) {
    return (
      <Frame notice={p.notice} title={title} titleId={`${id}-t`} canSwitch={p.canSwitch} onSwitch={p.onSwitch} onCancel={p.onCancel} view="card">
        <p className="device-label">{t('responseCode.connected', { device: p.deviceLabel })}</p>
        <DscPlusCardPanel
          serial={serial}
          waitForCard={p.waitForApproval}
          onCardStatus={p.onCardStatus}
          onSignedIn={p.onApproved}
          onFallback={setFallback}
          onBlocked={cardBlocked}
          onError={cardError}
        />
        <p className="hint">{t('responseCode.cardShows')}</p>
        <output className="challenge" aria-label={t('responseCode.challengeLabel', { code: spelled(c.challenge) })}>
          {c.challenge}
        </output>
        <ErrorLine error={p.error} />
        <p>
          <button type="button" className="link" onClick={typeInstead}>
            {t('responseCode.typeInstead')}
          </button>
        </p>
      </Frame>
    );
  }
  return (
    <Frame notice={p.notice} title={title} titleId={`${id}-t`} canSwitch={p.canSwitch} onSwitch={p.onSwitch} onCancel={p.onCancel} view="typing">
      <p className="device-label">{p.deviceLabel}</p>
      {fallback ? (
        <div className="notice" role="status">
          <p>
            <strong>{t(`card.${fallback}.message`)}</strong> {t(`card.${fallback}.action`)}
          </p>
          {serial !== null ? (
            <button type="button" className="link" onClick={() => setFallback(null)}>
              {t('responseCode.sendAgain')}
            </button>
          ) : null}
        </div>
      ) : null}
      {p.otherCard && serial === null && c.kind === 'dscplus' ? (
        <p className="notice" role="note">
          {t('responseCode.otherCard', { other: `…${p.otherCard.slice(-4)}`, device: p.deviceLabel })}
        </p>
      ) : null}
      <ol className="steps">
        {c.pinOnDevice ? <li>{onCard ? t('responseCode.pinOnCard') : t('responseCode.pinOnDevice')}</li> : null}
        <li>{c.kind === 'ibkey' ? t('responseCode.ibKeyStep') : onCard ? t('responseCode.codeOnCard') : t('responseCode.codeOnDevice')}</li>
      </ol>
      <output className="challenge" aria-label={t('responseCode.challengeLabel', { code: spelled(c.challenge) })}>
        {c.challenge}
      </output>
      <ResponseForm
        label={t('responseCode.responseLabel', { step: c.pinOnDevice ? 3 : 2 })}
        alphabet={c.responseAlphabet}
        length={c.responseLength}
        hint={alphabetHint(t, c.responseAlphabet, c.responseLength)}
        busy={p.busy}
        error={p.error}
        onRespond={p.onRespond}
      />
    </Frame>
  );
}

export function IndexNumbersScreen(p: ChallengeProps<Extract<Challenge, { type: 'index_numbers' }>>) {
  const { t } = useTranslation('challenge');
  const c = p.challenge;
  const id = useId();
  const [first, second] = c.indexes;
  return (
    <Frame notice={p.notice} title={deviceName(c.kind)} titleId={`${id}-t`} canSwitch={p.canSwitch} onSwitch={p.onSwitch} onCancel={p.onCancel}>
      <p className="device-label">{p.deviceLabel}</p>
      <p>{t('indexNumbers.intro')}</p>
      <p className="challenge indexes" aria-label={t('indexNumbers.pairLabel', { first, second })}>
        <Trans t={t} i18nKey="indexNumbers.pair" values={{ first, second }} components={{ and: <span className="and" /> }} />
      </p>
      <ResponseForm
        label={t('indexNumbers.label')}
        alphabet="alphanumeric"
        length={6}
        hint={t('indexNumbers.hint')}
        busy={p.busy}
        error={p.error}
        onRespond={p.onRespond}
        autoComplete="off"
        extra={
          c.nearlyUsedUp ? (
            <p className="notice warn" role="note">
              {t('indexNumbers.nearlyUsedUp', { count: c.unusedCells })}
            </p>
          ) : null
        }
      />
    </Frame>
  );
}

/**
 * How long to wait before asking again after an error that passes (slsd briefly unavailable, or out
 * of reach): its `retryAt`, kept within 1–10 s; null for an error that ends the wait.
 */
export function passingErrorWaitMs(e: unknown, now = Date.now()): number | null {
  const error = toClientError(e);
  if (error.code !== 'SLS_ERR_SERVICE_UNAVAILABLE' && error.code !== 'SLS_ERR_SERVER_UNREACHABLE') return null;
  const at = error.retryAt ? Date.parse(error.retryAt) : NaN;
  return Number.isNaN(at) ? 2000 : Math.min(10_000, Math.max(1000, at - now));
}

export function PushScreen(p: ChallengeProps<Extract<Challenge, { type: 'push' }>>) {
  const { t } = useTranslation('challenge');
  const c = p.challenge;
  const id = useId();
  const now = useNow(1000);
  const [answeredExpired, setAnsweredExpired] = useState(false);
  const left = Date.parse(c.expiresAt) - now;
  const expired = left <= 0 || answeredExpired;
  const { waitForApproval, onApproved, onApprovalError, onApprovalResumed } = p;

  // SPEC L4, L7: wait for the phone's answer for as long as this screen shows this notification.
  // A poll still open when the user moves on is ignored when it returns. slsd briefly unavailable
  // (a database failover) or out of reach does not end the wait: the screen says so and asks again
  // a moment later, so an approval given meanwhile still signs in.
  useEffect(() => {
    let live = true;
    let failing = false;
    void (async () => {
      while (live) {
        try {
          // After a passing error, a quick poll first: the notice goes as soon as slsd answers again.
          const r = await waitForApproval(failing ? { quick: true } : {});
          if (!live) return;
          if (failing) {
            failing = false;
            onApprovalResumed?.();
          }
          if (r.status === 'signed_in') return onApproved(r);
          if (r.status === 'push_expired') return setAnsweredExpired(true);
        } catch (e) {
          if (!live) return;
          onApprovalError(e);
          const wait = passingErrorWaitMs(e);
          if (wait === null) return;
          failing = true;
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
    })();
    return () => {
      live = false;
    };
  }, [c, waitForApproval, onApproved, onApprovalError, onApprovalResumed]);
  // Expired (SPEC C5): "Send a new notification" takes the focus unless the user is on another control.
  const sendNew = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const at = document.activeElement;
    if (expired && (!at || at === document.body || at.tagName === 'H1')) sendNew.current?.focus();
  }, [expired]);
  // "Send a new notification" and "Didn't receive the notification?" are disabled while they wait:
  // when the step fails and this screen stays, the focus goes back to the one pressed (SPEC C5), not
  // to <body>, so Enter tries again and Tab goes on from there.
  const pressed = useRef<HTMLButtonElement | null>(null);
  useAfterFailure(p.busy, p.error !== null, () => refocus(pressed.current));
  const selectAgain = (mode: 'default' | 'offline', button: HTMLButtonElement) => {
    pressed.current = button;
    p.onSelectAgain(mode);
  };
  // UI.md screen 5 names the phone ("iPhone of Jane"); an IB Key labelled without one, the app.
  const app = deviceName('ibkey');
  const label = p.deviceLabel;
  const phone = label.startsWith(`${app} (`) && label.endsWith(')') ? label.slice(app.length + 2, -1) : label === app ? '' : label;
  return (
    <Frame notice={p.notice} title={t('push.title')} titleId={`${id}-t`} canSwitch={p.canSwitch} onSwitch={p.onSwitch} onCancel={p.onCancel} view={expired ? 'expired' : 'waiting'}>
      {/* SPEC L7: the number belongs to this notification only. Once it expired it goes, with the
          sentence asking for it, so nobody matches it against the next one, which has another. */}
      {expired ? null : (
        <>
          <p>
            {phone ? (
              <Trans t={t} i18nKey="push.sent" values={{ device: phone }} components={{ strong: <strong /> }} />
            ) : (
              <Trans t={t} i18nKey="push.sentApp" components={{ strong: <strong /> }} />
            )}
          </p>
          <p className="challenge match" aria-label={t('push.numberLabel', { number: c.matchNumber })}>
            {c.matchNumber}
          </p>
        </>
      )}
      {expired ? (
        <div className="notice">
          <p id={`${id}-x`}>{t('push.expired')}</p>
          <button ref={sendNew} type="button" className="primary" aria-describedby={`${id}-x`} onClick={(e) => selectAgain('default', e.currentTarget)} disabled={p.busy}>
            {t('push.sendNew')}
          </button>
        </div>
      ) : (
        <p className="waiting" role="status">
          <Spinner /> {t('push.waiting')}{' '}
          <span className="countdown" aria-label={t('push.timeLeft', { countdown: formatCountdown(left) })}>
            {formatCountdown(left)}
          </span>
        </p>
      )}
      <ErrorLine error={p.error} />
      <p>
        <button type="button" className="link" onClick={(e) => selectAgain('offline', e.currentTarget)} disabled={p.busy}>
          {t('push.notReceived')}
        </button>
      </p>
    </Frame>
  );
}

export function SmsScreen(p: ChallengeProps<Extract<Challenge, { type: 'sms_code' }>>) {
  const { t } = useTranslation('challenge');
  const c = p.challenge;
  const id = useId();
  const now = useNow(1000);
  const wait = Date.parse(c.resendAvailableAt) - now;
  return (
    <Frame notice={p.notice} title={t('sms.title')} titleId={`${id}-t`} canSwitch={p.canSwitch} onSwitch={p.onSwitch} onCancel={p.onCancel}>
      <p>
        <Trans t={t} i18nKey="sms.sent" values={{ number: c.maskedNumber }} components={{ strong: <strong className="nowrap" /> }} />
      </p>
      <ResponseForm
        label={t('sms.label')}
        alphabet="digits"
        length={c.codeLength}
        hint={t('sms.hint', { length: c.codeLength, when: formatNewYorkTime(new Date(c.expiresAt), new Date(now), locale()) })}
        busy={p.busy}
        error={p.error}
        onRespond={p.onRespond}
        extra={
          <p>
            <button type="button" className="secondary-button" disabled={wait > 0 || p.busy} onClick={p.onResend}>
              {wait > 0 ? t('sms.resendIn', { countdown: formatCountdown(wait) }) : t('sms.resend')}
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
  const { t } = useTranslation('challenge');
  const c = p.challenge;
  const id = useId();
  return (
    <Frame notice={p.notice} title={t('passcode.title')} titleId={`${id}-t`} canSwitch={p.canSwitch} onSwitch={p.onSwitch} onCancel={p.onCancel}>
      <p>{t('passcode.intro')}</p>
      <ResponseForm
        label={t('passcode.label')}
        alphabet="digits"
        length={c.codeLength}
        hint={t('passcode.hint', { length: c.codeLength, when: formatNewYorkTime(new Date(c.validUntil), new Date(), locale()) })}
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
