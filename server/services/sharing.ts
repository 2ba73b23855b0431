/**
 * Sharing another user's physical device (SPEC S1–S6).
 *
 * Procedure (S3), each step a call:
 * 1. `start`: the REQUESTING user (signed in to the portal) gives the owner's user name and password;
 *    the device to share is the one named, else the owner's most secure shareable active device.
 *    The rules are checked (core/sharing.ts); a refusal names its rule with its own error code
 *    (S6: SLS_ERR_LESS_SECURE_DEVICE, SLS_ERR_DIFFERENT_IDENTIFICATION, …). Then a challenge (or
 *    index numbers) on the owner's device.
 * 2. `answer`: the response from the owner's device; the request is verified and shown for review.
 * 3. `submit`: approved at once, or pending compliance when the entities differ (S4;
 *    `slsctl sharing approve|reject`). Rules are checked again at submit and at approval.
 * On approval the requester's own physical devices become inactive (kept, S5); the shared device
 * then appears in the requester's login drop-down. Cancelling the sharing — by the requester or by
 * the device's owner (`cancel`) — reactivates those still inactive and ends, in the same
 * transaction, the requester's sessions opened with the shared device and the restart chains begun
 * with it (D5, L8); the owner's own sessions with it stay.
 *
 * One sharing at a time (S5): a requester has at most one request open (started, verified,
 * pending compliance or approved). Two open at once let both be approved, the second setting aside
 * nothing (the own devices were already inactive), so cancelling the first reactivated the own
 * devices while the second stayed approved. Hence:
 * - `start` while a request waits for compliance or is approved: SLS_ERR_CONFLICT, refused before
 *   the owner's password is checked, nothing changed. The requester cancels it first.
 * - `start` while a request is only started or verified (nothing decided, nothing set aside):
 *   the new request REPLACES it (cancelled, audited `sharing.cancelled` with `replacedBy`). The
 *   desktop client's "Start over" and a challenge ended by 3 wrong responses (L6) begin again with
 *   a new `start` and have no cancel, so refusing here would strand the requester.
 * - Both happen in one transaction serialized per requester (`serializedPerRequester`), and
 *   approval (`#approve`, from `submit` or compliance's `decide`) re-checks, in the same
 *   conditional UPDATE that approves, that no other request of the requester is open: two
 *   approvals arriving together (a pool, several slsd) never both pass, on SQLite or PostgreSQL.
 *
 * A physical device of the requester's that becomes active while the sharing is approved (T3
 * self-activation, D6 activation; an operator's `slsctl device add`, `device assign` to the user, or
 * `device activate`/`set-status … active`, provisioning.ts) is set aside too, and comes back with
 * the others when the sharing ends (`setAsideOnActivation`, for the activation to call in its own
 * transaction).
 *
 * A lent device is never set aside (S5, D5): approval sets aside ALL the requester's own physical
 * devices, so a user whose device another user shares, or waits for compliance to share, is refused
 * (SLS_ERR_CONFLICT: start, submit, approval) until that sharing ends; other users' requests for it
 * only started or verified end with the approval (`settleRequestsForSetAside`), and a request whose
 * device was set aside meanwhile is not approved. Else that other user, whose own devices are set
 * aside too, was left with no device to sign in, or to cancel, with. Starts, verifications
 * (`sharing.verified`), approvals, submits to compliance and rejections are audited in their
 * transaction (N2).
 *
 * `list` (GET /v1/sharing) answers the SHARING_LIST_LIMIT (50) most recent requests, made by or of
 * the user, read with a fixed number of queries whatever their count (S3, N1). Each ended one says
 * what ended it and when (`ended`: withdrawn or refused, ended by either user, rejected by compliance,
 * replaced, its device reported, returned, set aside or taken out of use), kept with the request
 * (`ended_reason`, migration 0015) in the transaction that ends it, so the requester learns that the
 * owner refused, not just that it is gone. The requester's started request carries its challenge while
 * it can still be answered (`challenge`; GET /v1/sharing/:requestId/challenge says, coded, why not):
 * Continue needs the owner's password again only once it expired (5 minutes) or took 3 wrong responses.
 */
import { PostgresAdapter } from 'kysely';
import type { ConfirmationChallenge, SharingEndReason } from '../../core/account-api.ts';
import type { ErrorCode } from '../../core/api.ts';
import { DEVICE_CATALOGUE, securityRank } from '../../core/devices.ts';
import { decideSharing, isShareableKind, SHARING_LIST_LIMIT, SHARING_REFUSAL_MESSAGES } from '../../core/sharing.ts';
import type { SharingParty, SharingRefusal } from '../../core/sharing.ts';
import { newId } from '../crypto/tokens.ts';
import type { DeviceRow, UserRow } from '../db/schema.ts';
import { SlsError } from '../errors.ts';
import { checkConfirmation, consumeConfirmation, describeConfirmation, issueConfirmation } from '../account/confirmations.ts';
import type { ConfirmationRow, IssuedConfirmation } from '../account/confirmations.ts';
import { WRONG_RESPONSES_PER_TRANSACTION } from '../config.ts';
import { appendAccountAudit } from '../account/deps.ts';
import type { AccountDeps } from '../account/deps.ts';
import type { Caller } from '../account/portal.ts';
import type { AccountDb, AccountTrx, SharingRequestTable, SharingState } from '../account/schema.ts';
import { endChallengesOnDevice } from './device-challenges.ts';
import type { EndedChallenges } from './device-challenges.ts';
import { notifierOf } from './ibkey-notifier.ts';
import { endSessionsOfDevice } from './sessions.ts';
import { expireTemporaryDevices } from './temporary-access.ts';
import { normalizeUsername } from './throttle.ts';

const REFUSAL_CODES: Record<SharingRefusal, ErrorCode> = {
  less_secure_device: 'SLS_ERR_LESS_SECURE_DEVICE',
  different_identification: 'SLS_ERR_DIFFERENT_IDENTIFICATION',
  temporary_device_assigned: 'SLS_ERR_SHARING_TEMPORARY_DEVICE',
  ibkey_use_add_user: 'SLS_ERR_SHARING_IBKEY',
  device_not_shareable: 'SLS_ERR_DEVICE_NOT_SHAREABLE',
};

/** SPEC S5: the states of an open request; a requester has at most one at a time (module doc). */
const OPEN: readonly SharingState[] = ['started', 'verified', 'pending_compliance', 'approved'];
/** SPEC S3: open, but nothing decided nor set aside yet: a new `start` replaces it. */
const REPLACEABLE: readonly SharingState[] = ['started', 'verified'];
/** SPEC S4, S5: waiting for compliance or in effect: a new `start` is refused until it is cancelled. */
const HELD: readonly SharingState[] = ['pending_compliance', 'approved'];
/** SPEC S3, S4: the states a request is approved from. */
const APPROVABLE: readonly SharingState[] = ['verified', 'pending_compliance'];

/** SPEC S5: what a requester who already shares a device (or waits for compliance) is told. */
function oneSharingAtATime(): SlsError {
  return new SlsError('SLS_ERR_CONFLICT', {
    message: 'You already share a device or wait for a sharing to be approved: cancel that request first. One sharing at a time (S5).',
  });
}

