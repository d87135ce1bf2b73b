/**
 * MongoDB only: the 16 MB guard (issue 4). MongoDB refuses a document over 16 MiB; FerretDB
 * v1 does not (measured: it stores 16 MiB + 1 byte and 16.5 MiB alike), and the driver's
 * serialiser throws a bare `RangeError` past 17 MiB. So the adapter refuses a document over
 * `MAX_DOCUMENT_BYTES` (16 MiB - 64 KiB) itself, with `document-too-large`, before anything
 * is written, and the limit is the same on both servers.
 *
 * Each case finds the exact stored size by the problem's `bytes` (the stored form wraps the
 * payload in JSON text and indexed fields), then writes one byte over the limit (refused,
 * nothing kept) and exactly at it (stored on the server, read back whole).
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { AppError, isAppError } from '../../src/errors.js';
import { newId } from '../../src/ids.js';
import { MAX_DOCUMENT_BYTES } from '../../src/persistence/mongo/guard.js';
import { createMongoStores } from '../../src/persistence/mongo/index.js';
import type { Artifact, RecordRow, Stores } from '../../src/persistence/ports.js';
import { describeWithService } from '../services/env.js';

/** The `document-too-large` problem `promise` rejects with. */
async function refusal(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (e) {
    if (isAppError(e, 'document-too-large')) return e;
    throw e;
  }
  throw new Error('the write was not refused');
}

/**
 * The payload length that makes the stored document exactly `MAX_DOCUMENT_BYTES`, given a
 * writer of a payload of `n` one-byte characters (the stored size grows by one per character).
 */
async function exactLength(write: (n: number) => Promise<unknown>): Promise<number> {
  const e = await refusal(write(MAX_DOCUMENT_BYTES));
  expect(e.extras.limitBytes).toBe(MAX_DOCUMENT_BYTES);
  const bytes = e.extras.bytes;
  if (typeof bytes !== 'number') throw new Error('document-too-large carries no byte count');
  return MAX_DOCUMENT_BYTES - (bytes - MAX_DOCUMENT_BYTES);
}

describeWithService('MONGO_URL', 'MongoDB 16 MB guard', (url) => {
  const admin = new MongoClient(url);
  let stores: Stores;
  let dbName: string;
  const tenantId = 'ten-guard';

  beforeEach(async () => {
    dbName = `symphainy_guard_${randomBytes(6).toString('hex')}`;
    stores = await createMongoStores(url, { dbName });
  });
  afterEach(async () => {
    await stores.close();
    await admin.db(dbName).dropDatabase();
  });
  afterAll(async () => {
    await admin.close();
  });

  const artifact = (id: string, bodyLength: number): Artifact => ({
    id,
    tenantId,
    solutionId: 'sol_guard',
    kind: 'dataset',
    createdAt: new Date().toISOString(),
    body: { text: 'x'.repeat(bodyLength) },
    lineage: {
      actorId: 'exe_guard',
      actorKind: 'execution',
      intent: 'parse_content',
      inputs: [],
      fileIds: [],
      contractId: 'ctr_guard',
      decisionIds: [],
    },
  });

  const chunk = (length: number): RecordRow[] => [{ row: 1, line: 2, values: ['x'.repeat(length), 1, true, null] }];

  it('refuses an artifact one byte over the limit with document-too-large and writes nothing', async () => {
    const id = newId('art');
    const n = await exactLength((len) => stores.artifacts.put(artifact(id, len)));
    const e = await refusal(stores.artifacts.put(artifact(id, n + 1)));
    expect(e.extras.bytes).toBe(MAX_DOCUMENT_BYTES + 1);
    expect(await stores.artifacts.get(tenantId, id)).toBeNull();
    expect(await stores.artifacts.countByActor(tenantId, 'exe_guard')).toBe(0);
  });

  it('stores an artifact exactly at the limit and reads it back whole', async () => {
    const id = newId('art');
    const n = await exactLength((len) => stores.artifacts.put(artifact(id, len)));
    const a = artifact(id, n);
    expect(await stores.artifacts.put(a)).toBe(true);
    expect(await stores.artifacts.get(tenantId, id)).toEqual(a);
  });

  it('refuses a record chunk one byte over the limit with document-too-large and writes nothing', async () => {
    const datasetId = newId('dst');
    const n = await exactLength((len) => stores.records.putChunk(tenantId, datasetId, 0, chunk(len)));
    const e = await refusal(stores.records.putChunk(tenantId, datasetId, 0, chunk(n + 1)));
    expect(e.extras.bytes).toBe(MAX_DOCUMENT_BYTES + 1);
    expect(await stores.records.getChunk(tenantId, datasetId, 0)).toBeNull();
    expect(await stores.records.rows(tenantId, datasetId, 0, 10)).toEqual([]);
  });

  it('stores a record chunk exactly at the limit and reads it back whole', async () => {
    const datasetId = newId('dst');
    const n = await exactLength((len) => stores.records.putChunk(tenantId, datasetId, 0, chunk(len)));
    await stores.records.putChunk(tenantId, datasetId, 0, chunk(n));
    expect(await stores.records.getChunk(tenantId, datasetId, 0)).toEqual(chunk(n));
  });

  it('keeps an earlier chunk when its oversized replacement is refused', async () => {
    const datasetId = newId('dst');
    await stores.records.putChunk(tenantId, datasetId, 0, chunk(10));
    await refusal(stores.records.putChunk(tenantId, datasetId, 0, chunk(MAX_DOCUMENT_BYTES)));
    expect(await stores.records.getChunk(tenantId, datasetId, 0)).toEqual(chunk(10));
  });
});
