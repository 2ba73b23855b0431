/**
 * The account-security tables and their migration (SPEC W1–W4, D1, D6–D8, T1–T3, S1–S6, O1–O3, P1–P5, L8).
 *
 * Portable SQL like the rest: times as epoch ms (bigint), money as integer US cents (bigint), flags
 * as integers, ids as random text. Registered as its own migration in `server/db/migrations.ts`;
 * services see these tables through `db.withTables<AccountTables>()` (Kysely), so the shared
 * `Database` type needs no change.
 */
import type { Kysely, Migration, Transaction } from 'kysely';
import type { SharingEndReason } from '../../core/account-api.ts';
import type { DeviceKind } from '../../core/devices.ts';
import type { Database } from '../db/schema.ts';
import type { SqlDialect } from '../db/migrations.ts';

/** A confirmed withdrawal (SPEC W4: one row per idempotency key and user, never two). */
export interface WithdrawalTable {
  id: string;
  user_id: string;
  account_id: string;
  amount_cents: number;
  /** Chosen by the client; unique per user (W4). */
  idempotency_key: string;
  /** SHA-256 of the request's meaning (account and amount): the same key with another body is a conflict. */
  request_hash: string;
  /** The confirming device (W1). */
  device_id: string;
  device_kind: DeviceKind;
  confirmation_id: string;
  created_at: number;
}

/**
 * One row per user, updated first in every withdrawal transaction: the row lock that serializes a
 * user's withdrawals on PostgreSQL (an UPDATE holds it to commit) and takes SQLite's write lock at
 * the transaction's first statement (W4).
 */
export interface WithdrawalLedgerTable {
  user_id: string;
  version: number;
  updated_at: number;
}

export type ConfirmationPurpose = 'withdrawal' | 'sharing' | 'activate_device';
export type ConfirmationState = 'challenge' | 'answered' | 'used' | 'ended';

/**
 * A fresh challenge for one portal action (SPEC W1 "the confirming device", S3, D6): like a login
 * transaction, single-use, bound to its purpose and subject, 3 wrong answers end it (L6).
 */
export interface ConfirmationTable {
  id: string;
  user_id: string;
  purpose: ConfirmationPurpose;
  /** JSON of what is confirmed: the amount and account of a withdrawal, the sharing request id, … */
  subject: string;
  device_id: string;
  /** The user whose device answers (the owner in sharing, S3); usually `user_id`. */
  device_user_id: string;
  challenge: string | null;
  code_hash: string | null;
  challenge_expires_at: number | null;
  resend_available_at: number | null;
  wrong_responses: number;
  state: ConfirmationState;
  source_address: string;
  created_at: number;
  expires_at: number;
  answered_at: number | null;
  used_at: number | null;
}

export type SharingState = 'started' | 'verified' | 'pending_compliance' | 'approved' | 'rejected' | 'cancelled';

/** A request to share another user's physical device (SPEC S3–S5). */
export interface SharingRequestTable {
  id: string;
  requester_user_id: string;
  owner_user_id: string;
  device_id: string;
  state: SharingState;
  needs_compliance: number;
  /** JSON array of the requester's device ids set inactive on approval (S5), reactivated on cancel. */
  deactivated_device_ids: string;
  created_at: number;
  verified_at: number | null;
  decided_at: number | null;
  decided_by: string | null;
  cancelled_at: number | null;
  /** SPEC S3–S5: what ended it (cancelled or rejected), set with its final state; null while open, and for requests ended before migration 0015. */
  ended_reason: SharingEndReason | null;
}

/** SPEC O1–O3: a user opted out of the second factor for trading-platform login. */
export interface SlsOptOutTable {
  user_id: string;
  opted_out_at: number;
  opted_out_by: string;
}

/** SPEC P2: numbers that may not receive SMS, managed by `slsctl dnc`. */
export interface DoNotCallTable {
  number: string;
  added_at: number;
  added_by: string;
  note: string | null;
}

/** SPEC P1: a number waiting for its SMS code to be typed back. */
export interface MobileVerificationTable {
  id: string;
  user_id: string;
  number: string;
  code_hash: string;
  created_at: number;
  /** When the SMS may be delivered (P2 deferral); the code lives from then. */
  deliver_at: number;
  expires_at: number;
  resend_available_at: number;
  wrong_attempts: number;
  verified_at: number | null;
  ended_at: number | null;
}

export type DeviceOrderState = 'ordered' | 'sent' | 'activated' | 'cancelled';

/** A DSC+ ordered by a user (SPEC D6) or as a replacement (D8); the device row exists once sent. */
export interface DeviceOrderTable {
  id: string;
  user_id: string;
  account_id: string;
  kind: DeviceKind;
  reason: 'new' | 'replacement';
  replaces_device_id: string | null;
  state: DeviceOrderState;
  device_id: string | null;
  created_at: number;
  sent_at: number | null;
  /** SPEC T3: activates itself at this time if the user has not. */
  self_activates_at: number | null;
  activated_at: number | null;
}

/** SPEC D8: deposits recorded on an account (a replacement DSC+: USD 20), not charged by SLS. */
export interface AccountDepositTable {
  id: string;
  account_id: string;
  order_id: string | null;
  amount_cents: number;
  reason: string;
  recorded_at: number;
}

/** SPEC T2: an online Security Code Card valid for 21 days. */
export interface OnlineCardTable {
  device_id: string;
  user_id: string;
  issued_at: number;
  valid_until: number;
}

