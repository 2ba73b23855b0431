// Withdrawals over HTTP against a real SQLite file (SPEC W1–W4, C6): limits of the confirming device,
// New York windows, exactly once under concurrency.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfirmationChallenge, WithdrawalOverview, WithdrawalResponse } from '../../core/account-api.ts';
import type { ProvisionedDevice } from '../services/provisioning.ts';
import { errorCode, getJson, postJson } from '../testing/http.ts';
import { refuseAuditEvent } from '../testing/refuse-audit.ts';
import type { Answer } from '../testing/http.ts';
import { testClock } from '../testing/test-server.ts';
import { answer, bearer, makeUser, ok, signIn, startAccountServer, USD } from './testing.ts';
import type { AccountTestServer, TestUser } from './testing.ts';

/** New York wall-clock time in November 2026 (EST, UTC−5). */
const ny = (ymd: string, hh = 10, mm = 0) => Date.parse(`${ymd}T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:00-05:00`);

let t: AccountTestServer;
let u: TestUser;
let token: string;

beforeEach(async () => {
  t = await startAccountServer({ clock: testClock(ny('2026-11-02', 9, 30)) });
  u = await makeUser(t, 'wanda', ['scc', 'ibkey', 'dscplus']);
  token = await signIn(t, 'wanda', u.devices.dscplus!);
});
afterEach(async () => {
  await t.close();
});

async function challenge(device: ProvisionedDevice, amountCents: number, tok = token): Promise<Answer<ConfirmationChallenge>> {
  return postJson<ConfirmationChallenge>(t.app, '/v1/withdrawals/challenge', { deviceId: device.device.id, amountCents }, bearer(tok));
}

/** Challenge, answer on the device, submit: the whole withdrawal. */
async function withdraw(device: ProvisionedDevice, amountCents: number, key: string = randomUUID(), tok = token): Promise<Answer<WithdrawalResponse>> {
  const c = await challenge(device, amountCents, tok);
  if (c.status !== 200) return c as unknown as Answer<WithdrawalResponse>;
  return postJson<WithdrawalResponse>(
    t.app,
    '/v1/withdrawals',
    { amountCents, idempotencyKey: key, confirmation: { id: c.body.confirmationId, response: answer(device, c.body.challenge) } },
    bearer(tok),
  );
}

async function count(): Promise<{ n: number; sum: number }> {
  const rows = await t.adb.selectFrom('withdrawals').select('amount_cents').where('user_id', '=', u.userId).execute();
  return { n: rows.length, sum: rows.reduce((s, r) => s + Number(r.amount_cents), 0) };
}

