/**
 * Prometheus metrics for operators (prom-client): what slsd answers, how fast, which coded errors
 * it gives (lockouts, wrong responses, throttling: SPEC L6), how many argon2id hashes wait (A3,
 * issue 7), and the process itself (memory, CPU, event-loop delay, GC).
 *
 * Off unless the operator asks (`--metrics-port` / `SLS_METRICS_PORT`): then served on a listener of
 * their own (`SLS_METRICS_HOST`, default 127.0.0.1), never on the API's port, so the address users
 * reach shows nothing of it. Labels are bounded and hold no user data: route patterns (never a
 * path with an id in it), methods, status codes, coded errors from the registry, never a user name,
 * an address or a token (server/metrics.test.ts).
 *
 * With `--workers N` each worker keeps its own registry and the primary serves their sum
 * (prom-client's AggregatorRegistry.aggregate over node:cluster's IPC; clusterSource says why not its
 * clusterMetrics).
 */
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { HashingLoad } from './services/passwords.ts';
import { bindRefusal } from './start-refused.ts';

/** prom-client (~2.5 MB resident) is loaded only when the operator asks for metrics. */
const promClient = () => import('prom-client');

export interface SlsMetrics {
  readonly registry: Registry;
  /** A coded error answered for this request (set by the error handlers; read when the answer is sent). */
  noteError(request: object, code: string): void;
}

/** The registry, and one Fastify hook that counts every answer as it is sent. */
export async function createMetrics(app: FastifyInstance, hashing: () => HashingLoad | null): Promise<SlsMetrics> {
  const { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } = await promClient();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'slsd_' });

  const requests = new Counter({
    name: 'slsd_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method, status and coded error (empty for a success).',
    labelNames: ['route', 'method', 'status', 'code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'slsd_http_request_duration_seconds',
    help: 'Time from the request to its answer, by route pattern (a login includes its argon2id hash).',
    labelNames: ['route'] as const,
    // A no-op answer is well under a millisecond; a password step ~10 ms; a throttled burst seconds.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const hashGauge = (name: string, help: string, pick: (load: HashingLoad) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const load = hashing();
        if (load) this.set(pick(load));
      },
    });
  hashGauge('slsd_password_hashes_in_flight', 'argon2id hashes handed to the thread pool (running, or next in its queue).', (l) => l.inFlight);
  hashGauge('slsd_password_hashes_waiting', 'argon2id hashes waiting in slsd for a turn in the thread pool (sustained > 0: more logins than the cores hash).', (l) => l.waiting);

  const errors = new WeakMap<object, string>();
  app.addHook('onResponse', async (req, reply) => {
    // The route's pattern ("/v1/login/:transactionId/response"); anything unrouted is one label.
    const route = req.routeOptions.url ?? 'unmatched';
    const code = errors.get(req) ?? '';
    requests.inc({ route, method: req.method, status: String(reply.statusCode), code });
    duration.observe({ route }, reply.elapsedTime / 1000);
  });

  return {
    registry,
    noteError(request, code) {
      errors.set(request, code);
    },
  };
}

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The metrics listener: GET /metrics in Prometheus' text format; anything else 404. `source` gives
 * the text (one registry, or the cluster's sum).
 */
export async function serveMetrics(host: string, port: number, source: { text(): Promise<string>; contentType: string }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics are at GET /metrics\n');
      return;
    }
    source.text().then(
      (body) => res.writeHead(200, { 'content-type': source.contentType, 'cache-control': 'no-store' }).end(body),
      (err: unknown) => res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(`metrics unavailable: ${(err as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(bindRefusal(err, 'the metrics listener', host, port, 'SLS_METRICS_HOST, SLS_METRICS_PORT / --metrics-port') ?? err));
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const shown = a.address.includes(':') ? `[${a.address}]` : a.address;
  return {
    url: `http://${shown}:${a.port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** One process: its own registry. */
export function registrySource(registry: Registry): { text(): Promise<string>; contentType: string } {
  return { text: () => registry.metrics(), contentType: registry.contentType };
}

/** The IPC messages between the primary and its workers (not prom-client's own, see clusterSource). */
const ASK = 'slsd:metrics?';
const ANSWER = 'slsd:metrics';
type WorkerMetrics = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;
interface Answer {
  type: typeof ANSWER;
  id: number;
  metrics?: WorkerMetrics;
  error?: string;
}
const isAnswer = (m: unknown, id: number): m is Answer =>
  typeof m === 'object' && m !== null && (m as Answer).type === ANSWER && (m as Answer).id === id;

/**
 * The primary of `--workers N`: the sum of its workers' registries (prom-client's
 * AggregatorRegistry.aggregate). The primary asks only the workers that are listening: prom-client's
 * own clusterMetrics() asks every connected worker, and one still starting (at launch, or replacing
 * one that died) has no listener yet, so every scrape in that second waited 5 s and failed. A worker
 * that exits while asked is left out (its counts went with it, as Prometheus reads any restart); one
 * that is listening but does not answer within `timeoutMs` makes the scrape fail (503), never a
 * silent partial sum.
 */
export async function clusterSource(timeoutMs = 5000): Promise<{ text(): Promise<string>; contentType: string }> {
  const { AggregatorRegistry } = await promClient();
  const listening = new Set<Worker>();
  cluster.on('listening', (worker) => listening.add(worker));
  cluster.on('exit', (worker) => listening.delete(worker));
  let nextId = 0;
  const ask = (worker: Worker): Promise<WorkerMetrics | null> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const done = () => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
      };
      const onMessage = (m: unknown) => {
        if (!isAnswer(m, id)) return;
        done();
        if (m.error !== undefined || !m.metrics) reject(new Error(`worker ${worker.process.pid}: ${m.error ?? 'no metrics'}`));
        else resolve(m.metrics);
      };
      const onExit = () => (done(), resolve(null));
      const timer = setTimeout(() => (done(), reject(new Error(`worker ${worker.process.pid} did not answer within ${timeoutMs} ms`))), timeoutMs);
      worker.on('message', onMessage);
      worker.once('exit', onExit);
      try {
        worker.send({ type: ASK, id });
      } catch {
        onExit(); // its channel closed between the check and the send: it is leaving
      }
    });
  return {
    contentType: AggregatorRegistry.PROMETHEUS_CONTENT_TYPE,
    async text() {
      const answers = await Promise.all([...listening].filter((w) => w.isConnected()).map(ask));
      return AggregatorRegistry.aggregate(answers.filter((a): a is WorkerMetrics => a !== null)).metrics();
    },
  };
}

/** In a worker: answer the primary's requests with this registry. */
export function offerToPrimary(registry: Registry): void {
  if (!cluster.isWorker) return;
  process.on('message', (m: unknown) => {
    if (typeof m !== 'object' || m === null || (m as { type?: unknown }).type !== ASK) return;
    const id = (m as { id: number }).id;
    const reply = (answer: Omit<Answer, 'type' | 'id'>) => process.send?.({ type: ANSWER, id, ...answer });
    registry.getMetricsAsJSON().then(
      (metrics) => reply({ metrics }),
      (err: unknown) => reply({ error: (err as Error).message }),
    );
  });
}
