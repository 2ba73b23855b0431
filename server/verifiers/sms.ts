/**
 * SMS code (SPEC L4, P3–P5): a 6-digit code sent to the user's verified mobile number.
 *
 * Only the code's SHA-256, salted with the transaction id, is kept, in the transaction row: the code
 * is bound to its login and dies when a new one is sent or the device is switched. Codes expire;
 * a new one may be asked after a cool-down, which never resets a failure count (L6).
 */
import { randomDigits, constantTimeEqual } from '../../core/codes.ts';
import { sha256Hex } from '../crypto/tokens.ts';
import { maskPhoneNumber } from '../sms/gateway.ts';
import type { SecondFactorVerifier } from './types.ts';

export const SMS_CODE_LENGTH = 6;

function codeHash(txId: string, code: string): string {
  return sha256Hex(`${txId}:${code}`);
}

export const smsVerifier: SecondFactorVerifier = {
  kinds: ['sms'],
  canResend: true,
  sends: () => true,
  async issue(ctx, tx, _device, user) {
    if (!user.mobile_number) throw new Error(`user ${user.id} has an SMS device but no mobile number`);
    const code = randomDigits(SMS_CODE_LENGTH);
    const now = ctx.now();
    const minutes = Math.round(ctx.config.smsCodeTtlMs / 60_000);
    await ctx.sms.send({
      to: user.mobile_number,
      body: `Your SLS login code is ${code}. It expires in ${minutes} minutes. Never share it: client services never ask for it.`,
      userId: user.id,
      purpose: 'login_code',
    });
    return {
      challenge: null,
      codeHash: codeHash(tx.id, code),
      challengeExpiresAt: now + ctx.config.smsCodeTtlMs,
      resendAvailableAt: now + ctx.config.smsResendCooldownMs,
    };
  },
  async describe(_ctx, tx, device, user) {
    return {
      type: 'sms_code',
      deviceId: device.id,
      kind: device.kind,
      maskedNumber: maskPhoneNumber(user.mobile_number ?? ''),
      codeLength: SMS_CODE_LENGTH,
      resendAvailableAt: new Date(tx.resend_available_at ?? 0).toISOString(),
      expiresAt: new Date(tx.challenge_expires_at ?? 0).toISOString(),
    };
  },
  async verify(ctx, tx, _device, response) {
    if (!tx.code_hash) return 'wrong';
    if (tx.challenge_expires_at !== null && ctx.now() >= tx.challenge_expires_at) return 'expired';
    const typed = response.replace(/\s+/g, '');
    return constantTimeEqual(codeHash(tx.id, typed), tx.code_hash) ? 'right' : 'wrong';
  },
};
