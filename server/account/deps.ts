/**
 * What the account-security services need from slsd's services, in one object.
 */
import { SlsError } from '../errors.ts';
import type { Services } from '../services/index.ts';
import { appendAudit } from '../services/audit.ts';
import type { AuditEntry } from '../services/audit.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { ConfirmationContext } from './confirmations.ts';
import { accountDb } from './schema.ts';
import type { AccountDb } from './schema.ts';

/** The security events of account security (SPEC N2), written to the same append-only audit log. */
export type AccountAuditEvent =
  | 'withdrawal.confirmed'
  | 'withdrawal.refused'
  | 'withdrawal.response_failed'
  | 'device.ordered'
  | 'device.order_refused'
  | 'device.sent'
  | 'device.activated'
  | 'device.self_activated'
  | 'device.status_changed'
  | 'device.order_cancelled'
  | 'mobile.code_sent'
  | 'mobile.code_not_sent'
  | 'mobile.code_failed'
  | 'mobile.refused'
  | 'mobile.verified'
  | 'mobile.do_not_call_added'
  | 'mobile.do_not_call_removed'
  | 'sms.refused'
  | 'sms.dropped'
  | 'sls.opted_out'
  | 'sls.opted_in'
  | 'sharing.started'
  | 'sharing.verified'
  | 'sharing.owner_password_failed'
  | 'sharing.refused'
  | 'sharing.pending_compliance'
  | 'sharing.approved'
  | 'sharing.rejected'
  | 'sharing.cancelled'
  | 'temporary_access.online_card_issued'
  | 'restart.token_issued'
  | 'restart.failed'
  | 'restart.revoked'
  | 'login.restarted';

export interface AccountAuditEntry extends Omit<AuditEntry, 'event'> {
  readonly event: AccountAuditEvent;
}

export interface AccountDeps extends ConfirmationContext {
  readonly adb: AccountDb;
  readonly services: Services;
  audit(entry: AccountAuditEntry): Promise<void>;
}

/** Append to the audit log (SPEC N2) like `appendAudit`, with the account-security events. Never a secret in details. */
export async function appendAccountAudit(adb: AccountDb, at: number, entry: AccountAuditEntry): Promise<void> {
  // The account tables only add to the base schema; audit_log is the base one, so the base writer serves.
  await appendAudit(adb as unknown as Kysely<Database>, at, entry);
}

export function accountDeps(services: Services): AccountDeps {
  const adb = accountDb(services.db);
  return {
    db: services.db,
    adb,
    box: services.box,
    config: services.config,
    sms: services.sms,
    now: services.now,
    services,
    audit: (e) => appendAccountAudit(adb, services.now(), e),
    // SPEC L6: confirmations check the user lock and the address throttle (account/confirmations.ts).
    throttle: services.throttle,
    async recordFailure(usernameNormalized, sourceAddress) {
      const lockedUntil = await services.throttle.recordFailure(usernameNormalized, sourceAddress);
      if (lockedUntil !== null) {
        throw new SlsError('SLS_ERR_USER_LOCKED', { lockedUntil: new Date(lockedUntil).toISOString() });
      }
    },
  };
}
