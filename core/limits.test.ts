// Withdrawal limits (SPEC W1–W3): windows in New York time and the arithmetic at the boundaries.
import { describe, expect, it } from 'vitest';
import {
  checkWithdrawal,
  deviceThatWouldAllow,
  formatUsd,
  limitsInCents,
  remainingCents,
  withdrawalWindows,
  withdrawnSums,
} from './limits.ts';
import type { WithdrawalRecord } from './limits.ts';

const USD = 100;
/** New York wall-clock time in November 2026 (EST, UTC−5, after the 1 November DST change). */
const ny = (ymd: string, hh = 10, mm = 0) => Date.parse(`${ymd}T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:00-05:00`);
const none = { todayCents: 0, fiveBusinessDaysCents: 0 };

describe('withdrawal windows (SPEC W2)', () => {
  it('W2: a Monday window starts at New York midnight of the Tuesday before', () => {
    const w = withdrawalWindows(ny('2026-11-09', 10));
    expect(new Date(w.dayStart).toISOString()).toBe('2026-11-09T05:00:00.000Z');
    expect(new Date(w.fiveBusinessDaysStart).toISOString()).toBe('2026-11-03T05:00:00.000Z');
  });
  it('W2: a Friday window starts on the Monday of the same week', () => {
    expect(new Date(withdrawalWindows(ny('2026-11-06', 23, 59)).fiveBusinessDaysStart).toISOString()).toBe('2026-11-02T05:00:00.000Z');
  });
  it('W2: on a Saturday the day is Saturday and the window starts on the Tuesday before', () => {
    const w = withdrawalWindows(ny('2026-11-07', 12));
    expect(new Date(w.dayStart).toISOString()).toBe('2026-11-07T05:00:00.000Z');
    expect(new Date(w.fiveBusinessDaysStart).toISOString()).toBe('2026-11-03T05:00:00.000Z');
  });
  it('W2: the New York day, not UTC: 23:30 in New York is still the same day', () => {
    const w = withdrawalWindows(ny('2026-11-05', 23, 30)); // 04:30 UTC on the 6th
    expect(new Date(w.dayStart).toISOString()).toBe('2026-11-05T05:00:00.000Z');
  });
});

describe('the confirming device sets the limits (SPEC W1, W3)', () => {
  it('W1: the catalogue rows in cents', () => {
    expect(limitsInCents('scc')).toEqual({ perDayCents: 200_000 * USD, perFiveBusinessDaysCents: 600_000 * USD });
    expect(limitsInCents('ibkey')).toEqual({ perDayCents: 1_000_000 * USD, perFiveBusinessDaysCents: 1_000_000 * USD });
    expect(limitsInCents('dsc')).toEqual({ perDayCents: 1_000_000 * USD, perFiveBusinessDaysCents: 1_500_000 * USD });
    expect(limitsInCents('temp_passcode')).toEqual({ perDayCents: 50_000 * USD, perFiveBusinessDaysCents: 100_000 * USD });
    expect(limitsInCents('sms')).toEqual(limitsInCents('scc'));
    expect(limitsInCents('online_scc')).toEqual(limitsInCents('scc'));
    for (const k of ['dscplus', 'gold', 'platinum'] as const) expect(limitsInCents(k)).toEqual({ perDayCents: null, perFiveBusinessDaysCents: null });
  });
  it('W1: exactly at the Security Code Card daily limit passes', () => {
    expect(checkWithdrawal('scc', 200_000 * USD, none)).toEqual({ ok: true });
  });
  it('W1: one dollar over the Security Code Card daily limit is refused', () => {
    expect(checkWithdrawal('scc', 200_001 * USD, none)).toEqual({ ok: false, limit: 'per_day', limitCents: 200_000 * USD, usedCents: 0, availableCents: 200_000 * USD });
  });
  it('W1: one cent over is refused too', () => {
    expect(checkWithdrawal('scc', 200_000 * USD + 1, none).ok).toBe(false);
  });
  it('W2: earlier withdrawals today count against the daily limit', () => {
    const sums = { todayCents: 150_000 * USD, fiveBusinessDaysCents: 150_000 * USD };
    expect(checkWithdrawal('scc', 50_000 * USD, sums).ok).toBe(true);
    const r = checkWithdrawal('scc', 50_001 * USD, sums);
    expect(r.ok === false && r.limit === 'per_day' && r.availableCents).toBe(50_000 * USD);
  });
  it('W2: the five-business-day limit: at it passes, one dollar over is refused', () => {
    const sums = { todayCents: 0, fiveBusinessDaysCents: 500_000 * USD };
    expect(checkWithdrawal('scc', 100_000 * USD, sums).ok).toBe(true);
    expect(checkWithdrawal('scc', 100_001 * USD, sums)).toMatchObject({ ok: false, limit: 'five_business_days', availableCents: 100_000 * USD });
  });
  it('W3: IB Key allows 1,000,000 a day and the same over five days', () => {
    expect(checkWithdrawal('ibkey', 1_000_000 * USD, none).ok).toBe(true);
    expect(checkWithdrawal('ibkey', 1_000_001 * USD, none).ok).toBe(false);
    expect(checkWithdrawal('ibkey', 1 * USD, { todayCents: 0, fiveBusinessDaysCents: 1_000_000 * USD })).toMatchObject({ ok: false, limit: 'five_business_days' });
  });
  it('W1: the DSC+ is unlimited', () => {
    expect(checkWithdrawal('dscplus', 50_000_000 * USD, { todayCents: 9e12, fiveBusinessDaysCents: 9e12 }).ok).toBe(true);
  });
  it('W1: a temporary passcode: 50,000 a day, 100,000 over five days', () => {
    expect(checkWithdrawal('temp_passcode', 50_000 * USD, none).ok).toBe(true);
    expect(checkWithdrawal('temp_passcode', 50_001 * USD, none).ok).toBe(false);
    expect(checkWithdrawal('temp_passcode', 50_000 * USD, { todayCents: 0, fiveBusinessDaysCents: 50_001 * USD }).ok).toBe(false);
  });
  it('refuses amounts that are not positive whole cents', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 60]) expect(() => checkWithdrawal('scc', bad, none)).toThrow(RangeError);
  });
  it('remaining: the smaller room of the two windows, unlimited as null', () => {
    expect(remainingCents('scc', { todayCents: 10 * USD, fiveBusinessDaysCents: 590_000 * USD })).toEqual({ today: 199_990 * USD, fiveBusinessDays: 10_000 * USD, now: 10_000 * USD });
    expect(remainingCents('dscplus', none)).toEqual({ today: null, fiveBusinessDays: null, now: null });
  });
});

