/**
 * Withdrawals (SPEC W1–W4): limits by the confirming device, exactly once.
 *
 * Flow: the client asks for a fresh challenge on the device the user picks, for an amount
 * (`challenge`); the user answers on the device; the client submits the withdrawal with an
 * idempotency key and the answer (`withdraw`). The device that answered sets the limits (W1).
 *
 * Exactly once (W4):
 * - The idempotency key is unique per user (a unique constraint). The same key with the same
 *   request returns the stored result (`replayed: true`); with another request it is a conflict.
 * - The limit check and the insert happen in ONE database transaction whose first statement
 *   updates the user's ledger row. On PostgreSQL that UPDATE holds the row lock to commit, so a
 *   user's withdrawals are serialized under READ COMMITTED (every later statement sees what the
 *   previous holder committed); on SQLite the first write takes the database's write lock (a
 *   deferred transaction starting with a write behaves as BEGIN IMMEDIATE, across processes too,
 *   with the busy timeout). Inside: look the key up again, consume the confirmation (a conditional
 *   UPDATE: one use), sum the windows, check, insert. N parallel copies pay once; N parallel
 *   different withdrawals never pass a limit together.
 * - Only confirmed withdrawals are stored under their key: a refusal (limit, wrong response) is
 *   not, so the same key may be retried with another device ("use your DSC+").
 * - SLS records the confirmed withdrawal; moving the money is the back office's (the balance is
 *   not changed here).
 */
import { createHash } from 'node:crypto';
import { DEVICE_CATALOGUE } from '../../core/devices.ts';
import type { DeviceKind } from '../../core/devices.ts';
import { checkWithdrawal, deviceThatWouldAllow, formatUsd, limitsInCents, remainingCents, withdrawalWindows } from '../../core/limits.ts';
import type { LimitCheck, WithdrawnSums } from '../../core/limits.ts';
import { newId } from '../crypto/tokens.ts';
import type { DeviceRow } from '../db/schema.ts';
import { isSlsError, SlsError } from '../errors.ts';
import { assertConfirmationAllowed, checkConfirmation, confirmationSubject, consumeConfirmation, issueConfirmation } from '../account/confirmations.ts';
import type { IssuedConfirmation } from '../account/confirmations.ts';
import { appendAccountAudit } from '../account/deps.ts';
import type { AccountDeps } from '../account/deps.ts';
import { confirmingDevices, usableDevices } from '../account/devices.ts';
import { accountOf } from '../account/portal.ts';
import type { Caller } from '../account/portal.ts';
import type { AccountDb, AccountTrx, WithdrawalTable } from '../account/schema.ts';

export interface WithdrawalView {
  readonly id: string;
  readonly accountId: string;
  readonly amountCents: number;
  readonly idempotencyKey: string;
  readonly confirmedWith: { readonly deviceId: string; readonly kind: DeviceKind; readonly label: string };
  readonly confirmedAt: string;
}

export interface WithdrawResult {
  readonly withdrawal: WithdrawalView;
  /** The same idempotency key was already confirmed: this is the stored result (W4). */
  readonly replayed: boolean;
}

export interface DeviceLimitsView {
  readonly deviceId: string;
  readonly kind: DeviceKind;
  readonly label: string;
  readonly perDayCents: number | null;
  readonly perFiveBusinessDaysCents: number | null;
  /** What this device could confirm now: the smaller room of the two windows; null = unlimited. */
  readonly availableNowCents: number | null;
}

export interface WithdrawalOverview {
  readonly withdrawnTodayCents: number;
  readonly withdrawnFiveBusinessDaysCents: number;
  readonly windows: { readonly dayStart: string; readonly fiveBusinessDaysStart: string };
  readonly devices: readonly DeviceLimitsView[];
  readonly recent: readonly WithdrawalView[];
}

/** The meaning of a request, for "same key, same body" (W4). */
function requestHash(accountId: string, amountCents: number): string {
  return createHash('sha256').update(JSON.stringify({ accountId, amountCents })).digest('hex');
}

function view(w: WithdrawalTable, label: string): WithdrawalView {
  return {
    id: w.id,
    accountId: w.account_id,
    amountCents: w.amount_cents,
    idempotencyKey: w.idempotency_key,
    confirmedWith: { deviceId: w.device_id, kind: w.device_kind, label },
    confirmedAt: new Date(w.created_at).toISOString(),
  };
}

