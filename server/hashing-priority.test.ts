// slsd's argon2id threads run below its event loop (issue 7, server/services/hashing-priority.ts):
// on a busy machine the thread that answers every request, the database and the proxy go before a
// 7 ms hash. Shown on real processes: the threads found are libuv's pool, they are the ones that
// hash, slsd gives them nice +10 (SLS_HASH_NICE) and keeps its event loop where it was.
import fs from 'node:fs';
import path from 'node:path';
import { hash } from '@node-rs/argon2';
import { afterEach, describe, expect, it } from 'vitest';
import { poolThreadIds } from './services/hashing-priority.ts';
import { poolSize } from './services/passwords.ts';
import { spawnSlsd } from './testing/slsd-process.ts';
import type { SlsdProcess } from './testing/slsd-process.ts';
import { respondWithTokenFile } from './tokens/software-token.ts';

const linux = process.platform === 'linux';

/** Each thread of a process: its nice value and CPU ticks so far (/proc/PID/task/TID/stat). */
function threads(pid: number | 'self'): Map<number, { nice: number; ticks: number }> {
  const out = new Map<number, { nice: number; ticks: number }>();
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      // Fields after "(comm)": state is field 3; utime 14, stime 15, nice 19 (proc(5)).
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(task), { nice: Number(f[16]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

/** CPU ticks each thread spent between two readings. */
function ticksSpent(before: ReturnType<typeof threads>, after: ReturnType<typeof threads>): Map<number, number> {
  return new Map([...after].map(([tid, t]) => [tid, t.ticks - (before.get(tid)?.ticks ?? 0)]));
}

const sum = (m: Map<number, number>, only: (tid: number) => boolean) => [...m].filter(([tid]) => only(tid)).reduce((a, [, v]) => a + v, 0);

describe.runIf(linux)('the hashing threads, found', () => {
  it('are exactly libuv’s pool: as many as it has, none of them the JavaScript thread, and they are where argon2id runs', async () => {
    // fs.readFileSync runs on the calling thread: this names the JavaScript thread itself.
    const jsThread = Number.parseInt(fs.readFileSync('/proc/thread-self/stat', 'utf8'), 10);
    const found = await poolThreadIds(poolSize());
    expect(found).toHaveLength(poolSize());
    expect(new Set(found).size).toBe(found.length);
    expect(found).not.toContain(jsThread);
    const tasks = threads('self');
    for (const tid of found) expect(tasks.has(tid)).toBe(true);

    // 24 hashes of ~7–14 ms each: the CPU they take shows on the threads found, not elsewhere.
    const before = threads('self');
    await Promise.all(Array.from({ length: 24 }, (_, i) => hash(`password ${i}`, { memoryCost: 19_456, timeCost: 2, parallelism: 1 })));
    const spent = ticksSpent(before, threads('self'));
    const onPool = sum(spent, (tid) => found.includes(tid));
    const elsewhere = sum(spent, (tid) => !found.includes(tid) && tid !== jsThread);
    expect(onPool).toBeGreaterThanOrEqual(10);
    expect(elsewhere).toBeLessThan(onPool / 5);
  });

  it('answer even when every one of them is busy hashing at the time (slsd hashes a dummy password as it starts)', async () => {
    const busy = Array.from({ length: poolSize() }, (_, i) => hash(`busy ${i}`, { memoryCost: 65_536, timeCost: 3, parallelism: 1 }));
    const found = await poolThreadIds(poolSize());
    await Promise.all(busy);
    expect(new Set(found).size).toBe(poolSize());
  });
});

let slsd: SlsdProcess | undefined;
afterEach(async () => {
  await slsd?.stop();
  slsd = undefined;
});

async function fullLogin(p: SlsdProcess): Promise<string> {
  const post = async (url: string, body: unknown) => {
    const r = await fetch(p.url + url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const step = await post('/v1/login', { username: 'demo.gold', password: p.demo!.password, client: { kind: 'trading_platform', version: 1010 } });
  if (step.status !== 200) return `password step ${step.status}`;
  const { transactionId, challenge } = step.body as { transactionId: string; challenge: { challenge: string } };
  const gold = p.demo!.users.find((u) => u.username === 'demo.gold')!.devices[0]!;
  const done = await post(`/v1/login/${transactionId}/response`, { response: respondWithTokenFile(path.join(p.dataDir, gold.file!), challenge.challenge) });
  return String(done.body.status);
}

describe.runIf(linux)('slsd', () => {
  it('runs its argon2id threads at nice +10 and its event loop where it was; logins hash on those threads', async () => {
    slsd = await spawnSlsd({ demo: true, env: { UV_THREADPOOL_SIZE: '2', SLS_LOG_LEVEL: 'silent' } });
    const pid = slsd.child.pid!;
    expect(slsd.stdout()).toMatch(/argon2id 2 at once, nice \+10/);
    const before = threads(pid);
    const base = before.get(pid)!.nice;
    const lowered = [...before].filter(([, t]) => t.nice === Math.min(19, base + 10)).map(([tid]) => tid);
    expect(lowered).toHaveLength(2);
    expect(lowered).not.toContain(pid);
    // Everything else stays at slsd's own priority.
    expect([...before].filter(([tid]) => !lowered.includes(tid)).every(([, t]) => t.nice === base)).toBe(true);

    // 24 logins, each one argon2id of ~7–14 ms: ~17–34 ticks of 10 ms.
    for (let i = 0; i < 24; i++) expect(await fullLogin(slsd)).toBe('signed_in');
    const spent = ticksSpent(before, threads(pid));
    const hashing = sum(spent, (tid) => lowered.includes(tid));
    expect(hashing).toBeGreaterThanOrEqual(8);
    expect(sum(spent, (tid) => tid !== pid && !lowered.includes(tid))).toBeLessThan(hashing / 3);
  });

  it('--workers 2: each worker lowers its own pool, none of the main threads', async () => {
    slsd = await spawnSlsd({ workers: 2, env: { UV_THREADPOOL_SIZE: '2', SLS_LOG_LEVEL: 'silent' } });
    const workers = fs.readFileSync(`/proc/${slsd.child.pid}/task/${slsd.child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    expect(workers).toHaveLength(2);
    for (const worker of workers) {
      const all = threads(worker);
      const base = all.get(worker)!.nice;
      expect([...all].filter(([, t]) => t.nice === Math.min(19, base + 10)).map(([tid]) => tid)).toHaveLength(2);
    }
  });

  it('SLS_HASH_NICE=0 keeps one priority for every thread', async () => {
    slsd = await spawnSlsd({ env: { SLS_HASH_NICE: '0', SLS_LOG_LEVEL: 'silent' } });
    const pid = slsd.child.pid!;
    expect(slsd.stdout()).not.toMatch(/nice/);
    const all = threads(pid);
    expect(new Set([...all.values()].map((t) => t.nice))).toEqual(new Set([all.get(pid)!.nice]));
  });

  it('refuses SLS_HASH_NICE beyond 19 in one line', async () => {
    await expect(spawnSlsd({ env: { SLS_HASH_NICE: '25' } })).rejects.toThrow(/SLS_HASH_NICE must be a nice increment, 0–19, got 25/);
  });
});
