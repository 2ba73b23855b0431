/**
 * The mobile number: set it, receive a code by SMS, type it back (SPEC P1–P5).
 *
 * - P2: VOIP numbers and numbers that are not mobile are refused (core/phone.ts); numbers on the
 *   do-not-call list (`slsctl dnc`) may not receive SMS and are refused too. Outside the carriers'
 *   delivery hours (08:00–21:00 in the number's country, core/phone.ts) the SMS waits in the outbox
 *   with a not-before time, and the code lives from then. The rules are applied to every SMS by
 *   server/sms/policy.ts; this code is the one kind of SMS allowed to wait (`deferrable`).
 * - P1: until a number is verified the session shows "Trading restricted: mobile number not
 *   verified". The old number stays the verified one until a new one is verified.
 * - P4: a user who verifies a number and has no active device is enrolled in SMS as second factor. A
 *   device shared with the user (S5, approved and active) counts as theirs: no SMS beside it.
 * - P2: a number put on the do-not-call list after its code left is not verified (the right code is
 *   answered SLS_ERR_PHONE_DO_NOT_CALL and nothing changes): login codes could never reach it.
 * - A code past its 15 minutes is answered SLS_ERR_CODE_EXPIRED (ask for a new one). When the SMS
 *   gateway fails nothing is kept: not the code, not its place in the cool-down, the daily cap or the
 *   number's budget (server/sms/policy.ts), and the answer is SLS_ERR_SERVICE_UNAVAILABLE.
 * - Codes: 6 digits, only a salted SHA-256 is kept; a new code may be asked after the SMS cool-down.
 * - SPEC L4, P1, abuse: a user may be sent a number verification code no sooner than the cool-down
 *   after the previous one, whatever the number (a cool-down per number let a caller alternating two
 *   numbers have an SMS sent on every call: toll fraud, or a stranger's phone flooded), and at most
 *   `MOBILE_CODES_PER_DAY` in any 24 hours. Each is one serialized step per user (N1), and a refusal
 *   sends and stores nothing. Every SMS also passes the number's budget (server/sms/policy.ts).
 * - SPEC L6: a code is a secret check like any other. A locked user or a throttled address gets no
 *   judgement; each wrong code is a failure of the user and the address (10 lock the user); 3 wrong
 *   codes end the verification (WRONG_RESPONSES_PER_TRANSACTION, as a login), and every code after
 *   that, right or wrong, is answered SLS_ERR_MOBILE_CODE_ENDED: ask for a new code.
 */
import { randomDigits, constantTimeEqual } from '../../core/codes.ts';
import { checkMobileNumber, MOBILE_NUMBER_REFUSAL_MESSAGES } from '../../core/phone.ts';
import { WRONG_RESPONSES_PER_TRANSACTION } from '../config.ts';
import { newId, sha256Hex } from '../crypto/tokens.ts';
import { SlsError } from '../errors.ts';
import type { ErrorCode } from '../../core/api.ts';
import { appendAccountAudit } from '../account/deps.ts';
import type { AccountDeps } from '../account/deps.ts';
import type { Caller } from '../account/portal.ts';
import type { AccountTrx } from '../account/schema.ts';
import { maskPhoneNumber } from '../sms/gateway.ts';
import { isOnDoNotCallList } from '../sms/policy.ts';

export const MOBILE_CODE_LENGTH = 6;
/** A verification code lives 15 minutes from its delivery. */
export const MOBILE_CODE_TTL_MS = 15 * 60 * 1000;
/** SPEC L6: wrong codes judged per verification, as per login transaction; the third ends it. */
export const MOBILE_CODE_ATTEMPTS = WRONG_RESPONSES_PER_TRANSACTION;
/**
 * SPEC L4, P1: number verification codes per user in any 24 hours. A user who verifies a number needs
 * one, a few more for a typo in the number, an SMS that did not arrive or a code that expired or took 3
 * wrong codes: 10 leave room for a bad day. Each goes to a number the user chose, which may not be
 * theirs: the cap bounds what one account can make the broker pay for texts to premium ranges (toll
 * fraud, SMS pumping) or send to a stranger's phone, beside the cool-down between two.
 */
export const MOBILE_CODES_PER_DAY = 10;
const DAY_MS = 24 * 60 * 60 * 1000;
/** SPEC L4, P1: the window `MOBILE_CODES_PER_DAY` counts in; housekeeping keeps each verification at least this long after it was made. */
export const MOBILE_CODES_WINDOW_MS = DAY_MS;

