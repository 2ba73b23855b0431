// The list under "Share a device" (SPEC S3–S5): every request a user is part of that still needs
// them, in every open state, with the step that moves it on: the requester continues a started one
// (S3: the owner's device has not answered), submits a verified one (S4), withdraws either; the owner
// sees requests for their device as they stand and may refuse one. Words in every language.
import { renderToStaticMarkup } from 'react-dom/server';
import { I18nextProvider } from 'react-i18next';
import { afterEach, describe, expect, it } from 'vitest';
import type { SharingView } from '../../core/account-api.ts';
import type { SlsApi } from '../../core/contract/index.ts';
import { formatNewYorkTime } from '../../core/contract/messages.ts';
import { de } from '../i18n/de/index.ts';
import { en } from '../i18n/en/index.ts';
import { fr } from '../i18n/fr/index.ts';
import { applyLanguage, i18n, locale } from '../i18n/index.ts';
import { deviceLabel } from '../devices.ts';
import { ENDED_SHOWN_MS, SharingList, dropChallenge, heldChallenge, holdChallenge, holdsSharing, requestInProgress, resumableChallenge, sharingRows } from './SharingList.tsx';
import type { SharingListProps } from './SharingList.tsx';

const BO = { username: 'borrow.req', displayName: 'Bo Borrower' };
const LENA = { username: 'lend.owner', displayName: 'Lena Lender' };
const OTTO = { username: 'other.req', displayName: 'Otto Other' };

let n = 0;
function request(state: SharingView['state'], over: Partial<SharingView> = {}): SharingView {
  n += 1;
  return {
    id: `r${n}`,
    state,
    requester: BO,
    owner: LENA,
    device: { id: 'gold1', kind: 'gold', label: 'Gold device (…6507)' },
    needsCompliance: false,
    requesterDevices: [{ id: 'dsc1', label: 'Digital Security Card (…1234)', status: 'active' }],
    createdAt: new Date(Date.UTC(2030, 0, 1, 12, n)).toISOString(),
    ...over,
  };
}

const summary = (rows: ReturnType<typeof sharingRows>) => rows.map((r) => [r.request.state, r.mine ? 'requester' : 'owner', r.actions.join('+')]);

