// Mobile numbers (SPEC P2): VOIP refused, only mobile numbers, and the carriers' delivery hours.
import { describe, expect, it } from 'vitest';
import { checkMobileNumber, COUNTRY_TIME_ZONES, countryOfNumber, MOBILE_NUMBER_REFUSAL_MESSAGES, smsDeliverableFrom } from './phone.ts';

describe('checkMobileNumber (SPEC P2)', () => {
  it('P2: accepts a UK mobile number and gives E.164', () => {
    expect(checkMobileNumber('+44 7400 123456')).toEqual({ ok: true, e164: '+447400123456', country: 'GB' });
  });
  it('P2: accepts a US number (mobile and fixed lines share ranges there)', () => {
    expect(checkMobileNumber('(212) 555-0123', 'US')).toEqual({ ok: true, e164: '+12125550123', country: 'US' });
  });
  it('P2: refuses a VOIP number (UK 056 range) with its own reason', () => {
    expect(checkMobileNumber('+44 56 1234 5678')).toEqual({ ok: false, reason: 'voip', type: 'VOIP' });
    expect(MOBILE_NUMBER_REFUSAL_MESSAGES.voip).toMatch(/virtual/);
  });
  it('P2: refuses a fixed line and a toll-free number as "not mobile"', () => {
    expect(checkMobileNumber('+44 20 7123 4567')).toMatchObject({ ok: false, reason: 'not_mobile', type: 'FIXED_LINE' });
    expect(checkMobileNumber('+1 800 555 1234')).toMatchObject({ ok: false, reason: 'not_mobile', type: 'TOLL_FREE' });
  });
  it('P2: refuses invalid input', () => {
    for (const bad of ['', 'hello', '+1 555 123 4567', '+99999', 'x'.repeat(100)]) expect(checkMobileNumber(bad)).toMatchObject({ ok: false, reason: 'invalid' });
  });
  it('knows the country of a number', () => {
    expect(countryOfNumber('+33756123456')).toBe('FR');
  });
});

describe('delivery hours 08:00–21:00 in the number\'s country (SPEC P2)', () => {
  const uk = '+447400123456';
  it('P2: inside the hours: now', () => {
    const t = Date.parse('2026-11-04T12:00:00Z'); // 12:00 London
    expect(smsDeliverableFrom(uk, t)).toBe(t);
  });
  it('P2: 08:00 exactly is inside, 07:59 is deferred to 08:00', () => {
    expect(smsDeliverableFrom(uk, Date.parse('2026-11-04T08:00:00Z'))).toBe(Date.parse('2026-11-04T08:00:00Z'));
    expect(smsDeliverableFrom(uk, Date.parse('2026-11-04T07:59:00Z'))).toBe(Date.parse('2026-11-04T08:00:00Z'));
  });
  it('P2: 21:00 is outside: deferred to 08:00 the next morning', () => {
    expect(smsDeliverableFrom(uk, Date.parse('2026-11-04T20:59:59Z'))).toBe(Date.parse('2026-11-04T20:59:59Z'));
    expect(smsDeliverableFrom(uk, Date.parse('2026-11-04T21:00:00Z'))).toBe(Date.parse('2026-11-05T08:00:00Z'));
  });
  it('P2: summer time counts (London in July is UTC+1)', () => {
    expect(smsDeliverableFrom(uk, Date.parse('2026-07-01T06:30:00Z'))).toBe(Date.parse('2026-07-01T07:00:00Z'));
  });
  it('P2: the US: every listed zone inside the hours, so 11:00–21:00 New York time', () => {
    const us = '+12125550123';
    // 10:00 New York (EST) = 07:00 Los Angeles: deferred to 11:00 New York = 16:00 UTC.
    expect(smsDeliverableFrom(us, Date.parse('2026-11-04T15:00:00Z'))).toBe(Date.parse('2026-11-04T16:00:00Z'));
    // 20:30 New York: inside.
    expect(smsDeliverableFrom(us, Date.parse('2026-11-05T01:30:00Z'))).toBe(Date.parse('2026-11-05T01:30:00Z'));
  });
  it('P2: India (UTC+05:30): the half-hour offset is respected', () => {
    // 07:45 in Kolkata = 02:15 UTC → 08:00 Kolkata = 02:30 UTC.
    expect(smsDeliverableFrom('+919812345678', Date.parse('2026-11-04T02:15:00Z'))).toBe(Date.parse('2026-11-04T02:30:00Z'));
  });
  it('P2: a country without a known zone is never deferred', () => {
    expect(COUNTRY_TIME_ZONES.IS).toBeUndefined();
    const t = Date.parse('2026-11-04T03:00:00Z');
    expect(smsDeliverableFrom('+3546111234', t)).toBe(t);
  });
});
