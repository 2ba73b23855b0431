// Storage conformance (SPEC N1, ARCHITECTURE "one conformance suite run on both"): every case runs on
// SQLite and on PostgreSQL. Without PostgreSQL its cases skip, saying why; with CI=true they fail.
import { sql } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openDatabase } from '../db/connect.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import { actAsDevice, errorCode, getJson, login, postJson } from '../testing/http.ts';
import type { TestServer } from '../testing/test-server.ts';
import { startOn } from './backends.ts';

const PASSWORD = 'Correct-Horse-1';
const probe = await probePostgres();

describeEachBackend('storage conformance', probe, (backend) => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startOn(backend);
  });
  afterEach(async () => {
    await t.close();
  });

  async function seed(username: string, kind: 'dsc' | 'scc' | 'dscplus' = 'dsc') {
    const entityId = await t.provisioning.createEntity({ name: username });
    await t.provisioning.createUser({ username, entityId, password: PASSWORD });
    return t.provisioning.addDevice({ username, kind });
  }

  it('reports its database kind in /v1/health', async () => {
    const h = await getJson<{ database: string }>(t.app, '/v1/health');
    expect(h.body.database).toBe(backend.name);
  });

  it('migrates once: opening the same database again applies nothing and keeps the rows', async () => {
    await seed('u.migrate');
    const again = await openDatabase(t.config.databaseUrl);
    try {
      const users = await again.db.selectFrom('users').select('username').execute();
      expect(users.map((u) => u.username)).toEqual(['u.migrate']);
      const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(again.db);
      expect(applied.rows.map((r) => r.name)).toContain('0001_initial');
      expect(new Set(applied.rows.map((r) => r.name)).size).toBe(applied.rows.length);
    } finally {
      await again.close();
    }
  });

  it('gives bigint times and cents back as exact numbers, beyond 2^31 and up to 2^53', async () => {
    const entityId = await t.provisioning.createEntity({ name: 'big' });
    const accountId = await t.provisioning.createAccount({ number: 'U0000001', entityId, balanceUsd: 0 });
    const cents = Number.MAX_SAFE_INTEGER - 1;
    await t.services.db.updateTable('accounts').set({ balance_cents: cents }).where('id', '=', accountId).execute();
    const row = await t.services.db.selectFrom('accounts').select(['balance_cents', 'created_at']).where('id', '=', accountId).executeTakeFirstOrThrow();
    expect(row.balance_cents).toBe(cents);
    expect(typeof row.created_at).toBe('number');
    expect(row.created_at).toBeGreaterThan(2 ** 31);
  });

  it('refuses a second user whose name differs only in case, at the database too', async () => {
    await seed('Case.User');
    const entityId = await t.provisioning.createEntity({ name: 'other' });
    await expect(t.provisioning.createUser({ username: 'case.user', entityId, password: PASSWORD })).rejects.toMatchObject({ code: 'SLS_ERR_CONFLICT' });
    const row = await t.services.db.selectFrom('users').selectAll().executeTakeFirstOrThrow();
    // Bypassing the service: the unique index still refuses (two slsd racing on one name).
    await expect(t.services.db.insertInto('users').values({ ...row, id: 'usr_dup' }).execute()).rejects.toThrow();
  });

  it('rolls a failed transaction back entirely', async () => {
    const entityId = await t.provisioning.createEntity({ name: 'rollback' });
    const before = await t.services.db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    await expect(
      t.services.db.transaction().execute(async (trx) => {
        await trx.insertInto('accounts').values({ id: 'acc_rb', number: 'U-RB', entity_id: entityId, primary_user_id: null, balance_cents: 1, created_at: 1 }).execute();
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const after = await t.services.db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it('signs in with a second factor, reports the session, and logout ends it (L5)', async () => {
    const dsc = await seed('u.flow');
    const step = await login(t.app, 'u.flow', PASSWORD);
    if (step.body.status !== 'challenge') throw new Error(`expected challenge, got ${JSON.stringify(step.body)}`);
    const done = await postJson(t.app, `/v1/login/${step.body.transactionId}/response`, { response: actAsDevice(dsc, step.body) });
    if (done.body.status !== 'signed_in') throw new Error('expected signed_in');
    const auth = { authorization: `Bearer ${done.body.session.token}` };
    expect((await getJson(t.app, '/v1/session', auth)).status).toBe(200);
    expect((await postJson(t.app, '/v1/logout', {}, auth)).status).toBe(200);
    expect((await getJson(t.app, '/v1/session', auth)).status).toBe(401);
  });

  it('takes one right response once, whatever the concurrency (one-time use is a row, SPEC N1 D2)', async () => {
    const dsc = await seed('u.once');
    const step = await login(t.app, 'u.once', PASSWORD);
    if (step.body.status !== 'challenge') throw new Error('expected challenge');
    const response = actAsDevice(dsc, step.body);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => postJson(t.app, `/v1/login/${(step.body as { transactionId: string }).transactionId}/response`, { response })),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const a of answers.filter((x) => x.status !== 200)) expect(errorCode(a)).toBe('SLS_ERR_CHALLENGE_USED');
    const sessions = await t.services.db.selectFrom('sessions').selectAll().execute();
    expect(sessions).toHaveLength(1);
    // The winner's writes, all of them once (on PostgreSQL one statement, login.ts completeLoginInOneStatement;
    // on SQLite one transaction): the session of this login on its device, the device's and the user's
    // last use, one audit entry; the losers wrote nothing.
    const transactionId = (step.body as { transactionId: string }).transactionId;
    const user = await t.services.db.selectFrom('users').selectAll().where('username_normalized', '=', 'u.once').executeTakeFirstOrThrow();
    const device = await t.services.db.selectFrom('devices').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(sessions[0]).toMatchObject({ user_id: user.id, login_transaction_id: transactionId, device_id: device.id, client_kind: 'trading_platform', access: 'full', revoked_at: null });
    expect(Number(sessions[0]!.without_second_factor)).toBe(0);
    expect(sessions[0]!.expires_at).toBeGreaterThan(sessions[0]!.created_at);
    const completed = await t.services.db.selectFrom('login_transactions').selectAll().where('id', '=', transactionId).executeTakeFirstOrThrow();
    expect(completed).toMatchObject({ state: 'completed', challenge_used_at: sessions[0]!.created_at, ended_at: sessions[0]!.created_at });
    expect(device.last_used_at).toBe(sessions[0]!.created_at);
    expect(user.last_device_id).toBe(device.id);
    const succeeded = await t.services.db.selectFrom('audit_log').selectAll().where('event', '=', 'login.succeeded').execute();
    expect(succeeded).toHaveLength(1);
    expect(succeeded[0]).toMatchObject({ at: sessions[0]!.created_at, user_id: user.id, username: 'u.once', device_id: device.id });
    expect(JSON.parse(succeeded[0]!.details)).toEqual({ kind: device.kind, clientKind: 'trading_platform', access: 'full', transactionId });
  });

  it('counts every one of 10 concurrent wrong passwords and locks exactly once (L6, counters are rows)', async () => {
    await seed('u.burst');
    const answers = await Promise.all(Array.from({ length: 10 }, () => login(t.app, 'u.burst', 'wrong password 1')));
    for (const a of answers) expect(['SLS_ERR_INVALID_CREDENTIALS', 'SLS_ERR_USER_LOCKED']).toContain(errorCode(a));
    expect(errorCode(await login(t.app, 'u.burst', PASSWORD))).toBe('SLS_ERR_USER_LOCKED');
    const locked = await t.services.db.selectFrom('audit_log').select('id').where('event', '=', 'user.locked').execute();
    expect(locked).toHaveLength(1);
    const failed = await t.services.db.selectFrom('audit_log').select('id').where('event', '=', 'login.password_failed').execute();
    expect(failed).toHaveLength(10);
  });

  it('ends a login at the third wrong response even when they arrive together, and opens no session (L6)', async () => {
    await seed('u.three');
    const step = await login(t.app, 'u.three', PASSWORD);
    if (step.body.status !== 'challenge') throw new Error('expected challenge');
    const url = `/v1/login/${step.body.transactionId}/response`;
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => postJson(t.app, url, { response: String(10_000_000 + i) })));
    for (const a of answers) expect(a.status).toBeGreaterThanOrEqual(400);
    const tx = await t.services.db.selectFrom('login_transactions').select(['wrong_responses', 'state']).executeTakeFirstOrThrow();
    expect(tx.state).toBe('ended');
    expect(tx.wrong_responses).toBe(3);
    expect(errorCode(await postJson(t.app, url, { response: '12345678' }))).toBe('SLS_ERR_TRANSACTION_ENDED');
    expect(await t.services.db.selectFrom('sessions').select('id').execute()).toHaveLength(0);
  });

  // Found by this suite on PostgreSQL: concurrent responses all passed the "live transaction" read, so
  // a 4th and 5th were still judged (SLS_ERR_WRONG_RESPONSE) and a right one among them answered
  // SLS_ERR_CHALLENGE_USED: more than 3 guesses per login, with an oracle (the SCC's cells never change).
  // Fixed in server/services/login.ts: the count is a conditional UPDATE (wrong_responses < 3, still open)
  // that ends the login at the third, and success is conditional on the login still being open.
  it('judges at most 3 responses of one login however they arrive (L6)', async () => {
    await seed('u.three.strict');
    const step = await login(t.app, 'u.three.strict', PASSWORD);
    if (step.body.status !== 'challenge') throw new Error('expected challenge');
    const url = `/v1/login/${step.body.transactionId}/response`;
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => postJson(t.app, url, { response: String(10_000_000 + i) })));
    expect(answers.filter((a) => errorCode(a) === 'SLS_ERR_WRONG_RESPONSE').length).toBeLessThanOrEqual(3);
    for (const a of answers.filter((x) => errorCode(x) !== 'SLS_ERR_WRONG_RESPONSE')) expect(errorCode(a)).toBe('SLS_ERR_TRANSACTION_ENDED');
    const failed = await t.services.db.selectFrom('audit_log').select('id').where('event', '=', 'login.response_failed').execute();
    expect(failed.length).toBeLessThanOrEqual(3);
  });

  it('answers a right response that arrives with wrong ones like a wrong one once the login ended: no oracle (L6, D3)', async () => {
    const dsc = await seed('u.three.oracle');
    for (let round = 0; round < 3; round++) {
      const step = await login(t.app, 'u.three.oracle', PASSWORD);
      if (step.body.status !== 'challenge') throw new Error('expected challenge');
      const url = `/v1/login/${step.body.transactionId}/response`;
      const right = actAsDevice(dsc, step.body);
      const guesses = Array.from({ length: 6 }, (_, i) => String(10_000_000 + i)).filter((g) => g !== right);
      const answers = await Promise.all([...guesses, right].map((response) => postJson(t.app, url, { response })));
      const rightAnswer = answers.at(-1)!;
      expect(answers.filter((a) => errorCode(a) === 'SLS_ERR_WRONG_RESPONSE').length).toBeLessThanOrEqual(3);
      const tx = await t.services.db.selectFrom('login_transactions').select(['state', 'wrong_responses']).where('id', '=', step.body.transactionId).executeTakeFirstOrThrow();
      expect(tx.wrong_responses).toBeLessThanOrEqual(3);
      if (rightAnswer.status === 200) {
        // The right one came before the third wrong one: it won, and later wrong ones find the challenge used.
        expect(tx.state).toBe('completed');
        for (const a of answers.slice(0, -1)) expect(['SLS_ERR_WRONG_RESPONSE', 'SLS_ERR_CHALLENGE_USED']).toContain(errorCode(a));
      } else {
        // The login ended at the third wrong one: the right one is told exactly what the unjudged wrong ones are.
        expect(tx.state).toBe('ended');
        expect(errorCode(rightAnswer)).toBe('SLS_ERR_TRANSACTION_ENDED');
        for (const a of answers.slice(0, -1)) expect(['SLS_ERR_WRONG_RESPONSE', 'SLS_ERR_TRANSACTION_ENDED']).toContain(errorCode(a));
      }
      // Each round's wrong responses counted towards the user's lock (L6); keep under it.
      await t.services.throttle.unlockUser('u.three.oracle');
    }
    expect((await t.services.db.selectFrom('sessions').select('id').execute()).length).toBeLessThanOrEqual(3);
  });

  it('treats a NUL in an id or a user name like any unknown value, never a 500 (PostgreSQL text holds no NUL)', async () => {
    expect(errorCode(await getJson(t.app, '/v1/login/ltx_%00x'))).toBe('SLS_ERR_TRANSACTION_NOT_FOUND');
    expect(errorCode(await login(t.app, 'nul\u0000user', 'bad password 1'))).toBe('SLS_ERR_INVALID_CREDENTIALS');
    const audit = await t.services.db.selectFrom('audit_log').select(['event', 'username']).where('event', '=', 'login.password_failed').execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]!.username).toMatch(/^nul.user$/);
  });

  it.skipIf(backend.name === 'sqlite')('keeps serving when PostgreSQL ends its connections (restart, failover, admin kill)', async () => {
    const dsc = await seed('u.survive');
    await getJson(t.app, '/v1/health');
    // Every connection of slsd to this database is ended by the server, as a PostgreSQL restart would.
    const pg = (await import('pg')).default;
    const admin = new pg.Client({ connectionString: t.config.databaseUrl });
    await admin.connect();
    const killed = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
    await admin.end();
    expect(killed.rowCount).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    // No uncaught exception (vitest would fail the run), and the next login works on new connections.
    const step = await login(t.app, 'u.survive', PASSWORD);
    if (step.body.status !== 'challenge') throw new Error(`expected challenge, got ${JSON.stringify(step.body)}`);
    expect((await postJson(t.app, `/v1/login/${step.body.transactionId}/response`, { response: actAsDevice(dsc, step.body) })).status).toBe(200);
  });

  it('keeps the audit log append-only at the database: UPDATE, DELETE (and TRUNCATE) refused (N2)', async () => {
    await login(t.app, 'nobody', 'bad password 1');
    const db = t.services.db;
    const before = await db.selectFrom('audit_log').selectAll().execute();
    expect(before.length).toBeGreaterThan(0);
    await expect(db.updateTable('audit_log').set({ event: 'forged' }).execute()).rejects.toThrow(/append-only/);
    await expect(db.deleteFrom('audit_log').execute()).rejects.toThrow(/append-only/);
    await expect(sql.raw(backend.name === 'postgres' ? 'TRUNCATE audit_log' : 'DELETE FROM audit_log WHERE 1').execute(db)).rejects.toThrow(/append-only/);
    expect(await db.selectFrom('audit_log').selectAll().execute()).toEqual(before);
  });
});

