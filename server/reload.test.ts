// SIGHUP replaces slsd's workers one at a time (systemctl reload after a deploy, SPEC N1): logins and
// requests that go on meanwhile all succeed, every worker is new afterwards, the primary stays.
// Without --workers, SIGHUP is said to be ignored and slsd goes on serving.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { respondWithTokenFile } from './tokens/software-token.ts';
import { spawnSlsd } from './testing/slsd-process.ts';
import type { SlsdProcess } from './testing/slsd-process.ts';

let slsd: SlsdProcess | undefined;
afterEach(async () => {
  await slsd?.stop();
  slsd = undefined;
});

const childrenOf = (pid: number) =>
  fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);

async function until(what: string, done: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One full login of demo.gold (password, then the response from its token file); its final status. */
async function fullLogin(p: SlsdProcess): Promise<string> {
  const post = async (url: string, body: unknown) => {
    const r = await fetch(p.url + url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const step = await post('/v1/login', { username: 'demo.gold', password: p.demo!.password, client: { kind: 'trading_platform', version: 1010 } });
  if (step.status !== 200) return `password step ${step.status} ${JSON.stringify(step.body)}`;
  const { transactionId, challenge } = step.body as { transactionId: string; challenge: { challenge: string } };
  const gold = p.demo!.users.find((u) => u.username === 'demo.gold')!.devices[0]!;
  const done = await post(`/v1/login/${transactionId}/response`, { response: respondWithTokenFile(path.join(p.dataDir, gold.file!), challenge.challenge) });
  return done.status === 200 ? String(done.body.status) : `response step ${done.status} ${JSON.stringify(done.body)}`;
}

describe('SIGHUP', () => {
  it('--workers 2: replaces both workers one at a time while logins go on; none fails', async () => {
    slsd = await spawnSlsd({ demo: true, workers: 2, env: { SLS_LOG_LEVEL: 'silent' } });
    const primary = slsd.child.pid!;
    const before = childrenOf(primary);
    expect(before).toHaveLength(2);

    const outcomes: string[] = [];
    let go = true;
    // Logins one after another, and health checks beside them, on kept-alive connections.
    const logins = (async () => {
      while (go) outcomes.push(await fullLogin(slsd!).catch((e: unknown) => `login error ${(e as Error).message} ${String((e as Error).cause)}`));
    })();
    const checks = (async () => {
      while (go) outcomes.push(await fetch(`${slsd!.url}/v1/health`).then((r) => (r.status === 200 ? 'healthy' : `health ${r.status}`), (e: unknown) => `health error ${(e as Error).message} ${String((e as Error).cause)}`));
    })();
    await until('a few logins', () => outcomes.filter((o) => o === 'signed_in').length >= 3);

    process.kill(primary, 'SIGHUP');
    await until('the roll to end', () => /slsd: replaced \d+ of the 2 workers/.test(slsd!.stdout()));
    const during = outcomes.length;
    await until('logins after the roll', () => outcomes.slice(during).filter((o) => o === 'signed_in').length >= 3);
    go = false;
    await Promise.all([logins, checks]);

    expect(slsd.stdout()).toContain('slsd: SIGHUP: replacing the 2 workers one at a time');
    expect(slsd.stdout()).toContain('slsd: replaced 2 of the 2 workers');
    expect(outcomes.filter((o) => o !== 'signed_in' && o !== 'healthy')).toEqual([]);
    expect(outcomes.filter((o) => o === 'signed_in').length).toBeGreaterThanOrEqual(6);
    const after = childrenOf(primary);
    expect(after).toHaveLength(2);
    for (const pid of after) expect(before).not.toContain(pid);
    expect(slsd.child.exitCode).toBeNull();
  }, 90_000);

  it('one process: says it is ignored, and goes on serving', async () => {
    slsd = await spawnSlsd({ demo: true, env: { SLS_LOG_LEVEL: 'warn' } });
    slsd.child.kill('SIGHUP');
    await until('the warning', () => slsd!.stdout().includes('SIGHUP ignored'), 10_000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; exit ${slsd!.child.exitCode} ${slsd!.child.signalCode}; stdout:\n${slsd!.stdout()}`);
    });
    expect(slsd.stdout()).toContain('needs --workers 2 or more');
    expect(await fullLogin(slsd)).toBe('signed_in');
    expect(slsd.child.exitCode).toBeNull();
  }, 60_000);
});
