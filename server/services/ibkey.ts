/**
 * IB Key on the server (SPEC K1–K8, L7, P3): activation, recovery, push approval, app messages.
 *
 * The app proves itself only with signatures of its P-256 keys (one per user, K3) over single-use
 * server nonces; slsd stores public keys only. Push approvals are rows bound to one challenge of one
 * login transaction: an answer verifies only against what slsd stored for that request, is taken once
 * (a conditional UPDATE decides), and a denial or a wrong number ends the login (L7). The desktop's
 * status long-poll turns an approval into a session through the login service, like any response.
 */
import { randomInt } from 'node:crypto';
import { isIPv6 } from 'node:net';
import type { Kysely } from 'kysely';
import { constantTimeEqual, randomDigits } from '../../core/codes.ts';
import { DEVICE_CATALOGUE } from '../../core/devices.ts';
import type { DeviceKind } from '../../core/devices.ts';
import { parseOcraSuite } from '../../core/ocra.ts';
import {
  answerMessage,
  AnswerRequest,
  CheckActivationCodeRequest,
  CompleteActivationRequest,
  DEFAULT_PHONE_NAMES,
  K7_MESSAGE,
  messageAad,
  PollRequest,
  pollMessage,
  recoveryMessage,
  StartActivationRequest,
} from '../../ibkey/protocol.ts';
import type { LoginStatus } from '../../core/api.ts';
import type {
  AnswerResponse,
  AppMessage,
  CheckActivationCodeResponse,
  CompleteActivationResponse,
  PollResponse,
  PushRequest,
  StartActivationResponse,
} from '../../ibkey/protocol.ts';
import { newId, newToken, sha256Hex } from '../crypto/tokens.ts';
import type { DeviceRow, LoginTransactionRow, UserRow } from '../db/schema.ts';
import { SlsError } from '../errors.ts';
import { maskPhoneNumber } from '../sms/gateway.ts';
import { verifierFor } from '../verifiers/index.ts';
import { sealContext } from '../verifiers/types.ts';
import type { VerifierContext } from '../verifiers/types.ts';
import { WRONG_RESPONSES_PER_TRANSACTION } from '../config.ts';
import type { Services } from './index.ts';
import { parseP256PublicKey, sealForDevice, verifyP256 } from './ibkey-crypto.ts';
import { lockUserRow } from '../verifiers/ibkey-push.ts';
import { InProcessApprovalNotifier, registerNotifier, waitFor } from './ibkey-notifier.ts';
import type { ApprovalNotifier } from './ibkey-notifier.ts';
import { ibkeyDb } from './ibkey-schema.ts';
import type { IbKeyActivationState, IbKeyActivationTable, IbKeyDatabase, IbKeyPushTable } from './ibkey-schema.ts';
import { preferredDevice } from './login.ts';
import { endEverySessionOf } from './sessions.ts';
import { normalizeUsername } from './throttle.ts';

export type IbKeyServiceDeps = Pick<Services, 'db' | 'box' | 'config' | 'sms' | 'now' | 'passwords' | 'throttle' | 'login'>;

/** An activation code by SMS lives this long (K1). */
export const ACTIVATION_TTL_MS = 10 * 60 * 1000;
/** A code checked right keeps its activation open at least this long, for the PIN to be chosen (K1). */
export const ACTIVATION_PIN_GRACE_MS = 5 * 60 * 1000;
export const ACTIVATION_CODE_LENGTH = 6;
/** Nonces for signed app requests live this long. */
export const NONCE_TTL_MS = 2 * 60 * 1000;
/**
 * Nonces one source address may get per window (SPEC N1): an app long-polls about every 25 s, so this
 * leaves room for dozens of phones behind one address (an office's NAT) while bounding the table.
 */
export const IBKEY_NONCES_PER_ADDRESS = 120;
export const IBKEY_NONCE_WINDOW_MS = NONCE_TTL_MS;

/**
 * The address nonces are counted by: an IPv6 address by its /64 (one subscriber's network gets a
 * whole /64, so counting single addresses would bound nothing), an IPv4-mapped one as IPv4.
 */
export function nonceAddress(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('%')[0]!.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') && tail ? tail.split(':') : [];
  // An embedded IPv4 tail (…:1.2.3.4) sits in the last 32 bits, never in the /64 kept.
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return `${groups.slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16)).join(':')}::/64`;
}
/** A temporary password delivered to the app (K8): length and alphabet (no look-alike characters). */
export const TEMPORARY_PASSWORD_LENGTH = 12;
const TEMPORARY_PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

type IbKeyEvent =
  | 'ibkey.activation_started'
  | 'ibkey.activation_failed'
  | 'ibkey.activation_code_not_sent'
  | 'ibkey.activated'
  | 'ibkey.reactivated'
  | 'ibkey.transferred'
  | 'ibkey.device_revoked'
  | 'ibkey.key_refused'
  | 'ibkey.push_approved'
  | 'ibkey.push_denied'
  | 'ibkey.push_wrong_number'
  | 'ibkey.temporary_password_sent';

const iso = (ms: number) => new Date(ms).toISOString();

/** The activation row seen as a login transaction, so the other device's verifier can issue and check (K6). */
function activationAsTransaction(a: IbKeyActivationTable, username: string): LoginTransactionRow {
  return {
    id: a.id,
    user_id: a.user_id,
    username_normalized: username,
    client_kind: 'client_portal',
    client_version: 0,
    client_name: 'IB Key activation',
    source_address: '',
    state: 'challenge',
    device_id: a.proof_device_id,
    mode: 'offline',
    challenge_seq: 0,
    challenge: a.challenge,
    code_hash: a.code_hash,
    challenge_expires_at: a.expires_at,
    resend_available_at: null,
    challenge_used_at: null,
    wrong_responses: a.wrong_attempts,
    created_at: a.created_at,
    expires_at: a.expires_at,
    ended_at: null,
  };
}

export class IbKeyService {
  readonly #d: IbKeyServiceDeps;
  readonly notifier: ApprovalNotifier;

  /** Aborted when slsd stops: long-polls answer at once instead of holding the shutdown up to 25 s. */
  readonly #stopping = new AbortController();

