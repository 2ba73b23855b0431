// IB Key waiting screen: which errors pass (ask again shortly) and how long to wait (SPEC L4, L7, N1).
import { describe, expect, it } from 'vitest';
import { ContractError } from '../../core/contract/messages.ts';
import { passingErrorWaitMs } from './ChallengeScreens.tsx';

const now = Date.parse('2026-11-28T15:00:00Z');
const error = (code: string, retryAt?: string) => new ContractError({ code, message: 'x', ...(retryAt ? { retryAt } : {}) });

describe('passingErrorWaitMs', () => {
  it("waits for slsd's retryAt, kept within 1–10 s, or 2 s without one", () => {
    expect(passingErrorWaitMs(error('SLS_ERR_SERVICE_UNAVAILABLE', '2026-11-28T15:00:02Z'), now)).toBe(2000);
    expect(passingErrorWaitMs(error('SLS_ERR_SERVICE_UNAVAILABLE', '2026-11-28T14:59:00Z'), now)).toBe(1000);
    expect(passingErrorWaitMs(error('SLS_ERR_SERVICE_UNAVAILABLE', '2026-11-28T16:00:00Z'), now)).toBe(10_000);
    expect(passingErrorWaitMs(error('SLS_ERR_SERVER_UNREACHABLE'), now)).toBe(2000);
    expect(passingErrorWaitMs(error('SLS_ERR_SERVICE_UNAVAILABLE', 'not a date'), now)).toBe(2000);
  });

  it('ends the wait on an error that ends the login or is not passing', () => {
    for (const code of ['SLS_ERR_PUSH_DENIED', 'SLS_ERR_TRANSACTION_EXPIRED', 'SLS_ERR_INTERNAL', 'SLS_ERR_HOST_DISCONNECTED']) expect(passingErrorWaitMs(error(code), now)).toBeNull();
    expect(passingErrorWaitMs(new Error('not a contract error'), now)).toBeNull();
  });
});
