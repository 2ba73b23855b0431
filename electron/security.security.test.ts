import { describe, expect, it } from 'vitest';
import { isTrustedSenderUrl, rendererUrl } from './security.ts';

const trusted = rendererUrl('/opt/SLS Desktop/resources/app.asar/dist/renderer/index.html');

describe('Electron IPC sender check (SPEC C3)', () => {
  it('trusts our renderer page, with or without a fragment', () => {
    expect(isTrustedSenderUrl(trusted, trusted)).toBe(true);
    expect(isTrustedSenderUrl(`${trusted}#x`, trusted)).toBe(true);
  });

  it('refuses any other page, file, scheme or a missing frame', () => {
    expect(isTrustedSenderUrl('https://evil.example/index.html', trusted)).toBe(false);
    expect(isTrustedSenderUrl(rendererUrl('/tmp/index.html'), trusted)).toBe(false);
    expect(isTrustedSenderUrl('file://evil-host/opt/SLS%20Desktop/resources/app.asar/dist/renderer/index.html', trusted)).toBe(false);
    expect(isTrustedSenderUrl('about:blank', trusted)).toBe(false);
    expect(isTrustedSenderUrl(undefined, trusted)).toBe(false);
    expect(isTrustedSenderUrl('not a url', trusted)).toBe(false);
  });
});