/**
 * SPEC S5: refuses (SLS_ERR_CONFLICT) a user one of whose active devices another user shares, or
 * waits for compliance to share (an approved or pending-compliance request of another requester).
 *
 * Approving a sharing sets ALL the requester's own physical devices aside (inactive, S5), and only
 * active devices authenticate (D5): a device lent to another user would stop working under that
 * user's approved sharing, whose own devices are set aside too, leaving them no device to sign in
 * with, nor to cancel with. Its owner ends that sharing first (it is in their list; either may end it).
 */
async function refuseIfOwnDeviceLent(db: AccountDb, userId: string): Promise<void> {
  const lent = await db
    .selectFrom('sharing_requests')
    .innerJoin('devices', 'devices.id', 'sharing_requests.device_id')
    .select('devices.label')
    .where('devices.user_id', '=', userId)
    .where('devices.status', '=', 'active')
    .where('sharing_requests.requester_user_id', '<>', userId)
    .where('sharing_requests.state', 'in', HELD)
    .executeTakeFirst();
  if (lent) throw ownDeviceLent(lent.label);
}

function ownDeviceLent(label: string): SlsError {
  return new SlsError('SLS_ERR_CONFLICT', {
    message: `Your ${label} is shared with another user, or waits for compliance to be: sharing a device yourself would set it aside and leave them without it (S5). End that sharing first.`,
  });
}

/**
 * SPEC S5, N2: the other users' requests for these devices of the requester being approved, which
 * it sets aside, inside the approval's transaction: one approved or waiting for compliance refuses
 * the approval (`ownDeviceLent`, all of it undone); one only started or verified could never be
 * approved now (its device is set aside) and is cancelled, audited under its requester.
 *
 * A request is open from its start, long before its approval, so this sees every request an approval
 * of the other user could race with. Cancelled conditionally: one that moved meanwhile (on PostgreSQL
 * its approval committed first; this waits for it) is read again and refuses; approving it after
 * this commits finds it cancelled, or its device set aside (`#approve`).
 */
async function settleRequestsForSetAside(trx: AccountTrx, requester: { id: string; username: string }, deviceIds: readonly string[], now: number, sourceAddress: string | null): Promise<void> {
  const others = await trx
    .selectFrom('sharing_requests')
    .innerJoin('devices', 'devices.id', 'sharing_requests.device_id')
    .innerJoin('users', 'users.id', 'sharing_requests.requester_user_id')
    .select(['sharing_requests.id', 'sharing_requests.state', 'sharing_requests.device_id', 'sharing_requests.requester_user_id', 'users.username_normalized', 'devices.label'])
    .where('sharing_requests.device_id', 'in', deviceIds)
    .where('sharing_requests.requester_user_id', '<>', requester.id)
    .where('sharing_requests.state', 'in', OPEN)
    .execute();
  const reason: SharingEndReason = 'device_set_aside';
  for (const o of others) {
    if (HELD.includes(o.state)) throw ownDeviceLent(o.label);
    const u = await trx
      .updateTable('sharing_requests')
      .set({ state: 'cancelled', cancelled_at: now, ended_reason: reason })
      .where('id', '=', o.id)
      .where('state', 'in', REPLACEABLE)
      .executeTakeFirst();
    if (Number(u.numUpdatedRows) !== 1) {
      const moved = await trx.selectFrom('sharing_requests').select('state').where('id', '=', o.id).executeTakeFirstOrThrow();
      if (HELD.includes(moved.state)) throw ownDeviceLent(o.label);
      continue;
    }
    await appendAccountAudit(trx, now, {
      event: 'sharing.cancelled',
      userId: o.requester_user_id,
      username: o.username_normalized,
      sourceAddress,
      deviceId: o.device_id,
      // SPEC S5, N2: `reason` is what the request now keeps (`ended_reason`); `note` says it in words.
      details: { requestId: o.id, from: o.state, reactivated: 0, reason, note: "its device was set aside: its owner shares another user's device (S5)", by: requester.username },
    });
  }
}

/** SPEC S5, D5: the device a request would lend no longer works (set aside, reported, returned): nothing is approved. */
function deviceNoLongerWorks(): SlsError {
  return new SlsError('SLS_ERR_CONFLICT', { message: 'The device to share no longer works (set aside, reported or returned): cancel this request and start a new one.' });
}

/**
 * SPEC S5, N1: serializes the changes of one requester's sharing requests (a start replacing one,
 * an approval) however many arrive together and however many slsd share the database.
 *
 * PostgreSQL: the requester's user row is locked (`SELECT … FOR NO KEY UPDATE`) first, so these
 * transactions of one requester wait for each other, and under READ COMMITTED each later statement
 * sees what the previous holder committed; other users are not held up. NO KEY UPDATE, not UPDATE:
 * it does not block the key-share locks that foreign keys take, so two users starting to share each
 * other's device at the same moment (each inserting a row that references the other) cannot
 * deadlock. SQLite: Kysely runs a
 * transaction alone on its one connection, and the caller's first statement is a WRITE, which
 * takes the database's write lock for the whole transaction (across processes too, with the busy
 * timeout), as withdrawals do (W4).
 *
 * A decision (`#advance`) locks the owner's row too, both in id order: approving sets the requester's
 * own devices aside (S5), which ends other users' requests for them (`settleRequestsForSetAside`),
 * so two users approving each other's device at once wait for each other instead of deadlocking on
 * those requests' rows; the second then finds its request cancelled.
 */
async function serializedPerRequester(trx: AccountTrx | AccountDb, requesterUserId: string, ownerUserId?: string): Promise<void> {
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    const ids = ownerUserId === undefined ? [requesterUserId] : [requesterUserId, ownerUserId];
    await trx.selectFrom('users').select('id').where('id', 'in', ids).orderBy('id').forNoKeyUpdate().execute();
  }
}

export interface SharingView {
  readonly id: string;
  readonly state: SharingState;
  readonly requester: { readonly username: string; readonly displayName: string };
  readonly owner: { readonly username: string; readonly displayName: string };
  /** A DSC+ with its full serial, for the requester's desktop to find the card (S3, C2). */
  readonly device: { readonly id: string; readonly kind: DeviceRow['kind']; readonly label: string; readonly serial?: string };
  readonly needsCompliance: boolean;
  /** The requester's own physical devices that become inactive on approval (S5), or were. */
  readonly requesterDevices: readonly { readonly id: string; readonly label: string; readonly status: DeviceRow['status'] }[];
  readonly createdAt: string;
  /** SPEC S4: when it was approved or rejected. */
  readonly decidedAt?: string;
  /** SPEC S3–S5: a request cancelled or rejected: what ended it, and when (module doc, `endedOf`). */
  readonly ended?: { readonly reason: SharingEndReason; readonly at: string };
  /** SPEC S3: the still valid challenge of a started request, for its requester's list only (`list`). */
  readonly challenge?: ConfirmationChallenge;
}

/**
 * SPEC S3–S5: what ended request `r` and when, for a cancelled or rejected one (else undefined): the
 * reason kept with it (migration 0015), `not_recorded` for one cancelled before; when, from the column
 * its final state set (`cancelled_at`; `decided_at` for a rejection).
 */
function endedOf(r: SharingRequestTable): SharingView['ended'] {
  if (r.state === 'rejected') return { reason: r.ended_reason ?? 'rejected_by_compliance', at: new Date(r.decided_at ?? r.created_at).toISOString() };
  if (r.state === 'cancelled') return { reason: r.ended_reason ?? 'not_recorded', at: new Date(r.cancelled_at ?? r.created_at).toISOString() };
  return undefined;
}

