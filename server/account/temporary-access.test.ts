// Temporary access on SQLite and PostgreSQL (SPEC T1, T2, W1, W2, D5, N1): the devices offered to confirm
// a withdrawal are the ones that can confirm it now, the same the challenge step accepts, and a refusal
// never suggests a device that cannot; opening the online Security Code Card in two windows at once gives
// one card, also across two slsd on one database.
import { expect, it } from 'vitest';
import type { ConfirmationChallenge, WithdrawalOverview } from '../../core/account-api.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import { ONLINE_CARD_VALIDITY_MS, expireOnlineCards } from '../services/temporary-access.ts';
import { errorCode, getJson, postJson } from '../testing/http.ts';
import { refuseAuditEvent } from '../testing/refuse-audit.ts';
import { accountServerForEachTest, bearer, makeUser, ok, PORTAL, signIn, startAccountServer, USD } from './testing.ts';
import type { AccountTestServer } from './testing.ts';

const probe = await probePostgres();

/** Monday 2 November 2026, 10:00 in New York. */
const MONDAY = Date.parse('2026-11-02T15:00:00Z');
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

interface OnlineCard {
  readonly deviceId: string;
  readonly cells: readonly string[];
  readonly validUntil: string;
}
interface LimitError {
  readonly error: { readonly code: string; readonly message: string; readonly useDevice?: { readonly kind: string } };
}

describeEachBackend('devices offered to confirm a withdrawal (SPEC W1, W2, T1, T2, D5)', probe, (backend) => {
  let t: AccountTestServer;
  accountServerForEachTest(backend, MONDAY, (s) => (t = s));

  const offered = async (token: string) => ok(await getJson<WithdrawalOverview>(t.app, '/v1/withdrawals', bearer(token))).devices.map((d) => d.kind).sort();
  const challenge = (token: string, deviceId: string, amountCents: number) => postJson<ConfirmationChallenge>(t.app, '/v1/withdrawals/challenge', { deviceId, amountCents }, bearer(token));
  const passcodeLogin = (username: string, issued: { deviceId: string; passcode: string }) => signIn(t, username, { device: { id: issued.deviceId } } as never, PORTAL, () => issued.passcode);

  it('T1, W1: a temporary passcode is offered through its portal-only days and confirms; past its 12 days, before any sweep retired it, it is no longer offered and its challenge is refused alike', async () => {
    const u = await makeUser(t, 'pat', ['ibkey']);
    const issued = await t.provisioning.issueTemporaryPasscode('pat', 'test');
    t.clock.set(issued.portalAccessUntil - HOUR);
    const token = await signIn(t, 'pat', u.devices.ibkey!);
    // T1's portal-only days: the Client Portal (withdrawals included, C6) still takes it.
    expect(await offered(token)).toEqual(['ibkey', 'temp_passcode']);
    ok(await challenge(token, issued.deviceId, 100 * USD));

    t.clock.set(issued.portalAccessUntil + HOUR); // the session (12 h) is still open; nothing retired the passcode
    expect(await offered(token)).toEqual(['ibkey']);
    expect(errorCode(await challenge(token, issued.deviceId, 100 * USD))).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
  });

  it('T2, W2: an online Security Code Card past its 21 days is not offered, and a refusal suggests the DSC+ rather than that card', async () => {
    const u = await makeUser(t, 'lou', ['dscplus']);
    // Day 0: a first temporary passcode, and its online card (21 days).
    const first = await t.provisioning.issueTemporaryPasscode('lou', 'test');
    const card = ok(await postJson<OnlineCard>(t.app, '/v1/temporary-access/online-card', {}, bearer(await passcodeLogin('lou', first))));
    // The DSC+ works again (a regular login), so client services may issue a second passcode later (T1).
    await signIn(t, 'lou', u.devices.dscplus!);
    t.clock.set(MONDAY + 20 * DAY);
    const second = await t.provisioning.issueTemporaryPasscode('lou', 'test');
    t.clock.set(Date.parse(card.validUntil) - HOUR);
    const token = await passcodeLogin('lou', second);
    expect(await offered(token)).toEqual(['dscplus', 'online_scc', 'temp_passcode']);

    t.clock.set(Date.parse(card.validUntil) + HOUR); // the card's 21 days are over; no login swept it yet
    expect(await offered(token)).toEqual(['dscplus', 'temp_passcode']);
    // USD 60,000 passes the passcode's daily limit (W1: 50,000). The card's row (200,000) would allow it
    // but the card confirms nothing now: the DSC+ is the device that would.
    const refused = await challenge(token, second.deviceId, 60_000 * USD);
    expect(errorCode(refused)).toBe('SLS_ERR_WITHDRAWAL_LIMIT');
    const err = (refused.body as unknown as LimitError).error;
    expect(err.useDevice?.kind).toBe('dscplus');
    expect(err.message).toMatch(/Use your Digital Security Card\+/);
    expect(errorCode(await challenge(token, card.deviceId, 100 * USD))).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
  });
});

