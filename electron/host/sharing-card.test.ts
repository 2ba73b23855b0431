// A started sharing request continued after the desktop restarted (SPEC S3, C2): the challenge slsd
// gives again in the requester's list goes to the owner's DSC+ plugged in, as it did when the request
// started, so "Answer on the card" works without typing — not "card not found".
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { SharingStartResponse, SharingView } from '../../core/account-api.ts';
import type { LoginStepView } from '../../core/contract/index.ts';
import { createMemoryKeychain } from '../../native/keychain.ts';
import { createMemorySettingsStore } from '../../native/settings.ts';
import { answer, makeUser, PASSWORD, startAccountServer } from '../../server/account/testing.ts';
import type { AccountTestServer, TestUser } from '../../server/account/testing.ts';
import { appInfo } from './app-info.ts';
import type { DscPlusService } from './dscplus-service.ts';
import { createHost } from './index.ts';

let t: AccountTestServer;
let owner: TestUser;
let rita: TestUser;
beforeEach(async () => {
  t = await startAccountServer({ listen: true, clock: null });
  owner = await makeUser(t, 'owen', ['dscplus', 'scc']);
  rita = await makeUser(t, 'rita', ['scc'], { entityId: owner.entityId });
});
afterEach(async () => {
  await t.close();
});

/** The owner's DSC+ plugged in: answers the challenges sent to its serial as the card would (the PIN typed on it). */
function ownersCard(sent: { serial: string; challenge: string }[]): DscPlusService {
  const dsc = owner.devices.dscplus!;
  return {
    connected: () => [dsc.device.serial!],
    subscribe: () => () => {},
    respond: async (serial, challenge) => {
      sent.push({ serial, challenge });
      if (serial !== dsc.device.serial) throw new Error(`no card ${serial}`);
      return answer(dsc, { type: 'response_code', kind: 'dscplus', deviceId: dsc.device.id, challenge } as never);
    },
    close: async () => {},
  };
}

/** A desktop of rita's, signed in with her code card. */
async function desktop(dscplus?: DscPlusService) {
  const h = createHost({ settings: createMemorySettingsStore({ serverAddress: t.url! }), keychain: createMemoryKeychain(), appInfo: appInfo('browser', '0.1.0'), ...(dscplus ? { dscplus } : {}) });
  const call = async <T>(name: string, input?: unknown): Promise<T> => {
    const r = await h.dispatch(name, input);
    if (!r.ok) throw Object.assign(new Error(`${name}: ${r.error.code} ${r.error.message}`), { code: r.error.code });
    return r.value as T;
  };
  const step = await call<LoginStepView>('login', { username: 'rita', password: PASSWORD, rememberUsername: false });
  if (step.status !== 'challenge') throw new Error(step.status);
  expect((await call<LoginStepView>('respond', { loginId: step.loginId, response: answer(rita.devices.scc!, step.challenge) })).status).toBe('signed_in');
  return { call, close: () => h.close() };
}

it('S3, C2: after a restart, Continue answers the started request on the owner\'s card plugged in, with the challenge given again', async () => {
  const first = await desktop();
  const started = await first.call<SharingStartResponse>('startSharing', { ownerUsername: 'owen', ownerPassword: PASSWORD });
  expect(started.request.state).toBe('started');
  await first.close();

  // The desktop starts again: the host knows nothing of the challenge but what slsd's list says.
  const sent: { serial: string; challenge: string }[] = [];
  const again = await desktop(ownersCard(sent));
  const list = await again.call<{ requests: SharingView[] }>('getSharings');
  const request = list.requests.find((r) => r.id === started.request.id)!;
  expect(request.challenge?.confirmationId).toBe(started.confirmation.confirmationId);
  const verified = await again.call<SharingView>('answerSharingOnCard', { requestId: request.id, confirmationId: request.challenge!.confirmationId });
  expect(verified.state).toBe('verified');
  expect(sent).toEqual([{ serial: owner.devices.dscplus!.device.serial, challenge: (started.confirmation.challenge as { challenge: string }).challenge }]);
  await again.close();
});
