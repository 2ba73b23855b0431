/**
 * The audit log (SPEC N2): every security event, append-only.
 *
 * The table's triggers refuse UPDATE and DELETE; this module only inserts. Details are plain JSON
 * and never hold a secret (passwords, responses, codes, PINs, tokens): callers pass ids and counts.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';

/**
 * Audit events: the ones slsd's login and operator CLI write are listed (for documentation and
 * autocompletion); other services add their own `domain.action` names (withdrawal.confirmed, …).
 */
export type AuditEvent = KnownAuditEvent | `${string}.${string}`;

export type KnownAuditEvent =
  | 'login.password_failed'
  | 'login.response_failed'
  | 'login.transaction_ended'
  | 'login.succeeded'
  | 'login.device_switched'
  | 'user.locked'
  | 'user.unlocked'
  | 'user.created'
  | 'user.password_set'
  | 'address.rate_limited'
  | 'session.logout'
  | 'device.added'
  | 'device.status_changed'
  | 'temporary_access.issued'
  | 'entity.created'
  | 'account.created';

export interface AuditEntry {
  readonly event: AuditEvent;
  readonly userId?: string | null;
  readonly username?: string | null;
  readonly sourceAddress?: string | null;
  readonly deviceId?: string | null;
  readonly details?: Record<string, string | number | boolean | null>;
}

export async function appendAudit(db: Kysely<Database> | Transaction<Database>, at: number, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      at,
      event: entry.event,
      user_id: entry.userId ?? null,
      username: entry.username ?? null,
      source_address: entry.sourceAddress ?? null,
      device_id: entry.deviceId ?? null,
      details: JSON.stringify(entry.details ?? {}),
    })
    .execute();
}
