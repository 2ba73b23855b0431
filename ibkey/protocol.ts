/**
 * The IB Key wire format: the app ↔ slsd bodies (zod) and the exact bytes each signature covers.
 *
 * Pure (no Node), shared by the app (`ibkey/`) and slsd (`server/services/ibkey.ts`), so both build
 * the signed messages from one definition. Every signed message starts with its own domain tag, so a
 * signature made for one purpose (a poll) can never be replayed as another (an approval).
 */
import { z } from 'zod';
import { Challenge } from '../core/api.ts';

export const IBKEY_PLATFORMS = ['ios', 'android'] as const;
export const IbKeyPlatform = z.enum(IBKEY_PLATFORMS);
export type IbKeyPlatform = z.infer<typeof IbKeyPlatform>;

const Id = z.string().min(1).max(64);
const B64u = z.string().regex(/^[A-Za-z0-9_-]+$/).max(2000);
const IsoTime = z.string();

/** Activation (K1), reactivation on the same phone (K4), transfer to another phone (K5). */
export const IbKeyPurpose = z.enum(['activate', 'reactivate', 'transfer']);
export type IbKeyPurpose = z.infer<typeof IbKeyPurpose>;

/** A signature by a key the app already holds, over a server nonce (iOS recovery, K4/K5). */
export const KeyProof = z.object({ deviceId: Id, nonce: B64u, signature: B64u });
export type KeyProof = z.infer<typeof KeyProof>;

/** POST /v1/ibkey/activations */
export const StartActivationRequest = z
  .object({
    purpose: IbKeyPurpose,
    platform: IbKeyPlatform,
    installationId: Id,
    /** Android (all purposes), and first activation on iOS: user name and password (K1, K4 Android). */
    credentials: z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) }).optional(),
    /** iOS reactivation/transfer: the key originally set, unlocked with the PIN originally set (K4, K5 iOS). */
    originalKey: KeyProof.optional(),
    /** False when the user no longer has the phone number originally used (K6, K7). */
    smsAvailable: z.boolean().default(true),
  })
  .strict();
export type StartActivationRequest = z.input<typeof StartActivationRequest>;

/** How the user proves the phone number, or another active physical device (K6). */
export const ActivationProof = z.discriminatedUnion('type', [
  z.object({ type: z.literal('sms_code'), maskedNumber: z.string(), codeLength: z.number().int().positive() }),
  z.object({ type: z.literal('device_challenge'), challenge: Challenge }),
]);
export type ActivationProof = z.infer<typeof ActivationProof>;

export const StartActivationResponse = z.object({
  activationId: Id,
  username: z.string(),
  expiresAt: IsoTime,
  proof: ActivationProof,
});
export type StartActivationResponse = z.infer<typeof StartActivationResponse>;

/** How a phone is named when its user gave it no name (K1): what the desktop shows as "IB Key (iPhone)". */
export const DEFAULT_PHONE_NAMES: Readonly<Record<IbKeyPlatform, string>> = { ios: 'iPhone', android: 'Android phone' };

/**
 * POST /v1/ibkey/activations/:activationId/check — is this code right, before the app asks for the PIN?
 *
 * Checks without using the code: a right code stays for `complete`. A wrong one counts exactly as at
 * `complete` (the activation's 3 codes, the user's and the address's failures, SPEC L6), so checking
 * guesses no faster than completing.
 */
export const CheckActivationCodeRequest = z
  .object({
    /** The SMS activation code, or the other device's response (K6). */
    code: z.string().min(1).max(64),
  })
  .strict();
export type CheckActivationCodeRequest = z.infer<typeof CheckActivationCodeRequest>;

export const CheckActivationCodeResponse = z.object({
  activationId: Id,
  /** Complete before this: the code is right and still unused. */
  expiresAt: IsoTime,
});
export type CheckActivationCodeResponse = z.infer<typeof CheckActivationCodeResponse>;

/** POST /v1/ibkey/activations/:activationId/complete */
export const CompleteActivationRequest = z
  .object({
    /** The SMS activation code, or the other device's response (K6). */
    code: z.string().min(1).max(64),
    /** The app's new P-256 public key, SPKI DER, base64url. The private key never leaves the app (K1). */
    publicKey: B64u,
    /**
     * How the desktop names this phone: "iPhone of Jane". Left out, a reactivation or transfer (K4, K5)
     * keeps the name the user gave the IB Key it replaces; otherwise the platform's name (`DEFAULT_PHONE_NAMES`).
     */
    label: z.string().min(1).max(60).optional(),
  })
  .strict();
export type CompleteActivationRequest = z.infer<typeof CompleteActivationRequest>;

export const CompleteActivationResponse = z.object({
  deviceId: Id,
  username: z.string(),
  /** The phone's name as slsd keeps it (the desktop shows "IB Key (<label>)"). */
  label: z.string(),
  /** The OCRA key for offline codes (K2), base64url: returned once, kept by the app under the PIN. */
  ocraSecret: B64u,
  ocraSuite: z.string(),
  activatedAt: IsoTime,
  /** Devices of this user this activation replaced (K4, K5): their keys are refused from now on. */
  revokedDeviceIds: z.array(Id),
});
export type CompleteActivationResponse = z.infer<typeof CompleteActivationResponse>;

