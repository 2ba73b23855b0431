/**
 * Builds the slsd Fastify app from a config; `main.ts` only listens (tests use `app.inject()`).
 *
 * Every answer that is not a success is a coded error from the registry: malformed JSON, oversized
 * or non-JSON bodies, wrong types, unknown routes, and anything unexpected (SLS_ERR_INTERNAL, no
 * details). Bodies are never logged; Authorization headers are redacted.
 */
import net from 'node:net';
import type { Server as HttpServer } from 'node:http';
import Fastify from 'fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { API_PREFIX } from '../core/api.ts';
import type { SlsConfig } from './config.ts';
import { isSlsError, SlsError } from './errors.ts';
import { databaseUnavailableReason } from './db/unavailable.ts';
import { createMetrics } from './metrics.ts';
import type { SlsMetrics } from './metrics.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { ROUTES } from './routes/table.ts';
import { startHousekeeping, totalDeleted } from './services/housekeeping.ts';
import { createServices } from './services/index.ts';
import type { ServiceOptions, Services } from './services/index.ts';

export interface BuiltApp {
  readonly app: FastifyInstance;
  readonly services: Services;
  /** Prometheus metrics when `config.metricsPort` is set (main.ts serves them), else null. */
  readonly metrics: SlsMetrics | null;
  /** `drainMs`: leave idle connections to their clients this long first (a worker replaced on SIGHUP). */
  close(opts?: { drainMs?: number }): Promise<void>;
}

const FASTIFY_ERRORS: Record<string, SlsError['code']> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'SLS_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'SLS_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'SLS_ERR_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'SLS_ERR_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'SLS_ERR_VALIDATION',
  FST_ERR_CTP_INVALID_TYPE: 'SLS_ERR_UNSUPPORTED_MEDIA_TYPE',
  // Routing refusals (`frameworkErrors` below): a path value over maxParamLength, a bad %-escape.
  FST_ERR_MAX_PARAM_LENGTH: 'SLS_ERR_VALIDATION',
  FST_ERR_BAD_URL: 'SLS_ERR_VALIDATION',
};

function toSlsError(err: unknown): SlsError | null {
  if (isSlsError(err)) return err;
  if (err instanceof ZodError) {
    return new SlsError('SLS_ERR_VALIDATION', {
      issues: err.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    });
  }
  const code = (err as FastifyError | undefined)?.code;
  if (code && FASTIFY_ERRORS[code]) return new SlsError(FASTIFY_ERRORS[code]);
  const status = (err as FastifyError | undefined)?.statusCode;
  if (status === 413) return new SlsError('SLS_ERR_BODY_TOO_LARGE');
  if (status === 415) return new SlsError('SLS_ERR_UNSUPPORTED_MEDIA_TYPE');
  if (status !== undefined && status >= 400 && status < 500) return new SlsError('SLS_ERR_VALIDATION');
  return null;
}

/** SLS_ERR_SERVICE_UNAVAILABLE: when to try again (seconds; Retry-After and `retryAt`). */
const RETRY_AFTER_S = 2;

/** Route patterns as regular expressions, to tell 405 from 404. */
const ROUTE_PATTERNS = ROUTES.map((r) => ({ method: r.method, re: new RegExp('^' + r.url.replace(/:\w+/g, '[^/]+') + '/?$') })).concat([
  { method: 'GET', re: new RegExp(`^${API_PREFIX}/openapi\\.json$`) },
]);

function bearerToken(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(h.trim());
  return m ? m[1]! : null;
}

/**
 * How long a worker being replaced (SIGHUP) leaves idle kept-alive connections to their clients
 * before closing them: a client that sends meanwhile gets its answer with `Connection: close` and
 * goes to another worker next, rather than losing its request to the race of a server closing a
 * connection the client is just reusing.
 */
export const DRAIN_IDLE_MS = 5_000;

/**
 * Stops taking connections (with --workers, the primary sends this worker no more) and waits until
 * every open one has ended (answers now carry `Connection: close`; idle ones end on their client's
 * idle timeout), or `waitMs`. net.Server's own close, not http.Server's: Node's http close closes the
 * idle connections at once, which is the race this avoids. Fastify's close, after this, closes what
 * is left and waits for requests in flight.
 */
