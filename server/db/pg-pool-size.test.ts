// SLS_DATABASE_POOL_MAX (SPEC N1, operators): each slsd process opens at most that many PostgreSQL
// connections for requests, so several slsd (and --workers) fit under the server's max_connections.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, expect, it } from 'vitest';
import { defaultConfig } from '../config.ts';
import { createServices } from '../services/index.ts';
import { describeEachBackend, probePostgres, tempDataDir } from './pg-testing.ts';
import type { FreshDatabase } from './pg-testing.ts';

const probe = await probePostgres();

describeEachBackend(
  'the request pool of one slsd process',
  probe,
  (backend) => {
    let fresh: FreshDatabase | undefined;
    const data = tempDataDir('slsd-pool-');
    afterEach(async () => {
      await fresh?.drop();
      data.remove();
    });

    it('holds at most SLS_DATABASE_POOL_MAX connections, however many requests wait: the rest queue for one', async () => {
      fresh = await backend.freshDatabase(data.dir);
      const s = await createServices(defaultConfig({ dataDir: data.dir, databaseUrl: fresh.url, serverKey: randomBytes(32).toString('base64'), logLevel: 'silent', databasePoolMax: 2 }));
      try {
        // Six statements at once, each holding its connection for a moment: the backends that answer them.
        const pids = await Promise.all(
          Array.from({ length: 6 }, async () => (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid, pg_sleep(0.2)`.execute(s.db)).rows[0]!.pid),
        );
        expect(new Set(pids).size).toBe(2);
      } finally {
        await s.close();
      }
    }, 60_000);
  },
  'postgres',
);
