/**
 * The one place that decides whether an SMS may leave, and when (SPEC P2, P5).
 *
 * Every SMS of slsd — login codes and their resends (L4), confirmation codes of the Client Portal,
 * IB Key activation codes (K1), number verification codes (P1) — goes through `SmsPolicyGateway`,
 * which wraps the configured gateway:
 *
 * - A number on the do-not-call list (`slsctl dnc`) receives nothing: SLS_ERR_PHONE_DO_NOT_CALL,
 *   with a message that says what to do for the message's purpose.
 * - Outside the carrier's delivery hours (core/phone.ts: 08:00–21:00 in the number's country;
 *   config `smsCarrierHours`, on by default):
 *   - a *deferrable* message (a number verification code, which lives from its delivery) waits in
 *     the outbox with a not-before time; the dispatcher sends it when it is due;
 *   - any other message is refused with SLS_ERR_SMS_CARRIER_HOURS and `retryAt`. **Decision**: a
 *     login code lives 5 minutes and an IB Key activation 10 (ACTIVATION_TTL_MS): delivered hours later it is useless,
 *     and a queue of them would wake the user at 08:00 with dead codes. The user is told to use
 *     another device now, or to try again from `retryAt`.
 *
 * - SPEC L4: at most `smsBudgetPerHour` SMS (default 10) to one number in any rolling hour, whatever
 *   asked for them: codes are resent only after a cool-down, but each new login, IB Key activation or
 *   portal challenge sends its own, so with the password alone a phone could be flooded and the broker
 *   made to pay for it. Over the budget the SMS is refused with SLS_ERR_SMS_LIMIT and `retryAt`
 *   (when the oldest leaves the hour), and `sms.refused` (reason `budget`) is audited. **Decision**:
 *   number verification codes (P1) count in a budget of the same size of their own: anyone signed in
 *   may ask one for any number, and must not be able to use up that number's budget and so keep its
 *   owner's login codes from it. The budget is a row per number and budget in `sms_budget` (migration
 *   0012), not the `sms_outbox` (only the embedded outbox gateway writes that): several slsd share it
 *   (SPEC N1), and each update is conditional on the row's version, so SMS asked together never pass it.
 *   Refusals of the rules above (do-not-call, carrier hours) come first and use none of it.
 *
 * - SPEC P5: when the configured gateway fails, nothing left: the SMS gives its place in the budget
 *   back (the retry that does leave is the one counted) and the caller gets SLS_ERR_SERVICE_UNAVAILABLE
 *   with `retryAt`, not a 500; the gateway's error, which may hold the body (a code), is not logged here.
 *
 * The dispatcher (`dispatchDueSms`) sends the due deferred rows through the configured gateway; the
 * outbox gateway has nothing to send, so their rows are just marked sent. Each row is claimed by a
 * conditional update first, so several slsd processes never send one twice. A number put on the
 * do-not-call list while its SMS waited is dropped, and so is a number verification code that no
 * longer waits (replaced by a newer code, ended, expired: `code_ended`), each with the reason on the
 * row and its `sms.dropped` entry in the same transaction (N2).
 *
 * - A held SMS is a secret at rest (D4's rule for device secrets, and the project's: secrets are
 *   encrypted at rest): with a gateway that sends for real, its body waits sealed with the server key
 *   (`heldSmsContext` binds it to its row, number, user and purpose, so a sealed body copied into
 *   another row, or a row re-addressed to another number, does not open) and is opened only by the
 *   dispatcher, for the gateway. The update that marks it sent or dropped also writes its body back
 *   with the code masked (`maskSmsCode`): an operator listing the outbox (`slsctl sms`) still sees
 *   what was sent, to whom, when, and why one was dropped, but no code, for the outbox's 30 days
 *   (services/housekeeping.ts). **Decision**: with the embedded outbox gateway (P5) the outbox *is*
 *   the phone: its rows are the messages a demo user reads with `slsctl sms`, and every code it ever
 *   delivered is there in clear by design; so a row held there stays readable, and stays so once
 *   sent; only a dropped one loses its code, as it was never delivered. A dispatcher with the outbox
 *   gateway only (`slsctl sms dispatch` has no other) leaves a sealed row to the slsd that has the
 *   real gateway: it could not deliver it, and must not write its code in clear. Rows held before
 *   bodies were sealed are told apart by their form (`isSealedSmsBody`: a sealed value is one `v1.`
 *   token, an SMS text has spaces) and still leave as they are.
 */
