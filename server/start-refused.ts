/**
 * A listener that cannot bind is an operator's mistake, said in one plain line (no stack) and ending
 * the start: a port in use, an address not of this machine, a port below 1024 without the right.
 * Shared by the API listener (server/main.ts) and the metrics listener (server/metrics.ts).
 */

/** The error bin/slsd.cjs prints as its message alone. */
export function startRefused(message: string): Error {
  return Object.assign(new Error(message), { name: 'StartRefused' });
}

/**
 * `what` ("the API listener"), the address tried and the settings that choose it; null when `err` is
 * not a bind failure (then it is a bug, shown with its stack).
 */
export function bindRefusal(err: unknown, what: string, host: string, port: number, settings: string): Error | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const why =
    code === 'EADDRINUSE'
      ? 'is in use (`ss -ltnp` shows by what)'
      : code === 'EADDRNOTAVAIL'
        ? 'is not an address of this machine'
        : code === 'EACCES'
          ? 'needs a privilege this user lacks (ports below 1024)'
          : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
            ? 'names a host that does not resolve'
            : null;
  if (why === null) return null;
  const shown = host.includes(':') ? `[${host}]` : host;
  return startRefused(`${what} ${shown}:${port} ${why} (${settings})`);
}
