/**
 * The seam for the DSC+ over USB (SPEC C2): what the host needs from the device layer.
 *
 * `dscplus-devices.ts` implements it on `native/device-manager.ts` (USB and emulators, hot-plug);
 * hosts without it run `createNoDscPlusService()` and the typed response is the only path. The host
 * forwards attach/detach to the renderer as `dscplusAttached`/`dscplusDetached` events and marks
 * the matching device `connected` in the drop-down; `dscplus-login.ts` has the card answer the
 * challenge by itself.
 */
import type { DscPlusStatus } from '../../core/contract/index.ts';

export type DscPlusEvent = { type: 'attached'; serial: string } | { type: 'detached'; serial: string };

export interface DscPlusService {
  /** Serials of the cards plugged in now. */
  connected(): readonly string[];
  /** Hot-plug events; returns an unsubscribe function. */
  subscribe(listener: (event: DscPlusEvent) => void): () => void;
  /**
   * Send a challenge to the card, report its status while the user types the PIN on the card
   * (SPEC H2: the PIN never crosses USB), and resolve with the response code. `onStatus` is called
   * when the status or the tries left change, not for every KEEPALIVE the card sends.
   */
  respond(serial: string, challenge: string, onStatus: (status: DscPlusStatus) => void, signal?: AbortSignal): Promise<string>;
  close(): Promise<void>;
}

/** No USB DSC+ support in this host (yet): nothing is ever plugged in. */
export function createNoDscPlusService(): DscPlusService {
  return {
    connected: () => [],
    subscribe: () => () => {},
    respond: async () => {
      throw new Error('No DSC+ is connected');
    },
    close: async () => {},
  };
}
