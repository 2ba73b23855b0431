/**
 * Wake-ups for IB Key long-polls: the desktop waiting on its login, the app waiting for pushes.
 *
 * The truth is always in the database; a notification only says "look again". In one process an
 * EventEmitter does it; with several slsd on PostgreSQL (SPEC N1) an implementation of the same
 * interface over `LISTEN/NOTIFY` replaces it. Waiters also look again on a short interval, so a
 * change made by another process (slsctl, another slsd without NOTIFY) is seen within a second.
 */
import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';

export interface ApprovalNotifier {
  /** Tells every waiter on `topic` (e.g. `tx:<id>`, `user:<id>`) to look again. */
  notify(topic: string): void;
  /**
   * Starts listening on topics at once (before the caller reads the database, so nothing is missed);
   * `wait` resolves on the first notification or after `timeoutMs`.
   */
  subscribe(topics: readonly string[]): ApprovalSubscription;
}

export interface ApprovalSubscription {
  wait(timeoutMs: number): Promise<void>;
  close(): void;
}

/** The in-process notifier (SQLite, one slsd). */
export class InProcessApprovalNotifier implements ApprovalNotifier {
  readonly #events = new EventEmitter();

  constructor() {
    this.#events.setMaxListeners(0);
  }

  notify(topic: string): void {
    this.#events.emit(topic);
  }

  subscribe(topics: readonly string[]): ApprovalSubscription {
    let fired = false;
    let wake: (() => void) | null = null;
    const onEvent = () => {
      fired = true;
      wake?.();
    };
    for (const t of topics) this.#events.on(t, onEvent);
    return {
      wait: (timeoutMs) =>
        new Promise<void>((resolve) => {
          if (fired) {
            fired = false;
            resolve();
            return;
          }
          const timer = setTimeout(done, timeoutMs);
          function done() {
            clearTimeout(timer);
            wake = null;
            fired = false;
            resolve();
          }
          wake = done;
        }),
      close: () => {
        for (const t of topics) this.#events.off(t, onEvent);
        wake?.();
      },
    };
  }
}

/**
 * The notifier of a database handle.
 *
 * Verifiers only get the database in their context; the IB Key service registers its notifier for
 * the handle so the push verifier can wake the app when it creates a request.
 */
const registry = new WeakMap<object, ApprovalNotifier>();

export function registerNotifier(db: Kysely<never> | object, notifier: ApprovalNotifier): void {
  registry.set(db, notifier);
}

export function notifierOf(db: object): ApprovalNotifier | undefined {
  return registry.get(db);
}

/**
 * Waits until `check` gives a value or the time is up: wakes on notifications and looks again at
 * least every `recheckMs` (changes made by other processes).
 */
export async function waitFor<T>(
  notifier: ApprovalNotifier,
  topics: readonly string[],
  waitMs: number,
  check: () => Promise<T | null>,
  recheckMs = 1000,
  /** slsd is stopping: look once more and answer now (the caller polls again, elsewhere or later). */
  stop?: AbortSignal,
): Promise<T | null> {
  const deadline = Date.now() + waitMs;
  const sub = notifier.subscribe(topics);
  // close() wakes a pending wait (both notifiers), so a stop ends the wait at once.
  const onStop = () => sub.close();
  stop?.addEventListener('abort', onStop, { once: true });
  try {
    for (;;) {
      const found = await check();
      if (found !== null) return found;
      const left = deadline - Date.now();
      if (left <= 0 || stop?.aborted) return null;
      await sub.wait(Math.min(left, recheckMs));
    }
  } finally {
    stop?.removeEventListener('abort', onStop);
    sub.close();
  }
}
