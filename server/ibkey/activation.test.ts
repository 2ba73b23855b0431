/**
 * IB Key lifecycle (SPEC K1, K3–K8, P3): activation by SMS, reactivation and transfer on iOS and
 * Android, another physical device instead of the SMS, the client-services message, and a temporary
 * password delivered to the app. Real listening slsd, real SQLite file, apps in state folders.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoginStep } from '../../core/api.ts';
import { deviceResponse } from '../../core/codes.ts';
import { DEVICE_CATALOGUE } from '../../core/devices.ts';
import { ocraPasswordHash } from '../../core/ocra.ts';
import { SlsdError } from '../../ibkey/client.ts';
import { K7_MESSAGE } from '../../ibkey/protocol.ts';
import { runSlsctl } from '../cli/slsctl.ts';
import { USER_FAILURE_LIMIT } from '../config.ts';
import { ACTIVATION_TTL_MS } from '../services/ibkey.ts';
import type { TestServer } from '../testing/test-server.ts';
import { activate, auditEvents, createUser, ibkeyServer, lastActivationCode, newApp, PASSWORD, PIN, ScriptedPrompter, startLogin, status } from './testkit.ts';
import type { IbKeyApp } from '../../ibkey/app.ts';

let t: TestServer;
beforeEach(async () => {
  t = await ibkeyServer();
});
afterEach(async () => {
  await t.close();
});

async function ibkeyDevices(userId: string) {
  const rows = await t.services.db.selectFrom('devices').select(['id', 'status']).where('user_id', '=', userId).where('kind', '=', 'ibkey').execute();
  // Active last (the clock is frozen, so creation times tie).
  return rows.sort((a, b) => Number(a.status === 'active') - Number(b.status === 'active'));
}

/** A login approved from this app: proves the app's key works. */
async function approveLogin(app: IbKeyApp, prompter: ScriptedPrompter, username: string): Promise<string | undefined> {
  let step = await startLogin(t, username);
  if (step.status === 'select_device') {
    const ibkey = step.devices.find((d) => d.kind === 'ibkey')!;
    const r = await t.app.inject({ method: 'POST', url: `/v1/login/${step.transactionId}/device`, payload: { deviceId: ibkey.id } });
    step = r.json() as LoginStep;
  }
  if (step.status !== 'challenge' || step.challenge.type !== 'push') throw new Error('no push');
  const keys = await app.unlock(PIN);
  const polled = await app.poll(keys, 0);
  const request = polled.requests.find((r) => r.transactionId === step.transactionId)!;
  prompter.push(String(step.challenge.matchNumber), PIN);
  await app.answerPush(request);
  return (await status(t, step.transactionId)).body.status;
}

async function expectCode(p: Promise<unknown>, code: string): Promise<SlsdError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SlsdError);
  expect((e as SlsdError).code).toBe(code);
  return e as SlsdError;
}

