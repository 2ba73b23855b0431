/**
 * A real slsd for tests: a fresh SQLite file in a temporary folder, a movable clock, provisioning.
 *
 * Other engineers' end-to-end tests use it too: `startTestServer({ listen: true })` also listens on
 * a loopback port and gives its `url`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../app.ts';
import type { SlsMetrics } from '../metrics.ts';
import { defaultConfig } from '../config.ts';
import type { SlsConfig } from '../config.ts';
import { Provisioning } from '../services/provisioning.ts';
import type { Services } from '../services/index.ts';
import type { SmsGateway } from '../sms/gateway.ts';
import type { PasswordHasher } from '../services/passwords.ts';

export interface TestClock {
  now(): number;
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
  set(ms: number): void;
}

export interface TestServer {
  readonly app: FastifyInstance;
  readonly services: Services;
  readonly provisioning: Provisioning;
  readonly clock: TestClock;
  readonly dataDir: string;
  readonly config: SlsConfig;
  /** `http://127.0.0.1:<port>` when started with `listen: true`. */
  readonly url: string | null;
  /** Its Prometheus metrics when the config sets `metricsPort` (not served: read `metrics.registry`). */
  readonly metrics: SlsMetrics | null;
  close(): Promise<void>;
}

/**
 * PostgreSQL for the same tests (ARCHITECTURE: one conformance suite on both databases): with
 * `SLS_TEST_POSTGRES_URL=postgres://user:pw@host/postgres` every test server gets a fresh database.
 */
export const TEST_POSTGRES_URL = process.env.SLS_TEST_POSTGRES_URL;

async function freshPostgresDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const pg = (await import('pg')).default;
  const name = `sls_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export function testClock(start = Date.UTC(2026, 10, 2, 14, 30)): TestClock {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms), set: (ms) => void (t = ms) };
}

export async function startTestServer(
  opts: { listen?: boolean; config?: Partial<SlsConfig>; clock?: TestClock | null; smsGateway?: SmsGateway; passwords?: PasswordHasher; dataDir?: string } = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'slsd-test-'));
  const postgres = TEST_POSTGRES_URL && !opts.config?.databaseUrl ? await freshPostgresDatabase(TEST_POSTGRES_URL) : null;
  const config = defaultConfig({
    dataDir,
    logLevel: 'silent',
    serverKey: randomBytes(32).toString('base64'),
    // Tests do not depend on the time of day; the SMS policy tests turn the carrier hours on (SPEC P2).
    smsCarrierHours: false,
    ...(postgres ? { databaseUrl: postgres.url } : {}),
    ...opts.config,
  });
  const clock = opts.clock === null ? { now: Date.now, advance: () => { throw new Error('real clock'); }, set: () => { throw new Error('real clock'); } } : (opts.clock ?? testClock());
  const built = await buildApp(config, {
    now: clock.now,
    ...(opts.smsGateway ? { smsGateway: opts.smsGateway } : {}),
    ...(opts.passwords ? { passwords: opts.passwords } : {}),
  });
  let url: string | null = null;
  if (opts.listen) url = await built.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app: built.app,
    services: built.services,
    provisioning: new Provisioning(built.services),
    clock,
    dataDir,
    config,
    url,
    metrics: built.metrics,
    async close() {
      await built.close();
      await postgres?.drop();
      if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
