/**
 * Which OS user owns the other end of a loopback TCP connection, read from Linux's /proc/net/tcp and
 * /proc/net/tcp6 (the browser host's launch-code guard: electron/browser-host.ts).
 *
 * Every TCP socket of this network namespace has a row there, with its local and remote address and
 * the uid of the user that made it. A connection accepted by a server has two rows: the server's
 * (local = server address) and the client's, whose local address and port are the server's *remote*
 * ones and whose remote address and port are the server's local ones. That row's uid is the client's.
 *
 * What can hide a row: nothing the other user controls. /proc/net is /proc/self/net, so `hidepid`
 * (which hides other users' /proc/<pid> folders) does not apply, and the table lists every socket of
 * the reader's network namespace whoever owns it. A client in another network namespace (a container
 * with its own network) has no row here, but it cannot reach this namespace's 127.0.0.1 either: only a
 * program of this namespace forwarding for it could, and then the row is that program's, its owner's
 * uid. Rows can be missed when sockets come and go while the table is read (the kernel prints it in
 * pieces), so a lookup that finds nothing reads it again (`attempts`). Systems that do not fill the
 * table (WSL 1; a sandbox that forbids reading it) find nothing: callers must treat that as unknown.
 *
 * uids are shown as the reader's user namespace maps them: one this namespace does not map shows as
 * the overflow uid (65534, `nobody`). A host running as that uid could therefore not tell an unmapped
 * user from itself; a login client run as `nobody` is not a supported setup.
 *
 * The parsing is pure (parseProcNetTcp, findSocketOwner); only socketOwner reads /proc.
 */
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';

/** TCP states as the kernel numbers them (include/net/tcp_states.h), the `st` column. */
export const TCP_ESTABLISHED = 0x01;
export const TCP_TIME_WAIT = 0x06;
export const TCP_LISTEN = 0x0a;

export interface ProcNetTcpEntry {
  /** Dotted IPv4 for IPv4 and IPv4-mapped IPv6 addresses, else compressed lower-case IPv6 (RFC 5952). */
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** The `st` column (TCP_ESTABLISHED, TCP_TIME_WAIT, …). */
  state: number;
  uid: number;
  /** 0 for a socket no process holds any more (TIME_WAIT, orphans). */
  inode: number;
}

/** One 32-bit word of an address as /proc prints it (`%08X` of the network-order value read natively). */
function wordBytes(hex: string, order: 'LE' | 'BE'): number[] {
  const bytes = [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return order === 'LE' ? bytes.reverse() : bytes;
}

/** The 16 bytes of an address of /proc/net/tcp (8 hex digits) or tcp6 (32), or null. */
function procAddressBytes(hex: string, order: 'LE' | 'BE'): number[] | null {
  if (!/^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{32})$/.test(hex)) return null;
  const words: number[] = [];
  for (let i = 0; i < hex.length; i += 8) words.push(...wordBytes(hex.slice(i, i + 8), order));
  return words.length === 4 ? [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...words] : words;
}

