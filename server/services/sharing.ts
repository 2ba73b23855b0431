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
 * On approval the requester's own physical devices become inactive (kept, S5); cancelling the
 * sharing reactivates those still inactive. The shared device then appears in the requester's
 * login drop-down.
 */
import type { ErrorCode } from '../../core/api.ts';
import { DEVICE_CATALOGUE, securityRank } from '../../core/devices.ts';
import { decideSharing, isShareableKind, SHARING_REFUSAL_MESSAGES } from '../../core/sharing.ts';
import type { SharingParty, SharingRefusal } from '../../core/sharing.ts';
import { newId } from '../crypto/tokens.ts';
import type { DeviceRow, UserRow } from '../db/schema.ts';
import { SlsError } from '../errors.ts';
import { checkConfirmation, consumeConfirmation, issueConfirmation } from '../account/confirmations.ts';
import type { IssuedConfirmation } from '../account/confirmations.ts';
import { appendAccountAudit } from '../account/deps.ts';
import type { AccountDeps } from '../account/deps.ts';
import type { Caller } from '../account/portal.ts';
import type { AccountDb, SharingRequestTable, SharingState } from '../account/schema.ts';
import { expireTemporaryDevices } from './temporary-access.ts';
import { normalizeUsername } from './throttle.ts';

const REFUSAL_CODES: Record<SharingRefusal, ErrorCode> = {
  less_secure_device: 'SLS_ERR_LESS_SECURE_DEVICE',
  different_identification: 'SLS_ERR_DIFFERENT_IDENTIFICATION',
  temporary_device_assigned: 'SLS_ERR_SHARING_TEMPORARY_DEVICE',
  ibkey_use_add_user: 'SLS_ERR_SHARING_IBKEY',
  device_not_shareable: 'SLS_ERR_DEVICE_NOT_SHAREABLE',
};

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
}

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
 * SPEC S5, D8: the device of every open sharing request (started, verified, pending compliance or
 * approved) is no longer usable — reported lost or broken, or set so by an operator — so each such
 * request is cancelled, and an approved one gives the requester back the own devices it set aside,
 * as `SharingService.cancel` does. Otherwise the requester, whose own devices are inactive and who
 * cannot sign in with the dead device, could never cancel it. Run inside the caller's transaction
 * with the status change, so both happen or neither; each ending is audited (N2) in it too.
 */
