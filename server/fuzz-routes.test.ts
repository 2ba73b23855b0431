// Malformed input on every route slsd serves, signed in: the route table (server/routes/table.ts)
// and what the app registers beside it, fuzzed by fast-check with a live Client Portal session (a
// second factor) so that the input gets past the bearer check to the handler's own validation, as
// well as without one. Bodies are made from a valid body of each route (one field dropped, retyped,
// blown up, nested wrongly, a key added) and kept only when the route's schema refuses them; with
// them, bodies the JSON parser refuses, wrong content types, bodies over the limit, hostile path
// values, query strings and Authorization headers.
//
// Every answer is a coded 4xx the route documents (or a framework-level one: routing, parsing), no
// row of any table changes (a digest of every table after every request, so the request that changed
// one is named), and afterwards the user still signs in (no lockout or throttle was counted).
// A route added to the table without a valid body here, or whose malformed input never reaches its
// handler's validation, fails this suite. SPEC N1 (SQLite and PostgreSQL alike), L1, L6, C6.
// The unauthenticated suite with random bodies is server/fuzz.test.ts.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../core/api.ts';
import { PORTAL, makeUser, signIn } from './account/testing.ts';
import type { TestUser } from './account/testing.ts';
import { ERROR_REGISTRY } from './errors.ts';
import { describeEachBackend, probePostgres } from './db/pg-testing.ts';
import { ROUTES } from './routes/table.ts';
import type { RouteDefinition } from './routes/table.ts';
import { login } from './testing/http.ts';
import type { TestServer } from './testing/test-server.ts';
import { startOn } from './conformance/backends.ts';

const probe = await probePostgres();
const CODES = new Set(Object.keys(ERROR_REGISTRY));
const RUNS_PER_ROUTE = Number(process.env.SLS_FUZZ_RUNS ?? 40);
const USER = 'u.fuzzauth';
const PASSWORD = 'Correct-Horse-1';

/**
 * A body each route's schema accepts, by operationId: the seed its malformed bodies are made from.
 * A route with a body schema and no entry here fails the suite (a new route cannot go unfuzzed).
 */
const VALID_BODIES: Readonly<Record<string, unknown>> = {
  login: { username: USER, password: 'not-the-password', client: { kind: 'client_portal', version: 1, name: 'fuzz' } },
  loginSelectDevice: { deviceId: 'dev_unknown', mode: 'offline' },
  loginRespond: { response: '123456' },
  loginResend: {},
  loginCancel: {},
  ibkeyStartActivation: { purpose: 'activate', platform: 'android', installationId: 'inst_fuzz', credentials: { username: USER, password: 'x' }, smsAvailable: true },
  ibkeyCheckActivationCode: { code: '123456' },
  ibkeyCompleteActivation: { code: '123456', publicKey: 'AAAA', label: 'Phone' },
  ibkeyPoll: { nonce: 'AAAA', proofs: [{ deviceId: 'dev_x', signature: 'AAAA' }], waitSeconds: 0 },
  ibkeyAnswer: { transactionId: 'ltx_x', decision: 'approve', chosenNumber: 42, signature: 'AAAA' },
  withdrawalChallenge: { deviceId: 'dev_x', amountCents: 100, accountId: 'acc_x' },
  withdraw: { amountCents: 100, idempotencyKey: 'fuzz-key-1', accountId: 'acc_x', confirmation: { id: 'cnf_x', response: '123456' } },
  orderDevice: { kind: 'dscplus', accountId: 'acc_x' },
  cancelDeviceOrder: {},
  startDeviceActivation: { serial: 'SN12345' },
  completeDeviceActivation: { response: '123456' },
  reportDevice: { reason: 'lost', replace: false },
  returnDevice: {},
  setMobileNumber: { number: '+12125550142', defaultCountry: 'US' },
  verifyMobileNumber: { code: '123456' },
  optOut: { username: USER },
  optIn: { username: USER },
  startSharing: { ownerUsername: 'u.owner', ownerPassword: 'x', deviceId: 'dev_x' },
  answerSharing: { confirmationId: 'cnf_x', response: '123456' },
  submitSharing: {},
  cancelSharing: {},
  onlineCard: {},
  onlineCardPdf: {},
  issueRestartToken: {},
  restart: { username: USER, restartToken: 'r'.repeat(40) },
};

