/**
 * Tests of SPEC N2 ("a change and its audit entry, in one transaction"): the audit log refuses entries
 * of one event, as a full disk or a failing write would, on SQLite or PostgreSQL alike. The caller then
 * checks that the change the entry records did not happen either, and `allow()`s entries again.
 */
import { PostgresAdapter, sql } from 'kysely';
import type { Kysely } from 'kysely';

let serial = 0;

/** From now on `INSERT INTO audit_log` of `event` fails; the returned function undoes it. */
export async function refuseAuditEvent<DB>(db: Kysely<DB>, event: string): Promise<() => Promise<void>> {
  const k = db as unknown as Kysely<unknown>;
  const name = sql.raw(`refuse_audit_${++serial}`);
  if (k.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.event = ${sql.lit(event)} THEN RAISE EXCEPTION 'audit refused'; END IF; RETURN NEW; END $$`.execute(k);
    await sql`CREATE TRIGGER ${name} BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION ${name}()`.execute(k);
    return async () => {
      await sql`DROP TRIGGER ${name} ON audit_log`.execute(k);
      await sql`DROP FUNCTION ${name}()`.execute(k);
    };
  }
  await sql`CREATE TRIGGER ${name} BEFORE INSERT ON audit_log WHEN NEW.event = ${sql.lit(event)} BEGIN SELECT RAISE(ABORT, 'audit refused'); END`.execute(k);
  return async () => void (await sql`DROP TRIGGER ${name}`.execute(k));
}
