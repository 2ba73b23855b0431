/**
 * slsd's configuration: every setting, its default and why, in one typed object.
 *
 * Read from the environment (`SLS_*`) and CLI flags (which win). Defaults are the embedded
 * default of SPEC N1: SQLite in a data folder on loopback, SMS to an outbox. Unsafe settings
 * (a generated server key, the benchmark-only no-op password hash) warn loudly at start.
 */
import fs from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { DEFAULT_HASH_NICE } from './services/hashing-priority.ts';
import { startRefused } from './start-refused.ts';
import { databaseTarget } from './db/url.ts';
import { PG_POOL_MAX } from './db/pg-config.ts';

export type PasswordHashing = 'argon2id' | 'noop-benchmark-only';

export interface Argon2Params {
  /** KiB of memory; OWASP's minimum for argon2id is 19 MiB (SPEC A3). */
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

export interface SlsConfig {
  /** Folder for the SQLite file, the server key, DSC+ state files and demo files. Default `./.sls-data`. */
  readonly dataDir: string;
  /**
   * Where the data lives. Default: the SQLite file `sls.db` in the data folder (SPEC N1 embedded default).
   * `postgres://…` (env `SLS_DATABASE_URL`) selects PostgreSQL for scale-out; `sqlite:<file>` or a
   * path, another SQLite file. Any other scheme is refused at start (db/url.ts).
   */
  readonly databaseUrl: string;
  /**
   * PostgreSQL only: the connections this process (each `--workers` worker) opens at most for requests
   * (env `SLS_DATABASE_POOL_MAX`, 1–100, default 10), so operators can fit every slsd under the
   * server's max_connections; one more LISTENs.
   */
  readonly databasePoolMax: number;
  /** Listen address. Default 127.0.0.1: loopback only, until an operator decides otherwise. */
  readonly host: string;
  /** Listen port. Default 7860. */
  readonly port: number;
  /**
   * AES-256-GCM key for device secrets at rest (SPEC D4), base64 of 32 bytes (env `SLS_SERVER_KEY`).
   * Default undefined: read `server.key` in the data folder, created 0600 on first start with a loud warning.
   */
  readonly serverKey: string | undefined;
  /** argon2id parameters (SPEC A3). Default m=19456 KiB, t=2, p=1 (OWASP). */
  readonly argon2: Argon2Params;
  /**
   * How far below slsd's own scheduling priority its argon2id threads run: a nice increment, 0–19
   * (Linux; server/services/hashing-priority.ts). On a busy machine the event loop, the database and
   * the proxy beside slsd then go before a hash. Default 10; 0 keeps one priority. Env SLS_HASH_NICE.
   */
  readonly hashNice: number;
  /** Only for `npm run bench:login`: replaces argon2id with a no-op to measure everything else. Default argon2id. */
  readonly passwordHashing: PasswordHashing;
  /** Session lifetime in ms. Default 12 h: one trading day. */
  readonly sessionTtlMs: number;
  /** Login transaction lifetime in ms (password accepted → second factor). Default 5 min. */
  readonly loginTransactionTtlMs: number;
  /** SMS code lifetime in ms. Default 5 min. */
  readonly smsCodeTtlMs: number;
  /** Wait before a new SMS code may be asked (SPEC L4). Default 30 s. */
  readonly smsResendCooldownMs: number;
  /**
   * Fastify's trustProxy: off by default, so the source address of throttling (SPEC L6) is the socket
   * peer and a forged X-Forwarded-For can neither dodge it nor lock others out. Set to the proxies'
   * addresses and ranges (env SLS_TRUST_PROXY: true, false, or a comma-separated list; `trustProxyFrom`).
   */
  readonly trustProxy: boolean | string | string[];
  /** Largest request body in bytes. Default 16 KiB: every API body is tiny. */
  readonly bodyLimit: number;
  /** SMS gateway (SPEC P5). Default 'outbox': SMS are written to a table that `slsctl sms` lists. */
  readonly smsGateway: 'outbox';
  /**
   * The carriers of the gateway deliver texts only 08:00–21:00 in the number's country (SPEC P2,
   * core/phone.ts). Default true: outside those hours codes are refused, and number verification
   * codes wait (server/sms/policy.ts). False for a gateway whose carriers deliver at any hour
   * (SLS_SMS_CARRIER_HOURS=off); tests turn it off unless they test it, so that they do not depend
   * on the time of day. The do-not-call list applies either way.
   */
  readonly smsCarrierHours: boolean;
  /**
   * At most this many SMS to one number in any rolling hour (SPEC L4, server/sms/policy.ts): login
   * codes and resends, Client Portal confirmation codes and IB Key activation codes together; number
   * verification codes (which anyone signed in may ask for any number) in a budget of the same size of
   * their own, so they cannot use up a number's budget for its owner's login codes. Over it the SMS is
   * refused with SLS_ERR_RATE_LIMITED and `retryAt`. Kept in the database, so several slsd share it
   * (SPEC N1). Default 10: a user who logs in and asks for a few resends sends 2 to 4 in an hour;
   * flooding a phone, or making the broker pay for a stream of texts, needs many more. 0 turns the
   * budget off. Env SLS_SMS_BUDGET_PER_HOUR.
   */
  readonly smsBudgetPerHour: number;
  /**
   * How often slsd sends the SMS deferred to the carriers' hours that are due (SPEC P2, server/sms/policy.ts).
   * Default 60 s; 0 turns the interval off (`slsctl sms dispatch` still sends them).
   */
  readonly smsDispatchIntervalMs: number;
  /** Per source address: this many failures within `addressFailureWindowMs` refuse further attempts (SPEC L6). Default 100. */
  readonly addressFailureLimit: number;
  /** Default 15 min. */
  readonly addressFailureWindowMs: number;
  /**
   * slsd processes sharing the port (node:cluster). Default 1. No state lives in a process (SPEC N1),
   * so several workers behave as one; set it to the number of cores to use them all.
   */
  readonly workers: number;
  /**
   * How often slsd deletes expired login transactions, sessions, IB Key nonces/approvals/activations
   * and old failure counters (`server/services/housekeeping.ts`; never the audit log, SPEC N2).
   * Default 10 min; 0 turns the sweep off (`slsctl housekeeping` still does it).
   */
  readonly housekeepingIntervalMs: number;
  /** How long after expiring (or being revoked) such rows are kept before housekeeping deletes them. Default 24 h. */
  readonly housekeepingGraceMs: number;
  /**
   * How long the SMS outbox (SPEC P5) keeps a sent or dropped message before housekeeping deletes it;
   * messages still waiting for the carrier's hours stay. Default 30 days (env SLS_SMS_RETENTION_DAYS).
   */
  readonly smsRetentionMs: number;
  /**
   * How long cancelled or rejected sharing requests (SPEC S3–S5) and cancelled device orders (D6, D8)
   * are kept after the audit log (N2) recorded their settlement, before housekeeping deletes them;
   * open ones stay. Default 365 days (env SLS_SETTLED_RETENTION_DAYS).
   */
  readonly settledRetentionMs: number;
  /** pino log level (LOG_LEVELS); 'silent' turns logging off. Default 'info'. */
  readonly logLevel: string;
  /**
   * Port of the Prometheus metrics listener (`GET /metrics`, server/metrics.ts), apart from the API's.
   * Default null: no metrics. 0 picks a free port (printed at start). Env SLS_METRICS_PORT, flag --metrics-port.
   */
  readonly metricsPort: number | null;
  /** Address of the metrics listener. Default 127.0.0.1: a scraper on the same host or a tunnel. Env SLS_METRICS_HOST. */
  readonly metricsHost: string;
}

export const DEFAULT_DATA_DIR = './.sls-data';

/** pino's levels, most to least severe, and 'silent' (no log). Another value made pino throw at start, with slsd then hanging. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** OWASP argon2id parameters (SPEC A3). */
export const DEFAULT_ARGON2: Argon2Params = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** SPEC L6: 10 consecutive failures within 24 h lock the user until 24 h after the last. Fixed by the spec, not configurable. */
export const USER_FAILURE_LIMIT = 10;
export const USER_FAILURE_WINDOW_MS = 24 * 60 * 60 * 1000;
/** SPEC L4: SMS to one number in any rolling hour, by default (`smsBudgetPerHour`). */
export const DEFAULT_SMS_BUDGET_PER_HOUR = 10;
/** SPEC L6: a login transaction allows 3 wrong responses. */
export const WRONG_RESPONSES_PER_TRANSACTION = 3;

export function defaultConfig(overrides: Partial<SlsConfig> = {}): SlsConfig {
  const dataDir = overrides.dataDir ?? DEFAULT_DATA_DIR;
  return {
    dataDir,
    databaseUrl: overrides.databaseUrl ?? sqliteUrl(dataDir),
    databasePoolMax: PG_POOL_MAX,
    host: '127.0.0.1',
    port: 7860,
    serverKey: undefined,
    argon2: DEFAULT_ARGON2,
    passwordHashing: 'argon2id',
    hashNice: DEFAULT_HASH_NICE,
    sessionTtlMs: 12 * 60 * 60 * 1000,
    loginTransactionTtlMs: 5 * 60 * 1000,
    smsCodeTtlMs: 5 * 60 * 1000,
    smsResendCooldownMs: 30 * 1000,
    trustProxy: false,
    bodyLimit: 16 * 1024,
    smsGateway: 'outbox',
    smsDispatchIntervalMs: 60 * 1000,
    smsCarrierHours: true,
    smsBudgetPerHour: DEFAULT_SMS_BUDGET_PER_HOUR,
    addressFailureLimit: 100,
    addressFailureWindowMs: 15 * 60 * 1000,
    logLevel: 'info',
    workers: 1,
    housekeepingIntervalMs: 10 * 60 * 1000,
    housekeepingGraceMs: 24 * 60 * 60 * 1000,
    smsRetentionMs: 30 * 24 * 60 * 60 * 1000,
    settledRetentionMs: 365 * 24 * 60 * 60 * 1000,
    metricsPort: null,
    metricsHost: '127.0.0.1',
    ...overrides,
  };
}

export function sqliteUrl(dataDir: string): string {
  return `sqlite:${path.join(dataDir, 'sls.db')}`;
}

function intEnv(env: NodeJS.ProcessEnv, name: string, range: { min?: number; why?: string } = {}): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw startRefused(`${name} must be a non-negative integer, got "${v}"`);
  if (range.min !== undefined && n < range.min) throw startRefused(`${name} must be at least ${range.min}${range.why ? ` (${range.why})` : ''}, got ${n}`);
  return n;
}

