// What a session may still do once its second factor or its user is no longer good, on SQLite and
// PostgreSQL (SPEC D5, D8, L6, L8, C6, O1, T1, S5): a device reported lost, returned or set non-active
// ends the sessions opened with it and their auto-restart; an ended sharing ends the requester's
// sessions and auto-restart with the shared device (whoever ends it: requester or owner), not the
// owner's; a session whose device stopped otherwise (set aside by a sharing), or whose user is
// locked, gets no portal function; a Client-Portal-only session (T1) cannot opt out; restart tokens
// are one live chain per session and die with its logout.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeEachBackend, probePostgres, tempDataDir } from '../db/pg-testing.ts';
import type { FreshDatabase } from '../db/pg-testing.ts';
import { errorCode, getJson, postJson } from '../testing/http.ts';
import { testClock } from '../testing/test-server.ts';
import type { ConfirmationChallenge } from '../../core/account-api.ts';
import { answer, bearer, makeUser, ok, PASSWORD, PORTAL, signIn, startAccountServer, TRADING } from './testing.ts';
import type { AccountTestServer } from './testing.ts';

const probe = await probePostgres();

/** A Wednesday, 09:00 in New York: restart tokens run to Sunday 01:00 (L8). */
const WEDNESDAY = Date.parse('2026-11-04T14:00:00Z');
const DAY = 24 * 60 * 60 * 1000;
/** The identification sharing compares (S2): the same for owner and requester of one entity. */
const IDENT = { dateOfBirth: '1980-04-12', citizenship: 'IT', residenceCountry: 'CH', idDocumentType: 'passport', idDocumentNumber: 'YA1234567' };

interface Grant {
  restartToken: string;
  validUntil: string;
}
interface Restarted extends Grant {
  session: { token: string };
}

