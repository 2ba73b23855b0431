// SPEC N2 on SQLite and PostgreSQL: a login's changes commit with their audit entries or not at all.
// Each test makes the audit log refuse one event (a database trigger: a full disk, a failing write),
// checks that the change it records did not happen either, then lifts the refusal and checks that the
// retried action works and is on record exactly once.
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { LoginStep } from '../core/api.ts';
import { answer, bearer, makeUser, ok, PASSWORD, signIn, startAccountServer, TRADING } from './account/testing.ts';
import type { AccountTestServer } from './account/testing.ts';
import type { SlsConfig } from './config.ts';
import { describeEachBackend, probePostgres, tempDataDir } from './db/pg-testing.ts';
import type { FreshDatabase, StorageBackend } from './db/pg-testing.ts';
import { errorCode, postJson } from './testing/http.ts';
import { refuseAuditEvent } from './testing/refuse-audit.ts';
import { testClock } from './testing/test-server.ts';

const probe = await probePostgres();

/** Monday 2 November 2026, 10:00 in New York. */
const MONDAY = Date.parse('2026-11-02T15:00:00Z');
/** SPEC L6: the address limit in these tests, so a block is reached in a few requests. */
const ADDRESS_LIMIT = 3;

interface Grant {
  readonly restartToken: string;
  readonly validUntil: string;
}

