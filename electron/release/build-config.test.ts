import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BuildConfigError, checkServerAddress, isLoopbackHost, parseBuildConfig, readBuildConfig } from './build-config.ts';

/** A release server's address for the tests: not a name reserved for tests or documentation (never contacted). */
const RELEASE_SERVER = 'https://login.sls-broker.com';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof BuildConfigError ? error.code : 'not-coded';
  }
  return undefined;
}

describe('server address (https only, except loopback)', () => {
  it('accepts https anywhere and http on loopback', () => {
    expect(checkServerAddress('https://sls.example.com').origin).toBe('https://sls.example.com');
    expect(checkServerAddress('http://127.0.0.1:7860').port).toBe('7860');
    expect(checkServerAddress('http://127.9.9.9').hostname).toBe('127.9.9.9');
    expect(checkServerAddress('http://localhost:7860').hostname).toBe('localhost');
    expect(checkServerAddress('http://[::1]:7860').hostname).toBe('[::1]');
  });

  it('refuses plain http to any other host, including look-alikes of loopback', () => {
    for (const url of ['http://sls.example.com', 'http://127.0.0.1.evil.example', 'http://10.0.0.1:7860', 'http://localhost.example.com', 'http://[::2]'])
      expect(codeOf(() => checkServerAddress(url)), url).toBe('SLS_ERR_SERVER_ADDRESS_INSECURE');
  });

  it('refuses non-URLs, other schemes and URLs carrying credentials, queries or fragments', () => {
    for (const url of ['sls.example.com', 'ftp://sls.example.com', 'file:///etc/passwd', 'https://u:p@sls.example.com', 'https://sls.example.com/?t=1', 'https://sls.example.com/#x'])
      expect(codeOf(() => checkServerAddress(url)), url).toBe('SLS_ERR_SERVER_ADDRESS_INVALID');
  });

  it('knows loopback hosts', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('127.256.0.1')).toBe(false);
    expect(isLoopbackHost('128.0.0.1')).toBe(false);
  });
});

describe('build-config.json', () => {
  it('the committed resources/build-config.json is valid and points at a safe address', () => {
    const file = path.resolve(import.meta.dirname, '..', '..', 'resources', 'build-config.json');
    const config = readBuildConfig(file);
    expect(() => checkServerAddress(config.defaultServerUrl)).not.toThrow();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toHaveProperty('defaultServerUrl');
  });

  it('fills defaults and normalises a bare origin', () => {
    expect(parseBuildConfig('{"defaultServerUrl":"https://sls.example.com/"}')).toEqual({
      defaultServerUrl: 'https://sls.example.com',
      channel: 'dev',
      buildNumber: '0',
    });
  });

  it('refuses bad JSON, unknown fields, bad build numbers and insecure addresses with coded errors', () => {
    expect(codeOf(() => parseBuildConfig('{'))).toBe('SLS_ERR_BUILD_CONFIG_INVALID');
    expect(codeOf(() => parseBuildConfig('{"defaultServerUrl":"https://a.example","extra":1}'))).toBe('SLS_ERR_BUILD_CONFIG_INVALID');
    expect(codeOf(() => parseBuildConfig('{"defaultServerUrl":"https://a.example","buildNumber":"1; rm -rf /"}'))).toBe('SLS_ERR_BUILD_CONFIG_INVALID');
    expect(codeOf(() => parseBuildConfig('{"defaultServerUrl":"http://a.example"}'))).toBe('SLS_ERR_SERVER_ADDRESS_INSECURE');
    expect(codeOf(() => readBuildConfig('/nonexistent/build-config.json'))).toBe('SLS_ERR_BUILD_CONFIG_INVALID');
  });
});

