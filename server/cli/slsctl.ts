/**
 * slsctl, the operator CLI (SPEC §0): entities, accounts, users, devices, temporary access,
 * unlocking, the SMS outbox and the audit log. It opens slsd's database directly (same data folder).
 *
 * `runSlsctl(argv, io)` is the whole CLI with its input and output injected, for tests; `main`
 * wires it to the process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEVICE_CATALOGUE, DEVICE_KINDS } from '../../core/devices.ts';
import type { DeviceKind } from '../../core/devices.ts';
import { renderSecurityCodeCardPdf } from '../cards/scc-pdf.ts';
import { loadConfig } from '../config.ts';
import type { SlsConfig } from '../config.ts';
import { DEVICE_STATUSES } from '../db/schema.ts';
import type { DeviceStatus } from '../db/schema.ts';
import { readDemoReadme, seedDemo } from '../demo.ts';
import { isSlsError, SlsError } from '../errors.ts';
import { registerAccountCommands } from './slsctl-account.ts';
import { addressBlocksOf, registerAddressCommands } from './slsctl-address.ts';
import { operatorName, refuseExistingFile, SecretFiles, theUser, UsageError, warnIfLocked, withUser } from './slsctl-common.ts';
import { ownerOnlyFromNowOn } from '../folders.ts';
import { accountDb } from '../account/schema.ts';
import { createServices, packageVersion } from '../services/index.ts';
import type { Services } from '../services/index.ts';
import { Provisioning } from '../services/provisioning.ts';
import type { ProvisionedDevice } from '../services/provisioning.ts';
import { registerIbKeyCommands } from './slsctl-ibkey.ts';
import { registerHousekeepingCommand } from './slsctl-housekeeping.ts';
import { BackupRefused, registerBackupCommand } from './slsctl-backup.ts';
import { normalizeUsername } from '../services/throttle.ts';
import { ONLINE_CARD_VALIDITY_MS } from '../services/temporary-access.ts';
import { respondWithTokenFile, softwareTokenOf, softwareTokenText } from '../tokens/software-token.ts';

export interface SlsctlIo {
  out(text: string): void;
  err(text: string): void;
  /** All of standard input (for --password-stdin). */
  readStdin(): Promise<string>;
  /** A password typed without echo; null when there is no terminal. */
  promptHidden(question: string): Promise<string | null>;
  /** For `audit --follow`: resolves when the operator stops it. Default: never (Ctrl-C). */
  readonly stopSignal?: AbortSignal;
  readonly env?: NodeJS.ProcessEnv;
}

interface GlobalOptions {
  dataDir?: string;
  databaseUrl?: string;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
}

function money(v: string): number {
  const n = Number(v.replace(/[,_]/g, ''));
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('an amount in USD, e.g. 750000');
  return n;
}

/** SPEC D5, D8: the statuses a device leaves for `active` only with --force. */
const RETIRED_STATUSES: readonly DeviceStatus[] = ['lost', 'returned', 'revoked'];

/** The SQLite file of a database URL, or null for PostgreSQL. */
function sqliteFileOf(databaseUrl: string): string | null {
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return null;
  return databaseUrl.startsWith('sqlite:') ? databaseUrl.slice('sqlite:'.length) : databaseUrl;
}

/**
 * SPEC A1: the entity an account or user is created for; an id that names none is SLS_ERR_NOT_FOUND
 * saying so (exit 1), where the database's foreign key answered only "FOREIGN KEY constraint failed".
 */
async function theEntity(s: Services, id: string): Promise<void> {
  const entity = await s.db.selectFrom('entities').select('id').where('id', '=', id).executeTakeFirst();
  if (!entity) throw new SlsError('SLS_ERR_NOT_FOUND', { message: `no entity ${id} (\`slsctl entity create\` prints the id of a new one)` });
}