import { smsDeliverableFrom } from '../../core/phone.ts';
import type { Kysely } from 'kysely';
import { appendAccountAudit } from '../account/deps.ts';
import { accountDb } from '../account/schema.ts';
import type { AccountDb } from '../account/schema.ts';
import { DEFAULT_SMS_BUDGET_PER_HOUR } from '../config.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import type { Database } from '../db/schema.ts';
import { SlsError } from '../errors.ts';
import { maskPhoneNumber, OutboxGateway } from './gateway.ts';
import type { SmsGateway, SmsMessage } from './gateway.ts';

/** What the user should do when their number may not receive SMS, by the message's purpose. */
const DO_NOT_CALL_ACTIONS: Readonly<Record<string, string>> = {
  login_code:
    'Your mobile number is on a do-not-call list, so no login code can be sent to it. Choose another device, or call client services to change your number or take it off the list.',
  confirmation_code:
    'Your mobile number is on a do-not-call list, so no code can be sent to it. Confirm with another device, or call client services.',
  ibkey_activation:
    'Your mobile number is on a do-not-call list, so no activation code can be sent to it. Activate IB Key with another device instead, or call client services.',
  verify_number: 'This number is on a do-not-call list and cannot receive text messages. Enter another mobile number.',
};

function carrierHoursMessage(purpose: string, retryAt: number): string {
  const when = new Date(retryAt).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  const what = purpose === 'ibkey_activation' ? 'activation code' : 'code';
  return `SMS cannot be delivered to your number now (carrier hours), so no ${what} was sent. Use another device, or try again after ${when}.`;
}

/** The rolling window of the SMS budget (SPEC L4). */
export const SMS_BUDGET_WINDOW_MS = 60 * 60 * 1000;

/** A number's SMS of the last hour, per budget (migration 0012, SPEC L4, N1). */
export interface SmsBudgetTable {
  /** E.164, as the SMS was addressed. */
  number: string;
  /** `codes` (login codes and resends, confirmation codes, IB Key activation codes) or `verify_number` (P1). */
  bucket: SmsBudgetBucket;
  /** JSON array of the times (ms) the budget's SMS left for this number within the window, oldest first. */
  sent: string;
  /** Optimistic concurrency: updates are conditional on the version read. */
  version: number;
}

export type SmsBudgetBucket = 'codes' | 'verify_number';

// A type alias, not an interface: Kysely's withTables wants an index-compatible record.
// Exported for housekeeping, which deletes the rows whose hour is over (services/housekeeping.ts).
export type SmsBudgetTables = { sms_budget: SmsBudgetTable };

/** Number verification codes, which anyone signed in may send to any number, have a budget of their own (see above). */
export function smsBudgetBucket(purpose: string): SmsBudgetBucket {
  return purpose === 'verify_number' ? 'verify_number' : 'codes';
}

function budgetMessage(purpose: string, retryAt: number): string {
  const when = new Date(retryAt).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  if (purpose === 'verify_number') return `Too many text messages were sent to this number in the last hour, so no code was sent. Try again after ${when}.`;
  const what = purpose === 'ibkey_activation' ? 'activation code' : 'code';
  return `Too many text messages were sent to your number in the last hour, so no ${what} was sent. Use another device, or try again after ${when}.`;
}

export async function isOnDoNotCallList(adb: AccountDb, e164: string): Promise<boolean> {
  return (await adb.selectFrom('do_not_call').select('number').where('number', '=', e164).executeTakeFirst()) !== undefined;
}

/**
 * The associated data a held SMS body is sealed with (see `sealContext` for device secrets).
 *
 * The row's id, and what decides where the code goes and what it is for: a sealed body copied into
 * another row, or its row given another number, user or purpose, does not open, so a database
 * write alone cannot send one user's code to another phone. `purpose` and `to_number` (E.164) have
 * no colon; `user_id` comes last.
 */
export function heldSmsContext(row: { readonly id: number; readonly purpose: string; readonly to_number: string; readonly user_id: string | null }): string {
  return `sms_outbox:${row.id}:body:${row.purpose}:${row.to_number}:${row.user_id ?? ''}`;
}

