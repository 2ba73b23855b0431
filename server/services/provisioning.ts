/**
 * Provisioning for operators (slsctl), the demo data and tests: entities, accounts, users, devices,
 * temporary passcodes, unlocking.
 *
 * Device secrets are drawn here and sealed before they reach the database (SPEC D4); what a person
 * needs to act as the device (a DSC+ state file, a code card, a software token's key, a passcode) is
 * returned once to the caller, which writes it where the operator asked.
 */
import { createHash, randomBytes } from 'node:crypto';
import { PostgresAdapter, sql } from 'kysely';
import type { Kysely } from 'kysely';
import { randomDigits } from '../../core/codes.ts';
import { DEVICE_CATALOGUE } from '../../core/devices.ts';
import type { DeviceKind } from '../../core/devices.ts';
import { newDscPlusState } from '../../core/dscplus-state.ts';
import type { DscPlusState } from '../../core/dscplus-state.ts';
import { ocraPasswordHash, parseOcraSuite } from '../../core/ocra.ts';
import { generateSecurityCodeCard, SCC_CELLS } from '../../core/scc.ts';
import type { SecurityCodeCard } from '../../core/scc.ts';
import { newId } from '../crypto/tokens.ts';
import type { Database, DeviceRow, DeviceStatus, EntityTable } from '../db/schema.ts';
import { DEVICE_STATUSES } from '../db/schema.ts';
import { SlsError } from '../errors.ts';
import { sealContext } from '../verifiers/types.ts';
import { TEMP_PASSCODE_LENGTH } from '../verifiers/temporary-passcode.ts';
import { accountDb } from '../account/schema.ts';
import { appendAudit } from './audit.ts';
import { endChallengesOnDevice } from './device-challenges.ts';
import type { EndedChallenges } from './device-challenges.ts';
import { notifierOf } from './ibkey-notifier.ts';
import { endEverySessionOf, endSessionsOfDevice } from './sessions.ts';
import type { Services } from './index.ts';
import { endSharingsOfDevice, setAsideOnActivation } from './sharing.ts';
import { ONLINE_CARD_VALIDITY_MS } from './temporary-access.ts';
import { normalizeUsername } from './throttle.ts';

type ProvisioningServices = Pick<Services, 'db' | 'box' | 'now' | 'passwords' | 'throttle' | 'audit'>;

/** SPEC T1: full access for 2 days, then the Client Portal only for 10 more days. */
export const TEMP_PASSCODE_FULL_ACCESS_MS = 2 * 24 * 60 * 60 * 1000;
export const TEMP_PASSCODE_PORTAL_ONLY_MS = 10 * 24 * 60 * 60 * 1000;

export interface NewEntity {
  readonly kind?: EntityTable['kind'];
  readonly name: string;
  readonly dateOfBirth?: string;
  readonly citizenship?: string;
  readonly residenceCountry?: string;
  readonly idDocumentType?: string;
  readonly idDocumentNumber?: string;
  readonly ssn?: string;
}

export interface ProvisionedDevice {
  readonly device: DeviceRow;
  /** The OCRA key (challenge/response kinds), for a software token file or a state file. */
  readonly secret?: Uint8Array;
  /** DSC+ only: the PIN, shown once; and the emulator's state file. */
  readonly pin?: string;
  readonly dscPlusState?: DscPlusState;
  /** Security Code Card only: the printed codes. */
  readonly card?: SecurityCodeCard;
}

/** OCRA key length: the suite's hash output size (RFC 6287 §7.1 recommends it). */
function keyLength(kind: DeviceKind): number {
  const suite = DEVICE_CATALOGUE[kind].ocraSuite;
  if (!suite) throw new Error(`${kind} has no suite`);
  return { SHA1: 20, SHA256: 32, SHA512: 64 }[parseOcraSuite(suite).algorithm];
}

function defaultLabel(kind: DeviceKind, serial: string | null): string {
  const name = DEVICE_CATALOGUE[kind].name;
  return serial ? `${name} (…${serial.slice(-4)})` : name;
}

/** SPEC D5, D8: the statuses of a device in use, or usable again without an operator's --force (slsctl). */
const IN_USE: readonly DeviceStatus[] = ['pending', 'active', 'inactive'];

/** PostgreSQL: the first key of the transaction locks `refuseDuplicateSerial` takes (the second: the kind and serial). */
const SERIAL_LOCK_SPACE = 0x534c5301;

