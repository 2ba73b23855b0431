// SPEC O1, N1: an opt-in that commits while an opted-out user's password step is on its way opens no
// session without a second factor. login.ts reads the opt-out with the user, hashes the password, then
// opens the session in a transaction that reads the opt-out again, its row locked on PostgreSQL, where
// the opt-in (optout.ts, a DELETE of that row) may come from another slsd at any moment. On SQLite one
// connection runs one transaction at a time, so nothing can land between the read and the session.
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import { login } from '../testing/http.ts';
import { accountServerForEachTest, makeUser, PASSWORD } from './testing.ts';
import type { AccountTestServer } from './testing.ts';

const probe = await probePostgres();
const NOON = Date.parse('2026-11-04T12:00:00Z');

describeEachBackend(
  'an opt-in racing an opted-out login (O1, N1)',
  probe,
  (backend) => {
    let t: AccountTestServer;
    accountServerForEachTest(backend, NOON, (s) => (t = s));

    it('O1: the opt-in committed while the login waited on the opt-out row: a second factor is asked, no session opened', async () => {
      const jane = await makeUser(t, 'jane', ['dscplus']);
      await t.adb.insertInto('sls_opt_outs').values({ user_id: jane.userId, opted_out_at: t.clock.now(), opted_out_by: 'jane' }).execute();

      // The opt-in, holding the row it deletes until `commit` (another slsd's, in the middle of its transaction).
      let commit!: () => void;
      const released = new Promise<void>((r) => (commit = r));
      let deleted!: () => void;
      const holding = new Promise<void>((r) => (deleted = r));
      const optIn = t.adb.transaction().execute(async (trx) => {
        await trx.deleteFrom('sls_opt_outs').where('user_id', '=', jane.userId).execute();
        deleted();
        await released;
      });
      await holding;

      // The login read the opt-out as committed (still opted out) and now waits on its row.
      const step = login(t.app, 'jane', PASSWORD);
      for (let i = 0; i < 500; i++) {
        const waiting = await sql<{ n: string }>`select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(t.services.db);
        if (Number(waiting.rows[0]!.n) > 0) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      commit();
      await optIn;

      const answer = await step;
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.status).toBe('challenge');
      expect(await t.adb.selectFrom('sessions').select('id').where('user_id', '=', jane.userId).execute()).toEqual([]);
      expect(await t.adb.selectFrom('audit_log').select('event').where('user_id', '=', jane.userId).where('event', '=', 'login.succeeded').execute()).toEqual([]);
    });
  },
  'postgres',
);
