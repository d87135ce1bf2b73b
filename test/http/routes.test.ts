/**
 * The routes of DESIGN.md section 8 beyond the basics: machines, artifact content, dataset
 * row pages under each materialization, filters and cursor pages, `waitFor` with timeout and
 * re-attach on intents, rate limits, the reference page and request ids.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { machineCatalog } from '../../src/machines/index.js';
import { heldIntent, registryWith } from '../actors/probes.js';
import { KEY_B, httpHarness, problem, seedBlobArtifact, seedDataset, type HttpHarness } from './helpers.js';

let t: HttpHarness | null = null;
afterEach(async () => {
  await t?.cleanup();
  t = null;
});

async function json<T>(res: Response | Promise<Response>): Promise<T> {
  return (await (await res).json()) as T;
}

describe('GET /v1/machines', () => {
  it('serves every machine definition with the catalogue id and version', async () => {
    t = await httpHarness();
    const res = await t.req('/v1/machines');
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: { kind: string; id: string; version: number; definition: { id: string; states: Record<string, unknown> }; events: { anyOf?: unknown[]; oneOf?: unknown[] } }[] };
    expect(items.map((m) => m.kind).sort()).toEqual(Object.keys(machineCatalog).sort());
    for (const m of items) {
      const def = machineCatalog[m.kind];
      expect(m.id).toBe(def?.machine.id);
      expect(m.version).toBe(def?.version);
      expect(m.definition.id).toBe(m.id);
      expect(Object.keys(m.definition.states)).toContain('contract');
      expect(JSON.stringify(m.events)).toContain('STOP');
    }
  });
});

describe('GET /v1/intents', () => {
  it('lists every registered intent with the JSON Schema of what a client sends', async () => {
    t = await httpHarness();
    const { items } = await json<{ items: { type: string; realm: string; params: { type: string; properties: Record<string, unknown>; required?: string[] } }[] }>(t.req('/v1/intents'));
    expect(items.map((i) => i.type).sort()).toEqual(t.h.runtime.intents.list().map((i) => i.type).sort());
    expect(items.find((i) => i.type === 'profile_text')).toMatchObject({ realm: 'content', params: { type: 'object', required: ['text'] } });
    for (const i of items) expect(i.params.type, i.type).toBe('object');
  });
});

describe('GET /v1/artifacts/:id/content', () => {
  it('streams the blob behind xmlBlobId and blobId with its media type, and 404s other artifacts', async () => {
    t = await httpHarness();
    const xml = '<?xml version="1.0"?><definitions id="d1"/>';
    const wf = await seedBlobArtifact(t.h, 'alpha', { field: 'xmlBlobId', text: xml, mediaType: 'application/xml', name: 'claims.bpmn' });
    const res = await t.req(`/v1/artifacts/${wf.artifact.id}/content`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/xml');
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(xml)));
    expect(res.headers.get('content-disposition')).toContain('claims.bpmn');
    expect(await res.text()).toBe(xml);

    const sql = 'CREATE TABLE t (id BIGINT);\n'.repeat(2000);
    const exp = await seedBlobArtifact(t.h, 'alpha', { field: 'blobId', text: sql, mediaType: 'application/sql', name: 'export.sql' });
    const res2 = await t.req(`/v1/artifacts/${exp.artifact.id}/content`);
    expect(res2.headers.get('content-type')).toBe('application/sql');
    expect(await res2.text()).toBe(sql);

    const run = await json<{ output: { artifacts: { id: string }[] } }>(t.req('/v1/intents/profile_text?waitFor=done', { method: 'POST', body: '{"text":"a"}' }));
    const plain = run.output.artifacts[0]?.id ?? '';
    const none = await t.req(`/v1/artifacts/${plain}/content`);
    expect(none.status).toBe(404);
    expect((await problem(none)).detail).toMatch(/no content/);
  });
});

describe('GET /v1/datasets/:id/rows', () => {
  it('pages through stored rows with nextOffset', async () => {
    t = await httpHarness();
    const ds = await seedDataset(t.h, 'alpha', { rowCount: 250, storedRows: 250 });
    const first = await json<{ items: { row: number; values: unknown[] }[]; nextOffset: number | null; columns: string[]; storedRows: number }>(t.req(`/v1/datasets/${ds.id}/rows?limit=100`));
    expect(first.columns).toEqual(['policy_no', 'premium']);
    expect(first.storedRows).toBe(250);
    expect(first.items.map((r) => r.row)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(first.items[0]?.values).toEqual(['P1', 10]);
    expect(first.nextOffset).toBe(100);
    const rows: number[] = [];
    for (let offset: number | null = 0; offset !== null; ) {
      const page: { items: { row: number }[]; nextOffset: number | null } = await json(t.req(`/v1/datasets/${ds.id}/rows?offset=${offset}&limit=70`));
      rows.push(...page.items.map((r) => r.row));
      offset = page.nextOffset;
    }
    expect(rows).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    const past = await json<{ items: unknown[]; nextOffset: number | null }>(t.req(`/v1/datasets/${ds.id}/rows?offset=400`));
    expect(past).toMatchObject({ items: [], nextOffset: null });
  });

  it('serves only the sample a sample contract kept', async () => {
    t = await httpHarness();
    const ds = await seedDataset(t.h, 'alpha', { rowCount: 1000, storedRows: 10 });
    const page = await json<{ items: unknown[]; nextOffset: number | null; rowCount: number }>(t.req(`/v1/datasets/${ds.id}/rows?limit=50`));
    expect(page.items).toHaveLength(10);
    expect(page).toMatchObject({ rowCount: 1000, nextOffset: null });
  });

  it('answers 409 materialization-insufficient for a dataset parsed under a reference contract', async () => {
    t = await httpHarness();
    const created = await json<{ id: string }>(
      t.req('/v1/contracts', {
        method: 'POST',
        body: JSON.stringify({
          scope: { realms: ['content'], intents: ['*'] },
          dataPolicy: { materialization: 'reference', sampleRows: 0, retentionDays: 7, piiHandling: 'allow', maxBytes: 1000 },
        }),
      }),
    );
    const ds = await seedDataset(t.h, 'alpha', { rowCount: 50, storedRows: 0, contractId: created.id });
    const res = await t.req(`/v1/datasets/${ds.id}/rows`);
    expect(res.status).toBe(409);
    const body = await problem(res);
    expect(body.code).toBe('materialization-insufficient');
    expect(body.detail).toContain(created.id);
  });

  it('404s an artifact that is not a dataset', async () => {
    t = await httpHarness();
    const run = await json<{ output: { artifacts: { id: string }[] } }>(t.req('/v1/intents/profile_text?waitFor=done', { method: 'POST', body: '{"text":"a"}' }));
    const res = await t.req(`/v1/datasets/${run.output.artifacts[0]?.id}/rows`);
    expect(res.status).toBe(404);
    expect((await problem(res)).code).toBe('not-found');
  });
});

describe('lists', () => {
  it('filters artifacts by solution, execution and kind and pages them by cursor', async () => {
    t = await httpHarness();
    const ids: Record<string, string[]> = { s1: [], s2: [] };
    for (const [i, solution] of ['s1', 's1', 's2', 's1', 's2'].entries()) {
      const v = await json<{ id: string }>(t.req(`/v1/intents/profile_text?waitFor=done&solutionId=${solution}`, { method: 'POST', body: JSON.stringify({ text: `run ${i}` }) }));
      ids[solution]?.push(v.id);
    }
    await seedDataset(t.h, 'alpha', { rowCount: 1, storedRows: 1 });
    const s1 = await json<{ items: { solutionId: string; lineage: { actorId: string } }[] }>(t.req('/v1/artifacts?solutionId=s1'));
    expect(s1.items.map((a) => a.lineage.actorId).sort()).toEqual([...(ids.s1 ?? [])].sort());
    const one = await json<{ items: { lineage: { actorId: string } }[] }>(t.req(`/v1/artifacts?executionId=${ids.s2?.[0]}`));
    expect(one.items.map((a) => a.lineage.actorId)).toEqual([ids.s2?.[0]]);
    const kinds = await json<{ items: { kind: string }[] }>(t.req('/v1/artifacts?kind=dataset'));
    expect(kinds.items.map((a) => a.kind)).toEqual(['dataset']);
    const seen: string[] = [];
    let pages = 0;
    for (let cursor: string | null = ''; cursor !== null; pages++) {
      const page: { items: { id: string }[]; nextCursor: string | null } = await json(t.req(`/v1/artifacts?limit=2${cursor ? `&cursor=${cursor}` : ''}`));
      seen.push(...page.items.map((a) => a.id));
      cursor = page.nextCursor;
    }
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(6);
  });

  it('pages actors by cursor, newest first, and filters by kind, status and tag', async () => {
    t = await httpHarness();
    const spawned: string[] = [];
    for (let i = 0; i < 5; i++) spawned.push((await json<{ id: string }>(t.req('/v1/actors', { method: 'POST', body: '{"kind":"agentSession","input":{}}' }))).id);
    for (const id of spawned) await t.h.runtime.waitFor(id, { tenantId: 'alpha', until: { tag: 'waiting' }, timeoutMs: 5000 });
    await t.req('/v1/intents/profile_text?waitFor=done', { method: 'POST', body: '{"text":"a"}' });
    const seen: string[] = [];
    for (let cursor: string | null = ''; cursor !== null; ) {
      const page: { items: { id: string }[]; nextCursor: string | null } = await json(t.req(`/v1/actors?kind=agentSession&limit=2${cursor ? `&cursor=${cursor}` : ''}`));
      seen.push(...page.items.map((a) => a.id));
      cursor = page.nextCursor;
    }
    expect(seen).toEqual([...spawned].reverse());
    expect((await json<{ items: unknown[] }>(t.req('/v1/actors?status=done'))).items).toHaveLength(1);
    expect((await json<{ items: unknown[] }>(t.req('/v1/actors?tag=waiting'))).items).toHaveLength(5);
  });

  it('lists the permissive contract before any api contract, then shows it superseded', async () => {
    t = await httpHarness();
    const first = await json<{ items: { id: string; issuedBy: string; expiresAt: string | null }[] }>(t.req('/v1/contracts'));
    expect(first.items).toEqual([expect.objectContaining({ id: 'ctr_mvp_alpha', issuedBy: 'permissive-mvp', expiresAt: null })]);
    const created = await t.req('/v1/contracts', {
      method: 'POST',
      body: JSON.stringify({
        scope: { realms: ['content'], intents: ['profile_text'] },
        dataPolicy: { materialization: 'sample', sampleRows: 10, retentionDays: 7, piiHandling: 'mask', maxBytes: 1000 },
      }),
    });
    expect(created.status).toBe(201);
    const after = await json<{ items: { issuedBy: string; expiresAt: string | null }[] }>(t.req('/v1/contracts'));
    expect(after.items).toHaveLength(2);
    expect(after.items.find((c) => c.issuedBy === 'permissive-mvp')?.expiresAt).not.toBeNull();
    expect(after.items.find((c) => c.issuedBy === 'api')?.expiresAt).toBeNull();
  });
});

describe('waitFor on intents', () => {
  it('answers 408 with the actor id, and a retry with the same key re-attaches instead of spawning again', async () => {
    const held = heldIntent();
    t = await httpHarness({}, { intents: registryWith([held.intent]) });
    const init = { method: 'POST', body: '{"label":"slow"}', headers: { 'idempotency-key': 'w1' } };
    const first = await t.req('/v1/intents/held_work?waitFor=done&timeoutMs=50', init);
    expect(first.status).toBe(408);
    const timeout = (await problem(first)) as unknown as { code: string; actorId: string };
    expect(timeout.code).toBe('wait-timeout');
    const again = await t.req('/v1/intents/held_work?waitFor=done&timeoutMs=50', init);
    expect(again.status).toBe(408);
    expect(((await problem(again)) as unknown as { actorId: string }).actorId).toBe(timeout.actorId);
    held.work.release();
    const done = await t.req('/v1/intents/held_work?waitFor=done&timeoutMs=5000', init);
    expect(done.status).toBe(200);
    const view = (await done.json()) as { id: string; status: string };
    expect(view).toMatchObject({ id: timeout.actorId, status: 'done' });
    expect(held.work.calls).toBe(1);
    expect((await t.h.stores.actors.list({ tenantId: 'alpha', limit: 10 })).items).toHaveLength(1);
  });

  it('answers 202 without waitFor and with waitFor=applied, 200 with waitFor=tag', async () => {
    const held = heldIntent();
    t = await httpHarness({}, { intents: registryWith([held.intent]) });
    const plain = await t.req('/v1/intents/held_work', { method: 'POST', body: '{"label":"a"}' });
    expect(plain.status).toBe(202);
    expect(await plain.json()).toMatchObject({ kind: 'execution', status: 'running' });
    expect((await t.req('/v1/intents/held_work?waitFor=applied', { method: 'POST', body: '{"label":"b"}' })).status).toBe(202);
    held.work.release();
    const tagged = await t.req('/v1/intents/profile_text?waitFor=tag:final&timeoutMs=5000', { method: 'POST', body: '{"text":"a"}' });
    expect(tagged.status).toBe(200);
    expect(((await tagged.json()) as { status: string }).status).toBe('done');
  });
});

describe('rate limits', () => {
  it('answers 429 rate-limited with Retry-After once a tenant spent its burst, per tenant', async () => {
    let now = 0;
    t = await httpHarness({ rateLimit: { perSecond: 2, burst: 3, now: () => now } });
    for (let i = 0; i < 3; i++) expect((await t.req('/v1/actors')).status).toBe(200);
    const limited = await t.req('/v1/actors');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect((await problem(limited)).code).toBe('rate-limited');
    // Another tenant has its own bucket; health needs no budget.
    expect((await t.req('/v1/actors', { key: KEY_B })).status).toBe(200);
    expect((await t.req('/healthz', { key: null })).status).toBe(200);
    now += 500;
    expect((await t.req('/v1/actors')).status).toBe(200);
    expect((await t.req('/v1/actors')).status).toBe(429);
    now += 10_000;
    for (let i = 0; i < 3; i++) expect((await t.req('/v1/actors')).status).toBe(200);
    expect((await t.req('/v1/actors')).status).toBe(429);
  });
});

describe('SYMPHAINY_RATE_LIMIT', () => {
  it('reads <per second>[:<burst>] or off, and refuses anything else at boot', () => {
    const limit = (v?: string) => loadConfig({ ...(v === undefined ? {} : { SYMPHAINY_RATE_LIMIT: v }) }).http.rateLimit;
    expect(limit()).toEqual({ perSecond: 1000, burst: 2000 });
    expect(limit('50')).toEqual({ perSecond: 50, burst: 50 });
    expect(limit('0.5:3')).toEqual({ perSecond: 0.5, burst: 3 });
    expect(limit('off')).toBeNull();
    for (const bad of ['fast', '10:0', '-1', '10:x']) expect(() => limit(bad), bad).toThrow(/SYMPHAINY_RATE_LIMIT/);
  });
});

describe('edge details', () => {
  it('serves an HTML reference of every operation without a key', async () => {
    t = await httpHarness();
    const doc = await json<{ paths: Record<string, Record<string, { operationId: string }>> }>(t.req('/v1/openapi.json', { key: null }));
    const res = await t.req('/v1/docs', { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const op of Object.values(item)) expect(html, path).toContain(`id="${op.operationId}"`);
    }
    expect(html).not.toMatch(/<script/i);
  });

  it('gives every answer a request id, echoed in problems', async () => {
    t = await httpHarness();
    const ok = await t.req('/v1/actors');
    expect(ok.headers.get('x-request-id')).toMatch(/.{8,}/);
    const res = await t.req('/v1/actors/nope', { headers: { 'x-request-id': 'client-chosen-id-1' } });
    expect(res.headers.get('x-request-id')).toBe('client-chosen-id-1');
    expect(((await problem(res)) as unknown as { requestId: string }).requestId).toBe('client-chosen-id-1');
  });
});
