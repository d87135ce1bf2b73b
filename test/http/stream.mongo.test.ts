/**
 * The stream's resume across processes on the MongoDB adapter (FerretDB in CI): two runtimes
 * on one database, the owner committing, the other serving the stream. Skipped without
 * `MONGO_URL` (fails instead under `SYMPHAINY_REQUIRE_SERVICES=1`).
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, afterEach, expect, it } from 'vitest';
import { createMongoStores } from '../../src/persistence/mongo/index.js';
import { describeWithService } from '../services/env.js';
import { KEY_A, TENANT_A, add, nodeKit, open, range, spawnCounter, sseReader, versionOf, viewOf } from './stream.helpers.js';

describeWithService('MONGO_URL', 'actor stream on MongoDB', (url) => {
  const admin = new MongoClient(url);
  let dbName = '';
  const kit = nodeKit(async ({ historyMax }) => {
    dbName ||= `symphainy_test_${randomBytes(6).toString('hex')}`;
    return createMongoStores(url, { dbName, historyMax });
  });
  afterEach(async () => {
    await kit.closeAll();
    if (dbName) await admin.db(dbName).dropDatabase();
    dbName = '';
  });
  afterAll(async () => {
    await admin.close();
  });

  it('resumes on the non-owner after a forced disconnect, losing and repeating nothing', async () => {
    const a = await kit.node({ ownerId: 'own_a' });
    const b = await kit.node({ ownerId: 'own_b' });
    const id = await spawnCounter(a);
    const ids: number[] = [];
    const first = sseReader(await open(a.app, id));
    ids.push(Number((await first.nextEvent())?.id));
    await add(a, id, 'one');
    ids.push(Number((await first.nextEvent())?.id));
    await first.cancel();
    await add(a, id, 'two');

    const server = await kit.listen(b.app);
    const res = await fetch(`${server.url}/v1/actors/${id}/stream`, { headers: { authorization: `Bearer ${KEY_A}`, 'last-event-id': String(ids[1]) } });
    expect(res.status).toBe(200);
    const second = sseReader(res);
    const caughtUp = await versionOf(a, id);
    while (ids[ids.length - 1]! < caughtUp) ids.push(Number((await second.nextEvent())?.id));
    for (const p of ['three', 'four', 'five']) await add(a, id, p);
    await a.runtime.send(id, { type: 'FINISH' }, { tenantId: TENANT_A });
    const rest = await second.rest(10_000);
    ids.push(...rest.map((e) => Number(e.id)));
    const final = await a.runtime.inspect(id, { tenantId: TENANT_A });
    expect(ids).toEqual(range(ids[0]!, final.version));
    expect(viewOf(rest[rest.length - 1]!)).toMatchObject({ status: 'done', output: { count: 5 } });
  });

  it('starts with a reset event when the history was compacted past the id', async () => {
    const a = await kit.node({ ownerId: 'own_a', historyMax: 2 });
    const id = await spawnCounter(a);
    const from = await versionOf(a, id);
    for (const p of ['a', 'b', 'c']) await add(a, id, p);
    const now = await versionOf(a, id);
    const sse = sseReader(await open(a.app, id, { 'Last-Event-ID': String(from) }));
    expect(await sse.nextEvent()).toMatchObject({ event: 'reset', id: String(now) });
    await sse.cancel();
  });
});