/** `SecretBox.seal`'s output: `v1.` and one base64url token of at least nonce and tag (28 bytes). */
const SEALED_BODY = /^v1\.[A-Za-z0-9_-]{38,}$/;

/**
 * Is this stored body sealed? A sealed value is a single `v1.` token; every SMS text slsd writes
 * has spaces. So a row held before bodies were sealed (or by the embedded outbox) reads as plain.
 */
export function isSealedSmsBody(body: string): boolean {
  return SEALED_BODY.test(body);
}

/** What a code is replaced with in a settled body. */
export const MASKED_CODE = '••••••';

/**
 * A sent or dropped SMS's body as the outbox keeps it: the text with its code masked. Every code
 * slsd sends by SMS is digits (login L4, number P1, IB Key K1: 6 digits), so any run of 4 or more
 * digits goes, and short numbers ("expires in 5 minutes") stay.
 */
export function maskSmsCode(body: string): string {
  return body.replace(/\d{4,}/g, MASKED_CODE);
}

/**
 * Which settled outbox rows keep no code (see above): `dropped` ones always (never delivered); `sent`
 * ones too, unless the gateway is the embedded outbox, whose rows are the messages themselves.
 */
export type SettledSmsMasking = 'dropped' | 'sent_and_dropped';

/** The body of a dropped SMS whose sealed body did not open: nothing of it is kept. */
export const UNREADABLE_BODY = '[message removed: its sealed body could not be opened]';

export interface SmsDispatchResult {
  readonly sent: number;
  readonly dropped: number;
  readonly failed: number;
}

/**
 * The configured gateway behind the P2 rules: do-not-call, carrier hours, deferral.
 */
export class SmsPolicyGateway implements SmsGateway {
  /** The configured gateway (outbox, or one that sends for real). */
  readonly inner: SmsGateway;
  readonly #adb: AccountDb;
  readonly #now: () => number;
  readonly #carrierHours: boolean;
  readonly #budgetDb: Kysely<Database & SmsBudgetTables>;
  readonly #budgetPerHour: number;
  readonly #box: SecretBox;

  /**
   * `box`: the server key's box, which seals a held SMS's body (see above).
   * `carrierHours` false: the carriers deliver at any hour (config `smsCarrierHours`); the do-not-call list still applies.
   * `budgetPerHour`: SMS per number and budget in any rolling hour (config `smsBudgetPerHour`, SPEC L4); 0: no budget.
   */
  constructor(inner: SmsGateway, db: Kysely<Database>, box: SecretBox, now: () => number, opts: { carrierHours: boolean; budgetPerHour?: number } = { carrierHours: true }) {
    this.inner = inner;
    this.#box = box;
    this.#adb = accountDb(db);
    this.#budgetDb = db.withTables<SmsBudgetTables>();
    this.#now = now;
    this.#carrierHours = opts.carrierHours;
    this.#budgetPerHour = opts.budgetPerHour ?? DEFAULT_SMS_BUDGET_PER_HOUR;
  }

  /** When an SMS to this number may be delivered: `now`, or the start of the carrier's next hours (SPEC P2). */
  deliveryTime(to: string, now: number): number {
    return this.#carrierHours ? smsDeliverableFrom(to, now) : now;
  }