/**
 * SPEC D5, D6, D7: refuses (SLS_ERR_CONFLICT, `outcome` says what was not done) a device of `kind`
 * with `serial` while another device of that kind with that serial is in use (pending, active or
 * inactive): two such devices made the DSC+ activation and the USB card look-up (both by serial)
 * pick one of them, and left two entries of the same name in the drop-down, one of which no one can
 * answer. A retired one (lost, returned, revoked) does not count.
 *
 * Run in the transaction that registers or reactivates the device, before it changes anything. On
 * PostgreSQL it first takes a transaction lock on the kind and serial, so two registrations of one
 * serial at the same moment (two operators, several slsctl) wait for each other and the second sees
 * the first; SQLite's transactions hold the write lock from their BEGIN (db/connect.ts). A database
 * may hold duplicates registered before this check: they stay (no unique index, migration 0014).
 */
async function refuseDuplicateSerial(trx: Kysely<Database>, device: { kind: DeviceKind; serial: string | null; id?: string }, outcome: string): Promise<void> {
  const { kind, serial } = device;
  if (serial === null) return;
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    const key = createHash('sha256').update(`${kind}\0${serial}`).digest().readInt32BE(0);
    await sql`select pg_advisory_xact_lock(${SERIAL_LOCK_SPACE}::integer, ${key}::integer)`.execute(trx);
  }
  const other = await trx
    .selectFrom('devices')
    .innerJoin('users', 'users.id', 'devices.user_id')
    .select(['devices.id', 'devices.status', 'users.username_normalized'])
    .where('devices.kind', '=', kind)
    .where('devices.serial', '=', serial)
    .where('devices.status', 'in', IN_USE)
    .$if(device.id !== undefined, (q) => q.where('devices.id', '!=', device.id!))
    .executeTakeFirst();
  if (other) {
    throw new SlsError('SLS_ERR_CONFLICT', {
      message: `a ${DEVICE_CATALOGUE[kind].name} with serial ${serial} is already in use: ${other.id} of ${other.username_normalized} (${other.status}); ${outcome}. One serial number is one device (SPEC D5): set that one lost, returned or revoked first if it is the same card`,
    });
  }
}

const NO_CHALLENGES: EndedChallenges = { logins: [], backToChoice: 0, confirmations: 0, pushes: 0 };

/** What `changeDeviceStatus` changed besides the status (SPEC S5, D5, L5, N2). */
export interface DeviceStatusChange {
  /** S5: the approved sharing request the device, made active, was set aside for at once; else null. */
  readonly setAsideFor: string | null;
  /** L5, L2: live logins whose challenge was on the device, now back at the device choice. */
  readonly loginsBackToChoice: number;
  /** L3, L5: live logins whose challenge was on the device that ended (a client without the drop-down). */
  readonly loginsEnded: number;
  /** W1, S3, D6: portal confirmations waiting on the device that ended. */
  readonly confirmationsEnded: number;
  /** L7: IB Key pushes waiting on the device that were superseded. */
  readonly pushesEnded: number;
}

/** Passwords are 8–256 characters (the login accepts up to 256, core/api.ts). */
function checkPassword(password: string): void {
  if (password.length < 8 || password.length > 256) throw new SlsError('SLS_ERR_VALIDATION', { message: 'a password is 8–256 characters' });
}

export class Provisioning {
  readonly #s: ProvisioningServices;
  /** SPEC N2: the operator (slsctl) named as `by` in the entries written here that have no `by` of their own. */
  readonly #by: { by?: string };

  constructor(services: ProvisioningServices, options: { readonly by?: string } = {}) {
    this.#s = services;
    this.#by = options.by === undefined ? {} : { by: options.by };
  }

