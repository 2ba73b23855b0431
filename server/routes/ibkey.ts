/**
 * IB Key's routes (SPEC K1–K8, L4, L7), registered into the route table like every other.
 *
 * The app's requests carry their own proof (a signature of a user's key over a single-use nonce) in
 * the body, so they need no bearer token; the desktop's status long-poll is keyed by its login
 * transaction, like the rest of the login.
 */
import { z } from 'zod';
import type { ErrorCode } from '../../core/api.ts';
import { API_PREFIX, LoginStatus, SMS_POLICY_ERRORS } from '../../core/api.ts';
import {
  AnswerRequest,
  AnswerResponse,
  CheckActivationCodeRequest,
  CheckActivationCodeResponse,
  CompleteActivationRequest,
  CompleteActivationResponse,
  NonceResponse,
  PollRequest,
  PollResponse,
  StartActivationRequest,
  StartActivationResponse,
} from '../../ibkey/protocol.ts';
import type { IbKeyService } from '../services/ibkey.ts';
import type { Services } from '../services/index.ts';
import type { RouteDefinition, RouteInput } from './table.ts';

const BODY_ERRORS: readonly ErrorCode[] = ['SLS_ERR_VALIDATION', 'SLS_ERR_MALFORMED_JSON', 'SLS_ERR_BODY_TOO_LARGE', 'SLS_ERR_UNSUPPORTED_MEDIA_TYPE'];
const SIGNED_ERRORS: readonly ErrorCode[] = ['SLS_ERR_IBKEY_NONCE_INVALID', 'SLS_ERR_IBKEY_SIGNATURE_INVALID', 'SLS_ERR_IBKEY_NOT_ACTIVE'];

/** What typing an activation code may meet, at the check and at completion alike (K1, L6). */
const ACTIVATION_CODE_ERRORS: readonly ErrorCode[] = [
  'SLS_ERR_IBKEY_ACTIVATION_ENDED',
  'SLS_ERR_IBKEY_ACTIVATION_EXPIRED',
  'SLS_ERR_WRONG_RESPONSE',
  'SLS_ERR_USER_LOCKED',
  'SLS_ERR_DEVICE_NOT_AVAILABLE',
];

const IdParam = z.string().min(1).max(64);

const ibkey = (s: Services): IbKeyService => s.ibkey;

/** `?wait=N` seconds, 0–25; 0 when absent or when the app passes no query. */
export function waitSeconds(input: RouteInput): number {
  const raw = input.query?.wait;
  if (raw === undefined) return 0;
  return z.coerce.number().int().min(0).max(25).parse(raw);
}

