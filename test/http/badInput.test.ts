/**
 * The bad input table: every refusal is its own problem+json (type, code, status, detail,
 * instance, no stack trace) and leaves the store as it was: no actor, no mailbox entry, no
 * snapshot version, artifact or contract more.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.js';
import { newId } from '../../src/ids.js';
import { silentLogger } from '../../src/logger.js';
import { bulkProbe, registryWith } from '../actors/probes.js';
import { httpHarness, problem, storeState, type HttpHarness, type RequestInit2 } from './helpers.js';

let t: HttpHarness;
let bulk: ReturnType<typeof bulkProbe>;
let finalId: string;
let sessionId: string;

beforeEach(async () => {
  bulk = bulkProbe(0);
  t = await httpHarness({}, { intents: registryWith([], [bulk.intent]) });
  finalId = ((await (await t.req('/v1/intents/profile_text?waitFor=done', { method: 'POST', body: '{"text":"x"}' })).json()) as { id: string }).id;
  const session = await t.req('/v1/actors', { method: 'POST', body: '{"kind":"agentSession","input":{}}', headers: { 'idempotency-key': 'k1' } });
  sessionId = ((await session.json()) as { id: string }).id;
  await t.h.runtime.waitFor(sessionId, { tenantId: 'alpha', until: { tag: 'waiting' }, timeoutMs: 5000 });
});
afterEach(async () => {
  bulk.work.release();
  await t.cleanup();
});

const CONTRACT = JSON.stringify({
  scope: { realms: ['content'], intents: ['*'] },
  dataPolicy: { materialization: 'full', sampleRows: 10, retentionDays: 7, piiHandling: 'allow', maxBytes: 1000 },
});

type Case = [name: string, path: string, init: RequestInit2, status: number, code: string];

function cases(): Case[] {
  const big = JSON.stringify({ text: 'x'.repeat(70 * 1024) });
  const post = (body: string, headers: Record<string, string> = {}): RequestInit2 => ({ method: 'POST', body, headers });
  return [
    // malformed JSON, on every route that takes a body
    ['malformed json: spawn', '/v1/actors', post('{"kind":'), 400, 'malformed-json'],
    ['malformed json: event', `/v1/actors/${sessionId}/events`, post('{"type":"MESSAGE",'), 400, 'malformed-json'],
    ['malformed json: intent', '/v1/intents/profile_text', post('{text:1}'), 400, 'malformed-json'],
    ['malformed json: contract', '/v1/contracts', post('[1,'), 400, 'malformed-json'],
    // wrong content type
    ['text/plain spawn', '/v1/actors', post('{"kind":"agentSession"}', { 'content-type': 'text/plain' }), 415, 'unsupported-media-type'],
    ['form event', `/v1/actors/${sessionId}/events`, post('type=END', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported-media-type'],
    ['xml intent', '/v1/intents/profile_text', post('<text/>', { 'content-type': 'application/xml' }), 415, 'unsupported-media-type'],
    ['csv contract', '/v1/contracts', post('a,b', { 'content-type': 'text/csv' }), 415, 'unsupported-media-type'],
    // oversize bodies (limit 64 KiB), announced or not
    ['oversize intent', '/v1/intents/profile_text', post(big), 413, 'payload-too-large'],
    ['oversize event', `/v1/actors/${sessionId}/events`, post(JSON.stringify({ type: 'MESSAGE', text: 'y'.repeat(70 * 1024) })), 413, 'payload-too-large'],
    ['announced oversize', '/v1/actors', post('{}', { 'content-length': String(10 * 1024 * 1024) }), 413, 'payload-too-large'],
    // invalid params, query, path and headers
    ['intent params of the wrong type', '/v1/intents/profile_text', post('{"text":42}'), 422, 'params-invalid'],
    ['intent params with an unknown field', '/v1/intents/profile_text', post('{"text":"a","colour":"red"}'), 422, 'params-invalid'],
    ['intent without its params', '/v1/intents/profile_text', { method: 'POST' }, 422, 'params-invalid'],
    ['spawn without a kind', '/v1/actors', post('{"input":{}}'), 422, 'params-invalid'],
    ['spawn with an unknown field', '/v1/actors', post('{"kind":"agentSession","extra":1}'), 422, 'params-invalid'],
    ['contract outside the realms', '/v1/contracts', post(CONTRACT.replace('"content"', '"moon"')), 422, 'params-invalid'],
    ['contract that expired already', '/v1/contracts', post(CONTRACT.replace('{"scope"', '{"expiresAt":"2001-01-01T00:00:00Z","scope"')), 422, 'params-invalid'],
    ['event without a type', `/v1/actors/${sessionId}/events`, post('{"text":"no type"}'), 422, 'params-invalid'],
    ['event of another machine', `/v1/actors/${sessionId}/events`, post('{"type":"RESUME"}'), 422, 'params-invalid'],
    ['internal event', `/v1/actors/${sessionId}/events`, post('{"type":"xstate.init"}'), 422, 'params-invalid'],
    ['bad limit', '/v1/actors?limit=0', {}, 422, 'params-invalid'],
    ['bad status filter', '/v1/actors?status=sleeping', {}, 422, 'params-invalid'],
    ['bad waitFor', `/v1/actors/${sessionId}/events?waitFor=soon`, post('{"type":"MESSAGE","text":"a"}'), 422, 'params-invalid'],
    ['negative timeout', '/v1/intents/profile_text?waitFor=done&timeoutMs=-1', post('{"text":"a"}'), 422, 'params-invalid'],
    ['bad solution id', '/v1/intents/profile_text?solutionId=Not%20Valid', post('{"text":"a"}'), 422, 'params-invalid'],
    ['bad sequence number', `/v1/actors/${sessionId}/events/first`, {}, 422, 'params-invalid'],
    ['bad cursor', '/v1/artifacts?cursor=bm9wZQ', {}, 422, 'params-invalid'],
    ['bad row offset', `/v1/datasets/${newId('art')}/rows?offset=-3`, {}, 422, 'params-invalid'],
    ['empty idempotency key', '/v1/actors', post('{"kind":"agentSession"}', { 'idempotency-key': '' }), 422, 'params-invalid'],
    ['long idempotency key', '/v1/actors', post('{"kind":"agentSession"}', { 'idempotency-key': 'k'.repeat(201) }), 422, 'params-invalid'],
    // unknown things
    ['unknown kind', '/v1/actors', post('{"kind":"robot","input":{}}'), 422, 'kind-unknown'],
    ['unknown intent', '/v1/intents/no_such_intent', post('{}'), 404, 'intent-unknown'],
    ['unknown actor: inspect', `/v1/actors/${newId('ses')}`, {}, 404, 'not-found'],
    ['unknown actor: send', `/v1/actors/${newId('ses')}/events`, post('{"type":"END"}'), 404, 'not-found'],
    ['unknown actor: stop', `/v1/actors/${newId('ses')}/stop`, { method: 'POST' }, 404, 'not-found'],
    ['unknown actor: mailbox', `/v1/actors/${newId('ses')}/events/1`, {}, 404, 'not-found'],
    ['unknown mailbox entry', `/v1/actors/${sessionId}/events/99`, {}, 404, 'not-found'],
    ['unknown contract', `/v1/contracts/${newId('ctr')}/revoke`, { method: 'POST' }, 404, 'not-found'],
    ['unknown artifact', `/v1/artifacts/${newId('art')}/content`, {}, 404, 'not-found'],
    ['unknown dataset', `/v1/datasets/${newId('art')}/rows`, {}, 404, 'not-found'],
    ['unknown route', '/v1/nothing', {}, 404, 'not-found'],
    ['unknown route outside v1', '/v2/actors', { key: null }, 404, 'not-found'],
    // state
    ['event to a final actor', `/v1/actors/${finalId}/events`, post('{"type":"CANCEL"}'), 409, 'actor-final'],
    ['stop a final actor', `/v1/actors/${finalId}/stop`, { method: 'POST' }, 409, 'actor-final'],
    ['replayed key, other body', '/v1/actors', post('{"kind":"agentSession","input":{"solutionId":"other"}}', { 'idempotency-key': 'k1' }), 409, 'idempotency-conflict'],
    // methods
    ['DELETE a collection', '/v1/actors', { method: 'DELETE' }, 405, 'method-not-allowed'],
    ['GET a POST route', `/v1/actors/${sessionId}/stop`, {}, 405, 'method-not-allowed'],
    ['PUT an actor', `/v1/actors/${sessionId}`, { method: 'PUT', body: '{}' }, 405, 'method-not-allowed'],
    // keys
    ['no key', '/v1/actors', { key: null }, 401, 'unauthorized'],
    ['unknown key', '/v1/actors', { key: 'not-a-key-at-all' }, 401, 'unauthorized'],
    ['basic auth', '/v1/actors', { key: null, headers: { authorization: 'Basic a2V5LWFscGhhLTAwMDE6' } }, 401, 'unauthorized'],
    ['no key on a write', '/v1/intents/profile_text', { key: null, method: 'POST', body: '{"text":"a"}' }, 401, 'unauthorized'],
  ];
}

describe('bad input', () => {
  it('answers each case with its problem and leaves the store unchanged', async () => {
    const before = await storeState(t.h, 'alpha');
    for (const [name, path, init, status, code] of cases()) {
      const res = await t.req(path, init);
      expect(res.status, name).toBe(status);
      const body = await problem(res);
      expect(body.code, name).toBe(code);
      expect(body.instance, name).toBe(path.split('?')[0]);
      if (code === 'params-invalid') expect(body.errors?.length, name).toBeGreaterThan(0);
      if (code === 'method-not-allowed') expect(res.headers.get('allow'), name).toMatch(/GET|POST/);
    }
    expect(await storeState(t.h, 'alpha')).toEqual(before);
    expect(await storeState(t.h, 'bravo')).toEqual({ actors: 0, events: 0, versions: '', artifacts: 0, contracts: '' });
  });

  it('names the failing fields of invalid parameters', async () => {
    const res = await t.req('/v1/intents/profile_text?limit=3&timeoutMs=x&waitFor=done', { method: 'POST', body: '{"text":42}' });
    const body = await problem(res);
    expect(body.errors?.map((e) => e.path)).toEqual(['query.timeoutMs']);
    const params = await problem(await t.req('/v1/intents/profile_text', { method: 'POST', body: '{"text":42}' }));
    expect(params.errors?.map((e) => e.path)).toEqual(['params.text']);
    const contract = await problem(await t.req('/v1/contracts', { method: 'POST', body: CONTRACT.replace('"full"', '"most"') }));
    expect(contract.errors?.map((e) => e.path)).toEqual(['dataPolicy.materialization']);
  });

  it('refuses an event the current state does not take, records the refusal and changes nothing else', async () => {
    const spawned = await t.req('/v1/actors', { method: 'POST', body: JSON.stringify({ kind: 'bulkOperation', input: { intent: 'bulk_probe', params: { items: 15 } } }) });
    expect(spawned.status).toBe(202);
    const { id } = (await spawned.json()) as { id: string };
    await bulk.work.started;
    // The state its work started in, once committed: the refusal below must leave it as it is.
    await t.h.runtime.waitFor(id, { tenantId: 'alpha', until: { tag: 'data' }, timeoutMs: 5000 });
    const view = await (await t.req(`/v1/actors/${id}`)).json();
    const res = await t.req(`/v1/actors/${id}/events?waitFor=applied&timeoutMs=5000`, { method: 'POST', body: '{"type":"RESUME"}' });
    expect(res.status).toBe(409);
    expect((await problem(res)).code).toBe('event-not-accepted');
    const entry = (await (await t.req(`/v1/actors/${id}/events/1`)).json()) as { outcome: string; error: { code: string } };
    expect(entry).toMatchObject({ outcome: 'refused', error: { code: 'event-not-accepted' } });
    const after = (await (await t.req(`/v1/actors/${id}`)).json()) as typeof view;
    expect({ ...(after as object), version: 0, updatedAt: '' }).toEqual({ ...(view as object), version: 0, updatedAt: '' });
  });

  it('never sends a stack trace or an internal message', async () => {
    const app = createApp({ runtime: t.h.runtime, stores: t.h.stores, logger: silentLogger(), apiKeys: [], localTenant: 'local' });
    app.get('/v1/explode', () => {
      throw new Error('secret detail at /srv/app/src/thing.ts:12:3');
    });
    const res = await app.request('/v1/explode');
    expect(res.status).toBe(500);
    const body = (await problem(res)) as unknown as { code: string; errorId: string; detail: string };
    expect(body.code).toBe('internal');
    expect(body.errorId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(body)).not.toContain('secret');
  });
});