  async createEntity(e: NewEntity): Promise<string> {
    const id = newId('ent');
    const now = this.#s.now();
    // SPEC N2: each creation below is one transaction with its entry.
    await this.#s.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('entities')
        .values({
          id,
          kind: e.kind ?? 'person',
          name: e.name,
          date_of_birth: e.dateOfBirth ?? null,
          citizenship: e.citizenship ?? null,
          residence_country: e.residenceCountry ?? null,
          id_document_type: e.idDocumentType ?? null,
          id_document_number: e.idDocumentNumber ?? null,
          ssn_sealed: e.ssn ? this.#s.box.sealText(e.ssn, `entity:${id}:ssn`) : null,
          created_at: now,
        })
        .execute();
      await appendAudit(trx, now, { event: 'entity.created', details: { entityId: id, ...this.#by } });
    });
    return id;
  }

  /** An account of an entity; `balanceUsd` decides DSC+ eligibility (SPEC A4, D6). */
  async createAccount(a: { number: string; entityId: string; balanceUsd?: number }): Promise<string> {
    const id = newId('acc');
    const exists = await this.#s.db.selectFrom('accounts').select('id').where('number', '=', a.number).executeTakeFirst();
    if (exists) throw new SlsError('SLS_ERR_CONFLICT', { message: `account ${a.number} exists` });
    const now = this.#s.now();
    await this.#s.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('accounts')
        .values({ id, number: a.number, entity_id: a.entityId, primary_user_id: null, balance_cents: Math.round((a.balanceUsd ?? 0) * 100), created_at: now })
        .execute();
      await appendAudit(trx, now, { event: 'account.created', details: { accountId: id, number: a.number, ...this.#by } });
    });
    return id;
  }

  async createUser(u: {
    username: string;
    displayName?: string;
    entityId: string;
    password?: string;
    mobileNumber?: string;
    /** Accounts the user may access; the user becomes primary of those without one (SPEC A1). */
    accountNumbers?: readonly string[];
  }): Promise<string> {
    const normalized = normalizeUsername(u.username);
    if (!/^[a-z0-9._@-]{3,64}$/.test(normalized)) {
      throw new SlsError('SLS_ERR_VALIDATION', { message: 'a user name is 3–64 characters: letters, digits, . _ @ -' });
    }
    const exists = await this.#s.db.selectFrom('users').select('id').where('username_normalized', '=', normalized).executeTakeFirst();
    if (exists) throw new SlsError('SLS_ERR_CONFLICT', { message: `user ${u.username} exists` });
    if (u.password !== undefined) checkPassword(u.password);
    const id = newId('usr');
    const now = this.#s.now();
    const passwordHash = u.password ? await this.#s.passwords.hash(u.password) : null;
    await this.#s.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('users')
        .values({
          id,
          username: u.username.trim(),
          username_normalized: normalized,
          display_name: u.displayName ?? u.username,
          entity_id: u.entityId,
          password_hash: passwordHash,
          mobile_number: u.mobileNumber ?? null,
          mobile_verified_at: u.mobileNumber ? now : null,
          last_device_id: null,
          created_at: now,
        })
        .execute();
      for (const number of u.accountNumbers ?? []) {
        const acc = await trx.selectFrom('accounts').select(['id', 'primary_user_id']).where('number', '=', number).executeTakeFirst();
        if (!acc) throw new SlsError('SLS_ERR_NOT_FOUND', { message: `no account ${number}` });
        await trx.insertInto('user_accounts').values({ user_id: id, account_id: acc.id }).execute();
        if (acc.primary_user_id === null) await trx.updateTable('accounts').set({ primary_user_id: id }).where('id', '=', acc.id).execute();
      }
      await appendAudit(trx, now, { event: 'user.created', userId: id, username: normalized, details: { ...this.#by } });
    });
    return id;
  }

  async userByName(username: string, q: Kysely<Database> = this.#s.db) {
    const user = await q.selectFrom('users').selectAll().where('username_normalized', '=', normalizeUsername(username)).executeTakeFirst();
    if (!user) throw new SlsError('SLS_ERR_NOT_FOUND', { message: `no user ${username}` });
    return user;
  }

  /** Returns how many of the user's sessions ended and restart tokens were revoked with the old password. */
  /** `by`: the operator (slsctl), on record with the change (SPEC N2). */
  async setPassword(username: string, password: string, by?: string): Promise<{ sessionsEnded: number; restartTokensRevoked: number }> {
    checkPassword(password);
    const user = await this.userByName(username);
    const hash = await this.#s.passwords.hash(password);
    const now = this.#s.now();
    // SPEC L8, K8: a password set by client services signs the user out everywhere, in the same commit.
    return this.#s.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ password_hash: hash }).where('id', '=', user.id).execute();
      const ended = await endEverySessionOf(trx, user.id, now);
      const counts = { sessionsEnded: ended.sessions, restartTokensRevoked: ended.restartTokens };
      await appendAudit(trx, now, { event: 'user.password_set', userId: user.id, username: user.username_normalized, details: { ...(by === undefined ? {} : { by }), ...counts } });
      return counts;
    });
  }

  /**
   * Registers a device for a user (SPEC D1, D7: legacy kinds only through here).
   *
   * Active at once unless `pending`; activating never deactivates the user's other devices (D1).
   * S5: a physical device registered active for a user who shares another user's device (an approved
   * request of theirs) is set aside at once like their other own devices (`setAsideOnActivation`, in
   * the same transaction, audited `device.status_changed`), and comes back when that sharing ends;
   * what is returned (and delivered) is the device as registered, `inactive` then.
   * Registered in one transaction with its `device.added` entry (N2): `within`'s, when given (a device
   * sent for an order is registered with the order's change, devices-admin.ts `sendOrder`).
   * A serial another device of the kind in use has is refused, nothing registered (SPEC D5,
   * `refuseDuplicateSerial`).
   *
   * `deliver` (SPEC D4, N2): hands out what acts as the device (slsctl writes its token, state or card
   * file) last in the registration's transaction, so a delivery that fails rolls the device and its
   * entry back: never a device registered that no one holds the secret of. With `within`, the
   * caller's later steps can still roll it back; such a caller delivers itself, last (`sendOrder`).
   */
  async addDevice(d: {
    username: string;
    kind: DeviceKind;
    serial?: string;
    label?: string;
    pending?: boolean;
    /** DSC+: the PIN to set (4 digits); random when absent. */
    pin?: string;
    deliver?: (device: ProvisionedDevice) => Promise<void>;
  }, within?: Kysely<Database>): Promise<ProvisionedDevice> {
    const user = await this.userByName(d.username, within);
    const kind = d.kind;
    if (kind === 'temp_passcode') throw new SlsError('SLS_ERR_VALIDATION', { message: 'temporary passcodes are issued with `slsctl temp-passcode issue`' });
    if (kind === 'sms' && !user.mobile_number) throw new SlsError('SLS_ERR_CONFLICT', { message: `${d.username} has no verified mobile number (SPEC P3)` });
    const id = newId('dev');
    const now = this.#s.now();
    const serial = d.serial ?? (DEVICE_CATALOGUE[kind].physical ? randomDigits(10) : null);
    const out: { secret?: Uint8Array; pin?: string; dscPlusState?: DscPlusState; card?: SecurityCodeCard } = {};
    let secretSealed: string | null = null;
    let pinHashSealed: string | null = null;
    if (DEVICE_CATALOGUE[kind].ocraSuite) {
      const secret = new Uint8Array(randomBytes(keyLength(kind)));
      out.secret = secret;
      secretSealed = this.#s.box.seal(secret, sealContext(id, 'secret'));
      if (kind === 'dscplus') {
        const pin = d.pin ?? randomDigits(4);
        out.pin = pin;
        out.dscPlusState = newDscPlusState({ serial: serial ?? '', secret, pin });
        // SPEC D4: the OCRA password hash of the PIN, sealed; never the PIN.
        pinHashSealed = this.#s.box.seal(ocraPasswordHash(DEVICE_CATALOGUE.dscplus.ocraSuite!, pin), sealContext(id, 'pin_hash'));
      }
    } else if (kind === 'scc' || kind === 'online_scc') {
      const card = generateSecurityCodeCard();
      out.card = card;
      secretSealed = this.#s.box.sealText(JSON.stringify(card.cells), sealContext(id, 'secret'));
    }
    const status: DeviceStatus = d.pending ? 'pending' : 'active';
    const row: DeviceRow = {
      id,
      user_id: user.id,
      kind,
      status,
      serial,
      label: d.label ?? defaultLabel(kind, serial),
      secret_sealed: secretSealed,
      pin_hash_sealed: pinHashSealed,
      scc_sequence: 0,
      created_at: now,
      activated_at: status === 'active' ? now : null,
      last_used_at: null,
    };
    const register = async (trx: Kysely<Database>): Promise<DeviceRow> => {
      await refuseDuplicateSerial(trx, row, 'nothing was registered');
      await trx.insertInto('devices').values(row).execute();
      if (out.card) {
        const cells = Array.from({ length: SCC_CELLS }, (_, i) => ({ device_id: id, cell_index: i + 1, last_asked_seq: null }));
        for (let i = 0; i < cells.length; i += 100) await trx.insertInto('scc_cells').values(cells.slice(i, i + 100)).execute();
      }
      // SPEC T2: an online card registered here works 21 days like one viewed in the portal
      // (temporary-access.ts), and the sweep retires it then; without the row it never expired.
      if (kind === 'online_scc') {
        await accountDb(trx).insertInto('online_cards').values({ device_id: id, user_id: user.id, issued_at: now, valid_until: now + ONLINE_CARD_VALIDITY_MS }).execute();
      }
      await appendAudit(trx, now, { event: 'device.added', userId: user.id, username: user.username_normalized, deviceId: id, details: { kind, status, ...this.#by } });
      // SPEC S5: the user shares another user's device: a physical device added active is set aside with their others.
      const setAside =
        status === 'active'
          ? await setAsideOnActivation(accountDb(trx), user.id, id, now, null, {
              reason: "added while its user shares another user's device: set aside until that sharing ends (S5)",
              by: this.#by.by ?? 'slsctl',
            })
          : null;
      const registered: DeviceRow = setAside === null ? row : { ...row, status: 'inactive' };
      if (d.deliver) await d.deliver({ device: registered, ...out });
      return registered;
    };
    const registered = within ? await register(within) : await this.#s.db.transaction().execute(register);
    return { device: registered, ...out };
  }

  /**
   * `by`: who set it, for the audit log (SPEC N2: the operator, `slsctl` names them).
   *
   * S5: a physical device made active for a user who shares another user's device (an approved
   * request of theirs) is set aside again at once, in the same transaction (`setAsideOnActivation`,
   * audited `device.status_changed` after the operator's entry), and comes back when that sharing
   * ends; `setAsideFor` names that request (null when nothing was set aside).
   * The challenges waiting on the device end with the change (`changeDeviceStatus`, which also says how many).
   */
  async setDeviceStatus(deviceId: string, status: DeviceStatus, by = 'slsctl'): Promise<{ setAsideFor: string | null }> {
    const { setAsideFor } = await this.changeDeviceStatus(deviceId, status, by);
    return { setAsideFor };
  }

  /**
   * `setDeviceStatus`, saying what ended with the change (slsctl prints it, as `device assign` does).
   *
   * SPEC D5, L5, L2, W1, S3, D6, L7: a device the operator takes out of use (inactive, lost, returned,
   * revoked, pending) ends, in the same transaction, every challenge still waiting on it
   * (`endChallengesOnDevice`, `'choose_again'`): its portal confirmations (a withdrawal's, a sharing's,
   * its activation's) end, its IB Key pushes are superseded, and each live login whose challenge is on
   * it goes back to the device choice, as a user expects who only lost that device: they go on with
   * another one (L5) instead of starting over, and if the operator makes it active again (a card
   * found, a mistake undone) the challenge from before answers nothing: the login asks for a device
   * again and the device gets a fresh challenge. Before, every answer path refused such a challenge
   * only while the device was out of use, and the right response after an inactive → active round
   * trip signed the user in, confirmed the withdrawal or activated the card as if nothing happened.
   * Made active from another status, the same is done for whatever was left waiting on it while it
   * was out of use by a path that did not end it (a sharing's set-aside, S5; an IB Key revoked by
   * a transfer, K5; a database from before this change): made active again, it revives nothing.
   * Counted in the `device.status_changed` entry (N2): always when the device is taken out of use,
   * as `assignDevice` does; on activation only when something was left waiting.
   */
  async changeDeviceStatus(deviceId: string, status: DeviceStatus, by = 'slsctl'): Promise<DeviceStatusChange> {
    if (!DEVICE_STATUSES.includes(status)) throw new SlsError('SLS_ERR_VALIDATION', { message: `status is one of ${DEVICE_STATUSES.join(', ')}` });
    const device = await this.#s.db.selectFrom('devices').selectAll().where('id', '=', deviceId).executeTakeFirst();
    if (!device) throw new SlsError('SLS_ERR_NOT_FOUND', { message: `no device ${deviceId}` });
    const now = this.#s.now();
    const done = await this.#s.db.transaction().execute(async (baseTrx) => {
      const trx = accountDb(baseTrx);
      // SPEC D5, D8: a retired device back in use must not share its serial with another in use.
      if (IN_USE.includes(status) && !IN_USE.includes(device.status)) await refuseDuplicateSerial(baseTrx, device, 'nothing changed');
      await trx
        .updateTable('devices')
        .set({ status, ...(status === 'active' && device.activated_at === null ? { activated_at: now } : {}) })
        .where('id', '=', deviceId)
        .execute();
      // SPEC D5, D8, L8: a device set non-active authenticates no more, so the sessions opened with it
      // (its owner's, a sharing requester's) end now with it, and the restart chains they began.
      const ended = status === 'active' ? null : await endSessionsOfDevice(baseTrx, deviceId, now);
      let restartTokens = ended?.restartTokens ?? 0;
      if (device.status === 'active' && status !== 'active') {
        // SPEC L8, D5: like a device reported lost (devices-admin.ts `report`), an active device the
        // operator takes away ends its user's restart tokens: the next start is a full login.
        const r = await trx.updateTable('restart_tokens').set({ revoked_at: now }).where('user_id', '=', device.user_id).where('revoked_at', 'is', null).where('used_at', 'is', null).executeTakeFirst();
        restartTokens += Number(r.numUpdatedRows);
      }
      // SPEC D5, L5, W1, S3, D6, L7: no challenge issued on it before answers after (above).
      const takenOut = status !== 'active';
      const challenges = takenOut || device.status !== 'active' ? await endChallengesOnDevice(baseTrx, deviceId, now, 'choose_again') : NO_CHALLENGES;
      const counts = {
        loginsBackToChoice: challenges.backToChoice,
        loginsEnded: challenges.logins.length - challenges.backToChoice,
        confirmationsEnded: challenges.confirmations,
        pushesEnded: challenges.pushes,
      };
      const counted = takenOut || challenges.logins.length + challenges.confirmations + challenges.pushes > 0;
      await appendAudit(baseTrx, now, {
        event: 'device.status_changed',
        userId: device.user_id,
        deviceId,
        details: {
          from: device.status,
          to: status,
          by,
          ...(ended ? { sessionsEnded: ended.sessions, restartTokensRevoked: restartTokens } : {}),
          ...(counted ? counts : {}),
        },
      });
      if (restartTokens > 0) {
        await appendAudit(baseTrx, now, { event: 'restart.revoked', userId: device.user_id, deviceId, details: { by, count: restartTokens, reason: `device ${status}` } });
      }
      // SPEC S5, D8: a shared device that no longer authenticates ends its sharings; requesters get their set-aside devices back.
      if (status !== 'active') {
        await endSharingsOfDevice(trx, deviceId, now, { reason: `shared device set ${status} by an operator (S5, D8)`, by });
        return { setAsideFor: null, ...counts, endedLogins: challenges.logins };
      }
      // SPEC S5: made active while its user shares another user's device: set aside until that sharing ends.
      const setAsideFor = await setAsideOnActivation(trx, device.user_id, deviceId, now, null, {
        reason: "made active while its user shares another user's device: set aside until that sharing ends (S5)",
        by,
      });
      return { setAsideFor, ...counts, endedLogins: challenges.logins };
    });
    const { endedLogins, ...result } = done;
    // SPEC L7, L4: a desktop waiting on a login whose challenge ended here (its IB Key push) hears it now; one on another slsd, at its next look.
    const notifier = notifierOf(this.#s.db);
    for (const id of endedLogins) notifier?.notify(`tx:${id}`);
    return result;
  }

  /**
   * Moves a registered device to another user (e.g. an existing legacy device, SPEC D7).
   *
   * All in one transaction with its `device.status_changed` entry (N2: `assignedTo`, `assignedFrom`,
   * `sessionsEnded`, `restartTokensRevoked`), or none of it:
   * - D5, L8: the device no longer signs its former owner in: every live session opened with it ends
   *   (the former owner's, a sharing requester's), with the restart chains begun with it and the
   *   sessions those restarted (sessions.ts `endSessionsOfDevice`). Before, the former owner stayed
   *   signed in through a device now someone else's, and auto-restarted until the weekly cut-off.
   * - D5, D2, L5, L7, W1, S3, D6: no challenge issued on it before answers after: the portal
   *   confirmations waiting on it (a withdrawal's, a sharing's, its own activation's), the IB Key
   *   pushes waiting for it and the live logins whose challenge is on it end (`endChallengesOnDevice`;
   *   counted in the entry: `confirmationsEnded`, `pushesEnded`, `loginsEnded`). Else, the device
   *   staying active, the former owner could still complete the activation of a card now someone
   *   else's (D6), a push stayed on the phone for its new owner's app to answer (L7), and a
   *   withdrawal's or login's response was still judged (wrong ones counted) before its refusal.
   * - S5: no sharing of it goes on under its new owner: each open request for it ends, and an approved
   *   one gives its requester back the own devices it set aside, audited `sharing.cancelled` (sharing.ts
   *   `endSharingsOfDevice`).
   * - S5: an active physical device assigned to a user who shares another user's device (an approved
   *   request of theirs) is set aside like their other own devices, audited `device.status_changed`,
   *   and comes back when that sharing ends (sharing.ts `setAsideOnActivation`; `setAside`).
   * - The device is moved conditionally on the owner read: of two assigns at once, one wins, the
   *   other is SLS_ERR_CONFLICT. Assigned to the user who has it: nothing changes, nothing is written.
   */
  async assignDevice(
    deviceId: string,
    username: string,
  ): Promise<{
    changed: boolean;
    from: string;
    sessionsEnded: number;
    restartTokensRevoked: number;
    sharingsEnded: number;
    loginsEnded: number;
    confirmationsEnded: number;
    pushesEnded: number;
    setAside: boolean;
  }> {
    const user = await this.userByName(username);
    const now = this.#s.now();
    const by = this.#by.by ?? 'slsctl';
    const unchanged = { sessionsEnded: 0, restartTokensRevoked: 0, sharingsEnded: 0, loginsEnded: 0, confirmationsEnded: 0, pushesEnded: 0, setAside: false };
    const done = await this.#s.db.transaction().execute(async (trx) => {
      const device = await trx
        .selectFrom('devices')
        .innerJoin('users', 'users.id', 'devices.user_id')
        .select(['devices.user_id', 'devices.kind', 'users.username_normalized'])
        .where('devices.id', '=', deviceId)
        .executeTakeFirst();
      if (!device) throw new SlsError('SLS_ERR_NOT_FOUND', { message: `no device ${deviceId}` });
      const from = device.username_normalized;
      // SPEC D7, K1, K3, P4, T1: only a physical device changes hands. IB Key is its user's key in their
      // app (another user adds themselves in the app), SMS is its user's verified number, and a
      // temporary passcode or online card was issued to one user: given to another, it would sign them
      // in with something that was never theirs.
      if (!DEVICE_CATALOGUE[device.kind].physical) {
        throw new SlsError('SLS_ERR_CONFLICT', {
          message: `${deviceId} is ${DEVICE_CATALOGUE[device.kind].name}, which belongs to the user it was issued to and cannot be assigned: give ${user.username_normalized} their own (SPEC D7)`,
        });
      }
      if (device.user_id === user.id) return { changed: false, from, ...unchanged, endedLogins: [] as readonly string[] };
      const r = await trx.updateTable('devices').set({ user_id: user.id }).where('id', '=', deviceId).where('user_id', '=', device.user_id).executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new SlsError('SLS_ERR_CONFLICT', { message: `device ${deviceId} changed meanwhile: look at it again` });
      const ended = await endSessionsOfDevice(trx, deviceId, now);
      const challenges = await endChallengesOnDevice(trx, deviceId, now);
      await appendAudit(trx, now, {
        event: 'device.status_changed',
        userId: user.id,
        deviceId,
        details: {
          assignedTo: user.username_normalized,
          assignedFrom: from,
          ...this.#by,
          sessionsEnded: ended.sessions,
          restartTokensRevoked: ended.restartTokens,
          loginsEnded: challenges.logins.length,
          confirmationsEnded: challenges.confirmations,
          pushesEnded: challenges.pushes,
        },
      });
      const sharings = await endSharingsOfDevice(accountDb(trx), deviceId, now, { reason: 'shared device assigned to another user by an operator (S5, D7)', by });
      // SPEC S5: after its own sharings ended (a requester who shared this very device now owns it: it stays active).
      const setAside = await setAsideOnActivation(accountDb(trx), user.id, deviceId, now, null, {
        reason: "assigned to a user who shares another user's device: set aside until that sharing ends (S5)",
        by,
      });
      return {
        changed: true,
        from,
        sessionsEnded: ended.sessions,
        restartTokensRevoked: ended.restartTokens,
        sharingsEnded: sharings.length,
        loginsEnded: challenges.logins.length,
        confirmationsEnded: challenges.confirmations,
        pushesEnded: challenges.pushes,
        setAside: setAside !== null,
        endedLogins: challenges.logins,
      };
    });
    const { endedLogins, ...result } = done;
    // SPEC L7, L4: a desktop waiting on a login ended here (its IB Key push) hears it now; one on another slsd, at its next look.
    const notifier = notifierOf(this.#s.db);
    for (const id of endedLogins) notifier?.notify(`tx:${id}`);
    return result;
  }

  async devicesOf(username: string): Promise<DeviceRow[]> {
    const user = await this.userByName(username);
    return this.#s.db.selectFrom('devices').selectAll().where('user_id', '=', user.id).orderBy('created_at').execute();
  }

  /**
   * Issues a temporary passcode (SPEC T1): full access 2 days, then Client Portal only 10 days.
   *
   * Never two in a row: refused while the user has not logged in with a regular device since the
   * last temporary passcode was issued. A new one revokes any earlier one.
   *
   * "Logged in since" is read from the audit log (SPEC N2: append-only, never swept), by its
   * `login.succeeded` entries and the kind of their device — not from `sessions`, whose rows
   * housekeeping deletes a day after they expire: a user who once had a passcode, then signed in
   * with a regular device for months, would otherwise be refused the next one for good. By the
   * audit log's user index (user_id, id), from the passcode's own `temporary_access.issued` entry on.
   */
  async issueTemporaryPasscode(username: string, issuedBy: string): Promise<{ passcode: string; deviceId: string; fullAccessUntil: number; portalAccessUntil: number }> {
    const user = await this.userByName(username);
    const db = this.#s.db;
    const now = this.#s.now();
    const id = newId('dev');
    const passcode = randomDigits(TEMP_PASSCODE_LENGTH);
    const fullAccessUntil = now + TEMP_PASSCODE_FULL_ACCESS_MS;
    const portalAccessUntil = fullAccessUntil + TEMP_PASSCODE_PORTAL_ONLY_MS;
    // SPEC T1, N1: "never two in a row" is read in the step that issues, which no other runs for the
    // same user at the same time: two operators (or one pressing twice) helping the same caller got a
    // passcode each, the second revoking the first the user had just been read out. PostgreSQL: the
    // user's row is locked first; SQLite: the transaction holds the write lock (db/connect.ts).
    await db.transaction().execute(async (trx) => {
      if (trx.getExecutor().adapter instanceof PostgresAdapter) await trx.selectFrom('users').select('id').where('id', '=', user.id).forUpdate().execute();
      const last = await trx.selectFrom('temporary_passcodes').selectAll().where('user_id', '=', user.id).orderBy('issued_at', 'desc').limit(1).executeTakeFirst();
      if (last) {
        const regularLogin = await trx
          .selectFrom('audit_log')
          .innerJoin('devices', 'devices.id', 'audit_log.device_id')
          .select('audit_log.id')
          .where('audit_log.user_id', '=', user.id)
          .where('audit_log.event', '=', 'login.succeeded')
          .where('audit_log.at', '>=', last.issued_at)
          .where('devices.kind', 'not in', ['temp_passcode', 'online_scc'])
          .limit(1)
          .executeTakeFirst();
        if (!regularLogin) {
          const iso = (ms: number) => new Date(ms).toISOString();
          const live = last.portal_access_until > now;
          throw new SlsError('SLS_ERR_TEMP_PASSCODE_IN_A_ROW', {
            message:
              `A temporary passcode cannot follow another one: ${user.username_normalized} has not logged in with a regular device since the last one was issued ${iso(last.issued_at)}` +
              (live ? ` (it gives full access until ${iso(last.full_access_until)}, the Client Portal until ${iso(last.portal_access_until)})` : '') +
              '. The user logs in with a regular device first (a replacement DSC+ activates itself 14 days after it was sent, D6).',
          });
        }
      }
      await trx.updateTable('devices').set({ status: 'revoked' }).where('user_id', '=', user.id).where('kind', '=', 'temp_passcode').where('status', '=', 'active').execute();
      await trx
        .insertInto('devices')
        .values({
          id,
          user_id: user.id,
          kind: 'temp_passcode',
          status: 'active',
          serial: null,
          label: 'Temporary passcode',
          secret_sealed: this.#s.box.sealText(passcode, sealContext(id, 'secret')),
          pin_hash_sealed: null,
          scc_sequence: 0,
          created_at: now,
          activated_at: now,
          last_used_at: null,
        })
        .execute();
      await trx
        .insertInto('temporary_passcodes')
        .values({ device_id: id, user_id: user.id, issued_at: now, full_access_until: fullAccessUntil, portal_access_until: portalAccessUntil, issued_by: issuedBy })
        .execute();
      // SPEC N2, T1: issued with its entry, or not at all. The entry is also what "never two in a row"
      // reads from (above): a passcode without it would be one the next issue cannot see past.
      await appendAudit(trx, now, {
        event: 'temporary_access.issued',
        userId: user.id,
        username: user.username_normalized,
        deviceId: id,
        details: { issuedBy, fullAccessUntil: new Date(fullAccessUntil).toISOString(), portalAccessUntil: new Date(portalAccessUntil).toISOString() },
      });
    });
    return { passcode, deviceId: id, fullAccessUntil, portalAccessUntil };
  }

  /**
   * Client services sign a user out everywhere (a lost laptop, a suspected intrusion; SPEC L8, N2):
   * every session and restart token ends, in one commit with its audit entry. The password and the
   * devices stay; the next sign-in is a full login.
   */
  async signOutEverywhere(username: string, by: string): Promise<{ sessionsEnded: number; restartTokensRevoked: number }> {
    const user = await this.userByName(username);
    const now = this.#s.now();
    return this.#s.db.transaction().execute(async (trx) => {
      const ended = await endEverySessionOf(trx, user.id, now);
      const counts = { sessionsEnded: ended.sessions, restartTokensRevoked: ended.restartTokens };
      await appendAudit(trx, now, { event: 'user.signed_out', userId: user.id, username: user.username_normalized, details: { by, ...counts } });
      return counts;
    });
  }

  /**
   * Client services lift a lockout (SPEC L6): the user's failure count is cleared, and with it a lock.
   *
   * `cleared`: there were failures to clear; `wasLocked`: the user was locked. Audited only when
   * something changed (SPEC N2: the log records security events, and unlocking a user with nothing
   * counted changes nothing).
   */
  async unlockUser(username: string, by: string): Promise<{ cleared: boolean; wasLocked: boolean }> {
    const normalized = normalizeUsername(username);
    let wasLocked = false;
    // SPEC N2: cleared with its entry, in one transaction; nothing counted: nothing written.
    const cleared = await this.#s.throttle.unlockUser(normalized, async (trx, now, { lockedUntil }) => {
      wasLocked = lockedUntil !== null;
      const user = await trx.selectFrom('users').select('id').where('username_normalized', '=', normalized).executeTakeFirst();
      await appendAudit(trx, now, {
        event: 'user.unlocked',
        userId: user?.id ?? null,
        username: normalized,
        details: { by, wasLocked, ...(lockedUntil !== null ? { lockedUntil: new Date(lockedUntil).toISOString() } : {}) },
      });
    });
    return { cleared, wasLocked };
  }
}
