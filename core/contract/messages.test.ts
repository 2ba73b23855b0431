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

  it('L6, C5: a step refused as naming a login that is not the current one ends that login on its screen', () => {
    expect(endsLogin({ code: 'SLS_ERR_LOGIN_NOT_CURRENT', message: '' })).toBe(true);
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

  it('SPEC L6, C5: every login step names the login it answers, and a step without one does not match', () => {
    const steps = [
      ['selectDevice', { deviceId: 'dev_1' }],
      ['respond', { response: '123456' }],
      ['waitForApproval', { quick: true }],
      ['resendCode', {}],
      ['cancelLogin', {}],
    ] as const;
    for (const [name, input] of steps) {
      expect(CALLS[name].input.safeParse(input).success, name).toBe(false);
      expect(CALLS[name].input.safeParse({ ...input, loginId: 'login_Ab-9' }).success, name).toBe(true);
      // An id is one slsd-like token, never a path (SPEC C3).
      expect(CALLS[name].input.safeParse({ ...input, loginId: '../x' }).success, name).toBe(false);
    }
    // The steps the host answers carry it; the transaction id stays in the host.
    const view = { status: 'select_device', expiresAt: '2026-11-28T15:05:00Z', devices: [], preselectedDeviceId: 'dev_1' };
    expect(CALLS.login.output.safeParse(view).success).toBe(false);
    expect(CALLS.login.output.parse({ ...view, loginId: 'login_1', transactionId: 'tx_1' })).not.toHaveProperty('transactionId');
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
