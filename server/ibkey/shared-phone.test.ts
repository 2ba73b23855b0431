/**
 * One phone, several users (SPEC K3), when one of them moves IB Key to another phone (K5): the
 * others keep approving (L7) and reading client services' messages (K8) on the old phone, which drops
 * the moved user and says so once. Also the inbox keeping a temporary password until dismissed (K8)
 * and the number question asked again after a slip (L7).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IbKeyApp } from '../../ibkey/app.ts';
import type { IbKeyPlatform } from '../../ibkey/protocol.ts';
import type { TestServer } from '../testing/test-server.ts';
import { activate, appWithUser, createUser, ibkeyServer, lastActivationCode, newApp, PASSWORD, PIN, ScriptedPrompter, startLogin, status } from './testkit.ts';

let t: TestServer;
beforeEach(async () => {
  t = await ibkeyServer();
});
afterEach(async () => {
  await t.close();
});

const GONE = /jane\.t .*no longer works here/;

/** jane.t and john.t in one app on ph1 (K3); jane.t then moves IB Key to ph2 (K5). */
async function janeMovesAway(platform: IbKeyPlatform) {
  const janeId = await createUser(t, 'jane.t');
  const johnId = await createUser(t, 'john.t', { mobile: '+12125550199' });
  const p1 = new ScriptedPrompter();
  const ph1 = newApp(t, platform, p1);
  await activate(t, ph1, p1, 'jane.t', janeId);
  await activate(t, ph1, p1, 'john.t', johnId, false);
  const p2 = new ScriptedPrompter();
  const ph2 = newApp(t, platform, p2);
  let moved;
  if (platform === 'ios') {
    ph2.state.importKeychain(ph1.state.dir);
    p2.push(PIN, () => lastActivationCode(t, janeId));
    moved = await ph2.recover('transfer', 'jane.t', {});
  } else {
    p2.push(() => lastActivationCode(t, janeId), PIN, PIN);
    moved = await ph2.recover('transfer', 'jane.t', { password: PASSWORD });
  }
  expect(moved.revokedDeviceIds).toHaveLength(1);
  return { ph1, p1, ph2, p2 };
}

async function pushLogin(username: string) {
  const step = await startLogin(t, username);
  if (step.status !== 'challenge' || step.challenge.type !== 'push') throw new Error(`expected a push, got ${JSON.stringify(step)}`);
  return { transactionId: step.transactionId, matchNumber: step.challenge.matchNumber };
}

describe.each(['android', 'ios'] as const)('one user moves IB Key away from a shared %s phone (SPEC K3, K5)', (platform) => {
  it('the other user keeps approving on the old phone; the moved user is dropped there, said once', async () => {
    const { ph1, p1, ph2, p2 } = await janeMovesAway(platform);
    const john = await pushLogin('john.t');
    const waiting = status(t, john.transactionId, 10);

    const keys = await ph1.unlock(PIN);
    const polled = await ph1.poll(keys, 0);
    expect(polled.inactiveDeviceIds).toHaveLength(1);
    const request = polled.requests.find((r) => r.transactionId === john.transactionId);
    expect(request?.username).toBe('john.t');
    expect(p1.said.filter((l) => GONE.test(l))).toHaveLength(1);
    expect(ph1.users().map((u) => u.username)).toEqual(['john.t']);
    expect(ph1.state.keys().map((k) => k.username)).toEqual(['john.t']);
    expect([...keys.values()].map((k) => k.entry.username)).toEqual(['john.t']);

    p1.push(String(john.matchNumber), PIN);
    expect((await ph1.answerPush(request!)).outcome).toBe('approved');
    expect((await waiting).body.status).toBe('signed_in');

    // Said once: later polls (and a fresh unlock) serve john.t alone, without the notice again.
    const again = await ph1.unlock(PIN);
    expect(again.size).toBe(1);
    expect((await ph1.poll(again, 0)).inactiveDeviceIds).toEqual([]);
    expect(p1.said.filter((l) => GONE.test(l))).toHaveLength(1);

    // jane.t's logins go to her new phone only.
    const jane = await pushLogin('jane.t');
    expect((await ph1.poll(again, 0)).requests).toEqual([]);
    const onPh2 = (await ph2.poll(await ph2.unlock(PIN), 0)).requests;
    expect(onPh2.map((r) => r.transactionId)).toEqual([jane.transactionId]);
    p2.push(String(jane.matchNumber), PIN);
    expect((await ph2.answerPush(onPh2[0]!)).outcome).toBe('approved');
  });

  it('the other user reads a temporary password from client services on the old phone (K8)', async () => {
    const { ph1 } = await janeMovesAway(platform);
    const sent = await t.services.ibkey.sendTemporaryPassword('john.t', 'cs-agent');
    expect(sent.messageIds).toHaveLength(1);
    const keys = await ph1.unlock(PIN);
    await ph1.poll(keys, 0);
    const read = await ph1.readInbox(keys);
    expect(read.map((m) => m.username)).toEqual(['john.t']);
    const login = await t.app.inject({ method: 'POST', url: '/v1/login', payload: { username: 'john.t', password: read[0]!.temporaryPassword, client: { kind: 'trading_platform', version: 1000 } } });
    expect(login.statusCode).toBe(200);
  });
});

