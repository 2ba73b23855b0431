// A trader's temporary access and SMS second factor as client services and the trader see them, on
// SQLite and PostgreSQL: the online Security Code Card stops at the end of its 21 days whatever is under
// way (SPEC T2, D5), "never two temporary passcodes in a row" holds when two operators issue one at the
// same moment (T1, N1), and the SMS device names the number its codes go to after a new one is verified
// (P1, P4, L2, L4).
import { describe, expect, it } from 'vitest';
import type { MobileNumberStatus, MobileNumberVerifyResponse } from '../../core/account-api.ts';
import type { LoginStep } from '../../core/api.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import { ONLINE_CARD_VALIDITY_MS } from '../services/temporary-access.ts';
import { errorCode, postJson } from '../testing/http.ts';
import { accountServerForEachTest, bearer, makeUser, ok, PASSWORD, PORTAL, signIn, TRADING } from './testing.ts';
import type { AccountTestServer } from './testing.ts';

const probe = await probePostgres();

/** Noon in London, a Wednesday: inside the carriers' hours, every SMS goes at once. */
const LONDON_NOON = Date.parse('2026-11-04T12:00:00Z');
const DAY_MS = 24 * 60 * 60 * 1000;

interface OnlineCard {
  deviceId: string;
  cells: string[];
  validUntil: string;
}

