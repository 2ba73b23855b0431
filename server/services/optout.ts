/**
 * Opting out of the second factor for trading-platform login, and back in (SPEC O1–O3, A1).
 *
 * Decisions:
 * - The setting belongs to a user: an opted-out user's trading-platform login asks no second factor
 *   (O1). Client Portal logins, settings changes and withdrawals still need one (C6): the login
 *   service checks `isOptedOut` only for trading-platform clients.
 * - Changing it is an account security setting (A1): only the primary user of the accounts the
 *   target user belongs to may change it, for themselves or another user of those accounts, after
 *   logging in with a device (portal session, O3). Anyone else is told who may ("Only Jane Doe
 *   (jdoe), the account's primary user, can …").
 * - A user with several accounts reaches all of them with one login, so the opt-out weakens the
 *   login of EVERY one of them: the caller must be the primary user of each (A1). Being the primary
 *   user of one's own second account does not opt one out of the login to an account whose primary
 *   user is someone else. When those accounts have different primary users, none of them alone may:
 *   client services can (`slsctl sls`), and the answer says so.
 * - While opted out, the session shows the restriction "Pink Sheet and OTCBB trading restricted:
 *   SLS opt-out" (O2).
 * - The change needs a second factor that still holds (C6, D5, D8: the session's device is active),
 *   a user not locked (L6), and full access (T1): in a temporary passcode's portal-only days the
 *   passcode opens only the Client Portal, and an opt-out would turn it into trading access with the
 *   password alone, past the passcode's end. Refused SLS_ERR_PORTAL_ONLY, which says so (not
 *   SLS_ERR_SECOND_FACTOR_REQUIRED: verifying again with the same passcode could not help).
 * - Opting out an opted-out user, or in one who is not, changes nothing and writes no audit entry
 *   (N2: the log says what happened; "opted in by jane" for a user who never opted out, or a second
 *   "opted out by bob" while the row still says jane did, would not). The answer is the status, as
 *   for a change: the user asked for a state and has it. `setOptOut` is the one writer, for the
 *   portal and for `slsctl sls`.
 */
import { SlsError } from '../errors.ts';
import { appendAccountAudit } from '../account/deps.ts';
import type { AccountDeps } from '../account/deps.ts';
import { accountsOf, assertPortalRights } from '../account/portal.ts';
import type { Caller } from '../account/portal.ts';
import { normalizeUsername } from './throttle.ts';

export { isOptedOut, OPT_OUT_RESTRICTION } from '../account/restrictions.ts';

export interface OptOutStatus {
  readonly username: string;
  readonly optedOut: boolean;
  readonly optedOutAt: string | null;
  /** May the caller change this user's setting (A1, O3)? */
  readonly canChange: boolean;
  /** Who may, when the caller may not. */
  readonly primaryUser: { readonly username: string; readonly displayName: string } | null;
  /** The target's accounts have different primary users: none of them alone may, so nobody is named; client services can (A1). */
  readonly severalPrimaryUsers: boolean;
}

/**
 * Sets a user's opt-out (SPEC O1, O3) and audits the change as `by`'s (N2); returns whether it changed.
 * One conditional statement decides, so two requests at once write one row and one audit entry.
 */
export async function setOptOut(
  d: AccountDeps,
  user: { readonly id: string; readonly username_normalized: string },
  optedOut: boolean,
  by: string,
  sourceAddress: string | null,
): Promise<boolean> {
  // SPEC N2: the setting changes with its entry, in one transaction: an opt-out (or back in) is on
  // record, or nothing changed.
  const now = d.now();
  return d.adb.transaction().execute(async (trx) => {
    let changed: boolean;
    if (optedOut) {
      const r = await trx
        .insertInto('sls_opt_outs')
        .values({ user_id: user.id, opted_out_at: now, opted_out_by: by })
        .onConflict((oc) => oc.column('user_id').doNothing())
        .executeTakeFirst();
      changed = Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    } else {
      changed = Number((await trx.deleteFrom('sls_opt_outs').where('user_id', '=', user.id).executeTakeFirst()).numDeletedRows) > 0;
    }
    if (changed) await appendAccountAudit(trx, now, { event: optedOut ? 'sls.opted_out' : 'sls.opted_in', userId: user.id, username: user.username_normalized, sourceAddress, details: { by } });
    return changed;
  });
}

export class OptOutService {
  readonly #d: AccountDeps;

  constructor(deps: AccountDeps) {
    this.#d = deps;
  }

