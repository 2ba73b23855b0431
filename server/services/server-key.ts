/**
 * The server key slsd runs with must be the one that sealed the database's secrets (SPEC D4).
 *
 * Started with another key (a restored backup without its `server.key`, which makes slsd generate a
 * new one; a second slsd on the same PostgreSQL with a different `SLS_SERVER_KEY`), slsd would accept
 * passwords and then fail every device with an internal error. So the database keeps a value sealed
 * with its key (`server_meta.server_key_check`, AES-256-GCM like every secret), and a process whose
 * key cannot open it refuses to start, saying what to do. A database from before the check records
 * it on the first start whose key opens an existing device secret (or that has none yet).
 */
import type { Kysely } from 'kysely';
import type { SecretBox } from '../crypto/secret-box.ts';
import type { Database } from '../db/schema.ts';
import { sealContext } from '../verifiers/types.ts';

const NAME = 'server_key_check';
const CONTEXT = 'server_meta:server_key_check';
const PLAIN = 'SLS server key check v1';

/** slsd must not start: the key cannot open what the database holds. */
export class ServerKeyMismatch extends Error {
  override readonly name = 'ServerKeyMismatch';
}

function opens(box: SecretBox, sealed: string, context: string, expected?: string): boolean {
  try {
    const plain = box.openText(sealed, context);
    return expected === undefined || plain === expected;
  } catch {
    return false;
  }
}

/**
 * Checks the key against the database, recording the check on a database that has none yet.
 * `keySource` says where the key came from, for the message.
 */
export async function checkServerKey(db: Kysely<Database>, box: SecretBox, keySource: string): Promise<'checked' | 'recorded'> {
  const mismatch = () =>
    new ServerKeyMismatch(
      `the server key (${keySource}) is not the key this database was sealed with: every device secret in it would be unreadable. ` +
        'Start slsd with the key the database was created with (SLS_SERVER_KEY or SLS_SERVER_KEY_FILE, or server.key in the data folder); ' +
        'a restored backup needs the key that was backed up with it.',
    );
  const read = async () => (await db.selectFrom('server_meta').select('value').where('name', '=', NAME).executeTakeFirst())?.value;
  const recorded = await read();
  if (recorded !== undefined) {
    if (!opens(box, recorded, CONTEXT, PLAIN)) throw mismatch();
    return 'checked';
  }
  // No check yet: the database predates it, or is new. Its first sealed device secret tells.
  const devices = await db.selectFrom('devices').select(['id', 'secret_sealed']).orderBy('id').limit(20).execute();
  const sealed = devices.find((d) => d.secret_sealed !== null);
  if (sealed && !opens(box, sealed.secret_sealed!, sealContext(sealed.id, 'secret'))) throw mismatch();
  await db
    .insertInto('server_meta')
    .values({ name: NAME, value: box.sealText(PLAIN, CONTEXT) })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  // Several processes starting at once on one PostgreSQL: the first to record wins, the others check against it.
  const now = await read();
  if (now === undefined || !opens(box, now, CONTEXT, PLAIN)) throw mismatch();
  return 'recorded';
}
