/**
 * `npm run bench:load`: slsd under a bounded load of full logins (password + second factor), on loopback.
 *
 * Per backend — SQLite with one slsd, PostgreSQL with two slsd on one database (SPEC N1), each login's
 * two steps sent to different processes — it measures:
 * 1. unloaded latency of a full login (one at a time), sampled before the load and again after it;
 * 2. capacity: full logins/s with many in flight;
 * 3. sustained load: an open-loop arrival rate at 80% of that capacity for the duration, with
 *    throughput, p50/p99 latency and errors (targets: 0 errors, p99 ≤ 3× the unloaded median);
 * 4. memory: slsd's resident set with 1,000 logins pending (password accepted, challenge open), and
 *    its peak (VmHWM) over the whole run (target < 150 MB).
 * Logins use software `dsc` tokens, so the bench computes every response (real argon2id, real OCRA).
 * slsd runs as operators run it: its argon2id threads at nice +10 below its event loop (SLS_HASH_NICE,
 * services/hashing-priority.ts); `SLS_HASH_NICE=0 npm run bench:load` measures one priority for all.
 *
 * Options (env or flags): `--duration S` / BENCH_DURATION_S (default 60), `--quick` (10 s sustained,
 * shorter capacity probe), `--backend sqlite|postgres|both` / BENCH_BACKEND (default both),
 * `--pending N` (default 1000), BENCH_CLIENT_NICE (the load generator's nice, default -5: `raiseClientPriority`), `--balance least|round-robin` / BENCH_BALANCE (how requests are spread over
 * several slsd: fewest in flight, as a least-connections load balancer, or each in turn; default least), `--timeline` (what slsd's threads waited for a core, every 50 ms, lined up with
 * the slow logins: server/bench/waits.ts). Never part of `npm test`. The load generator shares the machine's
 * cores with slsd (and, here, with other people's work): numbers are a floor, not a ceiling.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { deviceResponse } from '../../core/codes.ts';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import type { Algorithm } from '@node-rs/argon2';
import { DEFAULT_ARGON2, defaultConfig } from '../config.ts';
import { DEFAULT_HASH_NICE, lowerPoolPriority } from '../services/hashing-priority.ts';
import { hugePageWarning, parseHugePageMode } from '../services/huge-pages.ts';
import { concurrencyLimit, hashesInFlight, hashingThreads, poolSize } from '../services/passwords.ts';
import { freshPostgresDatabase, probePostgres } from '../db/pg-testing.ts';
import { createServices } from '../services/index.ts';
import { Provisioning } from '../services/provisioning.ts';
import { spawnSlsd } from '../testing/slsd-process.ts';
// @ts-expect-error -- plain ESM launcher without type declarations (as in scripts/build-server.test.ts)
import { freshBundle as freshBundleUntyped } from '../../bin/run-ts.mjs';
import type { SlsdProcess } from '../testing/slsd-process.ts';
import { cpuSince, localPostgresPid, threadTicks } from './cpu.ts';
import { LeanPool } from './lean-http.ts';
import { rerunWithSlsdPool } from './same-pool.ts';
import { Waits } from './waits.ts';
import type { Login } from './waits.ts';

/** bin/run-ts.mjs: whether the bundle at this URL is newer than all its sources (else slsd runs them under tsx). */
const freshBundle = freshBundleUntyped as (bundleUrl: URL) => boolean;

