// The host's account-security calls against a real slsd (SPEC C3, C6, W4): the token stays in the
// host, and a retried withdrawal confirmation reuses its idempotency key, so it pays once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfirmationChallenge, WithdrawalResponse } from '../../core/account-api.ts';
import type { LoginStepView } from '../../core/contract/index.ts';
import { createMemoryKeychain } from '../../native/keychain.ts';
import { createMemorySettingsStore } from '../../native/settings.ts';
import { answer, makeUser, PASSWORD, startAccountServer } from '../../server/account/testing.ts';
import type { AccountTestServer, TestUser } from '../../server/account/testing.ts';
import { appInfo } from './app-info.ts';
import { createHost } from './index.ts';

let t: AccountTestServer;
let u: TestUser;
beforeEach(async () => {
  t = await startAccountServer({ listen: true });
  u = await makeUser(t, 'hosty', ['scc']);
});
afterEach(async () => {
  await t.close();
});

function host() {
  const h = createHost({ settings: createMemorySettingsStore({ serverAddress: t.url! }), keychain: createMemoryKeychain(), appInfo: appInfo('browser', '0.1.0') });
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
    const signedIn = await call<LoginStepView>('respond', { response: answer(u.devices.scc!, step.challenge) });
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
