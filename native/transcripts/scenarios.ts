/**
 * The sessions recorded into native/transcripts/*.txt, run the same way when recording (against the
 * emulator) and when replaying (against the transcript).
 *
 * Everything the host sends must be deterministic for a replay to match: the INIT nonce comes from
 * a fixed generator, and the PIN is typed (on the emulator only) when the card first reports
 * "waiting for PIN".
 */
import { DscPlusClient, PinInvalidError, UserCancelledError } from '../dscplus-client.ts';
import type { HidChannel } from '../transport.ts';

/** The card the transcripts were recorded with (secret and PIN are test values). */
export const TRANSCRIPT_CARD = {
  serial: '4000000042',
  secret: new Uint8Array(32).map((_, i) => i + 1),
  pin: '1357',
} as const;

/** Deterministic INIT nonces: 01 02 03 …, counting on from call to call. */
export function fixedNonces(): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => new Uint8Array(n).map(() => ++counter & 0xff);
}

/** What a session needs from the card besides the channel: typing on its keypad (a no-op in replay). */
export interface CardHands {
  enterPin(pin: string): void;
  pressCancel(): void;
}

export interface ScenarioResult {
  readonly [key: string]: unknown;
}

export type Scenario = (channel: HidChannel, hands: CardHands) => Promise<ScenarioResult>;

function onFirstPinWait(action: () => void): (status: string) => void {
  let done = false;
  return (status) => {
    if (status === 'waiting_for_pin' && !done) {
      done = true;
      action();
    }
  };
}

export const SCENARIOS: Record<string, Scenario> = {
  /** INIT, INFO, RESPOND with the right PIN. */
  'respond-success': async (channel, hands) => {
    const client = await DscPlusClient.connect(channel, { rng: fixedNonces() });
    const info = await client.info();
    const response = await client.respond('314159', { onStatus: onFirstPinWait(() => hands.enterPin(TRANSCRIPT_CARD.pin)) });
    await client.close();
    return { cid: client.cid, info, response };
  },
  /** A wrong PIN: ERROR PIN_INVALID, then the follow-up INFO for the tries left. */
  'respond-wrong-pin': async (channel, hands) => {
    const client = await DscPlusClient.connect(channel, { rng: fixedNonces() });
    const error = await client.respond('271828', { onStatus: onFirstPinWait(() => hands.enterPin('0000')) }).catch((e: unknown) => e);
    await client.close();
    return { error: error instanceof PinInvalidError ? { name: error.name, triesLeft: error.triesLeft } : String(error) };
  },
  /** The host cancels a RESPOND waiting for the PIN: ERROR USER_CANCELLED. */
  'respond-cancel': async (channel) => {
    const client = await DscPlusClient.connect(channel, { rng: fixedNonces() });
    const error = await client.respond('161803', { onStatus: onFirstPinWait(() => void client.cancel()) }).catch((e: unknown) => e);
    await client.close();
    return { error: error instanceof UserCancelledError ? error.name : String(error) };
  },
  /** A PING of 200 bytes: one initialization packet and three continuations each way. */
  'ping-multipacket': async (channel) => {
    const client = await DscPlusClient.connect(channel, { rng: fixedNonces() });
    const data = new Uint8Array(200).map((_, i) => (i * 13) & 0xff);
    const echo = await client.ping(data);
    await client.close();
    return { echoed: Buffer.from(echo).equals(Buffer.from(data)) };
  },
};