const PASSWORD = 'Bench-Load-Password-1';
const USERS = 64;
const CLIENT = { kind: 'trading_platform', version: 1010, name: 'bench:load' };

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const DURATION_S = Number(flag('duration') ?? process.env.BENCH_DURATION_S ?? (QUICK ? 10 : 60));
const CAPACITY_S = QUICK ? 4 : 10;
/** Logins in flight before anything is measured (JIT, connections, prepared statements). */
const WARM_UP_S = QUICK ? 2 : 8;
const BACKEND = flag('backend') ?? process.env.BENCH_BACKEND ?? 'both';
/** `--timeline`: readings every 50 ms of what slsd's threads waited, lined up with the slow logins (waits.ts). */
const TIMELINE = process.argv.includes('--timeline') || process.env.BENCH_TIMELINE === '1';
/** How requests are spread over several slsd (`pick`): least outstanding (default) or round robin. */
const BALANCE = flag('balance') ?? process.env.BENCH_BALANCE ?? 'least';
if (BALANCE !== 'least' && BALANCE !== 'round-robin') throw new Error(`--balance ${BALANCE}: least or round-robin`);
const PENDING = Number(flag('pending') ?? process.env.BENCH_PENDING ?? 1000);
/** Sequential full logins for the unloaded latency, before the load and again after it. */
const UNLOADED = QUICK ? 30 : 60;

interface BenchUser {
  readonly username: string;
  readonly secret: Uint8Array;
}

async function seed(dataDir: string, databaseUrl: string, serverKey: string): Promise<BenchUser[]> {
  const s = await createServices(defaultConfig({ dataDir, databaseUrl, serverKey, logLevel: 'silent' }));
  const p = new Provisioning(s);
  const users: BenchUser[] = [];
  for (let i = 0; i < USERS; i++) {
    const username = `load.${i}`;
    const entityId = await p.createEntity({ name: username });
    await p.createUser({ username, entityId, password: PASSWORD });
    const d = await p.addDevice({ username, kind: 'dsc' });
    users.push({ username, secret: d.secret! });
  }
  await s.close();
  return users;
}

/**
 * The load generator's client: raw keep-alive sockets (lean-http.ts), not node:http, whose own CPU per
 * request competed with slsd for the two cores and showed up in slsd's tail latency.
 */
const client = new LeanPool();
const post = (port: number, urlPath: string, body: unknown) => client.post(port, urlPath, body);

/** The largest resident set of each process in each phase of the run, sampled every 100 ms. */
class PhaseMemory {
  readonly #peaks = new Map<string, number[]>();
  /** What made up each process's largest sample of the run (residentParts), taken when it was sampled. */
  readonly #atPeak: ({ rss: number } & ResidentParts)[] = [];
  #phase = 'start';
  readonly #timer: NodeJS.Timeout;

  constructor(readonly pids: readonly number[]) {
    this.#timer = setInterval(() => this.#sample(), 100);
  }

  phase(name: string): void {
    this.#sample();
    this.#phase = name;
  }

