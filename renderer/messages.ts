/**
 * What the user reads for each error, in the client's language (SPEC L6, C5): what happened, what
 * to do, and until when. Times are New York time, the broker's clock (UI.md: "Try again after 14:32
 * (New York time)"), written the way the language writes them.
 */
import { formatCountdown, formatNewYorkTime } from '../core/contract/messages.ts';
import { DEVICE_CATALOGUE } from '../core/devices.ts';
import type { DeviceKind } from '../core/devices.ts';
import type { AutoRestartAttempt, ClientError, ErrorText } from '../core/contract/index.ts';
import type en from './i18n/en/errors.ts';
import { currentLanguage, i18n, locale } from './i18n/index.ts';
import { formatUsd } from './money.ts';
import { deviceLabel, deviceName } from './devices.ts';

function validDate(iso: string | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

const nyTime = (when: Date, now: Date) => formatNewYorkTime(when, now, locale());

/**
 * slsd's own advice (English) where the client has no words of its own for the case; in another
 * language the client's general advice reads better than a sentence in English.
 */
const serverAdvice = (advice: string | undefined, fallback: string) => (advice && currentLanguage() === 'en' ? advice : fallback);

/** Codes whose English wording is slsd's own (it names amounts, devices, users); other languages get the general meaning. */
const SERVER_WORDED: Readonly<Record<string, keyof typeof en.server>> = {
  SLS_ERR_FORBIDDEN: 'forbidden',
  SLS_ERR_CONFLICT: 'conflict',
  SLS_ERR_NOT_FOUND: 'notFound',
  SLS_ERR_INTERNAL: 'internal',
  SLS_ERR_HOST_INTERNAL: 'hostInternal',
  SLS_ERR_CODE_EXPIRED: 'codeExpired',
  SLS_ERR_PORTAL_ONLY: 'portalOnly',
  SLS_ERR_IBKEY_PUSH_LIMIT: 'pushLimit',
  SLS_ERR_SECOND_FACTOR_REQUIRED: 'secondFactorRequired',
  SLS_ERR_DSCPLUS_NOT_ELIGIBLE: 'dscPlusNotEligible',
  SLS_ERR_DEVICE_NOT_ISSUED: 'deviceNotIssued',
  SLS_ERR_LESS_SECURE_DEVICE: 'lessSecureDevice',
  SLS_ERR_DIFFERENT_IDENTIFICATION: 'differentIdentification',
  SLS_ERR_SHARING_TEMPORARY_DEVICE: 'sharingTemporaryDevice',
  SLS_ERR_SHARING_IBKEY: 'sharingIbKey',
  SLS_ERR_DEVICE_NOT_SHAREABLE: 'deviceNotShareable',
  SLS_ERR_PHONE_INVALID: 'phoneInvalid',
  SLS_ERR_PHONE_VOIP: 'phoneVoip',
  SLS_ERR_PHONE_NOT_MOBILE: 'phoneNotMobile',
};

function serverWorded(error: ClientError, key: keyof typeof en.server): ErrorText {
  const t = i18n.t;
  const message = currentLanguage() === 'en' && error.message ? error.message : t(`errors:server.${key}`);
  const action = i18n.exists(`errors:serverAction.${key}`) ? t(`errors:serverAction.${key}` as never) : '';
  // slsd's English may already say what to do (SLS_ERR_IBKEY_PUSH_LIMIT): not twice.
  return { message, action: action && message.includes(action) ? '' : action };
}

/** The polite notice shown a few minutes before the session ends (SPEC C5). */
export function sessionEndingText(expiresAt: string, now: Date = new Date()): ErrorText {
  const at = validDate(expiresAt);
  return {
    message: at ? i18n.t('errors:sessionEnding.messageAt', { when: nyTime(at, now) }) : i18n.t('errors:sessionEnding.message'),
    action: i18n.t('errors:sessionEnding.action'),
  };
}

/** What the login form says after the session ended while signed in: when, if it ran out, and what to do. */
export function sessionEndedText(expiresAt: string | undefined, now: Date = new Date()): ErrorText {
  const at = validDate(expiresAt);
  return {
    message: at ? i18n.t('errors:sessionEndedAt.messageAt', { when: nyTime(at, now) }) : i18n.t('errors:sessionEndedAt.message'),
    action: i18n.t('errors:sessionEndedAt.action'),
  };
}

/**
 * SPEC L8: the one calm line on the login form when the auto-restart of this start did not sign in:
 * that it did not, why, and what happens next (the lock's end in New York time, L6). The whole line
 * is the message: the form shows it as news, not as an error of the user's.
 */
export function autoRestartFailedText(attempt: AutoRestartAttempt, now: Date = new Date()): ErrorText {
  const t = i18n.t;
  switch (attempt.outcome) {
    case 'locked': {
      const until = validDate(attempt.lockedUntil);
      return { message: until ? t('errors:autoRestartFailed.lockedUntil', { when: nyTime(until, now) }) : t('errors:autoRestartFailed.locked'), action: '' };
    }
    default:
      return { message: t(`errors:autoRestartFailed.${attempt.outcome}`), action: '' };
  }
}

/** SPEC L2–L5, C5: on the device screens in the login's last minute. */
export function loginEndingText(): ErrorText {
  return { message: i18n.t('errors:loginEnding.message'), action: i18n.t('errors:loginEnding.action') };
}

/** SPEC L2–L5, C5: on the login form once the login's time ran out; the user name is still there. */
export function loginExpiredText(): ErrorText {
  return { message: i18n.t('errors:loginExpired.message'), action: i18n.t('errors:loginExpired.action') };
}

/**
 * The wording for an error. Known codes get ours (kept from the knowledge base where it has one);
 * unknown codes fall back to the server's safe message.
 */
export function describeError(error: ClientError, now: Date = new Date()): ErrorText {
  const t = i18n.t;
  const retry = validDate(error.retryAt);
  switch (error.code) {
    case 'SLS_ERR_INVALID_CREDENTIALS':
      // SPEC L1: one generic line for unknown users and wrong passwords alike.
      return { message: t('errors:invalidCredentials.message'), action: t('errors:invalidCredentials.action') };
    case 'SLS_ERR_USER_LOCKED': {
      // SPEC L6 and UI.md: the exact wording, with the time the lock ends.
      const until = validDate(error.lockedUntil);
      return { message: t('errors:locked.message'), action: until ? t('errors:locked.actionUntil', { when: nyTime(until, now) }) : t('errors:locked.action') };
    }
    case 'SLS_ERR_SERVICE_UNAVAILABLE':
      // slsd could not reach its database: nothing happened, and a retry in a moment is right.
      return { message: t('errors:serviceUnavailable.message'), action: t('errors:serviceUnavailable.action') };
    case 'SLS_ERR_SMS_LIMIT':
      // SPEC L4, P1: the phone's budget of texts, not this computer's attempts.
      return { message: t('errors:smsLimit.message'), action: retry ? t('errors:smsLimit.actionUntil', { when: nyTime(retry, now) }) : t('errors:smsLimit.action') };
    case 'SLS_ERR_RATE_LIMITED':
      return { message: t('errors:rateLimited.message'), action: retry ? t('errors:rateLimited.actionUntil', { when: nyTime(retry, now) }) : t('errors:rateLimited.action') };
    case 'SLS_ERR_WRONG_RESPONSE': {
      const left = error.attemptsLeft;
      const message = t('errors:wrongResponse.message');
      if (left === 0) return { message, action: t('errors:wrongResponse.actionEnded') };
      return { message, action: left === undefined ? t('errors:wrongResponse.action') : t('errors:wrongResponse.actionLeft', { count: left }) };
    }
    case 'SLS_ERR_TRANSACTION_EXPIRED':
      return { message: t('errors:transactionExpired.message'), action: t('errors:transactionExpired.action') };
    case 'SLS_ERR_TRANSACTION_ENDED':
    case 'SLS_ERR_TRANSACTION_NOT_FOUND':
    case 'SLS_ERR_NO_LOGIN_IN_PROGRESS':
      return { message: t('errors:transactionEnded.message'), action: t('errors:transactionEnded.action') };
    case 'SLS_ERR_LOGIN_NOT_CURRENT':
      // SPEC L6, C5: the screen was of a login a newer one replaced; what it sent went nowhere.
      return { message: t('errors:loginNotCurrent.message'), action: t('errors:loginNotCurrent.action') };
    case 'SLS_ERR_NO_ACTIVE_DEVICE':
      return { message: t('errors:noActiveDevice.message'), action: t('errors:noActiveDevice.action') };
    case 'SLS_ERR_DEVICE_NOT_AVAILABLE':
      return { message: t('errors:deviceNotAvailable.message'), action: t('errors:deviceNotAvailable.action') };
    case 'SLS_ERR_NO_CHALLENGE':
    case 'SLS_ERR_CHALLENGE_USED':
      return { message: t('errors:challengeUsed.message'), action: t('errors:challengeUsed.action') };
    case 'SLS_ERR_MOBILE_CODE_ENDED':
      // SPEC P1, L6: the number's code is over after 3 wrong codes; only a new one can verify it.
      return { message: t('errors:mobileCodeEnded.message'), action: t('errors:mobileCodeEnded.action') };
    case 'SLS_ERR_RESEND_TOO_SOON':
      return {
        message: t('errors:resendTooSoon.message'),
        action: retry ? t('errors:resendTooSoon.actionIn', { countdown: formatCountdown(retry.getTime() - now.getTime()) }) : t('errors:resendTooSoon.action'),
      };
    case 'SLS_ERR_SMS_CARRIER_HOURS':
      return { message: t('errors:carrierHours.message'), action: retry ? t('errors:carrierHours.actionUntil', { when: nyTime(retry, now) }) : t('errors:carrierHours.action') };
    case 'SLS_ERR_PHONE_DO_NOT_CALL':
      return { message: t('errors:doNotCall.message'), action: serverAdvice(error.message, t('errors:doNotCall.action')) };
    case 'SLS_ERR_UNAUTHENTICATED':
    case 'SLS_ERR_SESSION_EXPIRED':
      return { message: t('errors:sessionEnded.message'), action: t('errors:sessionEnded.action') };
    case 'SLS_ERR_SERVER_ADDRESS_INSECURE':
      // SPEC C1, C3: never a password in clear to another computer.
      return { message: t('errors:serverAddressInsecure.message'), action: t('errors:serverAddressInsecure.action') };
    case 'SLS_ERR_SERVER_ADDRESS_INVALID':
      return { message: t('errors:serverAddressInvalid.message'), action: t('errors:serverAddressInvalid.action') };
    case 'SLS_ERR_SERVER_UNREACHABLE':
      return { message: t('errors:serverUnreachable.message'), action: t('errors:serverUnreachable.action') };
    case 'SLS_ERR_BAD_SERVER_RESPONSE':
      return { message: t('errors:badServerResponse.message'), action: t('errors:badServerResponse.action') };
    case 'SLS_ERR_VALIDATION':
    case 'SLS_ERR_INVALID_INPUT':
      // SPEC C1: a server address typed on the login screen that the contract refuses is an invalid address, said so in every language.
      if (error.issues?.some((i) => i.path === 'serverAddress')) return { message: t('errors:serverAddressInvalid.message'), action: t('errors:serverAddressInvalid.action') };
      return { message: t('errors:invalidInput.message'), action: serverAdvice(error.issues?.[0]?.message, t('errors:invalidInput.action')) };
    case 'SLS_ERR_SIGN_OUT_FIRST':
      // SPEC C3: another server chosen while signed in; the address itself is fine, so never "not valid".
      return { message: t('errors:signOutFirst.message'), action: t('errors:signOutFirst.action') };
    case 'SLS_ERR_UNTRUSTED_SENDER':
      // SPEC C3: the Electron sender check refused the call; never in normal use, so restart, then client services.
      return { message: t('errors:untrustedSender.message'), action: t('errors:untrustedSender.action') };
    case 'SLS_ERR_PUSH_DENIED':
      // UI.md wording.
      return { message: t('errors:pushDenied.message'), action: t('errors:pushDenied.action') };
    case 'SLS_ERR_PUSH_WRONG_NUMBER':
      return { message: t('errors:pushWrongNumber.message'), action: t('errors:pushWrongNumber.action') };
    case 'SLS_ERR_HOST_DISCONNECTED':
      return { message: t('errors:hostDisconnected.message'), action: t('errors:hostDisconnected.action') };
    case 'SLS_ERR_KEYCHAIN':
      return { message: t('errors:keychain.message'), action: t('errors:keychain.action') };
    case 'SLS_ERR_WITHDRAWAL_LIMIT': {
      // SPEC W2: which limit of which device, and the device of the user that would allow the amount.
      const w = error.withdrawalLimit;
      const kind = w && Object.hasOwn(DEVICE_CATALOGUE, w.deviceKind) ? DEVICE_CATALOGUE[w.deviceKind as DeviceKind] : null;
      if (!w || !kind) return serverWorded(error, 'withdrawalLimit');
      return {
        message: t('errors:withdrawalLimit.message', {
          limitName: w.limit === 'per_day' ? t('errors:withdrawalLimit.perDay') : t('errors:withdrawalLimit.fiveBusinessDays'),
          device: deviceName(w.deviceKind),
          limit: formatUsd(w.limitCents),
          available: formatUsd(w.availableCents),
        }),
        action: w.useDeviceLabel ? t('errors:withdrawalLimit.useDevice', { device: deviceLabel(w.useDeviceLabel) }) : t('errors:withdrawalLimit.noDevice'),
      };
    }
    case 'SLS_ERR_NOT_PRIMARY_USER':
      // SPEC O3: slsd says what the user tried; elsewhere the user who may, by name.
      if (error.primaryUser && currentLanguage() !== 'en') {
        return { message: t('errors:notPrimaryUser', { who: `${error.primaryUser.displayName} (${error.primaryUser.username})` }), action: '' };
      }
      return serverWorded(error, 'notPrimaryUser');
    default: {
      const worded = SERVER_WORDED[error.code];
      if (worded) return serverWorded(error, worded);
      // A code this client does not know (a newer slsd): its safe message says more than a general line.
      return { message: error.message || t('errors:unknown.message'), action: t('errors:unknown.action') };
    }
  }
}

/**
 * SPEC W2: a withdrawal refused over the chosen device's limit after the client chose for the user the
 * device that would allow it (`deviceToSwitchTo`): why, as `describeError` words it, then that the
 * device was switched, to which (`device`, as the drop-down names it) and what to press.
 */
export function describeWithdrawalSwitched(error: ClientError, device: string): ErrorText {
  return { message: describeError(error).message, action: i18n.t('errors:withdrawalLimit.switched', { device, button: i18n.t('account:continue') }) };
}

/**
 * The mobile number's verification code (SPEC P1, L6): a wrong one counts against that code's own 3
 * tries, not a login's; everything else as anywhere (the third wrong code: SLS_ERR_MOBILE_CODE_ENDED).
 */
export function describeMobileCodeError(error: ClientError, now: Date = new Date()): ErrorText {
  const t = i18n.t;
  // No code waits (expired, or replaced by a newer one): the number's code, not a login's challenge.
  if (error.code === 'SLS_ERR_NO_CHALLENGE') return { message: t('errors:mobileCodeGone.message'), action: t('errors:mobileCodeGone.action') };
  if (error.code !== 'SLS_ERR_WRONG_RESPONSE') return describeError(error, now);
  const left = error.attemptsLeft;
  return { message: t('errors:mobileCodeWrong.message'), action: left === undefined || left === 0 ? t('errors:mobileCodeWrong.action') : t('errors:mobileCodeWrong.actionLeft', { count: left }) };
}

/**
 * The wording for an error of a confirmation in Account security (a withdrawal, a sharing request,
 * a device's activation): a wrong response counts against the confirmation's own 3 (SPEC L6), and
 * an ended or expired one did nothing and is started again, where the login's wording would say
 * "in this login" and "Log in again". Other errors read as anywhere else.
 */
export function describeConfirmationError(error: ClientError, now: Date = new Date()): ErrorText {
  const t = i18n.t;
  switch (error.code) {
    case 'SLS_ERR_WRONG_RESPONSE': {
      const left = error.attemptsLeft;
      const message = t('errors:wrongResponse.message');
      if (left === 0) return { message, action: t('errors:confirmation.wrongResponse.actionEnded') };
      return { message, action: left === undefined ? t('errors:confirmation.wrongResponse.action') : t('errors:confirmation.wrongResponse.actionLeft', { count: left }) };
    }
    case 'SLS_ERR_TRANSACTION_EXPIRED':
      return { message: t('errors:confirmation.expired.message'), action: t('errors:confirmation.expired.action') };
    case 'SLS_ERR_TRANSACTION_ENDED':
    case 'SLS_ERR_TRANSACTION_NOT_FOUND':
      return { message: t('errors:confirmation.ended.message'), action: t('errors:confirmation.ended.action') };
    default:
      return describeError(error, now);
  }
}

/** Errors after which a confirmation cannot be answered any more (SPEC L6): the panel starts over, keeping what was typed before. */
export function endsConfirmation(error: ClientError): boolean {
  switch (error.code) {
    case 'SLS_ERR_TRANSACTION_ENDED':
    case 'SLS_ERR_TRANSACTION_EXPIRED':
    case 'SLS_ERR_TRANSACTION_NOT_FOUND':
    case 'SLS_ERR_CHALLENGE_USED':
    case 'SLS_ERR_CODE_EXPIRED':
      return true;
    case 'SLS_ERR_WRONG_RESPONSE':
      return error.attemptsLeft === 0;
    default:
      return false;
  }
}
