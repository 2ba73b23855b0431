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

/**
 * Indexes for every lookup a request or a periodic job makes by something other than a primary key,
 * so none reads a whole table (SPEC N1, issue 7: a table that grows with users or history must not
 * make each login slower). Found by EXPLAIN QUERY PLAN of the statements the tests run
 * (server/db/query-plans.test.ts keeps it so). Before it, each password step scanned every device
 * order and every online card of every user, the SMS dispatcher the whole outbox, and the IB Key
 * app's poll every push request.
 */
function migration0006(): Migration {
  const indexes: [name: string, table: string, columns: string[]][] = [
    // The login's account read (housekeeping due, SPEC T2, T3) and the sweeps by due time.
    ['device_orders_user', 'device_orders', ['user_id', 'state']],
    ['device_orders_due', 'device_orders', ['state', 'self_activates_at']],
    ['online_cards_user', 'online_cards', ['user_id', 'valid_until']],
    ['online_cards_due', 'online_cards', ['valid_until']],
    // IB Key: the app's pending pushes per device (SPEC K2).
    ['ibkey_push_device', 'ibkey_push_requests', ['device_id', 'state']],
    // Temporary passcodes' "never two in a row" (SPEC T1); the sessions sweep by expiry.
    ['sessions_user', 'sessions', ['user_id', 'created_at']],
    ['sessions_expiry', 'sessions', ['expires_at']],
    // Sharing: a device's open requests (SPEC S5), compliance's queue.
    ['sharing_requests_device', 'sharing_requests', ['device_id', 'state']],
    ['sharing_requests_state', 'sharing_requests', ['state', 'created_at']],
    // Auto-restart tokens revoked per user (SPEC L8).
    ['restart_tokens_user', 'restart_tokens', ['user_id']],
    // Housekeeping's sweeps of expired rows (SPEC N1, L8, P1); a device order's deposits.
    ['restart_tokens_expiry', 'restart_tokens', ['expires_at']],
    ['ibkey_activations_expiry', 'ibkey_activations', ['expires_at']],
    ['ibkey_push_expiry', 'ibkey_push_requests', ['expires_at']],
    ['mobile_verifications_expiry', 'mobile_verifications', ['expires_at']],
    ['confirmations_expiry', 'confirmations', ['expires_at']],
    ['account_deposits_order', 'account_deposits', ['order_id']],
    // Operators: slsctl audit --user, slsctl sms --to / --purpose.
    ['audit_log_username', 'audit_log', ['username', 'id']],
    ['sms_outbox_to', 'sms_outbox', ['to_number', 'id']],
    ['sms_outbox_purpose', 'sms_outbox', ['purpose', 'id']],
    // Housekeeping's SMS retention (SPEC P5).
    ['sms_outbox_at', 'sms_outbox', ['at']],
  ];
  return {
    async up(db: AnyDb) {
      for (const [name, table, columns] of indexes) await db.schema.createIndex(name).on(table).columns(columns).execute();
      // SMS held for the carrier's hours (SPEC P2): only the messages still waiting, however long the outbox grows.
      await sql.raw('CREATE INDEX sms_outbox_waiting ON sms_outbox (not_before) WHERE sent_at IS NULL AND dropped_reason IS NULL').execute(db);
      // Revoked sessions for the sweep: partial, so opening a session (revoked_at NULL) writes no page of it.
      await sql.raw('CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL').execute(db);
    },
  };
}

/** One row per fact about the database itself; `server_key_check` proves which server key sealed it (SPEC D4). */
function migration0007(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema.createTable('server_meta').addColumn('name', 'text', (c) => c.primaryKey()).addColumn('value', 'text', (c) => c.notNull()).execute();
    },
  };
}

/** `slsctl audit --user` also finds the events recorded with the user's id only (a timer's, an operator's; SPEC N2). */
function migration0008(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema.createIndex('audit_log_user').on('audit_log').columns(['user_id', 'id']).execute();
    },
  };
}

