/**
 * The audit log (SPEC N2): every security event, append-only.
 *
 * The table's triggers refuse UPDATE and DELETE; this module only inserts. Details are plain JSON
 * and never hold a secret (passwords, responses, codes, PINs, tokens): callers pass ids and counts.
 */
import type { Kysely, Transaction } from 'kysely';
import { prepared } from '../db/prepared.ts';
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
  | 'login.code_resent'
  | 'login.mode_switched'
  | 'login.challenge_renewed'
  | 'login.cancelled'
  | 'user.locked'
  | 'user.unlocked'
  | 'user.signed_out'
  | 'user.created'
  | 'user.password_set'
  | 'address.rate_limited'
  | 'address.unblocked'
  | 'restart.revoked'
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

/** The one insert of the audit log, compiled once (db/prepared.ts): every login step writes it. */
const insertEntry = prepared(
  'append an audit entry',
  (db, at: number, event: string, userId: string | null, username: string | null, sourceAddress: string | null, deviceId: string | null, details: string) =>
    db.insertInto('audit_log').values({ at, event, user_id: userId, username, source_address: sourceAddress, device_id: deviceId, details }),
);

export async function appendAudit(db: Kysely<Database> | Transaction<Database>, at: number, entry: AuditEntry): Promise<void> {
  const v = auditValues(entry);
  await insertEntry(db, at, v.event, v.user_id, v.username, v.source_address, v.device_id, v.details);
}

/** The columns of an entry's row, as `appendAudit` stores them: for a statement that writes the row itself (login.ts). */
export function auditValues(entry: AuditEntry): { event: string; user_id: string | null; username: string | null; source_address: string | null; device_id: string | null; details: string } {
  return {
    event: entry.event,
    user_id: entry.userId ?? null,
    username: entry.username ?? null,
    source_address: entry.sourceAddress ?? null,
    device_id: entry.deviceId ?? null,
    details: JSON.stringify(entry.details ?? {}),
  };
}
