// An SMS held for the carrier's hours (SPEC P2) is a code at rest: with a real gateway (P5) its body
// waits sealed with the server key (as device secrets, D4), is opened only to leave, and once sent or
// dropped the outbox keeps it with the code masked. The embedded outbox (P5), which is the phone, stays
// readable. Each case reads the raw row the database holds: the SQLite file itself, or PostgreSQL.
import path from 'node:path';
import fs from 'node:fs';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import type { MobileNumberStatus } from '../../core/account-api.ts';
import { accountServices } from '../account/index.ts';
import { accountDb } from '../account/schema.ts';
import { bearer, makeUser, ok, signIn } from '../account/testing.ts';
import type { AccountTestServer } from '../account/testing.ts';
import { runSlsctl } from '../cli/slsctl.ts';
import { SecretBox } from '../crypto/secret-box.ts';
import { describeEachBackend, probePostgres, tempDataDir } from '../db/pg-testing.ts';
import type { FreshDatabase } from '../db/pg-testing.ts';
import { addToDoNotCall } from '../services/phone.ts';
import { postJson } from '../testing/http.ts';
import { startTestServer, testClock } from '../testing/test-server.ts';
import type { SmsGateway, SmsMessage } from './gateway.ts';

const probe = await probePostgres();

const LONDON_AFTERNOON = Date.parse('2026-11-04T14:00:00Z');
/** 22:00 in London: a number verification code waits for the carriers' hours (08:00). */
const LONDON_NIGHT = Date.parse('2026-11-04T22:00:00Z');
const LONDON_MORNING = Date.parse('2026-11-05T08:00:00Z');
const COOL_DOWN_MS = 30_000;

/** The number verification SMS (services/phone.ts), and as the outbox keeps it once sent or dropped. */
const VERIFY_TEXT = /^Your SLS confirmation code is (\d{6})\. Enter it in your user settings to verify this number\.$/;
const VERIFY_MASKED = 'Your SLS confirmation code is ••••••. Enter it in your user settings to verify this number.';

/**
 * The context a held body is sealed with (policy.ts `heldSmsContext`), written out here on purpose:
 * changing it would leave every SMS held at that moment unable to open.
 */
const heldContext = (r: { id: number; to_number: string; user_id: string | null }) => `sms_outbox:${r.id}:body:verify_number:${r.to_number}:${r.user_id ?? ''}`;

interface RawRow {
  id: number;
  to_number: string;
  user_id: string | null;
  body: string;
  sent_at: number | null;
  dropped_reason: string | null;
}

