// Row ids and session tokens (issue 2: drawn from core's pooled CSPRNG): their form and that none repeats.
import { expect, it } from 'vitest';
import { newId, newToken } from './tokens.ts';

it('ids are the prefix and 128 random bits (22 base64url characters); tokens 256 bits (43); none repeats', () => {
  const ids = Array.from({ length: 2000 }, () => newId('ltx'));
  for (const id of ids) expect(id).toMatch(/^ltx_[A-Za-z0-9_-]{22}$/);
  expect(new Set(ids).size).toBe(ids.length);
  const tokens = Array.from({ length: 500 }, () => newToken());
  for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(new Set(tokens).size).toBe(tokens.length);
});