  /** slsd is stopping: every long-poll answers now (`waiting`, no pushes), and new ones do not wait. */
  stopWaiting(): void {
    this.#stopping.abort();
  }

  constructor(deps: IbKeyServiceDeps, notifier: ApprovalNotifier = new InProcessApprovalNotifier()) {
    this.#d = deps;
    this.notifier = notifier;
    registerNotifier(deps.db, notifier);
  }

  get #db() {
    return ibkeyDb(this.#d.db);
  }

  get #ctx(): VerifierContext {
    const d = this.#d;
    return { db: d.db, box: d.box, config: d.config, sms: d.sms, now: d.now };
  }

  /** One audit entry; in `db` when given, so a change and its entry commit together or not at all (SPEC N2). */
  async #audit(
    e: { event: IbKeyEvent; user?: UserRow | null; sourceAddress?: string | null; deviceId?: string | null; details?: Record<string, string | number | boolean | null> },
    db: Kysely<IbKeyDatabase> = this.#db,
  ) {
    await db
      .insertInto('audit_log')
      .values({
        at: this.#d.now(),
        event: e.event,
        user_id: e.user?.id ?? null,
        username: e.user?.username_normalized ?? null,
        source_address: e.sourceAddress ?? null,
        device_id: e.deviceId ?? null,
        details: JSON.stringify(e.details ?? {}),
      })
      .execute();
  }

  async #failure(user: UserRow, sourceAddress: string): Promise<number | null> {
    // The throttle writes `user.locked` when this failure locks (SPEC N2).
    return this.#d.throttle.recordFailure(user.username_normalized, sourceAddress);
  }

  // -------------------------------------------------------------------------------------------
  // Signed requests

  /**
   * A single-use nonce for a signed app request, at most `IBKEY_NONCES_PER_ADDRESS` per address per window.
   *
   * The route needs no login, so without a bound anyone could grow the table (SPEC N1). The bound is
   * rows, so it holds across slsd processes: the nonce is stored first, then the address's nonces of
   * the window are counted, and one over the bound is taken back. Of requests arriving together the
   * last stored counts all others, so more than the bound are never kept (no lock needed, on SQLite
   * or PostgreSQL); a burst may be refused more than strictly needed, which only slows that address.
   * Expired nonces are purged here too.
   */
  async newNonce(sourceAddress: string): Promise<{ nonce: string; expiresAt: string }> {
    const now = this.#d.now();
    // Keeps the table small: spent and stale nonces are of no further use. They outlive their expiry
    // by a window, which is what the count per address looks back on.
    await this.#db.deleteFrom('ibkey_nonces').where('expires_at', '<', now - IBKEY_NONCE_WINDOW_MS).execute();
    const address = nonceAddress(sourceAddress);
    const nonce = newToken();
    await this.#db.insertInto('ibkey_nonces').values({ nonce, created_at: now, expires_at: now + NONCE_TTL_MS, used_at: null, source_address: address }).execute();
    const recent = await this.#db
      .selectFrom('ibkey_nonces')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min('created_at').as('oldest')])
      .where('source_address', '=', address)
      .where('created_at', '>', now - IBKEY_NONCE_WINDOW_MS)
      .executeTakeFirstOrThrow();
    if (Number(recent.n) > IBKEY_NONCES_PER_ADDRESS) {
      await this.#db.deleteFrom('ibkey_nonces').where('nonce', '=', nonce).execute();
      const retryAt = Math.max(now, Number(recent.oldest ?? now)) + IBKEY_NONCE_WINDOW_MS;
      throw new SlsError('SLS_ERR_RATE_LIMITED', { retryAt: iso(retryAt), message: 'Too many requests from this address. Try again later.' });
    }
    return { nonce, expiresAt: iso(now + NONCE_TTL_MS) };
  }

  async #consumeNonce(nonce: string): Promise<void> {
    const now = this.#d.now();
    const r = await this.#db
      .updateTable('ibkey_nonces')
      .set({ used_at: now })
      .where('nonce', '=', nonce)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new SlsError('SLS_ERR_IBKEY_NONCE_INVALID');
  }

  /**
   * The IB Key device whose key made `signature` over `message`, or the coded refusal.
   *
   * With `allowInactive`, a good signature by a key no longer active (K5: moved to another phone)
   * comes back with `active: false` instead of `SLS_ERR_IBKEY_NOT_ACTIVE`: one app polls for several
   * users (K3), and one user's old key must not stop the others.
   */
  async #signedBy(deviceId: string, message: string, signature: string, sourceAddress: string, allowInactive = false): Promise<{ device: DeviceRow; user: UserRow; publicKey: string; active: boolean }> {
    const row = await this.#db
      .selectFrom('ibkey_devices')
      .innerJoin('devices', 'devices.id', 'ibkey_devices.device_id')
      .select(['ibkey_devices.public_key', 'devices.status'])
      .where('ibkey_devices.device_id', '=', deviceId)
      .executeTakeFirst();
    const device = row ? await this.#db.selectFrom('devices').selectAll().where('id', '=', deviceId).executeTakeFirstOrThrow() : undefined;
    const user = device ? await this.#db.selectFrom('users').selectAll().where('id', '=', device.user_id).executeTakeFirstOrThrow() : undefined;
    if (!row || !device || !user || !verifyP256(row.public_key, message, signature)) {
      await this.#audit({ event: 'ibkey.key_refused', user: user ?? null, sourceAddress, deviceId, details: { reason: 'bad_signature' } });
      throw new SlsError('SLS_ERR_IBKEY_SIGNATURE_INVALID');
    }
    // K5: after a transfer (or reactivation) the old phone's key is refused.
    if (row.status !== 'active') {
      await this.#audit({ event: 'ibkey.key_refused', user, sourceAddress, deviceId, details: { reason: `device_${row.status}` } });
      if (!allowInactive) throw new SlsError('SLS_ERR_IBKEY_NOT_ACTIVE');
    }
    return { device, user, publicKey: row.public_key, active: row.status === 'active' };
  }

  // -------------------------------------------------------------------------------------------
  // Activation, reactivation, transfer (K1, K4–K7, P3)

  async #userByCredentials(username: string, password: string, sourceAddress: string): Promise<UserRow> {
    const d = this.#d;
    const normalized = normalizeUsername(username);
    await d.throttle.assertAddressAllowed(sourceAddress);
    await d.throttle.assertUserNotLocked(normalized);
    const user = await this.#db.selectFrom('users').selectAll().where('username_normalized', '=', normalized).executeTakeFirst();
    // SPEC A3: unknown users cost one verification too and get the same answer.
    const ok = user?.password_hash ? await d.passwords.verify(user.password_hash, password) : await d.passwords.verifyUnknownUser(password);
    if (!user || !ok) {
      const lockedUntil = await d.throttle.recordFailure(normalized, sourceAddress);
      await this.#audit({ event: 'ibkey.activation_failed', user: user ?? null, sourceAddress, details: { reason: 'credentials' } });
      if (lockedUntil !== null) throw new SlsError('SLS_ERR_USER_LOCKED', { lockedUntil: iso(lockedUntil) });
      throw new SlsError('SLS_ERR_INVALID_CREDENTIALS');
    }
    return user;
  }

  /**
   * Starts an activation (K1), a reactivation (K4) or a transfer (K5).
   *
   * Who the user is: user name and password (activation; Android recovery), or on iOS a signature by
   * the key originally set, which the app unlocks with the PIN originally set. What proves the rest:
   * an SMS code to the number on file (P3; activating verifies it), or, when the user has another
   * active physical device, that device's challenge (K6); without either, the K7 message.
   */
  async startActivation(body: unknown, sourceAddress: string): Promise<StartActivationResponse> {
    const req = StartActivationRequest.parse(body);
    const now = this.#d.now();
    let user: UserRow;
    if (req.purpose === 'activate') {
      if (!req.credentials) throw new SlsError('SLS_ERR_VALIDATION', { message: 'Activation asks for the user name and password (SPEC K1).' });
      user = await this.#userByCredentials(req.credentials.username, req.credentials.password, sourceAddress);
    } else if (req.platform === 'ios') {
      // SPEC K4/K5 iOS: the PIN (or biometrics) originally set, plus an SMS code.
      if (!req.originalKey) {
        throw new SlsError('SLS_ERR_VALIDATION', { message: 'On iOS, IB Key is recovered with the PIN originally set (SPEC K4, K5).' });
      }
      await this.#d.throttle.assertAddressAllowed(sourceAddress);
      await this.#consumeNonce(req.originalKey.nonce);
      const k = req.originalKey;
      let active: boolean;
      ({ user, active } = await this.#signedBy(k.deviceId, recoveryMessage(k.nonce, k.deviceId), k.signature, sourceAddress, true));
      // SPEC L6: a locked user is told so now, as on Android, not after an SMS code was sent for nothing.
      await this.#d.throttle.assertUserNotLocked(user.username_normalized);
      // SPEC K5, K7: a key no longer active (IB Key moved on, e.g. iPhone → Android → back to this
      // iPhone, whose Keychain still holds the old key) stopped working: it proves no "PIN originally
      // set", and another device (K6) stands in for the SMS only, never for the PIN. No self-service
      // path is left, so the user is sent to client services (K7), with nothing sent or started.
      if (!active) {
        throw new SlsError('SLS_ERR_IBKEY_RECOVERY_UNAVAILABLE', {
          message: `The IB Key this iPhone holds for ${user.username} was replaced (moved to another phone or activated again) and no longer works, so it cannot recover IB Key. ${K7_MESSAGE}`,
        });
      }
    } else {
      // SPEC K4/K5 Android: credentials, an SMS activation token, then the PIN (set in the app).
      if (!req.credentials) {
        throw new SlsError('SLS_ERR_VALIDATION', { message: 'On Android, IB Key is recovered with the user name and password (SPEC K4, K5).' });
      }
      user = await this.#userByCredentials(req.credentials.username, req.credentials.password, sourceAddress);
    }

    const devices = await this.#db.selectFrom('devices').selectAll().where('user_id', '=', user.id).execute();
    const activeIbKeys = devices.filter((x) => x.kind === 'ibkey' && x.status === 'active');
    if (req.purpose === 'activate' && activeIbKeys.length > 0) {
      const here = await this.#db
        .selectFrom('ibkey_devices')
        .select('device_id')
        .where('device_id', 'in', activeIbKeys.map((x) => x.id))
        .where('installation_id', '=', req.installationId)
        .executeTakeFirst();
      throw new SlsError('SLS_ERR_CONFLICT', {
        message: here
          ? 'IB Key is already active for this user in this app.'
          : 'IB Key is already active for this user on another phone: transfer it to this phone instead.',
      });
    }
    if (req.purpose !== 'activate' && !devices.some((x) => x.kind === 'ibkey')) {
      throw new SlsError('SLS_ERR_CONFLICT', { message: 'This user has no IB Key to recover: activate it (SPEC K1).' });
    }

    // SPEC K6: another active physical device answers instead of the SMS (recovery only; K1 always verifies the number, P3).
    const physical = devices.filter((x) => x.status === 'active' && DEVICE_CATALOGUE[x.kind].physical);
    const useDevice = req.purpose !== 'activate' && physical.length > 0;
    if (!useDevice) {
      if (!user.mobile_number) {
        if (req.purpose === 'activate') throw new SlsError('SLS_ERR_IBKEY_NO_MOBILE');
        throw new SlsError('SLS_ERR_IBKEY_RECOVERY_UNAVAILABLE', { message: K7_MESSAGE });
      }
      // SPEC K7: no number to receive the code, no other device: only client services can help.
      if (!req.smsAvailable) throw new SlsError('SLS_ERR_IBKEY_RECOVERY_UNAVAILABLE', { message: K7_MESSAGE });
    }

    const activation: IbKeyActivationTable = {
      id: newId('iba'),
      user_id: user.id,
      purpose: req.purpose,
      platform: req.platform,
      installation_id: req.installationId,
      proof_kind: useDevice ? 'device' : 'sms',
      proof_device_id: null,
      challenge: null,
      code_hash: null,
      wrong_attempts: 0,
      state: 'pending',
      created_at: now,
      expires_at: now + ACTIVATION_TTL_MS,
      completed_at: null,
    };
    // SPEC N2: the activation stands only with its `ibkey.activation_started` entry, both committed
    // before any SMS leaves: an activation the log did not take is neither stored nor sent.
    const started = (a: IbKeyActivationTable) =>
      this.#db.transaction().execute(async (trx) => {
        await trx.insertInto('ibkey_activations').values(a).execute();
        await this.#audit(
          { event: 'ibkey.activation_started', user, sourceAddress, details: { activationId: a.id, purpose: req.purpose, platform: req.platform, proof: a.proof_kind } },
          trx,
        );
      });
    let proof: StartActivationResponse['proof'];
    if (useDevice) {
      const device = preferredDevice(physical, user.last_device_id);
      activation.proof_device_id = device.id;
      const issued = await verifierFor(device.kind).issue(this.#ctx, activationAsTransaction(activation, user.username_normalized), device, user);
      activation.challenge = issued.challenge;
      proof = { type: 'device_challenge', challenge: await verifierFor(device.kind).describe(this.#ctx, activationAsTransaction(activation, user.username_normalized), device, user) };
      await started(activation);
    } else {
      const code = randomDigits(ACTIVATION_CODE_LENGTH);
      activation.code_hash = sha256Hex(`${activation.id}:${code}`);
      const masked = maskPhoneNumber(user.mobile_number!);
      await started(activation);
      try {
        await this.#d.sms.send({
          to: user.mobile_number!,
          body: `Your IB Key activation code is ${code}. It expires in ${ACTIVATION_TTL_MS / 60_000} minutes. Never share it.`,
          userId: user.id,
          purpose: 'ibkey_activation',
        });
      } catch (e) {
        // Refused by the SMS policy or the gateway failed: no code left, so the activation ends with
        // its `ibkey.activation_code_not_sent` entry, which says the `ibkey.activation_started` before
        // it has no code behind it (SPEC N2; the log is append-only).
        await this.#db.transaction().execute(async (trx) => {
          await trx.updateTable('ibkey_activations').set({ state: 'ended' }).where('id', '=', activation.id).where('state', '=', 'pending').execute();
          await this.#audit(
            {
              event: 'ibkey.activation_code_not_sent',
              user,
              sourceAddress,
              details: { activationId: activation.id, masked, reason: e instanceof SlsError ? e.code : 'error' },
            },
            trx,
          );
        });
        throw e;
      }
      proof = { type: 'sms_code', maskedNumber: masked, codeLength: ACTIVATION_CODE_LENGTH };
    }
    return { activationId: activation.id, username: user.username, expiresAt: iso(activation.expires_at), proof };
  }

  /**
   * The activation a code is typed for, still open, with its user; or why not.
   *
   * Used (completed), ended by 3 wrong codes, or unknown: `SLS_ERR_IBKEY_ACTIVATION_ENDED`, one answer
   * for all. Unused but past its time: `SLS_ERR_IBKEY_ACTIVATION_EXPIRED`, so the user learns the code
   * expired and to start again. Either way the code typed is not judged, so neither says anything about it.
   */
  async #openActivation(activationId: string): Promise<{ a: IbKeyActivationTable; user: UserRow }> {
    const a = await this.#db.selectFrom('ibkey_activations').selectAll().where('id', '=', activationId).executeTakeFirst();
    if (!a || a.state !== 'pending') throw new SlsError('SLS_ERR_IBKEY_ACTIVATION_ENDED');
    if (a.expires_at <= this.#d.now()) throw new SlsError('SLS_ERR_IBKEY_ACTIVATION_EXPIRED');
    const user = await this.#db.selectFrom('users').selectAll().where('id', '=', a.user_id).executeTakeFirstOrThrow();
    await this.#d.throttle.assertUserNotLocked(user.username_normalized);
    return { a, user };
  }

  /**
   * Judges one code of an open activation: returns when it is right; a wrong one is counted and refused.
   *
   * The one place codes are judged, for `checkActivationCode` and `completeActivation` alike, so both
   * share the activation's 3 codes and the user's and address's failures (SPEC L6): checking first
   * never gives an attacker more guesses than completing does.
   */
  async #judgeCode(a: IbKeyActivationTable, user: UserRow, code: string, sourceAddress: string): Promise<void> {
    let right: boolean;
    if (a.proof_kind === 'sms') {
      right = a.code_hash !== null && constantTimeEqual(sha256Hex(`${a.id}:${code.replace(/\s+/g, '')}`), a.code_hash);
    } else {
      const device = await this.#db.selectFrom('devices').selectAll().where('id', '=', a.proof_device_id ?? '').executeTakeFirst();
      if (!device || device.status !== 'active') throw new SlsError('SLS_ERR_DEVICE_NOT_AVAILABLE');
      right = (await verifierFor(device.kind).verify(this.#ctx, activationAsTransaction(a, user.username_normalized), device, code)) === 'right';
    }
    if (right) return;
    // SPEC L6, K1: at most 3 codes are judged per activation, however many arrive together (on
    // PostgreSQL they do). One conditional UPDATE counts this one only while the activation is
    // pending with fewer than 3, and ends it at the third, atomically. No row changed: it ended (or
    // completed) meanwhile, and this code is not judged: answered like any code from then on, so a
    // right code among them is never told apart from a wrong one (no oracle).
    const counted = await this.#db
      .updateTable('ibkey_activations')
      .set((eb) => ({
        wrong_attempts: eb('wrong_attempts', '+', 1),
        state: eb.case().when('wrong_attempts', '>=', WRONG_RESPONSES_PER_TRANSACTION - 1).then(eb.val<IbKeyActivationState>('ended')).else(eb.ref('state')).end(),
      }))
      .where('id', '=', a.id)
      .where('state', '=', 'pending')
      .where('wrong_attempts', '<', WRONG_RESPONSES_PER_TRANSACTION)
      .returning('wrong_attempts')
      .executeTakeFirst();
    if (!counted) throw new SlsError('SLS_ERR_IBKEY_ACTIVATION_ENDED');
    const attemptsLeft = Math.max(0, WRONG_RESPONSES_PER_TRANSACTION - counted.wrong_attempts);
    await this.#audit({ event: 'ibkey.activation_failed', user, sourceAddress, details: { activationId: a.id, reason: 'wrong_code', attemptsLeft } });
    const lockedUntil = await this.#failure(user, sourceAddress);
    if (lockedUntil !== null) throw new SlsError('SLS_ERR_USER_LOCKED', { lockedUntil: iso(lockedUntil) });
    if (attemptsLeft === 0) {
      throw new SlsError('SLS_ERR_WRONG_RESPONSE', {
        attemptsLeft,
        message: 'The code is not correct. After 3 wrong codes this activation has ended: start again to get a new code.',
      });
    }
    throw new SlsError('SLS_ERR_WRONG_RESPONSE', { attemptsLeft });
  }

  /**
   * Checks the SMS code (or the other device's response, K6) without using it, so the app asks for the
   * PIN only once the code is known to be right (K1: a wrong or expired code is told before any PIN).
   *
   * A wrong code counts as at `completeActivation` (`#judgeCode`). A right one leaves the activation
   * pending for `completeActivation`, which still takes it once; it keeps the activation open at least
   * `ACTIVATION_PIN_GRACE_MS` more (never past `ACTIVATION_TTL_MS` + that grace), so a code checked in
   * its last seconds does not expire while the PIN is chosen.
   */
  async checkActivationCode(activationId: string, body: unknown, sourceAddress: string): Promise<CheckActivationCodeResponse> {
    const req = CheckActivationCodeRequest.parse(body);
    const { a, user } = await this.#openActivation(activationId);
    await this.#judgeCode(a, user, req.code, sourceAddress);
    const now = this.#d.now();
    const expiresAt = Math.max(a.expires_at, Math.min(now + ACTIVATION_PIN_GRACE_MS, a.created_at + ACTIVATION_TTL_MS + ACTIVATION_PIN_GRACE_MS));
    // Like a right code at completion: one conditional UPDATE decides, so a right code that arrives
    // with wrong ones after the third ended the activation is answered as they are (no oracle).
    const r = await this.#db
      .updateTable('ibkey_activations')
      .set({ expires_at: expiresAt })
      .where('id', '=', a.id)
      .where('state', '=', 'pending')
      .where('wrong_attempts', '<', WRONG_RESPONSES_PER_TRANSACTION)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new SlsError('SLS_ERR_IBKEY_ACTIVATION_ENDED');
    return { activationId: a.id, expiresAt: iso(expiresAt) };
  }

  /**
   * The name a recovered IB Key keeps when the app gives none (K4, K5): the one the user gave the key
   * it replaces ("Pixel of Jane"), so the desktop's device list does not turn it into "Android phone".
   * A platform's default name is not kept: the new phone gets its own platform's name.
   */
  async #previousPhoneName(userId: string): Promise<string | null> {
    const rows = await this.#db.selectFrom('devices').select(['label', 'status', 'activated_at', 'created_at']).where('user_id', '=', userId).where('kind', '=', 'ibkey').execute();
    // The key being replaced: an active one first, then the latest.
    const last = rows.sort((x, y) => Number(y.status === 'active') - Number(x.status === 'active') || (y.activated_at ?? y.created_at) - (x.activated_at ?? x.created_at))[0];
    const name = last?.label ? /^IB Key \((.+)\)$/.exec(last.label)?.[1] : undefined;
    if (!name || Object.values(DEFAULT_PHONE_NAMES).includes(name)) return null;
    return name;
  }

  /**
   * Completes an activation with the SMS code (or the other device's response, K6) and the app's public key.
   *
   * Recovery (K4, K5) revokes the user's previous IB Key: its key and its offline codes stop working,
   * and the new one keeps the phone's name unless the app gives another.
   */
  async completeActivation(activationId: string, body: unknown, sourceAddress: string): Promise<CompleteActivationResponse> {
    const req = CompleteActivationRequest.parse(body);
    const d = this.#d;
    const now = d.now();
    const { a, user } = await this.#openActivation(activationId);
    if (!parseP256PublicKey(req.publicKey)) throw new SlsError('SLS_ERR_VALIDATION', { message: 'The public key must be a P-256 key (SPKI, base64url).' });
    await this.#judgeCode(a, user, req.code, sourceAddress);

    const suite = DEVICE_CATALOGUE.ibkey.ocraSuite!;
    const secret = new Uint8Array(globalThis.crypto.getRandomValues(new Uint8Array({ SHA1: 20, SHA256: 32, SHA512: 64 }[parseOcraSuite(suite).algorithm])));
    const deviceId = newId('dev');
    const phoneName = req.label ?? (a.purpose === 'activate' ? null : await this.#previousPhoneName(user.id)) ?? DEFAULT_PHONE_NAMES[a.platform];
    const label = `IB Key (${phoneName})`;
    const event = a.purpose === 'activate' ? 'ibkey.activated' : a.purpose === 'reactivate' ? 'ibkey.reactivated' : 'ibkey.transferred';
    const revoked = await this.#db.transaction().execute(async (trx) => {
      // SPEC K5, N1: one IB Key per user. Completions of two activations of one user (a transfer
      // started on two phones) run one after the other, also on PostgreSQL and across slsd, so the
      // second sees and revokes what the first activated, and only one phone's key works.
      await lockUserRow(trx, user.id);
      // Single use: only the request that moves the activation out of pending goes on.
      // SPEC L6: an activation that took its third wrong code meanwhile is over, right code or not.
      const r = await trx
        .updateTable('ibkey_activations')
        .set({ state: 'completed', completed_at: now })
        .where('id', '=', a.id)
        .where('state', '=', 'pending')
        .where('wrong_attempts', '<', WRONG_RESPONSES_PER_TRANSACTION)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new SlsError('SLS_ERR_IBKEY_ACTIVATION_ENDED');
      const old = await trx.selectFrom('devices').select('id').where('user_id', '=', user.id).where('kind', '=', 'ibkey').where('status', 'in', ['active', 'pending']).execute();
      if (old.length > 0) {
        await trx.updateTable('devices').set({ status: 'revoked' }).where('id', 'in', old.map((o) => o.id)).execute();
        // Pushes waiting for the old phone die with it.
        await trx.updateTable('ibkey_push_requests').set({ state: 'superseded', answered_at: now }).where('device_id', 'in', old.map((o) => o.id)).where('state', '=', 'pending').execute();
      }
      await trx
        .insertInto('devices')
        .values({
          id: deviceId,
          user_id: user.id,
          kind: 'ibkey' satisfies DeviceKind,
          status: 'active',
          serial: null,
          label,
          secret_sealed: d.box.seal(secret, sealContext(deviceId, 'secret')),
          pin_hash_sealed: null,
          scc_sequence: 0,
          created_at: now,
          activated_at: now,
          last_used_at: null,
        })
        .execute();
      await trx
        .insertInto('ibkey_devices')
        .values({ device_id: deviceId, user_id: user.id, installation_id: a.installation_id, platform: a.platform, public_key: req.publicKey, created_at: now })
        .execute();
      // SPEC P3: activating IB Key by an SMS code also verifies the number.
      if (a.proof_kind === 'sms' && user.mobile_verified_at === null) {
        await trx.updateTable('users').set({ mobile_verified_at: now }).where('id', '=', user.id).execute();
      }
      // SPEC N2: the old key's end and the new key are on record with the change, or nothing changed.
      for (const o of old) {
        await this.#audit({ event: 'ibkey.device_revoked', user, sourceAddress, deviceId: o.id, details: { replacedBy: deviceId, purpose: a.purpose } }, trx);
      }
      await this.#audit({ event, user, sourceAddress, deviceId, details: { platform: a.platform, proof: a.proof_kind, activationId: a.id } }, trx);
      return old.map((o) => o.id);
    });
    return {
      deviceId,
      username: user.username,
      label: phoneName,
      ocraSecret: Buffer.from(secret).toString('base64url'),
      ocraSuite: suite,
      activatedAt: iso(now),
      revokedDeviceIds: revoked,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Push approval (L7)

  #describePush(p: IbKeyPushTable, username: string): PushRequest {
    return {
      requestId: p.id,
      transactionId: p.transaction_id,
      deviceId: p.device_id,
      username,
      clientName: p.client_name,
      place: p.place,
      createdAt: iso(p.created_at),
      expiresAt: iso(p.expires_at),
      choices: JSON.parse(p.choices) as number[],
      nonce: p.nonce,
    };
  }

  /** Pushes still answerable: pending, unexpired, for the current challenge of a login in push mode. */
  async #livePushes(deviceIds: readonly string[]): Promise<PushRequest[]> {
    const rows = await this.#db
      .selectFrom('ibkey_push_requests as p')
      .innerJoin('login_transactions as t', 't.id', 'p.transaction_id')
      .innerJoin('users as u', 'u.id', 'p.user_id')
      .selectAll('p')
      .select('u.username')
      .where('p.device_id', 'in', deviceIds)
      .where('p.state', '=', 'pending')
      .where('p.expires_at', '>', this.#d.now())
      .where('t.state', '=', 'challenge')
      .where('t.mode', '=', 'default')
      .whereRef('t.challenge_seq', '=', 'p.challenge_seq')
      // The newest first: the login the user just started at the desktop is the one to answer.
      .orderBy('p.created_at', 'desc')
      .execute();
    return rows.map((r) => this.#describePush(r, r.username));
  }

  /**
   * Messages not yet delivered, each handed out once (K8), oldest first (newest last).
   *
   * Of one key's temporary passwords only the newest is handed out: setting a temporary password
   * replaces the one before (`sendTemporaryPassword` withdraws it), so an older one that is still
   * here (stored before that rule) would show a dead password, or, shown after the newer one, hide it.
   */
  async #takeMessages(deviceIds: readonly string[]): Promise<AppMessage[]> {
    const rows = await this.#db
      .selectFrom('ibkey_messages')
      .selectAll()
      .where('device_id', 'in', deviceIds)
      .where('delivered_at', 'is', null)
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .execute();
    const newest = new Map<string, string>();
    for (const m of rows) newest.set(`${m.device_id}\n${m.kind}`, m.id);
    const out: AppMessage[] = [];
    for (const m of rows) {
      if (newest.get(`${m.device_id}\n${m.kind}`) !== m.id) {
        await this.#db.deleteFrom('ibkey_messages').where('id', '=', m.id).where('delivered_at', 'is', null).execute();
        continue;
      }
      const r = await this.#db.updateTable('ibkey_messages').set({ delivered_at: this.#d.now() }).where('id', '=', m.id).where('delivered_at', 'is', null).executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) continue;
      const sealed = JSON.parse(m.sealed) as { ephemeralPublicKey: string; iv: string; ciphertext: string };
      out.push({ messageId: m.id, deviceId: m.device_id, kind: m.kind, createdAt: iso(m.created_at), ...sealed });
    }
    return out;
  }

  /**
   * The app's long-poll: pushes waiting for its users, and messages for them (L7, K3, K8).
   *
   * Each user's key counts on its own (K3): a key no longer active (K5: that user moved IB Key to
   * another phone) is named in `inactiveDeviceIds`, so the app can drop that user, and the poll goes on
   * for the others, answering at once so the app hears of it now. Only when no key of the poll is
   * active is the poll refused (`SLS_ERR_IBKEY_NOT_ACTIVE`). A bad signature refuses the whole poll.
   */
  async poll(body: unknown, sourceAddress: string): Promise<PollResponse> {
    const req = PollRequest.parse(body);
    await this.#consumeNonce(req.nonce);
    const users = new Set<string>();
    const deviceIds: string[] = [];
    const inactiveDeviceIds: string[] = [];
    for (const p of req.proofs) {
      const { user, active } = await this.#signedBy(p.deviceId, pollMessage(req.nonce, p.deviceId), p.signature, sourceAddress, true);
      if (!active) {
        inactiveDeviceIds.push(p.deviceId);
        continue;
      }
      users.add(user.id);
      deviceIds.push(p.deviceId);
    }
    if (deviceIds.length === 0) throw new SlsError('SLS_ERR_IBKEY_NOT_ACTIVE');
    const topics = [...users].map((u) => `user:${u}`);
    const wait = inactiveDeviceIds.length > 0 ? 0 : req.waitSeconds * 1000;
    const found = await waitFor(this.notifier, topics, wait, async () => {
      const requests = await this.#livePushes(deviceIds);
      const messages = await this.#takeMessages(deviceIds);
      return requests.length + messages.length > 0 ? { requests, messages, inactiveDeviceIds } : null;
    }, undefined, this.#stopping.signal);
    return found ?? { requests: [], messages: [], inactiveDeviceIds };
  }

  /**
   * The app's answer to one push (L7): signed, once, for its own login only.
   *
   * Approve with the right number: the login may complete. Deny: the login ends, recorded as possible
   * fraud. Approve with a wrong number: the login ends too and counts as a failure (push fatigue).
   */
  async answer(requestId: string, body: unknown, sourceAddress: string): Promise<AnswerResponse> {
    const req = AnswerRequest.parse(body);
    const db = this.#db;
    const now = this.#d.now();
    const push = await db.selectFrom('ibkey_push_requests').selectAll().where('id', '=', requestId).executeTakeFirst();
    if (!push) throw new SlsError('SLS_ERR_NOT_FOUND');
    // The signature is checked against what slsd stored: an answer made for another login or request fails here.
    const message = answerMessage({ transactionId: push.transaction_id, requestId: push.id, decision: req.decision, chosenNumber: req.chosenNumber, nonce: push.nonce });
    const { user } = await this.#signedBy(push.device_id, message, req.signature, sourceAddress);
    if (req.transactionId !== push.transaction_id) throw new SlsError('SLS_ERR_IBKEY_SIGNATURE_INVALID');
    // Housekeeping may have deleted a login long over (past its grace): an ended request, not a 500.
    const tx = await db.selectFrom('login_transactions').selectAll().where('id', '=', push.transaction_id).executeTakeFirst();
    if (!tx) throw new SlsError('SLS_ERR_IBKEY_REQUEST_ENDED');
    const live = push.state === 'pending' && push.expires_at > now && tx.state === 'challenge' && tx.challenge_seq === push.challenge_seq && tx.expires_at > now;
    if (!live) throw new SlsError('SLS_ERR_IBKEY_REQUEST_ENDED');

    const outcome: AnswerResponse['outcome'] = req.decision === 'deny' ? 'denied' : req.chosenNumber === push.match_number ? 'approved' : 'wrong_number';
    const nextState: IbKeyPushTable['state'] = outcome;
    const details = { transactionId: tx.id, requestId: push.id, clientName: push.client_name, place: push.place };
    const taken = await db.transaction().execute(async (trx) => {
      const r = await trx.updateTable('ibkey_push_requests').set({ state: nextState, answered_at: now }).where('id', '=', push.id).where('state', '=', 'pending').executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      if (outcome !== 'approved') {
        // SPEC L7: a denial (or a wrong number) ends the login.
        await trx
          .updateTable('login_transactions')
          .set({ state: 'ended', ended_at: now })
          .where('id', '=', tx.id)
          .where('state', '=', 'challenge')
          .where('challenge_seq', '=', push.challenge_seq)
          .execute();
      }
      // SPEC N2, L7: the answer and its audit entry (a denial as possible fraud) commit together.
      if (outcome === 'approved') {
        await this.#audit({ event: 'ibkey.push_approved', user, sourceAddress, deviceId: push.device_id, details }, trx);
      } else if (outcome === 'denied') {
        await this.#audit({ event: 'ibkey.push_denied', user, sourceAddress: tx.source_address, deviceId: push.device_id, details: { ...details, possibleFraud: true } }, trx);
      } else {
        await this.#audit({ event: 'ibkey.push_wrong_number', user, sourceAddress: tx.source_address, deviceId: push.device_id, details }, trx);
      }
      return true;
    });
    if (!taken) throw new SlsError('SLS_ERR_IBKEY_REQUEST_ENDED');

    if (outcome === 'wrong_number') {
      // A wrong number is a failed second factor of that login (L6), counted against its source.
      await this.#failure(user, tx.source_address);
    }
    this.notifier.notify(`tx:${tx.id}`);
    return { outcome };
  }

  /**
   * The desktop's long-poll on its login (SPEC L4, L7): signed in once the app approved, or why not.
   *
   * The session is opened here, in the desktop's own request, through the login service (single use,
   * last device, audit), so the token goes to the desktop only.
   */
  async status(transactionId: string, waitSeconds: number, sourceAddress: string): Promise<LoginStatus> {
    const wait = Math.max(0, Math.min(25, Math.floor(waitSeconds))) * 1000;
    const found = await waitFor<LoginStatus>(this.notifier, [`tx:${transactionId}`], wait, () => this.#statusNow(transactionId, sourceAddress), undefined, this.#stopping.signal);
    if (found) return found;
    const tx = await this.#db.selectFrom('login_transactions').select(['challenge_expires_at', 'expires_at']).where('id', '=', transactionId).executeTakeFirst();
    // Deleted while the desktop waited (housekeeping, long past its expiry): told so, not a 500.
    if (!tx) throw new SlsError('SLS_ERR_TRANSACTION_NOT_FOUND');
    return { status: 'waiting', transactionId, pushExpiresAt: iso(tx.challenge_expires_at ?? tx.expires_at) };
  }

  async #statusNow(transactionId: string, sourceAddress: string): Promise<LoginStatus | null> {
    const now = this.#d.now();
    const tx = await this.#db.selectFrom('login_transactions').selectAll().where('id', '=', transactionId).executeTakeFirst();
    if (!tx) throw new SlsError('SLS_ERR_TRANSACTION_NOT_FOUND');
    const push = await this.#db
      .selectFrom('ibkey_push_requests')
      .selectAll()
      .where('transaction_id', '=', tx.id)
      .orderBy('challenge_seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (tx.state === 'completed') throw new SlsError('SLS_ERR_CHALLENGE_USED');
    if (tx.state === 'ended') {
      if (push?.state === 'denied') return { status: 'denied', transactionId };
      if (push?.state === 'wrong_number') return { status: 'wrong_number', transactionId };
      throw new SlsError('SLS_ERR_TRANSACTION_ENDED');
    }
    if (tx.expires_at <= now) throw new SlsError('SLS_ERR_TRANSACTION_EXPIRED');
    // SPEC D5, L5, L2: the device of its challenge was taken out of use (slsctl set-status, reported
    // lost or broken, returned, set aside by a sharing: device-challenges.ts `'choose_again'`), so the
    // login went back to the device choice, keeping that device (login.ts `backToDeviceChoice`). As
    // its response and resend do, the wait answers SLS_ERR_DEVICE_NOT_AVAILABLE: read the current step
    // (GET /v1/login/:id, the drop-down), not NO_CHALLENGE ("challenge used", send a new notification).
    if (tx.state === 'select_device' && tx.device_id !== null) throw new SlsError('SLS_ERR_DEVICE_NOT_AVAILABLE');
    if (tx.state !== 'challenge' || tx.mode !== 'default' || !push || push.challenge_seq !== tx.challenge_seq) {
      throw new SlsError('SLS_ERR_NO_CHALLENGE', { message: 'This login is not waiting for an IB Key approval.' });
    }
    if (push.state === 'approved') {
      const step = await this.#d.login.respond(tx.id, push.id, sourceAddress);
      if (step.status !== 'signed_in') throw new Error('an approved push did not sign in');
      await this.#db.updateTable('ibkey_push_requests').set({ state: 'used' }).where('id', '=', push.id).where('state', '=', 'approved').execute();
      return step;
    }
    if (push.state === 'pending' && push.expires_at <= now) return { status: 'push_expired', transactionId };
    // SPEC K5, L4: the phone it went to no longer holds IB Key (moved to another phone meanwhile): its
    // notification can never be answered, so the desktop hears it at once, as when it times out, and
    // offers the code from the app (on the new phone) or another device, instead of waiting a minute.
    if (push.state === 'superseded') return { status: 'push_expired', transactionId };
    return null;
  }

  // -------------------------------------------------------------------------------------------
  // K8: a temporary password delivered to the app

  /**
   * Client services set a temporary password and deliver it to the user's IB Key app (K8), not by SMS.
   *
   * Sealed to each active IB Key device's public key: only the app, with its PIN, can read it.
   */
  async sendTemporaryPassword(username: string, issuedBy: string): Promise<{ deviceIds: string[]; messageIds: string[]; sessionsEnded: number }> {
    const normalized = normalizeUsername(username);
    const user = await this.#db.selectFrom('users').selectAll().where('username_normalized', '=', normalized).executeTakeFirst();
    if (!user) throw new SlsError('SLS_ERR_NOT_FOUND', { message: `no user ${username}` });
    const keys = await this.#db
      .selectFrom('ibkey_devices')
      .innerJoin('devices', 'devices.id', 'ibkey_devices.device_id')
      .select(['ibkey_devices.device_id', 'ibkey_devices.public_key'])
      .where('ibkey_devices.user_id', '=', user.id)
      .where('devices.status', '=', 'active')
      .execute();
    if (keys.length === 0) throw new SlsError('SLS_ERR_CONFLICT', { message: `${username} has no active IB Key to deliver to (SPEC K8)` });
    let password = '';
    for (let i = 0; i < TEMPORARY_PASSWORD_LENGTH; i++) password += TEMPORARY_PASSWORD_ALPHABET[randomInt(TEMPORARY_PASSWORD_ALPHABET.length)];
    const hash = await this.#d.passwords.hash(password);
    const messageIds: string[] = [];
    let ended = { sessions: 0, restartTokens: 0 };
    await this.#db.transaction().execute(async (trx) => {
      // SPEC K8, N1: temporary passwords of one user are set one after the other (also across slsd),
      // and each is stamped after the lock, later than any earlier one to the same keys, even within
      // one millisecond: the order of `created_at` is the order the passwords were set, so the newest
      // is the one that works (the app keeps the newest per key).
      await lockUserRow(trx, user.id);
      const now = this.#d.now();
      const deviceIds = keys.map((k) => k.device_id);
      const latest = await trx.selectFrom('ibkey_messages').select((eb) => eb.fn.max('created_at').as('at')).where('device_id', 'in', deviceIds).executeTakeFirst();
      const createdAt = Math.max(now, latest?.at == null ? 0 : Number(latest.at) + 1);
      await trx.updateTable('users').set({ password_hash: hash }).where('id', '=', user.id).execute();
      // SPEC K8, L8: the old password's sessions and restart tokens end with it.
      ended = await endEverySessionOf(trx, user.id, now);
      // SPEC K8: a temporary password not yet delivered no longer works once this one is set: it is
      // withdrawn, so the app never receives it (nor shows two passwords, one of them dead).
      const withdrawn = await trx
        .deleteFrom('ibkey_messages')
        .where('device_id', 'in', deviceIds)
        .where('delivered_at', 'is', null)
        .where('kind', '=', 'temporary_password')
        .executeTakeFirst();
      for (const k of keys) {
        const id = newId('ibm');
        const sealed = sealForDevice(k.public_key, password, messageAad(id, k.device_id));
        await trx
          .insertInto('ibkey_messages')
          .values({ id, user_id: user.id, device_id: k.device_id, kind: 'temporary_password', sealed: JSON.stringify(sealed), created_at: createdAt, delivered_at: null })
          .execute();
        messageIds.push(id);
      }
      // SPEC N2: a new password is on record with it, or not set at all.
      await this.#audit({ event: 'ibkey.temporary_password_sent', user, details: { issuedBy, devices: keys.length, sessionsEnded: ended.sessions, restartTokensRevoked: ended.restartTokens, undeliveredWithdrawn: Number(withdrawn.numDeletedRows) } }, trx);
    });
    this.notifier.notify(`user:${user.id}`);
    return { deviceIds: keys.map((k) => k.device_id), messageIds, sessionsEnded: ended.sessions };
  }
}

export type { IbKeyDatabase };
