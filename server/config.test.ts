// slsd's and slsctl's configuration from the environment: secrets from files (systemd credentials,
// Docker and Kubernetes secrets) rather than the environment, and a wrong setting said in one line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sls-config-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const KEY = 'q1Zb3pW0r1nFJqO2u8o0cYbQ9w7cM2Qm3Yb6w1y9dKs=';
function file(name: string, content: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, content, { mode: 0o400 });
  return f;
}

/** The message of what `f` throws, asserting it is a plain start refusal (printed without a stack). */
function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect((e as Error).name).toBe('StartRefused');
    return (e as Error).message;
  }
  throw new Error('did not throw');
}

describe('secrets from files (SLS_SERVER_KEY_FILE, SLS_DATABASE_URL_FILE)', () => {
  it('reads the server key and the database URL from the files named, without their trailing newline', () => {
    const c = loadConfig({ SLS_SERVER_KEY_FILE: file('key', `${KEY}\n`), SLS_DATABASE_URL_FILE: file('url', 'postgres://sls:pw@db/sls\r\n') });
    expect(c.serverKey).toBe(KEY);
    expect(c.databaseUrl).toBe('postgres://sls:pw@db/sls');
  });

  it('still takes them from the environment, and a --database-url flag wins over both', () => {
    expect(loadConfig({ SLS_SERVER_KEY: KEY }).serverKey).toBe(KEY);
    expect(loadConfig({ SLS_DATABASE_URL_FILE: file('url2', 'postgres://a@b/c') }, { databaseUrl: 'sqlite:/x.db' }).databaseUrl).toBe('sqlite:/x.db');
  });

  it('refuses both at once, a file it cannot read, and an empty one', () => {
    expect(refusal(() => loadConfig({ SLS_SERVER_KEY: KEY, SLS_SERVER_KEY_FILE: file('key2', KEY) }))).toBe('set SLS_SERVER_KEY or SLS_SERVER_KEY_FILE, not both');
    const missing = path.join(dir, 'missing');
    expect(refusal(() => loadConfig({ SLS_SERVER_KEY_FILE: missing }))).toBe(`SLS_SERVER_KEY_FILE ${missing} cannot be read (ENOENT)`);
    const empty = file('empty', '\n');
    expect(refusal(() => loadConfig({ SLS_DATABASE_URL_FILE: empty }))).toBe(`SLS_DATABASE_URL_FILE ${empty} is empty`);
  });
});