describeEachBackend('a session opened with temporary access ends with it (SPEC T1, T2, C6, D5)', probe, (backend) => {
  let t: AccountTestServer;
  accountServerForEachTest(backend, MONDAY, (s) => (t = s));

  it('T1, C6: a Client Portal session opened with a temporary passcode ends with its 12 days (one from before sessions ended with it loses the portal functions: SLS_ERR_SECOND_FACTOR_REQUIRED); the online card keeps working', async () => {
    await makeUser(t, 'zoe', []);
    const issued = await t.provisioning.issueTemporaryPasscode('zoe', 'test');
    t.clock.set(issued.portalAccessUntil - HOUR);
    const token = await signIn(t, 'zoe', { device: { id: issued.deviceId } } as never, PORTAL, () => issued.passcode);
    const card = ok(await postJson<OnlineCard>(t.app, '/v1/temporary-access/online-card', {}, bearer(token)));
    ok(await getJson(t.app, '/v1/withdrawals', bearer(token)));

    t.clock.set(issued.portalAccessUntil + HOUR); // nothing retired the passcode
    // The session ended with the passcode's 12 days (sessions.ts `notAfter`)…
    expect(errorCode(await getJson(t.app, '/v1/withdrawals', bearer(token)))).toBe('SLS_ERR_SESSION_EXPIRED');
    // …and one opened before sessions ended with their device (its 12 hours uncapped) is refused anyway.
    await t.adb.updateTable('sessions').set({ expires_at: issued.portalAccessUntil + 11 * HOUR }).execute();
    expect(errorCode(await getJson(t.app, '/v1/withdrawals', bearer(token)))).toBe('SLS_ERR_SECOND_FACTOR_REQUIRED');
    expect(errorCode(await postJson(t.app, '/v1/temporary-access/online-card', {}, bearer(token)))).toBe('SLS_ERR_SECOND_FACTOR_REQUIRED');
    // T2: the card printed with it still opens the portal, and shows itself again.
    const withCard = await signIn(t, 'zoe', { device: { id: card.deviceId }, card: { cells: card.cells } } as never, PORTAL);
    expect(ok(await postJson<OnlineCard>(t.app, '/v1/temporary-access/online-card', {}, bearer(withCard))).deviceId).toBe(card.deviceId);
  });

  it('T2, C6: a session opened with the online Security Code Card ends with the card\'s 21 days; one from before sessions ended with it loses the portal functions', async () => {
    await makeUser(t, 'cyd', []);
    const issued = await t.provisioning.issueTemporaryPasscode('cyd', 'test');
    const first = await signIn(t, 'cyd', { device: { id: issued.deviceId } } as never, PORTAL, () => issued.passcode);
    const card = ok(await postJson<OnlineCard>(t.app, '/v1/temporary-access/online-card', {}, bearer(first)));
    t.clock.set(Date.parse(card.validUntil) - HOUR);
    const token = await signIn(t, 'cyd', { device: { id: card.deviceId }, card: { cells: card.cells } } as never, PORTAL);
    ok(await getJson(t.app, '/v1/withdrawals', bearer(token)));
    t.clock.set(Date.parse(card.validUntil) + HOUR);
    expect(errorCode(await getJson(t.app, '/v1/withdrawals', bearer(token)))).toBe('SLS_ERR_SESSION_EXPIRED');
    await t.adb.updateTable('sessions').set({ expires_at: Date.parse(card.validUntil) + 11 * HOUR }).execute();
    expect(errorCode(await getJson(t.app, '/v1/withdrawals', bearer(token)))).toBe('SLS_ERR_SECOND_FACTOR_REQUIRED');
  });
});

