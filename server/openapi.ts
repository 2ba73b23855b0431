/**
 * The OpenAPI 3.1 document of slsd, generated from the route table and core/api.ts's zod schemas.
 */
import { z } from 'zod';
import { API_PREFIX, ErrorBody } from '../core/api.ts';
import { ERROR_REGISTRY } from './errors.ts';
import { ROUTES } from './routes/table.ts';

type JsonObject = Record<string, unknown>;

function schema(s: z.ZodType, io: 'input' | 'output'): JsonObject {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as JsonObject;
  return rest;
}

export function buildOpenApiDocument(version: string): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {};
  const errorResponse = (codes: readonly string[]) => ({
    description: `Coded error: ${codes.join(', ')} (see docs/errors.md)`,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
  });
  const routes = [
    ...ROUTES,
    {
      method: 'GET' as const,
      url: `${API_PREFIX}/openapi.json`,
      operationId: 'openapi',
      summary: 'This document',
      auth: false,
      response: z.record(z.string(), z.unknown()),
      errors: [],
      description: undefined,
      spec: undefined,
      body: undefined,
    },
  ];
  for (const r of routes) {
    const path = r.url.replace(/:(\w+)/g, '{$1}');
    const params = [...r.url.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 64 } }));
    const byStatus = new Map<number, string[]>();
    // A code may come from two lists (e.g. SMS_POLICY_ERRORS and the route's own): said once.
    for (const code of new Set(r.errors)) {
      const st = ERROR_REGISTRY[code].status;
      byStatus.set(st, [...(byStatus.get(st) ?? []), code]);
    }
    const responses: Record<string, JsonObject> = {
      '200': { description: 'OK', content: { 'application/json': { schema: schema(r.response, 'output') } } },
    };
    for (const [st, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) responses[String(st)] = errorResponse(codes);
    responses['500'] = errorResponse(['SLS_ERR_INTERNAL']);
    // Any route that reads or writes the database (all but the liveness check and this document).
    if (r.operationId !== 'health' && r.operationId !== 'openapi') responses['503'] = errorResponse(['SLS_ERR_SERVICE_UNAVAILABLE']);
    const op: JsonObject = {
      operationId: r.operationId,
      summary: r.summary,
      ...(r.description || r.spec ? { description: [r.description, r.spec ? `SPEC ${r.spec}` : ''].filter(Boolean).join('\n\n') } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: schema(r.body, 'input') } } } } : {}),
      ...(r.auth ? { security: [{ bearer: [] }] } : {}),
      responses,
    };
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'slsd — SLS authentication server', version, description: 'The HTTP API of the Secure Login System (SPEC.md).' },
    paths,
    components: {
      schemas: { ErrorBody: schema(ErrorBody, 'output') },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The session token from a signed_in login step.' } },
    },
  };
}
