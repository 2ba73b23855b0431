/**
 * Where SMS leave slsd (SPEC P5).
 *
 * The default gateway writes the `sms_outbox` table that `slsctl sms` lists (the embedded default);
 * a real gateway implements the same interface and sends for real.
 */
import type { Kysely } from 'kysely';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { Database } from '../db/schema.ts';

export interface SmsMessage {
  readonly to: string;
  readonly body: string;
  readonly userId: string | null;
  /** 'login_code', 'verify_number', … — for the outbox listing. */
  readonly purpose: string;
  /**
   * May wait for the carrier's delivery hours (SPEC P2) instead of being refused: only a message
   * still useful hours later (a number verification code, which lives from its delivery).
   */
  readonly deferrable?: boolean;
}

export interface SmsGateway {
  send(message: SmsMessage): Promise<void>;
}

export class OutboxGateway implements SmsGateway {
  readonly #db: Kysely<Database>;
  readonly #now: () => number;

  constructor(db: Kysely<Database>, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  async send(m: SmsMessage): Promise<void> {
    await this.#db
      .insertInto('sms_outbox')
      .values({ at: this.#now(), to_number: m.to, body: m.body, user_id: m.userId, purpose: m.purpose })
      .execute();
  }
}

/**
 * "+1 ••• ••• ••12", "+41 ••• ••• ••67": the country calling code and the last two digits — enough
 * for the user to recognise the number, not enough to learn it (SPEC L4). The calling code comes
 * from the numbering plan (1 to 3 digits), not from the length: "+41 79…" is Switzerland, not "+4".
 */
export function maskPhoneNumber(number: string): string {
  const digits = number.replace(/\D/g, '');
  const tail = digits.slice(-2);
  const parsed = number.trim().startsWith('+') ? parsePhoneNumberFromString(number.trim()) : undefined;
  const prefix = parsed?.countryCallingCode ? `+${parsed.countryCallingCode} ` : '';
  return `${prefix}••• ••• ••${tail}`;
}