  #sample(): void {
    const peaks = this.#peaks.get(this.#phase) ?? this.pids.map(() => 0);
    this.pids.forEach((pid, i) => {
      const rss = memoryKb(pid).rss;
      peaks[i] = Math.max(peaks[i]!, rss);
      // Read only when the run's peak rises: a few times per run, not every 100 ms.
      if (rss > (this.#atPeak[i]?.rss ?? 0)) this.#atPeak[i] = { rss, ...residentParts(pid) };
    });
    this.#peaks.set(this.#phase, peaks);
  }

  /** "unloaded 120.1 MB, capacity 140.2 MB, …" for process `i`. */
  describe(i: number): string {
    return [...this.#peaks].map(([phase, peaks]) => `${phase} ${mb(peaks[i]!)}`).join(', ');
  }

  /** What process `i`'s largest sample held: "143.0 MB = 91.2 MB anonymous (2 argon2id blocks of 19 MiB) + 51.8 MB file-backed". */
  describePeak(i: number): string {
    const p = this.#atPeak[i];
    if (!p) return 'not sampled';
    return `${mb(p.rss)} = ${mb(p.anon)} anonymous (${p.argon2Blocks} argon2id block${p.argon2Blocks === 1 ? '' : 's'} of 19 MiB live) + ${mb(p.file)} file-backed (node's own binary, libraries)`;
  }

  stop(): void {
    this.#sample();
    clearInterval(this.#timer);
  }
}

/** kB from /proc/PID/status: VmRSS now, VmHWM the peak. */
function memoryKb(pid: number): { rss: number; hwm: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

interface ResidentParts {
  /** kB: anonymous (V8 heaps, malloc, argon2id's blocks) and file-backed (node's binary, libraries) resident memory. */
  readonly anon: number;
  readonly file: number;
  /** argon2id's working memory blocks mapped now: one per hash running, each a mapping of exactly m = 19456 KiB. */
  readonly argon2Blocks: number;
}

/**
 * What slsd's resident set is made of now: from /proc/PID/status and the sizes of its mappings in
 * /proc/PID/maps (cheap, unlike smaps). Where the memory of the peak goes (bin/slsd.cjs): ~43 MB is node's
 * own binary, the rest anonymous, and 19 MiB of it per argon2id hash running.
 */
function residentParts(pid: number): ResidentParts {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const block = DEFAULT_ARGON2.memoryCost * 1024;
    let argon2Blocks = 0;
    for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) rw-p 00000000 00:00 0\s*$/.exec(line);
      if (m && parseInt(m[2]!, 16) - parseInt(m[1]!, 16) === block) argon2Blocks++;
    }
    return { anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem'), argon2Blocks };
  } catch {
    return { anon: NaN, file: NaN, argon2Blocks: NaN };
  }
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface Target {
  readonly ports: readonly number[];
  /** Requests in flight on each process (least-outstanding balancing). */
  readonly inFlight: number[];
}

let counter = 0;

/**
 * The process a request goes to, as the load balancer in front of several slsd picks it (BALANCE):
 * `least`, the one with the fewest requests in flight (nginx `least_conn`, HAProxy `leastconn`; ties
 * in turn), or `round-robin`, each in turn. `not` is a process this request must not go to: a login's
 * second step goes to another process than its first (several processes act as one, SPEC N1).
 */
function pick(target: Target, n: number, not = -1): number {
  const count = target.ports.length;
  if (BALANCE === 'round-robin' || count === 1) return not < 0 ? n % count : (not + 1) % count;
  let best = -1;
  for (let k = 0; k < count; k++) {
    const i = (n + k) % count;
    if (i !== not && (best < 0 || target.inFlight[i]! < target.inFlight[best]!)) best = i;
  }
  return best;
}

async function send(target: Target, i: number, urlPath: string, body: unknown) {
  target.inFlight[i]!++;
  try {
    return await post(target.ports[i]!, urlPath, body);
  } finally {
    target.inFlight[i]!--;
  }
}

/** One full login: password on one process, the response on another (several processes act as one, N1). */
async function fullLogin(target: Target, users: readonly BenchUser[]): Promise<{ ok: boolean; ms: number; passwordMs?: number; error?: string }> {
  const n = counter++;
  const user = users[n % users.length]!;
  const start = performance.now();
  try {
    const first = pick(target, n);
    const step = await send(target, first, '/v1/login', { username: user.username, password: PASSWORD, client: CLIENT });
    if (step.status !== 200 || step.json.status !== 'challenge') return { ok: false, ms: performance.now() - start, error: `login ${step.status} ${JSON.stringify(step.json).slice(0, 80)}` };
    const passwordMs = performance.now() - start;
    const challenge = (step.json.challenge as { challenge: string }).challenge;
    const response = deviceResponse('dsc', user.secret, challenge);
    const done = await send(target, pick(target, n + 1, first), `/v1/login/${step.json.transactionId as string}/response`, { response });
    const ok = done.status === 200 && done.json.status === 'signed_in';
    return { ok, ms: performance.now() - start, passwordMs, ...(ok ? {} : { error: `response ${done.status} ${JSON.stringify(done.json).slice(0, 80)}` }) };
  } catch (e) {
    return { ok: false, ms: performance.now() - start, error: (e as Error).message };
  }
}

async function unloaded(target: Target, users: readonly BenchUser[], n: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fullLogin(target, users);
    if (!r.ok) throw new Error(`unloaded login failed: ${r.error}`);
    ms.push(r.ms);
  }
  return ms.sort((a, b) => a - b);
}

/** Closed loop: `concurrency` logins in flight for `seconds`; completed logins/s. */
async function capacityProbe(target: Target, users: readonly BenchUser[], concurrency: number, seconds: number): Promise<{ perSecond: number; errors: number }> {
  const deadline = performance.now() + seconds * 1000;
  let ok = 0;
  let errors = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        if ((await fullLogin(target, users)).ok) ok++;
        else errors++;
      }
    }),
  );
  return { perSecond: ok / ((performance.now() - start) / 1000), errors };
}

