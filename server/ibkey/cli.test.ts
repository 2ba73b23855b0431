/**
 * The `ibkey` CLI as a separate process against a listening slsd (SPEC K1, K2, L7): what a person
 * types, line by line on stdin, and what the app shows on stdout.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestServer } from '../testing/test-server.ts';
import { createUser, ibkeyServer, lastActivationCode, PASSWORD, PIN, startLogin, status, tempDir } from './testkit.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

class Cli {
  readonly child: ChildProcessWithoutNullStreams;
  out = '';
  err = '';
  readonly exited: Promise<number>;

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, [path.join(ROOT, 'bin/ibkey.mjs'), ...args], { cwd: ROOT, stdio: 'pipe' });
    this.child.stdout.on('data', (d) => (this.out += String(d)));
    this.child.stderr.on('data', (d) => (this.err += String(d)));
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code ?? -1)));
  }

  send(line: string): void {
    this.child.stdin.write(line + '\n');
  }

  async waitFor(re: RegExp): Promise<RegExpExecArray> {
    const until = Date.now() + 20_000;
    for (;;) {
      const m = re.exec(this.out);
      if (m) return m;
      if (Date.now() > until || this.child.exitCode !== null) throw new Error(`no ${re} in ${JSON.stringify(this.out)}; stderr ${JSON.stringify(this.err)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async done(): Promise<number> {
    this.child.stdin.end();
    return this.exited;
  }
}

let t: TestServer;
beforeEach(async () => {
  t = await ibkeyServer();
});
afterEach(async () => {
  await t.close();
});

describe('ibkey CLI', () => {
  it('activates with the SMS code, approves a login with the desktop\'s number, answers an offline challenge', async () => {
    const userId = await createUser(t, 'jane');
    const state = tempDir('ibkey-cli-');
    const ibkey = (...args: string[]) => new Cli(['--state', state, '--platform', 'ios', '--server', t.url!, ...args]);

    const activate = ibkey('activate', '--user', 'jane', '--password-stdin', '--label', 'iPhone of Jane');
    activate.send(PASSWORD);
    await activate.waitFor(/An activation code was sent by SMS to \+1 ••• ••• ••42\./);
    activate.send(await lastActivationCode(t, userId));
    activate.send(PIN);
    activate.send(PIN);
    await activate.waitFor(/IB Key is active for jane on this iPhone/);
    expect(await activate.done()).toBe(0);

    const step = await startLogin(t, 'jane');
    if (step.status !== 'challenge' || step.challenge.type !== 'push') throw new Error('no push');
    const approve = ibkey('approve', '--once', '--timeout', '20');
    approve.send(PIN);
    const m = await approve.waitFor(/Which number is shown on your screen\?\s+([\d ]+)\n/);
    expect(m[1]!.trim().split(/\s+/)).toContain(String(step.challenge.matchNumber));
    expect(approve.out).toContain('client: SLS Desktop on Linux');
    approve.send(String(step.challenge.matchNumber));
    approve.send(PIN);
    await approve.waitFor(/Approved: the login goes on\./);
    expect(await approve.done()).toBe(0);
    expect((await status(t, step.transactionId)).body.status).toBe('signed_in');

    const respond = ibkey('respond', '123456', '--user', 'jane');
    respond.send(PIN);
    const [, code] = await respond.waitFor(/^(\d{8})$/m);
    expect(await respond.done()).toBe(0);
    expect(code).toHaveLength(8);
  });

  it('one user moves IB Key to another phone: the other keeps approving and reading messages on the old one (K3, K5, K8)', async () => {
    const janeId = await createUser(t, 'jane.t');
    const johnId = await createUser(t, 'john.t', { mobile: '+12125550199' });
    const ph1 = tempDir('ibkey-ph1-');
    const ph2 = tempDir('ibkey-ph2-');
    const on = (state: string, ...args: string[]) => new Cli(['--state', state, '--platform', 'android', '--server', t.url!, ...args]);
    const enrol = async (cli: Cli, userId: string, pins: string[]) => {
      cli.send(PASSWORD);
      await cli.waitFor(/An activation code was sent by SMS/);
      cli.send(await lastActivationCode(t, userId));
      for (const pin of pins) cli.send(pin);
      return cli.done();
    };
    expect(await enrol(on(ph1, 'activate', '--user', 'jane.t', '--password-stdin', '--label', 'Pixel of Jane'), janeId, [PIN, PIN])).toBe(0);
    expect(await enrol(on(ph1, 'add-user', '--user', 'john.t', '--password-stdin'), johnId, [PIN])).toBe(0);
    const transfer = on(ph2, 'transfer', '--user', 'jane.t', '--password-stdin');
    expect(await enrol(transfer, janeId, [PIN, PIN])).toBe(0);
    expect(transfer.out).toContain('IB Key for jane.t no longer works on the previous phone.');
    // K5: the phone keeps the name the user gave it (what the desktop lists), not "Android phone".
    expect(transfer.out).toContain('IB Key is active again for jane.t on this phone ("Pixel of Jane").');
    expect(transfer.out).not.toMatch(/dev_/);

    const step = await startLogin(t, 'john.t');
    if (step.status !== 'challenge' || step.challenge.type !== 'push') throw new Error('no push');
    const approve = on(ph1, 'approve', '--once', '--timeout', '20');
    approve.send(PIN);
    const m = await approve.waitFor(/Which number is shown on your screen\?\s+([\d ]+)\n/);
    const choices = m[1]!.trim().split(/\s+/).map(Number);
    approve.send(String([...Array(90).keys()].map((i) => i + 10).find((n) => !choices.includes(n))));
    await approve.waitFor(/Choose one of/);
    approve.send(String(step.challenge.matchNumber));
    approve.send(PIN);
    await approve.waitFor(/Approved: the login goes on\./);
    expect(await approve.done()).toBe(0);
    expect(approve.out.match(/jane\.t .*no longer works here/g)).toHaveLength(1);
    expect((await status(t, step.transactionId)).body.status).toBe('signed_in');

    const users = on(ph1, 'users');
    expect(await users.done()).toBe(0);
    expect(users.out).toContain('1 user(s)');
    expect(users.out).not.toContain('jane.t');

    await t.services.ibkey.sendTemporaryPassword('john.t', 'cs-agent');
    for (let i = 0; i < 2; i++) {
      // Read twice: the app keeps it until dismissed.
      const inbox = on(ph1, 'inbox');
      inbox.send(PIN);
      await inbox.waitFor(/Temporary password for john\.t from client services .*: [A-Za-z2-9]{12}\n/);
      expect(await inbox.done()).toBe(0);
    }
    const dismiss = on(ph1, 'inbox', '--dismiss');
    await dismiss.waitFor(/Dismissed 1 message\./);
    expect(await dismiss.done()).toBe(0);
  });

  it('says why it cannot go on, with the coded error, and exits non-zero', async () => {
    await createUser(t, 'nomobile', { mobile: null });
    const state = tempDir('ibkey-cli-');
    const activate = new Cli(['--state', state, '--platform', 'android', '--server', t.url!, 'activate', '--user', 'nomobile', '--password-stdin']);
    activate.send(PASSWORD);
    expect(await activate.done()).toBe(1);
    expect(activate.err).toContain('(SLS_ERR_IBKEY_NO_MOBILE)');
  });
});
