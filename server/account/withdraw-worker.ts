/**
 * A second slsd process for the W4 test: opens the same SQLite file and confirms withdrawals at a
 * given instant, to race the test's own process (SQLite file or PostgreSQL). Input (env): SLS_WORKER_DATA_DIR, SLS_WORKER_DATABASE_URL,
 * SLS_WORKER_SERVER_KEY, SLS_WORKER_TOKEN, SLS_WORKER_BODIES (JSON array), SLS_WORKER_GO_AT (epoch ms).
 * Output (stdout): one JSON array of outcomes, "ok" or an error code.
 */
import { defaultConfig } from '../config.ts';
import { isSlsError } from '../errors.ts';
import { createServices } from '../services/index.ts';
import { accountServices } from './index.ts';
import { portalCaller } from './portal.ts';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const services = await createServices(
  defaultConfig({ dataDir: env('SLS_WORKER_DATA_DIR'), databaseUrl: env('SLS_WORKER_DATABASE_URL'), serverKey: env('SLS_WORKER_SERVER_KEY'), logLevel: 'silent' }),
);
const account = accountServices(services);
const caller = await portalCaller(account.deps.adb, env('SLS_WORKER_TOKEN'), Date.now());
const bodies = JSON.parse(env('SLS_WORKER_BODIES')) as { amountCents: number; idempotencyKey: string; confirmation: { id: string; response: string } }[];
await new Promise((r) => setTimeout(r, Math.max(0, Number(env('SLS_WORKER_GO_AT')) - Date.now())));
const outcomes = await Promise.all(
  bodies.map((b) =>
    account.withdrawals.withdraw(caller, b, 'worker').then(
      () => 'ok',
      (e: unknown) => (isSlsError(e) ? e.code : String(e)),
    ),
  ),
);
process.stdout.write(JSON.stringify(outcomes));
await services.close();
