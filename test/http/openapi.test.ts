/**
 * The OpenAPI document: it validates (@readme/openapi-parser), it covers exactly the routes
 * registered on the app, and every operation's real answers (status, media type, body) are
 * what it says. Bodies are checked twice: against the document's JSON Schema (what clients
 * read) and with the zod schema the document was generated from (taken from the app's own
 * OpenAPI registry, so the two cannot be different sources).
 */
import { compileErrors, validate } from '@readme/openapi-parser';
import { z, type ZodType } from 'zod';
import type { IntentDefinition } from '../../src/intents/index.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { heldIntent, registryWith } from '../actors/probes.js';
import { checkSchema } from './jsonSchema.js';
import { httpHarness, seedBlobArtifact, seedDataset, type HttpHarness, type RequestInit2 } from './helpers.js';

interface Doc {
  openapi: string;
  paths: Record<string, Record<string, { operationId: string; security?: unknown[]; responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
  components: { schemas: Record<string, unknown>; securitySchemes?: Record<string, unknown> };
}

let t: HttpHarness;
let held: ReturnType<typeof heldIntent>;
let doc: Doc;
let releaseProgress: () => void = () => {};

/** A long intent that reports progress, then waits until released (or stopped). */
function progressIntent(): IntentDefinition<never> {
  const gate = new Promise<void>((resolve) => (releaseProgress = resolve));
  const intent: IntentDefinition<{ n: number }> = {
    type: 'progress_probe',
    realm: 'content',
    mode: 'long',
    description: 'Reports progress, then waits.',
    params: z.object({ n: z.number().int() }).strict(),
    async handler(ctx, params) {
      ctx.progress('counting', 1, params.n);
      await Promise.race([gate, new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))]);
      return [];
    },
  };
  return intent as IntentDefinition<never>;
}

beforeEach(async () => {
  held = heldIntent();
  t = await httpHarness({}, { intents: registryWith([held.intent, progressIntent()]) });
  doc = (await (await t.req('/v1/openapi.json', { key: null })).json()) as Doc;
});
afterEach(async () => {
  held.work.release();
  releaseProgress();
  await t.cleanup();
});

const template = (honoPath: string) => honoPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

