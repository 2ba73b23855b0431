import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isTrustedSenderUrl } from './security.ts';

/** The page the app loaded before it had its own origin: file:// inside app.asar. */
const oldFilePage = pathToFileURL('/opt/SLS Desktop/resources/app.asar/dist/renderer/index.html').href;

describe('Electron IPC sender check (SPEC C3)', () => {
  it('trusts a frame showing our renderer at app://sls, whatever its path or fragment', () => {
    expect(isTrustedSenderUrl('app://sls/index.html')).toBe(true);
    expect(isTrustedSenderUrl('app://sls/index.html#/login')).toBe(true);
    expect(isTrustedSenderUrl('app://sls/')).toBe(true);
  });

  it('trusts exactly the app://sls origin: not file:// (the page the app used to load), no look-alike host, port, user or scheme', () => {
    expect(isTrustedSenderUrl('app://sls/index.html')).toBe(true);
    for (const url of [
      oldFilePage,
      'file:///tmp/index.html',
      'file://sls/index.html',
      'app://evil/index.html',
      'app://sls.evil/index.html',
      'app://evil.sls/index.html',
      'app://sls:8080/index.html',
      'app://user@sls/index.html',
      'app://user:pw@sls/index.html',
      'app:///index.html',
      'app:sls/index.html',
      'https://sls/index.html',
      'http://sls/index.html',
      'sls://app/index.html',
    ]) {
      expect(isTrustedSenderUrl(url), url).toBe(false);
    }
  });

  it('refuses any other page, a missing frame or a malformed URL', () => {
    expect(isTrustedSenderUrl('https://evil.example/index.html')).toBe(false);
    expect(isTrustedSenderUrl('about:blank')).toBe(false);
    expect(isTrustedSenderUrl('data:text/html,<p>x</p>')).toBe(false);
    expect(isTrustedSenderUrl(undefined)).toBe(false);
    expect(isTrustedSenderUrl(null)).toBe(false);
    expect(isTrustedSenderUrl('')).toBe(false);
    expect(isTrustedSenderUrl('not a url')).toBe(false);
  });
});
