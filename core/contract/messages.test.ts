import { describe, expect, it } from 'vitest';
import { CALLS } from './contract.ts';
import { endsLogin, endsSession, formatCountdown, formatNewYorkTime } from './messages.ts';
import { CALL_NAMES } from './names.ts';

describe('times and counts in error wording (SPEC L6, C5)', () => {
  it('writes the New York time alone on its own day, with the day on another, across daylight saving', () => {
    expect(formatNewYorkTime(new Date('2026-11-28T19:32:00Z'), new Date('2026-11-28T15:00:00Z'))).toBe('14:32');
    const now = new Date('2026-07-01T12:00:00Z');
    expect(formatNewYorkTime(new Date('2026-07-02T18:32:00Z'), now)).toBe('Thu, Jul 2, 14:32');
    // In the client's language, the broker's clock still.
    expect(formatNewYorkTime(new Date('2026-07-02T18:32:00Z'), now, 'de-DE')).toBe('Do., 2. Juli, 14:32');
  });

  it('ends the login at the third wrong response, not before', () => {
    expect(endsLogin({ code: 'SLS_ERR_WRONG_RESPONSE', message: '', attemptsLeft: 0 })).toBe(true);
    expect(endsLogin({ code: 'SLS_ERR_WRONG_RESPONSE', message: '', attemptsLeft: 2 })).toBe(false);
  });

  it('counts down minutes and seconds', () => {
    expect(formatCountdown(754_200)).toBe('12:35');
    expect(formatCountdown(-5)).toBe('0:00');
  });
});

describe('contract', () => {
  it('has schemas for exactly the named calls', () => {
    expect(Object.keys(CALLS).sort()).toEqual([...CALL_NAMES].sort());
  });
});

describe('the end of a session (SPEC C1, C5, L8)', () => {
  it('counts SESSION_EXPIRED and UNAUTHENTICATED as ending the session, nothing else', () => {
    expect(endsSession({ code: 'SLS_ERR_SESSION_EXPIRED', message: '' })).toBe(true);
    expect(endsSession({ code: 'SLS_ERR_UNAUTHENTICATED', message: '' })).toBe(true);
    expect(endsSession({ code: 'SLS_ERR_SERVER_UNREACHABLE', message: '' })).toBe(false);
    expect(endsSession({ code: 'SLS_ERR_TRANSACTION_ENDED', message: '' })).toBe(false);
  });
});