describe('activation (SPEC K1, P3)', () => {
  it('password, an SMS activation code and a PIN register the app\'s key; the activation verifies the number', async () => {
    const userId = await createUser(t, 'jane', { verified: false });
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'android', prompter);
    const done = await activate(t, app, prompter, 'jane', userId);
    expect(prompter.said).toContain('An activation code was sent by SMS to +1 ••• ••• ••42.');
    expect(done.ocraSuite).toBe(DEVICE_CATALOGUE.ibkey.ocraSuite);
    const user = await t.services.db.selectFrom('users').select('mobile_verified_at').where('id', '=', userId).executeTakeFirstOrThrow();
    expect(user.mobile_verified_at).toBe(t.clock.now());
    expect(await ibkeyDevices(userId)).toEqual([{ id: done.deviceId, status: 'active' }]);
    expect(await auditEvents(t, 'ibkey.activated')).toHaveLength(1);
    // The private key stays in the app: slsd has a public key only, and the state keeps it sealed.
    const row = await t.services.db.selectFrom('ibkey_devices').selectAll().where('device_id', '=', done.deviceId).executeTakeFirstOrThrow();
    expect(row.public_key.length).toBeLessThan(200);
    expect(JSON.stringify(app.state.keys())).not.toContain(done.ocraSecret);
    expect(await approveLogin(app, prompter, 'jane')).toBe('signed_in');
  });

  it('refuses a user without a mobile number (P3), wrong passwords, and a second activation elsewhere', async () => {
    await createUser(t, 'nomobile', { mobile: null });
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'ios', prompter);
    await expectCode(app.activate('nomobile', PASSWORD), 'SLS_ERR_IBKEY_NO_MOBILE');
    await expectCode(app.activate('nomobile', 'wrong password'), 'SLS_ERR_INVALID_CREDENTIALS');

    const janeId = await createUser(t, 'jane');
    await activate(t, app, prompter, 'jane', janeId);
    const other = newApp(t, 'android', new ScriptedPrompter());
    const e = await expectCode(other.activate('jane', PASSWORD), 'SLS_ERR_CONFLICT');
    expect(e.message).toBe('IB Key is already active for this user on another phone: transfer it to this phone instead.');
  });

  it('three wrong activation codes end the activation, and no PIN is asked for them', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter(['000000', '000001', '000002']);
    const app = newApp(t, 'ios', prompter);
    const e = await expectCode(app.activate('jane', PASSWORD), 'SLS_ERR_WRONG_RESPONSE');
    expect(prompter.said.filter((l) => l.includes('not correct'))).toEqual(['That code is not correct (2 attempts left).', 'That code is not correct (1 attempt left).']);
    // The third says the activation is over and a new code is needed.
    expect(e.message).toBe('The code is not correct. After 3 wrong codes this activation has ended: start again to get a new code.');
    expect(prompter.questions).toEqual(['Activation code: ', 'Activation code: ', 'Activation code: ']);
    expect(await ibkeyDevices(userId)).toEqual([]);
  });

  it('checks the code with slsd before asking for a PIN: a wrong code is asked again, the PIN is chosen after the right one', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'android', prompter);
    prompter.push(async () => ((await lastActivationCode(t, userId)) === '000000' ? '000001' : '000000'), () => lastActivationCode(t, userId), PIN, PIN);
    const done = await app.activate('jane', PASSWORD);
    expect(prompter.questions).toEqual(['Activation code: ', 'Activation code: ', 'Choose a PIN (4–16 digits): ', 'Repeat the PIN: ']);
    expect(prompter.said).toContain('That code is not correct (2 attempts left).');
    expect(await ibkeyDevices(userId)).toEqual([{ id: done.deviceId, status: 'active' }]);
    expect(await approveLogin(app, prompter, 'jane')).toBe('signed_in');
  });

  it('a PIN too short or typed differently is asked again with the same code; three slips end it (K1)', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter([() => lastActivationCode(t, userId), '12', PIN, '99999999', PIN, PIN]);
    const app = newApp(t, 'android', prompter);
    const done = await app.activate('jane', PASSWORD);
    expect(prompter.said).toEqual(expect.arrayContaining(['A PIN is 4 to 16 digits. Choose it again.', 'The two PINs differ. Choose it again.']));
    expect(prompter.questions).toEqual(['Activation code: ', 'Choose a PIN (4–16 digits): ', 'Choose a PIN (4–16 digits): ', 'Repeat the PIN: ', 'Choose a PIN (4–16 digits): ', 'Repeat the PIN: ']);
    expect(await ibkeyDevices(userId)).toEqual([{ id: done.deviceId, status: 'active' }]);
    expect(await approveLogin(app, prompter, 'jane')).toBe('signed_in');

    const other = await createUser(t, 'john');
    const slips = new ScriptedPrompter([() => lastActivationCode(t, other), '1', PIN, '1', PIN, '2']);
    const e = await newApp(t, 'ios', slips).activate('john', PASSWORD).then(
      () => null,
      (err: unknown) => err as Error,
    );
    expect(e?.message).toBe('The two PINs differ. Start again to activate IB Key.');
    expect(await ibkeyDevices(other)).toEqual([]);
  });

  it('says an expired code expired and to start again, before any PIN is asked (K1)', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter([
      async () => {
        // The user types the code after its 10 minutes.
        t.clock.advance(ACTIVATION_TTL_MS);
        return lastActivationCode(t, userId);
      },
    ]);
    const app = newApp(t, 'android', prompter);
    const e = await expectCode(app.activate('jane', PASSWORD), 'SLS_ERR_IBKEY_ACTIVATION_EXPIRED');
    expect(e.message).toBe('This activation code has expired: a code is good for 10 minutes. Start again in the IB Key app to get a new code.');
    expect(e.message).not.toContain('has ended');
    expect(prompter.questions).toEqual(['Activation code: ']);
    expect(app.state.keys()).toEqual([]);
    expect(await ibkeyDevices(userId)).toEqual([]);
    // Starting again works: a new code, then the PIN.
    await activate(t, app, prompter, 'jane', userId);
  });
});

