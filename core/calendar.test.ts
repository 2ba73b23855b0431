import { TZDate } from '@date-fns/tz';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fiveBusinessDayWindowStart, isBusinessDay, nextWeeklyCutoff, nyBusinessDay, NY_TZ, startOfNyDay } from './calendar.ts';

const at = (iso: string): Date => new Date(iso);
const iso = (d: Date): string => d.toISOString();

describe('nyBusinessDay and startOfNyDay: the New York date, not the UTC one', () => {
  it('gives the New York date when UTC is already on the next day', () => {
    // Monday 2025-06-16 22:00 EDT is Tuesday 02:00 UTC.
    expect(nyBusinessDay(at('2025-06-17T02:00:00Z'))).toBe('2025-06-16');
    expect(iso(startOfNyDay(at('2025-06-17T02:00:00Z')))).toBe('2025-06-16T04:00:00.000Z');
  });

  it('turns the day at New York midnight exactly', () => {
    expect(nyBusinessDay(at('2025-06-16T03:59:59.999Z'))).toBe('2025-06-15');
    expect(nyBusinessDay(at('2025-06-16T04:00:00.000Z'))).toBe('2025-06-16');
    expect(nyBusinessDay(at('2025-01-15T04:59:59.999Z'))).toBe('2025-01-14'); // EST: midnight is 05:00 UTC
    expect(nyBusinessDay(at('2025-01-15T05:00:00.000Z'))).toBe('2025-01-15');
  });

  it('finds midnight on the DST days (EST midnight in March, EDT midnight in November)', () => {
    expect(iso(startOfNyDay(at('2025-03-09T16:00:00Z')))).toBe('2025-03-09T05:00:00.000Z');
    expect(iso(startOfNyDay(at('2025-11-02T17:00:00Z')))).toBe('2025-11-02T04:00:00.000Z');
  });

  it('refuses an invalid Date', () => {
    expect(() => nyBusinessDay(new Date('nope'))).toThrow(RangeError);
  });
});

describe('isBusinessDay: Monday–Friday, no holiday table', () => {
  it.each([
    ['2025-06-13', true], // Friday
    ['2025-06-14', false], // Saturday
    ['2025-06-15', false], // Sunday
    ['2025-06-16', true], // Monday
    ['2025-07-04', true], // Independence Day, a Friday: holidays are not skipped (documented decision)
    ['2024-02-29', true], // leap day, a Thursday
  ])('%s → %s', (ymd, expected) => {
    expect(isBusinessDay(ymd)).toBe(expected);
  });

  it.each(['2025-6-13', '2025-02-30', '2025-13-01', '13.06.2025', ''])('refuses %j', (ymd) => {
    expect(() => isBusinessDay(ymd)).toThrow(RangeError);
  });
});

describe('fiveBusinessDayWindowStart (SPEC W2): today and the four business days before it', () => {
  it.each([
    ['Friday afternoon: Monday to Friday', '2025-06-13T19:00:00Z', '2025-06-09T04:00:00.000Z'],
    ['Monday: back to the previous Tuesday, over the weekend', '2025-06-16T14:00:00Z', '2025-06-10T04:00:00.000Z'],
    ['Monday just after NY midnight', '2025-06-16T04:00:00Z', '2025-06-10T04:00:00.000Z'],
    ['Sunday 23:59 NY (already Monday in UTC): still Sunday’s window', '2025-06-16T03:59:00Z', '2025-06-10T04:00:00.000Z'],
    ['Saturday: Tuesday to Saturday', '2025-06-14T12:00:00Z', '2025-06-10T04:00:00.000Z'],
    ['Sunday: Tuesday to Sunday', '2025-06-15T12:00:00Z', '2025-06-10T04:00:00.000Z'],
    ['Tuesday: the previous Wednesday', '2025-06-17T12:00:00Z', '2025-06-11T04:00:00.000Z'],
    ['Thursday after the March change: starts at EST midnight of the Friday before', '2025-03-13T16:00:00Z', '2025-03-07T05:00:00.000Z'],
    ['Wednesday after the November change: starts at EDT midnight of the Thursday before', '2025-11-05T17:00:00Z', '2025-10-30T04:00:00.000Z'],
    ['across a year end', '2026-01-02T15:00:00Z', '2025-12-29T05:00:00.000Z'],
  ])('%s', (_name, instant, expected) => {
    expect(iso(fiveBusinessDayWindowStart(at(instant)))).toBe(expected);
  });

  it('always starts at New York midnight of a business day with exactly four business days before today', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2040-01-01T00:00:00Z'), noInvalidDate: true }), (instant) => {
        const start = fiveBusinessDayWindowStart(instant);
        expect(start.getTime()).toBeLessThanOrEqual(startOfNyDay(instant).getTime());
        expect(iso(startOfNyDay(start))).toBe(iso(start));
        expect(isBusinessDay(nyBusinessDay(start))).toBe(true);
        const today = nyBusinessDay(instant);
        let businessDays = 0;
        for (let d = new Date(start.getTime() + 12 * 3600_000); nyBusinessDay(d) !== today; d = new Date(d.getTime() + 24 * 3600_000)) {
          if (isBusinessDay(nyBusinessDay(d))) businessDays++;
        }
        expect(businessDays).toBe(4);
      }),
      { numRuns: 300 },
    );
  });
});

