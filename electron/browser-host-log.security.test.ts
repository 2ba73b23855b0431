/**
 * The browser host's log goes through the release logger's scrubber (electron/release/logger.ts), as
 * Electron's log file does: a password, PIN, response or token that ends up in a log line (an error's
 * message, a request's path or Origin) is written as `[redacted]`, whichever part of the host logged it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createMemoryKeychain } from '../native/keychain.ts';
import { createMemorySettingsStore } from '../native/settings.ts';
import type { SettingsStore } from '../native/settings.ts';
import { hostLogWriter, startBrowserHost, WS_PROTOCOL } from './browser-host.ts';
import { REDACTED } from './release/logger.ts';

const PASSWORD = 'Demo-Password-1';
const PIN = '4821';
const RESPONSE = '73942018';
const TOKEN = 'q8Zk2v0LxWm9Yt4Rb7Nc1Pd6Hs3Jf5Ge0Ua';
const SECRETS = [PASSWORD, PIN, RESPONSE, TOKEN];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sls-bh-log-'));
  mkdirSync(join(dir, 'renderer'));
  writeFileSync(join(dir, 'renderer', 'index.html'), '<!doctype html><title>t</title>');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function logged(logs: string[], text: string): Promise<string | undefined> {
  for (let i = 0; i < 200 && !logs.some((l) => l.includes(text)); i++) await new Promise((r) => setTimeout(r, 10));
  return logs.find((l) => l.includes(text));
}

describe("the browser host's log is scrubbed (SPEC C3, L8, H2)", () => {
  it('a host service failing with secrets in its message logs them as [redacted]', async () => {
    const logs: string[] = [];
    const stored = createMemorySettingsStore();
    let failing = false;
    // A settings store whose error message carries what a careless library might put there.
    const settings: SettingsStore = {
      ...stored,
      read: () => {
        if (failing) throw new Error(`could not read settings: password=${PASSWORD} pin ${PIN} response ${RESPONSE} token ${TOKEN}`);
        return stored.read();
      },
    };
    const bh = await startBrowserHost({ settings, keychain: createMemoryKeychain(), rendererDir: join(dir, 'renderer'), log: (l) => logs.push(l) });
    try {
      const code = new URL(bh.url).hash.replace(/^#launch=/, '');
      const ws = new WebSocket(`${bh.origin.replace('http', 'ws')}/contract`, [WS_PROTOCOL, `launch.${code}`], { origin: bh.origin });
      const frames: string[] = [];
      ws.on('message', (d) => frames.push(String(d)));
      await new Promise((r, f) => ws.once('open', r).once('error', f));
      for (let i = 0; i < 100 && frames.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      failing = true;
      ws.send(JSON.stringify({ id: 1, call: 'getSettings', input: {} }));
      for (let i = 0; i < 200 && frames.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(JSON.parse(frames[1]!)).toMatchObject({ id: 1, result: { ok: false, error: { code: 'SLS_ERR_HOST_INTERNAL' } } });
      ws.close();
      const line = await logged(logs, 'internal error in getSettings');
      expect(line).toContain(REDACTED);
      for (const secret of SECRETS) expect(logs.join('\n')).not.toContain(secret);
    } finally {
      await bh.close();
    }
  });

  it("a refused connection's path and Origin are logged without the secrets in them", async () => {
    const logs: string[] = [];
    const bh = await startBrowserHost({ settings: createMemorySettingsStore(), keychain: createMemoryKeychain(), rendererDir: join(dir, 'renderer'), log: (l) => logs.push(l) });
    try {
      // A local program can send any path and Origin; a token or a password in them must not reach the log.
      const ws = new WebSocket(`${bh.origin.replace('http', 'ws')}/contract/${TOKEN}`, [WS_PROTOCOL], { origin: `http://evil.example?password=${PASSWORD}&pin=${PIN}` });
      await new Promise((r) => ws.once('error', r).once('close', r));
      const line = await logged(logs, 'refused a contract connection');
      expect(line).toContain('origin, host, path or protocol');
      expect(line).toContain('path=/contract/');
      expect(line).toContain(REDACTED);
      for (const secret of SECRETS) expect(logs.join('\n')).not.toContain(secret);
    } finally {
      await bh.close();
    }
  });

  it('the lines written to stderr (DSC+ discovery, Chromium) are scrubbed too, and keep what support needs', () => {
    const written: string[] = [];
    const log = hostLogWriter((text) => written.push(text));
    log(`DSC+ discovery did not start: Error: device answered ${RESPONSE} for Bearer ${TOKEN} with pin=${PIN}`);
    log('login step failed code=SLS_ERR_DEVICE_NOT_AVAILABLE on http://127.0.0.1:7860 (uid 65534)');
    expect(written).toHaveLength(2);
    expect(written[0]).toMatch(/^\[host\] DSC\+ discovery did not start: /);
    expect(written[0]).toContain(REDACTED);
    for (const secret of SECRETS) expect(written.join('')).not.toContain(secret);
    expect(written[1]).toBe('[host] login step failed code=SLS_ERR_DEVICE_NOT_AVAILABLE on http://127.0.0.1:7860 (uid 65534)\n');
  });
});
