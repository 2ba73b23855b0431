// Auto-restart until the weekly cut-off (SPEC L8) and the portal part of temporary access (T1, T2).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoginStep } from '../../core/api.ts';
import { errorCode, getJson, postJson } from '../testing/http.ts';
import { testClock } from '../testing/test-server.ts';
import { ONLINE_CARD_VALIDITY_MS } from '../services/temporary-access.ts';
import { bearer, makeUser, ok, PASSWORD, PORTAL, signIn, startAccountServer, TRADING } from './testing.ts';
import type { AccountTestServer } from './testing.ts';

/** New York wall-clock time in November 2026 (EST, UTC−5). */
const ny = (ymd: string, hh = 10, mm = 0) => Date.parse(`${ymd}T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:00-05:00`);

let t: AccountTestServer;
afterEach(async () => {
  await t.close();
});

describe('auto-restart (SPEC L8)', () => {
  interface Restarted {
    restartToken: string;
    validUntil: string;
    session: { token: string; authenticatedWith: unknown };
  }
  let grant: { restartToken: string; validUntil: string };
  /** The session that asked for `grant`. */
  let session: string;
  beforeEach(async () => {
    t = await startAccountServer({ clock: testClock(ny('2026-11-04', 9)) }); // a Wednesday
    const u = await makeUser(t, 'rob', ['dscplus']);
    session = await signIn(t, 'rob', u.devices.dscplus!, TRADING);
    grant = ok(await postJson<{ restartToken: string; validUntil: string }>(t.app, '/v1/login/restart-token', {}, bearer(session)));
  });
  const restart = (restartToken: string, username = 'rob') => postJson<Restarted>(t.app, '/v1/login/restart', { username, restartToken });

  it('L8: the token is valid until Sunday 01:00 New York time and signs in without a second factor', async () => {
    expect(grant.validUntil).toBe('2026-11-08T06:00:00.000Z');
    expect(grant.restartToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const r = ok(await restart(grant.restartToken));
    expect(r.session.authenticatedWith).toBeNull();
    expect(r.validUntil).toBe(grant.validUntil);
    expect(r.restartToken).not.toBe(grant.restartToken);
    const stored = await t.adb.selectFrom('restart_tokens').select('token_hash').execute();
    expect(stored.every((s) => s.token_hash !== grant.restartToken && /^[0-9a-f]{64}$/.test(s.token_hash))).toBe(true);
  });

  it('L8, K8: a password set by client services ends that user\'s sessions and restart tokens at once; other users keep theirs', async () => {
    const sam = await makeUser(t, 'sam', ['dscplus']);
    const samSession = await signIn(t, 'sam', sam.devices.dscplus!, TRADING);
    const samGrant = ok(await postJson<{ restartToken: string }>(t.app, '/v1/login/restart-token', {}, bearer(samSession)));
    const eve = await makeUser(t, 'eve', ['dscplus']);
    const eveSession = await signIn(t, 'eve', eve.devices.dscplus!, TRADING);
    await t.provisioning.setPassword('sam', 'Brand-New-Passw0rd');
    expect(errorCode(await getJson(t.app, '/v1/session', bearer(samSession)))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect(errorCode(await restart(samGrant.restartToken, 'sam'))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    expect((await getJson(t.app, '/v1/session', bearer(eveSession))).status).toBe(200);
    expect((await restart(grant.restartToken)).status).toBe(200);
    const audit = await t.services.db.selectFrom('audit_log').select('details').where('event', '=', 'user.password_set').execute();
    expect(audit.map((a) => JSON.parse(a.details))).toEqual([{ sessionsEnded: 1, restartTokensRevoked: 1 }]);
    // The new password signs in (a full login: the second factor again).
    expect((await postJson<LoginStep>(t.app, '/v1/login', { username: 'sam', password: 'Brand-New-Passw0rd', client: TRADING })).body.status).toBe('challenge');
  });

  it('L8: each token works once; the next one works', async () => {
    const r = ok(await restart(grant.restartToken));
    expect(errorCode(await restart(grant.restartToken))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    expect((await restart(r.restartToken)).status).toBe(200);
  });

  it('L8: the cut-off minute: Sunday 00:59 New York works, 01:00 does not', async () => {
    t.clock.set(ny('2026-11-08', 0, 59));
    const r = ok(await restart(grant.restartToken));
    t.clock.set(ny('2026-11-08', 1, 0));
    expect(errorCode(await restart(r.restartToken))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
  });

  it('L8: a wrong token or another user\'s name is refused and counted as a failure (L6)', async () => {
    expect(errorCode(await restart('x'.repeat(43)))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    await makeUser(t, 'eve', ['scc']);
    expect(errorCode(await restart(grant.restartToken, 'eve'))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    const counters = await t.adb.selectFrom('failure_counters').selectAll().where('scope', '=', 'user').execute();
    expect(counters.map((c) => c.subject).sort()).toEqual(['eve', 'rob']);
  });

  it('L8: a session asks whether the token it holds still works: live until the cut-off, used once restarted with, expired past the cut-off, none when it holds none', async () => {
    const status = (token: string) => getJson(t.app, '/v1/login/restart-token', bearer(token));
    expect(ok(await status(session))).toEqual({ state: 'live', validUntil: grant.validUntil });
    // Restarted with (by this computer, or a stolen copy): this session's token is spent; the restarted one holds the next.
    const r = ok(await restart(grant.restartToken));
    expect(ok(await status(session))).toEqual({ state: 'used' });
    expect(ok(await status(r.session.token))).toEqual({ state: 'live', validUntil: grant.validUntil });
    // Asking changes nothing: the next token still works.
    expect((await restart(r.restartToken)).status).toBe(200);

    // A session still open at the cut-off: its token is past it.
    t.clock.set(ny('2026-11-08', 0, 30));
    const ria = await makeUser(t, 'ria', ['dscplus']);
    const late = await signIn(t, 'ria', ria.devices.dscplus!, TRADING);
    ok(await postJson(t.app, '/v1/login/restart-token', {}, bearer(late)));
    t.clock.set(ny('2026-11-08', 1, 0));
    expect(ok(await status(late))).toEqual({ state: 'expired' });
    // A session that never asked for one (a Client Portal login) holds none; no session, no answer.
    expect(ok(await status(await signIn(t, 'ria', ria.devices.dscplus!, PORTAL)))).toEqual({ state: 'none' });
    expect(errorCode(await getJson(t.app, '/v1/login/restart-token'))).toBe('SLS_ERR_UNAUTHENTICATED');
  });

  it('L8, C6: a restarted session gets no restart token of its own and no portal functions', async () => {
    const r = ok(await restart(grant.restartToken));
    expect(errorCode(await postJson(t.app, '/v1/login/restart-token', {}, bearer(r.session.token)))).toBe('SLS_ERR_SECOND_FACTOR_REQUIRED');
    expect(errorCode(await getJson(t.app, '/v1/devices', bearer(r.session.token)))).toBe('SLS_ERR_SECOND_FACTOR_REQUIRED');
  });
});

describe('temporary access in the portal (SPEC T1, T2)', () => {
  beforeEach(async () => {
    t = await startAccountServer();
    await makeUser(t, 'lost', []);
  });

  async function tempSession(client: object = PORTAL) {
    const issued = await t.provisioning.issueTemporaryPasscode('lost', 'test');
    return { ...issued, token: await signIn(t, 'lost', { device: { id: issued.deviceId } } as never, client, () => issued.passcode) };
  }

  it('T1, T2: the online Security Code Card is shown (224 cells) and works at login for 21 days', async () => {
    const { token } = await tempSession();
    const card = ok(await postJson<{ deviceId: string; cells: string[]; validUntil: string }>(t.app, '/v1/temporary-access/online-card', {}, bearer(token)));
    expect(card.cells).toHaveLength(224);
    const again = ok(await postJson<{ deviceId: string }>(t.app, '/v1/temporary-access/online-card', {}, bearer(token)));
    expect(again.deviceId).toBe(card.deviceId);
    const cardDevice = { device: { id: card.deviceId }, card: { cells: card.cells } } as never;
    // Valid one minute before 21 days …
    t.clock.advance(ONLINE_CARD_VALIDITY_MS - 60_000);
    await signIn(t, 'lost', cardDevice, TRADING);
    // … expired at 21 days.
    t.clock.advance(60_000);
    const step = await postJson<LoginStep>(t.app, '/v1/login', { username: 'lost', password: PASSWORD, client: TRADING });
    expect(errorCode(step)).toBe('SLS_ERR_NO_ACTIVE_DEVICE');
  });

  it('T1: the card can be printed (PDF)', async () => {
    const { token } = await tempSession();
    const pdf = ok(await postJson<{ pdfBase64: string }>(t.app, '/v1/temporary-access/online-card/pdf', {}, bearer(token)));
    expect(Buffer.from(pdf.pdfBase64, 'base64').subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('T1: in the portal-only period the trading platform is refused, the portal and its card are not', async () => {
    const issued = await t.provisioning.issueTemporaryPasscode('lost', 'test');
    t.clock.advance(3 * 24 * 60 * 60 * 1000);
    expect(errorCode(await postJson(t.app, '/v1/login', { username: 'lost', password: PASSWORD, client: TRADING }))).toBe('SLS_ERR_PORTAL_ONLY');
    const token = await signIn(t, 'lost', { device: { id: issued.deviceId } } as never, PORTAL, () => issued.passcode);
    expect((await postJson(t.app, '/v1/temporary-access/online-card', {}, bearer(token))).status).toBe(200);
  });

  it('T1: a user without a temporary passcode gets no online card', async () => {
    const u = await makeUser(t, 'normal', ['dscplus']);
    const token = await signIn(t, 'normal', u.devices.dscplus!);
    expect(errorCode(await postJson(t.app, '/v1/temporary-access/online-card', {}, bearer(token)))).toBe('SLS_ERR_FORBIDDEN');
  });

  it('T1: never two temporary passcodes in a row', async () => {
    await t.provisioning.issueTemporaryPasscode('lost', 'test');
    await expect(t.provisioning.issueTemporaryPasscode('lost', 'test')).rejects.toMatchObject({ code: 'SLS_ERR_TEMP_PASSCODE_IN_A_ROW' });
  });
});

describe('a restart lets in only whom a trading-platform login lets in (SPEC L8 × T1, D5, O1)', () => {
  const HOUR = 60 * 60 * 1000;
  const DAY = 24 * HOUR;
  interface Grant {
    restartToken: string;
    validUntil: string;
  }
  const restart = (username: string, restartToken: string) => postJson<Grant & { session: { clientKind: string; access: string; token: string } }>(t.app, '/v1/login/restart', { username, restartToken });
  const tradingLogin = (username: string) => postJson<LoginStep>(t.app, '/v1/login', { username, password: PASSWORD, client: TRADING });
  const sessions = async () => (await t.adb.selectFrom('sessions').select('id').execute()).length;
  const auditOf = async (event: string) =>
    (await t.adb.selectFrom('audit_log').select(['details', 'user_id']).where('event', '=', event).execute()).map((a) => ({ userId: a.user_id, ...(JSON.parse(a.details) as object) }));

  it('L8 × T1: a token taken with a temporary passcode stops with its 2 days of full access (SLS_ERR_PORTAL_ONLY, as a login); it is revoked, not counted as a failure', async () => {
    t = await startAccountServer({ clock: testClock(Date.parse('2026-11-02T15:00:00Z')) }); // a Monday
    const u = await makeUser(t, 'tina', []);
    const issued = await t.provisioning.issueTemporaryPasscode('tina', 'test');
    const token = await signIn(t, 'tina', { device: { id: issued.deviceId } } as never, TRADING, () => issued.passcode);
    const grant = ok(await postJson<Grant>(t.app, '/v1/login/restart-token', {}, bearer(token)));
    expect(grant.validUntil).toBe('2026-11-08T06:00:00.000Z'); // the weekly cut-off is days after the 2 days (T1)
    // One minute before the end of full access a restart still works …
    t.clock.set(issued.fullAccessUntil - 60_000);
    const r1 = ok(await restart('tina', grant.restartToken));
    expect(r1.session).toMatchObject({ clientKind: 'trading_platform', access: 'full' });
    // … at its end the restart answers what a trading-platform login answers.
    t.clock.set(issued.fullAccessUntil);
    expect(errorCode(await tradingLogin('tina'))).toBe('SLS_ERR_PORTAL_ONLY');
    const before = await sessions();
    const refused = await restart('tina', r1.restartToken);
    expect(refused.status).toBe(403);
    expect(errorCode(refused)).toBe('SLS_ERR_PORTAL_ONLY');
    expect(await sessions()).toBe(before);
    expect(await auditOf('restart.failed')).toEqual([{ userId: u.userId, reason: 'SLS_ERR_PORTAL_ONLY', revoked: 1 }]);
    // L6: the right token of a user no longer let in is no failure of the user.
    expect(await t.adb.selectFrom('failure_counters').selectAll().where('scope', '=', 'user').execute()).toEqual([]);
    // The token is dead: a retry is an invalid token, whatever the clock says.
    t.clock.set(issued.fullAccessUntil - 60_000);
    expect(errorCode(await restart('tina', r1.restartToken))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    expect(await sessions()).toBe(before);
    // The portal-only period still opens the Client Portal (T1, C6).
    t.clock.set(issued.fullAccessUntil + HOUR);
    await signIn(t, 'tina', { device: { id: issued.deviceId } } as never, PORTAL, () => issued.passcode);
  });

  it('T1, L8: a trading session opened with a temporary passcode — or restarted on it — ends with its 2 days of full access, not 12 hours later; a portal session with its 10 more', async () => {
    t = await startAccountServer({ clock: testClock(Date.parse('2026-11-02T15:00:00Z')) }); // a Monday
    await makeUser(t, 'tess', []);
    const issued = await t.provisioning.issueTemporaryPasscode('tess', 'test');
    const session = (token: string) => getJson<{ expiresAt: string; access: string }>(t.app, '/v1/session', bearer(token));
    // Two hours before its full access ends: the session says it ends then, and does.
    t.clock.set(issued.fullAccessUntil - 2 * HOUR);
    const trading = await signIn(t, 'tess', { device: { id: issued.deviceId } } as never, TRADING, () => issued.passcode);
    expect(ok(await session(trading)).expiresAt).toBe(new Date(issued.fullAccessUntil).toISOString());
    const grant = ok(await postJson<Grant>(t.app, '/v1/login/restart-token', {}, bearer(trading)));
    // A restart an hour later, on the same passcode: the same end.
    t.clock.set(issued.fullAccessUntil - HOUR);
    const restarted = ok(await restart('tess', grant.restartToken));
    expect(ok(await session(restarted.session.token)).expiresAt).toBe(new Date(issued.fullAccessUntil).toISOString());
    t.clock.set(issued.fullAccessUntil);
    expect(errorCode(await session(trading))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect(errorCode(await session(restarted.session.token))).toBe('SLS_ERR_SESSION_EXPIRED');
    // The Client Portal through its last 10 days: a session opened 2 hours before their end ends with them.
    t.clock.set(issued.portalAccessUntil - 2 * HOUR);
    const portal = await signIn(t, 'tess', { device: { id: issued.deviceId } } as never, PORTAL, () => issued.passcode);
    expect(ok(await session(portal)).expiresAt).toBe(new Date(issued.portalAccessUntil).toISOString());
  });

  it('T1: a session opened with a regular device keeps its 12 hours, and so does a restart of a user who has one besides a temporary passcode', async () => {
    t = await startAccountServer({ clock: testClock(Date.parse('2026-11-02T15:00:00Z')) });
    const u = await makeUser(t, 'rita', ['dscplus']);
    const issued = await t.provisioning.issueTemporaryPasscode('rita', 'test');
    t.clock.set(issued.fullAccessUntil - 2 * HOUR);
    const trading = await signIn(t, 'rita', u.devices.dscplus!, TRADING);
    const twelveHours = new Date(issued.fullAccessUntil - 2 * HOUR + 12 * HOUR).toISOString();
    expect(ok(await getJson<{ expiresAt: string }>(t.app, '/v1/session', bearer(trading))).expiresAt).toBe(twelveHours);
    const grant = ok(await postJson<Grant>(t.app, '/v1/login/restart-token', {}, bearer(trading)));
    const restarted = ok(await restart('rita', grant.restartToken));
    expect(ok(await getJson<{ expiresAt: string }>(t.app, '/v1/session', bearer(restarted.session.token))).expiresAt).toBe(twelveHours);
  });

  it('L8 × D5, T2: a token taken with the online Security Code Card stops when the card expires (SLS_ERR_NO_ACTIVE_DEVICE, as a login)', async () => {
    t = await startAccountServer({ clock: testClock(Date.parse('2026-11-02T15:00:00Z')) }); // a Monday
    await makeUser(t, 'olaf', []);
    const issued = await t.provisioning.issueTemporaryPasscode('olaf', 'test');
    const portal = await signIn(t, 'olaf', { device: { id: issued.deviceId } } as never, PORTAL, () => issued.passcode);
    const card = ok(await postJson<{ deviceId: string; cells: string[]; validUntil: string }>(t.app, '/v1/temporary-access/online-card', {}, bearer(portal)));
    expect(card.validUntil).toBe('2026-11-23T15:00:00.000Z'); // a Monday
    // Sunday 12:00 UTC, after that week's cut-off: a full trading login with the card, and a token until next Sunday.
    t.clock.set(Date.parse('2026-11-22T12:00:00Z'));
    const token = await signIn(t, 'olaf', { device: { id: card.deviceId }, card: { cells: card.cells } } as never, TRADING);
    const grant = ok(await postJson<Grant>(t.app, '/v1/login/restart-token', {}, bearer(token)));
    expect(grant.validUntil).toBe('2026-11-29T06:00:00.000Z');
    t.clock.set(Date.parse(card.validUntil));
    const before = await sessions();
    const refused = await restart('olaf', grant.restartToken);
    expect(refused.status).toBe(403);
    expect(errorCode(refused)).toBe('SLS_ERR_NO_ACTIVE_DEVICE');
    expect(await sessions()).toBe(before);
    expect(errorCode(await tradingLogin('olaf'))).toBe('SLS_ERR_NO_ACTIVE_DEVICE');
    expect(errorCode(await restart('olaf', grant.restartToken))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
  });

  it('L8 × D5: a token whose user has no usable device left is refused with SLS_ERR_NO_ACTIVE_DEVICE, and revoked', async () => {
    t = await startAccountServer({ clock: testClock(ny('2026-11-04', 9)) });
    const u = await makeUser(t, 'dora', ['dscplus']);
    const token = await signIn(t, 'dora', u.devices.dscplus!, TRADING);
    const grant = ok(await postJson<Grant>(t.app, '/v1/login/restart-token', {}, bearer(token)));
    // The device stops authenticating by a way that does not touch restart tokens (here: the table itself).
    await t.adb.updateTable('devices').set({ status: 'revoked' }).where('id', '=', u.devices.dscplus!.device.id).execute();
    const refused = await restart('dora', grant.restartToken);
    expect([refused.status, errorCode(refused)]).toEqual([403, 'SLS_ERR_NO_ACTIVE_DEVICE']);
    const rows = await t.adb.selectFrom('restart_tokens').select(['revoked_at', 'used_at']).execute();
    expect(rows).toEqual([{ revoked_at: t.clock.now(), used_at: null }]);
  });

  it('L8 × T1, D5: a session asks about its live token that a restart would refuse: `refused` with the refusal\'s code; asking revokes nothing and audits nothing', async () => {
    t = await startAccountServer({ clock: testClock(Date.parse('2026-11-02T15:00:00Z')) }); // a Monday
    const status = (token: string) => getJson(t.app, '/v1/login/restart-token', bearer(token));
    const tokenRows = () => t.adb.selectFrom('restart_tokens').select(['revoked_at', 'used_at']).execute();
    const audited = async () => (await t.adb.selectFrom('audit_log').select('event').execute()).length;
    // T1: a temporary passcode's 2 days of full access are over: portal-only.
    await makeUser(t, 'tina', []);
    const issued = await t.provisioning.issueTemporaryPasscode('tina', 'test');
    const tina = await signIn(t, 'tina', { device: { id: issued.deviceId } } as never, TRADING, () => issued.passcode);
    const grant = ok(await postJson<Grant>(t.app, '/v1/login/restart-token', {}, bearer(tina)));
    expect(ok(await status(tina))).toEqual({ state: 'live', validUntil: grant.validUntil });
    // One minute before the end of full access the app restarts: that session holds the next token.
    t.clock.set(issued.fullAccessUntil - 60_000);
    const restarted = ok(await restart('tina', grant.restartToken));
    expect(ok(await status(restarted.session.token))).toEqual({ state: 'live', validUntil: grant.validUntil });
    // D5: no usable device left (taken away by a way that does not touch restart tokens).
    const dora = await makeUser(t, 'dora', ['dscplus']);
    const doraSession = await signIn(t, 'dora', dora.devices.dscplus!, TRADING);
    ok(await postJson<Grant>(t.app, '/v1/login/restart-token', {}, bearer(doraSession)));
    await t.adb.updateTable('devices').set({ status: 'revoked' }).where('id', '=', dora.devices.dscplus!.device.id).execute();

    t.clock.set(issued.fullAccessUntil);
    const before = await audited();
    // T1: the restarted session ended with the passcode's full access (it cannot ask any more).
    expect(errorCode(await status(restarted.session.token))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect(ok(await status(doraSession))).toEqual({ state: 'refused', reason: 'SLS_ERR_NO_ACTIVE_DEVICE' });
    expect(ok(await status(doraSession))).toEqual({ state: 'refused', reason: 'SLS_ERR_NO_ACTIVE_DEVICE' });
    // A read: the tokens are still unused and unrevoked, nothing audited, no failure counted.
    expect((await tokenRows()).filter((r) => r.revoked_at === null && r.used_at === null)).toHaveLength(2);
    expect(await audited()).toBe(before);
    expect(await t.adb.selectFrom('failure_counters').selectAll().execute()).toEqual([]);
    // What it foretold: the restart is refused with that code, and then the token is revoked.
    expect(errorCode(await restart('tina', restarted.restartToken))).toBe('SLS_ERR_PORTAL_ONLY');
    expect((await tokenRows()).filter((r) => r.revoked_at === null && r.used_at === null)).toHaveLength(1);
  });

  it('L8 × D5, T2: a session opened with an online card ends with its 21 days; asking then writes nothing and expires no card; the restart is refused (SLS_ERR_NO_ACTIVE_DEVICE)', async () => {
    t = await startAccountServer({ clock: testClock(Date.parse('2026-11-02T15:00:00Z')) }); // a Monday
    await makeUser(t, 'olaf', []);
    const issued = await t.provisioning.issueTemporaryPasscode('olaf', 'test');
    const portal = await signIn(t, 'olaf', { device: { id: issued.deviceId } } as never, PORTAL, () => issued.passcode);
    const card = ok(await postJson<{ deviceId: string; cells: string[]; validUntil: string }>(t.app, '/v1/temporary-access/online-card', {}, bearer(portal)));
    t.clock.set(Date.parse(card.validUntil) - 60_000);
    const token = await signIn(t, 'olaf', { device: { id: card.deviceId }, card: { cells: card.cells } } as never, TRADING);
    const grant = ok(await postJson<Grant>(t.app, '/v1/login/restart-token', {}, bearer(token)));
    expect(ok(await getJson(t.app, '/v1/login/restart-token', bearer(token)))).toEqual({ state: 'live', validUntil: grant.validUntil });
    t.clock.set(Date.parse(card.validUntil));
    const before = (await t.adb.selectFrom('audit_log').select('id').execute()).length;
    expect(errorCode(await getJson(t.app, '/v1/login/restart-token', bearer(token)))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect((await t.adb.selectFrom('devices').select('status').where('id', '=', card.deviceId).executeTakeFirstOrThrow()).status).toBe('active');
    expect((await t.adb.selectFrom('audit_log').select('id').execute()).length).toBe(before);
    expect(errorCode(await restart('olaf', grant.restartToken))).toBe('SLS_ERR_NO_ACTIVE_DEVICE');
  });

  it('L8, D5: `slsctl device set-status` taking away an active device revokes the user\'s restart tokens (audited)', async () => {
    t = await startAccountServer({ clock: testClock(ny('2026-11-04', 9)) });
    const u = await makeUser(t, 'lena', ['dscplus', 'scc']);
    const token = await signIn(t, 'lena', u.devices.dscplus!, TRADING);
    const grant = ok(await postJson<Grant>(t.app, '/v1/login/restart-token', {}, bearer(token)));
    await t.provisioning.setDeviceStatus(u.devices.dscplus!.device.id, 'lost');
    expect(errorCode(await restart('lena', grant.restartToken))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    expect(await auditOf('restart.revoked')).toEqual([{ userId: u.userId, by: 'slsctl', count: 1, reason: 'device lost' }]);
    // The code card is still active: a normal login (and its new token) works.
    await signIn(t, 'lena', u.devices.scc!, TRADING);
  });

  it('L8, O1: an opted-out user needs no device: the restart keeps working after the temporary passcode\'s full access ended', async () => {
    t = await startAccountServer({ clock: testClock(Date.parse('2026-11-02T15:00:00Z')) }); // a Monday
    await makeUser(t, 'otto', []);
    const issued = await t.provisioning.issueTemporaryPasscode('otto', 'test');
    const token = await signIn(t, 'otto', { device: { id: issued.deviceId } } as never, PORTAL, () => issued.passcode);
    ok(await postJson(t.app, '/v1/sls/opt-out', {}, bearer(token)));
    const grant = ok(await postJson<Grant>(t.app, '/v1/login/restart-token', {}, bearer(token)));
    t.clock.set(issued.fullAccessUntil + DAY);
    expect(ok(await tradingLogin('otto')).status).toBe('signed_in');
    const r = ok(await restart('otto', grant.restartToken));
    expect(r.session).toMatchObject({ clientKind: 'trading_platform', access: 'full' });
  });
});