describe('reactivation on the same phone (SPEC K4)', () => {
  it('iOS: after a reinstall, the PIN originally set plus an SMS code; the old key is replaced', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'ios', prompter);
    const first = await activate(t, app, prompter, 'jane', userId);
    app.state.reinstall();
    expect(app.state.app()).toBeNull();
    // Reopened after the reinstall: the Keychain still holds the sealed key.
    const again = newApp(t, 'ios', prompter, app.state.dir);
    expect(again.users()).toEqual([]);
    prompter.push(PIN, () => lastActivationCode(t, userId));
    const done = await again.recover('reactivate', 'jane', {});
    expect(done.revokedDeviceIds).toEqual([first.deviceId]);
    expect(await ibkeyDevices(userId)).toEqual([
      { id: first.deviceId, status: 'revoked' },
      { id: done.deviceId, status: 'active' },
    ]);
    expect(await auditEvents(t, 'ibkey.reactivated')).toHaveLength(1);
    expect(await approveLogin(again, prompter, 'jane')).toBe('signed_in');
  });

  it('iOS: a wrong original PIN recovers nothing', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'ios', prompter);
    await activate(t, app, prompter, 'jane', userId);
    app.state.reinstall();
    prompter.push('999999');
    await expect(newApp(t, 'ios', prompter, app.state.dir).recover('reactivate', 'jane', {})).rejects.toThrow('The PIN is not correct.');
  });

  it('iOS, L6: a locked user is told so at the start, before any SMS code is sent, as on Android', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'ios', prompter);
    await activate(t, app, prompter, 'jane', userId);
    app.state.reinstall();
    for (let i = 0; i < USER_FAILURE_LIMIT; i++) await t.services.throttle.recordFailure('jane', `198.51.100.${i}`);
    const smsBefore = (await t.services.db.selectFrom('sms_outbox').select('id').execute()).length;
    prompter.push(PIN);
    const e = await expectCode(newApp(t, 'ios', prompter, app.state.dir).recover('reactivate', 'jane', {}), 'SLS_ERR_USER_LOCKED');
    expect(e.lockedUntil).toBeDefined();
    expect((await t.services.db.selectFrom('sms_outbox').select('id').execute()).length).toBe(smsBefore);
    expect(await auditEvents(t, 'ibkey.activation_started')).toHaveLength(1); // the first activation only
  });

  it('Android: the keys are gone with the app data; credentials, the SMS token, then the PIN', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'android', prompter);
    const first = await activate(t, app, prompter, 'jane', userId);
    app.state.reinstall();
    const again = newApp(t, 'android', prompter, app.state.dir);
    expect(again.state.keys()).toEqual([]);
    await expectCode(again.recover('reactivate', 'jane', { password: 'wrong password' }), 'SLS_ERR_INVALID_CREDENTIALS');
    prompter.push(() => lastActivationCode(t, userId), PIN, PIN);
    const done = await again.recover('reactivate', 'jane', { password: PASSWORD });
    expect(prompter.questions.slice(-3)).toEqual(['Activation code: ', 'Choose a PIN (4–16 digits): ', 'Repeat the PIN: ']);
    expect(done.revokedDeviceIds).toEqual([first.deviceId]);
    expect(await approveLogin(again, prompter, 'jane')).toBe('signed_in');
  });
});

