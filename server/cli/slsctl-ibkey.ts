/**
 * `slsctl ibkey …`: client services' IB Key commands (SPEC K8).
 *
 * `send-temp-password` sets a temporary login password and delivers it to the user's IB Key app,
 * sealed to the app's key, instead of by SMS or over the phone; the operator never sees it.
 */
import type { Command } from 'commander';
import { SlsError } from '../errors.ts';
import type { Services } from '../services/index.ts';
import { normalizeUsername } from '../services/throttle.ts';
import { theUser, warnIfLocked, withUser } from './slsctl-common.ts';

/**
 * SPEC K8: the password is sealed to the key the IB Key app registered when it was activated
 * (`ibkey_devices`). An IB Key device that is active but was never activated in the app (registered
 * by `slsctl device add --kind ibkey`, say) has no such key: say that, not "no active IB Key".
 */
async function refuseUnactivatedIbKey(s: Services, username: string): Promise<void> {
  const keys = await s.db
    .selectFrom('devices')
    .innerJoin('users', 'users.id', 'devices.user_id')
    .leftJoin('ibkey_devices', 'ibkey_devices.device_id', 'devices.id')
    .select(['devices.id', 'ibkey_devices.device_id as registered'])
    .where('users.username_normalized', '=', normalizeUsername(username))
    .where('devices.kind', '=', 'ibkey')
    .where('devices.status', '=', 'active')
    .execute();
  if (keys.length > 0 && keys.every((k) => k.registered === null)) {
    throw new SlsError('SLS_ERR_CONFLICT', {
      message:
        `${username}'s IB Key (${keys.map((k) => k.id).join(', ')}) is active but was never activated in the IB Key app: there is no app registration ` +
        '(no app key, no push) to deliver a password to. The user activates IB Key in the app first, or the password goes another way (SPEC K8)',
    });
  }
}

export function registerIbKeyCommands(program: Command, open: () => Promise<{ s: Services }>, io: { out(text: string): void; err(text: string): void }, operator: string): void {
  const ibkey = program.command('ibkey').description('IB Key: client services\' actions (SPEC K8)');
  withUser(
    ibkey.command('send-temp-password').description('set a temporary password and deliver it to the user\'s IB Key app instead of by SMS (SPEC K8)'),
  ).action(async (positional: string | undefined, o: { user?: string }, command: Command) => {
    const username = theUser(command, positional, o);
    const { s } = await open();
    await refuseUnactivatedIbKey(s, username);
    const sent = await s.ibkey.sendTemporaryPassword(username, operator);
    io.out(`temporary password for ${username} delivered to ${sent.deviceIds.length} IB Key app(s); the user reads it with \`ibkey inbox\`; ${sent.sessionsEnded} session(s) signed out\n`);
    await warnIfLocked(s, io, username); // SPEC L6, K8: a new password lifts no lock
  });
}