describe('sharingRows: what each user sees and may do (SPEC S3–S5)', () => {
  it('the requester sees each open request with the step that moves it on; cancelled ones are history', () => {
    const all = [request('started'), request('verified'), request('pending_compliance'), request('approved'), request('cancelled')].reverse();
    expect(summary(sharingRows(all, 'borrow.req'))).toEqual([
      ['approved', 'requester', 'end'],
      ['pending_compliance', 'requester', 'withdraw'],
      ['verified', 'requester', 'submit+withdraw'],
      ['started', 'requester', 'continue+withdraw'],
    ]);
  });

  it('the owner sees the requests for their device in every open state, and may refuse or end them', () => {
    const all = [request('started'), request('verified'), request('pending_compliance'), request('approved'), request('rejected'), request('cancelled')].reverse();
    expect(summary(sharingRows(all, 'LEND.OWNER'))).toEqual([
      ['approved', 'owner', 'end'],
      ['pending_compliance', 'owner', 'refuse'],
      ['verified', 'owner', 'refuse'],
      ['started', 'owner', 'refuse'],
    ]);
  });

  it("a request Compliance rejected shows while it is the requester's latest, without an action", () => {
    const rejected = request('rejected', { needsCompliance: true });
    expect(summary(sharingRows([rejected], 'borrow.req'))).toEqual([['rejected', 'requester', '']]);
    const later = request('cancelled');
    expect(sharingRows([later, rejected], 'borrow.req')).toEqual([]);
  });

  it("requests of other users are not listed, and another user's request for my device is", () => {
    const theirs = request('started', { requester: OTTO });
    expect(sharingRows([theirs], 'borrow.req')).toEqual([]);
    expect(summary(sharingRows([theirs], 'lend.owner'))).toEqual([['started', 'owner', 'refuse']]);
  });

  describe('ended requests say what ended them, for a week, to the user who did not end them (SPEC S3–S5)', () => {
    const NOW = Date.UTC(2030, 0, 3, 12, 0);
    const ended = (state: 'cancelled' | 'rejected', reason: NonNullable<SharingView['ended']>['reason'], agoMs = 60_000, over: Partial<SharingView> = {}) =>
      request(state, { ended: { reason, at: new Date(NOW - agoMs).toISOString() }, ...over });
    const shown = (r: SharingView, username: string, now = NOW) => summary(sharingRows([r], username, now));

    it('the requester is told the owner refused or ended it, Compliance rejected it, or the device went; not what they did themselves', () => {
      for (const reason of ['refused_by_owner', 'ended_by_owner', 'device_reported', 'device_returned', 'device_set_aside', 'device_unavailable'] as const) {
        expect(shown(ended('cancelled', reason), 'borrow.req'), reason).toEqual([['cancelled', 'requester', '']]);
      }
      expect(shown(ended('rejected', 'rejected_by_compliance'), 'borrow.req')).toEqual([['rejected', 'requester', '']]);
      for (const reason of ['withdrawn', 'ended_by_requester', 'replaced', 'not_recorded'] as const) expect(shown(ended('cancelled', reason), 'borrow.req'), reason).toEqual([]);
    });

    it('the owner is told the requester withdrew or ended it, Compliance rejected it, or the device went; not their own refusal', () => {
      for (const reason of ['withdrawn', 'ended_by_requester', 'device_reported', 'device_unavailable'] as const) {
        expect(shown(ended('cancelled', reason), 'lend.owner'), reason).toEqual([['cancelled', 'owner', '']]);
      }
      expect(shown(ended('rejected', 'rejected_by_compliance'), 'lend.owner')).toEqual([['rejected', 'owner', '']]);
      for (const reason of ['refused_by_owner', 'ended_by_owner', 'replaced', 'not_recorded'] as const) expect(shown(ended('cancelled', reason), 'lend.owner'), reason).toEqual([]);
    });

    it('for ENDED_SHOWN_MS (7 days) after it ended, and while it is its requester\'s latest request', () => {
      expect(ENDED_SHOWN_MS).toBe(7 * 24 * 60 * 60 * 1000);
      expect(shown(ended('cancelled', 'refused_by_owner', ENDED_SHOWN_MS), 'borrow.req')).toHaveLength(1);
      expect(shown(ended('cancelled', 'refused_by_owner', ENDED_SHOWN_MS + 1), 'borrow.req')).toEqual([]);
      const refused = ended('cancelled', 'refused_by_owner');
      const newer = request('started');
      expect(summary(sharingRows([newer, refused], 'borrow.req', NOW))).toEqual([['started', 'requester', 'continue+withdraw']]);
      // Another requester's newer request does not hide it from the owner.
      const otto = request('started', { requester: OTTO });
      const withdrawn = ended('cancelled', 'withdrawn');
      expect(summary(sharingRows([otto, withdrawn], 'lend.owner', NOW))).toEqual([
        ['started', 'owner', 'refuse'],
        ['cancelled', 'owner', ''],
      ]);
    });
  });

  it('holdsSharing: only an approved sharing or one waiting for Compliance holds; requestInProgress: a started or verified one of mine', () => {
    const started = request('started');
    const verified = request('verified');
    expect(holdsSharing([started, verified], 'borrow.req')).toBe(false);
    expect(holdsSharing([request('pending_compliance')], 'borrow.req')).toBe(true);
    expect(holdsSharing([request('approved')], 'lend.owner')).toBe(false);
    expect(requestInProgress([request('approved'), started], 'borrow.req')).toBe(started);
    expect(requestInProgress([verified], 'borrow.req')).toBe(verified);
    expect(requestInProgress([verified], 'lend.owner')).toBeNull();
    expect(requestInProgress([request('pending_compliance')], 'borrow.req')).toBeNull();
  });
});

