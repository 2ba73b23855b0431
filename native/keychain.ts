/**
 * The OS keychain, behind one interface (SPEC C3, L8): secrets live here, never in the settings file.
 *
 * `@napi-rs/keyring` (keytar's API, maintained, prebuilt) under the service "SLS Desktop": the
 * Secret Service on Linux, Keychain on macOS, Credential Manager on Windows. Used for the restart
 * token (L8, later) and cleared by Reset app data (C4).
 *
 * The binding is loaded lazily, on the first keychain call, never when this module is imported:
 * its native part is a per-platform optional package (@napi-rs/keyring-darwin-x64, …-linux-x64-gnu…),
 * and an installer built without the right one must still start (SPEC C4: the app works without a
 * keychain). A binding that cannot be loaded is "keychain unavailable", like a missing Secret Service.
 */
import type * as NapiKeyring from '@napi-rs/keyring';

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

/** The part of `@napi-rs/keyring` we use. */
export type KeyringBinding = Pick<typeof NapiKeyring, 'AsyncEntry' | 'findCredentialsAsync'>;

/** Loads the binding (its platform's .node file); rejects when the package or its native part is missing. */
export type KeyringLoader = () => Promise<KeyringBinding>;

/** The real loader: a dynamic import, so importing this module never loads native code. */
export const loadKeyringBinding: KeyringLoader = async () => {
  const m = (await import('@napi-rs/keyring')) as KeyringBinding & { default?: KeyringBinding };
  return typeof m.AsyncEntry === 'function' ? m : (m.default ?? m);
};

/**
 * The real OS keychain. `service` is only overridden by tests, so they never touch the app's entries;
 * `load` only by tests, to stand in for a missing or broken binding.
 */
export function createOsKeychain(service: string = KEYCHAIN_SERVICE, load: KeyringLoader = loadKeyringBinding): Keychain {
  // Loaded once, on first use; a failure is kept (a missing binary does not appear while the app runs).
  let binding: Promise<KeyringBinding> | undefined;
  const keyring = () => (binding ??= Promise.resolve().then(load));
  const entry = async (account: string) => {
    const { AsyncEntry } = await keyring();
    return new AsyncEntry(service, account);
  };
  const findCredentials = async () => (await keyring()).findCredentialsAsync(service);
  const accounts = () => wrap(async () => (await findCredentials()).map((c) => c.account));
  return {
    get: (account) => wrap(async () => (await entry(account)).getPassword()).then((v) => v ?? null),
    set: (account, secret) => wrap(async () => (await entry(account)).setPassword(secret)),
    delete: (account) => wrap(async () => (await entry(account)).deletePassword()),
    accounts,
    async clear() {
      let removed = 0;
      for (const account of await accounts()) {
        if (await wrap(async () => (await entry(account)).deletePassword())) removed += 1;
      }
      return removed;
    },
    async available() {
      try {
        await findCredentials();
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
