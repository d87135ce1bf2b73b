/**
 * `GET /v1/actors/:id/stream` (http/stream.ts): SSE of snapshot versions that resumes from
 * the stored history on any process. Runtimes run the counter machine of the cluster tests
 * (`ADD` commits one version each, `FINISH` ends it) on a fresh SQLite directory per test;
 * a second runtime on the same file stands for a second process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createApp } from '../../src/http/app.js';
import { startServer } from '../../src/main.js';
import { silentLogger } from '../../src/logger.js';
import { createSqliteStores } from '../../src/persistence/sqlite/index.js';
import {
  KEY_A,
  KEY_B,
  TENANT_A,
  add,
  nodeKit,
  open,
  range,
  settle,
  spawnCounter,
  sseReader,
  versionOf,
  viewOf,
  type SseEvent,
} from './stream.helpers.js';

let dir = '';
const kit = nodeKit(async ({ historyMax }) => {
  if (!dir) dir = mkdtempSync(join(tmpdir(), 'symphainy-stream-'));
  return createSqliteStores(dir, { historyMax });
});
const node = kit.node;
const listen = kit.listen;

afterEach(async () => {
  await kit.closeAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

async function problemOf(res: Response) {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  return (await res.json()) as { code: string; status: number; type: string };
}

describe('GET /v1/actors/:id/stream', () => {
  it('starts with the current snapshot, then sends each new version live, and closes after the final one', async () => {
    const a = await node({ ownerId: 'own_a' });
    const id = await spawnCounter(a);
    const v0 = await versionOf(a, id);
    const res = await open(a.app, id);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    const sse = sseReader(res);
    const first = await sse.nextEvent();
    expect(first).toMatchObject({ event: 'snapshot', id: String(v0) });
    expect(viewOf(first!)).toMatchObject({ id, tenantId: TENANT_A, kind: 'agentSession', status: 'waiting', version: v0 });
    await add(a, id, 'one');
    await add(a, id, 'two');
    await a.runtime.send(id, { type: 'FINISH' }, { tenantId: TENANT_A });
    const rest = await sse.rest();
    expect(rest.map((e) => Number(e.id))).toEqual(range(v0 + 1, await versionOf(a, id)));
    expect(rest.every((e) => e.event === 'snapshot' && viewOf(e).version === Number(e.id))).toBe(true);
    const last = viewOf(rest[rest.length - 1]!);
    expect(last).toMatchObject({ status: 'done', output: { count: 2 } });
  });

  it('replays the versions after Last-Event-ID from the history, then live ones, with none twice', async () => {
    const a = await node({ ownerId: 'own_a' });
    const id = await spawnCounter(a);
    const from = await versionOf(a, id);
    for (const p of ['a', 'b', 'c', 'd']) await add(a, id, p);
    const sse = sseReader(await open(a.app, id, { 'Last-Event-ID': String(from) }));
    const now = await versionOf(a, id);
    const replayed: SseEvent[] = [];
    for (let v = from + 1; v <= now; v++) replayed.push((await sse.nextEvent())!);
    expect(replayed.map((e) => Number(e.id))).toEqual(range(from + 1, now));
    // The history holds what the record held at each version.
    const stored = await a.stores.actors.history(TENANT_A, id, from, 100);
    expect(replayed.map((e) => viewOf(e).updatedAt)).toEqual(stored.entries.map((e) => e.view.updatedAt));
    await add(a, id, 'live');
    await a.runtime.send(id, { type: 'FINISH' }, { tenantId: TENANT_A });
    const live = await sse.rest();
    expect(live.map((e) => Number(e.id))).toEqual(range(now + 1, await versionOf(a, id)));
  });

  it('takes the id from ?lastEventId= too, the Last-Event-ID header winning', async () => {
    const a = await node({ ownerId: 'own_a' });
    const id = await spawnCounter(a);
    const from = await versionOf(a, id);
    for (const p of ['a', 'b']) await add(a, id, p);
    const byQuery = sseReader(await open(a.app, id, {}, KEY_A, `?lastEventId=${from}`));
    expect((await byQuery.nextEvent())?.id).toBe(String(from + 1));
    await byQuery.cancel();
    const byHeader = sseReader(await open(a.app, id, { 'Last-Event-ID': String(from + 1) }, KEY_A, `?lastEventId=${from}`));
    expect((await byHeader.nextEvent())?.id).toBe(String(from + 2));
    await byHeader.cancel();
  });

  it('resumes on a second runtime over the same SQLite file after a forced disconnect, losing and repeating nothing', async () => {
    const a = await node({ ownerId: 'own_a' });
    let reads = 0;
    let watchedId = '';
    // A non-owner learns of A's commits by polling the store: count its reads of the actor.
    const b = await node({
      ownerId: 'own_b',
      wrap: (s) => ({
        ...s,
        actors: {
          ...s.actors,
          get: async (tenantId, id) => {
            if (id === watchedId) reads++;
            return s.actors.get(tenantId, id);
          },
        },
      }),
    });
    const id = await spawnCounter(a);
    watchedId = id;
    const server = await listen(b.app);
    const ids: number[] = [];

    // First connection, over real HTTP to the owner A: read two versions, then drop it.
    const atA = await listen(a.app);
    const dropped = new AbortController();
    const first = sseReader(await fetch(`${atA.url}/v1/actors/${id}/stream`, { headers: { authorization: `Bearer ${KEY_A}` }, signal: dropped.signal }));
    ids.push(Number((await first.nextEvent())?.id));
    await add(a, id, 'one');
    ids.push(Number((await first.nextEvent())?.id));
    dropped.abort();
    // Missed while disconnected.
    await add(a, id, 'two');
    await add(a, id, 'three');

    // Reconnect, over real HTTP, to B (not the owner).
    const controller = new AbortController();
    const res = await fetch(`${server.url}/v1/actors/${id}/stream`, {
      headers: { authorization: `Bearer ${KEY_A}`, 'last-event-id': String(ids[ids.length - 1]) },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const second = sseReader(res);
    const caughtUp = await versionOf(a, id);
    while (ids[ids.length - 1]! < caughtUp) ids.push(Number((await second.nextEvent())?.id));
    // Live on B: A commits several versions between two of B's polls; B fills them from history.
    for (const p of ['four', 'five', 'six', 'seven']) await add(a, id, p);
    await a.runtime.send(id, { type: 'FINISH' }, { tenantId: TENANT_A });
    for (const e of await second.rest()) ids.push(Number(e.id));
    const final = await a.runtime.inspect(id, { tenantId: TENANT_A });
    expect(final.status).toBe('done');
    expect(ids).toEqual(range(ids[0]!, final.version));

    // A third connection, dropped over HTTP mid-stream: B stops watching the actor.
    const live = await spawnCounter(a);
    watchedId = live;
    const third = new AbortController();
    const r3 = await fetch(`${server.url}/v1/actors/${live}/stream`, { headers: { authorization: `Bearer ${KEY_A}` }, signal: third.signal });
    const s3 = sseReader(r3);
    await s3.nextEvent();
    await add(a, live, 'seen');
    await s3.nextEvent();
    third.abort();
    await settle(() => reads, 200);
    const before = reads;
    await new Promise((r) => setTimeout(r, 200));
    expect(reads).toBe(before);
    controller.abort();
  });

  it('starts with a reset event holding the current snapshot when the history was compacted past the id', async () => {
    const a = await node({ ownerId: 'own_a', historyMax: 3 });
    const id = await spawnCounter(a);
    const from = await versionOf(a, id);
    for (const p of ['a', 'b', 'c', 'd', 'e']) await add(a, id, p);
    const now = await a.runtime.inspect(id, { tenantId: TENANT_A });
    const sse = sseReader(await open(a.app, id, { 'Last-Event-ID': String(from) }));
    const reset = await sse.nextEvent();
    expect(reset).toMatchObject({ event: 'reset', id: String(now.version) });
    expect(viewOf(reset!)).toMatchObject({ id, status: 'waiting', version: now.version });
    await add(a, id, 'f');
    expect(await sse.nextEvent()).toMatchObject({ event: 'snapshot', id: String(now.version + 1) });
    await sse.cancel();
    // An id the history still holds replays normally.
    const kept = sseReader(await open(a.app, id, { 'Last-Event-ID': String(now.version - 1) }));
    expect(await kept.nextEvent()).toMatchObject({ event: 'snapshot', id: String(now.version) });
    await kept.cancel();
  });

  it('refuses an invalid Last-Event-ID with 400 last-event-id-invalid before opening, and changes nothing', async () => {
    const a = await node({ ownerId: 'own_a' });
    const id = await spawnCounter(a);
    await add(a, id, 'a');
    const before = { record: await a.stores.actors.get(TENANT_A, id), history: await a.stores.actors.history(TENANT_A, id, -1, 100) };
    const now = before.record!.version;
    for (const bad of ['abc', '-1', '1.5', '0x10', String(now + 1), '9999999999999999']) {
      const res = await open(a.app, id, { 'Last-Event-ID': bad });
      expect(res.status, bad).toBe(400);
      const body = await problemOf(res);
      expect(body).toMatchObject({ code: 'last-event-id-invalid', status: 400, type: 'urn:symphainy:problem:last-event-id-invalid' });
    }
    expect((await open(a.app, id, {}, KEY_A, '?lastEventId=x')).status).toBe(400);
    expect(await a.stores.actors.get(TENANT_A, id)).toEqual(before.record);
    expect(await a.stores.actors.history(TENANT_A, id, -1, 100)).toEqual(before.history);
  });

  it("answers 404 for another tenant's actor and an unknown one, and 401 without a key", async () => {
    const a = await node({ ownerId: 'own_a' });
    const id = await spawnCounter(a);
    const other = await open(a.app, id, {}, KEY_B);
    expect(other.status).toBe(404);
    const unknown = await open(a.app, 'age_00000000000000000000', {}, KEY_B);
    expect(unknown.status).toBe(404);
    const [o, u] = [await problemOf(other), await problemOf(unknown)];
    expect(o.code).toBe('not-found');
    expect(u.code).toBe('not-found');
    // Even with a valid id for tenant A, tenant B's id check comes before Last-Event-ID's.
    expect((await open(a.app, id, { 'Last-Event-ID': '99999' }, KEY_B)).status).toBe(404);
    expect((await open(a.app, id, {}, null)).status).toBe(401);
  });

  it('sends heartbeat comment lines while nothing changes', async () => {
    const a = await node({ ownerId: 'own_a', heartbeatMs: 30 });
    const id = await spawnCounter(a);
    const sse = sseReader(await open(a.app, id));
    expect((await sse.next())?.event?.event).toBe('snapshot');
    expect(await sse.next()).toEqual({ comment: 'heartbeat' });
    expect(await sse.next()).toEqual({ comment: 'heartbeat' });
    await sse.cancel();
  });

  it('ends every open stream when the runtime ends its watches (shutdown), and any opened after', async () => {
    const a = await node({ ownerId: 'own_a' });
    const id = await spawnCounter(a);
    const server = await listen(a.app);
    const res = await fetch(`${server.url}/v1/actors/${id}/stream`, { headers: { authorization: `Bearer ${KEY_A}` } });
    const sse = sseReader(res);
    const first = await sse.nextEvent();
    a.runtime.endWatches();
    expect(await sse.rest()).toEqual([]);
    // A stream opened while shutting down ends as soon as it caught up.
    await add(a, id, 'late');
    const again = sseReader(await open(a.app, id, { 'Last-Event-ID': String(first?.id) }));
    expect((await again.rest()).map((e) => Number(e.id))).toEqual([Number(first?.id) + 1]);
  });

  it('lets the server shut down at once with a stream open: the stream ends cleanly', async () => {
    const data = mkdtempSync(join(tmpdir(), 'symphainy-stream-serve-'));
    const server = await startServer(loadConfig({ SYMPHAINY_DATA_DIR: data, PORT: '0' }), silentLogger());
    try {
      const { id } = await server.runtime.spawn('agentSession', {}, { tenantId: 'local' });
      const sse = sseReader(await fetch(`${server.url}/v1/actors/${id}/stream`));
      expect((await sse.nextEvent())?.event).toBe('snapshot');
      const t0 = Date.now();
      await server.close();
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(await sse.rest()).toEqual([]);
    } finally {
      await server.close();
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('ends open streams when the runtime closes', async () => {
    const a = await node({ ownerId: 'own_a' });
    const id = await spawnCounter(a);
    const sse = sseReader(await open(a.app, id));
    expect((await sse.nextEvent())?.event).toBe('snapshot');
    await a.runtime.close();
    expect(await sse.rest()).toEqual([]);
  });

  it("is mounted on the edge app, behind its keys and its tenants' scope", async () => {
    const a = await node({ ownerId: 'own_a' });
    const edge = createApp({
      runtime: a.runtime,
      stores: a.stores,
      logger: silentLogger(),
      apiKeys: [
        { key: KEY_A, tenantId: TENANT_A },
        { key: KEY_B, tenantId: 'bravo' },
      ],
      localTenant: 'local',
    });
    const id = await spawnCounter(a);
    const from = await versionOf(a, id);
    await add(a, id, 'one');
    const request = (key: string | null, headers: Record<string, string> = {}) =>
      edge.request(`/v1/actors/${id}/stream`, { headers: { ...headers, ...(key ? { authorization: `Bearer ${key}` } : {}) } });
    expect((await request(null)).status).toBe(401);
    expect((await request(KEY_B)).status).toBe(404);
    expect((await request(KEY_A, { 'Last-Event-ID': 'x' })).status).toBe(400);
    const res = await request(KEY_A, { 'Last-Event-ID': String(from) });
    expect(res.headers.get('cache-control')).toBe('no-cache, no-transform');
    const sse = sseReader(res);
    expect(await sse.nextEvent()).toMatchObject({ event: 'snapshot', id: String(from + 1) });
    await a.runtime.send(id, { type: 'FINISH' }, { tenantId: TENANT_A });
    const rest = await sse.rest();
    expect(viewOf(rest[rest.length - 1]!).status).toBe('done');
  });

  it('answers 204 to a client that already holds the final version, and sends a final actor once', async () => {
    const a = await node({ ownerId: 'own_a' });
    const id = await spawnCounter(a);
    const done = (await a.runtime.send(id, { type: 'FINISH' }, { tenantId: TENANT_A, waitFor: 'done', timeoutMs: 5000 })).view;
    const caughtUp = await open(a.app, id, { 'Last-Event-ID': String(done.version) });
    expect(caughtUp.status).toBe(204);
    const fresh = sseReader(await open(a.app, id));
    const events = await fresh.rest();
    expect(events.map((e) => [e.event, e.id])).toEqual([['snapshot', String(done.version)]]);
    expect(viewOf(events[0]!).status).toBe('done');
  });
});
