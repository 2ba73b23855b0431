/**
 * The app's keys: a P-256 key per user that never leaves the app, kept encrypted under the PIN (K1).
 *
 * The PIN derives an AES-256-GCM key with scrypt (N=2^15, r=8, p=1, a fresh salt per user); the
 * sealed blob holds the PKCS#8 private key and the OCRA key for offline codes (K2). A wrong PIN fails
 * the GCM tag: that is the PIN check, and nothing else about the PIN is stored. (A phone keeps this
 * in its hardware keystore; a file can be attacked offline, which is why the server side never
 * trusts the app beyond its signatures.)
 */
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, scryptSync, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

export const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

/** What the PIN protects for one user. */
export interface UserSecrets {
  /** PKCS#8 DER, base64url. */
  readonly privateKey: string;
  /** OCRA key, base64url. */
  readonly ocraSecret: string;
}

export interface PinSealed {
  readonly kdf: 'scrypt';
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: string;
  readonly iv: string;
  /** ciphertext ‖ GCM tag, base64url. */
  readonly box: string;
}

export class WrongPinError extends Error {
  constructor() {
    super('The PIN is not correct.');
    this.name = 'WrongPinError';
  }
}

/** A PIN is 4–16 digits (the app's keypad). */
export function isValidPin(pin: string): boolean {
  return /^[0-9]{4,16}$/.test(pin);
}

function pinKey(pin: string, salt: Buffer, p: { N: number; r: number; p: number }): Buffer {
  return scryptSync(pin.normalize('NFKC'), salt, 32, { N: p.N, r: p.r, p: p.p, maxmem: SCRYPT.maxmem });
}

export function sealUnderPin(secrets: UserSecrets, pin: string, aad: string): PinSealed {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', pinKey(pin, salt, SCRYPT), iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(JSON.stringify(secrets), 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { kdf: 'scrypt', N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, salt: salt.toString('base64url'), iv: iv.toString('base64url'), box: body.toString('base64url') };
}

/** Opens a sealed blob with the PIN; throws WrongPinError when the PIN (or the blob) is wrong. */
export function openWithPin(sealed: PinSealed, pin: string, aad: string): UserSecrets {
  const raw = Buffer.from(sealed.box, 'base64url');
  try {
    const decipher = createDecipheriv('aes-256-gcm', pinKey(pin, Buffer.from(sealed.salt, 'base64url'), sealed), Buffer.from(sealed.iv, 'base64url'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    const plain = Buffer.concat([decipher.update(raw.subarray(0, raw.length - 16)), decipher.final()]).toString('utf8');
    return JSON.parse(plain) as UserSecrets;
  } catch {
    throw new WrongPinError();
  }
}

/** A new P-256 key pair: the private key as PKCS#8 (to seal), the public key as SPKI (to register). */
export function newDeviceKey(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64url'),
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'),
  };
}

function privateKeyObject(pkcs8: string): KeyObject {
  return createPrivateKey({ key: Buffer.from(pkcs8, 'base64url'), format: 'der', type: 'pkcs8' });
}

/** ECDSA P-256 / SHA-256 over the UTF-8 message, r‖s (IEEE P1363), base64url. */
export function signWith(pkcs8: string, message: string): string {
  return sign('sha256', Buffer.from(message, 'utf8'), { key: privateKeyObject(pkcs8), dsaEncoding: 'ieee-p1363' }).toString('base64url');
}

export const MESSAGE_HKDF_INFO = 'SLS-IBKEY-MESSAGE-V1';

/** Opens a K8 message sealed to this device (ECIES: ECDH P-256, HKDF-SHA256, AES-256-GCM). */
export function openSealedMessage(pkcs8: string, m: { ephemeralPublicKey: string; iv: string; ciphertext: string }, aad: string): string {
  const eph = createPublicKey({ key: Buffer.from(m.ephemeralPublicKey, 'base64url'), format: 'der', type: 'spki' });
  const shared = diffieHellman({ privateKey: privateKeyObject(pkcs8), publicKey: eph });
  const key = Buffer.from(hkdfSync('sha256', shared, Buffer.alloc(0), MESSAGE_HKDF_INFO, 32));
  const raw = Buffer.from(m.ciphertext, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(m.iv, 'base64url'));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  return Buffer.concat([decipher.update(raw.subarray(0, raw.length - 16)), decipher.final()]).toString('utf8');
}
