/**
 * Runs inside a private D-Bus session with an unlocked gnome-keyring (started by keychain.test.ts):
 * exercises the real OS keychain through `native/keychain.ts` as the desktop host uses it for the
 * auto-restart token (SPEC L8, C3, C4) and prints what it saw as one JSON object.
 */
import { createOsKeychain } from '../../native/keychain.ts';

const service = process.argv[2] ?? 'SLS Desktop (keychain test)';
const keychain = createOsKeychain(service);
const account = 'restart-token:https://slsd.example:7860:jdoe';
const token = 'q'.repeat(20) + '-_' + 'Z'.repeat(21);

const result: Record<string, unknown> = {};
result.available = await keychain.available();
result.before = await keychain.get(account);
await keychain.set(account, token);
result.afterSet = await keychain.get(account);
// A second client instance (a restarted app) reads the same entry.
result.fromNewInstance = await createOsKeychain(service).get(account);
// Another service never sees our entries.
result.otherService = await createOsKeychain(`${service} (other)`).get(account);
await keychain.set(account, token + 'x');
result.afterOverwrite = await keychain.get(account);
await keychain.set('last-user', 'jdoe');
result.accounts = (await keychain.accounts()).sort();
result.deleted = await keychain.delete(account);
result.afterDelete = await keychain.get(account);
result.deletedAgain = await keychain.delete(account);
result.cleared = await keychain.clear();
result.accountsAfterClear = await keychain.accounts();
process.stdout.write(JSON.stringify(result));