describeEachBackend('temporary access and SMS for the trader (T1, T2, P1, P4)', probe, (backend) => {
  let t: AccountTestServer;
  accountServerForEachTest(backend, LONDON_NOON, (server) => (t = server));

  const tradingLogin = (username: string) => postJson<LoginStep>(t.app, '/v1/login', { username, password: PASSWORD, client: TRADING });
  const sessionCount = async () => (await t.adb.selectFrom('sessions').select('id').execute()).length;
  const failureCounters = () => t.adb.selectFrom('failure_counters').selectAll().execute();

  /** A user who lost access, signed in to the portal with a temporary passcode, who viewed the online card. */
  async function withOnlineCard(username: string): Promise<OnlineCard> {
    await makeUser(t, username, []);
    const issued = await t.provisioning.issueTemporaryPasscode(username, 'test');
    const portal = await signIn(t, username, { device: { id: issued.deviceId } } as never, PORTAL, () => issued.passcode);
    return ok(await postJson<OnlineCard>(t.app, '/v1/temporary-access/online-card', {}, bearer(portal)));
  }

  describe('the online Security Code Card ends with its 21 days (T2, D5)', () => {
    it('T2: its pair shown a minute before the end, its right codes typed after it open nothing (SLS_ERR_DEVICE_NOT_AVAILABLE); no session, no failure counted', async () => {
      const card = await withOnlineCard('lost');
      t.clock.set(Date.parse(card.validUntil) - 60_000);
      const step = ok(await tradingLogin('lost'));
      if (step.status !== 'challenge' || step.challenge.type !== 'index_numbers') throw new Error(`expected the card's index numbers, got ${JSON.stringify(step)}`);
      expect(step.challenge.deviceId).toBe(card.deviceId);
      const [i, j] = step.challenge.indexes;
      const before = await sessionCount();
      t.clock.advance(2 * 60_000); // the login (5 minutes) is still open; the card is not
      const answer = await postJson<LoginStep>(t.app, `/v1/login/${step.transactionId}/response`, { response: card.cells[i - 1]! + card.cells[j - 1]! });
      expect(errorCode(answer)).toBe('SLS_ERR_DEVICE_NOT_AVAILABLE');
      expect(await sessionCount()).toBe(before);
      expect(await failureCounters()).toEqual([]);
    });

    it('T2: a card registered with `slsctl device add --kind online_scc` works its 21 days, then the login answers SLS_ERR_NO_ACTIVE_DEVICE and the sweep retires it', async () => {
      const u = await makeUser(t, 'olga', ['online_scc']);
      const card = u.devices.online_scc!;
      t.clock.advance(ONLINE_CARD_VALIDITY_MS - 60_000);
      await signIn(t, 'olga', card, TRADING);
      t.clock.advance(60_000);
      expect(errorCode(await tradingLogin('olga'))).toBe('SLS_ERR_NO_ACTIVE_DEVICE');
      const row = await t.adb.selectFrom('devices').select('status').where('id', '=', card.device.id).executeTakeFirstOrThrow();
      expect(row.status).toBe('revoked');
    });
  });

  describe('temporary passcodes (T1)', () => {
    it('T1, N1: two operators issuing a passcode to the same caller at the same moment: one is issued, the other refused as SLS_ERR_TEMP_PASSCODE_IN_A_ROW; the one read out signs in', async () => {
      await makeUser(t, 'caller', []);
      const results = await Promise.allSettled([t.provisioning.issueTemporaryPasscode('caller', 'op.anna'), t.provisioning.issueTemporaryPasscode('caller', 'op.ben')]);
      const issued = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as { code?: string }] : []));
      expect(issued).toHaveLength(1);
      expect(refused.map((e) => e.code)).toEqual(['SLS_ERR_TEMP_PASSCODE_IN_A_ROW']);
      const passcodes = await t.adb.selectFrom('temporary_passcodes').select('device_id').execute();
      expect(passcodes.map((p) => p.device_id)).toEqual([issued[0]!.deviceId]);
      const audited = await t.adb.selectFrom('audit_log').select('id').where('event', '=', 'temporary_access.issued').execute();
      expect(audited).toHaveLength(1);
      await signIn(t, 'caller', { device: { id: issued[0]!.deviceId } } as never, TRADING, () => issued[0]!.passcode);
    });
  });

  describe('the SMS device after a new number (P1, P4, L2, L4)', () => {
    const FIRST = '+447400123456';
    const SECOND = '+447400987678';

    it('P1, P4, L2, N2: the first number verified enrols SMS (audited with its device); a new number verified renames the SMS device slsd labelled with the old one; the drop-down and the code both name the new number', async () => {
      const u = await makeUser(t, 'sam', [], { mobile: null });
      const issued = await t.provisioning.issueTemporaryPasscode('sam', 'test');
      const portal = await signIn(t, 'sam', { device: { id: issued.deviceId } } as never, PORTAL, () => issued.passcode);
      const verifyNumber = async (number: string) => {
        ok(await postJson<MobileNumberStatus>(t.app, '/v1/mobile-number', { number }, bearer(portal)));
        const sms = await t.adb.selectFrom('sms_outbox').select(['to_number', 'body']).where('purpose', '=', 'verify_number').orderBy('id', 'desc').executeTakeFirstOrThrow();
        expect(sms.to_number).toBe(number);
        return ok(await postJson<MobileNumberVerifyResponse>(t.app, '/v1/mobile-number/verify', { code: /(\d{6})/.exec(sms.body)![1]! }, bearer(portal)));
      };
      // P4: no device but the temporary passcode: the first number enrols SMS, labelled with it.
      expect((await verifyNumber(FIRST)).enrolledInSms).toBe(true);
      const sms = () => t.adb.selectFrom('devices').select(['id', 'label']).where('user_id', '=', u.userId).where('kind', '=', 'sms').execute();
      expect((await sms()).map((d) => d.label)).toEqual(['SMS (+44 ••• ••• ••56)']);
      // N2: the enrolment is on record as a device change: the entry names the device it added.
      const [enrolled] = await sms();
      const verifiedEntries = async () =>
        (await t.adb.selectFrom('audit_log').select(['device_id', 'details']).where('user_id', '=', u.userId).where('event', '=', 'mobile.verified').orderBy('id').execute()).map((e) => ({
          deviceId: e.device_id,
          ...(JSON.parse(e.details) as object),
        }));
      expect(await verifiedEntries()).toEqual([{ deviceId: enrolled!.id, enrolledInSms: true, masked: '+44 ••• ••• ••56' }]);
      // A new phone: the second number verified after the cool-down.
      t.clock.advance(60_000);
      expect((await verifyNumber(SECOND)).enrolledInSms).toBe(false);
      expect((await sms()).map((d) => d.label)).toEqual(['SMS (+44 ••• ••• ••78)']);
      expect((await verifiedEntries())[1]).toEqual({ deviceId: null, enrolledInSms: false, masked: '+44 ••• ••• ••78' });
      // The login's drop-down and the SMS screen say the number the code goes to.
      t.clock.advance(2 * DAY_MS); // past the passcode's full access: SMS alone for the trading platform
      const step = ok(await tradingLogin('sam'));
      if (step.status !== 'challenge' || step.challenge.type !== 'sms_code') throw new Error(`expected the SMS code, got ${JSON.stringify(step)}`);
      expect(step.challenge.maskedNumber).toBe('+44 ••• ••• ••78');
      const portalStep = ok(await postJson<LoginStep>(t.app, '/v1/login', { username: 'sam', password: PASSWORD, client: PORTAL }));
      if (portalStep.status !== 'select_device') throw new Error(`expected the drop-down, got ${portalStep.status}`);
      expect(portalStep.devices.filter((d) => d.kind === 'sms').map((d) => d.label)).toEqual(['SMS (+44 ••• ••• ••78)']);
    });

    it('P1: a label an operator gave the SMS device stays when the number changes', async () => {
      const u = await makeUser(t, 'opal', ['dscplus'], { mobile: FIRST });
      const custom = await t.provisioning.addDevice({ username: 'opal', kind: 'sms', label: 'Work phone' });
      const portal = await signIn(t, 'opal', u.devices.dscplus!);
      ok(await postJson<MobileNumberStatus>(t.app, '/v1/mobile-number', { number: SECOND }, bearer(portal)));
      const sms = await t.adb.selectFrom('sms_outbox').select('body').where('purpose', '=', 'verify_number').orderBy('id', 'desc').executeTakeFirstOrThrow();
      ok(await postJson(t.app, '/v1/mobile-number/verify', { code: /(\d{6})/.exec(sms.body)![1]! }, bearer(portal)));
      const row = await t.adb.selectFrom('devices').select('label').where('id', '=', custom.device.id).executeTakeFirstOrThrow();
      expect(row.label).toBe('Work phone');
    });
  });
});
