import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { createMemoryKeychain, createOsKeychain, KeychainUnavailableError } from './keychain.ts';
import type { KeyringBinding } from './keychain.ts';

describe('in-memory keychain', () => {
  it('stores, lists and clears entries', async () => {
    const k = createMemoryKeychain();
    await k.set('restart-token:jane', 's3cret');
    expect(await k.get('restart-token:jane')).toBe('s3cret');
    expect(await k.accounts()).toEqual(['restart-token:jane']);
    expect(await k.clear()).toBe(1);
    expect(await k.get('restart-token:jane')).toBeNull();
  });
});

// The real Secret Service exists only inside `dbus-run-session` with an unlocked gnome-keyring-daemon
// (see tests/fixtures/with-keyring.sh); elsewhere this part is skipped, saying why.
const os = createOsKeychain(`SLS Desktop test ${randomBytes(4).toString('hex')}`);
const hasKeychain = await os.available();

describe.skipIf(!hasKeychain)('OS keychain via Secret Service (SPEC C3, C4)', () => {
  it('stores a secret, lists it by account name only, and clear() removes every entry of the service', async () => {
    await os.set('restart-token:jane', 'tok-1');
    await os.set('restart-token:john', 'tok-2');
    expect(await os.get('restart-token:jane')).toBe('tok-1');
    expect((await os.accounts()).sort()).toEqual(['restart-token:jane', 'restart-token:john']);
    expect(await os.clear()).toBe(2);
    expect(await os.accounts()).toEqual([]);
    expect(await os.get('restart-token:jane')).toBeNull();
  });
});

describe.skipIf(hasKeychain)('OS keychain absent', () => {
  it('reports unavailable and raises a coded error instead of crashing (no Secret Service here)', async () => {
    expect(await os.available()).toBe(false);
    await expect(os.set('x', 'y')).rejects.toMatchObject({ code: 'SLS_ERR_KEYCHAIN' });
  });
});

// The binding is loaded on first use, never at import: an installer without its platform's .node file
// (the Intel dmg built on an arm64 runner) must start and treat the keychain as unavailable (SPEC C4).
describe('OS keychain whose binding cannot be loaded', () => {
  it('is created without loading, then reports unavailable and raises the coded error with the load failure as cause', async () => {
    const failure = new Error("Cannot find module '@napi-rs/keyring-darwin-x64'");
    const load = vi.fn(async (): Promise<KeyringBinding> => {
      throw failure;
    });
    const k = createOsKeychain('SLS Desktop test (no binding)', load);
    expect(load).not.toHaveBeenCalled();
    expect(await k.available()).toBe(false);
    for (const call of [() => k.get('a'), () => k.set('a', 'b'), () => k.delete('a'), () => k.accounts(), () => k.clear()]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(KeychainUnavailableError);
      expect(error).toMatchObject({ code: 'SLS_ERR_KEYCHAIN', cause: failure });
    }
    // Tried once: a missing binary does not appear while the app runs.
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('a loader that throws synchronously is the same unavailable keychain', async () => {
    const k = createOsKeychain('SLS Desktop test (sync throw)', () => {
      throw new Error('dlopen failed');
    });
    expect(await k.available()).toBe(false);
    await expect(k.get('a')).rejects.toMatchObject({ code: 'SLS_ERR_KEYCHAIN' });
  });

  it('uses the loaded binding for every call, under its service', async () => {
    const store = new Map<string, string>();
    const key = (s: string, a: string) => `${s}\u0000${a}`;
    class FakeEntry {
      constructor(
        private readonly service: string,
        private readonly account: string,
      ) {}
      async getPassword() {
        return store.get(key(this.service, this.account));
      }
      async setPassword(secret: string) {
        store.set(key(this.service, this.account), secret);
      }
      async deletePassword() {
        return store.delete(key(this.service, this.account));
      }
    }
    const binding = {
      AsyncEntry: FakeEntry,
      findCredentialsAsync: async (service: string) =>
        [...store].filter(([k]) => k.startsWith(`${service}\u0000`)).map(([k, password]) => ({ account: k.slice(service.length + 1), password })),
    } as unknown as KeyringBinding;
    const load = vi.fn(async () => binding);
    const k = createOsKeychain('svc', load);
    expect(await k.available()).toBe(true);
    await k.set('restart-token:jane', 'tok');
    await createOsKeychain('other', load).set('x', 'y');
    expect(await k.get('restart-token:jane')).toBe('tok');
    expect(await k.accounts()).toEqual(['restart-token:jane']);
    expect(await k.clear()).toBe(1);
    expect(await k.get('restart-token:jane')).toBeNull();
    expect(store.size).toBe(1);
  });
});
