import { EventEmitter } from 'node:events';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { hardenWebContents, isTrustedSenderUrl, navigationTarget } from './security.ts';
import type { RefusedNavigation } from './security.ts';

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

/**
 * A stubbed WebContents: Electron's events are emitted by hand with what Electron passes
 * (electron.d.ts: `Event<WebContentsWillFrameNavigateEventParams>` and the like; for
 * `will-attach-webview`: event, webPreferences, params).
 */
class StubContents extends EventEmitter {
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }) {
    this.windowOpenHandler = handler;
  }
  /** Emits a navigation event as Electron does; answers whether a listener cancelled it. */
  navigate(event: 'will-navigate' | 'will-frame-navigate' | 'will-redirect', url: string, isMainFrame: boolean): boolean {
    const e = { url, isMainFrame, isSameDocument: false, frame: null, initiator: null, defaultPrevented: false, preventDefault: vi.fn(() => void (e.defaultPrevented = true)) };
    // will-navigate still passes the deprecated positional arguments after the event.
    if (event === 'will-navigate') this.emit(event, e, url, false, isMainFrame, 1, 1);
    else this.emit(event, e);
    return e.defaultPrevented;
  }
  attachWebview(src: string): boolean {
    const e = { defaultPrevented: false, preventDefault: vi.fn(() => void (e.defaultPrevented = true)) };
    this.emit('will-attach-webview', e, { nodeIntegration: false }, { src });
    return e.defaultPrevented;
  }
}

function hardened() {
  const contents = new StubContents();
  const refused: RefusedNavigation[] = [];
  hardenWebContents(contents, (r) => refused.push(r));
  return { contents, refused };
}

/** Away from app://sls, as a page, a link, a redirect or an injected iframe could ask. */
const ELSEWHERE = [
  'https://evil.example/phish?user=rhea',
  'http://127.0.0.1:7860/',
  'file:///etc/passwd',
  'app://evil/index.html',
  'app://sls.evil/index.html',
  'app://sls:8080/index.html',
  'app://user@sls/index.html',
  'data:text/html,<script>alert(1)</script>',
  'javascript:alert(1)',
  'about:blank',
  'blob:app://sls/0b5c1c2e-5d52-4f0a-9a7e-1d7a1f5b8c00',
  'not a url',
];

describe('Electron security checklist, "Disable or limit navigation" (SPEC C3): hardenWebContents', () => {
  it('refuses every navigation of a subframe (will-frame-navigate, Electron ≥ 25), away from app://sls or not', () => {
    const { contents, refused } = hardened();
    for (const url of [...ELSEWHERE, 'app://sls/index.html', 'app://sls/assets/index.js']) {
      expect(contents.navigate('will-frame-navigate', url, false), url).toBe(true);
    }
    expect(refused).toHaveLength(ELSEWHERE.length + 2);
    expect(refused[0]).toEqual({ event: 'will-frame-navigate', to: 'https://evil.example', mainFrame: false });
  });

  it('refuses every navigation of the main frame, by will-frame-navigate (emitted first) and will-navigate', () => {
    const { contents } = hardened();
    for (const url of [...ELSEWHERE, 'app://sls/index.html']) {
      expect(contents.navigate('will-frame-navigate', url, true), url).toBe(true);
      expect(contents.navigate('will-navigate', url, true), url).toBe(true);
    }
  });

  it('refuses a server-side redirect in any frame (will-redirect)', () => {
    const { contents, refused } = hardened();
    expect(contents.navigate('will-redirect', 'https://evil.example/landing', true)).toBe(true);
    expect(contents.navigate('will-redirect', 'https://evil.example/landing', false)).toBe(true);
    expect(refused).toEqual([
      { event: 'will-redirect', to: 'https://evil.example', mainFrame: true },
      { event: 'will-redirect', to: 'https://evil.example', mainFrame: false },
    ]);
  });

  it('refuses a <webview> (will-attach-webview: preventDefault destroys the guest page)', () => {
    const { contents, refused } = hardened();
    expect(contents.attachWebview('https://evil.example/')).toBe(true);
    expect(contents.attachWebview('app://sls/index.html')).toBe(true);
    expect(refused.map((r) => r.event)).toEqual(['will-attach-webview', 'will-attach-webview']);
  });

  it('denies every new window (window.open, target=_blank, middle-click)', () => {
    const { contents, refused } = hardened();
    expect(contents.windowOpenHandler).not.toBeNull();
    for (const url of ['https://evil.example/', 'app://sls/index.html', 'about:blank']) expect(contents.windowOpenHandler!({ url })).toEqual({ action: 'deny' });
    expect(refused.map((r) => r.to)).toEqual(['https://evil.example', 'app://sls', 'about:']);
  });

  it('listens once to each event and needs no log to refuse', () => {
    const contents = new StubContents();
    hardenWebContents(contents);
    for (const event of ['will-navigate', 'will-frame-navigate', 'will-redirect', 'will-attach-webview']) expect(contents.listenerCount(event), event).toBe(1);
    expect(contents.navigate('will-frame-navigate', 'https://evil.example/', false)).toBe(true);
  });

  it('logs where a refused navigation went as its origin, never its path, query or a data: URL\'s content', () => {
    expect(navigationTarget('https://evil.example/phish?user=rhea&code=123456#x')).toBe('https://evil.example');
    expect(navigationTarget('https://user:pw@evil.example:8443/a')).toBe('https://evil.example:8443');
    expect(navigationTarget('data:text/html,<p>secret</p>')).toBe('data:');
    expect(navigationTarget('javascript:alert(document.cookie)')).toBe('javascript:');
    expect(navigationTarget('file:///home/rhea/.ssh/id_ed25519')).toBe('file:');
    expect(navigationTarget('not a url')).toBe('(not a URL)');
    expect(navigationTarget(undefined)).toBe('(none)');
  });
});