describe('the confirming device sets the limits (SPEC W1, W2, W3)', () => {
  it('W1: exactly the Security Code Card daily limit passes; one dollar more is refused and names IB Key', async () => {
    const first = await withdraw(u.devices.scc!, 200_000 * USD);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.withdrawal.confirmedWith.kind).toBe('scc');
    const over = await withdraw(u.devices.scc!, 1 * USD);
    expect(errorCode(over)).toBe('SLS_ERR_WITHDRAWAL_LIMIT');
    expect(over.status).toBe(403);
    const err = (over.body as unknown as { error: { message: string; limit: string; availableCents: number; useDevice: { kind: string } } }).error;
    expect(err.limit).toBe('per_day');
    expect(err.availableCents).toBe(0);
    expect(err.useDevice.kind).toBe('ibkey');
    expect(err.message).toMatch(/Use your IB Key/);
    expect(await count()).toEqual({ n: 1, sum: 200_000 * USD });
  });

  it('W2, W4: a refusal changes nothing: the same request retried gets the same refusal, its confirmation unused', async () => {
    // Both confirmed on the code card before either is submitted: the second meets the limit only when submitted.
    const cs = [ok(await challenge(u.devices.scc!, 150_000 * USD)), ok(await challenge(u.devices.scc!, 150_000 * USD))];
    const bodies = cs.map((c) => ({ amountCents: 150_000 * USD, idempotencyKey: randomUUID(), confirmation: { id: c.confirmationId, response: answer(u.devices.scc!, c.challenge) } }));
    expect((await postJson<WithdrawalResponse>(t.app, '/v1/withdrawals', bodies[0], bearer(token))).status).toBe(200);
    for (let attempt = 0; attempt < 2; attempt++) {
      const refused = await postJson<WithdrawalResponse>(t.app, '/v1/withdrawals', bodies[1], bearer(token));
      expect(errorCode(refused), JSON.stringify(refused.body)).toBe('SLS_ERR_WITHDRAWAL_LIMIT');
    }
    const second = await t.adb.selectFrom('confirmations').select(['state', 'used_at']).where('id', '=', cs[1]!.confirmationId).executeTakeFirstOrThrow();
    expect(second).toEqual({ state: 'challenge', used_at: null });
    expect(await count()).toEqual({ n: 1, sum: 150_000 * USD });
  });

  it('W3: 1,200,000 with IB Key is refused: "use your Digital Security Card+", which then confirms it', async () => {
    const refused = await withdraw(u.devices.ibkey!, 1_200_000 * USD);
    expect(errorCode(refused)).toBe('SLS_ERR_WITHDRAWAL_LIMIT');
    expect(JSON.stringify(refused.body)).toMatch(/Use your Digital Security Card\+/);
    const done = await withdraw(u.devices.dscplus!, 1_200_000 * USD);
    expect(done.status).toBe(200);
    expect(done.body.withdrawal.confirmedWith.kind).toBe('dscplus');
  });

  it('W2: withdrawals confirmed by any device count against the confirming device\'s windows', async () => {
    expect((await withdraw(u.devices.dscplus!, 900_000 * USD)).status).toBe(200);
    // IB Key: 1,000,000 a day; 900,000 already withdrawn today with the DSC+.
    expect((await withdraw(u.devices.ibkey!, 100_000 * USD)).status).toBe(200);
    expect(errorCode(await withdraw(u.devices.ibkey!, 1 * USD))).toBe('SLS_ERR_WITHDRAWAL_LIMIT');
  });

  it('W2: Friday to Monday: Monday of last week leaves the five-day window; Tuesday–Friday stay', async () => {
    for (const day of ['2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05', '2026-11-06']) {
      t.clock.set(ny(day, 11));
      const tok = await signIn(t, 'wanda', u.devices.scc!);
      const r = await withdraw(u.devices.scc!, 120_000 * USD, randomUUID(), tok);
      expect(r.status, `${day}: ${JSON.stringify(r.body)}`).toBe(200);
    }
    t.clock.set(ny('2026-11-06', 15)); // Friday afternoon: 600,000 in five days
    let tok = await signIn(t, 'wanda', u.devices.scc!);
    const friday = await withdraw(u.devices.scc!, 1 * USD, randomUUID(), tok);
    expect((friday.body as unknown as { error: { limit: string } }).error.limit).toBe('five_business_days');
    // Saturday: the window is Tuesday–Saturday (480,000): 120,000 left, as on Monday.
    t.clock.set(ny('2026-11-07', 12));
    tok = await signIn(t, 'wanda', u.devices.scc!);
    const over = await getJson<WithdrawalOverview>(t.app, '/v1/withdrawals', bearer(tok));
    expect(over.body.withdrawnFiveBusinessDaysCents).toBe(480_000 * USD);
    expect(over.body.devices.find((d) => d.kind === 'scc')?.availableNowCents).toBe(120_000 * USD);
    // Monday 00:00 New York: the cut-off minute.
    t.clock.set(ny('2026-11-09', 0, 0));
    tok = await signIn(t, 'wanda', u.devices.scc!);
    expect(errorCode(await withdraw(u.devices.scc!, 120_001 * USD, randomUUID(), tok))).toBe('SLS_ERR_WITHDRAWAL_LIMIT');
    expect((await withdraw(u.devices.scc!, 120_000 * USD, randomUUID(), tok)).status).toBe(200);
  });

  it('W1: the overview shows each device\'s limits and what is left (C1)', async () => {
    await withdraw(u.devices.scc!, 50_000 * USD);
    const o = ok(await getJson<WithdrawalOverview>(t.app, '/v1/withdrawals', bearer(token)));
    expect(o.withdrawnTodayCents).toBe(50_000 * USD);
    const byKind = Object.fromEntries(o.devices.map((d) => [d.kind, d]));
    expect(byKind.scc).toMatchObject({ perDayCents: 200_000 * USD, perFiveBusinessDaysCents: 600_000 * USD, availableNowCents: 150_000 * USD });
    expect(byKind.dscplus).toMatchObject({ perDayCents: null, availableNowCents: null });
    expect(o.recent).toHaveLength(1);
  });

  it('W1: a wrong response confirms nothing and counts (3 end the confirmation)', async () => {
    const c = ok(await challenge(u.devices.scc!, 10 * USD));
    const body = (response: string) => ({ amountCents: 10 * USD, idempotencyKey: randomUUID(), confirmation: { id: c.confirmationId, response } });
    const wrong = await postJson(t.app, '/v1/withdrawals', body('AAAAAA'), bearer(token));
    expect(errorCode(wrong)).toBe('SLS_ERR_WRONG_RESPONSE');
    expect((wrong.body as unknown as { error: { attemptsLeft: number } }).error.attemptsLeft).toBe(2);
    await postJson(t.app, '/v1/withdrawals', body('AAAAAA'), bearer(token));
    await postJson(t.app, '/v1/withdrawals', body('AAAAAA'), bearer(token));
    expect(errorCode(await postJson(t.app, '/v1/withdrawals', body(answer(u.devices.scc!, c.challenge)), bearer(token)))).toBe('SLS_ERR_TRANSACTION_ENDED');
    expect((await count()).n).toBe(0);
  });

  it('N2, L6: each wrong response to a withdrawal challenge is in the audit log, with the device and the attempts left, never the response', async () => {
    const c = ok(await challenge(u.devices.scc!, 10 * USD));
    for (let i = 0; i < 3; i++) {
      const wrong = await postJson(t.app, '/v1/withdrawals', { amountCents: 10 * USD, idempotencyKey: randomUUID(), confirmation: { id: c.confirmationId, response: 'ZZ9ZZ9' } }, bearer(token));
      expect(errorCode(wrong)).toBe('SLS_ERR_WRONG_RESPONSE');
    }
    const rows = await t.adb.selectFrom('audit_log').select(['user_id', 'device_id', 'details']).where('event', '=', 'withdrawal.response_failed').execute();
    expect(rows.map((r) => ({ userId: r.user_id, deviceId: r.device_id, details: JSON.parse(r.details) as unknown }))).toEqual(
      [2, 1, 0].map((attemptsLeft) => ({
        userId: u.userId,
        deviceId: u.devices.scc!.device.id,
        details: { kind: 'scc', amountCents: 10 * USD, attemptsLeft, confirmationId: c.confirmationId },
      })),
    );
    expect(rows.some((r) => r.details.includes('ZZ9ZZ9'))).toBe(false);
  });

  it('W1: a confirmation is bound to its amount', async () => {
    const c = ok(await challenge(u.devices.scc!, 10 * USD));
    const r = await postJson(t.app, '/v1/withdrawals', { amountCents: 150_000 * USD, idempotencyKey: randomUUID(), confirmation: { id: c.confirmationId, response: answer(u.devices.scc!, c.challenge) } }, bearer(token));
    expect(errorCode(r)).toBe('SLS_ERR_VALIDATION');
    expect((await count()).n).toBe(0);
  });

  it('refuses bad amounts with a validation error and changes nothing', async () => {
    for (const amountCents of [0, -5, 1.5, '100']) {
      const r = await postJson(t.app, '/v1/withdrawals/challenge', { deviceId: u.devices.scc!.device.id, amountCents }, bearer(token));
      expect(errorCode(r)).toBe('SLS_ERR_VALIDATION');
    }
  });

  it('C6: needs a session; a device of another user cannot confirm', async () => {
    expect(errorCode(await postJson(t.app, '/v1/withdrawals/challenge', { deviceId: u.devices.scc!.device.id, amountCents: 100 }))).toBe('SLS_ERR_UNAUTHENTICATED');
    const other = await makeUser(t, 'oscar', ['dscplus']);
    expect(errorCode(await challenge(other.devices.dscplus!, 100))).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
  });

  it('L4: asking for challenges again and again sends an SMS code no sooner than the cool-down', async () => {
    const sonia = await makeUser(t, 'sonia', ['sms', 'dscplus']);
    const tok = await signIn(t, 'sonia', sonia.devices.dscplus!);
    const sent = async () => (await t.adb.selectFrom('sms_outbox').select('body').where('user_id', '=', sonia.userId).orderBy('id', 'desc').execute()).length;
    expect(ok(await challenge(sonia.devices.sms!, 10 * USD, tok)).challenge.type).toBe('sms_code');
    for (let i = 0; i < 3; i++) {
      const again = await challenge(sonia.devices.sms!, 10 * USD, tok);
      expect(errorCode(again)).toBe('SLS_ERR_RESEND_TOO_SOON');
      expect(again.body).toMatchObject({ error: { retryAt: new Date(t.clock.now() + 30_000).toISOString() } });
    }
    expect(await sent()).toBe(1);
    t.clock.advance(30_000);
    expect(ok(await challenge(sonia.devices.sms!, 10 * USD, tok)).challenge.type).toBe('sms_code');
    expect(await sent()).toBe(2);
  });

  it('N2: confirmed and refused withdrawals are in the audit log, without secrets', async () => {
    await withdraw(u.devices.scc!, 200_000 * USD);
    await withdraw(u.devices.scc!, 1 * USD);
    const rows = await t.adb.selectFrom('audit_log').select(['event', 'details']).where('event', 'like', 'withdrawal.%').execute();
    expect(rows.map((r) => r.event).sort()).toEqual(['withdrawal.confirmed', 'withdrawal.refused']);
  });
});

