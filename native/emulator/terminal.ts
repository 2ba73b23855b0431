/**
 * The emulator's screen and keypad in a terminal.
 *
 * Keys: digits, Enter = OK, Backspace, Esc = cancel, `u` = unplug/replug, `q` or Ctrl-C = quit.
 * Offline, without USB (SPEC C2): at the idle screen, type the PIN and Enter, then the challenge the
 * app shows and Enter; the screen shows the response to type into the app (device.ts).
 * On a TTY stdin is put in raw mode and the screen is redrawn in place; otherwise (a pipe, a test)
 * the same keys are read from the stream, the legend is printed once and each screen change as a line.
 */
import type { DscPlusEmulator } from './emulator.ts';
import type { DeviceScreen } from './device.ts';

export interface TerminalIO {
  readonly input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  readonly output: NodeJS.WritableStream & { isTTY?: boolean };
}

const WIDTH = 24;

/** The keys, and how to get a response without USB (the card's offline entry, device.ts). */
const LEGEND = [
  'keys: 0-9  Enter=OK  Backspace  Esc=cancel  u=unplug/replug  q=quit',
  'offline (no USB): at Ready type PIN, Enter, the challenge, Enter: see response',
] as const;

function box(screen: DeviceScreen, status: string): string {
  const pad = (s: string) => ` ${s.slice(0, WIDTH).padEnd(WIDTH)} `;
  return [
    `┌${'─'.repeat(WIDTH + 2)}┐`,
    `│${pad(screen.title)}│`,
    `│${pad(screen.line)}│`,
    `└${'─'.repeat(WIDTH + 2)}┘`,
    status,
    ...LEGEND,
  ].join('\n');
}

/**
 * Connects an emulator to a terminal; resolves when the user quits (q, Ctrl-C) or input ends.
 */
export function runTerminal(emulator: DscPlusEmulator, io: TerminalIO): Promise<void> {
  const { input, output } = io;
  const tty = Boolean(input.isTTY && output.isTTY && input.setRawMode);
  let drawnLines = 0;
  const status = () => {
    const plugged = emulator.address ? (emulator.connected ? 'plugged in, host connected' : 'plugged in, no host') : 'unplugged';
    return `serial ${emulator.serial} · tries left ${emulator.device.state.triesLeft} · ${plugged}`;
  };
  const draw = () => {
    const text = box(emulator.screen, status());
    if (tty) {
      if (drawnLines > 0) output.write(`\x1b[${drawnLines}F\x1b[J`);
      output.write(`${text}\n`);
      drawnLines = text.split('\n').length;
    } else {
      output.write(`[screen] ${emulator.screen.title} | ${emulator.screen.line} | ${status()}\n`);
    }
  };
  emulator.on('screen', draw);
  emulator.on('connected', draw);
  emulator.on('disconnected', draw);
  if (tty) input.setRawMode!(true);
  else output.write(`${LEGEND.join('\n')}\n`);
  draw();

  return new Promise<void>((resolve) => {
    const finish = () => {
      input.off('data', onData);
      input.off('end', finish);
      emulator.off('screen', draw);
      emulator.off('connected', draw);
      emulator.off('disconnected', draw);
      if (tty) input.setRawMode!(false);
      input.pause?.();
      resolve();
    };
    const onData = (chunk: Buffer | string) => {
      const text = chunk.toString();
      if (text === '\x1b') {
        emulator.keypad.cancel();
        return;
      }
      if (text.startsWith('\x1b')) return; // arrow keys and other escape sequences
      for (const key of text) {
        if (/\d/.test(key)) emulator.keypad.press(key);
        else if (key === '\r' || key === '\n') emulator.keypad.ok();
        else if (key === '\x7f' || key === '\b') emulator.keypad.backspace();
        else if (key === 'u' || key === 'U') void (emulator.address ? emulator.unplug() : emulator.replug()).then(draw);
        else if (key === 'q' || key === '\x03') return finish();
      }
    };
    input.on('data', onData);
    input.on('end', finish);
    input.resume?.();
  });
}
