/**
 * Request validation (http/openapi.ts) answers the same over a real socket, where headers and
 * bodies are read from Node's request, as through `app.request`, where they come from a
 * WHATWG Request: query before path before headers before body, every failing field listed,
 * an empty required body validated as `{}`, an empty optional body taken as `{}`, and a
 * refused request leaves nothing behind.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpHarness, KEY_A, problem, type HttpHarness } from './helpers.js';

let t: HttpHarness;
let server: ServerType;
let base: string;

beforeAll(async () => {
  t = await httpHarness();
  server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await t.cleanup();
});

interface Case {
  name: string;
  path: string;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  status: number;
  code?: string;
  /** The `errors[].path` list of a params-invalid answer. */
  fields?: string[];
}

const cases: Case[] = [
  { name: 'bad query and bad body: the query is reported', path: '/v1/intents/profile_text?timeoutMs=x&waitFor=done', method: 'POST', body: '{"text":42}', status: 422, code: 'params-invalid', fields: ['query.timeoutMs'] },
  { name: 'bad header before bad body', path: '/v1/actors', method: 'POST', body: '{"nope":1}', headers: { 'idempotency-key': 'k'.repeat(201) }, status: 422, code: 'params-invalid', fields: ['header.idempotency-key'] },
  { name: 'bad body fields', path: '/v1/actors', method: 'POST', body: '{"kind":"","extra":1}', status: 422, code: 'params-invalid' },
  { name: 'empty required body validates as {}', path: '/v1/actors', method: 'POST', body: '', headers: { 'content-type': 'text/plain' }, status: 422, code: 'params-invalid', fields: ['kind'] },
  { name: 'empty optional body is {}', path: '/v1/intents/profile_text', method: 'POST', body: '', headers: { 'content-type': 'text/plain' }, status: 422, code: 'params-invalid' },
  { name: 'malformed JSON', path: '/v1/actors', method: 'POST', body: '{"kind":', status: 400, code: 'malformed-json' },
  { name: 'non-JSON body', path: '/v1/actors', method: 'POST', body: 'kind=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'unsupported-media-type' },
  { name: 'bad path parameter', path: `/v1/actors/${'x'.repeat(300)}`, status: 422, code: 'params-invalid' },
  { name: 'repeated query key', path: '/v1/actors?limit=2&limit=3', status: 422, code: 'params-invalid' },
  { name: 'valid list', path: '/v1/actors?limit=2', status: 200 },
];

async function viaApp(c: Case): Promise<Response> {
  return t.req(c.path, { method: c.method ?? 'GET', ...(c.body !== undefined ? { body: c.body } : {}), headers: c.headers ?? {} });
}

async function viaSocket(c: Case): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${KEY_A}`, ...(c.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(c.headers ?? {}) };
  return fetch(`${base}${c.path}`, { method: c.method ?? 'GET', headers, ...(c.body !== undefined ? { body: c.body } : {}) });
}

describe('request validation', () => {
  for (const [how, send] of [
    ['through app.request', viaApp],
    ['over a real socket', viaSocket],
  ] as const) {
    it(`answers each bad request the same ${how}, storing nothing`, async () => {
      for (const c of cases) {
        const res = await send(c);
        expect(res.status, c.name).toBe(c.status);
        // Exactly one request id on every answer (a repeated header would read "a, b").
        expect(res.headers.get('x-request-id'), c.name).toMatch(/^[\w\-=]{8,}$/);
        if (c.status >= 400) {
          const body = await problem(res);
          expect(body.code, c.name).toBe(c.code);
          if (c.fields) expect(body.errors?.map((e) => e.path), c.name).toEqual(c.fields);
          else if (c.code === 'params-invalid') expect(body.errors?.length, c.name).toBeGreaterThan(0);
        } else await res.body?.cancel();
      }
      expect((await t.h.runtime.list({ tenantId: 'alpha', limit: 10 })).items).toEqual([]);
    });
  }

  it('answers with the client\'s own request id over a real socket, once, on success and on refusal', async () => {
    for (const path of ['/v1/actors', '/v1/actors/nope', '/v1/openapi.json']) {
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${KEY_A}`, 'x-request-id': 'client-id-42' } });
      expect(res.headers.get('x-request-id'), path).toBe('client-id-42');
      await res.body?.cancel();
    }
  });
});
