/**
 * Software token files: a legacy token's or IB Key's secret in a file, so a person or a test can
 * act as the device (`slsctl token respond --token-file F CHALLENGE`).
 *
 * They hold a secret in clear, like the physical token would: written 0600, for demos, tests and
 * migrations only. A DSC+ state file (core/dscplus-state.ts) is accepted too, with the PIN.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { deviceResponse } from '../../core/codes.ts';
import { DEVICE_CATALOGUE } from '../../core/devices.ts';
import { checkDscPlusPin, DscPlusState } from '../../core/dscplus-state.ts';
import { ocraPasswordHash } from '../../core/ocra.ts';
import { DeviceKindSchema } from '../../core/api.ts';
import { SlsError } from '../errors.ts';

export const SoftwareToken = z.object({
  version: z.literal(1),
  type: z.literal('sls-software-token'),
  kind: DeviceKindSchema,
  deviceId: z.string(),
  serial: z.string().nullable(),
  username: z.string(),
  /** The OCRA key, lower-case hex. */
  secretHex: z.string().regex(/^(?:[0-9a-f]{2})+$/),
});
export type SoftwareToken = z.infer<typeof SoftwareToken>;

/** Writes a file readable only by its owner (it holds a secret), creating its folder. */
export function writeSecretFile(file: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/** The token file of a device just registered with its secret (slsctl `device add`, the demo users). */
export function softwareTokenOf(device: { readonly kind: SoftwareToken['kind']; readonly id: string; readonly serial: string | null }, username: string, secret: Uint8Array): SoftwareToken {
  return { version: 1, type: 'sls-software-token', kind: device.kind, deviceId: device.id, serial: device.serial, username, secretHex: Buffer.from(secret).toString('hex') };
}

/** A token file's content: JSON, one field a line. */
export function softwareTokenText(token: SoftwareToken): string {
  return JSON.stringify(token, null, 2) + '\n';
}

export function writeSoftwareToken(file: string, token: SoftwareToken): void {
  writeSecretFile(file, softwareTokenText(token));
}

/**
 * The response the device in `file` shows for `challenge`.
 *
 * A software token answers directly; a DSC+ state file needs the PIN (checked against its hash).
 */
export function respondWithTokenFile(file: string, challenge: string, pin?: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new SlsError('SLS_ERR_VALIDATION', { message: `cannot read token file ${file}: ${(e as Error).message}` });
  }
  const token = SoftwareToken.safeParse(parsed);
  if (token.success) {
    if (!DEVICE_CATALOGUE[token.data.kind].ocraSuite) throw new SlsError('SLS_ERR_VALIDATION', { message: `${token.data.kind} is not a challenge/response device` });
    return deviceResponse(token.data.kind, Buffer.from(token.data.secretHex, 'hex'), challenge.trim());
  }
  const dsc = DscPlusState.safeParse(parsed);
  if (dsc.success) {
    if (!pin) throw new SlsError('SLS_ERR_VALIDATION', { message: 'a DSC+ answers only with its PIN: pass --pin' });
    if (!checkDscPlusPin(dsc.data, pin)) throw new SlsError('SLS_ERR_WRONG_RESPONSE', { message: 'wrong PIN for this DSC+' });
    return deviceResponse('dscplus', Buffer.from(dsc.data.secretHex, 'hex'), challenge.trim(), { pinHash: ocraPasswordHash(dsc.data.suite, pin) });
  }
  throw new SlsError('SLS_ERR_VALIDATION', { message: `${file} is neither a software token file nor a DSC+ state file` });
}
