import { describe, expect, it } from 'vitest';
import { CALLS } from './contract.ts';
import { describeError, endsLogin, endsSession, formatCountdown, formatNewYorkTime, sessionEndedText, sessionEndingText } from './messages.ts';
import { CALL_NAMES } from './names.ts';

describe('error wording (SPEC L6, C5)', () => {
  it('says the lockout with the New York time it ends, in the knowledge-base wording', () => {
    const now = new Date('2026-11-28T15:00:00Z');
    const t = describeError({ code: 'SLS_ERR_USER_LOCKED', message: 'x', lockedUntil: '2026-11-28T19:32:00Z' }, now);
    expect(`${t.message} ${t.action}`).toBe('Too many failed attempts. Try again after 14:32 (New York time) or call client services.');
  });

  it('adds the day when the lock ends on another New York date, across daylight saving', () => {
    const now = new Date('2026-07-01T12:00:00Z');
    expect(formatNewYorkTime(new Date('2026-07-02T18:32:00Z'), now)).toBe('Thu, Jul 2, 14:32');
  });

  it('counts wrong responses left, and ends the login at zero', () => {
    expect(describeError({ code: 'SLS_ERR_WRONG_RESPONSE', message: '', attemptsLeft: 1 }).action).toContain('1 attempt left');
    expect(endsLogin({ code: 'SLS_ERR_WRONG_RESPONSE', message: '', attemptsLeft: 0 })).toBe(true);
    expect(endsLogin({ code: 'SLS_ERR_WRONG_RESPONSE', message: '', attemptsLeft: 2 })).toBe(false);
  });

  it('tells how long until a new SMS code may be requested', () => {
    const now = new Date('2026-11-28T15:00:00Z');
    expect(describeError({ code: 'SLS_ERR_RESEND_TOO_SOON', message: '', retryAt: '2026-11-28T15:00:41Z' }, now).action).toBe('Try again in 0:41.');
    expect(formatCountdown(754_200)).toBe('12:35');
  });

  it('falls back to the server message for an unknown code', () => {
    expect(describeError({ code: 'SLS_ERR_SOMETHING_NEW', message: 'A new thing.' }).message).toBe('A new thing.');
  });
});

describe('contract', () => {
  it('has schemas for exactly the named calls', () => {
    expect(Object.keys(CALLS).sort()).toEqual([...CALL_NAMES].sort());
  });
});

describe('session expiry wording (SPEC C1, C5, L8)', () => {
  it('warns before the end, and says when it ended, in New York time', () => {
    const now = new Date('2026-11-28T23:58:00Z');
    const ending = sessionEndingText('2026-11-29T00:03:00Z', now);
    expect(`${ending.message} ${ending.action}`).toBe('Your session ends at 19:03 (New York time). Sign in again to continue.');
    const ended = sessionEndedText('2026-11-29T00:03:00Z', new Date('2026-11-29T00:04:00Z'));
    expect(`${ended.message} ${ended.action}`).toBe('Your session ended at 19:03 (New York time). Log in again.');
  });

  it('says the session has ended without a time when slsd ended it before its expiry', () => {
    expect(sessionEndedText(undefined)).toEqual({ message: 'Your session has ended.', action: 'Log in again.' });
    expect(sessionEndedText('not a date').message).toBe('Your session has ended.');
  });

  it('counts SESSION_EXPIRED and UNAUTHENTICATED as ending the session, nothing else', () => {
    expect(endsSession({ code: 'SLS_ERR_SESSION_EXPIRED', message: '' })).toBe(true);
    expect(endsSession({ code: 'SLS_ERR_UNAUTHENTICATED', message: '' })).toBe(true);
    expect(endsSession({ code: 'SLS_ERR_SERVER_UNREACHABLE', message: '' })).toBe(false);
    expect(endsSession({ code: 'SLS_ERR_TRANSACTION_ENDED', message: '' })).toBe(false);
  });
});
