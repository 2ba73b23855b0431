/**
 * A test server on one storage backend of the conformance suite (SPEC N1).
 *
 * Wraps `startTestServer` with a fresh database of the backend (a new SQLite file, or a new
 * PostgreSQL database) and removes it at close.
 */
import type { SlsConfig } from '../config.ts';
import { tempDataDir } from '../db/pg-testing.ts';
import type { StorageBackend } from '../db/pg-testing.ts';
import { startTestServer } from '../testing/test-server.ts';
import type { TestClock, TestServer } from '../testing/test-server.ts';
import type { PasswordHasher } from '../services/passwords.ts';

export async function startOn(
  backend: StorageBackend,
  opts: { config?: Partial<SlsConfig>; clock?: TestClock | null; passwords?: PasswordHasher; listen?: boolean } = {},
): Promise<TestServer> {
  const data = tempDataDir();
  const fresh = await backend.freshDatabase(data.dir);
  let t: TestServer;
  try {
    t = await startTestServer({ ...opts, dataDir: data.dir, config: { ...opts.config, databaseUrl: fresh.url } });
  } catch (err) {
    await fresh.drop();
    data.remove();
    throw err;
  }
  return {
    ...t,
    async close() {
      await t.close();
      await fresh.drop();
      data.remove();
    },
  };
}
