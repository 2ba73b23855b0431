// The host's account-security calls against a real slsd (SPEC C3, C6, W4): the token stays in the
// host, and a retried withdrawal confirmation reuses its idempotency key, so it pays once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfirmationChallenge, WithdrawalResponse } from '../../core/account-api.ts';
import type { LoginStepView } from '../../core/contract/index.ts';
import { createMemoryKeychain } from '../../native/keychain.ts';
import { createMemorySettingsStore } from '../../native/settings.ts';
import { answer, makeUser, PASSWORD, startAccountServer } from '../../server/account/testing.ts';
import type { AccountTestServer, TestUser } from '../../server/account/testing.ts';
import { describeError } from '../../renderer/messages.ts';
import { applyLanguage } from '../../renderer/i18n/index.ts';
import { appInfo } from './app-info.ts';
import { createHost } from './index.ts';

let t: AccountTestServer;
let u: TestUser;
beforeEach(async () => {
  t = await startAccountServer({ listen: true, clock: null });
  u = await makeUser(t, 'hosty', ['scc']);
});
afterEach(async () => {
  await t.close();
});

function host(keychain = createMemoryKeychain(), settings = createMemorySettingsStore({ serverAddress: t.url! })) {
  const h = createHost({ settings, keychain, appInfo: appInfo('browser', '0.1.0') });
  return async <T>(name: string, input?: unknown): Promise<T> => {
    const r = await h.dispatch(name, input);
    if (!r.ok) throw Object.assign(new Error(`${name}: ${r.error.code} ${r.error.message}`), { code: r.error.code });
    return r.value as T;
  };
}

describe('account security through the host (SPEC C1, C6, W4)', () => {
  it('C6: portal calls need a session', async () => {
    const call = host();
    await expect(call('getWithdrawals')).rejects.toMatchObject({ code: 'SLS_ERR_UNAUTHENTICATED' });
  });

  it('W4: confirming the same withdrawal twice (a retry) pays once: the host reuses the idempotency key', async () => {
    const call = host();
    const step = await call<LoginStepView>('login', { username: 'hosty', password: PASSWORD, rememberUsername: false });
    if (step.status !== 'challenge') throw new Error(step.status);
    const signedIn = await call<LoginStepView>('respond', { loginId: step.loginId, response: answer(u.devices.scc!, step.challenge) });
    expect(signedIn.status).toBe('signed_in');
    expect(JSON.stringify(signedIn)).not.toMatch(/"token"/);
    const c = await call<ConfirmationChallenge>('startWithdrawal', { deviceId: u.devices.scc!.device.id, amountCents: 1_000_00 });
    const response = answer(u.devices.scc!, c.challenge);
    const first = await call<WithdrawalResponse>('confirmWithdrawal', { confirmationId: c.confirmationId, amountCents: 1_000_00, response });
    expect(first.replayed).toBe(false);
    const retry = await call<WithdrawalResponse>('confirmWithdrawal', { confirmationId: c.confirmationId, amountCents: 1_000_00, response });
    expect(retry).toEqual({ ...first, replayed: true });
    const rows = await t.adb.selectFrom('withdrawals').selectAll().execute();
    expect(rows).toHaveLength(1);
  });
});

describe("slsd's refusals in the client's words (SPEC W2, O3; UI.md language)", () => {
  afterEach(() => applyLanguage('en'));

  it('W2: over the code card\'s daily limit: the limit, the device and the one that would allow it reach the client, worded as slsd words it, and in German', async () => {
    const m = await makeUser(t, 'limits', ['scc', 'dscplus'], { balanceUsd: 2_000_000 });
    const h = createHost({ settings: createMemorySettingsStore({ serverAddress: t.url! }), keychain: createMemoryKeychain(), appInfo: appInfo('browser', '0.1.0') });
    const step = await h.dispatch('login', { username: 'limits', password: PASSWORD, rememberUsername: false });
    if (!step.ok || (step.value as LoginStepView).status !== 'select_device') throw new Error(JSON.stringify(step));
    const loginId = (step.value as Extract<LoginStepView, { status: 'select_device' }>).loginId;
    const c = await h.dispatch('selectDevice', { loginId, deviceId: m.devices.scc!.device.id });
    if (!c.ok || (c.value as LoginStepView).status !== 'challenge') throw new Error(JSON.stringify(c));
    const v = c.value as Extract<LoginStepView, { status: 'challenge' }>;
    expect((await h.dispatch('respond', { loginId, response: answer(m.devices.scc!, v.challenge) })).ok).toBe(true);
    const refused = await h.dispatch('startWithdrawal', { deviceId: m.devices.scc!.device.id, amountCents: 250_000_00 });
    if (refused.ok) throw new Error('a withdrawal over the limit was accepted');
    expect(refused.error).toMatchObject({
      code: 'SLS_ERR_WITHDRAWAL_LIMIT',
      withdrawalLimit: { limit: 'per_day', limitCents: 200_000_00, availableCents: 200_000_00, deviceKind: 'scc', useDeviceLabel: m.devices.dscplus!.device.label },
    });
    // SPEC W2: the device that would allow it by its id too, so the desktop can choose it for the user.
    expect(refused.error.withdrawalLimit?.useDeviceId).toBe(m.devices.dscplus!.device.id);
    const english = describeError(refused.error);
    expect(`${english.message} ${english.action}`).toBe(refused.error.message);
    applyLanguage('de');
    const german = describeError(refused.error);
    expect(german.message.replace(/\s/g, ' ')).toBe('Diese Auszahlung würde das Tageslimit Ihres Geräts überschreiten (Security Code Card: 200.000,00 USD; noch 200.000,00 USD).');
    expect(german.action).toBe(`Bestätigen Sie diese Auszahlung mit Ihrem Gerät „${m.devices.dscplus!.device.label}“.`);
  });
});

