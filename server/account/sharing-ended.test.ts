// Device sharing on SQLite and PostgreSQL: how a request ended, and continuing a started one
// (server/services/sharing.ts):
// - SPEC S3–S5: a request's data says what ended it (the requester withdrew or ended it, the owner
//   refused or ended it, compliance rejected it, a new request replaced it, its device was reported,
//   returned, set aside or taken out of use) and when, kept with the request (`ended_reason`, migration
//   0015) and shown to both users; an approved or rejected one says when it was decided.
// - SPEC S3, L6: the requester's started request carries its challenge while it can still be answered
//   (GET /v1/sharing, GET /v1/sharing/:requestId/challenge): Continue needs no owner's password again.
//   Only the requester's session reads it; once it expired or took 3 wrong responses, a coded error and
//   the password step again. Reading it issues, sends, counts and audits nothing.
import { expect, it } from 'vitest';
import type { ConfirmationChallenge } from '../../core/account-api.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import type { ProvisionedDevice } from '../services/provisioning.ts';
import { errorCode, getJson, postJson } from '../testing/http.ts';
import type { Answer } from '../testing/http.ts';
import { accountServices } from './index.ts';
import { accountServerForEachTest, answer, bearer, makeUser, ok, PASSWORD, signIn } from './testing.ts';
import type { AccountTestServer, TestUser } from './testing.ts';

const probe = await probePostgres();

/** Monday 2 November 2026, 10:00 in New York. */
const MONDAY = Date.parse('2026-11-02T15:00:00Z');
const MINUTE = 60_000;
const IDENT = { dateOfBirth: '1980-04-12', citizenship: 'IT', residenceCountry: 'CH', idDocumentType: 'passport', idDocumentNumber: 'YA1234567' };

interface SharingBody {
  id: string;
  state: string;
  device: { id: string };
  requester: { username: string };
  owner: { username: string };
  decidedAt?: string;
  ended?: { reason: string; at: string };
  challenge?: ConfirmationChallenge;
}
interface Started {
  request: SharingBody;
  confirmation: ConfirmationChallenge;
}

