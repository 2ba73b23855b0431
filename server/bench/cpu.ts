/**
 * CPU time of a process tree by thread, from Linux's /proc: what the benchmarks charge to slsd's main
 * threads (HTTP, JSON, SQL) and to its other threads (argon2id on libuv's pool, V8's helpers).
 */
import fs from 'node:fs';

export type ThreadTicks = Map<string, { main: boolean; ticks: number }>;

/** Ticks (user, system) of each thread of a process and its descendants (Linux /proc), per thread: main = the process's first thread. */
export function threadTicks(pid: number, into: ThreadTicks = new Map()): ThreadTicks {
  try {
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      const stat = fs.readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      into.set(`${pid}/${task}`, { main: task === String(pid), ticks: Number(fields[11]) + Number(fields[12]) });
      const children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(' ') : []) threadTicks(Number(child), into);
    }
  } catch {
    // The process ended meanwhile.
  }
  return into;
}

/** CPU ms of the main threads and of all other threads of a process tree since `before`. */
export function cpuSince(pid: number, before: ThreadTicks): { mainMs: number; otherMs: number } {
  const tick = 1000 / 100; // USER_HZ = 100 on Linux
  let mainMs = 0;
  let otherMs = 0;
  for (const [id, now] of threadTicks(pid)) {
    const ms = (now.ticks - (before.get(id)?.ticks ?? 0)) * tick;
    if (now.main) mainMs += ms;
    else otherMs += ms;
  }
  return { mainMs, otherMs };
}


/**
 * The PostgreSQL server's postmaster, when it runs on this machine: the parent of the backend that
 * answers on `url`. Its process tree (backends, WAL writer, checkpointer, autovacuum) is the database's
 * share of the cores slsd runs on; null when that backend is not visible here (another host).
 */
export async function localPostgresPid(url: string): Promise<number | null> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const backend = Number((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
    const stat = fs.readFileSync(`/proc/${backend}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  } finally {
    await c.end();
  }
}
