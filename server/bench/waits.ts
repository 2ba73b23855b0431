/**
 * Where a loaded login's time went that was not work (issue 7): how long each of slsd's threads sat
 * runnable, waiting for a core (the guest's own scheduler: `/proc/PID/task/TID/schedstat`, field 2, ns),
 * and how long the hypervisor ran something else on this VM's cores (steal, `/proc/stat`).
 *
 * Totals over a phase cost two readings. With `timeline`, readings every `everyMs` line the waits up with
 * the logins that were slow in the same window: the view that showed, by hand, the "clusters" in which
 * every login waits 30–65 ms. Sampling costs the load generator's core a little: off unless asked for.
 */
import fs from 'node:fs';
import os from 'node:os';

type ThreadKind = 'event loop' | 'argon2id pool' | 'other' | 'postgres';

interface ThreadReading {
  readonly kind: ThreadKind;
  /** ns on a core, ns runnable but waiting for one. */
  readonly runNs: number;
  readonly waitNs: number;
}

type Reading = { readonly at: number; readonly stealMs: number; readonly threads: Map<string, ThreadReading> };

/** Ticks of steal over all CPUs, in ms (USER_HZ 100). NaN where /proc/stat has no steal column. */
function stealMs(): number {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  return Number(cpu[8]) * 10;
}

/** Nice value of a thread (proc(5) stat field 19). */
function niceOf(pid: number, tid: string): number {
  const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/**
 * Node 20 names every thread "node": slsd's argon2id threads are told apart by the nice value slsd gave
 * them (SLS_HASH_NICE, services/hashing-priority.ts); with SLS_HASH_NICE=0 they count among "other".
 */
function kindOf(pid: number, tid: string): ThreadKind {
  if (tid === String(pid)) return 'event loop';
  try {
    return niceOf(pid, tid) > niceOf(pid, String(pid)) ? 'argon2id pool' : 'other';
  } catch {
    return 'other';
  }
}

/** A process and all its descendants (the PostgreSQL server: postmaster, backends, WAL writer, checkpointer, autovacuum). */
function tree(pid: number, into: number[] = []): number[] {
  into.push(pid);
  try {
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      const children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(' ') : []) tree(Number(child), into);
    }
  } catch {
    // ended meanwhile
  }
  return into;
}

function read(pids: readonly number[], kinds: Map<string, ThreadKind>, postgres: number | null = null): Reading {
  const threads = new Map<string, ThreadReading>();
  if (postgres !== null) {
    for (const pid of tree(postgres)) {
      try {
        const [run, wait] = fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
        threads.set(`pg/${pid}`, { kind: 'postgres', runNs: run!, waitNs: wait! });
      } catch {
        // ended meanwhile
      }
    }
  }
  for (const pid of pids) {
    let tasks: string[] = [];
    try {
      tasks = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // ended
    }
    for (const tid of tasks) {
      const id = `${pid}/${tid}`;
      try {
        const [run, wait] = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
        let kind = kinds.get(id);
        if (kind === undefined) kinds.set(id, (kind = kindOf(pid, tid)));
        threads.set(id, { kind, runNs: run!, waitNs: wait! });
      } catch {
        // The thread ended meanwhile.
      }
    }
  }
  return { at: performance.now(), stealMs: stealMs(), threads };
}

type ByKind = Record<ThreadKind, { runMs: number; waitMs: number }>;

function between(a: Reading, b: Reading): { byKind: ByKind; stealMs: number } {
  const byKind: ByKind = { 'event loop': { runMs: 0, waitMs: 0 }, 'argon2id pool': { runMs: 0, waitMs: 0 }, other: { runMs: 0, waitMs: 0 }, postgres: { runMs: 0, waitMs: 0 } };
  for (const [id, t] of b.threads) {
    const before = a.threads.get(id);
    byKind[t.kind].runMs += (t.runNs - (before?.runNs ?? 0)) / 1e6;
    byKind[t.kind].waitMs += (t.waitNs - (before?.waitNs ?? 0)) / 1e6;
  }
  return { byKind, stealMs: b.stealMs - a.stealMs };
}

export interface Login {
  /** performance.now() when it was sent, and how long it took. */
  readonly start: number;
  readonly ms: number;
}

export class Waits {
  readonly #kinds = new Map<string, ThreadKind>();
  readonly #first: Reading;
  readonly #timeline: Reading[] = [];
  readonly #timer: NodeJS.Timeout | undefined;

  readonly #postgres: number | null;
  readonly #startedAt = Date.now();

