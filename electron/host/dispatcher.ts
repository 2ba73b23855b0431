/**
 * The contract dispatcher: the one door from a transport (IPC, WebSocket) into the host services.
 *
 * It refuses unknown calls, validates every input with the contract's zod schema before a service
 * sees it, parses every output on the way out (so nothing beyond the contract, such as a token,
 * can leak), and turns every failure into a coded `ClientError` (SPEC C3). Details of unexpected
 * failures go to the host log, never to the renderer.
 */
import { CALLS, isCallName } from '../../core/contract/index.ts';
import type { CallName, CallResult, ClientError } from '../../core/contract/index.ts';
import { KeychainUnavailableError } from '../../native/keychain.ts';
import type { HostServices } from './host-services.ts';
import { SlsdError } from './slsd-client.ts';

export type Dispatch = (call: unknown, input: unknown) => Promise<CallResult<unknown>>;

export function createDispatcher(services: HostServices, log: (line: string) => void = () => {}): Dispatch {
  return async (call, input) => {
    if (!isCallName(call)) {
      return { ok: false, error: { code: 'SLS_ERR_INVALID_INPUT', message: 'Unknown call.' } };
    }
    const parsed = CALLS[call].input.safeParse(input ?? {});
    if (!parsed.success) {
      // Paths and messages only: the rejected values (a password, a response) are never echoed.
      const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      return { ok: false, error: { code: 'SLS_ERR_INVALID_INPUT', message: `Invalid input for ${call}.`, issues } };
    }
    try {
      const run = services[call] as (i: unknown) => Promise<unknown>;
      const value = CALLS[call].output.parse(await run(parsed.data));
      return { ok: true, value };
    } catch (e) {
      return { ok: false, error: toClientError(call, e, log) };
    }
  };
}

function toClientError(call: CallName, e: unknown, log: (line: string) => void): ClientError {
  if (e instanceof SlsdError) return e.error;
  if (e instanceof KeychainUnavailableError) return { code: e.code, message: 'The OS keychain is not available.' };
  log(`internal error in ${call}: ${e instanceof Error ? `${e.name}: ${e.message}` : 'unknown'}`);
  return { code: 'SLS_ERR_HOST_INTERNAL', message: 'Something went wrong in SLS Desktop.' };
}
