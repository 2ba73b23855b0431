import type { Catalogue } from '../catalogue.ts';
import type en from '../en/login.ts';

const login: Catalogue<typeof en> = {
  form: {
    title: 'Anmelden',
    username: 'Benutzername',
    password: 'Passwort',
    showPassword: 'Passwort anzeigen',
    hidePassword: 'Passwort ausblenden',
    show: 'Anzeigen',
    hide: 'Ausblenden',
    capsLock: 'Feststelltaste ist aktiviert',
    rememberUsername: 'Benutzernamen merken',
    serverAddress: 'Serveradresse',
    submit: 'Anmelden',
    submitting: 'Anmeldung läuft…',
    missingCredentials: 'Geben Sie Ihren Benutzernamen und Ihr Passwort ein.',
    server: 'Server: {{host}} ▾',
    changeServer: 'Server: {{host}}. Serveradresse ändern',
    cancelServer: 'Abbrechen',
    keepServer: 'Abbrechen, {{host}} behalten',
  },
  selectDevice: {
    title: 'Gerät für den zweiten Faktor wählen',
    device: 'Gerät',
    connected: '{{label}} — verbunden',
    submit: 'Weiter',
    submitting: 'Bitte warten…',
    navigation: 'Anmeldung',
    cancel: 'Abbrechen und zur Anmeldung zurückkehren',
    cancelStepUp: 'Abbrechen und zur Kontosicherheit zurückkehren',
  },
};
export default login;
