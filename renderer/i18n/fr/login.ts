import type { Catalogue } from '../catalogue.ts';
import type en from '../en/login.ts';

const login: Catalogue<typeof en> = {
  form: {
    title: 'Se connecter',
    username: "Nom d'utilisateur",
    password: 'Mot de passe',
    showPassword: 'Afficher le mot de passe',
    hidePassword: 'Masquer le mot de passe',
    show: 'Afficher',
    hide: 'Masquer',
    capsLock: 'Verr. Maj. activé',
    rememberUsername: "Mémoriser le nom d'utilisateur",
    serverAddress: 'Adresse du serveur',
    submit: 'Se connecter',
    submitting: 'Connexion…',
    missingCredentials: "Saisissez votre nom d'utilisateur et votre mot de passe.",
    server: 'Serveur : {{host}} ▾',
    changeServer: "Serveur : {{host}}. Modifier l'adresse du serveur",
    cancelServer: 'Annuler',
    keepServer: 'Annuler, garder {{host}}',
  },
  selectDevice: {
    title: "Choisir l'appareil de second facteur",
    device: 'Appareil',
    connected: '{{label}} — connecté',
    submit: 'Continuer',
    submitting: 'Veuillez patienter…',
    navigation: 'Connexion',
    cancel: 'Annuler et revenir à la connexion',
    cancelStepUp: 'Annuler et revenir à la sécurité du compte',
  },
};
export default login;
