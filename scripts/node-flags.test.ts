// slsd's Node flags (issue 7: memory): one place, its shebang line, and every way of starting it uses them.
import { execFileSync } from 'node:child_process';
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
