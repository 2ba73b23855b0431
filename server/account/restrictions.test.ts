// The restrictions of a session with their stable codes (SPEC O2, P1, T1, S1b; UI audit #4), on SQLite
// and PostgreSQL: clients translate the code and fall back to the English sentence, which stays as it was.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { RESTRICTION_CODES, SessionInfo } from '../../core/api.ts';
import type { LoginStep } from '../../core/api.ts';
import { describeEachBackend, probePostgres, tempDataDir } from '../db/pg-testing.ts';
import type { FreshDatabase } from '../db/pg-testing.ts';
import type { ProvisionedDevice } from '../services/provisioning.ts';
import { getJson, postJson } from '../testing/http.ts';
import { testClock } from '../testing/test-server.ts';
import { RESTRICTIONS, restrictionsOf } from './restrictions.ts';
import { answer, bearer, makeUser, ok, PASSWORD, PORTAL, signIn, startAccountServer, TRADING } from './testing.ts';
import type { AccountTestServer } from './testing.ts';

const probe = await probePostgres();
const NOW = Date.parse('2026-11-04T15:00:00Z');
const DAY = 24 * 3600_000;

describeEachBackend('session restrictions carry stable codes (O2, P1, T1, S1b)', probe, (backend) => {
  let t: AccountTestServer;
  let fresh: FreshDatabase;
  let data: ReturnType<typeof tempDataDir>;

  beforeEach(async () => {
    data = tempDataDir();
    fresh = await backend.freshDatabase(data.dir);
    t = await startAccountServer({ clock: testClock(NOW), dataDir: data.dir, config: { databaseUrl: fresh.url } });
  });
  afterEach(async () => {
    await t.close();
    await fresh.drop();
    data.remove();
  });

  /** The session as GET /v1/session answers it, checked against the API schema. */
  async function session(token: string): Promise<SessionInfo> {
    return SessionInfo.parse(ok(await getJson<SessionInfo>(t.app, '/v1/session', bearer(token))));
  }
  const codes = (s: SessionInfo) => s.restrictionDetails.map((r) => r.code);

  it('none: a verified mobile number, not opted out', async () => {
    const u = await makeUser(t, 'vera', ['gold']);
    const s = await session(await signIn(t, 'vera', u.devices.gold!, TRADING));
    expect(s.restrictions).toEqual([]);
    expect(s.restrictionDetails).toEqual([]);
  });

  it('P1: no verified mobile number: SLS_RESTRICTION_MOBILE_NOT_VERIFIED, the English sentence unchanged beside it', async () => {
    const u = await makeUser(t, 'nomo', ['gold'], { mobile: null });
    const s = await session(await signIn(t, 'nomo', u.devices.gold!, TRADING));
    expect(s.restrictionDetails).toEqual([{ code: 'SLS_RESTRICTION_MOBILE_NOT_VERIFIED', message: 'Trading restricted: mobile number not verified' }]);
    expect(s.restrictions).toEqual(['Trading restricted: mobile number not verified']);
  });

  it('O2: opted out: SLS_RESTRICTION_OPT_OUT on the login answer and on GET /v1/session', async () => {
    const u = await makeUser(t, 'otto', ['gold'], { mobile: null });
    const portal = await signIn(t, 'otto', u.devices.gold!, PORTAL);
    ok(await postJson(t.app, '/v1/sls/opt-out', { username: 'otto' }, bearer(portal)));
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'otto', password: PASSWORD, client: TRADING }));
    if (step.status !== 'signed_in') throw new Error(`expected signed_in, got ${step.status}`);
    const expected = [
      { code: 'SLS_RESTRICTION_OPT_OUT', message: 'Pink Sheet and OTCBB trading restricted: SLS opt-out' },
      { code: 'SLS_RESTRICTION_MOBILE_NOT_VERIFIED', message: 'Trading restricted: mobile number not verified' },
    ];
    expect(SessionInfo.parse(step.session).restrictionDetails).toEqual(expected);
    expect(step.session.restrictions).toEqual(expected.map((r) => r.message));
    expect((await session(step.session.token)).restrictionDetails).toEqual(expected);
  });

  it('O2, C1: a second-factor login answers the session as GET /v1/session describes it: the account, the opt-out (on PostgreSQL read with the login\'s completion)', async () => {
    const u = await makeUser(t, 'olga', ['gold'], { accountNumber: 'U7654321' });
    const portal = await signIn(t, 'olga', u.devices.gold!, PORTAL);
    ok(await postJson(t.app, '/v1/sls/opt-out', { username: 'olga' }, bearer(portal)));
    // The Client Portal still asks an opted-out user for the second factor (O1): the response step opens this session.
    const step = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'olga', password: PASSWORD, client: PORTAL }));
    if (step.status !== 'challenge') throw new Error(`expected a challenge, got ${step.status}`);
    const done = ok(await postJson<LoginStep>(t.app, `/v1/login/${step.transactionId}/response`, { response: answer(u.devices.gold!, step.challenge) }));
    if (done.status !== 'signed_in') throw new Error(`expected signed_in, got ${done.status}`);
    const answered = SessionInfo.parse(done.session);
    expect(answered.account).toMatchObject({ number: 'U7654321', primaryUser: 'olga' });
    expect(codes(answered)).toContain('SLS_RESTRICTION_OPT_OUT');
    expect(answered).toEqual(await session(answered.token));
  });

  it('T1, S1b: a temporary passcode blocks sharing; in its portal-only days the Client Portal functions only', async () => {
    await makeUser(t, 'tess', []);
    const { passcode, deviceId } = await t.provisioning.issueTemporaryPasscode('tess', 'test');
    const device = { device: { id: deviceId } } as ProvisionedDevice;
    const full = await session(await signIn(t, 'tess', device, TRADING, () => passcode));
    expect(full.access).toBe('full');
    expect(codes(full)).toEqual(['SLS_RESTRICTION_TEMPORARY_NO_SHARING']);
    expect(full.restrictions).toEqual(['Temporary access: device sharing is blocked']);

    t.clock.advance(3 * DAY); // past the 2 days of full access
    const later = await session(await signIn(t, 'tess', device, PORTAL, () => passcode));
    expect(later.access).toBe('portal_only');
    expect(later.restrictionDetails).toEqual([
      { code: 'SLS_RESTRICTION_PORTAL_ONLY', message: 'Temporary passcode: Client Portal functions only' },
      { code: 'SLS_RESTRICTION_TEMPORARY_NO_SHARING', message: 'Temporary access: device sharing is blocked' },
    ]);
  });
});

it('every known code has its sentence, and restrictionsOf answers codes in a fixed order', () => {
  expect(Object.keys(RESTRICTIONS).sort()).toEqual([...RESTRICTION_CODES].sort());
  for (const code of RESTRICTION_CODES) expect(code).toMatch(/^SLS_RESTRICTION_[A-Z_]+$/);
  expect(restrictionsOf(true, null).map((r) => r.code)).toEqual(['SLS_RESTRICTION_OPT_OUT', 'SLS_RESTRICTION_MOBILE_NOT_VERIFIED']);
  expect(restrictionsOf(false, NOW)).toEqual([]);
});
