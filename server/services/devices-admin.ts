/**
 * The user's devices in the security settings (SPEC D1, D5–D8, T3).
 *
 * - D1: listing all devices; activating one never touches the others.
 * - D6: a DSC+ may be ordered only for an account with a balance of USD 500,000 or more; below, the
 *   refusal says why. Client services send it (`slsctl order send`), which registers the card as
 *   pending with its serial. The user activates it with the serial and a correct response to a
 *   fresh challenge (possession).
 * - T3: a device sent and not activated within 14 days activates itself (`selfActivateDue`, run
 *   when devices are listed, at login and by `slsctl order sweep`).
 * - D7: legacy kinds keep working but are never issued: ordering one is refused.
 * - D8: a lost or broken device is reported and deactivated at once; a replacement DSC+ may be
 *   requested, and its USD 20 deposit is recorded on the account (not charged by SLS). A device no
 *   longer needed (e.g. set aside after sharing, S5) can be returned.
 * - D8, S5: reporting (or returning) a device that is shared ends its sharings in the same
 *   transaction, and gives the requesters back their set-aside devices (`endSharingsOfDevice`, sharing.ts).
 * - D8, T1, T2: a return never leaves the user with only temporary devices (they expire by themselves).
 * - D6: one DSC+ on its way at a time: a new order is refused (SLS_ERR_CONFLICT) while the user has
 *   one open (ordered, or sent and its card not yet activated); a replacement, while the reported
 *   device already has one open. Each is a physical card client services ship.
 * - D8, D5, L8: a device reported lost or broken, or returned, ends, in the same transaction, every
 *   session opened with it (a thief's too, and a sharing requester's) and the auto-restart chains
 *   they began (sessions.ts `endSessionsOfDevice`, through `retire`); the audit entry says how many.
 * - D8, D5, L5, W1, S3, D6: and every challenge still waiting on it (provisioning.ts
 *   `endChallengesOnDevice`, through `retire`): no challenge issued before answers after, even if an
 *   operator makes the device active again (a card found).
 */
import { PostgresAdapter } from 'kysely';
import { DEVICE_CATALOGUE, DSCPLUS_MIN_BALANCE_USD } from '../../core/devices.ts';
import type { DeviceKind } from '../../core/devices.ts';
import { CENTS_PER_USD, formatUsd } from '../../core/limits.ts';
import { newId } from '../crypto/tokens.ts';
import type { DeviceRow, DeviceStatus } from '../db/schema.ts';
import { SlsError } from '../errors.ts';
import { checkConfirmation, confirmationSubject, consumeConfirmation, issueConfirmation } from '../account/confirmations.ts';
import type { IssuedConfirmation } from '../account/confirmations.ts';
import { appendAccountAudit } from '../account/deps.ts';
import type { AccountDeps } from '../account/deps.ts';
import { accountOf, accountsOf } from '../account/portal.ts';
import type { Caller } from '../account/portal.ts';
import { accountDb } from '../account/schema.ts';
import type { AccountDb, DeviceOrderTable } from '../account/schema.ts';
import { appendAudit } from './audit.ts';
import { notifierOf } from './ibkey-notifier.ts';
import { endChallengesOnDevice } from './device-challenges.ts';
import { Provisioning } from './provisioning.ts';
import type { ProvisionedDevice } from './provisioning.ts';
import { endSessionsOfDevice } from './sessions.ts';
import { endSharingsOfDevice, setAsideOnActivation } from './sharing.ts';
import { expireTemporaryDevices } from './temporary-access.ts';

/** SPEC T3: days a sent device waits for its user before it activates itself. */
export const SELF_ACTIVATION_MS = 14 * 24 * 60 * 60 * 1000;
/** SPEC D8: the deposit recorded for a replacement DSC+. */
export const REPLACEMENT_DEPOSIT_CENTS = 20 * CENTS_PER_USD;

export interface DeviceView {
  readonly id: string;
  readonly kind: DeviceKind;
  readonly name: string;
  readonly label: string;
  readonly status: DeviceStatus;
  readonly serial: string | null;
  readonly securityLevel: number | null;
  /** Legacy kinds: still work, no longer issued (D7). */
  readonly legacy: boolean;
  readonly physical: boolean;
  readonly activatedAt: string | null;
  readonly lastUsedAt: string | null;
  /** 'own', or 'shared' when another user's device is shared with this user (S5). */
  readonly ownership: 'own' | 'shared';
}