const LIMIT_NAMES = { per_day: 'daily limit', five_business_days: 'five-business-day limit' } as const;

/** Thrown inside the withdrawal's transaction to roll it back when a limit would be passed (W2). */
class LimitRefused {
  constructor(readonly check: Extract<LimitCheck, { ok: false }>) {}
}

/** The refusal of SPEC W2: which limit, and a device of the user that would allow it. */
export function limitRefusal(device: DeviceRow, check: Extract<LimitCheck, { ok: false }>, suggestion: DeviceRow | null): SlsError {
  const name = DEVICE_CATALOGUE[device.kind].name;
  const why =
    `This withdrawal would pass the ${LIMIT_NAMES[check.limit]} of your ${name} (${formatUsd(check.limitCents)}; ` +
    `${formatUsd(check.availableCents)} left).`;
  const advice = suggestion
    ? ` Use your ${suggestion.label} to confirm this withdrawal.`
    : ' None of your devices allows this amount now: withdraw less, or wait until earlier withdrawals leave the window.';
  return new SlsError('SLS_ERR_WITHDRAWAL_LIMIT', {
    message: why + advice,
    limit: check.limit,
    limitCents: check.limitCents,
    deviceKind: device.kind,
    availableCents: check.availableCents,
    ...(suggestion ? { useDevice: { deviceId: suggestion.id, kind: suggestion.kind, label: suggestion.label } } : {}),
  });
}

async function sums(q: AccountDb | AccountTrx, userId: string, now: number): Promise<WithdrawnSums> {
  const w = withdrawalWindows(now);
  const row = await q
    .selectFrom('withdrawals')
    .select((eb) => [
      eb.fn.coalesce(eb.fn.sum<number>(eb.case().when('created_at', '>=', w.dayStart).then(eb.ref('amount_cents')).else(0).end()), eb.lit(0)).as('today'),
      eb.fn.coalesce(eb.fn.sum<number>('amount_cents'), eb.lit(0)).as('five'),
    ])
    .where('user_id', '=', userId)
    .where('created_at', '>=', w.fiveBusinessDaysStart)
    .executeTakeFirstOrThrow();
  // PostgreSQL sums bigints as numeric (a string); both fit a double exactly below 2^53 cents.
  return { todayCents: Number(row.today), fiveBusinessDaysCents: Number(row.five) };
}

export class WithdrawalService {
  readonly #d: AccountDeps;

  constructor(deps: AccountDeps) {
    this.#d = deps;
  }

  /** The limits of each device the user could confirm with, and what is left (SPEC W1, W2, C1). */
  async overview(caller: Caller): Promise<WithdrawalOverview> {
    const { adb, now } = this.#d;
    const t = now();
    const s = await sums(adb, caller.user.id, t);
    // SPEC D5, T1, T2: only devices that can confirm now; an expired temporary one the sweep has not retired yet is not offered.
    const devices = await confirmingDevices(this.#d, caller.user.id);
    const w = withdrawalWindows(t);
    const recent = await adb.selectFrom('withdrawals').selectAll().where('user_id', '=', caller.user.id).orderBy('created_at', 'desc').limit(20).execute();
    const labels = await this.#labels(recent.map((r) => r.device_id));
    return {
      withdrawnTodayCents: s.todayCents,
      withdrawnFiveBusinessDaysCents: s.fiveBusinessDaysCents,
      windows: { dayStart: new Date(w.dayStart).toISOString(), fiveBusinessDaysStart: new Date(w.fiveBusinessDaysStart).toISOString() },
      devices: devices.map((d) => {
        const l = limitsInCents(d.kind);
        return { deviceId: d.id, kind: d.kind, label: d.label, ...l, availableNowCents: remainingCents(d.kind, s).now };
      }),
      recent: recent.map((r) => view(r, labels.get(r.device_id) ?? r.device_kind)),
    };
  }

  async #labels(ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.#d.adb.selectFrom('devices').select(['id', 'label']).where('id', 'in', [...new Set(ids)]).execute();
    return new Map(rows.map((r) => [r.id, r.label]));
  }

