/** English: the source wording (UI.md, the knowledge base's where it has one). Keys are camelCase; plurals end in _one / _other. */
const common = {
  ui: {
    hostInternal: 'Something went wrong in SLS Desktop.',
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
    access: 'Access',
    portalOnly: 'Client Portal functions only (temporary passcode)',
    restrictions: 'Restrictions',
    noRestrictions: 'None',
    accountSecurity: 'Account security',
    signOut: 'Sign out',
    signingOut: 'Signing out…',
  },
} as const;
export default common;
