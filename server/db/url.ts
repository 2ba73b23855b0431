/**
 * What a database URL (SLS_DATABASE_URL, --database-url) names, SPEC N1: PostgreSQL for scale-out
 * (`postgres://…`, `postgresql://…`), else a SQLite file (`sqlite:<file>`, or the file's path as it
 * is). Anything else with a scheme (`postgress://…`, `mysql://…`) is refused: read as a path it ran
 * slsd on a new, empty SQLite database in folders named after the URL, its password among them.
 */
import { startRefused } from '../start-refused.ts';

export type DatabaseTarget = { readonly kind: 'postgres' } | { readonly kind: 'sqlite'; readonly file: string };

const POSTGRES = /^postgres(ql)?:\/\//;
/** A URL's scheme: two characters at least, so that a Windows drive (`C:\sls\sls.db`) is a path. */
const SCHEME = /^([a-z][a-z0-9+.-]+):/i;

/** The database `url` names; a start refusal (one plain line, its password masked) for a URL SLS cannot use. */
export function databaseTarget(url: string): DatabaseTarget {
  if (POSTGRES.test(url)) return { kind: 'postgres' };
  const scheme = SCHEME.exec(url)?.[1];
  if (scheme !== undefined && scheme !== 'sqlite') {
    throw startRefused(
      `the database URL ${shownDatabaseUrl(url)} has the scheme "${scheme}:", which SLS does not know: ` +
        'postgres://… or postgresql://… for PostgreSQL, sqlite:<file> or a file path for SQLite (SLS_DATABASE_URL / --database-url)',
    );
  }
  const file = scheme === 'sqlite' ? url.slice('sqlite:'.length) : url;
  if (file === '') throw startRefused('the database URL sqlite: names no file: sqlite:<file> (SLS_DATABASE_URL / --database-url)');
  return { kind: 'sqlite', file };
}

/** The SQLite file `url` names, or null (PostgreSQL, SQLite in memory). */
export function sqliteFileOf(url: string): string | null {
  const target = databaseTarget(url);
  return target.kind === 'sqlite' && target.file !== ':memory:' ? target.file : null;
}

/**
 * A query parameter that holds a password: pg reads `?password=` as the password (pg-connection-string
 * takes every parameter into its config), so `postgres://sls@db/sls?password=…` is as secret as
 * `postgres://sls:…@db/sls`; `sslpassword` unlocks a client key.
 */
const PASSWORD_PARAMETER = /([?&][^=&#]*password=)[^&#]*/gi;

/** A URL with its password masked (any scheme: a mistyped one is shown in its refusal); a SQLite file as its path. */
export function shownDatabaseUrl(url: string): string {
  const scheme = SCHEME.exec(url)?.[1];
  if (scheme === undefined) return url;
  if (scheme === 'sqlite') return url.slice('sqlite:'.length);
  if (!url.startsWith(`${scheme}://`)) return `${scheme}:…`; // no authority: where a password would be is unknown
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(PASSWORD_PARAMETER, '$1***');
  } catch {
    return `${scheme}://… (not a valid URL)`;
  }
}
