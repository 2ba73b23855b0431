/**
 * Fresh challenges for portal actions (SPEC W1, S3, D6): the device that answers confirms the action.
 *
 * A confirmation is a row like a login transaction: bound to a user, a purpose and its subject (the
 * amount of a withdrawal, a sharing request), a device, one challenge; single-use (D2), 3 wrong
 * answers end it (L6), it expires with the login transaction's lifetime. The device verifiers of the
 * login are reused as they are: they see the confirmation as a Client Portal login transaction
 * (IB Key answers with its offline code, K2). Checking a response has no effect; the caller consumes
 * the confirmation with a conditional UPDATE inside its own database transaction, so only one
 * action ever uses it.
 *
 * Refused without judging the answer and without changing anything, at issue and again at answer
 * time, as the login does (login.ts `startLogin`, `respond`):
 * - SPEC L6: the source address over its failure limit (SLS_ERR_RATE_LIMITED); the acting user or the
 *   device's user locked (SLS_ERR_USER_LOCKED). An open session does not get round a lock.
 * - SPEC D5, T1: the device no longer able to authenticate the Client Portal (reported lost, returned,
 *   set aside, revoked; a temporary passcode past its period): SLS_ERR_DEVICE_NOT_AVAILABLE. The use
 *   (`consumeConfirmation`) re-checks the device's status in the same conditional UPDATE, so a report
 *   that commits between the check and the use still wins.
 */
import type { Challenge } from '../../core/api.ts';
import { WRONG_RESPONSES_PER_TRANSACTION } from '../config.ts';
import { newId } from '../crypto/tokens.ts';
import type { DeviceRow, DeviceStatus, LoginTransactionRow, UserRow } from '../db/schema.ts';
import { SlsError } from '../errors.ts';
import type { Throttle } from '../services/throttle.ts';
import { verifierFor } from '../verifiers/index.ts';
import type { VerifierContext } from '../verifiers/types.ts';
import { canConfirmNow } from './devices.ts';
import type { AccountDb, AccountTrx, ConfirmationPurpose, ConfirmationState, ConfirmationTable } from './schema.ts';

export type ConfirmationRow = ConfirmationTable;

export interface ConfirmationContext extends VerifierContext {
  /** Counts a failed response for the acting user and the source address (SPEC L6; `checkConfirmation`); may throw SLS_ERR_USER_LOCKED. */
  readonly recordFailure?: (usernameNormalized: string, sourceAddress: string) => Promise<void>;
  /** The user lock and the per-address throttle (SPEC L6), checked before a challenge is issued and before an answer is judged. */
  readonly throttle: Pick<Throttle, 'assertUserNotLocked' | 'assertAddressAllowed'>;
}

/**
 * SPEC L6: refuses (SLS_ERR_RATE_LIMITED, then SLS_ERR_USER_LOCKED) when the source address is
 * throttled or one of these users is locked, changing nothing. The same order as `Throttle.judge`.
 */
export async function assertConfirmationAllowed(ctx: ConfirmationContext, sourceAddress: string, usernamesNormalized: readonly string[]): Promise<void> {
  await ctx.throttle.assertAddressAllowed(sourceAddress);
  for (const username of new Set(usernamesNormalized)) await ctx.throttle.assertUserNotLocked(username);
}

/**
 * The statuses a device may have to answer a confirmation of this purpose (SPEC D5): active; for its
 * own activation, pending (D6), or active once answering (it activated itself meanwhile, T3: the
 * activation then answers "already active").
 */
function usableStatuses(purpose: ConfirmationPurpose, at: 'issue' | 'answer'): readonly DeviceStatus[] {
  if (purpose !== 'activate_device') return ['active'];
  return at === 'issue' ? ['pending'] : ['pending', 'active'];
}

/** SPEC D5: the device that was asked stopped being able to answer before the answer came. */
function noLongerAvailable(): SlsError {
  return new SlsError('SLS_ERR_DEVICE_NOT_AVAILABLE', { message: 'This device can no longer confirm this: it is not active. Ask for a new challenge on another device.' });
}

/** SPEC D5, T1, C6: can this device authenticate the Client Portal for this purpose now? Else SLS_ERR_DEVICE_NOT_AVAILABLE. */
async function assertDeviceUsable(ctx: ConfirmationContext, device: DeviceRow, purpose: ConfirmationPurpose, at: 'issue' | 'answer'): Promise<void> {
  const refused = () => (at === 'issue' ? new SlsError('SLS_ERR_DEVICE_NOT_AVAILABLE', { message: 'This device cannot confirm this now.' }) : noLongerAvailable());
  if (!usableStatuses(purpose, at).includes(device.status)) throw refused();
  if (purpose === 'activate_device') return;
  // T1, T2: a temporary passcode past its periods, an online card past its 21 days, give no access,
  // though their rows stay active until a sweep; the lists offered agree (devices.ts `confirmingDevices`).
  if (!(await canConfirmNow(ctx, device))) throw refused();
}

