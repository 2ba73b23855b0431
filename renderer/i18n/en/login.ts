/** English: the source wording (UI.md, the knowledge base's where it has one). Keys are camelCase; plurals end in _one / _other. */
const login = {
  form: {
    title: 'Log In',
    username: 'Username',
    password: 'Password',
    showPassword: 'Show password',
    hidePassword: 'Hide password',
    show: 'Show',
    hide: 'Hide',
    capsLock: 'Caps Lock is on',
    rememberUsername: 'Remember username',
    serverAddress: 'Server address',
    submit: 'Log In',
    submitting: 'Logging in…',
    missingCredentials: 'Enter your user name and password.',
    server: 'Server: {{host}} ▾',
    changeServer: 'Server: {{host}}. Change server address',
    /** Closes the server address field without changing it (Escape does the same). */
    cancelServer: 'Cancel',
    keepServer: 'Cancel, keep {{host}}',
  },
  selectDevice: {
    title: 'Select Second Factor Device',
    device: 'Device',
    connected: '{{label}} — connected',
    submit: 'Continue',
    submitting: 'Please wait…',
    navigation: 'Login',
    cancel: 'Cancel and return to login',
    /** SPEC C6: the Client Portal login of Account security goes back there. */
    cancelStepUp: 'Cancel and return to Account security',
  },
} as const;
export default login;
