/**
 * The Intel Mac crash (release review): the app must start when `@napi-rs/keyring` cannot be loaded.
 * Here the package itself fails to import, as it does in an installer without its platform's .node
 * file; importing native/keychain.ts must still succeed and the keychain be "unavailable" (SPEC C4).
 */
import { describe, expect, it, vi } from 'vitest';

vi.mock('@napi-rs/keyring', () => {
  throw new Error("Cannot find module '@napi-rs/keyring-darwin-x64'");
});

describe('native/keychain.ts without a loadable binding', () => {
  it('imports, and the default keychain reports unavailable with the coded error instead of crashing', async () => {
    const { createOsKeychain } = await import('./keychain.ts');
    const k = createOsKeychain('SLS Desktop test (binding missing)');
    expect(await k.available()).toBe(false);
    await expect(k.set('restart-token:jane', 'x')).rejects.toMatchObject({ code: 'SLS_ERR_KEYCHAIN' });
    await expect(k.accounts()).rejects.toMatchObject({ code: 'SLS_ERR_KEYCHAIN' });
  });
});
