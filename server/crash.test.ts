// A withdrawal is confirmed exactly once even when slsd dies (SPEC W4, W1, N1): `kill -9` of slsd in
// the middle of a burst of withdrawals, a restart on the same database, and every request sent again
// with its idempotency key. Nothing is lost (every request ends confirmed or refused by the limit),
// nothing is doubled (one row per key, the same withdrawal for the same key), and the Security Code
// Card's daily limit (USD 200,000) is not passed. On SQLite and on PostgreSQL.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LoginStep } from '../core/api.ts';
import type { ConfirmationChallenge } from '../core/account-api.ts';
import { answer } from './account/testing.ts';
import { accountDb } from './account/schema.ts';
import { defaultConfig } from './config.ts';
import { describeEachBackend, probePostgres, tempDataDir } from './db/pg-testing.ts';
import type { FreshDatabase } from './db/pg-testing.ts';
import { createServices } from './services/index.ts';
import { Provisioning } from './services/provisioning.ts';
import type { ProvisionedDevice } from './services/provisioning.ts';
import { spawnSlsd } from './testing/slsd-process.ts';
import type { SlsdProcess } from './testing/slsd-process.ts';

const probe = await probePostgres();
const PASSWORD = 'Crash-Test-Password-1';
const USD = 100;
const AMOUNT = 15_000 * USD;
const SCC_DAILY_LIMIT = 200_000 * USD;
const BURST = 24;

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function post(base: string, p: string, body: unknown, token?: string): Promise<Reply> {
  const r = await fetch(base + p, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

const codeOf = (r: Reply) => (r.body.error as { code?: string } | undefined)?.code;

describeEachBackend('kill -9 during a burst of withdrawals', probe, (backend) => {
  let data: { dir: string; remove(): void };
  let fresh: FreshDatabase;
  let serverKey: string;
  let scc: ProvisionedDevice;
  let dscplus: ProvisionedDevice;
  let userId: string;
  const running: SlsdProcess[] = [];

  const start = async () => {
    const s = await spawnSlsd({ dataDir: data.dir, env: { SLS_DATABASE_URL: fresh.url, SLS_SERVER_KEY: serverKey } });
    running.push(s);
    return s;
  };

  beforeAll(async () => {
    data = tempDataDir('slsd-crash-');
    fresh = await backend.freshDatabase(data.dir);
    serverKey = Buffer.from(randomUUID() + randomUUID()).subarray(0, 32).toString('base64');
    // Provisioned as slsctl would, from this process, before slsd starts.
    const ops = await createServices(defaultConfig({ dataDir: data.dir, databaseUrl: fresh.url, serverKey, logLevel: 'silent' }));
    try {
      const p = new Provisioning(ops);
      const entityId = await p.createEntity({ name: 'Crash Test' });
      await p.createAccount({ number: 'U7770001', entityId, balanceUsd: 5_000_000 });
      userId = await p.createUser({ username: 'u.crash', entityId, password: PASSWORD, accountNumbers: ['U7770001'] });
      scc = await p.addDevice({ username: 'u.crash', kind: 'scc' });
      dscplus = await p.addDevice({ username: 'u.crash', kind: 'dscplus' });
    } finally {
      await ops.close();
    }
  });
  afterAll(async () => {
    for (const s of running) await s.stop().catch(() => undefined);
    await fresh?.drop();
    data?.remove();
  });

  async function countRows(): Promise<number> {
    const ops = await createServices(defaultConfig({ dataDir: data.dir, databaseUrl: fresh.url, serverKey, logLevel: 'silent' }));
    try {
      return (await accountDb(ops.db).selectFrom('withdrawals').select('id').where('user_id', '=', userId).execute()).length;
    } finally {
      await ops.close();
    }
  }

  it(`loses and doubles none of ${BURST} withdrawals and passes no limit`, { timeout: 60_000 }, async () => {
    const first = await start();
    // A Client Portal session (a row: it outlives the process).
    let step = (await post(first.url, '/v1/login', { username: 'u.crash', password: PASSWORD, client: { kind: 'client_portal', version: 1 } })).body as unknown as LoginStep;
    if (step.status === 'select_device') step = (await post(first.url, `/v1/login/${step.transactionId}/device`, { deviceId: dscplus.device.id })).body as unknown as LoginStep;
    if (step.status !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(step)}`);
    const signed = (await post(first.url, `/v1/login/${step.transactionId}/response`, { response: answer(dscplus, step.challenge) })).body as unknown as LoginStep;
    if (signed.status !== 'signed_in') throw new Error('not signed in');
    const token = signed.session.token;

    // Every request prepared (confirmed on the code card) before the burst.
    const bodies = [];
    for (let i = 0; i < BURST; i++) {
      const c = (await post(first.url, '/v1/withdrawals/challenge', { deviceId: scc.device.id, amountCents: AMOUNT }, token)).body as unknown as ConfirmationChallenge;
      bodies.push({ amountCents: AMOUNT, idempotencyKey: `crash-${i}-${randomUUID()}`, confirmation: { id: c.confirmationId, response: answer(scc, c.challenge) } });
    }

    // The burst; slsd is killed (SIGKILL: no clean-up of any kind) when a quarter of it is answered.
    const exited = new Promise((r) => first.child.once('exit', r));
    let killed = false;
    let answered = 0;
    const t0 = Date.now();
    const before = await Promise.all(
      bodies.map((b, i) =>
        new Promise((r) => setTimeout(r, i * 2))
          .then(() => post(first.url, '/v1/withdrawals', b, token))
          .then(
            (r) => {
              if (!killed && ++answered >= BURST / 4) {
                killed = true;
                first.child.kill('SIGKILL');
              }
              return r;
            },
            () => null,
          ),
      ),
    );
    await exited;
    console.log(`[${backend.name}] burst answered ${before.filter(Boolean).length}/${BURST} before the kill, in ${Date.now() - t0} ms`);
    expect(first.child.signalCode).toBe('SIGKILL');
    const answeredBefore = before.filter((r): r is Reply => r !== null);
    // The kill landed mid-burst: some requests never got an answer.
    expect(answeredBefore.length).toBeGreaterThan(0);
    expect(answeredBefore.length).toBeLessThan(BURST);

    // Restart on the same database and send every request again, with its key.
    const second = await start();
    const survived = await countRows();
    const confirmedBefore = answeredBefore.filter((r) => r.status === 200).length;
    console.log(`[${backend.name}] ${confirmedBefore} confirmed answers before the kill; ${survived} withdrawals in the database after it`);
    expect(survived).toBeGreaterThanOrEqual(confirmedBefore);
    const after: Reply[] = [];
    for (const b of bodies) after.push(await post(second.url, '/v1/withdrawals', b, token));
    const confirmed = after.filter((r) => r.status === 200);
    for (const r of after.filter((x) => x.status !== 200)) expect(codeOf(r), JSON.stringify(r.body)).toBe('SLS_ERR_WITHDRAWAL_LIMIT');
    // None lost: as many confirmed as the limit allows; none passed it.
    expect(confirmed).toHaveLength(Math.min(BURST, Math.floor(SCC_DAILY_LIMIT / AMOUNT)));
    // What was confirmed before the crash is the same withdrawal now (replayed), never a second one.
    for (const [i, r] of before.entries()) {
      if (r?.status === 200) {
        expect(after[i]!.status).toBe(200);
        expect(after[i]!.body.replayed).toBe(true);
        expect((after[i]!.body.withdrawal as { id: string }).id).toBe((r.body.withdrawal as { id: string }).id);
      }
    }
    const ops = await createServices(defaultConfig({ dataDir: data.dir, databaseUrl: fresh.url, serverKey, logLevel: 'silent' }));
    try {
      const rows = await accountDb(ops.db).selectFrom('withdrawals').select(['idempotency_key', 'amount_cents']).where('user_id', '=', userId).execute();
      expect(new Set(rows.map((r) => r.idempotency_key)).size).toBe(rows.length);
      expect(rows).toHaveLength(confirmed.length);
      expect(rows.reduce((s, r) => s + Number(r.amount_cents), 0)).toBeLessThanOrEqual(SCC_DAILY_LIMIT);
    } finally {
      await ops.close();
    }
    // A third round changes nothing: every confirmed key is a replay, every refused one stays refused
    // (its confirmation was spent on the refusal, so the code may now say so).
    for (const [i, b] of bodies.entries()) {
      const r = await post(second.url, '/v1/withdrawals', b, token);
      if (after[i]!.status === 200) expect(r.body.replayed).toBe(true);
      else expect(r.status).toBeGreaterThanOrEqual(400);
    }
  });
});