/** Runs slsctl with `argv` (without node and script); returns the exit code. */
export async function runSlsctl(argv: readonly string[], io: SlsctlIo): Promise<number> {
  const env = io.env ?? process.env;
  let services: Services | undefined;
  let config: SlsConfig | undefined;
  const program = new Command('slsctl');
  const operator = operatorName(env);

  async function open(): Promise<{ s: Services; p: Provisioning; config: SlsConfig }> {
    const g = program.opts<GlobalOptions>();
    config ??= loadConfig(env, { ...(g.dataDir ? { dataDir: g.dataDir } : {}), ...(g.databaseUrl ? { databaseUrl: g.databaseUrl } : {}) });
    if (!services) {
      // slsd creates the database (and its server key, loudly); slsctl only opens one. A mistyped
      // --data-dir would otherwise make a new empty database and key, and answer "no users".
      const file = sqliteFileOf(config.databaseUrl);
      if (file !== null && file !== ':memory:' && !fs.existsSync(file)) {
        throw new UsageError(`no SLS database at ${file}: pass the data folder of slsd (--data-dir or SLS_DATA_DIR; here ${config.dataDir}) or its --database-url; slsd creates it when it first starts`);
      }
      services = await createServices({ ...config, logLevel: 'silent' }, { existingOnly: true });
      for (const w of services.warnings) io.err(`WARNING: ${w}\n`);
    }
    // SPEC N2: every change slsctl makes names its operator (`by`), also those Provisioning audits
    // without one: entity, account and user created, device added, device assigned to another user.
    const s = services;
    const p = new Provisioning({ ...s, audit: (entry) => s.audit({ ...entry, details: { by: operator, ...entry.details } }) }, { by: operator });
    return { s, p, config };
  }

  async function readPassword(fromStdin: boolean | undefined, noTerminal = 'use --password-stdin'): Promise<string> {
    if (fromStdin) {
      const text = (await io.readStdin()).replace(/\r?\n$/, '');
      if (!text) throw new UsageError('no password on standard input');
      return text;
    }
    const first = await io.promptHidden('Password: ');
    if (first === null) throw new UsageError(`no terminal to ask for the password: ${noTerminal}`);
    const again = await io.promptHidden('Password again: ');
    if (first !== again) throw new UsageError('the passwords differ');
    return first;
  }

  program
    .description('SLS operator CLI: users, devices, temporary access, SMS outbox and audit log (opens the slsd database directly)')
    .option('--data-dir <dir>', 'data folder of slsd (env SLS_DATA_DIR; default ./.sls-data)')
    .option('--database-url <url>', 'postgres://… (env SLS_DATABASE_URL; default SQLite in the data folder)')
    .version(packageVersion(), '-V, --version', 'print the SLS version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nThe audit log names the operator of each change (SPEC N2): $SLSCTL_OPERATOR if set, else $SUDO_USER\n' +
        '(so `sudo -u sls slsctl …` records who ran sudo), else the OS user name.\n' +
        'Times are printed in UTC (ISO 8601).\n' +
        'Exit codes: 0 done; 1 refused or failed (SLS_ERR_… and the reason on stderr); 2 a usage error.\n',
    );

  // --- entity -----------------------------------------------------------------------------------
  const entity = program.command('entity').description('entities: the person or organisation behind users (SPEC A1, A2)');
  entity
    .command('create')
    .description('create an entity and print its id')
    .requiredOption('--name <name>', 'full name')
    .addOption(new Option('--kind <kind>', 'person or organisation').choices(['person', 'organisation']).default('person'))
    .option('--dob <date>', 'date of birth, YYYY-MM-DD (A2)')
    .option('--citizenship <country>', 'citizenship, ISO country code (A2)')
    .option('--residence <country>', 'country of legal residence (A2)')
    .option('--id-type <type>', 'identification document type (A2)')
    .option('--id-number <number>', 'identification document number (A2)')
    .option('--ssn <ssn>', 'SSN for US citizens and residents (stored encrypted)')
    .action(async (o: { name: string; kind: 'person' | 'organisation'; dob?: string; citizenship?: string; residence?: string; idType?: string; idNumber?: string; ssn?: string }) => {
      const { p } = await open();
      const id = await p.createEntity({
        name: o.name,
        kind: o.kind,
        ...(o.dob ? { dateOfBirth: o.dob } : {}),
        ...(o.citizenship ? { citizenship: o.citizenship } : {}),
        ...(o.residence ? { residenceCountry: o.residence } : {}),
        ...(o.idType ? { idDocumentType: o.idType } : {}),
        ...(o.idNumber ? { idDocumentNumber: o.idNumber } : {}),
        ...(o.ssn ? { ssn: o.ssn } : {}),
      });
      io.out(`${id}\n`);
    });

  // --- account ----------------------------------------------------------------------------------
  program
    .command('account')
    .description('accounts (SPEC A1, A4)')
    .command('create')
    .description('create an account of an entity and print its id')
    .requiredOption('--number <number>', 'account number, e.g. U1234567')
    .requiredOption('--entity <id>', 'entity id')
    .option('--balance <usd>', 'balance in USD (decides DSC+ eligibility, D6)', money, 0)
    .action(async (o: { number: string; entity: string; balance: number }) => {
      const { s, p } = await open();
      await theEntity(s, o.entity);
      io.out(`${await p.createAccount({ number: o.number, entityId: o.entity, balanceUsd: o.balance })}\n`);
    });

  // --- user -------------------------------------------------------------------------------------
  const user = program.command('user').description('users: create, set password, unlock, show');
  user
    .command('create')
    .description('create a user (asks for a password on a terminal, or --password-stdin)')
    .requiredOption('--username <name>', 'login name (unique, case-insensitive)')
    .requiredOption('--entity <id>', 'entity id')
    .option('--display-name <name>', 'name shown in the client')
    .option('--account <number...>', 'accounts the user may access; primary of those without one (A1)')
    .option('--mobile <number>', 'verified mobile number, E.164 (P1)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--no-password', 'create without a password (set it later)')
    .action(async (o: { username: string; entity: string; displayName?: string; account?: string[]; mobile?: string; passwordStdin?: boolean; password: boolean }) => {
      // SPEC A1, L1: without a terminal and without --no-password this made a user no password opens, and said nothing.
      const password = o.password ? await readPassword(o.passwordStdin, 'use --password-stdin, or --no-password to set it later') : undefined;
      const { s, p } = await open();
      await theEntity(s, o.entity);
      const id = await p.createUser({
        username: o.username,
        entityId: o.entity,
        ...(o.displayName ? { displayName: o.displayName } : {}),
        ...(o.account ? { accountNumbers: o.account } : {}),
        ...(o.mobile ? { mobileNumber: o.mobile } : {}),
        ...(password !== undefined ? { password } : {}), // an empty one is refused (8–256 characters), not dropped
      });
      io.out(`${id}\n`);
    });
  user
    .command('set-password')
    .description('set a user\'s password (asks without echo, or --password-stdin); signs the user out everywhere')
    .argument('<username>')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (username: string, o: { passwordStdin?: boolean }) => {
      const password = await readPassword(o.passwordStdin);
      const { s, p } = await open();
      const ended = await p.setPassword(username, password, operator);
      // SPEC L8, K8: the old password's sessions and restart tokens end with it.
      io.out(`password set for ${username}; ${ended.sessionsEnded} session(s) signed out, ${ended.restartTokensRevoked} restart token(s) revoked\n`);
      await warnIfLocked(s, io, username); // SPEC L6: a new password lifts no lock
    });
  user
    .command('unlock')
    .description('lift a lockout after too many failures (SPEC L6); says when an address the user logged in from is blocked too (`address unblock` lifts that)')
    .argument('<username>')
    .action(async (username: string) => {
      const { s, p } = await open();
      const u = await p.userByName(username); // no such user: SLS_ERR_NOT_FOUND, nothing audited
      const r = await p.unlockUser(username, operator);
      // Nothing counted: nothing changed, and nothing is audited (SPEC N2).
      io.out(r.wasLocked ? `${username} unlocked\n` : r.cleared ? `${username} was not locked; its failed attempts were cleared\n` : `${username} is not locked (no failed attempts counted): nothing to unlock\n`);
      // SPEC L6: an address block refuses the login as a lock does, and this command lifts none.
      const blocks = await addressBlocksOf(s, u.id);
      for (const a of blocks.mine) {
        io.out(`${username} logged in lately from ${a.address}, which is blocked too until ${new Date(a.blockedUntil!).toISOString()} (${a.failures} failed attempts from it): every login from it is refused until then; run \`slsctl address unblock ${a.address}\`\n`);
      }
      if (blocks.mine.length === 0 && blocks.otherBlocked > 0) io.out(`${blocks.otherBlocked} other address(es) are blocked after too many failures; if ${username} logs in from one: \`slsctl address list\`\n`);
    });
  user
    .command('sign-out')
    .description('end every session and auto-restart token of a user, at once (a lost laptop, a suspected intrusion)')
    .argument('<username>')
    .action(async (username: string) => {
      const { p } = await open();
      const ended = await p.signOutEverywhere(username, operator);
      io.out(`${username} signed out everywhere: ${ended.sessionsEnded} session(s) ended, ${ended.restartTokensRevoked} restart token(s) revoked\n`);
    });
  user
    .command('show')
    .description('a user, their lock state and devices')
    .argument('<username>')
    .action(async (username: string) => {
      const { s, p } = await open();
      const u = await p.userByName(username);
      const lockedUntil = await s.throttle.userLockedUntil(normalizeUsername(username));
      io.out(`${u.username} (${u.display_name}) id ${u.id}\n`);
      io.out(`  mobile: ${u.mobile_number ?? '-'}${u.mobile_verified_at ? ' (verified)' : ''}\n`);
      io.out(`  locked: ${lockedUntil ? `until ${new Date(lockedUntil).toISOString()}` : 'no'}\n`);
      const blocks = await addressBlocksOf(s, u.id); // SPEC L6: refused by address, not locked
      for (const a of blocks.mine) io.out(`  address blocked: ${a.address} until ${new Date(a.blockedUntil!).toISOString()} (${a.failures} failed attempts from it; \`slsctl address unblock ${a.address}\`)\n`);
      if (blocks.mine.length === 0) io.out(`  address blocks: none of its recent addresses${blocks.otherBlocked > 0 ? `; ${blocks.otherBlocked} other address(es) blocked (\`slsctl address list\`)` : ''}\n`);
      for (const d of await p.devicesOf(username)) {
        io.out(`  ${d.id}  ${d.kind.padEnd(13)} ${d.status.padEnd(8)} ${d.label}${d.id === u.last_device_id ? '  (last used)' : ''}\n`);
      }
    });

  // --- device -----------------------------------------------------------------------------------
  const device = program.command('device').description('second-factor devices: provision, list, activate, set status, assign (SPEC D1–D8)');
  withUser(
    device.command('add').description('register a device for a user and write what acts as it (state file, PDF or token file)'),
    'the owner',
  )
    .addOption(new Option('--kind <kind>', 'device kind').choices(DEVICE_KINDS.filter((k) => k !== 'temp_passcode')).makeOptionMandatory())
    .option('--serial <serial>', 'serial number (DSC+: 10 digits; default random)')
    .option('--label <label>', 'label shown in the drop-down')
    .option('--pending', 'register as pending (activate later with `device activate`)')
    .option('--pin <pin>', 'DSC+: the 4-digit PIN (default random, printed once)')
    .option('--state-file <file>', 'DSC+: emulator state file (default <data>/dscplus/<serial>.json)')
    .option('--token-file <file>', 'legacy kinds and IB Key: software token file (default <data>/tokens/<serial or id>.token.json)')
    .option('--pdf-file <file>', 'Security Code Card: the printable PDF (default <data>/cards/<serial>.pdf)')
    .action(async (positional: string | undefined, o: { user?: string; kind: DeviceKind; serial?: string; label?: string; pending?: boolean; pin?: string; stateFile?: string; tokenFile?: string; pdfFile?: string }, command: Command) => {
      const username = theUser(command, positional, o);
      const { p, config } = await open();
      // What acts as the device is written to this file, named by the serial (or the new id).
      const fileOf = (name: string): { file: string; named: boolean; what: string } | null =>
        o.kind === 'dscplus' ? { file: o.stateFile ?? path.join(config.dataDir, 'dscplus', `${name}.json`), named: o.stateFile !== undefined, what: 'the DSC+ state file' }
        : o.kind === 'scc' || o.kind === 'online_scc' ? { file: o.pdfFile ?? path.join(config.dataDir, 'cards', `${name}.pdf`), named: o.pdfFile !== undefined, what: 'the card PDF' }
        : DEVICE_CATALOGUE[o.kind].ocraSuite ? { file: o.tokenFile ?? path.join(config.dataDir, 'tokens', `${name}.token.json`), named: o.tokenFile !== undefined, what: 'the software token file' }
        : null;
      // SPEC D4: never over another device's file; known before registering when named or by a given serial.
      const planned = fileOf(o.serial ?? '');
      if (planned && (planned.named || o.serial !== undefined)) refuseExistingFile(planned.file, planned.what);
      // SPEC D4, N2: the file is written inside the registration's transaction (`deliver`): one that
      // cannot be written registers nothing; one written for a registration that then failed is removed.
      const files = new SecretFiles();
      let said = '';
      let d: ProvisionedDevice;
      try {
        d = await p.addDevice({
          username,
          kind: o.kind,
          ...(o.serial ? { serial: o.serial } : {}),
          ...(o.label ? { label: o.label } : {}),
          ...(o.pending ? { pending: true } : {}),
          ...(o.pin ? { pin: o.pin } : {}),
          deliver: async (d) => {
            const name = d.device.serial ?? d.device.id;
            const target = fileOf(name);
            if (!target) return;
            const { file, what } = target;
            if (d.dscPlusState) {
              files.write(file, JSON.stringify(d.dscPlusState, null, 2) + '\n', what);
              said = `DSC+ state file: ${file}\nPIN (shown once): ${d.pin}\n`;
            } else if (d.card) {
              // SPEC T2: an online card works 21 days; its PDF and this line say until when.
              const validUntil = d.device.kind === 'online_scc' ? new Date(d.device.created_at + ONLINE_CARD_VALIDITY_MS) : undefined;
              files.write(file, await renderSecurityCodeCardPdf({ cells: d.card.cells }, { serial: name, username, issuedAt: new Date(d.device.created_at), ...(validUntil ? { validUntil } : {}) }), what);
              said = `Security Code Card PDF: ${file}\n${validUntil ? `valid until ${validUntil.toISOString()} (21 days)\n` : ''}`;
            } else if (d.secret) {
              files.write(file, softwareTokenText(softwareTokenOf(d.device, username, d.secret)), what);
              said = `software token file: ${file}\n`;
            }
          },
        });
      } catch (e) {
        files.undo();
        throw e;
      }
      io.out(`${d.device.id}  ${d.device.kind}  ${d.device.status}  ${d.device.label}\n${said}`);
    });
  withUser(device.command('list').description('a user\'s devices: id, kind, status, serial, label'))
    .action(async (positional: string | undefined, o: { user?: string }, command: Command) => {
      const username = theUser(command, positional, o);
      const { p } = await open();
      const devices = await p.devicesOf(username);
      if (devices.length === 0) io.out('(no devices)\n');
      for (const d of devices) io.out(`${d.id}  ${d.kind.padEnd(13)} ${d.status.padEnd(8)} ${d.serial ?? '-'}  ${d.label}\n`);
    });
  /**
   * SPEC D5, D8: sets a device's status and says what changed. A lost, returned or revoked device
   * made active again authenticates again, for whoever holds it: a security decision, so only with
   * --force. A status the device already has changes nothing and writes no audit entry.
   *
   * SPEC D5, L5, W1, S3, D6: taken out of use, the device ends what was waiting on it, and the line says
   * how many, as `device assign` does (provisioning.ts `changeDeviceStatus`): the logins whose
   * challenge was on it go back to choosing a device (one without the drop-down, L3, ends), its portal
   * confirmations end; made active again, it revives none of them. Made active, the line names only
   * what was left waiting on it by a path that did not end it (a sharing's set-aside, S5), if anything.
   */
  async function setStatus(id: string, status: DeviceStatus, force: boolean | undefined): Promise<void> {
    const { s, p } = await open();
    const d = await s.db
      .selectFrom('devices')
      .innerJoin('users', 'users.id', 'devices.user_id')
      .select(['devices.status', 'devices.kind', 'devices.label', 'users.username'])
      .where('devices.id', '=', id)
      .executeTakeFirst();
    if (!d) throw new SlsError('SLS_ERR_NOT_FOUND', { message: `no device ${id}` });
    const what = `${id} (${d.kind} "${d.label}" of ${d.username})`;
    if (d.status === status) {
      io.out(`${what} is already ${status}: nothing changed\n`);
      return;
    }
    if (status === 'active' && RETIRED_STATUSES.includes(d.status) && !force) {
      throw new SlsError('SLS_ERR_CONFLICT', {
        message: `${what} is ${d.status}: made active it authenticates again, for whoever holds it (SPEC D5, D8). If ${d.username} has it back and you mean it, run again with --force`,
      });
    }
    const r = await p.changeDeviceStatus(id, status, operator);
    const logins = r.loginsBackToChoice + r.loginsEnded;
    const waiting =
      `${logins} login(s) and ${r.confirmationsEnded} confirmation(s) ${status === 'active' ? 'left ' : ''}waiting on it ended` +
      (r.loginsBackToChoice > 0 ? ` (${r.loginsBackToChoice} of those login(s) back at choosing a device)` : '');
    const ended = status !== 'active' || logins + r.confirmationsEnded > 0 ? `; ${waiting}` : '';
    // SPEC S5: activated while its user shares another user's device, it waits, set aside, for that sharing to end.
    if (r.setAsideFor) io.out(`${what}: ${d.status} → inactive (set aside while ${d.username} shares another user's device: sharing ${r.setAsideFor}; active again when it ends)${ended}\n`);
    else io.out(`${what}: ${d.status} → ${status}${ended}\n`);
  }
  const forceOption = () => new Option('--force', 'also reactivate a lost, returned or revoked device (SPEC D5, D8)');
  device
    .command('activate')
    .description('activate a device; the user\'s other devices stay active (SPEC D1); a lost, returned or revoked one only with --force')
    .argument('<device-id>')
    .addOption(forceOption())
    .action(async (id: string, o: { force?: boolean }) => setStatus(id, 'active', o.force));
  device
    .command('set-status')
    .description(`set a device's status: ${DEVICE_STATUSES.join(', ')} (SPEC D5); lost, returned or revoked → active only with --force (D8); out of use, it ends the logins and confirmations waiting on it (L5)`)
    .argument('<device-id>', 'as `device list` prints it')
    .addArgument(new Argument('<status>', 'new status').choices(DEVICE_STATUSES))
    .addOption(forceOption())
    .action(async (id: string, status: DeviceStatus, o: { force?: boolean }) => setStatus(id, status, o.force));
  device
    .command('assign')
    .description('assign a registered device to another user (SPEC D7 migrations); signs out every session opened with it and ends its sharings (D5, S5)')
    .argument('<device-id>')
    .requiredOption('--user <username>', 'the new owner')
    .action(async (id: string, o: { user: string }) => {
      const { p } = await open();
      const r = await p.assignDevice(id, o.user);
      if (!r.changed) {
        io.out(`${id} is already ${r.from}'s: nothing changed\n`);
        return;
      }
      // SPEC D5, L8, S5: the former owner is signed out of it, and its sharings end, with the assign.
      io.out(
        `${id} assigned to ${o.user} (was ${r.from}'s): ${r.sessionsEnded} session(s) opened with it signed out, ${r.restartTokensRevoked} restart token(s) revoked, ` +
          `${r.sharingsEnded} sharing(s) of it ended, ${r.loginsEnded} login(s) and ${r.confirmationsEnded} confirmation(s) waiting on it ended` +
          `${r.setAside ? `; set aside (inactive) while ${o.user} shares another user's device, active again when that sharing ends` : ''}\n`,
      );
    });

  // --- temporary access -------------------------------------------------------------------------
  withUser(
    program
      .command('temp-passcode')
      .description('temporary passcodes (SPEC T1)')
      .command('issue')
      .description('issue a temporary passcode: full access 2 days, then Client Portal only for 10 days; never two in a row'),
    'the user who lost access',
  ).action(async (positional: string | undefined, o: { user?: string }, command: Command) => {
    const username = theUser(command, positional, o);
    const { s, p } = await open();
    const t = await p.issueTemporaryPasscode(username, operator);
    io.out(`temporary passcode for ${username}: ${t.passcode}\n`);
    io.out(`full access until ${new Date(t.fullAccessUntil).toISOString()}, Client Portal only until ${new Date(t.portalAccessUntil).toISOString()}\n`);
    await warnIfLocked(s, io, username); // SPEC L6, T1: a passcode lifts no lock
  });

  // --- token ------------------------------------------------------------------------------------
  program
    .command('token')
    .description('act as a device from its file')
    .command('respond')
    .description('print the response a software token (or a DSC+ state file, with --pin) gives for a challenge')
    .requiredOption('--token-file <file>', 'software token file or DSC+ state file')
    .option('--pin <pin>', 'DSC+ only: the PIN')
    .argument('<challenge>')
    .action((challenge: string, o: { tokenFile: string; pin?: string }) => {
      io.out(`${respondWithTokenFile(o.tokenFile, challenge, o.pin)}\n`);
    });

  // --- sms --------------------------------------------------------------------------------------
  const smsCommand = program
    .command('sms')
    .description('list the SMS outbox, newest last (SPEC P5); `sms dispatch` sends the deferred ones that are due (P2)')
    .option('--limit <n>', 'how many', positiveInt, 20)
    .option('--to <number>', 'only to this number')
    .action(async (o: { limit: number; to?: string }) => {
      const { s } = await open();
      // The account-security migration adds `not_before`: SMS deferred to the carrier's hours (SPEC P2).
      let q = accountDb(s.db).selectFrom('sms_outbox').selectAll().orderBy('id', 'desc').limit(o.limit);
      if (o.to) q = q.where('to_number', '=', o.to);
      const rows = (await q.execute()).reverse();
      if (rows.length === 0) io.out('(no SMS)\n');
      for (const r of rows) {
        const deferred =
          r.dropped_reason !== null
            ? `  (dropped: ${r.dropped_reason})`
            : r.not_before !== null && r.sent_at === null
              ? `  (deferred until ${new Date(r.not_before).toISOString()})`
              : '';
        io.out(`${new Date(r.at).toISOString()}  ${r.to_number}  [${r.purpose}]  ${r.body}${deferred}\n`);
      }
    });

  smsCommand
    .command('dispatch')
    .description('send the SMS deferred to the carrier hours that are due now (SPEC P2, P5); slsd also does it every minute')
    .action(async () => {
      const { s } = await open();
      const r = await s.sms.dispatchDue();
      io.out(`sent ${r.sent}, dropped ${r.dropped}, failed ${r.failed}\n`);
    });

  // --- audit ------------------------------------------------------------------------------------
  program
    .command('audit')
    .description('the audit log, newest last (SPEC N2)')
    .option('--limit <n>', 'how many', positiveInt, 50)
    .option('--user <username>', "only this user's events")
    .option('-f, --follow', 'keep printing new events (Ctrl-C to stop)')
    .action(async (o: { limit: number; user?: string; follow?: boolean }) => {
      const { s } = await open();
      const print = (r: { id: number; at: number; event: string; username: string | null; source_address: string | null; device_id: string | null; details: string }) =>
        io.out(`${r.id}  ${new Date(r.at).toISOString()}  ${r.event.padEnd(24)} ${r.username ?? '-'}  ${r.source_address ?? '-'}  ${r.device_id ?? '-'}  ${r.details}\n`);
      // An event is this user's by its user name, or by the user's id (events an operator or a timer caused carry only the id).
      const username = o.user ? normalizeUsername(o.user) : null;
      const userId = username ? ((await s.db.selectFrom('users').select('id').where('username_normalized', '=', username).executeTakeFirst())?.id ?? null) : null;
      const base = () => {
        let q = s.db.selectFrom('audit_log').selectAll();
        if (username) q = q.where((eb) => (userId ? eb.or([eb('username', '=', username), eb('user_id', '=', userId)]) : eb('username', '=', username)));
        return q;
      };
      // An unknown name may still have events (failed logins name whatever was typed): shown, with a note.
      if (o.user && !userId) io.err(`slsctl: no user ${o.user}; showing the events recorded under that name\n`);
      const rows = (await base().orderBy('id', 'desc').limit(o.limit).execute()).reverse();
      if (rows.length === 0) io.out('(no entries)\n');
      rows.forEach(print);
      if (!o.follow) return;
      let last = rows.at(-1)?.id ?? 0;
      const signal = io.stopSignal;
      while (!signal?.aborted) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 500);
          signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
        });
        const fresh = await base().where('id', '>', last).orderBy('id').execute();
        fresh.forEach(print);
        last = fresh.at(-1)?.id ?? last;
      }
    });

  // --- account security: dnc, sharing, order, withdrawals, restart (SPEC P2, S4, D6, D8, T2, T3, W4, L8)
  registerAccountCommands(program, open, io, operator);
  registerAddressCommands(program, open, io, operator); // SPEC L6: addresses throttled after too many failures
  registerHousekeepingCommand(program, open, io); // SPEC N1, N2: expired rows, never the audit log
  registerBackupCommand(program, open, io); // SPEC N1: an online copy of the SQLite database

  // --- demo -------------------------------------------------------------------------------------
  program
    .command('demo')
    .description('seed the demo users and devices into an empty database and print the demo README')
    .action(async () => {
      const { s, config } = await open();
      const seeded = await seedDemo(s);
      const readme = readDemoReadme(config.dataDir);
      if (!seeded) io.err('The database already had users: no demo data was added.\n');
      if (readme) io.out(readme);
    });

  registerIbKeyCommands(program, open, io, operator);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0 ? 0 : 2;
    // Usage errors exit 2, refusals and failures 1 (`slsctl --help`).
    if (e instanceof UsageError || e instanceof BackupRefused) {
      io.err(`slsctl: ${e.message}\n`);
      return e instanceof UsageError || e.usage ? 2 : 1;
    }
    if (isSlsError(e)) {
      io.err(`slsctl: ${e.code}: ${e.message}\n`);
      return 1;
    }
    io.err(`slsctl: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await services?.close();
  }
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string | null> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return Promise.resolve(null);
  return new Promise((resolve) => {
    process.stderr.write(question);
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          process.stderr.write('\n');
          process.exit(130);
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export async function main(argv: readonly string[]): Promise<void> {
  // SPEC D4: what slsctl writes (backups, demo files, a SQLite -wal it opens first) is the owner's only, as slsd's.
  ownerOnlyFromNowOn();
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  // Output piped into `head` and the like may close before slsctl is done: then it writes no more,
  // stops `audit --follow`, finishes the command and exits with its code, without a stack trace.
  let stdoutClosed = false;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
    stdoutClosed = true;
    controller.abort();
  });
  const code = await runSlsctl(argv, {
    out: (t) => void (stdoutClosed || process.stdout.write(t)),
    err: (t) => process.stderr.write(t),
    readStdin: readAllStdin,
    promptHidden,
    stopSignal: controller.signal,
  });
  process.exitCode = code;
}

