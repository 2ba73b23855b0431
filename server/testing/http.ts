/**
 * Small helpers for HTTP tests through `app.inject()` and for acting as a device.
 */
import type { FastifyInstance } from 'fastify';
import type { ErrorBody, LoginStep } from '../../core/api.ts';
import { deviceResponse } from '../../core/codes.ts';
import { DEVICE_CATALOGUE } from '../../core/devices.ts';
import { ocraPasswordHash } from '../../core/ocra.ts';
import type { ProvisionedDevice } from '../services/provisioning.ts';

export interface Answer<T = unknown> {
  readonly status: number;
  readonly body: T;
}

export async function postJson<T = LoginStep>(app: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
  const r = await app.inject({ method: 'POST', url, payload: payload as object, headers });
  return { status: r.statusCode, body: r.json() as T };
}

export async function getJson<T = unknown>(app: FastifyInstance, url: string, headers: Record<string, string> = {}): Promise<Answer<T>> {
  const r = await app.inject({ method: 'GET', url, headers });
  return { status: r.statusCode, body: r.json() as T };
}

export function errorCode(a: Answer): string | undefined {
  return (a.body as ErrorBody).error?.code;
}

export const TRADING_PLATFORM = { kind: 'trading_platform', version: 1010, name: 'SLS Desktop test' } as const;

export function login(app: FastifyInstance, username: string, password: string, client: object = TRADING_PLATFORM): Promise<Answer<LoginStep>> {
  return postJson(app, '/v1/login', { username, password, client });
}

/** What the device shows for a challenge: OCRA for tokens (with the DSC+ PIN), or the card's codes. */
export function actAsDevice(p: ProvisionedDevice, challenge: LoginStep & { status: 'challenge' }): string {
  const c = challenge.challenge;
  if (c.type === 'response_code') {
    if (!p.secret) throw new Error('no secret');
    const pinHash = p.pin ? ocraPasswordHash(DEVICE_CATALOGUE.dscplus.ocraSuite!, p.pin) : undefined;
    return deviceResponse(c.kind, p.secret, c.challenge, pinHash ? { pinHash } : {});
  }
  if (c.type === 'index_numbers') {
    if (!p.card) throw new Error('no card');
    return p.card.cells[c.indexes[0] - 1]! + p.card.cells[c.indexes[1] - 1]!;
  }
  throw new Error(`cannot act as a ${c.type} device`);
}
