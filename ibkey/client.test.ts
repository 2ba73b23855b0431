// The phone app without a connection (SPEC K2): it says so and points to the offline code.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SlsdClient } from './client.ts';

describe('IB Key app with no connection (SPEC K2)', () => {
  it('says the server cannot be reached and how to log in with an offline code instead of "fetch failed"', async () => {
    const client = new SlsdClient('http://127.0.0.1:1');
    const e = await client.get('/v1/health', z.unknown()).then(
      () => null,
      (err: unknown) => err as Error,
    );
    expect(e?.message).toContain('cannot reach the SLS server at http://127.0.0.1:1');
    expect(e?.message).toContain('ibkey respond <challenge>');
    expect(e?.message).not.toContain('fetch failed');
  });
});