describe('exactly once (SPEC W4)', () => {
  it('W4: the same key returns the same result and pays once', async () => {
    const key = randomUUID();
    const c = ok(await challenge(u.devices.scc!, 1_000 * USD));
    const body = { amountCents: 1_000 * USD, idempotencyKey: key, confirmation: { id: c.confirmationId, response: answer(u.devices.scc!, c.challenge) } };
    const a = ok(await postJson<WithdrawalResponse>(t.app, '/v1/withdrawals', body, bearer(token)));
    const b = ok(await postJson<WithdrawalResponse>(t.app, '/v1/withdrawals', body, bearer(token)));
    expect(a.replayed).toBe(false);
    expect(b.replayed).toBe(true);
    expect(b.withdrawal).toEqual(a.withdrawal);
    expect(await count()).toEqual({ n: 1, sum: 1_000 * USD });
  });

  it('W4: a refusal is not stored under its key: the same key is then confirmed with the DSC+', async () => {
    const key = randomUUID();
    expect(errorCode(await withdraw(u.devices.scc!, 250_000 * USD, key))).toBe('SLS_ERR_WITHDRAWAL_LIMIT');
    const done = await withdraw(u.devices.dscplus!, 250_000 * USD, key);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ replayed: false, withdrawal: { idempotencyKey: key, confirmedWith: { kind: 'dscplus' } } });
    expect(await count()).toEqual({ n: 1, sum: 250_000 * USD });
  });

  it('W4: the same key with another body is a conflict', async () => {
    const key = randomUUID();
    expect((await withdraw(u.devices.scc!, 1_000 * USD, key)).status).toBe(200);
    const r = await withdraw(u.devices.scc!, 2_000 * USD, key);
    expect(errorCode(r)).toBe('SLS_ERR_IDEMPOTENCY_CONFLICT');
    expect(r.status).toBe(409);
    expect(await count()).toEqual({ n: 1, sum: 1_000 * USD });
  });
});

