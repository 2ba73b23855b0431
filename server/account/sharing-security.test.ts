// Sharing under abuse, on SQLite and PostgreSQL (security review /tmp/secreview findings 4, 6, 10):
// - SPEC S5: one sharing at a time. A requester never has two requests open, so never two approved:
//   a new start replaces a started/verified one and is refused while one waits for compliance or is
//   approved; an approval re-checks it atomically, so two arriving together never both pass.
// - SPEC L6: a wrong confirmation answer counts against the user who answers (the requester), never
//   the owner of the shared device, who could otherwise be locked out by another user.
// - SPEC S3, N1: GET /v1/sharing answers at most SHARING_LIST_LIMIT requests, in a fixed number of queries.
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { ConfirmationChallenge } from '../../core/account-api.ts';
import type { LoginStep } from '../../core/api.ts';
import { SHARING_LIST_LIMIT } from '../../core/sharing.ts';
import { newId } from '../crypto/tokens.ts';
import { describeEachBackend, probePostgres, tempDataDir } from '../db/pg-testing.ts';
import type { FreshDatabase } from '../db/pg-testing.ts';
import { errorCode, getJson, postJson } from '../testing/http.ts';
import type { Answer } from '../testing/http.ts';
import { accountServices } from './index.ts';
import { sessionCaller } from './portal.ts';
import type { SharingRequestTable } from './schema.ts';
import { answer, bearer, makeUser, ok, PASSWORD, PORTAL, signIn, startAccountServer } from './testing.ts';
import type { AccountTestServer, TestUser } from './testing.ts';

const probe = await probePostgres();

interface SharingBody {
  id: string;
  state: string;
  requesterDevices: { id: string; status: string }[];
}
interface Started {
  request: SharingBody;
  confirmation: ConfirmationChallenge;
}

const IDENT = { dateOfBirth: '1980-04-12', citizenship: 'IT', residenceCountry: 'CH', idDocumentType: 'passport', idDocumentNumber: 'YA1234567' };
const MINUTE = 60_000;

