// slsd's start as operators meet it: a listener that cannot bind ends the start with one plain line
// and exit code 1, in one process and with --workers (no stack, no process left running without a
// listener, no worker restarted in a loop).
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSlsd } from './testing/slsd-process.ts';

let busy: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (busy ? busy.close(r) : r(undefined)));
  busy = undefined;
});

/** A port some other program holds. */
async function portInUse(): Promise<number> {
  busy = createServer();
  await new Promise<void>((r) => busy!.listen(0, '127.0.0.1', r));
  return (busy.address() as { port: number }).port;
}

const outcome = (p: Promise<{ stop(): Promise<void> }>) =>
  p.then(
    async (s) => (await s.stop(), 'started'),
    (e: unknown) => (e as Error).message,
  );

describe('slsd on a port already in use', () => {
  it('one process: exits 1 with the reason in one line', async () => {
    const port = await portInUse();
    const said = await outcome(spawnSlsd({ port, env: { SLS_LOG_LEVEL: 'silent' } }));
    expect(said).toMatch(/^slsd exited with 1:/);
    expect(said).toContain(`slsd: the API listener 127.0.0.1:${port} is in use`);
    expect(said).toContain('SLS_PORT / --host, --port');
    expect(said).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('--workers 2: the primary says it once and stops; no worker is restarted', async () => {
    const port = await portInUse();
    const said = await outcome(spawnSlsd({ port, workers: 2, env: { SLS_LOG_LEVEL: 'silent' } }));
    expect(said).toMatch(/^slsd exited with 1:/);
    expect(said.split(`the API listener 127.0.0.1:${port} is in use`)).toHaveLength(2);
    expect(said).not.toContain('starting another');
    expect(said).not.toMatch(/\n\s+at /);
  }, 60_000);
});