export async function endSharingsOfDevice(
  trx: AccountDb,
  deviceId: string,
  now: number,
  why: { readonly reason: string; readonly by: string; readonly sourceAddress?: string | null },
): Promise<EndedSharing[]> {
  const OPEN: SharingState[] = ['started', 'verified', 'pending_compliance', 'approved'];
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
  // Each request is cancelled conditionally on the state read. One that moved meanwhile (on
  // PostgreSQL, a concurrent approval that committed first) is read again and cancelled from its
  // new state, so an approval racing the report never survives it.
  for (let round = 0; pending.length > 0 && round < 3; round++) {
    const moved: string[] = [];
    for (const r of pending) {
      const u = await trx.updateTable('sharing_requests').set({ state: 'cancelled', cancelled_at: now }).where('id', '=', r.id).where('state', '=', r.state).executeTakeFirst();
      if (Number(u.numUpdatedRows) !== 1) {
        moved.push(r.id);
        continue;
      }
      ended.push(await reactivate(r));
    }
    pending = moved.length ? await read(moved) : [];
  }
  if (pending.length > 0) throw new SlsError('SLS_ERR_CONFLICT', { message: 'A sharing of this device changed meanwhile: please try again.' });
  return ended;

  async function reactivate(r: SharingRequestTable & { requester_username: string }): Promise<EndedSharing> {
    const ids = r.state === 'approved' ? (JSON.parse(r.deactivated_device_ids) as string[]) : [];
    const reactivated = ids.length
      ? (await trx.updateTable('devices').set({ status: 'active' }).where('id', 'in', ids).where('status', '=', 'inactive').returning('id').execute()).map((x) => x.id)
      : [];
    await appendAccountAudit(trx, now, {
      event: 'sharing.cancelled',
      userId: r.requester_user_id,
      username: r.requester_username,
      sourceAddress: why.sourceAddress ?? null,
      deviceId,
      details: { requestId: r.id, from: r.state, reactivated: reactivated.length, reason: why.reason, by: why.by },
    });
    return { requestId: r.id, requesterUserId: r.requester_user_id, requesterUsername: r.requester_username, deviceId, from: r.state, reactivated };
  }
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
    for (const u of [requester, owner]) await expireTemporaryDevices(this.#d.adb, this.#d.now(), this.#d.audit, u.id);
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
    const { adb } = this.#d;
    const users = await adb.selectFrom('users').select(['id', 'username', 'display_name']).where('id', 'in', [r.requester_user_id, r.owner_user_id]).execute();
    const u = (id: string) => {
      const x = users.find((y) => y.id === id)!;
      return { username: x.username, displayName: x.display_name };
    };
    const row = await adb.selectFrom('devices').select(['id', 'kind', 'label', 'serial']).where('id', '=', r.device_id).executeTakeFirstOrThrow();
    const device = { id: row.id, kind: row.kind, label: row.label, ...(row.kind === 'dscplus' && row.serial ? { serial: row.serial } : {}) };
    const deactivated = JSON.parse(r.deactivated_device_ids) as string[];
    const mine =
      deactivated.length > 0
        ? await adb.selectFrom('devices').select(['id', 'label', 'status']).where('id', 'in', deactivated).execute()
        : (await adb.selectFrom('devices').select(['id', 'label', 'status', 'kind']).where('user_id', '=', r.requester_user_id).where('status', '=', 'active').execute())
            .filter((x) => DEVICE_CATALOGUE[x.kind].physical)
            .map(({ id, label, status }) => ({ id, label, status }));
    return {
      id: r.id,
      state: r.state,
      requester: u(r.requester_user_id),
      owner: u(r.owner_user_id),
      device,
      needsCompliance: r.needs_compliance === 1,
      requesterDevices: mine,
      createdAt: new Date(r.created_at).toISOString(),
    };
  }

  async list(caller: Caller): Promise<SharingView[]> {
    const rows = await this.#d.adb
      .selectFrom('sharing_requests')
      .selectAll()
      .where((eb) => eb.or([eb('requester_user_id', '=', caller.user.id), eb('owner_user_id', '=', caller.user.id)]))
      .orderBy('created_at', 'desc')
      .execute();
    return Promise.all(rows.map((r) => this.#view(r)));
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
      // The owner's most secure shareable device; failing that, their IB Key or other device, so the refusal explains (S2).
      const shareable = ownerDevices.filter((x) => isShareableKind(x.kind)).sort((a, b) => securityRank(b.kind) - securityRank(a.kind));
      device = shareable[0] ?? ownerDevices[0];
      if (!device) throw new SlsError('SLS_ERR_NO_ACTIVE_DEVICE', { message: 'The device owner has no active device to share.' });
    }
    const decision = await this.#decide(caller.user, owner, device, sourceAddress);
    const open = await adb.selectFrom('sharing_requests').select('id').where('requester_user_id', '=', caller.user.id).where('state', 'in', ['approved', 'pending_compliance']).executeTakeFirst();
    if (open) throw new SlsError('SLS_ERR_CONFLICT', { message: 'You already share a device: cancel that sharing first.' });
    const row: SharingRequestTable = {
      id: newId('shr'),
      requester_user_id: caller.user.id,
      owner_user_id: owner.id,
      device_id: device.id,
      state: 'started',
      needs_compliance: decision.needsCompliance ? 1 : 0,
      deactivated_device_ids: '[]',
      created_at: d.now(),
      verified_at: null,
      decided_at: null,
      decided_by: null,
      cancelled_at: null,
    };
    await adb.insertInto('sharing_requests').values(row).execute();
    const confirmation = await issueConfirmation(d, adb, { user: caller.user, deviceUser: owner, device, purpose: 'sharing', subject: { requestId: row.id }, sourceAddress });
    await d.audit({ event: 'sharing.started', userId: caller.user.id, username: caller.user.username_normalized, sourceAddress, deviceId: device.id, details: { requestId: row.id, owner: owner.username_normalized } });
    return { request: await this.#view(row), confirmation };
  }

  async #own(caller: Caller, requestId: string, states: readonly SharingState[]): Promise<SharingRequestTable> {
    const r = await this.#d.adb.selectFrom('sharing_requests').selectAll().where('id', '=', requestId).where('requester_user_id', '=', caller.user.id).executeTakeFirst();
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
    await d.adb.transaction().execute(async (trx) => {
      if (!(await consumeConfirmation(trx, confirmation.id, d.now()))) throw new SlsError('SLS_ERR_CHALLENGE_USED');
      await trx.updateTable('sharing_requests').set({ state: 'verified', verified_at: d.now() }).where('id', '=', r.id).where('state', '=', 'started').execute();
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
      await d.adb.updateTable('sharing_requests').set({ state: 'pending_compliance' }).where('id', '=', r.id).where('state', '=', 'verified').execute();
      await d.audit({ event: 'sharing.pending_compliance', userId: caller.user.id, username: caller.user.username_normalized, sourceAddress, deviceId: device.id, details: { requestId: r.id } });
    } else {
      await this.#approve(r, caller.user.username_normalized, 'automatic', sourceAddress);
    }
    return this.#view(await d.adb.selectFrom('sharing_requests').selectAll().where('id', '=', r.id).executeTakeFirstOrThrow());
  }

  /** S5: the requester's own physical active devices become inactive; the request is approved. */
  async #approve(r: SharingRequestTable, requesterUsername: string, by: string, sourceAddress: string | null): Promise<void> {
    const d = this.#d;
    const now = d.now();
    const ids = await d.adb.transaction().execute(async (trx) => {
      const mine = await trx.selectFrom('devices').select(['id', 'kind']).where('user_id', '=', r.requester_user_id).where('status', '=', 'active').execute();
      const physical = mine.filter((x) => DEVICE_CATALOGUE[x.kind].physical).map((x) => x.id);
      const u = await trx
        .updateTable('sharing_requests')
        .set({ state: 'approved', decided_at: now, decided_by: by, deactivated_device_ids: JSON.stringify(physical) })
        .where('id', '=', r.id)
        .where('state', 'in', ['verified', 'pending_compliance'])
        .executeTakeFirst();
      if (Number(u.numUpdatedRows) !== 1) throw new SlsError('SLS_ERR_CONFLICT', { message: 'This sharing request changed meanwhile.' });
      if (physical.length) await trx.updateTable('devices').set({ status: 'inactive' }).where('id', 'in', physical).where('status', '=', 'active').execute();
      return physical;
    });
    await d.audit({ event: 'sharing.approved', userId: r.requester_user_id, username: requesterUsername, sourceAddress, deviceId: r.device_id, details: { requestId: r.id, by, deactivated: ids.length } });
  }

  /** S5: cancel a sharing (or a pending request): the requester's set-aside devices are active again. */
  async cancel(caller: Caller, requestId: string, sourceAddress: string): Promise<SharingView> {
    const d = this.#d;
    const r = await this.#own(caller, requestId, ['started', 'verified', 'pending_compliance', 'approved']);
    const ids = JSON.parse(r.deactivated_device_ids) as string[];
    const now = d.now();
    await d.adb.transaction().execute(async (trx) => {
      const u = await trx.updateTable('sharing_requests').set({ state: 'cancelled', cancelled_at: now }).where('id', '=', r.id).where('state', '=', r.state).executeTakeFirst();
      if (Number(u.numUpdatedRows) !== 1) throw new SlsError('SLS_ERR_CONFLICT', { message: 'This sharing request changed meanwhile.' });
      if (ids.length) await trx.updateTable('devices').set({ status: 'active' }).where('id', 'in', ids).where('status', '=', 'inactive').execute();
    });
    await d.audit({ event: 'sharing.cancelled', userId: caller.user.id, username: caller.user.username_normalized, sourceAddress, deviceId: r.device_id, details: { requestId: r.id, reactivated: ids.length } });
    return this.#view(await d.adb.selectFrom('sharing_requests').selectAll().where('id', '=', r.id).executeTakeFirstOrThrow());
  }

  /** `slsctl sharing list --pending`: requests waiting for compliance (S4). */
  async pending(): Promise<SharingView[]> {
    const rows = await this.#d.adb.selectFrom('sharing_requests').selectAll().where('state', '=', 'pending_compliance').orderBy('created_at').execute();
    return Promise.all(rows.map((r) => this.#view(r)));
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
      await d.adb.updateTable('sharing_requests').set({ state: 'rejected', decided_at: d.now(), decided_by: by }).where('id', '=', r.id).where('state', '=', 'pending_compliance').execute();
      await d.audit({ event: 'sharing.rejected', userId: r.requester_user_id, username: requester.username_normalized, deviceId: r.device_id, details: { requestId: r.id, by } });
    }
    return this.#view(await d.adb.selectFrom('sharing_requests').selectAll().where('id', '=', r.id).executeTakeFirstOrThrow());
  }
}
