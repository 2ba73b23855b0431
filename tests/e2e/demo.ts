/**
 * The demo data slsd writes with `--demo` (`<data>/demo/demo.json`), and acting as each device.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Slsd } from './fixtures.ts';

export interface DemoDevice {
  kind: string;
  deviceId: string;
  label: string;
  serial: string | null;
  file: string | null;
  pin?: string;
  passcode?: string;
  mobileNumber?: string;
}
export interface DemoUser {
  username: string;
  displayName: string;
  account: string;
  devices: DemoDevice[];
}
export interface Demo {
  password: string;
  users: DemoUser[];
}

export function readDemo(slsd: Slsd): Demo {
  return JSON.parse(readFileSync(join(slsd.dataDir, 'demo', 'demo.json'), 'utf8')) as Demo;
}

export function demoDevice(demo: Demo, username: string, kind: string): DemoDevice {
  const d = demo.users.find((u) => u.username === username)?.devices.find((x) => x.kind === kind);
  if (!d) throw new Error(`demo data has no ${kind} for ${username}`);
  return d;
}

/** What a legacy device, IB Key (offline) or a DSC+ (with its PIN) shows for this challenge. */
export async function deviceResponse(slsd: Slsd, device: DemoDevice, challenge: string): Promise<string> {
  if (!device.file) throw new Error(`${device.kind} has no token file`);
  const args = ['token', 'respond', '--token-file', join(slsd.dataDir, device.file), ...(device.pin ? ['--pin', device.pin] : []), challenge];
  return (await slsd.slsctl(...args)).trim();
}

/** The codes of a Security Code Card at two index numbers (index i is cells[i-1]), from the JSON the demo writes beside the PDF. */
export function cardCodes(slsd: Slsd, username: string, indexes: readonly number[]): string {
  const dir = join(slsd.dataDir, 'demo');
  const file = [`${username}.scc.card.json`, `${username}.card.json`, `${username}.scc.json`].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file) throw new Error(`no card JSON for ${username} in ${dir}`);
  const { cells } = JSON.parse(readFileSync(file, 'utf8')) as { cells: string[] };
  return indexes.map((i) => cells[i - 1]).join('');
}

/** The newest SMS code sent to this number, from `slsctl sms`. */
export async function latestSmsCode(slsd: Slsd, to: string): Promise<string> {
  const lines = (await slsd.slsctl('sms', '--to', to)).trim().split('\n');
  const code = /\b(\d{6})\b/.exec(lines.at(-1)?.split(']').slice(1).join(']') ?? '')?.[1];
  if (!code) throw new Error(`no SMS code to ${to}: ${lines.at(-1)}`);
  return code;
}
