/**
 * `npm run bench:load`: slsd under a bounded load of full logins (password + second factor), on loopback.
 *
 * Per backend — SQLite with one slsd, PostgreSQL with two slsd on one database (SPEC N1), each login's
 * two steps sent to different processes — it measures:
 * 1. unloaded latency of a full login (one at a time);
 * 2. capacity: full logins/s with many in flight;
 * 3. sustained load: an open-loop arrival rate at 80% of that capacity for the duration, with
 *    throughput, p50/p99 latency and errors (targets: 0 errors, p99 ≤ 3× the unloaded median);
 * 4. memory: slsd's resident set with 1,000 logins pending (password accepted, challenge open), and
 *    its peak (VmHWM) over the whole run (target < 150 MB).
 * Logins use software `dsc` tokens, so the bench computes every response (real argon2id, real OCRA).
 *
 * Options (env or flags): `--duration S` / BENCH_DURATION_S (default 60), `--quick` (10 s sustained,
 * shorter capacity probe), `--backend sqlite|postgres|both` / BENCH_BACKEND (default both),
 * `--pending N` (default 1000). Never part of `npm test`. The load generator shares the machine's
 * cores with slsd (and, here, with other people's work): numbers are a floor, not a ceiling.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { deviceResponse } from '../../core/codes.ts';
import { defaultConfig } from '../config.ts';
import { freshPostgresDatabase, probePostgres } from '../db/pg-testing.ts';
import { createServices } from '../services/index.ts';
import { Provisioning } from '../services/provisioning.ts';
import { spawnSlsd } from '../testing/slsd-process.ts';
import type { SlsdProcess } from '../testing/slsd-process.ts';

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
const BACKEND = flag('backend') ?? process.env.BENCH_BACKEND ?? 'both';
const PENDING = Number(flag('pending') ?? process.env.BENCH_PENDING ?? 1000);

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

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function post(port: number, urlPath: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
          } catch (e) {
            reject(e as Error);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** kB from /proc/PID/status: VmRSS now, VmHWM the peak. */
