import type { Catalogue } from '../catalogue.ts';
import type en from '../en/shell.ts';

const shell: Catalogue<typeof en> = {
  starting: 'SLS Desktop wird gestartet',
  cardBlocked: { message: 'Diese Karte ist nach 3 falschen PINs gesperrt.', action: 'Rufen Sie den Kundendienst an.' },
  newCodeSent: 'Ein neuer Code wurde gesendet.',
  notOpened: { message: 'Dieses Fenster wurde nicht von SLS Desktop geöffnet.', action: 'Starten Sie SLS Desktop und verwenden Sie das Fenster, das es öffnet, oder die vollständige Adresse, die es ausgibt.' },
  ownerUnknown: { message: 'SLS Desktop konnte nicht prüfen, ob dieses Fenster zu Ihrem Benutzerkonto gehört.', action: 'Starten Sie SLS Desktop neu.' },
  more: {
    toggle: 'Mehr ▾',
    language: 'Sprache',
    systemLanguage: 'System ({{name}})',
    lightTheme: 'Helles Design',
    darkTheme: 'Dunkles Design',
    reset: 'App-Daten zurücksetzen…',
    version: '{{name}} {{version}} (Build {{build}})',
  },
  reset: {
    title: 'App-Daten zurücksetzen?',
    body: 'Dies entfernt die Serveradresse, den gespeicherten Benutzernamen, die Geräteauswahl und jede gespeicherte Anmeldung auf diesem Computer und meldet Sie ab. Ihr Konto und Ihre Geräte bleiben unverändert.',
    cancel: 'Abbrechen',
    confirm: 'App-Daten zurücksetzen',
    done_zero: 'App-Daten wurden zurückgesetzt: Einstellungen gelöscht; im Schlüsselbund war nichts von SLS Desktop.',
    done_one: 'App-Daten wurden zurückgesetzt: Einstellungen gelöscht, {{count}} Schlüsselbund-Eintrag entfernt.',
    done_other: 'App-Daten wurden zurückgesetzt: Einstellungen gelöscht, {{count}} Schlüsselbund-Einträge entfernt.',
    doneNoKeychain: 'App-Daten wurden zurückgesetzt: Einstellungen gelöscht (kein Schlüsselbund auf diesem Computer).',
  },
};
export default shell;
