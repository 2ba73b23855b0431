/**
 * Which frames may call the host over IPC (SPEC C3), testable without Electron.
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
