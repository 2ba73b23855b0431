/**
 * The benchmarks' HTTP client: the leanest honest HTTP/1.1 keep-alive client, so the load generator
 * takes as little as possible of the cores it shares with slsd (bench:login, bench:load).
 *
 * One request at a time per connection, Content-Length framing (Fastify always sends it; anything
 * else is an error, never guessed at), every answer's status returned. `LeanPool` keeps idle
 * connections per port for open-loop load, opening another whenever all are busy.
 */
import net from 'node:net';

export interface HttpAnswer {
  readonly status: number;
  readonly body: Buffer;
}

/** One keep-alive HTTP/1.1 connection, one request at a time. */
export class LeanConnection {
  readonly #socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #pending: { resolve(a: HttpAnswer): void; reject(e: Error): void } | null = null;
  #closed = false;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (e) => this.#fail(e));
    socket.on('close', () => {
      this.#closed = true;
      this.#fail(new Error('connection closed by slsd'));
    });
  }

  /** Closed by either side (slsd ends idle keep-alive connections after a while): never send on it. */
  get closed(): boolean {
    return this.#closed || this.#socket.destroyed;
  }

  static open(port: number): Promise<LeanConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new LeanConnection(socket));
      });
    });
  }

  /** Sends a prepared request (see `request()`) and resolves with its answer. */
  send(raw: Buffer): Promise<HttpAnswer> {
    if (this.#pending) throw new Error('one request at a time per connection');
    if (this.closed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#socket.write(raw);
    });
  }

  close(): void {
    this.#pending = null;
    this.#socket.destroy();
  }

  #fail(e: Error): void {
    const p = this.#pending;
    this.#pending = null;
    p?.reject(e);
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.#buffer.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) return this.#fail(new Error(`an answer without Content-Length: ${head.split('\r\n')[0]}`));
    const total = end + 4 + Number(length[1]);
    if (this.#buffer.length < total) return;
    const body = this.#buffer.subarray(end + 4, total);
    this.#buffer = this.#buffer.subarray(total);
    const p = this.#pending;
    this.#pending = null;
    p?.resolve({ status: Number(head.slice(9, 12)), body });
  }
}

/** A complete HTTP/1.1 POST with a JSON body, as bytes. */
export function request(urlPath: string, body: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  const head = `POST ${urlPath} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${payload.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), payload]);
}

/** Idle keep-alive connections per port; a request takes one (or opens one) and gives it back. */
export class LeanPool {
  readonly #idle = new Map<number, LeanConnection[]>();
  readonly #all: LeanConnection[] = [];

  async send(port: number, raw: Buffer): Promise<HttpAnswer> {
    const idle = this.#idle.get(port) ?? [];
    this.#idle.set(port, idle);
    let c = idle.pop();
    while (c?.closed) c = idle.pop();
    if (!c) {
      c = await LeanConnection.open(port);
      this.#all.push(c);
    }
    const answer = await c.send(raw);
    idle.push(c);
    return answer;
  }

  /** A POST with a JSON body; the answer's JSON. */
  async post(port: number, urlPath: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const a = await this.send(port, request(urlPath, body));
    return { status: a.status, json: JSON.parse(a.body.toString('utf8')) as Record<string, unknown> };
  }

  close(): void {
    for (const c of this.#all) c.close();
    this.#all.length = 0;
    this.#idle.clear();
  }
}
