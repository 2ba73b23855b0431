// The error and session wording in each of the client's languages (SPEC L6, C5; UI.md "More: language").
import { afterEach, describe, expect, it } from 'vitest';
import { applyLanguage, i18n, resources, systemLanguage } from './i18n/index.ts';
import { autoRestartFailedText, describeError, describeMobileCodeError, loginEndingText, loginExpiredText, sessionEndedText, sessionEndingText } from './messages.ts';

afterEach(() => applyLanguage('en'));

describe('error wording in English (SPEC L6, C5)', () => {
  it('says the lockout with the New York time it ends, in the knowledge-base wording', () => {
    const now = new Date('2026-11-28T15:00:00Z');
    const t = describeError({ code: 'SLS_ERR_USER_LOCKED', message: 'x', lockedUntil: '2026-11-28T19:32:00Z' }, now);
    expect(`${t.message} ${t.action}`).toBe('Too many failed attempts. Try again after 14:32 (New York time) or call client services.');
  });

  it('counts wrong responses left, one and several, and says the login ended at zero', () => {
    expect(describeError({ code: 'SLS_ERR_WRONG_RESPONSE', message: '', attemptsLeft: 1 }).action).toBe('Check the code and try again: 1 attempt left in this login.');
    expect(describeError({ code: 'SLS_ERR_WRONG_RESPONSE', message: '', attemptsLeft: 2 }).action).toBe('Check the code and try again: 2 attempts left in this login.');
    expect(describeError({ code: 'SLS_ERR_WRONG_RESPONSE', message: '', attemptsLeft: 0 }).action).toBe('This login has ended after 3 wrong responses. Log in again.');
  });

  it('tells how long until a new SMS code may be requested', () => {
    const now = new Date('2026-11-28T15:00:00Z');
    expect(describeError({ code: 'SLS_ERR_RESEND_TOO_SOON', message: '', retryAt: '2026-11-28T15:00:41Z' }, now).action).toBe('Try again in 0:41.');
  });

  it('C1, C3: a plain-http address to another computer is refused in the client\'s words, in German too', () => {
    const e = { code: 'SLS_ERR_SERVER_ADDRESS_INSECURE', message: 'The server address must use https:// (plain http is allowed only on this computer).' };
    expect(describeError(e)).toEqual({ message: 'The server address must use https://.', action: 'Plain http is allowed only to a server on this computer. Check the address with your firm.' });
    applyLanguage('de');
    expect(describeError(e).message).toBe('Die Serveradresse muss https:// verwenden.');
  });

  it('C1: a server address the contract refuses says the address is not valid and how to write one, in German too', () => {
    const e = { code: 'SLS_ERR_INVALID_INPUT', message: 'Invalid input for setSettings.', issues: [{ path: 'serverAddress', message: 'Enter a host name or an http(s) address' }] };
    expect(describeError(e)).toEqual({ message: 'The server address is not valid.', action: 'Enter a host name such as sls.example.com, or an https:// address.' });
    applyLanguage('de');
    expect(describeError(e).message).toBe('Die Serveradresse ist ungültig.');
    // Other input keeps the general words.
    applyLanguage('en');
    expect(describeError({ code: 'SLS_ERR_INVALID_INPUT', message: 'x', issues: [{ path: 'amount', message: 'Too big' }] }).message).toBe('Some input is not valid.');
  });

  it('C3: another server chosen while signed in says to sign out first, never that the address is not valid; in German and French too', () => {
    const e = { code: 'SLS_ERR_SIGN_OUT_FIRST', message: 'Sign out before choosing another server.' };
    expect(describeError(e)).toEqual({ message: 'You are signed in to the current server, maybe in another window.', action: 'Sign out before choosing another server.' });
    const invalid = (lang: 'en' | 'de' | 'fr') => resources[lang].errors.serverAddressInvalid.message;
    for (const lang of ['de', 'fr'] as const) {
      applyLanguage(lang);
      const said = describeError(e);
      expect(said, lang).toEqual({ message: i18n.t('errors:signOutFirst.message'), action: i18n.t('errors:signOutFirst.action') });
      expect(said.action, lang).not.toBe(e.message);
      expect(said.message, lang).not.toBe(invalid(lang));
    }
    expect(describeError(e).message).not.toBe(invalid('en'));
    applyLanguage('de');
    expect(describeError(e).action).toBe('Melden Sie sich ab, bevor Sie einen anderen Server wählen.');
    applyLanguage('fr');
    expect(describeError(e).action).toBe('Déconnectez-vous avant de choisir un autre serveur.');
  });

  it('C3: a call the host refused from an untrusted frame says to restart SLS Desktop, then client services; never the bare "Refused."; in German and French too', () => {
    const e = { code: 'SLS_ERR_UNTRUSTED_SENDER', message: 'Refused.' };
    expect(describeError(e)).toEqual({ message: 'SLS Desktop refused a request from this window.', action: 'Quit SLS Desktop and start it again; if it keeps happening, call client services.' });
    applyLanguage('de');
    expect(describeError(e)).toEqual({
      message: 'SLS Desktop hat eine Anfrage aus diesem Fenster abgelehnt.',
      action: 'Beenden Sie SLS Desktop und starten Sie es neu; falls es weiterhin auftritt, rufen Sie den Kundendienst an.',
    });
    applyLanguage('fr');
    expect(describeError(e)).toEqual({ message: 'SLS Desktop a refusé une demande venant de cette fenêtre.', action: 'Quittez SLS Desktop et relancez-le ; si cela se reproduit, appelez le service clientèle.' });
  });

  it('L7: too many IB Key logins waiting is said once, not its advice twice', () => {
    const e = { code: 'SLS_ERR_IBKEY_PUSH_LIMIT', message: 'Too many login requests are waiting for IB Key approval. Answer them on your phone or wait until they expire.' };
    const t = describeError(e);
    expect(`${t.message} ${t.action}`.trim()).toBe('Too many login requests are waiting for IB Key approval. Answer them on your phone or wait until they expire.');
  });

  it('L6, C5: a step of a login a newer one replaced says so, that nothing was sent, in German and French too', () => {
    const e = { code: 'SLS_ERR_LOGIN_NOT_CURRENT', message: 'This login is no longer the current one: a newer login was started. Nothing was sent for it.' };
    expect(describeError(e)).toEqual({
      message: 'A newer login was started, maybe in another window, so this one cannot go on.',
      action: 'Nothing was sent for it. Log in again, or go on in the newer login.',
    });
    applyLanguage('de');
    expect(describeError(e).message).toMatch(/^Eine neuere Anmeldung wurde gestartet/);
    applyLanguage('fr');
    expect(describeError(e).action).toMatch(/^Rien n'a été envoyé/);
  });

  it("falls back to the server's message for an unknown code", () => {
    expect(describeError({ code: 'SLS_ERR_SOMETHING_NEW', message: 'A new thing.' }).message).toBe('A new thing.');
    expect(describeError({ code: 'SLS_ERR_SOMETHING_NEW', message: '' }).message).toBe('Something went wrong.');
  });

  it('says a mobile number code is over after 3 wrong codes, and to ask for a new one (SPEC P1, L6)', () => {
    const t = describeError({ code: 'SLS_ERR_MOBILE_CODE_ENDED', message: 'x' });
    expect(`${t.message} ${t.action}`).toBe('This code has ended after 3 wrong codes. Ask for a new code and type the new one.');
    applyLanguage('de');
    expect(describeError({ code: 'SLS_ERR_MOBILE_CODE_ENDED', message: 'x' }).message).toBe('Dieser Code ist nach 3 falschen Eingaben abgelaufen.');
  });

  it('says too many texts went to the phone, not "from this computer", with when to ask again (SPEC L4, P1)', () => {
    const now = new Date('2026-11-28T15:00:00Z');
    const t = describeError({ code: 'SLS_ERR_SMS_LIMIT', message: 'x', retryAt: '2026-11-28T16:00:00Z' }, now);
    expect(`${t.message} ${t.action}`).toBe('Too many codes were sent by text message lately. You can ask for a new one after 11:00 (New York time), or choose another device.');
    expect(t.message).not.toContain('computer');
  });

  it("gives slsd's advice for a do-not-call number", () => {
    expect(describeError({ code: 'SLS_ERR_PHONE_DO_NOT_CALL', message: 'Use IB Key instead.' }).action).toBe('Use IB Key instead.');
  });
});

describe('session expiry wording (SPEC C1, C5, L8)', () => {
  it('warns before the end, and says when it ended, in New York time', () => {
    const now = new Date('2026-11-28T23:58:00Z');
    const ending = sessionEndingText('2026-11-29T00:03:00Z', now);
    // Still signed in: it says what happens at the end, not to log in now.
    expect(`${ending.message} ${ending.action}`).toBe('Your session ends at 19:03 (New York time). After that, log in again to go on.');
    const ended = sessionEndedText('2026-11-29T00:03:00Z', new Date('2026-11-29T00:04:00Z'));
    expect(`${ended.message} ${ended.action}`).toBe('Your session ended at 19:03 (New York time). Log in again.');
  });

  it('tells the user still signed in what comes after the end, in German and French too', () => {
    const now = new Date('2026-11-28T23:58:00Z');
    expect(sessionEndingText('', now)).toEqual({ message: 'Your session ends soon.', action: 'After that, log in again to go on.' });
    applyLanguage('de');
    expect(sessionEndingText('', now).action).toBe('Melden Sie sich danach erneut an, um fortzufahren.');
    applyLanguage('fr');
    expect(sessionEndingText('', now).action).toBe('Ensuite, reconnectez-vous pour continuer.');
  });

  it('says the session has ended without a time when slsd ended it before its expiry', () => {
    expect(sessionEndedText(undefined)).toEqual({ message: 'Your session has ended.', action: 'Log in again.' });
    expect(sessionEndedText('not a date').message).toBe('Your session has ended.');
  });
});

describe('the other languages (UI.md: More, language)', () => {
  it('locks out in German and French with the time written their way and the plural theirs', () => {
    const now = new Date('2026-11-28T15:00:00Z');
    applyLanguage('de');
    const de = describeError({ code: 'SLS_ERR_USER_LOCKED', message: 'x', lockedUntil: '2026-11-29T19:32:00Z' }, now);
    expect(de.action).toBe('Versuchen Sie es nach So., 29. Nov., 14:32 (New Yorker Zeit) erneut oder rufen Sie den Kundendienst an.');
    expect(describeError({ code: 'SLS_ERR_WRONG_RESPONSE', message: '', attemptsLeft: 1 }).action).toContain('noch 1 Versuch in');
    expect(describeError({ code: 'SLS_ERR_WRONG_RESPONSE', message: '', attemptsLeft: 2 }).action).toContain('noch 2 Versuche in');
    applyLanguage('fr');
    expect(describeError({ code: 'SLS_ERR_INVALID_CREDENTIALS', message: '' }).message).toBe("Le nom d'utilisateur ou le mot de passe est incorrect.");
    expect(describeError({ code: 'SLS_ERR_WRONG_RESPONSE', message: '', attemptsLeft: 2 }).action).toContain('il reste 2 tentatives');
  });

  it('O3: names the primary user in German; in English says what slsd says', () => {
    const error = { code: 'SLS_ERR_NOT_PRIMARY_USER', message: "Only Pat Primary (pat), the account's primary user, can opt users out of the Secure Login System.", primaryUser: { username: 'pat', displayName: 'Pat Primary' } };
    expect(describeError(error).message).toBe(error.message);
    applyLanguage('de');
    expect(describeError(error).message).toBe('Nur Pat Primary (pat), der Hauptbenutzer des Kontos, kann dessen Sicherheitseinstellungen ändern.');
    // S6's exact meanings, in the language of the client.
    expect(describeError({ code: 'SLS_ERR_LESS_SECURE_DEVICE', message: 'Less secure device: please identify the most secure device and share that one.' }).message).toMatch(/^Weniger sicheres Gerät/);
  });

  it("keeps the client's own advice where slsd's would be English", () => {
    applyLanguage('de');
    expect(describeError({ code: 'SLS_ERR_PHONE_DO_NOT_CALL', message: 'Use IB Key instead.' }).action).toBe('Wählen Sie ein anderes Gerät oder rufen Sie den Kundendienst an.');
  });

  it('follows the system language when the client has it, else English', () => {
    expect(systemLanguage(['de-CH', 'en-US'])).toBe('de');
    expect(systemLanguage(['ja-JP', 'fr-CA'])).toBe('fr');
    expect(systemLanguage(['ja-JP'])).toBe('en');
    expect(systemLanguage([])).toBe('en');
  });

  it('has every English key in every language, none empty', () => {
    const keys = (o: object, prefix = ''): string[] =>
      Object.entries(o).flatMap(([k, v]) => (typeof v === 'string' ? [`${prefix}${k}`] : keys(v as object, `${prefix}${k}.`)));
    const all = (lang: keyof typeof resources) => Object.entries(resources[lang]).flatMap(([ns, catalogue]) => keys(catalogue, `${ns}:`)).sort();
    const english = all('en');
    expect(english.length).toBeGreaterThan(30);
    for (const lang of ['de', 'fr'] as const) {
      expect(all(lang), lang).toEqual(english);
      const t = i18n.getFixedT(lang);
      for (const k of english) {
        const text = t(k as never, { count: 2, when: '14:32', countdown: '0:41' });
        expect(text, `${lang} ${k}`).not.toBe('');
        expect(text, `${lang} ${k}`).not.toBe(k.split(':')[1]);
      }
    }
  });
});

describe('English wording of logging in (UI.md screen 1: "Log In")', () => {
  it('asks to "log in", never to "sign in", as the button says; "signed in" stays the state (UI.md screen 7)', () => {
    const texts = (o: object, prefix = ''): [string, string][] =>
      Object.entries(o).flatMap(([k, v]) => (typeof v === 'string' ? [[`${prefix}${k}`, v] as [string, string]] : texts(v as object, `${prefix}${k}.`)));
    const english = Object.entries(resources.en).flatMap(([ns, catalogue]) => texts(catalogue, `${ns}:`));
    expect(english.filter(([, text]) => /\bsign(ing)? in\b/i.test(text))).toEqual([]);
    expect(english.filter(([, text]) => /\blog in again\b/i.test(text)).length).toBeGreaterThan(5);
  });
});

describe('Reset app data (SPEC C4): what was removed, nothing said as "0 entries"', () => {
  it('says the keychain held nothing rather than counting zero entries, in each language', () => {
    const t = (lang: 'en' | 'de' | 'fr', count: number) => {
      applyLanguage(lang);
      return i18n.t('reset.done', { ns: 'shell', count });
    };
    expect(t('en', 0)).toBe("App data was reset: settings cleared; the keychain held nothing of SLS Desktop's.");
    expect(t('en', 1)).toBe('App data was reset: settings cleared, 1 keychain entry removed.');
    expect(t('en', 2)).toBe('App data was reset: settings cleared, 2 keychain entries removed.');
    expect(t('de', 0)).toBe('App-Daten wurden zurückgesetzt: Einstellungen gelöscht; im Schlüsselbund war nichts von SLS Desktop.');
    expect(t('fr', 0)).toBe("Données de l'app réinitialisées : paramètres effacés ; le trousseau ne contenait rien de SLS Desktop.");
    for (const lang of ['en', 'de', 'fr'] as const) expect(t(lang, 0)).not.toMatch(/\b0\b/);
  });
});

describe('the mobile number\'s code (SPEC P1, L6): its own tries, never "this login"', () => {
  it('counts the tries left for this code, in each language, and leaves other errors as anywhere', () => {
    const wrong = (attemptsLeft: number) => describeMobileCodeError({ code: 'SLS_ERR_WRONG_RESPONSE', message: '', attemptsLeft });
    expect(wrong(2)).toEqual({ message: 'That code is not correct.', action: 'Check the text message and try again: 2 attempts left for this code.' });
    expect(wrong(1).action).toBe('Check the text message and try again: 1 attempt left for this code.');
    applyLanguage('de');
    expect(wrong(2).action).toBe('Prüfen Sie die SMS und versuchen Sie es erneut: noch 2 Versuche für diesen Code.');
    applyLanguage('fr');
    expect(wrong(1).action).toBe('Vérifiez le SMS et réessayez : encore 1 essai pour ce code.');
    applyLanguage('en');
    const ended = { code: 'SLS_ERR_MOBILE_CODE_ENDED' as const, message: '' };
    expect(describeMobileCodeError(ended)).toEqual(describeError(ended));
    for (const n of [1, 2]) expect(`${wrong(n).message} ${wrong(n).action}`).not.toMatch(/login/i);
  });

  it('P1: no code waiting any more (expired after 15 minutes, or replaced) is the number\'s code, never "choose the device again"; in each language', () => {
    const gone = { code: 'SLS_ERR_NO_CHALLENGE' as const, message: 'No code is waiting: enter your mobile number first.' };
    expect(describeMobileCodeError(gone)).toEqual({ message: 'This code is no longer valid: it expired or a newer one was sent.', action: 'Ask for a new code and type the new one.' });
    for (const lang of ['de', 'fr'] as const) {
      applyLanguage(lang);
      const said = describeMobileCodeError(gone);
      expect(said.message).toBe(i18n.t('errors:mobileCodeGone.message'));
      expect(said).not.toEqual(describeError(gone));
    }
  });
});

describe('auto-restart that did not sign in, on the login form (SPEC L8, L6)', () => {
  const now = new Date('2026-11-28T15:00:00Z');
  it('one line saying it did not sign you in, why, and what happens next', () => {
    expect(autoRestartFailedText({ outcome: 'refused' }, now)).toEqual({ message: 'Auto-restart did not sign you in: it is no longer valid. Log in to turn it on again.', action: '' });
    expect(autoRestartFailedText({ outcome: 'expired' }, now).message).toBe('Auto-restart did not sign you in: it ends each week on Sunday at 01:00 (New York time). Log in to turn it on again.');
    expect(autoRestartFailedText({ outcome: 'devices' }, now).message).toBe('Auto-restart did not sign you in: your devices no longer allow it. Log in to see why.');
    expect(autoRestartFailedText({ outcome: 'unavailable' }, now).message).toBe('Auto-restart did not sign you in: the server could not be reached. It tries again at the next start, or log in now.');
  });

  it('locked (L6): until when, in New York time, as the lockout says it', () => {
    expect(autoRestartFailedText({ outcome: 'locked', lockedUntil: '2026-11-28T19:32:00Z' }, now).message).toBe(
      'Auto-restart did not sign you in: too many failed attempts. Try again after 14:32 (New York time) or call client services.',
    );
    expect(autoRestartFailedText({ outcome: 'locked' }, now).message).toBe('Auto-restart did not sign you in: too many failed attempts. Try again later or call client services.');
  });

  it('in German and French', () => {
    applyLanguage('de');
    expect(autoRestartFailedText({ outcome: 'unavailable' }, now).message).toMatch(/^Der Auto-Neustart hat Sie nicht angemeldet: Der Server war nicht erreichbar\./);
    expect(autoRestartFailedText({ outcome: 'locked', lockedUntil: '2026-11-28T19:32:00Z' }, now).message).toContain('nach 14:32 (New Yorker Zeit)');
    applyLanguage('fr');
    expect(autoRestartFailedText({ outcome: 'refused' }, now).message).toMatch(/^Le redémarrage auto ne vous a pas connecté/);
  });
});

describe('the login\'s own time limit (SPEC L2–L5, C5)', () => {
  it('in its last minute, then once it has ended: what happened and what to do', () => {
    expect(loginEndingText()).toEqual({ message: 'This login ends in less than a minute.', action: 'Finish it now, or log in again afterwards.' });
    expect(loginExpiredText()).toEqual({ message: 'This login took too long and has expired.', action: 'Enter your password to start again.' });
    applyLanguage('de');
    expect(loginEndingText().message).toBe('Diese Anmeldung endet in weniger als einer Minute.');
  });
});
