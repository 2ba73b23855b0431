/**
 * `slsctl dnc|sharing|order|withdrawals|restart …`: client services' account-security commands.
 *
 * - `dnc add|remove|list`: the do-not-call list; numbers on it receive no SMS (SPEC P2).
 * - `sharing list|approve|reject`: compliance decides sharing requests between entities (S4).
 * - `order list|send|sweep`: send an ordered DSC+ (writes the emulator's state file, prints the PIN
 *   once; D6, D8) and run the time-driven changes (T3 self-activation, T2 online-card expiry).
 * - `withdrawals list`: a user's confirmed withdrawals (W4).
 * - `restart revoke`: every auto-restart token of a user stops working (L8).
 * - `sls opt-out|opt-in --user`: client services set a user's SLS opt-out (O1–O3), audited as theirs.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { refuseExistingFile, SecretFiles, theUser, withUser } from './slsctl-common.ts';
import { formatUsd } from '../../core/limits.ts';
import { checkMobileNumber } from '../../core/phone.ts';
import { accountHousekeeping, accountServices } from '../account/index.ts';
import type { SlsConfig } from '../config.ts';
import type { DeviceAdminService } from '../services/devices-admin.ts';
import { setOptOut } from '../services/optout.ts';
import { addToDoNotCall, removeFromDoNotCall } from '../services/phone.ts';
import type { Services } from '../services/index.ts';
import { normalizeUsername } from '../services/throttle.ts';
import { SlsError } from '../errors.ts';

/** The user of that name, or SLS_ERR_NOT_FOUND (exit 1). */
async function userNamed(s: Services, username: string): Promise<{ id: string; username_normalized: string }> {
  const user = await s.db.selectFrom('users').select(['id', 'username_normalized']).where('username_normalized', '=', normalizeUsername(username)).executeTakeFirst();
  if (!user) throw new SlsError('SLS_ERR_NOT_FOUND', { message: `no user ${username}` });
  return user;
}

/**
 * The form a number has on the do-not-call list, as `addToDoNotCall` stores it (services/phone.ts);
 * SLS_ERR_VALIDATION (exit 1) for what is no number in international form.
 */
function doNotCallForm(number: string): string {
  const check = checkMobileNumber(number);
  const e164 = check.ok ? check.e164 : number.replace(/[^\d+]/g, '');
  if (!/^\+\d{6,15}$/.test(e164)) throw new SlsError('SLS_ERR_VALIDATION', { message: 'a number in international form, e.g. +447400123456' });
  return e164;
}

/** The number as listed when it is on the do-not-call list, else null. */
async function onDoNotCall(s: Services, number: string): Promise<string | null> {
  const e164 = doNotCallForm(number);
  const row = await accountServices(s).deps.adb.selectFrom('do_not_call').select('number').where('number', '=', e164).executeTakeFirst();
  return row ? row.number : null;
}

