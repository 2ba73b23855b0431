/**
 * The challenges waiting on one device, ended where the device changes hands or is taken out of use
 * (SPEC D5, D7, L5, S5): slsctl (provisioning.ts), a user's report or return (devices-admin.ts) and a
 * sharing that sets the requester's own devices aside (sharing.ts) call it in their transactions.
 * Its own module so that sharing.ts, which provisioning.ts imports, can use it too.
 */
import type { ExpressionBuilder, Kysely } from 'kysely';
import { M2FS_MIN_CLIENT_VERSION } from '../../core/devices.ts';
import type { Database } from '../db/schema.ts';
import { accountDb } from '../account/schema.ts';
import type { AccountDb } from '../account/schema.ts';
import { ibkeyDb } from './ibkey-schema.ts';

/** What `endChallengesOnDevice` ended: the login transactions by id (their desktops are told), the confirmations and IB Key pushes counted. */
export interface EndedChallenges {
  /** Every live login whose challenge was on the device: ended, or (`'choose_again'`) back at the device choice. */
  readonly logins: readonly string[];
  /** Of `logins`, those back at the device choice (`'choose_again'`); the others ended. */
  readonly backToChoice: number;
  readonly confirmations: number;
  readonly pushes: number;
}

/**
 * What becomes of a live login whose challenge is on the device (`endChallengesOnDevice`):
 * - `'end'`: it ends (SLS_ERR_TRANSACTION_ENDED). The device changed hands (`assignDevice`, D7): the
 *   login is its former owner's, who starts again with their own devices.
 * - `'choose_again'`: the device was taken out of use and stays its user's (`changeDeviceStatus`;
 *   devices-admin.ts `retire`: reported lost or broken, returned). SPEC L5, L2, D5: the user switches
 *   device without starting over: the login goes back to the device choice, `select_device`, with
 *   its challenge wiped and its sequence moved on, so no response to that challenge counts ever again,
 *   even once the device is active again. It keeps `device_id`, so its current step preselects a
 *   device of the same kind (login.ts `current`, K5) and a response or resend answers
 *   SLS_ERR_DEVICE_NOT_AVAILABLE (login.ts `respond`, `resend`), on which the desktop reads that step
 *   and shows the drop-down. Its wrong responses (L6) and SMS cool-down (L4) stay as they were. A
 *   trading platform older than 966 has no drop-down (L3): its login ends instead, and the next one
 *   gets a device the server picks among those still active.
 */
export type LoginsOnDevice = 'end' | 'choose_again';

/**
 * SPEC D5, D2, L5, W1, S3, D6: ends, inside the caller's transaction, every challenge still open
 * on device `deviceId`, whoever it was issued for:
 * - portal confirmations (`confirmations`: a withdrawal's, a sharing's, an activation's; W1, S3, D6)
 *   still waiting for their answer: `ended`, so an answer gets SLS_ERR_TRANSACTION_ENDED (the
 *   desktop's panel starts over, and the user asks for a challenge on a device that can answer);
 * - IB Key pushes waiting for the app, or approved and not yet used (L7): `superseded`, as a new
 *   challenge of their login supersedes them (verifiers/ibkey-push.ts), so the app no longer shows
 *   them and an answer gets SLS_ERR_IBKEY_REQUEST_ENDED;
 * - live login transactions whose challenge is on it (L5): ended, or back at the device choice
 *   (`logins`, `LoginsOnDevice`).
 *
 * Used where a device changes hands (`assignDevice`, D7: its status no longer stops its former
 * owner's challenges) and where it is taken out of use (`changeDeviceStatus`, devices-admin.ts
 * `retire`): every answer path re-checks the device's status (confirmations.ts `assertDeviceUsable`
 * and `consumeConfirmation`, login.ts `respond`), but only while it is out of use. Made active again
 * (by an operator, or at the end of a sharing, S5), a challenge issued before would answer again as
 * if nothing had happened; ended here, none does. Returns what ended, for the caller's audit entry
 * (N2) and slsctl's output. Each statement looks rows up by an index: confirmations and pushes by
 * device, logins by expiry (live ones only: an expired login answers nothing).
 */
export async function endChallengesOnDevice(
  db: Kysely<Database> | AccountDb,
  deviceId: string,
  now: number,
  logins: LoginsOnDevice = 'end',
): Promise<EndedChallenges> {
  const trx = db as unknown as Kysely<Database>;
  const confirmations = await accountDb(trx)
    .updateTable('confirmations')
    .set({ state: 'ended' })
    .where('device_id', '=', deviceId)
    .where('state', 'in', ['challenge', 'answered'])
    .executeTakeFirst();
  const pushes = await ibkeyDb(trx)
    .updateTable('ibkey_push_requests')
    .set({ state: 'superseded', answered_at: now })
    .where('device_id', '=', deviceId)
    .where('state', 'in', ['pending', 'approved'])
    .executeTakeFirst();
  const live = () => trx.updateTable('login_transactions').where('expires_at', '>', now).where('device_id', '=', deviceId).where('state', '=', 'challenge');
  // SPEC L3: a client without the drop-down, which `'choose_again'` ends too.
  const noDropDown = (eb: ExpressionBuilder<Database, 'login_transactions'>) =>
    eb.and([eb('client_kind', '=', 'trading_platform'), eb('client_version', '<', M2FS_MIN_CLIENT_VERSION)]);
  const ended = await live()
    .set({ state: 'ended', ended_at: now })
    .$if(logins === 'choose_again', (q) => q.where(noDropDown))
    .returning('id')
    .execute();
  const back =
    logins === 'choose_again'
      ? await live()
          .set((eb) => ({ state: 'select_device', challenge_seq: eb('challenge_seq', '+', 1), challenge: null, code_hash: null, challenge_expires_at: null, challenge_used_at: null }))
          .where((eb) => eb.not(noDropDown(eb)))
          .returning('id')
          .execute()
      : [];
  return {
    logins: [...ended, ...back].map((l) => l.id),
    backToChoice: back.length,
    confirmations: Number(confirmations.numUpdatedRows),
    pushes: Number(pushes.numUpdatedRows),
  };
}
