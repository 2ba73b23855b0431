// Several slsd started at the same moment on one empty PostgreSQL database (SPEC N1: a deploy that
// starts every host at once, systemd restarting them after a reboot): the schema is made once, by
// whichever takes Kysely's migration lock (a PostgreSQL advisory lock, the migrations in one
// transaction); the others wait for it, find the schema done, and all serve.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { migrationProvider } from './migrations.ts';
import { describeEachBackend, probePostgres, tempDataDir } from './pg-testing.ts';
import type { FreshDatabase } from './pg-testing.ts';
import { spawnSlsd } from '../testing/slsd-process.ts';
import type { SlsdProcess } from '../testing/slsd-process.ts';

const probe = await probePostgres();

describeEachBackend(
  'slsd processes starting together on an empty database',
  probe,
  (backend) => {
    let fresh: FreshDatabase | undefined;
    const started: SlsdProcess[] = [];
    const data = tempDataDir('slsd-migrate-race-');
    afterEach(async () => {
      await Promise.all(started.splice(0).map((p) => p.stop()));
      await fresh?.drop();
      data.remove();
    });

    it('three at once: each starts and serves, every migration ran exactly once, one server key check', async () => {
      fresh = await backend.freshDatabase(data.dir);
      const url = fresh.url;
      const serverKey = randomBytes(32).toString('base64');
      const outcomes = await Promise.allSettled(
        [1, 2, 3].map((i) => spawnSlsd({ dataDir: `${data.dir}/${i}`, env: { SLS_DATABASE_URL: url, SLS_SERVER_KEY: serverKey } })),
      );
      for (const o of outcomes) if (o.status === 'fulfilled') started.push(o.value);
      const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as Error).message] : []));
      expect(failures).toEqual([]);
      for (const p of started) expect((await fetch(`${p.url}/v1/ready`)).status).toBe(200);

      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        const ran = (await c.query<{ name: string }>('SELECT name FROM kysely_migration ORDER BY name')).rows.map((r) => r.name);
        expect(ran).toEqual(Object.keys(await migrationProvider('postgres').getMigrations()).sort());
        expect((await c.query("SELECT 1 FROM server_meta WHERE name = 'server_key_check'")).rowCount).toBe(1);
      } finally {
        await c.end();
      }
    }, 120_000);
  },
  'postgres',
);
