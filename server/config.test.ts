// slsd's and slsctl's configuration from the environment: secrets from files (systemd credentials,
// Docker and Kubernetes secrets) rather than the environment, and a wrong setting said in one line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