describe('auto-restart through the host (SPEC L8, C3, C4)', () => {
  it('L8: after a full login the restart token is in the keychain; the next start signs in without a second factor; sign out forgets it', async () => {
    const keychain = createMemoryKeychain();
    const settings = createMemorySettingsStore({ serverAddress: t.url! });
    const first = host(keychain, settings);
    const step = await first<LoginStepView>('login', { username: 'hosty', password: PASSWORD, rememberUsername: false });
    if (step.status !== 'challenge') throw new Error(step.status);
    await first('respond', { loginId: step.loginId, response: answer(u.devices.scc!, step.challenge) });
    expect(await first('getSession')).toMatchObject({ authenticatedWith: { kind: 'scc' } });
    const account = `restart-token:${t.url}`;
    const stored = JSON.parse((await keychain.get(account))!) as { username: string; restartToken: string; validUntil: string };
    expect(stored.username).toBe('hosty');
    expect(new Date(stored.validUntil).getUTCDay()).toBe(0); // a Sunday (01:00 New York)
    expect(JSON.stringify(settings.read())).not.toContain(stored.restartToken);

    // The app restarts: a new host with the same keychain and settings.
    const second = host(keychain, settings);
    expect(await second('getSession')).toMatchObject({ user: { username: 'hosty' }, authenticatedWith: null, clientKind: 'trading_platform' });
    const rotated = JSON.parse((await keychain.get(account))!) as { restartToken: string };
    expect(rotated.restartToken).not.toBe(stored.restartToken);

    await second('signOut');
    expect(await keychain.get(account)).toBeNull();
    expect(await host(keychain, settings)('getSession')).toBeNull();
  });

  it('L8: a token slsd refuses (revoked) is forgotten', async () => {
    const keychain = createMemoryKeychain();
    const settings = createMemorySettingsStore({ serverAddress: t.url! });
    const first = host(keychain, settings);
    const step = await first<LoginStepView>('login', { username: 'hosty', password: PASSWORD, rememberUsername: false });
    if (step.status !== 'challenge') throw new Error(step.status);
    await first('respond', { loginId: step.loginId, response: answer(u.devices.scc!, step.challenge) });
    await first('getSession');
    await t.adb.updateTable('restart_tokens').set({ revoked_at: Date.now() }).execute();
    expect(await host(keychain, settings)('getSession')).toBeNull();
    expect(await keychain.get(`restart-token:${t.url}`)).toBeNull();
  });
});

describe('temporary access through the host (SPEC T1, T2, C6)', () => {
  it('T1, C6: in the portal-only days the desktop signs in to the portal functions; the card PDF is offered by the host, never the token', async () => {
    const { testClock } = await import('../../server/testing/test-server.ts');
    const own = await startAccountServer({ listen: true, clock: testClock(Date.parse('2026-11-02T15:00:00Z')) });
    try {
      await makeUser(own, 'tempy', [], { mobile: null });
      const { passcode } = await own.provisioning.issueTemporaryPasscode('tempy', 'test');
      own.clock.advance(3 * 24 * 3600_000); // past the 2 full days: Client Portal only (T1)
      const offered: { name: string; type: string; bytes: Uint8Array }[] = [];
      const h = createHost({
        settings: createMemorySettingsStore({ serverAddress: own.url! }),
        keychain: createMemoryKeychain(),
        appInfo: appInfo('browser', '0.1.0'),
        offerFile: async (f) => (offered.push(f), { url: '/files/k/card.pdf' }),
      });
      const call = async <T>(name: string, input?: unknown): Promise<T> => {
        const r = await h.dispatch(name, input);
        if (!r.ok) throw Object.assign(new Error(`${name}: ${r.error.code} ${r.error.message}`), { code: r.error.code });
        return r.value as T;
      };
      const step = await call<LoginStepView>('login', { username: 'tempy', password: PASSWORD, rememberUsername: false });
      if (step.status !== 'challenge') throw new Error(step.status);
      expect(step.challenge.type).toBe('passcode');
      const signedIn = await call<LoginStepView>('respond', { loginId: step.loginId, response: passcode });
      if (signedIn.status !== 'signed_in') throw new Error(signedIn.status);
      expect(signedIn.session).toMatchObject({ access: 'portal_only', clientKind: 'client_portal' });
      const card = await call<{ cells: string[]; validUntil: string }>('getOnlineCard');
      expect(card.cells).toHaveLength(224);
      const file = await call<{ fileName: string; url: string | null; savedTo: string | null }>('downloadOnlineCard');
      expect(file).toMatchObject({ url: '/files/k/card.pdf', savedTo: null, fileName: `online-security-code-card-${card.validUntil.slice(0, 10)}.pdf` });
      expect(offered).toHaveLength(1);
      expect(offered[0]!.type).toBe('application/pdf');
      expect(Buffer.from(offered[0]!.bytes).subarray(0, 5).toString()).toBe('%PDF-');
      // Only these reach the renderer: no token, no PDF bytes through the contract.
      expect(Object.keys(file).sort()).toEqual(['fileName', 'savedTo', 'url', 'validUntil']);
      await h.close();
    } finally {
      await own.close();
    }
  });
});