describe('a wrong setting is refused in one line', () => {
  it('names the variable and the value', () => {
    expect(refusal(() => loadConfig({ SLS_PORT: 'abc' }))).toBe('SLS_PORT must be a non-negative integer, got "abc"');
    expect(refusal(() => loadConfig({ SLS_SMS_CARRIER_HOURS: 'maybe' }))).toBe('SLS_SMS_CARRIER_HOURS must be on or off, got "maybe"');
    expect(refusal(() => loadConfig({ SLS_METRICS_PORT: '70000' }))).toBe('SLS_METRICS_PORT must be a port (0–65535), got 70000');
    expect(refusal(() => loadConfig({ SLS_HASH_NICE: '20' }))).toBe('SLS_HASH_NICE must be a nice increment, 0–19, got 20');
    expect(refusal(() => loadConfig({ SLS_HASH_NICE: '-5' }))).toBe('SLS_HASH_NICE must be a non-negative integer, got "-5"');
    expect(refusal(() => loadConfig({ SLS_PORT: '70000' }))).toBe('SLS_PORT must be a port (0–65535), got 70000');
    // Fastify refuses 0 only while the app is built, after the database opened; below 1 KiB every login is a 413.
    expect(refusal(() => loadConfig({ SLS_BODY_LIMIT: '0' }))).toBe('SLS_BODY_LIMIT must be at least 1024 (bytes of a request body; a login needs a few hundred), got 0');
    expect(loadConfig({ SLS_BODY_LIMIT: '1024' }).bodyLimit).toBe(1024);
    // PostgreSQL connections per slsd process (SPEC N1): 10 unless set, 1–100.
    expect(loadConfig({}).databasePoolMax).toBe(10);
    expect(loadConfig({ SLS_DATABASE_POOL_MAX: '3' }).databasePoolMax).toBe(3);
    expect(refusal(() => loadConfig({ SLS_DATABASE_POOL_MAX: '0' }))).toBe('SLS_DATABASE_POOL_MAX must be at least 1 (PostgreSQL connections per slsd process), got 0');
    expect(refusal(() => loadConfig({ SLS_DATABASE_POOL_MAX: '101' }))).toBe('SLS_DATABASE_POOL_MAX must be 1–100 (PostgreSQL connections per slsd process), got 101');
  });

  it('SLS_PASSWORD_HASHING and SLS_WORKERS: a misspelt or out-of-range value is refused, where it was ignored or taken as 1 (SPEC A3, N1)', () => {
    expect(loadConfig({}).passwordHashing).toBe('argon2id');
    expect(loadConfig({ SLS_PASSWORD_HASHING: 'argon2id' }).passwordHashing).toBe('argon2id');
    expect(loadConfig({ SLS_PASSWORD_HASHING: 'noop-benchmark-only' }).passwordHashing).toBe('noop-benchmark-only');
    expect(refusal(() => loadConfig({ SLS_PASSWORD_HASHING: 'bcrypt' }))).toBe('SLS_PASSWORD_HASHING must be argon2id (the default) or noop-benchmark-only (benchmarks only), got bcrypt');
    expect(loadConfig({ SLS_WORKERS: '4' }).workers).toBe(4);
    expect(refusal(() => loadConfig({ SLS_WORKERS: '0' }))).toBe('SLS_WORKERS must be 1–64 (processes serving the API), got 0');
    expect(refusal(() => loadConfig({ SLS_WORKERS: '65' }))).toBe('SLS_WORKERS must be 1–64 (processes serving the API), got 65');
  });

  it('SLS_HASH_NICE: argon2id 10 below the event loop unless set; 0 keeps one priority (issue 7)', () => {
    expect(loadConfig({}).hashNice).toBe(10);
    expect(loadConfig({ SLS_HASH_NICE: '0' }).hashNice).toBe(0);
    expect(loadConfig({ SLS_HASH_NICE: '19' }).hashNice).toBe(19);
  });

  it('SLS_SMS_BUDGET_PER_HOUR: 10 SMS per number and hour unless set; 0 turns the budget off (SPEC L4)', () => {
    expect(loadConfig({}).smsBudgetPerHour).toBe(10);
    expect(loadConfig({ SLS_SMS_BUDGET_PER_HOUR: '25' }).smsBudgetPerHour).toBe(25);
    expect(loadConfig({ SLS_SMS_BUDGET_PER_HOUR: '0' }).smsBudgetPerHour).toBe(0);
    expect(refusal(() => loadConfig({ SLS_SMS_BUDGET_PER_HOUR: 'lots' }))).toBe('SLS_SMS_BUDGET_PER_HOUR must be a non-negative integer, got "lots"');
  });
});

describe('the database URL (SLS_DATABASE_URL, --database-url): PostgreSQL or SQLite, nothing else', () => {
  it('refuses a scheme SLS does not know, its password masked, where a mistyped one ran on a new SQLite file named after it', () => {
    const said = refusal(() => loadConfig({}, { databaseUrl: 'postgress://sls:S3cretPw@db.example:5432/sls' }));
    expect(said).toBe(
      'the database URL postgress://sls:***@db.example:5432/sls has the scheme "postgress:", which SLS does not know: ' +
        'postgres://… or postgresql://… for PostgreSQL, sqlite:<file> or a file path for SQLite (SLS_DATABASE_URL / --database-url)',
    );
    for (const url of ['mysql://sls:S3cretPw@db/sls', 'Postgres://sls:S3cretPw@db/sls', 'postgres:/sls:S3cretPw@db/sls', 'file:/var/lib/sls/sls.db', 'mysql://sls:S3cretPw@[bad']) {
      const refused = refusal(() => loadConfig({ SLS_DATABASE_URL: url }));
      expect(refused).toContain('which SLS does not know');
      expect(refused).not.toContain('S3cretPw');
    }
    expect(refusal(() => loadConfig({ SLS_DATABASE_URL_FILE: file('typo-url', 'postgress://sls:S3cretPw@db/sls\n') }))).not.toContain('S3cretPw');
    expect(refusal(() => loadConfig({ SLS_DATABASE_URL: 'sqlite:' }))).toBe('the database URL sqlite: names no file: sqlite:<file> (SLS_DATABASE_URL / --database-url)');
  });

  it('takes postgres://, postgresql://, sqlite:<file> and a file path as they are', () => {
    for (const url of ['postgres://sls:pw@db/sls', 'postgresql://sls@db/sls?sslmode=require', 'sqlite:/var/lib/sls/sls.db', 'sqlite::memory:', '/var/lib/sls/sls.db', 'data/sls.db', './x:y/sls.db', 'C:\\sls\\sls.db']) {
      expect(loadConfig({ SLS_DATABASE_URL: url }).databaseUrl).toBe(url);
    }
    expect(loadConfig({ SLS_DATA_DIR: '/srv/sls' }).databaseUrl).toBe(`sqlite:${path.join('/srv/sls', 'sls.db')}`);
  });
});

