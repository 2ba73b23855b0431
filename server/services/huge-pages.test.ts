// SPEC A3, issue 7: slsd says at start when argon2id would hash without transparent huge pages
// (services/huge-pages.ts: ~2.5× the time a hash, measured 6.5 → 16.1 ms).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hugePageWarning, parseHugePageMode, processExcluded } from './huge-pages.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A fake sysfs setting and /proc/self/status, as the kernel writes them. */
function files(enabled: string | null, thpEnabled: 0 | 1 | null = 1) {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sls-thp-'));
  const f = { enabled: path.join(dir, 'enabled'), status: path.join(dir, 'status') };
  if (enabled !== null) fs.writeFileSync(f.enabled, `${enabled}\n`);
  const lines = ['Name:\tnode', 'State:\tR (running)', ...(thpEnabled === null ? [] : [`THP_enabled:\t${thpEnabled}`]), 'Threads:\t11'];
  fs.writeFileSync(f.status, lines.join('\n') + '\n');
  return f;
}

describe('the kernel setting', () => {
  it('is the bracketed word', () => {
    expect(parseHugePageMode('always [madvise] never')).toBe('madvise');
    expect(parseHugePageMode('[always] madvise never\n')).toBe('always');
    expect(parseHugePageMode('always madvise [never]')).toBe('never');
    expect(parseHugePageMode('always madvise never')).toBeNull();
    expect(parseHugePageMode('')).toBeNull();
  });

  it('reads THP_enabled from a process status', () => {
    expect(processExcluded('Name:\tnode\nTHP_enabled:\t0\nThreads:\t7\n')).toBe(true);
    expect(processExcluded('Name:\tnode\nTHP_enabled:\t1\nThreads:\t7\n')).toBe(false);
    expect(processExcluded('Name:\tnode\nThreads:\t7\n')).toBe(false);
  });
});

describe('the start warning', () => {
  it('names the file and what to set when THP is off machine-wide', () => {
    const f = files('always madvise [never]');
    const w = hugePageWarning(f, 'linux');
    expect(w).toContain('transparent huge pages are off');
    expect(w).toContain(`${f.enabled}: never`);
    expect(w).toContain('echo madvise >');
    expect(w).toContain('transparent_hugepage=madvise');
  });

  it('says nothing with "madvise" or "always" (argon2id asks for huge pages itself)', () => {
    expect(hugePageWarning(files('always [madvise] never'), 'linux')).toBeNull();
    expect(hugePageWarning(files('[always] madvise never'), 'linux')).toBeNull();
  });

  it('warns when this process was excluded (PR_SET_THP_DISABLE) though the machine allows them', () => {
    const w = hugePageWarning(files('always [madvise] never', 0), 'linux');
    expect(w).toContain('THP_enabled: 0');
    expect(hugePageWarning(files('always [madvise] never', null), 'linux')).toBeNull();
  });

  it('says nothing where it cannot know: no THP in the kernel, another OS', () => {
    expect(hugePageWarning(files(null), 'linux')).toBeNull();
    expect(hugePageWarning(files('always madvise [never]'), 'darwin')).toBeNull();
    expect(hugePageWarning(files('always madvise [never]'), 'win32')).toBeNull();
  });
});

describe.runIf(process.platform === 'linux')('on this machine', () => {
  it('reads the real files without throwing, and this process status has the line the check looks for', () => {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    // Linux 5.0+ writes it; without it the exclusion check would never fire.
    expect(status).toMatch(/^THP_enabled:\s*[01]\s*$/m);
    const w = hugePageWarning();
    const mode = fs.existsSync('/sys/kernel/mm/transparent_hugepage/enabled') ? parseHugePageMode(fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8')) : null;
    expect(w === null).toBe(mode !== 'never' && !processExcluded(status));
  });
});
