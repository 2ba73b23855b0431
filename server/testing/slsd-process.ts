/**
 * slsd as a real child process, for end-to-end tests and benchmarks (`node bin/slsd.cjs`).
 *
 * Starts on a free loopback port, waits for "slsd listening on …", and with `demo: true` returns
 * the demo data (users, device files, PINs, passcodes) from `<data>/demo/demo.json`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeFlagsOf } from '../../bin/node-flags.mjs';
import type { DemoData } from '../demo.ts';

const SLSD = fileURLToPath(new URL('../../bin/slsd.cjs', import.meta.url));
/** Node's flags as `npx slsd` gives them (its shebang line): tests and benchmarks run slsd as operators do. */
const SLSD_NODE_FLAGS: string[] = nodeFlagsOf(SLSD);

export interface SlsdProcess {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly dataDir: string;
  /** The server key it runs with (base64), so slsctl can open the same data. */
  readonly serverKey: string;
  readonly demo: DemoData | null;
  /** Everything it printed on stdout so far. */
  stdout(): string;
  /** SIGTERM, wait for the exit; removes the data folder when this helper created it. */
  stop(): Promise<void>;
}

/**
 * `SLSD_CPU_PROF_DIR=/tmp/prof npm run bench:load -- --quick`: each slsd the tests or benchmarks start
 * writes a V8 CPU profile of its main thread there when it stops (Node refuses --cpu-prof in
 * NODE_OPTIONS). Open it in Chrome DevTools (Performance) or read its self times with a script.
 */
function cpuProfileFlags(): string[] {
  const dir = process.env.SLSD_CPU_PROF_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

export async function spawnSlsd(
  opts: { dataDir?: string; demo?: boolean; workers?: number; port?: number; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<SlsdProcess> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'slsd-e2e-'));
  // A key file the caller names (SLS_SERVER_KEY_FILE) replaces the key in the environment.
  const keyFile = opts.env?.SLS_SERVER_KEY_FILE;
  const serverKey = keyFile ? fs.readFileSync(keyFile, 'utf8').trim() : (opts.env?.SLS_SERVER_KEY ?? randomBytes(32).toString('base64'));
  const args = [...SLSD_NODE_FLAGS, ...cpuProfileFlags(), SLSD, '--data-dir', dataDir, '--port', String(opts.port ?? 0), '--host', '127.0.0.1'];
  if (opts.demo) args.push('--demo');
  if (opts.workers) args.push('--workers', String(opts.workers));
  const child = spawn(process.execPath, args, {
    // Carrier hours off unless asked: these tests run on the real clock, at any hour (SPEC P2).
    env: { ...process.env, SLS_LOG_LEVEL: 'warn', SLS_SMS_CARRIER_HOURS: 'off', ...opts.env, ...(keyFile ? {} : { SLS_SERVER_KEY: serverKey }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => void (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => void (err += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`slsd did not start within ${opts.timeoutMs ?? 60_000} ms:\n${out}\n${err}`)), opts.timeoutMs ?? 60_000);
    const check = () => {
      const m = /slsd listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    // 'close', not 'exit': by then everything it wrote on stderr has been read.
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`slsd exited with ${code}:\n${out}\n${err}`));
    });
  });
  const demoFile = path.join(dataDir, 'demo', 'demo.json');
  const demo = opts.demo && fs.existsSync(demoFile) ? (JSON.parse(fs.readFileSync(demoFile, 'utf8')) as DemoData) : null;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    dataDir,
    serverKey,
    demo,
    stdout: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
