import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalAddress, findSocketOwner, parseProcNetTcp, socketOwner, TCP_ESTABLISHED, TCP_LISTEN, TCP_TIME_WAIT } from './socket-owner.ts';

// Rows as a little-endian (x86, arm64) Linux prints them: a server on 127.0.0.1:41403 (0xA1BB) and
// a client 127.0.0.1:51636 (0xC9B4) connected to it, the client of uid 1000, the server's of uid 0.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1222 1 00000000fcf1b2f2 100 0 0 10 0
   1: 0100007F:A1BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5599041 1 00000000e795f882 100 0 0 10 0
   2: 0100007F:A1BB 0100007F:C9B4 01 00000000:00000000 00:00000000 00000000     0        0 5599043 1 0000000008de79dc 20 0 0 10 -1
   3: 0100007F:C9B4 0100007F:A1BB 01 00000000:00000000 00:00000000 00000000  1000        0 5599042 2 00000000f396546f 20 0 0 10 -1
  12: 0201A8C0:0016 6401A8C0:D431 06 00000000:00000000 03:0000176A 00000000     0        0 0 3 00000000804c1a76
`;

// tcp6: a dual-stack listener on [::]:41403, a connection over an IPv4-mapped address (uid 1000),
// one over ::1 (port 0xA2B9 ← 0x9848, uid 65534) and a link-local one.
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:A1BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5599041 1 00000000e795f882 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:A1BB 0000000000000000FFFF00000100007F:C9B4 01 00000000:00000000 00:00000000 00000000     0        0 5599043 1 0000000008de79dc 20 0 0 10 -1
   2: 0000000000000000FFFF00000100007F:C9B4 0000000000000000FFFF00000100007F:A1BB 01 00000000:00000000 00:00000000 00000000  1000        0 5599042 2 00000000f396546f 20 0 0 10 -1
   3: 00000000000000000000000001000000:A2B9 00000000000000000000000001000000:9848 01 00000000:00000000 00:00000000 00000000     0        0 5599055 1 0000000008de79dc 20 0 0 10 -1
   4: 00000000000000000000000001000000:9848 00000000000000000000000001000000:A2B9 01 00000000:00000000 00:00000000 00000000 65534        0 5599054 2 00000000f396546f 20 0 0 10 -1
   5: 000080FE00000000FF0FA8C0EFBEADDE:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0000000000000000 100 0 0 10 0
`;

describe('parseProcNetTcp (/proc/net/tcp and tcp6 rows)', () => {
  it('reads IPv4 rows: little-endian hex addresses, hex ports, state, uid, inode; skips the header', () => {
    const rows = parseProcNetTcp(TCP, 'LE');
    expect(rows).toHaveLength(5);
    expect(rows[0]).toEqual({ localAddress: '0.0.0.0', localPort: 2024, remoteAddress: '0.0.0.0', remotePort: 0, state: TCP_LISTEN, uid: 0, inode: 1222 });
    expect(rows[3]).toEqual({ localAddress: '127.0.0.1', localPort: 51636, remoteAddress: '127.0.0.1', remotePort: 41403, state: TCP_ESTABLISHED, uid: 1000, inode: 5599042 });
    expect(rows[4]).toMatchObject({ localAddress: '192.168.1.2', localPort: 22, remoteAddress: '192.168.1.100', remotePort: 54321, state: TCP_TIME_WAIT, inode: 0 });
  });

  it('reads IPv6 rows (four little-endian 32-bit words), IPv4-mapped addresses as IPv4, others compressed', () => {
    const rows = parseProcNetTcp(TCP6, 'LE');
    expect(rows).toHaveLength(6);
    expect(rows[0]).toMatchObject({ localAddress: '::', localPort: 41403, remoteAddress: '::', remotePort: 0, state: TCP_LISTEN });
    expect(rows[2]).toEqual({ localAddress: '127.0.0.1', localPort: 51636, remoteAddress: '127.0.0.1', remotePort: 41403, state: TCP_ESTABLISHED, uid: 1000, inode: 5599042 });
    expect(rows[4]).toMatchObject({ localAddress: '::1', localPort: 0x9848, remoteAddress: '::1', remotePort: 0xa2b9, uid: 65534 });
    expect(rows[5]).toMatchObject({ localAddress: 'fe80::c0a8:fff:dead:beef', localPort: 22 });
  });

  it('big-endian machines print the bytes in order', () => {
    const be = '   0: 7F000001:1F90 7F000002:0050 01 00000000:00000000 00:00000000 00000000   501        0 9 1 0 20 0 0 10 -1\n' +
      '   1: 00000000000000000000FFFF7F000001:1F90 20010DB8000000000000000000000001:0050 01 00000000:00000000 00:00000000 00000000   502        0 10 1 0 20 0 0 10 -1\n';
    expect(parseProcNetTcp(be, 'BE')).toEqual([
      { localAddress: '127.0.0.1', localPort: 8080, remoteAddress: '127.0.0.2', remotePort: 80, state: TCP_ESTABLISHED, uid: 501, inode: 9 },
      { localAddress: '127.0.0.1', localPort: 8080, remoteAddress: '2001:db8::1', remotePort: 80, state: TCP_ESTABLISHED, uid: 502, inode: 10 },
    ]);
  });

  it('skips lines that are not rows', () => {
    expect(parseProcNetTcp('', 'LE')).toEqual([]);
    expect(parseProcNetTcp('garbage\n   0: 0100007F:XYZW 00000000:0000 0A 0:0 0:0 0 0 0 1\n   1: 0100007F 00000000:0000 0A 0:0 0:0 0 0 0 1\n   2: 0100:0050 00000000:0000 0A 0:0 0:0 0 0 0 1\n', 'LE')).toEqual([]);
  });
});

