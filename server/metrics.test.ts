// Prometheus metrics for operators (server/metrics.ts): counted per route and coded error, summed
// over cluster workers, served apart from the API, and never holding user data (SPEC L1, L6, A3, N1).
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { concurrencyLimit } from './services/passwords.ts';
import type { PasswordHasher } from './services/passwords.ts';
import { actAsDevice, errorCode, getJson, login, postJson } from './testing/http.ts';
import type { Answer } from './testing/http.ts';
import type { LoginStep } from '../core/api.ts';
import { spawnSlsd } from './testing/slsd-process.ts';
import type { SlsdProcess } from './testing/slsd-process.ts';
import { startTestServer } from './testing/test-server.ts';
import type { TestServer } from './testing/test-server.ts';

const PASSWORD = 'Correct-Horse-1';
let t: TestServer | undefined;
let slsd: SlsdProcess | undefined;
afterEach(async () => {
  await t?.close();
  await slsd?.stop();
  t = undefined;
  slsd = undefined;
});

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const requests = (route: string, method: string, status: number, code = '') => `slsd_http_requests_total{route="${route}",method="${method}",status="${status}",code="${code}"}`;

describe('slsd metrics in one process', () => {
  it('counts answers by route pattern and coded error, times them, and holds no user data', async () => {
    t = await startTestServer({ config: { metricsPort: 0 } });
    const entityId = await t.provisioning.createEntity({ name: 'jane.metrics' });
    await t.provisioning.createUser({ username: 'jane.metrics', entityId, password: PASSWORD });
    const device = await t.provisioning.addDevice({ username: 'jane.metrics', kind: 'dsc' });

    // L1: a wrong password and an unknown user are one series, as they are one answer.
    expect(errorCode(await login(t.app, 'jane.metrics', 'Wrong-Password-1'))).toBe('SLS_ERR_INVALID_CREDENTIALS');
    expect(errorCode(await login(t.app, 'nobody.metrics', 'Wrong-Password-1'))).toBe('SLS_ERR_INVALID_CREDENTIALS');
    const step = (await login(t.app, 'jane.metrics', PASSWORD)) as Answer<LoginStep>;
    if (step.body.status !== 'challenge') throw new Error(JSON.stringify(step.body));
    const done = await postJson(t.app, `/v1/login/${step.body.transactionId}/response`, { response: actAsDevice(device, step.body) });
    expect(done.status).toBe(200);
    const token = (done.body as { session: { token: string } }).session.token;
    const malformed = await t.app.inject({ method: 'POST', url: '/v1/login', headers: { 'content-type': 'application/json' }, payload: '{"username":' });
    expect(malformed.statusCode).toBe(400);
    expect((await getJson(t.app, '/v1/no-such-thing')).status).toBe(404);

    const text = await t.metrics!.registry.metrics();
    expect(sample(text, requests('/v1/login', 'POST', 401, 'SLS_ERR_INVALID_CREDENTIALS'))).toBe(2);
    expect(sample(text, requests('/v1/login', 'POST', 200))).toBe(1);
    expect(sample(text, requests('/v1/login/:transactionId/response', 'POST', 200))).toBe(1);
    expect(sample(text, requests('/v1/login', 'POST', 400, 'SLS_ERR_MALFORMED_JSON'))).toBe(1);
    expect(sample(text, requests('unmatched', 'GET', 404, 'SLS_ERR_NOT_FOUND'))).toBe(1);
    expect(sample(text, 'slsd_http_request_duration_seconds_count{route="/v1/login"}')).toBe(4);
    expect(sample(text, 'slsd_password_hashes_in_flight')).toBe(0);
    expect(sample(text, 'slsd_password_hashes_waiting')).toBe(0);
    expect(sample(text, 'slsd_process_resident_memory_bytes')).toBeGreaterThan(0);
    // Nothing a scrape could leak: user names, passwords, transaction ids, tokens, the path asked for.
    for (const secret of ['jane.metrics', 'nobody.metrics', PASSWORD, 'Wrong-Password-1', step.body.transactionId, token, 'no-such-thing']) expect(text).not.toContain(secret);
  });

  it('shows argon2id hashes waiting for the pool (A3, issue 7)', async () => {
    // One hash at a time, held at a gate, so three logins at once leave two waiting.
    const limited = concurrencyLimit(1);
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => (open = r));
    const held: PasswordHasher = {
      hash: async (p) => `held$${p}`,
      verify: (stored, p) => limited(async () => (await gate, stored === `held$${p}`)),
      verifyUnknownUser: () => limited(async () => (await gate, false)),
      load: () => limited.load(),
    };
    t = await startTestServer({ config: { metricsPort: 0 }, passwords: held });
    const entityId = await t.provisioning.createEntity({ name: 'held' });
    await t.provisioning.createUser({ username: 'held', entityId, password: PASSWORD });
    const logins = [1, 2, 3].map(() => login(t!.app, 'held', PASSWORD));
    while (limited.load().waiting < 2) await new Promise((r) => setImmediate(r));
    const during = await t.metrics!.registry.metrics();
    expect(sample(during, 'slsd_password_hashes_in_flight')).toBe(1);
    expect(sample(during, 'slsd_password_hashes_waiting')).toBe(2);
    open();
    await Promise.all(logins);
    expect(sample(await t.metrics!.registry.metrics(), 'slsd_password_hashes_waiting')).toBe(0);
  });

  it('has none when the operator did not ask', async () => {
    t = await startTestServer();
    expect(t.metrics).toBeNull();
  });
});

