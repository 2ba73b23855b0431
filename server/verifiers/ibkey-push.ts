/**
 * IB Key (SPEC L4, L7, K2): a push with a number to match, or an offline challenge/response code.
 *
 * Default mode: a push approval request row is created for the login's current challenge, with the
 * number the desktop shows and decoys the app offers beside it (number matching against push
 * fatigue). Its "response" is the id of the request once the app approved it with a valid signature
 * (server/services/ibkey.ts): only slsd knows it, and only the desktop's status long-poll presents it.
 * Offline mode (`SelectDeviceRequest.mode = 'offline'`): the catalogue's OCRA suite, like any token.
 *
 * SPEC L7 push-bombing: at most `IBKEY_PUSH_LIMIT` pushes may wait for one user; one more is refused.
 */
import { randomBelow } from '../../core/codes.ts';
import { newId, newToken } from '../crypto/tokens.ts';
import { SlsError } from '../errors.ts';
import { ibkeyDb } from '../services/ibkey-schema.ts';
import { notifierOf } from '../services/ibkey-notifier.ts';
import { challengeResponseVerifier } from './challenge-response.ts';
import type { SecondFactorVerifier } from './types.ts';

/** How long a push waits for the app (SPEC L4: then the desktop falls back to a challenge code). */
export const IBKEY_PUSH_TTL_MS = 60_000;
/** Pushes that may wait at once for one user (SPEC L7, push-bombing). */
export const IBKEY_PUSH_LIMIT = 3;
/** Numbers the app offers, the right one among them. */
export const IBKEY_PUSH_CHOICES = 3;

const offline = challengeResponseVerifier(['ibkey']);

/** Two-digit numbers, distinct, uniformly drawn (10–99, as `Challenge.push.matchNumber`). */
export function drawChoices(count: number): { match: number; choices: number[] } {
  const set = new Set<number>();
  while (set.size < count) set.add(10 + randomBelow(90));
  const choices = [...set];
  return { match: choices[randomBelow(count)]!, choices };
}

export const ibKeyPushVerifier: SecondFactorVerifier = {
  kinds: ['ibkey'],
  canResend: false,
  async issue(ctx, tx, device, user) {
    const db = ibkeyDb(ctx.db);
    const now = ctx.now();
    // The previous challenge of this login is dead (D2): so is its push.
    await db
      .updateTable('ibkey_push_requests')
      .set({ state: 'superseded', answered_at: now })
      .where('transaction_id', '=', tx.id)
      .where('state', 'in', ['pending', 'approved'])
      .execute();
    if (tx.mode === 'offline') return offline.issue(ctx, tx, device, user);
    const waiting = await db
      .selectFrom('ibkey_push_requests')
      .innerJoin('login_transactions', 'login_transactions.id', 'ibkey_push_requests.transaction_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('ibkey_push_requests.user_id', '=', user.id)
      .where('ibkey_push_requests.state', '=', 'pending')
      .where('ibkey_push_requests.expires_at', '>', now)
      .where('login_transactions.state', '=', 'challenge')
      .executeTakeFirstOrThrow();
    if (Number(waiting.n) >= IBKEY_PUSH_LIMIT) {
      throw new SlsError('SLS_ERR_IBKEY_PUSH_LIMIT');
    }
    const { match, choices } = drawChoices(IBKEY_PUSH_CHOICES);
    const expiresAt = Math.min(now + IBKEY_PUSH_TTL_MS, tx.expires_at);
    await db
      .insertInto('ibkey_push_requests')
      .values({
        id: newId('ibp'),
        transaction_id: tx.id,
        // The login stores challenge_seq + 1 with what this returns (login.ts #issueOn, startLogin).
        challenge_seq: tx.challenge_seq + 1,
        user_id: user.id,
        device_id: device.id,
        match_number: match,
        choices: JSON.stringify(choices),
        nonce: newToken(),
        client_name: tx.client_name ?? (tx.client_kind === 'client_portal' ? 'Client Portal' : 'Trading platform'),
        place: tx.source_address,
        state: 'pending',
        created_at: now,
        expires_at: expiresAt,
        answered_at: null,
      })
      .execute();
    notifierOf(ctx.db)?.notify(`user:${user.id}`);
    return { challenge: String(match), codeHash: null, challengeExpiresAt: expiresAt, resendAvailableAt: null };
  },
  async describe(ctx, tx, device, user) {
    if (tx.mode === 'offline') return offline.describe(ctx, tx, device, user);
    return {
      type: 'push',
      deviceId: device.id,
      kind: device.kind,
      matchNumber: Number(tx.challenge),
      expiresAt: new Date(tx.challenge_expires_at ?? tx.expires_at).toISOString(),
    };
  },
  async verify(ctx, tx, device, response) {
    if (tx.mode === 'offline') return offline.verify(ctx, tx, device, response);
    // Push mode: the response is the id of a request the app approved for this very challenge.
    const approved = await ibkeyDb(ctx.db)
      .selectFrom('ibkey_push_requests')
      .select('id')
      .where('id', '=', response)
      .where('transaction_id', '=', tx.id)
      .where('challenge_seq', '=', tx.challenge_seq)
      .where('device_id', '=', device.id)
      .where('state', '=', 'approved')
      .executeTakeFirst();
    return approved ? 'right' : 'wrong';
  },
};
