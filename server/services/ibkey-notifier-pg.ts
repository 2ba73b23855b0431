/**
 * ApprovalNotifier over PostgreSQL LISTEN/NOTIFY: several slsd on one database wake each other (SPEC N1).
 *
 * One dedicated connection LISTENs on one channel; a notification's payload is the topic
 * (`tx:<id>`, `user:<id>`). A notify also wakes this process at once. If the connection breaks, the
 * waiters still see every change through their periodic re-read (ibkey-notifier.ts `waitFor`), and
 * the listener reconnects: at once when PostgreSQL ends it (a restart, a failover), and within a
 * heartbeat when the network loses it without a word (a firewall's or NAT's idle timeout, a host
 * gone), which a connection that only listens would never notice.
 */
import type pg from 'pg';
import { pgOptions } from '../db/pg-config.ts';
import { InProcessApprovalNotifier } from './ibkey-notifier.ts';
import type { ApprovalNotifier, ApprovalSubscription } from './ibkey-notifier.ts';

export const IBKEY_NOTIFY_CHANNEL = 'sls_ibkey';

export interface ListenerTiming {
  /** How often the listening connection is asked `SELECT 1`; it also keeps the connection from looking idle. */
  readonly heartbeatMs: number;
  /** How long an answer (the heartbeat, LISTEN itself) may take before the connection is taken for dead. */
  readonly answerMs: number;
  /** The first wait before connecting again; it doubles up to `maxReconnectMs`. */
  readonly reconnectMs: number;
  readonly maxReconnectMs: number;
}

const DEFAULT_TIMING: ListenerTiming = { heartbeatMs: 30_000, answerMs: 10_000, reconnectMs: 1000, maxReconnectMs: 5000 };

/** The socket under a pg client (not in pg's types): closing it ends the connection whatever state it is in. */
function destroySocket(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/** `promise`, or `client`'s connection closed when it takes longer than `ms`. */
async function answeredWithin<T>(client: pg.Client, promise: Promise<T>, ms: number): Promise<T> {
  const timer = setTimeout(() => destroySocket(client), ms);
  try {
    return await promise;
  } finally {
    clearTimeout(timer);
  }
}

export class PgApprovalNotifier implements ApprovalNotifier {
  readonly #local = new InProcessApprovalNotifier();
  readonly #connectionString: string;
  readonly #timing: ListenerTiming;
  #client: pg.Client | null = null;
  #closed = false;
  #reconnect: NodeJS.Timeout | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #nextWaitMs: number;
  /** Said once per outage, not at every attempt. */
  #warned = false;

  private constructor(connectionString: string, timing: ListenerTiming) {
    this.#connectionString = connectionString;
    this.#timing = timing;
    this.#nextWaitMs = timing.reconnectMs;
  }

  /**
   * Listens on `connectionString`'s database. A first connection that fails does not fail slsd's
   * start (the database was just migrated through the pool): it is said once and tried again.
   */
  static async connect(connectionString: string, timing: Partial<ListenerTiming> = {}): Promise<PgApprovalNotifier> {
    const n = new PgApprovalNotifier(connectionString, { ...DEFAULT_TIMING, ...timing });
    await n.#attempt();
    return n;
  }

  async #attempt(): Promise<void> {
    try {
      await this.#open();
      this.#warned = false;
      this.#nextWaitMs = this.#timing.reconnectMs;
    } catch (err) {
      if (!this.#warned && !this.#closed) {
        this.#warned = true;
        const e = err as { code?: string; message?: string };
        process.emitWarning(
          `IB Key wake-ups from other slsd processes (PostgreSQL LISTEN) have no connection (${e.code ?? e.message}): trying again; meanwhile waiters look again every second`,
          'SlsDatabaseWarning',
        );
      }
      this.#scheduleReconnect();
    }
  }

  async #open(): Promise<void> {
    // pg is loaded here, not at import: a SQLite slsd never pays for it (issue 7: memory).
    const { default: pgModule } = await import('pg');
    const client = new pgModule.Client(pgOptions(this.#connectionString, 'listener'));
    client.on('notification', (m) => {
      if (m.channel === IBKEY_NOTIFY_CHANNEL && m.payload) this.#local.notify(m.payload);
    });
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    try {
      await client.connect(); // within PG_CONNECT_TIMEOUT_MS (pg-config.ts)
      await answeredWithin(client, client.query(`LISTEN ${IBKEY_NOTIFY_CHANNEL}`), this.#timing.answerMs);
    } catch (err) {
      destroySocket(client);
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#heartbeat = setInterval(() => {
      answeredWithin(client, client.query('SELECT 1'), this.#timing.answerMs).catch(() => this.#lost(client));
    }, this.#timing.heartbeatMs);
    this.#heartbeat.unref();
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = null;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    destroySocket(client);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#reconnect) return;
    const wait = this.#nextWaitMs;
    this.#nextWaitMs = Math.min(wait * 2, this.#timing.maxReconnectMs);
    this.#reconnect = setTimeout(() => {
      this.#reconnect = null;
      if (!this.#closed) void this.#attempt();
    }, wait);
    this.#reconnect.unref();
  }

  notify(topic: string): void {
    this.#local.notify(topic);
    // Fire and forget: a lost notification only delays a waiter until its next re-read.
    this.#client?.query('SELECT pg_notify($1, $2)', [IBKEY_NOTIFY_CHANNEL, topic]).catch(() => undefined);
  }

  subscribe(topics: readonly string[]): ApprovalSubscription {
    return this.#local.subscribe(topics);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#reconnect) clearTimeout(this.#reconnect);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    const c = this.#client;
    this.#client = null;
    // A connection the network lost never answers the goodbye: closed after a second, not waited on for ever.
    if (c) await answeredWithin(c, c.end(), 1000).catch(() => undefined);
  }
}
