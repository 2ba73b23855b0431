/**
 * The response field of a challenge, one for the login's second-factor screens and the Account
 * screens' confirmations (a withdrawal, a sharing request, a device's activation): the same device
 * gives the same kind of answer in both places (SPEC L4, D2, D3, W1, S3, D6).
 *
 * Only what the device can produce is kept, and a response of the wrong length is refused here with
 * a hint, before it is sent: a response slsd judges wrong counts towards the 3 a login or a
 * confirmation allows and the user's lock (L6), a typing slip must not.
 */
import { useEffect, useId, useRef, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import type { Challenge } from '../../core/api.ts';
import { formatNewYorkTime } from '../../core/contract/messages.ts';
import type { ErrorText } from '../../core/contract/index.ts';
import { DEVICE_CATALOGUE, PLATINUM_ALPHABET } from '../../core/devices.ts';
import type { ResponseAlphabet } from '../../core/devices.ts';
import { locale } from '../i18n/index.ts';
import { BusyButton, ErrorLine, refocus, useAfterFailure } from '../ui.tsx';

/** Keep only what the device can produce, uppercased where the alphabet has letters (SPEC D2, D3). */
export function cleanResponse(raw: string, alphabet: ResponseAlphabet, max: number): string {
  const up = raw.toUpperCase();
  const allowed = alphabet === 'digits' ? '0123456789' : alphabet === 'platinum' ? PLATINUM_ALPHABET : '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let out = '';
  for (const ch of up) if (allowed.includes(ch)) out += ch;
  return out.slice(0, max);
}

export function alphabetHint(t: TFunction<'challenge'>, alphabet: ResponseAlphabet, length: number): string {
  if (alphabet === 'digits') return t('hint.digits', { length });
  if (alphabet === 'platinum') return t('hint.platinum', { length });
  return t('hint.alphanumeric', { length });
}

/** What a challenge's answer is made of, and the hint under its field. */
export interface ExpectedResponse {
  readonly alphabet: ResponseAlphabet;
  readonly length: number;
  readonly hint: string;
}

/**
 * The answer a challenge asks for, with the login screens' hints (SPEC L4, D2, D3). A confirmation is
 * asked in offline mode, so IB Key answers with its offline code (K2), never a notification; should a
 * push come all the same, its kind's offline response is what the app shows.
 */
export function expectedResponse(t: TFunction<'challenge'>, c: Challenge, now: Date = new Date()): ExpectedResponse {
  switch (c.type) {
    case 'response_code':
      return { alphabet: c.responseAlphabet, length: c.responseLength, hint: alphabetHint(t, c.responseAlphabet, c.responseLength) };
    case 'index_numbers':
      // SPEC D3: two 3-character cells, typed together.
      return { alphabet: 'alphanumeric', length: 6, hint: t('indexNumbers.hint') };
    case 'sms_code':
      return { alphabet: 'digits', length: c.codeLength, hint: t('sms.hint', { length: c.codeLength, when: formatNewYorkTime(new Date(c.expiresAt), now, locale()) }) };
    case 'passcode':
      return { alphabet: 'digits', length: c.codeLength, hint: alphabetHint(t, 'digits', c.codeLength) };
    case 'push': {
      const kind = DEVICE_CATALOGUE[c.kind];
      const length = kind.responseLength ?? 8;
      return { alphabet: kind.responseAlphabet, length, hint: alphabetHint(t, kind.responseAlphabet, length) };
    }
  }
}

export interface ResponseFormProps {
  label: string;
  alphabet: ResponseAlphabet;
  length: number;
  hint: string;
  busy: boolean;
  error: ErrorText | null;
  onRespond(r: string): void;
  autoComplete?: string;
  extra?: ReactNode;
  /** The button's words; "Submit" on the login screens, the action itself in a confirmation ("Confirm withdrawal"). */
  submitLabel?: string;
  /** The field's name (`confirm-response` in the Account screens). */
  name?: string;
}

/**
 * A code field with its length and alphabet, and the submit button.
 *
 * It takes the focus and is scrolled into view when it appears (UI.md: "focus lands in the first
 * field"; the window is about 420×560, and in Account security the field can start below it). After
 * a response that was refused or could not be sent, the field has the focus again with the response
 * selected: compared with the device's display, or typed again over it (SPEC C5). Submit, disabled
 * while it waited, had dropped the focus to <body>. After another step of the screen that failed
 * (Resend, typing instead of the card), the field has the focus, its text as it was. Either way only
 * when the focus is nowhere or still in this form (`refocus`): a user who went on keeps it.
 */
export function ResponseForm({ label, alphabet, length, hint, busy, error, onRespond, autoComplete = 'one-time-code', extra, submitLabel, name = 'response' }: ResponseFormProps) {
  const { t } = useTranslation('challenge');
  const [value, setValue] = useState('');
  const [short, setShort] = useState<ErrorText | null>(null);
  const id = useId();
  const form = useRef<HTMLFormElement>(null);
  const field = useRef<HTMLInputElement>(null);
  const shown = short ?? error;
  /** This form sent the response now waited for: its failure selects it (Resend's leaves what is typed). */
  const sent = useRef(false);
  useEffect(() => {
    // The whole form (field, button, hint and error line) in view: 'nearest' scrolls only when needed.
    form.current?.scrollIntoView({ block: 'nearest' });
  }, [shown, busy]);
  useAfterFailure(busy, error !== null, () => refocus(field.current, { select: sent.current }));
  useEffect(() => {
    if (!busy) sent.current = false;
  }, [busy]);
  function submit(e: FormEvent) {
    e.preventDefault();
    // A response on its way: Submit is disabled (so is Enter's implicit submission); this is for a
    // second Enter before that shows. Two submits before the form re-renders both see `busy` false:
    // the step itself goes one at a time (`useAction`'s `oneAtATime`, SPEC L6, W4).
    if (busy) return;
    if (value.length !== length) {
      setShort({ message: t('form.tooShort', { length }), action: t('form.typed', { typed: value.length }) });
      // Refused here, nothing sent: on to the field to finish it (from Submit, pressed with Enter or a click).
      refocus(field.current);
      return;
    }
    setShort(null);
    sent.current = true;
    onRespond(value);
  }
  return (
    <form ref={form} onSubmit={submit} className="response-form" aria-busy={busy}>
      <label htmlFor={`${id}-r`}>{label}</label>
      <div className="with-button">
        <input
          ref={field}
          id={`${id}-r`}
          className="code-input"
          name={name}
          value={value}
          inputMode={alphabet === 'digits' ? 'numeric' : 'text'}
          autoComplete={autoComplete}
          autoCapitalize="characters"
          spellCheck={false}
          aria-describedby={`${id}-h`}
          onChange={(e) => setValue(cleanResponse(e.target.value, alphabet, length))}
          autoFocus
        />
        <BusyButton busy={busy} busyLabel={t('form.checking')}>
          {submitLabel ?? t('form.submit')}
        </BusyButton>
      </div>
      <p className="hint" id={`${id}-h`}>
        {hint}
      </p>
      {extra}
      <ErrorLine error={shown} />
    </form>
  );
}
