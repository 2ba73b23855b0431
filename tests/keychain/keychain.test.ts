// The OS keychain for real (SPEC L8, C3, C4): the Secret Service of gnome-keyring in a private D-Bus
// session, with temporary HOME and XDG_RUNTIME_DIR, so the developer's own keyring is never touched.
// Needs the Debian packages gnome-keyring and dbus-x11 (dbus-run-session); libsecret-tools is handy
// for debugging. The restart token of auto-restart lives here, never in a settings file.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
const available = has('dbus-run-session') && has('gnome-keyring-daemon');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sls-keychain-'));

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs the probe in a fresh D-Bus session with an unlocked, empty login keyring. */
function runProbe(): Record<string, unknown> {
  const home = path.join(tmp, 'home');
  const runtime = path.join(tmp, 'run');
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const probe = path.join(import.meta.dirname, 'keychain-probe.ts');
  // A password on stdin creates and unlocks the login keyring (an empty one leaves no default collection); the daemon exports its
  // variables, and the probe runs against it. dbus-run-session ends the session (and the daemon).
  const script = `eval "$(printf 'sls-keychain-test' | gnome-keyring-daemon --unlock --components=secrets)"; export GNOME_KEYRING_CONTROL; exec "${process.execPath}" --import tsx "${probe}" 'SLS Desktop (keychain test)'`;
  const r = spawnSync('dbus-run-session', ['--', 'sh', '-c', script], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_RUNTIME_DIR: runtime, XDG_DATA_HOME: path.join(home, '.local/share'), NODE_OPTIONS: '' },
    cwd: path.join(import.meta.dirname, '../..'),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`probe failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe.skipIf(!available)('the OS keychain through native/keychain.ts (SPEC L8, C3, C4; needs gnome-keyring and dbus)', () => {
  it('L8: stores, reads back from a new instance, overwrites, deletes and clears the restart token', () => {
    const r = runProbe();
    expect(r).toEqual({
      available: true,
      before: null,
      afterSet: 'q'.repeat(20) + '-_' + 'Z'.repeat(21),
      fromNewInstance: 'q'.repeat(20) + '-_' + 'Z'.repeat(21),
      otherService: null,
      afterOverwrite: 'q'.repeat(20) + '-_' + 'Z'.repeat(21) + 'x',
      accounts: ['last-user', 'restart-token:https://slsd.example:7860:jdoe'],
      deleted: true,
      afterDelete: null,
      deletedAgain: false,
      cleared: 1,
      accountsAfterClear: [],
    });
  });

  it('L8: nothing was written to the settings folder, only to the keyring', () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else files.push(path.join(d, e.name));
      }
    };
    walk(path.join(tmp, 'home'));
    // The keyring file is the only place the token went, and it is encrypted: the token is not in clear anywhere.
    for (const f of files) expect(fs.readFileSync(f).includes('Z'.repeat(21)), f).toBe(false);
    expect(files.some((f) => f.includes('keyrings'))).toBe(true);
  });
});

if (!available) {
  it('keychain test needs dbus-run-session and gnome-keyring-daemon (apt-get install gnome-keyring dbus-x11)', () => {
    expect(available).toBe(false);
  });
}