describe('OpenAPI document', () => {
  it('validates with @readme/openapi-parser and declares the bearer scheme', async () => {
    const result = await validate(structuredClone(doc) as unknown as Parameters<typeof validate>[0]);
    expect(result.valid ? [] : compileErrors(result)).toEqual([]);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes?.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const open = path === '/healthz' || path === '/readyz' || path === '/v1/openapi.json' || path === '/v1/docs';
        expect(op.security, `${method} ${path}`).toEqual(open ? [] : [{ bearer: [] }]);
        if (!open) expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['401', '429', '500']));
      }
    }
  });

  it('covers every route registered on the app, and only those', () => {
    const routes = new Set(t.app.routes.filter((r) => r.method !== 'ALL' && r.method !== 'HEAD').map((r) => `${r.method.toLowerCase()} ${template(r.path)}`));
    const operations = new Set(Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`)));
    expect([...routes].sort()).toEqual([...operations].sort());
  });

  it("answers every operation as the document says", async () => {
    const registry = t.app.openAPIRegistry.definitions.flatMap((d) => (d.type === 'route' ? [d.route] : []));
    const covered = new Set<string>();

    async function call(method: string, path: string, url: string, init: RequestInit2 = {}): Promise<unknown> {
      const res = await t.req(url, { ...init, method: method.toUpperCase() });
      const name = `${method} ${path} -> ${res.status}`;
      const op = doc.paths[path]?.[method];
      expect(op, name).toBeDefined();
      const documented = op?.responses[String(res.status)];
      expect(documented, `${name} is not documented`).toBeDefined();
      const source = registry.find((r) => r.method === method && r.path === path)?.responses[res.status] as { content?: Record<string, { schema: ZodType }> } | undefined;
      const mediaType = (res.headers.get('content-type') ?? '').split(';')[0] ?? '';
      const docTypes = Object.keys(documented?.content ?? {});
      covered.add(`${method} ${path} ${res.status}`);
      if (docTypes.length === 0) {
        expect(await res.text(), name).toBe('');
        return null;
      }
      if (docTypes.includes('application/octet-stream')) {
        expect((await res.arrayBuffer()).byteLength, name).toBeGreaterThan(0);
        return null;
      }
      expect(docTypes, name).toContain(mediaType);
      const body: unknown = mediaType.endsWith('json') ? await res.json() : await res.text();
      expect(checkSchema(body, documented?.content?.[mediaType]?.schema, doc), name).toEqual([]);
      const zod = source?.content?.[mediaType]?.schema;
      expect(zod, `${name}: no zod schema in the registry`).toBeDefined();
      const parsed = zod?.safeParse(body);
      expect(parsed?.success ? [] : parsed?.error.issues, name).toEqual([]);
      return body;
    }

    // health and documentation
    await call('get', '/healthz', '/healthz', { key: null });
    await call('get', '/readyz', '/readyz', { key: null });
    await call('get', '/v1/openapi.json', '/v1/openapi.json', { key: null });
    await call('get', '/v1/docs', '/v1/docs', { key: null });

    // intents
    await call('get', '/v1/intents', '/v1/intents');
    const done = (await call('post', '/v1/intents/{type}', '/v1/intents/profile_text?waitFor=done', { body: '{"text":"a b"}' })) as { id: string; output: { artifacts: { id: string }[] } };
    await call('post', '/v1/intents/{type}', '/v1/intents/profile_text', { body: '{"text":"a b"}' });
    await call('post', '/v1/intents/{type}', '/v1/intents/held_work?waitFor=done&timeoutMs=20', { body: '{"label":"x"}' });
    await call('post', '/v1/intents/{type}', '/v1/intents/nope', { body: '{}' });
    await call('post', '/v1/intents/{type}', '/v1/intents/profile_text', { body: '{"text":1}' });
    await call('post', '/v1/intents/{type}', '/v1/intents/profile_text', { body: '{"text":' });
    await call('post', '/v1/intents/{type}', '/v1/intents/profile_text', { body: 'text', headers: { 'content-type': 'text/plain' } });
    await call('post', '/v1/intents/{type}', '/v1/intents/profile_text', { body: JSON.stringify({ text: 'x'.repeat(70_000) }) });
    await call('post', '/v1/intents/{type}', '/v1/intents/profile_text', { key: null, body: '{}' });

    // actors
    const spawned = (await call('post', '/v1/actors', '/v1/actors', { body: '{"kind":"agentSession","input":{}}', headers: { 'idempotency-key': 's1' } })) as { id: string };
    await call('post', '/v1/actors', '/v1/actors', { body: '{"kind":"agentSession","input":{}}', headers: { 'idempotency-key': 's1' } });
    await call('post', '/v1/actors', '/v1/actors', { body: '{"kind":"agentSession","input":{"solutionId":"other"}}', headers: { 'idempotency-key': 's1' } });
    await call('post', '/v1/actors', '/v1/actors', { body: '{"kind":"robot"}' });
    await t.h.runtime.waitFor(spawned.id, { tenantId: 'alpha', until: { tag: 'waiting' }, timeoutMs: 5000 });
    await call('get', '/v1/actors', '/v1/actors?limit=1');
    await call('get', '/v1/actors', '/v1/actors?limit=1000');
    await call('get', '/v1/actors/{id}', `/v1/actors/${spawned.id}`);
    await call('get', '/v1/actors/{id}', `/v1/actors/${done.id}`);
    await call('get', '/v1/actors/{id}', `/v1/actors/${newId('ses')}`);
    const counting = (await call('post', '/v1/intents/{type}', '/v1/intents/progress_probe', { body: '{"n":10}' })) as { id: string };
    let withProgress: { progress?: unknown } = {};
    for (let i = 0; i < 100 && withProgress.progress === undefined; i++) {
      withProgress = (await call('get', '/v1/actors/{id}', `/v1/actors/${counting.id}`)) as { progress?: unknown };
      if (withProgress.progress === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(withProgress.progress).toEqual({ phase: 'counting', done: 1, total: 10 });
    await call('post', '/v1/actors/{id}/events', `/v1/actors/${spawned.id}/events`, { body: '{"type":"MESSAGE","text":"one"}' });
    await call('post', '/v1/actors/{id}/events', `/v1/actors/${spawned.id}/events?waitFor=tag:waiting&timeoutMs=5000`, { body: '{"type":"MESSAGE","text":"two"}' });
    await call('post', '/v1/actors/{id}/events', `/v1/actors/${spawned.id}/events?waitFor=done&timeoutMs=10`, { body: '{"type":"MESSAGE","text":"three"}' });
    await call('post', '/v1/actors/{id}/events', `/v1/actors/${done.id}/events`, { body: '{"type":"CANCEL"}' });
    await call('post', '/v1/actors/{id}/events', `/v1/actors/${spawned.id}/events`, { body: '{"type":"NOPE"}' });
    await call('post', '/v1/actors/{id}/events', `/v1/actors/${newId('ses')}/events`, { body: '{"type":"END"}' });
    await call('get', '/v1/actors/{id}/events/{seq}', `/v1/actors/${spawned.id}/events/1`);
    await call('get', '/v1/actors/{id}/events/{seq}', `/v1/actors/${spawned.id}/events/99`);
    await call('get', '/v1/actors/{id}/events/{seq}', `/v1/actors/${spawned.id}/events/zero`);
    await call('post', '/v1/actors/{id}/stop', `/v1/actors/${spawned.id}/stop?waitFor=done&timeoutMs=5000`);
    await call('post', '/v1/actors/{id}/stop', `/v1/actors/${spawned.id}/stop`);
    const other = (await call('post', '/v1/actors', '/v1/actors', { body: '{"kind":"agentSession"}' })) as { id: string };
    await call('post', '/v1/actors/{id}/stop', `/v1/actors/${other.id}/stop`);

    // files (registered by http/files.ts, documented by routes/fileDocs.ts), before any contract change
    if (doc.paths['/v1/files']) {
      const file = (await call('post', '/v1/files', '/v1/files?name=a.csv', { body: 'a,b\n1,2\n', headers: { 'content-type': 'text/csv' } })) as { id: string };
      await call('get', '/v1/files/{id}', `/v1/files/${file.id}`);
      await call('get', '/v1/files/{id}/content', `/v1/files/${file.id}/content`);
      await call('delete', '/v1/files/{id}', `/v1/files/${file.id}`);
      await call('get', '/v1/files/{id}', `/v1/files/${file.id}`);
    }

    // stream (registered by http/stream.ts, documented by routes/streamDocs.ts)
    if (doc.paths['/v1/actors/{id}/stream']) {
      const finalView = (await call('get', '/v1/actors/{id}', `/v1/actors/${done.id}`)) as { version: number };
      const sse = (await call('get', '/v1/actors/{id}/stream', `/v1/actors/${done.id}/stream`)) as string;
      expect(sse).toContain(`id: ${finalView.version}`);
      await call('get', '/v1/actors/{id}/stream', `/v1/actors/${done.id}/stream?lastEventId=${finalView.version}`);
      await call('get', '/v1/actors/{id}/stream', `/v1/actors/${done.id}/stream`, { headers: { 'last-event-id': 'yesterday' } });
      await call('get', '/v1/actors/{id}/stream', `/v1/actors/${newId('exe')}/stream`);
    }

    // contracts
    await call('get', '/v1/contracts', '/v1/contracts');
    await call('get', '/v1/contracts/{id}', '/v1/contracts/ctr_mvp_alpha');
    const terms = { scope: { realms: ['content'], intents: ['*'] }, dataPolicy: { materialization: 'reference', sampleRows: 0, retentionDays: 1, piiHandling: 'mask', maxBytes: 10 } };
    const contract = (await call('post', '/v1/contracts', '/v1/contracts', { body: JSON.stringify(terms) })) as { id: string };
    await call('post', '/v1/contracts', '/v1/contracts', { body: JSON.stringify({ ...terms, scope: { realms: [], intents: [] } }) });
    await call('get', '/v1/contracts/{id}', `/v1/contracts/${newId('ctr')}`);
    await call('post', '/v1/contracts/{id}/revoke', `/v1/contracts/${contract.id}/revoke`);
    await call('post', '/v1/contracts/{id}/revoke', `/v1/contracts/${newId('ctr')}/revoke`);

    // artifacts and datasets
    const wf = await seedBlobArtifact(t.h, 'alpha', { field: 'xmlBlobId', text: '<definitions/>', mediaType: 'application/xml', name: 'a.bpmn' });
    const ds = await seedDataset(t.h, 'alpha', { rowCount: 3, storedRows: 3 });
    const refDs = await seedDataset(t.h, 'alpha', { rowCount: 3, storedRows: 0, contractId: contract.id });
    await call('get', '/v1/artifacts', '/v1/artifacts?limit=2');
    await call('get', '/v1/artifacts', '/v1/artifacts?limit=0');
    await call('get', '/v1/artifacts/{id}', `/v1/artifacts/${done.output.artifacts[0]?.id}`);
    await call('get', '/v1/artifacts/{id}', `/v1/artifacts/${ds.id}`);
    await call('get', '/v1/artifacts/{id}', `/v1/artifacts/${newId('art')}`);
    await call('get', '/v1/artifacts/{id}/content', `/v1/artifacts/${wf.artifact.id}/content`);
    await call('get', '/v1/artifacts/{id}/content', `/v1/artifacts/${ds.id}/content`);
    await call('get', '/v1/datasets/{id}/rows', `/v1/datasets/${ds.id}/rows?limit=2`);
    await call('get', '/v1/datasets/{id}/rows', `/v1/datasets/${refDs.id}/rows`);
    await call('get', '/v1/datasets/{id}/rows', `/v1/datasets/${ds.id}/rows?limit=5000`);
    await call('get', '/v1/datasets/{id}/rows', `/v1/datasets/${newId('art')}/rows`);

    // machines
    await call('get', '/v1/machines', '/v1/machines');

    // Every operation was seen answering successfully at least once.
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) {
        expect([...covered].some((c) => c.startsWith(`${method} ${path} 2`)), `${method} ${path} never answered 2xx`).toBe(true);
      }
    }
    expect(covered.size).toBeGreaterThan(50);
  });
});
