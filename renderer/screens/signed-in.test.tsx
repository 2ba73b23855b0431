// The signed-in screen's words (UI.md 7; SPEC O2, P1, L8, C5): restrictions by their codes in the
// language in use, slsd's own words for a code the client does not know, and auto-restart on until the
// weekly cut-off or off and why; the heading can take the focus.
import { renderToStaticMarkup } from 'react-dom/server';
import { I18nextProvider } from 'react-i18next';
import { afterEach, describe, expect, it } from 'vitest';
import { formatNewYorkTime } from '../../core/contract/messages.ts';
import type { AutoRestartView, SessionView } from '../../core/contract/index.ts';
import { de } from '../i18n/de/index.ts';
import { en } from '../i18n/en/index.ts';
import { fr } from '../i18n/fr/index.ts';
import { applyLanguage, i18n, locale } from '../i18n/index.ts';
import { SignedInScreen } from './SignedInScreen.tsx';

const CUT_OFF = '2030-01-06T06:00:00.000Z'; // Sunday 01:00 New York time

function session(autoRestart: AutoRestartView, restrictionDetails: SessionView['restrictionDetails']): SessionView {
  return {
    expiresAt: '2030-01-05T20:00:00.000Z',
    user: { id: 'u1', username: 'demo.gold', displayName: 'Goldie' },
    account: { id: 'a1', number: 'U1000004', primaryUser: 'demo.gold' },
    authenticatedWith: { deviceId: 'd1', kind: 'gold', label: 'Gold device (…6507)' },
    clientKind: 'trading_platform',
    access: 'full',
    restrictions: restrictionDetails.map((r) => r.message),
    restrictionDetails,
    autoRestart,
  };
}

const render = (s: SessionView) =>
  renderToStaticMarkup(
    <I18nextProvider i18n={i18n}>
      <SignedInScreen session={s} onSignOut={() => {}} signingOut={false} footer={null} onAccount={() => {}} />
    </I18nextProvider>,
  );

/** The screen's text: tags stripped, the entities React writes decoded, spaces collapsed. */
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#x27;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

const MOBILE = { code: 'SLS_RESTRICTION_MOBILE_NOT_VERIFIED', message: 'Trading restricted: mobile number not verified' };
const OPT_OUT = { code: 'SLS_RESTRICTION_OPT_OUT', message: 'Pink Sheet and OTCBB trading restricted: SLS opt-out' };
const FUTURE = { code: 'SLS_RESTRICTION_SOMETHING_NEW', message: 'Something new slsd says in English' };

afterEach(() => applyLanguage('en'));

describe('signed-in screen (UI.md 7)', () => {
  for (const [lang, words] of [['en', en], ['de', de], ['fr', fr]] as const) {
    it(`${lang}: known restrictions in the language, an unknown one as slsd wrote it; auto-restart until the cut-off`, () => {
      applyLanguage(lang);
      const html = text(render(session({ state: 'on', until: CUT_OFF }, [OPT_OUT, MOBILE, FUTURE])));
      expect(html).toContain(words.common.signedIn.restriction.optOut);
      expect(html).toContain(words.common.signedIn.restriction.mobileNotVerified);
      expect(html).toContain(FUTURE.message);
      if (lang !== 'en') {
        expect(html).not.toContain(OPT_OUT.message);
        expect(html).not.toContain(MOBILE.message);
      }
      const when = formatNewYorkTime(new Date(CUT_OFF), new Date(), locale());
      expect(html).toContain(words.common.signedIn.autoRestartOn.replace('{{when}}', when));
      expect(when).toMatch(/01:00$/);
    });

    it(`${lang}: auto-restart off says why, in plain words`, () => {
      applyLanguage(lang);
      const off = words.common.signedIn.autoRestartOff;
      expect(text(render(session({ state: 'off', reason: 'no_keychain' }, [])))).toContain(off.noKeychain);
      expect(text(render(session({ state: 'off', reason: 'not_for_this_login' }, [])))).toContain(off.notForThisLogin);
      expect(text(render(session({ state: 'off', reason: 'not_set_up' }, [])))).toContain(off.notSetUp);
    });

    it(`${lang}: auto-restart off because the keychain refused the restart key says so, not "no keychain on this computer" (SPEC L8, C5)`, () => {
      applyLanguage(lang);
      const off = words.common.signedIn.autoRestartOff;
      expect(off.keychainRefused).toBeTruthy();
      const refused = text(render(session({ state: 'off', reason: 'keychain_refused' }, [])));
      expect(refused).toContain(off.keychainRefused);
      expect(refused).not.toContain(off.noKeychain);
      expect(off.keychainRefused).not.toBe(off.noKeychain);
    });

    it(`${lang}: auto-restart turned off while signed in says so: revoked on the server, or past the weekly cut-off (SPEC L8)`, () => {
      applyLanguage(lang);
      const off = words.common.signedIn.autoRestartOff;
      const revoked = text(render(session({ state: 'off', reason: 'revoked' }, [])));
      expect(revoked).toContain(off.revoked);
      expect(revoked).not.toContain(words.common.signedIn.autoRestartOn.split('{{')[0]!.trim());
      expect(text(render(session({ state: 'off', reason: 'expired' }, [])))).toContain(off.expired);
      expect(new Set(Object.values(off)).size).toBe(Object.keys(off).length);
    });

    it(`${lang}: auto-restart turned off because a restart would be refused now (no usable device, portal-only) says so (SPEC L8 × T1, D5)`, () => {
      applyLanguage(lang);
      const off = words.common.signedIn.autoRestartOff;
      expect(off.devices).toBeTruthy();
      const devices = text(render(session({ state: 'off', reason: 'devices' }, [])));
      expect(devices).toContain(off.devices);
      expect(devices).not.toContain(off.revoked);
      expect(devices).not.toContain(words.common.signedIn.autoRestartOn.split('{{')[0]!.trim());
    });
  }

  it('English words for the codes are the sentences slsd sends (the knowledge base\'s), so nothing changes in English', () => {
    expect(en.common.signedIn.restriction.optOut).toBe(OPT_OUT.message);
    expect(en.common.signedIn.restriction.mobileNotVerified).toBe(MOBILE.message);
  });

  it('Sign out is not highlighted as the primary action: UI.md 7 lists it last in the Account menu, after Security', () => {
    const html = render(session({ state: 'off', reason: 'no_keychain' }, []));
    const buttons = [...html.matchAll(/<button [^>]*class="([^"]+)"[^>]*>(.*?)<\/button>/g)].map(([, cls, label]) => [text(label!).trim(), cls]);
    expect(buttons).toEqual([
      [en.common.signedIn.accountSecurity, 'secondary-button'],
      [en.common.signedIn.signOut, 'secondary-button'],
    ]);
    expect(html).not.toContain('class="primary"');
  });

  it('the heading can take the focus (tabindex -1), so the screen change is announced (SPEC C5)', () => {
    expect(render(session({ state: 'off', reason: 'no_keychain' }, []))).toMatch(/<h1 id="[^"]+" tabindex="-1">/);
  });
});