describe('canonicalAddress (what Node reports, in the form of a row)', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::FFFF:7f00:1', '127.0.0.1'],
    ['0:0:0:0:0:ffff:127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::', '::'],
    ['fe80::1%eth0', 'fe80::1'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::1.2.3.4', '::102:304'],
  ])('%s → %s', (text, canonical) => {
    expect(canonicalAddress(text)).toBe(canonical);
  });

  it.each(['', 'localhost', '1.2.3', '256.0.0.1', '1::2::3', '1:2:3:4:5:6:7:8:9', '::ffff:1.2.3.999', ':1', '12345::'])('%s is no address', (text) => {
    expect(canonicalAddress(text)).toBeNull();
  });
});

describe('findSocketOwner (the client row of a connection its server accepted)', () => {
  const rows = [...parseProcNetTcp(TCP, 'LE'), ...parseProcNetTcp(TCP6, 'LE').slice(3)];
  it("finds the client's row (its local side is the server's remote side), not the server's own", () => {
    expect(findSocketOwner(rows, { localAddress: '127.0.0.1', localPort: 41403, remoteAddress: '127.0.0.1', remotePort: 51636 })).toEqual({ found: true, uid: 1000 });
    // The same connection seen by a dual-stack server (Node says ::ffff:127.0.0.1).
    expect(findSocketOwner(rows, { localAddress: '::ffff:127.0.0.1', localPort: 41403, remoteAddress: '::ffff:127.0.0.1', remotePort: 51636 })).toEqual({ found: true, uid: 1000 });
    expect(findSocketOwner(rows, { localAddress: '::1', localPort: 0xa2b9, remoteAddress: '::1', remotePort: 0x9848 })).toEqual({ found: true, uid: 65534 });
  });

  it('an IPv4-mapped connection in tcp6 is found from an IPv4 server view', () => {
    const six = parseProcNetTcp(TCP6, 'LE');
    expect(findSocketOwner(six, { localAddress: '127.0.0.1', localPort: 41403, remoteAddress: '127.0.0.1', remotePort: 51636 })).toEqual({ found: true, uid: 1000 });
  });

  it('nothing for another port or address, nor from a TIME_WAIT row (those show uid 0)', () => {
    expect(findSocketOwner(rows, { localAddress: '127.0.0.1', localPort: 41403, remoteAddress: '127.0.0.1', remotePort: 51637 })).toMatchObject({ found: false });
    expect(findSocketOwner(rows, { localAddress: '127.0.0.1', localPort: 41403, remoteAddress: '127.0.0.2', remotePort: 51636 })).toMatchObject({ found: false });
    expect(findSocketOwner(rows, { localAddress: '127.0.0.1', localPort: 41404, remoteAddress: '127.0.0.1', remotePort: 51636 })).toMatchObject({ found: false });
    expect(findSocketOwner(rows, { localAddress: '192.168.1.100', localPort: 54321, remoteAddress: '192.168.1.2', remotePort: 22 })).toMatchObject({ found: false });
    expect(findSocketOwner(rows, { localAddress: 'nonsense', localPort: 1, remoteAddress: '127.0.0.1', remotePort: 1 })).toMatchObject({ found: false });
  });

  it('rows of different users for one socket are no answer', () => {
    const client = rows[3]!;
    const r = findSocketOwner([client, { ...client, uid: 0, inode: 1 }], { localAddress: '127.0.0.1', localPort: 41403, remoteAddress: '127.0.0.1', remotePort: 51636 });
    expect(r).toMatchObject({ found: false, conflict: true });
  });
});