  async send(m: SmsMessage): Promise<void> {
    const now = this.#now();
    if (await isOnDoNotCallList(this.#adb, m.to)) {
      await appendAccountAudit(this.#adb, now, { event: 'sms.refused', userId: m.userId, details: { purpose: m.purpose, reason: 'do_not_call', masked: maskPhoneNumber(m.to) } });
      throw new SlsError('SLS_ERR_PHONE_DO_NOT_CALL', { message: DO_NOT_CALL_ACTIONS[m.purpose] ?? DO_NOT_CALL_ACTIONS.verify_number });
    }
    const deliverAt = this.deliveryTime(m.to, now);
    if (deliverAt > now && m.deferrable !== true) {
      await appendAccountAudit(this.#adb, now, {
        event: 'sms.refused',
        userId: m.userId,
        details: { purpose: m.purpose, reason: 'carrier_hours', masked: maskPhoneNumber(m.to), retryAt: new Date(deliverAt).toISOString() },
      });
      throw new SlsError('SLS_ERR_SMS_CARRIER_HOURS', { message: carrierHoursMessage(m.purpose, deliverAt), retryAt: new Date(deliverAt).toISOString() });
    }
    // SPEC L4: counted when it is sent or put to wait (a deferred one leaves later, but leaves).
    await this.#spendBudget(m, now);
    if (deliverAt <= now) {
      try {
        await this.inner.send(m);
      } catch (e) {
        // Nothing left: the SMS is not counted in the number's budget (the retry that sends it is), so
        // a gateway outage cannot use up a number's budget and then refuse its owner's codes for an hour.
        await this.#refundBudget(m, now).catch(() => undefined);
        throw gatewayFailure(this.inner, e, m.purpose, now);
      }
      return;
    }
    await this.#hold(m, now, deliverAt);
  }

  /** Is the configured gateway the embedded outbox (P5), whose rows are the messages themselves? */
  get #embedded(): boolean {
    return this.inner instanceof OutboxGateway;
  }

  /**
   * The rows the dispatcher writes back with their code masked, as housekeeping masks the rows an
   * earlier slsd settled in clear (services/housekeeping.ts, migration 0016): the same rule for both.
   */
  get settledMasking(): SettledSmsMasking {
    return this.#embedded ? 'dropped' : 'sent_and_dropped';
  }

