/**
 * Account security (SPEC C1, C6): withdraw funds with the confirming device's limits shown (W1–W4),
 * devices (D1, D6–D8, T3: order, activate, report lost or broken, return, cancel an order), the
 * online Security Code Card of a temporary passcode (T1, T2), share a device (S1–S6), SLS opt-out/opt-in (O1–O3), mobile number (P1–P5).
 *
 * These are portal functions: slsd allows them only with a session opened with a second factor (C6).
 * A trading session without one (an opted-out user, O1; an auto-restart, L8) first goes through
 * "Verify it's you": a Client Portal login of the same user that the host holds for these screens.
 *
 * Every rule is slsd's: this screen shows what the host returns and slsd's own messages ("Less
 * secure device", "Use your Digital Security Card+ …", "Only Jane Doe (jane) …").
 */
import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import type { ConfirmationChallenge, DevicesOverview, MobileNumberStatus, OnlineCard, OptOutStatus, SharingView, WithdrawalOverview, WithdrawalResponse } from '../../core/account-api.ts';
import type { ClientError, DscPlusStatus, ErrorText, LoginStepView, OfferedFile, SessionView, SlsApi } from '../../core/contract/index.ts';
import { ContractError, formatNewYorkTime } from '../../core/contract/messages.ts';
import { CALL_NAMES } from '../../core/contract/names.ts';
import { locale } from '../i18n/index.ts';
import { describeConfirmationError, describeMobileCodeError, describeWithdrawalSwitched, endsConfirmation } from '../messages.ts';
import { formatUsd, parseUsd } from '../money.ts';
import { BusyButton, ErrorLine, Spinner, refocus, toClientError, useAction, useAfterFailure, useLatest, useTimeLeft } from '../ui.tsx';
import type { FocusTarget, Notice } from '../ui.tsx';
import { deviceLabel, deviceToSwitchTo } from '../devices.ts';
import { ResponseForm, expectedResponse } from './response-field.tsx';
import { ConfirmBox, escapeTo } from './confirm-box.tsx';
import { SharingList, dropChallenge, holdChallenge, holdsSharing, requestInProgress, resumableChallenge } from './SharingList.tsx';
import type { StartedSharing } from './SharingList.tsx';

type Section = 'withdraw' | 'devices' | 'share' | 'sls' | 'mobile' | 'card';
/** The tabs, in order; each is named by `sections.<key>` in the catalogue. */
const SECTIONS: readonly Section[] = ['withdraw', 'devices', 'share', 'sls', 'mobile'];
/** SPEC T1, T2: shown to a user signed in with a temporary passcode (or its online card). */
const CARD_SECTION: Section = 'card';

/** A time the Account screens show: New York time, the broker's clock, as every other screen writes it (UI.md, i18n README). */
const nyTime = (iso: string) => formatNewYorkTime(new Date(iso), new Date(), locale());

/**
 * A confirmation's errors in its own words (SPEC L6: its 3 wrong responses, not a login's), and the
 * step given up when it can no longer be answered (`onEnded`: ended, expired, used), the error
 * staying on screen. `onEnded` must be stable.
 *
 * One step at a time (`oneAtATime`): a response submitted twice before the form re-rendered goes
 * once (SPEC L6: a sharing's wrong response counts towards the owner's lock; W4: a withdrawal is
 * confirmed once). The panel leaves (`usePanelAction`'s `leave`) when it goes and when the user
 * leaves the challenge: an answer that comes back after that shows no error (SPEC C5, C6).
 */
function useConfirmationAction(onEnded: () => void) {
  const ended = useCallback(
    (e: ClientError) => {
      if (endsConfirmation(e)) onEnded();
      return false;
    },
    [onEnded],
  );
  return usePanelAction(ended, describeConfirmationError);
}

/**
 * `useAction` for a panel of these screens (SPEC C5, C6): one step at a time (`oneAtATime`: a step
 * sent twice by two submits before the panel re-rendered goes once: a wrong response would count
 * twice, L6; a code would be sent twice, P1), and what is on its way is dropped when the panel goes
 * (another tab, Back, "Verify it's you" left): its answer, coming later, shows no error on the screen
 * the user went to and moves nothing there (a device reported that signed the user out, D8; a step of
 * a Client Portal login, C6).
 */
function usePanelAction(onEnded?: (error: ClientError) => boolean, describe?: (error: ClientError) => ErrorText) {
  const action = useAction(onEnded, describe, { oneAtATime: true });
  const { leave } = action;
  useEffect(() => leave, [leave]);
  return action;
}

/** Whether the panel is still shown: what a late answer does on its own (`lateSuccess`) is for it alone. */
function useShown(): { readonly current: boolean } {
  const shown = useRef(true);
  useEffect(() => {
    shown.current = true;
    return () => {
      shown.current = false;
    };
  }, []);
  return shown;
}

/**
 * A step for `useAction`'s `run` whose success stays true however late it comes (SPEC W4: a
 * withdrawal confirmed is paid; D6: a device activated is active; S3: a request verified). Its answer
 * goes to `run` as it is; when it succeeds after the user left the step (`live` false: Cancel, another
 * serial, Start over, or the panel gone), `late` gets it too, to bring what the panel shows up to
 * date quietly (no error: a late refusal is dropped by `run`). `late` checks the panel is still shown.
 */
function lateSuccess<T>(call: () => Promise<T>, live: () => boolean, late: (value: T) => void): Promise<T> {
  return call().then((value) => {
    if (!live()) late(value);
    return value;
  });
}

/**
 * Where the focus goes when a panel's step fails and the panel stays (SPEC C5, `refocus`): the
 * button that sent it was disabled while it waited, which dropped the focus to <body>. Each step
 * says, as it is sent, what to come back to: the field to correct (`select`: its text selected) or
 * the button pressed (`pressedNow`); null for a step that sees to its own focus (a challenge's
 * response, ResponseForm) or that nobody pressed (a reload).
 */
function useFocusAfterFailure(busy: boolean, error: ErrorText | null) {
  const to = useRef<{ target: FocusTarget; select: boolean } | null>(null);
  useAfterFailure(busy, error !== null, () => to.current !== null && refocus(to.current.target, { select: to.current.select }));
  return useCallback((target: FocusTarget | null, { select = false }: { select?: boolean } = {}) => {
    to.current = target ? { target, select } : null;
  }, []);
}

/** The control a step is sent from, as it is sent: the button pressed (Enter or a click), or the field Enter was pressed in. */
function pressedNow(): HTMLElement | null {
  const at = document.activeElement;
  return at instanceof HTMLElement && at !== document.body ? at : null;
}

/**
 * What to type for a challenge (the code to enter on the device, or the two index numbers) and the
 * login's response field (response-field.tsx): the device's alphabet and length, a short code refused
 * here with no attempt spent (SPEC L4, L6). The field takes the focus and comes into view (UI.md:
 * one window of about 420×560); the error of the last answer shows under it.
 */
function ChallengeBox({ c, onSubmit, busy, error, label }: { c: ConfirmationChallenge; onSubmit(response: string): void; busy: boolean; error: ErrorText | null; label: string }) {
  const { t } = useTranslation('account');
  const { t: tc } = useTranslation('challenge');
  const ch = c.challenge;
  let prompt: ReactNode;
  if (ch.type === 'response_code') {
    prompt = (
      <p>
        {ch.pinOnDevice ? t('challenge.pinThenCode') : t('challenge.codeOnDevice')}{' '}
        <output className="challenge" aria-label={t('challenge.codeLabel')}>
          {ch.challenge}
        </output>
      </p>
    );
  } else if (ch.type === 'index_numbers') {
    prompt = (
      <p>
        <Trans t={t} i18nKey="challenge.indexNumbers" values={{ first: ch.indexes[0], second: ch.indexes[1] }} components={{ strong: <strong className="index-numbers" /> }} />
      </p>
    );
  } else if (ch.type === 'sms_code') {
    prompt = <p>{t('challenge.sms', { number: ch.maskedNumber })}</p>;
  } else if (ch.type === 'passcode') {
    prompt = <p>{t('challenge.passcode')}</p>;
  } else {
    prompt = <p>{t('challenge.ibKey')}</p>;
  }
  const expected = expectedResponse(tc, ch);
  return (
    <>
      {prompt}
      <ResponseForm
        label={t('challenge.response')}
        name="confirm-response"
        alphabet={expected.alphabet}
        length={expected.length}
        hint={expected.hint}
        busy={busy}
        error={error}
        submitLabel={label}
        autoComplete={ch.type === 'index_numbers' ? 'off' : 'one-time-code'}
        onRespond={onSubmit}
      />
    </>
  );
}

/**
 * The card's codes when it cannot answer a confirmation (electron/host/dscplus-login.ts), each with
 * its wording in `cardFallback.<key>`. The code is kept, not the words, so they follow the language.
 */
const CARD_FALLBACK = {
  /** Not the host's: the user chose "Type the response instead" (the host's CANCEL answers as the card's). */
  SLS_CARD_TYPED: 'typed',
  SLS_ERR_DSCPLUS_DISCONNECTED: 'disconnected',
  SLS_ERR_DSCPLUS_CANCELLED: 'cancelled',
  SLS_ERR_DSCPLUS_TIMEOUT: 'timeout',
  SLS_ERR_DSCPLUS_FAILED: 'failed',
  SLS_ERR_DSCPLUS_BLOCKED: 'blocked',
} as const;
type CardFallbackCode = keyof typeof CARD_FALLBACK;
const isCardFallbackCode = (code: string): code is CardFallbackCode => Object.hasOwn(CARD_FALLBACK, code);