describe('SLS_LOG_LEVEL', () => {
  it('is one of pino’s levels or silent; another is refused in one line naming them, where pino threw and slsd hung', () => {
    expect(refusal(() => loadConfig({ SLS_LOG_LEVEL: 'verbose' }))).toBe('SLS_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"');
    expect(refusal(() => loadConfig({ SLS_LOG_LEVEL: 'INFO' }))).toContain('got "INFO"');
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) expect(loadConfig({ SLS_LOG_LEVEL: level }).logLevel).toBe(level);
    expect(loadConfig({}).logLevel).toBe('info');
  });
});

describe('SLS_TRUST_PROXY', () => {
  const refusedAs = (v: string) => refusal(() => loadConfig({ SLS_TRUST_PROXY: v }));
  const ACCEPTS = "SLS_TRUST_PROXY must be true, false or a comma-separated list of the proxies' IP addresses and CIDR ranges (e.g. 127.0.0.1,10.0.0.0/8; or loopback, linklocal, uniquelocal)";

  it('refuses what Fastify would refuse while the app is built (a TypeError, after the database opened) in one line naming the value and what is taken; takes what Fastify takes', () => {
    expect(refusedAs('10.0.0.0/99')).toBe(`${ACCEPTS}, got "10.0.0.0/99": a range whose prefix length is not 1–32`);
    expect(refusedAs('300.1.1.1')).toBe(`${ACCEPTS}, got "300.1.1.1": not an IP address`);
    expect(refusedAs('abc')).toBe(`${ACCEPTS}, got "abc": not an IP address`);
    expect(refusedAs('127.0.0.1, abc')).toBe(`${ACCEPTS}, got "127.0.0.1, abc": "abc" is not an IP address`);
    expect(refusedAs('::1/129')).toBe(`${ACCEPTS}, got "::1/129": a range whose prefix length is not 1–128`);
    for (const v of ['0.0.0.0/0', '::/0', '10.0.0.1/', '10.0.0.0/x']) expect(refusedAs(v)).toMatch(/: a range whose prefix length is not 1–(32|128)$/);
    for (const v of ['TRUE', 'yes', '10.0.0.0/8/8']) expect(refusedAs(v)).toBe(`${ACCEPTS}, got "${v}": not an IP address`);
    for (const v of ['10.0.0.0/99', '300.1.1.1', 'abc', '127.0.0.1, abc', '::1/129', '0.0.0.0/0', '::/0', '10.0.0.1/', 'TRUE', 'yes', '10.0.0.0/8/8']) {
      expect(() => Fastify({ trustProxy: v.split(',').map((s) => s.trim()) }), v).toThrow(TypeError);
    }
    // Taken, as they are: each is one Fastify takes.
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ SLS_TRUST_PROXY: '' }).trustProxy).toBe(false);
    expect(loadConfig({ SLS_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ SLS_TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ SLS_TRUST_PROXY: ' 127.0.0.1 , 10.0.0.0/8,::1,fd00::/8' }).trustProxy).toEqual(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8']);
    for (const v of ['127.0.0.1', '192.168.1.0/24,10.0.0.0/8', '::ffff:10.0.0.0/104', 'fe80::1%eth0', '2001:db8::/32', '1.2.3.4/32', '::1/128', '10.0.0.0/1', 'loopback,linklocal,uniquelocal']) {
      const { trustProxy } = loadConfig({ SLS_TRUST_PROXY: v });
      expect(trustProxy, v).toEqual(v.split(','));
      expect(() => Fastify({ trustProxy }), v).not.toThrow();
    }
  });

  it('refuses an empty entry, a hop count and forms proxy-addr reads its own way, where they were taken without a word', () => {
    // Before: empty entries were dropped ("," alone trusted no proxy), "2" was the address 0.0.0.2,
    // "127.1" 127.0.0.1, "010.0.0.1" 8.0.0.1 (octal), "10.0.0.0/255.0.0.0" a netmask.
    expect(refusedAs('10.0.0.0/8,,')).toBe(`${ACCEPTS}, got "10.0.0.0/8,,": an entry is empty`);
    expect(refusedAs(',')).toBe(`${ACCEPTS}, got ",": an entry is empty`);
    expect(refusedAs('2')).toBe(`${ACCEPTS}, got "2": a hop count, which Fastify does not trust (it cannot tell a proxy from a client by one)`);
    expect(refusedAs('127.0.0.1,1')).toContain('got "127.0.0.1,1": "1" is a hop count');
    for (const v of ['127.1', '010.0.0.1', '0x7f000001']) expect(refusedAs(v)).toBe(`${ACCEPTS}, got "${v}": not an IP address`);
    expect(refusedAs('10.0.0.0/255.0.0.0')).toBe(`${ACCEPTS}, got "10.0.0.0/255.0.0.0": a range whose prefix length is not 1–32`);
  });
});
