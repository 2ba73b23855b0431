/**
 * Transparent huge pages and argon2id (SPEC A3, issue 7): a check at slsd's start.
 *
 * @node-rs/argon2 takes a fresh 19 MiB block from the kernel for every hash (m=19456 KiB) and gives it
 * back after; its allocator asks for transparent huge pages on that block (madvise MADV_HUGEPAGE). With
 * them the kernel faults the block in as ~9 pages of 2 MiB; without them, as ~4,900 pages of 4 KiB, each
 * a fault. Measured on this project's 2-core CI machine, one verification at a time:
 *   THP `madvise` (Debian's default) or `always`:  p50 6.5 ms a hash (5.7 ms user, 1.4 ms kernel)
 *   THP `never`:                                    p50 16.1 ms a hash (7.4 ms user, 8.9 ms kernel)
 * so a host tuned with THP off (the advice of some databases' manuals, followed machine-wide) gives slsd
 * less than half its login capacity, and its logins wait twice as long. slsd cannot turn them back on
 * for itself; it says so at start, with what to change.
 */
import fs from 'node:fs';

export type HugePageMode = 'always' | 'madvise' | 'never';

/** The kernel's setting: the bracketed word of `/sys/kernel/mm/transparent_hugepage/enabled`, e.g. "always [madvise] never". */
export function parseHugePageMode(text: string): HugePageMode | null {
  const m = /\[(always|madvise|never)\]/.exec(text);
  return m === null ? null : (m[1] as HugePageMode);
}

/** Whether this process was excluded from THP (prctl PR_SET_THP_DISABLE, inherited from a parent): `THP_enabled: 0` in /proc/self/status. */
export function processExcluded(status: string): boolean {
  return /^THP_enabled:\s*0\s*$/m.test(status);
}

export interface HugePageFiles {
  /** /sys/kernel/mm/transparent_hugepage/enabled */
  readonly enabled: string;
  /** /proc/self/status */
  readonly status: string;
}

const LINUX_FILES: HugePageFiles = { enabled: '/sys/kernel/mm/transparent_hugepage/enabled', status: '/proc/self/status' };

function read(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/**
 * The start warning when argon2id would run without huge pages, or null. Linux only (elsewhere the OS
 * decides and says nothing); a kernel without THP (no such file) or an unreadable file says nothing.
 */
export function hugePageWarning(files: HugePageFiles = LINUX_FILES, platform: NodeJS.Platform = process.platform): string | null {
  if (platform !== 'linux') return null;
  const enabled = read(files.enabled);
  const mode = enabled === null ? null : parseHugePageMode(enabled);
  if (mode === 'never') {
    return (
      `transparent huge pages are off on this machine (${files.enabled}: never). Every argon2id hash ` +
      'then faults in its 19 MiB 4 KiB at a time and takes about 2.5 times as long: logins wait longer and ' +
      `slsd serves less than half as many. Set it to "madvise" (echo madvise > ${files.enabled}, and ` +
      'transparent_hugepage=madvise on the kernel command line to keep it); only memory that asks for huge pages gets them.'
    );
  }
  const status = read(files.status);
  if (mode !== null && status !== null && processExcluded(status)) {
    return (
      'slsd was started with transparent huge pages disabled for its process (THP_enabled: 0 in /proc/self/status, ' +
      'prctl PR_SET_THP_DISABLE inherited from whatever started it). Every argon2id hash then takes about 2.5 times ' +
      'as long: start slsd from a parent that does not set it.'
    );
  }
  return null;
}
