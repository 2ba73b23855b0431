/**
 * Every test run is also a check of slsd's query plans on SQLite (SPEC N1, issue 7): a lookup that
 * reads a whole table gets slower with every user, login and SMS, so each statement a test runs is
 * explained once (EXPLAIN QUERY PLAN), and a lookup (a statement with a WHERE) that scans a table
 * fails the test file, naming the table and the statement. Fix it with an index
 * (server/db/migrations.ts) or, for a query only tests make, an entry in TEST_ONLY below.
 *
 * Vitest loads this before every test file (vitest.config.ts setupFiles); it wraps better-sqlite3's
 * `prepare`, which Kysely's driver, db/prepared.ts and connect.ts's statement cache all go through.
 */
import Database from 'better-sqlite3';
import { afterAll, expect } from 'vitest';

/** Lookups only the tests make (reading what slsd wrote), never slsd: a scan there costs nothing in production. */
const TEST_ONLY: readonly RegExp[] = [
  /^select .* from "audit_log" where "event" = \?$/, // testkit: audit entries of an event
  /^select "body" from "sms_outbox" where "user_id" = \?( and "purpose" = \?)? order by "id" desc$/, // the SMS a test user got
  /^select "body" from "sms_outbox" where "purpose" = \? and "to_number" = \?$/,
  /^select \* from "users" where "username" = \?$/,
  /^select "id" from "mobile_verifications" where "number" = \?$/,
  /^select .* from "audit_log" where "event" like \?$/,
  /^DELETE FROM audit_log WHERE 1$/, // the append-only audit log refusing it (SPEC N2)
  /^select \* from "devices" where "kind" = \?$/,
  /^select .* from "entities" where .*"name" = \?/, // db/prepared.test.ts
  /^select count\(\*\) as "n" from "ibkey_push_requests" where "state" = \?$/,
];

/**
 * Sweeps that visit every row on purpose, a page at a time: failure counters keep their failures'
 * times in one column, so whether a counter is stale is decided per row (services/housekeeping.ts).
 */
const WHOLE_TABLE_SWEEPS: readonly RegExp[] = [/^select .* from "failure_counters" where \("locked_until" is null or "locked_until" < \?\)( and .*)? order by "scope", "subject" limit \?$/];

/** Tables a statement reads whole while it looks rows up (WHERE); [] when every lookup uses an index. */
export function fullScans(db: Database.Database, sql: string, explain: (sql: string) => Database.Statement = (s) => db.prepare(s)): string[] {
  const text = sql.replace(/\s+/g, ' ').trim();
  if (!/^(select|update|delete|with)\b/i.test(text) || !/\bwhere\b/i.test(text)) return [];
  if (TEST_ONLY.some((r) => r.test(text)) || WHOLE_TABLE_SWEEPS.some((r) => r.test(text))) return [];
  const tables = new Set((explain(`select name from sqlite_master where type = 'table'`).all() as { name: string }[]).map((r) => r.name));
  const params = (text.match(/\?/g) ?? []).length;
  const plan = explain(`EXPLAIN QUERY PLAN ${sql}`).all(...Array<null>(params).fill(null)) as { detail: string }[];
  const scanned: string[] = [];
  for (const { detail } of plan) {
    // "SCAN t", "SCAN t USING COVERING INDEX i" (a whole index is a whole table too); not "SCAN CONSTANT ROW",
    // nor a subquery's alias ("SCAN account"), nor "SEARCH t USING INDEX …".
    const m = /^SCAN (\S+)/.exec(detail);
    if (m && tables.has(m[1]!)) scanned.push(m[1]!);
  }
  return scanned;
}

const violations: string[] = [];
const explained = new Set<string>();
const proto = Database.prototype as unknown as { prepare(this: Database.Database, sql: string): Database.Statement };
const original = proto.prepare;
proto.prepare = function prepare(this: Database.Database, sql: string) {
  const stmt = original.call(this, sql);
  if (!explained.has(sql) && !sql.startsWith('EXPLAIN QUERY PLAN ')) {
    explained.add(sql);
    try {
      for (const table of fullScans(this, sql, (s) => original.call(this, s))) violations.push(`full scan of ${table}: ${sql.replace(/\s+/g, ' ')}`);
    } catch {
      // A statement SQLite cannot explain with NULLs for its values (rare): its own run still tells.
    }
  }
  return stmt;
};

afterAll(() => {
  expect(violations, 'lookups that read a whole table (add an index in server/db/migrations.ts; see server/testing/query-plans.ts)').toEqual([]);
});
