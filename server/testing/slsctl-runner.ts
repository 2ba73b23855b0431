/**
 * slsctl in-process against a test server's data folder and database, with its output captured
 * (the CLI's tests). The operator is `agent.test`; the server key is the server's.
 */
import { runSlsctl } from '../cli/slsctl.ts';
import type { TestServer } from './test-server.ts';

export interface SlsctlRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export async function slsctlAgainst(server: Pick<TestServer, 'dataDir' | 'config'>, args: readonly string[], stdin = ''): Promise<SlsctlRun> {
  let out = '';
  let err = '';
  const code = await runSlsctl(['--data-dir', server.dataDir, '--database-url', server.config.databaseUrl, ...args], {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    readStdin: async () => stdin,
    promptHidden: async () => null,
    env: { SLS_SERVER_KEY: server.config.serverKey, SLSCTL_OPERATOR: 'agent.test' },
  });
  return { code, out, err };
}
