import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SERVER_ADDRESS, SETTINGS_DIR_MODE, SETTINGS_FILE_MODE, createConfSettingsStore, createMemorySettingsStore } from './settings.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sls-settings-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('settings file (SPEC C3)', () => {
  it('starts from the embedded defaults, dark theme, remember username ticked', () => {
    const s = createMemorySettingsStore().read();
    expect(s).toEqual({
      serverAddress: DEFAULT_SERVER_ADDRESS,
      rememberUsername: true,
      lastUsername: null,
      lastDeviceByUser: {},
      theme: 'dark',
      language: null,
      windowState: null,
    });
  });

  it('persists to a conf file another store instance reads back', () => {
    const dir = tempDir();
    const a = createConfSettingsStore({ dir });
    a.update({ lastUsername: 'demo.gold', lastDeviceByUser: { 'demo.gold': 'dev-1' }, theme: 'light', language: 'fr' });
    const b = createConfSettingsStore({ dir });
    expect(b.read()).toMatchObject({ lastUsername: 'demo.gold', lastDeviceByUser: { 'demo.gold': 'dev-1' }, theme: 'light', language: 'fr' });
    expect(a.path).toBe(join(dir, 'settings.json'));
  });

  it('falls back to the default for a hand-edited field of the wrong type, keeping the others', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ theme: 'purple', lastUsername: 'jane', serverAddress: 42 }));
    const s = createConfSettingsStore({ dir }).read();
    expect(s.theme).toBe('dark');
    expect(s.serverAddress).toBe(DEFAULT_SERVER_ADDRESS);
    expect(s.lastUsername).toBe('jane');
  });

  it('clear() empties the file (Reset app data, SPEC C4)', () => {
    const dir = tempDir();
    const a = createConfSettingsStore({ dir });
    a.update({ lastUsername: 'jane' });
    a.clear();
    expect(JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8'))).toEqual({});
    expect(a.read().lastUsername).toBeNull();
  });

  it('refuses to store a value of the wrong type', () => {
    const s = createMemorySettingsStore();
    expect(() => s.update({ theme: 'purple' as 'dark' })).toThrow();
    expect(s.read().theme).toBe('dark');
  });
});

/** The permission bits of a file or folder. */
const modeOf = (p: string) => statSync(p).mode & 0o777;

/** Runs `fn` under the usual umask (022: what makes conf's defaults 0644 and 0755), whatever the test runner has. */
function withUmask<T>(mask: number, fn: () => T): T {
  const before = process.umask(mask);
  try {
    return fn();
  } finally {
    process.umask(before);
  }
}

// POSIX modes: Windows has none to check.
describe.skipIf(process.platform === 'win32')('settings file permissions: owner-only (SPEC C3: user names and the server address)', () => {
  it('the modes are 0600 for the file, 0700 for its folder', () => {
    expect(SETTINGS_FILE_MODE).toBe(0o600);
    expect(SETTINGS_DIR_MODE).toBe(0o700);
  });

  it('the file is 0600 after a write, and the folder created for it 0700', () => {
    const dir = join(tempDir(), 'config', 'sls');
    const s = withUmask(0o022, () => {
      const store = createConfSettingsStore({ dir });
      store.update({ rememberUsername: true, lastUsername: 'rhea', serverAddress: 'https://sls.example.com' });
      return store;
    });
    expect(s.path).toBe(join(dir, 'settings.json'));
    expect(modeOf(s.path!).toString(8)).toBe('600');
    expect(modeOf(dir).toString(8)).toBe('700');
    // Reset app data writes it too (C4).
    withUmask(0o022, () => s.clear());
    expect(modeOf(s.path!).toString(8)).toBe('600');
  });

  it('a file an older version left 0644 is 0600 after the next write', () => {
    const dir = tempDir();
    const file = join(dir, 'settings.json');
    writeFileSync(file, JSON.stringify({ lastUsername: 'rhea' }), { mode: 0o644 });
    chmodSync(file, 0o644);
    withUmask(0o022, () => createConfSettingsStore({ dir }).update({ theme: 'light' }));
    expect(modeOf(file).toString(8)).toBe('600');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ lastUsername: 'rhea', theme: 'light' });
  });

  it('a folder the caller chose that exists already is left as its owner set it', () => {
    const dir = join(tempDir(), 'shared');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const s = withUmask(0o022, () => createConfSettingsStore({ dir }));
    s.update({ lastUsername: 'rhea' });
    expect(modeOf(dir).toString(8)).toBe('755');
    expect(modeOf(s.path!).toString(8)).toBe('600');
  });

  it.runIf(process.platform === 'linux')('conf\'s own folder in the OS config folder (the browser host\'s default) is 0700, an older 0755 one too', () => {
    const config = tempDir();
    chmodSync(config, 0o755);
    const saved = process.env['XDG_CONFIG_HOME'];
    process.env['XDG_CONFIG_HOME'] = config;
    try {
      const s = withUmask(0o022, () => createConfSettingsStore());
      s.update({ lastUsername: 'rhea' });
      expect(s.path).toBe(join(config, 'sls-desktop-nodejs', 'settings.json'));
      expect(modeOf(dirname(s.path!)).toString(8)).toBe('700');
      expect(modeOf(s.path!).toString(8)).toBe('600');

      chmodSync(dirname(s.path!), 0o755);
      withUmask(0o022, () => createConfSettingsStore());
      expect(modeOf(dirname(s.path!)).toString(8)).toBe('700');
      // Only the app's own folder: the OS config folder above it is not ours.
      expect(modeOf(config).toString(8)).toBe('755');
    } finally {
      if (saved === undefined) delete process.env['XDG_CONFIG_HOME'];
      else process.env['XDG_CONFIG_HOME'] = saved;
    }
  });
});
