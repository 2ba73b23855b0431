// SPEC S3–S5, N2, on SQLite and PostgreSQL: every audit entry written when a sharing request ends
// (`sharing.cancelled`, `sharing.rejected`) carries what ended it as `reason`, the very value kept with
// the request (`sharing_requests.ended_reason`, migration 0015; server/services/sharing.ts) — whoever
// or whatever ended it: either user, a new request, compliance, or its device (reported, returned,
// taken out of use or given to another user by an operator, set aside by its owner's own sharing).
import { expect, it } from 'vitest';
import type { ConfirmationChallenge } from '../../core/account-api.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import type { ProvisionedDevice } from '../services/provisioning.ts';
import { postJson } from '../testing/http.ts';
import { accountServices } from './index.ts';
import { accountServerForEachTest, answer, bearer, makeUser, ok, PASSWORD, signIn } from './testing.ts';
import type { AccountTestServer } from './testing.ts';

const probe = await probePostgres();

/** Monday 2 November 2026, 10:00 in New York. */
const MONDAY = Date.parse('2026-11-02T15:00:00Z');
const MINUTE = 60_000;
const IDENT = { dateOfBirth: '1980-04-12', citizenship: 'IT', residenceCountry: 'CH', idDocumentType: 'passport', idDocumentNumber: 'YA1234567' };

interface SharingBody {
  id: string;
  state: string;
  device: { id: string };
}
interface Started {
  request: SharingBody;
  confirmation: ConfirmationChallenge;
}

