/**
 * Helpers for the account-security tests: a real slsd on a SQLite file, users with devices, logins.
 */
import { Migrator } from 'kysely';
import { afterEach, beforeEach } from 'vitest';
import type { Challenge, LoginStep } from '../../core/api.ts';
import { deviceResponse } from '../../core/codes.ts';
import { DEVICE_CATALOGUE } from '../../core/devices.ts';
import type { DeviceKind } from '../../core/devices.ts';
import { ocraPasswordHash } from '../../core/ocra.ts';
import type { SlsConfig } from '../config.ts';
import { migrationProvider } from '../db/migrations.ts';
import { tempDataDir } from '../db/pg-testing.ts';
import type { StorageBackend } from '../db/pg-testing.ts';
import type { NewEntity, ProvisionedDevice } from '../services/provisioning.ts';
import { postJson } from '../testing/http.ts';
import type { Answer } from '../testing/http.ts';
import { startTestServer } from '../testing/test-server.ts';
import { testClock } from '../testing/test-server.ts';
import type { TestClock, TestServer } from '../testing/test-server.ts';
import { accountSecurityMigration } from './schema.ts';
import type { AccountDb } from './schema.ts';
import { accountDb } from './schema.ts';

export const PASSWORD = 'Correct-Horse-1';
export const PORTAL = { kind: 'client_portal', version: 1010, name: 'Client Portal test' } as const;
export const TRADING = { kind: 'trading_platform', version: 1010, name: 'SLS Desktop test' } as const;
export const USD = 100;

export interface AccountTestServer extends TestServer {
  readonly adb: AccountDb;
}

/** A test slsd whose database has the account-security tables (a no-op once the shared migration list has them). */
export async function startAccountServer(opts: { listen?: boolean; clock?: TestClock | null; dataDir?: string; config?: Partial<SlsConfig> } = {}): Promise<AccountTestServer> {
  const t = await startTestServer(opts);
  const base = await migrationProvider(t.services.database.dialect).getMigrations();
  const migrations = '0003_account_security' in base ? base : { ...base, '0003_account_security': accountSecurityMigration(t.services.database.dialect) };
  const { error } = await new Migrator({ db: t.services.db, provider: { getMigrations: async () => migrations } }).migrateToLatest();
  if (error) throw error;
  return Object.assign(t, { adb: accountDb(t.services.db) });
}

/**
 * SPEC N1: inside a `describeEachBackend` body, a test slsd on a fresh database of that backend (a
 * SQLite file, or a PostgreSQL database dropped after) for each test, its clock at `at`; `use` gets it.
 */
export function accountServerForEachTest(backend: StorageBackend, at: number, use: (t: AccountTestServer) => void): void {
  let t: AccountTestServer;
  let fresh: Awaited<ReturnType<StorageBackend['freshDatabase']>>;
  let data: ReturnType<typeof tempDataDir>;
  beforeEach(async () => {
    data = tempDataDir();
    fresh = await backend.freshDatabase(data.dir);
    t = await startAccountServer({ clock: testClock(at), dataDir: data.dir, config: { databaseUrl: fresh.url } });
    use(t);
  });
  afterEach(async () => {
    await t.close();
    await fresh.drop();
    data.remove();
  });
}

export interface TestUser {
  readonly username: string;
  readonly userId: string;
  readonly entityId: string;
  readonly devices: Record<string, ProvisionedDevice>;
}

/** An entity (or the given one), an account with a balance, a user with devices of these kinds. */
export async function makeUser(
  t: TestServer,
  username: string,
  kinds: readonly DeviceKind[],
  opts: { entityId?: string; entity?: Partial<NewEntity>; balanceUsd?: number; accountNumber?: string; joinAccount?: string; mobile?: string | null; displayName?: string } = {},
): Promise<TestUser> {
  const entityId = opts.entityId ?? (await t.provisioning.createEntity({ name: username, ...opts.entity }));
  const accountNumbers: string[] = [];
  if (opts.joinAccount) accountNumbers.push(opts.joinAccount);
  else {
    const number = opts.accountNumber ?? `U${Math.floor(Math.random() * 1e9)}`;
    await t.provisioning.createAccount({ number, entityId, balanceUsd: opts.balanceUsd ?? 1_000_000 });
    accountNumbers.push(number);
  }
  const userId = await t.provisioning.createUser({
    username,
    entityId,
    password: PASSWORD,
    displayName: opts.displayName ?? username,
    ...(opts.mobile === null ? {} : { mobileNumber: opts.mobile ?? '+447400123456' }),
    accountNumbers,
  });
  const devices: Record<string, ProvisionedDevice> = {};
  for (const kind of kinds) devices[kind] = await t.provisioning.addDevice({ username, kind });
  return { username, userId, entityId, devices };
}

/** What a device shows for a challenge: OCRA (with the DSC+ PIN) or the card's two codes. */
export function answer(p: ProvisionedDevice, c: Challenge): string {
  if (c.type === 'response_code') {
    if (!p.secret) throw new Error('no secret');
    const pinHash = p.pin ? ocraPasswordHash(DEVICE_CATALOGUE.dscplus.ocraSuite!, p.pin) : undefined;
    return deviceResponse(c.kind, p.secret, c.challenge, pinHash ? { pinHash } : {});
  }
  if (c.type === 'index_numbers') {
    if (!p.card) throw new Error('no card');
    return p.card.cells[c.indexes[0] - 1]! + p.card.cells[c.indexes[1] - 1]!;
  }
  throw new Error(`cannot answer a ${c.type} challenge`);
}

export function ok<T>(a: Answer<T>): T {
  if (a.status !== 200) throw new Error(`expected 200, got ${a.status}: ${JSON.stringify(a.body)}`);
  return a.body;
}

/** Log in with one device (selecting it when the user has several); returns the bearer token. */
export async function signIn(t: TestServer, username: string, device: ProvisionedDevice, client: object = PORTAL, respond?: (c: Challenge) => string): Promise<string> {
  let step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username, password: PASSWORD, client }));
  // IB Key answers with its offline code here (K2): a push is switched to offline mode.
  if (step.status === 'select_device' || (step.status === 'challenge' && (step.challenge.deviceId !== device.device.id || step.challenge.type === 'push'))) {
    step = ok(await postJson<LoginStep>(t.app, `/v1/login/${step.transactionId}/device`, { deviceId: device.device.id, mode: 'offline' }));
  }
  if (step.status !== 'challenge') throw new Error(`expected a challenge, got ${step.status}`);
  const done = ok(await postJson<LoginStep>(t.app, `/v1/login/${step.transactionId}/response`, { response: respond ? respond(step.challenge) : answer(device, step.challenge) }));
  if (done.status !== 'signed_in') throw new Error('not signed in');
  return done.session.token;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
