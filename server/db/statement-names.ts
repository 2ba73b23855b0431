/**
 * Server-side names for the statements slsd compiles once (prepared.ts), on PostgreSQL.
 *
 * Sent unnamed, PostgreSQL parses, analyses and plans every statement each time it runs: on the
 * login path that was PostgreSQL's CPU on the same cores as slsd's event loop (issue 7). Named, each
 * connection parses a statement once and keeps its plan (pg's `{ name, text }` query; pg-pool keeps
 * connections open), and the next runs only bind and execute. Only these statements are named: their
 * texts are a fixed set, so the statements a connection keeps cannot grow without bound, which any
 * SQL built per request (an `in` list of varying length) would make them do.
 *
 * Behind PgBouncer this needs session pooling, which server/README.md already asks for.
 */
const names = new Map<string, string>();

/** Gives `sql` a name (once); the PostgreSQL pool (connect.ts) then runs it as a named statement. */
export function nameStatement(sql: string): void {
  if (!names.has(sql)) names.set(sql, `sls_${names.size + 1}`);
}

/** The name of a statement `nameStatement` named, else undefined (run unnamed). */
export function statementName(sql: string): string | undefined {
  return names.get(sql);
}
