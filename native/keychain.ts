/**
 * The OS keychain, behind one interface (SPEC C3, L8): secrets live here, never in the settings file.
 *
 * `@napi-rs/keyring` (keytar's API, maintained, prebuilt) under the service "SLS Desktop": the
 * Secret Service on Linux, Keychain on macOS, Credential Manager on Windows. Used for the restart
 * token (L8, later) and cleared by Reset app data (C4).
 */
import { AsyncEntry, findCredentialsAsync } from '@napi-rs/keyring';

export const KEYCHAIN_SERVICE = 'SLS Desktop';

export class KeychainUnavailableError extends Error {
  readonly code = 'SLS_ERR_KEYCHAIN';
  constructor(cause: unknown) {
    super('The OS keychain is not available', { cause });
    this.name = 'KeychainUnavailableError';
  }
}

export interface Keychain {
  get(account: string): Promise<string | null>;
  set(account: string, secret: string): Promise<void>;
  delete(account: string): Promise<boolean>;
  /** Accounts stored under our service (names only, never the secrets). */
  accounts(): Promise<string[]>;
  /** Delete every entry of our service; returns how many went (SPEC C4). */
  clear(): Promise<number>;
  /** Whether a keychain answers at all (no Secret Service on a bare Linux box). */
  available(): Promise<boolean>;
}

async function wrap<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new KeychainUnavailableError(e);
  }
}

/** The real OS keychain. `service` is only overridden by tests, so they never touch the app's entries. */
export function createOsKeychain(service: string = KEYCHAIN_SERVICE): Keychain {
  const entry = (account: string) => new AsyncEntry(service, account);
  const accounts = () => wrap(async () => (await findCredentialsAsync(service)).map((c) => c.account));
  return {
    get: (account) => wrap(() => entry(account).getPassword()).then((v) => v ?? null),
    set: (account, secret) => wrap(() => entry(account).setPassword(secret)),
    delete: (account) => wrap(() => entry(account).deletePassword()),
    accounts,
    async clear() {
      let removed = 0;
      for (const account of await accounts()) {
        if (await wrap(() => entry(account).deletePassword())) removed += 1;
      }
      return removed;
    },
    async available() {
      try {
        await findCredentialsAsync(service);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** In memory, for tests and for hosts without a keychain. */
export function createMemoryKeychain(): Keychain {
  const entries = new Map<string, string>();
  return {
    get: async (a) => entries.get(a) ?? null,
    set: async (a, s) => void entries.set(a, s),
    delete: async (a) => entries.delete(a),
    accounts: async () => [...entries.keys()],
    async clear() {
      const n = entries.size;
      entries.clear();
      return n;
    },
    available: async () => true,
  };
}
