import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SERVER_ADDRESS, createConfSettingsStore, createMemorySettingsStore } from './settings.ts';

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