describe('the challenge of a started request, for Continue (SPEC S3)', () => {
  const NOW = Date.UTC(2030, 0, 1, 12, 0);
  const started = (id: string, expiresIn: number) => {
    const r = request('started', { id });
    return {
      requestId: id,
      request: r,
      c: { confirmationId: `c-${id}`, expiresAt: new Date(NOW + expiresIn).toISOString(), challenge: { type: 'response_code' as const, kind: 'gold' as const, deviceId: 'gold1', challenge: '12345678', responseLength: 8, responseAlphabet: 'digits' as const, pinOnDevice: false } },
    };
  };

  it('is given back to its requester while it can still be answered, then no more', () => {
    holdChallenge('Borrow.Req', started('h1', 120_000));
    expect(heldChallenge('borrow.req', 'h1', NOW)?.c.confirmationId).toBe('c-h1');
    expect(heldChallenge('lend.owner', 'h1', NOW)).toBeNull();
    // Too close to its expiry to be typed in time: a new challenge instead.
    expect(heldChallenge('borrow.req', 'h1', NOW + 110_000)).toBeNull();
    expect(heldChallenge('borrow.req', 'h1', NOW)).toBeNull();
  });

  it('is dropped once answered, withdrawn or started over', () => {
    holdChallenge('borrow.req', started('h2', 120_000));
    dropChallenge('h2');
    expect(heldChallenge('borrow.req', 'h2', NOW)).toBeNull();
  });

  it("after a restart, slsd's list gives it back with the requester's started request: Continue needs no owner's password while it can be typed in time", () => {
    const s = started('h3', 120_000);
    const listed = { ...s.request, challenge: s.c };
    expect(resumableChallenge('Borrow.Req', listed, NOW)).toEqual({ requestId: 'h3', c: s.c, request: listed });
    // Not the owner's, not one no longer started, not one about to expire, not one without a challenge.
    expect(resumableChallenge('lend.owner', listed, NOW)).toBeNull();
    expect(resumableChallenge('borrow.req', { ...listed, state: 'verified' }, NOW)).toBeNull();
    expect(resumableChallenge('borrow.req', listed, NOW + 110_000)).toBeNull();
    expect(resumableChallenge('borrow.req', s.request, NOW)).toBeNull();
  });

  it('one given up here (Start over) is not taken up again from the list', () => {
    const s = started('h4', 120_000);
    const listed = { ...s.request, challenge: s.c };
    holdChallenge('borrow.req', s);
    expect(resumableChallenge('borrow.req', listed, NOW)?.c.confirmationId).toBe('c-h4');
    dropChallenge('h4');
    expect(resumableChallenge('borrow.req', listed, NOW)).toBeNull();
  });
});

const api = {} as SlsApi;
const noop = () => {};
const render = (sharings: SharingView[], username: string, extra: Partial<SharingListProps> = {}) =>
  renderToStaticMarkup(
    <I18nextProvider i18n={i18n}>
      <SharingList api={api} sharings={sharings} username={username} signedInWith={null} onChanged={noop} onSignedOut={noop} onContinue={noop} onSubmit={noop} {...extra} />
    </I18nextProvider>,
  );

/** The list's text: tags stripped, the entities React writes decoded, spaces collapsed. */
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#x27;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

/** The buttons' accessible names (aria-label), in order. */
const buttons = (html: string) => [...html.matchAll(/<button[^>]*aria-label="([^"]*)"/g)].map((m) => m[1]!.replace(/&#x27;/g, "'"));

/** i18next's interpolation, for the expected words. */
const fill = (s: string, values: Record<string, string>) => s.replace(/\{\{(\w+)\}\}/g, (_, k: string) => values[k]!);

afterEach(() => applyLanguage('en'));

