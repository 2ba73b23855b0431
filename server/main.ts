/**
 * slsd's entry point: parse flags, build the app, listen. Everything else is in app.ts.
 *
 * With `--workers N` the primary process migrates the database and seeds the demo, then forks N
 * workers that share the port (node:cluster); no state lives in a process (SPEC N1).
 */
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { buildApp, DRAIN_IDLE_MS } from './app.ts';
import { loadConfig } from './config.ts';
import type { SlsConfig } from './config.ts';
import type { FastifyBaseLogger } from 'fastify';
import { readDemoReadme, seedDemo } from './demo.ts';
import { createServices, packageVersion } from './services/index.ts';
import { clusterSource, offerToPrimary, registrySource, serveMetrics } from './metrics.ts';
import type { MetricsServer } from './metrics.ts';
import { lowerPoolPriority } from './services/hashing-priority.ts';
import { hugePageWarning } from './services/huge-pages.ts';
import { hashingThreads, poolSize } from './services/passwords.ts';
import { bindRefusal } from './start-refused.ts';
import { firstMissing, ownerOnlyFromNowOn } from './folders.ts';
import { SQLITE_FILE_SUFFIXES, sqliteUnused } from './db/connect.ts';
import { sqliteFileOf } from './db/url.ts';
import type { Services } from './services/index.ts';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is 0–65535');
  return n;
}

function workerCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('1–64 workers');
  return n;
}

function loud(message: string): void {
  const bar = '!'.repeat(78);
  process.stderr.write(`\n${bar}\n!! WARNING: ${message}\n${bar}\n\n`);
}

interface Flags {
  dataDir?: string;
  port?: number;
  host?: string;
  databaseUrl?: string;
  demo?: boolean;
  workers?: number;
  metricsPort?: number;
}

function parseFlags(argv: readonly string[]): Flags {
  return new Command('slsd')
    .description('SLS authentication server: users, devices, login transactions, sessions (SPEC §0)')
    .version(packageVersion(), '-V, --version', 'print the SLS version')
    .option('--data-dir <dir>', 'data folder: SQLite file, server key, DSC+ state files, demo files (env SLS_DATA_DIR; default ./.sls-data)')
    .option('--port <port>', 'listen port (env SLS_PORT; default 7860; 0 picks a free one)', port)
    .option('--host <host>', 'listen address (env SLS_HOST; default 127.0.0.1)')
    .option('--database-url <url>', 'postgres://… for PostgreSQL, sqlite:<file> for another SQLite file (env SLS_DATABASE_URL; default SQLite in the data folder)')
    .option('--workers <n>', 'processes sharing the port (env SLS_WORKERS; default 1)', workerCount)
    .option('--metrics-port <port>', 'serve Prometheus metrics at GET /metrics on this port, apart from the API (env SLS_METRICS_PORT; address SLS_METRICS_HOST, default 127.0.0.1; default off)', port)
    .option('--demo', 'seed demo users and devices when the database is empty, and print the demo README')
    .addHelpText(
      'after',
      '\nOther settings from the environment, among them: SLS_SERVER_KEY or SLS_SERVER_KEY_FILE (base64, 32 bytes), SLS_DATABASE_URL_FILE, SLS_TRUST_PROXY, SLS_LOG_LEVEL, SLS_SESSION_TTL_MS, SLS_BODY_LIMIT, SLS_METRICS_HOST, SLS_DATABASE_POOL_MAX (PostgreSQL connections per process; default 10), SLS_HASH_NICE (argon2id below the event loop; default 10, 0 off), SLS_SMS_*, SLS_HOUSEKEEPING_*, SLS_SMS_RETENTION_DAYS, SLS_SETTLED_RETENTION_DAYS, UV_THREADPOOL_SIZE.' +
        '\nEvery setting, with its default and range: server/README.md, "Settings".',
    )
    .parse([...argv], { from: 'user' })
    .opts<Flags>();
}