function listen(host: string): Promise<{ server: Server; accepted: Promise<Socket> }> {
  const server = createServer();
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, host, () => ok({ server, accepted }));
  });
}

/** A connection from this process to `host` (listening on `listenOn`), as the server sees it. */
async function ownConnection(listenOn: string, connectTo: string): Promise<{ accepted: Socket; close: () => void }> {
  const { server, accepted } = await listen(listenOn);
  const port = (server.address() as { port: number }).port;
  const client = createConnection({ host: connectTo, port });
  await new Promise((r) => client.once('connect', r));
  const socket = await accepted;
  return {
    accepted: socket,
    close: () => {
      client.destroy();
      socket.destroy();
      server.close();
    },
  };
}

function view(s: Socket) {
  return { localAddress: s.localAddress!, localPort: s.localPort!, remoteAddress: s.remoteAddress!, remotePort: s.remotePort! };
}

function ipv6Loopback(): Promise<boolean> {
  return listen('::1').then(
    ({ server }) => new Promise<boolean>((r) => server.close(() => r(true))),
    () => false,
  );
}

const HAS_IPV6_LOOPBACK = await ipv6Loopback();

describe.skipIf(process.platform !== 'linux')('socketOwner on this machine (/proc/net)', () => {
  const uid = process.geteuid!();

  it("finds this process's own connection over 127.0.0.1 with this process's uid", async () => {
    const c = await ownConnection('127.0.0.1', '127.0.0.1');
    try {
      expect(await socketOwner(view(c.accepted))).toEqual({ found: true, uid });
    } finally {
      c.close();
    }
  });

  it.runIf(HAS_IPV6_LOOPBACK)('finds it through a dual-stack listener too (Node reports ::ffff:127.0.0.1; the client row is in tcp)', async () => {
    const c = await ownConnection('::', '127.0.0.1');
    try {
      expect(c.accepted.remoteAddress).toBe('::ffff:127.0.0.1');
      expect(await socketOwner(view(c.accepted))).toEqual({ found: true, uid });
    } finally {
      c.close();
    }
  });

  it.runIf(HAS_IPV6_LOOPBACK)('finds a connection over ::1 (tcp6) and one to ::ffff:127.0.0.1 (an IPv4-mapped row in tcp6)', async () => {
    for (const [on, to] of [
      ['::1', '::1'],
      ['::', '::ffff:127.0.0.1'],
    ] as const) {
      const c = await ownConnection(on, to);
      try {
        expect(await socketOwner(view(c.accepted))).toEqual({ found: true, uid });
      } finally {
        c.close();
      }
    }
  });

  it('tables without its row (or a missing tcp6) are not found, after reading again, and say why', async () => {
    const c = await ownConnection('127.0.0.1', '127.0.0.1');
    const seen = view(c.accepted);
    c.close();
    const empty = mkdtempSync(join(tmpdir(), 'sls-procnet-'));
    try {
      writeFileSync(join(empty, 'tcp'), TCP);
      const r = await socketOwner(seen, { procNetDir: empty, attempts: 2 });
      expect(r).toMatchObject({ found: false });
      expect(!r.found && r.reason).toContain(`127.0.0.1:${seen.remotePort}`);
      // tcp6 is missing there: said, not thrown.
      expect(!r.found && r.reason).toContain(`could not read ${join(empty, 'tcp6')}`);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