describe('stamping a release build', () => {
  it('takes the server, channel, build number and commit from CI, checked like at run time', async () => {
    const { stampBuildConfig } = await import('./stamp-build-config.ts');
    const base = parseBuildConfig('{"defaultServerUrl":"http://127.0.0.1:7860"}');
    expect(stampBuildConfig(base, { SLS_DEFAULT_SERVER_URL: RELEASE_SERVER, SLS_RELEASE_CHANNEL: 'stable', GITHUB_RUN_NUMBER: '77', GITHUB_SHA: 'abcdef1234567' })).toEqual({
      defaultServerUrl: RELEASE_SERVER,
      channel: 'stable',
      buildNumber: '77',
      commit: 'abcdef1234567',
    });
    expect(() => stampBuildConfig(base, { SLS_DEFAULT_SERVER_URL: 'http://sls.example.com' })).toThrow(BuildConfigError);
  });

  it('refuses a beta or stable build without SLS_DEFAULT_SERVER_URL: it would ship the dev default http://127.0.0.1:7860', async () => {
    const { stampBuildConfig } = await import('./stamp-build-config.ts');
    const base = parseBuildConfig('{"defaultServerUrl":"http://127.0.0.1:7860"}');
    for (const channel of ['stable', 'beta']) {
      expect(() => stampBuildConfig(base, { SLS_RELEASE_CHANNEL: channel, GITHUB_RUN_NUMBER: '77' }), channel).toThrow(/SLS_DEFAULT_SERVER_URL/);
      expect(codeOf(() => stampBuildConfig(base, { SLS_RELEASE_CHANNEL: channel, SLS_DEFAULT_SERVER_URL: '' })), channel).toBe('SLS_ERR_BUILD_CONFIG_INVALID');
    }
    // The file's own channel counts too: a committed "stable" with no server set is refused.
    const stableFile = parseBuildConfig('{"defaultServerUrl":"https://sls.example.com","channel":"stable"}');
    expect(() => stampBuildConfig(stableFile, {})).toThrow(/SLS_DEFAULT_SERVER_URL/);
  });

  it('refuses a loopback default server for any channel but dev', async () => {
    const { stampBuildConfig } = await import('./stamp-build-config.ts');
    const base = parseBuildConfig('{"defaultServerUrl":"https://sls.example.com"}');
    for (const url of ['http://127.0.0.1:7860', 'https://localhost', 'http://[::1]:7860', 'https://127.1.2.3'])
      expect(codeOf(() => stampBuildConfig(base, { SLS_RELEASE_CHANNEL: 'stable', SLS_DEFAULT_SERVER_URL: url })), url).toBe('SLS_ERR_SERVER_ADDRESS_INVALID');
    // dev builds keep the quick start's local slsd.
    expect(stampBuildConfig(base, { SLS_RELEASE_CHANNEL: 'dev', SLS_DEFAULT_SERVER_URL: 'http://127.0.0.1:7860' }).defaultServerUrl).toBe('http://127.0.0.1:7860');
    expect(stampBuildConfig(parseBuildConfig('{"defaultServerUrl":"http://127.0.0.1:7860"}'), {}).channel).toBe('dev');
  });

  it('refuses a reserved test or documentation name (RFC 2606, RFC 6761) as the server of a beta or stable build; dev keeps them', async () => {
    const { stampBuildConfig } = await import('./stamp-build-config.ts');
    const base = parseBuildConfig('{"defaultServerUrl":"http://127.0.0.1:7860"}');
    const reserved = [
      'https://sls.example',
      'https://SLS.Bank.EXAMPLE:8443',
      'https://sls.test',
      'https://slsd.invalid',
      'https://slsd.localhost',
      'https://localhost.',
      'https://sls.example.', // the root's trailing dot changes nothing
      'https://example.com',
      'https://sls.example.com',
      'https://login.example.net/sls',
      'https://sls.example.org',
    ];
    for (const channel of ['stable', 'beta'])
      for (const url of reserved) {
        const stamp = () => stampBuildConfig(base, { SLS_RELEASE_CHANNEL: channel, SLS_DEFAULT_SERVER_URL: url });
        expect(codeOf(stamp), `${channel} ${url}`).toBe('SLS_ERR_SERVER_ADDRESS_INVALID');
        expect(stamp, `${channel} ${url}`).toThrow(new RegExp(`^A ${channel} build needs a real default server: .* is a name reserved for tests and documentation`));
      }
    // Names that only look alike are real names.
    for (const url of ['https://sls.examples.com', 'https://example.company.com', 'https://test.sls-broker.com', 'https://sls.testing', 'https://myexample.com'])
      expect(stampBuildConfig(base, { SLS_RELEASE_CHANNEL: 'stable', SLS_DEFAULT_SERVER_URL: url }).defaultServerUrl, url).toBe(url);
    // dev builds (tests, demos) may keep them.
    for (const url of reserved) expect(stampBuildConfig(base, { SLS_RELEASE_CHANNEL: 'dev', SLS_DEFAULT_SERVER_URL: url }).channel, url).toBe('dev');
  });

  it('a tagged release (--release) refuses the dev channel', async () => {
    const { stampBuildConfig } = await import('./stamp-build-config.ts');
    const base = parseBuildConfig('{"defaultServerUrl":"http://127.0.0.1:7860"}');
    expect(() => stampBuildConfig(base, { SLS_RELEASE_CHANNEL: 'dev' }, { release: true })).toThrow(/dev channel/);
    expect(stampBuildConfig(base, { SLS_RELEASE_CHANNEL: 'stable', SLS_DEFAULT_SERVER_URL: RELEASE_SERVER }, { release: true }).channel).toBe('stable');
  });

  it('the script exits 1 with one clear line and leaves build-config.json as it was', async () => {
    const file = path.resolve(import.meta.dirname, '..', '..', 'resources', 'build-config.json');
    const before = readFileSync(file, 'utf8');
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '', SLS_RELEASE_CHANNEL: 'stable', GITHUB_RUN_NUMBER: '5' };
    try {
      const failed = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'stamp-build-config.ts')], { env }).then(
        () => null,
        (e: { code?: number; stderr?: string }) => e,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toMatch(/^stamp-build-config: A stable build needs its default server: set SLS_DEFAULT_SERVER_URL/m);
      expect(readFileSync(file, 'utf8')).toBe(before);
    } finally {
      if (readFileSync(file, 'utf8') !== before) writeFileSync(file, before);
    }
  });
});