/** Open loop: logins start at `rate`/s whatever the answers, for `seconds`; latency of each. */
async function sustained(target: Target, users: readonly BenchUser[], rate: number, seconds: number) {
  const latencies: number[] = [];
  /** When each login was sent and how long it took, for the waits' timeline (waits.ts). */
  const logins: Login[] = [];
  /** Each step apart, to read where a slow login spent its time: the password (argon2id) or the second factor. */
  const passwordSteps: number[] = [];
  const secondSteps: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let maxInFlight = 0;
  let inFlight = 0;
  /** Logins sent more than 5 ms after their time, and the latest (the load generator fell behind). */
  let lateSends = 0;
  let latestSend = 0;
  // Finished logins are not kept (thousands of settled promises only feed this process's GC); the
  // last one to finish after the last start ends the phase.
  let drained = () => {};
  const allDone = new Promise<void>((resolve) => (drained = resolve));
  let started = 0;
  const start = performance.now();
  const total = Math.floor(rate * seconds);
  const pauses = clientPauses();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inFlight++;
    started++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const sent = performance.now();
    // Behind its schedule (its own GC, its core taken): the logins it owes go out together, a burst slsd queues.
    const late = sent - due;
    if (late > 5) {
      lateSends++;
      latestSend = Math.max(latestSend, late);
    }
    void fullLogin(target, users).then((r) => {
      inFlight--;
      latencies.push(r.ms);
      logins.push({ start: sent, ms: r.ms });
      if (r.ok && r.passwordMs !== undefined) {
        passwordSteps.push(r.passwordMs);
        secondSteps.push(r.ms - r.passwordMs);
      }
      if (!r.ok) {
        errors++;
        if (errorSamples.length < 3) errorSamples.push(r.error ?? '?');
      }
      if (started === total && inFlight === 0) drained();
    });
  }
  if (total > 0) await allDone;
  const gc = pauses.stop();
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  passwordSteps.sort((a, b) => a - b);
  secondSteps.sort((a, b) => a - b);
  const steps = { password: { p50: quantile(passwordSteps, 0.5), p99: quantile(passwordSteps, 0.99) }, second: { p50: quantile(secondSteps, 0.5), p99: quantile(secondSteps, 0.99) } };
  return { logins, done: latencies.length, perSecond: latencies.length / elapsed, p50: quantile(latencies, 0.5), p90: quantile(latencies, 0.9), p99: quantile(latencies, 0.99), p999: quantile(latencies, 0.999), max: latencies.at(-1) ?? 0, errors, errorSamples, maxInFlight, gc, steps, lateSends, latestSend };
}

/**
 * The load generator's own GC pauses of 5 ms or more: each one holds every login in flight (their
 * answers wait in the socket), so they show in the latencies as if slsd had been slow.
 */
function clientPauses(): { stop(): { count: number; longestMs: number; totalMs: number } } {
  const seen: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.duration >= 5) seen.push(e.duration);
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop() {
      observer.disconnect();
      return { count: seen.length, longestMs: Math.max(0, ...seen), totalMs: seen.reduce((a, b) => a + b, 0) };
    },
  };
}