  async #target(caller: Caller, username: string | undefined) {
    if (!username || normalizeUsername(username) === caller.user.username_normalized) return caller.user;
    const user = await this.#d.adb.selectFrom('users').selectAll().where('username_normalized', '=', normalizeUsername(username)).executeTakeFirst();
    if (!user) throw new SlsError('SLS_ERR_NOT_FOUND', { message: 'There is no such user in your accounts.' });
    return user;
  }

  /**
   * SPEC A1, O3: may the caller change the target's setting (primary user of every account of the
   * target), may the caller see it (primary user of one of them: `related`), and who to ask otherwise
   * (their one primary user; nobody when they have several, `several`).
   */
  async #rights(caller: Caller, targetId: string) {
    const accounts = await accountsOf(this.#d.adb, targetId);
    const allowed = accounts.length > 0 && accounts.every((a) => a.primaryUserId === caller.user.id);
    const related = accounts.some((a) => a.primaryUserId === caller.user.id);
    const several = new Set(accounts.map((a) => a.primaryUserId)).size > 1;
    // Several primary users: none of them alone may, so none is named as the one who may.
    const holder = several ? undefined : accounts.find((a) => a.primaryUsername !== null);
    const primaryUser = holder ? { username: holder.primaryUsername ?? '', displayName: holder.primaryDisplayName ?? '' } : null;
    return { allowed, related, primaryUser, several };
  }

  async status(caller: Caller, username?: string): Promise<OptOutStatus> {
    const target = await this.#target(caller, username);
    const { allowed, related, primaryUser, several } = await this.#rights(caller, target.id);
    if (target.id !== caller.user.id && !related) throw new SlsError('SLS_ERR_NOT_FOUND', { message: 'There is no such user in your accounts.' });
    const row = await this.#d.adb.selectFrom('sls_opt_outs').selectAll().where('user_id', '=', target.id).executeTakeFirst();
    return {
      username: target.username,
      optedOut: row !== undefined,
      optedOutAt: row ? new Date(row.opted_out_at).toISOString() : null,
      canChange: allowed,
      primaryUser,
      severalPrimaryUsers: several,
    };
  }

  /**
   * The caller must be the primary user of every account of the target (A1), told who is otherwise (O3), and
   * signed in with a second factor to change anything (O3 "after logging in with a device", C6): one
   * that still holds, of a user not locked (D5, D8, L6: `assertPortalRights`), with full access (T1).
   */
  async #assertMayChange(caller: Caller, targetId: string, action: string): Promise<void> {
    const { allowed, related, primaryUser, several } = await this.#rights(caller, targetId);
    if (allowed) {
      await assertPortalRights(this.#d.adb, caller, this.#d.now());
      if (caller.session.access !== 'full') {
        throw new SlsError('SLS_ERR_PORTAL_ONLY', {
          message: `A temporary passcode in its Client Portal days cannot ${action}: log in with your own security device first.`,
        });
      }
      return;
    }
    if (targetId !== caller.user.id && !related) throw new SlsError('SLS_ERR_NOT_FOUND', { message: 'There is no such user in your accounts.' });
    throw new SlsError('SLS_ERR_NOT_PRIMARY_USER', {
      message: several
        ? `This user's accounts have different primary users: only the primary user of every one of them can ${action}. Please contact client services.`
        : primaryUser
          ? `Only ${primaryUser.displayName} (${primaryUser.username}), the account's primary user, can ${action}.`
          : `Only the account's primary user can ${action}.`,
      ...(primaryUser ? { primaryUser } : {}),
    });
  }

  /** SPEC O1: trading-platform login without a second factor, with the restriction of O2. */
  async optOut(caller: Caller, username: string | undefined, sourceAddress: string): Promise<OptOutStatus> {
    const target = await this.#target(caller, username);
    await this.#assertMayChange(caller, target.id, 'opt users out of the Secure Login System');
    await setOptOut(this.#d, target, true, caller.user.username_normalized, sourceAddress);
    return this.status(caller, target.username);
  }

  /** SPEC O3: "I want to always use my Secure Login Device when logging in" — the primary user only. */
  async optIn(caller: Caller, username: string | undefined, sourceAddress: string): Promise<OptOutStatus> {
    const target = await this.#target(caller, username);
    await this.#assertMayChange(caller, target.id, 'opt users back into the Secure Login System');
    await setOptOut(this.#d, target, false, caller.user.username_normalized, sourceAddress);
    return this.status(caller, target.username);
  }
}
