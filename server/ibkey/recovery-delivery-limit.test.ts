/**
 * IB Key gaps, on SQLite and PostgreSQL (SPEC K3–K8, L7, N1):
 * - K5, K7: iPhone → Android → iPhone: the key left on the iPhone no longer proves "the PIN
 *   originally set", so the user is sent to client services (K7), not told the key is inactive.
 * - K3, K4: one PIN per app: an iOS recovery on an iPhone that serves other users seals the new key
 *   under the app's PIN, so one PIN still opens every user's key.
 * - K8: two temporary passwords sent before the app polls: only the newest (the one that works) is
 *   delivered, and the older one never reaches the app.
 * - L7: a push whose login moved on (to another device) no longer counts among the 3 waiting pushes.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { LoginStep } from '../../core/api.ts';
import { SlsdError } from '../../ibkey/client.ts';
import { K7_MESSAGE } from '../../ibkey/protocol.ts';
import { startOn } from '../conformance/backends.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import type { StorageBackend } from '../db/pg-testing.ts';
import type { TestServer } from '../testing/test-server.ts';
import { IBKEY_PUSH_LIMIT } from '../verifiers/ibkey-push.ts';
import { activate, auditEvents, createUser, lastActivationCode, newApp, PASSWORD, PIN, ScriptedPrompter, startLogin, status } from './testkit.ts';

const probe = await probePostgres();

async function expectCode(p: Promise<unknown>, code: string): Promise<SlsdError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SlsdError);
  expect((e as SlsdError).code).toBe(code);
  return e as SlsdError;
}

describeEachBackend('IB Key recovery, PIN, K8 delivery and push limit (K3–K8, L7)', probe, (backend: StorageBackend) => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startOn(backend, { listen: true });
  });
  afterEach(async () => {
    await t.close();
  });

  const smsCount = async () => (await t.services.db.selectFrom('sms_outbox').select('id').execute()).length;

  it('K5, K7: iPhone → Android → iPhone: the iPhone\'s old key is refused for recovery with the K7 answer (client services), and nothing changes', async () => {
    const userId = await createUser(t, 'jane');
    const iosPrompter = new ScriptedPrompter();
    const iphone = newApp(t, 'ios', iosPrompter);
    await activate(t, iphone, iosPrompter, 'jane', userId);
    // K5 Android: credentials and an SMS code move IB Key to the Android phone; the iPhone's key is revoked.
    const androidPrompter = new ScriptedPrompter([() => lastActivationCode(t, userId), PIN, PIN]);
    const android = newApp(t, 'android', androidPrompter);
    const moved = await android.recover('transfer', 'jane', { password: PASSWORD });
    expect(moved.revokedDeviceIds).toHaveLength(1);

    // Back to the iPhone (K5 iOS): its Keychain still holds the revoked key, which the PIN opens.
    const sms = await smsCount();
    iosPrompter.push(PIN);
    const e = await expectCode(iphone.recover('transfer', 'jane', {}), 'SLS_ERR_IBKEY_RECOVERY_UNAVAILABLE');
    expect(e.message).toContain('client services');
    expect(e.message).toContain(K7_MESSAGE);
    // No SMS code went out, no activation started, and the Android phone still holds IB Key.
    expect(await smsCount()).toBe(sms);
    expect((await auditEvents(t, 'ibkey.activation_started')).map((a) => JSON.parse(a.details).purpose)).toEqual(['activate', 'transfer']);
    const active = await t.services.db.selectFrom('devices').select('id').where('user_id', '=', userId).where('kind', '=', 'ibkey').where('status', '=', 'active').execute();
    expect(active.map((d) => d.id)).toEqual([moved.deviceId]);
    // Also with another active physical device (K6): it stands in for the SMS, not for the PIN.
    await t.provisioning.addDevice({ username: 'jane', kind: 'scc' });
    iosPrompter.push(PIN);
    await expectCode(iphone.recover('transfer', 'jane', {}), 'SLS_ERR_IBKEY_RECOVERY_UNAVAILABLE');
  });

  it('K3, K4: an iOS reactivation on an iPhone that serves another user seals the new key under the app PIN, so one PIN opens every key', async () => {
    const janeId = await createUser(t, 'jane');
    const johnId = await createUser(t, 'john', { mobile: '+12125550199' });
    const APP_PIN = '135790';
    const prompter = new ScriptedPrompter();
    const iphone = newApp(t, 'ios', prompter);
    await activate(t, iphone, prompter, 'jane', janeId);
    // Reinstalled (the Keychain keeps jane's key); john activates first in the new app and chooses its PIN.
    iphone.state.reinstall();
    const again = newApp(t, 'ios', prompter, iphone.state.dir);
    prompter.push(() => lastActivationCode(t, johnId), APP_PIN, APP_PIN);
    await again.activate('john', PASSWORD);
    // jane: the PIN originally set (it opens her old key: K4 iOS), the SMS code, then the app's PIN.
    prompter.push(PIN, () => lastActivationCode(t, janeId), APP_PIN);
    const done = await again.recover('reactivate', 'jane', {});
    expect(done.revokedDeviceIds).toHaveLength(1);
    expect(prompter.questions.slice(-3)).toEqual(['The PIN originally set: ', 'Activation code: ', 'App PIN: ']);
    // One PIN opens both users' keys, and one poll serves both (K3).
    const keys = await again.unlock(APP_PIN);
    expect([...keys.values()].map((k) => k.entry.username).sort()).toEqual(['jane', 'john']);
    const step = await startLogin(t, 'jane');
    if (step.status !== 'challenge' || step.challenge.type !== 'push') throw new Error(`expected a push, got ${JSON.stringify(step)}`);
    const [request] = (await again.poll(keys, 0)).requests;
    prompter.push(String(step.challenge.matchNumber), APP_PIN);
    expect((await again.answerPush(request!)).outcome).toBe('approved');
    expect((await status(t, step.transactionId)).body.status).toBe('signed_in');

    // The usual case asks nothing more: the PIN originally set is the app's PIN (all keys under one PIN).
    again.state.reinstall();
    const third = newApp(t, 'ios', prompter, iphone.state.dir);
    prompter.push(APP_PIN, () => lastActivationCode(t, janeId));
    await third.recover('reactivate', 'jane', {});
    prompter.push(APP_PIN, () => lastActivationCode(t, johnId));
    await third.recover('reactivate', 'john', {});
    expect((await third.unlock(APP_PIN)).size).toBe(2);
  });

  it('K3, K5: an iOS transfer to an iPhone that serves another user keeps that user\'s key (the Keychain is merged) and seals the new key under the app PIN', async () => {
    const janeId = await createUser(t, 'jane');
    const johnId = await createUser(t, 'john', { mobile: '+12125550199' });
    const APP_PIN = '135790';
    const oldPrompter = new ScriptedPrompter();
    const oldIphone = newApp(t, 'ios', oldPrompter);
    await activate(t, oldIphone, oldPrompter, 'jane', janeId);
    // john's iPhone, with its own app PIN.
    const prompter = new ScriptedPrompter([() => lastActivationCode(t, johnId), APP_PIN, APP_PIN]);
    const johnsIphone = newApp(t, 'ios', prompter);
    await johnsIphone.activate('john', PASSWORD);
    // jane's key comes with the iCloud Keychain; john's stays.
    expect(johnsIphone.state.importKeychain(oldIphone.state.dir)).toBe(1);
    expect(johnsIphone.state.keys().map((k) => k.username).sort()).toEqual(['jane', 'john']);
    prompter.push(PIN, () => lastActivationCode(t, janeId), '000000');
    await expect(johnsIphone.recover('transfer', 'jane', {})).rejects.toThrow('The PIN is not correct.');
    prompter.push(PIN, () => lastActivationCode(t, janeId), APP_PIN);
    const done = await johnsIphone.recover('transfer', 'jane', {});
    expect(done.revokedDeviceIds).toHaveLength(1);
    const keys = await johnsIphone.unlock(APP_PIN);
    expect([...keys.values()].map((k) => k.entry.username).sort()).toEqual(['jane', 'john']);
    expect((await johnsIphone.poll(keys, 0)).inactiveDeviceIds).toEqual([]);
  });

  it('K8: two temporary passwords sent before the app polls: it gets only the newest, which is the one that signs in', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'android', prompter);
    await activate(t, app, prompter, 'jane', userId);
    // Same millisecond (the clock is frozen): still told apart, in the order they were set.
    const first = await t.services.ibkey.sendTemporaryPassword('jane', 'cs-agent');
    const second = await t.services.ibkey.sendTemporaryPassword('jane', 'cs-agent');
    const keys = await app.unlock(PIN);
    const polled = await app.poll(keys, 0);
    expect(polled.messages.map((m) => m.messageId)).toEqual(second.messageIds);
    expect(polled.messages.map((m) => m.messageId)).not.toContain(first.messageIds[0]);
    const read = await app.readInbox(keys);
    expect(read).toHaveLength(1);
    const login = await t.app.inject({ method: 'POST', url: '/v1/login', payload: { username: 'jane', password: read[0]!.temporaryPassword, client: { kind: 'trading_platform', version: 1000 } } });
    expect(login.statusCode, login.body).toBe(200);
    expect((await app.poll(keys, 0)).messages).toEqual([]);

    // A third one, delivered in a later poll, replaces the second in the app (newer, even in the same ms).
    await t.services.ibkey.sendTemporaryPassword('jane', 'cs-agent');
    await app.poll(keys, 0);
    const now = await app.readInbox(keys);
    expect(now).toHaveLength(1);
    expect(now[0]!.temporaryPassword).not.toBe(read[0]!.temporaryPassword);
    expect(now[0]!.createdAt > read[0]!.createdAt).toBe(true);
  });

  it('K8: an older undelivered temporary password still stored (from before a newer one withdrew them) is never handed out with the newer one', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'android', prompter);
    await activate(t, app, prompter, 'jane', userId);
    const sent = await t.services.ibkey.sendTemporaryPassword('jane', 'cs-agent');
    const row = await t.services.db.selectFrom('ibkey_messages').selectAll().where('id', '=', sent.messageIds[0]!).executeTakeFirstOrThrow();
    // Stored earlier, with an id that sorts after the newer one's: neither order may put it last.
    await t.services.db.insertInto('ibkey_messages').values({ ...row, id: 'ibm_zzzz_older', created_at: row.created_at - 60_000 }).execute();
    const keys = await app.unlock(PIN);
    expect((await app.poll(keys, 0)).messages.map((m) => m.messageId)).toEqual(sent.messageIds);
    expect(await t.services.db.selectFrom('ibkey_messages').select('id').where('id', '=', 'ibm_zzzz_older').execute()).toEqual([]);
    expect((await app.readInbox(keys)).map((m) => m.messageId)).toEqual(sent.messageIds);
  });

  it(`L7: pushes whose login moved on to another device no longer count among the ${IBKEY_PUSH_LIMIT} waiting`, async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'ios', prompter);
    const ibkey = await activate(t, app, prompter, 'jane', userId);
    const scc = await t.provisioning.addDevice({ username: 'jane', kind: 'scc' });
    const choose = async (transactionId: string, deviceId: string) => {
      const r = await t.app.inject({ method: 'POST', url: `/v1/login/${transactionId}/device`, payload: { deviceId } });
      return { code: r.statusCode, body: r.json() as LoginStep & { error?: { code: string } } };
    };
    /** A login at the drop-down (L2: two devices). */
    const startTx = async () => {
      const step = await startLogin(t, 'jane');
      if (step.status !== 'select_device') throw new Error(`expected the device list, got ${step.status}`);
      return step;
    };
    const pushThenSwitch = async () => {
      const step = await startTx();
      const pushed = await choose(step.transactionId, ibkey.deviceId);
      expect(pushed.code, JSON.stringify(pushed.body)).toBe(200);
      // The user switches to the code card (L5): the push is left on the phone, still within its 60 s.
      const switched = await choose(step.transactionId, scc.device.id);
      expect(switched.code, JSON.stringify(switched.body)).toBe(200);
    };
    for (let i = 0; i < IBKEY_PUSH_LIMIT; i++) await pushThenSwitch();
    const pending = await t.services.db.selectFrom('ibkey_push_requests').select('id').where('user_id', '=', userId).where('state', '=', 'pending').execute();
    expect(pending).toHaveLength(IBKEY_PUSH_LIMIT);
    // The app is not offered them either (their logins wait for the code card now).
    expect((await app.poll(await app.unlock(PIN), 0)).requests).toEqual([]);
    // A new login may still push.
    const step = await startTx();
    const pushed = await choose(step.transactionId, ibkey.deviceId);
    expect(pushed.code, JSON.stringify(pushed.body)).toBe(200);
    expect(pushed.body.status === 'challenge' && pushed.body.challenge.type).toBe('push');

    // Pushes of logins still waiting for them count: with 3 of those, a fourth is refused.
    for (let i = 0; i < IBKEY_PUSH_LIMIT - 1; i++) {
      const s = await startTx();
      expect((await choose(s.transactionId, ibkey.deviceId)).code).toBe(200);
    }
    const s = await startTx();
    const refused = await choose(s.transactionId, ibkey.deviceId);
    expect(refused.code).toBe(429);
    expect(refused.body.error?.code).toBe('SLS_ERR_IBKEY_PUSH_LIMIT');
  });
});