describe('the temporary password stays in the app until dismissed (SPEC K8)', () => {
  it('is shown again, after a restart too; a newer one replaces it; dismissing removes it', async () => {
    const { app, prompter } = await appWithUser(t, 'jane');
    await t.services.ibkey.sendTemporaryPassword('jane', 'cs-agent');
    const keys = await app.unlock(PIN);
    expect((await app.poll(keys, 0)).messages).toHaveLength(1);
    const [first] = await app.readInbox(keys);
    // Read again, and after the app is closed and opened again: still there (sealed in the app data).
    expect((await app.readInbox(keys)).map((m) => m.temporaryPassword)).toEqual([first!.temporaryPassword]);
    const reopened = newApp(t, 'android', prompter, app.state.dir);
    const keys2 = await reopened.unlock(PIN);
    expect((await reopened.poll(keys2, 0)).messages).toEqual([]);
    expect((await reopened.readInbox(keys2)).map((m) => m.temporaryPassword)).toEqual([first!.temporaryPassword]);
    expect(JSON.stringify(reopened.state.app())).not.toContain(first!.temporaryPassword);

    // A newer password replaces the older one, which no longer works anyway.
    t.clock.advance(1000);
    await t.services.ibkey.sendTemporaryPassword('jane', 'cs-agent');
    await reopened.poll(keys2, 0);
    const now = await reopened.readInbox(keys2);
    expect(now).toHaveLength(1);
    expect(now[0]!.temporaryPassword).not.toBe(first!.temporaryPassword);

    expect(reopened.dismissInbox()).toBe(1);
    expect(await reopened.readInbox(keys2)).toEqual([]);
  });
});

describe('answering a push (SPEC L7)', () => {
  let app: IbKeyApp;
  let prompter: ScriptedPrompter;
  beforeEach(async () => {
    ({ app, prompter } = await appWithUser(t, 'jane', 'ios'));
  });

  it('a number that is not offered is asked again, not the end of the run', async () => {
    const login = await pushLogin('jane');
    const [request] = (await app.poll(await app.unlock(PIN), 0)).requests;
    const notOffered = [...Array(90).keys()].map((i) => i + 10).find((n) => !request!.choices.includes(n))!;
    prompter.push(String(notOffered), 'abc', String(login.matchNumber), PIN);
    expect((await app.answerPush(request!)).outcome).toBe('approved');
    const hints = prompter.said.filter((l) => l.startsWith('Choose one of'));
    expect(hints).toHaveLength(2);
    const [a, b, c] = request!.choices;
    expect(hints[0]).toBe(`Choose one of ${a}, ${b} or ${c}, or type "deny".`);
    expect((await status(t, login.transactionId)).body.status).toBe('signed_in');
  });

  it('a login cancelled at the desktop is no longer offered; of live ones the newest comes first', async () => {
    const cancelled = await pushLogin('jane');
    const r = await t.app.inject({ method: 'POST', url: `/v1/login/${cancelled.transactionId}/cancel`, payload: {} });
    expect(r.statusCode).toBe(200);
    const older = await pushLogin('jane');
    t.clock.advance(1000);
    const newer = await pushLogin('jane');
    const polled = await app.poll(await app.unlock(PIN), 0);
    expect(polled.requests.map((x) => x.transactionId)).toEqual([newer.transactionId, older.transactionId]);
  });
});