describe('transfer to another phone (SPEC K5)', () => {
  it('Android: an SMS code moves IB Key; the old phone\'s key and offline codes are refused afterwards', async () => {
    const userId = await createUser(t, 'jane');
    const oldPrompter = new ScriptedPrompter();
    const oldPhone = newApp(t, 'android', oldPrompter);
    const first = await activate(t, oldPhone, oldPrompter, 'jane', userId);
    const oldKeys = await oldPhone.unlock(PIN);

    const prompter = new ScriptedPrompter([() => lastActivationCode(t, userId), PIN, PIN]);
    const newPhone = newApp(t, 'android', prompter);
    const done = await newPhone.recover('transfer', 'jane', { password: PASSWORD });
    expect(done.revokedDeviceIds).toEqual([first.deviceId]);
    expect(await auditEvents(t, 'ibkey.transferred')).toHaveLength(1);

    // The old phone can no longer answer a login with an offline code …
    const step = await startLogin(t, 'jane');
    if (step.status === 'signed_in') throw new Error('signed in without a second factor');
    const sel = await t.app.inject({ method: 'POST', url: `/v1/login/${step.transactionId}/device`, payload: { deviceId: done.deviceId, mode: 'offline' } });
    const challenge = sel.json().challenge.challenge as string;
    oldPrompter.push(PIN);
    const oldCode = await oldPhone.respond('jane', challenge);
    const r = await t.app.inject({ method: 'POST', url: `/v1/login/${step.transactionId}/response`, payload: { response: oldCode } });
    expect(r.json().error.code).toBe('SLS_ERR_WRONG_RESPONSE');
    // … nor poll (its key is refused): the app drops the user and says so.
    await expectCode(oldPhone.poll(oldKeys, 0), 'SLS_ERR_IBKEY_NOT_ACTIVE');
    expect(oldPrompter.said.at(-1)).toBe('IB Key for jane was moved to another phone or activated again: it no longer works here and was removed from this app.');
    expect(oldPhone.users()).toEqual([]);
    prompter.push(PIN);
    const newCode = await newPhone.respond('jane', challenge);
    const ok = await t.app.inject({ method: 'POST', url: `/v1/login/${step.transactionId}/response`, payload: { response: newCode } });
    expect(ok.json().status).toBe('signed_in');
  });

  it('L4: a login waiting for the old phone\'s notification hears at once that it ended, and the new phone answers its code', async () => {
    const userId = await createUser(t, 'jane');
    const oldPrompter = new ScriptedPrompter();
    await activate(t, newApp(t, 'android', oldPrompter), oldPrompter, 'jane', userId);
    const step = await startLogin(t, 'jane');
    if (step.status !== 'challenge' || step.challenge.type !== 'push') throw new Error(`expected a push, got ${JSON.stringify(step)}`);
    expect((await status(t, step.transactionId)).body.status).toBe('waiting');

    const prompter = new ScriptedPrompter([() => lastActivationCode(t, userId), PIN, PIN]);
    const newPhone = newApp(t, 'android', prompter);
    const done = await newPhone.recover('transfer', 'jane', { password: PASSWORD });
    // Not "waiting" for a minute for a phone that no longer holds IB Key.
    expect((await status(t, step.transactionId)).body.status).toBe('push_expired');
    const sel = await t.app.inject({ method: 'POST', url: `/v1/login/${step.transactionId}/device`, payload: { deviceId: done.deviceId, mode: 'offline' } });
    prompter.push(PIN);
    const code = await newPhone.respond('jane', sel.json().challenge.challenge as string);
    const ok = await t.app.inject({ method: 'POST', url: `/v1/login/${step.transactionId}/response`, payload: { response: code } });
    expect(ok.json().status).toBe('signed_in');
  });

  it('keeps the name the user gave the phone, as the desktop lists it; a name given on the new phone wins', async () => {
    const userId = await createUser(t, 'jane');
    await newApp(t, 'android', new ScriptedPrompter([() => lastActivationCode(t, userId), PIN, PIN])).activate('jane', PASSWORD, 'Pixel of Jane');

    // No name given on the new phone: the one the user gave is kept, not "Android phone".
    const newPhone = newApp(t, 'android', new ScriptedPrompter([() => lastActivationCode(t, userId), PIN, PIN]));
    const done = await newPhone.recover('transfer', 'jane', { password: PASSWORD });
    // What the desktop's drop-down shows (L2; a second device makes it appear).
    const scc = await t.provisioning.addDevice({ username: 'jane', kind: 'scc' });
    const step = await startLogin(t, 'jane');
    if (step.status !== 'select_device') throw new Error(`expected the device list, got ${step.status}`);
    expect(step.devices.filter((d) => d.kind === 'ibkey').map((d) => d.label)).toEqual(['IB Key (Pixel of Jane)']);
    expect(newPhone.users().map((u) => u.label)).toEqual(['Pixel of Jane']);
    expect(done.label).toBe('Pixel of Jane');

    // A name given on the next phone is that phone's name (like --label at the first activation).
    const prompter = new ScriptedPrompter();
    const third = newApp(t, 'android', prompter);
    prompter.push(() => {
      // K6: the code card answers instead of the SMS now.
      const m = /index numbers (\d+) and (\d+)/.exec(prompter.said.at(-1)!)!;
      return scc.card!.cells[Number(m[1]) - 1]! + scc.card!.cells[Number(m[2]) - 1]!;
    }, PIN, PIN);
    const renamed = await third.recover('transfer', 'jane', { password: PASSWORD, label: 'Galaxy of Jane' });
    expect(renamed.label).toBe('Galaxy of Jane');
    expect(third.users().map((u) => u.label)).toEqual(['Galaxy of Jane']);
    const rows = await t.services.db.selectFrom('devices').select('label').where('id', '=', renamed.deviceId).execute();
    expect(rows).toEqual([{ label: 'IB Key (Galaxy of Jane)' }]);
  });

  it('does not carry a platform\'s own name to a phone of another platform: an iPhone left unnamed becomes "Android phone"', async () => {
    const userId = await createUser(t, 'jane');
    const first = await newApp(t, 'ios', new ScriptedPrompter([() => lastActivationCode(t, userId), PIN, PIN])).activate('jane', PASSWORD);
    const done = await newApp(t, 'android', new ScriptedPrompter([() => lastActivationCode(t, userId), PIN, PIN])).recover('transfer', 'jane', { password: PASSWORD });
    const label = async (id: string) => (await t.services.db.selectFrom('devices').select('label').where('id', '=', id).executeTakeFirstOrThrow()).label;
    expect([await label(first.deviceId), await label(done.deviceId)]).toEqual(['IB Key (iPhone)', 'IB Key (Android phone)']);
    expect(done.label).toBe('Android phone');
  });

  it('iOS: the PIN originally set (the key comes with the iCloud Keychain) plus an SMS code', async () => {
    const userId = await createUser(t, 'jane');
    const oldPrompter = new ScriptedPrompter();
    const oldPhone = newApp(t, 'ios', oldPrompter);
    const first = await activate(t, oldPhone, oldPrompter, 'jane', userId);
    const prompter = new ScriptedPrompter();
    const newPhone = newApp(t, 'ios', prompter);
    // Without the Keychain there is nothing to prove the PIN with.
    await expect(newPhone.recover('transfer', 'jane', {})).rejects.toThrow('client services');
    expect(newPhone.state.importKeychain(oldPhone.state.dir)).toBe(1);
    prompter.push(PIN, () => lastActivationCode(t, userId));
    const done = await newPhone.recover('transfer', 'jane', {});
    expect(done.revokedDeviceIds).toEqual([first.deviceId]);
    expect(await approveLogin(newPhone, prompter, 'jane')).toBe('signed_in');
    // The old iPhone's key is refused, even though it is the same key material's predecessor.
    await expectCode(oldPhone.unlock(PIN).then((k) => oldPhone.poll(k, 0)), 'SLS_ERR_IBKEY_NOT_ACTIVE');
  });
});

