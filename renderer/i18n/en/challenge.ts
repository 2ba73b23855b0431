/** English: the source wording (UI.md, the knowledge base's where it has one). Keys are camelCase; plurals end in _one / _other. */
const challenge = {
  // Every second-factor screen (SPEC L5).
  useAnotherDevice: 'Use another device',
  cancel: 'Cancel',
  navLabel: 'Login',
  /** The code field and its button. */
  form: {
    submit: 'Submit',
    checking: 'Checking…',
    tooShort: 'Enter all {{length}} characters.',
    typed: 'You typed {{typed}}.',
  },
  /** What the response is made of (SPEC D2, D3). */
  hint: {
    digits: '{{length}} digits',
    platinum: '{{length}} characters: 0–9 and A C E F H P',
    alphanumeric: '{{length}} characters, letters and digits',
  },
  /** Challenge code: DSC+, DSC, Gold, Platinum, IB Key offline. */
  responseCode: {
    ibKeyTitle: 'IB Key — challenge code',
    connected: '{{device}} — connected',
    otherCard: 'The card plugged in ({{other}}) is not {{device}}: it cannot answer this challenge. Plug in {{device}}, or type the response {{device}} shows.',
    cardShows: 'The card shows this challenge code:',
    challengeLabel: 'Challenge code: {{code}}',
    typeInstead: 'Type the response instead',
    sendAgain: 'Send the challenge to the card again',
    pinOnCard: 'Enter your PIN on the card.',
    pinOnDevice: 'Enter your PIN on the device.',
    ibKeyStep: 'Open IB Key, choose Authenticate, and enter this challenge code:',
    codeOnCard: 'Enter this challenge code on the card:',
    codeOnDevice: 'Enter this challenge code on the device:',
    responseLabel: '{{step}}. Enter the response:',
  },
  /** Security Code Card: two index numbers. */
  indexNumbers: {
    intro: 'Enter the codes at index numbers',
    pair: '{{first}} <and>and</and> {{second}}',
    pairLabel: 'index {{first}} and index {{second}}',
    label: 'Codes',
    hint: 'Both codes, no spaces: the code at the first index, then the second.',
    nearlyUsedUp_one: 'This card has {{count}} unused cell left. Call client services for a new way to log in before it runs out.',
    nearlyUsedUp_other: 'This card has {{count}} unused cells left. Call client services for a new way to log in before it runs out.',
  },
  /** IB Key notification with the number to match. */
  push: {
    title: 'IB Key',
    sent: 'A notification was sent to <strong>{{device}}</strong>. Open it and choose',
    /** An IB Key whose label names no phone (UI.md screen 5 names the phone where it can). */
    sentApp: 'A notification was sent to your <strong>IB Key</strong> app. Open it and choose',
    numberLabel: 'the number {{number}}',
    expired: 'The notification has expired.',
    sendNew: 'Send a new notification',
    waiting: 'waiting for approval…',
    timeLeft: '{{countdown}} left',
    notReceived: "Didn't receive the notification?",
  },
  sms: {
    title: 'SMS code',
    sent: 'A code was sent to <strong>{{number}}</strong>.',
    label: 'Code',
    hint: '{{length}} digits, valid until {{when}} (New York time)',
    resend: 'Resend code',
    resendIn: 'Resend code ({{countdown}})',
  },
  passcode: {
    title: 'Temporary passcode',
    intro: 'Enter the temporary passcode client services gave you.',
    label: 'Temporary passcode',
    hint: '{{length}} digits. The passcode gives access until {{when}} (New York time).',
  },
  /** The DSC+ plugged in (SPEC C2, H2; UI.md screen 3). */
  card: {
    disconnected: { message: 'The card was unplugged.', action: 'Type the response from the card instead.' },
    cancelled: { message: 'Cancelled on the card.', action: 'Type the response from the card, or send the challenge to the card again.' },
    timeout: { message: 'No PIN was entered on the card in time.', action: 'Type the response from the card, or send the challenge to the card again.' },
    failed: { message: 'The card did not answer.', action: 'Type the response from the card instead.' },
    blocked: { message: 'This card is blocked after 3 wrong PINs.', action: 'Call client services.' },
    typed: { message: 'The card no longer answers by itself.', action: 'Type the response it shows.' },
    notAccepted: { message: 'The card could not log you in.', action: 'Type the response from the card instead.' },
    pin: 'Enter your PIN on the card.',
    pinTries_one: 'Enter your PIN on the card ({{count}} try left).',
    pinTries_other: 'Enter your PIN on the card ({{count}} tries left).',
    wrongPin: 'Wrong PIN.',
    tryAgain: 'Try again on the card.',
    triesBeforeBlock_one: '{{count}} try left before the card blocks. Try again on the card.',
    triesBeforeBlock_other: '{{count}} tries left before the card blocks. Try again on the card.',
    status: {
      received: 'Response received — logging in…',
      waitingForPin: 'Waiting for your PIN on the card…',
      pinTimeLeft: 'Time left to enter it: {{left}}',
      sending: 'Sending the challenge to the card…',
    },
  },
} as const;
export default challenge;