/**
 * A secret from the environment, or from the file `<NAME>_FILE` names (systemd credentials, Docker
 * and Kubernetes secrets): the file keeps it out of the process environment, which other processes
 * of the same user, crash reports and child processes can read. Not both; a trailing newline is not
 * part of it.
 */
function secretFromEnv(env: NodeJS.ProcessEnv, name: 'SLS_SERVER_KEY' | 'SLS_DATABASE_URL'): string | undefined {
  const file = env[`${name}_FILE`];
  if (file === undefined || file === '') return env[name] || undefined;
  if (env[name]) throw startRefused(`set ${name} or ${name}_FILE, not both`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw startRefused(`${name}_FILE ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw startRefused(`${name}_FILE ${file} is empty`);
  return value;
}

/** @fastify/proxy-addr's names of ranges, which Fastify's trustProxy takes as they are. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * What `entry` of SLS_TRUST_PROXY is when it is neither an IP address, a CIDR range (prefix 1–32, for
 * IPv6 1–128) nor a range name; null when it is one. Only what Fastify's trustProxy (@fastify/proxy-addr)
 * takes as well, and stricter where proxy-addr reads more than it shows: node:net's isIP takes neither
 * `127.1` nor `010.0.0.1` (to proxy-addr 127.0.0.1 and 8.0.0.1), nor a lone number (to proxy-addr an
 * address, `2` being 0.0.0.2). proxy-addr's netmask form (10.0.0.0/255.0.0.0) is left out, and /0 it
 * refuses itself: `true` trusts every peer.
 */
function notAProxy(entry: string): string | null {
  if (PROXY_RANGE_NAMES.includes(entry)) return null;
  const slash = entry.lastIndexOf('/');
  const family = isIP(slash === -1 ? entry : entry.slice(0, slash));
  // Fastify takes a number as a hop count, and then trusts no proxy at all: it cannot tell one from a client by it.
  if (family === 0) return /^\d+$/.test(entry) ? 'a hop count, which Fastify does not trust (it cannot tell a proxy from a client by one)' : 'not an IP address';
  if (slash === -1) return null;
  const prefix = entry.slice(slash + 1);
  const most = family === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= most ? null : `a range whose prefix length is not 1–${most}`;
}

/**
 * SLS_TRUST_PROXY: true, false, or the proxies as a comma-separated list (spaces around entries are
 * fine). Anything else is refused here, in one line, rather than by Fastify while the app is built: a
 * TypeError from deep inside it, after the database opened.
 */
function trustProxyFrom(v: string | undefined): SlsConfig['trustProxy'] | undefined {
  if (v === undefined || v === '') return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  const entries = v.split(',').map((s) => s.trim());
  for (const entry of entries) {
    const what = entry === '' ? 'an entry is empty' : notAProxy(entry);
    if (what === null) continue;
    throw startRefused(
      `SLS_TRUST_PROXY must be true, false or a comma-separated list of the proxies' IP addresses and CIDR ranges ` +
        `(e.g. 127.0.0.1,10.0.0.0/8; or ${PROXY_RANGE_NAMES.join(', ')}), got "${v}": ${entries.length > 1 && entry !== '' ? `"${entry}" is ${what}` : what}`,
    );
  }
  return entries;
}

