/**
 * Tenant isolation over HTTP: tenant A (alpha) cannot inspect, send to, stream, list, stop or
 * guess tenant B's (bravo) actors, contracts, artifacts, artifact content or dataset rows.
 * Every route is asserted one by one: another tenant's id answers 404 with the same body as
 * an unknown id, and B's data is unchanged afterwards. B itself reaches each one (control).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { KEY_A, KEY_B, httpHarness, problem, seedBlobArtifact, seedDataset, storeState, type HttpHarness } from './helpers.js';

let t: HttpHarness;

interface Bravo {
  exec: string;
  session: string;
  artifact: string;
  content: string;
  dataset: string;
  contract: string;
}

let b: Bravo;

async function json<T>(res: Response | Promise<Response>): Promise<T> {
  return (await (await res).json()) as T;
}

beforeEach(async () => {
  t = await httpHarness();
  const run = await json<{ id: string; output: { artifacts: { id: string }[] } }>(
    t.req('/v1/intents/profile_text?waitFor=done', { method: 'POST', key: KEY_B, body: '{"text":"bravo secret"}' }),
  );
  const session = await json<{ id: string }>(
    t.req('/v1/actors', { method: 'POST', key: KEY_B, body: '{"kind":"agentSession","input":{}}', headers: { 'idempotency-key': 'shared-key' } }),
  );
  const sent = await t.req(`/v1/actors/${session.id}/events?waitFor=tag:waiting&timeoutMs=5000`, { method: 'POST', key: KEY_B, body: '{"type":"MESSAGE","text":"hello"}', headers: { 'idempotency-key': 'bravo-send' } });
  expect(sent.status).toBe(200);
  const blob = await seedBlobArtifact(t.h, 'bravo', { field: 'xmlBlobId', text: '<definitions/>', mediaType: 'application/xml', name: 'process.bpmn' });
  const dataset = await seedDataset(t.h, 'bravo', { rowCount: 5, storedRows: 5 });
  const contract = await json<{ id: string }>(
    t.req('/v1/contracts', {
      method: 'POST',
      key: KEY_B,
      body: JSON.stringify({
        scope: { realms: ['content', 'insights', 'journey', 'outcomes'], intents: ['*'] },
        dataPolicy: { materialization: 'full', sampleRows: 10, retentionDays: 7, piiHandling: 'allow', maxBytes: 1_000_000 },
      }),
    }),
  );
  b = { exec: run.id, session: session.id, artifact: run.output.artifacts[0]?.id ?? '', content: blob.artifact.id, dataset: dataset.id, contract: contract.id };
  // Alpha has data of its own too, so "empty" lists are not empty by accident.
  await t.req('/v1/intents/profile_text?waitFor=done', { method: 'POST', body: '{"text":"alpha"}' });
});
afterEach(async () => t.cleanup());

/** A problem body with the id replaced and the per-request id dropped. */
async function normalised(res: Response, id: string): Promise<unknown> {
  const body = (await problem(res)) as unknown as Record<string, unknown>;
  delete body.requestId;
  return JSON.parse(JSON.stringify(body).split(id).join('<id>'));
}

interface Row {
  name: string;
  method: 'GET' | 'POST';
  path: (id: string) => string;
  id: (b: Bravo) => string;
  /** An id of the same shape that nobody has. */
  unknown: string;
  body?: string;
  headers?: Record<string, string>;
  /** What bravo gets for the same request. */
  control: number;
}

const ROWS: Row[] = [
  { name: 'inspect an execution', method: 'GET', path: (id) => `/v1/actors/${id}`, id: (x) => x.exec, unknown: newId('exe'), control: 200 },
  { name: 'inspect a session', method: 'GET', path: (id) => `/v1/actors/${id}`, id: (x) => x.session, unknown: newId('ses'), control: 200 },
  { name: 'read a mailbox entry', method: 'GET', path: (id) => `/v1/actors/${id}/events/1`, id: (x) => x.session, unknown: newId('ses'), control: 200 },
  { name: 'send an event', method: 'POST', path: (id) => `/v1/actors/${id}/events`, id: (x) => x.session, unknown: newId('ses'), body: '{"type":"MESSAGE","text":"from alpha"}', control: 202 },
  {
    name: 'send an event and wait',
    method: 'POST',
    path: (id) => `/v1/actors/${id}/events?waitFor=tag:waiting&timeoutMs=5000`,
    id: (x) => x.session,
    unknown: newId('ses'),
    body: '{"type":"MESSAGE","text":"again"}',
    control: 200,
  },
  {
    name: "replay bravo's idempotency key on its actor",
    method: 'POST',
    path: (id) => `/v1/actors/${id}/events?waitFor=tag:waiting`,
    id: (x) => x.session,
    unknown: newId('ses'),
    body: '{"type":"MESSAGE","text":"hello"}',
    headers: { 'idempotency-key': 'bravo-send' },
    control: 200,
  },
  { name: 'stop', method: 'POST', path: (id) => `/v1/actors/${id}/stop`, id: (x) => x.session, unknown: newId('ses'), control: 202 },
  { name: 'stop and wait', method: 'POST', path: (id) => `/v1/actors/${id}/stop?waitFor=done`, id: (x) => x.exec, unknown: newId('exe'), control: 409 },
  { name: 'get a contract', method: 'GET', path: (id) => `/v1/contracts/${id}`, id: (x) => x.contract, unknown: newId('ctr'), control: 200 },
  { name: 'get the permissive contract', method: 'GET', path: (id) => `/v1/contracts/${id}`, id: () => 'ctr_mvp_bravo', unknown: 'ctr_mvp_charlie', control: 200 },
  { name: 'revoke a contract', method: 'POST', path: (id) => `/v1/contracts/${id}/revoke`, id: (x) => x.contract, unknown: newId('ctr'), control: 200 },
  { name: 'get an artifact', method: 'GET', path: (id) => `/v1/artifacts/${id}`, id: (x) => x.artifact, unknown: newId('art'), control: 200 },
  { name: "get an artifact's content", method: 'GET', path: (id) => `/v1/artifacts/${id}/content`, id: (x) => x.content, unknown: newId('art'), control: 200 },
  { name: 'read dataset rows', method: 'GET', path: (id) => `/v1/datasets/${id}/rows`, id: (x) => x.dataset, unknown: newId('art'), control: 200 },
  { name: 'read a dataset page', method: 'GET', path: (id) => `/v1/datasets/${id}/rows?offset=2&limit=2`, id: (x) => x.dataset, unknown: newId('art'), control: 200 },
];