function drain(server: HttpServer, waitMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    net.Server.prototype.close.call(server, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function buildApp(config: SlsConfig, opts: ServiceOptions = {}): Promise<BuiltApp> {
  // Until the logger exists, a checkpoint failure waits for it (it cannot be lost: the worker reports once).
  let checkpointFailure: string | undefined;
  let reportCheckpointFailure = (reason: string) => void (checkpointFailure = reason);
  const services = await createServices(config, { ...opts, onCheckpointFailure: (reason) => reportCheckpointFailure(reason) });
  // What the build opens after the database, noted as it goes. An app that cannot be built closes it
  // all, last first, and the database (its connections, the checkpointer's thread) before the error
  // goes on: left open, it held the process (bin/slsd.cjs), and a first start that failed could not
  // remove the database it had made, still in use (server/main.ts, firstStartFootprint).
  const opened: Array<() => unknown> = [];
  try {
    const built = await buildOn(config, services, opened);
    reportCheckpointFailure = (reason) => {
      built.app.log.warn({ reason }, 'SQLite background checkpoints stopped; checkpoints go on inside commits (db/checkpointer.ts)');
    };
    if (checkpointFailure !== undefined) reportCheckpointFailure(checkpointFailure);
    return built;
  } catch (e) {
    for (const close of opened.reverse()) await Promise.resolve().then(close).catch(() => undefined);
    await services.close().catch(() => undefined);
    throw e;
  }
}

/** The app on opened services; what it opens it notes in `opened`, for buildApp to close if a later step fails. */
async function buildOn(config: SlsConfig, services: Services, opened: Array<() => unknown>): Promise<BuiltApp> {
  const app = Fastify({
    bodyLimit: config.bodyLimit,
    // While slsd stops (SIGTERM, a worker replaced by SIGHUP), a request that still arrives on an open
    // connection is served, with `Connection: close`, rather than refused with Fastify's own 503: the
    // process is whole until it has answered it.
    return503OnClosing: false,
    // Idle kept-alive connections are left to their clients for a while (drain() below), not closed
    // at once: closing one a client is just reusing loses its request ("other side closed").
    forceCloseConnections: false,
    trustProxy: config.trustProxy,
    // Errors Fastify's router raises before any route runs (a path value over 100 characters, a bad
    // %-escape) would otherwise get Fastify's own 414/400 body, echoing the URL: coded like any other,
    // never echoing the input (found by server/fuzz.test.ts).
    frameworkErrors: (err, req, reply) => {
      const sls = toSlsError(err) ?? new SlsError('SLS_ERR_INTERNAL');
      metrics?.noteError(req, sls.code);
      void (reply as FastifyReply).code(sls.status).send(sls.toBody());
    },
    logger:
      config.logLevel === 'silent'
        ? false
        : {
            level: config.logLevel,
            // Never secrets in logs: no bodies are logged at all, and these headers are redacted.
            redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'req.body', 'res.body'], censor: '[redacted]' },
          },
  });
  opened.push(() => app.close());

  // Stopping: every answer from now on closes its connection, so a client never reuses one that is
  // about to go (its next request goes to another worker, or waits for the restarted slsd).
  let closing = false;
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });

  // Created after the app, before any request: the error handlers below note their codes in it.
  const metrics: SlsMetrics | null = config.metricsPort === null ? null : await createMetrics(app, () => services.passwords.load?.() ?? null);

  // One JSON parser of our own, so malformed JSON is a coded error like any other.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new SlsError('SLS_ERR_MALFORMED_JSON'), undefined);
    }
  });

  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const sls = toSlsError(err);
    if (sls) {
      metrics?.noteError(req, sls.code);
      return reply.code(sls.status).send(sls.toBody());
    }
    // The database cannot serve (unavailable.ts): a 503 to try again shortly, not a 500 that reads like a bug.
    const unavailable = databaseUnavailableReason(err);
    if (unavailable !== null) {
      req.log.warn({ reason: unavailable }, 'database unavailable: answered 503');
      const e = new SlsError('SLS_ERR_SERVICE_UNAVAILABLE', { retryAt: new Date(Date.now() + RETRY_AFTER_S * 1000).toISOString() });
      metrics?.noteError(req, e.code);
      return reply.code(e.status).header('retry-after', String(RETRY_AFTER_S)).send(e.toBody());
    }
    req.log.error({ err }, 'unexpected error');
    const internal = new SlsError('SLS_ERR_INTERNAL');
    metrics?.noteError(req, internal.code);
    return reply.code(internal.status).send(internal.toBody());
  });

  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0] ?? '';
    const other = ROUTE_PATTERNS.some((p) => p.re.test(path) && p.method !== req.method);
    const err = new SlsError(other ? 'SLS_ERR_METHOD_NOT_ALLOWED' : 'SLS_ERR_NOT_FOUND');
    metrics?.noteError(req, err.code);
    return reply.code(err.status).send(err.toBody());
  });

  for (const route of ROUTES) {
    app.route({
      method: route.method,
      url: route.url,
      handler: async (req, reply) => {
        const token = bearerToken(req);
        if (route.auth && token === null) throw new SlsError('SLS_ERR_UNAUTHENTICATED');
        const result = await route.handler(services, {
          body: req.body,
          params: req.params as Record<string, string>,
          query: req.query as Record<string, string>,
          token,
          sourceAddress: req.ip,
        });
        reply.header('cache-control', 'no-store');
        return result;
      },
    });
  }

  const openapi = buildOpenApiDocument(services.version);
  app.get(`${API_PREFIX}/openapi.json`, async () => openapi);

  await app.ready();
  for (const w of services.warnings) app.log.warn(w);
  // Expired rows go after a grace period; never the audit log (SPEC N1, N2; services/housekeeping.ts).
  // SPEC P2, P5: it also masks the codes an earlier slsd left in clear in settled SMS rows, as this
  // slsd's dispatcher would (the sent ones only with a real gateway; sms/policy.ts).
  const housekeeping = startHousekeeping(services.db, services.now, { intervalMs: config.housekeepingIntervalMs, graceMs: config.housekeepingGraceMs, addressFailureWindowMs: config.addressFailureWindowMs, smsRetentionMs: config.smsRetentionMs, settledRetentionMs: config.settledRetentionMs, maskSmsCodes: services.sms.settledMasking }, {
    swept: (r) => void ((totalDeleted(r) > 0 || r.smsCodesMasked > 0) && app.log.info({ housekeeping: r }, 'expired rows deleted')),
    failed: (err) => app.log.error({ err }, 'housekeeping sweep failed'),
  });
  opened.push(() => housekeeping.stop());
  // SPEC P2, P5: SMS deferred to the carriers' hours leave when due. Each row is claimed before it
  // is sent, so every slsd process may run this.
  let dispatching = false;
  const dispatcher =
    config.smsDispatchIntervalMs > 0
      ? setInterval(() => {
          if (dispatching) return;
          dispatching = true;
          services.sms
            .dispatchDue()
            .then((r) => {
              if (r.sent + r.dropped + r.failed > 0) app.log.info({ sms: r }, 'deferred SMS dispatched');
            })
            .catch((err: unknown) => app.log.error({ err }, 'SMS dispatch failed'))
            .finally(() => {
              dispatching = false;
            });
        }, config.smsDispatchIntervalMs)
      : null;
  dispatcher?.unref();
  opened.push(() => dispatcher && clearInterval(dispatcher));
  let closed: Promise<void> | undefined;
  return {
    app,
    services,
    metrics,
    close(opts: { drainMs?: number } = {}) {
      // Once: a SIGTERM during a reload's drain (or a second signal) waits for the same close.
      return (closed ??= closeOnce(opts));
    },
  };

  async function closeOnce(opts: { drainMs?: number }): Promise<void> {
    // Stopping (SIGTERM, a worker replaced on SIGHUP): IB Key long-polls answer now rather than hold
    // the stop up to 25 s, and every answer from now on closes its connection (onSend above). A worker
    // replaced while others serve (`drainMs`) first leaves idle connections to their clients for a
    // while; otherwise Fastify closes the idle ones at once (Node's 72 s keep-alive would hold the
    // process) and waits for what is in flight.
    closing = true;
    services.ibkey.stopWaiting();
    if (opts.drainMs) await drain(app.server, opts.drainMs);
    await housekeeping.stop();
    if (dispatcher) clearInterval(dispatcher);
    await app.close();
    await services.close();
  }
}