describe('nextWeeklyCutoff (SPEC L8): Sunday 01:00 New York time, strictly after', () => {
  it.each([
    ['a Wednesday: the coming Sunday', '2025-06-11T16:00:00Z', '2025-06-15T05:00:00.000Z'],
    ['Saturday 23:59 NY (Sunday 03:59 UTC)', '2025-06-15T03:59:00Z', '2025-06-15T05:00:00.000Z'],
    ['Sunday 00:59 NY: the same Sunday', '2025-06-15T04:59:00Z', '2025-06-15T05:00:00.000Z'],
    ['Sunday 00:59:59.999 NY', '2025-06-15T04:59:59.999Z', '2025-06-15T05:00:00.000Z'],
    ['Sunday 01:00 NY exactly: the next week', '2025-06-15T05:00:00Z', '2025-06-22T05:00:00.000Z'],
    ['Sunday 01:00:00.001 NY', '2025-06-15T05:00:00.001Z', '2025-06-22T05:00:00.000Z'],
    ['Sunday afternoon', '2025-06-15T18:00:00Z', '2025-06-22T05:00:00.000Z'],
    // March 9, 2025: clocks go from 02:00 EST to 03:00 EDT; 01:00 is still EST (06:00 UTC).
    ['the Saturday before the March change', '2025-03-08T17:00:00Z', '2025-03-09T06:00:00.000Z'],
    ['March change day 00:59 EST', '2025-03-09T05:59:00Z', '2025-03-09T06:00:00.000Z'],
    ['March change day 01:00 EST: the next, EDT, Sunday', '2025-03-09T06:00:00Z', '2025-03-16T05:00:00.000Z'],
    ['March change day 03:30 EDT', '2025-03-09T07:30:00Z', '2025-03-16T05:00:00.000Z'],
    // November 2, 2025: 01:00–01:59 happens twice (EDT, then EST); the cut-off is the first 01:00.
    ['the Saturday before the November change', '2025-11-01T16:00:00Z', '2025-11-02T05:00:00.000Z'],
    ['November change day 00:59 EDT', '2025-11-02T04:59:00Z', '2025-11-02T05:00:00.000Z'],
    ['November change day 01:00 EDT: the next, EST, Sunday', '2025-11-02T05:00:00Z', '2025-11-09T06:00:00.000Z'],
    ['November change day, the second 01:30 (EST)', '2025-11-02T06:30:00Z', '2025-11-09T06:00:00.000Z'],
    ['the week before the November change', '2025-10-26T05:00:00Z', '2025-11-02T05:00:00.000Z'],
  ])('%s', (_name, instant, expected) => {
    expect(iso(nextWeeklyCutoff(at(instant)))).toBe(expected);
  });

  it('is always a Sunday 01:00 in New York, after the instant and at most a week later', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2040-01-01T00:00:00Z'), noInvalidDate: true }), (instant) => {
        const cutoff = nextWeeklyCutoff(instant);
        const ny = new TZDate(cutoff.getTime(), NY_TZ);
        expect([ny.getDay(), ny.getHours(), ny.getMinutes(), ny.getSeconds(), ny.getMilliseconds()]).toEqual([0, 1, 0, 0, 0]);
        expect(cutoff.getTime()).toBeGreaterThan(instant.getTime());
        // A week, plus the hour of a DST change.
        expect(cutoff.getTime() - instant.getTime()).toBeLessThanOrEqual(7 * 24 * 3600_000 + 3600_000);
        // Nothing in between: one millisecond before it, the cut-off is the same one.
        expect(nextWeeklyCutoff(new Date(cutoff.getTime() - 1)).getTime()).toBe(cutoff.getTime());
      }),
      { numRuns: 300 },
    );
  });
});