describe('on record with the money (SPEC N2, W4)', () => {
  it('N2, W4: a withdrawal whose audit entry cannot be written pays nothing; the same request retried then pays once, on record once', async () => {
    // The audit log refuses this one entry (a full disk, a failing write), as the database would.
    const allow = await refuseAuditEvent(t.adb, 'withdrawal.confirmed');
    const c = ok(await challenge(u.devices.dscplus!, 5_000 * USD));
    const body = { amountCents: 5_000 * USD, idempotencyKey: randomUUID(), confirmation: { id: c.confirmationId, response: answer(u.devices.dscplus!, c.challenge) } };
    expect((await postJson<WithdrawalResponse>(t.app, '/v1/withdrawals', body, bearer(token))).status).toBe(500);
    expect(await count()).toEqual({ n: 0, sum: 0 });
    // Nothing was used up: the confirmation still answers this request.
    expect(await t.adb.selectFrom('confirmations').select('used_at').where('id', '=', c.confirmationId).executeTakeFirstOrThrow()).toEqual({ used_at: null });

    await allow();
    const paid = ok(await postJson<WithdrawalResponse>(t.app, '/v1/withdrawals', body, bearer(token)));
    expect(await count()).toEqual({ n: 1, sum: 5_000 * USD });
    const onRecord = await t.adb.selectFrom('audit_log').select('details').where('event', '=', 'withdrawal.confirmed').execute();
    expect(onRecord.map((r) => JSON.parse(r.details).withdrawalId)).toEqual([paid.withdrawal.id]);
  });
});

