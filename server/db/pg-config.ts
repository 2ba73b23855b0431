/**
 * How slsd connects to PostgreSQL (SPEC N1): the settings every connection starts with, the same for
 * the pool, the migrations and the LISTEN connection of IB Key wake-ups, and what an operator's URL
 * may change. server/README.md "PostgreSQL in production" documents them for operators.
 */
import type { ClientConfig, PoolConfig } from 'pg';

/**
 * Connections one slsd process (each `--workers` worker) opens at most for requests unless
 * SLS_DATABASE_POOL_MAX says otherwise (config.ts); one more LISTENs (services/ibkey-notifier-pg.ts).
 * pg-pool opens them as requests need them and closes one idle for 10 s, so a quiet slsd holds one or two.
 */
export const PG_POOL_MAX = 10;

/** How long opening a connection may take before the request that needs it is answered 503 (pg's default: forever). */
export const PG_CONNECT_TIMEOUT_MS = 5000;

/**
 * How long a statement waits for a lock another session holds (an operator's `psql` inside a
 * transaction, a long `ALTER TABLE`) before it fails (55P03), answered 503 like SQLite's busy
 * patience (connect.ts SQLITE_BUSY_PATIENCE_MS): without it the request waited for ever.
 */
export const PG_LOCK_TIMEOUT_MS = 5000;

/**
 * How long one statement may run (57014 past it, answered 503). slsd's statements are index lookups
 * of milliseconds; one that runs for seconds is a database in trouble, and SLS Desktop gives up on
 * a request after 15 s. Migrations run without it (connect.ts).
 */
export const PG_STATEMENT_TIMEOUT_MS = 10_000;

/**
 * How long PostgreSQL keeps a session that sits inside a transaction with nothing to do: a slsd cut
 * off from the database (a network partition, a frozen host) would otherwise hold its row locks
 * until the server's TCP keepalive notices, two hours by default, and every other slsd's request
 * on those rows would time out. slsd's own transactions hold a connection only between statements.
 */
export const PG_IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;

/**
 * Beyond the statement timeout, how long slsd waits for any answer before it takes the server or the
 * network for gone and closes the connection (connect.ts): PostgreSQL's own cancel (57014) comes
 * first when it can; a server that cannot send it (host down, packets dropped) would otherwise
 * leave the request hanging until TCP gives up, a quarter of an hour on Linux.
 */
export const PG_ANSWER_GRACE_MS = 2000;

/** TCP keepalive on every connection, so a connection a firewall or NAT would drop when idle is kept, and a dead one noticed. */
const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

/** The URL's query parameters; empty for one that is not a URL (pg then refuses it with its own words). */
function queryOf(url: string): URLSearchParams {
  try {
    return new URL(url).searchParams;
  } catch {
    return new URLSearchParams();
  }
}

/**
 * The URL with `sslmode=prefer|require|verify-ca` read as `verify-full`: the certificate checked
 * against `sslrootcert` (or the system's CAs) and the server's name against it. That is what pg 8
 * does already, with a multi-line "SECURITY WARNING" on stderr that these modes will mean libpq's
 * weaker checks in pg 9; slsd keeps the strict meaning whatever pg's version, and says it in
 * server/README.md. `uselibpqcompat=true` in the URL asks pg for libpq's meanings: left as it is.
 */
export function withVerifiedSslMode(url: string): string {
  if (queryOf(url).get('uselibpqcompat') === 'true') return url;
  return url.replace(/([?&]sslmode=)(prefer|require|verify-ca)(?=[&#]|$)/, '$1verify-full');
}

/** `fallback_application_name`: what pg_stat_activity shows for slsd's connections, unless the URL or PGAPPNAME names another. */
function programName(): string {
  const bin = process.argv[1] ?? '';
  return /slsctl/.test(bin) ? 'slsctl' : 'slsd';
}

export type PgConnectionUse = 'requests' | 'migrations' | 'listener';

/**
 * The pg options for one use of `url`. The URL's own parameters win over these (pg reads them over
 * its config): `application_name`, `sslmode`, `sslrootcert`, `sslcert`, `sslkey`, and the timeouts
 * of pgSessionSetup.
 */
export function pgOptions(url: string, use: 'requests' | 'migrations', poolMax?: number): PoolConfig;
export function pgOptions(url: string, use: 'listener'): ClientConfig;
export function pgOptions(url: string, use: PgConnectionUse, poolMax = PG_POOL_MAX): PoolConfig {
  const common: ClientConfig = {
    connectionString: withVerifiedSslMode(url),
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
    fallback_application_name: programName(),
  };
  if (use === 'listener') return common;
  return { ...common, max: use === 'migrations' ? 1 : poolMax };
}

/**
 * What a new connection for requests runs first: its statement, lock and idle-in-transaction
 * timeouts, each unless the URL sets it (`?statement_timeout=…&lock_timeout=…&
 * idle_in_transaction_session_timeout=…`, ms, 0 off: pg sends those when it connects). A SET, not
 * startup parameters: PgBouncer refuses startup parameters it does not know, so an slsd behind one
 * would not start. Null when the URL sets all three.
 */
export function pgSessionSetup(url: string): string | null {
  const query = queryOf(url);
  const settings = Object.entries({
    statement_timeout: PG_STATEMENT_TIMEOUT_MS,
    lock_timeout: PG_LOCK_TIMEOUT_MS,
    idle_in_transaction_session_timeout: PG_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  }).filter(([name]) => !query.has(name));
  return settings.length === 0 ? null : settings.map(([name, ms]) => `SET ${name} = ${ms}`).join('; ');
}

/**
 * How long a request's statement waits for any answer before its connection is closed as dead: the
 * statement timeout in force (the URL's, else PG_STATEMENT_TIMEOUT_MS) plus PG_ANSWER_GRACE_MS; 0
 * (no limit) when the URL turned the statement timeout off.
 */
export function pgAnswerTimeoutMs(url: string): number {
  const given = queryOf(url).get('statement_timeout');
  const statementMs = given === null || given.trim() === '' ? PG_STATEMENT_TIMEOUT_MS : Number.parseInt(given, 10);
  if (!Number.isFinite(statementMs) || statementMs <= 0) return 0;
  return statementMs + PG_ANSWER_GRACE_MS;
}
