/**
 * `npm run bench:login`: how fast slsd signs users in, measured over real HTTP against a child slsd.
 *
 * 1. Password step (argon2id, production parameters m=19456 t=2 p=1) logins/s through HTTP, beside
 *    raw argon2id verifications/s on the same cores, and their ratio (target ≥ 0.90: the server adds
 *    little). Method, so the ratio compares like with like:
 *    - raw argon2id runs in this process on libuv's pool with the same UV_THREADPOOL_SIZE as slsd (one
 *      thread per core unless set; same-pool.ts) and as many verifications in flight as slsd lets run
 *      at once (one per core, passwords.ts), dispatched from a worker thread at full priority;
 *    - slsd is warmed up first (BENCH_WARMUP_MS): a server that has run for a while has its login
 *      code optimized by V8; measuring its first seconds measured the JIT compiler;
 *    - the load generator is a lean HTTP/1.1 keep-alive client on raw sockets (one request in flight
 *      per connection, Content-Length framing, every answer's status checked), so the client takes
 *      as little as possible of the cores it shares with slsd, and its thread runs at nice 19
 *      (BENCH_CLIENT_NICE), as a load generator on a machine of its own would leave slsd's cores
 *      alone; slsd, its pool and the raw baseline keep normal priority; the client's CPU per login
 *      is printed;
 *    - BENCH_ROUNDS rounds of raw, slsd, raw, so load from other work on the machine drifts into
 *      both sides alike; each round's ratio is printed, then the median and the spread, with the
 *      load average. slsd's CPU per login is split into its main thread (HTTP, JSON, zod, SQL) and
 *      its other threads (argon2id on the pool, V8's compiler and GC helpers).
 * 2. The same with the hash replaced by a no-op (benchmark-only config, warned loudly): what the
 *    rest of the password step costs (target ≥ 3,000 sign-ins/s on 2 cores).
 * 3. Second-factor steps/s: verify a response and open a session (target ≥ 1,500/s on 2 cores).
 *
 * Prints numbers; asserts nothing. Client and server share the machine's cores (and, on a shared
 * machine, other people's work): read the numbers with that in mind.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { hash as argon2Hash } from '@node-rs/argon2';
import type { Algorithm } from '@node-rs/argon2';
import { deviceResponse } from '../../core/codes.ts';
import { DEFAULT_ARGON2, defaultConfig } from '../config.ts';
import type { PasswordHashing } from '../config.ts';
import { createServices } from '../services/index.ts';
import { hashesInFlight, hashingThreads } from '../services/passwords.ts';
import { Provisioning } from '../services/provisioning.ts';
import { spawnSlsd } from '../testing/slsd-process.ts';
import { cpuSince, threadTicks } from './cpu.ts';
import { LeanConnection, request } from './lean-http.ts';
import { rerunWithSlsdPool } from './same-pool.ts';

const PASSWORD = 'Bench-Password-1';
const USERS = 64;
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
/** Rounds of raw / slsd / raw for the argon2id ratio. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/**
 * argon2id logins before measuring, so V8 has optimized the login path (a running server has):
 * slsd's main thread measured ~1,400 CPU-µs per login in its first seconds, ~1,000 after ~1,500 logins.
 */
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 15_000);
/**
 * slsd worker processes (node:cluster). Default 1: on SQLite, one process already uses every core
 * (argon2id runs on its thread pool) and measured cheaper per step than two processes contending
 * for the database file's locks. Try BENCH_WORKERS=2 to compare.
 */
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
/** libuv's pool size, the same for slsd and for the raw baseline in this process (slsd's: one per core; see same-pool.ts). */
const THREADPOOL = process.env.UV_THREADPOOL_SIZE ?? String(os.availableParallelism());
/** Nice value of the load generator's thread (0: none); see main. */
const CLIENT_NICE = Number(process.env.BENCH_CLIENT_NICE ?? 19);
/** argon2id verifications slsd runs at once (server/services/passwords.ts), and the baseline too. */
const HASHES_AT_ONCE = hashingThreads({ UV_THREADPOOL_SIZE: THREADPOOL });
/** Handed to libuv at once, slsd's and the baseline's: one more than run waits in libuv's queue (passwords.ts). */
const HASHES_IN_FLIGHT = hashesInFlight({ UV_THREADPOOL_SIZE: THREADPOOL });

interface BenchUser {
  readonly username: string;
  readonly secret: Uint8Array;
}

