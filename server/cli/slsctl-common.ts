/**
 * What slsctl's command modules share: the usage error (exit 2), the operator's name in the audit log
 * (SPEC N2), the user a command is about (positional or `--user`), and the note a command prints when
 * it gives a locked user a new way in (L6).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import type { Services } from '../services/index.ts';
import { normalizeUsername } from '../services/throttle.ts';

/**
 * A mistake in how slsctl was called (exit code 2), found while running a command. Refusals of what
 * was asked (SLS_ERR_…: no such user, a temporary passcode in a row) exit 1.
 */
export class UsageError extends Error {}

/**
 * The operator's name in the audit log (SPEC N2): SLSCTL_OPERATOR, else SUDO_USER (client services
 * run slsctl as `sudo -u sls …`, so $USER would name everyone `sls`), else the OS user.
 */
export function operatorName(env: NodeJS.ProcessEnv): string {
  if (env.SLSCTL_OPERATOR) return env.SLSCTL_OPERATOR;
  if (env.SUDO_USER) return env.SUDO_USER;
  try {
    return os.userInfo().username;
  } catch {
    return env.USER ?? env.USERNAME ?? 'operator';
  }
}

/**
 * Lets `command` name its user positionally or with `--user` (`temp-passcode issue demo.gold` and
 * `temp-passcode issue --user demo.gold` alike). The action gets the positional first; pass it and
 * the options to `theUser`.
 */
export function withUser(command: Command, description = 'the user'): Command {
  return command.argument('[username]', `${description} (or --user)`).option('--user <username>', `${description} (or give it as the argument)`);
}

/** The user named by `withUser`'s argument or option; a usage error (exit 2) showing both forms otherwise. */
export function theUser(command: Command, positional: string | undefined, o: { user?: string }): string {
  if (positional !== undefined && o.user !== undefined && normalizeUsername(positional) !== normalizeUsername(o.user)) {
    throw new UsageError(`two users named: ${positional} and --user ${o.user}; name one`);
  }
  const user = positional ?? o.user;
  if (user === undefined) throw new UsageError(`name the user: \`slsctl ${fullName(command)} <username>\` or \`slsctl ${fullName(command)} --user <username>\``);
  return user;
}

function fullName(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * SPEC L6, T1, K8: a new password or temporary passcode does not lift a lock, so the operator who
 * gives one to a locked user is told the login stays refused, until when, and how to lift it. The
 * same for a blocked address the user logged in from lately (as `user unlock` says): the login from
 * it is refused whatever the user types, and to the trader on the phone it looks the same.
 */
export async function warnIfLocked(s: Services, io: { err(text: string): void }, username: string): Promise<void> {
  const normalized = normalizeUsername(username);
  const lock = await s.throttle.userLock(normalized);
  if (lock) io.err(`WARNING: ${username} is locked until ${new Date(lock.lockedUntil).toISOString()} (${lock.failures} failed attempts): the login is refused until then; run \`slsctl user unlock ${username}\`\n`);
  const user = await s.db.selectFrom('users').select('id').where('username_normalized', '=', normalized).executeTakeFirst();
  for (const a of user ? await s.throttle.blockedAddressesOf(user.id) : []) {
    io.err(`WARNING: ${username} logged in lately from ${a.address}, which is blocked until ${new Date(a.blockedUntil!).toISOString()} (${a.failures} failed attempts from it): every login from it is refused until then; run \`slsctl address unblock ${a.address}\`\n`);
  }
}

/**
 * SPEC D4, D5: a device's secret file (token file, DSC+ state file, card PDF) is written once, for
 * one device. Checked before the device is registered: a second `device add --serial S` (the first
 * one thought to have failed) or a `--token-file` naming another device's file replaced that
 * device's only copy of its secret, and left the user two active devices of the same name in the
 * drop-down, one of which no one can answer. Refused as a usage error (exit 2), nothing registered.
 */
export function refuseExistingFile(file: string, what: string): void {
  if (fs.existsSync(file)) {
    throw new UsageError(`${file} already exists (${what} of a device registered before?): nothing was registered. Name a new file, or check \`slsctl device list\` first`);
  }
}

/**
 * SPEC D4, N2: the secret files of one registration (`device add`, `order send`), written while the
 * device's transaction is still open (Provisioning `addDevice`'s and DeviceAdminService `sendOrder`'s
 * `deliver`), so a file that cannot be written rolls the registration back: before, the device was
 * registered (active, audited) first and a failed write left it with no one holding its secret.
 *
 * - `write` creates the file exclusively (never over another device's file, also when one appeared
 *   since `refuseExistingFile`), owner-only, and removes what it created of a file it could not finish.
 *   A file that exists: the usage error of `refuseExistingFile` (exit 2); another failure (a folder
 *   not writable, a path through a file, a full disk): "cannot write …: nothing was registered" (exit 1).
 * - `undo` removes the files written when the registration did not commit after all.
 */
export class SecretFiles {
  readonly #written: string[] = [];

  write(file: string, content: string | Buffer, what: string): void {
    let fd: number;
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fd = fs.openSync(file, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') refuseExistingFile(file, what);
      throw cannotWrite(file, what, e);
    }
    try {
      fs.writeFileSync(fd, content);
      fs.fchmodSync(fd, 0o600);
    } catch (e) {
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
      throw cannotWrite(file, what, e);
    }
    fs.closeSync(fd);
    this.#written.push(file);
  }

  undo(): void {
    for (const file of this.#written.splice(0)) fs.rmSync(file, { force: true });
  }
}

function cannotWrite(file: string, what: string, e: unknown): Error {
  return new Error(`cannot write ${what} ${file}: ${(e as Error).message}: nothing was registered`);
}