describe('another active physical device instead of the SMS (SPEC K6)', () => {
  it('a DSC+ (software) answers the challenge; no SMS is sent', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter();
    const oldPhone = newApp(t, 'android', prompter);
    await activate(t, oldPhone, prompter, 'jane', userId);
    const dsc = await t.provisioning.addDevice({ username: 'jane', kind: 'dscplus' });
    const smsBefore = (await t.services.db.selectFrom('sms_outbox').select('id').execute()).length;

    const newPrompter = new ScriptedPrompter();
    const newPhone = newApp(t, 'android', newPrompter);
    newPrompter.push(() => {
      const line = newPrompter.said.at(-1)!;
      const challenge = /challenge (\d{6})/.exec(line)![1]!;
      return deviceResponse('dscplus', dsc.secret!, challenge, { pinHash: ocraPasswordHash(DEVICE_CATALOGUE.dscplus.ocraSuite!, dsc.pin!) });
    }, PIN, PIN);
    // Even without the phone number (K6: the number is not needed).
    const done = await newPhone.recover('transfer', 'jane', { password: PASSWORD, smsAvailable: false });
    expect(newPrompter.said.at(-1)).toContain('Digital Security Card+');
    expect((await t.services.db.selectFrom('sms_outbox').select('id').execute()).length).toBe(smsBefore);
    expect(await approveLogin(newPhone, newPrompter, 'jane')).toBe('signed_in');
    expect(done.revokedDeviceIds).toHaveLength(1);
  });

  it('a Security Code Card answers with the codes at two index numbers', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'ios', prompter);
    await activate(t, app, prompter, 'jane', userId);
    const scc = await t.provisioning.addDevice({ username: 'jane', kind: 'scc' });
    app.state.reinstall();
    const again = newApp(t, 'ios', prompter, app.state.dir);
    prompter.push(PIN, () => {
      const m = /index numbers (\d+) and (\d+)/.exec(prompter.said.at(-1)!)!;
      return scc.card!.cells[Number(m[1]) - 1]! + scc.card!.cells[Number(m[2]) - 1]!;
    });
    const done = await again.recover('reactivate', 'jane', {});
    expect(done.revokedDeviceIds).toHaveLength(1);
  });
});

