/**
 * IB Key benchmark: PIN unlock, signing, and a push approval end to end over HTTP (SPEC L7).
 *
 * `npm run bench:ibkey`. Prints numbers; asserts nothing about speed. The approval round trip is
 * login → push → the app's poll → answer → the desktop's long-poll wakes with `signed_in`; "wake" is
 * the desktop's status reply minus the app's answer reply: negative when the desktop hears first
 * (the in-process notifier wakes it before the answer's HTTP reply is written).
 */
import { performance } from 'node:perf_hooks';
import { newDeviceKey, openWithPin, sealUnderPin, signWith } from '../../ibkey/crypto.ts';
import { verifyP256 } from '../services/ibkey-crypto.ts';
import { activate, createUser, ibkeyServer, newApp, PIN, ScriptedPrompter, startLogin, status } from './testkit.ts';

function stats(name: string, ms: number[]): void {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(2);
  console.log(`${name.padEnd(34)} n=${s.length}  median ${q(0.5)} ms  p90 ${q(0.9)} ms  max ${s.at(-1)!.toFixed(2)} ms`);
}

async function time<T>(f: () => Promise<T> | T): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await f();
  return [v, performance.now() - t0];
}

const key = newDeviceKey();
const sealed = sealUnderPin({ privateKey: key.privateKey, ocraSecret: 'x' }, PIN, 'dev');
const unlock: number[] = [];
for (let i = 0; i < 10; i++) unlock.push((await time(() => openWithPin(sealed, PIN, 'dev')))[1]);
stats('PIN unlock (scrypt N=2^15)', unlock);
const sig: number[] = [];
const ver: number[] = [];
for (let i = 0; i < 200; i++) {
  const [s, a] = await time(() => signWith(key.privateKey, `message ${i}`));
  sig.push(a);
  ver.push((await time(() => verifyP256(key.publicKey, `message ${i}`, s)))[1]);
}
stats('ECDSA P-256 sign (app)', sig);
stats('ECDSA P-256 verify (slsd)', ver);

const t = await ibkeyServer();
try {
  const userId = await createUser(t, 'bench');
  const prompter = new ScriptedPrompter();
  const app = newApp(t, 'android', prompter);
  await activate(t, app, prompter, 'bench', userId);
  const keys = await app.unlock(PIN);
  const total: number[] = [];
  const wake: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    const step = await startLogin(t, 'bench');
    if (step.status !== 'challenge' || step.challenge.type !== 'push') throw new Error('no push');
    const desktop = status(t, step.transactionId, 25).then((s) => ({ s, at: performance.now() }));
    const polled = await app.poll(keys, 25);
    const request = polled.requests.find((r) => r.transactionId === step.transactionId)!;
    prompter.push(String(step.challenge.matchNumber), PIN);
    await app.answerPush(request);
    const answeredAt = performance.now();
    const { s, at } = await desktop;
    if (s.body.status !== 'signed_in') throw new Error(`not signed in: ${JSON.stringify(s.body)}`);
    wake.push(at - answeredAt);
    total.push(at - t0);
  }
  stats('push approval, login → signed_in', total);
  stats('desktop wake − app answer reply', wake);
  console.log('(the round trip includes argon2id for the password and one PIN unlock in the app)');
} finally {
  await t.close();
}
