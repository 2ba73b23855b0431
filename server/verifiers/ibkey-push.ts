/**
 * IB Key (SPEC L4, L7, K2): a push with a number to match, or an offline challenge/response code.
 *
 * Default mode: a push approval request row is created for the login's current challenge, with the
 * number the desktop shows and decoys the app offers beside it (number matching against push
 * fatigue). Its "response" is the id of the request once the app approved it with a valid signature
 * (server/services/ibkey.ts): only slsd knows it, and only the desktop's status long-poll presents it.
 * Offline mode (`SelectDeviceRequest.mode = 'offline'`): the catalogue's OCRA suite, like any token.
 *
 * SPEC L7 push-bombing: at most `IBKEY_PUSH_LIMIT` pushes may wait for one user; one more is refused;
 * one login sends a push at most every `IBKEY_PUSH_RESEND_MS`, and choosing IB Key again while its
 * push waits sends none (login.ts).
 */
import { PostgresAdapter } from 'kysely';
import type { Kysely } from 'kysely';
import { randomBelow } from '../../core/codes.ts';
import type { Database } from '../db/schema.ts';
import { newId, newToken } from '../crypto/tokens.ts';
import { SlsError } from '../errors.ts';
import { ibkeyDb } from '../services/ibkey-schema.ts';
import type { IbKeyDatabase } from '../services/ibkey-schema.ts';
import { notifierOf } from '../services/ibkey-notifier.ts';
import { challengeResponseVerifier } from './challenge-response.ts';
import type { SecondFactorVerifier } from './types.ts';

/** How long a push waits for the app (SPEC L4: then the desktop falls back to a challenge code). */
export const IBKEY_PUSH_TTL_MS = 60_000;
/** Pushes that may wait at once for one user (SPEC L7, push-bombing). */
export const IBKEY_PUSH_LIMIT = 3;
/**
 * A login sends its next push no sooner than this after its last one (SPEC L7, push bombing): switching
 * to the offline code and back to the push cannot stream notifications to the phone.
 */
export const IBKEY_PUSH_RESEND_MS = 30_000;
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

/** The previous challenge of a login is dead (D2): so is its push. */
async function supersede(db: Kysely<Database>, transactionId: string, now: number): Promise<void> {
  await ibkeyDb(db)
    .updateTable('ibkey_push_requests')
    .set({ state: 'superseded', answered_at: now })
    .where('transaction_id', '=', transactionId)
    .where('state', 'in', ['pending', 'approved'])
    .execute();
}

/**
 * Holds the user's row until the calling transaction ends (SPEC N1): on PostgreSQL `SELECT … FOR
 * UPDATE`, so transactions of one user, on one pool or on several slsd, run one after the other.
 * SQLite needs nothing: its transactions start with BEGIN IMMEDIATE (db/connect.ts), which already
 * holds the database's write lock, across processes too.
 */
export async function lockUserRow(trx: Kysely<Database> | Kysely<IbKeyDatabase>, userId: string): Promise<void> {
  const db = trx as Kysely<Database>;
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await db.selectFrom('users').select('id').where('id', '=', userId).forUpdate().execute();
  }
}

/**
 * Runs `body` in a transaction that no other runs for the same user at the same time (SPEC L7, N1).
 *
 * PostgreSQL: the user's row is locked (`SELECT … FOR UPDATE`) first, so concurrent logins of one
 * user, on one pool or on several slsd, wait for each other; other users are not held up. SQLite:
 * Kysely runs a transaction alone on its one connection, and its first statement (the caller's
 * UPDATE) takes the database's write lock, which holds across processes too.
 */
async function serializedPerUser(db: Kysely<Database>, userId: string, body: (db: Kysely<IbKeyDatabase>) => Promise<void>): Promise<void> {
  const run = async (trx: Kysely<Database>) => {
    await lockUserRow(trx, userId);
    await body(ibkeyDb(trx));
  };
  // A caller already inside a transaction keeps it (Kysely nests none).
  if (db.isTransaction) return run(db);
  return db.transaction().execute(run);
}

export const ibKeyPushVerifier: SecondFactorVerifier = {
  kinds: ['ibkey'],
  canResend: false,
  sends: (mode) => mode !== 'offline',
  async issue(ctx, tx, device, user) {
    const now = ctx.now();
    if (tx.mode === 'offline') {
      // The previous challenge of this login is dead (D2): so is its push.
      await supersede(ctx.db, tx.id, now);
      return offline.issue(ctx, tx, device, user);
    }
    const { match, choices } = drawChoices(IBKEY_PUSH_CHOICES);
    const expiresAt = Math.min(now + IBKEY_PUSH_TTL_MS, tx.expires_at);
    // SPEC L7 push bombing, N1: the count and the insert are one serialized step per user, whatever
    // the concurrency and however many slsd share the database. A count followed by an insert let
    // logins arriving together each see room and leave 4+ pushes waiting (found on PostgreSQL).
    await serializedPerUser(ctx.db, user.id, async (db) => {
      const last = await db
        .selectFrom('ibkey_push_requests')
        .select((eb) => eb.fn.max('created_at').as('at'))
        .where('transaction_id', '=', tx.id)
        .executeTakeFirst();
      if (last?.at != null && now < Number(last.at) + IBKEY_PUSH_RESEND_MS) {
        throw new SlsError('SLS_ERR_RESEND_TOO_SOON', { retryAt: new Date(Number(last.at) + IBKEY_PUSH_RESEND_MS).toISOString() });
      }
      await supersede(db, tx.id, now);
      const waiting = await db
        .selectFrom('ibkey_push_requests as p')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('p.user_id', '=', user.id)
        .where('p.state', '=', 'pending')
        .where('p.expires_at', '>', now)
        // Waiting unless its login moved on (SPEC L5, L7): the login is over (signed in, cancelled,
        // ended), or it went on to a newer challenge (another device, the offline code, a renewed
        // push), or a switch that won the same step put it on another device or mode. A login stores
        // its step only after this returns (`challenge_seq` + 1, login.ts #issueOn, startLogin), so a
        // push one step ahead of its login (or with no login row yet) was just sent: it counts.
        .where(({ not, exists, selectFrom, or, and, eb }) =>
          not(
            exists(
              selectFrom('login_transactions as t')
                .select('t.id')
                .whereRef('t.id', '=', 'p.transaction_id')
                .where((w) =>
                  or([
                    w('t.state', 'in', ['completed', 'ended']),
                    w('t.challenge_seq', '>', eb.ref('p.challenge_seq')),
                    and([w('t.challenge_seq', '=', eb.ref('p.challenge_seq')), or([w('t.device_id', '<>', eb.ref('p.device_id')), w('t.mode', '<>', 'default')])]),
                  ]),
                ),
            ),
          ),
        )
        .executeTakeFirstOrThrow();
      if (Number(waiting.n) >= IBKEY_PUSH_LIMIT) {
        throw new SlsError('SLS_ERR_IBKEY_PUSH_LIMIT');
      }
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
    });
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
