/** English: what the user reads for each error (SPEC L6, C5); the knowledge base's wording where it has one. */
const errors = {
  invalidCredentials: { message: 'The user name or password is incorrect.', action: 'Check both and try again.' },
  locked: { message: 'Too many failed attempts.', actionUntil: 'Try again after {{when}} (New York time) or call client services.', action: 'Try again later or call client services.' },
  smsLimit: { message: 'Too many codes were sent by text message lately.', actionUntil: 'You can ask for a new one after {{when}} (New York time), or choose another device.', action: 'Try again later, or choose another device.' },
  rateLimited: { message: 'Too many attempts from this computer.', actionUntil: 'Try again after {{when}} (New York time).', action: 'Wait a moment and try again.' },
  wrongResponse: {
    message: 'That response is not correct.',
    actionEnded: 'This login has ended after 3 wrong responses. Log in again.',
    action: 'Check the code and try again.',
    actionLeft_one: 'Check the code and try again: {{count}} attempt left in this login.',
    actionLeft_other: 'Check the code and try again: {{count}} attempts left in this login.',
  },
  transactionExpired: { message: 'This login took too long and has expired.', action: 'Log in again.' },
  transactionEnded: { message: 'This login has ended.', action: 'Log in again.' },
  /** SPEC L6, C5: a step of a login that a newer one replaced (another window, a page reload); nothing was sent, nothing counted. */
  loginNotCurrent: { message: 'A newer login was started, maybe in another window, so this one cannot go on.', action: 'Nothing was sent for it. Log in again, or go on in the newer login.' },
  /**
   * A confirmation in Account security (a withdrawal, a sharing request, a device's activation): its
   * own 3 wrong responses (SPEC L6), not a login's; ended or expired, nothing was done.
   */
  confirmation: {
    wrongResponse: {
      actionEnded: 'This confirmation has ended after 3 wrong responses; nothing was done. Start again for a new challenge.',
      action: 'Check the code and try again.',
      actionLeft_one: 'Check the code and try again: {{count}} attempt left for this confirmation.',
      actionLeft_other: 'Check the code and try again: {{count}} attempts left for this confirmation.',
    },
    ended: { message: 'This confirmation has ended; nothing was done.', action: 'Start again for a new challenge.' },
    expired: { message: 'This confirmation took too long and has expired; nothing was done.', action: 'Start again for a new challenge.' },
  },
  noActiveDevice: { message: 'Your user has no active second factor device.', action: 'Call client services for temporary access.' },
  deviceNotAvailable: { message: 'This device cannot be used right now.', action: 'Choose another device.' },
  challengeUsed: { message: 'This challenge is no longer valid.', action: 'Choose the device again to get a new challenge.' },
  /** SPEC P1, L6: a wrong code for the mobile number's verification, with that code's own tries left. */
  mobileCodeWrong: {
    message: 'That code is not correct.',
    action: 'Check the text message and try again.',
    actionLeft_one: 'Check the text message and try again: {{count}} attempt left for this code.',
    actionLeft_other: 'Check the text message and try again: {{count}} attempts left for this code.',
  },
  /** SPEC P1, L6: a mobile number's verification code took 3 wrong codes; a new one is asked for. */
  mobileCodeEnded: { message: 'This code has ended after 3 wrong codes.', action: 'Ask for a new code and type the new one.' },
  /** SPEC P1: no code waits any more for the number (it expired after 15 minutes, or a newer one replaced it). */
  mobileCodeGone: { message: 'This code is no longer valid: it expired or a newer one was sent.', action: 'Ask for a new code and type the new one.' },
  resendTooSoon: { message: 'A new code cannot be sent yet.', actionIn: 'Try again in {{countdown}}.', action: 'Wait a moment and try again.' },
  carrierHours: {
    message: 'A text message cannot be delivered to your phone at this hour (carrier hours).',
    actionUntil: 'Use another device, or try again after {{when}} (New York time).',
    action: 'Use another device, or try again later.',
  },
  doNotCall: { message: 'Your mobile number is on a do-not-call list and cannot receive text messages.', action: 'Choose another device, or call client services.' },
  sessionEnded: { message: 'Your session has ended.', action: 'Log in again.' },
  serviceUnavailable: { message: 'The SLS server cannot complete this right now.', action: 'Nothing was changed. Try again in a moment.' },
  serverAddressInsecure: { message: 'The server address must use https://.', action: 'Plain http is allowed only to a server on this computer. Check the address with your firm.' },
  serverAddressInvalid: { message: 'The server address is not valid.', action: 'Enter a host name such as sls.example.com, or an https:// address.' },
  serverUnreachable: { message: 'Cannot reach the SLS server.', action: 'Check the server address and your connection, then try again.' },
  badServerResponse: { message: 'The server did not answer like an SLS server.', action: 'Check the server address.' },
  invalidInput: { message: 'Some input is not valid.', action: 'Check what you typed and try again.' },
  /** SPEC C3: another server chosen while signed in (maybe in another window): the address is fine, the session holds it. */
  signOutFirst: { message: 'You are signed in to the current server, maybe in another window.', action: 'Sign out before choosing another server.' },
  pushDenied: { message: 'The request was denied on your phone.', action: "If that wasn't you, your account is protected: call client services." },
  pushWrongNumber: { message: 'The number chosen on your phone did not match the one on this screen.', action: 'This login has ended. Log in again and choose the number shown here.' },
  hostDisconnected: { message: 'The connection to SLS Desktop was lost.', action: 'Close this window and start SLS Desktop again.' },
  /** SPEC C3: the host refused a call from a frame it does not trust; never in normal use. */
  untrustedSender: { message: 'SLS Desktop refused a request from this window.', action: 'Quit SLS Desktop and start it again; if it keeps happening, call client services.' },
  keychain: { message: 'The system keychain could not be used.', action: 'Unlock your keychain and try again.' },
  unknown: { message: 'Something went wrong.', action: 'Try again; if it keeps happening, call client services.' },
  sessionEnding: { messageAt: 'Your session ends at {{when}} (New York time).', message: 'Your session ends soon.', action: 'After that, log in again to go on.' },
  sessionEndedAt: { messageAt: 'Your session ended at {{when}} (New York time).', message: 'Your session has ended.', action: 'Log in again.' },
  /** SPEC L8: one calm line on the login form when the start's auto-restart did not sign in: why, and what happens next. */
  autoRestartFailed: {
    refused: 'Auto-restart did not sign you in: it is no longer valid. Log in to turn it on again.',
    expired: 'Auto-restart did not sign you in: it ends each week on Sunday at 01:00 (New York time). Log in to turn it on again.',
    lockedUntil: 'Auto-restart did not sign you in: too many failed attempts. Try again after {{when}} (New York time) or call client services.',
    locked: 'Auto-restart did not sign you in: too many failed attempts. Try again later or call client services.',
    devices: 'Auto-restart did not sign you in: your devices no longer allow it. Log in to see why.',
    unavailable: 'Auto-restart did not sign you in: the server could not be reached. It tries again at the next start, or log in now.',
  },
  /** SPEC L2–L5, C5: the login's own time limit, on the device screens in its last minute, then on the login form. */
  loginEnding: { message: 'This login ends in less than a minute.', action: 'Finish it now, or log in again afterwards.' },
  loginExpired: { message: 'This login took too long and has expired.', action: 'Enter your password to start again.' },
  /** SPEC W2: which limit of which device, and what to do. */
  withdrawalLimit: {
    message: 'This withdrawal would pass the {{limitName}} of your {{device}} ({{limit}}; {{available}} left).',
    perDay: 'daily limit',
    fiveBusinessDays: 'five-business-day limit',
    useDevice: 'Use your {{device}} to confirm this withdrawal.',
    noDevice: 'None of your devices allows this amount now: withdraw less, or wait until earlier withdrawals leave the window.',
    /** After the client chose that device for the user (the amount kept): said plainly, so the switch is not missed. */
    switched: 'We switched to your {{device}}, which allows this amount: press {{button}} to confirm this withdrawal with it.',
  },
  /** SPEC O3: who may. */
  notPrimaryUser: "Only {{who}}, the account's primary user, can change its security settings.",
  /**
   * Codes slsd words more precisely than the client can (it names amounts, devices, users): English
   * shows slsd's own message, the other languages these general meanings.
   */
  server: {
    forbidden: 'This is not allowed for this user.',
    conflict: 'This conflicts with the current state.',
    notFound: 'This no longer exists.',
    internal: 'Something went wrong on the server.',
    hostInternal: 'Something went wrong in SLS Desktop.',
    codeExpired: 'This code has expired.',
    portalOnly: 'This temporary passcode now opens only the Client Portal.',
    pushLimit: 'Too many login requests are waiting for IB Key approval.',
    secondFactorRequired: 'Please log in to the Client Portal with your security device first.',
    withdrawalLimit: 'This withdrawal is above the limits of the confirming device.',
    dscPlusNotEligible: 'The Digital Security Card+ is available to accounts with a balance of USD 500,000 or more.',
    deviceNotIssued: 'This device is no longer issued.',
    lessSecureDevice: 'Less secure device: please identify the most secure device and share that one.',
    differentIdentification: 'Different identification information: the identification data of the users involved do not match.',
    sharingTemporaryDevice: 'A temporary security device is assigned to one of the users: devices cannot be shared now.',
    sharingIbKey: 'IB Key is not shared this way: add the other user in the IB Key app (Authenticate, Add user).',
    deviceNotShareable: 'Only physical security devices can be shared.',
    notPrimaryUser: "Only the account's primary user can change its security settings.",
    phoneInvalid: 'This is not a valid phone number.',
    phoneVoip: 'Numbers of virtual (VoIP) providers cannot receive security codes.',
    phoneNotMobile: 'This is not a mobile number.',
  },
  /** What to do after those, where there is something to do. */
  serverAction: {
    internal: 'Try again; if it keeps happening, call client services.',
    hostInternal: 'Try again; if it keeps happening, start SLS Desktop again.',
    codeExpired: 'Ask for a new one.',
    pushLimit: 'Answer them on your phone or wait until they expire.',
  },
} as const;
export default errors;
