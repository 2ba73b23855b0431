// Security regressions: secrets encrypted at rest (SPEC D4), audit log append-only (N2), no secrets in the audit log.
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEVICE_CATALOGUE } from '../core/devices.ts';
import { ocraPasswordHash } from '../core/ocra.ts';
import { SecretBox } from './crypto/secret-box.ts';
import { actAsDevice, login, postJson } from './testing/http.ts';
import { startTestServer } from './testing/test-server.ts';
import type { TestServer } from './testing/test-server.ts';

const PASSWORD = 'Correct-Horse-1';
let t: TestServer;

beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

/** The raw bytes of the SQLite file and its WAL, after a checkpoint (PostgreSQL: every row of every table, as text). */
async function rawDatabase(): Promise<Buffer> {
  if (t.services.database.dialect === 'postgres') {
    const tables = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public'`.execute(t.services.db);
    const dump: unknown[] = [];
    for (const { tablename } of tables.rows) dump.push((await sql.raw(`select * from "${tablename}"`).execute(t.services.db)).rows);
    return Buffer.from(JSON.stringify(dump));
  }
  await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(t.services.db);
  const file = path.join(t.dataDir, 'sls.db');
  const parts = [fs.readFileSync(file)];
  if (fs.existsSync(file + '-wal')) parts.push(fs.readFileSync(file + '-wal'));
  return Buffer.concat(parts);
}

describe('secrets at rest (SPEC D4)', () => {
  it('keeps no device secret, PIN, PIN hash, card code or passcode in clear in the database file', async () => {
    const entityId = await t.provisioning.createEntity({ name: 'Secret Keeper', ssn: '078-05-1120' });
    await t.provisioning.createUser({ username: 'u.secrets', entityId, password: PASSWORD });
    const devices = [];
    for (const kind of ['dscplus', 'platinum', 'gold', 'dsc', 'ibkey', 'scc'] as const) devices.push(await t.provisioning.addDevice({ username: 'u.secrets', kind }));
    const { passcode } = await t.provisioning.issueTemporaryPasscode('u.secrets', 'test');
    const raw = await rawDatabase();
    const needles: Buffer[] = [Buffer.from(PASSWORD), Buffer.from('078-05-1120'), Buffer.from(passcode)];
    for (const d of devices) {
      if (d.secret) needles.push(Buffer.from(d.secret), Buffer.from(Buffer.from(d.secret).toString('hex')), Buffer.from(Buffer.from(d.secret).toString('base64')));
      if (d.pin) needles.push(Buffer.from(ocraPasswordHash(DEVICE_CATALOGUE.dscplus.ocraSuite!, d.pin)));
      // Six-character runs of a card (two adjacent cells) would not appear by chance in the ciphertext.
      if (d.card) for (let i = 0; i + 1 < d.card.cells.length; i += 7) needles.push(Buffer.from(d.card.cells[i]! + d.card.cells[i + 1]!));
    }
    for (const needle of needles) expect(raw.includes(needle), `found ${needle.toString('hex')} in clear`).toBe(false);
    // The PIN itself: 4 digits would occur by chance; check the sealed columns instead.
    const row = await t.services.db.selectFrom('devices').selectAll().where('kind', '=', 'dscplus').executeTakeFirstOrThrow();
    expect(row.pin_hash_sealed).toMatch(/^v1\./);
    expect(row.secret_sealed).toMatch(/^v1\./);
  });

  it('binds each sealed value to its row: a value moved to another device does not open', () => {
    const box = new SecretBox(new Uint8Array(32).fill(7));
    const sealed = box.seal(new Uint8Array([1, 2, 3]), 'device:a:secret');
    expect([...box.open(sealed, 'device:a:secret')]).toEqual([1, 2, 3]);
    expect(() => box.open(sealed, 'device:b:secret')).toThrow();
    expect(() => new SecretBox(new Uint8Array(32).fill(8)).open(sealed, 'device:a:secret')).toThrow();
  });
});

describe('the audit log (SPEC N2)', () => {
  it('refuses UPDATE and DELETE at the database', async () => {
    await login(t.app, 'nobody', 'bad password');
    const db = t.services.db;
    expect((await db.selectFrom('audit_log').selectAll().execute()).length).toBeGreaterThan(0);
    await expect(db.updateTable('audit_log').set({ event: 'forged' }).execute()).rejects.toThrow(/append-only/);
    await expect(db.deleteFrom('audit_log').execute()).rejects.toThrow(/append-only/);
  });

  it('records logins, failures, device changes and temporary access, never a secret', async () => {
    const entityId = await t.provisioning.createEntity({ name: 'a' });
    await t.provisioning.createUser({ username: 'u.audit', entityId, password: PASSWORD });
    const dsc = await t.provisioning.addDevice({ username: 'u.audit', kind: 'dsc' });
    await login(t.app, 'u.audit', 'wrong-password-123');
    const step = await login(t.app, 'u.audit', PASSWORD);
    if (step.body.status !== 'challenge') throw new Error('expected challenge');
    const answer = actAsDevice(dsc, step.body);
    const done = await postJson(t.app, `/v1/login/${step.body.transactionId}/response`, { response: answer });
    if (done.body.status !== 'signed_in') throw new Error('expected signed_in');
    await t.provisioning.setDeviceStatus(dsc.device.id, 'lost');
    const { passcode } = await t.provisioning.issueTemporaryPasscode('u.audit', 'agent.smith');
    const rows = await t.services.db.selectFrom('audit_log').selectAll().orderBy('id').execute();
    const events = rows.map((r) => r.event);
    for (const e of ['user.created', 'device.added', 'login.password_failed', 'login.succeeded', 'device.status_changed', 'temporary_access.issued']) expect(events).toContain(e);
    const all = JSON.stringify(rows);
    for (const secret of [PASSWORD, 'wrong-password-123', answer, passcode, done.body.session.token, Buffer.from(dsc.secret!).toString('hex')]) {
      expect(all).not.toContain(secret);
    }
  });
});
