import type { Catalogue } from '../catalogue.ts';
import type en from '../en/common.ts';

const common: Catalogue<typeof en> = {
  ui: {
    hostInternal: 'In SLS Desktop ist ein Fehler aufgetreten.',
  },
  device: {
    ibkey: 'IB Key',
    dscplus: 'Digital Security Card+',
    platinum: 'Platinum-Gerät',
    gold: 'Gold-Gerät',
    dsc: 'Digital Security Card',
    scc: 'Security Code Card',
    onlineScc: 'Online Security Code Card',
    sms: 'SMS',
    tempPasscode: 'Temporärer Passcode',
  },
  signedIn: {
    title: 'Angemeldet',
    user: 'Benutzer',
    account: 'Konto',
    noAccount: 'Kein Konto',
    signedInWith: 'Angemeldet mit',
    noSecondFactor: 'Kein zweiter Faktor (SLS-Opt-out)',
    sessionEnds: 'Sitzung endet',
    sessionEndsAt: '{{when}} (New Yorker Zeit)',
    access: 'Zugang',
    portalOnly: 'Nur Client-Portal-Funktionen (temporärer Passcode)',
    restrictions: 'Einschränkungen',
    noRestrictions: 'Keine',
    accountSecurity: 'Kontosicherheit',
    signOut: 'Abmelden',
    signingOut: 'Abmeldung läuft…',
  },
};
export default common;
