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
    access: 'Accès',
    portalOnly: 'Fonctions Client Portal uniquement (code temporaire)',
    restrictions: 'Restrictions',
    noRestrictions: 'Aucune',
    accountSecurity: 'Sécurité du compte',
    signOut: 'Se déconnecter',
    signingOut: 'Déconnexion…',
  },
};
export default common;
