/**
 * Temporary access, the portal part (SPEC T1, T2).
 *
 * Client services issue the temporary passcode (`slsctl temp-passcode issue`, provisioning.ts: 2
 * days full access, then 10 days Client Portal only, never two in a row). In the portal the user
 * can then view and print an online Security Code Card (T1), which works like a card (D3) for 21
 * days and then expires (T2). Decisions:
 * - One online card per temporary passcode period: asking again shows the same card while it is
 *   valid; it can be printed (PDF) as often as needed.
 * - The card is offered only to a user with a temporary passcode in its periods (full or portal).
 * - Expiry is a status change (`revoked`) made by `expireOnlineCards`, run at login, when the card
 *   is shown and by `slsctl order sweep`; a card past `valid_until` is never offered meanwhile
 *   either, since the sweep runs before the login lists devices.
 * - A temporary passcode past its 12 days is retired the same way (`expireTemporaryPasscodes`), before
 *   sharing's rules (S1b), the device list (D5) and a return (D8) count the user's active devices.
 */
import { PostgresAdapter } from 'kysely';
import { SCC_CELLS } from '../../core/scc.ts';
import { renderSecurityCodeCardPdf } from '../cards/scc-pdf.ts';
import { newId } from '../crypto/tokens.ts';
import { SlsError } from '../errors.ts';
import { sealContext } from '../verifiers/types.ts';
import { generateSecurityCodeCard } from '../../core/scc.ts';
import { appendAccountAudit } from '../account/deps.ts';
import type { AccountDeps } from '../account/deps.ts';
import type { Caller } from '../account/portal.ts';
import type { AccountDb } from '../account/schema.ts';

/** SPEC T2: an online Security Code Card works for 21 days. */
export const ONLINE_CARD_VALIDITY_MS = 21 * 24 * 60 * 60 * 1000;

export interface OnlineCardView {
  readonly deviceId: string;
  readonly issuedAt: string;
  readonly validUntil: string;
  /** Index number i holds `cells[i - 1]`. */
  readonly cells: readonly string[];
}

/**
 * SPEC T2: online cards past their 21 days stop working; returns how many expired now.
 *
 * Each one is retired and audited in one transaction (N2: never retired unaudited), and only by the
 * sweep whose conditional update took it (N1: two slsd sweeping at once audit it once).
 */
export async function expireOnlineCards(adb: AccountDb, now: number, userId?: string): Promise<number> {
  let query = adb
    .selectFrom('online_cards')
    .innerJoin('devices', 'devices.id', 'online_cards.device_id')
    .select(['devices.id as deviceId', 'devices.user_id as userId'])
    .where('online_cards.valid_until', '<=', now)
    .where('devices.status', '=', 'active');
  if (userId) query = query.where('online_cards.user_id', '=', userId);
  let n = 0;
  for (const d of await query.execute()) {
    if (await retire(adb, now, d, { to: 'revoked', reason: 'online card expired (T2)' })) n++;
  }
  return n;
}

/** Retires one temporary device with its audit entry, in one transaction; false if another sweep took it first. */
async function retire(adb: AccountDb, now: number, d: { deviceId: string; userId: string }, details: Record<string, string>): Promise<boolean> {
  return adb.transaction().execute(async (trx) => {
    const r = await trx.updateTable('devices').set({ status: 'revoked' }).where('id', '=', d.deviceId).where('status', '=', 'active').executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return false;
    await appendAccountAudit(trx, now, { event: 'device.status_changed', userId: d.userId, deviceId: d.deviceId, details });
    return true;
  });
}

