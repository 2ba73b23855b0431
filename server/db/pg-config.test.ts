// What slsd asks of every PostgreSQL connection, and what an operator's URL changes (pg-config.ts),
// and how a URL is shown in messages and logs (url.ts).
import { describe, expect, it } from 'vitest';
import { PG_POOL_MAX, pgAnswerTimeoutMs, pgOptions, pgSessionSetup, withVerifiedSslMode } from './pg-config.ts';
import { shownDatabaseUrl } from './url.ts';

describe('sslmode as slsd reads it', () => {
  it('prefer, require and verify-ca check the certificate and the name, as verify-full: pg 9 would stop checking them', () => {
    for (const mode of ['prefer', 'require', 'verify-ca']) {
      expect(withVerifiedSslMode(`postgres://sls@db/sls?sslmode=${mode}`)).toBe('postgres://sls@db/sls?sslmode=verify-full');
      expect(withVerifiedSslMode(`postgres://sls@db/sls?a=1&sslmode=${mode}&sslrootcert=/etc/sls/ca.pem`)).toBe('postgres://sls@db/sls?a=1&sslmode=verify-full&sslrootcert=/etc/sls/ca.pem');
    }
  });

  it('leaves verify-full, disable, no-verify, anything else, and a URL that asks for libpq\'s meanings (uselibpqcompat=true)', () => {
    for (const url of [
      'postgres://sls@db/sls?sslmode=verify-full',
      'postgres://sls@db/sls?sslmode=disable',
      'postgres://sls@db/sls?sslmode=no-verify',
      'postgres://sls@db/sls?sslmode=requirement',
      'postgres://sls@db/sls?xsslmode=require',
      'postgres://sls@db/sls?uselibpqcompat=true&sslmode=require',
      'postgres://sls@db/sls',
    ]) {
      expect(withVerifiedSslMode(url)).toBe(url);
    }
  });
});

describe('the settings of slsd\'s connections', () => {
  it('requests: at most PG_POOL_MAX connections, a connect timeout, keepalive, the sslmode slsd means', () => {
    expect(pgOptions('postgres://sls@db/sls?sslmode=require', 'requests')).toMatchObject({
      connectionString: 'postgres://sls@db/sls?sslmode=verify-full',
      max: PG_POOL_MAX,
      connectionTimeoutMillis: 5000,
      keepAlive: true,
    });
    expect(pgOptions('postgres://sls@db/sls', 'migrations').max).toBe(1);
    expect(pgOptions('postgres://sls@db/sls', 'listener').connectionTimeoutMillis).toBe(5000);
  });

  it('each request connection first sets its statement, lock and idle-in-transaction timeouts, those the URL does not set', () => {
    expect(pgSessionSetup('postgres://sls@db/sls')).toBe('SET statement_timeout = 10000; SET lock_timeout = 5000; SET idle_in_transaction_session_timeout = 60000');
    expect(pgSessionSetup('postgres://sls@db/sls?lock_timeout=0&statement_timeout=300')).toBe('SET idle_in_transaction_session_timeout = 60000');
    expect(pgSessionSetup('postgres://sls@db/sls?lock_timeout=1&statement_timeout=2&idle_in_transaction_session_timeout=3')).toBeNull();
  });

  it('gives a statement with no answer its statement timeout plus 2 s, the URL\'s if it sets one; none when the URL turns it off', () => {
    expect(pgAnswerTimeoutMs('postgres://sls@db/sls')).toBe(12_000);
    expect(pgAnswerTimeoutMs('postgres://sls@db/sls?statement_timeout=1000')).toBe(3000);
    expect(pgAnswerTimeoutMs('postgres://sls@db/sls?statement_timeout=0')).toBe(0);
  });
});

describe('a PostgreSQL URL in a message', () => {
  it('masks a password given as ?password= (pg reads it as the password) or ?sslpassword=, and leaves the rest as written', () => {
    expect(shownDatabaseUrl('postgres://sls@db.example/sls?password=S3cret&sslmode=verify-full')).toBe('postgres://sls@db.example/sls?password=***&sslmode=verify-full');
    expect(shownDatabaseUrl('postgres://sls:S3cret@db.example/sls?sslmode=verify-full&sslrootcert=/etc/sls/ca.pem&password=Other')).toBe(
      'postgres://sls:***@db.example/sls?sslmode=verify-full&sslrootcert=/etc/sls/ca.pem&password=***',
    );
    expect(shownDatabaseUrl('postgres://sls@localhost/sls?host=/var/run/postgresql&sslpassword=Key-Pass')).toBe('postgres://sls@localhost/sls?host=/var/run/postgresql&sslpassword=***');
  });
});
