// slsd's Node flags (issue 7: memory): one place, its shebang line, and every way of starting it uses them.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeFlagsOf } from '../bin/node-flags.mjs';
import { spawnSlsd } from '../server/testing/slsd-process.ts';

const SLSD = fileURLToPath(new URL('../bin/slsd.cjs', import.meta.url));

describe('nodeFlagsOf', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-flags-'));
  const file = (first: string) => {
    const f = path.join(dir, `${Math.random().toString(36).slice(2)}.mjs`);
    fs.writeFileSync(f, `${first}\nconsole.log(1);\n`);
    return f;
  };

  it('reads the flags after node, with or without env -S', () => {
    expect(nodeFlagsOf(file('#!/usr/bin/env node'))).toEqual([]);
    expect(nodeFlagsOf(file('#!/usr/bin/env -S node --max-semi-space-size=4'))).toEqual(['--max-semi-space-size=4']);
    expect(nodeFlagsOf(file('#!/usr/bin/env -S node --a=1 --b'))).toEqual(['--a=1', '--b']);
  });

  it('refuses a first line that is not a node shebang, rather than start slsd without its flags', () => {
    expect(() => nodeFlagsOf(file('#!/bin/sh'))).toThrow(/not a/);
    expect(() => nodeFlagsOf(file('import x from "y";'))).toThrow(/not a/);
  });
});

describe('slsd runs with a bounded young generation (issue 7)', () => {
  it('its shebang carries --max-semi-space-size, and starting it through the shebang works here', () => {
    expect(nodeFlagsOf(SLSD).some((f) => /^--max-semi-space-size=\d+$/.test(f))).toBe(true);
    expect(execFileSync(SLSD, ['--help'], { encoding: 'utf8' })).toMatch(/Usage: slsd/);
    const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(execFileSync(SLSD, ['--version'], { encoding: 'utf8' }).trim()).toBe(pkg.version);
  });

  it('spawnSlsd (tests, benchmarks) starts it with the same flags', async () => {
    const slsd = await spawnSlsd();
    try {
      const cmdline = fs.readFileSync(`/proc/${slsd.child.pid}/cmdline`, 'utf8').split('\0');
      for (const flag of nodeFlagsOf(SLSD)) expect(cmdline).toContain(flag);
    } finally {
      await slsd.stop();
    }
  });
});

describe('slsd runs one V8 platform thread (issue 7: memory)', () => {
  const threadsOf = (pid: number) => fs.readdirSync(`/proc/${pid}/task`).length;

  /** `node <flags> bin/slsd.cjs` on a fresh data folder, as an operator starts it; stopped by the caller. */
  async function started(flags: readonly string[]): Promise<{ pid: number; stop(): Promise<void> }> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-flags-pool-'));
    const child = spawn(process.execPath, [...flags, SLSD, '--data-dir', dataDir, '--port', '0', '--host', '127.0.0.1'], {
      env: { ...process.env, SLS_SERVER_KEY: randomBytes(32).toString('base64'), SLS_LOG_LEVEL: 'silent', SLS_SMS_CARRIER_HOURS: 'off' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    };
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('slsd listening on')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`slsd exited with ${code}: ${out}`)));
    }).catch(async (e: unknown) => {
      await stop();
      throw e;
    });
    return { pid: child.pid!, stop };
  }

  it('its shebang carries --v8-pool-size=1, and the flag takes 3 of V8\'s default 4 threads away', async () => {
    const flags = nodeFlagsOf(SLSD);
    expect(flags).toContain('--v8-pool-size=1');
    // Same program, same flags but V8's default pool of 4: the processes differ by those threads alone
    // (each of which kept a glibc malloc arena of its own, 1-2 MB resident: bin/slsd.cjs).
    const ours = await started(flags);
    const four = await started(flags.map((f) => (f.startsWith('--v8-pool-size=') ? '--v8-pool-size=4' : f))).catch(async (e: unknown) => {
      await ours.stop();
      throw e;
    });
    try {
      expect(threadsOf(four.pid) - threadsOf(ours.pid)).toBe(3);
    } finally {
      await Promise.all([ours.stop(), four.stop()]);
    }
  }, 60_000);
});

describe('slsd hashes on a thread pool of one thread per core (issues 2, 7)', () => {
  const threadsOf = (pid: number) => fs.readdirSync(`/proc/${pid}/task`).length;

  it('bin/slsd.cjs sizes libuv\'s pool to the cores unless the operator did, and says so when it starts', async () => {
    const cores = os.availableParallelism();
    // '' counts as unset, as it does for libuv; 8 stands for an operator's own choice.
    const auto = await spawnSlsd({ env: { UV_THREADPOOL_SIZE: '' } });
    const chosen = await spawnSlsd({ env: { UV_THREADPOOL_SIZE: '8' } });
    try {
      expect(auto.stdout()).toContain(`argon2id ${cores} at once`);
      // Never more hashes at once than cores, whatever the pool.
      expect(chosen.stdout()).toContain(`argon2id ${Math.min(cores, 8)} at once`);
      // Same program, same flags: the processes differ only by their pools' threads.
      expect(threadsOf(chosen.child.pid!) - threadsOf(auto.child.pid!)).toBe(8 - cores);
    } finally {
      await Promise.all([auto.stop(), chosen.stop()]);
    }
  });
});