export { UNVERIFIED_MOBILE_RESTRICTION } from '../account/restrictions.ts';

const REFUSAL_CODES: Record<'invalid' | 'voip' | 'not_mobile', ErrorCode> = {
  invalid: 'SLS_ERR_PHONE_INVALID',
  voip: 'SLS_ERR_PHONE_VOIP',
  not_mobile: 'SLS_ERR_PHONE_NOT_MOBILE',
};

/** The label slsd gives the SMS device it enrols (P4): the masked number the codes go to. */
function smsDeviceLabel(number: string): string {
  return `SMS (${maskPhoneNumber(number)})`;
}

function codeHash(verificationId: string, code: string): string {
  return sha256Hex(`${verificationId}:${code}`);
}

/** SPEC P1, L6: the verification took its 3 wrong codes; any code after that, right or wrong, is answered so (no oracle). */
function codeEnded(): SlsError {
  return new SlsError('SLS_ERR_MOBILE_CODE_ENDED');
}

export { isOnDoNotCallList } from '../sms/policy.ts';

/** SPEC P1: the code outlived its 15 minutes unused; a new one may be asked (after the cool-down). */
function codeExpired(): SlsError {
  return new SlsError('SLS_ERR_CODE_EXPIRED', { message: 'This code has expired (codes live 15 minutes). Ask for a new code.' });
}

function noCodeWaiting(): SlsError {
  return new SlsError('SLS_ERR_NO_CHALLENGE', { message: 'No code is waiting: enter your mobile number first.' });
}

export interface MobileNumberStatus {
  readonly number: string | null;
  readonly verified: boolean;
  readonly verifiedAt: string | null;
  readonly pending: { readonly maskedNumber: string; readonly deliverAt: string; readonly deferred: boolean; readonly expiresAt: string; readonly resendAvailableAt: string } | null;
}

export class PhoneService {
  readonly #d: AccountDeps;

  constructor(deps: AccountDeps) {
    this.#d = deps;
  }

