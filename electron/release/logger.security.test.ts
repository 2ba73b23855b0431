import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFileLogger, isSecretFieldName, redact, REDACTED, scrubText } from './logger.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sls-log-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const secrets = {
  password: 'Demo-Password-1',
  pin: '4821',
  response: '73942018',
  restartToken: 'q8Zk2v0LxWm9Yt4Rb7Nc1Pd6Hs3Jf5Ge0Ua',
  sessionToken: 'f3a9c1d7e2b84a6f9c0d1e2f3a4b5c6d',
  codes: 'A7KQ92',
  smsCode: '551208',
  temporaryPasscode: 'TMP-93KD-22QX',
};

describe('log redaction (secrets never written; SPEC L8, H2)', () => {
  it('names secret fields in camelCase, snake_case and header style, and leaves ordinary ones', () => {
    for (const name of ['password', 'pin', 'PIN', 'restartToken', 'pin_code', 'X-Api-Key', 'authorization', 'securityCodes', 'challengeResponse', 'sessionId'])
      expect(isSecretFieldName(name), name).toBe(true);
    for (const name of ['userName', 'mapping', 'shipping', 'serverUrl', 'deviceKind', 'version', 'keyboardLayout'])
      expect(isSecretFieldName(name), name).toBe(false);
  });

  it('never writes a password, PIN, challenge response, security code or token given as fields, even nested', () => {
    const dir = tempDir();
    const log = createFileLogger({ dir });
    log.info('login attempt', { userName: 'demo.dscplus', ...secrets, nested: { deep: [{ pin: '9999' }], Authorization: 'Bearer abc.def.ghi' } });
    log.error('device failed', { error: new Error(`wrong response 73942018 for token ${secrets.restartToken}`) });
    const text = readFileSync(log.file, 'utf8');
    for (const value of [...Object.values(secrets), '9999', 'abc.def.ghi']) expect(text).not.toContain(value);
    expect(text).toContain('demo.dscplus');
    expect(text).toContain(REDACTED);
    const first = JSON.parse(text.split('\n')[0]!) as Record<string, unknown>;
    expect(first['password']).toBe(REDACTED);
    expect(first['msg']).toBe('login attempt');
  });

  it('scrubs secrets out of free text by their shape', () => {
    const cases: Array<[string, string]> = [
      ['password=hunter2 user=bob', 'hunter2'],
      ['pin: 4821', '4821'],
      ['the card answered 73942018', '73942018'],
      ['sms code 551208 sent', '551208'],
      ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig', 'eyJhbGciOiJIUzI1NiJ9'],
      [`restart with ${secrets.restartToken}`, secrets.restartToken],
      ['{"token":"abc123"}', 'abc123'],
      // A pair inside the value of another: a URL's query, an error message after "settings:".
      ['refused (origin=http://evil.example?password=hunter2&x=1 path=/contract)', 'hunter2'],
      ['Error: could not read settings: password=hunter2', 'hunter2'],
      ['request url=https://sls.example.com/v1/login?token=abc123', 'abc123'],
    ];
    for (const [input, secret] of cases) expect(scrubText(input), input).not.toContain(secret);
  });

  it('keeps our coded errors and OS user ids, which support needs and which are no secrets', () => {
    for (const text of ['login step failed code=SLS_ERR_DEVICE_NOT_AVAILABLE', 'refused: a socket of another OS user (uid 65534; this host runs as uid 0)']) {
      expect(scrubText(text)).toBe(text);
    }
  });

  it('keeps what support needs: ports, versions, dates, user names and words', () => {
    const text = 'connecting to http://127.0.0.1:7860 with Electron 45.5.0 on 2026-11-28 as demo.dscplus (device kind dscplus)';
    expect(scrubText(text)).toBe(text);
  });

  it('redacts Errors into name, message and stack without secrets', () => {
    const out = redact({ error: new Error('password=hunter2') }) as { error: { name: string; message: string } };
    expect(out.error.name).toBe('Error');
    expect(out.error.message).not.toContain('hunter2');
  });
});

describe('log file', () => {
  it('rotates by size and keeps only maxFiles old files', () => {
    const dir = tempDir();
    const log = createFileLogger({ dir, maxBytes: 400, maxFiles: 2, now: () => new Date('2026-11-28T12:00:00Z') });
    for (let i = 0; i < 40; i++) log.info(`line number ${'x'.repeat(20)} ${i}`);
    const files = readdirSync(dir).sort();
    expect(files).toEqual(['main.1.log', 'main.2.log', 'main.log']);
    for (const f of files) expect(statSync(path.join(dir, f)).size).toBeLessThanOrEqual(400);
    const newest = readFileSync(path.join(dir, 'main.log'), 'utf8').trim().split('\n');
    expect(newest.at(-1)).toContain(' 39"');
  });

  it('is readable by its owner only and filters by level', () => {
    const dir = tempDir();
    const log = createFileLogger({ dir, level: 'warn' });
    log.info('hidden');
    log.warn('shown');
    const lines = readFileSync(log.file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', msg: 'shown' });
    if (process.platform !== 'win32') expect(statSync(log.file).mode & 0o777).toBe(0o600);
  });
});