describe('exactly once under real concurrency (SPEC W4)', () => {
  let live: AccountTestServer;
  let lu: TestUser;
  let ltoken: string;
  beforeEach(async () => {
    live = await startAccountServer({ listen: true, clock: testClock(ny('2026-11-02', 9, 30)) });
    lu = await makeUser(live, 'lena', ['scc', 'dscplus']);
    ltoken = await signIn(live, 'lena', lu.devices.dscplus!);
  });
  afterEach(async () => {
    await live.close();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${live.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(ltoken) }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

  async function prepared(device: ProvisionedDevice, amountCents: number, key = randomUUID()) {
    const c = (await post('/v1/withdrawals/challenge', { deviceId: device.device.id, amountCents })).body as unknown as ConfirmationChallenge;
    return { amountCents, idempotencyKey: key, confirmation: { id: c.confirmationId, response: answer(device, c.challenge) } };
  }

  it('W4: 12 parallel submissions of the same withdrawal pay once, all answer the same withdrawal', async () => {
    const body = await prepared(lu.devices.scc!, 5_000 * USD);
    const answers = await Promise.all(Array.from({ length: 12 }, () => post('/v1/withdrawals', body)));
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
    const ids = new Set(answers.map((a) => (a.body as unknown as WithdrawalResponse).withdrawal.id));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => !(a.body as unknown as WithdrawalResponse).replayed)).toHaveLength(1);
    const rows = await live.adb.selectFrom('withdrawals').selectAll().where('user_id', '=', lu.userId).execute();
    expect(rows).toHaveLength(1);
  });

  it('W4: 6 parallel different withdrawals of 60,000 with the code card never pass its 200,000 daily limit together', async () => {
    const bodies = [];
    for (let i = 0; i < 6; i++) bodies.push(await prepared(lu.devices.scc!, 60_000 * USD));
    const answers = await Promise.all(bodies.map((b) => post('/v1/withdrawals', b)));
    const passed = answers.filter((a) => a.status === 200);
    expect(passed).toHaveLength(3);
    expect(answers.filter((a) => (a.body.error as { code?: string } | undefined)?.code === 'SLS_ERR_WITHDRAWAL_LIMIT')).toHaveLength(3);
    const rows = await live.adb.selectFrom('withdrawals').select('amount_cents').where('user_id', '=', lu.userId).execute();
    expect(rows.reduce((s, r) => s + Number(r.amount_cents), 0)).toBe(180_000 * USD);
  });
});

describe('exactly once across processes on one database (SPEC W4, N1)', () => {
  it('W4: two slsd processes racing 8 withdrawals of 60,000 never pass the 200,000 daily limit together', async () => {
    const { spawn } = await import('node:child_process');
    const path = await import('node:path');
    const live = await startAccountServer({ clock: null });
    try {
      const lu = await makeUser(live, 'paula', ['scc', 'dscplus']);
      const tok = await signIn(live, 'paula', lu.devices.dscplus!);
      const bodies = [];
      for (let i = 0; i < 8; i++) {
        const c = ok(await postJson<ConfirmationChallenge>(live.app, '/v1/withdrawals/challenge', { deviceId: lu.devices.scc!.device.id, amountCents: 60_000 * USD }, bearer(tok)));
        bodies.push({ amountCents: 60_000 * USD, idempotencyKey: randomUUID(), confirmation: { id: c.confirmationId, response: answer(lu.devices.scc!, c.challenge) } });
      }
      const goAt = Date.now() + 2500;
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'withdraw-worker.ts')], {
        env: {
          ...process.env,
          SLS_WORKER_DATA_DIR: live.dataDir,
          SLS_WORKER_DATABASE_URL: live.config.databaseUrl,
          SLS_WORKER_SERVER_KEY: live.config.serverKey!,
          SLS_WORKER_TOKEN: tok,
          SLS_WORKER_BODIES: JSON.stringify(bodies.slice(4)),
          SLS_WORKER_GO_AT: String(goAt),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      await new Promise((r) => setTimeout(r, Math.max(0, goAt - Date.now())));
      const mine = await Promise.all(
        bodies.slice(0, 4).map((b) => postJson(live.app, '/v1/withdrawals', b, bearer(tok)).then((a) => (a.status === 200 ? 'ok' : errorCode(a)))),
      );
      expect(await exited, err).toBe(0);
      const theirs = JSON.parse(out) as string[];
      const all = [...mine, ...theirs];
      expect(all.filter((o) => o === 'ok')).toHaveLength(3);
      expect(all.filter((o) => o === 'SLS_ERR_WITHDRAWAL_LIMIT')).toHaveLength(5);
      const rows = await live.adb.selectFrom('withdrawals').select('amount_cents').where('user_id', '=', lu.userId).execute();
      expect(rows.reduce((s, r) => s + Number(r.amount_cents), 0)).toBe(180_000 * USD);
    } finally {
      await live.close();
    }
  });
});