export interface OrderView {
  readonly id: string;
  readonly kind: DeviceKind;
  readonly reason: 'new' | 'replacement';
  readonly state: DeviceOrderTable['state'];
  readonly createdAt: string;
  readonly sentAt: string | null;
  readonly selfActivatesAt: string | null;
  readonly depositCents: number;
}

export interface DevicesOverview {
  readonly devices: readonly DeviceView[];
  readonly orders: readonly OrderView[];
  readonly dscPlus: { readonly eligible: boolean; readonly reason: string | null };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function deviceView(d: DeviceRow, ownership: 'own' | 'shared'): DeviceView {
  const info = DEVICE_CATALOGUE[d.kind];
  return {
    id: d.id,
    kind: d.kind,
    name: info.name,
    label: d.label,
    status: d.status,
    serial: d.serial,
    securityLevel: info.securityLevel,
    legacy: !info.issuedNow,
    physical: info.physical,
    activatedAt: iso(d.activated_at),
    lastUsedAt: iso(d.last_used_at),
    ownership,
  };
}

/** SPEC T3: activate every sent device whose 14 days are over; returns how many. */
export async function selfActivateDue(adb: AccountDb, now: number, audit?: AccountDeps['audit'], userId?: string): Promise<number> {
  let query = adb
    .selectFrom('device_orders')
    .innerJoin('devices', 'devices.id', 'device_orders.device_id')
    .select(['device_orders.id as orderId', 'devices.id as deviceId', 'devices.user_id as userId'])
    .where('device_orders.state', '=', 'sent')
    .where('device_orders.self_activates_at', '<=', now)
    .where('devices.status', '=', 'pending');
  if (userId) query = query.where('device_orders.user_id', '=', userId);
  const due = await query.execute();
  let n = 0;
  for (const row of due) {
    const done = await adb.transaction().execute(async (trx) => {
      const r = await trx.updateTable('devices').set({ status: 'active', activated_at: now }).where('id', '=', row.deviceId).where('status', '=', 'pending').executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await trx.updateTable('device_orders').set({ state: 'activated', activated_at: now }).where('id', '=', row.orderId).execute();
      // SPEC N2: on record in the same transaction (a device active with no entry saying why, never).
      if (audit) await appendAccountAudit(trx, now, { event: 'device.self_activated', userId: row.userId, deviceId: row.deviceId, details: { orderId: row.orderId } });
      // SPEC S5, T3: activated while its user shares another user's device: set aside until that sharing ends.
      await setAsideOnActivation(trx, row.userId, row.deviceId, now);
      return true;
    });
    if (done) n++;
  }
  return n;
}

/**
 * Runs `body` in a transaction no other runs for the same user at the same time (SPEC D6, N1), as
 * verifiers/ibkey-push.ts does: PostgreSQL locks the user's row first; SQLite runs a transaction
 * alone on Kysely's one connection.
 */
async function serializedPerUser<T>(adb: AccountDb, userId: string, body: (trx: AccountDb) => Promise<T>): Promise<T> {
  return adb.transaction().execute(async (trx) => {
    if (trx.getExecutor().adapter instanceof PostgresAdapter) await trx.selectFrom('users').select('id').where('id', '=', userId).forUpdate().execute();
    return body(trx);
  });
}

/**
 * SPEC D6, D8: the user's DSC+ orders still on their way: ordered (not yet sent), or sent with the
 * card still waiting for activation (pending). A sent card reported lost before activation, or
 * activated by an operator, is no longer on its way. Newest first.
 */
export async function openDscPlusOrders(db: AccountDb, userId: string): Promise<DeviceOrderTable[]> {
  const rows = await db
    .selectFrom('device_orders')
    .leftJoin('devices', 'devices.id', 'device_orders.device_id')
    .selectAll('device_orders')
    .select('devices.status as device_status')
    .where('device_orders.user_id', '=', userId)
    .where('device_orders.state', 'in', ['ordered', 'sent'])
    .where('device_orders.kind', '=', 'dscplus')
    .orderBy('device_orders.created_at', 'desc')
    .execute();
  return rows.filter((o) => o.state === 'ordered' || o.device_status === 'pending').map(({ device_status: _s, ...o }) => o);
}

function openOrderMessage(o: DeviceOrderTable): string {
  const what = o.reason === 'replacement' ? 'A replacement Digital Security Card+' : 'A Digital Security Card+';
  const since = new Date(o.created_at).toISOString().slice(0, 10);
  return o.state === 'ordered'
    ? `${what} is already on order for you (order ${o.id}, ${since}): cancel it before ordering another.`
    : `${what} has already been sent to you (order ${o.id}): activate it with its serial number, or report it lost, before ordering another.`;
}

export class DeviceAdminService {
  readonly #d: AccountDeps;