/** Warnings, migrations and the demo: done once, by the primary (or the only) process. */
async function prepare(services: Services, config: SlsConfig, demo: boolean): Promise<void> {
  for (const w of services.warnings) loud(w);
  // argon2id without transparent huge pages: ~2.5× the time a hash (services/huge-pages.ts, issue 7).
  const hugePages = config.passwordHashing === 'argon2id' ? hugePageWarning() : null;
  if (hugePages !== null) loud(hugePages);
  if (!demo) return;
  const seeded = await seedDemo(services);
  const readme = readDemoReadme(config.dataDir);
  if (seeded) process.stdout.write('Seeded the demo data.\n');
  if (readme) process.stdout.write(readme + '\n');
  else process.stdout.write('The database already had users: no demo data was added.\n');
}

/** For the start line: how many argon2id hashes run at once (issues 2, 7) and below what priority, or the loud no-op. */
function hashingLine(config: SlsConfig, threads?: string): string {
  if (config.passwordHashing !== 'argon2id') return 'password hashing: NO-OP, benchmark only';
  const below = config.hashNice > 0 && process.platform === 'linux' ? `, nice +${config.hashNice}` : '';
  return `argon2id ${hashingThreads(threads === undefined ? process.env : { UV_THREADPOOL_SIZE: threads })} at once${below}`;
}

/**
 * The hashing threads below the event loop (services/hashing-priority.ts, issue 7), before the first
 * request. Said in the log; a refusal (a sandbox forbidding setpriority) leaves one priority and slsd runs on.
 */
async function hashesBelowEventLoop(config: SlsConfig, log: FastifyBaseLogger): Promise<void> {
  // Elsewhere threads have no nice value of their own: nothing to do, nothing to warn about.
  if (config.passwordHashing !== 'argon2id' || config.hashNice === 0 || process.platform !== 'linux') return;
  const pool = poolSize();
  const r = await lowerPoolPriority(config.hashNice, pool);
  if (!r.lowered) log.warn({ reason: r.reason }, 'argon2id threads left at the event loop\'s priority (SLS_HASH_NICE)');
  else if (r.threads.length < pool) log.warn({ nice: r.nice, found: r.threads.length, pool }, 'only some of libuv\'s threads answered: the others hash at the event loop\'s priority');
  else log.info({ nice: r.nice, threads: r.threads.length }, 'argon2id threads below the event loop');
}

/**
 * What a first start makes: the SQLite database, the server key, demo files, the data folder. Noted
 * before the start; the returned function, called when the start failed before slsd listened (a port
 * in use), removes it again, so that the next start meets none of it. Left behind, the key had sealed
 * the empty database's key check, and the next start with SLS_SERVER_KEY was refused as "not the key
 * this database was sealed with". Only what this start made, and only with a new SQLite database:
 * never a key, database or file that was there before, and nothing on PostgreSQL, whose key check
 * this start's key may have sealed already (services/server-key.ts).
 */
function firstStartFootprint(config: SlsConfig): () => void {
  const file = sqliteFileOf(config.databaseUrl);
  if (file === null || fs.existsSync(file)) return () => undefined;
  const entries = (dir: string) => {
    try {
      return fs.readdirSync(dir);
    } catch {
      return null;
    }
  };
  const before = entries(config.dataDir);
  const folders = [config.dataDir, ...SQLITE_FILE_SUFFIXES.map((suffix) => file + suffix)].map(firstMissing).filter((p): p is string => p !== null);
  return () => {
    // Another process has the database open (two first starts at once): then it stays, and all with it.
    if (!sqliteUnused(file)) return;
    const added = before === null ? [] : (entries(config.dataDir) ?? []).filter((name) => !before.includes(name)).map((name) => path.join(config.dataDir, name));
    for (const p of [...added, ...folders]) {
      try {
        fs.rmSync(p, { recursive: true, force: true });
      } catch {
        // What cannot be removed stays; the start's own failure is what the operator must hear.
      }
    }
  };
}

