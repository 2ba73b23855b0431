/**
 * slsd's side of IB Key cryptography: checking the app's P-256 signatures, sealing messages to it.
 *
 * Signatures are ECDSA P-256 with SHA-256 in IEEE P1363 form (r‖s, 64 bytes), as WebCrypto makes
 * them. K8 messages are sealed end-to-end to the device's key (ECIES: ephemeral ECDH P-256, HKDF-SHA256,
 * AES-256-GCM), so the database holds nothing client services or an attacker could read back.
 */
import { createCipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** The app's public key, or null when it is not a P-256 SPKI (base64url DER). */
export function parseP256PublicKey(spkiB64u: string): KeyObject | null {
  try {
    const key = createPublicKey({ key: Buffer.from(spkiB64u, 'base64url'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return null;
    return key;
  } catch {
    return null;
  }
}

/** Does `signatureB64u` sign `message` (UTF-8) under the P-256 key? Never throws. */
export function verifyP256(publicKeyB64u: string, message: string, signatureB64u: string): boolean {
  const key = parseP256PublicKey(publicKeyB64u);
  if (!key) return false;
  const sig = Buffer.from(signatureB64u, 'base64url');
  if (sig.length !== 64) return false;
  try {
    return verify('sha256', Buffer.from(message, 'utf8'), { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false;
  }
}

export const MESSAGE_HKDF_INFO = 'SLS-IBKEY-MESSAGE-V1';

export interface SealedForDevice {
  readonly ephemeralPublicKey: string;
  readonly iv: string;
  readonly ciphertext: string;
}

/** Seals `plain` to the device's public key (ECIES); `aad` binds it to its message and device. */
export function sealForDevice(publicKeyB64u: string, plain: string, aad: string): SealedForDevice {
  const devicePublic = parseP256PublicKey(publicKeyB64u);
  if (!devicePublic) throw new Error('the device has no valid P-256 public key');
  const eph = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const shared = diffieHellman({ privateKey: eph.privateKey, publicKey: devicePublic });
  const key = Buffer.from(hkdfSync('sha256', shared, Buffer.alloc(0), MESSAGE_HKDF_INFO, 32));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return {
    ephemeralPublicKey: eph.publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'),
    iv: iv.toString('base64url'),
    ciphertext: body.toString('base64url'),
  };
}
