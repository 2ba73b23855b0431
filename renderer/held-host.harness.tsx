/**
 * A page for the renderer's tests of late login answers (late-login-answer.test.ts, SPEC L1–L5, C5)
 * and of late Account answers (late-account-answer.test.ts, SPEC W1, W4, S3, D6, P2, L6, C6): the
 * app on a fake host whose login steps wait until the test answers them, one by one and in any
 * order, as a slow slsd would; the test may answer other calls at once (`reply`) or hold them
 * (`hold`). Browser code: the test bundles it and opens it in Chromium; the test drives it through
 * `window.heldHost`. Not part of the app (main.tsx does not import it).
 *
 * Like the host's dispatcher, it refuses a call whose input does not match the contract (SPEC C3):
 * a login step that names no login (`loginId`, SPEC L6, C5) is refused SLS_ERR_INVALID_INPUT.
 */
import { createRoot } from 'react-dom/client';
import { CALLS } from '../core/contract/contract.ts';
import { ContractError } from '../core/contract/messages.ts';
import { isCallName } from '../core/contract/names.ts';
import type { ClientError, SettingsView, SlsApi } from '../core/contract/index.ts';
import { App } from './App.tsx';

/** The calls that wait for the test: the login's steps (and the IB Key poll, which would else spin). */
const HELD: ReadonlySet<string> = new Set(['login', 'selectDevice', 'respond', 'resendCode', 'waitForApproval']);

interface Call {
  name: string;
  input: unknown;
  answered: boolean;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** What the test reads and does through the page. */
export interface HeldHost {
  /** Every call the renderer made, in order: its name, its input, whether it was answered. */
  calls(): { name: string; input: unknown; answered: boolean }[];
  /** Answer call number `index` (its place in `calls`) with `value`. */
  answer(index: number, value: unknown): void;
  /** Refuse call number `index` with `error`, as the host refuses a step. */
  refuse(index: number, error: ClientError): void;
  /** From now on, answer calls named `name` at once with `value` (an Account screen's lists, a step's challenge). */
  reply(name: string, value: unknown): void;
  /** From now on, calls named `name` wait for the test (`answer`, `refuse`), like the login's steps. */
  hold(name: string): void;
}

declare global {
  interface Window {
    heldHost?: HeldHost;
  }
}

const settings: SettingsView = { serverAddress: 'http://127.0.0.1:9', rememberUsername: false, lastUsername: null, theme: 'dark', language: 'en' };

/** Answered at once: what the app reads as it starts, and Cancel (the host lets go of the login at once). */
const AT_ONCE: Record<string, unknown> = {
  getSettings: settings,
  setSettings: settings,
  getAppInfo: { name: 'SLS Desktop', version: '0.0.0-test', build: 1000, host: 'browser', platform: 'linux' },
  getSession: null,
  getAutoRestartAttempt: null,
  getConnectedCards: { serials: [] },
  cancelLogin: { ok: true },
};

const calls: Call[] = [];
/** Set by the test (`reply`, `hold`): how calls of these names are answered, before HELD and AT_ONCE. */
const chosen = new Map<string, { value: unknown } | 'held'>();

function settle(index: number, how: (c: Call) => void): void {
  const c = calls[index];
  if (!c) throw new Error(`no call ${index}`);
  if (c.answered) throw new Error(`call ${index} (${c.name}) was answered already`);
  c.answered = true;
  how(c);
}

window.heldHost = {
  calls: () => calls.map(({ name, input, answered }) => ({ name, input, answered })),
  answer: (index, value) => settle(index, (c) => c.resolve(value)),
  refuse: (index, error) => settle(index, (c) => c.reject(new ContractError(error))),
  reply: (name, value) => void chosen.set(name, { value }),
  hold: (name) => void chosen.set(name, 'held'),
};

const api = new Proxy({} as SlsApi, {
  get(_, name: string) {
    if (name === 'on') return () => () => {};
    if (name === 'then') return undefined;
    return (input?: unknown) =>
      new Promise((resolve, reject) => {
        const call: Call = { name, input, answered: false, resolve, reject };
        calls.push(call);
        if (isCallName(name) && !CALLS[name].input.safeParse(input ?? {}).success) {
          call.answered = true;
          return reject(new ContractError({ code: 'SLS_ERR_INVALID_INPUT', message: `Invalid input for ${name}.` }));
        }
        const how = chosen.get(name);
        if (how === 'held' || (how === undefined && HELD.has(name))) return;
        call.answered = true;
        if (how) resolve(how.value);
        else if (name in AT_ONCE) resolve(AT_ONCE[name]);
        else reject(new ContractError({ code: 'SLS_ERR_HOST_INTERNAL', message: `${name}: not in this test's host` }));
      });
  },
});

const root = document.getElementById('root');
if (root) createRoot(root).render(<App connect={async () => api} />);