  /**
   * Puts an SMS to wait in the outbox until `deliverAt` (SPEC P2). With a real gateway its body is
   * sealed under its row's context, so the row is written and sealed in one transaction: no one
   * ever sees it without its body, and it is in clear nowhere. The embedded outbox keeps it readable.
   */
  async #hold(m: SmsMessage, now: number, deliverAt: number): Promise<void> {
    const row = { at: now, to_number: m.to, user_id: m.userId, purpose: m.purpose, not_before: deliverAt, sent_at: null, dropped_reason: null };
    if (this.#embedded) {
      await this.#adb.insertInto('sms_outbox').values({ ...row, body: m.body }).execute();
      return;
    }
    await this.#adb.transaction().execute(async (trx) => {
      const { id } = await trx.insertInto('sms_outbox').values({ ...row, body: '' }).returning('id').executeTakeFirstOrThrow();
      await trx
        .updateTable('sms_outbox')
        .set({ body: this.#box.sealText(m.body, heldSmsContext({ id, purpose: m.purpose, to_number: m.to, user_id: m.userId })) })
        .where('id', '=', id)
        .execute();
    });
  }

  /** A held SMS's text: opened if sealed, as it is if plain (held before bodies were sealed); null if it does not open. */
  #heldText(row: { id: number; body: string; purpose: string; to_number: string; user_id: string | null }): string | null {
    if (!isSealedSmsBody(row.body)) return row.body;
    try {
      return this.#box.openText(row.body, heldSmsContext(row));
    } catch {
      return null;
    }
  }

  /**
   * Takes one SMS from the number's budget for the last hour (SPEC L4), or refuses it: SLS_ERR_SMS_LIMIT
   * with `retryAt`, audited as `sms.refused` (reason `budget`). One row per number and budget, updated
   * only if its version is still the one read (else read again), so SMS asked together on one pool or
   * on several slsd never pass the budget together (SPEC N1), as the failure counters (services/throttle.ts).
   */
  async #spendBudget(m: SmsMessage, now: number): Promise<void> {
    const limit = this.#budgetPerHour;
    if (limit <= 0) return;
    const bucket = smsBudgetBucket(m.purpose);
    const db = this.#budgetDb;
    for (let attempt = 0; attempt < 50; attempt++) {
      const row = await db.selectFrom('sms_budget').select(['sent', 'version']).where('number', '=', m.to).where('bucket', '=', bucket).executeTakeFirst();
      const sent = row ? recentSends(row.sent, now) : [];
      if (sent.length >= limit) {
        // The budget has room again when enough of these have left the hour.
        const retryAt = sent[sent.length - limit]! + SMS_BUDGET_WINDOW_MS;
        await appendAccountAudit(this.#adb, now, {
          event: 'sms.refused',
          userId: m.userId,
          details: { purpose: m.purpose, reason: 'budget', masked: maskPhoneNumber(m.to), perHour: limit, retryAt: new Date(retryAt).toISOString() },
        });
        throw new SlsError('SLS_ERR_SMS_LIMIT', { message: budgetMessage(m.purpose, retryAt), retryAt: new Date(retryAt).toISOString() });
      }
      const next = JSON.stringify([...sent, now]);
      if (!row) {
        const r = await db
          .insertInto('sms_budget')
          .values({ number: m.to, bucket, sent: next, version: 1 })
          .onConflict((oc) => oc.columns(['number', 'bucket']).doNothing())
          .executeTakeFirst();
        if (Number(r.numInsertedOrUpdatedRows ?? 0n) === 1) return;
      } else {
        const r = await db
          .updateTable('sms_budget')
          .set({ sent: next, version: row.version + 1 })
          .where('number', '=', m.to)
          .where('bucket', '=', bucket)
          .where('version', '=', row.version)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) === 1) return;
      }
    }
    throw new Error('the SMS budget of a number kept changing under concurrent updates');
  }

  /** Gives back the budget an SMS took at `at` that did not leave (the gateway failed, SPEC L4). */
  async #refundBudget(m: SmsMessage, at: number): Promise<void> {
    if (this.#budgetPerHour <= 0) return;
    const bucket = smsBudgetBucket(m.purpose);
    const db = this.#budgetDb;
    for (let attempt = 0; attempt < 50; attempt++) {
      const row = await db.selectFrom('sms_budget').select(['sent', 'version']).where('number', '=', m.to).where('bucket', '=', bucket).executeTakeFirst();
      if (!row) return;
      const sent = recentSends(row.sent, this.#now());
      const i = sent.lastIndexOf(at);
      if (i < 0) return;
      sent.splice(i, 1);
      const r = await db
        .updateTable('sms_budget')
        .set({ sent: JSON.stringify(sent), version: row.version + 1 })
        .where('number', '=', m.to)
        .where('bucket', '=', bucket)
        .where('version', '=', row.version)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) return;
    }
  }

  /**
   * Why a deferred SMS that is due must not leave (SPEC P2, P1), or null: its number was put on the
   * do-not-call list while it waited; or it is a number verification code whose verification no
   * longer waits for it — a newer code replaced it (a corrected number, a code asked again), it took
   * its 3 wrong codes, the user was locked, or it expired while the gateway was failing. Such a code
   * can only fail: sent at 08:00 it would wake a stranger (a number corrected at night) with a dead
   * code, and a night of alternating numbers would queue one for each.
   */
  async #dropReason(row: { user_id: string | null; purpose: string; to_number: string; not_before: number | null }, now: number): Promise<string | null> {
    if (await isOnDoNotCallList(this.#adb, row.to_number)) return 'do_not_call';
    if (row.purpose === 'verify_number' && row.user_id !== null && row.not_before !== null) {
      // The code of a verification is the one held for the same number until the same time (phone.ts).
      const live = await this.#adb
        .selectFrom('mobile_verifications')
        .select('id')
        .where('user_id', '=', row.user_id)
        .where('number', '=', row.to_number)
        .where('deliver_at', '=', row.not_before)
        .where('verified_at', 'is', null)
        .where('ended_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      if (!live) return 'code_ended';
    }
    return null;
  }

  /**
   * Send the deferred SMS that are due (SPEC P2, P5): run by slsd on an interval and by `slsctl sms dispatch`.
   */
  async dispatchDue(limit = 500): Promise<SmsDispatchResult> {
    const now = this.#now();
    const due = await this.#adb
      .selectFrom('sms_outbox')
      .selectAll()
      .where('not_before', 'is not', null)
      .where('not_before', '<=', now)
      .where('sent_at', 'is', null)
      .where('dropped_reason', 'is', null)
      .orderBy('id')
      .limit(limit)
      .execute();
    let sent = 0;
    let dropped = 0;
    let failed = 0;
    const embedded = this.#embedded;
    for (const row of due) {
      const sealed = isSealedSmsBody(row.body);
      const dropReason = await this.#dropReason(row, now);
      // Sealed for a real gateway, and this dispatcher has the embedded outbox only (`slsctl sms
      // dispatch`, or slsd started without its gateway): it cannot deliver it, and must not write its
      // code in clear. Left for the dispatcher of the slsd that has the gateway (dropped here if due to be).
      if (embedded && sealed && dropReason === null) continue;
      // Opened here, for the gateway or to mask its code; in clear in memory only (see above). A
      // sealed body that does not open (copied from another row, or its row re-addressed) can never
      // leave: dropped with its entry, rather than tried every minute forever.
      const text = this.#heldText(row);
      if (dropReason !== null || text === null) {
        const reason = dropReason ?? 'unreadable';
        // SPEC N2: dropped with its `sms.dropped` entry, in one transaction, by the one slsd whose
        // conditional update took the row (several may dispatch); if the log refuses the entry the row
        // still waits, and the next round drops it. The same update takes its code out (never delivered).
        const body = text === null ? UNREADABLE_BODY : maskSmsCode(text);
        const took = await this.#adb.transaction().execute(async (trx) => {
          const r = await trx
            .updateTable('sms_outbox')
            .set({ dropped_reason: reason, body })
            .where('id', '=', row.id)
            .where('sent_at', 'is', null)
            .where('dropped_reason', 'is', null)
            .executeTakeFirst();
          if (Number(r.numUpdatedRows) !== 1) return false;
          await appendAccountAudit(trx, now, { event: 'sms.dropped', userId: row.user_id, details: { purpose: row.purpose, reason, masked: maskPhoneNumber(row.to_number) } });
          return true;
        });
        if (took) dropped++;
        continue;
      }
      // Claim it: another slsd process may be dispatching too. With a real gateway the same update
      // takes the code out of the row; the embedded outbox's row is the message itself, left readable.
      const claimed = await this.#adb
        .updateTable('sms_outbox')
        .set(embedded ? { sent_at: now } : { sent_at: now, body: maskSmsCode(text) })
        .where('id', '=', row.id)
        .where('sent_at', 'is', null)
        .where('dropped_reason', 'is', null)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) continue;
      // The outbox gateway's row is the message itself: marked sent, nothing more to do.
      if (embedded) {
        sent++;
        continue;
      }
      try {
        await this.inner.send({ to: row.to_number, body: text, userId: row.user_id, purpose: row.purpose });
        sent++;
      } catch {
        // Left for the next round with its body sealed again (a row held in clear before bodies were
        // sealed, too); the error is the gateway's to log (it may hold the body).
        await this.#adb
          .updateTable('sms_outbox')
          .set({ sent_at: null, body: this.#box.sealText(text, heldSmsContext(row)) })
          .where('id', '=', row.id)
          .execute();
        failed++;
      }
    }
    return { sent, dropped, failed };
  }
}

