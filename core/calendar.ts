/**
 * New York time: business days for withdrawal windows (SPEC W2) and the weekly cut-off (L8).
 *
 * The broker runs on New York time, whatever the user's or the server's zone. Decisions:
 * - A business day is Monday–Friday in New York. Exchange holidays are NOT skipped: the
 *   withdrawal window is a risk limit, not a settlement calendar, and a holiday counted as a
 *   business day only makes the window shorter (stricter), never longer. No holiday table to keep.
 * - The five-business-day window (W2) covers the instant's New York date — whatever weekday it
 *   is, weekends included — and the four business days before it, from New York midnight of the
 *   earliest of them. Withdrawals made on a weekend day inside that span count too (they are in
 *   the time range). On a Saturday the window is Tuesday 00:00 to now; on a Monday, the previous
 *   Tuesday 00:00 to now.
 * - The weekly cut-off (L8) is Sunday 01:00 New York time. In November 01:00 happens twice; the
 *   cut-off is the first (EDT, 05:00 UTC), so it never comes later than a week after the last.
 */
import { TZDate } from '@date-fns/tz';

export const NY_TZ = 'America/New_York';

const YMD = /^(\d{4})-(\d{2})-(\d{2})$/;

interface CivilDate {
  readonly year: number;
  /** 1–12 */
  readonly month: number;
  readonly day: number;
}

function checkInstant(instant: Date): void {
  if (!(instant instanceof Date) || Number.isNaN(instant.getTime())) throw new RangeError('calendar: invalid instant');
}

function nyCivilDate(instant: Date): CivilDate {
  checkInstant(instant);
  const ny = new TZDate(instant.getTime(), NY_TZ);
  return { year: ny.getFullYear(), month: ny.getMonth() + 1, day: ny.getDate() };
}

function parseYmd(ymd: string): CivilDate {
  const m = YMD.exec(ymd);
  if (!m) throw new RangeError(`calendar: "${ymd}" is not a YYYY-MM-DD date`);
  const date = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  const check = new Date(Date.UTC(date.year, date.month - 1, date.day));
  if (check.getUTCMonth() !== date.month - 1 || check.getUTCDate() !== date.day) {
    throw new RangeError(`calendar: "${ymd}" is not a calendar date`);
  }
  return date;
}

function formatYmd(d: CivilDate): string {
  return `${String(d.year).padStart(4, '0')}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
}

/** Day of week of a civil date, 0 = Sunday … 6 = Saturday (calendar arithmetic, no zone). */
function weekday(d: CivilDate): number {
  return new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay();
}

function addDays(d: CivilDate, days: number): CivilDate {
  const t = new Date(Date.UTC(d.year, d.month - 1, d.day + days));
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

/** The instant a New York wall-clock time happens (the first one, if it happens twice). */
function nyWallClock(d: CivilDate, hour: number): Date {
  return new Date(new TZDate(d.year, d.month - 1, d.day, hour, 0, 0, 0, NY_TZ).getTime());
}

/** The New York date of an instant, as YYYY-MM-DD. */
export function nyBusinessDay(instant: Date): string {
  return formatYmd(nyCivilDate(instant));
}

/** Is this YYYY-MM-DD date a business day: Monday–Friday, holidays not skipped (module doc)? */
export function isBusinessDay(ymd: string): boolean {
  const wd = weekday(parseYmd(ymd));
  return wd >= 1 && wd <= 5;
}

/** New York midnight at the start of the instant's New York date. */
export function startOfNyDay(instant: Date): Date {
  return nyWallClock(nyCivilDate(instant), 0);
}

/**
 * Start of the five-business-day withdrawal window that contains the instant (SPEC W2).
 *
 * New York midnight of the fourth business day before the instant's New York date; the window
 * runs from there to the instant (module doc: weekends, holidays).
 */
export function fiveBusinessDayWindowStart(instant: Date): Date {
  let day = nyCivilDate(instant);
  for (let found = 0; found < 4; ) {
    day = addDays(day, -1);
    const wd = weekday(day);
    if (wd >= 1 && wd <= 5) found++;
  }
  return nyWallClock(day, 0);
}

/** Hour of the weekly cut-off, Sunday, New York time (SPEC L8). */
export const WEEKLY_CUTOFF_HOUR = 1;

/**
 * The next weekly cut-off strictly after the instant: Sunday 01:00 New York time (SPEC L8).
 *
 * At 00:59 on a Sunday it is that day's 01:00; at 01:00 exactly it is the next Sunday's.
 */
export function nextWeeklyCutoff(instant: Date): Date {
  const today = nyCivilDate(instant);
  const sunday = addDays(today, (7 - weekday(today)) % 7);
  const cutoff = nyWallClock(sunday, WEEKLY_CUTOFF_HOUR);
  return cutoff.getTime() > instant.getTime() ? cutoff : nyWallClock(addDays(sunday, 7), WEEKLY_CUTOFF_HOUR);
}