/** Routes the app registers beside the table (server/app.ts); fuzzed like a public GET of the table. */
const EXTRA_ROUTES: readonly Pick<RouteDefinition, 'method' | 'url' | 'auth' | 'operationId' | 'errors'>[] = [
  { method: 'GET', url: '/v1/openapi.json', auth: false, operationId: 'openapi', errors: [] },
];

/** Codes any route may answer before its handler runs: routing (bad path, method) and body parsing. */
const FRAMEWORK_CODES: readonly ErrorCode[] = ['SLS_ERR_VALIDATION', 'SLS_ERR_NOT_FOUND', 'SLS_ERR_METHOD_NOT_ALLOWED', 'SLS_ERR_MALFORMED_JSON', 'SLS_ERR_BODY_TOO_LARGE', 'SLS_ERR_UNSUPPORTED_MEDIA_TYPE'];

type Table = Map<string, string>;

/**
 * One hash per table of every row, sorted: any insert, update or delete changes its table's. Taken
 * after every request, so on PostgreSQL in one round trip (each row as text, hashed by the server).
 */
async function tableDigests(t: TestServer): Promise<Table> {
  const db = t.services.db;
  const out: Table = new Map();
  if (t.services.database.dialect === 'postgres') {
    tables ??= (await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = 'public' order by 1`.execute(db)).rows.map((r) => r.name);
    const each = tables.map((name) => `select '${name}' as name, (select md5(coalesce(string_agg(x::text, E'\\n' order by x::text), '')) from "${name}" x) as h`);
    for (const r of (await sql.raw<{ name: string; h: string }>(each.join(' union all ')).execute(db)).rows) out.set(r.name, r.h);
    return out;
  }
  const names = (await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by 1`.execute(db)).rows;
  for (const { name } of names) {
    const rows = (await sql.raw(`select * from "${name}"`).execute(db)).rows.map((r) => JSON.stringify(r)).sort();
    out.set(name, createHash('sha256').update(rows.join('\n')).digest('hex'));
  }
  return out;
}
/** The PostgreSQL tables, listed once (the schema does not change while the suite runs). */
let tables: string[] | undefined;

function changedTables(a: Table, b: Table): string[] {
  return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
}

/** The `:name` parameters of a route path. */
const paramsOf = (url: string): string[] => [...url.matchAll(/:(\w+)/g)].map((m) => m[1]!);

// --- Bodies -------------------------------------------------------------------------------------

interface Malformed {
  readonly contentType: string | null;
  readonly payload: string | Buffer | null;
  /** Which generator made it (coverage: every route gets schema-shaped bodies, not just parser refusals). */
  readonly kind: 'schema' | 'parser';
}

const hugeString = fc
  .tuple(fc.integer({ min: 65, max: 12_000 }), fc.constantFrom('a', 'é', '\u0000', '𝕏', '\u202e', '\ud800', ' ', '"'))
  .map(([n, ch]) => ch.repeat(n));
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(1e308, -1, 0, -0, 1.5, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, -1e21),
  fc.constant([]),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.object({ maxDepth: 1 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', "' OR '1'='1", '../../etc/passwd', '%00', '💩'.repeat(33), 'a'.repeat(65), 'a'.repeat(257)),
  hugeString,
);
const strangeKeys = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'x', '', '\u0000', 'username', 'deviceId', 'amountCents', 'response');

type Path = readonly (string | number)[];

/** Every path into a JSON value (objects and arrays), the root excluded. */
function pathsOf(v: unknown, at: Path = []): Path[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => [[...at, i], ...pathsOf(x, [...at, i])]);
  if (v !== null && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [[...at, k], ...pathsOf(x, [...at, k])]);
  return [];
}

/** `v` with the value at `path` replaced (`undefined`: removed). */
function setAt(v: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(v)) {
    const copy = [...v];
    if (rest.length === 0 && value === undefined) copy.splice(head as number, 1);
    else copy[head as number] = setAt(copy[head as number], rest, value);
    return copy;
  }
  const copy: Record<string, unknown> = { ...(v as Record<string, unknown>) };
  if (rest.length === 0 && value === undefined) delete copy[head as string];
  else Object.defineProperty(copy, head as string, { value: setAt(copy[head as string], rest, value), enumerable: true, writable: true, configurable: true });
  return copy;
}

function withKey(v: unknown, key: string, value: unknown): unknown {
  const copy = { ...(v as Record<string, unknown>) };
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

const jsonTypes = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'Application/JSON');