describe('the windows over a calendar (SPEC W2)', () => {
  // A Security Code Card user withdraws 120,000 every business day of the week of 2 November 2026.
  const week: WithdrawalRecord[] = ['2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05', '2026-11-06'].map((d) => ({ at: ny(d, 11), amountCents: 120_000 * USD }));

  it('W2: by Friday the five-day window holds all five (600,000): nothing more on Friday', () => {
    const sums = withdrawnSums(week, ny('2026-11-06', 15));
    expect(sums).toEqual({ todayCents: 120_000 * USD, fiveBusinessDaysCents: 600_000 * USD });
    expect(checkWithdrawal('scc', 1 * USD, sums)).toMatchObject({ ok: false, limit: 'five_business_days' });
  });
  it('W2: on the weekend Monday is still in the window (Saturday: Tuesday–Saturday)', () => {
    const sums = withdrawnSums(week, ny('2026-11-07', 12));
    expect(sums).toEqual({ todayCents: 0, fiveBusinessDaysCents: 480_000 * USD });
    expect(checkWithdrawal('scc', 120_000 * USD, sums).ok).toBe(true);
    expect(checkWithdrawal('scc', 120_001 * USD, sums).ok).toBe(false);
  });
  it('W2: Friday to Monday: Monday of last week leaves the window, Tuesday–Friday stay (120,000 left)', () => {
    const sums = withdrawnSums(week, ny('2026-11-09', 0, 0));
    expect(sums).toEqual({ todayCents: 0, fiveBusinessDaysCents: 480_000 * USD });
    expect(checkWithdrawal('scc', 120_000 * USD, sums).ok).toBe(true);
    expect(checkWithdrawal('scc', 121_000 * USD, sums).ok).toBe(false);
  });
  it('W2: the cut-off minute: at 23:59 Sunday Monday-before still counts, at 00:00 Monday it no longer does', () => {
    expect(withdrawnSums(week, ny('2026-11-08', 23, 59)).fiveBusinessDaysCents).toBe(480_000 * USD); // Sunday: Tue–Sun
    const beforeMidnight = withdrawnSums([{ at: ny('2026-11-02', 23, 59), amountCents: 1 }], ny('2026-11-06', 23, 59));
    expect(beforeMidnight.fiveBusinessDaysCents).toBe(1);
    const atMidnight = withdrawnSums([{ at: ny('2026-11-02', 23, 59), amountCents: 1 }], ny('2026-11-09', 0, 0));
    expect(atMidnight.fiveBusinessDaysCents).toBe(0);
  });
  it('W2: a weekend withdrawal counts in the window that spans it', () => {
    const sat = [{ at: ny('2026-11-07', 9), amountCents: 7 }];
    expect(withdrawnSums(sat, ny('2026-11-09', 9)).fiveBusinessDaysCents).toBe(7);
    expect(withdrawnSums(sat, ny('2026-11-09', 9)).todayCents).toBe(0);
  });
});

describe('naming a device that would allow it (SPEC W2, W3)', () => {
  const ibkey = { id: 'a', kind: 'ibkey' as const };
  const dscplus = { id: 'b', kind: 'dscplus' as const };
  const scc = { id: 'c', kind: 'scc' as const };
  it('W3: IB Key and DSC+, 1,200,000: use the DSC+', () => {
    expect(deviceThatWouldAllow([ibkey, dscplus], 1_200_000 * USD, none)).toBe(dscplus);
  });
  it('W3: IB Key and DSC+, 300,000: IB Key suffices (smallest limits that allow it)', () => {
    expect(deviceThatWouldAllow([dscplus, ibkey], 300_000 * USD, none)).toBe(ibkey);
  });
  it('W2: a Security Code Card alone cannot allow 200,001: nobody is named', () => {
    expect(deviceThatWouldAllow([scc], 200_001 * USD, none)).toBeNull();
  });
  it('W2: the sums decide too: IB Key is exhausted over five days, the DSC+ is named', () => {
    expect(deviceThatWouldAllow([scc, ibkey, dscplus], 1 * USD, { todayCents: 0, fiveBusinessDaysCents: 1_000_000 * USD })).toBe(dscplus);
  });
});

describe('formatUsd', () => {
  it('formats cents', () => {
    expect(formatUsd(120_000_000)).toBe('USD 1,200,000.00');
    expect(formatUsd(5)).toBe('USD 0.05');
  });
});