  /**
   * A fresh challenge on the device that will confirm this withdrawal (SPEC W1).
   *
   * When that device's limits cannot allow the amount now, refused at once with the device that
   * would (W2), before the user takes the card out.
   */
  async challenge(caller: Caller, req: { deviceId: string; amountCents: number; accountId?: string | undefined }, sourceAddress: string): Promise<IssuedConfirmation> {
    const { adb, now } = this.#d;
    // SPEC L6: a locked user or a throttled address is refused first, before a limit refusal is
    // audited (nothing changes); `issueConfirmation` checks again, with the device's user.
    await assertConfirmationAllowed(this.#d, sourceAddress, [caller.user.username_normalized]);
    const account = await accountOf(adb, caller.user.id, req.accountId);
    // SPEC W2, T1, T2: the device asked and the one suggested both come from the devices that can confirm now.
    const devices = await confirmingDevices(this.#d, caller.user.id);
    const device = devices.find((d) => d.id === req.deviceId);
    if (!device) throw new SlsError('SLS_ERR_DEVICE_NOT_AVAILABLE');
    const s = await sums(adb, caller.user.id, now());
    const check = checkWithdrawal(device.kind, req.amountCents, s);
    if (!check.ok) {
      await this.#auditRefusal(caller, device, req.amountCents, check, sourceAddress);
      throw limitRefusal(device, check, deviceThatWouldAllow(devices, req.amountCents, s));
    }
    const deviceUser = device.user_id === caller.user.id ? caller.user : await adb.selectFrom('users').selectAll().where('id', '=', device.user_id).executeTakeFirstOrThrow();
    return issueConfirmation(this.#d, adb, {
      user: caller.user,
      deviceUser,
      device,
      purpose: 'withdrawal',
      subject: { accountId: account.accountId, amountCents: req.amountCents },
      sourceAddress,
    });
  }

  async #byKey(q: AccountDb | AccountTrx, userId: string, key: string) {
    return q.selectFrom('withdrawals').selectAll().where('user_id', '=', userId).where('idempotency_key', '=', key).executeTakeFirst();
  }

