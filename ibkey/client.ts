/**
 * The app's HTTP client for slsd: JSON in, zod-checked JSON out, coded errors as `SlsdError`.
 */
import type { z } from 'zod';
import { ErrorBody } from '../core/api.ts';

export class SlsdError extends Error {
  readonly code: string;
  readonly status: number;
  readonly attemptsLeft: number | undefined;
  readonly lockedUntil: string | undefined;

  constructor(status: number, body: ErrorBody['error']) {
    super(body.message);
    this.name = 'SlsdError';
    this.code = body.code;
    this.status = status;
    this.attemptsLeft = body.attemptsLeft;
    this.lockedUntil = body.lockedUntil;
  }
}

export class SlsdClient {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  async #call<T extends z.ZodType>(method: 'GET' | 'POST', path: string, body: unknown, schema: T, signal?: AbortSignal): Promise<z.infer<T>> {
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
    } catch (e) {
      if (signal?.aborted) throw e;
      // SPEC K2: no connection is what the offline code is for; say so rather than "fetch failed".
      throw new Error(
        `cannot reach the SLS server at ${this.baseUrl}. Without a connection the login still works with a code: ` +
          'on the desktop choose "Didn\'t receive the notification?", then run `ibkey respond <challenge>` and type what it shows.',
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new Error(`slsd answered ${res.status} with something that is not JSON`);
    }
    if (!res.ok) {
      const err = ErrorBody.safeParse(json);
      if (err.success) throw new SlsdError(res.status, err.data.error);
      throw new Error(`slsd answered ${res.status}`);
    }
    return schema.parse(json);
  }

  post<T extends z.ZodType>(path: string, body: unknown, schema: T, signal?: AbortSignal): Promise<z.infer<T>> {
    return this.#call('POST', path, body ?? {}, schema, signal);
  }

  get<T extends z.ZodType>(path: string, schema: T, signal?: AbortSignal): Promise<z.infer<T>> {
    return this.#call('GET', path, undefined, schema, signal);
  }
}
