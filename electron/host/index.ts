/**
 * Wires the host: slsd client, services, dispatcher and event hub, from injected stores.
 *
 * Both the Electron main process and the browser host call `createHost`; they differ only in the
 * settings store they pass (electron-store vs conf) and in the transport they put in front.
 */
import type { AppInfo } from '../../core/contract/index.ts';
import type { Keychain } from '../../native/keychain.ts';
import type { SettingsStore } from '../../native/settings.ts';
import { createDispatcher } from './dispatcher.ts';
import type { Dispatch } from './dispatcher.ts';
import { createNoDscPlusService } from './dscplus-service.ts';
import type { DscPlusService } from './dscplus-service.ts';
import { createEventHub } from './events.ts';
import type { EventHub } from './events.ts';
import { createHostServices } from './host-services.ts';
import type { HostClock, HostServices, OfferFile } from './host-services.ts';
import { createSlsdClient } from './slsd-client.ts';
import type { SlsdClient } from './slsd-client.ts';

export interface Host {
  dispatch: Dispatch;
  events: EventHub;
  services: HostServices;
  close(): Promise<void>;
}

export interface HostOptions {
  settings: SettingsStore;
  keychain: Keychain;
  appInfo: AppInfo;
  dscplus?: DscPlusService;
  /** Overrides the settings' server address (npm start, tests); the setting still shows what is used. */
  slsd?: SlsdClient;
  log?: (line: string) => void;
  clearCaches?: () => Promise<void>;
  /** Offers a file to the user (the online Security Code Card PDF): see HostServiceDeps.offerFile. */
  offerFile?: OfferFile;
  /** Wall clock and timers for the session's expiry (SPEC C1, C5); tests pass a fake one. */
  clock?: HostClock;
}

export function createHost(options: HostOptions): Host {
  const events = createEventHub();
  const slsd = options.slsd ?? createSlsdClient({ baseUrl: () => options.settings.read().serverAddress });
  const services = createHostServices({
    slsd,
    settings: options.settings,
    keychain: options.keychain,
    dscplus: options.dscplus ?? createNoDscPlusService(),
    events,
    appInfo: options.appInfo,
    ...(options.log ? { log: options.log } : {}),
    ...(options.clearCaches ? { clearCaches: options.clearCaches } : {}),
    ...(options.offerFile ? { offerFile: options.offerFile } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return { dispatch: createDispatcher(services, options.log), events, services, close: () => services.close() };
}

export type { Dispatch } from './dispatcher.ts';
export type { HostClock, OfferFile } from './host-services.ts';
export { SESSION_RECHECK_MS } from './host-services.ts';
export type { DscPlusService, DscPlusEvent } from './dscplus-service.ts';
export type { EventHub } from './events.ts';
