/**
 * Withdrawal limits: the windows and the arithmetic (SPEC W1–W3).
 *
 * Pure: the caller sums the user's confirmed withdrawals over the two windows this module names and
 * passes the sums in; the database work (one transaction, exactly once — W4) is the server's.
 * Money is integer US cents; the catalogue's limits are whole dollars and are converted here only.
 *
 * Decisions:
 * - The limits are those of the CONFIRMING device (W1): the device that answered the fresh
 *   challenge of this withdrawal, whatever device opened the session.
 * - Both windows count ALL of the user's confirmed withdrawals, whichever device confirmed them (W2).
 * - A withdrawal that makes a sum exactly equal to a limit passes; one cent more is refused.
 * - The day is the New York day; the five-business-day window is today (New York) and the four
 *   business days before it (core/calendar.ts).
 * - When refused, the answer names one of the user's devices that would allow it: among those that
 *   would, the one with the smallest limits (the one the user most likely uses day to day), so
 *   "IB Key + DSC+, USD 1.2M" names the DSC+ (W2, W3).
 */
import { fiveBusinessDayWindowStart, startOfNyDay } from './calendar.ts';
import { DEVICE_CATALOGUE } from './devices.ts';
import type { DeviceKind } from './devices.ts';

/** Cents per USD. */
export const CENTS_PER_USD = 100;

/** The two windows of SPEC W2 for a withdrawal at `instant`, as epoch ms lower bounds (inclusive). */
export interface WithdrawalWindows {
  /** New York midnight of the instant's New York date. */
  readonly dayStart: number;
  /** New York midnight of the fourth business day before the instant's New York date. */
  readonly fiveBusinessDaysStart: number;
}

export function withdrawalWindows(instant: number): WithdrawalWindows {
  const at = new Date(instant);
  return { dayStart: startOfNyDay(at).getTime(), fiveBusinessDaysStart: fiveBusinessDayWindowStart(at).getTime() };
}

/** What the user has already withdrawn in each window, in cents (all devices, W2). */
export interface WithdrawnSums {
  readonly todayCents: number;
  readonly fiveBusinessDaysCents: number;
}

/** One confirmed withdrawal, for summing in memory (tests, previews); the server sums in SQL. */
export interface WithdrawalRecord {
  readonly at: number;
  readonly amountCents: number;
}

/** The sums of SPEC W2 at `instant` over the given withdrawals (those after `instant` are ignored). */
export function withdrawnSums(records: readonly WithdrawalRecord[], instant: number): WithdrawnSums {
  const w = withdrawalWindows(instant);
  let todayCents = 0;
  let fiveBusinessDaysCents = 0;
  for (const r of records) {
    if (r.at > instant) continue;
    if (r.at >= w.dayStart) todayCents += r.amountCents;
    if (r.at >= w.fiveBusinessDaysStart) fiveBusinessDaysCents += r.amountCents;
  }
  return { todayCents, fiveBusinessDaysCents };
}

/** A device kind's limits in cents; `null` is unlimited (W1). */
export interface LimitsInCents {
  readonly perDayCents: number | null;
  readonly perFiveBusinessDaysCents: number | null;
}

export function limitsInCents(kind: DeviceKind): LimitsInCents {
  const l = DEVICE_CATALOGUE[kind].limits;
  return {
    perDayCents: l.perDay === null ? null : l.perDay * CENTS_PER_USD,
    perFiveBusinessDaysCents: l.perFiveBusinessDays === null ? null : l.perFiveBusinessDays * CENTS_PER_USD,
  };
}

/** How much more a device kind may still confirm now: the smaller of the two windows' room; null = unlimited. */
export function remainingCents(kind: DeviceKind, sums: WithdrawnSums): { today: number | null; fiveBusinessDays: number | null; now: number | null } {
  const l = limitsInCents(kind);
  const today = l.perDayCents === null ? null : Math.max(0, l.perDayCents - sums.todayCents);
  const five = l.perFiveBusinessDaysCents === null ? null : Math.max(0, l.perFiveBusinessDaysCents - sums.fiveBusinessDaysCents);
  const now = today === null ? five : five === null ? today : Math.min(today, five);
  return { today, fiveBusinessDays: five, now };
}

export type LimitCheck =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** Which limit the withdrawal would pass (the daily one when both). */
      readonly limit: 'per_day' | 'five_business_days';
      readonly limitCents: number;
      /** Already withdrawn in that window. */
      readonly usedCents: number;
      /** What this device could still confirm in that window. */
      readonly availableCents: number;
    };

function checkAmount(amountCents: number): void {
  if (!Number.isSafeInteger(amountCents) || amountCents <= 0) throw new RangeError('limits: an amount is a positive whole number of cents');
}

/** Would the confirming device's limits allow this withdrawal (SPEC W1, W2)? Exactly at a limit passes. */
export function checkWithdrawal(kind: DeviceKind, amountCents: number, sums: WithdrawnSums): LimitCheck {
  checkAmount(amountCents);
  const l = limitsInCents(kind);
  if (l.perDayCents !== null && sums.todayCents + amountCents > l.perDayCents) {
    return { ok: false, limit: 'per_day', limitCents: l.perDayCents, usedCents: sums.todayCents, availableCents: Math.max(0, l.perDayCents - sums.todayCents) };
  }
  const five = l.perFiveBusinessDaysCents;
  if (five !== null && sums.fiveBusinessDaysCents + amountCents > five) {
    return { ok: false, limit: 'five_business_days', limitCents: five, usedCents: sums.fiveBusinessDaysCents, availableCents: Math.max(0, five - sums.fiveBusinessDaysCents) };
  }
  return { ok: true };
}

/** Order for "smallest limits first": unlimited last. */
function limitOrder(kind: DeviceKind): [number, number] {
  const l = limitsInCents(kind);
  return [l.perFiveBusinessDaysCents ?? Number.MAX_SAFE_INTEGER, l.perDayCents ?? Number.MAX_SAFE_INTEGER];
}

/**
 * Which of the user's devices would allow this withdrawal (SPEC W2): the one with the smallest limits
 * that does, or null when none does. `devices` keeps the caller's order among equals.
 */
export function deviceThatWouldAllow<D extends { readonly kind: DeviceKind }>(devices: readonly D[], amountCents: number, sums: WithdrawnSums): D | null {
  checkAmount(amountCents);
  const allowing = devices.filter((d) => checkWithdrawal(d.kind, amountCents, sums).ok);
  let best: D | null = null;
  for (const d of allowing) {
    if (best === null) {
      best = d;
      continue;
    }
    const [a5, a1] = limitOrder(d.kind);
    const [b5, b1] = limitOrder(best.kind);
    if (a5 < b5 || (a5 === b5 && a1 < b1)) best = d;
  }
  return best;
}

/** "USD 1,000,000.00" for messages. */
export function formatUsd(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const dollars = Math.floor(abs / CENTS_PER_USD).toLocaleString('en-US');
  return `${sign}USD ${dollars}.${String(abs % CENTS_PER_USD).padStart(2, '0')}`;
}
