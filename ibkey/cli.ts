/**
 * `ibkey`: the IB Key app on the command line, one installation per state folder.
 *
 * Questions (password, codes, PIN, the number to match) are read line by line from stdin, a terminal
 * or a pipe, so scripts and tests can drive it; on a terminal, secrets are not echoed. Prompts go to
 * stderr, what the app shows to stdout.
 */
import { Writable } from 'node:stream';
import readline from 'node:readline';
import { Command, Option } from 'commander';
import { SlsdError } from './client.ts';
import { WrongPinError } from './crypto.ts';
import { IbKeyApp, IbKeyAppError } from './app.ts';
import type { InboxMessage, Prompter } from './app.ts';
import type { IbKeyPlatform } from './protocol.ts';

/** Prompts on stderr, answers from stdin lines; no echo for secrets on a terminal. */
export function stdinPrompter(): Prompter & { close(): void } {
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = readline.createInterface({ input: process.stdin, output, terminal: Boolean(process.stdin.isTTY) });
  const lines: string[] = [];
  const waiters: ((line: string | null) => void)[] = [];
  let ended = false;
  rl.on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else lines.push(l);
  });
  rl.on('close', () => {
    ended = true;
    for (const w of waiters.splice(0)) w(null);
  });
  async function next(question: string, secret: boolean): Promise<string> {
    process.stderr.write(question);
    muted = secret;
    try {
      const line = lines.length > 0 ? lines.shift()! : ended ? null : await new Promise<string | null>((r) => waiters.push(r));
      if (line === null) throw new IbKeyAppError(`no answer to "${question.trim()}" (stdin ended)`);
      return line;
    } finally {
      muted = false;
      if (secret && process.stdin.isTTY) process.stderr.write('\n');
    }
  }
  return {
    ask: (q) => next(q, false),
    secret: (q) => next(q, true),
    say: (line) => void process.stdout.write(line + '\n'),
    close: () => rl.close(),
  };
}

interface Globals {
  state: string;
  server?: string;
  platform?: IbKeyPlatform;
}

