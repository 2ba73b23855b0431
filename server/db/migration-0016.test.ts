// Upgrading a database from migration 0015 to 0016 (SPEC P2, P5: SMS codes at rest), on SQLite and
// PostgreSQL (N1). An slsd from before the masking of codes left the SMS it sent or dropped in the
// outbox with their code in clear, for the outbox's 30 days. After the upgrade housekeeping masks them
// as the dispatcher masks them now (sms/policy.ts `maskSmsCode`), once: the dropped ones always, the
// sent ones only in an slsd with a real gateway (the embedded outbox is the phone: its sent rows stay
// readable, as they do now). Held rows, and the embedded outbox's own messages, are never touched.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, expect, it, vi } from 'vitest';
import { accountDb } from '../account/schema.ts';
import { runSlsctl } from '../cli/slsctl.ts';
import type { SlsConfig } from '../config.ts';
import { sweepExpired } from '../services/housekeeping.ts';
import type { SmsGateway, SmsMessage } from '../sms/gateway.ts';
import { startTestServer, testClock } from '../testing/test-server.ts';
import type { TestServer } from '../testing/test-server.ts';
import { databaseAtMigration } from './migration-testing.ts';
import { describeEachBackend, probePostgres, tempDataDir } from './pg-testing.ts';
import type { FreshDatabase, StorageBackend } from './pg-testing.ts';

const probe = await probePostgres();

/**
 * The upgrade: now, as slsctl (which runs on the real clock) sweeps too, and the rows from before must
 * be within the outbox's 30 days for it as for slsd. Test servers deliver at any hour (no carrier hours).
 */
const UPGRADE = Date.now();
const HOUR = 3_600_000;
const BEFORE = UPGRADE - 48 * HOUR;

/** The SMS texts slsd writes (services/phone.ts, verifiers/sms.ts). */
const verifyText = (code: string) => `Your SLS confirmation code is ${code}. Enter it in your user settings to verify this number.`;
const loginText = (code: string) => `Your SLS login code is ${code}. It expires in 5 minutes. Never share it: client services never ask for it.`;
const MASKED = '••••••';

/** The outbox as an slsd from before the masking left it, by what each row is. */
const OLD_ROWS = {
  /** Held for the carrier's hours, then sent: the code in clear. */
  sent: { to_number: '+447400111111', body: verifyText('111111'), not_before: BEFORE, sent_at: BEFORE, dropped_reason: null },
  /** Held, then dropped (the number went on the do-not-call list): the code in clear, never delivered. */
  dropped: { to_number: '+447400222222', body: verifyText('222222'), not_before: BEFORE, sent_at: null, dropped_reason: 'do_not_call' },
  /** The embedded outbox's own message (P5): a login code written at once, the row is the message. */
  outbox: { to_number: '+447400333333', body: loginText('333333'), not_before: null, sent_at: null, dropped_reason: null },
  /** Still held at the upgrade: the dispatcher owes it, and masks it when it settles. */
  held: { to_number: '+447400444444', body: verifyText('444444'), not_before: UPGRADE + HOUR, sent_at: null, dropped_reason: null },
  /** Held, then dropped as its code no longer waited. */
  ended: { to_number: '+447400555555', body: verifyText('555555'), not_before: BEFORE, sent_at: null, dropped_reason: 'code_ended' },
  /** Sent by an slsd that already masked (sms/policy.ts since bodies are sealed). */
  masked: { to_number: '+447400666666', body: verifyText(MASKED), not_before: BEFORE, sent_at: BEFORE, dropped_reason: null },
} as const;
type RowName = keyof typeof OLD_ROWS;

/**
 * A database at `0015_sharing_ended_reason`, as an slsd released before migration 0016 left it: the
 * rows above, written with plain inserts on a connection of its own, then closed.
 */
async function databaseAt0015(url: string): Promise<void> {
  await databaseAtMigration(url, '0015_sharing_ended_reason', async (db) => {
    for (const [name, row] of Object.entries(OLD_ROWS)) {
      await db
        .insertInto('sms_outbox')
        .values({ at: BEFORE, user_id: `usr_${name}`, purpose: name === 'outbox' ? 'login_code' : 'verify_number', ...row })
        .execute();
    }
  });
}

