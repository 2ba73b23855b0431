/**
 * Names of every renderer→host call and host→renderer event, without zod.
 *
 * The preload and the renderer need the names but must stay small (no schema library in the
 * sandboxed preload, SPEC C3); `contract.ts` checks at compile time that its schemas cover exactly
 * these names.
 */

export const CALL_NAMES = [
  'login',
  'selectDevice',
  'respond',
  'waitForApproval',
  'resendCode',
  'cancelLogin',
  'getSession',
  // SPEC L8: why the auto-restart at the start did not sign in.
  'getAutoRestartAttempt',
  'signOut',
  'getSettings',
  'setSettings',
  'resetAppData',
  'getAppInfo',
  'getConnectedCards',
  // SPEC C6, O1, O3, L8: the Client Portal login (step-up) for the Account screens of the signed-in user.
  'portalLogin',
  'getPortalSession',
  // Account security, the portal functions under the Account menu (SPEC C1, C6).
  'getWithdrawals',
  'startWithdrawal',
  'confirmWithdrawal',
  'getDevices',
  'orderDscPlus',
  'getOptOut',
  'optOut',
  'optIn',
  'startSharing',
  'answerSharing',
  'submitSharing',
  'getSharings',
  'cancelSharing',
  'getMobileNumber',
  'setMobileNumber',
  'verifyMobileNumber',
  // Devices (SPEC D6, D8, T3) and temporary access (T1, T2).
  'startDeviceActivation',
  'completeDeviceActivation',
  'reportDevice',
  'returnDevice',
  'cancelDeviceOrder',
  'getOnlineCard',
  'downloadOnlineCard',
  // A plugged-in DSC+ answers portal confirmations over USB (SPEC C2, H2).
  'confirmWithdrawalOnCard',
  'cancelCardConfirmation',
  'completeDeviceActivationOnCard',
  'answerSharingOnCard',
] as const;
export type CallName = (typeof CALL_NAMES)[number];

export const EVENT_NAMES = ['dscplusAttached', 'dscplusDetached', 'dscplusStatus', 'sessionEnded', 'autoRestartChanged'] as const;
export type EventName = (typeof EVENT_NAMES)[number];

/** The IPC channel of a call: one namespace, so the main process can refuse anything else. */
export function callChannel(name: CallName): string {
  return `sls:call:${name}`;
}

/** The IPC channel of an event. */
export function eventChannel(name: EventName): string {
  return `sls:event:${name}`;
}

export function isCallName(value: unknown): value is CallName {
  return typeof value === 'string' && (CALL_NAMES as readonly string[]).includes(value);
}

export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && (EVENT_NAMES as readonly string[]).includes(value);
}
