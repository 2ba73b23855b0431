/**
 * ApprovalNotifier over PostgreSQL LISTEN/NOTIFY: several slsd on one database wake each other (SPEC N1).
 *
 * One dedicated connection LISTENs on one channel; a notification's payload is the topic
 * (`tx:<id>`, `user:<id>`). A notify also wakes this process at once. If the connection breaks, the
 * waiters still see every change through their periodic re-read (ibkey-notifier.ts `waitFor`), and
 * the listener reconnects.
 */
import type pg from 'pg';
import { InProcessApprovalNotifier } from './ibkey-notifier.ts';
import type { ApprovalNotifier, ApprovalSubscription } from './ibkey-notifier.ts';

export const IBKEY_NOTIFY_CHANNEL = 'sls_ibkey';
const RECONNECT_MS = 5_000;

export class PgApprovalNotifier implements ApprovalNotifier {
  readonly #local = new InProcessApprovalNotifier();
  readonly #connectionString: string;
  #client: pg.Client | null = null;
  #closed = false;
  #reconnect: NodeJS.Timeout | null = null;

  private constructor(connectionString: string) {
    this.#connectionString = connectionString;
  }

  static async connect(connectionString: string): Promise<PgApprovalNotifier> {
    const n = new PgApprovalNotifier(connectionString);
    await n.#open();
    return n;
  }

  async #open(): Promise<void> {
    // pg is loaded here, not at import: a SQLite slsd never pays for it (issue 7: memory).
    const { default: pgModule } = await import('pg');
    const client = new pgModule.Client({ connectionString: this.#connectionString });
    client.on('notification', (m) => {
      if (m.channel === IBKEY_NOTIFY_CHANNEL && m.payload) this.#local.notify(m.payload);
    });
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    await client.connect();
    await client.query(`LISTEN ${IBKEY_NOTIFY_CHANNEL}`);
    this.#client = client;
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = null;
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#reconnect) return;
    this.#reconnect = setTimeout(() => {
      this.#reconnect = null;
      if (!this.#closed) this.#open().catch(() => this.#scheduleReconnect());
    }, RECONNECT_MS);
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
    const c = this.#client;
    this.#client = null;
    await c?.end().catch(() => undefined);
  }
}
