/**
 * The real DscPlusService: cards found by native/device-manager.ts, answered over USB or the emulator's socket (SPEC C2, H2).
 *
 * `respond` reads the PIN tries left (INFO) so the screen can say "Enter your PIN on the card
 * (3 tries left)", sends RESPOND with the challenge only (the PIN is typed on the card and never
 * crosses USB, H2), reports the card's status when it changes (the card sends a KEEPALIVE every
 * 50–100 ms while it waits for the PIN: one `waiting_for_pin`, not one per KEEPALIVE), and after a
 * wrong PIN sends RESPOND again at once, until the card answers or blocks: the card itself keeps
 * "Wrong PIN, n left" on its Enter-PIN screen (native/emulator/device.ts), so no pause is needed for
 * the user to see it. Aborting the signal sends CANCEL (the client does it).
 */
import type { DscPlusStatus } from '../../core/contract/index.ts';
import type { DeviceManager, DscPlusDescriptor } from '../../native/device-manager.ts';
import { PinBlockedError, PinInvalidError } from '../../native/dscplus-client.ts';
import type { DscPlusEvent, DscPlusService } from './dscplus-service.ts';

/** The card's own PIN timeout when RESPOND asks for none (protocols/dscplus-hid.md: timeout 0 = device default 60). */
export const DEVICE_PIN_TIMEOUT_SECONDS = 60;

export interface DeviceManagerServiceOptions {
  /** How long the card waits for the PIN on each RESPOND, 1–255 s (the card's default of 60 s otherwise). */
  pinTimeoutSeconds?: number;
  /** Host log: serials and codes, never challenges or responses. */
  log?: (line: string) => void;
}

export interface DeviceManagerDscPlusService extends DscPlusService {
  /** Starts discovery; `attached` fires for the cards already present. */
  start(): Promise<void>;
}

/** A DscPlusService over a DeviceManager; `close()` stops the manager. */
export function createDeviceManagerDscPlusService(manager: DeviceManager, options: DeviceManagerServiceOptions = {}): DeviceManagerDscPlusService {
  const log = options.log ?? (() => {});
  const listeners = new Set<(event: DscPlusEvent) => void>();
  const emit = (event: DscPlusEvent) => {
    for (const l of listeners) l(event);
  };
  const onAttached = (d: DscPlusDescriptor) => {
    log(`DSC+ attached serial=${d.serial} source=${d.source}`);
    emit({ type: 'attached', serial: d.serial });
  };
  const onDetached = (d: DscPlusDescriptor) => {
    log(`DSC+ detached serial=${d.serial} source=${d.source}`);
    // The same serial may still be present by another way (USB and emulator both): only the last one counts.
    if (!manager.list().some((x) => x.serial === d.serial)) emit({ type: 'detached', serial: d.serial });
  };
  const onError = (e: Error) => log(`DSC+ discovery: ${e.name}: ${e.message}`);
  manager.on('attached', onAttached);
  manager.on('detached', onDetached);
  manager.on('error', onError);

  return {
    start: () => manager.start(),
    connected: () => [...new Set(manager.list().map((d) => d.serial))],
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async respond(serial, challenge, onStatus, signal) {
      let reported = '';
      // Only changes reach onStatus (and the renderer): the keep-alives repeat the same status.
      // Each RESPOND (again after a wrong PIN) has its own PIN timeout, so its own deadline.
      let pinTimeoutAt: string | undefined;
      const report = (state: DscPlusStatus['state'], pinTriesLeft: number | null) => {
        const deadline = state === 'waiting_for_pin' ? pinTimeoutAt : undefined;
        const key = `${state}:${pinTriesLeft}:${deadline}`;
        if (key === reported) return;
        reported = key;
        onStatus({ serial, state, ...(pinTriesLeft === null ? {} : { pinTriesLeft }), ...(deadline ? { pinTimeoutAt: deadline } : {}) });
      };
      const card = await manager.client(serial);
      const info = await card.info(signal ? { signal } : {});
      if (info.state === 'pin_blocked' || info.triesLeft === 0) throw new PinBlockedError();
      let triesLeft: number | null = info.triesLeft;
      report('sending_challenge', triesLeft);
      for (;;) {
        // The card's PIN timeout runs from the RESPOND (protocol: 0 means the device's default, 60 s).
        pinTimeoutAt = new Date(Date.now() + 1000 * (options.pinTimeoutSeconds || DEVICE_PIN_TIMEOUT_SECONDS)).toISOString();
        try {
          return await card.respond(challenge, {
            ...(signal ? { signal } : {}),
            ...(options.pinTimeoutSeconds ? { timeoutSeconds: options.pinTimeoutSeconds } : {}),
            onStatus: (s) => {
              if (s === 'waiting_for_pin') report('waiting_for_pin', triesLeft);
            },
          });
        } catch (e) {
          if (!(e instanceof PinInvalidError)) throw e;
          // SPEC H2: wrong PINs count down on the card; tell the user and ask again until it blocks.
          triesLeft = e.triesLeft ?? (triesLeft === null ? null : Math.max(0, triesLeft - 1));
          log(`DSC+ wrong PIN serial=${serial} triesLeft=${triesLeft ?? 'unknown'}`);
          if (triesLeft === 0) throw new PinBlockedError();
          report('wrong_pin', triesLeft);
          if (signal?.aborted) throw e;
        }
      }
    },
    async close() {
      manager.off('attached', onAttached);
      manager.off('detached', onDetached);
      manager.off('error', onError);
      listeners.clear();
      await manager.stop();
    },
  };
}