describeEachBackend('one online Security Code Card per temporary passcode (SPEC T1, T2, N1)', probe, (backend) => {
  let t: AccountTestServer;
  accountServerForEachTest(backend, MONDAY, (s) => (t = s));

  const activeCards = async (userId: string) =>
    (await t.adb.selectFrom('devices').select(['id', 'status']).where('user_id', '=', userId).where('kind', '=', 'online_scc').execute()).map((d) => `${d.id}:${d.status}`);

  it('N2, T2: a card is issued with its audit entry or not at all: when the entry cannot be written, no card exists, and the next open issues one, on record once', async () => {
    const u = await makeUser(t, 'ned', []);
    const issued = await t.provisioning.issueTemporaryPasscode('ned', 'test');
    const token = await signIn(t, 'ned', { device: { id: issued.deviceId } } as never, PORTAL, () => issued.passcode);
    // The audit log refuses this one entry (a full disk, a failing write), as the database would.
    const allow = await refuseAuditEvent(t.adb, 'temporary_access.online_card_issued');
    const refused = await postJson<OnlineCard>(t.app, '/v1/temporary-access/online-card', {}, bearer(token));
    expect(refused.status).toBe(500);
    expect(await activeCards(u.userId)).toEqual([]);
    expect(await t.adb.selectFrom('online_cards').select('device_id').where('user_id', '=', u.userId).execute()).toEqual([]);

    await allow();
    const card = ok(await postJson<OnlineCard>(t.app, '/v1/temporary-access/online-card', {}, bearer(token)));
    expect(await activeCards(u.userId)).toEqual([`${card.deviceId}:active`]);
    const onRecord = await t.adb.selectFrom('audit_log').select('device_id').where('event', '=', 'temporary_access.online_card_issued').where('user_id', '=', u.userId).execute();
    expect(onRecord).toEqual([{ device_id: card.deviceId }]);
  });

  it('T2, N1, N2: a card past its 21 days is retired once with one audit entry, however many sweeps run at once, and never unaudited', async () => {
    const u = await makeUser(t, 'sweep', []);
    const issued = await t.provisioning.issueTemporaryPasscode('sweep', 'test');
    const token = await signIn(t, 'sweep', { device: { id: issued.deviceId } } as never, PORTAL, () => issued.passcode);
    const card = ok(await postJson<OnlineCard>(t.app, '/v1/temporary-access/online-card', {}, bearer(token)));
    const past = Date.parse(card.validUntil) + HOUR;
    const retired = async () =>
      (await t.adb.selectFrom('audit_log').select(['event', 'device_id']).where('user_id', '=', u.userId).execute()).filter((e) => e.event === 'device.status_changed' && e.device_id === card.deviceId).length;

    // The entry cannot be written: the card is not retired either (it stays listed as active, and is refused at use by its date).
    const allow = await refuseAuditEvent(t.adb, 'device.status_changed');
    await expect(expireOnlineCards(t.adb, past, u.userId)).rejects.toThrow();
    expect(await activeCards(u.userId)).toEqual([`${card.deviceId}:active`]);
    await allow();

    // Two sweeps at once (a login and a withdrawal of the user, or two slsd): one retires it, one entry.
    const counts = await Promise.all([expireOnlineCards(t.adb, past, u.userId), expireOnlineCards(t.adb, past, u.userId), expireOnlineCards(t.adb, past)]);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1);
    expect(await activeCards(u.userId)).toEqual([`${card.deviceId}:revoked`]);
    expect(await retired()).toBe(1);
  });

  it('T2, N1: opening the card in two windows at once, each on its own slsd, shows one card, the same in both, and it answers a login', async () => {
    const u = await makeUser(t, 'twin', []);
    const issued = await t.provisioning.issueTemporaryPasscode('twin', 'test');
    const token = await signIn(t, 'twin', { device: { id: issued.deviceId } } as never, PORTAL, () => issued.passcode);
    // A second slsd on the same database (N1: no state in a process), sharing the clock and the server key.
    const other = await startAccountServer({ clock: t.clock, dataDir: t.dataDir, config: { databaseUrl: t.config.databaseUrl, serverKey: t.config.serverKey! } });
    try {
      const open = (s: AccountTestServer) => postJson<OnlineCard>(s.app, '/v1/temporary-access/online-card', {}, bearer(token));
      const views = (await Promise.all([t, other, t, other, t, other].map(open))).map(ok);
      const a = views[0]!;
      expect(new Set(views.map((v) => v.deviceId))).toEqual(new Set([a.deviceId]));
      for (const v of views) expect(v.cells).toEqual(a.cells);
      expect(await activeCards(u.userId)).toEqual([`${a.deviceId}:active`]);
      const issuedAudit = await t.adb.selectFrom('audit_log').select('device_id').where('event', '=', 'temporary_access.online_card_issued').execute();
      expect(issuedAudit).toEqual([{ device_id: a.deviceId }]);
      // The card the user printed is the one that works (D3).
      // And it stays the one card while valid (T2), past the passcode's 12 days.
      t.clock.advance(ONLINE_CARD_VALIDITY_MS - HOUR);
      const withCard = await signIn(t, 'twin', { device: { id: a.deviceId }, card: { cells: a.cells } } as never, PORTAL);
      expect(ok(await postJson<OnlineCard>(other.app, '/v1/temporary-access/online-card', {}, bearer(withCard))).deviceId).toBe(a.deviceId);
    } finally {
      await other.close();
    }
  });
});
