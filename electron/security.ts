/**
 * Which frames may call the host over IPC (SPEC C3), testable without Electron.
 */
import { pathToFileURL } from 'node:url';

/** The renderer's page; only a main frame showing exactly this file may use the contract. */
export function rendererUrl(indexHtml: string): string {
  return pathToFileURL(indexHtml).href;
}

/** GitHub Desktop's isTrustedIPCSender: the sender frame must be our page, not an iframe or a navigated-away frame. */
export function isTrustedSenderUrl(frameUrl: string | undefined | null, trustedUrl: string): boolean {
  if (!frameUrl) return false;
  try {
    const u = new URL(frameUrl);
    const t = new URL(trustedUrl);
    return u.protocol === 'file:' && u.pathname === t.pathname && u.host === t.host;
  } catch {
    return false;
  }
}
