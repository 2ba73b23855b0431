import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMemorySettingsStore } from '../../native/settings.ts';
import { devServerOverride, withServerOverride } from './dev-server.ts';

describe('--sls-server (npm start only)', () => {
  it('is honoured only in an unpackaged app, and only for the local slsd', () => {
    expect(devServerOverride({ isPackaged: false }, 'http://127.0.0.1:7861')).toBe('http://127.0.0.1:7861');
    expect(devServerOverride({ isPackaged: true }, 'http://127.0.0.1:7861')).toBeNull();
    for (const v of ['', undefined, 'https://sls.example.com', 'http://127.0.0.1:7861/x', 'http://10.0.0.1:7860', 'http://127.0.0.1.evil.example:80'])
      expect(devServerOverride({ isPackaged: false }, v), String(v)).toBeNull();
  });

  it('overrides the server address for this run without saving it', () => {
    const stored = createMemorySettingsStore({ serverAddress: 'https://sls.example.com', theme: 'light' });
    const settings = withServerOverride(stored, 'http://127.0.0.1:7861');
    expect(settings.read()).toMatchObject({ serverAddress: 'http://127.0.0.1:7861', theme: 'light' });
    // Other changes are saved; the override is not, even when echoed back with them.
    expect(settings.update({ theme: 'dark', serverAddress: 'http://127.0.0.1:7861' }).serverAddress).toBe('http://127.0.0.1:7861');
    expect(stored.read()).toMatchObject({ serverAddress: 'https://sls.example.com', theme: 'dark' });
    // The next run without the switch finds the user's server.
    expect(withServerOverride(stored, null).read().serverAddress).toBe('https://sls.example.com');
  });

  it('a server the user picks is saved and replaces the override', () => {
    const stored = createMemorySettingsStore({ serverAddress: 'https://sls.example.com' });
    const settings = withServerOverride(stored, 'http://127.0.0.1:7861');
    expect(settings.update({ serverAddress: 'https://other.example.com' }).serverAddress).toBe('https://other.example.com');
    expect(settings.read().serverAddress).toBe('https://other.example.com');
    expect(stored.read().serverAddress).toBe('https://other.example.com');
  });

  it('electron/main.ts passes the switch through devServerOverride and never saves it', () => {
    const main = readFileSync(path.join(import.meta.dirname, '..', 'main.ts'), 'utf8');
    expect(main).toMatch(/withServerOverride\(\s*settings,\s*devServerOverride\(app, app\.commandLine\.getSwitchValue\('sls-server'\)\)\s*\)/);
    expect(main).not.toMatch(/update\(\{\s*serverAddress:\s*fromStart/);
  });
});