  constructor(deps: AccountDeps) {
    this.#d = deps;
  }

  /**
   * SPEC D6: the DSC+ goes to a user with an account of USD 500K or more. Without an account named
   * (the desktop names none), any of the user's accounts qualifies — the first with the balance, by
   * number — and the order and its deposits go on it; when none does, the reason names the largest.
   */
  async #dscPlusEligibility(userId: string, accountId?: string) {
    const minCents = DSCPLUS_MIN_BALANCE_USD * CENTS_PER_USD;
    let account = await accountOf(this.#d.adb, userId, accountId);
    if (!accountId) {
      const accounts = await accountsOf(this.#d.adb, userId);
      account = accounts.find((a) => Number(a.balanceCents) >= minCents) ?? accounts.reduce((a, b) => (Number(b.balanceCents) > Number(a.balanceCents) ? b : a), account);
    }
    const eligible = Number(account.balanceCents) >= minCents;
    return {
      account,
      eligible,
      reason: eligible
        ? null
        : `The Digital Security Card+ is available to accounts with a balance of ${formatUsd(minCents)} or more; account ${account.number} has ${formatUsd(account.balanceCents)}.`,
    };
  }

  async list(caller: Caller): Promise<DevicesOverview> {
    const { adb } = this.#d;
    await selfActivateDue(adb, this.#d.now(), this.#d.audit, caller.user.id);
    // SPEC D5, T1, T2: an expired temporary passcode or online card is listed as revoked, not active.
    await expireTemporaryDevices(adb, this.#d.now(), caller.user.id);
    const own = await adb.selectFrom('devices').selectAll().where('user_id', '=', caller.user.id).orderBy('created_at').execute();
    const shared = await adb
      .selectFrom('devices')
      .selectAll('devices')
      .innerJoin('sharing_requests', 'sharing_requests.device_id', 'devices.id')
      .where('sharing_requests.requester_user_id', '=', caller.user.id)
      .where('sharing_requests.state', '=', 'approved')
      .execute();
    const orders = await adb.selectFrom('device_orders').selectAll().where('user_id', '=', caller.user.id).orderBy('created_at', 'desc').execute();
    const deposits = await adb.selectFrom('account_deposits').select(['order_id', 'amount_cents']).where('order_id', 'in', orders.length ? orders.map((o) => o.id) : ['']).execute();
    const e = await this.#dscPlusEligibility(caller.user.id);
    return {
      devices: [...own.map((d) => deviceView(d, 'own')), ...shared.map((d) => deviceView(d, 'shared'))],
      orders: orders.map((o) => ({
        id: o.id,
        kind: o.kind,
        reason: o.reason,
        state: o.state,
        createdAt: new Date(o.created_at).toISOString(),
        sentAt: iso(o.sent_at),
        selfActivatesAt: iso(o.self_activates_at),
        depositCents: deposits.filter((x) => x.order_id === o.id).reduce((s, x) => s + Number(x.amount_cents), 0),
      })),
      dscPlus: { eligible: e.eligible, reason: e.reason },
    };
  }

  /** SPEC D6, D7: order a device; only the DSC+ is ordered here, from USD 500K. */
  async order(caller: Caller, req: { kind: DeviceKind; accountId?: string | undefined }, sourceAddress: string): Promise<OrderView> {
    const info = DEVICE_CATALOGUE[req.kind];
    if (!info.issuedNow) {
      throw new SlsError('SLS_ERR_DEVICE_NOT_ISSUED', { message: `The ${info.name} is no longer issued. Existing ones keep working; order a Digital Security Card+ or activate IB Key instead.` });
    }
    if (req.kind !== 'dscplus') {
      const how: Partial<Record<DeviceKind, string>> = {
        ibkey: 'IB Key is activated in the IBKR Mobile app, not ordered.',
        sms: 'SMS is enrolled by verifying your mobile number.',
        temp_passcode: 'Temporary passcodes are issued by client services.',
        online_scc: 'The online Security Code Card comes with a temporary passcode.',
      };
      throw new SlsError('SLS_ERR_VALIDATION', { message: how[req.kind] ?? 'This device cannot be ordered.' });
    }
    const e = await this.#dscPlusEligibility(caller.user.id, req.accountId);
    if (!e.eligible) {
      await this.#d.audit({ event: 'device.order_refused', userId: caller.user.id, username: caller.user.username_normalized, sourceAddress, details: { kind: req.kind, balanceCents: e.account.balanceCents } });
      throw new SlsError('SLS_ERR_DSCPLUS_NOT_ELIGIBLE', { message: e.reason ?? undefined });
    }
    // SPEC D6: one DSC+ on its way at a time. The check and the insert are one step per user.
    const placed = await serializedPerUser(this.#d.adb, caller.user.id, async (trx) => {
      const open = await openDscPlusOrders(trx, caller.user.id);
      if (open.length > 0) return { placed: false, order: open[0]! } as const;
      const order = await this.#newOrder(caller.user.id, e.account.accountId, 'new', null, trx);
      // SPEC N2: the order is on record with it, or not placed.
      await appendAccountAudit(trx, order.created_at, { event: 'device.ordered', userId: caller.user.id, username: caller.user.username_normalized, sourceAddress, details: { orderId: order.id, kind: 'dscplus' } });
      return { placed: true, order } as const;
    });
    if (!placed.placed) {
      const o = placed.order;
      await this.#d.audit({ event: 'device.order_refused', userId: caller.user.id, username: caller.user.username_normalized, sourceAddress, details: { kind: req.kind, reason: 'open_order', openOrderId: o.id } });
      throw new SlsError('SLS_ERR_CONFLICT', { message: openOrderMessage(o) });
    }
    return this.#orderView(placed.order);
  }

  async #newOrder(userId: string, accountId: string, reason: 'new' | 'replacement', replaces: string | null, db: AccountDb = this.#d.adb): Promise<DeviceOrderTable> {
    const order: DeviceOrderTable = {
      id: newId('ord'),
      user_id: userId,
      account_id: accountId,
      kind: 'dscplus',
      reason,
      replaces_device_id: replaces,
      state: 'ordered',
      device_id: null,
      created_at: this.#d.now(),
      sent_at: null,
      self_activates_at: null,
      activated_at: null,
    };
    await db.insertInto('device_orders').values(order).execute();
    return order;
  }

  async #orderView(o: DeviceOrderTable): Promise<OrderView> {
    const deposits = await this.#d.adb.selectFrom('account_deposits').select('amount_cents').where('order_id', '=', o.id).execute();
    return {
      id: o.id,
      kind: o.kind,
      reason: o.reason,
      state: o.state,
      createdAt: new Date(o.created_at).toISOString(),
      sentAt: iso(o.sent_at),
      selfActivatesAt: iso(o.self_activates_at),
      depositCents: deposits.reduce((s, x) => s + Number(x.amount_cents), 0),
    };
  }

