// Housekeeping (SPEC N1 bounded storage, N2 audit log untouched, L6 counters): on SQLite and PostgreSQL.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoginStep } from '../../core/api.ts';
import { runSlsctl } from '../cli/slsctl.ts';
import { startOn } from '../conformance/backends.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import { actAsDevice, errorCode, getJson, login, postJson } from '../testing/http.ts';
import { startTestServer } from '../testing/test-server.ts';
import type { TestServer } from '../testing/test-server.ts';
import { accountDb } from '../account/schema.ts';
import { SMS_BUDGET_WINDOW_MS, smsPolicy } from '../sms/policy.ts';
import type { SmsBudgetTables } from '../sms/policy.ts';
import { sweepExpired, totalDeleted } from './housekeeping.ts';

const PASSWORD = 'Correct-Horse-1';
const MIN = 60_000;
const HOUR = 60 * MIN;
const GRACE = 24 * HOUR;
const probe = await probePostgres();

async function count(t: TestServer, table: 'login_transactions' | 'sessions' | 'failure_counters' | 'audit_log' | 'ibkey_nonces'): Promise<number> {
  const r = await t.services.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

describeEachBackend('housekeeping', probe, (backend) => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startOn(backend);
  });
  afterEach(async () => {
    await t.close();
  });

  const sweep = () => sweepExpired(t.services.db, t.clock.now(), { graceMs: GRACE, addressFailureWindowMs: t.config.addressFailureWindowMs, batchSize: 2 });

  it('deletes mobile number verifications (P1), confirmations (W1) and auto-restart tokens (L8) once expired longer than the grace, only those', async () => {
    const entityId = await t.provisioning.createEntity({ name: 'hk2' });
    await t.provisioning.createUser({ username: 'u.hk2', entityId, password: PASSWORD });
    const user = await t.services.db.selectFrom('users').select('id').where('username_normalized', '=', 'u.hk2').executeTakeFirstOrThrow();
    const adb = accountDb(t.services.db);
    const now = t.clock.now();
    // Expired more than the grace ago, expired within the grace, still live.
    const expiries = { old: now - GRACE - MIN, recent: now - MIN, live: now + HOUR };
    for (const [name, expiresAt] of Object.entries(expiries)) {
      await adb
        .insertInto('mobile_verifications')
        .values({ id: `mv_${name}`, user_id: user.id, number: '+12125550100', code_hash: 'x', created_at: expiresAt - 10 * MIN, deliver_at: expiresAt - 10 * MIN, expires_at: expiresAt, resend_available_at: expiresAt, wrong_attempts: 0, verified_at: null, ended_at: null })
        .execute();
      await adb
        .insertInto('restart_tokens')
        .values({ id: `rt_${name}`, user_id: user.id, token_hash: `hash_${name}`, created_at: expiresAt - HOUR, expires_at: expiresAt, used_at: null, revoked_at: null })
        .execute();
      await adb
        .insertInto('confirmations')
        .values({
          id: `cf_${name}`,
          user_id: user.id,
          purpose: 'withdrawal',
          subject: '{}',
          device_id: 'dev_x',
          device_user_id: user.id,
          challenge: '123456',
          code_hash: null,
          challenge_expires_at: expiresAt,
          resend_available_at: null,
          wrong_responses: 0,
          state: name === 'old' ? 'used' : 'challenge',
          source_address: '127.0.0.1',
          created_at: expiresAt - 5 * MIN,
          expires_at: expiresAt,
          answered_at: null,
          used_at: name === 'old' ? expiresAt - MIN : null,
        })
        .execute();
    }
    const r = await sweep();
    expect(r.mobileVerifications).toBe(1);
    expect(r.restartTokens).toBe(1);
    expect(r.confirmations).toBe(1);
    expect((await adb.selectFrom('confirmations').select('id').orderBy('id').execute()).map((x) => x.id)).toEqual(['cf_live', 'cf_recent']);
    expect((await adb.selectFrom('mobile_verifications').select('id').orderBy('id').execute()).map((x) => x.id)).toEqual(['mv_live', 'mv_recent']);
    expect((await adb.selectFrom('restart_tokens').select('id').orderBy('id').execute()).map((x) => x.id)).toEqual(['rt_live', 'rt_recent']);
    expect(totalDeleted(await sweep())).toBe(0);
  });

  it('keeps a mobile number verification 24 hours after it was made whatever the grace: it counts toward the 10 codes a day (L4, P1)', async () => {
    const entityId = await t.provisioning.createEntity({ name: 'hk3' });
    await t.provisioning.createUser({ username: 'u.hk3', entityId, password: PASSWORD });
    const user = await t.services.db.selectFrom('users').select('id').where('username_normalized', '=', 'u.hk3').executeTakeFirstOrThrow();
    const adb = accountDb(t.services.db);
    const now = t.clock.now();
    // Both expired an hour ago (10 minutes after they were made); one was made 23 hours ago, one 25.
    for (const [name, createdAt] of Object.entries({ day: now - 23 * HOUR, older: now - 25 * HOUR })) {
      await adb
        .insertInto('mobile_verifications')
        .values({ id: `mv_${name}`, user_id: user.id, number: '+12125550100', code_hash: 'x', created_at: createdAt, deliver_at: createdAt, expires_at: Math.min(createdAt + 10 * MIN, now - HOUR), resend_available_at: createdAt, wrong_attempts: 0, verified_at: null, ended_at: null })
        .execute();
    }
    const r = await sweepExpired(t.services.db, now, { graceMs: MIN, addressFailureWindowMs: t.config.addressFailureWindowMs, batchSize: 2 });
    expect(r.mobileVerifications).toBe(1);
    expect((await adb.selectFrom('mobile_verifications').select('id').execute()).map((x) => x.id)).toEqual(['mv_day']);
  });

  async function signIn(username: string, device: Awaited<ReturnType<typeof t.provisioning.addDevice>>): Promise<{ token: string; txId: string }> {
    const step = (await login(t.app, username, PASSWORD)).body as LoginStep & { status: 'challenge' };
    const r = await postJson<{ session: { token: string } }>(t.app, `/v1/login/${step.transactionId}/response`, { response: actAsDevice(device, step) });
    expect(r.status).toBe(200);
    return { token: r.body.session.token, txId: step.transactionId };
  }

  it('deletes SMS outbox rows past their retention once settled, never one still waiting for carrier hours (P5, P2)', async () => {
    const adb = accountDb(t.services.db);
    const now = t.clock.now();
    const DAY = 24 * HOUR;
    const old = now - 31 * DAY;
    const row = (purpose: string, at: number, extra: { not_before?: number | null; sent_at?: number | null; dropped_reason?: string | null } = {}) => ({
      at,
      to_number: '+12125550100',
      body: `code for ${purpose}`,
      user_id: null,
      purpose,
      not_before: null,
      sent_at: null,
      dropped_reason: null,
      ...extra,
    });
    await adb
      .insertInto('sms_outbox')
      .values([
        row('old_outbox', old),
        row('old_sent_after_waiting', old, { not_before: old + HOUR, sent_at: old + HOUR }),
        row('old_dropped', old, { not_before: old + HOUR, dropped_reason: 'do_not_call' }),
        row('old_still_waiting', old, { not_before: now + HOUR }),
        row('recent_outbox', now - DAY),
      ])
      .execute();
    const withRetention = () => sweepExpired(t.services.db, now, { graceMs: GRACE, addressFailureWindowMs: t.config.addressFailureWindowMs, batchSize: 2, smsRetentionMs: 30 * DAY });
    // Without a retention nothing goes; with 30 days the three settled old rows go, in batches of 2.
    expect((await sweep()).smsOutbox).toBe(0);
    expect((await withRetention()).smsOutbox).toBe(3);
    expect((await adb.selectFrom('sms_outbox').select('purpose').orderBy('id').execute()).map((x) => x.purpose)).toEqual(['old_still_waiting', 'recent_outbox']);
    expect((await withRetention()).smsOutbox).toBe(0);
    await expect(sweepExpired(t.services.db, now, { graceMs: GRACE, addressFailureWindowMs: 1, smsRetentionMs: -1 })).rejects.toThrow(/SMS retention/);
  });

  it('deletes SMS budget rows (L4, migration 0012) whose hour is over more than the grace ago, in batches; a current budget stays and still refuses, a swept number starts afresh', async () => {
    const budget = t.services.db.withTables<SmsBudgetTables>();
    const now = t.clock.now();
    const HOUR_AGO = now - SMS_BUDGET_WINDOW_MS;
    const sent = (...times: number[]) => JSON.stringify(times);
    const rows = () => budget.selectFrom('sms_budget').select(['number', 'bucket', 'sent']).orderBy('number').orderBy('bucket').execute();
    // The table has no expiry column: a row's window is over once the newest time in `sent` is an hour old.
    const full = Array.from({ length: t.config.smsBudgetPerHour }, (_, i) => now - 50 * MIN + i * MIN);
    await budget
      .insertInto('sms_budget')
      .values([
        { number: '+12125550101', bucket: 'codes', sent: sent(HOUR_AGO - GRACE - 2 * HOUR, HOUR_AGO - GRACE - MIN), version: 4 }, // over, beyond the grace: goes
        { number: '+12125550102', bucket: 'codes', sent: sent(HOUR_AGO - GRACE - MIN), version: 1 }, // likewise
        { number: '+12125550103', bucket: 'verify_number', sent: sent(HOUR_AGO - GRACE - 3 * HOUR), version: 2 }, // likewise
        { number: '+12125550101', bucket: 'verify_number', sent: sent(HOUR_AGO - GRACE - HOUR, HOUR_AGO - MIN), version: 2 }, // over, within the grace: stays
        { number: '+12125550104', bucket: 'codes', sent: sent(...full), version: full.length }, // the budget of the last hour, spent: stays
      ])
      .execute();
    const r = await sweep();
    expect(r.smsBudgets).toBe(3);
    expect((await rows()).map((x) => `${x.number}:${x.bucket}`)).toEqual(['+12125550101:verify_number', '+12125550104:codes']);
    expect(totalDeleted(await sweep())).toBe(0);

    // The budget works as before the sweep: the spent one still refuses (SLS_ERR_SMS_LIMIT, with when),
    // a swept number gets a fresh row with this one SMS in it.
    const sms = smsPolicy(t.services.sms);
    const send = (to: string) => sms.send({ to, body: 'code 123456', userId: null, purpose: 'login_code' });
    await expect(send('+12125550104')).rejects.toMatchObject({ code: 'SLS_ERR_SMS_LIMIT', extra: { retryAt: new Date(full[0]! + SMS_BUDGET_WINDOW_MS).toISOString() } });
    await send('+12125550101');
    expect((await rows()).find((x) => x.number === '+12125550101' && x.bucket === 'codes')?.sent).toBe(sent(now));

    // A day and an hour on, the rows of this test left their hour and the grace: all go.
    t.clock.set(now + SMS_BUDGET_WINDOW_MS + GRACE + MIN);
    expect((await sweep()).smsBudgets).toBe(3);
    expect(await rows()).toEqual([]);
  });

  it('deletes only what expired more than the grace ago, in batches, and never the audit log (N1, N2, L6)', async () => {
    const entityId = await t.provisioning.createEntity({ name: 'hk' });
    await t.provisioning.createUser({ username: 'u.hk', entityId, password: PASSWORD });
    const device = await t.provisioning.addDevice({ username: 'u.hk', kind: 'dsc' });
    const t0 = t.clock.now();

    // Sessions: one kept open (expires at t0 + 12 h), one signed out at t0; three completed transactions.
    const open = await signIn('u.hk', device);
    const out = await signIn('u.hk', device);
    expect((await postJson(t.app, '/v1/logout', {}, { authorization: `Bearer ${out.token}` })).status).toBe(200);
    await signIn('u.hk', device);
    // A transaction left waiting for its second factor (expires at t0 + 5 min).
    const pending = (await login(t.app, 'u.hk', PASSWORD)).body as LoginStep & { status: 'challenge' };
    // A wrong password for a name nobody has: a user counter (24 h window) and an address counter (15 min).
    expect(errorCode(await login(t.app, 'u.ghost', 'Wrong-Password-1'))).toBe('SLS_ERR_INVALID_CREDENTIALS');
    // IB Key nonces (5 min).
    await getJson(t.app, '/v1/ibkey/nonce');
    expect(await count(t, 'login_transactions')).toBe(4);
    expect(await count(t, 'sessions')).toBe(3);
    expect(await count(t, 'failure_counters')).toBe(2);
    const audit = await count(t, 'audit_log');
    expect(audit).toBeGreaterThan(0);

    // Expired, but within the grace: nothing goes.
    t.clock.advance(GRACE);
    expect(totalDeleted(await sweep())).toBe(0);

    // Grace passed for the transactions (5 min TTL), the signed-out session and the address counter (15 min window).
    t.clock.set(t0 + GRACE + 16 * MIN);
    const fresh = (await login(t.app, 'u.hk', PASSWORD)).body as LoginStep & { status: 'challenge' };
    const r1 = await sweep();
    expect(r1.loginTransactions).toBe(4);
    expect(r1.sessions).toBe(1);
    expect(r1.failureCounters).toBe(1);
    expect(await count(t, 'ibkey_nonces')).toBe(0);
    expect(await t.services.db.selectFrom('failure_counters').select(['scope', 'subject']).execute()).toEqual([{ scope: 'user', subject: 'u.ghost' }]);
    // What is left still works; what is gone is refused with a coded error, as it was while expired.
    const r = await postJson(t.app, `/v1/login/${fresh.transactionId}/response`, { response: actAsDevice(device, fresh) });
    expect(r.status).toBe(200);
    expect(errorCode(await postJson(t.app, `/v1/login/${pending.transactionId}/response`, { response: actAsDevice(device, pending) }))).toBe('SLS_ERR_TRANSACTION_NOT_FOUND');
    expect(errorCode(await getJson(t.app, '/v1/session', { authorization: `Bearer ${out.token}` }))).toBe('SLS_ERR_UNAUTHENTICATED');
    expect(errorCode(await getJson(t.app, '/v1/session', { authorization: `Bearer ${open.token}` }))).toBe('SLS_ERR_SESSION_EXPIRED');

    // Two days on: the 12 h session and the user counter (24 h window) go too; the audit log only grew.
    t.clock.set(t0 + 2 * GRACE + MIN);
    const r2 = await sweep();
    expect(r2.sessions).toBe(2);
    expect(r2.failureCounters).toBe(1);
    expect(await count(t, 'failure_counters')).toBe(0);
    expect(await count(t, 'audit_log')).toBeGreaterThan(audit);
    expect(totalDeleted(await sweep())).toBe(0);
  });

  it('keeps a lock until the grace after it ends, and a counter with a failure still in its window (L6)', async () => {
    const t0 = t.clock.now();
    for (let i = 0; i < 10; i++) await login(t.app, 'u.locked', 'Wrong-Password-1');
    const lockedUntil = (await t.services.db.selectFrom('failure_counters').select('locked_until').where('scope', '=', 'user').executeTakeFirstOrThrow()).locked_until!;
    expect(lockedUntil).toBeGreaterThan(t0);
    // One more failure of the address a day later keeps the address counter.
    t.clock.set(t0 + GRACE);
    await login(t.app, 'u.other', 'Wrong-Password-1');
    t.clock.set(lockedUntil + GRACE - 1);
    await sweep();
    expect((await t.services.db.selectFrom('failure_counters').select('subject').orderBy('subject').execute()).map((x) => x.subject)).toEqual(['127.0.0.1', 'u.locked', 'u.other']);
    t.clock.set(lockedUntil + GRACE + 1);
    expect((await sweep()).failureCounters).toBe(1);
    expect(errorCode(await login(t.app, 'u.locked', 'Wrong-Password-1'))).toBe('SLS_ERR_INVALID_CREDENTIALS');
  });

  it('refuses a negative grace and changes nothing', async () => {
    await login(t.app, 'u.ghost', 'Wrong-Password-1');
    await expect(sweepExpired(t.services.db, t.clock.now() + 10 * GRACE, { graceMs: -1, addressFailureWindowMs: 1 })).rejects.toThrow(/grace/);
    expect(await count(t, 'failure_counters')).toBe(2);
  });
});

