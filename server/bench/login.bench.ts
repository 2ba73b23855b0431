/**
 * `npm run bench:login`: how fast slsd signs users in, measured over real HTTP against a child slsd.
 *
 * 1. Password step (argon2id, production parameters) logins/s through HTTP, beside raw argon2id
 *    verifications/s on the same cores, and their ratio (target ≥ 0.90: the server adds little).
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
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import type { Algorithm } from '@node-rs/argon2';
import { deviceResponse } from '../../core/codes.ts';
import { DEFAULT_ARGON2, defaultConfig } from '../config.ts';
import type { PasswordHashing } from '../config.ts';
import { createServices } from '../services/index.ts';
import { Provisioning } from '../services/provisioning.ts';
import { spawnSlsd } from '../testing/slsd-process.ts';

const PASSWORD = 'Bench-Password-1';
const USERS = 64;
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
/**
 * slsd worker processes (node:cluster). Default 1: on SQLite, one process already uses every core
 * (argon2id runs on its thread pool) and measured cheaper per step than two processes contending
 * for the database file's locks. Try BENCH_WORKERS=2 to compare.
 */
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);

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
    env: { SLS_SERVER_KEY: serverKey, SLS_LOG_LEVEL: 'silent', SLS_PASSWORD_HASHING: hashing, SLS_WORKERS: String(WORKERS) },
  });
  return { child: slsd.child, port: slsd.port, stop: () => slsd.stop() };
}

function post(agent: http.Agent, port: number, urlPath: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** CPU ms (user + system) used so far by a process and all its descendants (Linux /proc). */
function treeCpuMs(pid: number): number {
  const tick = 10; // USER_HZ = 100 on Linux
  let total = 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += (Number(fields[11]) + Number(fields[12])) * tick;
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      const children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(' ') : []) total += treeCpuMs(Number(child));
    }
  } catch {
    // The process ended meanwhile.
  }
  return total;
}

interface Measured {
  readonly perSecond: number;
  readonly ok: number;
  readonly failed: number;
  /** CPU µs per operation in slsd (all processes) and in this client. */
  readonly serverCpuUs: number;
  readonly clientCpuUs: number;
}

/** `load` while counting the CPU time slsd and this client spend, per operation. */
async function measured(serverPid: number, run: () => Promise<{ perSecond: number; ok: number; failed: number }>): Promise<Measured> {
  const s0 = treeCpuMs(serverPid);
  const c0 = process.cpuUsage();
  const r = await run();
  const c = process.cpuUsage(c0);
  const n = Math.max(1, r.ok + r.failed);
  return { ...r, serverCpuUs: ((treeCpuMs(serverPid) - s0) * 1000) / n, clientCpuUs: (c.user + c.system) / n };
}

/** What the CPU cost says the machine's cores could do without contention: cores / (server + client CPU per op). */
function capacity(m: Measured, cores: number): string {
  const withClient = (cores * 1e6) / (m.serverCpuUs + m.clientCpuUs);
  const serverOnly = (cores * 1e6) / m.serverCpuUs;
  return `slsd ${m.serverCpuUs.toFixed(0)} CPU-µs/op, client ${m.clientCpuUs.toFixed(0)} CPU-µs/op → ${withClient.toFixed(0)}/s on ${cores} free cores with this client, ${serverOnly.toFixed(0)}/s with the client elsewhere`;
}