/**
 * A plugged-in DSC+ answers a portal confirmation (SPEC C2, H2): the host sends the challenge to the
 * card, the PIN is typed on the card, and the response goes from the host to slsd. Without the card
 * (or when the user would rather type) `onFallback` hands over to the typed response.
 */
function CardConfirmation<T>({
  api,
  challenge,
  answer,
  onDone,
  onFallback,
  onError,
}: {
  api: SlsApi;
  /** The challenge code the card shows, to compare (as the login's card screen shows it, UI.md screen 3). */
  challenge: string;
  answer(): Promise<T>;
  onDone(value: T): void;
  onFallback(reason: CardFallbackCode | null): void;
  onError(e: unknown): void;
}) {
  const { t } = useTranslation('account');
  const [status, setStatus] = useState<DscPlusStatus | null>(null);
  const [triesLeft, setTriesLeft] = useState<number | undefined>(undefined);
  // SPEC H2: a wrong PIN stays said (with the tries left) while the card asks again, until it answers.
  const [wrongPin, setWrongPin] = useState(false);
  // The user chose to type: the host's CANCEL comes back as the card's, and is not the card's doing.
  const typing = useRef(false);
  // One answer from the card per confirmation: a re-render with new callbacks never asks the card again.
  const on = useLatest({ onDone, onFallback, onError });
  useEffect(() => {
    let live = true;
    let heard = false;
    const off = api.on('dscplusStatus', (st) => {
      if (!live) return;
      heard = true;
      setStatus(st);
      if (st.pinTriesLeft !== undefined) setTriesLeft(st.pinTriesLeft);
      if (st.state === 'wrong_pin') setWrongPin(true);
      else if (st.state === 'response_received') setWrongPin(false);
    });
    answer().then(
      (v) => live && on.current.onDone(v),
      (e: unknown) => {
        if (!live) return;
        const code = e instanceof ContractError ? e.error.code : '';
        // Not plugged in at all: straight to typing, nothing went wrong.
        if (code === 'SLS_ERR_DSCPLUS_DISCONNECTED' && !heard) on.current.onFallback(null);
        else if (code === 'SLS_ERR_DSCPLUS_CANCELLED' && typing.current) on.current.onFallback('SLS_CARD_TYPED');
        else if (isCardFallbackCode(code)) on.current.onFallback(code);
        else on.current.onError(e);
      },
    );
    return () => {
      live = false;
      off();
    };
  }, [api, answer, on]);
  const state = status?.state;
  // SPEC C5: the card waits for the PIN a limited time (its RESPOND timeout): the time left, counting down.
  const left = useTimeLeft(state === 'waiting_for_pin' ? status?.pinTimeoutAt : undefined);
  const line = state === 'response_received' ? t('card.responseReceived') : state === 'waiting_for_pin' || state === 'wrong_pin' ? t('card.waitingForPin') : t('card.sending');
  // The step in view (UI.md: one window of about 420×560); its only control, typing instead, has the focus.
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // A statement, not the arrow's value: scrollIntoView may return a promise, which React would take for a cleanup.
    box.current?.scrollIntoView({ block: 'nearest' });
  }, []);
  return (
    <div className="dscplus-card" ref={box}>
      <ol className="steps">
        <li>{triesLeft === undefined ? t('card.enterPin') : t('card.enterPinTries', { count: triesLeft })}</li>
      </ol>
      {wrongPin && state !== 'response_received' ? (
        <p className="error" role="alert">
          {triesLeft === undefined ? (
            <Trans t={t} i18nKey="card.wrongPin" components={{ strong: <strong /> }} />
          ) : (
            <Trans t={t} i18nKey="card.wrongPinTries" count={triesLeft} values={{ count: triesLeft }} components={{ strong: <strong /> }} />
          )}
        </p>
      ) : null}
      <p className="waiting" role="status">
        <Spinner /> {line}
      </p>
      {/* Outside the live region: a screen reader is not told every second. */}
      {left ? <p className="hint time-left">{t('card.pinTimeLeft', { left })}</p> : null}
      <p className="hint">{t('card.cardShows')}</p>
      <output className="challenge" aria-label={t('challenge.codeLabel')}>
        {challenge}
      </output>
      <p>
        <button
          type="button"
          className="link"
          onClick={() => {
            typing.current = true;
            void api.cancelCardConfirmation().catch(() => {});
          }}
          autoFocus
        >
          {t('card.typeInstead')}
        </button>
      </p>
    </div>
  );
}

/** SPEC C2: a confirmation a plugged-in DSC+ answers first (PIN on the card); typing is the fallback. */
function useCardFirst(api: SlsApi, setError: (e: ErrorText | null) => void) {
  const [onCard, setOnCard] = useState(false);
  const [cardLine, setCardLine] = useState<CardFallbackCode | null>(null);
  // Hot-plug (SPEC C2, UI.md screen 3): unplugged mid-way, typing took over; plugged in again, the card
  // answers again, as at login. (A card that is not this confirmation's answers SLS_ERR_DSCPLUS_DISCONNECTED
  // at once, and typing stays, saying so.)
  useEffect(() => {
    if (cardLine !== 'SLS_ERR_DSCPLUS_DISCONNECTED') return;
    return api.on('dscplusAttached', () => {
      setCardLine(null);
      setOnCard(true);
    });
  }, [api, cardLine]);
  /** A new challenge: to the card if it is a DSC+'s. */
  const begin = useCallback((c: ConfirmationChallenge) => {
    setCardLine(null);
    setOnCard(isCardChallenge(c));
  }, []);
  const fallback = useCallback((reason: CardFallbackCode | null) => {
    setOnCard(false);
    setCardLine(reason);
  }, []);
  const failed = useCallback(
    (e: unknown) => {
      setOnCard(false);
      setError(describeConfirmationError(toClientError(e)));
    },
    [setError],
  );
  const again = useCallback(() => {
    setCardLine(null);
    setOnCard(true);
  }, []);
  return { onCard, setOnCard, cardLine, begin, fallback, failed, again };
}

const isCardChallenge = (c: ConfirmationChallenge) => c.challenge.type === 'response_code' && c.challenge.kind === 'dscplus';
/** The code a card's challenge shows (a DSC+'s is a response-code challenge: `isCardChallenge`). */
const cardCode = (c: ConfirmationChallenge) => (c.challenge.type === 'response_code' ? c.challenge.challenge : '');

/** The typed response after the card gave way: why (if it did), the challenge box, and sending it to the card again. */
function TypedAfterCard({ c, line, onAgain, children }: { c: ConfirmationChallenge; line: CardFallbackCode | null; onAgain(): void; children: ReactNode }) {
  const { t } = useTranslation('account');
  const text: ErrorText | null = line ? { message: t(`cardFallback.${CARD_FALLBACK[line]}.message`), action: t(`cardFallback.${CARD_FALLBACK[line]}.action`) } : null;
  return (
    <>
      {text ? (
        <p className="notice" role="status">
          {text.message} {text.action}
        </p>
      ) : null}
      {/* SPEC H2: a blocked card answers nothing, typed or not: no field for its response. */}
      {line === 'SLS_ERR_DSCPLUS_BLOCKED' ? null : children}
      {line && isCardChallenge(c) && line !== 'SLS_ERR_DSCPLUS_BLOCKED' ? (
        <p>
          <button type="button" className="link" onClick={onAgain}>
            {t('card.sendAgain')}
          </button>
        </p>
      ) : null}
    </>
  );
}

/**
 * A device label in a narrow table cell: it wraps between words only, never inside one ("Gold-Gerät
 * (…6507)" breaks at the space, not after "Gold-" or "(…"), so the label stays readable at 420 px.
 */
function WordsKeptWhole({ text }: { text: string }) {
  const words = text.split(' ');
  return (
    <>
      {words.map((w, i) => (
        <span key={i}>
          <span className="nowrap">{w}</span>
          {i < words.length - 1 ? ' ' : null}
        </span>
      ))}
    </>
  );
}