/** POST /v1/ibkey/nonces — a single-use server nonce for a signed request. */
export const NonceResponse = z.object({ nonce: B64u, expiresAt: IsoTime });

/** POST /v1/ibkey/requests — long-poll for push approvals and messages of the app's users (L7, K3, K8). */
export const PollRequest = z
  .object({
    nonce: B64u,
    /** One signature per user of the app, each by that user's key, over `pollMessage(nonce, deviceId)`. */
    proofs: z.array(z.object({ deviceId: Id, signature: B64u })).min(1).max(20),
    /** Seconds to wait when nothing is pending (0 answers at once). */
    waitSeconds: z.number().int().min(0).max(25).default(0),
  })
  .strict();
export type PollRequest = z.input<typeof PollRequest>;

/** A login waiting for approval, as the app shows it (L7): client, place, time, and numbers to choose from. */
export const PushRequest = z.object({
  requestId: Id,
  transactionId: Id,
  deviceId: Id,
  username: z.string(),
  /** "SLS Desktop on Linux" */
  clientName: z.string(),
  /** Where the login comes from: the source address as slsd saw it. */
  place: z.string(),
  createdAt: IsoTime,
  expiresAt: IsoTime,
  /** One of these is on the desktop screen; the user must pick it (number matching). */
  choices: z.array(z.number().int().min(10).max(99)).min(2),
  /** Signed with the answer: binds it to this request only. */
  nonce: B64u,
});
export type PushRequest = z.infer<typeof PushRequest>;

/** A message for the app (K8: a temporary password from client services), sealed to the device's key. */
export const AppMessage = z.object({
  messageId: Id,
  deviceId: Id,
  kind: z.literal('temporary_password'),
  createdAt: IsoTime,
  /** ECIES: ephemeral P-256 public key (SPKI, base64url) ‖ AES-256-GCM; see `ibkey/crypto.ts`. */
  ephemeralPublicKey: B64u,
  iv: B64u,
  ciphertext: B64u,
});
export type AppMessage = z.infer<typeof AppMessage>;

export const PollResponse = z.object({
  requests: z.array(PushRequest),
  messages: z.array(AppMessage),
  /**
   * Keys of the poll that slsd no longer accepts (K5: that user moved IB Key to another phone, or it
   * was reactivated or deactivated). The others are served as usual (K3); the app drops these users.
   */
  inactiveDeviceIds: z.array(Id).default([]),
});
export type PollResponse = z.infer<typeof PollResponse>;

/** POST /v1/ibkey/requests/:requestId/answer */
export const AnswerRequest = z
  .object({
    transactionId: Id,
    decision: z.enum(['approve', 'deny']),
    /** The number the user chose (approve only). */
    chosenNumber: z.number().int().min(10).max(99).nullable().default(null),
    signature: B64u,
  })
  .strict();
export type AnswerRequest = z.input<typeof AnswerRequest>;

export const AnswerResponse = z.object({ outcome: z.enum(['approved', 'denied', 'wrong_number']) });
export type AnswerResponse = z.infer<typeof AnswerResponse>;

/** The desktop's long-poll answer (GET /v1/login/:transactionId/status), in core/api.ts beside LoginStep. */
export { LoginStatus } from '../core/api.ts';

// ---------------------------------------------------------------------------------------------
// What each signature covers (ECDSA P-256 with SHA-256, IEEE P1363 r‖s encoding).

/** A poll by one user's key over a server nonce. */
export function pollMessage(nonce: string, deviceId: string): string {
  return `SLS-IBKEY-POLL-V1\n${nonce}\n${deviceId}`;
}

/** Proof of the key originally set (iOS recovery, K4/K5). */
export function recoveryMessage(nonce: string, deviceId: string): string {
  return `SLS-IBKEY-RECOVER-V1\n${nonce}\n${deviceId}`;
}

/**
 * An answer to one push: transaction id, request id, decision, chosen number and the request's nonce.
 *
 * SPEC L7: the signature is good for this request of this login only; slsd rebuilds the message from
 * what it stored, so an answer moved to another request or transaction does not verify.
 */
export function answerMessage(a: { transactionId: string; requestId: string; decision: 'approve' | 'deny'; chosenNumber: number | null; nonce: string }): string {
  return `SLS-IBKEY-ANSWER-V1\n${a.transactionId}\n${a.requestId}\n${a.decision}\n${a.chosenNumber ?? '-'}\n${a.nonce}`;
}

/** Associated data of a K8 message sealed to a device. */
export function messageAad(messageId: string, deviceId: string): string {
  return `SLS-IBKEY-MESSAGE-V1\n${messageId}\n${deviceId}`;
}

/** SPEC K7: what the app and slsd say when no self-service recovery is possible. */
export const K7_MESSAGE =
  'IB Key cannot be recovered without the phone number originally used or another active security device. ' +
  'Please contact client services (Secure Login department) for a temporary passcode.';