  async #replay(w: WithdrawalTable, hash: string): Promise<WithdrawResult> {
    if (w.request_hash !== hash) {
      throw new SlsError('SLS_ERR_IDEMPOTENCY_CONFLICT');
    }
    const labels = await this.#labels([w.device_id]);
    return { withdrawal: view(w, labels.get(w.device_id) ?? w.device_kind), replayed: true };
  }

  async #auditRefusal(caller: Caller, device: DeviceRow, amountCents: number, check: Extract<LimitCheck, { ok: false }>, sourceAddress: string) {
    await this.#d.audit({
      event: 'withdrawal.refused',
      userId: caller.user.id,
      username: caller.user.username_normalized,
      sourceAddress,
      deviceId: device.id,
      details: { kind: device.kind, amountCents, limit: check.limit, availableCents: check.availableCents },
    });
  }

  /** Confirm a withdrawal exactly once (SPEC W1–W4; module doc). */
  async withdraw(
    caller: Caller,
    req: { amountCents: number; idempotencyKey: string; accountId?: string | undefined; confirmation: { id: string; response: string } },
    sourceAddress: string,
  ): Promise<WithdrawResult> {
    const { adb, now } = this.#d;
    const userId = caller.user.id;
    const account = await accountOf(adb, userId, req.accountId);
    const hash = requestHash(account.accountId, req.amountCents);

    const earlier = await this.#byKey(adb, userId, req.idempotencyKey);
    if (earlier) return this.#replay(earlier, hash);

    let checked;
    try {
      checked = await checkConfirmation(this.#d, adb, {
        confirmationId: req.confirmation.id,
        userId,
        purpose: 'withdrawal',
        response: req.confirmation.response,
        sourceAddress,
        // SPEC N2, L6: a wrong response to a withdrawal's challenge is a security event, as at login
        // (`login.response_failed`): who, from where, on which device, how many attempts are left.
        onWrongResponse: ({ device, attemptsLeft }) =>
          this.#d.audit({
            event: 'withdrawal.response_failed',
            userId,
            username: caller.user.username_normalized,
            sourceAddress,
            deviceId: device.id,
            details: { kind: device.kind, amountCents: req.amountCents, attemptsLeft, confirmationId: req.confirmation.id },
          }),
      });
    } catch (e) {
      // A parallel copy of this request may have used the confirmation a moment ago (W4).
      if (isSlsError(e) && e.code === 'SLS_ERR_CHALLENGE_USED') {
        const winner = await this.#byKey(adb, userId, req.idempotencyKey);
        if (winner) return this.#replay(winner, hash);
      }
      throw e;
    }
    const { confirmation, device } = checked;
    // SPEC S5, D5: a device the user may no longer use — a shared device whose sharing ended since the
    // challenge was issued — confirms nothing, though it is still active for its owner.
    if (device.user_id !== userId && !(await usableDevices(adb, userId)).some((d) => d.id === device.id)) {
      throw new SlsError('SLS_ERR_DEVICE_NOT_AVAILABLE', { message: 'This device can no longer confirm this: its sharing ended. Ask for a new challenge on one of your devices.' });
    }
    const subject = confirmationSubject<{ accountId: string; amountCents: number }>(confirmation);
    if (subject.accountId !== account.accountId || subject.amountCents !== req.amountCents) {
      throw new SlsError('SLS_ERR_VALIDATION', { message: 'This confirmation was given for another amount or account. Ask for a new challenge.' });
    }

    const t = now();
    await adb
      .insertInto('withdrawal_ledgers')
      .values({ user_id: userId, version: 0, updated_at: t })
      .onConflict((oc) => oc.column('user_id').doNothing())
      .execute();

    type Outcome = { kind: 'done'; row: WithdrawalTable } | { kind: 'replay'; row: WithdrawalTable } | { kind: 'refused'; check: Extract<LimitCheck, { ok: false }> };
    let outcome: Outcome;
    try {
      outcome = await adb.transaction().execute(async (trx): Promise<Outcome> => {
        // First statement: the lock (module doc).
        await trx
          .updateTable('withdrawal_ledgers')
          .set((eb) => ({ version: eb('version', '+', 1), updated_at: t }))
          .where('user_id', '=', userId)
          .execute();
        const again = await this.#byKey(trx, userId, req.idempotencyKey);
        if (again) return { kind: 'replay', row: again };
        if (!(await consumeConfirmation(trx, confirmation.id, t))) throw new SlsError('SLS_ERR_CHALLENGE_USED');
        const check = checkWithdrawal(device.kind, req.amountCents, await sums(trx, userId, t));
        // A refusal changes nothing: thrown, so the confirmation stays unused and a retry of this very
        // request (W4) gets the same answer, not "challenge used".
        if (!check.ok) throw new LimitRefused(check);
        const row: WithdrawalTable = {
          id: newId('wdr'),
          user_id: userId,
          account_id: account.accountId,
          amount_cents: req.amountCents,
          idempotency_key: req.idempotencyKey,
          request_hash: hash,
          device_id: device.id,
          device_kind: device.kind,
          confirmation_id: confirmation.id,
          created_at: t,
        };
        await trx.insertInto('withdrawals').values(row).execute();
        // SPEC N2: on record in the same transaction: no money leaves unaudited (a crash or a failed
        // write after the commit would have lost the entry), and a retry of this very request (W4)
        // after a failed write pays once, audited once.
        await appendAccountAudit(trx, t, {
          event: 'withdrawal.confirmed',
          userId,
          username: caller.user.username_normalized,
          sourceAddress,
          deviceId: device.id,
          details: { withdrawalId: row.id, accountId: account.accountId, amountCents: req.amountCents, kind: device.kind },
        });
        return { kind: 'done', row };
      });
    } catch (e) {
      if (e instanceof LimitRefused) {
        outcome = { kind: 'refused', check: e.check };
      } else {
        // The unique constraint is the last line of defence (W4): whoever lost reads the winner.
        const winner = await this.#byKey(adb, userId, req.idempotencyKey);
        if (winner) return this.#replay(winner, hash);
        throw e;
      }
    }

    if (outcome.kind === 'replay') return this.#replay(outcome.row, hash);
    if (outcome.kind === 'refused') {
      await this.#auditRefusal(caller, device, req.amountCents, outcome.check, sourceAddress);
      const devices = await confirmingDevices(this.#d, userId);
      throw limitRefusal(device, outcome.check, deviceThatWouldAllow(devices, req.amountCents, await sums(adb, userId, t)));
    }
    return { withdrawal: view(outcome.row, device.label), replayed: false };
  }
}