/** Bodies `route` must refuse: shaped like its valid body but refused by its schema, or refused by the parser. */
function malformedBodies(route: RouteDefinition): fc.Arbitrary<Malformed> {
  const parser = parserRefusals();
  if (!route.body) return parser;
  const schema = route.body;
  const refused = (v: unknown) => !schema.safeParse(v).success;
  const valid = VALID_BODIES[route.operationId];
  const paths = pathsOf(valid);
  const shaped: fc.Arbitrary<unknown>[] = [
    // A whole body of another type.
    fc.oneof(wrongValue, fc.constant([valid]), fc.constant(JSON.stringify(valid))),
    // A key added (refused by strict schemas; kept only then).
    fc.tuple(strangeKeys, wrongValue).map(([k, x]) => withKey(valid, k, x)),
  ];
  if (paths.length > 0) {
    const path = fc.constantFrom(...paths);
    shaped.push(
      path.map((p) => setAt(valid, p, undefined)),
      fc.tuple(path, wrongValue).map(([p, x]) => setAt(valid, p, x)),
      fc.tuple(path, strangeKeys, wrongValue).map(([p, k, x]) => setAt(valid, p, { [k]: x })),
    );
  }
  const json = fc
    .tuple(fc.oneof(...shaped).filter(refused), jsonTypes)
    .map(([v, contentType]): Malformed => ({ contentType, payload: JSON.stringify(v), kind: 'schema' }));
  // Bytes that are not UTF-8 in a string (decoded to U+FFFD): only where what slsd decodes is refused
  // (decided here, once: a filter that refuses every value of a constant would never end).
  const notUtf8Bodies = paths
    .filter((p) => typeof p[p.length - 1] === 'string')
    .map((p) => {
      const text = JSON.stringify(setAt(valid, p, 'ZZZZ')).replace('"ZZZZ"', '"\u0000\u0000"');
      const bytes = Buffer.from(text, 'utf8');
      const at = bytes.indexOf(0);
      bytes[at] = 0xff;
      bytes[at + 1] = 0xfe;
      return bytes;
    })
    .filter((b) => refused(JSON.parse(b.toString('utf8'))));
  const notUtf8 = notUtf8Bodies.length > 0 ? [fc.constantFrom(...notUtf8Bodies).map((payload): Malformed => ({ contentType: 'application/json', payload, kind: 'schema' }))] : [];
  // No body at all is malformed only where `{}` is (a route whose body may be empty treats none as `{}`).
  const none = refused({}) ? [fc.constant<Malformed>({ contentType: 'application/json', payload: '', kind: 'schema' }), fc.constant<Malformed>({ contentType: null, payload: null, kind: 'schema' })] : [];
  return fc.oneof({ arbitrary: json, weight: 6 }, { arbitrary: parser, weight: 3 }, ...notUtf8.map((arbitrary) => ({ arbitrary, weight: 1 })), ...none.map((arbitrary) => ({ arbitrary, weight: 1 })));
}

/** Bodies no route takes: broken JSON, other media types, over the body limit, absurdly nested. */
function parserRefusals(): fc.Arbitrary<Malformed> {
  const brokenJson = fc
    .constantFrom('{', '{"response":', '[1,2', 'nul', '{"a":1}}', '\u0000', '{"__proto__":{"x":1}', "{'a':1}", '\ufeff{}', '{"a":1,}', 'NaN', '{"a":01}', '"\\x41"', '{"a":"\\ud800"')
    .map((payload): Malformed => ({ contentType: 'application/json', payload, kind: 'parser' }));
  const nested = fc.integer({ min: 1_000, max: 7_000 }).map((n): Malformed => ({ contentType: 'application/json', payload: '['.repeat(n) + ']'.repeat(n + 1), kind: 'parser' }));
  const wrongContentType = fc
    .tuple(
      fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json-patch+json', 'image/png', 'application/jsonx', 'json', ';', 'application/json\u0000'),
      fc.string({ maxLength: 200 }),
    )
    .map(([contentType, payload]): Malformed => ({ contentType, payload: payload === '' ? 'x' : payload, kind: 'parser' }));
  const overLimit = fc.integer({ min: 17 * 1024, max: 64 * 1024 }).map((n): Malformed => ({ contentType: 'application/json', payload: JSON.stringify({ x: 'a'.repeat(n) }), kind: 'parser' }));
  return fc.oneof(brokenJson, nested, wrongContentType, overLimit);
}

