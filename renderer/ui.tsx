/**
 * Small building blocks shared by the screens: error line, spinner, busy button, the action hook,
 * the focus after a step that failed.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ReactNode, Ref } from 'react';
import { ContractError, formatCountdown } from '../core/contract/messages.ts';
import { i18n } from './i18n/index.ts';
import { describeError } from './messages.ts';
import type { ClientError, ErrorText, LoginStepView } from '../core/contract/index.ts';

export function Spinner({ label }: { label?: string }) {
  return <span className="spinner" role={label ? 'img' : undefined} aria-label={label} aria-hidden={label ? undefined : true} />;
}

/** A line for the login screen: an error, or news such as "App data was reset". */
export type Notice = ErrorText & { tone?: 'error' | 'info' };

/** One line: what happened, then what to do (SPEC C5). Announced by screen readers. */
export function ErrorLine({ error, id }: { error: Notice | null; id?: string }) {
  if (error?.tone === 'info') {
    return (
      <div className="error-slot" role="status" id={id}>
        <p className="info">{error.message}</p>
      </div>
    );
  }
  return (
    <div className="error-slot" role="alert" id={id}>
      {error ? (
        <p className="error">
          <strong>{error.message}</strong> {error.action}
        </p>
      ) : null}
    </div>
  );
}

/** `ref`: for a screen that puts the focus back on it after a step (`refocus`). */
export function BusyButton({ busy, children, busyLabel, ref }: { busy: boolean; children: ReactNode; busyLabel: string; ref?: Ref<HTMLButtonElement> }) {
  return (
    <button ref={ref} type="submit" className="primary" aria-busy={busy} disabled={busy}>
      {busy ? (
        <>
          <Spinner /> <span>{busyLabel}</span>
        </>
      ) : (
        children
      )}
    </button>
  );
}

export function toClientError(e: unknown): ClientError {
  if (e instanceof ContractError) return e.error;
  return { code: 'SLS_ERR_HOST_INTERNAL', message: i18n.t('common:ui.hostInternal') };
}

/**
 * A step of the login that, refused, may come with the step the login is at now (SPEC L2, L5: with
 * SLS_ERR_DEVICE_NOT_AVAILABLE the host reads it again from slsd, with the devices the user has now,
 * e.g. after IB Key moved to another phone). `show` gets that step; the refusal goes on, so the
 * screen of the current step says why (run it inside `useAction`'s `run`, `show` only while its `live`).
 */
export function withCurrentLoginStep<T>(call: () => Promise<T>, show: (step: LoginStepView) => void): () => Promise<T> {
  return async () => {
    try {
      return await call();
    } catch (e) {
      if (e instanceof ContractError && e.error.loginStep) show(e.error.loginStep);
      throw e;
    }
  };
}

/** `useAction`'s options. */
export interface ActionOptions {
  /**
   * A call sent while one is still on its way (from the same scope: see `leave`) is not sent; `run`
   * answers undefined. For steps that must go once: the Enter pressed twice before the button that
   * sent the first one was disabled (SPEC L1–L5: a response sent twice counts twice, L6).
   */
  oneAtATime?: boolean;
}

/**
 * Runs one host call at a time for a screen: busy flag, the error to show, and a hook for errors
 * that end the login (handled by the app, which returns to the login form). `describe` words the
 * errors (a confirmation's differ from a login's: `describeConfirmationError`); it must be stable.
 *
 * `leave`: the user left what the calls on their way were for (SPEC L1–L5, C6: Cancel, a login that
 * ended or signed in, a login form gone). Their outcomes are then dropped whenever they come: `run`
 * answers undefined, calls no `onEnded`, shows no error and leaves the busy flag of the calls sent
 * since alone; the busy flag and the error go at once. An error `onEnded` took (it ended the login)
 * leaves too: another call of that login still on its way belongs to a screen no longer shown. `fn`
 * gets `live`: whether its outcome is still wanted, for what it shows on its own (`withCurrentLoginStep`).
 */
