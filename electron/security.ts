/**
 * Which frames may call the host over IPC, and where no frame may go (SPEC C3), testable without Electron.
 */
import { APP_HOST, APP_SCHEME } from './app-protocol.ts';

/**
 * GitHub Desktop's isTrustedIPCSender: the sender frame must show our renderer, not an iframe or a navigated-away frame.
 *
 * Our renderer is whatever `app://sls` serves (electron/app-protocol.ts): the packaged renderer
 * folder and nothing else, so the origin alone says the page is ours. Exactly that origin: not
 * file:// (the app no longer loads from it, and every local file would share it), no other host,
 * no port, no user info. The path and fragment are the page's own business.
 */
export function isTrustedSenderUrl(frameUrl: string | undefined | null): boolean {
  if (!frameUrl) return false;
  try {
    const u = new URL(frameUrl);
    // Node's URL gives non-special schemes an opaque origin ('null'), so compare the parts, not `u.origin`.
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

/** What a navigation event carries that the hardening reads (Electron's `Event<…Params>`; older forms pass less). */
export interface NavigationEventLike {
  preventDefault(): void;
  readonly url?: string;
  readonly isMainFrame?: boolean;
}

/** What a refused navigation, redirect, webview or window is logged as: never the full URL (it may carry a query). */
export interface RefusedNavigation {
  readonly event: 'will-navigate' | 'will-frame-navigate' | 'will-redirect' | 'will-attach-webview' | 'window-open';
  /** The target's origin (`https://evil.example`), or its scheme alone for a URL without a host (`data:`, `javascript:`). */
  readonly to: string;
  readonly mainFrame?: boolean;
}

/**
 * The part of Electron's WebContents `hardenWebContents` uses, so it runs against a stub under Node.
 * Each event its own overload, as in electron.d.ts, so a real WebContents fits.
 */
export interface HardenableContents {
  on(event: 'will-navigate', listener: (event: NavigationEventLike) => void): unknown;
  on(event: 'will-frame-navigate', listener: (event: NavigationEventLike) => void): unknown;
  on(event: 'will-redirect', listener: (event: NavigationEventLike) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: NavigationEventLike, webPreferences: unknown, params: Record<string, string>) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

/** `https://evil.example/a?b` → `https://evil.example`; `data:text/html,…` → `data:`; never more of the URL. */
export function navigationTarget(url: string | undefined): string {
  if (!url) return '(none)';
  try {
    const u = new URL(url);
    return u.host ? `${u.protocol}//${u.host}` : u.protocol;
  } catch {
    return '(not a URL)';
  }
}

/**
 * Electron's security checklist, "Disable or limit navigation", "Disable or limit creation of new
 * windows" and "Verify WebView options before creation" (SPEC C3), for every WebContents the app makes.
 *
 * The renderer is one page, `app://sls/index.html` (electron/app-protocol.ts), loaded by the main
 * process's `loadURL` (which these events do not see); its screens change the hash and history
 * state, which are not navigations either. So no frame ever has a reason to navigate, and every
 * navigation a page or a user starts is refused, in any frame: that is each one away from `app://sls`
 * and, as nothing needs them, those within it too (no URL to parse, so no parser trick gets through).
 * - `will-frame-navigate` (Electron ≥ 25): the main frame and every subframe. An iframe the CSP let in
 *   (`default-src 'self'`) or an injected one cannot take the user elsewhere inside the window.
 *   Electron emits it first, and `will-navigate` only for a main-frame navigation it let through.
 * - `will-navigate`: the main frame; kept as a second line (and for Electronegativity's check).
 * - `will-redirect`: a server-side redirect in any frame (app:// never redirects).
 * - `will-attach-webview`: no `<webview>` (webviewTag is false too; this holds if that ever changes).
 * - new windows (`window.open`, `target=_blank`, middle-click): denied.
 */
export function hardenWebContents(contents: HardenableContents, onRefused: (refused: RefusedNavigation) => void = () => {}): void {
  contents.on('will-navigate', (e) => {
    e.preventDefault();
    onRefused({ event: 'will-navigate', to: navigationTarget(e.url), mainFrame: true });
  });
  contents.on('will-frame-navigate', (e) => {
    e.preventDefault();
    onRefused({ event: 'will-frame-navigate', to: navigationTarget(e.url), mainFrame: e.isMainFrame === true });
  });
  contents.on('will-redirect', (e) => {
    e.preventDefault();
    onRefused({ event: 'will-redirect', to: navigationTarget(e.url), mainFrame: e.isMainFrame === true });
  });
  contents.on('will-attach-webview', (e, _webPreferences, params) => {
    e.preventDefault();
    onRefused({ event: 'will-attach-webview', to: navigationTarget(params['src']) });
  });
  contents.setWindowOpenHandler(({ url }) => {
    onRefused({ event: 'window-open', to: navigationTarget(url) });
    return { action: 'deny' };
  });
}