function onSignals(stop: (signal: string) => void): void {
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

export async function main(argv: readonly string[]): Promise<void> {
  if (cluster.isWorker) return runWorker(JSON.parse(process.env.SLSD_WORKER_CONFIG ?? '{}') as SlsConfig);
  ownerOnlyFromNowOn();
  const flags = parseFlags(argv);
  return start(loadConfig(process.env, flags), { demo: flags.demo === true });
}

/**
 * slsd on `config`: the database prepared (and the demo seeded with `demo`), then listening, in this
 * process or in `config.workers` workers. A start that fails before slsd listens rejects, having
 * closed what it opened and removed what a first start made (firstStartFootprint).
 */
export async function start(config: SlsConfig, opts: { demo: boolean }): Promise<void> {
  const undoFirstStart = firstStartFootprint(config);

  if (config.workers <= 1) {
    // Checkpoints of SQLite's log on a worker thread: the event loop never waits for their fsyncs (issue 7).
    const built = await buildApp({ ...config, logLevel: config.logLevel }, { backgroundCheckpoints: true }).catch((e: unknown) => {
      // buildApp closed the database before it rejected: one this start made is unused, and goes.
      undoFirstStart();
      throw e;
    });
    let metricsServer: MetricsServer | null = null;
    let address: string;
    try {
      await prepare(built.services, config, opts.demo);
      await hashesBelowEventLoop(config, built.app.log);
      if (built.metrics) metricsServer = await serveMetrics(config.metricsHost, config.metricsPort!, registrySource(built.metrics.registry));
      address = await listenApi(built.app, config);
    } catch (e) {
      // Nothing left open: a start that failed ends the process (the database, the checkpointer's thread).
      await Promise.all([built.close(), metricsServer?.close()]).catch(() => undefined);
      undoFirstStart();
      throw e;
    }
    // Signals handled before the start is announced: whoever reads the line may signal at once (a
    // write to a pipe returns when the reader has it, before this process runs on).
    let closing = false;
    process.on('SIGHUP', () => built.app.log.warn('SIGHUP ignored: replacing slsd without a gap needs --workers 2 or more (SLS_WORKERS); restart it instead'));
    onSignals((signal) => {
      if (closing) return;
      closing = true;
      built.app.log.info(`${signal}: closing`);
      stopWithin(SHUTDOWN_GRACE_MS, Promise.all([built.close(), metricsServer?.close()]));
    });
    // The metrics line first: whoever waits for "slsd listening on" can read it already.
    if (metricsServer) process.stdout.write(`slsd metrics at ${metricsServer.url}\n`);
    process.stdout.write(`slsd listening on ${address} (database: ${built.services.database.description}, data: ${config.dataDir}, ${hashingLine(config)})\n`);
    return;
  }

  // Several workers: the primary prepares the database, then forks.
  const services = await createServices(config).catch((e: unknown) => {
    undoFirstStart();
    throw e;
  });
  try {
    await prepare(services, config, opts.demo);
  } catch (e) {
    await services.close().catch(() => undefined);
    undoFirstStart();
    throw e;
  }
  const description = services.database.description;
  await services.close();
  let stopping = false;
  let announced = false;
  cluster.setupPrimary({ args: [] });
  // argon2id runs on libuv's thread pool, one thread per core (bin/slsd.cjs). Split the cores among
  // the workers, so N workers hash as many at once as one process would: more hashes than cores only
  // thrash the caches (each touches 19 MiB, SPEC A3). UV_THREADPOOL_SIZE set by the operator wins.
  const operatorPool = process.env.SLSD_THREADPOOL_AUTO === '1' ? undefined : process.env.UV_THREADPOOL_SIZE;
  const threads = operatorPool ?? String(Math.max(1, Math.ceil(os.availableParallelism() / config.workers)));
  const fork = () => cluster.fork({ SLSD_WORKER_CONFIG: JSON.stringify(config), UV_THREADPOOL_SIZE: threads });
  let metricsServer: MetricsServer | null = null;
  /** Stops every worker, then the primary, with this exit code. */
  const stopAll = (code: number) => {
    stopping = true;
    void metricsServer?.close();
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    const wait = setInterval(() => {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        clearInterval(wait);
        if (code !== 0 && !announced) undoFirstStart(); // a start that failed (giveUp)
        process.exit(code);
      }
    }, 50);
  };
  /** A start that cannot succeed (a port in use, a worker that cannot start): said once, and slsd stops. */
  const giveUp = (message: string) => {
    if (stopping) return;
    process.stderr.write(`slsd: ${message}\n`);
    stopAll(1);
  };
  // Announced once every worker listens: whoever waits for the line (an operator, a supervisor, the
  // tests) gets the whole cluster, its metrics included, not the first worker alone.
  const listening = new Set<number>();
  cluster.on('listening', (worker, address) => {
    listening.add(worker.id);
    if (announced || listening.size < config.workers) return;
    announced = true;
    const host = address.address ?? config.host;
    process.stdout.write(`slsd listening on http://${host.includes(':') ? `[${host}]` : host}:${address.port} (database: ${description}, data: ${config.dataDir}, ${config.workers} workers, ${hashingLine(config, threads)} each)\n`);
  });
  cluster.on('message', (_worker, m: unknown) => {
    if (!isStartFailed(m)) return;
    // At the start it ends the start; later (a replacement, a SIGHUP roll) the running workers go on.
    if (!announced) giveUp(m.message);
    else process.stderr.write(`slsd: a new worker could not start: ${m.message}\n`);
  });
  // SIGHUP (systemctl reload): the workers replaced one at a time, each new one listening before an old
  // one stops, so a deploy's new code is served without a gap and never by fewer workers than before.
  // An old worker stops as on SIGTERM: it answers what it holds (IB Key long-polls at once) and every
  // answer closes its connection, so clients' next requests go to the workers that stay.
  const retiring = new Set<number>();
  const rollingIn = new Set<number>();
  let rolling = false;
  const roll = async () => {
    if (rolling || stopping || !announced) return;
    rolling = true;
    const old = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !retiring.has(w.id));
    process.stdout.write(`slsd: SIGHUP: replacing the ${old.length} workers one at a time\n`);
    let replaced = 0;
    for (const w of old) {
      if (stopping) break;
      const fresh = fork();
      rollingIn.add(fresh.id);
      const started = await new Promise<boolean>((resolve) => {
        const onListening = () => (fresh.off('exit', onExit), resolve(true));
        const onExit = () => (fresh.off('listening', onListening), resolve(false));
        fresh.once('listening', onListening);
        fresh.once('exit', onExit);
      });
      rollingIn.delete(fresh.id);
      if (!started) {
        process.stderr.write(`slsd: a new worker could not start; the ${old.length - replaced} old ones keep serving\n`);
        break;
      }
      if (w.isDead()) continue;
      retiring.add(w.id);
      const gone = new Promise((r) => w.once('exit', r));
      try {
        w.send({ type: RETIRE });
      } catch {
        w.process.kill('SIGTERM'); // its channel is gone: stop it the plain way
      }
      await gone;
      replaced++;
    }
    process.stdout.write(`slsd: replaced ${replaced} of the ${old.length} workers\n`);
    rolling = false;
  };
  process.on('SIGHUP', () => void roll());
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    // Retired by a roll, or a roll's new worker that failed (the roll says so): not replaced here.
    if (retiring.delete(worker.id) || rollingIn.has(worker.id)) return void listening.delete(worker.id);
    const how = signal ?? code;
    // Before the cluster ever listened, a worker that dies will die again: stop rather than loop.
    if (!announced) return giveUp(`worker ${worker.process.pid} exited (${how}) before slsd could listen; stopping`);
    process.stderr.write(`slsd worker ${worker.process.pid} exited (${how}); starting another${listening.has(worker.id) ? '' : ' in 1 s'}\n`);
    // One that died before it listened waits a second: a worker that cannot start never spins a core.
    if (listening.has(worker.id)) fork();
    else setTimeout(() => stopping || fork(), 1000);
    listening.delete(worker.id);
  });
  // The workers' metrics, summed by the primary on its own listener (server/metrics.ts).
  if (config.metricsPort !== null) {
    metricsServer = await serveMetrics(config.metricsHost, config.metricsPort, await clusterSource());
    process.stdout.write(`slsd metrics at ${metricsServer.url} (the sum of the ${config.workers} workers)\n`);
  }
  for (let i = 0; i < config.workers; i++) fork();
  onSignals(() => stopAll(0));
}