describeEachBackend('session security (D5, D8, L6, L8, C6, O1, T1)', probe, (backend) => {
  let t: AccountTestServer;
  let fresh: FreshDatabase;
  let data: ReturnType<typeof tempDataDir>;

  beforeEach(async () => {
    data = tempDataDir();
    fresh = await backend.freshDatabase(data.dir);
    t = await startAccountServer({ clock: testClock(WEDNESDAY), dataDir: data.dir, config: { databaseUrl: fresh.url } });
  });
  afterEach(async () => {
    await t.close();
    await fresh.drop();
    data.remove();
  });

  const restart = (username: string, restartToken: string) => postJson<Restarted>(t.app, '/v1/login/restart', { username, restartToken });
  const issue = (token: string) => postJson<Grant>(t.app, '/v1/login/restart-token', {}, bearer(token));
  const session = (token: string) => getJson(t.app, '/v1/session', bearer(token));
  const auditOf = async (event: string) =>
    (await t.adb.selectFrom('audit_log').select(['id', 'details', 'user_id', 'device_id']).where('event', '=', event).execute())
      .sort((x, y) => Number(x.id) - Number(y.id))
      .map((a): Record<string, unknown> => ({
        userId: a.user_id,
        deviceId: a.device_id,
        ...(JSON.parse(a.details) as Record<string, unknown>),
      }));
  const liveTokens = async (userId: string) =>
    (await t.adb.selectFrom('restart_tokens').select('id').where('user_id', '=', userId).where('used_at', 'is', null).where('revoked_at', 'is', null).execute()).length;

  // --- D8, D5, L8, C6: a device reported lost ends what it opened

  it('D8, D5, L8: a DSC+ reported lost ends the thief\'s session with it, its restart chain and the session that chain restarted; the victim\'s stays (audited with counts)', async () => {
    const u = await makeUser(t, 'vic', ['dscplus', 'scc']);
    const thief = await signIn(t, 'vic', u.devices.dscplus!, TRADING); // a stolen card and a phished password
    const grant = ok(await issue(thief));
    const restarted = ok(await restart('vic', grant.restartToken)); // the thief's next start
    const victim = await signIn(t, 'vic', u.devices.scc!);
    const rep = await postJson<{ device: { status: string } }>(t.app, `/v1/devices/${u.devices.dscplus!.device.id}/report`, { reason: 'lost', replace: false }, bearer(victim));
    expect(rep.status, JSON.stringify(rep.body)).toBe(200);
    expect(rep.body.device.status).toBe('lost');

    // Every door of the thief is closed: the session, a new restart token, the opt-out, the next restart.
    expect(errorCode(await session(thief))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect(errorCode(await issue(thief))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect(errorCode(await postJson(t.app, '/v1/sls/opt-out', {}, bearer(thief)))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect(errorCode(await session(restarted.session.token))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect(errorCode(await restart('vic', restarted.restartToken))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    expect(await t.adb.selectFrom('sls_opt_outs').select('user_id').execute()).toEqual([]);
    // The password alone still gets nobody in (no opt-out happened).
    expect(ok(await postJson(t.app, '/v1/login', { username: 'vic', password: PASSWORD, client: TRADING })).status).not.toBe('signed_in');

    // The victim's own session goes on.
    expect((await session(victim)).status).toBe(200);
    expect((await getJson(t.app, '/v1/devices', bearer(victim))).status).toBe(200);
    expect(await auditOf('device.status_changed')).toContainEqual(
      expect.objectContaining({ userId: u.userId, deviceId: u.devices.dscplus!.device.id, from: 'active', to: 'lost', reason: 'lost', sessionsEnded: 2, restartTokensRevoked: 1 }),
    );
  });

  /** S3: rita shares owen's DSC+ (same entity: approved at once); her own card is set aside (S5). */
  async function shareOwnersCard() {
    const owner = await makeUser(t, 'owen', ['dscplus', 'scc'], { entity: IDENT });
    const requester = await makeUser(t, 'rita', ['scc'], { entityId: owner.entityId });
    const ritaOwn = await signIn(t, 'rita', requester.devices.scc!);
    const started = ok(await postJson<{ request: { id: string }; confirmation: ConfirmationChallenge }>(t.app, '/v1/sharing', { ownerUsername: 'owen', ownerPassword: PASSWORD }, bearer(ritaOwn)));
    const response = answer(owner.devices.dscplus!, started.confirmation.challenge);
    ok(await postJson(t.app, `/v1/sharing/${started.request.id}/response`, { confirmationId: started.confirmation.confirmationId, response }, bearer(ritaOwn)));
    expect(ok(await postJson<{ state: string }>(t.app, `/v1/sharing/${started.request.id}/submit`, {}, bearer(ritaOwn))).state).toBe('approved');
    // Rita signs in with the shared DSC+ (her own card is inactive now).
    const ritaShared = await signIn(t, 'rita', owner.devices.dscplus!);
    expect((await getJson(t.app, '/v1/devices', bearer(ritaShared))).status).toBe(200);
    return { owner, requester, ritaShared, ritaOwn, requestId: started.request.id };
  }

  /**
   * What rita and owen hold with owen's shared DSC+ (S5, L8): rita's trading session with it, its
   * restart token and the session a restart opened from it (holding the next token); owen's own
   * trading session with the card and its restart token.
   */
  async function bothUseTheCard() {
    const shared = await shareOwnersCard();
    const card = shared.owner.devices.dscplus!;
    const ritaTrading = await signIn(t, 'rita', card, TRADING);
    const ritaRestarted = ok(await restart('rita', ok(await issue(ritaTrading)).restartToken));
    const owenCard = await signIn(t, 'owen', card, TRADING);
    const owenGrant = ok(await issue(owenCard));
    return { ...shared, ritaTrading, ritaRestarted, owenCard, owenGrant };
  }

  /** Every door of rita's through the shared card is closed; owen's with the same card stay open (S5, D5, L8). */
  async function onlyRitaWasSignedOut(u: Awaited<ReturnType<typeof bothUseTheCard>>) {
    for (const tok of [u.ritaShared, u.ritaTrading, u.ritaRestarted.session.token]) expect(errorCode(await session(tok))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect(errorCode(await getJson(t.app, '/v1/devices', bearer(u.ritaShared)))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect(errorCode(await issue(u.ritaTrading))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect(errorCode(await restart('rita', u.ritaRestarted.restartToken))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    expect(await liveTokens(u.requester.userId)).toBe(0);
    // S5: her own card is active again and signs her in; the card is no longer in her login.
    expect((await t.provisioning.devicesOf('rita')).map((d) => d.status)).toEqual(['active']);
    expect((await getJson(t.app, '/v1/devices', bearer(await signIn(t, 'rita', u.requester.devices.scc!)))).status).toBe(200);
    const step = ok(await postJson<{ status: string; challenge?: { deviceId: string } }>(t.app, '/v1/login', { username: 'rita', password: PASSWORD, client: TRADING }));
    expect(step.challenge?.deviceId).toBe(u.requester.devices.scc!.device.id);
    // The owner's own session with the card, and its auto-restart, go on.
    expect((await session(u.owenCard)).status).toBe(200);
    expect((await getJson(t.app, '/v1/devices', bearer(u.owenCard))).status).toBe(200);
    expect((await restart('owen', u.owenGrant.restartToken)).status).toBe(200);
  }

  it('S5, D5, L8: the requester cancels the approved sharing: her sessions with the shared DSC+, the restart chain she began with it and the session it restarted end in the cancel itself; the owner\'s with the card stay (audited with counts)', async () => {
    const u = await bothUseTheCard();
    // From the session opened with the shared card: the cancel answers, and signs that session out too.
    expect(ok(await postJson<{ state: string }>(t.app, `/v1/sharing/${u.requestId}/cancel`, {}, bearer(u.ritaShared))).state).toBe('cancelled');
    await onlyRitaWasSignedOut(u);
    expect(await auditOf('sharing.cancelled')).toEqual([
      {
        userId: u.requester.userId,
        deviceId: u.owner.devices.dscplus!.device.id,
        requestId: u.requestId,
        from: 'approved',
        by: 'requester',
        reason: 'ended_by_requester',
        reactivated: 1,
        sessionsEnded: 3,
        restartTokensRevoked: 1,
      },
    ]);
  });

  it('S5, D5, L8: the OWNER ends the approved sharing (their card, in their list): the same effects, audited by: owner', async () => {
    const u = await bothUseTheCard();
    const owenPortal = await signIn(t, 'owen', u.owner.devices.scc!);
    const ended = ok(await postJson<{ state: string; requesterDevices: { status: string }[] }>(t.app, `/v1/sharing/${u.requestId}/cancel`, {}, bearer(owenPortal)));
    expect(ended.state).toBe('cancelled');
    expect(ended.requesterDevices.map((d) => d.status)).toEqual(['active']);
    await onlyRitaWasSignedOut(u);
    expect((await session(owenPortal)).status).toBe(200);
    expect(await auditOf('sharing.cancelled')).toEqual([
      expect.objectContaining({ userId: u.requester.userId, requestId: u.requestId, from: 'approved', by: 'owner', reactivated: 1, sessionsEnded: 3, restartTokensRevoked: 1 }),
    ]);
  });

  it('D8, S5: the owner reports the shared DSC+ broken: the requester\'s session opened with it ends too (any user); the owner\'s other session does not', async () => {
    const { owner, ritaShared } = await shareOwnersCard();
    const ownerCard = await signIn(t, 'owen', owner.devices.scc!);
    ok(await postJson(t.app, `/v1/devices/${owner.devices.dscplus!.device.id}/report`, { reason: 'broken' }, bearer(ownerCard)));
    expect(errorCode(await getJson(t.app, '/v1/devices', bearer(ritaShared)))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect(errorCode(await session(ritaShared))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect((await getJson(t.app, '/v1/devices', bearer(ownerCard))).status).toBe(200);
    expect(await auditOf('device.status_changed')).toContainEqual(expect.objectContaining({ deviceId: owner.devices.dscplus!.device.id, to: 'revoked', reason: 'broken', sessionsEnded: 1 }));
  });

  it('D5, D8, L8: an operator setting a device non-active (`slsctl device set-status`) ends its sessions and restart tokens in the same step (audited)', async () => {
    const u = await makeUser(t, 'lena', ['dscplus', 'scc']);
    const card = await signIn(t, 'lena', u.devices.dscplus!, TRADING);
    const grant = ok(await issue(card));
    const other = await signIn(t, 'lena', u.devices.scc!);
    await t.provisioning.setDeviceStatus(u.devices.dscplus!.device.id, 'inactive');
    expect(errorCode(await session(card))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect(errorCode(await restart('lena', grant.restartToken))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    expect((await session(other)).status).toBe(200);
    expect(await auditOf('device.status_changed')).toContainEqual(
      expect.objectContaining({ deviceId: u.devices.dscplus!.device.id, from: 'active', to: 'inactive', sessionsEnded: 1, restartTokensRevoked: 1 }),
    );
    expect(await auditOf('restart.revoked')).toEqual([expect.objectContaining({ by: 'slsctl', count: 1, reason: 'device inactive' })]);
  });

  it('D8, D5, L8: a returned DSC+ ends the sessions opened with it, its restart chain and the session that chain restarted, in the return itself; the user\'s other session and restart token stay (audited with counts)', async () => {
    const u = await makeUser(t, 'ria', ['dscplus', 'scc']);
    const card = await signIn(t, 'ria', u.devices.dscplus!, TRADING);
    const restarted = ok(await restart('ria', ok(await issue(card)).restartToken));
    const other = await signIn(t, 'ria', u.devices.scc!, TRADING);
    const otherGrant = ok(await issue(other));
    expect(ok(await postJson<{ status: string }>(t.app, `/v1/devices/${u.devices.dscplus!.device.id}/return`, {}, bearer(other))).status).toBe('returned');
    // Before: the session kept its trading access and its restart chain until it expired.
    expect(errorCode(await session(card))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect(errorCode(await issue(card))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect(errorCode(await session(restarted.session.token))).toBe('SLS_ERR_SESSION_EXPIRED');
    expect(errorCode(await restart('ria', restarted.restartToken))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    // Not a lost card: the session and the restart token begun with another device go on.
    expect((await session(other)).status).toBe(200);
    expect((await restart('ria', otherGrant.restartToken)).status).toBe(200);
    expect(await auditOf('device.status_changed')).toEqual([
      // D5, L5: no challenge was waiting on it (device-status-challenges.test.ts has those).
      { userId: u.userId, deviceId: u.devices.dscplus!.device.id, from: 'active', to: 'returned', sessionsEnded: 2, restartTokensRevoked: 1, loginsBackToChoice: 0, loginsEnded: 0, confirmationsEnded: 0, pushesEnded: 0 },
    ]);
  });

  it('D8, D5: returning the device the session itself was opened with signs that session out; the return is answered', async () => {
    const u = await makeUser(t, 'rod', ['dscplus', 'scc']);
    const card = await signIn(t, 'rod', u.devices.dscplus!);
    expect(ok(await postJson<{ status: string }>(t.app, `/v1/devices/${u.devices.dscplus!.device.id}/return`, {}, bearer(card))).status).toBe('returned');
    expect(errorCode(await session(card))).toBe('SLS_ERR_SESSION_EXPIRED');
  });

  it('D5, C6, L8, O1: a session whose device stopped working without ending it (set aside by a sharing, S5) keeps the session but gets no portal function, restart token or opt-out: SLS_ERR_SECOND_FACTOR_REQUIRED', async () => {
    const { requester, ritaOwn, ritaShared } = await shareOwnersCard();
    // Her own code card is inactive since the approval; the session opened with it was not ended.
    expect((await session(ritaOwn)).status).toBe(200);
    expect(errorCode(await getJson(t.app, '/v1/devices', bearer(ritaOwn)))).toBe('SLS_ERR_SECOND_FACTOR_REQUIRED');
    expect(errorCode(await issue(ritaOwn))).toBe('SLS_ERR_SECOND_FACTOR_REQUIRED');
    expect(errorCode(await postJson(t.app, '/v1/sls/opt-out', {}, bearer(ritaOwn)))).toBe('SLS_ERR_SECOND_FACTOR_REQUIRED');
    expect(await liveTokens(requester.userId)).toBe(0);
    expect(await t.adb.selectFrom('sls_opt_outs').select('user_id').execute()).toEqual([]);
    // Verifying again with a device that works is the way back (the desktop's "Verify it's you").
    expect((await getJson(t.app, '/v1/devices', bearer(ritaShared))).status).toBe(200);
  });

  // --- T1, C6, O1: a Client-Portal-only session cannot opt out

  it('T1, O1: a temporary passcode in its portal-only days cannot opt out or in (SLS_ERR_PORTAL_ONLY); nothing changes and the trading platform stays closed', async () => {
    await makeUser(t, 'lost', []);
    const issued = await t.provisioning.issueTemporaryPasscode('lost', 'test');
    t.clock.advance(3 * DAY); // past the 2 days of full access
    const portalOnly = await signIn(t, 'lost', { device: { id: issued.deviceId } } as never, PORTAL, () => issued.passcode);
    for (const path of ['/v1/sls/opt-out', '/v1/sls/opt-in']) {
      const r = await postJson(t.app, path, {}, bearer(portalOnly));
      expect(r.status).toBe(403);
      expect(errorCode(r)).toBe('SLS_ERR_PORTAL_ONLY');
      expect((r.body as unknown as { error: { message: string } }).error.message).toMatch(/temporary passcode in its Client Portal days cannot opt users (out of|back into)/);
    }
    expect(await t.adb.selectFrom('sls_opt_outs').select('user_id').execute()).toEqual([]);
    expect(await auditOf('sls.opted_out')).toEqual([]);
    expect(errorCode(await postJson(t.app, '/v1/login', { username: 'lost', password: PASSWORD, client: TRADING }))).toBe('SLS_ERR_PORTAL_ONLY');
    // Its portal functions still work (T1: the online card), and the status may be read.
    expect((await postJson(t.app, '/v1/temporary-access/online-card', {}, bearer(portalOnly))).status).toBe(200);
    expect(ok(await getJson<{ optedOut: boolean }>(t.app, '/v1/sls/opt-out', bearer(portalOnly))).optedOut).toBe(false);
  });

  // --- L6: a locked user's open session

  it('L6: a locked user\'s open session gets SLS_ERR_USER_LOCKED (with lockedUntil) for every portal function, reading ones too, and changes nothing; the session itself and, after an unlock, the functions work', async () => {
    const u = await makeUser(t, 'lou', ['dscplus', 'scc']);
    const tok = await signIn(t, 'lou', u.devices.dscplus!, TRADING);
    for (let i = 0; i < 10; i++) await t.services.throttle.recordFailure('lou', '203.0.113.9');
    const until = await t.services.throttle.userLockedUntil('lou');
    expect(until).not.toBeNull();
    const answers = {
      devices: await getJson(t.app, '/v1/devices', bearer(tok)),
      setMobile: await postJson(t.app, '/v1/mobile-number', { number: '+447400654321' }, bearer(tok)),
      optOut: await postJson(t.app, '/v1/sls/opt-out', {}, bearer(tok)),
      restartToken: await issue(tok),
      order: await postJson(t.app, '/v1/devices/orders', { kind: 'dscplus' }, bearer(tok)),
      report: await postJson(t.app, `/v1/devices/${u.devices.scc!.device.id}/report`, { reason: 'lost' }, bearer(tok)),
    };
    for (const [name, a] of Object.entries(answers)) {
      expect(a.status, name).toBe(423);
      expect(a.body, name).toMatchObject({ error: { code: 'SLS_ERR_USER_LOCKED', lockedUntil: new Date(until!).toISOString() } });
    }
    expect(await t.adb.selectFrom('sls_opt_outs').select('user_id').execute()).toEqual([]);
    expect(await liveTokens(u.userId)).toBe(0);
    expect(await t.adb.selectFrom('device_orders').select('id').where('user_id', '=', u.userId).execute()).toEqual([]);
    expect(await t.adb.selectFrom('mobile_verifications').select('id').where('user_id', '=', u.userId).execute()).toEqual([]);
    expect((await t.provisioning.devicesOf('lou')).map((d) => d.status)).toEqual(['active', 'active']);
    // The session is not ended by the lock (L6 locks logins and secret checks); client services unlock.
    expect((await session(tok)).status).toBe(200);
    await t.services.throttle.unlockUser('lou');
    expect((await getJson(t.app, '/v1/devices', bearer(tok))).status).toBe(200);
    expect((await issue(tok)).status).toBe(200);
  });

  // --- L8: one live restart chain per session, ended by its logout

  it('L8: a new token for a session replaces its unused one (audited); at most one is live however often it is asked', async () => {
    const u = await makeUser(t, 'ray', ['dscplus']);
    const tok = await signIn(t, 'ray', u.devices.dscplus!, TRADING);
    const first = ok(await issue(tok));
    const tokens = [first.restartToken];
    for (let i = 0; i < 5; i++) tokens.push(ok(await issue(tok)).restartToken);
    expect(await liveTokens(u.userId)).toBe(1);
    expect(errorCode(await restart('ray', first.restartToken))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    expect((await restart('ray', tokens.at(-1)!)).status).toBe(200);
    expect((await auditOf('restart.token_issued')).map((a) => a.replaced)).toEqual([0, 1, 1, 1, 1, 1]);
  });

  it('L8: parallel requests of one session still leave one live token', async () => {
    const u = await makeUser(t, 'par', ['dscplus']);
    const tok = await signIn(t, 'par', u.devices.dscplus!, TRADING);
    const answers = await Promise.all(Array.from({ length: 8 }, () => issue(tok)));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(await liveTokens(u.userId)).toBe(1);
  });

  it('L8: a new token for a session also revokes the tokens its chain handed on (a chain restarted from it); other sessions (computers) keep theirs', async () => {
    const u = await makeUser(t, 'rob', ['dscplus', 'scc']);
    const s0 = await signIn(t, 'rob', u.devices.dscplus!, TRADING);
    const otherComputer = await signIn(t, 'rob', u.devices.scc!, TRADING);
    const theirs = ok(await issue(otherComputer));
    const t0 = ok(await issue(s0));
    const s1 = ok(await restart('rob', t0.restartToken)); // the chain moves on: S1 holds T1
    ok(await issue(s0)); // S0's bearer asks again: the chain's T1 dies
    expect(errorCode(await restart('rob', s1.restartToken))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    expect((await restart('rob', theirs.restartToken)).status).toBe(200);
  });

  it('L8: logout revokes the tokens of that session (asked for, or handed on to a restarted one), audited; the user\'s other computers keep theirs', async () => {
    const u = await makeUser(t, 'lia', ['dscplus', 'scc']);
    const a = await signIn(t, 'lia', u.devices.dscplus!, TRADING);
    const b = await signIn(t, 'lia', u.devices.scc!, TRADING);
    const grantA = ok(await issue(a));
    const grantB = ok(await issue(b));
    ok(await postJson(t.app, '/v1/logout', {}, bearer(a)));
    expect(errorCode(await restart('lia', grantA.restartToken))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    // Computer B restarts, then signs out of the restarted session: the token it was handed dies.
    const restartedB = ok(await restart('lia', grantB.restartToken));
    ok(await postJson(t.app, '/v1/logout', {}, bearer(restartedB.session.token)));
    expect(errorCode(await restart('lia', restartedB.restartToken))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    expect(await auditOf('restart.revoked')).toEqual([
      { userId: u.userId, deviceId: null, by: 'logout', count: 1 },
      { userId: u.userId, deviceId: null, by: 'logout', count: 1 },
    ]);
    // A third computer's token is untouched by either logout.
    const c = await signIn(t, 'lia', u.devices.scc!, TRADING);
    const grantC = ok(await issue(c));
    const d = await signIn(t, 'lia', u.devices.dscplus!, TRADING);
    ok(await postJson(t.app, '/v1/logout', {}, bearer(d)));
    expect((await restart('lia', grantC.restartToken)).status).toBe(200);
  });
});
