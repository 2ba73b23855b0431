// POST /v1/ibkey/nonces needs no login, so nonces per source address are bounded, in rows, on SQLite
// and PostgreSQL (SPEC N1, L7): one over the bound is SLS_ERR_RATE_LIMITED with retryAt and stores
// nothing; other addresses are unaffected; an IPv6 network counts as its /64; after the window the
// address may ask again and the expired nonces are gone, so the table stays bounded.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startOn } from '../conformance/backends.ts';
import { describeEachBackend, probePostgres } from '../db/pg-testing.ts';
import { IBKEY_NONCE_WINDOW_MS, IBKEY_NONCES_PER_ADDRESS, NONCE_TTL_MS, nonceAddress } from '../services/ibkey.ts';
import type { TestServer } from '../testing/test-server.ts';

const probe = await probePostgres();

describe('nonceAddress', () => {
  it('counts IPv4 as it is, IPv4-mapped IPv6 as IPv4, and IPv6 by its /64', () => {
    expect(nonceAddress('203.0.113.7')).toBe('203.0.113.7');
    expect(nonceAddress('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(nonceAddress('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(nonceAddress('2001:0DB8:0001:0002::9')).toBe('2001:db8:1:2::/64');
    expect(nonceAddress('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(nonceAddress('2001:db8:1:3::1')).not.toBe(nonceAddress('2001:db8:1:2::1'));
  });
});

describeEachBackend('IB Key nonces per address (N1)', probe, (backend) => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startOn(backend);
  });
  afterEach(async () => {
    await t.close();
  });

  const ask = (remoteAddress: string) => t.app.inject({ method: 'POST', url: '/v1/ibkey/nonces', remoteAddress });
  const stored = async () => Number((await t.services.db.selectFrom('ibkey_nonces').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  it(`gives one address ${IBKEY_NONCES_PER_ADDRESS} nonces per window, then SLS_ERR_RATE_LIMITED with retryAt, storing nothing more`, async () => {
    const start = t.clock.now();
    for (let i = 0; i < IBKEY_NONCES_PER_ADDRESS; i++) expect((await ask('203.0.113.7')).statusCode).toBe(200);
    const refused = await ask('203.0.113.7');
    expect(refused.statusCode).toBe(429);
    const body = refused.json() as { error: { code: string; retryAt: string } };
    expect(body.error.code).toBe('SLS_ERR_RATE_LIMITED');
    expect(Date.parse(body.error.retryAt)).toBe(start + IBKEY_NONCE_WINDOW_MS);
    expect(await stored()).toBe(IBKEY_NONCES_PER_ADDRESS);
    // Another address is not held up by this one.
    expect((await ask('198.51.100.9')).statusCode).toBe(200);
    // Once the window has passed, the address may ask again.
    t.clock.advance(IBKEY_NONCE_WINDOW_MS + 1);
    expect((await ask('203.0.113.7')).statusCode).toBe(200);
  });

  it('counts an IPv6 network by its /64: other addresses in it share the bound', async () => {
    for (let i = 0; i < IBKEY_NONCES_PER_ADDRESS; i++) expect((await ask(`2001:db8:7:7::${(i + 1).toString(16)}`)).statusCode).toBe(200);
    expect((await ask('2001:db8:7:7:ffff::1')).statusCode).toBe(429);
    expect((await ask('2001:db8:7:8::1')).statusCode).toBe(200);
  });

  it('never keeps more than the bound when requests arrive together (rows decide, as across slsd processes)', async () => {
    const answers = await Promise.all(Array.from({ length: IBKEY_NONCES_PER_ADDRESS + 30 }, () => ask('203.0.113.8')));
    for (const a of answers) expect([200, 429]).toContain(a.statusCode);
    const given = answers.filter((a) => a.statusCode === 200).length;
    expect(given).toBeLessThanOrEqual(IBKEY_NONCES_PER_ADDRESS);
    expect(await stored()).toBe(given);
    // A refusal under the race left no row behind: asked one at a time, the address gets exactly the rest.
    let more = 0;
    while ((await ask('203.0.113.8')).statusCode === 200) more++;
    expect(given + more).toBe(IBKEY_NONCES_PER_ADDRESS);
  });

  it('purges expired nonces, so a steady stream keeps the table bounded', async () => {
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 20; i++) expect((await ask('203.0.113.9')).statusCode).toBe(200);
      t.clock.advance(NONCE_TTL_MS + IBKEY_NONCE_WINDOW_MS + 1);
    }
    expect((await ask('203.0.113.9')).statusCode).toBe(200);
    // Only the last nonce is left: every earlier one expired a window ago and was purged.
    expect(await stored()).toBe(1);
  });
});
