/**
 * The seam for the DSC+ over USB (SPEC C2): what the host needs from the device layer.
 *
 * `native/device-manager.ts` (hot-plug, which card is whose) will implement this; until then the
 * host runs with `createNoDscPlusService()`, and the renderer's typed-response path is the only
 * one. The host forwards attach/detach to the renderer as `dscplusAttached`/`dscplusDetached`
 * events and marks the matching device `connected` in the drop-down.
 */
import type { DscPlusStatus } from '../../core/contract/index.ts';

export type DscPlusEvent = { type: 'attached'; serial: string } | { type: 'detached'; serial: string };

export interface DscPlusService {
  /** Serials of the cards plugged in now. */
  connected(): readonly string[];
  /** Hot-plug events; returns an unsubscribe function. */
  subscribe(listener: (event: DscPlusEvent) => void): () => void;
  /**
   * Send a challenge to the card, report keep-alive status while the user types the PIN on the
   * card (SPEC H2: the PIN never crosses USB), and resolve with the response code.
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
