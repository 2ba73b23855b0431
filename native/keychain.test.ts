import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createMemoryKeychain, createOsKeychain } from './keychain.ts';

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
