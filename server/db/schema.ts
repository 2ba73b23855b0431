/**
 * The database's tables as Kysely types.
 *
 * Portable across SQLite and PostgreSQL: times are integer epoch milliseconds (bigint columns),
 * flags are integers, ids are random text, secrets are sealed text (SecretBox). Money is integer
 * US cents (bigint): exact, and sums stay integers.
 */
import type { Generated, Insertable, Selectable } from 'kysely';
import type { DeviceKind } from '../../core/devices.ts';
import type { IbKeyTables } from '../services/ibkey-schema.ts';

export type DeviceStatus = 'pending' | 'active' | 'inactive' | 'lost' | 'returned' | 'revoked';
export const DEVICE_STATUSES: readonly DeviceStatus[] = ['pending', 'active', 'inactive', 'lost', 'returned', 'revoked'];

export type ClientKind = 'trading_platform' | 'client_portal';
export type LoginState = 'select_device' | 'challenge' | 'completed' | 'ended';

export interface EntityTable {
  id: string;
  kind: 'person' | 'organisation';
  name: string;
  /** SPEC A2 identification data, compared by sharing (S1a). */
  date_of_birth: string | null;
  citizenship: string | null;
  residence_country: string | null;
  id_document_type: string | null;
  id_document_number: string | null;
  /** Sealed (SecretBox): an SSN is as sensitive as a device secret. */
  ssn_sealed: string | null;
  created_at: number;
}

export interface AccountTable {
  id: string;
  number: string;
  entity_id: string;
  primary_user_id: string | null;
  /** SPEC A4: integer US cents. */
  balance_cents: number;
  created_at: number;
}

export interface UserTable {
  id: string;
  username: string;
  /** Lower-cased NFKC form: user names are unique case-insensitively. */
  username_normalized: string;
  display_name: string;
  entity_id: string;
  password_hash: string | null;
  mobile_number: string | null;
  mobile_verified_at: number | null;
  /** The device of the last successful login (SPEC L2, L3). */
  last_device_id: string | null;
  created_at: number;
}

export interface UserAccountTable {
  user_id: string;
  account_id: string;
}

export interface DeviceTable {
  id: string;
  user_id: string;
  kind: DeviceKind;
  status: DeviceStatus;
  serial: string | null;
  label: string;
  /** Sealed OCRA key, temporary passcode, or a code card's cells as JSON (SPEC D4). */
  secret_sealed: string | null;
  /** DSC+: sealed OCRA password hash of the PIN (RFC 6287 PSHA1); the PIN itself is never stored (D4). */
  pin_hash_sealed: string | null;
  /** Security Code Card: the next ask number; index pairs are issued conditionally on it (D3, concurrent logins). */
  scc_sequence: number;
  created_at: number;
  activated_at: number | null;
  last_used_at: number | null;
}

/** Per cell of a Security Code Card, when it was last asked (SPEC D3, LRU); the codes themselves are sealed in the device row. */
export interface SccCellTable {
  device_id: string;
  /** 1–224 (SPEC D3). */
  cell_index: number;
  /** The ask number (core/scc.ts) in which this cell was last asked; null = never. */
  last_asked_seq: number | null;
}

export interface TemporaryPasscodeTable {
  device_id: string;
  user_id: string;
  issued_at: number;
  /** Full access until then (SPEC T1: 2 days). */
  full_access_until: number;
  /** Client Portal only until then (T1: 10 more days). */
  portal_access_until: number;
  issued_by: string;
}

export interface LoginTransactionTable {
  id: string;
  user_id: string;
  /** Normalized user name, for the per-user failure counter (L6). */
  username_normalized: string;
  client_kind: ClientKind;
  client_version: number;
  client_name: string | null;
  source_address: string;
  state: LoginState;
  device_id: string | null;
  /** 'default' or 'offline' (IB Key push vs challenge/response, L4/L7). */
  mode: string;
  /** Incremented at every new challenge: a response counts only for the challenge it answers (D2). */
  challenge_seq: number;
  /** The public part of the challenge: OCRA challenge digits, or "i,j" for a code card. */
  challenge: string | null;
  /** SHA-256 of a code the server sent (SMS), bound to this transaction; null otherwise. */
  code_hash: string | null;
  challenge_expires_at: number | null;
  resend_available_at: number | null;
  challenge_used_at: number | null;
  wrong_responses: number;
  created_at: number;
  expires_at: number;
  ended_at: number | null;
}

export interface SessionTable {
  id: string;
  /** SHA-256 (hex) of the bearer token; the token itself is never stored. */
  token_hash: string;
  user_id: string;
  login_transaction_id: string | null;
  device_id: string | null;
  client_kind: ClientKind;
  access: 'full' | 'portal_only';
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  /** 1: opened without a second factor (an opted-out login, SPEC O1): restricted (O2) until it ends, opted back in or not (O3). Migration 0013. */
  without_second_factor: Generated<number>;
}

export interface FailureCounterTable {
  /** 'user' (normalized user name, existing or not) or 'address' (source address). */
  scope: 'user' | 'address';
  subject: string;
  /** JSON array of the epoch-ms times of the consecutive recent failures (at most the limit). */
  failures: string;
  locked_until: number | null;
  /** Optimistic concurrency: updates are conditional on the version read. */
  version: number;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  event: string;
  user_id: string | null;
  username: string | null;
  source_address: string | null;
  device_id: string | null;
  /** JSON; never a secret. */
  details: string;
}

export interface SmsOutboxTable {
  id: Generated<number>;
  at: number;
  to_number: string;
  body: string;
  user_id: string | null;
  purpose: string;
}

export interface Database extends IbKeyTables {
  entities: EntityTable;
  accounts: AccountTable;
  users: UserTable;
  user_accounts: UserAccountTable;
  devices: DeviceTable;
  scc_cells: SccCellTable;
  temporary_passcodes: TemporaryPasscodeTable;
  login_transactions: LoginTransactionTable;
  sessions: SessionTable;
  failure_counters: FailureCounterTable;
  audit_log: AuditLogTable;
  sms_outbox: SmsOutboxTable;
  server_meta: ServerMetaTable;
}

/** Facts about the database itself (migration 0007). */
export interface ServerMetaTable {
  name: string;
  value: string;
}

export type UserRow = Selectable<UserTable>;
export type DeviceRow = Selectable<DeviceTable>;
export type LoginTransactionRow = Selectable<LoginTransactionTable>;
export type NewDevice = Insertable<DeviceTable>;