/** An address's text from its 16 bytes: IPv4-mapped (::ffff:a.b.c.d) as plain IPv4, else RFC 5952 IPv6. */
function formatAddress(b: readonly number[]): string {
  if (b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return b.slice(12).join('.');
  const groups = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  // The longest run of two or more zero groups (the first of equals) becomes '::'.
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

/** The 16 bytes of an address in text (IPv4, IPv6, IPv4-mapped, with or without a `%zone`), or null. */
function textAddressBytes(text: string): number[] | null {
  const v4 = (s: string): number[] | null => {
    const parts = s.split('.');
    if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
    return parts.map(Number);
  };
  const plain4 = v4(text);
  if (plain4) return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...plain4];
  let addr = text.replace(/%.*$/, '');
  if (!addr.includes(':')) return null;
  // An IPv4 tail (::ffff:127.0.0.1) stands for the last two groups.
  const tail = /^(.*:)([^:]*\.[^:]*)$/.exec(addr);
  if (tail) {
    const t = v4(tail[2]!);
    if (!t) return null;
    addr = `${tail[1]!}${((t[0]! << 8) | t[1]!).toString(16)}:${((t[2]! << 8) | t[3]!).toString(16)}`;
  }
  const halves = addr.split('::');
  if (halves.length > 2) return null;
  const toGroups = (s: string): number[] | null => {
    if (s === '') return [];
    const gs = s.split(':');
    if (!gs.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return null;
    return gs.map((g) => parseInt(g, 16));
  };
  const left = toGroups(halves[0]!);
  const right = halves.length === 2 ? toGroups(halves[1]!) : [];
  if (!left || !right) return null;
  const fill = 8 - left.length - right.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const groups = [...left, ...new Array<number>(fill).fill(0), ...right];
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/**
 * An address in the form parseProcNetTcp gives (IPv4-mapped IPv6 as IPv4, IPv6 compressed lower
 * case, no zone), so that Node's `socket.remoteAddress` compares with a table row; null if not an address.
 */
export function canonicalAddress(text: string): string | null {
  const b = textAddressBytes(text);
  return b ? formatAddress(b) : null;
}

/**
 * The rows of /proc/net/tcp or /proc/net/tcp6. Addresses are printed as 32-bit words in the machine's
 * byte order (`order`: 'LE' on x86 and arm64, so 127.0.0.1 is 0100007F), ports as plain hex numbers.
 * Lines that are not rows (the header) are skipped.
 */
export function parseProcNetTcp(text: string, order: 'LE' | 'BE' = endianness()): ProcNetTcpEntry[] {
  const rows: ProcNetTcpEntry[] = [];
  for (const line of text.split('\n')) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^\d+:$/.test(f[0]!)) continue;
    const local = /^([0-9A-Fa-f]+):([0-9A-Fa-f]{4})$/.exec(f[1]!);
    const remote = /^([0-9A-Fa-f]+):([0-9A-Fa-f]{4})$/.exec(f[2]!);
    if (!local || !remote || !/^[0-9A-Fa-f]{2}$/.test(f[3]!) || !/^\d+$/.test(f[7]!) || !/^\d+$/.test(f[9]!)) continue;
    const lb = procAddressBytes(local[1]!, order);
    const rb = procAddressBytes(remote[1]!, order);
    if (!lb || !rb) continue;
    rows.push({
      localAddress: formatAddress(lb),
      localPort: parseInt(local[2]!, 16),
      remoteAddress: formatAddress(rb),
      remotePort: parseInt(remote[2]!, 16),
      state: parseInt(f[3]!, 16),
      uid: Number(f[7]),
      inode: Number(f[9]),
    });
  }
  return rows;
}

/** A connection as its server sees it (Node's `socket.localAddress` … `socket.remotePort`). */
export interface ServerSideConnection {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

export type SocketOwnerResult =
  | { found: true; uid: number }
  /** `conflict`: rows of different users for the one socket (no race: reading again would not help). */
  | { found: false; reason: string; conflict?: true };

/**
 * The client's row of a connection seen from its server: local = the server's remote address and
 * port, remote = the server's local ones, in any state but TIME_WAIT (those rows outlive their socket
 * and show uid 0). A 4-tuple is one live socket; rows that disagree on the uid are refused as unknown.
 */
export function findSocketOwner(rows: readonly ProcNetTcpEntry[], conn: ServerSideConnection): SocketOwnerResult {
  const clientAddress = canonicalAddress(conn.remoteAddress);
  const serverAddress = canonicalAddress(conn.localAddress);
  if (!clientAddress || !serverAddress) return { found: false, reason: `not an IP address: ${conn.remoteAddress} / ${conn.localAddress}` };
  const uids = new Set(
    rows
      .filter(
        (r) =>
          r.state !== TCP_TIME_WAIT &&
          r.localPort === conn.remotePort &&
          r.remotePort === conn.localPort &&
          r.localAddress === clientAddress &&
          r.remoteAddress === serverAddress,
      )
      .map((r) => r.uid),
  );
  if (uids.size === 1) return { found: true, uid: [...uids][0]! };
  const who = `${clientAddress}:${conn.remotePort} → ${serverAddress}:${conn.localPort}`;
  return uids.size === 0
    ? { found: false, reason: `no row for the client socket ${who}` }
    : { found: false, conflict: true, reason: `rows of different users (${[...uids].join(', ')}) for the client socket ${who}` };
}

export interface SocketOwnerOptions {
  /** Where the tables are; `/proc/net` (this process's network namespace). */
  procNetDir?: string;
  /** Reads before giving up on a missing row (a row can be missed while the table changes); 3. */
  attempts?: number;
}

/**
 * The uid of the process that made the client end of `conn` (a loopback connection this process
 * accepted), from /proc/net/tcp and /proc/net/tcp6: Linux only. A table that cannot be read counts as
 * empty (tcp6 is missing without IPv6); nothing found in either after `attempts` reads is unknown.
 */
export async function socketOwner(conn: ServerSideConnection, options: SocketOwnerOptions = {}): Promise<SocketOwnerResult> {
  const dir = options.procNetDir ?? '/proc/net';
  const attempts = Math.max(1, options.attempts ?? 3);
  let last: SocketOwnerResult = { found: false, reason: 'not looked up' };
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 10 * i));
    const errors: string[] = [];
    const tables = await Promise.all(
      ['tcp', 'tcp6'].map((name) =>
        readFile(join(dir, name), 'utf8').catch((e: unknown) => {
          errors.push(`${join(dir, name)}: ${e instanceof Error ? e.message : String(e)}`);
          return '';
        }),
      ),
    );
    last = findSocketOwner(tables.flatMap((t) => parseProcNetTcp(t)), conn);
    if (last.found || last.conflict) return last;
    last = { found: false, reason: `${last.reason} in ${join(dir, 'tcp')} or ${join(dir, 'tcp6')}${errors.length > 0 ? ` (could not read ${errors.join('; ')})` : ''}` };
  }
  return last;
}
