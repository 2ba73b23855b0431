import type { Catalogue } from '../catalogue.ts';
import type en from '../en/shell.ts';

const shell: Catalogue<typeof en> = {
  starting: 'Démarrage de SLS Desktop',
  cardBlocked: { message: 'Cette carte est bloquée après 3 PIN erronés.', action: 'Appelez le service clientèle.' },
  newCodeSent: 'Un nouveau code a été envoyé.',
  notOpened: { message: "Cette fenêtre n'a pas été ouverte par SLS Desktop.", action: "Démarrez SLS Desktop et utilisez la fenêtre qu'il ouvre, ou l'adresse complète qu'il affiche." },
  ownerUnknown: { message: "SLS Desktop n'a pas pu vérifier que cette fenêtre appartient à votre compte utilisateur.", action: 'Redémarrez SLS Desktop.' },
  more: {
    toggle: 'Plus ▾',
    language: 'Langue',
    systemLanguage: 'Système ({{name}})',
    lightTheme: 'Thème clair',
    darkTheme: 'Thème sombre',
    reset: "Réinitialiser les données de l'app…",
    version: '{{name}} {{version}} (build {{build}})',
  },
  reset: {
    title: "Réinitialiser les données de l'app ?",
    body: "Cela supprime l'adresse du serveur, le nom d'utilisateur mémorisé, les choix d'appareil et toute connexion enregistrée sur cet ordinateur, et vous déconnecte. Votre compte et vos appareils ne changent pas.",
    cancel: 'Annuler',
    confirm: 'Réinitialiser',
    done_zero: "Données de l'app réinitialisées : paramètres effacés ; le trousseau ne contenait rien de SLS Desktop.",
    done_one: "Données de l'app réinitialisées : paramètres effacés, {{count}} entrée du trousseau supprimée.",
    done_other: "Données de l'app réinitialisées : paramètres effacés, {{count}} entrées du trousseau supprimées.",
    doneNoKeychain: "Données de l'app réinitialisées : paramètres effacés (pas de trousseau système sur cet ordinateur).",
  },
};
export default shell;