async function seed(dataDir: string, serverKey: string, hashing: PasswordHashing): Promise<BenchUser[]> {
  const s = await createServices(defaultConfig({ dataDir, serverKey, passwordHashing: hashing, logLevel: 'silent' }));
  const p = new Provisioning(s);
  const users: BenchUser[] = [];
  for (let i = 0; i < USERS; i++) {
    const username = `bench.${i}`;
    const entityId = await p.createEntity({ name: username });
    await p.createUser({ username, entityId, password: PASSWORD });
    const d = await p.addDevice({ username, kind: 'dsc' });
    users.push({ username, secret: d.secret! });
  }
  await s.close();
  return users;
}

async function startSlsd(dataDir: string, serverKey: string, hashing: PasswordHashing): Promise<{ child: ChildProcess; port: number; stop(): Promise<void> }> {
  const slsd = await spawnSlsd({
    dataDir,
    env: { SLS_SERVER_KEY: serverKey, SLS_LOG_LEVEL: 'silent', SLS_PASSWORD_HASHING: hashing, SLS_WORKERS: String(WORKERS), UV_THREADPOOL_SIZE: THREADPOOL },
  });
  return { child: slsd.child, port: slsd.port, stop: () => slsd.stop() };
}

interface Measured {
  readonly perSecond: number;
  readonly ok: number;
  readonly failed: number;
  /** CPU µs per operation in slsd (all processes: main threads, other threads) and in this client. */
  readonly serverCpuUs: number;
  readonly serverMainCpuUs: number;
  readonly serverOtherCpuUs: number;
  readonly clientCpuUs: number;
}

/** `run` while counting the CPU time slsd (by thread kind) and this client spend, per operation. */
async function measured(serverPid: number, run: () => Promise<{ perSecond: number; ok: number; failed: number }>): Promise<Measured> {
  const s0 = threadTicks(serverPid);
  const c0 = process.cpuUsage();
  const r = await run();
  const c = process.cpuUsage(c0);
  const { mainMs, otherMs } = cpuSince(serverPid, s0);
  const n = Math.max(1, r.ok + r.failed);
  return {
    ...r,
    serverCpuUs: ((mainMs + otherMs) * 1000) / n,
    serverMainCpuUs: (mainMs * 1000) / n,
    serverOtherCpuUs: (otherMs * 1000) / n,
    clientCpuUs: (c.user + c.system) / n,
  };
}

/** What the CPU cost says the machine's cores could do without contention: cores / (server + client CPU per op). */
function capacity(m: Measured, cores: number): string {
  const withClient = (cores * 1e6) / (m.serverCpuUs + m.clientCpuUs);
  const serverOnly = (cores * 1e6) / m.serverCpuUs;
  return (
    `slsd ${m.serverCpuUs.toFixed(0)} CPU-µs/op (main thread ${m.serverMainCpuUs.toFixed(0)}, other threads ${m.serverOtherCpuUs.toFixed(0)}), ` +
    `client ${m.clientCpuUs.toFixed(0)} CPU-µs/op → ${withClient.toFixed(0)}/s on ${cores} free cores with this client, ${serverOnly.toFixed(0)}/s with the client elsewhere`
  );
}

