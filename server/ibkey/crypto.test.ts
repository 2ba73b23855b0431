/**
 * The app's and slsd's halves of IB Key cryptography, each against the other (SPEC K1, K8, L7),
 * and the in-process approval notifier.
 */
import { describe, expect, it } from 'vitest';
import { isValidPin, newDeviceKey, openSealedMessage, openWithPin, sealUnderPin, signWith, WrongPinError } from '../../ibkey/crypto.ts';
import { answerMessage, pollMessage } from '../../ibkey/protocol.ts';
import { parseP256PublicKey, sealForDevice, verifyP256 } from '../services/ibkey-crypto.ts';
import { InProcessApprovalNotifier, waitFor } from '../services/ibkey-notifier.ts';
import { drawChoices } from '../verifiers/ibkey-push.ts';

describe('keys under the PIN (SPEC K1)', () => {
  const secrets = { privateKey: newDeviceKey().privateKey, ocraSecret: 'c2VjcmV0' };

  it('opens with the PIN and the same associated data only', () => {
    const sealed = sealUnderPin(secrets, '1234', 'dev_a');
    expect(openWithPin(sealed, '1234', 'dev_a')).toEqual(secrets);
    expect(() => openWithPin(sealed, '1235', 'dev_a')).toThrow(WrongPinError);
    // A sealed key copied to another device entry does not open.
    expect(() => openWithPin(sealed, '1234', 'dev_b')).toThrow(WrongPinError);
    expect(JSON.stringify(sealed)).not.toContain(secrets.privateKey);
  });

  it('accepts PINs of 4–16 digits only', () => {
    expect(['1234', '1234567890123456'].map(isValidPin)).toEqual([true, true]);
    expect(['123', '12345678901234567', '12a4', ''].map(isValidPin)).toEqual([false, false, false, false]);
  });
});

describe('signatures: the app signs, slsd verifies (ECDSA P-256, SHA-256, P1363)', () => {
  const key = newDeviceKey();

  it('verifies the app\'s signature over the exact message only', () => {
    const msg = answerMessage({ transactionId: 'ltx_1', requestId: 'ibp_1', decision: 'approve', chosenNumber: 47, nonce: 'n' });
    const sig = signWith(key.privateKey, msg);
    expect(Buffer.from(sig, 'base64url')).toHaveLength(64);
    expect(verifyP256(key.publicKey, msg, sig)).toBe(true);
    expect(verifyP256(key.publicKey, msg.replace('47', '48'), sig)).toBe(false);
    expect(verifyP256(key.publicKey, answerMessage({ transactionId: 'ltx_2', requestId: 'ibp_1', decision: 'approve', chosenNumber: 47, nonce: 'n' }), sig)).toBe(false);
    expect(verifyP256(newDeviceKey().publicKey, msg, sig)).toBe(false);
    // A poll signature is no answer: the domain tags differ.
    expect(verifyP256(key.publicKey, msg, signWith(key.privateKey, pollMessage('n', 'dev')))).toBe(false);
    expect(verifyP256(key.publicKey, msg, 'not-a-signature')).toBe(false);
  });

  it('takes only P-256 public keys', () => {
    expect(parseP256PublicKey(key.publicKey)).not.toBeNull();
    expect(parseP256PublicKey('AAAA')).toBeNull();
  });
});

describe('messages sealed to the app (SPEC K8)', () => {
  it('only the device key opens them, bound to message and device', () => {
    const key = newDeviceKey();
    const sealed = sealForDevice(key.publicKey, 'Tmp-Pass-1234', 'aad-1');
    expect(openSealedMessage(key.privateKey, sealed, 'aad-1')).toBe('Tmp-Pass-1234');
    expect(() => openSealedMessage(key.privateKey, sealed, 'aad-2')).toThrow();
    expect(() => openSealedMessage(newDeviceKey().privateKey, sealed, 'aad-1')).toThrow();
  });
});

describe('number matching choices (SPEC L7)', () => {
  it('are distinct two-digit numbers with the match among them', () => {
    for (let i = 0; i < 200; i++) {
      const { match, choices } = drawChoices(3);
      expect(new Set(choices).size).toBe(3);
      expect(choices).toContain(match);
      for (const c of choices) expect(c >= 10 && c <= 99).toBe(true);
    }
  });
});

describe('InProcessApprovalNotifier', () => {
  it('wakes a waiter on its topic, and a notification before the wait is not lost', async () => {
    const n = new InProcessApprovalNotifier();
    let state: string | null = null;
    const waiting = waitFor(n, ['tx:1'], 10_000, async () => state, 10_000);
    setTimeout(() => {
      state = 'approved';
      n.notify('tx:2');
      n.notify('tx:1');
    }, 20);
    expect(await waiting).toBe('approved');

    const sub = n.subscribe(['user:1']);
    n.notify('user:1');
    const started = Date.now();
    await sub.wait(10_000);
    sub.close();
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('gives up after the wait with nothing found', async () => {
    expect(await waitFor(new InProcessApprovalNotifier(), ['tx:1'], 30, async () => null)).toBeNull();
  });
});
