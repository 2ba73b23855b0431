import type { Catalogue } from '../catalogue.ts';
import type en from '../en/common.ts';

const common: Catalogue<typeof en> = {
  ui: {
    hostInternal: "Une erreur s'est produite dans SLS Desktop.",
  },
  device: {
    ibkey: 'IB Key',
    dscplus: 'Digital Security Card+',
    platinum: 'Appareil Platinum',
    gold: 'Appareil Gold',
    dsc: 'Digital Security Card',
    scc: 'Security Code Card',
    onlineScc: 'Online Security Code Card',
    sms: 'SMS',
    tempPasscode: "Code d'accès temporaire",
  },
  signedIn: {
    title: 'Connecté',
    user: 'Utilisateur',
    account: 'Compte',
    noAccount: 'Aucun compte',
    signedInWith: 'Connecté avec',
    noSecondFactor: 'Aucun second facteur (opt-out SLS)',
    sessionEnds: 'Fin de session',
    sessionEndsAt: '{{when}} (heure de New York)',
    autoRestart: 'Redémarrage auto',
    autoRestartOn: "Activé jusqu'à {{when}} (heure de New York)",
    autoRestartOff: {
      noKeychain: 'Désactivé : pas de trousseau système sur cet ordinateur',
      keychainRefused: "Désactivé : le trousseau système a refusé d'enregistrer la clé de redémarrage ; le prochain démarrage vous demandera de vous connecter",
      notForThisLogin: 'Désactivé : non disponible pour cette connexion',
      notSetUp: "Désactivé : n'a pas pu être mis en place cette fois",
      revoked: 'Désactivé : révoqué sur le serveur ; le prochain démarrage demandera votre second facteur',
      expired: 'Désactivé : échéance hebdomadaire passée ; le prochain démarrage demandera votre second facteur',
      devices: 'Désactivé : vos appareils ne permettent plus de connexion à la plateforme de trading ; le prochain démarrage vous demandera de vous connecter',
    },
    access: 'Accès',
    portalOnly: 'Fonctions Client Portal uniquement (code temporaire)',
    restrictions: 'Restrictions',
    noRestrictions: 'Aucune',
    restriction: {
      optOut: 'Trading Pink Sheet et OTCBB restreint : opt-out SLS',
      mobileNotVerified: 'Trading restreint : numéro mobile non vérifié',
      portalOnly: "Code d'accès temporaire : fonctions Client Portal uniquement",
      temporaryNoSharing: "Accès temporaire : partage d'appareils bloqué",
    },
    accountSecurity: 'Sécurité du compte',
    signOut: 'Se déconnecter',
    signingOut: 'Déconnexion…',
  },
};
export default common;
