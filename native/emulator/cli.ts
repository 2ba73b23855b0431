/**
 * `dscplus-emulator`: runs a DSC+ emulator from a state file, with its screen and keypad in the terminal.
 *
 * `npx dscplus-emulator --state FILE [--socket PATH | --tcp PORT] [--dir DIR]` (SPEC H1, H2). The
 * state file is the one `slsctl` writes when it provisions a card (core/dscplus-state.ts).
 */
import { Command, InvalidArgumentError } from 'commander';
import { DscPlusEmulator } from './emulator.ts';
import { runTerminal } from './terminal.ts';
import { emulatorDirectory } from '../socket-channel.ts';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a TCP port is 0–65535');
  return n;
}

export function buildProgram(): Command {
  return new Command('dscplus-emulator')
    .description('A DSC+ (Digital Security Card+) in software: the USB HID protocol over a local socket, with a screen and keypad in this terminal.')
    .requiredOption('--state <file>', 'the card state file (written by `slsctl` when it provisions the card)')
    .option('--socket <path>', 'Unix socket to listen on (default: <dir>/<serial>.sock, where the desktop client looks)')
    .option('--tcp <port>', 'listen on TCP 127.0.0.1:<port> instead of a Unix socket', port)
    .option('--dir <dir>', 'discovery directory for the default socket (env SLS_DSCPLUS_DIR)', emulatorDirectory())
    .addHelpText('after', [
      '\nKeys: 0-9, Enter = OK, Backspace, Esc = cancel, u = unplug/replug, q = quit.',
      'Offline (a card without USB, as on paper): at Ready type the PIN and Enter, then the challenge the app',
      'shows and Enter; the card shows the response to type into the app. A host request takes over.',
    ].join('\n'))
    .showHelpAfterError();
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram().exitOverride();
  let options: { state: string; socket?: string; tcp?: number; dir: string };
  try {
    options = program.parse(argv, { from: 'user' }).opts();
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode ?? 1;
    process.exitCode = code;
    return;
  }
  if (options.socket && options.tcp !== undefined) {
    console.error('dscplus-emulator: choose --socket or --tcp, not both');
    process.exitCode = 2;
    return;
  }
  let emulator: DscPlusEmulator;
  try {
    emulator = await DscPlusEmulator.start({
      stateFile: options.state,
      dir: options.dir,
      ...(options.socket ? { socketPath: options.socket } : {}),
      ...(options.tcp !== undefined ? { tcpPort: options.tcp } : {}),
    });
  } catch (error) {
    console.error(`dscplus-emulator: ${(error as Error).message}`);
    process.exitCode = 1;
    return;
  }
  const address = emulator.address!;
  console.log(`DSC+ ${emulator.serial} listening on ${'path' in address ? address.path : `tcp://${address.host}:${address.port}`}`);
  const stop = async () => {
    await emulator.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  await runTerminal(emulator, { input: process.stdin, output: process.stdout });
  await emulator.close();
  process.stdin.destroy(); // a paused pipe would keep the process alive
}