/**
 * The machine's own tail at this rate: raw argon2id verifications (no HTTP, no database) arriving like
 * the logins did, handed to libuv as slsd hands them (one per core running, one waiting), on the same
 * cores while slsd idles.
 * A reference for reading slsd's p99: on a shared VM the host's own pauses show up here too.
 */
async function rawHashLatency(rate: number, seconds: number): Promise<{ p50: number; p99: number; unloadedP50: number }> {
  // Hashed as slsd hashes: its pool below this process's main thread (here the load generator).
  await lowerPoolPriority(Number(process.env.SLS_HASH_NICE ?? DEFAULT_HASH_NICE), poolSize());
  const stored = await argon2Hash(PASSWORD, { algorithm: 2 as Algorithm, ...DEFAULT_ARGON2 });
  // One at a time first: the same target (p99 at the rate ≤ 3× unloaded p50) applied to argon2id alone.
  const alone: number[] = [];
  for (let i = 0; i < UNLOADED; i++) {
    const t = performance.now();
    await argon2Verify(stored, PASSWORD);
    alone.push(performance.now() - t);
  }
  alone.sort((a, b) => a - b);
  const limit = concurrencyLimit(hashesInFlight());
  const ms: number[] = [];
  const running: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < Math.floor(rate * seconds); i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const t = performance.now();
    running.push(limit(() => argon2Verify(stored, PASSWORD)).then(() => void ms.push(performance.now() - t)));
  }
  await Promise.all(running);
  ms.sort((a, b) => a - b);
  return { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), unloadedP50: quantile(alone, 0.5) };
}

/** `n` logins left at their challenge (password accepted, nothing answered). */
async function pendingLogins(target: Target, users: readonly BenchUser[], n: number): Promise<number> {
  let ok = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < n) {
        const i = next++;
        const r = await post(target.ports[i % target.ports.length]!, '/v1/login', { username: users[i % users.length]!.username, password: PASSWORD, client: CLIENT });
        if (r.status === 200) ok++;
      }
    }),
  );
  return ok;
}