export function registerAccountCommands(program: Command, open: () => Promise<{ s: Services; config: SlsConfig }>, io: { out(text: string): void }, operator: string): void {
  const dnc = program.command('dnc').description('the do-not-call list: numbers that receive no SMS (SPEC P2)');
  dnc
    .command('add')
    .description('put a number on the do-not-call list: no SMS goes to it any more (audited)')
    .argument('<number>', 'a number in international form, e.g. +447400123456')
    .option('--note <note>', 'why, e.g. the registry or the request it came from')
    .action(async (number: string, o: { note?: string }) => {
      const { s } = await open();
      // SPEC N2: a number already on the list changes nothing, so nothing is audited (as `sls opt-out`, `device set-status`).
      const listed = await onDoNotCall(s, number);
      if (listed) {
        io.out(`${listed} is already on the do-not-call list: nothing changed\n`);
        return;
      }
      const e164 = await addToDoNotCall(accountServices(s).deps, number, operator, o.note);
      io.out(`${e164} is on the do-not-call list\n`);
    });
  dnc
    .command('remove')
    .description('take a number off the do-not-call list (audited)')
    .argument('<number>', 'a number in international form, e.g. +447400123456')
    .action(async (number: string) => {
      const { s } = await open();
      // SPEC N2, P2: a number not on the list (or no number at all) was audited as removed, and exited 0.
      const e164 = doNotCallForm(number);
      if (!(await onDoNotCall(s, number))) {
        io.out(`${e164} is not on the do-not-call list: nothing changed\n`);
        return;
      }
      io.out((await removeFromDoNotCall(accountServices(s).deps, number, operator)) ? 'removed\n' : 'not on the list\n');
    });
  dnc.command('list').description('the numbers on the do-not-call list: number, added at (UTC), by, note').action(async () => {
    const { s } = await open();
    const rows = await accountServices(s).deps.adb.selectFrom('do_not_call').selectAll().orderBy('number').execute();
    if (rows.length === 0) io.out('(no numbers)\n');
    for (const r of rows) io.out(`${r.number}  ${new Date(r.added_at).toISOString()}  ${r.added_by}${r.note ? `  ${r.note}` : ''}\n`);
  });

  const sharing = program.command('sharing').description('device sharing requests; compliance approves those between entities (SPEC S4)');
  sharing
    .command('list')
    .description('requests waiting for compliance: id, requester → owner\'s device, state, created')
    .action(async () => {
      const { s } = await open();
      const pending = await accountServices(s).sharing.pending();
      if (pending.length === 0) io.out('(no sharing requests)\n');
      for (const r of pending) {
        io.out(`${r.id}  ${r.requester.username} → ${r.owner.username}'s ${r.device.label}  ${r.state}  ${r.createdAt}\n`);
      }
    });
  for (const [name, approve, description] of [
    ['approve', true, "approve a sharing request between entities: the requester may then use the owner's device (audited as yours)"],
    ['reject', false, 'reject a sharing request between entities (audited as yours)'],
  ] as const) {
    sharing
      .command(name)
      .description(`${description} (SPEC S4)`)
      .argument('<requestId>', 'as `sharing list` prints it')
      .action(async (id: string) => {
        const { s } = await open();
        const r = await accountServices(s).sharing.decide(id, approve, operator);
        io.out(`${r.id}  ${r.state}\n`);
      });
  }

  const order = program.command('order').description('device orders: DSC+ from USD 500K and replacements (SPEC D6, D8, T3)');
  order
    .command('list')
    .description('device orders: id, user, kind, reason, state, device')
    .option('--user <username>', "only this user's orders")
    .action(async (o: { user?: string }) => {
      const { s } = await open();
      const adb = accountServices(s).deps.adb;
      let q = adb.selectFrom('device_orders').innerJoin('users', 'users.id', 'device_orders.user_id').selectAll('device_orders').select('users.username');
      if (o.user) q = q.where('users.username_normalized', '=', normalizeUsername(o.user));
      const rows = await q.orderBy('device_orders.created_at').execute();
      if (rows.length === 0) io.out('(no orders)\n');
      for (const r of rows) {
        io.out(`${r.id}  ${r.username}  ${r.kind}  ${r.reason}  ${r.state}${r.device_id ? `  device ${r.device_id}` : ''}\n`);
      }
    });
  order
    .command('send')
    .description('send an ordered DSC+: a pending device with its serial; it activates itself after 14 days (T3)')
    .argument('<orderId>')
    .option('--serial <serial>', 'the DSC+ serial, 10 digits (default random)')
    .option('--pin <pin>', 'the 4-digit PIN (default random, printed once)')
    .option('--state-file <file>', 'emulator state file (default <data>/dscplus/<serial>.json)')
    .action(async (id: string, o: { serial?: string; pin?: string; stateFile?: string }) => {
      const { s, config } = await open();
      const stateFile = (serial: string) => o.stateFile ?? path.join(config.dataDir, 'dscplus', `${serial}.json`);
      // SPEC D4: never over another DSC+'s state file (its only copy of the secret and PIN).
      if (o.stateFile || o.serial) refuseExistingFile(stateFile(o.serial ?? ''), 'the DSC+ state file');
      // SPEC D4, N2: the state file is written inside the send's transaction (`deliver`): one that cannot
      // be written sends nothing; one written for a send that then failed is removed.
      const files = new SecretFiles();
      let said = '';
      let sent: Awaited<ReturnType<DeviceAdminService['sendOrder']>>;
      try {
        sent = await accountServices(s).devices.sendOrder(id, operator, {
          ...(o.serial ? { serial: o.serial } : {}),
          ...(o.pin ? { pin: o.pin } : {}),
          deliver: async (d) => {
            if (!d.dscPlusState) return;
            const file = stateFile(d.device.serial ?? '');
            files.write(file, JSON.stringify(d.dscPlusState, null, 2) + '\n', 'the DSC+ state file');
            said = `DSC+ state file: ${file}\nPIN (shown once): ${d.pin}\n`;
          },
        });
      } catch (e) {
        files.undo();
        throw e;
      }
      io.out(`${sent.device.id}  ${sent.device.kind}  ${sent.device.status}  serial ${sent.device.serial}  self-activates ${sent.order.selfActivatesAt}\n${said}`);
    });
  order
    .command('cancel')
    .description('cancel an order not yet sent; a replacement deposit is released (SPEC D6, D8)')
    .argument('<orderId>')
    .action(async (id: string) => {
      const { s } = await open();
      const r = await accountServices(s).devices.cancelOrder(id, { operator });
      io.out(`${r.id}  ${r.state}${r.reason === 'replacement' ? '  deposit released' : ''}\n`);
    });
  order
    .command('sweep')
    .description('activate devices sent 14 days ago (T3) and expire online code cards (T2)')
    .action(async () => {
      const { s } = await open();
      await accountHousekeeping(s.db, s.now());
      io.out('done\n');
    });

  withUser(program.command('withdrawals').description('a user\'s confirmed withdrawals (SPEC W4)')).action(
    async (positional: string | undefined, o: { user?: string }, command: Command) => {
      const username = theUser(command, positional, o);
      const { s } = await open();
      const adb = accountServices(s).deps.adb;
      const user = await userNamed(s, username);
      const rows = await adb.selectFrom('withdrawals').selectAll().where('user_id', '=', user.id).orderBy('created_at').execute();
      if (rows.length === 0) io.out('(no withdrawals)\n');
      for (const w of rows) {
        io.out(`${new Date(w.created_at).toISOString()}  ${formatUsd(w.amount_cents).padStart(20)}  ${w.device_kind.padEnd(10)} ${w.id}  key ${w.idempotency_key}\n`);
      }
    },
  );

  const sls = program.command('sls').description('SLS opt-out for trading-platform login, set by client services for a user (SPEC O1–O3)');
  for (const [name, out, description] of [
    ['opt-out', true, 'opt a user out of the Secure Login System for trading-platform login (audited as yours)'],
    ['opt-in', false, 'opt a user back into the Secure Login System (audited as yours)'],
  ] as const) {
    withUser(sls.command(name).description(`${description} (SPEC O1–O3)`))
      .action(async (positional: string | undefined, o: { user?: string }, command: Command) => {
        const username = theUser(command, positional, o);
        const { s } = await open();
        const user = await userNamed(s, username);
        // SPEC N2: audited only when it changes; the operator is told when it was already so.
        const changed = await setOptOut(accountServices(s).deps, user, out, `slsctl:${operator}`, null);
        const state = out ? 'opted out of' : 'opted into';
        io.out(
          changed
            ? `${username}: ${out ? 'opted out of' : 'opted back into'} the Secure Login System for trading-platform login\n`
            : `${username}: already ${state} the Secure Login System for trading-platform login; nothing changed\n`,
        );
      });
  }

  const restart = program.command('restart').description('auto-restart tokens (SPEC L8)');
  withUser(restart.command('revoke').description("revoke every auto-restart token of a user: the user's next start is a full login (audited as yours)")).action(
    async (positional: string | undefined, o: { user?: string }, command: Command) => {
      const username = theUser(command, positional, o);
      const { s } = await open();
      const user = await userNamed(s, username);
      io.out(`${await accountServices(s).restart.revokeAll(user, operator)} restart token(s) revoked\n`);
    },
  );
}
