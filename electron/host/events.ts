/**
 * Host→renderer events: one hub the services emit into and each transport (IPC, WebSocket) reads.
 *
 * Payloads are parsed with the contract's schemas before they leave, like call outputs.
 */
import { EVENTS } from '../../core/contract/index.ts';
import type { EventName, EventPayload } from '../../core/contract/index.ts';

export type EventListener = (event: EventName, payload: unknown) => void;

export interface EventHub {
  emit<E extends EventName>(event: E, payload: EventPayload<E>): void;
  subscribe(listener: EventListener): () => void;
}

export function createEventHub(): EventHub {
  const listeners = new Set<EventListener>();
  return {
    emit(event, payload) {
      const checked = EVENTS[event].parse(payload);
      for (const l of listeners) l(event, checked);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