  async #pending(userId: string) {
    return this.#d.adb
      .selectFrom('mobile_verifications')
      .selectAll()
      .where('user_id', '=', userId)
      .where('verified_at', 'is', null)
      .where('ended_at', 'is', null)
      .where('expires_at', '>', this.#d.now())
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /**
   * Why a code that lost a race to change the verification is refused (SPEC P1, L6).
   *
   * Decided by the row as it is now, never by whether the code was right: a verification ended by its
   * third wrong code answers SLS_ERR_MOBILE_CODE_ENDED, and one ended otherwise (a newer code, expiry)
   * SLS_ERR_NO_CHALLENGE, to right and wrong alike, as any code arriving after it ended is answered;
   * one another code verified answers CHALLENGE_USED.
   */
  async #lostRace(verificationId: string): Promise<SlsError> {
    const row = await this.#d.adb.selectFrom('mobile_verifications').select(['verified_at', 'wrong_attempts', 'ended_at', 'expires_at']).where('id', '=', verificationId).executeTakeFirstOrThrow();
    if (row.verified_at !== null) return new SlsError('SLS_ERR_CHALLENGE_USED');
    if (row.wrong_attempts >= MOBILE_CODE_ATTEMPTS) return codeEnded();
    if (row.ended_at === null && Number(row.expires_at) <= this.#d.now()) return codeExpired();
    return noCodeWaiting();
  }

  /**
   * No verification is waiting: the user's latest one took its 3 wrong codes (SLS_ERR_MOBILE_CODE_ENDED,
   * so a right code after them is answered like the wrong ones), outlived its 15 minutes
   * (SLS_ERR_CODE_EXPIRED: ask for a new code, not "enter your number first"), or there is none to answer.
   * Decided by the row alone, never by the code typed (no oracle).
   */
  async #noPending(userId: string): Promise<SlsError> {
    const latest = await this.#d.adb
      .selectFrom('mobile_verifications')
      .select(['verified_at', 'wrong_attempts', 'ended_at', 'expires_at'])
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (latest && latest.verified_at === null && latest.wrong_attempts >= MOBILE_CODE_ATTEMPTS) return codeEnded();
    if (latest && latest.verified_at === null && latest.ended_at === null && Number(latest.expires_at) <= this.#d.now()) return codeExpired();
    return noCodeWaiting();
  }

  /**
   * SPEC L4, P1: may this user be sent another number verification code now? Read inside the step that
   * stores it (serialized per user). SLS_ERR_RESEND_TOO_SOON until the cool-down after the previous
   * code, whatever its number or state; SLS_ERR_SMS_LIMIT after `MOBILE_CODES_PER_DAY` in 24 hours.
   * Both with `retryAt`.
   */
  async #assertMaySendCode(trx: AccountTrx, caller: Caller, now: number, number: string): Promise<void> {
    const recent = await trx
      .selectFrom('mobile_verifications')
      .select(['created_at', 'resend_available_at', 'number'])
      .where('user_id', '=', caller.user.id)
      .where('created_at', '>', now - DAY_MS)
      .orderBy('created_at', 'desc')
      .limit(MOBILE_CODES_PER_DAY)
      .execute();
    const latest = recent[0];
    // The same number: not before the code waiting for it was delivered, plus the cool-down (P2: a code
    // held for the carrier's hours). Another number — a typo corrected, even at night — the cool-down
    // from the request alone: one code per cool-down to any number, never a night's wait.
    const next = latest ? (latest.number === number ? Number(latest.resend_available_at) : Number(latest.created_at) + this.#d.config.smsResendCooldownMs) : 0;
    if (next > now) throw new SlsError('SLS_ERR_RESEND_TOO_SOON', { retryAt: new Date(next).toISOString() });
    if (recent.length >= MOBILE_CODES_PER_DAY) {
      const retryAt = new Date(recent[recent.length - 1]!.created_at + DAY_MS).toISOString();
      throw new SlsError('SLS_ERR_SMS_LIMIT', {
        message: `You were sent ${MOBILE_CODES_PER_DAY} codes to verify a mobile number in the last 24 hours, the most there can be. Try again after ${retryAt.slice(0, 16).replace('T', ' ')} UTC.`,
        retryAt,
      });
    }
  }

  async status(caller: Caller): Promise<MobileNumberStatus> {
    const user = await this.#d.adb.selectFrom('users').selectAll().where('id', '=', caller.user.id).executeTakeFirstOrThrow();
    const p = await this.#pending(user.id);
    const now = this.#d.now();
    return {
      number: user.mobile_number,
      verified: user.mobile_verified_at !== null,
      verifiedAt: user.mobile_verified_at === null ? null : new Date(user.mobile_verified_at).toISOString(),
      pending: p
        ? {
            maskedNumber: maskPhoneNumber(p.number),
            deliverAt: new Date(p.deliver_at).toISOString(),
            deferred: p.deliver_at > now,
            expiresAt: new Date(p.expires_at).toISOString(),
            resendAvailableAt: new Date(p.resend_available_at).toISOString(),
          }
        : null,
    };
  }

  /** SPEC P1, P2: check the number, then send a code (now or at the carrier's hours). */
  async setNumber(caller: Caller, req: { number: string; defaultCountry?: string | undefined }, sourceAddress: string): Promise<MobileNumberStatus> {
    const d = this.#d;
    const check = checkMobileNumber(req.number, req.defaultCountry);
    if (!check.ok) {
      await d.audit({ event: 'mobile.refused', userId: caller.user.id, username: caller.user.username_normalized, sourceAddress, details: { reason: check.reason } });
      throw new SlsError(REFUSAL_CODES[check.reason], { message: MOBILE_NUMBER_REFUSAL_MESSAGES[check.reason] });
    }
    if (await isOnDoNotCallList(d.adb, check.e164)) {
      await d.audit({ event: 'mobile.refused', userId: caller.user.id, username: caller.user.username_normalized, sourceAddress, details: { reason: 'do_not_call' } });
      throw new SlsError('SLS_ERR_PHONE_DO_NOT_CALL');
    }
    const now = d.now();
    const id = newId('mob');
    const code = randomDigits(MOBILE_CODE_LENGTH);
    const deliverAt = d.services.sms.deliveryTime(check.e164, now);
    const masked = maskPhoneNumber(check.e164);
    // SPEC L4, P1, N1: the cool-down and the daily cap are checked and the new code stored in one step
    // that no other runs for the same user at the same time, however many requests arrive together and
    // however many slsd share the database. PostgreSQL: the user's row is locked first. SQLite: the
    // transaction begins IMMEDIATE (db/connect.ts), holding the database's write lock (across processes too).
    // SPEC N2: the code is stored with its `mobile.code_sent` entry, before the SMS leaves: a code the
    // log did not take is neither stored nor sent (as a login's code stands only with its entry).
    const step = d.adb.transaction().execute(async (trx) => {
      if (d.services.database.dialect === 'postgres') await trx.selectFrom('users').select('id').where('id', '=', caller.user.id).forUpdate().execute();
      // A new code ends the one waiting (undone with the rest when this step is refused).
      const endedNow = await trx
        .updateTable('mobile_verifications')
        .set({ ended_at: now })
        .where('user_id', '=', caller.user.id)
        .where('verified_at', 'is', null)
        .where('ended_at', 'is', null)
        .returning('id')
        .execute();
      await this.#assertMaySendCode(trx, caller, now, check.e164);
      await trx
        .insertInto('mobile_verifications')
        .values({
          id,
          user_id: caller.user.id,
          number: check.e164,
          code_hash: codeHash(id, code),
          created_at: now,
          deliver_at: deliverAt,
          expires_at: deliverAt + MOBILE_CODE_TTL_MS,
          resend_available_at: Math.max(now, deliverAt) + d.config.smsResendCooldownMs,
          wrong_attempts: 0,
          verified_at: null,
          ended_at: null,
        })
        .execute();
      await appendAccountAudit(trx, now, {
        event: 'mobile.code_sent',
        userId: caller.user.id,
        username: caller.user.username_normalized,
        sourceAddress,
        details: { masked, deferredUntil: deliverAt > now ? new Date(deliverAt).toISOString() : null },
      });
      return endedNow.map((r) => r.id);
    });
    let ended: string[];
    try {
      ended = await step;
    } catch (e) {
      // The daily cap is on record (N2): written once the step rolled back (inside it, on SQLite's one
      // connection, it would wait for the step itself).
      if (e instanceof SlsError && e.code === 'SLS_ERR_SMS_LIMIT') {
        await d.audit({ event: 'mobile.refused', userId: caller.user.id, username: caller.user.username_normalized, sourceAddress, details: { reason: 'daily_limit', retryAt: e.extra.retryAt ?? null } });
      }
      throw e;
    }
    // The policy gateway (server/sms/policy.ts) defers it to the carrier's hours; the code lives from then.
    try {
      await d.sms.send({
        to: check.e164,
        body: `Your SLS confirmation code is ${code}. Enter it in your user settings to verify this number.`,
        userId: caller.user.id,
        purpose: 'verify_number',
        deferrable: true,
      });
    } catch (e) {
      // Refused by the SMS policy (the number's budget, L4; do-not-call since it was checked, P2) or the
      // gateway failed: nothing was sent, so nothing stays stored. The code that waited waits again,
      // and the cool-down is not used up by a code that never left. SPEC N2: undone with its
      // `mobile.code_not_sent` entry, which says the `mobile.code_sent` before it did not leave.
      await d.adb.transaction().execute(async (trx) => {
        await trx.deleteFrom('mobile_verifications').where('id', '=', id).execute();
        if (ended.length > 0) {
          await trx.updateTable('mobile_verifications').set({ ended_at: null }).where('id', 'in', ended).where('ended_at', '=', now).where('verified_at', 'is', null).execute();
        }
        await appendAccountAudit(trx, d.now(), {
          event: 'mobile.code_not_sent',
          userId: caller.user.id,
          username: caller.user.username_normalized,
          sourceAddress,
          details: { masked, reason: e instanceof SlsError ? e.code : 'error' },
        });
      });
      throw e;
    }
    return this.status(caller);
  }

  /** SPEC P1, P4: the code typed back verifies the number; a user without devices gets SMS as second factor. */
  async verify(caller: Caller, code: string, sourceAddress: string): Promise<MobileNumberStatus & { readonly enrolledInSms: boolean }> {
    const d = this.#d;
    // SPEC L6: a throttled address or a locked user gets no judgement, right code or wrong: nothing is
    // counted or changed (as a login's response or a confirmation's, account/confirmations.ts).
    await d.services.throttle.assertAddressAllowed(sourceAddress);
    await d.services.throttle.assertUserNotLocked(caller.user.username_normalized);
    const p = await this.#pending(caller.user.id);
    if (!p) throw await this.#noPending(caller.user.id);
    const typed = code.replace(/\s+/g, '');
    if (!constantTimeEqual(codeHash(p.id, typed), p.code_hash)) {
      // SPEC L6: at most 3 codes are judged per verification, however many arrive together (on
      // PostgreSQL they do). One conditional UPDATE counts this one only while the verification is
      // pending with fewer than 3, and ends it at the third, atomically. No row changed: it ended or was
      // verified meanwhile, and this code is not judged: answered from the row, like a right code
      // that lost the same race (no oracle for the SMS code).
      const now = d.now();
      // SPEC N2: the wrong code is counted with its `mobile.code_failed` entry, in one transaction: a
      // count the log did not take is not kept either (the code may be typed again, and is judged then).
      const counted = await d.adb.transaction().execute(async (trx) => {
        const row = await trx
          .updateTable('mobile_verifications')
          .set((eb) => ({
            wrong_attempts: eb('wrong_attempts', '+', 1),
            ended_at: eb.case().when('wrong_attempts', '>=', MOBILE_CODE_ATTEMPTS - 1).then(eb.val<number | null>(now)).else(eb.ref('ended_at')).end(),
          }))
          .where('id', '=', p.id)
          .where('verified_at', 'is', null)
          .where('ended_at', 'is', null)
          .where('expires_at', '>', now)
          .where('wrong_attempts', '<', MOBILE_CODE_ATTEMPTS)
          .returning('wrong_attempts')
          .executeTakeFirst();
        if (!row) return undefined;
        const left = Math.max(0, MOBILE_CODE_ATTEMPTS - row.wrong_attempts);
        await appendAccountAudit(trx, now, { event: 'mobile.code_failed', userId: caller.user.id, username: caller.user.username_normalized, sourceAddress, details: { attemptsLeft: left } });
        return row;
      });
      if (!counted) throw await this.#lostRace(p.id);
      const attemptsLeft = Math.max(0, MOBILE_CODE_ATTEMPTS - counted.wrong_attempts);
      // SPEC L6: each wrong code is also a failure of the user and of the address; the throttle writes
      // `user.locked` when it locks. A lock ends the verification, as it ends a login.
      const lockedUntil = await d.services.throttle.recordFailure(caller.user.username_normalized, sourceAddress);
      if (lockedUntil !== null) {
        await d.adb.updateTable('mobile_verifications').set({ ended_at: now }).where('id', '=', p.id).where('verified_at', 'is', null).where('ended_at', 'is', null).execute();
        throw new SlsError('SLS_ERR_USER_LOCKED', { lockedUntil: new Date(lockedUntil).toISOString() });
      }
      // The third wrong code ended it: say so now, as every code after it is answered.
      if (attemptsLeft === 0) throw codeEnded();
      throw new SlsError('SLS_ERR_WRONG_RESPONSE', { attemptsLeft });
    }
    const now = d.now();
    let enrolled = false;
    let enrolledId: string | undefined;
    let won = false;
    let doNotCall = false;
    const step = d.adb.transaction().execute(async (trx) => {
      // SPEC L6: a verification that took its third wrong code meanwhile is over, right code or not.
      const r = await trx
        .updateTable('mobile_verifications')
        .set({ verified_at: now })
        .where('id', '=', p.id)
        .where('verified_at', 'is', null)
        .where('ended_at', 'is', null)
        .where('expires_at', '>', now)
        .where('wrong_attempts', '<', MOBILE_CODE_ATTEMPTS)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return;
      // SPEC P2, P3, P4: a number put on the do-not-call list since its code was sent may not receive
      // SMS, so it cannot become the number login codes go to (an SMS device enrolled for it would
      // leave its user without a working second factor). Asked once the code is known to be right and
      // the verification live (so the answer tells nothing a wrong code would not), and undone with the
      // rest: nothing changes, and the code stays good should the number leave the list.
      if (await isOnDoNotCallList(trx, p.number)) {
        doNotCall = true;
        throw new SlsError('SLS_ERR_PHONE_DO_NOT_CALL', { message: 'This number has been put on a do-not-call list and cannot receive text messages, so it cannot be verified. Enter another mobile number.' });
      }
      won = true;
      const before = await trx.selectFrom('users').select('mobile_number').where('id', '=', caller.user.id).executeTakeFirstOrThrow();
      await trx.updateTable('users').set({ mobile_number: p.number, mobile_verified_at: now }).where('id', '=', caller.user.id).execute();
      // SPEC L2, L4, P1: login codes go to the number just verified, so the SMS device that slsd
      // labelled with the old one ("SMS (+44 ••• ••• ••56)", P4) names the new one: the drop-down and
      // the device list must not show a number the codes no longer go to. A label an operator chose stays.
      if (before.mobile_number !== null && before.mobile_number !== p.number) {
        await trx
          .updateTable('devices')
          .set({ label: smsDeviceLabel(p.number) })
          .where('user_id', '=', caller.user.id)
          .where('kind', '=', 'sms')
          .where('label', '=', smsDeviceLabel(before.mobile_number))
          .execute();
      }
      // SPEC P4: no active device at all (a temporary passcode counts as none) → SMS as second factor.
      const active = await trx.selectFrom('devices').select(['id', 'kind']).where('user_id', '=', caller.user.id).where('status', '=', 'active').execute();
      const regular = active.filter((a) => a.kind !== 'temp_passcode' && a.kind !== 'online_scc');
      // SPEC S5 × P4: a device another user shares with this one (approved, still active) is the
      // user's device: it is in their login drop-down, and their own were set aside for it. Enrolling
      // SMS beside it would hand a sharing requester a second, less secure factor of their own.
      const shared = await trx
        .selectFrom('sharing_requests')
        .innerJoin('devices', 'devices.id', 'sharing_requests.device_id')
        .select('devices.id')
        .where('sharing_requests.requester_user_id', '=', caller.user.id)
        .where('sharing_requests.state', '=', 'approved')
        .where('devices.status', '=', 'active')
        .execute();
      if (regular.length === 0 && shared.length === 0) {
        enrolledId = newId('dev');
        await trx
          .insertInto('devices')
          .values({
            id: enrolledId,
            user_id: caller.user.id,
            kind: 'sms',
            status: 'active',
            serial: null,
            label: smsDeviceLabel(p.number),
            secret_sealed: null,
            pin_hash_sealed: null,
            scc_sequence: 0,
            created_at: now,
            activated_at: now,
            last_used_at: null,
          })
          .execute();
        enrolled = true;
      }
      // SPEC N2: the enrolment is a device change: the entry names the SMS device it added, and the
      // number (masked). In the same transaction: a number verified (or an SMS device enrolled) is on
      // record, or nothing changed and the code may be typed again.
      await appendAccountAudit(trx, now, {
        event: 'mobile.verified',
        userId: caller.user.id,
        username: caller.user.username_normalized,
        sourceAddress,
        ...(enrolledId ? { deviceId: enrolledId } : {}),
        details: { enrolledInSms: enrolled, masked: maskPhoneNumber(p.number) },
      });
    });
    try {
      await step;
    } catch (e) {
      // The refusal is on record (N2), written once the step rolled back (SQLite's one connection).
      if (doNotCall) await d.audit({ event: 'mobile.refused', userId: caller.user.id, username: caller.user.username_normalized, sourceAddress, details: { reason: 'do_not_call', at: 'verify', masked: maskPhoneNumber(p.number) } });
      throw e;
    }
    if (!won) throw await this.#lostRace(p.id);
    return { ...(await this.status(caller)), enrolledInSms: enrolled };
  }
}

/** `slsctl dnc`: the do-not-call list (SPEC P2). Numbers are stored in E.164. */
export async function addToDoNotCall(d: AccountDeps, number: string, by: string, note?: string): Promise<string> {
  const check = checkMobileNumber(number);
  const e164 = check.ok ? check.e164 : number.replace(/[^\d+]/g, '');
  if (!/^\+\d{6,15}$/.test(e164)) throw new SlsError('SLS_ERR_VALIDATION', { message: 'a number in international form, e.g. +447400123456' });
  // SPEC N2: the list changes with its entry, in one transaction.
  const now = d.now();
  await d.adb.transaction().execute(async (trx) => {
    await trx.insertInto('do_not_call').values({ number: e164, added_at: now, added_by: by, note: note ?? null }).onConflict((oc) => oc.column('number').doNothing()).execute();
    await appendAccountAudit(trx, now, { event: 'mobile.do_not_call_added', details: { masked: maskPhoneNumber(e164), by } });
  });
  return e164;
}

export async function removeFromDoNotCall(d: AccountDeps, number: string, by: string): Promise<boolean> {
  const check = checkMobileNumber(number);
  const e164 = check.ok ? check.e164 : number.replace(/[^\d+]/g, '');
  // SPEC N2: the list changes with its entry, in one transaction.
  const now = d.now();
  const r = await d.adb.transaction().execute(async (trx) => {
    const deleted = await trx.deleteFrom('do_not_call').where('number', '=', e164).executeTakeFirst();
    await appendAccountAudit(trx, now, { event: 'mobile.do_not_call_removed', details: { masked: maskPhoneNumber(e164), by } });
    return deleted;
  });
  return Number(r.numDeletedRows) > 0;
}