/**
 * SPEC T1, D5, S1b, D8: temporary passcodes past their portal-only period (12 days after issue) are
 * retired: status `revoked`, audited, like an online card past its 21 days (T2). Returns how many.
 *
 * Decision (T1, T2, D5): an expired temporary device is retired by a status change rather than every
 * status check learning the periods. "Only active devices authenticate" (D5) stays true of the
 * device list, and the checks that count a user's active devices — S1b (core/sharing.ts
 * `hasTemporaryDevice`) and D8's "never the last active device" (devices-admin.ts `returnDevice`) —
 * see an expired passcode as gone, as a login already does (its verifier's `access` gives none past
 * `portal_access_until`). It runs, for the users concerned, before those checks (sharing's rules,
 * the device list, a return). The `temporary_passcodes` row is kept: T1's "never two in a row"
 * still reads it.
 */
export async function expireTemporaryPasscodes(adb: AccountDb, now: number, userId?: string): Promise<number> {
  let query = adb
    .selectFrom('temporary_passcodes')
    .innerJoin('devices', 'devices.id', 'temporary_passcodes.device_id')
    .select(['devices.id as deviceId', 'devices.user_id as userId'])
    .where('temporary_passcodes.portal_access_until', '<=', now)
    .where('devices.kind', '=', 'temp_passcode')
    .where('devices.status', '=', 'active');
  if (userId) query = query.where('temporary_passcodes.user_id', '=', userId);
  const due = await query.execute();
  let n = 0;
  for (const d of due) {
    // Conditional: a concurrent sweep (another slsd, N1) retires and audits it once.
    if (await retire(adb, now, d, { from: 'active', to: 'revoked', reason: 'temporary passcode expired (T1)' })) n++;
  }
  return n;
}

/** SPEC T1, T2: retire a user's expired temporary devices (passcode and online card) before their statuses are counted. */
export async function expireTemporaryDevices(adb: AccountDb, now: number, userId?: string): Promise<void> {
  await expireTemporaryPasscodes(adb, now, userId);
  await expireOnlineCards(adb, now, userId);
}

/** SPEC T1: the card is offered only with a temporary passcode in its periods. */
function noTemporaryPasscode(): SlsError {
  return new SlsError('SLS_ERR_FORBIDDEN', { message: 'The online Security Code Card comes with a temporary passcode from client services (SPEC T1).' });
}

export class TemporaryAccessService {
  readonly #d: AccountDeps;

  constructor(deps: AccountDeps) {
    this.#d = deps;
  }

  /**
   * SPEC T1, T2: the user's live temporary passcode (in its 12 days), and the online card to show: the
   * newest one still valid, unless a passcode was issued after it (then a new card comes with the new
   * passcode). `card` null and `passcode` set: a card is to be issued.
   */
  async #currentCard(q: AccountDb, userId: string, now: number) {
    const passcode = await q
      .selectFrom('temporary_passcodes')
      .innerJoin('devices', 'devices.id', 'temporary_passcodes.device_id')
      .select(['temporary_passcodes.device_id', 'temporary_passcodes.issued_at', 'temporary_passcodes.portal_access_until'])
      .where('temporary_passcodes.user_id', '=', userId)
      .where('devices.status', '=', 'active')
      .where('temporary_passcodes.portal_access_until', '>', now)
      .orderBy('temporary_passcodes.issued_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    const existing = await q
      .selectFrom('online_cards')
      .innerJoin('devices', 'devices.id', 'online_cards.device_id')
      .select(['devices.id', 'devices.secret_sealed', 'online_cards.issued_at as issuedAt', 'online_cards.valid_until as validUntil'])
      .where('online_cards.user_id', '=', userId)
      .where('devices.status', '=', 'active')
      .where('online_cards.valid_until', '>', now)
      .orderBy('online_cards.issued_at', 'desc')
      .executeTakeFirst();
    const card = existing && (!passcode || existing.issuedAt >= passcode.issued_at) ? existing : null;
    return { passcode: passcode ?? null, card };
  }