/** SPEC S3, L6: a confirmation that still takes an answer: open, not expired, fewer than 3 wrong responses. */
const answerable = (c: ConfirmationRow, now: number) => c.state === 'challenge' && c.expires_at > now && c.wrong_responses < WRONG_RESPONSES_PER_TRANSACTION;

/** A sharing ended because its device stopped authenticating (SPEC S5, D8): the request and the requester's devices made active again. */
export interface EndedSharing {
  readonly requestId: string;
  readonly requesterUserId: string;
  readonly requesterUsername: string;
  readonly deviceId: string;
  readonly from: SharingState;
  readonly reactivated: readonly string[];
}

/**
 * SPEC S5: cancels request `r` from the state it was read in, inside the caller's transaction, and,
 * when it was approved, makes the requester's own devices it set aside active again (those still
 * inactive: one reported lost meanwhile stays lost). Returns the ids reactivated, or null when the
 * request moved meanwhile (a concurrent approval, cancel or report committed first): nothing changed.
 * Shared by `SharingService.cancel` and `endSharingsOfDevice`, which audit it each in their words;
 * `reason` (what ended it, S3–S5) is kept with the request for both users' lists, and each caller's
 * `sharing.cancelled` entry carries the same value as its `reason` (N2).
 */
async function cancelFrom(trx: AccountDb, r: SharingRequestTable, now: number, reason: SharingEndReason): Promise<string[] | null> {
  // The devices set aside as the cancelling UPDATE leaves them (RETURNING), not as `r` was read: a
  // device activated and set aside while the sharing is approved (`setAsideOnActivation`) is added
  // to them after that read, and comes back with the others.
  const u = await trx
    .updateTable('sharing_requests')
    .set({ state: 'cancelled', cancelled_at: now, ended_reason: reason })
    .where('id', '=', r.id)
    .where('state', '=', r.state)
    .returning('deactivated_device_ids')
    .executeTakeFirst();
  if (!u) return null;
  const ids = r.state === 'approved' ? (JSON.parse(u.deactivated_device_ids) as string[]) : [];
  if (ids.length === 0) return [];
  // Only devices still the requester's: one an operator assigned to another user meanwhile (`slsctl
  // device assign`, D7) is that user's now, and ending this sharing gives nothing of theirs back.
  return (
    await trx.updateTable('devices').set({ status: 'active' }).where('id', 'in', ids).where('status', '=', 'inactive').where('user_id', '=', r.requester_user_id).returning('id').execute()
  ).map((x) => x.id);
}

/**
 * SPEC S5, D8: the device of every open sharing request (started, verified, pending compliance or
 * approved) is no longer usable — reported lost or broken, returned, or set so by an operator — so
 * each such request is cancelled, and an approved one gives the requester back the own devices it
 * set aside, as `SharingService.cancel` does. Otherwise the requester, whose own devices are
 * inactive and who cannot sign in with the dead device, could never cancel it. Run inside the
 * caller's transaction with the status change, so both happen or neither; each ending is audited
 * (N2) in it too.
 *
 * SPEC D5, L8: the requester's sessions opened with the device, and the restart chains begun with
 * it, are NOT ended here: every caller (devices-admin.ts `report` and `returnDevice`, provisioning.ts
 * `setDeviceStatus`) has already ended every session of the device, whoever's, in the same
 * transaction (sessions.ts `endSessionsOfDevice`), and audited the counts with the status change.
 * A caller that ends a sharing while its device goes on working (`SharingService.cancel`) ends the
 * requester's use of it itself (`endSessionsOfDevice` with `{ userId }`).
 */
export async function endSharingsOfDevice(
  trx: AccountDb,
  deviceId: string,
  now: number,
  why: { readonly reason: string; readonly by: string; readonly sourceAddress?: string | null },
): Promise<EndedSharing[]> {
  const read = (ids: readonly string[]) =>
    trx
      .selectFrom('sharing_requests')
      .innerJoin('users', 'users.id', 'sharing_requests.requester_user_id')
      .selectAll('sharing_requests')
      .select('users.username_normalized as requester_username')
      .where('sharing_requests.device_id', '=', deviceId)
      .where('sharing_requests.state', 'in', OPEN)
      .$if(ids.length > 0, (q) => q.where('sharing_requests.id', 'in', ids))
      .execute();
  const ended: EndedSharing[] = [];
  let pending = await read([]);
  if (pending.length === 0) return ended;
  const reason = await deviceEndReason(trx, deviceId, why);
  // Each request is cancelled conditionally on the state read. One that moved meanwhile (on
  // PostgreSQL, a concurrent approval that committed first) is read again and cancelled from its
  // new state, so an approval racing the report never survives it.
  for (let round = 0; pending.length > 0 && round < 3; round++) {
    const moved: string[] = [];
    for (const r of pending) {
      const reactivated = await cancelFrom(trx, r, now, reason);
      if (reactivated === null) moved.push(r.id);
      else ended.push(await audited(r, reactivated));
    }
    pending = moved.length ? await read(moved) : [];
  }
  if (pending.length > 0) throw new SlsError('SLS_ERR_CONFLICT', { message: 'A sharing of this device changed meanwhile: please try again.' });
  return ended;

  async function audited(r: SharingRequestTable & { requester_username: string }, reactivated: string[]): Promise<EndedSharing> {
    await appendAccountAudit(trx, now, {
      event: 'sharing.cancelled',
      userId: r.requester_user_id,
      username: r.requester_username,
      sourceAddress: why.sourceAddress ?? null,
      deviceId,
      // SPEC S5, D8, N2: `reason` is the `ended_reason` kept with the request (device_reported,
      // device_returned, device_unavailable); the caller's words (lost or broken, the status an
      // operator set, an assignment) stay in `note`.
      details: { requestId: r.id, from: r.state, reactivated: reactivated.length, reason, note: why.reason, by: why.by },
    });
    return { requestId: r.id, requesterUserId: r.requester_user_id, requesterUsername: r.requester_username, deviceId, from: r.state, reactivated };
  }
}

/**
 * SPEC S5, D5, D7, D8: why the sharings of a device that stopped authenticating end, from the device as
 * the caller's transaction has just left it: reported lost (`lost`) or broken (`revoked` by its user's
 * report, which comes over HTTP, with a source address: devices-admin.ts `report`), returned, or anything
 * else an operator did with slsctl, which has no source address (set inactive or revoked, assigned to
 * another user; provisioning.ts).
 */
async function deviceEndReason(trx: AccountDb, deviceId: string, why: { readonly sourceAddress?: string | null }): Promise<SharingEndReason> {
  const d = await trx.selectFrom('devices').select('status').where('id', '=', deviceId).executeTakeFirst();
  if (d?.status === 'lost') return 'device_reported';
  if (d?.status === 'returned') return 'device_returned';
  if (d?.status === 'revoked' && why.sourceAddress != null) return 'device_reported';
  return 'device_unavailable';
}