/** The confirmation as the login verifiers expect a transaction (Client Portal, offline mode). */
function asLoginTransaction(c: ConfirmationRow, deviceUser: UserRow): LoginTransactionRow {
  return {
    id: c.id,
    user_id: c.device_user_id,
    username_normalized: deviceUser.username_normalized,
    client_kind: 'client_portal',
    client_version: 0,
    client_name: 'Client Portal',
    source_address: c.source_address,
    state: 'challenge',
    device_id: c.device_id,
    mode: 'offline',
    challenge_seq: 1,
    challenge: c.challenge,
    code_hash: c.code_hash,
    challenge_expires_at: c.challenge_expires_at,
    resend_available_at: c.resend_available_at,
    challenge_used_at: null,
    wrong_responses: c.wrong_responses,
    created_at: c.created_at,
    expires_at: c.expires_at,
    ended_at: null,
  };
}

export interface IssuedConfirmation {
  readonly confirmationId: string;
  readonly expiresAt: string;
  readonly challenge: Challenge;
}

/**
 * Issue a fresh challenge on `device` (held by `deviceUser`) for an action of `user`.
 *
 * The device must be able to authenticate the Client Portal now (active; a temporary passcode in
 * its periods, T1). Pending devices are allowed only for their own activation (D6).
 */
export async function issueConfirmation(
  ctx: ConfirmationContext,
  adb: AccountDb,
  a: { user: UserRow; deviceUser: UserRow; device: DeviceRow; purpose: ConfirmationPurpose; subject: Record<string, unknown>; sourceAddress: string },
): Promise<IssuedConfirmation> {
  // SPEC L6: no challenge (an SMS, code-card cells asked) for a locked user or a throttled address.
  await assertConfirmationAllowed(ctx, a.sourceAddress, [a.user.username_normalized, a.deviceUser.username_normalized]);
  await assertDeviceUsable(ctx, a.device, a.purpose, 'issue');
  const v = verifierFor(a.device.kind);
  const now = ctx.now();
  // SPEC L4: a device that is sent a code (SMS) gets the next one no sooner than the cool-down, as at
  // login: asking for challenges again and again must not flood the user's phone.
  if (v.canResend) {
    const last = await adb.selectFrom('confirmations').select((eb) => eb.fn.max('created_at').as('at')).where('device_id', '=', a.device.id).executeTakeFirst();
    const next = last?.at != null ? Number(last.at) + ctx.config.smsResendCooldownMs : 0;
    if (now < next) throw new SlsError('SLS_ERR_RESEND_TOO_SOON', { retryAt: new Date(next).toISOString() });
  }
  const row: ConfirmationRow = {
    id: newId('cfm'),
    user_id: a.user.id,
    purpose: a.purpose,
    subject: JSON.stringify(a.subject),
    device_id: a.device.id,
    device_user_id: a.deviceUser.id,
    challenge: null,
    code_hash: null,
    challenge_expires_at: null,
    resend_available_at: null,
    wrong_responses: 0,
    state: 'challenge',
    source_address: a.sourceAddress,
    created_at: now,
    expires_at: now + ctx.config.loginTransactionTtlMs,
    answered_at: null,
    used_at: null,
  };
  const issued = await v.issue(ctx, asLoginTransaction(row, a.deviceUser), a.device, a.deviceUser);
  const stored: ConfirmationRow = {
    ...row,
    challenge: issued.challenge,
    code_hash: issued.codeHash,
    challenge_expires_at: issued.challengeExpiresAt,
    resend_available_at: issued.resendAvailableAt,
  };
  await adb.insertInto('confirmations').values(stored).execute();
  const challenge = await v.describe(ctx, asLoginTransaction(stored, a.deviceUser), a.device, a.deviceUser);
  return { confirmationId: stored.id, expiresAt: new Date(stored.expires_at).toISOString(), challenge };
}

/**
 * The challenge of confirmation `c`, issued earlier, as `issueConfirmation` described it then: for showing
 * it again while it can still be answered (SPEC S3: a started sharing request continued later). Reads
 * only: nothing is issued, sent or counted (L6), and whether `c` is still open is the caller's to check.
 */
