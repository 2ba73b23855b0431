// The systemd unit operators install (server/deploy/slsd.service) agrees with slsd itself: the node
// flags of bin/slsd.cjs, a stop timeout longer than slsd's own grace, settings that load into the
// intended configuration, and secrets only as credentials (SPEC D4, N1; issue 7's memory flags).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeFlagsOf } from '../../bin/node-flags.mjs';
import { loadConfig } from '../config.ts';
import { SHUTDOWN_GRACE_MS } from '../main.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const unit = fs.readFileSync(path.join(ROOT, 'server/deploy/slsd.service'), 'utf8');

/** The [Service] section's settings, in order (a key may repeat, as Environment= does). */
function service(): [string, string][] {
  const body = unit.split(/^\[Service\]$/m)[1]!.split(/^\[/m)[0]!;
  return body
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const i = l.indexOf('=');
      return [l.slice(0, i), l.slice(i + 1)];
    });
}
const one = (key: string) => service().find(([k]) => k === key)?.[1];

describe('server/deploy/slsd.service', () => {
  it('starts bin/slsd.cjs with the node flags of its first line', () => {
    const [node, ...args] = one('ExecStart')!.split(/\s+/);
    expect(node).toBe('/usr/bin/node');
    expect(args.at(-1)).toBe(`${one('WorkingDirectory')}/bin/slsd.cjs`);
    expect(args.slice(0, -1)).toEqual(nodeFlagsOf(path.join(ROOT, 'bin/slsd.cjs')));
  });

  it('waits longer than slsd’s own grace before it kills it, sends SIGTERM first, and reloads with SIGHUP', () => {
    expect(one('KillSignal')).toBe('SIGTERM');
    expect(Number(one('TimeoutStopSec')) * 1000).toBeGreaterThan(SHUTDOWN_GRACE_MS);
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID'); // server/reload.test.ts: workers replaced one at a time
  });

  it('its settings load into the configuration it means, the server key read from the credential', () => {
    const credentials = fs.mkdtempSync(path.join(os.tmpdir(), 'sls-credentials-'));
    const key = randomBytes(32).toString('base64');
    fs.writeFileSync(path.join(credentials, 'server.key'), `${key}\n`, { mode: 0o400 });
    const env: Record<string, string> = {};
    for (const [k, v] of service()) {
      if (k !== 'Environment') continue;
      const i = v.indexOf('=');
      env[v.slice(0, i)] = v.slice(i + 1).replaceAll('%d', credentials);
    }
    const c = loadConfig(env);
    expect(c.dataDir).toBe(`/var/lib/${one('StateDirectory')}`);
    expect(one('StateDirectoryMode')).toBe('0700');
    expect([c.host, c.port]).toEqual(['127.0.0.1', 7860]);
    expect(c.trustProxy).toEqual(['127.0.0.1']);
    expect(c.metricsPort).toBe(9464);
    expect(c.serverKey).toBe(key);
    fs.rmSync(credentials, { recursive: true, force: true });
  });

  it('names only settings slsd reads, and holds no secret itself', () => {
    const documented = fs.readFileSync(path.join(ROOT, 'server/config.ts'), 'utf8');
    for (const [k, v] of service()) {
      if (k !== 'Environment') continue;
      const name = v.slice(0, v.indexOf('='));
      expect(documented, name).toContain(name);
      expect(['SLS_SERVER_KEY', 'SLS_DATABASE_URL']).not.toContain(name);
    }
    expect(one('LoadCredential')).toMatch(/^server\.key:\/etc\/sls\/server\.key$/);
  });
});