/**
 * The config from the environment, then CLI flags on top.
 *
 * Env: SLS_DATA_DIR, SLS_DATABASE_URL (or SLS_DATABASE_URL_FILE), SLS_HOST, SLS_PORT, SLS_SERVER_KEY
 * (or SLS_SERVER_KEY_FILE), SLS_TRUST_PROXY
 * (true | false | comma-separated addresses and CIDR ranges), SLS_LOG_LEVEL, SLS_SESSION_TTL_MS, SLS_BODY_LIMIT, SLS_WORKERS,
 * SLS_SMS_CARRIER_HOURS (on | off), SLS_SMS_BUDGET_PER_HOUR, SLS_SMS_DISPATCH_INTERVAL_MS,
 * SLS_HOUSEKEEPING_INTERVAL_MS, SLS_HOUSEKEEPING_GRACE_MS, SLS_SMS_RETENTION_DAYS, SLS_SETTLED_RETENTION_DAYS,
 * SLS_DATABASE_POOL_MAX, SLS_METRICS_PORT, SLS_METRICS_HOST, SLS_HASH_NICE,
 * SLS_PASSWORD_HASHING (`argon2id`, the default, or `noop-benchmark-only` for the benchmark; anything else refused).
 * Every one is in server/README.md "Settings" (server/docs.test.ts keeps the two in step).
 */