export async function describeConfirmation(ctx: ConfirmationContext, adb: AccountDb, c: ConfirmationRow): Promise<IssuedConfirmation> {
  const device = await adb.selectFrom('devices').selectAll().where('id', '=', c.device_id).executeTakeFirstOrThrow();
  const deviceUser = await adb.selectFrom('users').selectAll().where('id', '=', c.device_user_id).executeTakeFirstOrThrow();
  const challenge = await verifierFor(device.kind).describe(ctx, asLoginTransaction(c, deviceUser), device, deviceUser);
  return { confirmationId: c.id, expiresAt: new Date(c.expires_at).toISOString(), challenge };
}

export interface CheckedConfirmation {
  readonly confirmation: ConfirmationRow;
  readonly device: DeviceRow;
}

/**
 * Check a response to a confirmation of `userId` for `purpose` (no effect when right).
 *
 * Wrong: counted (3 end it, L6) against the ACTING user, the confirmation's `user_id` (below), and
 * SLS_ERR_WRONG_RESPONSE with the attempts left; one that
 * arrives after the third, even together with it, is not judged and answers SLS_ERR_TRANSACTION_ENDED.
 * A confirmation already used answers SLS_ERR_CHALLENGE_USED; one of another user or purpose is not found.
 * Before the answer is judged (so nothing is counted or changed): SLS_ERR_RATE_LIMITED /
 * SLS_ERR_USER_LOCKED (L6), then SLS_ERR_DEVICE_NOT_AVAILABLE when the device stopped being able to
 * authenticate since the challenge was issued (D5, T1).
 */
export async function checkConfirmation(
  ctx: ConfirmationContext,
  adb: AccountDb,
  a: {
    confirmationId: string;
    userId: string;
    purpose: ConfirmationPurpose;
    response: string;
    sourceAddress: string;
    allowUsed?: boolean;
    /** SPEC N2: called once a wrong response is counted, before the user's failure is (which may lock and throw): the caller audits it. */
    onWrongResponse?: (wrong: { readonly device: DeviceRow; readonly attemptsLeft: number }) => Promise<void>;
  },
): Promise<CheckedConfirmation> {
  const c = await adb.selectFrom('confirmations').selectAll().where('id', '=', a.confirmationId).executeTakeFirst();
  if (!c || c.user_id !== a.userId || c.purpose !== a.purpose) throw new SlsError('SLS_ERR_TRANSACTION_NOT_FOUND', { message: 'This confirmation is not known. Ask for a new challenge.' });
  if (c.state === 'used' && !a.allowUsed) throw new SlsError('SLS_ERR_CHALLENGE_USED');
  if (c.state === 'ended') throw new SlsError('SLS_ERR_TRANSACTION_ENDED', { message: 'This confirmation has ended. Ask for a new challenge.' });
  if (c.expires_at <= ctx.now()) throw new SlsError('SLS_ERR_TRANSACTION_EXPIRED', { message: 'This confirmation has expired. Ask for a new challenge.' });
  const device = await adb.selectFrom('devices').selectAll().where('id', '=', c.device_id).executeTakeFirstOrThrow();
  const deviceUser = await adb.selectFrom('users').selectAll().where('id', '=', c.device_user_id).executeTakeFirstOrThrow();
  const user = c.user_id === deviceUser.id ? deviceUser : await adb.selectFrom('users').selectAll().where('id', '=', c.user_id).executeTakeFirstOrThrow();
  // SPEC L6: a locked user (acting, or whose device answers) or a throttled address gets no judgement,
  // right answer or wrong: nothing is counted, the confirmation is left as it is.
  await assertConfirmationAllowed(ctx, a.sourceAddress, [user.username_normalized, deviceUser.username_normalized]);
  // SPEC D5, T1: only a device that can authenticate now answers, as at login (login.ts `respond`).
  await assertDeviceUsable(ctx, device, c.purpose, 'answer');
  const outcome = await verifierFor(device.kind).verify(ctx, asLoginTransaction(c, deviceUser), device, a.response);
  if (outcome === 'right') return { confirmation: c, device };
  if (outcome === 'expired') throw new SlsError('SLS_ERR_CODE_EXPIRED');
  // SPEC L6: at most 3 wrong responses are judged per confirmation, however many arrive together (on
  // PostgreSQL they do, over a pool or several slsd). One conditional UPDATE counts this one only while
  // the confirmation is open with fewer than 3, and ends it at the third, atomically.
  const counted = await adb
    .updateTable('confirmations')
    .set((eb) => ({
      wrong_responses: eb('wrong_responses', '+', 1),
      state: eb.case().when('wrong_responses', '>=', WRONG_RESPONSES_PER_TRANSACTION - 1).then(eb.val<ConfirmationState>('ended')).else(eb.ref('state')).end(),
    }))
    .where('id', '=', c.id)
    .where('state', '=', 'challenge')
    .where('wrong_responses', '<', WRONG_RESPONSES_PER_TRANSACTION)
    .returning('wrong_responses')
    .executeTakeFirst();
  if (!counted) {
    // Not judged: ended or used meanwhile (or used already, checked with allowUsed).
    const row = await adb.selectFrom('confirmations').select(['state', 'wrong_responses']).where('id', '=', c.id).executeTakeFirstOrThrow();
    if (row.state === 'used' && a.allowUsed) throw new SlsError('SLS_ERR_WRONG_RESPONSE', { attemptsLeft: Math.max(0, WRONG_RESPONSES_PER_TRANSACTION - row.wrong_responses) });
    throw lostRace(row.state);
  }
  // SPEC L6 "counted per user": the user who is authenticating, i.e. who acts and types the answer
  // (the confirmation's user_id), as a login with a shared device counts against the user logging in
  // (login.ts `#wrongResponse`), never the device's owner. Otherwise a sharing requester (S5) locks
  // the owner out of every login with wrong withdrawal confirmations on the shared device, and gets no
  // count of their own.
  // Decision for purpose 'sharing' (S3), where the OWNER's device answers the REQUESTER's challenge:
  // it is the requester's failure too. The requester acts (their session, their request); the owner's
  // device is still guarded against guessing: 3 wrong answers end the confirmation, the requester's
  // own count locks them at 10 (L6) and a locked requester can neither start a sharing nor have an
  // answer judged, and the source address is counted. Counting it against the owner would let any
  // user who may share (S1) lock the owner for 24 hours. The owner's PASSWORD given at `start` still
  // counts against the owner, as a wrong password at login does.
  const attemptsLeft = Math.max(0, WRONG_RESPONSES_PER_TRANSACTION - counted.wrong_responses);
  if (a.onWrongResponse) await a.onWrongResponse({ device, attemptsLeft });
  if (ctx.recordFailure) await ctx.recordFailure(user.username_normalized, a.sourceAddress);
  throw new SlsError('SLS_ERR_WRONG_RESPONSE', { attemptsLeft });
}