describeEachBackend('sharing under abuse (SPEC S5, L6, S3)', probe, (backend) => {
  let t: AccountTestServer;
  let fresh: FreshDatabase;
  let data: ReturnType<typeof tempDataDir>;
  let owner: TestUser;

  beforeEach(async () => {
    data = tempDataDir();
    fresh = await backend.freshDatabase(data.dir);
    t = await startAccountServer({ dataDir: data.dir, config: { databaseUrl: fresh.url } });
    owner = await makeUser(t, 'owen', ['dscplus'], { entity: IDENT });
  });
  afterEach(async () => {
    await t.close();
    await fresh.drop();
    data.remove();
  });

  const sharing = () => accountServices(t.services).sharing;
  const start = (token: string, ownerPassword = PASSWORD) => postJson<Started>(t.app, '/v1/sharing', { ownerUsername: 'owen', ownerPassword }, bearer(token));
  const respond = (token: string, s: Started, response = answer(owner.devices.dscplus!, s.confirmation.challenge)) =>
    postJson<SharingBody>(t.app, `/v1/sharing/${s.request.id}/response`, { confirmationId: s.confirmation.confirmationId, response }, bearer(token));
  const submit = (token: string, id: string) => postJson<SharingBody>(t.app, `/v1/sharing/${id}/submit`, {}, bearer(token));
  const requests = async (u: TestUser) =>
    (await t.adb.selectFrom('sharing_requests').select(['id', 'state']).where('requester_user_id', '=', u.userId).execute()).sort((a, b) => (a.id < b.id ? -1 : 1));
  const openRequests = async (u: TestUser) => (await requests(u)).filter((r) => ['started', 'verified', 'pending_compliance', 'approved'].includes(r.state));
  const statuses = async (username: string) => (await t.provisioning.devicesOf(username)).map((d) => `${d.kind}:${d.status}`);
  const sharingAudits = async () => (await t.adb.selectFrom('audit_log').select('event').where('event', 'like', 'sharing.%').execute()).length;
  const counters = () => t.adb.selectFrom('failure_counters').select(['scope', 'subject', 'failures', 'locked_until']).orderBy('scope').orderBy('subject').execute();
  const message = (a: Answer<unknown>) => (a.body as { error?: { message?: string } }).error?.message ?? '';

  /** A requester of the owner's entity, signed in with their own code card. */
  async function requester(username = 'rita', opts: { otherEntity?: boolean } = {}) {
    const u = await makeUser(t, username, ['scc'], opts.otherEntity ? { entity: IDENT } : { entityId: owner.entityId });
    return { u, token: await signIn(t, username, u.devices.scc!) };
  }

  /** S3 up to verified. */
  async function verified(token: string): Promise<Started> {
    const s = ok(await start(token));
    expect(ok(await respond(token, s)).state).toBe('verified');
    return s;
  }

  /** A second open request of the requester as data from before the one-sharing rule (or a lost race) would leave it. */
  async function legacyRequest(u: TestUser, state: SharingRequestTable['state'], needsCompliance = false): Promise<string> {
    const id = newId('shr');
    await t.adb
      .insertInto('sharing_requests')
      .values({
        id,
        requester_user_id: u.userId,
        owner_user_id: owner.userId,
        device_id: owner.devices.dscplus!.device.id,
        state,
        needs_compliance: needsCompliance ? 1 : 0,
        deactivated_device_ids: '[]',
        created_at: t.clock.now(),
        verified_at: t.clock.now(),
        decided_at: null,
        decided_by: null,
        cancelled_at: null,
      })
      .execute();
    return id;
  }

  it('S5 (review 4): a second start replaces the first, which can no longer be verified; only one sharing is approved and cancelling it leaves none', async () => {
    const { u, token } = await requester();
    const a = ok(await start(token));
    t.clock.advance(MINUTE);
    const b = ok(await start(token));
    // At most one open request: the first was cancelled, audited as replaced (N2).
    expect(Object.fromEntries((await requests(u)).map((r) => [r.id, r.state]))).toEqual({ [a.request.id]: 'cancelled', [b.request.id]: 'started' });
    const audit = await t.adb.selectFrom('audit_log').select(['details', 'user_id']).where('event', '=', 'sharing.cancelled').execute();
    expect(audit.map((x) => ({ userId: x.user_id, ...(JSON.parse(x.details) as object) }))).toEqual([
      { userId: u.userId, requestId: a.request.id, from: 'started', reactivated: 0, reason: 'replaced', note: 'replaced by a new request (S3, S5)', replacedBy: b.request.id },
    ]);
    // The first request's challenge, even answered right, verifies nothing, and its confirmation stays unused.
    const late = await respond(token, a);
    expect([late.status, errorCode(late)]).toEqual([409, 'SLS_ERR_CONFLICT']);
    expect((await t.adb.selectFrom('confirmations').select('state').where('id', '=', a.confirmation.confirmationId).executeTakeFirstOrThrow()).state).toBe('challenge');
    // The second goes through; the own card is set aside once.
    ok(await respond(token, b));
    expect(ok(await submit(token, b.request.id)).state).toBe('approved');
    expect(await statuses('rita')).toEqual(['scc:inactive']);
    expect(await openRequests(u)).toEqual([{ id: b.request.id, state: 'approved' }]);
    // Cancelling the one sharing gives the card back, and no sharing is left approved.
    const shared = await signIn(t, 'rita', owner.devices.dscplus!);
    expect(ok(await postJson<SharingBody>(t.app, `/v1/sharing/${b.request.id}/cancel`, {}, bearer(shared))).state).toBe('cancelled');
    expect(await statuses('rita')).toEqual(['scc:active']);
    expect(await openRequests(u)).toEqual([]);
  });

  it('S5: while a sharing is approved, a start is refused with 409 SLS_ERR_CONFLICT before the owner\'s password is checked: nothing counted, audited or changed', async () => {
    const { u, token } = await requester();
    const s = await verified(token);
    expect(ok(await submit(token, s.request.id)).state).toBe('approved');
    const shared = await signIn(t, 'rita', owner.devices.dscplus!);
    const before = { requests: await requests(u), devices: await statuses('rita'), counters: await counters(), audits: await sharingAudits() };
    for (const password of [PASSWORD, 'wrong-password']) {
      const r = await start(shared, password);
      expect([r.status, errorCode(r)]).toEqual([409, 'SLS_ERR_CONFLICT']);
      expect(message(r)).toMatch(/One sharing at a time \(S5\)/);
    }
    expect({ requests: await requests(u), devices: await statuses('rita'), counters: await counters(), audits: await sharingAudits() }).toEqual(before);
  });

  it('S4, S5, L6: while a request waits for compliance, a start is refused the same way, even with a wrong owner password (not counted); compliance then approves the one request', async () => {
    const { u, token } = await requester('carl', { otherEntity: true });
    const s = await verified(token);
    expect(ok(await submit(token, s.request.id)).state).toBe('pending_compliance');
    // Refused before the owner's password is checked: a wrong one is not counted against the owner (L6).
    const before = await counters();
    for (const password of [PASSWORD, 'wrong-password']) {
      const r = await start(token, password);
      expect([r.status, errorCode(r)]).toEqual([409, 'SLS_ERR_CONFLICT']);
    }
    expect(await counters()).toEqual(before);
    expect(await requests(u)).toEqual([{ id: s.request.id, state: 'pending_compliance' }]);
    expect((await sharing().decide(s.request.id, true, 'compliance-officer')).state).toBe('approved');
    expect(await statuses('carl')).toEqual(['scc:inactive']);
  });

  it('S5: a request is not approved while another of the requester is approved (data from before the rule): submit and compliance answer 409 and change nothing', async () => {
    const { u, token } = await requester();
    const s = await verified(token);
    expect(ok(await submit(token, s.request.id)).state).toBe('approved');
    const shared = await signIn(t, 'rita', owner.devices.dscplus!);
    const second = await legacyRequest(u, 'verified');
    const third = await legacyRequest(u, 'pending_compliance', true);
    const approvedAudits = async () => (await t.adb.selectFrom('audit_log').select('id').where('event', '=', 'sharing.approved').execute()).length;
    const before = { devices: await statuses('rita'), audits: await approvedAudits() };

    const r = await submit(shared, second);
    expect([r.status, errorCode(r)]).toEqual([409, 'SLS_ERR_CONFLICT']);
    expect(message(r)).toMatch(/Another sharing request of this user is open/);
    await expect(sharing().decide(third, true, 'compliance-officer')).rejects.toMatchObject({ code: 'SLS_ERR_CONFLICT' });
    const rows = await t.adb.selectFrom('sharing_requests').select(['id', 'state', 'decided_at', 'deactivated_device_ids']).where('id', 'in', [second, third]).execute();
    expect(Object.fromEntries(rows.map((x) => [x.id, [x.state, x.decided_at, x.deactivated_device_ids]]))).toEqual({
      [second]: ['verified', null, '[]'],
      [third]: ['pending_compliance', null, '[]'],
    });
    expect({ devices: await statuses('rita'), audits: await approvedAudits() }).toEqual(before);
  });

  it('S5, N1: an approval and a new start, one just before the other or together (submit or compliance): exactly one passes, the other answers 409; one request open, own card set aside only if approved', async () => {
    let n = 0;
    for (const round of ['submit', 'compliance'] as const) {
      for (const order of ['start first', 'together', 'approval first'] as const) {
        const name = `sam${n++}`;
        const label = `${round}, ${order}`;
        const { u, token } = await requester(name, { otherEntity: round === 'compliance' });
        const first = await verified(token);
        if (round === 'compliance') expect(ok(await submit(token, first.request.id)).state).toBe('pending_compliance');
        // The service itself, with the caller of the session read once: the race is the sharing's, not the portal's.
        const caller = await sessionCaller(t.adb, token, t.clock.now());
        const approve = () => (round === 'submit' ? sharing().submit(caller, first.request.id, '127.0.0.1') : sharing().decide(first.request.id, true, 'compliance-officer'));
        const restart = () => sharing().start(caller, { ownerUsername: 'owen', ownerPassword: PASSWORD }, '127.0.0.1');
        const settle = <T,>(p: Promise<T>) => p.then((value) => ({ ok: true as const, value }), (reason: unknown) => ({ ok: false as const, code: (reason as { code?: string }).code }));
        let results: [{ ok: boolean; code?: string | undefined }, { ok: boolean; code?: string | undefined }];
        if (order === 'together') results = await Promise.all([settle(approve()), settle(restart())]);
        else if (order === 'start first') {
          const b = await settle(restart());
          results = [await settle(approve()), b];
        } else {
          const a = await settle(approve());
          results = [a, await settle(restart())];
        }
        expect(results.filter((x) => x.ok), label).toHaveLength(1);
        expect(results.flatMap((x) => (x.ok ? [] : [x.code])), label).toEqual(['SLS_ERR_CONFLICT']);
        const open = await openRequests(u);
        expect(open, label).toHaveLength(1);
        if (results[0].ok) {
          expect(open, label).toEqual([{ id: first.request.id, state: 'approved' }]);
          expect(await statuses(name), label).toEqual(['scc:inactive']);
        } else {
          expect(open[0]!.state, label).toBe('started');
          expect(await statuses(name), label).toEqual(['scc:active']);
        }
        // A verified request is replaced by a start that comes first; one waiting for compliance never is.
        if (order === 'start first' && round === 'submit') expect(results[0].ok, label).toBe(false);
        if (order === 'approval first' || round === 'compliance') expect(results[1].ok, label).toBe(false);
      }
    }
  });

  it('S5, N1: two open requests (data from before the rule) submitted together: neither is approved behind the other\'s back; both answer 409, nothing set aside', async () => {
    const { u, token } = await requester();
    const first = await verified(token);
    const second = await legacyRequest(u, 'verified');
    const caller = await sessionCaller(t.adb, token, t.clock.now());
    const results = await Promise.allSettled([sharing().submit(caller, first.request.id, '127.0.0.1'), sharing().submit(caller, second, '127.0.0.1')]);
    expect(results.map((x) => (x.status === 'rejected' ? (x.reason as { code?: string }).code : 'approved'))).toEqual(['SLS_ERR_CONFLICT', 'SLS_ERR_CONFLICT']);
    expect((await openRequests(u)).map((r) => r.state)).toEqual(['verified', 'verified']);
    expect(await statuses('rita')).toEqual(['scc:active']);
  });

  it('S3, S5, N1: starts arriving together leave exactly one request open', async () => {
    const { u, token } = await requester();
    const answers = await Promise.all(Array.from({ length: 5 }, () => start(token)));
    for (const a of answers) expect(a.status === 200 || errorCode(a) === 'SLS_ERR_CONFLICT', JSON.stringify(a.body)).toBe(true);
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(await openRequests(u)).toHaveLength(1);
    expect((await requests(u)).length).toBe(answers.filter((a) => a.status === 200).length);
  });

  it('S5, N1: two users starting to share each other\'s device at the same moment both get their one open request (no deadlock between the per-requester locks)', async () => {
    const dora = await makeUser(t, 'dora', ['dscplus'], { entityId: owner.entityId });
    const owenToken = await signIn(t, 'owen', owner.devices.dscplus!);
    const doraToken = await signIn(t, 'dora', dora.devices.dscplus!);
    const startOf = (token: string, ownerUsername: string) => postJson<Started>(t.app, '/v1/sharing', { ownerUsername, ownerPassword: PASSWORD }, bearer(token));
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? startOf(owenToken, 'dora') : startOf(doraToken, 'owen'))));
    expect(answers.map((a) => a.status)).toEqual(Array<number>(6).fill(200));
    expect(await openRequests(owner)).toHaveLength(1);
    expect(await openRequests(dora)).toHaveLength(1);
  });

  it('L6 (review 6): a requester\'s wrong withdrawal confirmations on the shared DSC+ count against the requester, locked at 10; the owner is neither counted nor locked', async () => {
    const { token } = await requester();
    const s = await verified(token);
    expect(ok(await submit(token, s.request.id)).state).toBe('approved');
    const shared = await signIn(t, 'rita', owner.devices.dscplus!);
    const codes: string[] = [];
    for (let i = 0; i < 4 && !codes.includes('SLS_ERR_USER_LOCKED'); i++) {
      const c = ok(await postJson<ConfirmationChallenge>(t.app, '/v1/withdrawals/challenge', { deviceId: owner.devices.dscplus!.device.id, amountCents: 100 }, bearer(shared)));
      for (let k = 0; k < 3 && !codes.includes('SLS_ERR_USER_LOCKED'); k++) {
        const w = await postJson(t.app, '/v1/withdrawals', { amountCents: 100, idempotencyKey: `c1b6a3c2-5f1e-4d0a-9a47-0c1c6f7e9a${i}${k}`, confirmation: { id: c.confirmationId, response: '00000000' } }, bearer(shared));
        codes.push(String(errorCode(w)));
      }
    }
    expect(codes).toEqual([...Array<string>(9).fill('SLS_ERR_WRONG_RESPONSE'), 'SLS_ERR_USER_LOCKED']);
    expect(await t.services.throttle.userLockedUntil('rita')).not.toBeNull();
    expect(await t.services.throttle.userLockedUntil('owen')).toBeNull();
    expect((await counters()).filter((c) => c.scope === 'user').map((c) => [c.subject, JSON.parse(c.failures).length])).toEqual([['rita', 10]]);
    // The owner still logs in; the locked requester gets no further challenge.
    expect(ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'owen', password: PASSWORD, client: PORTAL })).status).toBe('challenge');
    const again = await postJson(t.app, '/v1/withdrawals/challenge', { deviceId: owner.devices.dscplus!.device.id, amountCents: 100 }, bearer(shared));
    expect(errorCode(again)).toBe('SLS_ERR_USER_LOCKED');
  });

  it('L6, S3: wrong answers to the sharing challenge count against the requester who types them: the owner is not locked, the locked requester starts no more', async () => {
    const { u, token } = await requester();
    const codes: string[] = [];
    for (let i = 0; i < 4 && !codes.includes('SLS_ERR_USER_LOCKED'); i++) {
      const s = ok(await start(token));
      for (let k = 0; k < 3 && !codes.includes('SLS_ERR_USER_LOCKED'); k++) codes.push(String(errorCode(await respond(token, s, '00000000'))));
    }
    expect(codes).toEqual([...Array<string>(9).fill('SLS_ERR_WRONG_RESPONSE'), 'SLS_ERR_USER_LOCKED']);
    expect(await t.services.throttle.userLockedUntil('rita')).not.toBeNull();
    expect(await t.services.throttle.userLockedUntil('owen')).toBeNull();
    expect((await counters()).filter((c) => c.scope === 'user').map((c) => c.subject)).toEqual(['rita']);
    expect(ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'owen', password: PASSWORD, client: PORTAL })).status).toBe('challenge');
    const more = await start(token);
    expect(errorCode(more)).toBe('SLS_ERR_USER_LOCKED');
    // Nothing was verified; one request (the last) is left open and nothing set aside.
    expect((await openRequests(u)).map((r) => r.state)).toEqual(['started']);
    expect(await statuses('rita')).toEqual(['scc:active']);
  });

  /** owen (DSC+) asks to share gina's Gold (level 3 too: a tie, S1c) up to verified; gina of another entity with matching data waits for compliance (S4). */
  async function owenVerifiesGina(opts: { otherEntity?: boolean } = {}) {
    const gina = await makeUser(t, 'gina', ['gold'], opts.otherEntity ? { entity: IDENT } : { entityId: owner.entityId });
    const owenToken = await signIn(t, 'owen', owner.devices.dscplus!);
    const startGina = (password = PASSWORD) => postJson<Started>(t.app, '/v1/sharing', { ownerUsername: 'gina', ownerPassword: password }, bearer(owenToken));
    const own = ok(await startGina());
    const response = answer(gina.devices.gold!, own.confirmation.challenge);
    expect(ok(await postJson<SharingBody>(t.app, `/v1/sharing/${own.request.id}/response`, { confirmationId: own.confirmation.confirmationId, response }, bearer(owenToken))).state).toBe('verified');
    return { owenToken, own, startGina };
  }

  it('S5: an owner whose DSC+ another user shares cannot have it set aside by approving a sharing of their own: submit answers 409, nothing changes, the other user keeps signing in with it', async () => {
    const { owenToken, own } = await owenVerifiesGina();
    const { token } = await requester();
    expect(ok(await submit(token, (await verified(token)).request.id)).state).toBe('approved');
    const refused = await submit(owenToken, own.request.id);
    expect([refused.status, errorCode(refused)]).toEqual([409, 'SLS_ERR_CONFLICT']);
    expect(message(refused)).toMatch(/^Your Digital Security Card\+.* is shared with another user/);
    expect([await statuses('owen'), await statuses('gina'), await statuses('rita')]).toEqual([['dscplus:active'], ['gold:active'], ['scc:inactive']]);
    // rita, whose own card is set aside, still signs in with owen's DSC+ (else she had no device at all).
    expect(await signIn(t, 'rita', owner.devices.dscplus!)).toBeTruthy();
  });

  it('S4, S5: the same for compliance\'s approval (slsctl) and for a new start, refused before the owner\'s password is checked (not counted)', async () => {
    const { owenToken, own, startGina } = await owenVerifiesGina({ otherEntity: true });
    expect(ok(await submit(owenToken, own.request.id)).state).toBe('pending_compliance');
    const { token } = await requester();
    expect(ok(await submit(token, (await verified(token)).request.id)).state).toBe('approved');
    await expect(sharing().decide(own.request.id, true, 'compliance-officer')).rejects.toMatchObject({ code: 'SLS_ERR_CONFLICT' });
    expect([await statuses('owen'), await statuses('rita')]).toEqual([['dscplus:active'], ['scc:inactive']]);
    expect(ok(await postJson<SharingBody>(t.app, `/v1/sharing/${own.request.id}/cancel`, {}, bearer(owenToken))).state).toBe('cancelled');
    const again = await startGina('wrong-password');
    expect([again.status, errorCode(again)]).toEqual([409, 'SLS_ERR_CONFLICT']);
    expect(message(again)).toMatch(/^Your Digital Security Card\+/);
    expect(await counters()).toEqual([]);
    expect(await signIn(t, 'rita', owner.devices.dscplus!)).toBeTruthy();
  });

  it('S5, N2: approving the owner\'s own sharing ends another user\'s request for the device it sets aside, only verified: cancelled and audited; that user\'s card stays active', async () => {
    const { u, token } = await requester();
    const ritas = await verified(token);
    const { owenToken, own } = await owenVerifiesGina();
    expect(ok(await submit(owenToken, own.request.id)).state).toBe('approved');
    expect(await statuses('owen')).toEqual(['dscplus:inactive']);
    const r = await submit(token, ritas.request.id);
    expect([r.status, errorCode(r)]).toEqual([409, 'SLS_ERR_CONFLICT']);
    expect(await requests(u)).toEqual([{ id: ritas.request.id, state: 'cancelled' }]);
    const audits = await t.adb.selectFrom('audit_log').select(['user_id', 'details']).where('event', '=', 'sharing.cancelled').execute();
    expect(audits.map((a) => ({ userId: a.user_id, ...(JSON.parse(a.details) as object) }))).toMatchObject([{ userId: u.userId, requestId: ritas.request.id, from: 'verified', by: 'owen' }]);
    expect(await statuses('rita')).toEqual(['scc:active']);
    expect(await signIn(t, 'rita', u.devices.scc!)).toBeTruthy();
  });

  it('S5, N1: two users approving each other\'s device at the same moment: exactly one sharing is approved, the other answers 409 (no deadlock, no 500); each still has a device to sign in with', async () => {
    const dora = await makeUser(t, 'dora', ['dscplus'], { entityId: owner.entityId });
    const owenToken = await signIn(t, 'owen', owner.devices.dscplus!);
    const doraToken = await signIn(t, 'dora', dora.devices.dscplus!);
    const verifiedOf = async (token: string, ownerUsername: string, device: TestUser['devices'][string]) => {
      const s = ok(await postJson<Started>(t.app, '/v1/sharing', { ownerUsername, ownerPassword: PASSWORD }, bearer(token)));
      const response = answer(device, s.confirmation.challenge);
      expect(ok(await postJson<SharingBody>(t.app, `/v1/sharing/${s.request.id}/response`, { confirmationId: s.confirmation.confirmationId, response }, bearer(token))).state).toBe('verified');
      return s.request.id;
    };
    const owens = await verifiedOf(owenToken, 'dora', dora.devices.dscplus!);
    const doras = await verifiedOf(doraToken, 'owen', owner.devices.dscplus!);
    const answers = await Promise.all([submit(owenToken, owens), submit(doraToken, doras)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const [approved] = [...(await openRequests(owner)), ...(await openRequests(dora))];
    expect(approved?.state).toBe('approved');
    // The winner uses the other's DSC+, whose own DSC+ still works.
    expect([...(await statuses('owen')), ...(await statuses('dora'))].sort()).toEqual(['dscplus:active', 'dscplus:inactive']);
  });

  it('S5: a request whose device was set aside meanwhile (its owner shares another user\'s device) is not approved: 409, the requester\'s own card stays active', async () => {
    // rita verified on owen's DSC+ (data from before the rule above: owen's sharing approved anyway).
    const { u, token } = await requester();
    const ritas = await verified(token);
    await t.adb.updateTable('devices').set({ status: 'inactive' }).where('id', '=', owner.devices.dscplus!.device.id).execute();
    const r = await submit(token, ritas.request.id);
    expect([r.status, errorCode(r)]).toEqual([409, 'SLS_ERR_CONFLICT']);
    expect(await statuses('rita')).toEqual(['scc:active']);
    expect(await signIn(t, 'rita', u.devices.scc!)).toBeTruthy();
  });

  it(`S3, N1 (review 10): GET /v1/sharing answers the ${SHARING_LIST_LIMIT} most recent requests, made by or of the user, in a fixed number of queries`, async () => {
    const { u, token } = await requester();
    const other = await makeUser(t, 'olga', ['scc'], { entityId: owner.entityId });
    const base = t.clock.now();
    const insert = async (n: number, who: TestUser, ownerOf: TestUser, from: number) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = newId('shr');
        ids.push(id);
        await t.adb
          .insertInto('sharing_requests')
          .values({
            id,
            requester_user_id: who.userId,
            owner_user_id: ownerOf.userId,
            device_id: owner.devices.dscplus!.device.id,
            state: 'cancelled',
            needs_compliance: 0,
            deactivated_device_ids: '[]',
            created_at: base - (from + i) * MINUTE,
            verified_at: null,
            decided_at: null,
            decided_by: null,
            cancelled_at: base,
          })
          .execute();
      }
      return ids;
    };
    // rita: 3 requests of her own; then 60 older ones, alternately made by her and made of her (olga asking rita).
    const newest = await insert(3, u, owner, 1);
    const older: string[] = [];
    for (let i = 0; i < 60; i++) older.push(...(await insert(1, i % 2 ? other : u, i % 2 ? u : owner, 10 + i)));
    const list = async (tok: string) => ok(await getJson<{ requests: SharingBody[] }>(t.app, '/v1/sharing', bearer(tok))).requests.map((r) => r.id);
    const olgaToken = await signIn(t, 'olga', other.devices.scc!);
    // pete has a single request: the baseline of reads for one GET /v1/sharing.
    const pete = await makeUser(t, 'pete', ['scc'], { entityId: owner.entityId });
    await insert(1, pete, owner, 1);
    const peteToken = await signIn(t, 'pete', pete.devices.scc!);

    const reads = vi.spyOn(accountServices(t.services).deps.adb, 'selectFrom');
    const readsOf = async (tok: string) => {
      reads.mockClear();
      const ids = await list(tok);
      return { ids, reads: reads.mock.calls.length };
    };
    const rita = await readsOf(token);
    const olga = await readsOf(olgaToken);
    const one = await readsOf(peteToken);
    reads.mockRestore();
    expect(rita.ids).toEqual([...newest, ...older].slice(0, SHARING_LIST_LIMIT));
    expect(olga.ids).toEqual(older.filter((_, i) => i % 2 === 1));
    expect(one.ids).toHaveLength(1);
    // The same reads for 50 requests (30, 1) as for one: the users and devices are read at once, not per row.
    expect([rita.reads, olga.reads]).toEqual([one.reads, one.reads]);
  });
});