describe('no self-service recovery (SPEC K7)', () => {
  it('without the number and without another physical device, the user is sent to client services', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'android', prompter);
    await activate(t, app, prompter, 'jane', userId);
    const e = await expectCode(newApp(t, 'android', new ScriptedPrompter()).recover('transfer', 'jane', { password: PASSWORD, smsAvailable: false }), 'SLS_ERR_IBKEY_RECOVERY_UNAVAILABLE');
    expect(e.message).toBe(K7_MESSAGE);
    expect(e.message).toContain('client services');
    // Nothing changed: the phone still works.
    expect(await approveLogin(app, prompter, 'jane')).toBe('signed_in');
  });
});

describe('temporary password delivered to the app (SPEC K8)', () => {
  it('client services send it sealed to the app, which shows it with its PIN; it is the new login password', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'ios', prompter);
    await activate(t, app, prompter, 'jane', userId);
    const sent = await t.services.ibkey.sendTemporaryPassword('jane', 'cs-agent');
    expect(sent.messageIds).toHaveLength(1);
    // Not by SMS, and not readable from the database.
    expect((await t.services.db.selectFrom('sms_outbox').select('purpose').execute()).map((r) => r.purpose)).toEqual(['ibkey_activation']);
    const keys = await app.unlock(PIN);
    const polled = await app.poll(keys, 0);
    expect(polled.messages).toHaveLength(1);
    const [read] = await app.readInbox(keys);
    expect(read!.temporaryPassword).toMatch(/^[A-Za-z2-9]{12}$/);
    const stored = await t.services.db.selectFrom('ibkey_messages').select('sealed').executeTakeFirstOrThrow();
    expect(stored.sealed).not.toContain(read!.temporaryPassword);
    // Delivered once.
    expect((await app.poll(keys, 0)).messages).toEqual([]);
    const login = await t.app.inject({ method: 'POST', url: '/v1/login', payload: { username: 'jane', password: read!.temporaryPassword, client: { kind: 'trading_platform', version: 1000 } } });
    expect(login.statusCode).toBe(200);
    expect(await auditEvents(t, 'ibkey.temporary_password_sent')).toHaveLength(1);
  });

  it('ends the sessions the old password opened, at once (K8, L8)', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'android', prompter);
    await activate(t, app, prompter, 'jane', userId);
    expect(await approveLogin(app, prompter, 'jane')).toBe('signed_in');
    const before = await t.services.db.selectFrom('sessions').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
    expect(before.length).toBeGreaterThan(0);
    await t.services.ibkey.sendTemporaryPassword('jane', 'cs-agent');
    expect(await t.services.db.selectFrom('sessions').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null).execute()).toEqual([]);
    const [sent] = await auditEvents(t, 'ibkey.temporary_password_sent');
    expect(JSON.parse(sent!.details)).toMatchObject({ sessionsEnded: before.length });
  });
});

describe('slsctl ibkey send-temp-password (SPEC K8)', () => {
  it('client services deliver the temporary password to the app from the operator CLI', async () => {
    const userId = await createUser(t, 'jane');
    const prompter = new ScriptedPrompter();
    const app = newApp(t, 'android', prompter);
    await activate(t, app, prompter, 'jane', userId);
    const out: string[] = [];
    const code = await runSlsctl(['ibkey', 'send-temp-password', '--user', 'jane'], {
      out: (s) => void out.push(s),
      err: (s) => void out.push(s),
      readStdin: async () => '',
      promptHidden: async () => null,
      env: { SLS_DATA_DIR: t.dataDir, SLS_DATABASE_URL: t.config.databaseUrl, SLS_SERVER_KEY: t.config.serverKey!, SLSCTL_OPERATOR: 'cs-agent' },
    });
    expect(out.join('')).toContain('delivered to 1 IB Key app');
    expect(code).toBe(0);
    const keys = await app.unlock(PIN);
    await app.poll(keys, 0);
    const [read] = await app.readInbox(keys);
    expect(read!.username).toBe('jane');
    const audit = await auditEvents(t, 'ibkey.temporary_password_sent');
    expect(JSON.parse(audit[0]!.details)).toMatchObject({ issuedBy: 'cs-agent' });
  });
});