/** The primary's message to a worker replaced on SIGHUP: drain and stop. */
const RETIRE = 'slsd:retire';

/** A worker's message to the primary: it could not start, and why (the primary says it once). */
const START_FAILED = 'slsd:start-failed';
function isStartFailed(m: unknown): m is { type: typeof START_FAILED; message: string } {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === START_FAILED && typeof (m as { message?: unknown }).message === 'string';
}

/** The API's listener; a bind failure is the operator's to fix, said plainly (start-refused.ts). */
async function listenApi(app: { listen(o: { host: string; port: number }): Promise<string> }, config: SlsConfig): Promise<string> {
  try {
    return await app.listen({ host: config.host, port: config.port });
  } catch (e) {
    throw bindRefusal(e, 'the API listener', config.host, config.port, 'SLS_HOST, SLS_PORT / --host, --port') ?? e;
  }
}

async function runWorker(config: SlsConfig): Promise<void> {
  let built: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    built = await buildApp(config, { backgroundCheckpoints: true });
    if (built.metrics) offerToPrimary(built.metrics.registry);
    await hashesBelowEventLoop(config, built.app.log);
    await listenApi(built.app, config);
  } catch (e) {
    await built?.close().catch(() => undefined);
    // Its IPC channel would keep a failed worker alive: tell the primary why, then leave.
    const err = e instanceof Error ? e : new Error(String(e));
    const message = err.name === 'StartRefused' ? err.message : (err.stack ?? err.message);
    if (process.send) process.send({ type: START_FAILED, message }, () => process.exit(1));
    else process.exit(1);
    return;
  }
  const running = built;
  // The primary decides about replacing workers (a terminal's hangup reaches the whole group).
  process.on('SIGHUP', () => undefined);
  // Replaced on SIGHUP while the other workers serve: drain, then stop (app.ts close).
  process.on('message', (m: unknown) => {
    if ((m as { type?: unknown } | null)?.type === RETIRE) stopWithin(SHUTDOWN_GRACE_MS + DRAIN_IDLE_MS, running.close({ drainMs: DRAIN_IDLE_MS }));
  });
  onSignals(() => stopWithin(SHUTDOWN_GRACE_MS, running.close()));
}

/**
 * How long a stop waits for requests in flight (a password step, a database write) before it ends
 * them: long-polls answer at once (app.ts close), so only something stuck takes this long.
 */
export const SHUTDOWN_GRACE_MS = 10_000;

/** Exit 0 once `closing` settles; exit 1, saying so, if it fails or is still open after `graceMs`. */
function stopWithin(graceMs: number, closing: Promise<unknown>): void {
  const timer = setTimeout(() => {
    process.stderr.write(`slsd: requests still open ${graceMs / 1000} s after the signal; stopping without them\n`);
    process.exit(1);
  }, graceMs);
  closing.then(
    () => process.exit(0),
    (e: unknown) => {
      clearTimeout(timer);
      process.stderr.write(`slsd: closing failed: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
