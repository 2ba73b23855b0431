// The response field shared by the login and the Account screens' confirmations (SPEC L4, L6, D2, D3), and a confirmation's error wording.
import { afterEach, describe, expect, it } from 'vitest';
import { applyLanguage, i18n } from '../i18n/index.ts';
import { describeConfirmationError, describeError, endsConfirmation } from '../messages.ts';
import { cleanResponse, expectedResponse } from './response-field.tsx';

afterEach(() => applyLanguage('en'));

const t = () => i18n.getFixedT('en', 'challenge');

describe('what a confirmation asks to be typed (SPEC L4, D2, D3)', () => {
  it('keeps only what the device produces, up to its length', () => {
    expect(cleanResponse('12 34-56 789', 'digits', 8)).toBe('12345678');
    expect(cleanResponse('a1c e9 bz', 'platinum', 8)).toBe('A1CE9');
    expect(cleanResponse('x7k 2q9', 'alphanumeric', 6)).toBe('X7K2Q9');
  });

  it('takes the length and alphabet from the challenge, with the login hints', () => {
    const gold = expectedResponse(t(), { type: 'response_code', deviceId: 'd', kind: 'gold', challenge: '12345678', responseLength: 8, responseAlphabet: 'digits', pinOnDevice: false });
    expect(gold).toEqual({ alphabet: 'digits', length: 8, hint: '8 digits' });
    const platinum = expectedResponse(t(), { type: 'response_code', deviceId: 'd', kind: 'platinum', challenge: '12345678', responseLength: 8, responseAlphabet: 'platinum', pinOnDevice: false });
    expect(platinum.alphabet).toBe('platinum');
    const card = expectedResponse(t(), { type: 'index_numbers', deviceId: 'd', kind: 'scc', indexes: [117, 42], unusedCells: 100, nearlyUsedUp: false });
    expect(card).toMatchObject({ alphabet: 'alphanumeric', length: 6 });
  });

  it('says until when an SMS code is valid, in New York time', () => {
    const sms = expectedResponse(
      t(),
      { type: 'sms_code', deviceId: 'd', kind: 'sms', maskedNumber: '+1 ••• ••• ••12', codeLength: 6, resendAvailableAt: '2026-11-28T15:00:30Z', expiresAt: '2026-11-28T15:05:00Z' },
      new Date('2026-11-28T15:00:00Z'),
    );
    expect(sms).toEqual({ alphabet: 'digits', length: 6, hint: '6 digits, valid until 10:05 (New York time)' });
  });

  it("answers a push, which a confirmation never asks (offline mode), with its kind's offline code", () => {
    const push = expectedResponse(t(), { type: 'push', deviceId: 'd', kind: 'ibkey', matchNumber: 47, expiresAt: '2026-11-28T15:05:00Z' });
    expect(push).toMatchObject({ alphabet: 'digits', length: 8 });
  });
});

describe("a confirmation's errors (SPEC L6)", () => {
  it('counts the attempts left for the confirmation, not the login', () => {
    const wrong = (attemptsLeft: number) => describeConfirmationError({ code: 'SLS_ERR_WRONG_RESPONSE', message: '', attemptsLeft });
    expect(wrong(2)).toEqual({ message: 'That response is not correct.', action: 'Check the code and try again: 2 attempts left for this confirmation.' });
    expect(wrong(1).action).toBe('Check the code and try again: 1 attempt left for this confirmation.');
    expect(wrong(0).action).toBe('This confirmation has ended after 3 wrong responses; nothing was done. Start again for a new challenge.');
    expect(`${wrong(2).message} ${wrong(2).action}`).not.toContain('login');
  });

  it('says an ended or expired confirmation did nothing, and other errors as everywhere', () => {
    expect(describeConfirmationError({ code: 'SLS_ERR_TRANSACTION_ENDED', message: '' }).message).toBe('This confirmation has ended; nothing was done.');
    expect(describeConfirmationError({ code: 'SLS_ERR_TRANSACTION_EXPIRED', message: '' }).message).toBe('This confirmation took too long and has expired; nothing was done.');
    const limit = { code: 'SLS_ERR_RATE_LIMITED', message: '' };
    expect(describeConfirmationError(limit)).toEqual(describeError(limit));
  });

  it('words it in German and French too', () => {
    applyLanguage('de');
    expect(describeConfirmationError({ code: 'SLS_ERR_WRONG_RESPONSE', message: '', attemptsLeft: 2 }).action).toContain('noch 2 Versuche für diese Bestätigung');
    applyLanguage('fr');
    expect(describeConfirmationError({ code: 'SLS_ERR_WRONG_RESPONSE', message: '', attemptsLeft: 1 }).action).toContain('il reste 1 tentative pour cette confirmation');
  });

  it('gives the step up once it can no longer be answered', () => {
    expect(endsConfirmation({ code: 'SLS_ERR_WRONG_RESPONSE', message: '', attemptsLeft: 0 })).toBe(true);
    expect(endsConfirmation({ code: 'SLS_ERR_WRONG_RESPONSE', message: '', attemptsLeft: 1 })).toBe(false);
    expect(endsConfirmation({ code: 'SLS_ERR_TRANSACTION_EXPIRED', message: '' })).toBe(true);
    expect(endsConfirmation({ code: 'SLS_ERR_WITHDRAWAL_LIMIT', message: '' })).toBe(false);
  });
});