// --- Paths, queries, credentials ----------------------------------------------------------------

const hostileIds = fc.oneof(
  fc.string({ minLength: 1, maxLength: 80, unit: 'grapheme' }),
  fc.constantFrom('..', '%2e%2e', '%00', "' OR '1'='1", 'x'.repeat(65), 'x'.repeat(3000), '\\', 'null', '0', '-1', '{}', '__proto__', 'constructor'),
  // Sent as they are, not %-encoded: broken escapes, encoded slashes and NULs in the path itself.
  fc.constantFrom('raw:%ff%fe', 'raw:%', 'raw:%zz', 'raw:%00', 'raw:a%2Fb', 'raw:..%2F..%2Fetc', 'raw:%E0%A4%A', 'raw:a;b', 'raw:a?b=1'),
);

/** `?wait=` values the long-poll refuses, or 0: a fuzz run never waits (server/routes/ibkey.ts waitSeconds). */
const queries = fc.oneof(
  fc.constant(''),
  fc.constantFrom('wait=abc', 'wait=-1', 'wait=26', 'wait=1.5', 'wait=NaN', 'wait=Infinity', 'wait=1e3', 'wait=0x1A', 'wait=%ff', 'wait=%', 'wait=99999999999999999999', 'wait=1&wait=2', 'wait[]=1', 'wait=', 'wait=0'),
  fc.constantFrom('__proto__[x]=1', 'constructor=1', 'toString=1', 'hasOwnProperty=x', '&&&', '=', '%zz=%zz', 'x=' + 'a'.repeat(5_000)),
  fc.string({ maxLength: 60 }).map((s) => 'q=' + encodeURIComponent(s)),
);

interface Credentials {
  readonly portal: string;
  readonly revoked: string;
}

/** Authorization headers: mostly the live portal session (so input reaches the handler), else every broken form. */
function authorizations(c: Credentials): fc.Arbitrary<string | null> {
  return fc.oneof(
    { arbitrary: fc.constant(`Bearer ${c.portal}`), weight: 6 },
    {
      arbitrary: fc.oneof(
        fc.constant(null),
        fc.constant(`Bearer ${c.revoked}`),
        fc.constantFrom(`bearer ${c.portal}`, `Bearer  ${c.portal}`, c.portal, `Bearer ${c.portal}x`, `Bearer ${c.portal.slice(1)}`, `Bearer ${c.portal},Bearer ${c.portal}`, `Basic ${c.portal}`, `Bearer ${c.portal}=`),
        fc.string({ maxLength: 300 }).map((s) => `Bearer ${s}`),
        fc.constantFrom('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer ' + 'A'.repeat(43), 'Bearer ' + 'A'.repeat(201), 'Bearer ../../etc/passwd', 'Bearer %00'),
      ),
      weight: 4,
    },
  );
}

// --- The suite ------------------------------------------------------------------------------------

interface Reached {
  /** The handler's schema refused the body (`SLS_ERR_VALIDATION` with zod `issues`), signed in and on a live path. */
  validated: boolean;
  /** A signed-in request got past the bearer check (any answer but 401). */
  pastAuth: boolean;
  requests: number;
}

type Fuzzed = Pick<RouteDefinition, 'method' | 'url' | 'auth' | 'operationId' | 'errors'> & { readonly body?: RouteDefinition['body'] };
const FUZZED: readonly Fuzzed[] = [...ROUTES, ...EXTRA_ROUTES];

describe('the fuzz covers every route', () => {
  it('has a valid body for every route with a body schema, and none for a route that has none', () => {
    const withBody = ROUTES.filter((r) => r.body).map((r) => r.operationId).sort();
    expect(Object.keys(VALID_BODIES).sort()).toEqual(withBody);
    for (const r of ROUTES) if (r.body) expect(r.body.safeParse(VALID_BODIES[r.operationId]).success, r.operationId).toBe(true);
  });

  it('knows every route the app registers: the table and EXTRA_ROUTES, nothing else', async () => {
    const { startTestServer } = await import('./testing/test-server.ts');
    const t = await startTestServer();
    try {
      const registered = registeredRoutes(t.app.printRoutes({ commonPrefix: false }));
      const expected = FUZZED.flatMap((r) => (r.method === 'GET' ? [`GET ${r.url}`, `HEAD ${r.url}`] : [`${r.method} ${r.url}`]));
      expect(registered.sort()).toEqual([...new Set(expected)].sort());
    } finally {
      await t.close();
    }
  });
});

