/**
 * A TCP proxy between slsd and the test PostgreSQL, for tests of what an operator meets in production
 * (SPEC N1): PostgreSQL restarted, unreachable, or on another host behind TLS. The shared test cluster
 * is never stopped (other test files use it at the same time); the proxy is cut instead.
 *
 * - `cut()`: every connection through it ends at once, as a restart or failover ends them.
 * - `refuse()` / `restore()`: it stops listening (connect: ECONNREFUSED), as PostgreSQL down does.
 * - `hold()` / `restore()`: nothing passes either way, connections stay open and new ones are
 *   accepted but never answered, as a network that drops every packet; `restore()` lets what waited
 *   through (TCP's retransmission, in effect).
 * - `sever()`: the connections open now are forgotten by the network (a firewall's or NAT's idle
 *   timeout, a host gone): the server's end is closed, the client hears nothing more, ever, not even
 *   a close. New connections are not affected.
 * - `tls`: it answers PostgreSQL's SSLRequest with 'S' and speaks TLS to the client with that key and
 *   certificate, plain to the server: PostgreSQL with `ssl = on` as another host serves it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

export interface PgProxy {
  readonly port: number;
  /** `databaseUrl` (a database of the proxied server) as reached through the proxy, at `host` (default 127.0.0.1). */
  through(databaseUrl: string, host?: string): string;
  /** Connections open through it now. */
  connections(): number;
  /** Connections that asked for TLS (SSLRequest) and got it, so far. */
  tlsSessions(): number;
  cut(): void;
  sever(): void;
  refuse(): Promise<void>;
  hold(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** Where the server of `adminUrl` listens: a Unix socket (`?host=/folder`) or host and port. */
export function pgTarget(adminUrl: string): net.NetConnectOpts {
  const u = new URL(adminUrl);
  const port = Number(u.port || 5432);
  const hostParam = u.searchParams.get('host');
  if (hostParam?.startsWith('/')) return { path: `${hostParam}/.s.PGSQL.${port}` };
  return { host: hostParam || u.hostname || 'localhost', port };
}

const SSL_REQUEST = 80877103;

export async function startPgProxy(adminUrl: string, opts: { tls?: { key: string; cert: string } } = {}): Promise<PgProxy> {
  const target = pgTarget(adminUrl);
  const pairs = new Set<{ client: net.Socket; server: net.Socket | null; severed: boolean; destroy(): void; resume(): void }>();
  /** Client ends of severed connections: silent until close() ends them. */
  const forgotten = new Set<net.Socket>();
  let holding = false;
  let port = 0;
  let tlsSessions = 0;

  function relay(from: net.Socket, to: () => net.Socket | null): void {
    from.on('data', (chunk: Buffer) => {
      const out = to();
      if (out && !out.write(chunk)) {
        from.pause();
        out.once('drain', () => !holding && from.resume());
      }
    });
  }

  function join(client: net.Socket, first: Buffer): void {
    const pair = {
      client,
      server: null as net.Socket | null,
      severed: false,
      destroy() {
        if (!pair.severed) client.destroy();
        pair.server?.destroy();
      },
      resume() {
        if (!pair.server) connectServer();
        client.resume();
        pair.server?.resume();
      },
    };
    pairs.add(pair);
    const pending: Buffer[] = first.length > 0 ? [first] : [];
    const connectServer = () => {
      const server = net.connect(target);
      pair.server = server;
      server.on('error', () => pair.destroy());
      server.on('close', () => pair.destroy());
      for (const b of pending.splice(0)) server.write(b);
      relay(server, () => client);
    };
    client.on('error', () => pair.destroy());
    client.on('close', () => {
      forgotten.delete(client);
      pair.destroy();
      pairs.delete(pair);
    });
    relay(client, () => pair.server);
    // Before the server's end is connected (held), what the client sends waits here.
    client.on('data', (chunk: Buffer) => {
      if (!pair.server) pending.push(chunk);
    });
    if (holding) client.pause();
    else connectServer();
  }

  /** Accepted while held: nothing read from them until `restore()`. */
  const stalled = new Set<net.Socket>();

  function accept(raw: net.Socket): void {
    raw.on('error', () => raw.destroy());
    raw.on('close', () => stalled.delete(raw));
    if (holding) {
      raw.pause();
      stalled.add(raw);
    }
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < 8) return;
      raw.off('data', onData);
      if (opts.tls && head.readInt32BE(0) === 8 && head.readInt32BE(4) === SSL_REQUEST) {
        raw.write('S');
        tlsSessions++;
        const secure = new tls.TLSSocket(raw, { isServer: true, key: opts.tls.key, cert: opts.tls.cert });
        secure.on('error', () => secure.destroy());
        join(secure, head.subarray(8));
      } else {
        join(raw, head);
      }
    };
    raw.on('data', onData);
  }

  function sever(): void {
    for (const p of pairs) {
      p.severed = true;
      p.client.pause();
      forgotten.add(p.client);
      p.server?.destroy();
    }
    pairs.clear();
  }

  function endAll(): void {
    for (const p of pairs) p.destroy();
    pairs.clear();
    for (const s of stalled) s.destroy();
    stalled.clear();
  }

  const server = net.createServer(accept);
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  await listen();

  return {
    get port() {
      return port;
    },
    through(databaseUrl, host = '127.0.0.1') {
      const u = new URL(databaseUrl);
      u.searchParams.delete('host');
      u.hostname = host;
      u.port = String(port);
      return u.toString();
    },
    connections: () => pairs.size,
    tlsSessions: () => tlsSessions,
    cut: endAll,
    sever,
    async refuse() {
      endAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    hold() {
      holding = true;
      for (const p of pairs) {
        p.client.pause();
        p.server?.pause();
      }
    },
    async restore() {
      holding = false;
      if (!server.listening) await listen();
      for (const p of pairs) p.resume();
      for (const s of stalled) s.resume();
      stalled.clear();
    },
    async close() {
      endAll();
      for (const s of forgotten) s.destroy();
      forgotten.clear();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface TestCertificates {
  /** The CA's certificate file: what `sslrootcert=` names. */
  readonly caFile: string;
  /** The server's key and certificate (signed by the CA, for IP 127.0.0.1 only), for `startPgProxy({ tls })`. */
  readonly server: { readonly key: string; readonly cert: string };
}

/** A CA and a server certificate it signed, made with the openssl command in `dir` (P-256 keys: milliseconds). */
export function makeTestCertificates(dir: string): TestCertificates {
  const at = (f: string) => path.join(dir, f);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=SLS test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(at('server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext');
  return { caFile: at('ca.pem'), server: { key: fs.readFileSync(at('server.key'), 'utf8'), cert: fs.readFileSync(at('server.pem'), 'utf8') } };
}
