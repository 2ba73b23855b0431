// The page's connection to the browser host (SPEC C3): how its close codes reach the user. A fake
// WebSocket stands in for Chromium's; the host closes it as electron/browser-host.ts does.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ContractError } from '../core/contract/messages.ts';
import { applyLanguage } from './i18n/index.ts';
import { describeConnectError } from './connect-error.ts';
import { HostOwnerUnknownError, NotOpenedByHostError, WS_CLOSE_OWNER_UNKNOWN, connectHost } from './transport.ts';

/** A WebSocket the test drives: the host's side is `closeFromHost` (a close frame with its code and reason). */
class FakeWebSocket extends EventTarget {
  static last: FakeWebSocket | null = null;
  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    super();
    FakeWebSocket.last = this;
  }
  send(): void {}
  close(): void {}
  open(): void {
    this.dispatchEvent(new Event('open'));
  }
  /** What Chromium does on a close frame: `close` with its code and reason, no `error`. */
  closeFromHost(code: number, reason: string): void {
    this.dispatchEvent(Object.assign(new Event('close'), { code, reason, wasClean: true }));
  }
  /** What Chromium does when the connection fails: `error`, then `close` with 1006. */
  fail(): void {
    this.dispatchEvent(new Event('error'));
    this.dispatchEvent(Object.assign(new Event('close'), { code: 1006, reason: '', wasClean: false }));
  }
}

/** A page opened by the host: its address carries the one-time launch code. */
function pageOpenedWithLaunchCode(): void {
  const store = new Map<string, string>();
  vi.stubGlobal('window', { location: { hash: '#launch=abc_DEF-123', protocol: 'http:', host: '127.0.0.1:4567', pathname: '/' } });
  vi.stubGlobal('history', { replaceState: () => {} });
  vi.stubGlobal('sessionStorage', { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) });
  vi.stubGlobal('WebSocket', FakeWebSocket);
}

/** The host's close of a launch-code connection whose socket's owner it could not find (its reason, word for word). */
const OWNER_UNKNOWN_REASON = 'SLS Desktop could not check that this window runs as your user; restart SLS Desktop';

beforeEach(() => {
  FakeWebSocket.last = null;
  pageOpenedWithLaunchCode();
});

afterEach(() => {
  vi.unstubAllGlobals();
  applyLanguage('en');
});

describe('the connection to the browser host closed before the session started (SPEC C3)', () => {
  it("close code 4002 (owner unknown) says SLS Desktop could not check that this window is the user's, and to restart it; any other close still says the connection was lost", async () => {
    const connecting = connectHost();
    const ws = FakeWebSocket.last!;
    expect(ws.protocols).toEqual(['sls.v1', 'launch.abc_DEF-123']);
    ws.open();
    ws.closeFromHost(4002, OWNER_UNKNOWN_REASON);
    const e = await connecting.catch((x: unknown) => x);
    expect(e).toMatchObject({ message: 'SLS Desktop could not check that this window belongs to your user account.' });
    expect(describeConnectError(e)).toEqual({ message: 'SLS Desktop could not check that this window belongs to your user account.', action: 'Restart SLS Desktop.' });
    expect(e).toBeInstanceOf(HostOwnerUnknownError);

    for (const close of [(w: FakeWebSocket) => w.closeFromHost(1001, 'going away'), (w: FakeWebSocket) => w.fail()]) {
      const other = connectHost();
      close(FakeWebSocket.last!);
      const lost = await other.catch((x: unknown) => x);
      expect(lost).toBeInstanceOf(ContractError);
      expect(lost).not.toBeInstanceOf(HostOwnerUnknownError);
      expect(describeConnectError(lost)).toEqual({ message: 'The connection to SLS Desktop was lost.', action: 'Close this window and start SLS Desktop again.' });
    }

    // The host's own close code (the renderer keeps a copy: it imports only core/).
    expect(readFileSync(new URL('../electron/browser-host.ts', import.meta.url), 'utf8')).toContain(`export const WS_CLOSE_OWNER_UNKNOWN = ${WS_CLOSE_OWNER_UNKNOWN};`);
  });
});

describe('what the window says when it could not connect (UI.md: More, language)', () => {
  it('owner unknown in German and French; opened without its launch code still says so', () => {
    expect(describeConnectError(new NotOpenedByHostError()).message).toBe('This window was not opened by SLS Desktop.');
    applyLanguage('de');
    expect(describeConnectError(new HostOwnerUnknownError())).toEqual({
      message: 'SLS Desktop konnte nicht prüfen, ob dieses Fenster zu Ihrem Benutzerkonto gehört.',
      action: 'Starten Sie SLS Desktop neu.',
    });
    applyLanguage('fr');
    expect(describeConnectError(new HostOwnerUnknownError())).toEqual({
      message: "SLS Desktop n'a pas pu vérifier que cette fenêtre appartient à votre compte utilisateur.",
      action: 'Redémarrez SLS Desktop.',
    });
  });
});
