// slsd as a real process: starts, seeds the demo, signs a demo user in over real HTTP, stops on SIGTERM.
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
});