/** GET /v1/sharing lists the requests a user made and those made of their devices (SPEC S3, S5): both by index. */
function migration0009(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema.createIndex('sharing_requests_owner').on('sharing_requests').columns(['owner_user_id', 'state']).execute();
    },
  };
}

/** A device's latest confirmation, for the SMS cool-down of Client Portal challenges (SPEC L4). */
function migration0010(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema.createIndex('confirmations_device').on('confirmations').columns(['device_id', 'created_at']).execute();
    },
  };
}

/**
 * SPEC L8, D5, D8: which session a restart token belongs to, and the full login its chain began with.
 *
 * - `session_id`: the session whose client holds the token: the one that asked for it
 *   (`POST /v1/login/restart-token`), or the one the restart that handed it out opened. Logging
 *   that session out revokes it.
 * - `chain_session_id`: the full-login session the chain of rotations began with (the same for every
 *   token handed on by a restart). A new token for that session revokes the chain's unused ones, so a
 *   session has at most one live chain.
 * - `device_id`: the second factor of that full login. A device reported lost or set non-active
 *   revokes the chains it began, and ends the sessions they restarted, even once housekeeping has
 *   deleted the full login's own session row (sessions go a day after their 12 hours; tokens last
 *   to the weekly cut-off).
 *
 * All null for tokens issued before this migration (they keep working until the cut-off).
 * `sessions_device`: a device's sessions, ended when it is reported or set non-active (D8, D5).
 */
function migration0011(): Migration {
  return {
    async up(db: AnyDb) {
      // One column per statement: SQLite's ALTER TABLE adds one at a time.
      await db.schema.alterTable('restart_tokens').addColumn('session_id', 'text').execute();
      await db.schema.alterTable('restart_tokens').addColumn('chain_session_id', 'text').execute();
      await db.schema.alterTable('restart_tokens').addColumn('device_id', 'text').execute();
      await db.schema.createIndex('restart_tokens_session').on('restart_tokens').column('session_id').execute();
      await db.schema.createIndex('restart_tokens_chain').on('restart_tokens').column('chain_session_id').execute();
      await db.schema.createIndex('restart_tokens_device').on('restart_tokens').column('device_id').execute();
      await db.schema.createIndex('sessions_device').on('sessions').column('device_id').execute();
    },
  };
}

/**
 * SPEC L4, N1: the SMS budget of each number (server/sms/policy.ts): the times of the SMS it was sent
 * in the last hour, per budget (`codes`; `verify_number`, P1), one row per number and budget, updated
 * conditionally on `version` so several slsd share it. Not read from `sms_outbox`, which only the
 * embedded outbox gateway writes.
 */
function migration0012(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('sms_budget')
        .addColumn('number', 'text', (c) => c.notNull())
        .addColumn('bucket', 'text', (c) => c.notNull())
        .addColumn('sent', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('sms_budget_pk', ['number', 'bucket'])
        .execute();
    },
  };
}

/**
 * SPEC O1–O3: whether a session was opened without a second factor (an opted-out user's password-only
 * trading login). Such a session keeps the opt-out's restriction (O2) until it ends, even once its user
 * opts back in (O3): it was never more than a password. (Restart tokens need a session opened with a
 * device, L8, so no restart continues one.) 0 for sessions made before this migration.
 */
function migration0013(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema.alterTable('sessions').addColumn('without_second_factor', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    },
  };
}

/**
 * SPEC D5, D6, D7: the devices of a kind with a serial number, for the check that refuses a second
 * device in use (pending, active or inactive) with the serial of another of the same kind
 * (services/provisioning.ts `refuseDuplicateSerial`; a DSC+ is activated and found over USB by its
 * serial). Not UNIQUE on purpose: a database may already hold such duplicates (registered before the
 * check), and a unique index would stop every start of slsd and slsctl until an operator removed
 * them; the check runs in the transaction that registers (or reactivates), serialized per serial.
 * Partial: most devices (IB Key, SMS, temporary) have no serial.
 */