export async function main(argv: readonly string[]): Promise<void> {
  const prompter = stdinPrompter();
  const program = new Command('ibkey')
    .description('IB Key authenticator (the IBKR Mobile app\'s role in SLS): activation, push approval, offline codes, recovery')
    .option('--state <dir>', 'state folder of this app installation (the phone)', process.env.IBKEY_STATE ?? '.ibkey')
    .option('--server <url>', 'slsd address, remembered by the app (default http://127.0.0.1:7860)')
    .addOption(new Option('--platform <platform>', 'the phone\'s platform, chosen at the first run').choices(['ios', 'android']))
    .exitOverride()
    .showHelpAfterError();

  const open = (): IbKeyApp => {
    const g = program.opts<Globals>();
    return new IbKeyApp(g.state, prompter, { ...(g.platform ? { platform: g.platform } : {}), ...(g.server ? { server: g.server } : {}) });
  };
  const password = async (fromStdin: boolean) => (fromStdin ? prompter.secret('') : prompter.secret('Password: '));

  const activate = async (o: { user: string; passwordStdin?: boolean; label?: string }) => {
    const app = open();
    const done = await app.activate(o.user, await password(Boolean(o.passwordStdin)), o.label);
    prompter.say(`IB Key is active for ${done.username} on this ${app.platform === 'ios' ? 'iPhone' : 'Android phone'}.`);
  };

  program
    .command('activate')
    .description('activate IB Key for a user: password, SMS activation code, PIN (SPEC K1, P3)')
    .requiredOption('--user <name>', 'user name')
    .option('--password-stdin', 'read the password as the first line of stdin')
    .option('--label <label>', 'how the desktop names this phone, e.g. "iPhone of Jane"')
    .action(activate);

  program
    .command('add-user')
    .description('add another user to this app, with their own key (SPEC K3)')
    .requiredOption('--user <name>', 'user name')
    .option('--password-stdin', 'read the password as the first line of stdin')
    .option('--label <label>', 'label of this phone for that user')
    .action(async (o: { user: string; passwordStdin?: boolean; label?: string }) => {
      if (open().users().length === 0) throw new IbKeyAppError('No user is activated yet: use `ibkey activate` first.');
      await activate(o);
    });

  program
    .command('users')
    .description('the users of this app')
    .action(() => {
      const app = open();
      prompter.say(`${app.platform} app, ${app.users().length} user(s)`);
      for (const u of app.users()) prompter.say(`${u.username}\t${u.deviceId}\t${u.label}\tactivated ${u.activatedAt}`);
    });

  program
    .command('respond')
    .description('offline: the response code for the challenge on the desktop (SPEC K2)')
    .argument('<challenge>', 'the challenge code shown on the desktop')
    .requiredOption('--user <name>', 'user name')
    .action(async (challenge: string, o: { user: string }) => {
      prompter.say(await open().respond(o.user, challenge));
    });

  program
    .command('approve')
    .description('wait for login requests and approve (number matching) or deny them (SPEC L7, K8)')
    .option('--once', 'stop after answering one request')
    .option('--timeout <seconds>', 'stop after this long without a request', (v) => Number(v))
    .action(async (o: { once?: boolean; timeout?: number }) => {
      const app = open();
      const keys = await app.unlock();
      const deadline = o.timeout !== undefined ? Date.now() + o.timeout * 1000 : Infinity;
      const answered = new Set<string>();
      prompter.say(`Waiting for login requests for ${app.users().map((u) => u.username).join(', ')}…`);
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) {
          prompter.say('No login request arrived.');
          process.exitCode = 2;
          return;
        }
        const res = await app.poll(keys, Math.max(0, Math.min(25, Math.floor(left / 1000))));
        if (res.messages.length > 0) showInbox(prompter, await app.readInbox(keys, res.messages.map((m) => m.messageId)));
        for (const r of res.requests) {
          if (answered.has(r.requestId)) continue;
          answered.add(r.requestId);
          try {
            await app.answerPush(r);
          } catch (e) {
            // Answered elsewhere, cancelled at the desktop or expired while the user looked: the others still wait.
            if (!(e instanceof SlsdError && e.code === 'SLS_ERR_IBKEY_REQUEST_ENDED')) throw e;
            prompter.say(`This login request for ${r.username} has ended (cancelled, expired or answered already).`);
            continue;
          }
          if (o.once) return;
        }
      }
    });

  program
    .command('inbox')
    .description('messages from client services, e.g. a temporary password (SPEC K8); kept until dismissed')
    .option('--dismiss', 'remove the messages kept in the app (e.g. once the temporary password is used)')
    .action(async (o: { dismiss?: boolean }) => {
      const app = open();
      if (o.dismiss) {
        const n = app.dismissInbox();
        prompter.say(n === 0 ? 'No messages.' : `Dismissed ${n} message${n === 1 ? '' : 's'}.`);
        return;
      }
      const keys = await app.unlock();
      await app.poll(keys, 0);
      const read = await app.readInbox(keys);
      if (read.length === 0) prompter.say('No messages.');
      showInbox(prompter, read);
    });

  program
    .command('reinstall')
    .description('uninstall and reinstall the app: its data is gone; an iPhone keeps its Keychain (SPEC K4)')
    .action(() => {
      const app = open();
      app.state.reinstall();
      prompter.say(app.platform === 'ios' ? 'Reinstalled: app data cleared, the iOS Keychain kept.' : 'Reinstalled: app data and keys cleared.');
    });

  const recoverCommand = (name: 'reactivate' | 'transfer', description: string) =>
    program
      .command(name)
      .description(description)
      .requiredOption('--user <name>', 'user name')
      .option('--password-stdin', 'Android: read the password as the first line of stdin')
      .option('--no-sms', 'I no longer have the phone number originally used (SPEC K6, K7)')
      .option('--label <label>', 'a new name for this phone (default: the name the desktop showed before)')
      .option('--keychain-from <dir>', 'iOS transfer: the old iPhone\'s state folder, as iCloud Keychain brings it')
      .action(async (o: { user: string; passwordStdin?: boolean; sms: boolean; label?: string; keychainFrom?: string }) => {
        const app = open();
        if (o.keychainFrom) prompter.say(`Restored ${app.state.importKeychain(o.keychainFrom)} key(s) from the iCloud Keychain.`);
        const pw = app.platform === 'android' ? await password(Boolean(o.passwordStdin)) : undefined;
        const done = await app.recover(name, o.user, { ...(pw ? { password: pw } : {}), smsAvailable: o.sms, ...(o.label ? { label: o.label } : {}) });
        // The name the desktop's device list shows: kept from the phone it replaces unless --label gave another.
        prompter.say(`IB Key is active again for ${done.username} on this phone ("${done.label}").`);
        if (done.revokedDeviceIds.length > 0) {
          prompter.say(name === 'transfer' ? `IB Key for ${done.username} no longer works on the previous phone.` : `The previous activation of IB Key for ${done.username} no longer works.`);
        }
      });
  recoverCommand('reactivate', 'reactivate on the same phone after a reinstall or OS update (SPEC K4)');
  recoverCommand('transfer', 'move IB Key to this phone: new, replaced or lost phone, or a second phone (SPEC K5)');

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    process.exitCode = process.exitCode || 1;
    if ((e as { code?: string }).code?.startsWith('commander.')) {
      if ((e as { exitCode?: number }).exitCode === 0) process.exitCode = 0;
    } else if (e instanceof SlsdError) {
      process.stderr.write(`ibkey: ${e.message} (${e.code})\n`);
    } else if (e instanceof IbKeyAppError || e instanceof WrongPinError) {
      process.stderr.write(`ibkey: ${e.message}\n`);
    } else if (e instanceof Error) {
      process.stderr.write(`ibkey: ${e.message}\n`);
    }
  } finally {
    prompter.close();
  }
}

function showInbox(p: Prompter, read: readonly InboxMessage[]): void {
  for (const m of read) p.say(`Temporary password for ${m.username} from client services (${m.createdAt}): ${m.temporaryPassword}`);
  if (read.length > 0) p.say('The app keeps it until you dismiss it (ibkey inbox --dismiss).');
}
