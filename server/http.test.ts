// Bad input gets a coded 4xx and changes nothing; nothing crashes slsd; docs and registry agree.
import fs from 'node:fs';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../core/api.ts';
import { ERROR_REGISTRY, renderErrorsMarkdown } from './errors.ts';
import { ERRORS_DOC_PATH } from './errors-doc.ts';
import { ROUTES } from './routes/table.ts';
import { startTestServer, TEST_POSTGRES_URL } from './testing/test-server.ts';
import type { TestServer } from './testing/test-server.ts';

let t: TestServer;
const TABLES = ['entities', 'accounts', 'users', 'user_accounts', 'devices', 'scc_cells', 'temporary_passcodes', 'login_transactions', 'sessions', 'failure_counters', 'audit_log', 'sms_outbox'] as const;

beforeAll(async () => {
  t = await startTestServer();
  const entityId = await t.provisioning.createEntity({ name: 'x' });
  await t.provisioning.createUser({ username: 'u.http', entityId, password: 'Correct-Horse-1', mobileNumber: '+15550001111' });
  await t.provisioning.addDevice({ username: 'u.http', kind: 'sms' });
});
afterAll(async () => {
  await t.close();
});

async function rowCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TABLES) {
    const r = await t.services.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    out[table] = Number(r.n);
  }
  return out;
}