/** Runs `task` with bounded concurrency until the time is up (or tasks run out); returns completions/s. */
async function load(concurrency: number, durationMs: number, task: (i: number) => Promise<boolean>, limit = Infinity): Promise<{ perSecond: number; ok: number; failed: number }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const start = performance.now();
  const deadline = start + durationMs;
  async function worker() {
    while (performance.now() < deadline && next < limit) {
      const i = next++;
      if (await task(i)) ok++;
      else failed++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  return { perSecond: (ok + failed) / seconds, ok, failed };
}

function loginBody(u: BenchUser) {
  return { username: u.username, password: PASSWORD, client: { kind: 'trading_platform', version: 1010 } };
}

async function passwordStep(hashing: PasswordHashing, concurrency: number) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sls-bench-'));
  const serverKey = randomBytes(32).toString('base64');
  const users = await seed(dataDir, serverKey, hashing);
  const { child, port, stop } = await startSlsd(dataDir, serverKey, hashing);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    // Warm up.
    await load(concurrency, 500, async (i) => (await post(agent, port, '/v1/login', loginBody(users[i % USERS]!))).status === 200);
    const logins = await measured(child.pid!, () =>
      load(concurrency, DURATION_MS, async (i) => (await post(agent, port, '/v1/login', loginBody(users[i % USERS]!))).status === 200),
    );
    return { logins, users, port, agent, child, stop, dataDir };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Raw argon2id verifications in this process (its libuv threads), with their CPU µs per verification. */
async function rawArgon2(concurrency: number, durationMs: number) {
  const options = { algorithm: 2 as Algorithm, ...DEFAULT_ARGON2 };
  const stored = await argon2Hash(PASSWORD, options);
  const c0 = process.cpuUsage();
  const r = await load(concurrency, durationMs, async () => argon2Verify(stored, PASSWORD));
  const c = process.cpuUsage(c0);
  return { ...r, cpuUs: (c.user + c.system) / Math.max(1, r.ok + r.failed) };
}

function line(label: string, value: string) {
  console.log(`${label.padEnd(58)} ${value}`);
}

export async function main(): Promise<void> {
  const cores = os.availableParallelism();
  console.log(`bench:login — ${cores} cores, ${os.cpus()[0]?.model ?? 'cpu'}, slsd with ${WORKERS} worker(s), ${DURATION_MS} ms per measure, ${CONCURRENCY} concurrent requests`);
  console.log(`load average before: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('Client and slsd share these cores; other work on the machine lowers every number.');
  console.log('The CPU cost lines say what the cores could do without other work: CPU time is less disturbed by contention than wall time.\n');

  // 1. argon2id through HTTP vs raw; raw is measured before and after, to even out drifting load.
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const rawBefore = await rawArgon2(threads * 2, DURATION_MS / 2);
  const a = await passwordStep('argon2id', CONCURRENCY);
  await a.stop();
  a.agent.destroy();
  const rawAfter = await rawArgon2(threads * 2, DURATION_MS / 2);
  const rawPerSecond = (rawBefore.perSecond + rawAfter.perSecond) / 2;
  const rawCpuUs = (rawBefore.cpuUs + rawAfter.cpuUs) / 2;
  line('password step, argon2id m=19456 t=2 p=1, HTTP (logins/s)', a.logins.perSecond.toFixed(1));
  line('raw argon2id verifications/s (same cores, same params)', `${rawPerSecond.toFixed(1)} (before ${rawBefore.perSecond.toFixed(1)}, after ${rawAfter.perSecond.toFixed(1)})`);
  line('ratio HTTP / raw (target ≥ 0.90)', (a.logins.perSecond / rawPerSecond).toFixed(3));
  line('  CPU cost', capacity(a.logins, cores));
  line('  CPU ratio: raw CPU-µs per verification / slsd CPU-µs per login', `${rawCpuUs.toFixed(0)} / ${a.logins.serverCpuUs.toFixed(0)} = ${(rawCpuUs / a.logins.serverCpuUs).toFixed(3)}`);
  if (a.logins.failed) line('  failed requests', String(a.logins.failed));

  // 2. and 3. no-op hash.
  console.log('\nWARNING: the next server runs with password hashing set to a no-op (noop-benchmark-only).');
  const b = await passwordStep('noop-benchmark-only', CONCURRENCY);
  try {
    line('password step, no-op hash, HTTP (sign-ins/s, target ≥ 3000)', b.logins.perSecond.toFixed(1));
    line('  CPU cost', capacity(b.logins, cores));
    if (b.logins.failed) line('  failed requests', String(b.logins.failed));

    // Prepare transactions with their right responses, then time only the second-factor steps.
    const prepared: { txId: string; response: string }[] = [];
    const wanted = Math.max(2000, Math.round(4000 * (DURATION_MS / 5000)));
    await load(CONCURRENCY, 120_000, async (i) => {
      const u = b.users[i % USERS]!;
      const r = await post(b.agent, b.port, '/v1/login', loginBody(u));
      const step = r.json as { status: string; transactionId: string; challenge: { kind: 'dsc'; challenge: string } };
      if (step.status !== 'challenge') return false;
      prepared.push({ txId: step.transactionId, response: deviceResponse('dsc', u.secret, step.challenge.challenge) });
      return true;
    }, wanted);
    const second = await measured(b.child.pid!, () =>
      load(
        CONCURRENCY,
        120_000,
        async (i) => {
          const p = prepared[i]!;
          const r = await post(b.agent, b.port, `/v1/login/${p.txId}/response`, { response: p.response });
          return r.status === 200 && (r.json as { status: string }).status === 'signed_in';
        },
        prepared.length,
      ),
    );
    line('second-factor steps/s (verify + open a session, target ≥ 1500)', second.perSecond.toFixed(1));
    line('  CPU cost', capacity(second, cores));
    if (second.failed) line('  failed requests', String(second.failed));
  } finally {
    b.agent.destroy();
    await b.stop();
    fs.rmSync(b.dataDir, { recursive: true, force: true });
    fs.rmSync(a.dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