export function useAction(onEnded?: (error: ClientError) => boolean, describe: (error: ClientError) => ErrorText = describeError, { oneAtATime = false }: ActionOptions = {}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorText | null>(null);
  const mounted = useRef(true);
  /** Moved on by `leave`: a call sent under an earlier scope is of something the user left. */
  const scope = useRef(0);
  /** The scope of the `oneAtATime` call on its way, if any. */
  const pending = useRef<number | null>(null);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  const leave = useCallback(() => {
    scope.current += 1;
    pending.current = null;
    if (!mounted.current) return;
    setBusy(false);
    setError(null);
  }, []);
  const run = useCallback(
    async <T,>(fn: (live: () => boolean) => Promise<T>): Promise<T | undefined> => {
      const mine = scope.current;
      const live = () => scope.current === mine;
      if (oneAtATime && pending.current === mine) return undefined;
      pending.current = mine;
      setBusy(true);
      setError(null);
      try {
        const value = await fn(live);
        return live() ? value : undefined;
      } catch (e) {
        if (!live()) return undefined;
        const ce = toClientError(e);
        if (onEnded?.(ce)) {
          leave();
          return undefined;
        }
        if (mounted.current) setError(describe(ce));
        return undefined;
      } finally {
        if (live()) {
          pending.current = null;
          if (mounted.current) setBusy(false);
        }
      }
    },
    [onEnded, describe, oneAtATime, leave],
  );
  return { busy, error, setError, run, leave };
}

/**
 * The latest value, read from effects that must not start again when it changes: a card that is
 * answering must not be asked twice because a parent re-rendered with new callbacks.
 */
export function useLatest<T>(value: T): { readonly current: T } {
  const ref = useRef(value);
  useEffect(() => {
    ref.current = value;
  });
  return ref;
}

/**
 * What the focus can go back to after a failed step: a field (an input, a drop-down) or a button.
 * Structural, so that the rule is tested without a DOM; every element of these kinds fits.
 */
export interface FocusTarget {
  focus(): void;
  /** An input's: its text selected, so that typing replaces it. */
  select?(): void;
  contains(other: Node | null): boolean;
  /** The form it belongs to: the focus is still the step's while it is in there (its button, another of its fields). */
  readonly form?: { contains(other: Node | null): boolean } | null;
  readonly ownerDocument: { readonly activeElement: Element | null; readonly body: Element | null };
}

/**
 * Put the focus back on `target` after a step that failed and left the screen as it was (SPEC C5):
 * the field to correct, with `select` its text selected (typing replaces it), or the button to
 * press again. The button that sent the step is disabled while it waits, which drops the focus to
 * <body>: Tab would start over from the page's end. Only when the focus is nowhere (<body>) or still
 * in the step's form: a user who went on to another control meanwhile keeps it. Says whether it did.
 */
export function refocus(target: FocusTarget | null | undefined, { select = false }: { select?: boolean } = {}): boolean {
  if (!target) return false;
  const { activeElement: at, body } = target.ownerDocument;
  const own = target.form ?? target;
  if (at && at !== body && !own.contains(at)) return false;
  target.focus();
  if (select) target.select?.();
  return true;
}

/**
 * Runs `onFailed` when a step ends (`busy` true, then false) with an error and the screen stays:
 * where the focus goes then (`refocus`). A step that succeeded, and an error that came without a
 * step of this screen's (an IB Key poll), do not run it.
 */
export function useAfterFailure(busy: boolean, failed: boolean, onFailed: () => void): void {
  const latest = useLatest(onFailed);
  const wasBusy = useRef(busy);
  useEffect(() => {
    const ended = wasBusy.current && !busy;
    wasBusy.current = busy;
    if (ended && failed) latest.current();
  }, [busy, failed, latest]);
}

/**
 * Escape runs `onEscape`, a screen's Cancel (SPEC C5, keyboard-only use); null listens to nothing.
 * A key a control already handled (`preventDefault`) is left alone.
 */
export function useEscape(onEscape: (() => void) | null): void {
  const latest = useLatest(onEscape);
  const active = onEscape !== null;
  useEffect(() => {
    if (!active) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape' || e.defaultPrevented) return;
      // A modal <dialog> (Reset app data) closes itself on Escape; the screen behind stays.
      if (e.target instanceof Element && e.target.closest('dialog[open]')) return;
      e.preventDefault();
      latest.current?.();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [active, latest]);
}

/** The current time, ticking every `ms`, for countdowns. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/** Group a code for reading aloud and by eye: "6 2 3 4 9 1" for screen readers. */
export function spelled(code: string): string {
  return code.split('').join(' ');
}

/**
 * Time left until `deadline` (ISO, this computer's clock) as m:ss, ticking each second; null without
 * one or once past it. For waits the user should see run (SPEC C5: the DSC+ waiting for its PIN).
 */
export function useTimeLeft(deadline: string | undefined): string | null {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!deadline) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [deadline]);
  if (!deadline) return null;
  const left = Date.parse(deadline) - now;
  return left > 0 ? formatCountdown(left) : null;
}
