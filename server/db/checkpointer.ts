/**
 * SQLite WAL checkpoints off the event loop (issue 7, SPEC N1).
 *
 * In WAL mode a commit only appends to the log; the log is copied back into the database file by a
 * checkpoint, which SQLite runs inside whichever commit crosses `wal_autocheckpoint` frames. That
 * commit then fsyncs the log and the database (here ~9 + 2 ms for a 16 MiB log) on slsd's one event
 * loop thread: under full login load the loop stopped for 15-25 ms every ~1.5 s, and every login in
 * flight waited (bench:load, event-loop delay probe).
 *
 * A worker thread with its own connection copies the log into the database every `intervalMs` with a
 * PASSIVE checkpoint, which never blocks or waits for readers and writers. The main connection keeps
 * its `wal_autocheckpoint` as the backstop that also restarts the log (a log is only restarted once a
 * checkpoint has caught up with it while nobody writes, which a concurrent checkpointer rarely sees
 * under load): by the time it runs, the worker has already copied and synced nearly everything, so it
 * syncs little. If the worker cannot start or fails, checkpoints simply go on in the commits, as before.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** What the worker reports after each checkpoint; `frames` is the log's length, `copied` how much of it is in the database file. */
export interface CheckpointStatus {
  /** Checkpoints run by the worker. */
  readonly runs: number;
  /** Frames in the log and frames of it copied into the database, after the worker's latest checkpoint. */
  readonly frames: number;
  readonly copied: number;
  /** Why the worker stopped, if it did; checkpoints then run in the commits (the backstop). */
  readonly failed?: string;
}

export interface BackgroundCheckpointer {
  status(): CheckpointStatus;
  /** Resolves once the worker has run one more checkpoint (tests; an operator's health check). */
  nextRun(): Promise<CheckpointStatus>;
  /** Stops the worker and closes its connection; the main connection can then close last. */
  stop(): Promise<void>;
}

// Plain JavaScript, evaluated as the worker's CommonJS entry: the same code whether slsd runs from
// its bundle or from source, and better-sqlite3 loaded from where the main thread loaded it.
const WORKER_SOURCE = `(() => {
const { parentPort, workerData } = require('node:worker_threads');
const SQLite = require(workerData.driver);
let runs = 0, frames = 0, copied = 0, db, timer;
const describe = (e) => String((e && e.message) || e);
try {
  db = new SQLite(workerData.file, { fileMustExist: true });
} catch (e) {
  parentPort.postMessage({ runs, frames, copied, failed: describe(e) });
  parentPort.close();
  return;
}
function run() {
  try {
    const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
    runs++;
    // -1 and -1 when another checkpoint (the main connection's backstop) held the lock: try next time.
    if (r.log >= 0) { frames = r.log; copied = r.checkpointed; }
    parentPort.postMessage({ runs, frames, copied });
  } catch (e) {
    // SQLITE_BUSY cannot come from a passive checkpoint; anything else stops the worker.
    clearInterval(timer);
    try { db.close(); } catch {}
    parentPort.postMessage({ runs, frames, copied, failed: describe(e) });
    parentPort.close();
  }
}
timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  try { db.close(); } catch {}
  parentPort.close();
});
})();
`;

/**
 * Starts the checkpointer for the SQLite database file `file` (which must exist and be in WAL mode).
 * `onFailure` hears once why it stopped early (slsd warns the operator; checkpoints go on in commits).
 */
export function startBackgroundCheckpointer(file: string, opts: { intervalMs?: number; onFailure?: (reason: string) => void } = {}): BackgroundCheckpointer {
  const intervalMs = opts.intervalMs ?? 100;
  if (!Number.isInteger(intervalMs) || intervalMs < 1) throw new RangeError(`checkpoint interval must be a positive whole number of ms, got ${intervalMs}`);
  let current: CheckpointStatus = { runs: 0, frames: 0, copied: 0 };
  let waiters: ((s: CheckpointStatus) => void)[] = [];
  let reported = false;
  const fail = (reason: string) => {
    if (current.failed === undefined) current = { ...current, failed: reason };
    if (!reported) {
      reported = true;
      opts.onFailure?.(reason);
    }
    for (const w of waiters) w(current);
    waiters = [];
  };
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { file, intervalMs, driver: createRequire(import.meta.url).resolve('better-sqlite3') },
    // It only runs one pragma: a small heap keeps slsd's resident memory down (issue 7).
    resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
    // Nothing of the main thread's loaders (tsx, when slsd runs from source) or preloads.
    execArgv: [],
  });
  worker.unref();
  let stopped = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('message', (m: CheckpointStatus) => {
    current = m;
    if (m.failed !== undefined) return fail(m.failed);
    for (const w of waiters) w(current);
    waiters = [];
  });
  worker.on('error', (e: unknown) => fail(String((e as { message?: unknown } | null)?.message ?? e)));
  worker.once('exit', (code) => {
    if (!stopped) fail(`checkpoint worker exited (code ${code})`);
  });
  return {
    status: () => current,
    nextRun: () => (current.failed !== undefined ? Promise.resolve(current) : new Promise((resolve) => waiters.push(resolve))),
    async stop() {
      if (stopped) return exited;
      stopped = true;
      worker.postMessage('stop');
      // A checkpoint in progress finishes first (it is bounded by the log's size); never hang a shutdown on it.
      const timeout = setTimeout(() => void worker.terminate(), 5_000);
      await exited;
      clearTimeout(timeout);
      for (const w of waiters) w(current);
      waiters = [];
    },
  };
}