describe('SharingList on screen (SPEC S3–S5, C5)', () => {
  for (const [lang, words] of [['en', en], ['de', de], ['fr', fr]] as const) {
    it(`${lang}: the requester's started and verified requests, with Continue, Submit and Withdraw`, () => {
      applyLanguage(lang);
      const device = deviceLabel('Gold device (…6507)', 'gold');
      const own = deviceLabel('Digital Security Card (…1234)');
      const w = words.account.share.current;
      const verified = request('verified', { needsCompliance: true });
      const html = render([request('started'), verified], 'borrow.req');
      const shown = text(html);
      expect(shown).toContain(fill(w.youStarted, { owner: LENA.displayName, device }));
      expect(shown).toContain(fill(w.youVerifiedCompliance, { owner: LENA.displayName, device }));
      expect(shown).toContain(fill(words.account.share.setAside, { devices: own }));
      expect(buttons(html)).toEqual([
        `${words.account.continue}: ${device}`,
        `${w.withdraw}: ${device}`,
        `${words.account.share.submit}: ${device}`,
        `${w.withdraw}: ${device}`,
      ]);
      // Within one entity the submit approves at once (S4).
      expect(text(render([request('verified')], 'borrow.req'))).toContain(fill(w.youVerified, { owner: LENA.displayName, device }));
    });

    it(`${lang}: the owner sees requests for their device as they stand, each with Refuse`, () => {
      applyLanguage(lang);
      const device = deviceLabel('Gold device (…6507)', 'gold');
      const w = words.account.share.current;
      const html = render([request('started'), request('verified'), request('pending_compliance')], 'lend.owner');
      const shown = text(html);
      expect(shown).toContain(fill(w.theyStarted, { requester: BO.displayName, device }));
      expect(shown).toContain(fill(w.theyVerified, { requester: BO.displayName, device }));
      expect(shown).toContain(fill(w.theyWait, { requester: BO.displayName, device }));
      expect(buttons(html)).toEqual(Array(3).fill(`${w.refuse}: ${device}`));
    });

    it(`${lang}: the requester reads that the owner refused their request, or ended their use of the device, and when`, () => {
      applyLanguage(lang);
      const device = deviceLabel('Gold device (…6507)', 'gold');
      const w = words.account.share.current.over;
      const at = new Date(Date.now() - 3_600_000).toISOString();
      const when = formatNewYorkTime(new Date(at), new Date(), locale());
      const refused = text(render([request('cancelled', { ended: { reason: 'refused_by_owner', at } })], 'borrow.req'));
      expect(refused).toContain(`${fill(w.yourRequest, { owner: LENA.displayName, device, when })} ${fill(w.refusedByOwner, { owner: LENA.displayName })}`);
      const endedByOwner = text(render([request('cancelled', { decidedAt: at, ended: { reason: 'ended_by_owner', at } })], 'borrow.req'));
      expect(endedByOwner).toContain(`${fill(w.yourSharing, { owner: LENA.displayName, device, when })} ${fill(w.endedByOwner, { owner: LENA.displayName })}`);
      expect(buttons(render([request('cancelled', { ended: { reason: 'refused_by_owner', at } })], 'borrow.req'))).toEqual([]);
    });

    it(`${lang}: the owner reads that the requester withdrew, and that Compliance rejected a request for their device`, () => {
      applyLanguage(lang);
      const device = deviceLabel('Gold device (…6507)', 'gold');
      const w = words.account.share.current.over;
      const at = new Date(Date.now() - 60_000).toISOString();
      const when = formatNewYorkTime(new Date(at), new Date(), locale());
      const withdrawn = text(render([request('cancelled', { ended: { reason: 'withdrawn', at } })], 'lend.owner'));
      expect(withdrawn).toContain(`${fill(w.theirRequest, { requester: BO.displayName, device, when })} ${fill(w.withdrawnByRequester, { requester: BO.displayName })}`);
      const rejected = text(render([request('rejected', { decidedAt: at, ended: { reason: 'rejected_by_compliance', at } })], 'lend.owner'));
      expect(rejected).toContain(`${fill(w.theirRequest, { requester: BO.displayName, device, when })} ${w.rejectedByCompliance}`);
    });

    it(`${lang}: the list's heading is in the language`, () => {
      applyLanguage(lang);
      expect(render([request('started')], 'borrow.req')).toContain(`<h3>${words.account.share.current.title.replace(/'/g, '&#x27;')}</h3>`);
      if (lang !== 'en') expect(words.account.share.current.title).not.toBe(en.account.share.current.title);
    });

    it(`${lang}: a rejection by Compliance is said`, () => {
      applyLanguage(lang);
      const device = deviceLabel('Gold device (…6507)', 'gold');
      const html = render([request('rejected', { needsCompliance: true })], 'borrow.req');
      expect(text(html)).toContain(fill(words.account.share.current.youRejected, { owner: LENA.displayName, device }));
      expect(buttons(html)).toEqual([]);
    });
  }

  it('the request the screen below is taking through its steps is not listed twice', () => {
    const started = request('started');
    expect(render([started], 'borrow.req', { inProgress: started.id })).toBe('');
    expect(text(render([started, request('approved', { requester: OTTO, owner: BO })], 'borrow.req', { inProgress: started.id }))).toContain('Otto Other uses your Gold device');
  });

  it('while the screen below waits for slsd, the list offers no second step', () => {
    const html = render([request('verified')], 'borrow.req', { busy: true });
    expect(html.match(/<button[^>]*disabled=""/g)).toHaveLength(2);
  });
});
