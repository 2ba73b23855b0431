/**
 * `slsctl ibkey …`: client services' IB Key commands (SPEC K8).
 *
 * `send-temp-password` sets a temporary login password and delivers it to the user's IB Key app,
 * sealed to the app's key, instead of by SMS or over the phone; the operator never sees it.
 */
import type { Command } from 'commander';
import type { Services } from '../services/index.ts';

export function registerIbKeyCommands(program: Command, open: () => Promise<{ s: Services }>, io: { out(text: string): void }, operator: string): void {
  const ibkey = program.command('ibkey').description('IB Key: client services\' actions (SPEC K8)');
  ibkey
    .command('send-temp-password')
    .description('set a temporary password and deliver it to the user\'s IB Key app instead of by SMS (SPEC K8)')
    .requiredOption('--user <username>')
    .action(async (o: { user: string }) => {
      const { s } = await open();
      const sent = await s.ibkey.sendTemporaryPassword(o.user, operator);
      io.out(`temporary password for ${o.user} delivered to ${sent.deviceIds.length} IB Key app(s); the user reads it with \`ibkey inbox\`; ${sent.sessionsEnded} session(s) signed out\n`);
    });
}