export const IBKEY_ROUTES: readonly RouteDefinition[] = [
  {
    method: 'POST',
    url: `${API_PREFIX}/ibkey/activations`,
    operationId: 'ibkeyStartActivation',
    summary: 'IB Key: start an activation, reactivation or transfer',
    description:
      'Activation (K1): user name and password; an activation code goes by SMS to the number on file, which the activation verifies (P3). ' +
      'Reactivation (K4) and transfer (K5): on Android the user name and password, on iOS a signature of the key originally set (unlocked by the PIN originally set); ' +
      'a user with another active physical device answers its challenge instead of the SMS (K6); otherwise, without the number, SLS_ERR_IBKEY_RECOVERY_UNAVAILABLE (K7).',
    spec: 'K1 K4 K5 K6 K7 P3',
    auth: false,
    body: StartActivationRequest,
    response: StartActivationResponse,
    errors: [
      ...BODY_ERRORS,
      ...SIGNED_ERRORS,
      'SLS_ERR_INVALID_CREDENTIALS',
      'SLS_ERR_USER_LOCKED',
      'SLS_ERR_RATE_LIMITED',
      'SLS_ERR_CONFLICT',
      'SLS_ERR_IBKEY_NO_MOBILE',
      'SLS_ERR_IBKEY_RECOVERY_UNAVAILABLE',
      ...SMS_POLICY_ERRORS,
    ],
    async handler(s, { body, sourceAddress }) {
      return ibkey(s).startActivation(body, sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/ibkey/activations/:activationId/check`,
    operationId: 'ibkeyCheckActivationCode',
    summary: 'IB Key: is the SMS code (or the other device\'s response) right? Checked without using it',
    description:
      'The app checks the code before it asks the user for a PIN (K1), then completes with the same code, which is still used once. ' +
      'A wrong code counts exactly as at completion: the activation\'s 3 codes and the user\'s and address\'s failures (L6), so checking guesses no faster. ' +
      'An unused activation older than 10 minutes: SLS_ERR_IBKEY_ACTIVATION_EXPIRED (start again for a new code); used, ended or unknown: SLS_ERR_IBKEY_ACTIVATION_ENDED. ' +
      'A right code keeps the activation open a few minutes more (`expiresAt`), for the PIN to be chosen.',
    spec: 'K1 K4 K5 K6 L6',
    auth: false,
    body: CheckActivationCodeRequest,
    response: CheckActivationCodeResponse,
    errors: [...BODY_ERRORS, ...ACTIVATION_CODE_ERRORS],
    async handler(s, { body, params, sourceAddress }) {
      return ibkey(s).checkActivationCode(IdParam.parse(params.activationId), body, sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/ibkey/activations/:activationId/complete`,
    operationId: 'ibkeyCompleteActivation',
    summary: 'IB Key: the SMS code (or the other device\'s response) and the app\'s public key',
    description:
      'Answers the OCRA key for offline codes once. Recovery revokes the previous IB Key of the user: its key and offline codes are refused from then on (K5). ' +
      '3 wrong codes end the activation (checks included); after 10 minutes it has expired. Without `label`, a reactivation or transfer keeps the name of the IB Key it replaces (K4, K5).',
    spec: 'K1 K2 K4 K5 K6 P3 L6',
    auth: false,
    body: CompleteActivationRequest,
    response: CompleteActivationResponse,
    errors: [...BODY_ERRORS, ...ACTIVATION_CODE_ERRORS],
    async handler(s, { body, params, sourceAddress }) {
      return ibkey(s).completeActivation(IdParam.parse(params.activationId), body, sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/ibkey/nonces`,
    operationId: 'ibkeyNonce',
    summary: 'IB Key: a single-use nonce for a signed request',
    spec: 'L7',
    auth: false,
    response: NonceResponse,
    // SPEC N1: no login needed, so nonces per source address are bounded.
    errors: ['SLS_ERR_RATE_LIMITED'],
    async handler(s, { sourceAddress }) {
      return ibkey(s).newNonce(sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/ibkey/requests`,
    operationId: 'ibkeyPoll',
    summary: 'IB Key: long-poll for push approvals and messages',
    description:
      'Signed by each user\'s key over one fresh nonce; waits up to `waitSeconds` (≤ 25) for a push (client, place, time, numbers to choose from) or a message (K8). ' +
      'Each key counts on its own (K3): keys no longer active (K5) are named in `inactiveDeviceIds` and the others are served; only a poll with no active key is refused. ' +
      'A POST because the proof travels in the body.',
    spec: 'L7 K3 K8',
    auth: false,
    body: PollRequest,
    response: PollResponse,
    errors: [...BODY_ERRORS, ...SIGNED_ERRORS],
    async handler(s, { body, sourceAddress }) {
      return ibkey(s).poll(body, sourceAddress);
    },
  },
  {
    method: 'POST',
    url: `${API_PREFIX}/ibkey/requests/:requestId/answer`,
    operationId: 'ibkeyAnswer',
    summary: 'IB Key: approve (with the number shown on the desktop) or deny a login',
    description:
      'Signed over transaction id, request id, decision, chosen number and the request\'s nonce; taken once. Deny ends the login and is audited as possible fraud; ' +
      'a wrong number ends it too (push fatigue). A replay or an answer for another login is refused.',
    spec: 'L7 L6',
    auth: false,
    body: AnswerRequest,
    response: AnswerResponse,
    errors: [...BODY_ERRORS, ...SIGNED_ERRORS, 'SLS_ERR_NOT_FOUND', 'SLS_ERR_IBKEY_REQUEST_ENDED'],
    async handler(s, { body, params, sourceAddress }) {
      return ibkey(s).answer(IdParam.parse(params.requestId), body, sourceAddress);
    },
  },
  {
    method: 'GET',
    url: `${API_PREFIX}/login/:transactionId/status`,
    operationId: 'loginStatus',
    summary: 'Long-poll a login waiting for IB Key approval (`?wait=25`)',
    description:
      '`signed_in` once the app approved; `denied` or `wrong_number` when the app ended the login; `push_expired` when the app did not answer in time ' +
      '(fall back with POST /v1/login/:transactionId/device, mode `offline`); `waiting` after `wait` seconds without news.',
    spec: 'L4 L5 L7',
    auth: false,
    response: LoginStatus,
    errors: ['SLS_ERR_VALIDATION', 'SLS_ERR_TRANSACTION_NOT_FOUND', 'SLS_ERR_TRANSACTION_ENDED', 'SLS_ERR_TRANSACTION_EXPIRED', 'SLS_ERR_CHALLENGE_USED', 'SLS_ERR_NO_CHALLENGE', 'SLS_ERR_DEVICE_NOT_AVAILABLE', 'SLS_ERR_USER_LOCKED'],
    async handler(s, input) {
      return ibkey(s).status(IdParam.parse(input.params.transactionId), waitSeconds(input), input.sourceAddress);
    },
  },
];