describeEachBackend('migration 0016: SMS codes an earlier slsd left in clear are masked (SPEC P2, P5, N1)', probe, (backend: StorageBackend) => {
  let data: ReturnType<typeof tempDataDir> | undefined;
  let fresh: FreshDatabase | undefined;
  let t: TestServer | undefined;
  /** One server key for the database's life: slsd refuses to start with another (SPEC D4). */
  const serverKey = randomBytes(32).toString('base64');
  /** What the real gateway was given. */
  let sent: SmsMessage[] = [];
  const realGateway: SmsGateway = { send: async (m) => void sent.push(m) };

  afterEach(async () => {
    await t?.close();
    await fresh?.drop();
    data?.remove();
    [t, fresh, data] = [undefined, undefined, undefined];
    sent = [];
  });

  async function upgrade(): Promise<void> {
    data = tempDataDir('slsd-migration-0016-');
    fresh = await backend.freshDatabase(data.dir);
    await databaseAt0015(fresh.url);
  }
  /** slsd starts on the database (and migrates it, as after an upgrade: db/connect.ts). */
  async function start(gateway: 'real' | 'embedded', config: Partial<SlsConfig> = {}): Promise<TestServer> {
    await t?.close();
    t = await startTestServer({
      clock: testClock(UPGRADE),
      dataDir: data!.dir,
      ...(gateway === 'real' ? { smsGateway: realGateway } : {}),
      config: { databaseUrl: fresh!.url, serverKey, ...config },
    });
    return t;
  }
  const bodies = async (): Promise<Record<RowName, string>> => {
    const rows = await accountDb(t!.services.db).selectFrom('sms_outbox').select(['user_id', 'body']).orderBy('id').execute();
    return Object.fromEntries(rows.map((r) => [r.user_id!.replace(/^usr_/, ''), r.body])) as Record<RowName, string>;
  };
  const marks = async () => (await t!.services.db.selectFrom('server_meta').select(['name', 'value']).orderBy('name').execute()).filter((m) => m.name.startsWith('sms_outbox_'));
  /** One housekeeping sweep as slsd's (app.ts) with this slsd's gateway. */
  const sweep = async () =>
    (await sweepExpired(t!.services.db, t!.clock.now(), { graceMs: t!.config.housekeepingGraceMs, addressFailureWindowMs: t!.config.addressFailureWindowMs, smsRetentionMs: t!.config.smsRetentionMs, maskSmsCodes: t!.services.sms.settledMasking }))
      .smsCodesMasked;
  async function slsctlHousekeeping(): Promise<string> {
    let out = '';
    const code = await runSlsctl(['--data-dir', data!.dir, '--database-url', fresh!.url, 'housekeeping'], {
      out: (s) => void (out += s),
      err: (s) => void (out += s),
      readStdin: async () => '',
      promptHidden: async () => null,
      env: { SLS_SERVER_KEY: serverKey, SLSCTL_OPERATOR: 'agent.test' },
    });
    expect(code, out).toBe(0);
    return out;
  }

  const before: Record<RowName, string> = Object.fromEntries(Object.entries(OLD_ROWS).map(([name, row]) => [name, row.body])) as Record<RowName, string>;

  it('P2, P5: slsd with a real gateway masks the codes of the rows sent and dropped before, once; held rows and the outbox\'s own messages stay; the held one is masked when it settles', async () => {
    await upgrade();
    // Its periodic housekeeping (app.ts), every 25 ms here.
    await start('real', { housekeepingIntervalMs: 25 });
    const ran = await sql<{ name: string }>`select name from kysely_migration`.execute(t!.services.db);
    expect(ran.rows.map((r) => r.name)).toContain('0016_sms_codes_unmasked_below');
    const after = { ...before, sent: verifyText(MASKED), dropped: verifyText(MASKED), ended: verifyText(MASKED) };
    await vi.waitFor(async () => expect(await bodies()).toEqual(after), { timeout: 10_000, interval: 25 });
    await vi.waitFor(async () => expect(await marks()).toEqual([]), { timeout: 10_000, interval: 25 });

    // Again: nothing more changes, by slsd or by slsctl.
    expect(await sweep()).toBe(0);
    expect(await sweep()).toBe(0);
    expect(await slsctlHousekeeping()).not.toMatch(/SMS codes masked/);
    expect(await bodies()).toEqual(after);

    // The row held at the upgrade: left to the dispatcher, which drops it (its code no longer waits:
    // no verification) with the code masked.
    t!.clock.set(UPGRADE + HOUR);
    expect(await t!.services.sms.dispatchDue()).toEqual({ sent: 0, dropped: 1, failed: 0 });
    expect(await bodies()).toEqual({ ...after, held: verifyText(MASKED) });
    expect(sent).toEqual([]);
  });

  it('P5: with the embedded outbox only the dropped rows lose their code (its sent rows are the messages); slsctl does the same; an slsd with a real gateway later masks the sent ones', async () => {
    await upgrade();
    await start('embedded');
    expect(await marks()).toHaveLength(2);
    const dropped = { ...before, dropped: verifyText(MASKED), ended: verifyText(MASKED) };
    expect(await sweep()).toBe(2);
    expect(await bodies()).toEqual(dropped);
    expect(await sweep()).toBe(0);
    expect(await slsctlHousekeeping()).not.toMatch(/SMS codes masked/);
    expect(await bodies()).toEqual(dropped);
    // The sent rows wait for an slsd that sends for real.
    expect((await marks()).map((m) => m.name)).toEqual(['sms_outbox_codes_unmasked_below:sent']);

    await start('real');
    expect(await sweep()).toBe(1);
    expect(await bodies()).toEqual({ ...dropped, sent: verifyText(MASKED) });
    expect(await marks()).toEqual([]);
    expect(await sweep()).toBe(0);
  });

  it('P2, P5: slsctl housekeeping on a database from before masks the dropped rows\' codes and says so', async () => {
    await upgrade();
    expect(await slsctlHousekeeping()).toMatch(/SMS codes masked in settled outbox rows from before migration 0016 2\n$/);
    await start('embedded');
    expect(await bodies()).toEqual({ ...before, dropped: verifyText(MASKED), ended: verifyText(MASKED) });
  });

  it('a new database has no mark: nothing from before to mask', async () => {
    data = tempDataDir('slsd-migration-0016-');
    fresh = await backend.freshDatabase(data.dir);
    await start('real');
    expect(await marks()).toEqual([]);
    expect(await sweep()).toBe(0);
  });
});