/** Runs `task` with bounded concurrency until the time is up (or tasks run out); returns completions/s. */
async function load(concurrency: number, durationMs: number, task: (i: number, worker: number) => Promise<boolean>, limit = Infinity): Promise<{ perSecond: number; ok: number; failed: number }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const start = performance.now();
  const deadline = start + durationMs;
  async function worker(w: number) {
    while (performance.now() < deadline && next < limit) {
      const i = next++;
      if (await task(i, w)) ok++;
      else failed++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const seconds = (performance.now() - start) / 1000;
  return { perSecond: (ok + failed) / seconds, ok, failed };
}

function loginBody(u: BenchUser) {
  return { username: u.username, password: PASSWORD, client: { kind: 'trading_platform', version: 1010 } };
}

/** A slsd with the bench users, `CONCURRENCY` open connections, and its password step ready to load. */
async function benchServer(hashing: PasswordHashing) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sls-bench-'));
  const serverKey = randomBytes(32).toString('base64');
  const users = await seed(dataDir, serverKey, hashing);
  const { child, port, stop } = await startSlsd(dataDir, serverKey, hashing);
  const connections = await Promise.all(Array.from({ length: CONCURRENCY }, () => LeanConnection.open(port)));
  const logins = users.map((u) => request('/v1/login', loginBody(u)));
  const loginStep = async (i: number, w: number) => (await connections[w]!.send(logins[i % USERS]!)).status === 200;
  return {
    users,
    connections,
    child,
    loginStep,
    /** Password steps for `durationMs`, with their CPU cost. */
    passwordSteps: (durationMs: number) => measured(child.pid!, () => load(CONCURRENCY, durationMs, loginStep)),
    async stop() {
      for (const c of connections) c.close();
      await stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The raw baseline's own thread: a worker that dispatches argon2id verifications to this process's
 * libuv pool, `HASHES_IN_FLIGHT` in flight like slsd. Started before the client's thread lowers its
 * priority (main), so the baseline's dispatching keeps full priority, as slsd's main thread does.
 */
const RAW_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { verify } = require(workerData.argon2);
parentPort.on('message', async ({ ms, stored, password, inFlight }) => {
  let n = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < end) {
      if (!(await verify(stored, password))) throw new Error('raw argon2id: the right password did not verify');
      n++;
    }
  }));
  parentPort.postMessage({ n, seconds: (performance.now() - start) / 1000 });
});`;

function rawArgon2Worker() {
  const worker = new Worker(RAW_WORKER, { eval: true, workerData: { argon2: createRequire(import.meta.url).resolve('@node-rs/argon2') } });
  worker.unref();
  return {
    /** Raw verifications for `durationMs`: per second, and CPU µs per verification (this process: the pool's threads). */
    async run(durationMs: number, stored: string): Promise<{ perSecond: number; cpuUs: number }> {
      const c0 = process.cpuUsage();
      const r = await new Promise<{ n: number; seconds: number }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.postMessage({ ms: durationMs, stored, password: PASSWORD, inFlight: HASHES_IN_FLIGHT });
      });
      const c = process.cpuUsage(c0);
      return { perSecond: r.n / r.seconds, cpuUs: (c.user + c.system) / Math.max(1, r.n) };
    },
    stop: () => worker.terminate(),
  };
}

function line(label: string, value: string) {
  console.log(`${label.padEnd(58)} ${value}`);
}

const loadAverage = () => os.loadavg()[0]!.toFixed(2);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function main(): Promise<void> {
  const cores = os.availableParallelism();
  console.log(
    `bench:login — ${cores} cores, ${os.cpus()[0]?.model ?? 'cpu'}, slsd with ${WORKERS} worker(s), ${DURATION_MS} ms per measure, ` +
      `${CONCURRENCY} keep-alive connections (client at nice ${CLIENT_NICE}), UV_THREADPOOL_SIZE=${THREADPOOL} (slsd and raw), ${HASHES_AT_ONCE} argon2id at once, ${HASHES_IN_FLIGHT} in flight (slsd and raw)`,
  );
  console.log(`load average before: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('Client and slsd share these cores; other work on the machine lowers every number.');
  console.log('The CPU cost lines say what the cores could do without other work: CPU time is less disturbed by contention than wall time.\n');

  // 1. argon2id through HTTP vs raw, in rounds of raw / slsd / raw.
  const stored = await argon2Hash(PASSWORD, { algorithm: 2 as Algorithm, ...DEFAULT_ARGON2 });
  const a = await benchServer('argon2id');
  // Both servers and the raw baseline's thread start before the client lowers its priority (a child
  // process or thread takes its parent's nice value).
  const b = await benchServer('noop-benchmark-only');
  const raw = rawArgon2Worker();
  // The load generator yields the cores to slsd: its thread (this one, where the lean client runs;
  // the raw baseline's worker and libuv's pool threads, started earlier, keep their priority) runs
  // at nice CLIENT_NICE. With spare cores the client would run beside slsd; on two it otherwise
  // takes its ~200 CPU-µs per login from slsd's hashes. Its CPU is still counted and printed.
  if (CLIENT_NICE > 0) os.setPriority(CLIENT_NICE);
  const rounds: { http: Measured; raw: number; rawCpuUs: number; load: string }[] = [];
  try {
    await load(CONCURRENCY, WARMUP_MS, a.loginStep);
    for (let r = 0; r < ROUNDS; r++) {
      const before = await raw.run(DURATION_MS / 2, stored);
      const http = await a.passwordSteps(DURATION_MS);
      const after = await raw.run(DURATION_MS / 2, stored);
      const rawPerSecond = (before.perSecond + after.perSecond) / 2;
      rounds.push({ http, raw: rawPerSecond, rawCpuUs: (before.cpuUs + after.cpuUs) / 2, load: loadAverage() });
      line(
        `round ${r + 1}: HTTP logins/s / raw verifications/s`,
        `${http.perSecond.toFixed(1)} / ${rawPerSecond.toFixed(1)} (before ${before.perSecond.toFixed(1)}, after ${after.perSecond.toFixed(1)}) = ${(http.perSecond / rawPerSecond).toFixed(3)}, load ${rounds.at(-1)!.load}` +
          (http.failed ? `, ${http.failed} failed` : ''),
      );
    }
  } catch (e) {
    await b.stop();
    throw e;
  } finally {
    await a.stop();
    await raw.stop();
  }
  const ratios = rounds.map((r) => r.http.perSecond / r.raw);
  const byRatio = [...rounds].sort((x, y) => x.http.perSecond / x.raw - y.http.perSecond / y.raw);
  const mid = byRatio[Math.floor(byRatio.length / 2)]!;
  line('password step, argon2id m=19456 t=2 p=1, HTTP (logins/s)', `${median(rounds.map((r) => r.http.perSecond)).toFixed(1)} (median of ${ROUNDS})`);
  line('raw argon2id verifications/s (same cores, pool, concurrency)', `${median(rounds.map((r) => r.raw)).toFixed(1)} (median of ${ROUNDS})`);
  line('ratio HTTP / raw (target ≥ 0.90)', `${median(ratios).toFixed(3)} median, ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)} over ${ROUNDS} rounds`);
  line('  CPU cost (median round)', capacity(mid.http, cores));
  line(
    '  CPU ratio: raw CPU-µs per verification / slsd CPU-µs per login',
    `${mid.rawCpuUs.toFixed(0)} / ${mid.http.serverCpuUs.toFixed(0)} = ${(mid.rawCpuUs / mid.http.serverCpuUs).toFixed(3)}; with the client's CPU: ${(mid.rawCpuUs / (mid.http.serverCpuUs + mid.http.clientCpuUs)).toFixed(3)}`,
  );
  console.log(`load average after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(
    'Read the wall ratio on a quiet machine only: under other work, slsd and the client (more runnable threads than the raw\n' +
      'baseline\'s two) get a larger share of the shared cores, which flatters it; the CPU ratio is not flattered.',
  );

  // 2. and 3. no-op hash.
  console.log('\nWARNING: the next server runs with password hashing set to a no-op (noop-benchmark-only).');
  try {
    await load(CONCURRENCY, 1000, b.loginStep);
    const logins = await b.passwordSteps(DURATION_MS);
    line('password step, no-op hash, HTTP (sign-ins/s, target ≥ 3000)', logins.perSecond.toFixed(1));
    line('  CPU cost', capacity(logins, cores));
    if (logins.failed) line('  failed requests', String(logins.failed));

    // Prepare transactions with their right responses, then time only the second-factor steps.
    const prepared: Buffer[] = [];
    const wanted = Math.max(2000, Math.round(4000 * (DURATION_MS / 5000)));
    const rawLogins = b.users.map((u) => request('/v1/login', loginBody(u)));
    await load(
      CONCURRENCY,
      120_000,
      async (i, w) => {
        const u = b.users[i % USERS]!;
        const r = await b.connections[w]!.send(rawLogins[i % USERS]!);
        const step = JSON.parse(r.body.toString('utf8')) as { status: string; transactionId: string; challenge: { kind: 'dsc'; challenge: string } };
        if (step.status !== 'challenge') return false;
        prepared.push(request(`/v1/login/${step.transactionId}/response`, { response: deviceResponse('dsc', u.secret, step.challenge.challenge) }));
        return true;
      },
      wanted,
    );
    const second = await measured(b.child.pid!, () =>
      load(
        CONCURRENCY,
        120_000,
        async (i, w) => {
          const r = await b.connections[w]!.send(prepared[i]!);
          // The answer must be a session, not merely a 200.
          return r.status === 200 && r.body.includes('"signed_in"');
        },
        prepared.length,
      ),
    );
    line('second-factor steps/s (verify + open a session, target ≥ 1500)', second.perSecond.toFixed(1));
    line('  CPU cost', capacity(second, cores));
    if (second.failed) line('  failed requests', String(second.failed));
  } finally {
    await b.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1]) && !rerunWithSlsdPool()) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
