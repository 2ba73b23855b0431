// IB Key activation and its audit entries (SPEC K1, N2, P2), on SQLite and PostgreSQL: an activation is
// stored with its `ibkey.activation_started` entry before its SMS code leaves, or not at all; a code
// that then does not leave (the SMS policy refuses it, the gateway fails) ends the activation with an
// `ibkey.activation_code_not_sent` entry.
import { randomUUID } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { accountServices } from '../account/index.ts';
import { describeEachBackend, probePostgres, tempDataDir } from '../db/pg-testing.ts';
import type { FreshDatabase } from '../db/pg-testing.ts';
import { addToDoNotCall } from '../services/phone.ts';
import type { SmsGateway, SmsMessage } from '../sms/gateway.ts';
import { refuseAuditEvent } from '../testing/refuse-audit.ts';
import { startTestServer } from '../testing/test-server.ts';
import type { TestServer } from '../testing/test-server.ts';
import { createUser, PASSWORD } from './testkit.ts';

const probe = await probePostgres();

const NUMBER = '+12125550142';
const MASKED = '+1 ••• ••• ••42';

describeEachBackend('IB Key activation: its audit entries and its SMS (K1, N2, P2)', probe, (backend) => {
  let t: TestServer;
  let fresh: FreshDatabase;
  let data: ReturnType<typeof tempDataDir>;
  /** What the gateway sent; `failing` makes it throw, as a gateway that is down (with the text it could not send). */
  let sent: SmsMessage[];
  let failing: boolean;
  let failedBodies: string[];

  async function start(): Promise<void> {
    sent = [];
    failing = false;
    failedBodies = [];
    const gateway: SmsGateway = {
      send: async (m) => {
        if (failing) {
          failedBodies.push(m.body);
          throw new Error(`gateway down, could not send "${m.body}"`);
        }
        sent.push(m);
      },
    };
    data = tempDataDir();
    fresh = await backend.freshDatabase(data.dir);
    // Carrier hours off: an activation code is refused outside them (P2), whatever the test clock says.
    t = await startTestServer({ dataDir: data.dir, smsGateway: gateway, config: { databaseUrl: fresh.url, smsCarrierHours: false } });
  }
  afterEach(async () => {
    await t.close();
    await fresh.drop();
    data.remove();
  });

  const startActivation = (username: string) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/ibkey/activations',
      payload: { purpose: 'activate', platform: 'android', installationId: randomUUID(), credentials: { username, password: PASSWORD } },
    });
  const check = (activationId: string, code: string) => t.app.inject({ method: 'POST', url: `/v1/ibkey/activations/${activationId}/check`, payload: { code } });
  const errorOf = (r: { json(): unknown }) => (r.json() as { error: { code: string } }).error;
  const codeIn = (body: string) => /code is (\d+)/.exec(body)![1]!;
  const audit = async (event: string) =>
    (await t.services.db.selectFrom('audit_log').selectAll().where('event', '=', event).execute()).sort((a, b) => a.id - b.id).map((r) => JSON.parse(r.details) as Record<string, unknown>);
  // The whole table (no lookup, so no index needed): each test has one user.
  const activations = async (userId: string) =>
    (await t.services.db.selectFrom('ibkey_activations').select(['id', 'state', 'user_id', 'created_at']).execute())
      .filter((a) => a.user_id === userId)
      .sort((a, b) => a.created_at - b.created_at)
      .map(({ id, state }) => ({ id, state }));
  const held = () => t.services.db.selectFrom('sms_outbox').select('id').execute();

  it('N2: an activation the audit log refuses is neither stored nor sent (no SMS sent or held); the retry sends one code, on record once', async () => {
    await start();
    const userId = await createUser(t, 'ada');
    const allow = await refuseAuditEvent(t.services.db, 'ibkey.activation_started');
    const refused = await startActivation('ada');
    expect(refused.statusCode).toBe(500);
    expect(sent).toEqual([]);
    expect(await held()).toEqual([]);
    expect(await activations(userId)).toEqual([]);
    expect(await audit('ibkey.activation_started')).toEqual([]);

    await allow();
    const r = await startActivation('ada');
    expect(r.statusCode, r.body).toBe(200);
    const { activationId, proof } = r.json() as { activationId: string; proof: unknown };
    expect(proof).toEqual({ type: 'sms_code', maskedNumber: MASKED, codeLength: 6 });
    expect(sent.map((m) => [m.to, m.purpose])).toEqual([[NUMBER, 'ibkey_activation']]);
    expect(await activations(userId)).toEqual([{ id: activationId, state: 'pending' }]);
    expect(await audit('ibkey.activation_started')).toEqual([{ activationId, purpose: 'activate', platform: 'android', proof: 'sms' }]);
    expect(await audit('ibkey.activation_code_not_sent')).toEqual([]);
    const c = await check(activationId, codeIn(sent[0]!.body));
    expect(c.statusCode, c.body).toBe(200);
  });

  it('N2, P5: a code the gateway failed to send leaves no usable activation, with one ibkey.activation_code_not_sent entry; the retry works', async () => {
    await start();
    const userId = await createUser(t, 'gus');
    failing = true;
    const r = await startActivation('gus');
    expect(r.statusCode).toBe(503);
    expect(errorOf(r).code).toBe('SLS_ERR_SERVICE_UNAVAILABLE');
    expect(sent).toEqual([]);
    expect(failedBodies).toHaveLength(1);
    const [started] = await audit('ibkey.activation_started');
    const activationId = started!.activationId as string;
    expect(await activations(userId)).toEqual([{ id: activationId, state: 'ended' }]);
    expect(await audit('ibkey.activation_code_not_sent')).toEqual([{ activationId, masked: MASKED, reason: 'SLS_ERR_SERVICE_UNAVAILABLE' }]);
    // The code the gateway had (and perhaps half-delivered) opens nothing.
    expect(errorOf(await check(activationId, codeIn(failedBodies[0]!))).code).toBe('SLS_ERR_IBKEY_ACTIVATION_ENDED');

    failing = false;
    const again = await startActivation('gus');
    expect(again.statusCode, again.body).toBe(200);
    const next = (again.json() as { activationId: string }).activationId;
    expect((await check(next, codeIn(sent[0]!.body))).statusCode).toBe(200);
    expect((await audit('ibkey.activation_started')).map((e) => e.activationId)).toEqual([activationId, next]);
    expect(await audit('ibkey.activation_code_not_sent')).toHaveLength(1);
  });

  it('N2, P2: a code the SMS policy refuses (do-not-call) leaves no usable activation, with one ibkey.activation_code_not_sent entry', async () => {
    await start();
    const userId = await createUser(t, 'dot');
    await addToDoNotCall(accountServices(t.services).deps, NUMBER, 'test');
    const r = await startActivation('dot');
    expect(errorOf(r).code).toBe('SLS_ERR_PHONE_DO_NOT_CALL');
    expect(sent).toEqual([]);
    expect(await held()).toEqual([]);
    const [started] = await audit('ibkey.activation_started');
    const activationId = started!.activationId as string;
    expect(await activations(userId)).toEqual([{ id: activationId, state: 'ended' }]);
    expect(await audit('ibkey.activation_code_not_sent')).toEqual([{ activationId, masked: MASKED, reason: 'SLS_ERR_PHONE_DO_NOT_CALL' }]);
  });
});