  /**
   * Cancel an order while it is pending (SPEC D6, D8): ordered, not yet sent. A replacement's USD 20
   * deposit is released by a matching negative entry, so the account's record keeps both.
   * `by`: the user (from the Client Portal) or the operator (`slsctl order cancel`); audited.
   */
  async cancelOrder(orderId: string, by: { caller: Caller } | { operator: string }, sourceAddress?: string): Promise<OrderView> {
    const { adb } = this.#d;
    const order = await adb.selectFrom('device_orders').selectAll().where('id', '=', orderId).executeTakeFirst();
    // Another user's order is not found, as if it did not exist.
    if (!order || ('caller' in by && order.user_id !== by.caller.user.id)) throw new SlsError('SLS_ERR_NOT_FOUND', { message: `No order ${orderId}.` });
    if (order.state !== 'ordered') {
      throw new SlsError('SLS_ERR_CONFLICT', {
        message: order.state === 'cancelled' ? 'This order is already cancelled.' : `This order is already ${order.state}: only an order not yet sent can be cancelled. Report or return the device instead.`,
      });
    }
    const now = this.#d.now();
    const user = await adb.selectFrom('users').select(['username_normalized']).where('id', '=', order.user_id).executeTakeFirstOrThrow();
    await adb.transaction().execute(async (trx) => {
      const r = await trx.updateTable('device_orders').set({ state: 'cancelled' }).where('id', '=', orderId).where('state', '=', 'ordered').executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new SlsError('SLS_ERR_CONFLICT', { message: 'This order changed meanwhile: look at it again.' });
      const deposits = await trx.selectFrom('account_deposits').select('amount_cents').where('order_id', '=', orderId).execute();
      const held = deposits.reduce((sum, x) => sum + Number(x.amount_cents), 0);
      if (held > 0) {
        await trx
          .insertInto('account_deposits')
          .values({ id: newId('dep'), account_id: order.account_id, order_id: orderId, amount_cents: -held, reason: 'DSC+ replacement deposit released: order cancelled (SPEC D8)', recorded_at: now })
          .execute();
      }
      // SPEC N2: the cancellation (and the deposit released) is on record with it, or nothing changed.
      await appendAccountAudit(trx, now, {
        event: 'device.order_cancelled',
        userId: order.user_id,
        username: user.username_normalized,
        ...(sourceAddress ? { sourceAddress } : {}),
        details: { orderId, kind: order.kind, reason: order.reason, by: 'operator' in by ? by.operator : 'user', depositReleasedCents: held },
      });
    });
    return this.#orderView({ ...order, state: 'cancelled' });
  }