describe('tenant isolation matrix', () => {
  it('answers 404 with the body of an unknown id on every route, and leaves bravo unchanged', async () => {
    const rows = [...ROWS];
    if (t.app.routes.some((r) => r.path === '/v1/actors/:id/stream')) {
      rows.push({ name: 'stream', method: 'GET', path: (id) => `/v1/actors/${id}/stream`, id: (x) => x.session, unknown: newId('ses'), control: 200 });
    }
    const before = await storeState(t.h, 'bravo');
    for (const row of rows) {
      const id = row.id(b);
      const init = { method: row.method, key: KEY_A, headers: row.headers ?? {}, ...(row.body !== undefined ? { body: row.body } : {}) };
      const theirs = await t.req(row.path(id), init);
      expect(theirs.status, row.name).toBe(404);
      const unknown = await t.req(row.path(row.unknown), init);
      expect(unknown.status, row.name).toBe(404);
      expect(await normalised(theirs, id), row.name).toEqual(await normalised(unknown, row.unknown));
    }
    expect(await storeState(t.h, 'bravo')).toEqual(before);

    // Control: bravo reaches every one of them (reads first, then the writes).
    for (const row of [...rows].sort((x, y) => Number(x.method === 'POST') - Number(y.method === 'POST'))) {
      const res = await t.req(row.path(row.id(b)), { method: row.method, key: KEY_B, headers: row.headers ?? {}, ...(row.body !== undefined ? { body: row.body } : {}) });
      expect(res.status, `${row.name} as bravo`).toBe(row.control);
      await res.body?.cancel();
    }
  });

  it('lists only the caller\'s actors, artifacts and contracts, whatever the filter or cursor', async () => {
    const bravoIds = new Set([b.exec, b.session, b.artifact, b.content, b.dataset, b.contract, 'ctr_mvp_bravo']);
    const pages = [
      '/v1/actors',
      '/v1/actors?kind=agentSession',
      '/v1/actors?status=done',
      '/v1/actors?tag=waiting',
      `/v1/actors?cursor=${b.session}`,
      '/v1/artifacts',
      `/v1/artifacts?executionId=${b.exec}`,
      '/v1/artifacts?kind=dataset',
      '/v1/artifacts?kind=workflow',
      '/v1/contracts',
    ];
    for (const path of pages) {
      const res = await t.req(path);
      expect(res.status, path).toBe(200);
      const page = (await res.json()) as { items: { id: string; tenantId: string }[] };
      for (const item of page.items) {
        expect(item.tenantId, path).toBe('alpha');
        expect(bravoIds.has(item.id), path).toBe(false);
      }
    }
    expect(((await json<{ items: unknown[] }>(t.req(`/v1/artifacts?executionId=${b.exec}`))).items)).toEqual([]);
    // Control: bravo's own filters find its items.
    expect(((await json<{ items: { id: string }[] }>(t.req(`/v1/artifacts?executionId=${b.exec}`, { key: KEY_B }))).items).map((i) => i.id)).toEqual([b.artifact]);
  });

  it("cannot guess bravo's idempotency key or use its contract", async () => {
    const before = await storeState(t.h, 'bravo');
    const spawned = await t.req('/v1/actors', { method: 'POST', body: '{"kind":"agentSession","input":{}}', headers: { 'idempotency-key': 'shared-key' } });
    expect(spawned.status).toBe(202);
    const mine = (await spawned.json()) as { id: string };
    expect(mine.id).not.toBe(b.session);

    // A contract is decided inside the actor: bravo's contract id is refused exactly as an
    // id nobody has, and the execution ends rejected without touching data.
    type Rejected = { status: string; contractId: string | null; error?: { code: string; detail: string } };
    const borrowed = await json<Rejected>(t.req(`/v1/intents/profile_text?waitFor=done&contractId=${b.contract}`, { method: 'POST', body: '{"text":"x"}' }));
    const unknownId = newId('ctr');
    const unknown = await json<Rejected>(t.req(`/v1/intents/profile_text?waitFor=done&contractId=${unknownId}`, { method: 'POST', body: '{"text":"x"}' }));
    expect(borrowed).toMatchObject({ status: 'rejected', contractId: null, error: { code: 'contract-missing' } });
    expect(borrowed.error?.detail.split(b.contract).join('<id>')).toBe(unknown.error?.detail.split(unknownId).join('<id>'));
    expect(await storeState(t.h, 'bravo')).toEqual(before);
  });
});