/** SPEC L8: auto-restart tokens, stored as SHA-256, invalid after the weekly cut-off. */
export interface RestartTokenTable {
  id: string;
  user_id: string;
  token_hash: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  revoked_at: number | null;
  /** The session that holds it (asked for it, or was opened by the restart that handed it out); null before migration 0011. */
  session_id: string | null;
  /** The full-login session its chain of rotations began with (SPEC L8); null before migration 0011. */
  chain_session_id: string | null;
  /** The second factor of that full login (SPEC D8: its report revokes the chain); null before migration 0011. */
  device_id: string | null;
}

// A type alias, not an interface: Kysely's withTables wants an index-compatible record.
export type AccountTables = {
  withdrawals: WithdrawalTable;
  withdrawal_ledgers: WithdrawalLedgerTable;
  confirmations: ConfirmationTable;
  sharing_requests: SharingRequestTable;
  sls_opt_outs: SlsOptOutTable;
  do_not_call: DoNotCallTable;
  mobile_verifications: MobileVerificationTable;
  device_orders: DeviceOrderTable;
  account_deposits: AccountDepositTable;
  online_cards: OnlineCardTable;
  restart_tokens: RestartTokenTable;
  /**
   * The outbox gains a not-before time (P2 deferral, this migration), and the dispatcher's marks
   * (`0004_sms_dispatch`): when a deferred row went out, or why it was dropped (e.g. do-not-call).
   */
  sms_outbox: Database['sms_outbox'] & { not_before: number | null; sent_at: number | null; dropped_reason: string | null };
};

export type AccountDb = Kysely<Database & AccountTables>;
export type AccountTrx = Transaction<Database & AccountTables>;

export function accountDb(db: Kysely<Database>): AccountDb {
  return db.withTables<AccountTables>();
}

// Migrations build their own tables, so they see the database as untyped.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/** Migration `0003_account_security`: the tables above. */
export function accountSecurityMigration(_dialect: SqlDialect): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('withdrawals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('amount_cents', 'bigint', (c) => c.notNull())
        .addColumn('idempotency_key', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('device_kind', 'text', (c) => c.notNull())
        .addColumn('confirmation_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('withdrawals_user_key', ['user_id', 'idempotency_key'])
        .execute();
      await db.schema.createIndex('withdrawals_user_time').on('withdrawals').columns(['user_id', 'created_at']).execute();

      await db.schema
        .createTable('withdrawal_ledgers')
        .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id'))
        .addColumn('version', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('confirmations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('device_user_id', 'text', (c) => c.notNull())
        .addColumn('challenge', 'text')
        .addColumn('code_hash', 'text')
        .addColumn('challenge_expires_at', 'bigint')
        .addColumn('resend_available_at', 'bigint')
        .addColumn('wrong_responses', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('source_address', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('answered_at', 'bigint')
        .addColumn('used_at', 'bigint')
        .execute();

      await db.schema
        .createTable('sharing_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('requester_user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('owner_user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('needs_compliance', 'integer', (c) => c.notNull())
        .addColumn('deactivated_device_ids', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('verified_at', 'bigint')
        .addColumn('decided_at', 'bigint')
        .addColumn('decided_by', 'text')
        .addColumn('cancelled_at', 'bigint')
        .execute();
      await db.schema.createIndex('sharing_requests_requester').on('sharing_requests').columns(['requester_user_id', 'state']).execute();

      await db.schema
        .createTable('sls_opt_outs')
        .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id'))
        .addColumn('opted_out_at', 'bigint', (c) => c.notNull())
        .addColumn('opted_out_by', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('do_not_call')
        .addColumn('number', 'text', (c) => c.primaryKey())
        .addColumn('added_at', 'bigint', (c) => c.notNull())
        .addColumn('added_by', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .execute();

      await db.schema
        .createTable('mobile_verifications')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('number', 'text', (c) => c.notNull())
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('deliver_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('resend_available_at', 'bigint', (c) => c.notNull())
        .addColumn('wrong_attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('verified_at', 'bigint')
        .addColumn('ended_at', 'bigint')
        .execute();
      await db.schema.createIndex('mobile_verifications_user').on('mobile_verifications').columns(['user_id', 'created_at']).execute();

      await db.schema
        .createTable('device_orders')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('replaces_device_id', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('sent_at', 'bigint')
        .addColumn('self_activates_at', 'bigint')
        .addColumn('activated_at', 'bigint')
        .execute();

      await db.schema
        .createTable('account_deposits')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('order_id', 'text')
        .addColumn('amount_cents', 'bigint', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('recorded_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('online_cards')
        .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('issued_at', 'bigint', (c) => c.notNull())
        .addColumn('valid_until', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('restart_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .execute();

      await db.schema.alterTable('sms_outbox').addColumn('not_before', 'bigint').execute();
    },
  };
}

/**
 * Migration `0004_sms_dispatch`: deferred SMS (P2) are sent by the dispatcher (server/sms/policy.ts),
 * which marks each row sent, or dropped with its reason. Rows written before have no deferral.
 */
export function smsDispatchMigration(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema.alterTable('sms_outbox').addColumn('sent_at', 'bigint').execute();
      await db.schema.alterTable('sms_outbox').addColumn('dropped_reason', 'text').execute();
    },
  };
}