describeEachBackend('a sharing request\'s end is audited with its reason (SPEC S3, S4, S5, N2)', probe, (backend) => {
  let t: AccountTestServer;
  accountServerForEachTest(backend, MONDAY, (s) => (t = s));

  const start = (token: string, ownerUsername: string) => postJson<Started>(t.app, '/v1/sharing', { ownerUsername, ownerPassword: PASSWORD }, bearer(token));
  const respond = (token: string, s: Started, device: ProvisionedDevice) =>
    postJson<SharingBody>(t.app, `/v1/sharing/${s.request.id}/response`, { confirmationId: s.confirmation.confirmationId, response: answer(device, s.confirmation.challenge) }, bearer(token));
  const submit = (token: string, id: string) => postJson<SharingBody>(t.app, `/v1/sharing/${id}/submit`, {}, bearer(token));
  const cancel = (token: string, id: string) => postJson<SharingBody>(t.app, `/v1/sharing/${id}/cancel`, {}, bearer(token));

  /** Started, answered with the owner's device and submitted: approved, or pending compliance (S4). */
  async function submitted(token: string, ownerUsername: string, device: ProvisionedDevice): Promise<SharingBody> {
    const s = ok(await start(token, ownerUsername));
    ok(await respond(token, s, device));
    return ok(await submit(token, s.request.id));
  }

  /**
   * Every ended request: the reason kept with it, and the end entries naming it with the `reason` each
   * carries. The audit log is append-only (N2): an entry a second ending wrote would show here too.
   */
  async function endings(): Promise<Record<string, { stored: string | null; audited: [string, unknown][] }>> {
    const rows = await t.adb.selectFrom('sharing_requests').select(['id', 'ended_reason']).where('state', 'in', ['cancelled', 'rejected']).execute();
    const entries: { event: string; details: { requestId?: string; reason?: unknown } }[] = [];
    // One event per query: the tests' own reading of the audit log (server/testing/query-plans.ts TEST_ONLY).
    for (const event of ['sharing.cancelled', 'sharing.rejected']) {
      for (const e of await t.adb.selectFrom('audit_log').select(['event', 'details']).where('event', '=', event).execute()) entries.push({ event: e.event, details: JSON.parse(e.details) as { requestId?: string; reason?: unknown } });
    }
    return Object.fromEntries(
      rows.map((r) => [r.id, { stored: r.ended_reason, audited: entries.filter((e) => e.details.requestId === r.id).map((e): [string, unknown] => [e.event, e.details.reason]) }]),
    );
  }
  /** What `endings` must read: each request ended once, its entry's `reason` the one kept with it. */
  const expected = (ended: Record<string, string>, event = (_id: string) => 'sharing.cancelled') =>
    Object.fromEntries(Object.entries(ended).map(([id, reason]) => [id, { stored: reason, audited: [[event(id), reason]] }]));

  it('S3–S5: ended by a user, replaced, or rejected by compliance: withdrawn, refused_by_owner, ended_by_owner, ended_by_requester, replaced, rejected_by_compliance', async () => {
    const owen = await makeUser(t, 'owen', ['dscplus'], { entity: IDENT });
    const rita = await makeUser(t, 'rita', ['scc'], { entityId: owen.entityId });
    const ritaToken = await signIn(t, 'rita', rita.devices.scc!);
    const owenToken = await signIn(t, 'owen', owen.devices.dscplus!);
    const card = owen.devices.dscplus!;
    const ended: Record<string, string> = {};

    // S3, S5: a started request replaced by a new start, which the requester then withdraws.
    const first = ok(await start(ritaToken, 'owen'));
    t.clock.advance(MINUTE);
    const second = ok(await start(ritaToken, 'owen'));
    ended[first.request.id] = 'replaced';
    ok(await cancel(ritaToken, second.request.id));
    ended[second.request.id] = 'withdrawn';

    // S5: the owner refuses a verified request.
    const third = ok(await start(ritaToken, 'owen'));
    ok(await respond(ritaToken, third, card));
    ok(await cancel(owenToken, third.request.id));
    ended[third.request.id] = 'refused_by_owner';

    // S5: the owner ends an approved sharing.
    const byOwner = await submitted(ritaToken, 'owen', card);
    expect(byOwner.state).toBe('approved');
    ok(await cancel(owenToken, byOwner.id));
    ended[byOwner.id] = 'ended_by_owner';

    // S5: the requester ends one, signed in with the shared device (her own card is set aside).
    const ritaAgain = await signIn(t, 'rita', rita.devices.scc!);
    const byRequester = await submitted(ritaAgain, 'owen', card);
    expect(byRequester.state).toBe('approved');
    ok(await cancel(await signIn(t, 'rita', card), byRequester.id));
    ended[byRequester.id] = 'ended_by_requester';

    // S4: another entity with matching identification data waits for compliance, which rejects it.
    const carl = await makeUser(t, 'carl', ['scc'], { entity: IDENT });
    const pending = await submitted(await signIn(t, 'carl', carl.devices.scc!), 'owen', card);
    expect(pending.state).toBe('pending_compliance');
    await accountServices(t.services).sharing.decide(pending.id, false, 'compliance-officer');
    ended[pending.id] = 'rejected_by_compliance';

    expect(await endings()).toEqual(expected(ended, (id) => (id === pending.id ? 'sharing.rejected' : 'sharing.cancelled')));
  });

  it('S5, D8, D5, D7: ended with its device: reported lost or broken, returned, revoked or assigned by an operator, set aside by its owner\'s own sharing', async () => {
    const owen = await makeUser(t, 'owen', ['dscplus', 'scc'], { entity: IDENT });
    const rita = await makeUser(t, 'rita', ['scc'], { entityId: owen.entityId });
    const sameEntity = (name: string, kinds: ('dscplus' | 'gold' | 'scc')[]) => makeUser(t, name, kinds, { entityId: owen.entityId });
    const olga = await sameEntity('olga', ['dscplus', 'gold']);
    const [omar, ava, pia, quin] = [await sameEntity('omar', ['dscplus']), await sameEntity('ava', ['dscplus']), await sameEntity('pia', ['dscplus']), await sameEntity('quin', ['dscplus'])];
    const nora = await sameEntity('nora', ['scc']);
    const token = await signIn(t, 'rita', rita.devices.scc!);
    const ended: Record<string, string> = {};

    // D8: an approved sharing of a DSC+ its owner reports lost (signed in with their code card).
    const lost = await submitted(token, 'owen', owen.devices.dscplus!);
    expect(lost.state).toBe('approved');
    ok(await postJson(t.app, `/v1/devices/${owen.devices.dscplus!.device.id}/report`, { reason: 'lost' }, bearer(await signIn(t, 'owen', owen.devices.scc!))));
    ended[lost.id] = 'device_reported';
    // Her own card active again, the requester starts the others from a new session with it.
    const ritaToken = await signIn(t, 'rita', rita.devices.scc!);
    const again = async (ownerUsername: string, device: ProvisionedDevice) => {
      const s = ok(await start(ritaToken, ownerUsername));
      expect(s.request.device.id).toBe(device.device.id);
      t.clock.advance(MINUTE);
      return s.request.id;
    };

    // D8: reported broken (revoked by its user's report).
    const broken = await again('owen', owen.devices.scc!);
    const owenOther = await t.provisioning.addDevice({ username: 'owen', kind: 'scc' });
    ok(await postJson(t.app, `/v1/devices/${owen.devices.scc!.device.id}/report`, { reason: 'broken' }, bearer(await signIn(t, 'owen', owenOther))));
    ended[broken] = 'device_reported';

    // D8: returned, its owner keeping their Gold device.
    const returned = await again('olga', olga.devices.dscplus!);
    ok(await postJson(t.app, `/v1/devices/${olga.devices.dscplus!.device.id}/return`, {}, bearer(await signIn(t, 'olga', olga.devices.gold!))));
    ended[returned] = 'device_returned';

    // D5: an operator revokes it (slsctl device set-status).
    const revoked = await again('omar', omar.devices.dscplus!);
    await t.provisioning.setDeviceStatus(omar.devices.dscplus!.device.id, 'revoked', 'ops-anna');
    ended[revoked] = 'device_unavailable';

    // D7: an operator gives it to another user (slsctl device assign).
    const assigned = await again('ava', ava.devices.dscplus!);
    await t.provisioning.assignDevice(ava.devices.dscplus!.device.id, nora.username);
    ended[assigned] = 'device_unavailable';

    // S5: its owner's own sharing of another user's device is approved, which sets it aside.
    const setAside = await again('pia', pia.devices.dscplus!);
    const piaShares = await submitted(await signIn(t, 'pia', pia.devices.dscplus!), 'quin', quin.devices.dscplus!);
    expect(piaShares.state).toBe('approved');
    ended[setAside] = 'device_set_aside';

    expect(await endings()).toEqual(expected(ended));
  });
});