describeEachBackend('a login\'s changes are audited in their own transaction, or do not happen (SPEC N2, L1–L8)', probe, (backend: StorageBackend) => {
  let t: AccountTestServer;
  let fresh: FreshDatabase;
  let data: ReturnType<typeof tempDataDir>;

  async function start(config: Partial<SlsConfig> = {}): Promise<void> {
    fresh = await backend.freshDatabase(data.dir);
    t = await startAccountServer({ clock: testClock(MONDAY), dataDir: data.dir, config: { databaseUrl: fresh.url, ...config } });
  }
  beforeEach(() => {
    data = tempDataDir();
  });
  afterEach(async () => {
    await t.close();
    await fresh.drop();
    data.remove();
  });

  /** The audit log refuses every `event` entry from now on, as a failing write would. */
  let allow: (() => Promise<void>) | null = null;
  async function refuseAudit(event: string): Promise<void> {
    allow = await refuseAuditEvent(t.adb, event);
  }
  async function allowAudit(): Promise<void> {
    await allow?.();
    allow = null;
  }
  const onRecord = async (event: string) => (await t.adb.selectFrom('audit_log').select('details').where('event', '=', event).execute()).map((a) => JSON.parse(a.details) as Record<string, unknown>);
  const sessionsOf = async (userId: string) => (await t.adb.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()).length;
  const loginRow = (id: string) => t.adb.selectFrom('login_transactions').select(['state', 'device_id', 'challenge_seq', 'wrong_responses']).where('id', '=', id).executeTakeFirstOrThrow();
  const tradingLogin = (username: string, password = PASSWORD) => postJson<LoginStep>(t.app, '/v1/login', { username, password, client: TRADING });

  it('O1, N2: an opted-out user\'s session opens with its login.succeeded or not at all', async () => {
    await start();
    const u = await makeUser(t, 'olga', ['dscplus']);
    await t.adb.insertInto('sls_opt_outs').values({ user_id: u.userId, opted_out_at: MONDAY, opted_out_by: 'test' }).execute();
    await refuseAudit('login.succeeded');
    expect((await tradingLogin('olga')).status).toBe(500);
    expect(await sessionsOf(u.userId)).toBe(0);

    await allowAudit();
    expect(ok(await tradingLogin('olga')).status).toBe('signed_in');
    expect(await sessionsOf(u.userId)).toBe(1);
    expect(await onRecord('login.succeeded')).toEqual([{ clientKind: 'trading_platform', secondFactor: 'none: SLS opt-out' }]);
  });

  it('L5, N2: a switch to another device changes the login with its login.device_switched or not at all', async () => {
    await start();
    const u = await makeUser(t, 'sid', ['dscplus', 'ibkey']);
    const first = ok(await tradingLogin('sid'));
    if (first.status !== 'select_device') throw new Error(`expected the device drop-down, got ${first.status}`);
    const select = (deviceId: string) => postJson<LoginStep>(t.app, `/v1/login/${first.transactionId}/device`, { deviceId, mode: 'offline' });
    ok(await select(u.devices.dscplus!.device.id));
    const before = await loginRow(first.transactionId);
    expect(before).toMatchObject({ state: 'challenge', device_id: u.devices.dscplus!.device.id });

    await refuseAudit('login.device_switched');
    expect((await select(u.devices.ibkey!.device.id)).status).toBe(500);
    expect(await loginRow(first.transactionId)).toEqual(before);

    await allowAudit();
    const switched = ok(await select(u.devices.ibkey!.device.id));
    if (switched.status !== 'challenge') throw new Error(`expected a challenge, got ${switched.status}`);
    expect(await loginRow(first.transactionId)).toMatchObject({ device_id: u.devices.ibkey!.device.id, challenge_seq: before.challenge_seq + 1 });
    expect(await onRecord('login.device_switched')).toEqual([{ from: u.devices.dscplus!.device.id, transactionId: first.transactionId }]);
    // The new challenge answers.
    const done = ok(await postJson<LoginStep>(t.app, `/v1/login/${first.transactionId}/response`, { response: answer(u.devices.ibkey!, switched.challenge) }));
    expect(done.status).toBe('signed_in');
  });

  /** A trading login of a user with one DSC+, at its challenge, and a response that is wrong. */
  async function atChallenge(username: string) {
    const u = await makeUser(t, username, ['dscplus']);
    const step = ok(await tradingLogin(username));
    if (step.status !== 'challenge') throw new Error(`expected a challenge, got ${step.status}`);
    const right = answer(u.devices.dscplus!, step.challenge);
    const wrong = right.slice(0, -1) + String((Number(right.at(-1)) + 1) % 10);
    const respond = () => postJson<LoginStep>(t.app, `/v1/login/${step.transactionId}/response`, { response: wrong });
    return { u, transactionId: step.transactionId, respond };
  }

  it('L6, N2: a wrong response is counted with its login.response_failed or not at all', async () => {
    await start();
    const { transactionId, respond } = await atChallenge('wes');
    await refuseAudit('login.response_failed');
    expect((await respond()).status).toBe(500);
    expect(await loginRow(transactionId)).toMatchObject({ state: 'challenge', wrong_responses: 0 });

    await allowAudit();
    expect(errorCode(await respond())).toBe('SLS_ERR_WRONG_RESPONSE');
    expect(await loginRow(transactionId)).toMatchObject({ state: 'challenge', wrong_responses: 1 });
    expect(await onRecord('login.response_failed')).toEqual([{ kind: 'dscplus', attemptsLeft: 2, transactionId }]);
  });

  it('L6, N2: the third wrong response ends the login with its login.transaction_ended or not at all', async () => {
    await start();
    const { transactionId, respond } = await atChallenge('tom');
    expect(errorCode(await respond())).toBe('SLS_ERR_WRONG_RESPONSE');
    expect(errorCode(await respond())).toBe('SLS_ERR_WRONG_RESPONSE');
    await refuseAudit('login.transaction_ended');
    expect((await respond()).status).toBe(500);
    expect(await loginRow(transactionId)).toMatchObject({ state: 'challenge', wrong_responses: 2 });
    expect(await onRecord('login.response_failed')).toHaveLength(2);

    await allowAudit();
    expect(errorCode(await respond())).toBe('SLS_ERR_WRONG_RESPONSE');
    expect(await loginRow(transactionId)).toMatchObject({ state: 'ended', wrong_responses: 3 });
    expect(await onRecord('login.transaction_ended')).toEqual([{ transactionId }]);
    expect((await onRecord('login.response_failed')).map((d) => d.attemptsLeft)).toEqual([2, 1, 0]);
  });

  it('L8, N2: a restart token is issued with its restart.token_issued or not at all', async () => {
    await start();
    const u = await makeUser(t, 'rob', ['dscplus']);
    const session = await signIn(t, 'rob', u.devices.dscplus!, TRADING);
    const issue = () => postJson<Grant>(t.app, '/v1/login/restart-token', {}, bearer(session));
    await refuseAudit('restart.token_issued');
    expect((await issue()).status).toBe(500);
    expect(await t.adb.selectFrom('restart_tokens').select('id').execute()).toEqual([]);

    await allowAudit();
    const grant = ok(await issue());
    expect(await t.adb.selectFrom('restart_tokens').select('id').execute()).toHaveLength(1);
    expect(await onRecord('restart.token_issued')).toEqual([{ validUntil: grant.validUntil, replaced: 0 }]);
  });

  it('L8, N2: a restart opens its session, uses its token and hands on the next with its login.restarted, or does none of it', async () => {
    await start();
    const u = await makeUser(t, 'ray', ['dscplus']);
    const session = await signIn(t, 'ray', u.devices.dscplus!, TRADING);
    const grant = ok(await postJson<Grant>(t.app, '/v1/login/restart-token', {}, bearer(session)));
    const restart = () => postJson<Grant>(t.app, '/v1/login/restart', { username: 'ray', restartToken: grant.restartToken });
    const tokens = () => t.adb.selectFrom('restart_tokens').select(['used_at', 'revoked_at']).execute();
    await refuseAudit('login.restarted');
    expect((await restart()).status).toBe(500);
    expect(await sessionsOf(u.userId)).toBe(1);
    expect(await tokens()).toEqual([{ used_at: null, revoked_at: null }]);

    await allowAudit();
    const next = ok(await restart());
    expect(await sessionsOf(u.userId)).toBe(2);
    expect(await tokens()).toHaveLength(2);
    expect(await onRecord('login.restarted')).toEqual([{ validUntil: next.validUntil }]);
  });

  it('L8 × T1, N2: a refused restart revokes the user\'s tokens with its restart.failed or not at all', async () => {
    await start();
    const u = await makeUser(t, 'tina', []);
    const issued = await t.provisioning.issueTemporaryPasscode('tina', 'test');
    const session = await signIn(t, 'tina', { device: { id: issued.deviceId } } as never, TRADING, () => issued.passcode);
    const grant = ok(await postJson<Grant>(t.app, '/v1/login/restart-token', {}, bearer(session)));
    const restart = () => postJson(t.app, '/v1/login/restart', { username: 'tina', restartToken: grant.restartToken });
    const live = async () => (await t.adb.selectFrom('restart_tokens').select('id').where('user_id', '=', u.userId).where('revoked_at', 'is', null).where('used_at', 'is', null).execute()).length;
    // T1: the 2 days of full access are over; a restart is refused as a trading login would be.
    t.clock.set(issued.fullAccessUntil);
    await refuseAudit('restart.failed');
    expect((await restart()).status).toBe(500);
    expect(await live()).toBe(1);

    await allowAudit();
    expect(errorCode(await restart())).toBe('SLS_ERR_PORTAL_ONLY');
    expect(await live()).toBe(0);
    expect(await t.adb.selectFrom('audit_log').select(['user_id', 'details']).where('event', '=', 'restart.failed').execute()).toEqual([
      { user_id: u.userId, details: JSON.stringify({ reason: 'SLS_ERR_PORTAL_ONLY', revoked: 1 }) },
    ]);
  });

  it('L6, N2: the failure that locks a user locks it with its user.locked or not at all', async () => {
    await start();
    const u = await makeUser(t, 'lee', ['dscplus']);
    for (let i = 0; i < 9; i++) expect(errorCode(await tradingLogin('lee', 'wrong-password'))).toBe('SLS_ERR_INVALID_CREDENTIALS');
    const counter = async () => {
      const row = await t.adb.selectFrom('failure_counters').select(['failures', 'locked_until']).where('scope', '=', 'user').where('subject', '=', 'lee').executeTakeFirstOrThrow();
      return { failures: (JSON.parse(row.failures) as number[]).length, locked: row.locked_until !== null };
    };
    await refuseAudit('user.locked');
    expect((await tradingLogin('lee', 'wrong-password')).status).toBe(500);
    expect(await counter()).toEqual({ failures: 9, locked: false });

    await allowAudit();
    expect(errorCode(await tradingLogin('lee', 'wrong-password'))).toBe('SLS_ERR_USER_LOCKED');
    expect(await counter()).toEqual({ failures: 10, locked: true });
    const locks = await t.adb.selectFrom('audit_log').select('user_id').where('event', '=', 'user.locked').execute();
    expect(locks).toEqual([{ user_id: u.userId }]);
  });

  it('N2: a sign-out ends the session with its session.logout or not at all, and two at once write one', async () => {
    await start();
    const u = await makeUser(t, 'sol', ['dscplus']);
    const token = await signIn(t, 'sol', u.devices.dscplus!, TRADING);
    await refuseAudit('session.logout');
    expect((await postJson(t.app, '/v1/logout', {}, bearer(token))).status).toBe(500);
    const live = async () => (await t.adb.selectFrom('sessions').select('revoked_at').where('user_id', '=', u.userId).executeTakeFirstOrThrow()).revoked_at === null;
    expect(await live()).toBe(true);

    await allowAudit();
    const both = await Promise.all([postJson(t.app, '/v1/logout', {}, bearer(token)), postJson(t.app, '/v1/logout', {}, bearer(token))]);
    expect(both.some((r) => r.status === 200)).toBe(true);
    expect(await live()).toBe(false);
    expect(await onRecord('session.logout')).toHaveLength(1);
  });

  it('L6, N2: slsctl user unlock lifts a lock with its user.unlocked or not at all', async () => {
    await start();
    await makeUser(t, 'uma', ['dscplus']);
    for (let i = 0; i < 10; i++) await tradingLogin('uma', 'wrong-password');
    expect(errorCode(await tradingLogin('uma'))).toBe('SLS_ERR_USER_LOCKED');
    await refuseAudit('user.unlocked');
    await expect(t.provisioning.unlockUser('uma', 'agent')).rejects.toThrow(/audit refused/);
    expect(errorCode(await tradingLogin('uma'))).toBe('SLS_ERR_USER_LOCKED');

    await allowAudit();
    expect(await t.provisioning.unlockUser('uma', 'agent')).toEqual({ cleared: true, wasLocked: true });
    expect(ok(await tradingLogin('uma')).status).not.toBe('signed_in');
    expect(await onRecord('user.unlocked')).toEqual([expect.objectContaining({ by: 'agent', wasLocked: true })]);
    // Nothing left to clear: nothing written.
    expect(await t.provisioning.unlockUser('uma', 'agent')).toEqual({ cleared: false, wasLocked: false });
    expect(await onRecord('user.unlocked')).toHaveLength(1);
  });

  it('L6, N2: the failure that blocks an address blocks it with its address.rate_limited or not at all', async () => {
    await start({ addressFailureLimit: ADDRESS_LIMIT });
    const failures = async () => {
      const row = await t.adb.selectFrom('failure_counters').select('failures').where('scope', '=', 'address').executeTakeFirstOrThrow();
      return (JSON.parse(row.failures) as number[]).length;
    };
    // Unknown users, each failing once: no user lock, only the address counts up.
    for (let i = 0; i < ADDRESS_LIMIT - 1; i++) expect(errorCode(await tradingLogin(`nobody${i}`))).toBe('SLS_ERR_INVALID_CREDENTIALS');
    await refuseAudit('address.rate_limited');
    expect((await tradingLogin('nobody-a')).status).toBe(500);
    expect(await failures()).toBe(ADDRESS_LIMIT - 1);

    await allowAudit();
    expect(errorCode(await tradingLogin('nobody-a'))).toBe('SLS_ERR_INVALID_CREDENTIALS');
    expect(await failures()).toBe(ADDRESS_LIMIT);
    expect(errorCode(await tradingLogin('nobody-b'))).toBe('SLS_ERR_RATE_LIMITED');
    expect(await onRecord('address.rate_limited')).toHaveLength(1);
  });
});
