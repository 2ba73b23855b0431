// Auto-restart until the weekly cut-off (SPEC L8) and the portal part of temporary access (T1, T2).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoginStep } from '../../core/api.ts';
import { errorCode, getJson, postJson } from '../testing/http.ts';
import { testClock } from '../testing/test-server.ts';
import { ONLINE_CARD_VALIDITY_MS } from '../services/temporary-access.ts';
import { bearer, makeUser, ok, PASSWORD, PORTAL, signIn, startAccountServer, TRADING } from './testing.ts';
import type { AccountTestServer } from './testing.ts';

/** New York wall-clock time in November 2026 (EST, UTC−5). */
const ny = (ymd: string, hh = 10, mm = 0) => Date.parse(`${ymd}T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:00-05:00`);

let t: AccountTestServer;
afterEach(async () => {
  await t.close();
});

describe('auto-restart (SPEC L8)', () => {
  interface Restarted {
    restartToken: string;
    validUntil: string;
    session: { token: string; authenticatedWith: unknown };
  }
  let grant: { restartToken: string; validUntil: string };
  beforeEach(async () => {
    t = await startAccountServer({ clock: testClock(ny('2026-11-04', 9)) }); // a Wednesday
    const u = await makeUser(t, 'rob', ['dscplus']);
    const token = await signIn(t, 'rob', u.devices.dscplus!, TRADING);
    grant = ok(await postJson<{ restartToken: string; validUntil: string }>(t.app, '/v1/login/restart-token', {}, bearer(token)));
  });
  const restart = (restartToken: string, username = 'rob') => postJson<Restarted>(t.app, '/v1/login/restart', { username, restartToken });

  it('L8: the token is valid until Sunday 01:00 New York time and signs in without a second factor', async () => {
    expect(grant.validUntil).toBe('2026-11-08T06:00:00.000Z');
    expect(grant.restartToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const r = ok(await restart(grant.restartToken));
    expect(r.session.authenticatedWith).toBeNull();
    expect(r.validUntil).toBe(grant.validUntil);
    expect(r.restartToken).not.toBe(grant.restartToken);
    const stored = await t.adb.selectFrom('restart_tokens').select('token_hash').execute();
    expect(stored.every((s) => s.token_hash !== grant.restartToken && /^[0-9a-f]{64}$/.test(s.token_hash))).toBe(true);
  });

  it('L8: each token works once; the next one works', async () => {
    const r = ok(await restart(grant.restartToken));
    expect(errorCode(await restart(grant.restartToken))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    expect((await restart(r.restartToken)).status).toBe(200);
  });

  it('L8: the cut-off minute: Sunday 00:59 New York works, 01:00 does not', async () => {
    t.clock.set(ny('2026-11-08', 0, 59));
    const r = ok(await restart(grant.restartToken));
    t.clock.set(ny('2026-11-08', 1, 0));
    expect(errorCode(await restart(r.restartToken))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
  });

  it('L8: a wrong token or another user\'s name is refused and counted as a failure (L6)', async () => {
    expect(errorCode(await restart('x'.repeat(43)))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    await makeUser(t, 'eve', ['scc']);
    expect(errorCode(await restart(grant.restartToken, 'eve'))).toBe('SLS_ERR_RESTART_TOKEN_INVALID');
    const counters = await t.adb.selectFrom('failure_counters').selectAll().where('scope', '=', 'user').execute();
    expect(counters.map((c) => c.subject).sort()).toEqual(['eve', 'rob']);
  });

  it('L8, C6: a restarted session gets no restart token of its own and no portal functions', async () => {
    const r = ok(await restart(grant.restartToken));
    expect(errorCode(await postJson(t.app, '/v1/login/restart-token', {}, bearer(r.session.token)))).toBe('SLS_ERR_SECOND_FACTOR_REQUIRED');
    expect(errorCode(await getJson(t.app, '/v1/devices', bearer(r.session.token)))).toBe('SLS_ERR_SECOND_FACTOR_REQUIRED');
  });
});

describe('temporary access in the portal (SPEC T1, T2)', () => {
  beforeEach(async () => {
    t = await startAccountServer();
    await makeUser(t, 'lost', []);
  });

  async function tempSession(client: object = PORTAL) {
    const issued = await t.provisioning.issueTemporaryPasscode('lost', 'test');
    return { ...issued, token: await signIn(t, 'lost', { device: { id: issued.deviceId } } as never, client, () => issued.passcode) };
  }

  it('T1, T2: the online Security Code Card is shown (224 cells) and works at login for 21 days', async () => {
    const { token } = await tempSession();
    const card = ok(await postJson<{ deviceId: string; cells: string[]; validUntil: string }>(t.app, '/v1/temporary-access/online-card', {}, bearer(token)));
    expect(card.cells).toHaveLength(224);
    const again = ok(await postJson<{ deviceId: string }>(t.app, '/v1/temporary-access/online-card', {}, bearer(token)));
    expect(again.deviceId).toBe(card.deviceId);
    const cardDevice = { device: { id: card.deviceId }, card: { cells: card.cells } } as never;
    // Valid one minute before 21 days …
    t.clock.advance(ONLINE_CARD_VALIDITY_MS - 60_000);
    await signIn(t, 'lost', cardDevice, TRADING);
    // … expired at 21 days.
    t.clock.advance(60_000);
    const step = await postJson<LoginStep>(t.app, '/v1/login', { username: 'lost', password: PASSWORD, client: TRADING });
    expect(errorCode(step)).toBe('SLS_ERR_NO_ACTIVE_DEVICE');
  });

  it('T1: the card can be printed (PDF)', async () => {
    const { token } = await tempSession();
    const pdf = ok(await postJson<{ pdfBase64: string }>(t.app, '/v1/temporary-access/online-card/pdf', {}, bearer(token)));
    expect(Buffer.from(pdf.pdfBase64, 'base64').subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('T1: in the portal-only period the trading platform is refused, the portal and its card are not', async () => {
    const issued = await t.provisioning.issueTemporaryPasscode('lost', 'test');
    t.clock.advance(3 * 24 * 60 * 60 * 1000);
    expect(errorCode(await postJson(t.app, '/v1/login', { username: 'lost', password: PASSWORD, client: TRADING }))).toBe('SLS_ERR_PORTAL_ONLY');
    const token = await signIn(t, 'lost', { device: { id: issued.deviceId } } as never, PORTAL, () => issued.passcode);
    expect((await postJson(t.app, '/v1/temporary-access/online-card', {}, bearer(token))).status).toBe(200);
  });

  it('T1: a user without a temporary passcode gets no online card', async () => {
    const u = await makeUser(t, 'normal', ['dscplus']);
    const token = await signIn(t, 'normal', u.devices.dscplus!);
    expect(errorCode(await postJson(t.app, '/v1/temporary-access/online-card', {}, bearer(token)))).toBe('SLS_ERR_FORBIDDEN');
  });

  it('T1: never two temporary passcodes in a row', async () => {
    await t.provisioning.issueTemporaryPasscode('lost', 'test');
    await expect(t.provisioning.issueTemporaryPasscode('lost', 'test')).rejects.toMatchObject({ code: 'SLS_ERR_TEMP_PASSCODE_IN_A_ROW' });
  });
});