function migration0014(): Migration {
  return {
    async up(db: AnyDb) {
      await sql.raw('CREATE INDEX devices_kind_serial ON devices (kind, serial) WHERE serial IS NOT NULL').execute(db);
    },
  };
}

/**
 * SPEC S3–S5: what ended a sharing request (`ended_reason`: the requester withdrew or ended it, the owner
 * refused or ended it, compliance rejected it, a new request replaced it, its device was reported,
 * returned, set aside or taken out of use; core/account-api.ts `SharingEndReason`), written with its
 * final state so both users' lists say it. When is already there: `cancelled_at`, or `decided_at` for a
 * rejection. Requests rejected before this migration can only have been rejected by compliance: said
 * so; those cancelled before it stay null (the audit log's `sharing.cancelled` entry tells who).
 */
function migration0015(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema.alterTable('sharing_requests').addColumn('ended_reason', 'text').execute();
      await db.updateTable('sharing_requests').set({ ended_reason: 'rejected_by_compliance' }).where('state', '=', 'rejected').execute();
    },
  };
}

/**
 * `server_meta` names of migration 0016's marks (see there): SMS outbox rows below the id each holds
 * may keep a code in clear once dropped (`dropped`) or sent (`sent`). Housekeeping masks them and
 * removes the mark (services/housekeeping.ts `maskOldSmsCodes`).
 */
export const SMS_CODES_UNMASKED_BELOW = { dropped: 'sms_outbox_codes_unmasked_below:dropped', sent: 'sms_outbox_codes_unmasked_below:sent' } as const;

/**
 * SPEC P2, P5 (codes at rest): where the SMS outbox's rows from before the masking of codes end.
 *
 * Since then a held SMS that is dropped, or sent through a real gateway, keeps its text with the code
 * masked (sms/policy.ts `maskSmsCode`); rows settled by an earlier slsd hold the code in clear until
 * their retention (30 days). This migration only records the first id written after it, twice (once
 * for dropped rows, once for sent ones), when the outbox has rows at all; housekeeping then masks the
 * settled rows below it and removes each mark once done. **Decision**: not masked here, because
 * whether a *sent* row keeps its code depends on the gateway slsd runs with, which a migration does not
 * know (slsctl, which migrates too, has only the embedded outbox): with the embedded outbox (P5) the
 * outbox is the phone and its sent rows stay readable by design, with a real gateway they lose their
 * code. And a migration is fixed once written, while the masking is the dispatcher's own, kept in one
 * place: housekeeping uses the same function. Deterministic SQL: the largest id, nothing per row.
 */
function migration0016(): Migration {
  return {
    async up(db: AnyDb) {
      const { last } = (await db.selectFrom('sms_outbox').select((eb) => eb.fn.max('id').as('last')).executeTakeFirst()) as { last: number | string | null };
      if (last === null) return;
      const below = String(Number(last) + 1);
      await db
        .insertInto('server_meta')
        .values(Object.values(SMS_CODES_UNMASKED_BELOW).map((name) => ({ name, value: below })))
        .execute();
    },
  };
}

export function migrationProvider(dialect: SqlDialect): MigrationProvider {
  return {
    async getMigrations() {
      return { '0001_initial': migration0001(dialect), '0003_account_security': accountSecurityMigration(dialect), '0002_ibkey': ibkeyMigration(), '0004_sms_dispatch': smsDispatchMigration(), '0005_ibkey_nonce_address': ibkeyNonceAddressMigration(), '0006_lookup_indexes': migration0006(), '0007_server_meta': migration0007(), '0008_audit_log_user': migration0008(), '0009_sharing_owner': migration0009(), '0010_confirmations_device': migration0010(), '0011_restart_token_sessions': migration0011(), '0012_sms_budget': migration0012(), '0013_without_second_factor': migration0013(), '0014_device_serial': migration0014(), '0015_sharing_ended_reason': migration0015(), '0016_sms_codes_unmasked_below': migration0016() };
    },
  };
}
