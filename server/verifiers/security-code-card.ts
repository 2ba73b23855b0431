/**
 * Security Code Card (SPEC D3): the codes printed at two index numbers, typed into one field.
 *
 * The card's 224 cells are sealed together in the device row (D4). When a pair is asked is kept per
 * cell (`scc_cells.last_asked_seq`), so pairs are drawn least-recently-used first (core/scc.ts) and no
 * cell is asked again before the whole card has been used. A pair counts as asked when it is issued,
 * before any answer: otherwise someone could ask until they get a pair they know. Concurrent logins
 * take ask numbers conditionally on the device's `scc_sequence`.
 *
 * SPEC T2: an online card works for 21 days, then expires. Its `access` reads its `valid_until` at
 * every use, so a card whose days end during a login (its pair already shown), or before the sweep
 * that retires it ran (services/temporary-access.ts), opens nothing: not a login, not a restart, not
 * a confirmation (all ask `access`).
 */
import { isNearlyUsedUp, nextAskNumber, pickIndexPair, SCC_CELLS, unusedCellCount, verifySccResponse } from '../../core/scc.ts';
import type { SccUsage } from '../../core/scc.ts';
import type { DeviceRow } from '../db/schema.ts';
import { accountDb } from '../account/schema.ts';
import { ONLINE_CARD_VALIDITY_MS } from '../services/temporary-access.ts';
import { sealContext } from './types.ts';
import type { DeviceAccess, SecondFactorVerifier, VerifierContext } from './types.ts';

async function readUsage(ctx: VerifierContext, deviceId: string): Promise<(number | null)[]> {
  const rows = await ctx.db.selectFrom('scc_cells').select(['cell_index', 'last_asked_seq']).where('device_id', '=', deviceId).execute();
  const usage = new Array<number | null>(SCC_CELLS).fill(null);
  for (const r of rows) usage[r.cell_index - 1] = r.last_asked_seq;
  return usage;
}

function parsePair(challenge: string | null): [number, number] {
  const [i, j] = (challenge ?? '').split(',').map(Number);
  if (!i || !j) throw new Error('the transaction holds no index pair');
  return [i, j];
}

export function openCard(ctx: VerifierContext, device: DeviceRow): string[] {
  if (!device.secret_sealed) throw new Error(`device ${device.id} has no card`);
  const cells: unknown = JSON.parse(ctx.box.openText(device.secret_sealed, sealContext(device.id, 'secret')));
  if (!Array.isArray(cells) || cells.length !== SCC_CELLS) throw new Error(`device ${device.id}: malformed card`);
  return cells as string[];
}

/**
 * SPEC T2: a legacy card works while active (D7); an online card until its `valid_until`. One with no
 * `online_cards` row (registered by an older `slsctl device add`) has its 21 days from when it was made.
 */
export async function onlineCardAccess(ctx: VerifierContext, device: DeviceRow): Promise<DeviceAccess> {
  const until = await onlineCardValidUntil(ctx, device);
  return until === null || ctx.now() < until ? 'full' : null;
}

/** SPEC T2: the end of an online card's 21 days (null: a printed card, valid while active). */
async function onlineCardValidUntil(ctx: VerifierContext, device: DeviceRow): Promise<number | null> {
  if (device.kind !== 'online_scc') return null;
  const row = await accountDb(ctx.db).selectFrom('online_cards').select('valid_until').where('device_id', '=', device.id).executeTakeFirst();
  return row?.valid_until ?? device.created_at + ONLINE_CARD_VALIDITY_MS;
}

export const securityCodeCardVerifier: SecondFactorVerifier = {
  kinds: ['scc', 'online_scc'],
  canResend: false,
  access: onlineCardAccess,
  // SPEC T2: a session opened with an online card ends with its 21 days.
  accessEndsAt: onlineCardValidUntil,
  async issue(ctx, _tx, device) {
    for (let attempt = 0; attempt < 10; attempt++) {
      const { scc_sequence: seq } = await ctx.db.selectFrom('devices').select('scc_sequence').where('id', '=', device.id).executeTakeFirstOrThrow();
      const usage: SccUsage = await readUsage(ctx, device.id);
      const ask = nextAskNumber(usage);
      const pair = pickIndexPair(usage);
      const claimed = await ctx.db.transaction().execute(async (trx) => {
        const r = await trx
          .updateTable('devices')
          .set({ scc_sequence: seq + 1 })
          .where('id', '=', device.id)
          .where('scc_sequence', '=', seq)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) return false;
        await trx
          .updateTable('scc_cells')
          .set({ last_asked_seq: ask })
          .where('device_id', '=', device.id)
          .where('cell_index', 'in', pair)
          .execute();
        return true;
      });
      if (claimed) return { challenge: `${pair[0]},${pair[1]}`, codeHash: null, challengeExpiresAt: null, resendAvailableAt: null };
    }
    throw new Error(`could not issue an index pair for device ${device.id}: too many concurrent logins`);
  },
  async describe(ctx, tx, device) {
    const usage = await readUsage(ctx, device.id);
    return {
      type: 'index_numbers',
      deviceId: device.id,
      kind: device.kind,
      indexes: parsePair(tx.challenge),
      unusedCells: unusedCellCount(usage),
      nearlyUsedUp: isNearlyUsedUp(usage),
    };
  },
  async verify(ctx, tx, device, response) {
    return verifySccResponse(openCard(ctx, device), parsePair(tx.challenge), response) ? 'right' : 'wrong';
  },
};
