// slsd as a real process: starts, seeds the demo, signs a demo user in over real HTTP, stops on SIGTERM
// (promptly, even with an IB Key long-poll waiting on a keep-alive connection).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { respondWithTokenFile } from '../tokens/software-token.ts';
import { spawnSlsd } from './slsd-process.ts';

describe('slsd as a process (bin/slsd.cjs --demo)', () => {
  it('serves a full login of demo.gold over HTTP', async () => {
    const slsd = await spawnSlsd({ demo: true });
    try {
      expect(slsd.stdout()).toContain('Demo-Password-1');
      const post = async (p: string, body: unknown) =>
        (await fetch(slsd.url + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<Record<string, unknown>>;
      const step = (await post('/v1/login', { username: 'demo.gold', password: slsd.demo!.password, client: { kind: 'trading_platform', version: 1010 } })) as {
        transactionId: string;
        challenge: { challenge: string };
      };
      const gold = slsd.demo!.users.find((u) => u.username === 'demo.gold')!.devices[0]!;
      const response = respondWithTokenFile(path.join(slsd.dataDir, gold.file!), step.challenge.challenge);
      const done = await post(`/v1/login/${step.transactionId}/response`, { response });
      expect(done.status).toBe('signed_in');
    } finally {
      await slsd.stop();
    }
    expect(slsd.child.exitCode).toBe(0);
  });

  it('stops on SIGTERM while an IB Key long-poll waits: the poll answers `waiting` at once, slsd exits 0 (rolling restarts)', async () => {
    const slsd = await spawnSlsd({ demo: true });
    const post = async (p: string, body: unknown) =>
      (await fetch(slsd.url + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<Record<string, unknown>>;
    const step = (await post('/v1/login', { username: 'demo.ibkey', password: slsd.demo!.password, client: { kind: 'trading_platform', version: 1010 } })) as { transactionId: string };
    // fetch keeps its connection alive: before, slsd waited out the 25 s poll, then Node's 72 s keep-alive.
    const poll = fetch(`${slsd.url}/v1/login/${step.transactionId}/status?wait=25`).then(async (r) => ({ status: r.status, body: (await r.json()) as { status: string } }));
    await new Promise((r) => setTimeout(r, 300)); // the poll is waiting
    const exited = new Promise<number | null>((r) => slsd.child.once('exit', (code) => r(code)));
    const stoppedAt = Date.now();
    slsd.child.kill('SIGTERM');
    const answer = await poll;
    expect(answer).toEqual({ status: 200, body: expect.objectContaining({ status: 'waiting', transactionId: step.transactionId }) as unknown });
    expect(await exited).toBe(0);
    // Far inside the poll's own 25 s: it was the stop that answered it, not its time running out.
    expect(Date.now() - stoppedAt).toBeLessThan(20_000);
    await slsd.stop();
  }, 60_000);
});
