// The demo data: every demo user logs in with the files the demo wrote (README.md "Demo users").
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoginStep } from '../core/api.ts';
import { DEMO_PASSWORD, seedDemo } from './demo.ts';
import type { DemoData } from './demo.ts';
import { login, postJson } from './testing/http.ts';
import { startTestServer } from './testing/test-server.ts';
import type { TestServer } from './testing/test-server.ts';
import { respondWithTokenFile } from './tokens/software-token.ts';

let t: TestServer;
let demo: DemoData;

beforeAll(async () => {
  t = await startTestServer();
  demo = (await seedDemo(t.services))!;
});
afterAll(async () => {
  await t.close();
});

async function answerFor(username: string, step: LoginStep & { status: 'challenge' }): Promise<string> {
  const device = demo.users.find((u) => u.username === username)!.devices.find((d) => d.deviceId === step.challenge.deviceId)!;
  const c = step.challenge;
  switch (c.type) {
    case 'response_code':
      return respondWithTokenFile(path.join(t.dataDir, device.file!), c.challenge, device.pin);
    case 'index_numbers': {
      const card = JSON.parse(fs.readFileSync(path.join(t.dataDir, device.file!.replace(/\.pdf$/, '.card.json')), 'utf8')) as { cells: string[] };
      return card.cells[c.indexes[0] - 1]! + card.cells[c.indexes[1] - 1]!;
    }
    case 'sms_code': {
      const sms = await t.services.db.selectFrom('sms_outbox').select('body').orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
      return /(\d{6})/.exec(sms.body)![1]!;
    }
    case 'passcode':
      return device.passcode!;
    default:
      throw new Error(`no answer for ${c.type}`);
  }
}

describe('demo data', () => {
  it('seeds only an empty database, and writes the README', async () => {
    expect(await seedDemo(t.services)).toBeNull();
    const readme = fs.readFileSync(path.join(t.dataDir, 'demo', 'README.txt'), 'utf8');
    expect(readme).toContain(DEMO_PASSWORD);
    for (const u of demo.users) expect(readme).toContain(u.username);
  });

  for (const username of ['demo.dscplus', 'demo.ibkey', 'demo.platinum', 'demo.gold', 'demo.dsc', 'demo.scc', 'demo.sms', 'demo.temp']) {
    it(`signs in ${username} with its demo files`, async () => {
      const r = await login(t.app, username, DEMO_PASSWORD);
      if (r.body.status !== 'challenge') throw new Error(JSON.stringify(r.body));
      // IB Key pushes by default (SPEC L7); its demo token file answers the offline challenge (K2).
      const step = r.body.challenge.type === 'push' ? (await postJson(t.app, `/v1/login/${r.body.transactionId}/device`, { deviceId: r.body.challenge.deviceId, mode: 'offline' })).body : r.body;
      if (step.status !== 'challenge') throw new Error(JSON.stringify(step));
      const done = await postJson(t.app, `/v1/login/${step.transactionId}/response`, { response: await answerFor(username, step) });
      expect(done.body.status, JSON.stringify(done.body)).toBe('signed_in');
    });
  }

  it('signs demo.optout in to the trading platform without a second factor, restricted; the Client Portal asks for its Gold device (O1, O2, C6)', async () => {
    const trading = await login(t.app, 'demo.optout', DEMO_PASSWORD);
    if (trading.body.status !== 'signed_in') throw new Error(JSON.stringify(trading.body));
    expect(trading.body.session.authenticatedWith).toBeNull();
    expect(trading.body.session.restrictions.join(' ')).toMatch(/Pink Sheet/);
    const portal = await login(t.app, 'demo.optout', DEMO_PASSWORD, { kind: 'client_portal', version: 1 });
    if (portal.body.status !== 'challenge') throw new Error(JSON.stringify(portal.body));
    expect(portal.body.challenge.kind).toBe('gold');
    const done = await postJson(t.app, `/v1/login/${portal.body.transactionId}/response`, { response: await answerFor('demo.optout', portal.body) });
    expect(done.body.status, JSON.stringify(done.body)).toBe('signed_in');
    expect(fs.readFileSync(path.join(t.dataDir, 'demo', 'README.txt'), 'utf8')).toMatch(/demo\.optout.*\n.*opted out/);
  });

  it("lets demo.family share demo.gold's Gold device, approved at once (same entity, S1, S4), and end it (S5)", async () => {
    const r = await login(t.app, 'demo.family', DEMO_PASSWORD);
    if (r.body.status !== 'challenge') throw new Error(JSON.stringify(r.body));
    const signed = await postJson(t.app, `/v1/login/${r.body.transactionId}/response`, { response: await answerFor('demo.family', r.body) });
    if (signed.body.status !== 'signed_in') throw new Error(JSON.stringify(signed.body));
    const auth = { authorization: `Bearer ${signed.body.session.token}` };
    const started = await postJson<{ request: { id: string; device: { kind: string } }; confirmation: { confirmationId: string; challenge: { challenge: string } } }>(
      t.app,
      '/v1/sharing',
      { ownerUsername: 'demo.gold', ownerPassword: DEMO_PASSWORD },
      auth,
    );
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    expect(started.body.request.device.kind).toBe('gold');
    const gold = demo.users.find((u) => u.username === 'demo.gold')!.devices[0]!;
    const response = respondWithTokenFile(path.join(t.dataDir, gold.file!), started.body.confirmation.challenge.challenge);
    const id = started.body.request.id;
    expect((await postJson(t.app, `/v1/sharing/${id}/response`, { confirmationId: started.body.confirmation.confirmationId, response }, auth)).status).toBe(200);
    expect((await postJson<{ state: string }>(t.app, `/v1/sharing/${id}/submit`, {}, auth)).body.state).toBe('approved');
    // demo.gold ends it (S5): demo.family's own card is active again.
    const g = await login(t.app, 'demo.gold', DEMO_PASSWORD);
    if (g.body.status !== 'challenge') throw new Error(JSON.stringify(g.body));
    const owner = await postJson(t.app, `/v1/login/${g.body.transactionId}/response`, { response: await answerFor('demo.gold', g.body) });
    if (owner.body.status !== 'signed_in') throw new Error(JSON.stringify(owner.body));
    expect((await postJson<{ state: string }>(t.app, `/v1/sharing/${id}/cancel`, {}, { authorization: `Bearer ${owner.body.session.token}` })).body.state).toBe('cancelled');
    expect(fs.readFileSync(path.join(t.dataDir, 'demo', 'README.txt'), 'utf8')).toMatch(/demo\.family.*\n.*same entity as demo\.gold/);
  });

  it('gives demo.m2fs the drop-down of DSC+, SCC and IB Key, and each signs in', async () => {
    for (const kind of ['dscplus', 'scc', 'ibkey']) {
      const r = await login(t.app, 'demo.m2fs', DEMO_PASSWORD);
      if (r.body.status !== 'select_device') throw new Error(JSON.stringify(r.body));
      expect(r.body.devices.map((d) => d.kind)).toEqual(['dscplus', 'scc', 'ibkey']);
      const step = await postJson(t.app, `/v1/login/${r.body.transactionId}/device`, { deviceId: r.body.devices.find((d) => d.kind === kind)!.id, mode: 'offline' });
      if (step.body.status !== 'challenge') throw new Error(JSON.stringify(step.body));
      const done = await postJson(t.app, `/v1/login/${step.body.transactionId}/response`, { response: await answerFor('demo.m2fs', step.body) });
      expect(done.body.status).toBe('signed_in');
    }
  });
});