  /**
   * Client services send an ordered DSC+ (`slsctl order send`): a pending device with its serial and PIN (T3 clock starts).
   *
   * - D5: a serial another DSC+ in use has is refused, nothing changed (provisioning.ts `addDevice`).
   * - D4, N2: `deliver` hands out the state file last in the same transaction, so a state file that
   *   cannot be written leaves the order `ordered` and no card registered, and no entry.
   */
  async sendOrder(
    orderId: string,
    by: string,
    opts: { serial?: string; pin?: string; deliver?: (device: ProvisionedDevice) => Promise<void> } = {},
  ): Promise<ProvisionedDevice & { order: OrderView }> {
    const { deliver, ...device } = opts;
    const { adb } = this.#d;
    const order = await adb.selectFrom('device_orders').selectAll().where('id', '=', orderId).executeTakeFirst();
    if (!order) throw new SlsError('SLS_ERR_NOT_FOUND', { message: `no order ${orderId}` });
    if (order.state !== 'ordered') throw new SlsError('SLS_ERR_CONFLICT', { message: `order ${orderId} is ${order.state}` });
    const user = await adb.selectFrom('users').select('username').where('id', '=', order.user_id).executeTakeFirstOrThrow();
    const now = this.#d.now();
    // SPEC N2, D6: the pending device, the order sent and both entries (device.added, device.sent) are
    // one transaction: never a card registered for an order still "ordered", or sent with no entry.
    const provisioned = await this.#d.services.db.transaction().execute(async (trx) => {
      const p = await new Provisioning(this.#d.services).addDevice({ username: user.username, kind: order.kind, pending: true, ...device }, trx);
      // Conditional: of two operators sending the same order at once, one registers a card.
      const r = await accountDb(trx)
        .updateTable('device_orders')
        .set({ state: 'sent', device_id: p.device.id, sent_at: now, self_activates_at: now + SELF_ACTIVATION_MS })
        .where('id', '=', orderId)
        .where('state', '=', 'ordered')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new SlsError('SLS_ERR_CONFLICT', { message: `order ${orderId} changed meanwhile` });
      await appendAudit(trx, now, { event: 'device.sent', userId: order.user_id, deviceId: p.device.id, details: { orderId, by } });
      if (deliver) await deliver(p);
      return p;
    });
    const updated = await adb.selectFrom('device_orders').selectAll().where('id', '=', orderId).executeTakeFirstOrThrow();
    return { ...provisioned, order: await this.#orderView(updated) };
  }