/** `METHOD /path` of each route in Fastify's printRoutes tree (`├── /v1/login (POST)`, children indented by 4). */
function registeredRoutes(tree: string): string[] {
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([^)]*)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) out.push(`${method} ${stack.join('')}`);
  }
  return out;
}

describeEachBackend('malformed input on every route, signed in and not', probe, (backend) => {
  let t: TestServer;
  let user: TestUser;
  let creds: Credentials;
  /** A live value for each path parameter, so that the body, not the path, is what is refused. */
  let live: Record<string, string>;

  beforeAll(async () => {
    t = await startOn(backend);
    user = await makeUser(t, USER, ['dsc', 'sms'], { mobile: '+12125550142' });
    const portal = await signIn(t, USER, user.devices.dsc!, PORTAL);
    const revoked = await signIn(t, USER, user.devices.dsc!, PORTAL);
    expect((await t.app.inject({ method: 'POST', url: '/v1/logout', headers: { authorization: `Bearer ${revoked}` } })).statusCode).toBe(200);
    creds = { portal, revoked };
    const tx = (await login(t.app, USER, PASSWORD, PORTAL)).body as { transactionId: string };
    expect(tx.transactionId).toMatch(/^ltx_/);
    live = {
      transactionId: tx.transactionId,
      deviceId: user.devices.dsc!.device.id,
      // Well-formed ids of nothing: the services look them up only after the body is parsed.
      activationId: 'iba_fuzz',
      requestId: 'req_fuzz',
      orderId: 'ord_fuzz',
      confirmationId: 'cnf_fuzz',
    };
  });
  afterAll(async () => {
    await t?.close();
  });

  it('has a live value for every path parameter of the table', () => {
    const names = new Set(FUZZED.flatMap((r) => paramsOf(r.url)));
    expect([...names].filter((n) => !(n in live))).toEqual([]);
  });

  it(`answers ${RUNS_PER_ROUTE} malformed requests per route with a documented coded 4xx, reaches each handler's validation, and changes no row`, async () => {
    const start = await tableDigests(t);
    let last = start;
    const reached = new Map<string, Reached>();
    for (const route of FUZZED) {
      const key = `${route.method} ${route.url}`;
      const seen: Reached = { validated: false, pastAuth: false, requests: 0 };
      reached.set(key, seen);
      const began = Date.now();
      const allowed = new Set<string>([...route.errors, ...FRAMEWORK_CODES, ...(route.auth ? ['SLS_ERR_UNAUTHENTICATED', 'SLS_ERR_SESSION_EXPIRED'] : [])]);
      const names = paramsOf(route.url);
      const ids = fc.array(fc.oneof({ arbitrary: fc.constant<string | null>(null), weight: 2 }, { arbitrary: hostileIds, weight: 1 }), { minLength: names.length, maxLength: names.length });
      const bodies = route.method === 'POST' ? malformedBodies(route as RouteDefinition) : fc.constant<Malformed>({ contentType: null, payload: null, kind: 'parser' });
      const method = route.method === 'GET' ? fc.constantFrom<'GET' | 'HEAD'>('GET', 'GET', 'GET', 'HEAD') : fc.constant<'POST'>('POST');
      // The first run of each route is signed in, on live path values, with a body its schema refuses.
      const first: [Malformed, (string | null)[], string, string | null, 'GET' | 'HEAD' | 'POST'] = [
        route.method === 'GET' ? { contentType: null, payload: null, kind: 'parser' } : route.body ? { contentType: 'application/json', payload: '[]', kind: 'schema' } : { contentType: 'application/json', payload: '{', kind: 'parser' },
        names.map(() => null),
        '',
        `Bearer ${creds.portal}`,
        route.method,
      ];
      await fc.assert(
        fc.asyncProperty(bodies, ids, queries, authorizations(creds), method, async (body, idList, query, auth, verb) => {
          let i = 0;
          const path = route.url.replace(/:(\w+)/g, (_m, name: string) => {
            const id = idList[i++] ?? null;
            if (id === null) return encodeURIComponent(live[name]!);
            return id.startsWith('raw:') ? id.slice(4) : encodeURIComponent(id);
          });
          const url = query ? `${path}?${query}` : path;
          const headers: Record<string, string> = {};
          if (body.contentType) headers['content-type'] = body.contentType;
          if (auth !== null) headers.authorization = auth;
          const r = await t.app.inject({ method: verb, url, headers, ...(body.payload !== null ? { payload: body.payload } : {}) });
          seen.requests++;
          const shownBody = body.payload === null ? '' : (Buffer.isBuffer(body.payload) ? `<bytes ${body.payload.toString('hex').slice(0, 80)}>` : body.payload.slice(0, 160));
          const label = `${verb} ${url.slice(0, 160)} [auth: ${auth === `Bearer ${creds.portal}` ? 'live portal session' : String(auth).slice(0, 60)}] [${body.contentType ?? 'no content-type'}] ${shownBody} → ${r.statusCode} ${r.body.slice(0, 300)}`;
          expect(r.statusCode, label).toBeLessThan(500);
          const signedIn = auth === `Bearer ${creds.portal}`;
          if (route.auth && !signedIn) expect(r.statusCode, `no live session, yet answered: ${label}`).toBeGreaterThanOrEqual(400);
          // Only GETs may succeed: a malformed POST that succeeds acted on input it should have refused.
          if (r.statusCode < 300) expect(route.method, label).toBe('GET');
          if (r.statusCode >= 400 && verb !== 'HEAD') {
            const answer = r.json() as { error?: { code?: string; issues?: unknown } };
            const code = answer.error?.code ?? '';
            expect(CODES.has(code), `uncoded: ${label}`).toBe(true);
            expect(allowed.has(code), `${code} is not among the route's documented errors: ${label}`).toBe(true);
            if (signedIn && code === 'SLS_ERR_VALIDATION' && Array.isArray(answer.error?.issues) && body.kind === 'schema') seen.validated = true;
          }
          if (signedIn && r.statusCode !== 401) seen.pastAuth = true;
          const now = await tableDigests(t);
          const changed = changedTables(last, now);
          last = now;
          expect(changed, `changed ${changed.join(', ')}: ${label}`).toEqual([]);
        }),
        { numRuns: RUNS_PER_ROUTE, examples: [first], endOnFailure: true },
      );
      if (process.env.SLS_FUZZ_VERBOSE) console.log(`${key}: ${seen.requests} requests, ${Date.now() - began} ms`);
    }
    // Coverage: every route was fuzzed; a route with a body had it refused by its own schema, past the
    // bearer check; every other route was reached signed in.
    expect([...reached.keys()].sort()).toEqual(FUZZED.map((r) => `${r.method} ${r.url}`).sort());
    const notValidated = FUZZED.filter((r) => r.method === 'POST' && r.body && !reached.get(`${r.method} ${r.url}`)!.validated).map((r) => r.operationId);
    expect(notValidated, 'routes whose malformed bodies never reached their schema').toEqual([]);
    const notReached = FUZZED.filter((r) => r.method === 'GET' && !reached.get(`${r.method} ${r.url}`)!.pastAuth).map((r) => r.operationId);
    expect(notReached, 'GET routes never reached signed in').toEqual([]);
    expect(changedTables(start, await tableDigests(t))).toEqual([]);
    // Nothing counted against the user or the address either: the user still signs in, with the password and the device.
    await signIn(t, USER, user.devices.dsc!, PORTAL);
  }, 180_000);

  it('answers every route with another method by a coded 405, changing nothing', async () => {
    const before = await tableDigests(t);
    for (const route of FUZZED) {
      for (const method of ['PUT', 'DELETE', 'PATCH', route.method === 'GET' ? 'POST' : 'GET'] as const) {
        const url = route.url.replace(/:(\w+)/g, (_m, name: string) => encodeURIComponent(live[name]!));
        // A path another route serves with this method answers it itself: /v1/withdrawals (GET and
        // POST), or GET /v1/login/restart, a login transaction named `restart` to the router.
        if (FUZZED.some((o) => o.method === method && new RegExp('^' + o.url.replace(/:\w+/g, '[^/]+') + '$').test(url))) continue;
        const r = await t.app.inject({ method, url, headers: { authorization: `Bearer ${creds.portal}`, 'content-type': 'application/json' }, payload: '{}' });
        expect(r.statusCode, `${method} ${url}`).toBe(405);
        expect((r.json() as { error: { code: string } }).error.code).toBe('SLS_ERR_METHOD_NOT_ALLOWED');
      }
    }
    expect(changedTables(before, await tableDigests(t))).toEqual([]);
  });
});