/**
 * Why a response that lost a race to change the confirmation is refused (SPEC L6, D2, D3).
 *
 * Decided by the row as it is now, never by whether the response was right: a confirmation ended by
 * its third wrong response answers TRANSACTION_ENDED to right and wrong alike (no oracle for a code
 * card, whose cells never change); one another response used answers CHALLENGE_USED.
 */
function lostRace(state: ConfirmationState): SlsError {
  if (state === 'ended') return new SlsError('SLS_ERR_TRANSACTION_ENDED', { message: 'This confirmation has ended. Ask for a new challenge.' });
  return new SlsError('SLS_ERR_CHALLENGE_USED');
}

/**
 * Use a confirmation once, inside the caller's transaction: true for the one caller that won (D2).
 *
 * False when another response used it. When 3 wrong responses ended it since it was checked, throws
 * SLS_ERR_TRANSACTION_ENDED, as the wrong responses that were not judged are answered: a right
 * response that lost that race must not be told apart from them (SPEC L6, no oracle). When its
 * device stopped being usable since it was checked (reported lost meanwhile, D5), throws
 * SLS_ERR_DEVICE_NOT_AVAILABLE and leaves it unused.
 */
export async function consumeConfirmation(trx: AccountTrx | AccountDb, confirmationId: string, now: number): Promise<boolean> {
  const r = await trx
    .updateTable('confirmations')
    .set({ state: 'used', used_at: now, answered_at: now })
    .where('id', '=', confirmationId)
    .where('state', '=', 'challenge')
    // SPEC L6: a confirmation that took its third wrong response meanwhile is over, right answer or not.
    .where('wrong_responses', '<', WRONG_RESPONSES_PER_TRANSACTION)
    // SPEC D5: its device still has a usable status, in the same statement (a report committed after
    // `checkConfirmation` looked is seen here). The time-bound access of T1 was checked just before.
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('devices')
          .select('devices.id')
          .whereRef('devices.id', '=', 'confirmations.device_id')
          .where((d) =>
            d.or([
              d.and([d('confirmations.purpose', '<>', 'activate_device'), d('devices.status', 'in', usableStatuses('withdrawal', 'answer'))]),
              d.and([d('confirmations.purpose', '=', 'activate_device'), d('devices.status', 'in', usableStatuses('activate_device', 'answer'))]),
            ]),
          ),
      ),
    )
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 1) return true;
  const row = await trx.selectFrom('confirmations').select('state').where('id', '=', confirmationId).executeTakeFirst();
  if (row?.state === 'ended') throw lostRace(row.state);
  // Still open: only its device can have kept it from being used (D5).
  if (row?.state === 'challenge') throw noLongerAvailable();
  return false;
}

export function confirmationSubject<T>(c: ConfirmationRow): T {
  return JSON.parse(c.subject) as T;
}