  /** `postgres`: the PostgreSQL server's postmaster when it runs here (cpu.ts localPostgresPid): its processes are shown beside slsd's threads. */
  constructor(
    readonly pids: readonly number[],
    opts: { timeline?: boolean; everyMs?: number; postgres?: number | null } = {},
  ) {
    this.#postgres = opts.postgres ?? null;
    this.#first = read(pids, this.#kinds, this.#postgres);
    if (opts.timeline) {
      this.#timeline.push(this.#first);
      this.#timer = setInterval(() => this.#timeline.push(read(pids, this.#kinds, this.#postgres)), opts.everyMs ?? 50);
    }
  }

  #last: Reading | undefined;

  /** Ends the phase: the last reading. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#last ??= read(this.pids, this.#kinds, this.#postgres);
  }

  /** The phase's totals, per login; with a timeline, the windows in which slow logins ran. */
  report(logins: readonly Login[], slowerThanMs: number): string[] {
    this.stop();
    const last = this.#last!;
    const total = between(this.#first, last);
    const n = Math.max(1, logins.length);
    const per = (ms: number) => `${((ms * 1000) / n).toFixed(0)} µs`;
    const k = total.byKind;
    const cores = os.availableParallelism();
    const seconds = (last.at - this.#first.at) / 1000;
    const lines = [
      `  waiting for a core (runnable, not running), per login: slsd's event loop ${per(k['event loop'].waitMs)} (ran ${per(k['event loop'].runMs)}), ` +
        `its argon2id threads ${per(k['argon2id pool'].waitMs)} (ran ${per(k['argon2id pool'].runMs)}), its other threads ${per(k.other.waitMs)}; ` +
        (this.#postgres === null ? '' : `PostgreSQL's processes ${per(k.postgres.waitMs)} (ran ${per(k.postgres.runMs)}); `) +
        `host steal ${Number.isNaN(total.stealMs) ? 'not reported' : `${total.stealMs.toFixed(0)} ms in all over ${seconds.toFixed(0)} s on ${cores} cores`}`,
    ];
    if (this.#timeline.length === 0) return lines;
    if (this.#timeline.at(-1) !== last) this.#timeline.push(last);
    const slow = logins.filter((l) => l.ms > slowerThanMs);
    // Each window a slow login overlapped: what every kind of thread waited and ran there.
    const windows = new Map<number, { slow: number; worstMs: number }>();
    for (const l of slow) {
      for (let i = 1; i < this.#timeline.length; i++) {
        const w0 = this.#timeline[i - 1]!.at;
        const w1 = this.#timeline[i]!.at;
        if (w1 < l.start || w0 > l.start + l.ms) continue;
        const w = windows.get(i) ?? { slow: 0, worstMs: 0 };
        w.slow++;
        w.worstMs = Math.max(w.worstMs, l.ms);
        windows.set(i, w);
      }
    }
    const worst = [...windows].sort((a, b) => b[1].slow - a[1].slow || b[1].worstMs - a[1].worstMs).slice(0, 8);
    lines.push(`  timeline: ${slow.length} logins over ${slowerThanMs.toFixed(1)} ms overlapped ${windows.size} of ${this.#timeline.length - 1} windows; the busiest (ms waited/ran in the window):`);
    for (const [i, w] of worst.sort((a, b) => a[0] - b[0])) {
      const d = between(this.#timeline[i - 1]!, this.#timeline[i]!);
      const at = (this.#timeline[i - 1]!.at - this.#first.at) / 1000;
      const f = (kind: ThreadKind) => `${d.byKind[kind].waitMs.toFixed(1)}/${d.byKind[kind].runMs.toFixed(1)}`;
      // The wall clock too, to line a window up with the database's log (checkpoints, autovacuum).
      const wall = new Date(this.#startedAt + (this.#timeline[i - 1]!.at - this.#first.at)).toISOString().slice(11, 23);
      lines.push(
        `    t=${at.toFixed(2)} s (${wall} UTC) +${(this.#timeline[i]!.at - this.#timeline[i - 1]!.at).toFixed(0)} ms: ${w.slow} slow logins (worst ${w.worstMs.toFixed(1)} ms); ` +
          `event loop ${f('event loop')}, argon2id ${f('argon2id pool')}, other ${f('other')}${this.#postgres === null ? '' : `, PostgreSQL ${f('postgres')}`}; steal ${d.stealMs.toFixed(0)} ms`,
      );
    }
    return lines;
  }
}