describe('housekeeping in slsd and slsctl', () => {
  it('slsd sweeps every housekeepingIntervalMs with its clock', async () => {
    const s = await startTestServer({ config: { housekeepingIntervalMs: 20 } });
    try {
      await login(s.app, 'u.ghost', 'Wrong-Password-1');
      expect(await count(s, 'failure_counters')).toBe(2);
      s.clock.advance(3 * GRACE);
      for (let i = 0; i < 100 && (await count(s, 'failure_counters')) > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await count(s, 'failure_counters')).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('`slsctl housekeeping` deletes what expired beyond --grace-ms and says how much; a bad value is refused', async () => {
    const s = await startTestServer({ clock: null });
    try {
      const run = async (...args: string[]) => {
        let out = '';
        let err = '';
        const code = await runSlsctl(['--data-dir', s.dataDir, '--database-url', s.config.databaseUrl, ...args], {
          out: (x) => void (out += x),
          err: (x) => void (err += x),
          readStdin: async () => '',
          promptHidden: async () => null,
          env: { SLS_SERVER_KEY: s.config.serverKey },
        });
        return { code, out, err };
      };
      await login(s.app, 'u.ghost', 'Wrong-Password-1');
      // Counters whose failures are 24.5 h old (slsctl runs on the real clock).
      const old = JSON.stringify([Date.now() - GRACE - 30 * MIN]);
      await s.services.db.updateTable('failure_counters').set({ failures: old }).execute();
      expect((await run('housekeeping', '--grace-ms', 'soon')).code).not.toBe(0);
      expect(await count(s, 'failure_counters')).toBe(2);
      const kept = await run('housekeeping');
      expect(kept.code).toBe(0);
      // Default grace 24 h: the address counter (15 min window) goes, the user one (24 h window) stays.
      expect(kept.out).toMatch(/failure counters 1\b/);
      expect(kept.out).toMatch(/SMS outbox older than 30 days 0\b/);
      // SPEC S3–S5, D6, D8: settled sharing requests and device orders, a year after their audited settlement.
      expect(kept.out).toMatch(/settled longer than 365 days: sharing requests 0, device orders 0\n$/);
      const all = await run('housekeeping', '--grace-ms', '0');
      expect(all.out).toMatch(/^deleted 1 expired row\(s\), grace 0 ms/);
      expect(await count(s, 'failure_counters')).toBe(0);
      expect(await count(s, 'audit_log')).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });
});