/**
 * SPEC P5, L4: the configured gateway did not take an SMS. A coded answer (503, try again shortly)
 * instead of a 500 that reads like a bug; the gateway's own error is not passed on or logged here,
 * as it may hold the message's body, and so its code (the gateway is the one to log it). The
 * outbox gateway's failures are the database's, answered as such by the error handler.
 */
function gatewayFailure(inner: SmsGateway, e: unknown, purpose: string, now: number): unknown {
  if (e instanceof SlsError || inner instanceof OutboxGateway) return e;
  const what = purpose === 'ibkey_activation' ? 'activation code' : 'code';
  const instead = purpose === 'verify_number' ? '' : ', or use another device';
  return new SlsError('SLS_ERR_SERVICE_UNAVAILABLE', {
    message: `The text message service is not answering, so no ${what} was sent. Try again in a moment${instead}.`,
    retryAt: new Date(now + GATEWAY_RETRY_MS).toISOString(),
  });
}

/** When to try again after the gateway failed (SPEC P5): as soon as an SMS code may be asked again. */
const GATEWAY_RETRY_MS = 30_000;

/** The times of a budget row still within the hour, oldest first. */
function recentSends(json: string, now: number): number[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) return [];
  return parsed.filter((t): t is number => typeof t === 'number' && now - t < SMS_BUDGET_WINDOW_MS).sort((a, b) => a - b);
}

/** The policy gateway of a services object (it always is one; see createServices). */
export function smsPolicy(sms: SmsGateway): SmsPolicyGateway {
  if (!(sms instanceof SmsPolicyGateway)) throw new Error('the SMS gateway is not wrapped by SmsPolicyGateway');
  return sms;
}
