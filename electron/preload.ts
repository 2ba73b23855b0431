/**
 * The preload: a small domain API on `window.sls`, never `ipcRenderer` itself (Bitwarden's rule).
 *
 * One promise-returning method per contract call, plus `on(event, listener)` for the events the
 * contract names. Runs sandboxed, so it is bundled to CommonJS with nothing but `electron` external.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { CALL_NAMES, callChannel, eventChannel, isEventName } from '../core/contract/names.ts';
import type { EventName } from '../core/contract/names.ts';

const api: Record<string, unknown> = {};
for (const name of CALL_NAMES) {
  api[name] = (input?: unknown) => ipcRenderer.invoke(callChannel(name), input ?? {});
}
api.on = (event: EventName, listener: (payload: unknown) => void) => {
  if (!isEventName(event) || typeof listener !== 'function') throw new TypeError('unknown event');
  const channel = eventChannel(event);
  // The IPC event object (with its sender) stays here; the page gets the payload only.
  const handler = (_e: unknown, payload: unknown) => listener(payload);
  ipcRenderer.on(channel, handler);
  return () => ipcRenderer.removeListener(channel, handler);
};

contextBridge.exposeInMainWorld('sls', Object.freeze(api));
