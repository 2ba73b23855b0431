// SPEC L4, N1: resends of one login's SMS code at the same moment — a double click that slipped
// through, a retrying proxy, two slsd behind a load balancer — send one text and count it once.
// Run on SQLite and on PostgreSQL, where requests really interleave.
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { LoginStep } from '../core/api.ts';
import { describeEachBackend, probePostgres, tempDataDir } from './db/pg-testing.ts';
import type { FreshDatabase } from './db/pg-testing.ts';
import { accountServices } from './account/index.ts';
import { addToDoNotCall, removeFromDoNotCall } from './services/phone.ts';
import { errorCode, login, postJson } from './testing/http.ts';
import { startTestServer } from './testing/test-server.ts';
import type { TestServer } from './testing/test-server.ts';

const probe = await probePostgres();
const PASSWORD = 'Correct-Horse-1';

describeEachBackend('resending an SMS code', probe, (backend) => {
  let t: TestServer | undefined;
  let fresh: FreshDatabase | undefined;
  let data: ReturnType<typeof tempDataDir>;
  beforeEach(() => {
    data = tempDataDir('slsd-resend-');
  });
  afterEach(async () => {
    await t?.close();
    await fresh?.drop();
    data.remove();
    t = undefined;
    fresh = undefined;
  });

  it('resends at the same moment send one text, counted once; the others are told to wait (SPEC L4, N1)', async () => {
    fresh = await backend.freshDatabase(data.dir);
    t = await startTestServer({ config: { databaseUrl: fresh.url } });
    const entityId = await t.provisioning.createEntity({ name: 'u.race' });
    await t.provisioning.createUser({ username: 'u.race', entityId, password: PASSWORD, mobileNumber: '+15551234567' });
    await t.provisioning.addDevice({ username: 'u.race', kind: 'sms' });
    const step = (await login(t.app, 'u.race', PASSWORD)).body as LoginStep & { status: 'challenge' };
    expect(step.status).toBe('challenge');
    const texts = async () => t!.services.db.selectFrom('sms_outbox').select(['id', 'body']).orderBy('id').execute();
    expect(await texts()).toHaveLength(1);
    t.clock.advance(31_000);

    const all = await Promise.all(Array.from({ length: 4 }, () => postJson(t!.app, `/v1/login/${step.transactionId}/resend`, {})));
    expect(all.map((r) => r.status).sort()).toEqual([200, 429, 429, 429].sort());
    expect(all.filter((r) => errorCode(r) === 'SLS_ERR_RESEND_TOO_SOON')).toHaveLength(3);
    // One new text, not one per request (each used to go out and count against the phone's budget, L4).
    const sent = await texts();
    expect(sent).toHaveLength(2);
    const code = /(\d{6})/.exec(sent.at(-1)!.body)![1]!;
    const done = await postJson<LoginStep>(t.app, `/v1/login/${step.transactionId}/response`, { response: code });
    expect(done.body.status).toBe('signed_in');
  }, 30_000);

  it('a resend whose text cannot go starts no cool-down: once it can, the user asks again at once (SPEC L4, P5)', async () => {
    fresh = await backend.freshDatabase(data.dir);
    t = await startTestServer({ config: { databaseUrl: fresh.url } });
    const entityId = await t.provisioning.createEntity({ name: 'u.dnc' });
    await t.provisioning.createUser({ username: 'u.dnc', entityId, password: PASSWORD, mobileNumber: '+15551234567' });
    await t.provisioning.addDevice({ username: 'u.dnc', kind: 'sms' });
    const step = (await login(t.app, 'u.dnc', PASSWORD)).body as LoginStep & { status: 'challenge' };
    t.clock.advance(31_000);
    const deps = accountServices(t.services).deps;
    await addToDoNotCall(deps, '+15551234567', 'test');
    expect(errorCode(await postJson(t.app, `/v1/login/${step.transactionId}/resend`, {}))).toBe('SLS_ERR_PHONE_DO_NOT_CALL');
    await removeFromDoNotCall(deps, '+15551234567', 'test');
    const again = await postJson<LoginStep>(t.app, `/v1/login/${step.transactionId}/resend`, {});
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(await t.services.db.selectFrom('sms_outbox').select('id').execute()).toHaveLength(2);
  }, 30_000);
});
