// Words the client interpolates from outside (an IB Key phone's name chosen by its user, a masked number
// from slsd) stay text inside translated sentences with markup: no tag of theirs becomes an element.
import { renderToStaticMarkup } from 'react-dom/server';
import { I18nextProvider, Trans } from 'react-i18next';
import { describe, expect, it } from 'vitest';
import { LANGUAGES } from '../core/contract/index.ts';
import { i18n } from './i18n/index.ts';

const HOSTILE = '<strong>Approve</strong><a href="javascript:alert(1)">tap</a><br/><i>now</i><0>zero</0><img src=x onerror=alert(1)>';

describe('translated sentences with markup (UI.md languages; SPEC C3)', () => {
  for (const lang of LANGUAGES) {
    it(`keeps a phone's name as text in the IB Key notification line (${lang})`, () => {
      // Fixed first, as the screens' `t` is: written inline in the `t` prop, the call is inferred from
      // Trans's props instead, with the default namespace ('common'), and the key does not type-check.
      const t = i18n.getFixedT(lang, 'challenge');
      const html = renderToStaticMarkup(
        <I18nextProvider i18n={i18n}>
          <Trans t={t} i18nKey="push.sent" values={{ device: HOSTILE }} components={{ strong: <strong /> }} />
        </I18nextProvider>,
      );
      // Exactly the one <strong> of the sentence, holding the name as escaped text; nothing else became markup.
      expect(html.match(/<strong>/g)).toHaveLength(1);
      expect(html).not.toMatch(/<(a|i|br|img|0)\b/);
      expect(html).toContain('&lt;a href=&quot;javascript:alert(1)&quot;&gt;tap&lt;/a&gt;');
    });
  }
});
