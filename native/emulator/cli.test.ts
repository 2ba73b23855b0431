import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { newDscPlusState } from '../../core/dscplus-state.ts';
import { deviceResponse } from '../../core/codes.ts';
import { ocraPasswordHash } from '../../core/ocra.ts';
import { DEVICE_CATALOGUE } from '../../core/devices.ts';
import { DscPlusClient } from '../dscplus-client.ts';
import { connectEmulator } from '../socket-channel.ts';
import { DeviceDisconnectedError } from '../errors.ts';

const bin = path.join(import.meta.dirname, '../../bin/dscplus-emulator.mjs');
const children: ChildProcessWithoutNullStreams[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function provision(serial: string, secret: Uint8Array, pin: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dscplus-cli-'));
  dirs.push(dir);
  const stateFile = path.join(dir, 'card.json');
  await writeFile(stateFile, JSON.stringify(newDscPlusState({ serial, secret, pin })));
  return { dir, stateFile };
}

function launch(args: string[]): { child: ChildProcessWithoutNullStreams; output: () => string; waitFor: (re: RegExp) => Promise<RegExpMatchArray> } {
  const child = spawn(process.execPath, [bin, ...args], { stdio: 'pipe' });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const waitFor = (re: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${re} in output:\n${out}`)), 10_000);
      const check = () => {
        const m = re.exec(out);
        if (m) {
          clearTimeout(timer);
          child.stdout.off('data', check);
          resolve(m);
        }
      };
      child.stdout.on('data', check);
      check();
    });
  return { child, output: () => out, waitFor };
}

describe('dscplus-emulator CLI (SPEC H1, H2)', () => {
  it('serves the card on its Unix socket; the PIN typed on its keypad (stdin) answers RESPOND; u unplugs; q quits', async () => {
    const secret = new Uint8Array(32).fill(0x42);
    const { dir, stateFile } = await provision('4000000077', secret, '8642');
    const { child, waitFor } = launch(['--state', stateFile, '--dir', dir]);
    const [, socketPath] = await waitFor(/listening on (\S+)/);
    expect(socketPath).toBe(path.join(dir, '4000000077.sock'));
    const client = await DscPlusClient.connect(await connectEmulator({ path: socketPath! }));
    await expect(client.info()).resolves.toMatchObject({ serial: '4000000077', triesLeft: 3 });
    const pending = client.respond('123456');
    await waitFor(/Challenge 123456 \| Enter PIN ____/);
    child.stdin.write('8642\r');
    await expect(pending).resolves.toBe(deviceResponse('dscplus', secret, '123456', {
      pinHash: ocraPasswordHash(DEVICE_CATALOGUE.dscplus.ocraSuite!, '8642'),
    }));
    const gone = new Promise((r) => client.onDisconnect(r));
    child.stdin.write('u');
    expect(await gone).toBeInstanceOf(DeviceDisconnectedError);
    await waitFor(/· unplugged\n/);
    child.stdin.write('q');
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(0);
    expect(JSON.parse(await readFile(stateFile, 'utf8')).triesLeft).toBe(3);
  });

  it('offline from the terminal, as the legend says: PIN, Enter, challenge, Enter; the screen shows the response (SPEC C2)', async () => {
    const secret = new Uint8Array(32).fill(0x24);
    const { dir, stateFile } = await provision('4000000079', secret, '1357');
    const { child, waitFor } = launch(['--state', stateFile, '--dir', dir]);
    await waitFor(/offline \(no USB\): at Ready type PIN, Enter, the challenge, Enter/);
    await waitFor(/DSC\+ 4000000079 \| Ready/);
    child.stdin.write('1357\r');
    await waitFor(/DSC\+ offline \| Challenge ______/);
    child.stdin.write('246813\r');
    const [, response] = await waitFor(/Challenge 246813 \| Response (\d{8})/);
    expect(response).toBe(deviceResponse('dscplus', secret, '246813', {
      pinHash: ocraPasswordHash(DEVICE_CATALOGUE.dscplus.ocraSuite!, '1357'),
    }));
    child.stdin.write('\x1b');
    await waitFor(/Response \d{8} \|[^\n]*\n\[screen\] DSC\+ 4000000079 \| Ready/);
    child.stdin.write('q');
    expect(await new Promise((r) => child.once('exit', r))).toBe(0);
  });

  it('listens on TCP 127.0.0.1 with --tcp', async () => {
    const { dir, stateFile } = await provision('4000000078', new Uint8Array(20).fill(1), '1111');
    const { waitFor } = launch(['--state', stateFile, '--dir', dir, '--tcp', '0']);
    const [, port] = await waitFor(/listening on tcp:\/\/127\.0\.0\.1:(\d+)/);
    const client = await DscPlusClient.connect(await connectEmulator({ port: Number(port) }));
    await expect(client.info()).resolves.toMatchObject({ serial: '4000000078' });
    await client.close();
  });

  it('exits 1 with a clear message on a bad state file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dscplus-cli-'));
    dirs.push(dir);
    await writeFile(path.join(dir, 'bad.json'), '{"version":1,"serial":"12"}');
    const { child, output } = launch(['--state', path.join(dir, 'bad.json'), '--dir', dir]);
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(output()).toMatch(/state file .* is invalid at: .*serial/);
  });
});
