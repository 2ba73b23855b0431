/**
 * The one interface every second-factor verifier implements (SPEC L4, D2, D3, T1).
 *
 * The login service owns the transaction (state, attempts, single use, expiry); a verifier only
 * knows its device kind: what challenge to issue, how to show it, how to check a response.
 * Issuing may have effects (an SMS is sent, code-card cells are marked as asked); checking has
 * none, so the service decides alone what a right or wrong answer changes.
 */
import type { Kysely } from 'kysely';
import type { Challenge } from '../../core/api.ts';
import type { DeviceKind } from '../../core/devices.ts';
import type { SlsConfig } from '../config.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import type { ClientKind, Database, DeviceRow, LoginTransactionRow, UserRow } from '../db/schema.ts';
import type { SmsGateway } from '../sms/gateway.ts';

export interface VerifierContext {
  readonly db: Kysely<Database>;
  readonly box: SecretBox;
  readonly config: SlsConfig;
  readonly sms: SmsGateway;
  readonly now: () => number;
}

/** What a verifier stores in the transaction row when it issues a challenge. */
export interface IssuedChallenge {
  /** Public part: OCRA challenge digits, or "i,j" for a code card; null when nothing is shown. */
  readonly challenge: string | null;
  /** SHA-256 of a code the server sent (SMS); null otherwise. */
  readonly codeHash: string | null;
  readonly challengeExpiresAt: number | null;
  readonly resendAvailableAt: number | null;
}

export type VerifyOutcome = 'right' | 'wrong' | 'expired';

/** The access a device gives for a client kind, or null when it gives none now (SPEC T1). */
export type DeviceAccess = 'full' | 'portal_only' | null;

export interface SecondFactorVerifier {
  readonly kinds: readonly DeviceKind[];
  /** May this device be offered to this client now? Default: full access while active. */
  access?(ctx: VerifierContext, device: DeviceRow, clientKind: ClientKind): Promise<DeviceAccess>;
  /**
   * When the access it gives now to this client ends, for a device whose access ends by itself (SPEC
   * T1, T2): a session opened with it ends then too, not 12 hours later. Default: never.
   */
  accessEndsAt?(ctx: VerifierContext, device: DeviceRow, clientKind: ClientKind): Promise<number | null>;
  issue(ctx: VerifierContext, tx: LoginTransactionRow, device: DeviceRow, user: UserRow): Promise<IssuedChallenge>;
  /** The challenge as the screen shows it, from what `issue` stored in the transaction. */
  describe(ctx: VerifierContext, tx: LoginTransactionRow, device: DeviceRow, user: UserRow): Promise<Challenge>;
  verify(ctx: VerifierContext, tx: LoginTransactionRow, device: DeviceRow, response: string): Promise<VerifyOutcome>;
  /** Only verifiers that send a code (SMS) can resend. */
  readonly canResend: boolean;
  /**
   * Does issuing in this mode send something to the user's phone (an SMS code, an IB Key push)?
   * Choosing such a device again while what it sent is still valid sends nothing new (SPEC L4, L7).
   */
  sends?(mode: string): boolean;
}

export function sealContext(deviceId: string, field: 'secret' | 'pin_hash'): string {
  return `device:${deviceId}:${field}`;
}