describeEachBackend('an SMS held for the carrier hours is not in clear at rest (P2, P5, D4)', probe, (backend) => {
  let t: AccountTestServer;
  let fresh: FreshDatabase;
  let data: ReturnType<typeof tempDataDir>;
  /** The server key's box, as slsd has it: to show what a sealed row holds, and under which context it opens. */
  let box: SecretBox;
  /** What the real gateway was given; `failing` makes it throw, as a gateway that is down. */
  let sent: SmsMessage[];
  let failing: boolean;

  async function start(gateway: 'real' | 'embedded'): Promise<void> {
    sent = [];
    failing = false;
    const real: SmsGateway = {
      send: async (m) => {
        if (failing) throw new Error('gateway down');
        sent.push(m);
      },
    };
    data = tempDataDir();
    fresh = await backend.freshDatabase(data.dir);
    const base = await startTestServer({
      clock: testClock(LONDON_AFTERNOON),
      dataDir: data.dir,
      ...(gateway === 'real' ? { smsGateway: real } : {}),
      config: { databaseUrl: fresh.url, smsCarrierHours: true },
    });
    t = Object.assign(base, { adb: accountDb(base.services.db) });
    box = new SecretBox(Buffer.from(t.config.serverKey!, 'base64'));
  }
  afterEach(async () => {
    await t.close();
    await fresh.drop();
    data.remove();
  });

  /** The outbox as the database holds it, read around slsd: the SQLite file, or PostgreSQL. */
  async function rawOutbox(): Promise<RawRow[]> {
    const q = 'select id, to_number, user_id, body, sent_at, dropped_reason from sms_outbox order by id';
    let rows: Record<string, unknown>[];
    if (backend.name === 'sqlite') {
      const file = path.join(data.dir, 'sls.db');
      expect(fs.existsSync(file)).toBe(true);
      const db = new SQLite(file, { readonly: true, fileMustExist: true });
      try {
        rows = db.prepare(q).all() as Record<string, unknown>[];
      } finally {
        db.close();
      }
    } else {
      const c = new pg.Client({ connectionString: fresh.url });
      await c.connect();
      try {
        rows = (await c.query<Record<string, unknown>>(q)).rows;
      } finally {
        await c.end();
      }
    }
    // pg gives bigint columns as strings.
    return rows.map((r) => ({
      id: Number(r.id),
      to_number: String(r.to_number),
      user_id: r.user_id === null ? null : String(r.user_id),
      body: String(r.body),
      sent_at: r.sent_at === null ? null : Number(r.sent_at),
      dropped_reason: r.dropped_reason === null ? null : String(r.dropped_reason),
    }));
  }
  const rawRow = async (to: string) => (await rawOutbox()).find((r) => r.to_number === to)!;

  /** A user who asks at 22:00 in London for a code to `number`: it is held until 08:00. */
  async function holdCode(username: string, number: string): Promise<{ userId: string; token: string; verify: (code: string) => Promise<MobileNumberStatus> }> {
    t.clock.set(LONDON_AFTERNOON);
    const u = await makeUser(t, username, ['dscplus']);
    const token = await signIn(t, username, u.devices.dscplus!);
    /** Types the code back (P1) in a session opened at the time (the afternoon's has ended by 08:00). */
    const verify = async (code: string) => {
      const now = await signIn(t, username, u.devices.dscplus!);
      return ok(await postJson<MobileNumberStatus>(t.app, '/v1/mobile-number/verify', { code }, bearer(now)));
    };
    t.clock.set(LONDON_NIGHT);
    const s = ok(await postJson<MobileNumberStatus>(t.app, '/v1/mobile-number', { number }, bearer(token)));
    expect(s.pending).toMatchObject({ deferred: true, deliverAt: new Date(LONDON_MORNING).toISOString() });
    return { userId: u.userId, token, verify };
  }
  const codeOf = (text: string) => VERIFY_TEXT.exec(text)![1]!;

  async function slsctl(args: string[]): Promise<{ code: number; out: string }> {
    let out = '';
    const code = await runSlsctl(['--data-dir', t.dataDir, '--database-url', t.config.databaseUrl, ...args], {
      out: (s) => void (out += s),
      err: (s) => void (out += s),
      readStdin: async () => '',
      promptHidden: async () => null,
      env: { SLS_SERVER_KEY: t.config.serverKey!, SLSCTL_OPERATOR: 'agent.test' },
    });
    return { code, out };
  }

  it('P2, P5, D4: the held row holds the code sealed, under its own row and number only; the gateway gets the exact text at 08:00; the sent row keeps it masked', async () => {
    await start('real');
    const { userId, verify } = await holdCode('phil', '+447400654321');
    const [held] = await rawOutbox();
    expect(held).toMatchObject({ to_number: '+447400654321', user_id: userId, sent_at: null, dropped_reason: null });
    expect(held!.body).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    // What it holds is the SMS, sealed with the server key under this row's context…
    const text = box.openText(held!.body, heldContext(held!));
    expect(text).toMatch(VERIFY_TEXT);
    const code = codeOf(text);
    expect(held!.body).not.toContain(code);
    expect(held!.body).not.toContain('confirmation code');
    // …and under no other: not another row's, not the same row re-addressed to another number or user.
    expect(() => box.openText(held!.body, heldContext({ ...held!, id: held!.id + 1 }))).toThrow();
    expect(() => box.openText(held!.body, heldContext({ ...held!, to_number: '+447400999888' }))).toThrow();
    expect(() => box.openText(held!.body, heldContext({ ...held!, user_id: 'someone-else' }))).toThrow();

    t.clock.set(LONDON_MORNING - 1);
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 0, dropped: 0, failed: 0 });
    expect((await rawOutbox())[0]!.body).toBe(held!.body);
    t.clock.set(LONDON_MORNING);
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 1, dropped: 0, failed: 0 });
    expect(sent).toEqual([{ to: '+447400654321', body: text, userId, purpose: 'verify_number' }]);

    const after = await rawOutbox();
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ sent_at: LONDON_MORNING, dropped_reason: null, body: VERIFY_MASKED });
    expect(after[0]!.body).not.toContain(code);
    // An operator listing the outbox sees what left, to whom and when; not the code.
    const listing = (await slsctl(['sms'])).out;
    expect(listing).toContain(`+447400654321  [verify_number]  ${VERIFY_MASKED}\n`);
    expect(listing).not.toContain(code);
    // The code that left is the one that verifies the number (P1).
    expect((await verify(code)).verified).toBe(true);
  });

  it('P2, N2: a held code dropped at 08:00 (do-not-call, or replaced by a newer code) keeps no code in its row', async () => {
    await start('real');
    const dora = await holdCode('dora', '+447400111222');
    const nina = await holdCode('nina', '+447400333444');
    // Nina corrects her number: the first code no longer waits (code_ended).
    t.clock.advance(COOL_DOWN_MS);
    ok(await postJson<MobileNumberStatus>(t.app, '/v1/mobile-number', { number: '+447400555666' }, bearer(nina.token)));
    await addToDoNotCall(accountServices(t.services).deps, '+447400111222', 'test');
    const held = await rawOutbox();
    const codes = held.map((r) => codeOf(box.openText(r.body, heldContext(r))));

    t.clock.set(LONDON_MORNING);
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 1, dropped: 2, failed: 0 });
    expect(sent.map((m) => m.to)).toEqual(['+447400555666']);
    const rows = await rawOutbox();
    expect(rows.map((r) => [r.to_number, r.user_id, r.dropped_reason, r.sent_at, r.body])).toEqual([
      ['+447400111222', dora.userId, 'do_not_call', null, VERIFY_MASKED],
      ['+447400333444', nina.userId, 'code_ended', null, VERIFY_MASKED],
      ['+447400555666', nina.userId, null, LONDON_MORNING, VERIFY_MASKED],
    ]);
    for (const code of codes) expect(JSON.stringify(rows)).not.toContain(code);
  });

  it('P5: when the gateway fails the row waits sealed for the next round, which sends the exact text', async () => {
    await start('real');
    const { userId } = await holdCode('gina', '+447400654321');
    const [held] = await rawOutbox();
    const text = box.openText(held!.body, heldContext(held!));
    t.clock.set(LONDON_MORNING);
    failing = true;
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 0, dropped: 0, failed: 1 });
    const waiting = (await rawOutbox())[0]!;
    expect(waiting).toMatchObject({ sent_at: null, dropped_reason: null });
    expect(waiting.body).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(waiting.body).not.toContain(codeOf(text));
    expect(box.openText(waiting.body, heldContext(waiting))).toBe(text);
    failing = false;
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 1, dropped: 0, failed: 0 });
    expect(sent).toEqual([{ to: '+447400654321', body: text, userId, purpose: 'verify_number' }]);
    expect((await rawOutbox())[0]!.body).toBe(VERIFY_MASKED);
  });

  it('P2, P5: a row held in clear before bodies were sealed still leaves, as it was, and is masked once sent (sealed if it has to wait again)', async () => {
    await start('real');
    const { userId, verify } = await holdCode('olga', '+447400654321');
    const [held] = await rawOutbox();
    const text = box.openText(held!.body, heldContext(held!));
    // What slsd wrote before: the text itself.
    await t.adb.updateTable('sms_outbox').set({ body: text }).where('id', '=', held!.id).execute();
    expect((await rawOutbox())[0]!.body).toBe(text);

    t.clock.set(LONDON_MORNING);
    failing = true;
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 0, dropped: 0, failed: 1 });
    const waiting = (await rawOutbox())[0]!;
    expect(waiting.body).not.toContain(codeOf(text));
    expect(box.openText(waiting.body, heldContext(waiting))).toBe(text);
    failing = false;
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 1, dropped: 0, failed: 0 });
    expect(sent).toEqual([{ to: '+447400654321', body: text, userId, purpose: 'verify_number' }]);
    expect((await rawOutbox())[0]).toMatchObject({ sent_at: LONDON_MORNING, body: VERIFY_MASKED });
    expect((await verify(codeOf(text))).verified).toBe(true);

    // And one that leaves at the first try.
    const second = await holdCode('oleg', '+447400111222');
    const row = await rawRow('+447400111222');
    const secondText = box.openText(row.body, heldContext(row));
    await t.adb.updateTable('sms_outbox').set({ body: secondText }).where('id', '=', row.id).execute();
    t.clock.set(LONDON_MORNING);
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 1, dropped: 0, failed: 0 });
    expect(sent.at(-1)).toEqual({ to: '+447400111222', body: secondText, userId: second.userId, purpose: 'verify_number' });
    expect((await rawRow('+447400111222')).body).toBe(VERIFY_MASKED);
  });

  it('D4, N2: a sealed body copied into another row does not open there: that row is dropped (unreadable, audited), never sent', async () => {
    await start('real');
    const a = await holdCode('anna', '+447400654321');
    const b = await holdCode('bert', '+447400111222');
    const rowA = await rawRow('+447400654321');
    const textA = box.openText(rowA.body, heldContext(rowA));
    // Someone with write access to the database only: Anna's code into Bert's row, to Bert's phone.
    await t.adb.updateTable('sms_outbox').set({ body: rowA.body }).where('to_number', '=', '+447400111222').execute();
    t.clock.set(LONDON_MORNING);
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 1, dropped: 1, failed: 0 });
    expect(sent).toEqual([{ to: '+447400654321', body: textA, userId: a.userId, purpose: 'verify_number' }]);
    const rowB = await rawRow('+447400111222');
    expect(rowB).toMatchObject({ user_id: b.userId, sent_at: null, dropped_reason: 'unreadable' });
    expect(rowB.body).not.toContain(codeOf(textA));
    expect(rowB.body).not.toMatch(/^v1\./);
    const dropped = await t.adb.selectFrom('audit_log').select(['user_id', 'details']).where('event', '=', 'sms.dropped').execute();
    expect(dropped.map((e) => [e.user_id, JSON.parse(e.details) as unknown])).toEqual([[b.userId, { purpose: 'verify_number', reason: 'unreadable', masked: '+44 ••• ••• ••22' }]]);
  });

  it('P5: slsctl sms dispatch, which has only the outbox gateway, leaves a sealed row to the slsd that has the real one: not marked sent, never written in clear', async () => {
    await start('real');
    const { userId } = await holdCode('rita', '+447400654321');
    const [held] = await rawOutbox();
    const text = box.openText(held!.body, heldContext(held!));
    // slsctl runs on the real clock, after the test clock's morning: the row is due, its code kept alive.
    await t.adb.updateTable('mobile_verifications').set({ expires_at: Date.now() + 60 * 60 * 1000 }).execute();
    expect(await slsctl(['sms', 'dispatch'])).toEqual({ code: 0, out: 'sent 0, dropped 0, failed 0\n' });
    expect((await rawOutbox())[0]).toEqual(held);
    const listing = (await slsctl(['sms'])).out;
    expect(listing).toContain('(deferred until 2026-11-05T08:00:00.000Z)');
    expect(listing).not.toContain(codeOf(text));
    t.clock.set(LONDON_MORNING);
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 1, dropped: 0, failed: 0 });
    expect(sent).toEqual([{ to: '+447400654321', body: text, userId, purpose: 'verify_number' }]);
  });

  it('P5: with the embedded outbox gateway the outbox is the phone: the held code is readable (slsctl sms), and stays so once sent; a dropped one is masked', async () => {
    await start('embedded');
    const { verify } = await holdCode('otto', '+447400654321');
    await holdCode('dina', '+447400111222');
    const held = await rawRow('+447400654321');
    expect(held.body).toMatch(VERIFY_TEXT);
    const code = codeOf(held.body);
    expect((await slsctl(['sms'])).out).toContain(`+447400654321  [verify_number]  ${held.body}  (deferred until 2026-11-05T08:00:00.000Z)\n`);

    await addToDoNotCall(accountServices(t.services).deps, '+447400111222', 'test');
    t.clock.set(LONDON_MORNING);
    expect(await t.services.sms.dispatchDue()).toEqual({ sent: 1, dropped: 1, failed: 0 });
    expect(await rawRow('+447400654321')).toEqual({ ...held, sent_at: LONDON_MORNING });
    expect(await rawRow('+447400111222')).toMatchObject({ dropped_reason: 'do_not_call', body: VERIFY_MASKED });
    // The demo user reads the code from the outbox and types it (P1).
    const listing = (await slsctl(['sms'])).out;
    expect(listing).toContain(`+447400654321  [verify_number]  Your SLS confirmation code is ${code}. Enter it in your user settings to verify this number.\n`);
    expect(listing).toContain(`+447400111222  [verify_number]  ${VERIFY_MASKED}  (dropped: do_not_call)\n`);
    expect((await verify(code)).verified).toBe(true);
  });
});
