/**
 * IB Key's tables and their migration (SPEC K1–K8, L7).
 *
 * Portable SQL like the rest (times as epoch ms): registered as its own migration in
 * `server/db/migrations.ts`, typed into `Database` in `server/db/schema.ts`. Pending approvals,
 * nonces and one-time-use marks are rows, so several slsd behave as one (SPEC N1).
 */
import type { Kysely, Migration } from 'kysely';
import type { Database } from '../db/schema.ts';

/** The app installation and public key behind an `ibkey` device row (K1, K3: one per user). */
export interface IbKeyDeviceTable {
  device_id: string;
  user_id: string;
  installation_id: string;
  platform: 'ios' | 'android';
  /** P-256 SPKI DER, base64url; the private key never leaves the app. */
  public_key: string;
  created_at: number;
}

export type IbKeyActivationState = 'pending' | 'completed' | 'ended';

/** An activation, reactivation (K4) or transfer (K5) waiting for its SMS code or device response (K6). */
export interface IbKeyActivationTable {
  id: string;
  user_id: string;
  purpose: 'activate' | 'reactivate' | 'transfer';
  platform: 'ios' | 'android';
  installation_id: string;
  /** 'sms' or 'device' (K6: another active physical device answers instead). */
  proof_kind: 'sms' | 'device';
  proof_device_id: string | null;
  /** The other device's challenge (digits, or "i,j" for a code card). */
  challenge: string | null;
  /** SHA-256 of the SMS code, salted with the activation id. */
  code_hash: string | null;
  wrong_attempts: number;
  state: IbKeyActivationState;
  created_at: number;
  expires_at: number;
  completed_at: number | null;
}

export type PushState = 'pending' | 'approved' | 'used' | 'denied' | 'wrong_number' | 'superseded';

/** A push approval request (SPEC L7): one per challenge of a login transaction in push mode. */
export interface IbKeyPushTable {
  id: string;
  transaction_id: string;
  /** The login's challenge sequence this push belongs to (D2: a new challenge kills it). */
  challenge_seq: number;
  user_id: string;
  device_id: string;
  match_number: number;
  /** JSON array of the numbers the app offers, the match among them. */
  choices: string;
  nonce: string;
  client_name: string;
  place: string;
  state: PushState;
  created_at: number;
  expires_at: number;
  answered_at: number | null;
}

/** Single-use server nonces for signed app requests. */
export interface IbKeyNonceTable {
  nonce: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  /**
   * Who asked for it (the address, IPv6 by its /64), so nonces per address are bounded (SPEC N1: the
   * route needs no login; rows, so every slsd counts the same). Null for rows of before 0005.
   */
  source_address: string | null;
}

/** Messages for the app (K8), sealed end-to-end to the device's public key. */
export interface IbKeyMessageTable {
  id: string;
  user_id: string;
  device_id: string;
  kind: 'temporary_password';
  /** JSON {ephemeralPublicKey, iv, ciphertext}: readable only by the app, with its PIN. */
  sealed: string;
  created_at: number;
  delivered_at: number | null;
}

export interface IbKeyTables {
  ibkey_devices: IbKeyDeviceTable;
  ibkey_activations: IbKeyActivationTable;
  ibkey_push_requests: IbKeyPushTable;
  ibkey_nonces: IbKeyNonceTable;
  ibkey_messages: IbKeyMessageTable;
}

export type IbKeyDatabase = Database & IbKeyTables;

/** Views a database handle with the IB Key tables typed (they are in `Database` once registered). */
export function ibkeyDb(db: Kysely<Database>): Kysely<IbKeyDatabase> {
  return db as unknown as Kysely<IbKeyDatabase>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export function ibkeyMigration(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('ibkey_devices')
        .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('installation_id', 'text', (c) => c.notNull())
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ibkey_devices_user').on('ibkey_devices').column('user_id').execute();

      await db.schema
        .createTable('ibkey_activations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('installation_id', 'text', (c) => c.notNull())
        .addColumn('proof_kind', 'text', (c) => c.notNull())
        .addColumn('proof_device_id', 'text')
        .addColumn('challenge', 'text')
        .addColumn('code_hash', 'text')
        .addColumn('wrong_attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('completed_at', 'bigint')
        .execute();

      await db.schema
        .createTable('ibkey_push_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('transaction_id', 'text', (c) => c.notNull())
        .addColumn('challenge_seq', 'integer', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
        .addColumn('match_number', 'integer', (c) => c.notNull())
        .addColumn('choices', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('client_name', 'text', (c) => c.notNull())
        .addColumn('place', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('answered_at', 'bigint')
        .execute();
      await db.schema.createIndex('ibkey_push_user_state').on('ibkey_push_requests').columns(['user_id', 'state']).execute();
      await db.schema.createIndex('ibkey_push_transaction').on('ibkey_push_requests').columns(['transaction_id', 'challenge_seq']).execute();

      await db.schema
        .createTable('ibkey_nonces')
        .addColumn('nonce', 'text', (c) => c.primaryKey())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema.createIndex('ibkey_nonces_expiry').on('ibkey_nonces').column('expires_at').execute();

      await db.schema
        .createTable('ibkey_messages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('sealed', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('delivered_at', 'bigint')
        .execute();
      await db.schema.createIndex('ibkey_messages_device').on('ibkey_messages').columns(['device_id', 'delivered_at']).execute();
    },
  };
}

/**
 * 0005: the address each nonce was issued to (SPEC N1, L7).
 *
 * `POST /v1/ibkey/nonces` needs no login, so without a bound anyone could grow the table; the
 * index serves the count of an address's recent nonces.
 */
export function ibkeyNonceAddressMigration(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema.alterTable('ibkey_nonces').addColumn('source_address', 'text').execute();
      await db.schema.createIndex('ibkey_nonces_address').on('ibkey_nonces').columns(['source_address', 'created_at']).execute();
    },
  };
}
