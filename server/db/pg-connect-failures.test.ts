// PostgreSQL on another host, as an operator configures it (SPEC N1): TLS from the URL
// (`sslmode`, `sslrootcert`), and a start that cannot connect (refused, a password refused, a host
// name unknown, a certificate refused) said in one line by slsd and slsctl, with the password in the
// URL never printed, whether it is the URL's user info or its `?password=`. Real connections: a
// closed port, the test PostgreSQL, an unknown name, and a proxy that speaks TLS as PostgreSQL with
// `ssl = on` does (pg-proxy-testing.ts), its certificate signed by a CA made for the test.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nodeFlagsOf } from '../../bin/node-flags.mjs';
import { PgApprovalNotifier } from '../services/ibkey-notifier-pg.ts';
import { openDatabase } from './connect.ts';
import { makeTestCertificates, startPgProxy } from './pg-proxy-testing.ts';
import type { PgProxy, TestCertificates } from './pg-proxy-testing.ts';
import { describeEachBackend, probePostgres, tempDataDir } from './pg-testing.ts';
import type { FreshDatabase } from './pg-testing.ts';

const probe = await probePostgres();
const BIN = (name: string) => fileURLToPath(new URL(`../../bin/${name}`, import.meta.url));

/** `slsd` or `slsctl` as an operator runs it, with `databaseUrl`; its exit code and all it wrote. */
function run(bin: 'slsd' | 'slsctl', databaseUrl: string, dataDir: string): Promise<{ code: number | string; out: string }> {
  const file = BIN(bin === 'slsd' ? 'slsd.cjs' : 'slsctl.mjs');
  const args = bin === 'slsd' ? ['--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0'] : ['--data-dir', dataDir, 'user', 'show', 'nobody.here'];
  const child = spawn(process.execPath, [...nodeFlagsOf(file), file, ...args], {
    // The most slsd would ever log: whatever it says, no password may be in it.
    env: { ...process.env, SLS_DATABASE_URL: databaseUrl, SLS_SERVER_KEY: randomBytes(32).toString('base64'), SLS_LOG_LEVEL: 'trace' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => void (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => void (out += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? `${signal}: started or hung`, out });
    }),
  );
}

/** Runs `jobs` two at a time (a loaded 2-core machine starts each under tsx). */
async function twoAtATime<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** `url` with user info `user:password` and more query parameters. */
function withCredentials(url: string, user: string, password: string, query: Record<string, string>): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  return u.toString();
}

describeEachBackend(
  'PostgreSQL on another host',
  probe,
  (backend) => {
    let fresh: FreshDatabase;
    let certs: TestCertificates;
    let tlsProxy: PgProxy;
    const data = tempDataDir('slsd-pg-connect-');
    beforeAll(async () => {
      fresh = await backend.freshDatabase(data.dir);
      certs = makeTestCertificates(data.dir);
      tlsProxy = await startPgProxy(probe.available ? probe.adminUrl : '', { tls: certs.server });
    });
    afterAll(async () => {
      await tlsProxy?.close();
      await fresh?.drop();
      data.remove();
    });
    /** The test database through the TLS proxy, with these query parameters. */
    const overTls = (query: Record<string, string>) => {
      const u = new URL(tlsProxy.through(fresh.url));
      for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
      return u.toString();
    };

    it('TLS with sslmode=verify-full (or require) and sslrootcert: slsd migrates, serves and LISTENs over it', async () => {
      for (const sslmode of ['verify-full', 'require']) {
        const before = tlsProxy.tlsSessions();
        const url = overTls({ sslmode, sslrootcert: certs.caFile });
        const opened = await openDatabase(url);
        const listener = await PgApprovalNotifier.connect(url);
        try {
          expect(await opened.ping()).toBeGreaterThan(0);
          // The pool's connections and the LISTEN connection: all through TLS.
          expect(tlsProxy.tlsSessions() - before, sslmode).toBeGreaterThanOrEqual(2);
        } finally {
          await listener.close();
          await opened.close();
        }
      }
    });

    it('uselibpqcompat=true&sslmode=require is libpq\'s require: encrypted, the certificate not checked', async () => {
      const opened = await openDatabase(overTls({ uselibpqcompat: 'true', sslmode: 'require' }));
      try {
        expect(await opened.ping()).toBeGreaterThan(0);
      } finally {
        await opened.close();
      }
    });

    it('never prints the password (user info or ?password=) when the connection is refused, the password is, the host name is unknown, or the certificate is', async () => {
      const info = `Info-Secret-${randomBytes(4).toString('hex')}`;
      const query = `Query-Secret-${randomBytes(4).toString('hex')}`;
      const port = await closedPort();
      const cases: Record<string, string> = {
        refused: `postgres://sls:${info}@127.0.0.1:${port}/sls?password=${query}`,
        'password refused': withCredentials(fresh.url, `sls_nobody_${randomBytes(3).toString('hex')}`, info, { password: query }),
        'unknown host': `postgres://sls:${info}@sls-db.invalid:5432/sls?password=${query}`,
        // require, as libpq users write it: slsd checks the certificate anyway, and says how to give its CA.
        'certificate refused': withCredentials(tlsProxy.through(fresh.url), 'sls', info, { sslmode: 'require', password: query }),
      };
      const jobs = Object.entries(cases).flatMap(([what, url]) => (['slsd', 'slsctl'] as const).map((bin) => async () => ({ what, bin, ...(await run(bin, url, path.join(data.dir, `${bin}-${what}`))) })));
      for (const r of await twoAtATime(jobs)) {
        const label = `${r.bin}, ${r.what}: ${r.out}`;
        expect(r.code, label).toBe(1);
        expect(r.out, label).toMatch(new RegExp(`^${r.bin}: cannot open the database postgres://[^ ]*\\*\\*\\*[^ ]*: .+ \\(SLS_DATABASE_URL / --database-url\\)\\n$`));
        expect(r.out, label).not.toContain(info);
        expect(r.out, label).not.toContain(query);
        if (r.what === 'certificate refused') {
          expect(r.out, label).toContain('give the CA that signed it with sslrootcert=<file>');
          // pg's multi-line notice that require will not check certificates in pg 9: slsd's meaning is fixed.
          expect(r.out, label).not.toContain('SECURITY WARNING');
        }
      }
    }, 120_000);

    it('a sslrootcert file that cannot be read: one line naming it, where slsd and slsctl printed a stack', async () => {
      const missing = path.join(data.dir, 'no-such-ca.pem');
      const url = overTls({ sslmode: 'verify-full', sslrootcert: missing });
      const results = await twoAtATime((['slsd', 'slsctl'] as const).map((bin) => async () => ({ bin, ...(await run(bin, url, path.join(data.dir, `${bin}-missing-ca`))) })));
      for (const r of results) {
        expect(r.code, r.out).toBe(1);
        expect(r.out, r.out).toMatch(new RegExp(`^${r.bin}: cannot open the database postgres://.*: ENOENT: no such file or directory, open '${missing.replaceAll('/', '\\/')}' .*\\n$`));
      }
    }, 60_000);
  },
  'postgres',
);