describe('slsd metrics as operators run it (bin/slsd.cjs)', () => {
  async function scrape(url: string): Promise<{ status: number; type: string | null; text: string }> {
    const r = await fetch(url);
    return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
  }

  function metricsUrl(p: SlsdProcess): string {
    const m = /slsd metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(p.stdout());
    if (!m) throw new Error(`no metrics line in:\n${p.stdout()}`);
    return m[1]!;
  }

  it('--workers 2: the primary serves the sum of both workers, on its own port only', async () => {
    slsd = await spawnSlsd({ workers: 2, env: { SLS_METRICS_PORT: '0', SLS_LOG_LEVEL: 'silent' } });
    const url = metricsUrl(slsd);
    for (let i = 0; i < 12; i++) expect((await fetch(`${slsd.url}/v1/health`)).status).toBe(200);
    const m = await scrape(url);
    expect(m.status).toBe(200);
    expect(m.type).toMatch(/^text\/plain/);
    // Whichever worker answered each request, the sum is every request once.
    expect(sample(m.text, requests('/v1/health', 'GET', 200))).toBe(12);
    expect(m.text).toContain('slsd_process_resident_memory_bytes');
    // The API's port has no metrics; the metrics port has nothing else.
    const api = await fetch(`${slsd.url}/metrics`);
    expect(api.status).toBe(404);
    expect((await api.json()) as unknown).toMatchObject({ error: { code: 'SLS_ERR_NOT_FOUND' } });
    expect((await scrape(url.replace('/metrics', '/'))).status).toBe(404);
    expect((await fetch(url, { method: 'POST' })).status).toBe(404);
  }, 60_000);

  it('--workers 2: a scrape while a worker is being replaced answers at once with the workers that listen', async () => {
    slsd = await spawnSlsd({ workers: 2, env: { SLS_METRICS_PORT: '0', SLS_LOG_LEVEL: 'silent' } });
    const url = metricsUrl(slsd);
    const primary = slsd.child.pid!;
    const workers = () => readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    const before = workers();
    expect(before).toHaveLength(2);
    for (let i = 0; i < 4; i++) expect((await fetch(`${slsd.url}/v1/health`)).status).toBe(200);
    process.kill(before[0]!, 'SIGKILL');
    // The replacement is forked (connected) but still loading, not yet listening: the scrape asks
    // only the worker that listens, rather than waiting 5 s on one that cannot answer and failing.
    while (!workers().some((pid) => !before.includes(pid))) await new Promise((r) => setTimeout(r, 5));
    const m = await scrape(url);
    expect(m.status).toBe(200);
    expect(m.text).toContain('slsd_process_resident_memory_bytes');
    const counted = sample(m.text, requests('/v1/health', 'GET', 200)) ?? 0;
    expect(counted).toBeLessThanOrEqual(4); // the survivor's share; the killed worker's counts went with it
  }, 60_000);

  it('one process: served from its own registry; a metrics port in use stops the start with a plain reason', async () => {
    slsd = await spawnSlsd({ env: { SLS_METRICS_PORT: '0', SLS_LOG_LEVEL: 'silent' } });
    const url = metricsUrl(slsd);
    await fetch(`${slsd.url}/v1/health`);
    expect(sample((await scrape(url)).text, requests('/v1/health', 'GET', 200))).toBe(1);
    const busyPort = new URL(url).port;
    const refused = await spawnSlsd({ env: { SLS_METRICS_PORT: busyPort } }).then(
      async (p) => (await p.stop(), 'started'),
      (e: unknown) => (e as Error).message,
    );
    expect(refused).toContain(`slsd: the metrics listener 127.0.0.1:${busyPort} is in use`);
    expect(refused).not.toMatch(/\n\s+at /); // no stack trace for an operator's mistake
  }, 60_000);
});
