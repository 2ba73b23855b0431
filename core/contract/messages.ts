/**
 * What the user reads for each error: what happened, what to do, and until when (SPEC L6, C5).
 *
 * Pure and zod-free so the renderer can import it without weight. Times are shown in New York time,
 * the broker's clock (the lockout wording of UI.md: "Try again after 14:32 (New York time)").
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

function nyParts(date: Date): { day: string; time: string } {
  const day = new Intl.DateTimeFormat('en-US', { timeZone: NEW_YORK, weekday: 'short', month: 'short', day: 'numeric' }).format(date);
  const time = new Intl.DateTimeFormat('en-US', { timeZone: NEW_YORK, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(date);
  return { day, time };
}

/**
 * "14:32" when `when` falls on today's New York date, else "Sun, Nov 29, 14:32".
 */
export function formatNewYorkTime(when: Date, now: Date): string {
  const w = nyParts(when);
  const n = nyParts(now);
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

/** The polite notice shown a few minutes before the session ends (SPEC C5). */
export function sessionEndingText(expiresAt: string, now: Date = new Date()): ErrorText {
  const at = validDate(expiresAt);
  return {
    message: at ? `Your session ends at ${formatNewYorkTime(at, now)} (New York time).` : 'Your session ends soon.',
    action: 'Sign in again to continue.',
  };
}

/** What the login form says after the session ended while signed in: when, if it ran out, and what to do. */
export function sessionEndedText(expiresAt: string | undefined, now: Date = new Date()): ErrorText {
  const at = validDate(expiresAt);
  return {
    message: at ? `Your session ended at ${formatNewYorkTime(at, now)} (New York time).` : 'Your session has ended.',
    action: 'Log in again.',
  };
}

function validDate(iso: string | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * The wording for an error. Known codes get ours (kept from the knowledge base where it has one);
 * unknown codes fall back to the server's safe message.
 */
export function describeError(error: ClientError, now: Date = new Date()): ErrorText {
  const retry = validDate(error.retryAt);
  switch (error.code) {
    case 'SLS_ERR_INVALID_CREDENTIALS':
      // SPEC L1: one generic line for unknown users and wrong passwords alike.
      return { message: 'The user name or password is incorrect.', action: 'Check both and try again.' };
    case 'SLS_ERR_USER_LOCKED': {
      // SPEC L6 and UI.md: the exact wording, with the time the lock ends.
      const until = validDate(error.lockedUntil);
      const when = until ? formatNewYorkTime(until, now) : null;
      return {
        message: 'Too many failed attempts.',
        action: when ? `Try again after ${when} (New York time) or call client services.` : 'Try again later or call client services.',
      };
    }
    case 'SLS_ERR_RATE_LIMITED':
      return {
        message: 'Too many attempts from this computer.',
        action: retry ? `Try again after ${formatNewYorkTime(retry, now)} (New York time).` : 'Wait a moment and try again.',
      };
    case 'SLS_ERR_WRONG_RESPONSE': {
      const left = error.attemptsLeft;
      if (left === 0) return { message: 'That response is not correct.', action: 'This login has ended after 3 wrong responses. Log in again.' };
      return {
        message: 'That response is not correct.',
        action: left === undefined ? 'Check the code and try again.' : `Check the code and try again: ${left} ${left === 1 ? 'attempt' : 'attempts'} left in this login.`,
      };
    }
    case 'SLS_ERR_TRANSACTION_EXPIRED':
      return { message: 'This login took too long and has expired.', action: 'Log in again.' };
    case 'SLS_ERR_TRANSACTION_ENDED':
    case 'SLS_ERR_TRANSACTION_NOT_FOUND':
    case 'SLS_ERR_NO_LOGIN_IN_PROGRESS':
      return { message: 'This login has ended.', action: 'Log in again.' };
    case 'SLS_ERR_NO_ACTIVE_DEVICE':
      return { message: 'Your user has no active second factor device.', action: 'Call client services for temporary access.' };
    case 'SLS_ERR_DEVICE_NOT_AVAILABLE':
      return { message: 'This device cannot be used right now.', action: 'Choose another device.' };
    case 'SLS_ERR_NO_CHALLENGE':
    case 'SLS_ERR_CHALLENGE_USED':
      return { message: 'This challenge is no longer valid.', action: 'Choose the device again to get a new challenge.' };
    case 'SLS_ERR_RESEND_TOO_SOON':
      return {
        message: 'A new code cannot be sent yet.',
        action: retry ? `Try again in ${formatCountdown(retry.getTime() - now.getTime())}.` : 'Wait a moment and try again.',
      };
    case 'SLS_ERR_SMS_CARRIER_HOURS':
      return {
        message: 'A text message cannot be delivered to your phone at this hour (carrier hours).',
        action: retry ? `Use another device, or try again after ${formatNewYorkTime(retry, now)} (New York time).` : 'Use another device, or try again later.',
      };
    case 'SLS_ERR_PHONE_DO_NOT_CALL':
      return { message: 'Your mobile number is on a do-not-call list and cannot receive text messages.', action: error.message || 'Choose another device, or call client services.' };
    case 'SLS_ERR_UNAUTHENTICATED':
    case 'SLS_ERR_SESSION_EXPIRED':
      return { message: 'Your session has ended.', action: 'Log in again.' };
    case 'SLS_ERR_SERVER_UNREACHABLE':
      return { message: 'Cannot reach the SLS server.', action: 'Check the server address and your connection, then try again.' };
    case 'SLS_ERR_BAD_SERVER_RESPONSE':
      return { message: 'The server did not answer like an SLS server.', action: 'Check the server address.' };
    case 'SLS_ERR_VALIDATION':
    case 'SLS_ERR_INVALID_INPUT':
      return { message: 'Some input is not valid.', action: error.issues?.[0]?.message ?? 'Check what you typed and try again.' };
    case 'SLS_ERR_PUSH_DENIED':
      // UI.md wording.
      return { message: 'The request was denied on your phone.', action: "If that wasn't you, your account is protected: call client services." };
    case 'SLS_ERR_PUSH_WRONG_NUMBER':
      return { message: 'The number chosen on your phone did not match the one on this screen.', action: 'This login has ended. Log in again and choose the number shown here.' };
    case 'SLS_ERR_HOST_DISCONNECTED':
      return { message: 'The connection to SLS Desktop was lost.', action: 'Close this window and start SLS Desktop again.' };
    case 'SLS_ERR_KEYCHAIN':
      return { message: 'The system keychain could not be used.', action: 'Unlock your keychain and try again.' };
    default:
      return { message: error.message || 'Something went wrong.', action: 'Try again; if it keeps happening, call client services.' };
  }
}