/**
 * SPEC S5, T3, D6, D1, D7: device `deviceId` of user `userId` has just become active — it activated
 * itself 14 days after it was sent (T3, devices-admin.ts `selfActivateDue`), its user activated it
 * (serial and response, D6, `completeActivation`), or an operator registered it active, assigned it
 * to the user or made it active again (provisioning.ts `addDevice`, `assignDevice`,
 * `setDeviceStatus`; `why` then names the operator and what they did) — inside the caller's
 * transaction, after the caller's INSERT or UPDATE of it. When that user shares another user's
 * device (an approved request, S5) and the device is physical, it is set aside as approval set aside
 * the others: inactive (kept), added to the request's set-aside devices so that ending the sharing
 * (cancel, the shared device reported or returned) makes it active again with them, and audited
 * `device.status_changed` in the same transaction (N2). Returns the request's id, or null when nothing was set aside (not physical, no
 * approved sharing, or it ended meanwhile).
 *
 * Why set aside rather than leave it active, or refuse the activation: S5 says the requester's own
 * physical devices are inactive during a sharing. Left active, the card the user ordered before
 * sharing (D6) would sign them in beside the shared one; refused, a self-activation (T3), which no
 * one asks for, could not happen at all. Set aside, it is already activated (possession proven, the
 * order done) and works as soon as the sharing ends, like the devices set aside at approval (D5:
 * "inactive, e.g. set aside after sharing"). A request only pending compliance sets nothing aside
 * yet: its approval sets aside the user's devices active then, this one among them.
 *
 * Serialized with approvals (`serializedPerRequester`, the user's row on PostgreSQL; SQLite's write
 * lock, the caller's first statement a write): an approval committed first is seen here; one waiting
 * for this sees the device active and sets it aside itself. A cancel committed first leaves nothing
 * approved (the conditional UPDATE below changes nothing: the device stays active); one after finds
 * the device among those it reactivates (`cancelFrom` reads them as its UPDATE leaves them).
 */
export async function setAsideOnActivation(
  trx: AccountTrx | AccountDb,
  userId: string,
  deviceId: string,
  now: number,
  sourceAddress: string | null = null,
  why: { readonly reason?: string; readonly by?: string } = {},
): Promise<string | null> {
  await serializedPerRequester(trx, userId);
  const device = await trx.selectFrom('devices').select(['kind', 'status']).where('id', '=', deviceId).where('user_id', '=', userId).executeTakeFirst();
  if (!device || device.status !== 'active' || !DEVICE_CATALOGUE[device.kind].physical) return null;
  const sharing = await trx
    .selectFrom('sharing_requests')
    .innerJoin('users', 'users.id', 'sharing_requests.requester_user_id')
    .select(['sharing_requests.id', 'sharing_requests.deactivated_device_ids', 'users.username_normalized'])
    .where('sharing_requests.requester_user_id', '=', userId)
    .where('sharing_requests.state', '=', 'approved')
    .orderBy('sharing_requests.created_at')
    .executeTakeFirst();
  if (!sharing) return null;
  const ids = JSON.parse(sharing.deactivated_device_ids) as string[];
  if (!ids.includes(deviceId)) {
    const u = await trx
      .updateTable('sharing_requests')
      .set({ deactivated_device_ids: JSON.stringify([...ids, deviceId]) })
      .where('id', '=', sharing.id)
      .where('state', '=', 'approved')
      .executeTakeFirst();
    // Cancelled meanwhile (a cancel does not take the user's row): the sharing is over, the device stays active.
    if (Number(u.numUpdatedRows) !== 1) return null;
  }
  await trx.updateTable('devices').set({ status: 'inactive' }).where('id', '=', deviceId).where('status', '=', 'active').execute();
  // SPEC S5, D5, L5: set aside, it answers no challenge issued before, not even once the sharing ends
  // and it is active again (device-challenges.ts).
  const challenges = await endChallengesOnDevice(trx, deviceId, now, 'choose_again');
  await appendAccountAudit(trx, now, {
    event: 'device.status_changed',
    userId,
    username: sharing.username_normalized,
    sourceAddress,
    deviceId,
    details: {
      from: 'active',
      to: 'inactive',
      reason: why.reason ?? "activated while its user shares another user's device: set aside until that sharing ends (S5)",
      ...(why.by === undefined ? {} : { by: why.by }),
      requestId: sharing.id,
      ...endedCounts(challenges),
    },
  });
  return sharing.id;
}

/** What `endChallengesOnDevice` ended on devices set aside, for the audit entry (N2). */
function endedCounts(...ended: readonly EndedChallenges[]): { loginsBackToChoice: number; loginsEnded: number; confirmationsEnded: number; pushesEnded: number } {
  const sum = (f: (e: EndedChallenges) => number) => ended.reduce((a, e) => a + f(e), 0);
  return {
    loginsBackToChoice: sum((e) => e.backToChoice),
    loginsEnded: sum((e) => e.logins.length - e.backToChoice),
    confirmationsEnded: sum((e) => e.confirmations),
    pushesEnded: sum((e) => e.pushes),
  };
}

export class SharingService {
  readonly #d: AccountDeps;

  constructor(deps: AccountDeps) {
    this.#d = deps;
  }

