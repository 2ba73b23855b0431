/**
 * Shared helpers of the IB Key tests: a real slsd on a loopback port, apps in temporary state
 * folders answering from a script, and the desktop's side of a login.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LoginStep } from '../../core/api.ts';
import type { Prompter } from '../../ibkey/app.ts';
import { IbKeyApp } from '../../ibkey/app.ts';
import type { IbKeyPlatform } from '../../ibkey/protocol.ts';
import { startTestServer } from '../testing/test-server.ts';
import type { TestServer } from '../testing/test-server.ts';

export const PASSWORD = 'correct horse battery';
export const PIN = '482916';

export type Answer = string | (() => string | Promise<string>);

/** A prompter answering from a list, in order; what the app says is kept. */
export class ScriptedPrompter implements Prompter {
  readonly said: string[] = [];
  readonly questions: string[] = [];
  readonly #answers: Answer[];

  constructor(answers: Answer[] = []) {
    this.#answers = [...answers];
  }

  push(...answers: Answer[]): void {
    this.#answers.push(...answers);
  }

  async ask(question: string): Promise<string> {
    this.questions.push(question);
    const next = this.#answers.shift();
    if (next === undefined) throw new Error(`unexpected question: ${question}`);
    return typeof next === 'function' ? next() : next;
  }

  secret(question: string): Promise<string> {
    return this.ask(question);
  }

  say(line: string): void {
    this.said.push(line);
  }
}

export async function ibkeyServer(): Promise<TestServer> {
  return startTestServer({ listen: true });
}

let entityCount = 0;

/** A user with a password and (unless null) a mobile number on file. */
export async function createUser(t: TestServer, username: string, opts: { mobile?: string | null; verified?: boolean } = {}): Promise<string> {
  const entityId = await t.provisioning.createEntity({ name: `Entity ${++entityCount}` });
  const mobile = opts.mobile === undefined ? '+12125550142' : opts.mobile;
  const id = await t.provisioning.createUser({ username, entityId, password: PASSWORD, ...(mobile ? { mobileNumber: mobile } : {}) });
  if (opts.verified === false) await t.services.db.updateTable('users').set({ mobile_verified_at: null }).where('id', '=', id).execute();
  return id;
}

/** The last IB Key activation code sent by SMS to a user. */
export async function lastActivationCode(t: TestServer, userId: string): Promise<string> {
  const row = await t.services.db
    .selectFrom('sms_outbox')
    .select('body')
    .where('user_id', '=', userId)
    .where('purpose', '=', 'ibkey_activation')
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow();
  const m = /code is (\d+)/.exec(row.body);
  if (!m) throw new Error('no code in the SMS');
  return m[1]!;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function newApp(t: TestServer, platform: IbKeyPlatform, prompter: Prompter, dir = tempDir('ibkey-app-')): IbKeyApp {
  return new IbKeyApp(dir, prompter, { platform, server: t.url! });
}

/** Activates IB Key for a user in an app (K1): the SMS code, then the PIN (chosen twice the first time). */
export async function activate(t: TestServer, app: IbKeyApp, prompter: ScriptedPrompter, username: string, userId: string, first = true) {
  prompter.push(() => lastActivationCode(t, userId), ...(first ? [PIN, PIN] : [PIN]));
  return app.activate(username, PASSWORD, `phone of ${username}`);
}

export const DESKTOP = { kind: 'trading_platform', version: 1000, name: 'SLS Desktop on Linux' } as const;

export async function startLogin(t: TestServer, username: string): Promise<LoginStep> {
  const r = await t.app.inject({ method: 'POST', url: '/v1/login', payload: { username, password: PASSWORD, client: DESKTOP } });
  if (r.statusCode !== 200) throw new Error(`login: ${r.statusCode} ${r.body}`);
  return r.json() as LoginStep;
}

export async function status(t: TestServer, transactionId: string, wait = 0) {
  const r = await t.app.inject({ method: 'GET', url: `/v1/login/${transactionId}/status?wait=${wait}` });
  return { code: r.statusCode, body: r.json() as { status?: string; error?: { code: string; message: string }; session?: { authenticatedWith: { kind: string } | null } } };
}

export async function auditEvents(t: TestServer, event: string) {
  return t.services.db.selectFrom('audit_log').selectAll().where('event', '=', event).execute();
}

/** A fresh app on its own phone with one user activated in it (K1). */
export async function appWithUser(t: TestServer, username: string, platform: IbKeyPlatform = 'android') {
  const userId = await createUser(t, username);
  const prompter = new ScriptedPrompter();
  const app = newApp(t, platform, prompter);
  await activate(t, app, prompter, username, userId);
  return { app, prompter, userId };
}