describeEachBackend('sharing requests: how they ended, and continuing a started one (SPEC S3, S4, S5, L6)', probe, (backend) => {
  let t: AccountTestServer;
  accountServerForEachTest(backend, MONDAY, (s) => (t = s));

  const iso = () => new Date(t.clock.now()).toISOString();
  const start = (token: string, ownerUsername = 'owen') => postJson<Started>(t.app, '/v1/sharing', { ownerUsername, ownerPassword: PASSWORD }, bearer(token));
  const respond = (token: string, id: string, c: ConfirmationChallenge, device: ProvisionedDevice | undefined, response?: string) =>
    postJson<SharingBody>(t.app, `/v1/sharing/${id}/response`, { confirmationId: c.confirmationId, response: response ?? answer(device!, c.challenge) }, bearer(token));
  const submit = (token: string, id: string) => postJson<SharingBody>(t.app, `/v1/sharing/${id}/submit`, {}, bearer(token));
  const cancel = (token: string, id: string) => postJson<SharingBody>(t.app, `/v1/sharing/${id}/cancel`, {}, bearer(token));
  const challengeOf = (token: string, id: string) => getJson<ConfirmationChallenge>(t.app, `/v1/sharing/${id}/challenge`, bearer(token));
  const list = async (token: string) => ok(await getJson<{ requests: SharingBody[] }>(t.app, '/v1/sharing', bearer(token))).requests;
  const listed = async (token: string, id: string) => (await list(token)).find((r) => r.id === id);
  const stored = async (id: string) => t.adb.selectFrom('sharing_requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const message = (a: Answer<unknown>) => (a.body as { error?: { message?: string } }).error?.message ?? '';
  /** Everything reading a challenge could have changed: the confirmations, the failure counts, the audit log. */
  const snapshot = async () => ({
    confirmations: await t.adb.selectFrom('confirmations').select(['id', 'state', 'wrong_responses', 'expires_at']).orderBy('id').execute(),
    counters: await t.adb.selectFrom('failure_counters').selectAll().orderBy('scope').orderBy('subject').execute(),
    audit: (await t.adb.selectFrom('audit_log').select(['id', 'event']).execute()).length,
    requests: await t.adb.selectFrom('sharing_requests').select(['id', 'state', 'ended_reason']).orderBy('id').execute(),
  });

  /** The owner (a DSC+) and a requester with a code card in one entity, each signed in to the portal. */
  async function parties(opts: { ownerKinds?: ('dscplus' | 'scc' | 'gold')[] } = {}) {
    const owner = await makeUser(t, 'owen', opts.ownerKinds ?? ['dscplus'], { entity: IDENT });
    const rita = await makeUser(t, 'rita', ['scc'], { entityId: owner.entityId });
    const ritaToken = await signIn(t, 'rita', rita.devices.scc!);
    const owenToken = await signIn(t, 'owen', Object.values(owner.devices)[0]!);
    return { owner, rita, ritaToken, owenToken };
  }

  async function approved(token: string, owner: TestUser) {
    const s = ok(await start(token));
    ok(await respond(token, s.request.id, s.confirmation, owner.devices.dscplus));
    t.clock.advance(MINUTE);
    const done = ok(await submit(token, s.request.id));
    expect(done.state).toBe('approved');
    return done;
  }

  it('S3, S5: the owner refusing a request is said to the requester, with when; kept with the request', async () => {
    const { owner, ritaToken, owenToken } = await parties();
    const s = ok(await start(ritaToken));
    expect(s.request.ended).toBeUndefined();
    ok(await respond(ritaToken, s.request.id, s.confirmation, owner.devices.dscplus));
    t.clock.advance(3 * MINUTE);
    const at = iso();
    const refused = ok(await cancel(owenToken, s.request.id));
    expect(refused).toMatchObject({ state: 'cancelled', ended: { reason: 'refused_by_owner', at } });
    expect(refused.decidedAt).toBeUndefined();
    // Both users read it in their lists: the requester is told the owner refused, not just that it is gone.
    expect(await listed(ritaToken, s.request.id)).toMatchObject({ state: 'cancelled', ended: { reason: 'refused_by_owner', at } });
    expect(await listed(owenToken, s.request.id)).toMatchObject({ ended: { reason: 'refused_by_owner', at } });
    expect(await stored(s.request.id)).toMatchObject({ state: 'cancelled', ended_reason: 'refused_by_owner', cancelled_at: t.clock.now() });
  });

  it('S3, S5: withdrawn by the requester, or replaced by their new request; an open request says nothing ended', async () => {
    const { ritaToken, owenToken } = await parties();
    const first = ok(await start(ritaToken));
    t.clock.advance(MINUTE);
    const second = ok(await start(ritaToken));
    expect(await listed(ritaToken, first.request.id)).toMatchObject({ state: 'cancelled', ended: { reason: 'replaced', at: iso() } });
    const open = await listed(owenToken, second.request.id);
    expect(open?.state).toBe('started');
    expect(open?.ended).toBeUndefined();
    t.clock.advance(MINUTE);
    expect(ok(await cancel(ritaToken, second.request.id)).ended).toEqual({ reason: 'withdrawn', at: iso() });
    expect(await listed(owenToken, second.request.id)).toMatchObject({ ended: { reason: 'withdrawn', at: iso() } });
  });

  it('S4, S5: an approved sharing says when it was decided, then who ended it: the owner, or the requester', async () => {
    const { owner, rita, ritaToken, owenToken } = await parties();
    const done = await approved(ritaToken, owner);
    const decidedAt = iso();
    expect(done.decidedAt).toBe(decidedAt);
    expect(done.ended).toBeUndefined();
    t.clock.advance(MINUTE);
    expect(ok(await cancel(owenToken, done.id))).toMatchObject({ state: 'cancelled', decidedAt, ended: { reason: 'ended_by_owner', at: iso() } });
    const ritaAgain = await signIn(t, 'rita', rita.devices.scc!);
    expect(await listed(ritaAgain, done.id)).toMatchObject({ decidedAt, ended: { reason: 'ended_by_owner', at: iso() } });

    const again = await approved(ritaAgain, owner);
    t.clock.advance(MINUTE);
    const viaShared = await signIn(t, 'rita', owner.devices.dscplus!);
    expect(ok(await cancel(viaShared, again.id)).ended).toEqual({ reason: 'ended_by_requester', at: iso() });
  });

  it('S4: compliance rejecting is said, with its time (the decision\'s); the operator\'s name is not shown', async () => {
    const owner = await makeUser(t, 'owen', ['dscplus'], { entity: IDENT });
    const carl = await makeUser(t, 'carl', ['scc'], { entity: IDENT });
    const token = await signIn(t, 'carl', carl.devices.scc!);
    const s = ok(await start(token));
    ok(await respond(token, s.request.id, s.confirmation, owner.devices.dscplus));
    expect(ok(await submit(token, s.request.id)).state).toBe('pending_compliance');
    t.clock.advance(MINUTE);
    const rejected = await accountServices(t.services).sharing.decide(s.request.id, false, 'compliance-officer');
    expect(rejected).toMatchObject({ state: 'rejected', decidedAt: iso(), ended: { reason: 'rejected_by_compliance', at: iso() } });
    const body = await listed(token, s.request.id);
    expect(body).toMatchObject({ ended: { reason: 'rejected_by_compliance', at: iso() } });
    expect(JSON.stringify(body)).not.toContain('compliance-officer');
  });

  it('S5, D8, D5, D7: a device reported lost, returned, taken out of use by an operator, or set aside by its owner\'s own sharing ends its requests, saying so', async () => {
    const owen = await makeUser(t, 'owen', ['dscplus', 'scc'], { entity: IDENT });
    const rita = await makeUser(t, 'rita', ['scc'], { entityId: owen.entityId });
    const olga = await makeUser(t, 'olga', ['dscplus', 'gold'], { entityId: owen.entityId });
    const omar = await makeUser(t, 'omar', ['dscplus'], { entityId: owen.entityId });
    const pia = await makeUser(t, 'pia', ['dscplus'], { entityId: owen.entityId });
    const quin = await makeUser(t, 'quin', ['dscplus'], { entityId: owen.entityId });
    const token = await signIn(t, 'rita', rita.devices.scc!);

    // D8: reported lost by its owner (signed in with their other device).
    const lost = ok(await start(token, 'owen'));
    expect(lost.request.device.id).toBe(owen.devices.dscplus!.device.id);
    t.clock.advance(MINUTE);
    expect((await postJson(t.app, `/v1/devices/${owen.devices.dscplus!.device.id}/report`, { reason: 'lost' }, bearer(await signIn(t, 'owen', owen.devices.scc!)))).status).toBe(200);
    expect(await listed(token, lost.request.id)).toMatchObject({ state: 'cancelled', ended: { reason: 'device_reported', at: iso() } });

    // D8: returned, the owner keeping their Gold device.
    const returned = ok(await start(token, 'olga'));
    expect(returned.request.device.id).toBe(olga.devices.dscplus!.device.id);
    t.clock.advance(MINUTE);
    expect((await postJson(t.app, `/v1/devices/${olga.devices.dscplus!.device.id}/return`, {}, bearer(await signIn(t, 'olga', olga.devices.gold!)))).status).toBe(200);
    expect(await listed(token, returned.request.id)).toMatchObject({ state: 'cancelled', ended: { reason: 'device_returned', at: iso() } });

    // D8: reported broken (revoked by the report).
    const broken = ok(await start(token, 'owen'));
    expect(broken.request.device.id).toBe(owen.devices.scc!.device.id);
    const owenOther = await t.provisioning.addDevice({ username: 'owen', kind: 'scc' });
    t.clock.advance(MINUTE);
    expect((await postJson(t.app, `/v1/devices/${owen.devices.scc!.device.id}/report`, { reason: 'broken' }, bearer(await signIn(t, 'owen', owenOther)))).status).toBe(200);
    expect(await listed(token, broken.request.id)).toMatchObject({ state: 'cancelled', ended: { reason: 'device_reported', at: iso() } });

    // D5: an operator revokes it (slsctl device set-status).
    const revoked = ok(await start(token, 'omar'));
    t.clock.advance(MINUTE);
    await t.provisioning.setDeviceStatus(omar.devices.dscplus!.device.id, 'revoked', 'ops-anna');
    expect(await listed(token, revoked.request.id)).toMatchObject({ state: 'cancelled', ended: { reason: 'device_unavailable', at: iso() } });

    // S5: its owner's own sharing of another user's device is approved, which sets it aside.
    const setAside = ok(await start(token, 'pia'));
    const piaToken = await signIn(t, 'pia', pia.devices.dscplus!);
    const piaStarted = ok(await start(piaToken, 'quin'));
    ok(await respond(piaToken, piaStarted.request.id, piaStarted.confirmation, quin.devices.dscplus));
    t.clock.advance(MINUTE);
    expect(ok(await submit(piaToken, piaStarted.request.id)).state).toBe('approved');
    expect(await listed(token, setAside.request.id)).toMatchObject({ state: 'cancelled', ended: { reason: 'device_set_aside', at: iso() } });
    expect((await stored(setAside.request.id)).ended_reason).toBe('device_set_aside');
  });

  it('S3: the requester\'s started request carries its challenge, in their list and again by its own route, the same one, answerable; never the owner\'s', async () => {
    const { owner, rita, ritaToken: firstSession, owenToken } = await parties();
    const s = ok(await start(firstSession));
    t.clock.advance(2 * MINUTE);
    // The desktop restarted: a new session of the requester reads it back, no owner's password.
    const ritaToken = await signIn(t, 'rita', rita.devices.scc!);
    const before = await snapshot();
    const listedMine = await listed(ritaToken, s.request.id);
    expect(listedMine?.challenge).toEqual(s.confirmation);
    expect(ok(await challengeOf(ritaToken, s.request.id))).toEqual(s.confirmation);
    // The owner, whose device answers in the requester's session (S3), gets neither.
    expect((await listed(owenToken, s.request.id))?.challenge).toBeUndefined();
    const asOwner = await challengeOf(owenToken, s.request.id);
    expect([asOwner.status, errorCode(asOwner)]).toEqual([404, 'SLS_ERR_NOT_FOUND']);
    // Nothing issued, sent, counted or audited by reading it.
    expect(await snapshot()).toEqual(before);
    // The challenge read back is answered as the one start gave.
    const resumed = ok(await challengeOf(ritaToken, s.request.id));
    expect(ok(await respond(ritaToken, s.request.id, resumed, owner.devices.dscplus)).state).toBe('verified');
    // Verified: no challenge any more (SLS_ERR_CONFLICT), none in the list.
    const after = await challengeOf(ritaToken, s.request.id);
    expect([after.status, errorCode(after)]).toEqual([409, 'SLS_ERR_CONFLICT']);
    expect((await listed(ritaToken, s.request.id))?.challenge).toBeUndefined();
  });

  it('S3: a code card\'s index numbers are given back as they were asked; no cell is asked anew', async () => {
    const { owner, ritaToken } = await parties({ ownerKinds: ['scc'] });
    const s = ok(await start(ritaToken));
    expect(s.confirmation.challenge.type).toBe('index_numbers');
    const again = ok(await challengeOf(ritaToken, s.request.id));
    expect(again).toEqual(s.confirmation);
    expect(ok(await respond(ritaToken, s.request.id, again, owner.devices.scc)).state).toBe('verified');
  });

  it('S3, L6: after its 5 minutes the challenge is over: SLS_ERR_TRANSACTION_EXPIRED, none listed, and the owner\'s password gives a new one', async () => {
    const { owner, ritaToken } = await parties();
    const s = ok(await start(ritaToken));
    t.clock.advance(5 * MINUTE);
    const before = await snapshot();
    const expired = await challengeOf(ritaToken, s.request.id);
    expect([expired.status, errorCode(expired)]).toEqual([410, 'SLS_ERR_TRANSACTION_EXPIRED']);
    expect(message(expired)).toMatch(/expired.*owner's password again/);
    const row = await listed(ritaToken, s.request.id);
    expect(row?.state).toBe('started');
    expect(row?.challenge).toBeUndefined();
    expect(await snapshot()).toEqual(before);
    // The password step again: a new request, with its own challenge, replaces it.
    const fresh = ok(await start(ritaToken));
    expect((await listed(ritaToken, fresh.request.id))?.challenge).toEqual(fresh.confirmation);
    expect((await listed(ritaToken, s.request.id))?.ended?.reason).toBe('replaced');
    expect(ok(await respond(ritaToken, fresh.request.id, fresh.confirmation, owner.devices.dscplus)).state).toBe('verified');
  });

  it('S3, L6: after 3 wrong responses the challenge is over: SLS_ERR_TRANSACTION_ENDED, none listed; the wrong responses still count', async () => {
    const { ritaToken } = await parties();
    const s = ok(await start(ritaToken));
    for (let i = 0; i < 3; i++) expect(errorCode(await respond(ritaToken, s.request.id, s.confirmation, undefined, '00000000'))).toBe('SLS_ERR_WRONG_RESPONSE');
    const ended = await challengeOf(ritaToken, s.request.id);
    expect(errorCode(ended)).toBe('SLS_ERR_TRANSACTION_ENDED');
    expect(message(ended)).toMatch(/3 wrong responses.*owner's password again/);
    expect((await listed(ritaToken, s.request.id))?.challenge).toBeUndefined();
    const counted = (await t.adb.selectFrom('failure_counters').select(['scope', 'subject', 'failures']).execute()).filter((c) => c.subject === 'rita');
    expect(counted.map((c) => JSON.parse(c.failures) as unknown[]).flat()).toHaveLength(3);
  });

  it('S3: bad input gets a coded error and changes nothing: an unknown id, another user\'s request, a request no longer started, no session', async () => {
    const { owner, ritaToken } = await parties();
    const s = ok(await start(ritaToken));
    const stranger = await makeUser(t, 'sid', ['scc'], { entityId: owner.entityId });
    const sidToken = await signIn(t, 'sid', stranger.devices.scc!);
    const before = await snapshot();
    const cases: [Answer<unknown>, number, string][] = [
      [await challengeOf(ritaToken, 'shr_nope'), 404, 'SLS_ERR_NOT_FOUND'],
      [await challengeOf(sidToken, s.request.id), 404, 'SLS_ERR_NOT_FOUND'],
      [await getJson(t.app, `/v1/sharing/${s.request.id}/challenge`), 401, 'SLS_ERR_UNAUTHENTICATED'],
      [await getJson(t.app, `/v1/sharing/${s.request.id}/challenge`, bearer('not-a-token')), 401, 'SLS_ERR_UNAUTHENTICATED'],
    ];
    for (const [a, status, code] of cases) expect([a.status, errorCode(a)]).toEqual([status, code]);
    // The stranger learns nothing: the same answer as for an unknown id.
    expect(cases[1]![0].body).toEqual(cases[0]![0].body);
    expect(await snapshot()).toEqual(before);
    // Withdrawn: no longer started.
    ok(await cancel(ritaToken, s.request.id));
    const gone = await challengeOf(ritaToken, s.request.id);
    expect([gone.status, errorCode(gone)]).toEqual([409, 'SLS_ERR_CONFLICT']);
  });

  it('S5: ending a request no longer open, or another user\'s, is refused with its code and leaves what ended it as it was', async () => {
    const { ritaToken, owenToken, owner } = await parties();
    const s = ok(await start(ritaToken));
    const at = iso();
    ok(await cancel(ritaToken, s.request.id));
    t.clock.advance(MINUTE);
    const again = await cancel(owenToken, s.request.id);
    expect([again.status, errorCode(again)]).toEqual([409, 'SLS_ERR_CONFLICT']);
    const stranger = await makeUser(t, 'sid', ['scc'], { entityId: owner.entityId });
    const theirs = await cancel(await signIn(t, 'sid', stranger.devices.scc!), s.request.id);
    expect([theirs.status, errorCode(theirs)]).toEqual([404, 'SLS_ERR_NOT_FOUND']);
    expect(await listed(ritaToken, s.request.id)).toMatchObject({ ended: { reason: 'withdrawn', at } });
    expect(await stored(s.request.id)).toMatchObject({ ended_reason: 'withdrawn', cancelled_at: Date.parse(at) });
  });

  it('S3–S5: a request that ended before slsd kept why says when, and that it was not recorded', async () => {
    const { ritaToken } = await parties();
    const s = ok(await start(ritaToken));
    ok(await cancel(ritaToken, s.request.id));
    await t.adb.updateTable('sharing_requests').set({ ended_reason: null }).where('id', '=', s.request.id).execute();
    expect((await listed(ritaToken, s.request.id))?.ended).toEqual({ reason: 'not_recorded', at: iso() });
  });
});