  async #party(user: UserRow): Promise<SharingParty> {
    const { adb, box } = this.#d;
    const e = await adb.selectFrom('entities').selectAll().where('id', '=', user.entity_id).executeTakeFirstOrThrow();
    const devices = await adb.selectFrom('devices').select(['kind', 'status']).where('user_id', '=', user.id).execute();
    return {
      entityId: e.id,
      identification: {
        dateOfBirth: e.date_of_birth,
        citizenship: e.citizenship,
        residenceCountry: e.residence_country,
        idDocumentType: e.id_document_type,
        idDocumentNumber: e.id_document_number,
        ssn: e.ssn_sealed ? box.openText(e.ssn_sealed, `entity:${e.id}:ssn`) : null,
      },
      devices,
    };
  }

  async #decide(requester: UserRow, owner: UserRow, device: DeviceRow, sourceAddress: string) {
    // SPEC S1b, T1, T2: a temporary device past its periods is no longer "assigned"; it is retired first.
    for (const u of [requester, owner]) await expireTemporaryDevices(this.#d.adb, this.#d.now(), u.id);
    const decision = decideSharing(await this.#party(requester), await this.#party(owner), device);
    if (!decision.allowed) {
      await this.#d.audit({
        event: 'sharing.refused',
        userId: requester.id,
        username: requester.username_normalized,
        sourceAddress,
        deviceId: device.id,
        details: { owner: owner.username_normalized, reason: decision.reason },
      });
      throw new SlsError(REFUSAL_CODES[decision.reason], { message: SHARING_REFUSAL_MESSAGES[decision.reason] });
    }
    return decision;
  }

  async #view(r: SharingRequestTable): Promise<SharingView> {
    return (await this.#views([r]))[0]!;
  }

  /**
   * The views of these requests with a fixed number of queries, however many (SPEC N1): their users
   * at once, their devices and set-aside devices at once, and, for those that set none aside, the
   * requesters' active physical devices (the ones approval would set aside, S5) at once.
   */
  async #views(rows: readonly SharingRequestTable[], challenges: ReadonlyMap<string, ConfirmationChallenge> = new Map()): Promise<SharingView[]> {
    if (rows.length === 0) return [];
    const { adb } = this.#d;
    const unique = (xs: readonly string[]) => [...new Set(xs)];
    const setAside = rows.map((r) => JSON.parse(r.deactivated_device_ids) as string[]);
    const users = new Map(
      (await adb.selectFrom('users').select(['id', 'username', 'display_name']).where('id', 'in', unique(rows.flatMap((r) => [r.requester_user_id, r.owner_user_id]))).execute()).map((x) => [
        x.id,
        { username: x.username, displayName: x.display_name },
      ]),
    );
    const devices = new Map(
      (await adb.selectFrom('devices').select(['id', 'kind', 'label', 'serial', 'status']).where('id', 'in', unique([...rows.map((r) => r.device_id), ...setAside.flat()])).execute()).map((x) => [x.id, x]),
    );
    const wouldSetAside = unique(rows.filter((_, i) => setAside[i]!.length === 0).map((r) => r.requester_user_id));
    const activeOwn =
      wouldSetAside.length > 0
        ? (
            await adb
              .selectFrom('devices')
              .select(['id', 'label', 'status', 'kind', 'user_id'])
              .where('user_id', 'in', wouldSetAside)
              .where('status', '=', 'active')
              .orderBy('created_at')
              .orderBy('id')
              .execute()
          ).filter((x) => DEVICE_CATALOGUE[x.kind].physical)
        : [];
    return rows.map((r, i) => {
      const row = devices.get(r.device_id);
      if (!row) throw new Error(`sharing request ${r.id}: device ${r.device_id} not found`);
      const device = { id: row.id, kind: row.kind, label: row.label, ...(row.kind === 'dscplus' && row.serial ? { serial: row.serial } : {}) };
      const ids = setAside[i]!;
      const mine =
        ids.length > 0
          ? ids.flatMap((id) => {
              const x = devices.get(id);
              return x ? [{ id: x.id, label: x.label, status: x.status }] : [];
            })
          : activeOwn.filter((x) => x.user_id === r.requester_user_id).map(({ id, label, status }) => ({ id, label, status }));
      const user = (id: string) => {
        const u = users.get(id);
        if (!u) throw new Error(`sharing request ${r.id}: user ${id} not found`);
        return u;
      };
      return {
        id: r.id,
        state: r.state,
        requester: user(r.requester_user_id),
        owner: user(r.owner_user_id),
        device,
        needsCompliance: r.needs_compliance === 1,
        requesterDevices: mine,
        createdAt: new Date(r.created_at).toISOString(),
        ...(r.decided_at === null ? {} : { decidedAt: new Date(r.decided_at).toISOString() }),
        ...(r.state === 'cancelled' || r.state === 'rejected' ? { ended: endedOf(r) } : {}),
        ...(challenges.has(r.id) ? { challenge: challenges.get(r.id)! } : {}),
      };
    });
  }

  /**
   * The latest confirmation issued for each of these requests of requester `userId` (SPEC S3: `start`
   * issues one per request), whatever its state, by request id. One query (by the `confirmations_device`
   * index, migration 0010), however many requests: a sharing confirmation names its request in its subject.
   */
  async #confirmationsOf(userId: string, rows: readonly SharingRequestTable[]): Promise<Map<string, ConfirmationRow>> {
    const mine = rows.filter((r) => r.requester_user_id === userId);
    const found = new Map<string, ConfirmationRow>();
    if (mine.length === 0) return found;
    const ids = new Set(mine.map((r) => r.id));
    const confirmations = await this.#d.adb
      .selectFrom('confirmations')
      .selectAll()
      .where('device_id', 'in', [...new Set(mine.map((r) => r.device_id))])
      .where('created_at', '>=', Math.min(...mine.map((r) => r.created_at)))
      .where('user_id', '=', userId)
      .where('purpose', '=', 'sharing')
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    for (const c of confirmations) {
      const { requestId } = JSON.parse(c.subject) as { requestId?: string };
      if (requestId !== undefined && ids.has(requestId)) found.set(requestId, c);
    }
    return found;
  }

  /**
   * GET /v1/sharing (SPEC S3, S5): the user's requests, as requester or owner, most recent first,
   * at most SHARING_LIST_LIMIT (50) of them. With one open request per requester (module doc) the
   * open ones a user makes are always among them; older ended ones (cancelled, rejected) drop off.
   */
  async list(caller: Caller): Promise<SharingView[]> {
    const d = this.#d;
    const rows = await d.adb
      .selectFrom('sharing_requests')
      .selectAll()
      .where((eb) => eb.or([eb('requester_user_id', '=', caller.user.id), eb('owner_user_id', '=', caller.user.id)]))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(SHARING_LIST_LIMIT)
      .execute();
    // SPEC S3: the caller's own started request (one open at a time) with its challenge while it can still be
    // answered, so Continue needs no owner's password again; never on the owner's side of a request.
    const started = rows.filter((r) => r.state === 'started' && r.requester_user_id === caller.user.id);
    const challenges = new Map<string, ConfirmationChallenge>();
    const now = d.now();
    for (const [requestId, c] of await this.#confirmationsOf(caller.user.id, started)) {
      if (answerable(c, now)) challenges.set(requestId, await describeConfirmation(d, d.adb, c));
    }
    return this.#views(rows, challenges);
  }

  /**
   * GET /v1/sharing/:requestId/challenge (SPEC S3): the challenge of the caller's started request again,
   * while it can still be answered — the desktop that left the step, or restarted, continues with it, no
   * owner's password again. Only the requester's session: anyone else, the device's owner included (their
   * device answers, in the requester's session, S3), gets SLS_ERR_NOT_FOUND as for an unknown id; a request
   * no longer started, SLS_ERR_CONFLICT. Its challenge over: SLS_ERR_TRANSACTION_EXPIRED (its 5 minutes,
   * the login transaction's lifetime, are past) or SLS_ERR_TRANSACTION_ENDED (3 wrong responses, L6),
   * each saying the owner's password gets a new one (`start`). Reads only: nothing issued, sent, counted
   * or audited, so the throttling (L6) is as it was; answering still goes through `answer`.
   */
  async challenge(caller: Caller, requestId: string): Promise<IssuedConfirmation> {
    const d = this.#d;
    const r = await this.#own(caller, requestId, ['started']);
    const c = (await this.#confirmationsOf(caller.user.id, [r])).get(r.id);
    const again = "Enter the device owner's password again for a new challenge (S3).";
    if (!c) throw new SlsError('SLS_ERR_TRANSACTION_NOT_FOUND', { message: `This sharing request has no challenge to answer. ${again}` });
    if (c.state === 'used') throw new SlsError('SLS_ERR_CHALLENGE_USED');
    if (c.state === 'ended' || c.wrong_responses >= WRONG_RESPONSES_PER_TRANSACTION) {
      throw new SlsError('SLS_ERR_TRANSACTION_ENDED', { message: `The challenge of this sharing request took 3 wrong responses. ${again}` });
    }
    if (c.expires_at <= d.now()) throw new SlsError('SLS_ERR_TRANSACTION_EXPIRED', { message: `The challenge of this sharing request has expired. ${again}` });
    return describeConfirmation(d, d.adb, c);
  }

  /** S3 steps 1–2: the owner's credentials, the rules, a challenge on the owner's device. */
  async start(
    caller: Caller,
    req: { ownerUsername: string; ownerPassword: string; deviceId?: string | undefined },
    sourceAddress: string,
  ): Promise<{ request: SharingView; confirmation: IssuedConfirmation }> {
    const d = this.#d;
    const { adb } = d;
    const services = d.services;
    const ownerNormalized = normalizeUsername(req.ownerUsername);
    await services.throttle.assertAddressAllowed(sourceAddress);
    // SPEC L6: a locked requester starts nothing (no owner password checked, no request left started).
    await services.throttle.assertUserNotLocked(caller.user.username_normalized);
    await services.throttle.assertUserNotLocked(ownerNormalized);
    // SPEC S5: one sharing at a time. A requester who shares a device, or waits for compliance, is
    // refused before the owner's password is checked: nothing is counted, audited or changed.
    const held = await adb.selectFrom('sharing_requests').select('id').where('requester_user_id', '=', caller.user.id).where('state', 'in', HELD).executeTakeFirst();
    if (held) throw oneSharingAtATime();
    // SPEC S5: a device of the requester's that another user shares (or waits for compliance to share) would be set aside.
    await refuseIfOwnDeviceLent(adb, caller.user.id);
    const owner = await adb.selectFrom('users').selectAll().where('username_normalized', '=', ownerNormalized).executeTakeFirst();
    const ok = owner?.password_hash ? await services.passwords.verify(owner.password_hash, req.ownerPassword) : await services.passwords.verifyUnknownUser(req.ownerPassword);
    if (!owner || !ok) {
      await d.audit({ event: 'sharing.owner_password_failed', userId: caller.user.id, username: caller.user.username_normalized, sourceAddress, details: { owner: ownerNormalized } });
      await services.throttle.recordFailure(ownerNormalized, sourceAddress);
      throw new SlsError('SLS_ERR_INVALID_CREDENTIALS');
    }
    if (owner.id === caller.user.id) throw new SlsError('SLS_ERR_VALIDATION', { message: 'Enter the credentials of the device owner, another user (S3).' });
    const ownerDevices = await adb.selectFrom('devices').selectAll().where('user_id', '=', owner.id).where('status', '=', 'active').orderBy('created_at').execute();
    let device: DeviceRow | undefined;
    if (req.deviceId) {
      device = ownerDevices.find((x) => x.id === req.deviceId);
      if (!device) throw new SlsError('SLS_ERR_DEVICE_NOT_AVAILABLE');
    } else {
      // The owner's most secure shareable device; failing that, the device whose refusal tells the
      // real situation (S2, S6):
      // - IB Key, whatever else is active beside it (SMS is enrolled automatically, P4, often before
      //   IB Key): the owner HAS an active device, and S2 says how it is shared, by adding the user
      //   inside the IB Key app (K3; the knowledge base sends IB Key users there, not to this
      //   procedure). "No active device to share" would be false and point nowhere; "only physical
      //   devices can be shared" (the SMS, when it came first) would be true but hide the way that works.
      // - else another active device (SMS, a temporary one): "only physical devices can be shared" (S2).
      // - none active at all: the owner has nothing to share (SLS_ERR_NO_ACTIVE_DEVICE).
      const shareable = ownerDevices.filter((x) => isShareableKind(x.kind)).sort((a, b) => securityRank(b.kind) - securityRank(a.kind));
      device = shareable[0] ?? ownerDevices.find((x) => x.kind === 'ibkey') ?? ownerDevices[0];
      if (!device) throw new SlsError('SLS_ERR_NO_ACTIVE_DEVICE', { message: 'The device owner has no active device to share.' });
    }
    const decision = await this.#decide(caller.user, owner, device, sourceAddress);
    const now = d.now();
    const row: SharingRequestTable = {
      id: newId('shr'),
      requester_user_id: caller.user.id,
      owner_user_id: owner.id,
      device_id: device.id,
      state: 'started',
      needs_compliance: decision.needsCompliance ? 1 : 0,
      deactivated_device_ids: '[]',
      created_at: now,
      verified_at: null,
      decided_at: null,
      decided_by: null,
      cancelled_at: null,
      ended_reason: null,
    };
    // SPEC S5, S3: one open request per requester (module doc). The new request goes in and the
    // requester's other open requests are settled in ONE transaction serialized per requester:
    // one waiting for compliance or approved (since the check above) refuses the start, all of it
    // undone; one only started or verified is replaced (cancelled, audited in the same transaction, N2).
    await adb.transaction().execute(async (trx) => {
      await serializedPerRequester(trx, caller.user.id);
      // The first statement a write: SQLite's write lock from here to commit (serializedPerRequester).
      await trx.insertInto('sharing_requests').values(row).execute();
      const others = await trx
        .selectFrom('sharing_requests')
        .select(['id', 'state', 'device_id'])
        .where('requester_user_id', '=', caller.user.id)
        .where('state', 'in', OPEN)
        .where('id', '<>', row.id)
        .execute();
      if (others.some((o) => HELD.includes(o.state))) throw oneSharingAtATime();
      const reason: SharingEndReason = 'replaced';
      for (const o of others) {
        // Conditional: a request that moved meanwhile (an answer, a submit to compliance, a report of
        // its device) is cancelled from where it is now if still replaceable, else refuses the start.
        const u = await trx
          .updateTable('sharing_requests')
          .set({ state: 'cancelled', cancelled_at: now, ended_reason: reason })
          .where('id', '=', o.id)
          .where('state', 'in', REPLACEABLE)
          .returning('id')
          .executeTakeFirst();
        if (!u) {
          const moved = await trx.selectFrom('sharing_requests').select('state').where('id', '=', o.id).executeTakeFirstOrThrow();
          if (HELD.includes(moved.state)) throw oneSharingAtATime();
          continue;
        }
        await appendAccountAudit(trx, now, {
          event: 'sharing.cancelled',
          userId: caller.user.id,
          username: caller.user.username_normalized,
          sourceAddress,
          deviceId: o.device_id,
          // SPEC S3, S5, N2: `reason` as kept with the request (`ended_reason`).
          details: { requestId: o.id, from: o.state, reactivated: 0, reason, note: 'replaced by a new request (S3, S5)', replacedBy: row.id },
        });
      }
      // N2: the request is started with its entry, in this transaction, or not at all (the requests it
      // replaces then stay as they were): never a started request without its entry, nor an entry for none.
      await appendAccountAudit(trx, now, {
        event: 'sharing.started',
        userId: caller.user.id,
        username: caller.user.username_normalized,
        sourceAddress,
        deviceId: device.id,
        details: { requestId: row.id, owner: owner.username_normalized },
      });
    });
    const confirmation = await issueConfirmation(d, adb, { user: caller.user, deviceUser: owner, device, purpose: 'sharing', subject: { requestId: row.id }, sourceAddress });
    return { request: await this.#view(row), confirmation };
  }

  /**
   * The caller's request `requestId` in one of `states`: one the caller made, or with `parties`
   * 'requester_or_owner' also one for the caller's own device (SPEC S5: the owner may end a sharing
   * too). Any other user's request is answered exactly as an unknown id, SLS_ERR_NOT_FOUND, so no one
   * learns which request ids exist; a request in another state, SLS_ERR_CONFLICT.
   */
  async #own(caller: Caller, requestId: string, states: readonly SharingState[], parties: 'requester' | 'requester_or_owner' = 'requester'): Promise<SharingRequestTable> {
    const me = caller.user.id;
    const r = await this.#d.adb
      .selectFrom('sharing_requests')
      .selectAll()
      .where('id', '=', requestId)
      .where((eb) => (parties === 'requester' ? eb('requester_user_id', '=', me) : eb.or([eb('requester_user_id', '=', me), eb('owner_user_id', '=', me)])))
      .executeTakeFirst();
    if (!r) throw new SlsError('SLS_ERR_NOT_FOUND', { message: 'There is no such sharing request of yours.' });
    if (!states.includes(r.state)) throw new SlsError('SLS_ERR_CONFLICT', { message: `This sharing request is ${r.state.replace('_', ' ')}.` });
    return r;
  }

  /** S3 step 3: the owner's device answered; the request is ready for review. */
  async answer(caller: Caller, requestId: string, req: { confirmationId: string; response: string }, sourceAddress: string): Promise<SharingView> {
    const d = this.#d;
    const r = await this.#own(caller, requestId, ['started']);
    const { confirmation } = await checkConfirmation(d, d.adb, { confirmationId: req.confirmationId, userId: caller.user.id, purpose: 'sharing', response: req.response, sourceAddress });
    if ((JSON.parse(confirmation.subject) as { requestId: string }).requestId !== r.id) throw new SlsError('SLS_ERR_VALIDATION', { message: 'This confirmation belongs to another request.' });
    const now = d.now();
    await d.adb.transaction().execute(async (trx) => {
      if (!(await consumeConfirmation(trx, confirmation.id, now))) throw new SlsError('SLS_ERR_CHALLENGE_USED');
      const u = await trx.updateTable('sharing_requests').set({ state: 'verified', verified_at: now }).where('id', '=', r.id).where('state', '=', 'started').executeTakeFirst();
      // Replaced by a new start (S5) or cancelled meanwhile: not verified, and the confirmation stays unused (rolled back).
      if (Number(u.numUpdatedRows) !== 1) throw new SlsError('SLS_ERR_CONFLICT', { message: 'This sharing request changed meanwhile.' });
      // SPEC N2, S3: the owner's password and their device's response accepted is a security event,
      // on record in this transaction: an entry that cannot be written verifies nothing (the request
      // stays started, the confirmation unused, so the same answer can be sent again).
      const owner = await trx.selectFrom('users').select('username_normalized').where('id', '=', r.owner_user_id).executeTakeFirstOrThrow();
      await appendAccountAudit(trx, now, {
        event: 'sharing.verified',
        userId: caller.user.id,
        username: caller.user.username_normalized,
        sourceAddress,
        deviceId: r.device_id,
        details: { requestId: r.id, owner: owner.username_normalized },
      });
    });
    return this.#view({ ...r, state: 'verified' });
  }

  /** S3 step 4, S4: submit after review: approved at once, or pending compliance. */
  async submit(caller: Caller, requestId: string, sourceAddress: string): Promise<SharingView> {
    const d = this.#d;
    const r = await this.#own(caller, requestId, ['verified']);
    const owner = await d.adb.selectFrom('users').selectAll().where('id', '=', r.owner_user_id).executeTakeFirstOrThrow();
    const device = await d.adb.selectFrom('devices').selectAll().where('id', '=', r.device_id).executeTakeFirstOrThrow();
    await this.#decide(caller.user, owner, device, sourceAddress);
    if (r.needs_compliance === 1) {
      // SPEC S4, S5: waiting for compliance is open too: the same one-at-a-time check as an approval.
      // N2: audited in the same transaction: no change without its entry.
      await this.#advance(r, ['verified'], { state: 'pending_compliance' }, async (trx) => {
        await refuseIfOwnDeviceLent(trx, r.requester_user_id);
        await appendAccountAudit(trx, d.now(), { event: 'sharing.pending_compliance', userId: caller.user.id, username: caller.user.username_normalized, sourceAddress, deviceId: device.id, details: { requestId: r.id } });
      });
    } else {
      await this.#approve(r, caller.user.username_normalized, 'automatic', sourceAddress);
    }
    return this.#view(await d.adb.selectFrom('sharing_requests').selectAll().where('id', '=', r.id).executeTakeFirstOrThrow());
  }

  /**
   * Moves request `r` from one of `from` to what `set` says, only while no OTHER request of its
   * requester is open (SPEC S5, one sharing at a time, module doc), then runs `then` in the same
   * transaction. The check is in the conditional UPDATE itself, inside a transaction serialized per
   * requester, so of two such moves arriving together (two submits, a submit and compliance, a
   * start replacing the request, several slsd) at most one passes, on SQLite and PostgreSQL.
   * Refused (nothing changed): SLS_ERR_CONFLICT, saying which.
   */
  async #advance<T>(
    r: SharingRequestTable,
    from: readonly SharingState[],
    set: { state: SharingState; decided_at?: number; decided_by?: string },
    then: (trx: AccountTrx) => Promise<T>,
  ): Promise<T> {
    return this.#d.adb.transaction().execute(async (trx) => {
      await serializedPerRequester(trx, r.requester_user_id, r.owner_user_id);
      // The first statement a write (SQLite's write lock, serializedPerRequester).
      const u = await trx
        .updateTable('sharing_requests')
        .set(set)
        .where('id', '=', r.id)
        .where('state', 'in', from)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('sharing_requests as other')
                .select('other.id')
                .where('other.requester_user_id', '=', r.requester_user_id)
                .where('other.state', 'in', OPEN)
                .where('other.id', '<>', r.id),
            ),
          ),
        )
        .executeTakeFirst();
      if (Number(u.numUpdatedRows) !== 1) {
        const current = await trx.selectFrom('sharing_requests').select('state').where('id', '=', r.id).executeTakeFirst();
        // Still where it was: another request of the requester is open (S5); this one is left as it is.
        if (current && from.includes(current.state)) {
          throw new SlsError('SLS_ERR_CONFLICT', { message: 'Another sharing request of this user is open: it must be cancelled first. One sharing at a time (S5).' });
        }
        throw new SlsError('SLS_ERR_CONFLICT', { message: 'This sharing request changed meanwhile.' });
      }
      return then(trx);
    });
  }

  /**
   * S5: the requester's own physical active devices become inactive; the request is approved — only
   * while no other request of the requester is open (`#advance`): never two approved at once.
   */
  async #approve(r: SharingRequestTable, requesterUsername: string, by: string, sourceAddress: string | null): Promise<void> {
    const d = this.#d;
    const now = d.now();
    const ended: EndedChallenges[] = [];
    await this.#advance(r, APPROVABLE, { state: 'approved', decided_at: now, decided_by: by }, async (trx) => {
      ended.length = 0; // a retried transaction starts over
      // SPEC S5, D5: the device lent must still work (its owner's own sharing may have set it aside).
      const lent = await trx.selectFrom('devices').select('status').where('id', '=', r.device_id).executeTakeFirst();
      if (lent?.status !== 'active') throw deviceNoLongerWorks();
      const mine = await trx.selectFrom('devices').select(['id', 'kind']).where('user_id', '=', r.requester_user_id).where('status', '=', 'active').execute();
      const physical = mine.filter((x) => DEVICE_CATALOGUE[x.kind].physical).map((x) => x.id);
      if (physical.length) {
        await trx.updateTable('sharing_requests').set({ deactivated_device_ids: JSON.stringify(physical) }).where('id', '=', r.id).execute();
        await trx.updateTable('devices').set({ status: 'inactive' }).where('id', 'in', physical).where('status', '=', 'active').execute();
        // SPEC S5, D5, L5: a challenge waiting on a device set aside (the requester's login, a
        // withdrawal's confirmation, a push) ends now: the sharing's end makes the device active
        // again, and must not revive it. A login goes back to choosing a device.
        for (const id of physical) ended.push(await endChallengesOnDevice(trx, id, now, 'choose_again'));
        // SPEC S5: none of them lent to another user; others' requests for them not yet decided end.
        await settleRequestsForSetAside(trx, { id: r.requester_user_id, username: requesterUsername }, physical, now, sourceAddress);
      }
      // N2: audited in the same transaction: an approval and its devices set aside never stand unaudited.
      await appendAccountAudit(trx, now, {
        event: 'sharing.approved',
        userId: r.requester_user_id,
        username: requesterUsername,
        sourceAddress,
        deviceId: r.device_id,
        details: { requestId: r.id, by, deactivated: physical.length, ...endedCounts(...ended) },
      });
    });
    // SPEC L7, L5, D5: committed: a desktop waiting on a login whose challenge a device set aside had
    // (its IB Key status long-poll) hears it now, as devices-admin.ts `#loginsMovedOn` does; one on
    // another slsd, at its next look.
    const notifier = notifierOf(d.services.db);
    for (const id of ended.flatMap((e) => e.logins)) notifier?.notify(`tx:${id}`);
  }

  /**
   * S5: end a sharing, or withdraw a request not yet in effect (started, verified, pending compliance).
   *
   * - Who: the REQUESTER, or the OWNER of the shared device (users expect to be able to stop someone
   *   using their card; the request is theirs too, in their list). Any other user: SLS_ERR_NOT_FOUND,
   *   as for an unknown id (no enumeration). A request no longer open: SLS_ERR_CONFLICT.
   * - S5: the requester's own devices set aside on approval are active again (those still inactive).
   * - D5, L8, S5: the requester's use of the owner's device ends with it, in the same transaction: the
   *   requester's live sessions opened with the shared device, the restart-token chains the requester
   *   began with it, and the sessions those chains restarted (sessions.ts `endSessionsOfDevice` with
   *   `{ userId }`). Else a session opened through the sharing kept the portal functions (the device is
   *   still active: it is the owner's) and its auto-restart until the weekly cut-off. The owner's own
   *   sessions and chains with the device stay. A requester who cancels from a session opened with
   *   the shared device is signed out by it, and signs in again with their own device.
   *   Only an approved sharing can have opened such sessions (one sharing at a time); the same
   *   step runs for every state, ending nothing for the others.
   * - N2: audited `sharing.cancelled` in the same transaction, with `by: 'requester' | 'owner'` and
   *   the counts (`reactivated`, `sessionsEnded`, `restartTokensRevoked`), under the requester (whose
   *   sharing it is, as every `sharing.*` entry); the source address is the caller's.
   * - A cancel racing an approval, a report of the device or another cancel: the conditional update
   *   lets one win; the other is SLS_ERR_CONFLICT and changes nothing.
   */
  async cancel(caller: Caller, requestId: string, sourceAddress: string): Promise<SharingView> {
    const d = this.#d;
    const r = await this.#own(caller, requestId, OPEN, 'requester_or_owner');
    const by = r.requester_user_id === caller.user.id ? 'requester' : 'owner';
    const requester =
      by === 'requester' ? caller.user : await d.adb.selectFrom('users').select(['id', 'username_normalized']).where('id', '=', r.requester_user_id).executeTakeFirstOrThrow();
    const now = d.now();
    // SPEC S3–S5: kept with the request, for both users' lists: withdrawn or refused before approval, ended after.
    const reason: SharingEndReason =
      by === 'requester' ? (r.state === 'approved' ? 'ended_by_requester' : 'withdrawn') : r.state === 'approved' ? 'ended_by_owner' : 'refused_by_owner';
    await d.adb.transaction().execute(async (trx) => {
      const reactivated = await cancelFrom(trx, r, now, reason);
      if (reactivated === null) throw new SlsError('SLS_ERR_CONFLICT', { message: 'This sharing request changed meanwhile.' });
      const ended = await endSessionsOfDevice(trx, r.device_id, now, { userId: r.requester_user_id });
      await appendAccountAudit(trx, now, {
        event: 'sharing.cancelled',
        userId: requester.id,
        username: requester.username_normalized,
        sourceAddress,
        deviceId: r.device_id,
        // SPEC S3–S5, N2: `reason` as kept with the request (`ended_reason`: withdrawn, refused_by_owner, ended_by_…).
        details: { requestId: r.id, from: r.state, by, reason, reactivated: reactivated.length, sessionsEnded: ended.sessions, restartTokensRevoked: ended.restartTokens },
      });
    });
    return this.#view(await d.adb.selectFrom('sharing_requests').selectAll().where('id', '=', r.id).executeTakeFirstOrThrow());
  }

  /** `slsctl sharing list --pending`: requests waiting for compliance (S4). */
  async pending(): Promise<SharingView[]> {
    const rows = await this.#d.adb.selectFrom('sharing_requests').selectAll().where('state', '=', 'pending_compliance').orderBy('created_at').execute();
    return this.#views(rows);
  }

  /** `slsctl sharing approve|reject` (S4): compliance decides; approval re-checks the rules. */
  async decide(requestId: string, approve: boolean, by: string): Promise<SharingView> {
    const d = this.#d;
    const r = await d.adb.selectFrom('sharing_requests').selectAll().where('id', '=', requestId).executeTakeFirst();
    if (!r) throw new SlsError('SLS_ERR_NOT_FOUND', { message: `no sharing request ${requestId}` });
    if (r.state !== 'pending_compliance') throw new SlsError('SLS_ERR_CONFLICT', { message: `request ${requestId} is ${r.state}` });
    if (approve) {
      const requester = await d.adb.selectFrom('users').selectAll().where('id', '=', r.requester_user_id).executeTakeFirstOrThrow();
      const owner = await d.adb.selectFrom('users').selectAll().where('id', '=', r.owner_user_id).executeTakeFirstOrThrow();
      const device = await d.adb.selectFrom('devices').selectAll().where('id', '=', r.device_id).executeTakeFirstOrThrow();
      await this.#decide(requester, owner, device, 'slsctl');
      await this.#approve(r, requester.username_normalized, by, null);
    } else {
      const requester = await d.adb.selectFrom('users').select('username_normalized').where('id', '=', r.requester_user_id).executeTakeFirstOrThrow();
      const now = d.now();
      // N2: audited in the same transaction. A withdrawal by either user committed since the read: nothing to reject, nothing audited.
      await d.adb.transaction().execute(async (trx) => {
        const reason: SharingEndReason = 'rejected_by_compliance';
        const u = await trx.updateTable('sharing_requests').set({ state: 'rejected', decided_at: now, decided_by: by, ended_reason: reason }).where('id', '=', r.id).where('state', '=', 'pending_compliance').executeTakeFirst();
        if (Number(u.numUpdatedRows) !== 1) throw new SlsError('SLS_ERR_CONFLICT', { message: `request ${requestId} changed meanwhile` });
        // SPEC S4, N2: `reason` as kept with the request (`ended_reason`).
        await appendAccountAudit(trx, now, { event: 'sharing.rejected', userId: r.requester_user_id, username: requester.username_normalized, deviceId: r.device_id, details: { requestId: r.id, by, reason } });
      });
    }
    return this.#view(await d.adb.selectFrom('sharing_requests').selectAll().where('id', '=', r.id).executeTakeFirstOrThrow());
  }
}
