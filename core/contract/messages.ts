/**
 * The language-free part of what the user reads for errors (SPEC L6, C5): which errors end a login
 * or a session, and how times are written. The words themselves are the renderer's, in the user's
 * language (renderer/messages.ts). Times are New York time, the broker's clock.
 */
import type { ClientError } from './errors.ts';

export const NEW_YORK = 'America/New_York';

/** A rejected contract call, as the renderer's transports throw it. */
export class ContractError extends Error {
  readonly error: ClientError;
  constructor(error: ClientError) {
    super(error.message);
    this.name = 'ContractError';
    this.error = error;
  }
  get code(): string {
    return this.error.code;
  }
}

function nyParts(date: Date, locale: string): { day: string; time: string } {
  const day = new Intl.DateTimeFormat(locale, { timeZone: NEW_YORK, weekday: 'short', month: 'short', day: 'numeric' }).format(date);
  const time = new Intl.DateTimeFormat(locale, { timeZone: NEW_YORK, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(date);
  return { day, time };
}

/**
 * "14:32" when `when` falls on today's New York date, else "Sun, Nov 29, 14:32" (in `locale`'s words:
 * "So., 29. Nov., 14:32").
 */
export function formatNewYorkTime(when: Date, now: Date, locale = 'en-US'): string {
  const w = nyParts(when, locale);
  const n = nyParts(now, locale);
  return w.day === n.day ? w.time : `${w.day}, ${w.time}`;
}

/** "0:41", "12:05": a countdown to show beside a spinner or a disabled button. */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}:${String(s).padStart(2, '0')}`;
}

export interface ErrorText {
  /** One line: what happened. */
  readonly message: string;
  /** What to do about it, and until when. */
  readonly action: string;
}

/** Errors after which the login is over and the renderer goes back to the login form. */
export function endsLogin(error: ClientError): boolean {
  switch (error.code) {
    case 'SLS_ERR_TRANSACTION_ENDED':
    case 'SLS_ERR_TRANSACTION_EXPIRED':
    case 'SLS_ERR_TRANSACTION_NOT_FOUND':
    case 'SLS_ERR_NO_LOGIN_IN_PROGRESS':
    case 'SLS_ERR_LOGIN_NOT_CURRENT': // SPEC L6, C5: the login this screen shows is no longer the current one (a newer one was started).
    case 'SLS_ERR_USER_LOCKED':
    case 'SLS_ERR_PUSH_DENIED':
    case 'SLS_ERR_PUSH_WRONG_NUMBER':
      return true;
    case 'SLS_ERR_WRONG_RESPONSE':
      return error.attemptsLeft === 0;
    default:
      return false;
  }
}

/** Errors of slsd after which the session is gone: the host drops it and the renderer returns to the login form. */
export function endsSession(error: ClientError): boolean {
  return error.code === 'SLS_ERR_SESSION_EXPIRED' || error.code === 'SLS_ERR_UNAUTHENTICATED';
}

/** How long before the session's expiry the signed-in screens say it is about to end (SPEC C1, C5). */
export const SESSION_WARNING_MS = 5 * 60_000;

/**
 * How long before a login's own time limit (slsd's transaction, 5 minutes) the device screens say it
 * is about to end (SPEC L2–L5, C5): long enough to finish a step, short enough not to hurry anyone.
 */
export const LOGIN_WARNING_MS = 60_000;