  /** SPEC D6: step 1 of activating a received device: its serial → a challenge on it. */
  async startActivation(caller: Caller, serial: string, sourceAddress: string): Promise<IssuedConfirmation> {
    const device = await this.#d.adb
      .selectFrom('devices')
      .selectAll()
      .where('user_id', '=', caller.user.id)
      .where('serial', '=', serial.replace(/\s+/g, ''))
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (!device) throw new SlsError('SLS_ERR_NOT_FOUND', { message: 'No device with this serial number is waiting for activation on your user.' });
    return issueConfirmation(this.#d, this.#d.adb, { user: caller.user, deviceUser: caller.user, device, purpose: 'activate_device', subject: { deviceId: device.id }, sourceAddress });
  }

  /** SPEC D6, D1: step 2: the right response activates the device; the others stay active. */
  async completeActivation(caller: Caller, req: { confirmationId: string; response: string }, sourceAddress: string): Promise<DeviceView> {
    const { adb } = this.#d;
    const { confirmation, device } = await checkConfirmation(this.#d, adb, { confirmationId: req.confirmationId, userId: caller.user.id, purpose: 'activate_device', response: req.response, sourceAddress });
    const subject = confirmationSubject<{ deviceId: string }>(confirmation);
    const now = this.#d.now();
    await adb.transaction().execute(async (trx) => {
      if (!(await consumeConfirmation(trx, confirmation.id, now))) throw new SlsError('SLS_ERR_CHALLENGE_USED');
      const r = await trx.updateTable('devices').set({ status: 'active', activated_at: now }).where('id', '=', subject.deviceId).where('status', '=', 'pending').executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new SlsError('SLS_ERR_CONFLICT', { message: 'This device is already active.' });
      await trx.updateTable('device_orders').set({ state: 'activated', activated_at: now }).where('device_id', '=', subject.deviceId).where('state', '=', 'sent').execute();
      // SPEC N2: the device is active with its entry, or still pending (and the confirmation unused).
      await appendAccountAudit(trx, now, { event: 'device.activated', userId: caller.user.id, username: caller.user.username_normalized, sourceAddress, deviceId: device.id, details: { kind: device.kind } });
      // SPEC S5, D6: activated while its user shares another user's device: set aside until that sharing ends.
      await setAsideOnActivation(trx, caller.user.id, device.id, now, sourceAddress);
    });
    return deviceView(await adb.selectFrom('devices').selectAll().where('id', '=', device.id).executeTakeFirstOrThrow(), 'own');
  }

  /** SPEC L7, L4: a desktop waiting on a login whose challenge `retire` ended (its IB Key push) hears it now; one on another slsd, at its next look. */
  #loginsMovedOn(ids: readonly string[]): void {
    const notifier = notifierOf(this.#d.services.db);
    for (const id of ids) notifier?.notify(`tx:${id}`);
  }

  async #ownPhysical(caller: Caller, deviceId: string): Promise<DeviceRow> {
    const device = await this.#d.adb.selectFrom('devices').selectAll().where('id', '=', deviceId).where('user_id', '=', caller.user.id).executeTakeFirst();
    if (!device) throw new SlsError('SLS_ERR_NOT_FOUND', { message: 'This is not one of your devices.' });
    if (!DEVICE_CATALOGUE[device.kind].physical) throw new SlsError('SLS_ERR_VALIDATION', { message: 'Only physical devices are reported lost or returned.' });
    return device;
  }

  /**
   * SPEC D8: a lost or broken device is deactivated at once (status `lost`, or `revoked` when broken);
   * with `replace`, a replacement DSC+ is ordered and its USD 20 deposit recorded on the account.
   */
  async report(caller: Caller, deviceId: string, req: { reason: 'lost' | 'broken'; replace: boolean }, sourceAddress: string): Promise<{ device: DeviceView; replacement: OrderView | null }> {
    const { adb } = this.#d;
    const device = await this.#ownPhysical(caller, deviceId);
    if (!['active', 'inactive', 'pending'].includes(device.status)) throw new SlsError('SLS_ERR_CONFLICT', { message: `This device is already ${device.status}.` });
    if (req.replace && device.kind !== 'dscplus') {
      throw new SlsError('SLS_ERR_DEVICE_NOT_ISSUED', { message: `The ${DEVICE_CATALOGUE[device.kind].name} is no longer issued; order a Digital Security Card+ instead.` });
    }
    const status: DeviceStatus = req.reason === 'lost' ? 'lost' : 'revoked';
    const now = this.#d.now();
    const account = await accountOf(adb, caller.user.id);
    const { order, endedLogins } = await serializedPerUser(adb, caller.user.id, async (trx): Promise<{ order: DeviceOrderTable | null; endedLogins: readonly string[] }> => {
      // SPEC D6, D8: one replacement on its way per reported device (refused before anything changes).
      if (req.replace) {
        const open = (await openDscPlusOrders(trx, caller.user.id)).find((o) => o.replaces_device_id === device.id);
        if (open) throw new SlsError('SLS_ERR_CONFLICT', { message: openOrderMessage(open) });
      }
      const endedLogins = await retire(trx, caller, device, status, now, sourceAddress, { reason: req.reason, sharingReason: `shared device reported ${req.reason} (S5, D8)`, revokeOwnRestartTokens: true });
      if (!req.replace) return { order: null, endedLogins };
      const placed = await this.#newOrder(caller.user.id, account.accountId, 'replacement', device.id, trx);
      await trx
        .insertInto('account_deposits')
        .values({ id: newId('dep'), account_id: account.accountId, order_id: placed.id, amount_cents: REPLACEMENT_DEPOSIT_CENTS, reason: 'DSC+ replacement deposit (SPEC D8)', recorded_at: now })
        .execute();
      // SPEC N2: the replacement and its deposit are on record with the report, or none of it happened.
      await appendAccountAudit(trx, now, {
        event: 'device.ordered',
        userId: caller.user.id,
        username: caller.user.username_normalized,
        sourceAddress,
        details: { orderId: placed.id, kind: 'dscplus', replaces: device.id, depositCents: REPLACEMENT_DEPOSIT_CENTS },
      });
      return { order: placed, endedLogins };
    });
    this.#loginsMovedOn(endedLogins);
    const updated = await adb.selectFrom('devices').selectAll().where('id', '=', device.id).executeTakeFirstOrThrow();
    return { device: deviceView(updated, 'own'), replacement: order ? await this.#orderView(order) : null };
  }

  /**
   * SPEC D8: return a device no longer needed; never the user's last active device.
   *
   * - D8, T1, T2: "another active device" is a lasting one (below).
   * - D8, D5, L8: a returned device authenticates no more, so it ends what it opened exactly as a
   *   report does, in the same transaction (`retire`): every live session opened with it, whoever's,
   *   the restart chains full logins with it began and the sessions those restarted
   *   (sessions.ts `endSessionsOfDevice`), with the counts in the `device.status_changed` entry. Else a
   *   session opened with it kept its trading access and auto-restart until it expired (the portal
   *   functions already refused it, portal.ts). The user's other restart tokens stay: unlike a lost
   *   card, a returned one is in no one else's hands. Returning the device the session itself was
   *   opened with signs that session out.
   * - S5, D8: the owner may return a device that is shared: its sharings end like a lost one's
   *   (`endSharingsOfDevice`), the requesters get their set-aside devices back, in the same
   *   transaction. (Before, an approved or pending sharing refused the return, "cancel the sharing
   *   first", while a request only started or verified was left open on a returned device.)
   * - Serialized per user with the conditional status change, so two returns arriving together (or a
   *   return and a report) cannot both pass the "last active device" check or both change the device.
   */
  async returnDevice(caller: Caller, deviceId: string, sourceAddress: string): Promise<DeviceView> {
    const { adb } = this.#d;
    const device = await this.#ownPhysical(caller, deviceId);
    if (!['active', 'inactive', 'pending'].includes(device.status)) throw new SlsError('SLS_ERR_CONFLICT', { message: `This device is already ${device.status}.` });
    // SPEC D8, T1, T2, D5: "another active device" is a lasting one. A temporary passcode or online
    // code card never counts: it stops working by itself within days (T1: 12, T2: 21), so counting it
    // would let the user return their last real device and be locked out later (SLS_ERR_NO_ACTIVE_DEVICE);
    // one already expired is retired first, so the device list agrees.
    if (device.status === 'active') await expireTemporaryDevices(adb, this.#d.now(), caller.user.id);
    const now = this.#d.now();
    const endedLogins = await serializedPerUser(adb, caller.user.id, async (trx) => {
      // The status change first: on SQLite the first statement a write holds the database's write
      // lock to commit (across slsd processes too), so the check below sees every return committed
      // before it; a refusal undoes all of it (the challenges it ended included).
      const endedLogins = await retire(trx, caller, device, 'returned', now, sourceAddress, { sharingReason: 'shared device returned (S5, D8)', revokeOwnRestartTokens: false });
      if (device.status !== 'active') return endedLogins;
      const others = await trx.selectFrom('devices').select(['id', 'kind']).where('user_id', '=', caller.user.id).where('status', '=', 'active').where('id', '!=', device.id).execute();
      if (!others.some((o) => !DEVICE_CATALOGUE[o.kind].temporary)) {
        throw new SlsError('SLS_ERR_CONFLICT', { message: 'This is your only active device: activate another one before returning it (a temporary passcode or online code card does not count).' });
      }
      return endedLogins;
    });
    this.#loginsMovedOn(endedLogins);
    return deviceView(await adb.selectFrom('devices').selectAll().where('id', '=', device.id).executeTakeFirstOrThrow(), 'own');
  }
}

/**
 * SPEC D8, D5, L8, S5: the caller's `device` stops authenticating (reported lost or broken, or
 * returned), inside the caller's transaction, so all of it happens or none:
 * - its status moves to `to`, conditionally on the status read, so two reports (or a report and a
 *   return) cannot both win: the loser is SLS_ERR_CONFLICT and changes nothing;
 * - every session opened with it ends now, whoever's (a thief's with the stolen card, a sharing
 *   requester's), with the restart chains they began and the sessions those restarted
 *   (sessions.ts `endSessionsOfDevice`); with `revokeOwnRestartTokens` (a lost or broken device),
 *   every unused restart token of its owner too: a lost device must not restart sessions either (L8);
 * - D5, L5, L2, W1, S3, D6, L7: every challenge still waiting on it ends (provisioning.ts
 *   `endChallengesOnDevice`, `'choose_again'`): the portal confirmations (a withdrawal's, a sharing
 *   request's on the owner's card, its own activation's) end, SLS_ERR_TRANSACTION_ENDED, and the user
 *   asks for a challenge on another device; IB Key pushes are superseded; each live login whose
 *   challenge is on it, the user's own or a thief's, goes back to the device choice: what a user who
 *   lost a card expects is to go on with another device (L5), not to start over. Before, these were
 *   refused only while the device was out of use: a lost card found again and made active by client
 *   services (`slsctl device set-status … active --force`) answered the challenge from before, so a
 *   thief's login, a withdrawal or the card's activation went on as if it had never been reported.
 *   Returns the logins, for their desktops to be told once this commits;
 * - `device.status_changed` is audited with `sessionsEnded`, `restartTokensRevoked` and what ended
 *   waiting on it, `loginsBackToChoice`, `loginsEnded`, `confirmationsEnded`, `pushesEnded` (N2);
 * - a shared device's sharings end, and each requester gets back the own devices set aside for it
 *   (else the requester could not sign in at all, not even to cancel the sharing), audited
 *   `sharing.cancelled` with `sharingReason` as its `note` (sharing.ts `endSharingsOfDevice`).
 */
async function retire(
  trx: AccountDb,
  caller: Caller,
  device: DeviceRow,
  to: DeviceStatus,
  now: number,
  sourceAddress: string,
  why: { readonly reason?: string; readonly sharingReason: string; readonly revokeOwnRestartTokens: boolean },
): Promise<readonly string[]> {
  const r = await trx.updateTable('devices').set({ status: to }).where('id', '=', device.id).where('status', '=', device.status).executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw new SlsError('SLS_ERR_CONFLICT', { message: 'This device changed meanwhile: look at it again.' });
  const ended = await endSessionsOfDevice(trx, device.id, now);
  const own = why.revokeOwnRestartTokens
    ? Number((await trx.updateTable('restart_tokens').set({ revoked_at: now }).where('user_id', '=', caller.user.id).where('revoked_at', 'is', null).where('used_at', 'is', null).executeTakeFirst()).numUpdatedRows)
    : 0;
  const challenges = await endChallengesOnDevice(trx, device.id, now, 'choose_again');
  await appendAccountAudit(trx, now, {
    event: 'device.status_changed',
    userId: caller.user.id,
    username: caller.user.username_normalized,
    sourceAddress,
    deviceId: device.id,
    details: {
      from: device.status,
      to,
      ...(why.reason ? { reason: why.reason } : {}),
      sessionsEnded: ended.sessions,
      restartTokensRevoked: ended.restartTokens + own,
      loginsBackToChoice: challenges.backToChoice,
      loginsEnded: challenges.logins.length - challenges.backToChoice,
      confirmationsEnded: challenges.confirmations,
      pushesEnded: challenges.pushes,
    },
  });
  await endSharingsOfDevice(trx, device.id, now, { reason: why.sharingReason, by: caller.user.username_normalized, sourceAddress });
  return challenges.logins;
}