export function loadConfig(
  env: NodeJS.ProcessEnv,
  flags: { dataDir?: string; port?: number; host?: string; databaseUrl?: string; workers?: number; metricsPort?: number } = {},
): SlsConfig {
  const dataDir = flags.dataDir ?? env.SLS_DATA_DIR ?? DEFAULT_DATA_DIR;
  const o: { -readonly [K in keyof SlsConfig]?: SlsConfig[K] } = { dataDir };
  const dbUrl = flags.databaseUrl ?? secretFromEnv(env, 'SLS_DATABASE_URL');
  if (dbUrl) {
    databaseTarget(dbUrl); // a scheme SLS does not know is refused here, before anything is made (db/url.ts)
    o.databaseUrl = dbUrl;
  }
  const host = flags.host ?? env.SLS_HOST;
  if (host) o.host = host;
  const port = flags.port ?? intEnv(env, 'SLS_PORT');
  if (port !== undefined) {
    if (port > 65535) throw startRefused(`SLS_PORT must be a port (0–65535), got ${port}`);
    o.port = port;
  }
  const serverKey = secretFromEnv(env, 'SLS_SERVER_KEY');
  if (serverKey) o.serverKey = serverKey;
  const tp = trustProxyFrom(env.SLS_TRUST_PROXY);
  if (tp !== undefined) o.trustProxy = tp;
  if (env.SLS_LOG_LEVEL) {
    if (!(LOG_LEVELS as readonly string[]).includes(env.SLS_LOG_LEVEL)) throw startRefused(`SLS_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.SLS_LOG_LEVEL}"`);
    o.logLevel = env.SLS_LOG_LEVEL;
  }
  const ttl = intEnv(env, 'SLS_SESSION_TTL_MS');
  if (ttl !== undefined) o.sessionTtlMs = ttl;
  // Below 1 KiB even a login's request is refused (413); Fastify itself refuses 0 only after the database opened.
  const bl = intEnv(env, 'SLS_BODY_LIMIT', { min: 1024, why: 'bytes of a request body; a login needs a few hundred' });
  if (bl !== undefined) o.bodyLimit = bl;
  const hours = env.SLS_SMS_CARRIER_HOURS;
  if (hours !== undefined && hours !== '') {
    if (!['on', 'off', 'true', 'false', '1', '0'].includes(hours)) throw startRefused(`SLS_SMS_CARRIER_HOURS must be on or off, got "${hours}"`);
    o.smsCarrierHours = ['on', 'true', '1'].includes(hours);
  }
  const smsBudget = intEnv(env, 'SLS_SMS_BUDGET_PER_HOUR');
  if (smsBudget !== undefined) o.smsBudgetPerHour = smsBudget;
  const dispatch = intEnv(env, 'SLS_SMS_DISPATCH_INTERVAL_MS');
  if (dispatch !== undefined) o.smsDispatchIntervalMs = dispatch;
  const sweepEvery = intEnv(env, 'SLS_HOUSEKEEPING_INTERVAL_MS');
  if (sweepEvery !== undefined) o.housekeepingIntervalMs = sweepEvery;
  const grace = intEnv(env, 'SLS_HOUSEKEEPING_GRACE_MS');
  if (grace !== undefined) o.housekeepingGraceMs = grace;
  const smsDays = intEnv(env, 'SLS_SMS_RETENTION_DAYS');
  if (smsDays !== undefined) o.smsRetentionMs = smsDays * 24 * 60 * 60 * 1000;
  const settledDays = intEnv(env, 'SLS_SETTLED_RETENTION_DAYS');
  if (settledDays !== undefined) o.settledRetentionMs = settledDays * 24 * 60 * 60 * 1000;
  const poolMax = intEnv(env, 'SLS_DATABASE_POOL_MAX', { min: 1, why: 'PostgreSQL connections per slsd process' });
  if (poolMax !== undefined) {
    if (poolMax > 100) throw startRefused(`SLS_DATABASE_POOL_MAX must be 1–100 (PostgreSQL connections per slsd process), got ${poolMax}`);
    o.databasePoolMax = poolMax;
  }
  const hashNice = intEnv(env, 'SLS_HASH_NICE');
  if (hashNice !== undefined) {
    if (hashNice > 19) throw startRefused(`SLS_HASH_NICE must be a nice increment, 0–19, got ${hashNice}`);
    o.hashNice = hashNice;
  }
  // A misspelt value is refused rather than ignored: an operator who wrote it meant something.
  const hashing = env.SLS_PASSWORD_HASHING;
  if (hashing !== undefined && hashing !== '') {
    if (hashing !== 'argon2id' && hashing !== 'noop-benchmark-only') throw startRefused(`SLS_PASSWORD_HASHING must be argon2id (the default) or noop-benchmark-only (benchmarks only), got ${hashing}`);
    o.passwordHashing = hashing;
  }
  const workers = flags.workers ?? intEnv(env, 'SLS_WORKERS');
  if (workers !== undefined) {
    if (workers < 1 || workers > 64) throw startRefused(`SLS_WORKERS must be 1–64 (processes serving the API), got ${workers}`);
    o.workers = workers;
  }
  const metricsPort = flags.metricsPort ?? intEnv(env, 'SLS_METRICS_PORT');
  if (metricsPort !== undefined) {
    if (metricsPort > 65535) throw startRefused(`SLS_METRICS_PORT must be a port (0–65535), got ${metricsPort}`);
    o.metricsPort = metricsPort;
  }
  if (env.SLS_METRICS_HOST) o.metricsHost = env.SLS_METRICS_HOST;
  return defaultConfig(o);
}
