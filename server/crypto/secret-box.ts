/**
 * Device secrets at rest: AES-256-GCM under the server key (SPEC D4).
 *
 * Each sealed value is `v1.` + base64url(12-byte nonce ‖ ciphertext ‖ 16-byte tag). The row's
 * purpose (e.g. `device:<id>:secret`) is bound as associated data, so a sealed value copied into
 * another row or column does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startRefused } from '../start-refused.ts';

export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new Error('the server key must be 32 bytes (AES-256)');
    this.#key = Buffer.from(key);
  }

  seal(plain: Uint8Array, context: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return 'v1.' + Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url');
  }

  open(sealed: string, context: string): Uint8Array {
    if (!sealed.startsWith('v1.')) throw new Error('unknown sealed-value format');
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    if (raw.length < 28) throw new Error('sealed value too short');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    return new Uint8Array(Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]));
  }

  sealText(plain: string, context: string): string {
    return this.seal(Buffer.from(plain, 'utf8'), context);
  }

  openText(sealed: string, context: string): string {
    return Buffer.from(this.open(sealed, context)).toString('utf8');
  }
}

export interface ServerKeyResult {
  readonly key: Uint8Array;
  /** Where it came from; `generated` means a new key was just written (the caller warns loudly). */
  readonly source: 'env' | 'file' | 'generated';
  readonly file?: string;
}

/**
 * The server key: from config (`SLS_SERVER_KEY`, base64 of 32 bytes), else `server.key` in the data
 * folder, else a new random key written there with mode 0600.
 */
export function loadServerKey(dataDir: string, configured: string | undefined): ServerKeyResult {
  if (configured !== undefined) {
    const key = Buffer.from(configured, 'base64');
    if (key.length !== 32) throw startRefused('SLS_SERVER_KEY (or the file SLS_SERVER_KEY_FILE names) must be base64 of exactly 32 bytes');
    return { key, source: 'env' };
  }
  const file = path.join(dataDir, 'server.key');
  if (fs.existsSync(file)) {
    const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw startRefused(`${file} must hold base64 of exactly 32 bytes`);
    return { key, source: 'file', file };
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  // 'wx': never overwrite a key another process wrote in the meantime.
  try {
    fs.writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadServerKey(dataDir, undefined);
    throw e;
  }
  return { key, source: 'generated', file };
}
