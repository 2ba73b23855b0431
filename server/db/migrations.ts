/**
 * Schema migrations, in code, run by Kysely's Migrator at start (slsd and slsctl alike).
 *
 * One schema for SQLite and PostgreSQL; only the auto-increment columns and the triggers that make
 * the audit log append-only (SPEC N2) differ by dialect.
 */
import { sql } from 'kysely';
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { accountSecurityMigration, smsDispatchMigration } from '../account/schema.ts';
import { ibkeyMigration, ibkeyNonceAddressMigration } from '../services/ibkey-schema.ts';

export type SqlDialect = 'sqlite' | 'postgres';

// Migrations build their own tables, so they see the database as untyped.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

function migration0001(dialect: SqlDialect): Migration {
  return {
    async up(db: AnyDb) {
      const serial = (t: string) =>
        dialect === 'postgres'
          ? db.schema.createTable(t).addColumn('id', 'bigserial', (c) => c.primaryKey())
          : db.schema.createTable(t).addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());

      await db.schema
        .createTable('entities')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('date_of_birth', 'text')
        .addColumn('citizenship', 'text')
        .addColumn('residence_country', 'text')
        .addColumn('id_document_type', 'text')
        .addColumn('id_document_number', 'text')
        .addColumn('ssn_sealed', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('username_normalized', 'text', (c) => c.notNull().unique())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('entity_id', 'text', (c) => c.notNull().references('entities.id'))
        .addColumn('password_hash', 'text')
        .addColumn('mobile_number', 'text')
        .addColumn('mobile_verified_at', 'bigint')
        .addColumn('last_device_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('number', 'text', (c) => c.notNull().unique())
        .addColumn('entity_id', 'text', (c) => c.notNull().references('entities.id'))
        .addColumn('primary_user_id', 'text', (c) => c.references('users.id'))
        .addColumn('balance_cents', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('user_accounts')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addPrimaryKeyConstraint('user_accounts_pk', ['user_id', 'account_id'])
        .execute();

      await db.schema
        .createTable('devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('serial', 'text')
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('secret_sealed', 'text')
        .addColumn('pin_hash_sealed', 'text')
        .addColumn('scc_sequence', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('activated_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .execute();
      await db.schema.createIndex('devices_user').on('devices').columns(['user_id', 'status']).execute();

      await db.schema
        .createTable('scc_cells')
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
        .addColumn('cell_index', 'integer', (c) => c.notNull())
        .addColumn('last_asked_seq', 'bigint')
        .addPrimaryKeyConstraint('scc_cells_pk', ['device_id', 'cell_index'])
        .execute();

      await db.schema
        .createTable('temporary_passcodes')
        .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('issued_at', 'bigint', (c) => c.notNull())
        .addColumn('full_access_until', 'bigint', (c) => c.notNull())
        .addColumn('portal_access_until', 'bigint', (c) => c.notNull())
        .addColumn('issued_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('temporary_passcodes_user').on('temporary_passcodes').columns(['user_id', 'issued_at']).execute();

      await db.schema
        .createTable('login_transactions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('username_normalized', 'text', (c) => c.notNull())
        .addColumn('client_kind', 'text', (c) => c.notNull())
        .addColumn('client_version', 'integer', (c) => c.notNull())
        .addColumn('client_name', 'text')
        .addColumn('source_address', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text')
        .addColumn('mode', 'text', (c) => c.notNull().defaultTo('default'))
        .addColumn('challenge_seq', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('challenge', 'text')
        .addColumn('code_hash', 'text')
        .addColumn('challenge_expires_at', 'bigint')
        .addColumn('resend_available_at', 'bigint')
        .addColumn('challenge_used_at', 'bigint')
        .addColumn('wrong_responses', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .execute();
      await db.schema.createIndex('login_transactions_expiry').on('login_transactions').column('expires_at').execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('login_transaction_id', 'text')
        .addColumn('device_id', 'text')
        .addColumn('client_kind', 'text', (c) => c.notNull())
        .addColumn('access', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();

      await db.schema
        .createTable('failure_counters')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('failures', 'text', (c) => c.notNull())
        .addColumn('locked_until', 'bigint')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('failure_counters_pk', ['scope', 'subject'])
        .execute();

      await serial('audit_log')
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('username', 'text')
        .addColumn('source_address', 'text')
        .addColumn('device_id', 'text')
        .addColumn('details', 'text', (c) => c.notNull())
        .execute();

      await serial('sms_outbox')
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('to_number', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('purpose', 'text', (c) => c.notNull())
        .execute();

      // SPEC N2: the audit log is append-only; the database itself refuses changes and deletions.
      if (dialect === 'sqlite') {
        for (const op of ['UPDATE', 'DELETE']) {
          await sql
            .raw(
              `CREATE TRIGGER audit_log_no_${op.toLowerCase()} BEFORE ${op} ON audit_log ` +
                `BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (SPEC N2)'); END`,
            )
            .execute(db);
        }
      } else {
        await sql
          .raw(
            `CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ ` +
              `BEGIN RAISE EXCEPTION 'audit_log is append-only (SPEC N2)'; END $$`,
          )
          .execute(db);
        await sql
          .raw(
            `CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log ` +
              `FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`,
          )
          .execute(db);
      }
    },
  };
}

export function migrationProvider(dialect: SqlDialect): MigrationProvider {
  return {
    async getMigrations() {
      return { '0001_initial': migration0001(dialect), '0003_account_security': accountSecurityMigration(dialect), '0002_ibkey': ibkeyMigration(), '0004_sms_dispatch': smsDispatchMigration(), '0005_ibkey_nonce_address': ibkeyNonceAddressMigration() };
    },
  };
}
