/**
 * Mobile numbers for SMS (SPEC P1, P2): which numbers are accepted and when a text may be delivered.
 *
 * Pure (libphonenumber-js with its `max` metadata, which knows number types; @date-fns/tz for
 * local hours). The server adds what needs storage: the do-not-call list and the outbox.
 *
 * Decisions:
 * - A number is accepted when libphonenumber-js parses it as a valid number whose type is MOBILE
 *   or FIXED_LINE_OR_MOBILE (the North American plan does not tell the two apart). VOIP numbers
 *   (virtual providers) are refused with their own reason (P2); fixed lines, toll-free, premium,
 *   shared-cost, pagers and the like are refused as "not a mobile number". Numbers are stored in
 *   E.164 form.
 * - Delivery hours: a carrier may restrict the hours when texts are delivered (P2). We apply one
 *   rule everywhere: 08:00 (inclusive) to 21:00 (exclusive), local time of the number's country.
 *   For a country spanning several zones, every one of its zones listed below must be inside the
 *   hours (e.g. the US: 11:00–21:00 New York time), so nobody is woken up. A country not in the
 *   table is treated as always deliverable (we know no zone to respect). Outside the hours the
 *   message waits in the outbox with a not-before time: the first quarter hour (UTC) when all the
 *   country's zones are inside the hours; zone offsets are whole quarter hours, so no earlier
 *   instant qualifies.
 */
import { TZDate } from '@date-fns/tz';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { CountryCode } from 'libphonenumber-js/max';

/** Local delivery hours: from 08:00 inclusive to 21:00 exclusive (module doc). */
export const SMS_DELIVERY_FROM_HOUR = 8;
export const SMS_DELIVERY_UNTIL_HOUR = 21;

/**
 * Time zones per country for delivery hours. Single-zone countries have one; large countries list
 * the zones where most numbers are (extremes such as Hawaii or Kamchatka would leave no window).
 */
export const COUNTRY_TIME_ZONES: Readonly<Record<string, readonly string[]>> = {
  US: ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'],
  CA: ['America/Toronto', 'America/Winnipeg', 'America/Edmonton', 'America/Vancouver'],
  MX: ['America/Mexico_City'],
  BR: ['America/Sao_Paulo'],
  AR: ['America/Argentina/Buenos_Aires'],
  GB: ['Europe/London'],
  IE: ['Europe/Dublin'],
  FR: ['Europe/Paris'],
  DE: ['Europe/Berlin'],
  IT: ['Europe/Rome'],
  ES: ['Europe/Madrid'],
  NL: ['Europe/Amsterdam'],
  BE: ['Europe/Brussels'],
  CH: ['Europe/Zurich'],
  AT: ['Europe/Vienna'],
  SE: ['Europe/Stockholm'],
  NO: ['Europe/Oslo'],
  DK: ['Europe/Copenhagen'],
  FI: ['Europe/Helsinki'],
  PL: ['Europe/Warsaw'],
  PT: ['Europe/Lisbon'],
  GR: ['Europe/Athens'],
  HU: ['Europe/Budapest'],
  CZ: ['Europe/Prague'],
  RU: ['Europe/Moscow'],
  TR: ['Europe/Istanbul'],
  IL: ['Asia/Jerusalem'],
  AE: ['Asia/Dubai'],
  IN: ['Asia/Kolkata'],
  CN: ['Asia/Shanghai'],
  HK: ['Asia/Hong_Kong'],
  SG: ['Asia/Singapore'],
  JP: ['Asia/Tokyo'],
  KR: ['Asia/Seoul'],
  AU: ['Australia/Sydney', 'Australia/Adelaide', 'Australia/Perth'],
  NZ: ['Pacific/Auckland'],
  ZA: ['Africa/Johannesburg'],
};

export type MobileNumberRefusal = 'invalid' | 'voip' | 'not_mobile';

export type MobileNumberCheck =
  | { readonly ok: true; /** E.164, e.g. "+447400123456". */ readonly e164: string; readonly country: string | null }
  | { readonly ok: false; readonly reason: MobileNumberRefusal; /** The type libphonenumber-js found, when valid. */ readonly type?: string };

export const MOBILE_NUMBER_REFUSAL_MESSAGES: Readonly<Record<MobileNumberRefusal, string>> = {
  invalid: 'This is not a valid phone number. Enter it in international form, e.g. +44 7400 123456.',
  voip: 'Numbers of virtual (VoIP) providers cannot receive security codes. Please enter the number of a mobile phone.',
  not_mobile: 'This is not a mobile number. Please enter the number of a mobile phone that can receive text messages.',
};

const ACCEPTED_TYPES: ReadonlySet<string> = new Set(['MOBILE', 'FIXED_LINE_OR_MOBILE']);

/** Check a mobile number typed by a user (SPEC P2). `defaultCountry` applies to numbers without "+". */
export function checkMobileNumber(input: string, defaultCountry?: string): MobileNumberCheck {
  if (typeof input !== 'string' || input.length > 40) return { ok: false, reason: 'invalid' };
  const parsed = parsePhoneNumberFromString(input.trim(), defaultCountry ? { defaultCountry: defaultCountry as CountryCode } : undefined);
  if (!parsed || !parsed.isValid()) return { ok: false, reason: 'invalid' };
  const type = parsed.getType();
  if (type === 'VOIP') return { ok: false, reason: 'voip', type };
  if (type === undefined || !ACCEPTED_TYPES.has(type)) return { ok: false, reason: 'not_mobile', ...(type ? { type } : {}) };
  return { ok: true, e164: parsed.number, country: parsed.country ?? null };
}

/** The country of an E.164 number, or null. */
export function countryOfNumber(e164: string): string | null {
  return parsePhoneNumberFromString(e164)?.country ?? null;
}

function insideHours(instant: number, zones: readonly string[]): boolean {
  return zones.every((zone) => {
    const h = new TZDate(instant, zone).getHours();
    return h >= SMS_DELIVERY_FROM_HOUR && h < SMS_DELIVERY_UNTIL_HOUR;
  });
}

const QUARTER_HOUR_MS = 15 * 60 * 1000;

/**
 * When a text to this number may be delivered (SPEC P2): `instant` itself when inside the hours of
 * the number's country, else the next quarter hour when it is (module doc). Epoch ms.
 */
export function smsDeliverableFrom(e164: string, instant: number): number {
  const zones = COUNTRY_TIME_ZONES[countryOfNumber(e164) ?? ''];
  if (!zones || insideHours(instant, zones)) return instant;
  let t = Math.ceil(instant / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
  // Two days always contain a window for the zones listed (their spread is at most 6 hours).
  for (let i = 0; i < 2 * 24 * 4; i++, t += QUARTER_HOUR_MS) {
    if (insideHours(t, zones)) return t;
  }
  return instant;
}
