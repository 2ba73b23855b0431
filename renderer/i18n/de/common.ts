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
    autoRestart: 'Auto-Neustart',
    autoRestartOn: 'Aktiv bis {{when}} (New Yorker Zeit)',
    autoRestartOff: {
      noKeychain: 'Aus: kein Schlüsselbund auf diesem Computer',
      keychainRefused: 'Aus: der Schlüsselbund des Systems hat das Speichern des Neustart-Schlüssels abgelehnt; beim nächsten Start werden Sie zur Anmeldung aufgefordert',
      notForThisLogin: 'Aus: für diese Anmeldung nicht verfügbar',
      notSetUp: 'Aus: konnte diesmal nicht eingerichtet werden',
      revoked: 'Aus: auf dem Server widerrufen; beim nächsten Start wird Ihr zweiter Faktor verlangt',
      expired: 'Aus: wöchentlicher Stichtag vorbei; beim nächsten Start wird Ihr zweiter Faktor verlangt',
      devices: 'Aus: Ihre Geräte erlauben keine Anmeldung an der Handelsplattform mehr; beim nächsten Start werden Sie zur Anmeldung aufgefordert',
    },
    access: 'Zugang',
    portalOnly: 'Nur Client-Portal-Funktionen (temporärer Passcode)',
    restrictions: 'Einschränkungen',
    noRestrictions: 'Keine',
    restriction: {
      optOut: 'Handel mit Pink Sheets und OTCBB eingeschränkt: SLS-Opt-out',
      mobileNotVerified: 'Handel eingeschränkt: Mobilnummer nicht bestätigt',
      portalOnly: 'Temporärer Passcode: nur Client-Portal-Funktionen',
      temporaryNoSharing: 'Temporärer Zugang: Teilen von Geräten gesperrt',
    },
    accountSecurity: 'Kontosicherheit',
    signOut: 'Abmelden',
    signingOut: 'Abmeldung läuft…',
  },
};
export default common;
