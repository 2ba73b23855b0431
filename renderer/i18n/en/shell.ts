/** English: the app's frame (App.tsx) and the More menu (MoreMenu.tsx). */
const shell = {
  starting: 'Starting SLS Desktop',
  cardBlocked: { message: 'This card is blocked after 3 wrong PINs.', action: 'Call client services.' },
  newCodeSent: 'A new code was sent.',
  /** The page opened without its launch token: it was never connected (not "connection lost"). */
  notOpened: { message: 'This window was not opened by SLS Desktop.', action: 'Start SLS Desktop and use the window it opens, or the full address it prints.' },
  /** SPEC C3: the browser host could not check that this window's connection is of the user running it (close code 4002); a restart opens a new window. */
  ownerUnknown: { message: 'SLS Desktop could not check that this window belongs to your user account.', action: 'Restart SLS Desktop.' },
  more: {
    toggle: 'More ▾',
    language: 'Language',
    systemLanguage: 'System ({{name}})',
    lightTheme: 'Light theme',
    darkTheme: 'Dark theme',
    reset: 'Reset app data…',
    version: '{{name}} {{version}} (build {{build}})',
  },
  reset: {
    title: 'Reset app data?',
    body: 'This removes the server address, the remembered user name, device choices and any saved sign-in on this computer, and signs you out. Your account and your devices are not changed.',
    cancel: 'Cancel',
    confirm: 'Reset app data',
    done_zero: "App data was reset: settings cleared; the keychain held nothing of SLS Desktop's.",
    done_one: 'App data was reset: settings cleared, {{count}} keychain entry removed.',
    done_other: 'App data was reset: settings cleared, {{count}} keychain entries removed.',
    doneNoKeychain: 'App data was reset: settings cleared (no system keychain on this computer).',
  },
} as const;
export default shell;