describe('bad requests get coded 4xx errors and change nothing', () => {
  const cases: { name: string; request: InjectOptions; status: number; code: string }[] = [
    { name: 'malformed JSON', request: { method: 'POST', url: '/v1/login', headers: { 'content-type': 'application/json' }, payload: '{"username": "u.http",' }, status: 400, code: 'SLS_ERR_MALFORMED_JSON' },
    { name: 'an oversized body', request: { method: 'POST', url: '/v1/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username: 'u.http', password: 'x'.repeat(20_000), client: { kind: 'trading_platform', version: 1 } }) }, status: 413, code: 'SLS_ERR_BODY_TOO_LARGE' },
    { name: 'a wrong content type', request: { method: 'POST', url: '/v1/login', headers: { 'content-type': 'text/plain' }, payload: 'username=u.http' }, status: 415, code: 'SLS_ERR_UNSUPPORTED_MEDIA_TYPE' },
    { name: 'a form body', request: { method: 'POST', url: '/v1/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=u.http&password=x' }, status: 415, code: 'SLS_ERR_UNSUPPORTED_MEDIA_TYPE' },
    { name: 'wrong types', request: { method: 'POST', url: '/v1/login', payload: { username: 42, password: ['x'], client: { kind: 'fax', version: -1 } } }, status: 400, code: 'SLS_ERR_VALIDATION' },
    { name: 'a missing body', request: { method: 'POST', url: '/v1/login' }, status: 400, code: 'SLS_ERR_VALIDATION' },
    { name: 'an empty JSON body', request: { method: 'POST', url: '/v1/login', headers: { 'content-type': 'application/json' }, payload: '' }, status: 400, code: 'SLS_ERR_VALIDATION' },
    { name: 'JSON null', request: { method: 'POST', url: '/v1/login', headers: { 'content-type': 'application/json' }, payload: 'null' }, status: 400, code: 'SLS_ERR_VALIDATION' },
    { name: 'a __proto__ key', request: { method: 'POST', url: '/v1/login', headers: { 'content-type': 'application/json' }, payload: '{"__proto__": {"admin": true}}' }, status: 400, code: 'SLS_ERR_VALIDATION' },
    { name: 'a too long response', request: { method: 'POST', url: '/v1/login/ltx_x/response', payload: { response: '1'.repeat(65) } }, status: 400, code: 'SLS_ERR_VALIDATION' },
    { name: 'a too long transaction id', request: { method: 'GET', url: `/v1/login/${'a'.repeat(65)}` }, status: 400, code: 'SLS_ERR_VALIDATION' },
    { name: 'an unknown transaction', request: { method: 'POST', url: '/v1/login/ltx_nope/response', payload: { response: '123456' } }, status: 404, code: 'SLS_ERR_TRANSACTION_NOT_FOUND' },
    { name: 'an unknown route', request: { method: 'GET', url: '/v1/nothing-here' }, status: 404, code: 'SLS_ERR_NOT_FOUND' },
    { name: 'the root', request: { method: 'GET', url: '/' }, status: 404, code: 'SLS_ERR_NOT_FOUND' },
    { name: 'a wrong method', request: { method: 'DELETE', url: '/v1/login' }, status: 405, code: 'SLS_ERR_METHOD_NOT_ALLOWED' },
    { name: 'a malformed bearer token', request: { method: 'GET', url: '/v1/session', headers: { authorization: 'Basic dXNlcjpwYXNz' } }, status: 401, code: 'SLS_ERR_UNAUTHENTICATED' },
    { name: 'extra fields on resend', request: { method: 'POST', url: '/v1/login/ltx_x/resend', payload: { force: true } }, status: 400, code: 'SLS_ERR_VALIDATION' },
  ];
  for (const c of cases) {
    it(`answers ${c.name} with ${c.code}`, async () => {
      const before = await rowCounts();
      const r = await t.app.inject(c.request);
      expect(r.statusCode).toBe(c.status);
      expect(r.json()).toMatchObject({ error: { code: c.code, message: ERROR_REGISTRY[c.code as keyof typeof ERROR_REGISTRY].message } });
      expect(await rowCounts()).toEqual(before);
    });
  }

  it('lists field problems for validation errors', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/v1/login', payload: { username: 'u.http', client: { kind: 'trading_platform', version: 1 } } });
    expect(r.json()).toMatchObject({ error: { code: 'SLS_ERR_VALIDATION', issues: [{ path: 'password' }] } });
  });

  it('answers an internal error as SLS_ERR_INTERNAL with no details, and keeps serving', async () => {
    const { app } = t;
    // Break the password step for one request (a fault inside slsd: here the hashing).
    const passwords = t.services.passwords as { verify: unknown };
    const verify = passwords.verify;
    passwords.verify = () => Promise.reject(new Error('SECRET internal detail'));
    try {
      const r = await app.inject({ method: 'POST', url: '/v1/login', payload: { username: 'u.http', password: 'Correct-Horse-1', client: { kind: 'trading_platform', version: 1 } } });
      expect(r.statusCode).toBe(500);
      expect(r.json()).toEqual({ error: { code: 'SLS_ERR_INTERNAL', message: ERROR_REGISTRY.SLS_ERR_INTERNAL.message } });
      expect(r.body).not.toContain('SECRET');
    } finally {
      passwords.verify = verify;
    }
    expect((await app.inject({ method: 'GET', url: '/v1/health' })).statusCode).toBe(200);
  });
});

describe('the error registry', () => {
  it('has an entry for every code of core/api.ts and nothing else', () => {
    expect(Object.keys(ERROR_REGISTRY).sort()).toEqual([...ERROR_CODES].sort());
    for (const def of Object.values(ERROR_REGISTRY)) expect(def.status).toBeGreaterThanOrEqual(400);
  });

  it('agrees with docs/errors.md (npm run docs:errors)', () => {
    expect(fs.readFileSync(ERRORS_DOC_PATH, 'utf8')).toBe(renderErrorsMarkdown());
  });
});

describe('OpenAPI (GET /v1/openapi.json)', () => {
  it('describes every route with its schemas and coded errors', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/v1/openapi.json' });
    expect(r.statusCode).toBe(200);
    const doc = r.json() as { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>> };
    expect(doc.openapi).toBe('3.1.0');
    for (const route of ROUTES) {
      const op = doc.paths[route.url.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${route.url}`).toBeDefined();
      expect(Boolean(op!.requestBody)).toBe(Boolean(route.body));
      for (const code of route.errors) expect(Object.keys(op!.responses)).toContain(String(ERROR_REGISTRY[code].status));
    }
    const login = doc.paths['/v1/login']!.post!;
    expect(JSON.stringify(login.requestBody)).toContain('trading_platform');
    expect(JSON.stringify(login.responses['200'])).toContain('select_device');
  });
});

describe('health', () => {
  it('reports ok and the database kind', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/v1/health' });
    expect(r.json()).toMatchObject({ status: 'ok', database: TEST_POSTGRES_URL ? 'postgres' : 'sqlite' });
  });
});

describe('no request can crash slsd', () => {
  it('answers random JSON bodies and ids on every route with a coded answer, never a 500', async () => {
    const fc = await import('fast-check');
    const codes = new Set(Object.keys(ERROR_REGISTRY));
    const idArb = fc.oneof(fc.string({ minLength: 1, maxLength: 70 }), fc.constant('ltx_unknown'));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), fc.jsonValue({ maxDepth: 3 }), idArb, async (route, body, id) => {
        const url = route.url.replace(/:(\w+)/g, encodeURIComponent(id));
        const r = await t.app.inject({
          method: route.method,
          url,
          ...(route.method === 'POST' ? { headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) } : {}),
        });
        expect(r.statusCode).toBeLessThan(500);
        if (r.statusCode >= 400) expect(codes.has((r.json() as { error: { code: string } }).error.code)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
