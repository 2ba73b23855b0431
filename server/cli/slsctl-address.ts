/**
 * `slsctl address list|unblock`: source addresses throttled after too many failures (SPEC L6).
 *
 * Failures count per user and per source address; an address with `addressFailureLimit` failures
 * (100) within `addressFailureWindowMs` (15 min) is refused (SLS_ERR_RATE_LIMITED) for every user who
 * logs in from it, until the oldest of them leaves the window. That is no user lock (`user unlock`
 * cannot lift it): client services see such addresses here and clear one, audited
 * `address.unblocked` with the operator (N2). The counters are rows, so this works alike on SQLite
 * and PostgreSQL and for every slsd at once (N1).
 */
import type { Command } from 'commander';
import { SlsError } from '../errors.ts';
import type { Services } from '../services/index.ts';
import type { AddressThrottle } from '../services/throttle.ts';

const iso = (ms: number) => new Date(ms).toISOString();

/** One line of `address list`, and of the notes `user show` and `user unlock` print. */
export function describeAddress(a: AddressThrottle): string {
  return `${a.address}  ${a.failures} failure(s)  ${a.blockedUntil === null ? 'not blocked' : `blocked until ${iso(a.blockedUntil)}`}  last failure ${iso(a.lastFailureAt)}`;
}

export function registerAddressCommands(program: Command, open: () => Promise<{ s: Services }>, io: { out(text: string): void }, operator: string): void {
  const address = program
    .command('address')
    .description('source addresses refused after too many failed logins (100 within 15 min: SLS_ERR_RATE_LIMITED for every user there); list, unblock (SPEC L6)');
  address
    .command('list')
    .description('addresses with failures counted in the last 15 min, blocked ones first: address, failures, blocked until, last failure (UTC)')
    .option('--blocked', 'only the blocked ones')
    .action(async (o: { blocked?: boolean }) => {
      const { s } = await open();
      const rows = (await s.throttle.addresses()).filter((a) => !o.blocked || a.blockedUntil !== null);
      if (rows.length === 0) io.out(o.blocked ? '(no address blocked)\n' : '(no address has failures counted)\n');
      for (const a of rows) io.out(`${describeAddress(a)}\n`);
    });
  address
    .command('unblock')
    .description("clear an address's failures: logins from it are accepted again at once (audited address.unblocked)")
    .argument('<address>', 'as `address list` prints it, e.g. 203.0.113.9')
    .action(async (addr: string) => {
      const { s } = await open();
      const cleared = await s.throttle.unblockAddress(addr.trim(), operator);
      if (!cleared) throw new SlsError('SLS_ERR_NOT_FOUND', { message: `no failures counted for address ${addr} (\`slsctl address list\` shows the addresses with failures)` });
      io.out(
        cleared.blockedUntil === null
          ? `${cleared.address}: ${cleared.failures} failure(s) cleared (it was not blocked)\n`
          : `${cleared.address} unblocked: it was blocked until ${iso(cleared.blockedUntil)} after ${cleared.failures} failure(s)\n`,
      );
    });
}

/**
 * SPEC L6: the blocked addresses the user logged in from lately (their audited logins, failed or
 * not), and how many other addresses are blocked: `user show` and `user unlock` name them, since to
 * the trader an address block looks like a lock (the login is refused) and `user unlock` lifts none.
 */
export async function addressBlocksOf(s: Services, userId: string): Promise<{ mine: AddressThrottle[]; otherBlocked: number }> {
  const mine = await s.throttle.blockedAddressesOf(userId);
  const otherBlocked = (await s.throttle.addresses()).filter((a) => a.blockedUntil !== null && !mine.some((m) => m.address === a.address)).length;
  return { mine, otherBlocked };
}