function WithdrawPanel({ api }: { api: SlsApi }) {
  const { t } = useTranslation('account');
  const id = useId();
  const [overview, setOverview] = useState<WithdrawalOverview | null>(null);
  const [amount, setAmount] = useState('');
  const [deviceId, setDeviceId] = useState('');
  const [pending, setPending] = useState<{ c: ConfirmationChallenge; amountCents: number } | null>(null);
  const [done, setDone] = useState<{ amount: string; device: string } | null>(null);
  // Where the focus goes when the challenge is left: the amount (Cancel) or the device (Use another device).
  const amountField = useRef<HTMLInputElement>(null);
  const deviceField = useRef<HTMLSelectElement>(null);
  const continueButton = useRef<HTMLButtonElement>(null);
  // A device switched for the user (W2): its line, under Continue, is brought fully into view (UI.md: 420×560).
  const revealError = useRef(false);
  const returnTo = useRef<'amount' | 'amount-selected' | 'device' | 'continue' | null>(null);
  // SPEC L6: a confirmation that can no longer be answered (3 wrong responses, expired) is given up:
  // back to the form, amount kept, the error said; Continue asks for a new challenge.
  const endConfirmation = useCallback(() => {
    returnTo.current = 'amount';
    setPending(null);
  }, []);
  const { busy, error, run, setError, leave: drop } = useConfirmationAction(endConfirmation);
  const shown = useShown();
  // SPEC C2: a DSC+ challenge goes to the card first; typing is the fallback.
  const { onCard, setOnCard, cardLine, begin, fallback: cardFallback, failed: cardError, again } = useCardFirst(api, setError);
  // An amount refused (a limit passed, W2): the amount again, selected, to correct or type over.
  const backTo = useFocusAfterFailure(busy, error);
  useEffect(() => {
    if (pending || !returnTo.current) return;
    const to = returnTo.current;
    returnTo.current = null;
    if (to === 'continue') continueButton.current?.focus();
    else (to === 'device' ? deviceField : amountField).current?.focus();
    if (to === 'amount-selected') amountField.current?.select();
  }, [pending]);

  const load = useCallback(async () => {
    backTo(null);
    const o = await run(() => api.getWithdrawals());
    if (o) {
      setOverview(o);
      setDeviceId((d) => d || o.devices[0]?.deviceId || '');
    }
  }, [api, run, backTo]);
  useEffect(() => {
    void load();
  }, [load]);
  // After a refusal over a limit the table is read again, quietly (the refusal's line stays): what is
  // left may have changed since it was read, by a withdrawal elsewhere (W2).
  const refreshLimits = useCallback(() => void api.getWithdrawals().then(setOverview, () => {}), [api]);

  const start = async (e: FormEvent) => {
    e.preventDefault();
    setDone(null);
    const amountCents = parseUsd(amount);
    if (amountCents === null) {
      setError({ message: t('withdraw.invalidAmount'), action: '' });
      return;
    }
    backTo(amountField.current, { select: true });
    // SPEC W2: refused over this device's limit, slsd names a device of the user's that would allow the
    // amount: chosen here for the user, the amount kept, the focus on Continue (C5: Enter goes on with it).
    let switched: { error: ClientError; label: string } | null = null;
    const c = await run((live) =>
      api.startWithdrawal({ deviceId, amountCents }).catch((e: unknown) => {
        // The panel gone meanwhile: nothing is switched for the user (SPEC C5).
        if (!live()) throw e;
        const error = toClientError(e);
        const to = deviceToSwitchTo(error, overview?.devices ?? [], deviceId);
        if (to) {
          switched = { error, label: deviceLabel(to.label, to.kind) };
          setDeviceId(to.deviceId);
          backTo(continueButton.current);
        }
        throw e;
      }),
    );
    if (c) {
      setPending({ c, amountCents });
      begin(c);
    } else if (switched) {
      refreshLimits();
      // Said plainly: the drop-down changed under the user's hand (the refusal's own words would only say "Use your …").
      const { error, label } = switched;
      revealError.current = true;
      setError(describeWithdrawalSwitched(error, label));
    }
  };
  useEffect(() => {
    if (!error || !revealError.current) return;
    revealError.current = false;
    document.getElementById(`${id}-e`)?.scrollIntoView({ block: 'nearest' });
  }, [error, id]);
  const confirmed = useCallback(
    (r: WithdrawalResponse) => {
      setPending(null);
      setOnCard(false);
      setDone({ amount: formatUsd(r.withdrawal.amountCents), device: deviceLabel(r.withdrawal.confirmedWith.label, r.withdrawal.confirmedWith.kind) });
      setAmount('');
      returnTo.current = 'amount';
      void load();
    },
    [load, setOnCard],
  );
  const answerOnCard = useCallback(
    () => (pending ? api.confirmWithdrawalOnCard({ confirmationId: pending.c.confirmationId, amountCents: pending.amountCents }) : Promise.reject(new Error('no confirmation'))),
    [api, pending],
  );
  /** A limit as formatUsd() writes it; no limit in the language's word (W1). */
  const limit = (cents: number | null) => (cents === null ? t('withdraw.unlimited') : formatUsd(cents, { wrap: true }));
  /**
   * SPEC W2 at the last step: the response was right, but the amount no longer fits the device's limit
   * (another withdrawal meanwhile, in another window or on the Client Portal). The challenge is left,
   * the amount kept, and as at the first step the device slsd names as allowing it is chosen for the
   * user, said so, the focus on Continue; with none, the amount is selected to correct. True if it was that.
   */
  const refusedAtConfirm = useCallback(
    (e: unknown): boolean => {
      const error = toClientError(e);
      if (error.code !== 'SLS_ERR_WITHDRAWAL_LIMIT') return false;
      const to = deviceToSwitchTo(error, overview?.devices ?? [], deviceId);
      setOnCard(false);
      setPending(null);
      refreshLimits();
      if (to) {
        setDeviceId(to.deviceId);
        returnTo.current = 'continue';
        revealError.current = true;
        setError(describeWithdrawalSwitched(error, deviceLabel(to.label, to.kind)));
      } else {
        returnTo.current = 'amount-selected';
        setError(describeConfirmationError(error));
      }
      return true;
    },
    [overview, deviceId, setOnCard, setError, refreshLimits],
  );
  const onCardError = useCallback((e: unknown) => void (refusedAtConfirm(e) || cardError(e)), [refusedAtConfirm, cardError]);
  /**
   * SPEC W4: a response sent before the user left the challenge (Cancel, another device) that slsd
   * then took: the withdrawal is made, so the panel says so and reads the limits again, quietly; the
   * form, and what is typed in it, stay as they are.
   */
  const confirmedLate = useCallback(
    (r: WithdrawalResponse) => {
      if (!shown.current) return;
      setDone({ amount: formatUsd(r.withdrawal.amountCents), device: deviceLabel(r.withdrawal.confirmedWith.label, r.withdrawal.confirmedWith.kind) });
      refreshLimits();
    },
    [shown, refreshLimits],
  );
  const confirm = async (response: string) => {
    if (!pending) return;
    backTo(null);
    let refused: unknown = null;
    let stillOn = () => false;
    const input = { confirmationId: pending.c.confirmationId, amountCents: pending.amountCents, response };
    const r = await run((live) => {
      stillOn = live;
      return lateSuccess(() => api.confirmWithdrawal(input), live, confirmedLate).catch((e: unknown) => {
        refused = e;
        throw e;
      });
    });
    if (r) confirmed(r);
    // A refusal of a challenge the user left is not this form's (SPEC C5): nothing switched, nothing said.
    else if (refused !== null && stillOn()) refusedAtConfirm(refused);
  };
  /** Leave the challenge: nothing is withdrawn; the form comes back as it was. A response on its way is no longer waited for (`drop`). */
  const leave = (to: 'amount' | 'device') => {
    if (onCard) void api.cancelCardConfirmation().catch(() => {});
    setOnCard(false);
    setPending(null);
    drop();
    returnTo.current = to;
  };
  // SPEC W1, L5: another device only where there is one to choose.
  const canSwitch = (overview?.devices.length ?? 0) > 1;

  return (
    <section aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>{t('withdraw.title')}</h2>
      <p className="hint">{t('withdraw.hint')}</p>
      {overview ? (
        <table className="limits">
          <caption>{t('withdraw.limitsCaption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('withdraw.colDevice')}</th>
              <th scope="col">{t('withdraw.colPerDay')}</th>
              <th scope="col">{t('withdraw.colFiveDays')}</th>
              <th scope="col">{t('withdraw.colAvailable')}</th>
            </tr>
          </thead>
          <tbody>
            {overview.devices.map((d) => (
              <tr key={d.deviceId}>
                <th scope="row">
                  <WordsKeptWhole text={deviceLabel(d.label, d.kind)} />
                </th>
                <td>{limit(d.perDayCents)}</td>
                <td>{limit(d.perFiveBusinessDaysCents)}</td>
                <td>{limit(d.availableNowCents)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {/* Above the form, next to the amount field that takes the focus: in view in the small window (UI.md). */}
      {done && !pending ? (
        <p role="status" className="info">
          {t('withdraw.done', done)}
        </p>
      ) : null}
      {pending ? (
        <div onKeyDown={escapeTo(() => leave('amount'))}>
          <p className="amount-pending" role="status">
            {t('withdraw.pending', { amount: formatUsd(pending.amountCents) })}
          </p>
          {onCard ? (
            <CardConfirmation key={pending.c.confirmationId} api={api} challenge={cardCode(pending.c)} answer={answerOnCard} onDone={confirmed} onFallback={cardFallback} onError={onCardError} />
          ) : (
            <TypedAfterCard c={pending.c} line={cardLine} onAgain={again}>
              <ChallengeBox key={pending.c.confirmationId} c={pending.c} busy={busy} error={error} label={t('withdraw.confirm')} onSubmit={(r) => void confirm(r)} />
            </TypedAfterCard>
          )}
          <p className="actions">
            {canSwitch ? (
              <button type="button" className="link" onClick={() => leave('device')}>
                {t('withdraw.useAnotherDevice')}
              </button>
            ) : null}
            <button type="button" className="link" onClick={() => leave('amount')}>
              {t('withdraw.cancel')}
            </button>
          </p>
        </div>
      ) : (
        <form onSubmit={(e) => void start(e)}>
          <div className="field">
            <label htmlFor={`${id}-a`}>{t('withdraw.amount')}</label>
            <input ref={amountField} id={`${id}-a`} name="amount" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} required />
          </div>
          <div className="field">
            <label htmlFor={`${id}-d`}>{t('withdraw.confirmWith')}</label>
            <select ref={deviceField} id={`${id}-d`} name="device" value={deviceId} onChange={(e) => setDeviceId(e.target.value)}>
              {overview?.devices.map((d) => (
                <option key={d.deviceId} value={d.deviceId}>
                  {deviceLabel(d.label, d.kind)}
                </option>
              ))}
            </select>
          </div>
          <p>
            <BusyButton ref={continueButton} busy={busy} busyLabel={t('busy.asking')}>
              {t('continue')}
            </BusyButton>
          </p>
        </form>
      )}
      {/* While the response is typed, its error shows under the field (ChallengeBox): one alert at a time. */}
      {pending && !onCard ? null : <ErrorLine id={`${id}-e`} error={error} />}
    </section>
  );
}

/** A lost or broken device (SPEC D8): deactivated at once; a DSC+ may be replaced (USD 20 deposit recorded). */
function ReportForm({
  device,
  endsSession,
  busy,
  onReport,
  onCancel,
}: {
  device: DeviceInfo;
  /** The session these screens use was opened with this device: reporting it signs the user out (D8). */
  endsSession: boolean;
  busy: boolean;
  onReport(reason: 'lost' | 'broken', replace: boolean): void;
  onCancel(): void;
}) {
  const { t } = useTranslation('account');
  const id = useId();
  const [reason, setReason] = useState<'lost' | 'broken'>('lost');
  const [replace, setReplace] = useState(device.kind === 'dscplus');
  return (
    <form
      className="inline-form"
      aria-labelledby={`${id}-h`}
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        onReport(reason, replace);
      }}
    >
      <h3 id={`${id}-h`}>{t('report.title', { device: deviceLabel(device.label, device.kind) })}</h3>
      <fieldset className="choices">
        <legend>{t('report.whatHappened')}</legend>
        <label>
          <input type="radio" name="report-reason" value="lost" checked={reason === 'lost'} onChange={() => setReason('lost')} /> {t('report.lost')}
        </label>
        <label>
          <input type="radio" name="report-reason" value="broken" checked={reason === 'broken'} onChange={() => setReason('broken')} /> {t('report.broken')}
        </label>
      </fieldset>
      {device.kind === 'dscplus' ? (
        <label className="check">
          <input type="checkbox" name="replace" checked={replace} onChange={(e) => setReplace(e.target.checked)} /> {t('report.replace')}
        </label>
      ) : null}
      <p className="hint">{t('report.hint')}</p>
      {endsSession ? (
        <p className="notice" role="note">
          {t('report.endsSession')}
        </p>
      ) : null}
      <p className="actions">
        <BusyButton busy={busy} busyLabel={t('busy.reporting')}>
          {t('report.submit')}
        </BusyButton>
        <button type="button" className="link" onClick={onCancel}>
          {t('report.cancel')}
        </button>
      </p>
    </form>
  );
}

/** SPEC D6, T3: a received device is activated with its serial and a response to a challenge on it. */
function ActivateForm({ api, onActivated }: { api: SlsApi; onActivated(label: string): void }) {
  const { t } = useTranslation('account');
  const id = useId();
  const [serial, setSerial] = useState('');
  const [challenge, setChallenge] = useState<ConfirmationChallenge | null>(null);
  // Leaving the challenge (another serial, Escape, or one that can no longer be answered, SPEC L6): the serial field again.
  const serialField = useRef<HTMLInputElement>(null);
  const backToSerial = useRef(false);
  useEffect(() => {
    if (challenge || !backToSerial.current) return;
    backToSerial.current = false;
    serialField.current?.focus();
  }, [challenge]);
  const endConfirmation = useCallback(() => {
    backToSerial.current = true;
    setChallenge(null);
  }, []);
  const { busy, error, run, setError, leave } = useConfirmationAction(endConfirmation);
  const shown = useShown();
  // SPEC C2: a DSC+ plugged in answers its own activation challenge (PIN on the card); typing is the fallback.
  const { onCard, setOnCard, cardLine, begin, fallback: cardFallback, failed: cardError, again } = useCardFirst(api, setError);
  // A serial refused: the serial again, selected, to correct or type over.
  const backTo = useFocusAfterFailure(busy, error);
  const activated = useCallback(
    (d: { label: string; kind: string }) => {
      setChallenge(null);
      setOnCard(false);
      setSerial('');
      onActivated(deviceLabel(d.label, d.kind));
    },
    [onActivated, setOnCard],
  );
  const answerOnCard = useCallback(
    () => (challenge ? api.completeDeviceActivationOnCard({ confirmationId: challenge.confirmationId }) : Promise.reject(new Error('no activation'))),
    [api, challenge],
  );
  /** SPEC D6: a response sent before the user left the challenge, then taken by slsd: the device is active; the list says so, the serial form stays. */
  const activatedLate = useCallback((d: { label: string; kind: string }) => shown.current && onActivated(deviceLabel(d.label, d.kind)), [shown, onActivated]);
  /** Leave the challenge for another serial; a response on its way is no longer waited for (`leave`: its refusal shows nowhere). */
  const other = () => {
    if (onCard) void api.cancelCardConfirmation().catch(() => {});
    setOnCard(false);
    leave();
    backToSerial.current = true;
    setChallenge(null);
  };
  return (
    <section aria-labelledby={`${id}-h`} className="subsection">
      <h3 id={`${id}-h`}>{t('activate.title')}</h3>
      {challenge ? (
        <div onKeyDown={escapeTo(other)}>
          {onCard ? (
            <CardConfirmation key={challenge.confirmationId} api={api} challenge={cardCode(challenge)} answer={answerOnCard} onDone={activated} onFallback={cardFallback} onError={cardError} />
          ) : (
            <TypedAfterCard c={challenge} line={cardLine} onAgain={again}>
              <ChallengeBox
                key={challenge.confirmationId}
                c={challenge}
                busy={busy}
                error={error}
                label={t('activate.activate')}
                onSubmit={(response) =>
                  void (backTo(null), run((live) => lateSuccess(() => api.completeDeviceActivation({ confirmationId: challenge.confirmationId, response }), live, activatedLate)).then((d) => {
                    if (d) activated(d);
                  }))
                }
              />
            </TypedAfterCard>
          )}
          <p>
            <button type="button" className="link" onClick={other}>
              {t('activate.otherSerial')}
            </button>
          </p>
        </div>
      ) : (
        <form
          onSubmit={(e: FormEvent) => (
            e.preventDefault(),
            backTo(serialField.current, { select: true }),
            void run(() => api.startDeviceActivation({ serial })).then((c) => {
              if (!c) return;
              begin(c);
              setChallenge(c);
            })
          )}
        >
          <p className="hint">{t('activate.hint')}</p>
          <div className="field">
            <label htmlFor={`${id}-s`}>{t('activate.serial')}</label>
            <input ref={serialField} id={`${id}-s`} name="serial" autoComplete="off" inputMode="numeric" value={serial} onChange={(e) => setSerial(e.target.value)} required minLength={4} maxLength={32} />
          </div>
          <p>
            <BusyButton busy={busy} busyLabel={t('busy.asking')}>
              {t('continue')}
            </BusyButton>
          </p>
        </form>
      )}
      {challenge && !onCard ? null : <ErrorLine error={error} />}
    </section>
  );
}

type DeviceInfo = DevicesOverview['devices'][number];

/**
 * The device the session these screens use was opened with: the host's Client Portal session (the
 * step-up, C6) when there is one, else the trading session's. Reporting or returning that device, or
 * ending the sharing it came with, ends the session (SPEC D8, D5, S5): the screens say so first.
 */
function useSignedInWith(api: SlsApi, session: SessionView): string | null {
  const [signedInWith, setSignedInWith] = useState<string | null>(session.authenticatedWith?.deviceId ?? null);
  useEffect(() => {
    let live = true;
    api.getPortalSession().then(
      (portal) => live && portal?.authenticatedWith && setSignedInWith(portal.authenticatedWith.deviceId),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [api]);
  return signedInWith;
}

function DevicesPanel({ api, signedInWith, onSignedOut }: { api: SlsApi; signedInWith: string | null; onSignedOut(notice: Notice): void }) {
  const { t } = useTranslation('account');
  const id = useId();
  const { busy, error, run, leave } = usePanelAction();
  const shown = useShown();
  const [overview, setOverview] = useState<DevicesOverview | null>(null);
  const [reporting, setReporting] = useState<DeviceInfo | null>(null);
  const [done, setDone] = useState<string | null>(null);
  // A step refused (Report, Return, Cancel an order, Request a DSC+): the focus back on the button pressed.
  const backTo = useFocusAfterFailure(busy, error);
  const load = useCallback(async () => {
    backTo(null);
    const o = await run(() => api.getDevices());
    if (o) setOverview(o);
  }, [api, run, backTo]);
  useEffect(() => {
    void load();
  }, [load]);
  const after = (message: string) => {
    setDone(message);
    void load();
  };
  /** The device is gone; when the session was opened with it, slsd ended the session too: the login form says why (D8). */
  const gone = (device: DeviceInfo, message: string) => {
    if (device.id !== signedInWith) return after(message);
    onSignedOut({ message: `${message} ${t('devices.signedOut')}`, action: '', tone: 'info' });
  };
  /**
   * SPEC D8: what a report or a return that slsd took did, said on this panel only: from the panel
   * left (another tab, Back) it is dropped; after the user's Cancel on its form, it is said all the
   * same (the device is out of use, the session maybe ended: `gone`).
   */
  const reported = (device: DeviceInfo, reason: 'lost' | 'broken', r: { replacement: { depositCents: number } | null }) => {
    if (!shown.current) return;
    const said = reason === 'lost' ? t('devices.reportedLost', { device: deviceLabel(device.label, device.kind) }) : t('devices.reportedBroken', { device: deviceLabel(device.label, device.kind) });
    gone(device, r.replacement ? `${said} ${t('devices.replacementOrdered', { deposit: formatUsd(r.replacement.depositCents) })}` : said);
  };
  const returned = (device: DeviceInfo) => shown.current && gone(device, t('devices.returned', { device: deviceLabel(device.label, device.kind) }));
  const report = async (device: DeviceInfo, reason: 'lost' | 'broken', replace: boolean) => {
    backTo(pressedNow());
    const r = await run((live) => lateSuccess(() => api.reportDevice({ deviceId: device.id, reason, replace }), live, (late) => reported(device, reason, late)));
    if (!r) return;
    setReporting(null);
    reported(device, reason, r);
  };
  // SPEC D8: a returned device never works again; the one-click Return asks first.
  const [returning, setReturning] = useState<DeviceInfo | null>(null);
  const giveBack = async (device: DeviceInfo) => {
    backTo(pressedNow());
    const r = await run((live) => lateSuccess(() => api.returnDevice({ deviceId: device.id }), live, () => returned(device)));
    if (!r) return;
    setReturning(null);
    returned(device);
  };
  const canChange = (d: DeviceInfo) => d.ownership === 'own' && d.physical && ['active', 'inactive', 'pending'].includes(d.status);
  // One DSC+ on its way at a time: ordered or sent, new or replacement.
  const pendingOrder = overview?.orders.some((o) => o.state === 'ordered' || o.state === 'sent') ?? false;
  return (
    <section aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>{t('devices.title')}</h2>
      <p className="hint">{t('devices.hint')}</p>
      <ul className="device-list">
        {overview?.devices.map((d) => (
          <li key={d.id}>
            {deviceLabel(d.label, d.kind)} — <span className={d.status === 'active' ? '' : 'muted'}>{t(`devices.status.${d.status}`, { defaultValue: d.status })}</span>
            {d.legacy ? <span className="muted"> {t('devices.legacy')}</span> : null}
            {d.ownership === 'shared' ? <span className="muted"> {t('devices.shared')}</span> : null}
            {canChange(d) && reporting?.id !== d.id && returning?.id !== d.id ? (
              <span className="row-actions">
                <button type="button" className="link" aria-label={t('devices.reportAria', { device: deviceLabel(d.label, d.kind) })} disabled={busy} onClick={() => (setDone(null), setReturning(null), setReporting(d))}>
                  {t('devices.report')}
                </button>
                <button
                  type="button"
                  className="link"
                  aria-label={t('devices.returnAria', { device: deviceLabel(d.label, d.kind) })}
                  disabled={busy}
                  onClick={() => (setDone(null), setReporting(null), setReturning(d))}
                >
                  {t('devices.return')}
                </button>
              </span>
            ) : null}
            {returning?.id === d.id ? (
              <ConfirmBox
                title={t('returnDevice.title', { device: deviceLabel(d.label, d.kind) })}
                consequences={[t('returnDevice.stops')]}
                note={
                  d.id === signedInWith ? (
                    <p className="notice" role="note">
                      {t('returnDevice.endsSession')}
                    </p>
                  ) : null
                }
                confirmLabel={t('returnDevice.submit')}
                busyLabel={t('busy.returning')}
                cancelLabel={t('returnDevice.cancel')}
                busy={busy}
                onConfirm={() => void giveBack(d)}
                // A Return on its way: its refusal is no longer this panel's to show (`leave`).
                onCancel={() => {
                  if (busy) leave();
                  setReturning(null);
                }}
              />
            ) : null}
          </li>
        ))}
      </ul>
      {reporting ? (
        <ReportForm
          device={reporting}
          endsSession={reporting.id === signedInWith}
          busy={busy}
          onCancel={() => {
            // A report on its way: its refusal is no longer this panel's to show (`leave`).
            if (busy) leave();
            setReporting(null);
          }}
          onReport={(reason, replace) => void report(reporting, reason, replace)}
        />
      ) : null}
      {overview && overview.orders.length > 0 ? (
        <table className="limits">
          <caption>{t('devices.orders.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('devices.orders.colOrder')}</th>
              <th scope="col">{t('devices.orders.colState')}</th>
              <th scope="col">{t('devices.orders.colDeposit')}</th>
              <th scope="col">
                <span className="visually-hidden">{t('devices.orders.colActions')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {overview.orders.map((o) => (
              <tr key={o.id}>
                <th scope="row">{o.reason === 'replacement' ? t('devices.orders.replacement') : t('devices.orders.new')}</th>
                <td>
                  {o.state === 'sent' && o.selfActivatesAt
                    ? t('devices.orders.sentSelfActivates', { date: nyTime(o.selfActivatesAt) })
                    : t(`devices.orders.state.${o.state}`, { defaultValue: o.state })}
                </td>
                <td>{o.depositCents > 0 ? formatUsd(o.depositCents) : '—'}</td>
                <td>
                  {o.state === 'ordered' ? (
                    <button
                      type="button"
                      className="link"
                      aria-label={o.reason === 'replacement' ? t('devices.orders.cancelReplacementAria') : t('devices.orders.cancelNewAria')}
                      disabled={busy}
                      onClick={() => (backTo(pressedNow()), void run(() => api.cancelDeviceOrder({ orderId: o.id })).then((r) => r && after(t('devices.orders.cancelled'))))}
                    >
                      {t('devices.orders.cancel')}
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {overview && !pendingOrder ? (
        overview.dscPlus.eligible ? (
          <p>
            <button type="button" className="secondary-button" disabled={busy} onClick={() => (backTo(pressedNow()), void run(() => api.orderDscPlus()).then((o) => o && after(t('devices.ordered'))))}>
              {t('devices.request')}
            </button>
          </p>
        ) : (
          <p className="notice">{overview.dscPlus.reason}</p>
        )
      ) : null}
      {done ? (
        <p role="status" className="info">
          {done}
        </p>
      ) : null}
      <ErrorLine error={error} />
      <ActivateForm api={api} onActivated={(label) => after(t('devices.activated', { device: label }))} />
    </section>
  );
}

/** SPEC T1, T2: the online Security Code Card of a temporary passcode, to view and print. */
function OnlineCardPanel({ api }: { api: SlsApi }) {
  const { t } = useTranslation('account');
  const id = useId();
  const { busy, error, run } = usePanelAction();
  const [card, setCard] = useState<OnlineCard | null>(null);
  const [file, setFile] = useState<OfferedFile | null>(null);
  // View or Print refused: the focus back on the button pressed.
  const backTo = useFocusAfterFailure(busy, error);
  return (
    <section aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>{t('onlineCard.title')}</h2>
      <p className="hint">{t('onlineCard.hint')}</p>
      {card ? (
        <>
          <p>{t('onlineCard.validUntil', { date: nyTime(card.validUntil) })}</p>
          <ol className="code-card" aria-label={t('onlineCard.codes')}>
            {card.cells.map((code, i) => (
              <li key={i}>
                <span className="idx">{i + 1}</span> <code>{code}</code>
              </li>
            ))}
          </ol>
        </>
      ) : (
        <p>
          <button type="button" className="primary" disabled={busy} onClick={() => (backTo(pressedNow()), void run(() => api.getOnlineCard()).then((c) => c && setCard(c)))}>
            {t('onlineCard.view')}
          </button>
        </p>
      )}
      <p>
        <button type="button" className="secondary-button" disabled={busy} onClick={() => (backTo(pressedNow()), void run(() => api.downloadOnlineCard()).then((f) => f && setFile(f)))}>
          {t('onlineCard.print')}
        </button>
      </p>
      {file?.url ? (
        <p role="status" className="info">
          <a href={file.url} target="_blank" rel="noopener noreferrer">
            {t('onlineCard.openPdf')}
          </a>{' '}
          ·{' '}
          <a href={file.url} download={file.fileName}>
            {t('onlineCard.save', { file: file.fileName })}
          </a>
        </p>
      ) : null}
      {file?.savedTo ? (
        <p role="status" className="info">
          {t('onlineCard.savedTo', { path: file.savedTo })}
        </p>
      ) : null}
      <ErrorLine error={error} />
    </section>
  );
}

function SharePanel({
  api,
  username,
  signedInWith,
  onSignedOut,
  onVerifyAgain,
}: {
  api: SlsApi;
  username: string;
  signedInWith: string | null;
  onSignedOut(notice: Notice): void;
  /** The approval set aside the device this session was opened with (S5, D5): the screens ask to verify, saying why. */
  onVerifyAgain(notice: Notice): void;
}) {
  const { t } = useTranslation('account');
  const id = useId();
  // SPEC S3–S5: the sharings this user is part of, and whether one is held (then no new request).
  const [sharings, setSharings] = useState<SharingView[] | null>(null);
  const [changed, setChanged] = useState<string | null>(null);
  const shown = useShown();
  const loadSharings = useCallback(() => {
    // Not for a panel gone (a late answer's `lateSuccess`, the list's own steps).
    if (!shown.current) return;
    api.getSharings().then(
      (l) => setSharings(l.requests),
      () => setSharings([]),
    );
  }, [api, shown]);
  useEffect(loadSharings, [loadSharings]);
  const [owner, setOwner] = useState('');
  const [password, setPassword] = useState('');
  const [started, setStarted] = useState<StartedSharing | null>(null);
  // A started request of this user's taken up again without a challenge to answer (its Continue in the
  // list once the challenge is gone, or Start over): the owner's credentials again for a new challenge;
  // slsd's new request replaces it (S3, S5). `continued`: from the list, the owner's name filled in.
  const [resuming, setResuming] = useState<{ request: SharingView; continued: boolean } | null>(null);
  // Starting over (the link, Escape, or a confirmation that can no longer be answered, SPEC L6): the owner's user name again;
  // continuing from the list: the owner's password; the owner's form given up: back to the request in the list.
  const ownerField = useRef<HTMLInputElement>(null);
  const passwordField = useRef<HTMLInputElement>(null);
  const section = useRef<HTMLElement>(null);
  const focusNext = useRef<'owner' | 'password' | { row: string } | null>(null);
  useEffect(() => {
    const to = focusNext.current;
    if (started || !to) return;
    focusNext.current = null;
    if (to === 'owner') ownerField.current?.focus();
    else if (to === 'password') passwordField.current?.focus();
    else section.current?.querySelector<HTMLElement>(`li[data-request="${CSS.escape(to.row)}"] button`)?.focus();
  }, [started, resuming]);
  const current = useLatest(started);
  const endConfirmation = useCallback(() => {
    const s = current.current;
    if (s) {
      dropChallenge(s.requestId);
      setResuming({ request: s.request, continued: false });
    }
    focusNext.current = 'owner';
    setStarted(null);
  }, [current]);
  const { busy, error, run, setError, leave } = useConfirmationAction(endConfirmation);
  const [review, setReview] = useState<SharingView | null>(null);
  const [result, setResult] = useState<SharingView | null>(null);
  // SPEC S3, C2: the owner's DSC+, plugged in here, answers first (PIN on the card); typing is the fallback.
  const { onCard, setOnCard, cardLine, begin, fallback: cardFallback, failed: cardError, again } = useCardFirst(api, setError);
  // The owner's user name or password refused: the user name again, selected (the password is cleared);
  // Submit refused: the focus back on it.
  const backTo = useFocusAfterFailure(busy, error);

  const start = async (e: FormEvent) => {
    e.preventDefault();
    setChanged(null);
    backTo(ownerField.current, { select: true });
    // Started after the user cancelled taking the request up again (`stopResuming`): slsd replaced it
    // with this one, which the list shows (S3, S5), its challenge to answer with Continue.
    let stillOn = () => false;
    const r = await run((live) => ((stillOn = live), lateSuccess(() => api.startSharing({ ownerUsername: owner, ownerPassword: password }), live, loadSharings)));
    // Left meanwhile: the form is another request's now, what is typed there stays.
    if (!stillOn()) return;
    setPassword('');
    if (r) {
      const s: StartedSharing = { requestId: r.request.id, c: r.confirmation, request: r.request };
      // slsd replaced the request taken up again (S5: one open at a time); this one's challenge is kept for Continue.
      if (resuming) dropChallenge(resuming.request.id);
      holdChallenge(username, s);
      setResuming(null);
      setStarted(s);
      begin(r.confirmation);
      loadSharings();
    }
  };
  const verified = useCallback(
    (v: SharingView) => {
      setOnCard(false);
      dropChallenge(v.id);
      setStarted(null);
      setReview(v);
    },
    [setOnCard],
  );
  const answerOnCard = useCallback(
    () => (started ? api.answerSharingOnCard({ requestId: started.requestId, confirmationId: started.c.confirmationId }) : Promise.reject(new Error('no sharing request'))),
    [api, started],
  );
  /**
   * S3: the owner's device answered after the user started over: the request is verified, ready to
   * submit; the list shows it so (read again), the owner's form stays as it is.
   */
  const verifiedLate = useCallback(
    (v: SharingView) => {
      if (!shown.current) return;
      dropChallenge(v.id);
      loadSharings();
    },
    [shown, loadSharings],
  );
  /** Leave the challenge; a response on its way is no longer waited for (`leave`: its refusal shows nowhere, SPEC C5). */
  const startOver = () => {
    if (onCard) void api.cancelCardConfirmation().catch(() => {});
    setOnCard(false);
    focusNext.current = 'owner';
    if (started) {
      dropChallenge(started.requestId);
      setResuming({ request: started.request, continued: false });
    }
    setStarted(null);
    leave();
  };
  /**
   * S3, from the list: the challenge given for it, if it can still be answered — held from this run, or
   * given back by slsd with the request (after a restart) — else the owner's password for a new one.
   */
  const continueRequest = (r: SharingView) => {
    setChanged(null);
    setResult(null);
    setReview(null);
    setError(null);
    const held = resumableChallenge(username, r);
    if (held) {
      // Held from now on, so that starting over gives it up here (`dropChallenge`).
      holdChallenge(username, held);
      setResuming(null);
      setStarted(held);
      begin(held.c);
      return;
    }
    setOwner(r.owner.username);
    setPassword('');
    focusNext.current = 'password';
    setResuming({ request: r, continued: true });
  };
  const stopResuming = () => {
    if (resuming) focusNext.current = { row: resuming.request.id };
    setResuming(null);
    setPassword('');
    // The owner's credentials on their way: their answer is no longer this form's (`leave`).
    leave();
  };
  /** S3 step 4, S4: approved at once, or sent to Compliance; from the review, or from the list. */
  const submit = (r: SharingView) =>
    void (backTo(pressedNow()), run(() => api.submitSharing({ requestId: r.id }))).then((v) => {
      if (!v) return;
      // S5, D5: the session's own device is set aside now; slsd wants the shared one for these screens.
      if (v.state === 'approved' && v.requesterDevices.some((d) => d.id === signedInWith)) {
        const shared = { owner: v.owner.displayName, device: deviceLabel(v.device.label, v.device.kind) };
        return onVerifyAgain({ message: t('share.verifyWithShared', shared), action: '', tone: 'info' });
      }
      setChanged(null);
      setResult(v);
      loadSharings();
    });
  const inFlight = sharings ? requestInProgress(sharings, username) : null;
  return (
    <section aria-labelledby={`${id}-h`} ref={section}>
      <h2 id={`${id}-h`}>{t('share.title')}</h2>
      {sharings ? (
        <SharingList
          api={api}
          sharings={sharings}
          username={username}
          signedInWith={signedInWith}
          busy={busy}
          inProgress={result ? null : (review?.id ?? started?.requestId ?? resuming?.request.id ?? null)}
          // The list's own steps (end, withdraw, refuse) answered after the panel went change nothing: not the screen the user went to (SPEC C5).
          onSignedOut={(notice) => shown.current && onSignedOut(notice)}
          onChanged={(message) => {
            if (!shown.current) return;
            setResult(null);
            setReview(null);
            setChanged(message);
            loadSharings();
          }}
          onContinue={continueRequest}
          onSubmit={submit}
        />
      ) : null}
      {changed && !result ? (
        <p role="status" className="info">
          {changed}
        </p>
      ) : null}
      {result ? (
        <p role="status" className="info">
          {result.state === 'approved'
            ? t('share.approved', { owner: result.owner.displayName, device: deviceLabel(result.device.label, result.device.kind) })
            : t('share.pendingCompliance')}
        </p>
      ) : review ? (
        <>
          <p>
            {t('share.review', { owner: review.owner.displayName, device: deviceLabel(review.device.label, review.device.kind) })}{' '}
            {review.requesterDevices.length > 0 ? t('share.setAside', { devices: review.requesterDevices.map((d) => deviceLabel(d.label)).join(', ') }) : ''}
          </p>
          <p>
            <button type="button" className="primary" disabled={busy} onClick={() => submit(review)}>
              {t('share.submit')}
            </button>
          </p>
        </>
      ) : started ? (
        <div onKeyDown={escapeTo(startOver)}>
          <p className="hint">
            {t('share.answerWith', { owner: started.request.owner.displayName, device: deviceLabel(started.request.device.label, started.request.device.kind) })}
          </p>
          {onCard ? (
            <CardConfirmation key={started.c.confirmationId} api={api} challenge={cardCode(started.c)} answer={answerOnCard} onDone={verified} onFallback={cardFallback} onError={cardError} />
          ) : (
            <TypedAfterCard c={started.c} line={cardLine} onAgain={again}>
              <ChallengeBox
                key={started.c.confirmationId}
                c={started.c}
                busy={busy}
                error={error}
                label={t('continue')}
                onSubmit={(response) =>
                  void (backTo(null), run((live) => lateSuccess(() => api.answerSharing({ requestId: started.requestId, confirmationId: started.c.confirmationId, response }), live, verifiedLate))).then((r) => r && verified(r))
                }
              />
            </TypedAfterCard>
          )}
          <p>
            <button type="button" className="link" onClick={startOver}>
              {t('share.startOver')}
            </button>
          </p>
        </div>
      ) : sharings === null ? (
        <p className="waiting" role="status">
          <Spinner /> {t('busy.checking')}
        </p>
      ) : holdsSharing(sharings, username) ? (
        <p className="hint">{t('share.current.oneAtATime')}</p>
      ) : inFlight && !resuming ? (
        // S3, S5: one request at a time: the one under way is continued (or submitted) or withdrawn, in the list.
        <p className="hint">{t('share.current.oneOpen')}</p>
      ) : (
        <form onSubmit={(e) => void start(e)} onKeyDown={resuming ? escapeTo(stopResuming) : undefined}>
          <p className="hint">
            {resuming?.continued
              ? t('share.resumeHint', { owner: resuming.request.owner.displayName, device: deviceLabel(resuming.request.device.label, resuming.request.device.kind) })
              : t('share.hint')}
          </p>
          <div className="field">
            <label htmlFor={`${id}-u`}>{t('share.ownerUsername')}</label>
            <input ref={ownerField} id={`${id}-u`} name="owner-username" autoComplete="off" value={owner} onChange={(e) => setOwner(e.target.value)} required />
          </div>
          <div className="field">
            <label htmlFor={`${id}-p`}>{t('share.ownerPassword')}</label>
            <input
              ref={passwordField}
              id={`${id}-p`}
              name="owner-password"
              type="password"
              autoComplete="off"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
            />
          </div>
          <p className="actions">
            <BusyButton busy={busy} busyLabel={t('busy.checking')}>
              {t('continue')}
            </BusyButton>
            {resuming ? (
              <button type="button" className="link" onClick={stopResuming}>
                {t('share.cancel')}
              </button>
            ) : null}
          </p>
        </form>
      )}
      {started && !review && !result && !onCard ? null : <ErrorLine error={error} />}
    </section>
  );
}

/**
 * Opting out asks first, saying what it means before anything changes (SPEC O1, O2): the second
 * factor is no longer asked at trading-platform login; the Client Portal, settings and withdrawals
 * still need it; Pink Sheet and OTCBB trading is restricted. Inline like the screen's other steps
 * (ReportForm); Cancel has the focus, so Enter on it or Escape changes nothing.
 */
function OptOutConfirmation({ busy, canOptBackIn, onConfirm, onCancel }: { busy: boolean; canOptBackIn: boolean; onConfirm(): void; onCancel(): void }) {
  const { t } = useTranslation('account');
  return (
    <ConfirmBox
      title={t('sls.confirm.title')}
      consequences={[t('sls.confirm.noDevice'), t('sls.confirm.stillNeeded'), t('sls.confirm.restricted')]}
      note={canOptBackIn ? <p className="hint">{t('sls.confirm.optBackIn')}</p> : null}
      confirmLabel={t('sls.confirm.optOut')}
      busyLabel={t('busy.saving')}
      cancelLabel={t('sls.confirm.cancel')}
      busy={busy}
      onConfirm={onConfirm}
      onCancel={onCancel}
    />
  );
}

/**
 * Why the user may not change the setting, and who may (SPEC A1, O3): the one primary user by name;
 * when the user's accounts have different primary users none of them alone may, so the line says so
 * and sends the user to client services, as slsd's refusal does.
 */
function whoMayChange(t: TFunction<'account'>, status: OptOutStatus): string {
  if (status.severalPrimaryUsers) return status.optedOut ? t('sls.severalPrimariesOptIn') : t('sls.severalPrimariesChange');
  const p = status.primaryUser;
  if (!p) return status.optedOut ? t('sls.onlyPrimaryOptInUnnamed') : t('sls.onlyPrimaryChangeUnnamed');
  const who = `${p.displayName} (${p.username})`;
  return status.optedOut ? t('sls.onlyPrimaryOptIn', { who }) : t('sls.onlyPrimaryChange', { who });
}

function SlsPanel({ api }: { api: SlsApi }) {
  const { t } = useTranslation('account');
  const id = useId();
  const { busy, error, run, leave } = usePanelAction();
  const shown = useShown();
  const [status, setStatus] = useState<OptOutStatus | null>(null);
  const [confirming, setConfirming] = useState(false);
  // The one button (opt out… / opt back in) takes the focus back when the confirmation closes.
  const toggle = useRef<HTMLButtonElement>(null);
  const backToToggle = useRef(false);
  useEffect(() => {
    if (confirming || !backToToggle.current) return;
    backToToggle.current = false;
    toggle.current?.focus();
  }, [confirming, status]);
  // Opting back in refused: the focus back on the button. (Opting out closes the confirmation, refused
  // or not: the toggle takes the focus, above.)
  const backTo = useFocusAfterFailure(busy, error);
  useEffect(() => {
    void run(() => api.getOptOut()).then((s) => s && setStatus(s));
  }, [api, run]);
  const close = () => {
    backToToggle.current = true;
    setConfirming(false);
  };
  const optOut = async () => {
    backTo(null);
    let stillOn = () => false;
    // SPEC O1: opted out after the user's Cancel all the same: the panel says what slsd has now, quietly.
    const s = await run((live) => ((stillOn = live), lateSuccess(() => api.optOut(), live, (late) => shown.current && setStatus(late))));
    // Left meanwhile (Cancel, then maybe "Opt out…" again): that confirmation is not closed for this answer.
    if (!stillOn()) return;
    if (s) setStatus(s);
    close();
  };
  /** Cancel: an opt-out on its way is no longer waited for (`leave`: its refusal shows nowhere, SPEC C5). */
  const cancel = () => {
    if (busy) leave();
    close();
  };
  return (
    <section aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>{t('sls.title')}</h2>
      {status ? (
        <>
          <p role="status">{status.optedOut ? t('sls.optedOut') : t('sls.optedIn')}</p>
          {!status.canChange ? <p className="notice">{whoMayChange(t, status)}</p> : null}
          {confirming && !status.optedOut ? (
            <OptOutConfirmation busy={busy} canOptBackIn={status.canChange} onConfirm={() => void optOut()} onCancel={cancel} />
          ) : (
            <p>
              {status.optedOut ? (
                <button ref={toggle} type="button" className="primary" disabled={busy} onClick={() => (backTo(pressedNow()), void run(() => api.optIn()).then((s) => s && setStatus(s)))}>
                  {t('sls.optIn')}
                </button>
              ) : (
                <button ref={toggle} type="button" className="secondary-button" disabled={busy} onClick={() => setConfirming(true)}>
                  {t('sls.optOut')}
                </button>
              )}
            </p>
          )}
        </>
      ) : null}
      <ErrorLine error={error} />
    </section>
  );
}

/** SPEC P1, L6: the verification's code is over (3 wrong codes, expired, replaced): only a new code can verify the number. */
const CODE_OVER: ReadonlySet<string> = new Set(['SLS_ERR_MOBILE_CODE_ENDED', 'SLS_ERR_NO_CHALLENGE']);

function MobilePanel({ api }: { api: SlsApi }) {
  const { t } = useTranslation('account');
  const id = useId();
  const [status, setStatus] = useState<MobileNumberStatus | null>(null);
  // SPEC P1: the number form while a code waits: a typo in the number, or a text that never came,
  // is corrected or sent again at once, not after the code's 15 minutes.
  const [renumbering, setRenumbering] = useState(false);
  // A code that is over: the number form comes back (the number kept) to ask for a new one; the
  // error still says why. A wrong code is this code's own tries (SPEC P1), not a login's.
  const codeOver = useCallback((e: ClientError) => {
    if (CODE_OVER.has(e.code)) setStatus((s) => s && { ...s, pending: null });
    return false;
  }, []);
  // SPEC P1, L6: a code goes once (a wrong one counts once), a number once (one SMS).
  const { busy, error, run } = usePanelAction(codeOver, describeMobileCodeError);
  const [number, setNumber] = useState('');
  const [code, setCode] = useState('');
  useEffect(() => {
    void run(() => api.getMobileNumber()).then((s) => s && setStatus(s));
  }, [api, run]);
  // A code refused, or a number (SPEC P1, C5): back to the field of the form shown, selected, to
  // compare or type over. Verify and Send code, disabled while they waited, had dropped the focus to <body>.
  const codeField = useRef<HTMLInputElement>(null);
  const numberField = useRef<HTMLInputElement>(null);
  useAfterFailure(busy, error !== null, () => refocus(codeField.current ?? numberField.current, { select: true }));
  // SPEC C5: switching between the two forms by keyboard leaves the focus on the field shown.
  const switchTo = (renumber: boolean) => {
    setRenumbering(renumber);
    requestAnimationFrame(() => (renumber ? numberField : codeField).current?.focus());
  };
  const pending = renumbering ? null : (status?.pending ?? null);
  return (
    <section aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>{t('mobile.title')}</h2>
      {status ? (
        <p>{status.number ? (status.verified ? t('mobile.verified', { number: status.number }) : t('mobile.notVerified', { number: status.number })) : t('mobile.none')}</p>
      ) : null}
      {pending ? (
        <form onSubmit={(e) => (e.preventDefault(), void run(() => api.verifyMobileNumber({ code })).then((s) => s && (setStatus(s), setCode(''))))}>
          <p>
            {pending.deferred ? t('mobile.deferred', { number: pending.maskedNumber, when: nyTime(pending.deliverAt) }) : t('mobile.sent', { number: pending.maskedNumber })}
          </p>
          <div className="field">
            <label htmlFor={`${id}-c`}>{t('mobile.code')}</label>
            <input ref={codeField} id={`${id}-c`} name="sms-code" className="code-input" inputMode="numeric" value={code} onChange={(e) => setCode(e.target.value)} required />
          </div>
          <p>
            <BusyButton busy={busy} busyLabel={t('busy.checking')}>
              {t('mobile.verify')}
            </BusyButton>{' '}
            <button type="button" className="link" disabled={busy} onClick={() => switchTo(true)}>
              {t('mobile.another')}
            </button>
          </p>
        </form>
      ) : (
        <form onSubmit={(e) => (e.preventDefault(), void run(() => api.setMobileNumber({ number })).then((s) => s && (setStatus(s), setCode(''), switchTo(false))))}>
          <div className="field">
            <label htmlFor={`${id}-n`}>{t('mobile.number')}</label>
            <input ref={numberField} id={`${id}-n`} name="mobile-number" type="tel" autoComplete="tel" value={number} onChange={(e) => setNumber(e.target.value)} required />
          </div>
          <p>
            <BusyButton busy={busy} busyLabel={t('busy.sending')}>
              {t('mobile.send')}
            </BusyButton>{' '}
            {status?.pending ? (
              <button type="button" className="link" disabled={busy} onClick={() => switchTo(false)}>
                {t('mobile.backToCode', { number: status.pending.maskedNumber })}
              </button>
            ) : null}
          </p>
        </form>
      )}
      <ErrorLine error={error} />
    </section>
  );
}

/**
 * The host as the panels use it (SPEC C6): a call slsd refuses for want of a second factor, from
 * whichever panel, brings "Verify it's you" (the panel still gets the error).
 */
function askingToVerify(api: SlsApi, onRequired: () => void): SlsApi {
  const wrapped: Record<string, unknown> = { on: api.on };
  for (const name of CALL_NAMES) {
    const call = api[name] as (input?: unknown) => Promise<unknown>;
    wrapped[name] = (input?: unknown) =>
      call(input).catch((e: unknown) => {
        if (e instanceof ContractError && e.code === 'SLS_ERR_SECOND_FACTOR_REQUIRED') onRequired();
        throw e;
      });
  }
  return wrapped as SlsApi;
}

/**
 * "Verify it's you" (SPEC C6, O1, O3, L8): the password for a Client Portal login of the signed-in
 * user (the host sends it to slsd and keeps nothing of it); the device screens follow. Enter
 * submits, Escape or Cancel goes back.
 */
function VerifyPanel({ api, notice, onStep, onCancel }: { api: SlsApi; notice: Notice | null; onStep(step: LoginStepView): void; onCancel(): void }) {
  const { t } = useTranslation('account');
  const id = useId();
  // SPEC C6, L1: the password goes once; the step it brings after the panel went (Cancel, Back,
  // another screen, "Verify it's you" shown anew) is of a login the user left: dropped, never shown.
  const { busy, error, run } = usePanelAction();
  const [password, setPassword] = useState('');
  // Why the last attempt ended (3 wrong responses, denied on the phone…), until the next one.
  const [ended, setEnded] = useState(notice);
  // The password refused (SPEC C5): back to its field (cleared) rather than <body>, Continue having been disabled.
  const passwordField = useRef<HTMLInputElement>(null);
  useAfterFailure(busy, error !== null, () => refocus(passwordField.current, { select: true }));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    // Continue is disabled while it waits (so is Enter's implicit submission); this is for a second Enter before that shows.
    if (busy) return;
    setEnded(null);
    let stillOn = () => false;
    const step = await run((live) => ((stillOn = live), api.portalLogin({ password })));
    // Not sent (one on its way already), or the panel gone: the field is left as it is.
    if (!stillOn()) return;
    setPassword('');
    if (step) onStep(step);
  };
  return (
    <section
      aria-labelledby={`${id}-h`}
      className="subsection"
      onKeyDown={(e) => {
        if (e.key !== 'Escape') return;
        e.preventDefault();
        onCancel();
      }}
    >
      <h2 id={`${id}-h`}>{t('verify.title')}</h2>
      <form onSubmit={(e) => void submit(e)} aria-busy={busy}>
        <p className="hint" id={`${id}-d`}>
          {t('verify.hint')}
        </p>
        <div className="field">
          <label htmlFor={`${id}-p`}>{t('verify.password')}</label>
          <input
            ref={passwordField}
            id={`${id}-p`}
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            maxLength={256}
            onChange={(e) => setPassword(e.target.value)}
            aria-describedby={`${id}-d`}
            required
            autoFocus
          />
        </div>
        <p className="actions">
          <BusyButton busy={busy} busyLabel={t('busy.checking')}>
            {t('continue')}
          </BusyButton>
          <button type="button" className="link" onClick={onCancel}>
            {t('verify.cancel')}
          </button>
        </p>
      </form>
      <ErrorLine error={error ?? ended} />
    </section>
  );
}

/** Whether the portal functions can be reached (SPEC C6): asking the host, "Verify it's you" first, or open. */
type Gate = 'checking' | 'verify' | 'open';

export interface AccountScreenProps {
  api: SlsApi;
  session: SessionView;
  onBack(): void;
  footer: ReactNode;
  notice?: ReactNode;
  /** Open on "Verify it's you", with why the last Client Portal login ended, if it did (SPEC C6). */
  verify?: { notice: ErrorText | null } | null;
  /** A step of the Client Portal login: the app shows the device screens, then comes back here. */
  onVerifyStep(step: LoginStepView): void;
  /**
   * A step here ended the session these screens use (the device it was opened with reported or
   * returned, D8; the sharing it came with ended, S5): the app signs out and shows the login form with this notice.
   */
  onSignedOut(notice: Notice): void;
  /** The tab to open on (the one the user was on before "Verify it's you", SPEC C6), and each tab chosen. */
  section?: string | undefined;
  onSection?(section: string): void;
}

export function AccountScreen({ api, session, onBack, footer, notice, verify, onVerifyStep, onSignedOut, section: initialSection, onSection }: AccountScreenProps) {
  const { t } = useTranslation('account');
  const id = useId();
  // SPEC C6, O1, L8: without a second factor in the trading session, the host's Client Portal
  // session opens these screens; without one either, "Verify it's you" first.
  const [gate, setGate] = useState<Gate>(verify ? 'verify' : session.authenticatedWith ? 'open' : 'checking');
  // Why "Verify it's you" shows: the last Client Portal login's end, or a step here that set the session's device aside.
  const [verifyNotice, setVerifyNotice] = useState<Notice | null>(verify?.notice ?? null);
  useEffect(() => {
    if (gate !== 'checking') return;
    let live = true;
    api.getPortalSession().then(
      (portal) => live && setGate(portal ? 'open' : 'verify'),
      () => live && setGate('verify'),
    );
    return () => {
      live = false;
    };
  }, [api, gate]);
  // The portal session may end while these screens show (its expiry, slsd): the next refusal asks again.
  const panelApi = useMemo(() => askingToVerify(api, () => setGate('verify')), [api]);
  const temporary = session.access === 'portal_only' || session.authenticatedWith?.kind === 'temp_passcode' || session.authenticatedWith?.kind === 'online_scc';
  const sections = temporary ? [CARD_SECTION, ...SECTIONS] : SECTIONS;
  const [section, setSection] = useState<Section>(sections.find((x) => x === initialSection) ?? (temporary ? 'card' : 'withdraw'));
  const choose = (key: Section) => {
    setSection(key);
    onSection?.(key);
  };
  const signedInWith = useSignedInWith(api, session);
  // UI.md: one window of about 420×560. The tabs are one row that scrolls sideways; the chosen one
  // is kept in view (the page itself is not scrolled for it).
  const tabs = useRef<HTMLElement>(null);
  useEffect(() => {
    const nav = tabs.current;
    const on = nav?.querySelector<HTMLElement>('[aria-pressed="true"]');
    if (!nav || !on) return;
    const left = on.getBoundingClientRect().left - nav.getBoundingClientRect().left + nav.scrollLeft;
    if (left < nav.scrollLeft) nav.scrollLeft = left;
    else if (left + on.offsetWidth > nav.scrollLeft + nav.clientWidth) nav.scrollLeft = left + on.offsetWidth - nav.clientWidth;
  }, [section, gate]);
  // The row fades out on a side where more tabs are (UI.md: at 420 px not all fit): the user sees there is more to scroll to.
  const [edges, setEdges] = useState({ left: false, right: false });
  useEffect(() => {
    const nav = tabs.current;
    if (!nav) return;
    const update = () => {
      const left = nav.scrollLeft > 1;
      const right = nav.scrollLeft + nav.clientWidth < nav.scrollWidth - 1;
      setEdges((e) => (e.left === left && e.right === right ? e : { left, right }));
    };
    update();
    nav.addEventListener('scroll', update, { passive: true });
    window.addEventListener('resize', update);
    return () => {
      nav.removeEventListener('scroll', update);
      window.removeEventListener('resize', update);
    };
  }, [gate]);
  return (
    <main className="screen shell" aria-labelledby={`${id}-t`}>
      {/* Back where it is reached without scrolling (UI.md: a small window); "Verify it's you" has its own Cancel. */}
      <header className="brand account-header">
        <h1 id={`${id}-t`}>
          <span className="logo" aria-hidden="true">SLS</span> {t('screen.title')}
        </h1>
        {gate === 'verify' ? null : (
          <button type="button" className="link" onClick={onBack}>
            {t('screen.back')}
          </button>
        )}
      </header>
      {/* SPEC C5: the polite notice before the session ends. */}
      {notice}
      <p className="hint">
        {session.account
          ? t('screen.userWithAccount', { name: session.user.displayName, username: session.user.username, account: session.account.number })
          : `${session.user.displayName} (${session.user.username})`}
      </p>
      {gate === 'checking' ? (
        <p className="waiting" role="status">
          <Spinner /> {t('busy.checking')}
        </p>
      ) : gate === 'verify' ? (
        <VerifyPanel api={api} notice={verifyNotice} onStep={onVerifyStep} onCancel={onBack} />
      ) : (
        <>
          <nav aria-label={t('screen.nav')} className={`section-tabs${edges.left ? ' more-left' : ''}${edges.right ? ' more-right' : ''}`} ref={tabs}>
            {sections.map((key) => (
              <button key={key} type="button" className={section === key ? 'primary' : 'secondary-button'} aria-pressed={section === key} onClick={() => choose(key)}>
                {t(`sections.${key}`)}
              </button>
            ))}
          </nav>
          {section === 'withdraw' ? <WithdrawPanel api={panelApi} /> : null}
          {section === 'devices' ? <DevicesPanel api={panelApi} signedInWith={signedInWith} onSignedOut={onSignedOut} /> : null}
          {section === 'share' ? (
            <SharePanel
              api={panelApi}
              username={session.user.username}
              signedInWith={signedInWith}
              onSignedOut={onSignedOut}
              onVerifyAgain={(n) => {
                setVerifyNotice(n);
                setGate('verify');
              }}
            />
          ) : null}
          {section === 'sls' ? <SlsPanel api={panelApi} /> : null}
          {section === 'mobile' ? <MobilePanel api={panelApi} /> : null}
          {section === 'card' ? <OnlineCardPanel api={panelApi} /> : null}
        </>
      )}
      <footer className="footer">
        <span />
        {footer}
      </footer>
    </main>
  );
}