  /** SPEC T1, T2: view the online Security Code Card, issuing it on first view. */
  async onlineCard(caller: Caller, sourceAddress: string): Promise<OnlineCardView> {
    const d = this.#d;
    const { adb } = d;
    const now = d.now();
    await expireOnlineCards(adb, now, caller.user.id);
    const open = (row: { id: string; secret_sealed: string | null; issuedAt: number; validUntil: number }): OnlineCardView => ({
      deviceId: row.id,
      issuedAt: new Date(row.issuedAt).toISOString(),
      validUntil: new Date(row.validUntil).toISOString(),
      cells: JSON.parse(d.box.openText(row.secret_sealed ?? '', sealContext(row.id, 'secret'))) as string[],
    });
    // The usual case, a card already issued: read only.
    const shown = await this.#currentCard(adb, caller.user.id, now);
    if (shown.card) return open(shown.card);
    if (!shown.passcode) throw noTemporaryPasscode();
    const id = newId('dev');
    const card = generateSecurityCodeCard();
    const validUntil = now + ONLINE_CARD_VALIDITY_MS;
    // SPEC T2, N1: the card opened in two windows at once (a pool, several slsd) is ONE card. The look
    // and the issue are one step per user: PostgreSQL locks the user's row first; SQLite's transaction
    // holds the write lock from BEGIN IMMEDIATE (db/connect.ts). A request that waited there finds the
    // card the other issued and shows it; before, it revoked that card and issued its own, so the
    // window opened first showed (and printed) a card that no longer worked.
    return adb.transaction().execute(async (trx) => {
      if (trx.getExecutor().adapter instanceof PostgresAdapter) await trx.selectFrom('users').select('id').where('id', '=', caller.user.id).forUpdate().execute();
      const again = await this.#currentCard(trx, caller.user.id, now);
      if (again.card) return open(again.card);
      if (!again.passcode) throw noTemporaryPasscode();
      // A new card replaces an earlier one (one card per temporary access).
      await trx.updateTable('devices').set({ status: 'revoked' }).where('user_id', '=', caller.user.id).where('kind', '=', 'online_scc').where('status', '=', 'active').execute();
      await trx
        .insertInto('devices')
        .values({
          id,
          user_id: caller.user.id,
          kind: 'online_scc',
          status: 'active',
          serial: null,
          label: 'Online Security Code Card',
          secret_sealed: d.box.sealText(JSON.stringify(card.cells), sealContext(id, 'secret')),
          pin_hash_sealed: null,
          scc_sequence: 0,
          created_at: now,
          activated_at: now,
          last_used_at: null,
        })
        .execute();
      const rows = Array.from({ length: SCC_CELLS }, (_, i) => ({ device_id: id, cell_index: i + 1, last_asked_seq: null }));
      for (let i = 0; i < rows.length; i += 100) await trx.insertInto('scc_cells').values(rows.slice(i, i + 100)).execute();
      await trx.insertInto('online_cards').values({ device_id: id, user_id: caller.user.id, issued_at: now, valid_until: validUntil }).execute();
      // SPEC N2: on record in the same transaction as the card, so no card is ever issued unaudited
      // (a crash between the commit and a separate write would have lost the entry).
      await appendAccountAudit(trx, now, {
        event: 'temporary_access.online_card_issued',
        userId: caller.user.id,
        username: caller.user.username_normalized,
        sourceAddress,
        deviceId: id,
        details: { validUntil: new Date(validUntil).toISOString() },
      });
      return { deviceId: id, issuedAt: new Date(now).toISOString(), validUntil: new Date(validUntil).toISOString(), cells: card.cells };
    });
  }

  /** The same card as a printable PDF, base64 (T1 "view and print"). */
  async onlineCardPdf(caller: Caller, sourceAddress: string): Promise<{ readonly pdfBase64: string; readonly validUntil: string }> {
    const card = await this.onlineCard(caller, sourceAddress);
    const pdf = await renderSecurityCodeCardPdf({ cells: [...card.cells] }, { username: caller.user.username, serial: card.deviceId, issuedAt: new Date(card.issuedAt), validUntil: new Date(card.validUntil) });
    return { pdfBase64: pdf.toString('base64'), validUntil: card.validUntil };
  }
}
