/**
 * When the database cannot serve: PostgreSQL down, restarting, refusing connections or unreachable;
 * SQLite locked past its busy timeout, its disk full or failing. A request that meets one gets
 * SLS_ERR_SERVICE_UNAVAILABLE (503, `retryAt`), not a 500 that reads like a bug: nothing it asked
 * was done (its transaction did not commit), and trying again shortly is the right thing to do.
 * Operators read the reason in the log (app.ts) and in `GET /v1/ready`.
 */

/** Thrown by the PostgreSQL pool when no connection can be had (connect.ts). */
export class DatabaseUnavailable extends Error {
  override readonly name = 'DatabaseUnavailable';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the database is unavailable: ${reason}`, options);
  }
}

/** Socket errors on the way to PostgreSQL. */
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN']);

/**
 * PostgreSQL SQLSTATEs: class 08 (connection exception), 57P01–57P03 (shut down by an administrator,
 * crashed, starting up), 53xxx (out of connections, disk, memory), 55P03 (a lock held by another
 * session past slsd's lock_timeout) and 57014 (a statement past its statement_timeout, or cancelled):
 * db/pg-config.ts sets both timeouts, so that a request waits seconds, not for ever, and is answered
 * 503 like SQLite held past its busy patience. And class 40 (transaction rollback): 40P01, a deadlock
 * PostgreSQL broke by rolling this transaction back, and 40001, a serialization failure: the other
 * transaction went through, this one changed nothing, and the same request sent again succeeds — a
 * 503 with Retry-After says exactly that, where a 500 said "bug" (issue 7).
 */
function postgresState(code: string): boolean {
  return (
    code.startsWith('08') ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    code.startsWith('53') ||
    code === '55P03' ||
    code === '57014' ||
    code === '40P01' ||
    code === '40001'
  );
}

/** better-sqlite3's codes (primary and extended): busy past busy_timeout, locked, disk full, I/O, cannot open, read-only file. */
function sqliteState(code: string): boolean {
  return /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|READONLY|NOMEM)(_|$)/.test(code);
}

/** pg's own messages for a connection it lost or never had (they carry no code). */
const PG_MESSAGES = [/^Connection terminated/, /timeout exceeded when trying to connect/, /Client has encountered a connection error/, /Cannot use a pool after calling end/];

/** Why `err` means the database is unavailable (for the log), or null when it is something else (a bug). */
export function databaseUnavailableReason(err: unknown): string | null {
  if (err instanceof DatabaseUnavailable) return err.reason;
  if (!(err instanceof Error)) return null;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK.has(code) || sqliteState(code)) return `${code}: ${err.message}`;
    if (/^[0-9A-Z]{5}$/.test(code) && postgresState(code)) return `PostgreSQL ${code}: ${err.message}`;
  }
  if (PG_MESSAGES.some((re) => re.test(err.message))) return err.message;
  // Errors Kysely or a pool wrapped (AggregateError from a failed connect to every address).
  if (err instanceof AggregateError) for (const e of err.errors) if (databaseUnavailableReason(e)) return databaseUnavailableReason(e);
  return err.cause === undefined || err.cause === err ? null : databaseUnavailableReason(err.cause);
}