function memoryKb(pid: number): { rss: number; hwm: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface Target {
  readonly ports: readonly number[];
}

let counter = 0;

/** One full login: password on one process, the response on the next (several processes act as one, N1). */
async function fullLogin(target: Target, users: readonly BenchUser[]): Promise<{ ok: boolean; ms: number; error?: string }> {
  const n = counter++;
  const user = users[n % users.length]!;
  const first = target.ports[n % target.ports.length]!;
  const second = target.ports[(n + 1) % target.ports.length]!;
  const start = performance.now();
  try {
    const step = await post(first, '/v1/login', { username: user.username, password: PASSWORD, client: CLIENT });
    if (step.status !== 200 || step.json.status !== 'challenge') return { ok: false, ms: performance.now() - start, error: `login ${step.status} ${JSON.stringify(step.json).slice(0, 80)}` };
    const challenge = (step.json.challenge as { challenge: string }).challenge;
    const response = deviceResponse('dsc', user.secret, challenge);
    const done = await post(second, `/v1/login/${step.json.transactionId as string}/response`, { response });
    const ok = done.status === 200 && done.json.status === 'signed_in';
    return { ok, ms: performance.now() - start, ...(ok ? {} : { error: `response ${done.status} ${JSON.stringify(done.json).slice(0, 80)}` }) };
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
async function sustained(target: Target, users: readonly BenchUser[], rate: number, seconds: number, pids: readonly number[]) {
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let maxInFlight = 0;
  let inFlight = 0;
  const running: Promise<void>[] = [];
  const start = performance.now();
  const total = Math.floor(rate * seconds);
  let peakRssKb = 0;
  const sampler = setInterval(() => {
    for (const pid of pids) peakRssKb = Math.max(peakRssKb, memoryKb(pid).rss);
  }, 500);
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    running.push(
      fullLogin(target, users).then((r) => {
        inFlight--;
        latencies.push(r.ms);
        if (!r.ok) {
          errors++;
          if (errorSamples.length < 3) errorSamples.push(r.error ?? '?');
        }
      }),
    );
  }
  await Promise.all(running);
  clearInterval(sampler);
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { done: latencies.length, perSecond: latencies.length / elapsed, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), errors, errorSamples, maxInFlight, peakRssKb };
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

const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;

async function runBackend(name: 'sqlite' | 'postgres', processes: number): Promise<boolean> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `slsd-load-${name}-`));
  const serverKey = randomBytes(32).toString('base64');
  let databaseUrl = `sqlite:${path.join(dataDir, 'sls.db')}`;
  let drop = async () => undefined as void;
  if (name === 'postgres') {
    const probe = await probePostgres();
    if (!probe.available) {
      console.log(`\n## PostgreSQL: skipped (${probe.reason}); run scripts/pg-test-env.sh`);
      return true;
    }
    const fresh = await freshPostgresDatabase(probe.adminUrl);
    databaseUrl = fresh.url;
    drop = fresh.drop;
  }
  const slsds: SlsdProcess[] = [];
  try {
    const users = await seed(dataDir, databaseUrl, serverKey);
    for (let i = 0; i < processes; i++) {
      slsds.push(await spawnSlsd({ dataDir, env: { SLS_SERVER_KEY: serverKey, SLS_LOG_LEVEL: 'silent', SLS_DATABASE_URL: databaseUrl } }));
    }
    const target: Target = { ports: slsds.map((s) => s.port) };
    const pids = slsds.map((s) => s.child.pid!);
    const idleMemory = pids.map((pid) => memoryKb(pid));
    console.log(`\n## ${name === 'sqlite' ? 'SQLite, one slsd' : `PostgreSQL, ${processes} slsd on one database`} (${USERS} users with software DSC tokens, argon2id m=19456 t=2)`);

    await unloaded(target, users, 10); // warm-up: JIT, statement caches, connections
    const idle = await unloaded(target, users, 40);
    const idleP50 = quantile(idle, 0.5);
    console.log(`unloaded full login:   p50 ${idleP50.toFixed(1)} ms, p99 ${quantile(idle, 0.99).toFixed(1)} ms (40 sequential)`);

    const cap = await capacityProbe(target, users, 16, CAPACITY_S);
    console.log(`capacity:              ${cap.perSecond.toFixed(1)} full logins/s (16 in flight, ${CAPACITY_S} s, ${cap.errors} errors)`);

    const rate = cap.perSecond * 0.8;
    const s = await sustained(target, users, rate, DURATION_S, pids);
    const p99Ok = s.p99 <= 3 * idleP50;
    console.log(
      `sustained at 80%:      ${rate.toFixed(1)}/s offered for ${DURATION_S} s → ${s.perSecond.toFixed(1)}/s done, ${s.done} logins, ` +
        `p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms (${(s.p99 / idleP50).toFixed(2)}× unloaded p50; target ≤ 3×: ${p99Ok ? 'met' : 'NOT met'}), ` +
        `errors ${s.errors}${s.errorSamples.length ? ` e.g. ${s.errorSamples.join(' | ')}` : ''}, max in flight ${s.maxInFlight}`,
    );

    const pending = await pendingLogins(target, users, PENDING);
    let memOk = true;
    for (const [i, pid] of pids.entries()) {
      const m = memoryKb(pid);
      memOk &&= m.rss < 150 * 1024 && m.hwm < 150 * 1024;
      console.log(`slsd #${i + 1} (pid ${pid}):      ${mb(idleMemory[i]!.rss)} resident idle after start; ${mb(m.rss)} with ${pending} logins pending; peak (VmHWM) over the run ${mb(m.hwm)}; sampled peak under load ${mb(s.peakRssKb)} (target < 150 MB: ${m.hwm < 150 * 1024 ? 'met' : 'NOT met'})`);
    }
    return s.errors === 0 && p99Ok && memOk;
  } finally {
    await Promise.all(slsds.map((x) => x.stop()));
    await drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

console.log(`bench:load — ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; sustained ${DURATION_S} s${QUICK ? ' (quick)' : ''}`);
let allMet = true;
if (BACKEND === 'sqlite' || BACKEND === 'both') allMet = (await runBackend('sqlite', 1)) && allMet;
if (BACKEND === 'postgres' || BACKEND === 'both') allMet = (await runBackend('postgres', 2)) && allMet;
console.log(`\nall targets ${allMet ? 'met' : 'NOT all met'} (load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; other work on this machine skews every number)`);
agent.destroy();