/** THP decides a hash's cost (services/huge-pages.ts: 6.5 ms with, 16.1 ms without): the setting, and whether slsd would warn. */
function hugePagesLine(): string {
  let mode: string | null = null;
  try {
    mode = parseHugePageMode(fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'));
  } catch {
    // No THP in this kernel, or not Linux.
  }
  return `${mode ?? 'unknown'}${hugePageWarning() === null ? '' : ' (argon2id without them: slsd warns at start, numbers ~2.5× slower)'}`;
}

const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;

async function runBackend(name: 'sqlite' | 'postgres', processes: number): Promise<{ issue: boolean; peak: boolean } | null> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `slsd-load-${name}-`));
  const serverKey = randomBytes(32).toString('base64');
  let databaseUrl = `sqlite:${path.join(dataDir, 'sls.db')}`;
  let drop = async () => undefined as void;
  if (name === 'postgres') {
    const probe = await probePostgres();
    if (!probe.available) {
      console.log(`\n## PostgreSQL: skipped (${probe.reason}); run scripts/pg-test-env.sh`);
      return null;
    }
    const fresh = await freshPostgresDatabase(probe.adminUrl);
    databaseUrl = fresh.url;
    drop = fresh.drop;
  }
  const slsds: SlsdProcess[] = [];
  try {
    const users = await seed(dataDir, databaseUrl, serverKey);
    // Several slsd on one machine split its cores, as cluster workers do (server/main.ts): each would
    // otherwise hash one per core, 4 argon2id at once on 2 cores (PostgreSQL: p99 5.2x -> 3.2x unloaded,
    // peak 155 -> 142 MB each).
    const threadsEach = String(Math.max(1, Math.ceil(os.availableParallelism() / processes)));
    for (let i = 0; i < processes; i++) {
      slsds.push(await spawnSlsd({ dataDir, env: { SLS_SERVER_KEY: serverKey, SLS_LOG_LEVEL: 'silent', SLS_DATABASE_URL: databaseUrl, UV_THREADPOOL_SIZE: threadsEach } }));
    }
    // From source under tsx (a source saved after the build, e.g. by someone else's edit) slsd is ~35 MB
    // larger (bin/run-ts.mjs): then these memory numbers are not the bundle's, and the run says so.
    const fromSource = !freshBundle(new URL('../../dist/server/slsd.mjs', import.meta.url));
    if (fromSource) console.log('\n!! dist/server/slsd.mjs is older than a source: slsd runs from source under tsx (~35 MB more); rebuild (npm run build:server) for the bundle\'s memory');
    const target: Target = { ports: slsds.map((s) => s.port), inFlight: slsds.map(() => 0) };
    const pids = slsds.map((s) => s.child.pid!);
    const idleMemory = pids.map((pid) => memoryKb(pid));
    const memory = new PhaseMemory(pids);
    memory.phase('unloaded');
    console.log(`\n## ${name === 'sqlite' ? 'SQLite, one slsd' : `PostgreSQL, ${processes} slsd on one database, requests spread ${BALANCE === 'least' ? 'to the one with the fewest in flight' : 'in turn'}`} (${USERS} users with software DSC tokens, argon2id m=19456 t=2, its threads at nice +${process.env.SLS_HASH_NICE ?? DEFAULT_HASH_NICE} below the event loop)`);

    // Warm-up, as a server that has been running is: its hot code optimized by the JIT, every pooled
    // database connection opened with its prepared statements. Ten sequential logins were not enough:
    // on PostgreSQL the unloaded p50 measured right after them was 19-21 ms against 15.4-15.8 ms after
    // the load, and capacity 106-112 against 120-123 logins/s, so the ratio's denominator was inflated
    // and the "80 %" was 69-75 % of the warm capacity. A few seconds with many logins in flight, then a
    // few one at a time.
    await capacityProbe(target, users, 16, WARM_UP_S);
    await unloaded(target, users, 10);
    // Unloaded latency before the load and again after it: the machine's speed drifts (other work,
    // its host), and one short sample of it made the ratio swing from run to run.
    const idleBefore = await unloaded(target, users, UNLOADED);

    memory.phase('capacity');
    const ticks0 = pids.map((pid) => threadTicks(pid));
    // PostgreSQL's processes share the cores: what they spend per login is part of the picture.
    const postgresPid = name === 'postgres' ? await localPostgresPid(databaseUrl) : null;
    const postgresTicks0 = postgresPid === null ? null : threadTicks(postgresPid);
    const client0 = process.cpuUsage();
    const cap = await capacityProbe(target, users, 16, CAPACITY_S);
    const logins = Math.max(1, cap.perSecond * CAPACITY_S);
    const cpu = pids.map((pid, i) => cpuSince(pid, ticks0[i]!));
    const clientCpu = process.cpuUsage(client0);
    const postgresCpu = postgresPid === null || postgresTicks0 === null ? null : cpuSince(postgresPid, postgresTicks0);
    const us = (ms: number) => ((ms * 1000) / logins).toFixed(0);
    console.log(`capacity:              ${cap.perSecond.toFixed(1)} full logins/s (16 in flight, ${CAPACITY_S} s, ${cap.errors} errors)`);
    console.log(
      `  CPU per full login:  slsd main thread ${us(cpu.reduce((a, c) => a + c.mainMs, 0))} µs, other threads (argon2id, V8) ${us(cpu.reduce((a, c) => a + c.otherMs, 0))} µs; ` +
        `load generator ${us((clientCpu.user + clientCpu.system) / 1000)} µs` +
        (postgresCpu ? `; PostgreSQL's processes ${us(postgresCpu.mainMs + postgresCpu.otherMs)} µs` : ''),
    );

    const rate = cap.perSecond * 0.8;
    memory.phase('sustained');
    const waits = new Waits(pids, { timeline: TIMELINE, postgres: postgresPid });
    const s = await sustained(target, users, rate, DURATION_S);
    waits.stop();
    memory.phase('unloaded');

    const idleAfter = await unloaded(target, users, UNLOADED);
    // The machine's speed drifts (its host runs other work): measured again, capacity tells whether the
    // offered rate was still 80 % of it or more, which reads the p99 below.
    memory.phase('capacity');
    const capAfter = await capacityProbe(target, users, 16, Math.max(2, CAPACITY_S / 2));
    const idle = [...idleBefore, ...idleAfter].sort((a, b) => a - b);
    const idleP50 = quantile(idle, 0.5);
    console.log(
      `unloaded full login:   p50 ${idleP50.toFixed(1)} ms, p99 ${quantile(idle, 0.99).toFixed(1)} ms (${idle.length} sequential: ${UNLOADED} before the load, p50 ${quantile(idleBefore, 0.5).toFixed(1)} ms; ${UNLOADED} after, p50 ${quantile(idleAfter, 0.5).toFixed(1)} ms)`,
    );
    const p99Ok = s.p99 <= 3 * idleP50;
    console.log(
      `sustained at 80%:      ${rate.toFixed(1)}/s offered for ${DURATION_S} s → ${s.perSecond.toFixed(1)}/s done, ${s.done} logins, ` +
        `p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms (${(s.p99 / idleP50).toFixed(2)}× unloaded p50; target ≤ 3×: ${p99Ok ? 'met' : 'NOT met'}), ` +
        `p90 ${s.p90.toFixed(1)} ms, p99.9 ${s.p999.toFixed(1)} ms, max ${s.max.toFixed(1)} ms, ` +
        `errors ${s.errors}${s.errorSamples.length ? ` e.g. ${s.errorSamples.join(' | ')}` : ''}, max in flight ${s.maxInFlight}`,
    );
    console.log(
      `  by step:            password (argon2id) p50 ${s.steps.password.p50.toFixed(1)} ms, p99 ${s.steps.password.p99.toFixed(1)} ms; ` +
        `second factor (response, session) p50 ${s.steps.second.p50.toFixed(1)} ms, p99 ${s.steps.second.p99.toFixed(1)} ms`,
    );
    for (const line of waits.report(s.logins, 3 * idleP50)) console.log(line);
    console.log(
      `  load generator's own GC pauses ≥ 5 ms meanwhile: ${s.gc.count} (longest ${s.gc.longestMs.toFixed(1)} ms, ${s.gc.totalMs.toFixed(0)} ms in all); ` +
        `logins it sent more than 5 ms late: ${s.lateSends} (latest ${s.latestSend.toFixed(1)} ms late)`,
    );
    console.log(`  capacity measured again after the load: ${capAfter.perSecond.toFixed(1)} full logins/s, so the offered rate was ${((100 * rate) / capAfter.perSecond).toFixed(0)} % of it (${capAfter.errors} errors)`);

    const raw = await rawHashLatency(rate, Math.min(DURATION_S, 20));
    console.log(
      `reference, raw argon2id at ${rate.toFixed(1)}/s (${hashingThreads()} at once, ${hashesInFlight()} in flight, no HTTP/database, ${Math.min(DURATION_S, 20)} s): p50 ${raw.p50.toFixed(1)} ms, p99 ${raw.p99.toFixed(1)} ms = ${(raw.p99 / raw.p50).toFixed(2)}× its p50 (this machine's own tail at this rate); ` +
        `one at a time p50 ${raw.unloadedP50.toFixed(1)} ms, so the same target on argon2id alone: p99 ${(raw.p99 / raw.unloadedP50).toFixed(2)}× unloaded p50`,
    );
    // How to read a miss (issue 7): logins arrive evenly, so a queue forms only when the machine stalls;
    // at 80 % a stall's backlog drains at the 20 % left, and the logins of that drain are the tail. When
    // hashing alone, with no slsd at all, misses the same target at the same rate, the run measured the
    // host's stalls as much as slsd.
    if (raw.p99 / raw.unloadedP50 > 3 && s.p99 > 3 * idleP50) {
      console.log(`  note: argon2id alone misses the same target at this rate (${(raw.p99 / raw.unloadedP50).toFixed(2)}×): this run's tail is the host's as much as slsd's; run again when the machine is quieter`);
    }

    memory.phase(`making ${PENDING} pending`);
    const pending = await pendingLogins(target, users, PENDING);
    memory.stop();
    // The issue's target: resident < 150 MB with the logins pending. Ours, stricter: the peak over the whole
    // run too — with one hash per core, 19 MiB each, a one-slsd SQLite run peaks while hashing at full speed.
    let memOk = true;
    let peakOk = true;
    for (const [i, pid] of pids.entries()) {
      const m = memoryKb(pid);
      memOk &&= m.rss < 150 * 1024;
      peakOk &&= m.hwm < 150 * 1024;
      const verdict = (kb: number) => (kb < 150 * 1024 ? 'met' : 'NOT met');
      console.log(
        `slsd #${i + 1} (pid ${pid}):      ${mb(idleMemory[i]!.rss)} resident idle after start; ${mb(m.rss)} with ${pending} logins pending (issue's target < 150 MB: ${verdict(m.rss)}); ` +
          `peak (VmHWM) over the run ${mb(m.hwm)} (ours, stricter, < 150 MB: ${verdict(m.hwm)}); sampled peaks: ${memory.describe(i)}; ` +
          `the largest sample: ${memory.describePeak(i)}${fromSource ? ' (FROM SOURCE under tsx, not the bundle)' : ''}`,
      );
    }
    return { issue: s.errors === 0 && p99Ok && memOk, peak: peakOk };
  } finally {
    await Promise.all(slsds.map((x) => x.stop()));
    await drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The load generator's event loop above slsd's (nice BENCH_CLIENT_NICE, default -5; root only): a
 * client on its own machine sends on its schedule and reads each answer when it comes. Sharing slsd's
 * cores at the same priority, it fell behind by up to 53 ms in a run (22 logins sent > 5 ms late, then
 * together: a burst slsd queued) and read answers late, which counted as slsd's latency.
 */
function raiseClientPriority(): string {
  const nice = Number(process.env.BENCH_CLIENT_NICE ?? -5);
  try {
    os.setPriority(nice);
    return `load generator's event loop at nice ${nice}`;
  } catch (e) {
    return `load generator at nice ${os.getPriority()} (nice ${nice} refused: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; run as root)`;
  }
}

// The raw argon2id reference hashes on this process's pool: sized as slsd's (same-pool.ts).
if (!rerunWithSlsdPool()) {
  const clientPriority = raiseClientPriority();
  console.log(
    `bench:load — ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; sustained ${DURATION_S} s${QUICK ? ' (quick)' : ''}; ` +
      `transparent huge pages: ${hugePagesLine()}; ${clientPriority}`,
  );
  const results: ({ issue: boolean; peak: boolean } | null)[] = [];
  if (BACKEND === 'sqlite' || BACKEND === 'both') results.push(await runBackend('sqlite', 1));
  if (BACKEND === 'postgres' || BACKEND === 'both') results.push(await runBackend('postgres', 2));
  const issueMet = results.every((r) => r?.issue);
  const peakMet = results.every((r) => r?.peak);
  const skipped = results.includes(null) ? ' (PostgreSQL not measured)' : '';
  console.log(
    `\nthe issue's targets (0 errors, p99 ≤ 3× unloaded, < 150 MB with the logins pending): ${issueMet ? 'all met' : 'NOT all met'}${skipped}; ` +
      `ours, the peak over the run < 150 MB: ${peakMet ? 'met' : 'NOT met'} (load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; other work on this machine skews every number)`,
  );
  client.close();
}
