/** English: the source wording (UI.md, the knowledge base's where it has one). Keys are camelCase; plurals end in _one / _other. */
const common = {
  ui: {
    hostInternal: 'Something went wrong in SLS Desktop.',
  },
  /** The kinds of device (SPEC D1), as slsd's default labels name them; product names stay as the broker writes them. */
  device: {
    ibkey: 'IB Key',
    dscplus: 'Digital Security Card+',
    platinum: 'Platinum device',
    gold: 'Gold device',
    dsc: 'Digital Security Card',
    scc: 'Security Code Card',
    onlineScc: 'Online Security Code Card',
    sms: 'SMS',
    tempPasscode: 'Temporary passcode',
  },
  signedIn: {
    title: 'Signed in',
    user: 'User',
    account: 'Account',
    noAccount: 'No account',
    signedInWith: 'Signed in with',
    noSecondFactor: 'No second factor (SLS opt-out)',
    sessionEnds: 'Session ends',
    sessionEndsAt: '{{when}} (New York time)',
    /** SPEC L8, UI.md 7: whether the app may restart without a second factor, until the weekly cut-off. */
    autoRestart: 'Auto-restart',
    autoRestartOn: 'On until {{when}} (New York time)',
    autoRestartOff: {
      noKeychain: 'Off: no system keychain on this computer',
      /** SPEC L8: a keychain is there but refused to store the restart key (locked, its prompt dismissed); the next start is a login. */
      keychainRefused: 'Off: the system keychain refused to store the restart key; the next start asks you to log in',
      notForThisLogin: 'Off: not available for this login',
      notSetUp: 'Off: could not be set up this time',
      /** It was on; slsd said the token no longer works (`slsctl restart revoke`, a device reported): the next start is a full login. */
      revoked: 'Off: revoked on the server; the next start asks for your second factor',
      expired: 'Off: past the weekly cut-off; the next start asks for your second factor',
      devices: 'Off: your devices no longer allow a trading-platform login; the next start asks you to log in',
    },
    access: 'Access',
    portalOnly: 'Client Portal functions only (temporary passcode)',
    restrictions: 'Restrictions',
    noRestrictions: 'None',
    /** slsd's restrictions by their code (core/api.ts RESTRICTION_CODES); an unknown code shows slsd's own words. */
    restriction: {
      optOut: 'Pink Sheet and OTCBB trading restricted: SLS opt-out',
      mobileNotVerified: 'Trading restricted: mobile number not verified',
      portalOnly: 'Temporary passcode: Client Portal functions only',
      temporaryNoSharing: 'Temporary access: device sharing is blocked',
    },
    accountSecurity: 'Account security',
    signOut: 'Sign out',
    signingOut: 'Signing out…',
  },
} as const;
export default common;
