/**
 * MongoDB only: fencing of artifact and record-chunk writes without transactions
 * (`underFence` in `src/persistence/mongo/guard.ts`). The contract suite covers a fence that
 * holds and one that is already stale; these cases cover what only a race between a former
 * and a new owner reaches, and every query shape the fencing uses (the lease read, the
 * newer-lease condition on a chunk upsert, the older-lease replacement of an artifact, the
 * undo filters), so a server that answered one of them wrongly would fail here.
 */
import { expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { newId } from '../../src/ids.js';
import { createMongoActorStore } from '../../src/persistence/mongo/actorStore.js';
import { underFence, writerMark, writtenUnder } from '../../src/persistence/mongo/guard.js';
import { createMongoStores } from '../../src/persistence/mongo/index.js';
import type { ActorRecord, Artifact, Fence, RecordRow } from '../../src/persistence/ports.js';
import { describeWithService } from '../services/env.js';
import { actorRecord, commitPatch } from './fixtures/actorRecord.js';
import { freshMongo } from './fixtures/freshMongo.js';

const MINUTE = 60_000;

async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    return isAppError(e) ? e.code : `not an AppError: ${String(e)}`;
  }
  return 'resolved';
}

describeWithService('MONGO_URL', 'MongoDB fencing', (url) => {
  const mongo = freshMongo(url, 'fence');
  const tenantId = 'ten-fence';
  const former = 'own-former';
  const current = 'own-current';


  /** An actor held by `former` at epoch 2. */
  async function heldActor(): Promise<ActorRecord> {
    const record = actorRecord(tenantId, { ownerId: former, leaseUntil: Date.now() + MINUTE, epoch: 2 });
    await mongo.stores.actors.create(record);
    return record;
  }

  /** `current` takes the actor over once its lease lapsed; its fence (epoch 3). */
  async function takeOver(actorId: string): Promise<Fence> {
    const claimed = await mongo.stores.actors.claim(current, Date.now() + 2 * MINUTE, MINUTE, 10);
    expect(claimed.map((r) => [r.id, r.epoch])).toEqual([[actorId, 3]]);
    return { actorId, ownerId: current, epoch: 3 };
  }

  const artifactOf = (actorId: string, id: string, body: unknown): Artifact => ({
    id,
    tenantId,
    solutionId: 'sol_fence',
    kind: 'dataset',
    createdAt: new Date().toISOString(),
    body,
    lineage: { actorId, actorKind: 'execution', intent: 'parse_content', inputs: [], fileIds: [], contractId: 'ctr_x', decisionIds: [] },
  });

  const rows = (text: string): RecordRow[] => [{ row: 1, values: [text] }];

  it('lets the new owner replace an artifact written under the former lease, and refuses the former owner', async () => {
    const actor = await heldActor();
    const stale: Fence = { actorId: actor.id, ownerId: former, epoch: 2 };
    const id = newId('art');
    expect(await mongo.stores.artifacts.put(artifactOf(actor.id, id, { by: 'former' }), stale)).toBe(true);
    const fence = await takeOver(actor.id);

    expect(await mongo.stores.artifacts.put(artifactOf(actor.id, id, { by: 'current' }), fence)).toBe(true);
    expect((await mongo.stores.artifacts.get(tenantId, id))?.body).toEqual({ by: 'current' });
    expect(await mongo.stores.artifacts.put(artifactOf(actor.id, id, { by: 'current again' }), fence)).toBe(false);
    expect(await rejection(mongo.stores.artifacts.put(artifactOf(actor.id, id, { by: 'former again' }), stale))).toBe('lease-lost');
    expect(await mongo.stores.artifacts.put(artifactOf(actor.id, id, { by: 'unfenced' }))).toBe(false);
    expect((await mongo.stores.artifacts.get(tenantId, id))?.body).toEqual({ by: 'current' });
    expect(await mongo.stores.artifacts.countByActor(tenantId, actor.id)).toBe(1);
  });

  it('lets the new owner replace a chunk written under the former lease', async () => {
    const actor = await heldActor();
    const datasetId = newId('dst');
    await mongo.stores.records.putChunk(tenantId, datasetId, 0, rows('former'), { actorId: actor.id, ownerId: former, epoch: 2 });
    const fence = await takeOver(actor.id);
    await mongo.stores.records.putChunk(tenantId, datasetId, 0, rows('current'), fence);
    expect(await mongo.stores.records.getChunk(tenantId, datasetId, 0)).toEqual(rows('current'));
  });

  it('keeps a chunk written under a newer lease when an older lease’s write gets past the lease check', async () => {
    const actor = await heldActor();
    const datasetId = newId('dst');
    // What a takeover racing this write would leave: the chunk already written at epoch 3,
    // while the lease the writer checks still shows epoch 2.
    await mongo.db.collection('record_chunks').insertOne({
      tenantId,
      datasetId,
      chunkNo: 0,
      firstRow: 1,
      lastRow: 1,
      records: JSON.stringify(rows('newer')),
      writer: { actorId: actor.id, ownerId: current, epoch: 3 },
    });
    const fence: Fence = { actorId: actor.id, ownerId: former, epoch: 2 };
    expect(await rejection(mongo.stores.records.putChunk(tenantId, datasetId, 0, rows('older'), fence))).toBe('lease-lost');
    expect(await mongo.stores.records.getChunk(tenantId, datasetId, 0)).toEqual(rows('newer'));
    // Another actor's lease, or none, does not order against it: those writes replace it.
    await mongo.stores.records.putChunk(tenantId, datasetId, 0, rows('unfenced'));
    expect(await mongo.stores.records.getChunk(tenantId, datasetId, 0)).toEqual(rows('unfenced'));
  });

  it('undoes a write and refuses it when the lease moves while the write lands', async () => {
    const actor = await heldActor();
    const fence: Fence = { actorId: actor.id, ownerId: former, epoch: 2 };
    const undone: string[] = [];
    const outcome = underFence(
      mongo.db,
      fence,
      async () => {
        await takeOver(actor.id);
        return 'written';
      },
      async (result) => undone.push(result),
    );
    expect(await rejection(outcome)).toBe('lease-lost');
    expect(undone).toEqual(['written']);
  });

  it('matches exactly the writer’s own documents by their mark', async () => {
    const actor = await heldActor();
    const fence: Fence = { actorId: actor.id, ownerId: former, epoch: 2 };
    const mark = writerMark(fence);
    const id = newId('art');
    await mongo.stores.artifacts.put(artifactOf(actor.id, id, { n: 1 }), fence);
    const datasetId = newId('dst');
    await mongo.stores.records.putChunk(tenantId, datasetId, 0, rows('x'), fence);
    for (const other of [{ ...mark, epoch: 3 }, { ...mark, ownerId: current }, { ...mark, actorId: newId('exe') }]) {
      expect(await mongo.db.collection<{ _id: string }>('artifacts').countDocuments({ _id: id, ...writtenUnder(other) })).toBe(0);
      expect(await mongo.db.collection('record_chunks').countDocuments({ tenantId, datasetId, chunkNo: 0, ...writtenUnder(other) })).toBe(0);
    }
    expect(await mongo.db.collection<{ _id: string }>('artifacts').countDocuments({ _id: id, ...writtenUnder(mark) })).toBe(1);
    expect(await mongo.db.collection('record_chunks').countDocuments({ tenantId, datasetId, chunkNo: 0, ...writtenUnder(mark) })).toBe(1);
  });

  const actorDoc = (actorId: string) => mongo.db.collection<{ _id: string; ownerId: string | null; epoch: number; version: number; b: string }>('actors').findOne({ _id: actorId });

  /** The actor document's body (what a commit writes besides the queried fields) with `value`, as a commit would write it. */
  async function bodyWith(actorId: string, value: string): Promise<string> {
    return JSON.stringify({ ...(JSON.parse((await actorDoc(actorId))?.b ?? '{}') as object), value });
  }

  /** The former owner's commit write (its compare-and-set on version, owner and epoch), as it reaches the server. */
  async function formerWrite(actorId: string, expectedVersion: number, value: string): Promise<number> {
    const b = await bodyWith(actorId, value);
    const res = await mongo.db
      .collection<{ _id: string }>('actors')
      .updateOne({ _id: actorId, version: expectedVersion, ownerId: former, epoch: 2, final: false }, { $set: { b }, $inc: { version: 1 } });
    return res.modifiedCount;
  }
  const patch = commitPatch('v');

  /** The actor document once a takeover's write of `epoch` shows in it (polled), or as it is after a second. */
  async function untilEpoch(actorId: string, epoch: number) {
    let seen = await actorDoc(actorId);
    for (let i = 0; i < 200 && seen?.epoch !== epoch; i++) {
      await new Promise((r) => setTimeout(r, 5));
      seen = await actorDoc(actorId);
    }
    return seen;
  }

  it('refuses a former owner’s commit once the takeover wrote the new owner and epoch', async () => {
    const actor = await heldActor();
    await takeOver(actor.id);
    expect(await rejection(mongo.stores.actors.commit(actor.id, { ownerId: former, epoch: 2 }, 0, { ...patch, value: 'former' }))).toBe('lease-lost');
    expect(await formerWrite(actor.id, 0, 'late')).toBe(0);
    expect(await actorDoc(actor.id)).toMatchObject({ ownerId: current, epoch: 3, version: 0 });
    expect(await mongo.stores.actors.commit(actor.id, { ownerId: current, epoch: 3 }, 0, { ...patch, value: 'current' })).toBe(1);
    expect(await mongo.stores.actors.get(tenantId, actor.id)).toMatchObject({ version: 1, value: 'current', ownerId: current, epoch: 3 });
  });

  /**
   * Runs a takeover of `actorId` by `current` (epoch 3) through a store that waits 400 ms
   * before reading its write back, and runs `meanwhile` once that write shows; resolves with
   * what the claim handed over.
   */
  async function whileTakeoverWaits(actorId: string, meanwhile: () => Promise<unknown>): Promise<ActorRecord[]> {
    const slow = await createMongoStores(url, { dbName: mongo.dbName, takeoverSettleMs: 400 });
    try {
      const claiming = slow.actors.claim(current, Date.now() + 2 * MINUTE, MINUTE, 10);
      expect(await untilEpoch(actorId, 3)).toMatchObject({ ownerId: current, epoch: 3, version: 0 });
      await meanwhile();
      return await claiming;
    } finally {
      await slow.close();
    }
  }

  it('continues from a former owner’s commit that the server wrote back over the takeover’s write', async () => {
    // A server whose updates are not atomic (FerretDB v1) may have read the document for the
    // former owner's compare-and-set just before the takeover's write, and write it back just
    // after: the former owner's document at version 1, its own epoch. Done here by hand while
    // the takeover waits to read its write back.
    const actor = await heldActor();
    const claimed = await whileTakeoverWaits(actor.id, async () =>
      mongo.db
        .collection<{ _id: string }>('actors')
        .updateOne({ _id: actor.id }, { $set: { ownerId: former, epoch: 2, b: await bodyWith(actor.id, 'former') }, $inc: { version: 1 } }),
    );
    expect(claimed).toHaveLength(1);
    expect(claimed[0]).toMatchObject({ id: actor.id, ownerId: current, epoch: 3, version: 1, value: 'former' });
    expect(await actorDoc(actor.id)).toMatchObject({ ownerId: current, epoch: 3, version: 1 });
    // The former owner is fenced from here on; the new one continues from the former's commit.
    expect(await rejection(mongo.stores.actors.commit(actor.id, { ownerId: former, epoch: 2 }, 1, patch))).toBe('lease-lost');
    expect(await formerWrite(actor.id, 1, 'late')).toBe(0);
    expect(await mongo.stores.actors.commit(actor.id, { ownerId: current, epoch: 3 }, 1, { ...patch, value: 'current' })).toBe(2);
    expect(await mongo.stores.actors.get(tenantId, actor.id)).toMatchObject({ version: 2, value: 'current', ownerId: current, epoch: 3 });
  });

  it('hands no actor to a takeover that a later epoch overtook while it waited', async () => {
    const actor = await heldActor();
    const claimed = await whileTakeoverWaits(actor.id, () =>
      mongo.db.collection<{ _id: string }>('actors').updateOne({ _id: actor.id }, { $set: { ownerId: 'own-later', epoch: 4 } }),
    );
    expect(claimed).toEqual([]);
    expect(await actorDoc(actor.id)).toMatchObject({ ownerId: 'own-later', epoch: 4 });
  });

  it('claims the next epoch when a claim older than a lease never reached the lease document', async () => {
    const actor = await heldActor();
    // Epoch 3 was claimed long ago, but its lease write was lost (a concurrent renewal of the
    // former owner rewrote the document): the lease still shows epoch 2, expired.
    await mongo.db.collection<{ _id: string; ownerId: string; at: number }>('claims').insertOne({ _id: `${actor.id}:3`, ownerId: 'own-lost', at: Date.now() - 5 * MINUTE });
    const claimed = await mongo.stores.actors.claim(current, Date.now() + 2 * MINUTE, MINUTE, 10);
    expect(claimed).toMatchObject([{ id: actor.id, ownerId: current, epoch: 4 }]);
    // A claim of the same epoch made within a lease is a concurrent takeover: left to it.
    const other = await heldActor();
    await mongo.db.collection<{ _id: string; ownerId: string; at: number }>('claims').insertOne({ _id: `${other.id}:3`, ownerId: 'own-racing', at: Date.now() + 2 * MINUTE });
    expect(await mongo.stores.actors.claim(current, Date.now() + 2 * MINUTE, MINUTE, 10)).toEqual([]);
  });

  it('refuses writes under a lease given up at a clean shutdown', async () => {
    const actor = await heldActor();
    const fence: Fence = { actorId: actor.id, ownerId: former, epoch: 2 };
    await mongo.stores.actors.release(former, [actor.id]);
    expect(await rejection(mongo.stores.artifacts.put(artifactOf(actor.id, newId('art'), {}), fence))).toBe('lease-lost');
    expect(await rejection(mongo.stores.records.putChunk(tenantId, newId('dst'), 0, rows('x'), fence))).toBe('lease-lost');
  });

  it('deletes the lease of an actor that ended, refusing its fenced writes, and repairs a lease a crash left behind', async () => {
    const leases = mongo.db.collection<{ _id: string; ownerId: string | null; epoch: number; leaseUntil: number; final: boolean }>('leases');
    const ended = await heldActor();
    const fence: Fence = { actorId: ended.id, ownerId: former, epoch: 2 };
    expect(await mongo.stores.actors.commit(ended.id, { ownerId: former, epoch: 2 }, 0, commitPatch('done', { status: 'done' }))).toBe(1);
    // The commit is answered before its lease is deleted; this process's fenced writes and
    // renewals wait for the deletion.
    expect(await rejection(mongo.stores.artifacts.put(artifactOf(ended.id, newId('art'), {}), fence))).toBe('lease-lost');
    expect(await rejection(mongo.stores.records.putChunk(tenantId, newId('dst'), 0, rows('x'), fence))).toBe('lease-lost');
    expect(await mongo.stores.actors.renew(former, [{ id: ended.id, epoch: 2 }], Date.now() + 2 * MINUTE)).toEqual([ended.id]);
    expect(await leases.findOne({ _id: ended.id })).toBeNull();

    // The process died between the final commit and the deletion: its lease runs out, and
    // the claim that finds the actor final deletes it instead of taking the actor over.
    const crashed = await heldActor();
    expect(await mongo.stores.actors.commit(crashed.id, { ownerId: former, epoch: 2 }, 0, commitPatch('done', { status: 'done' }))).toBe(1);
    expect(await mongo.stores.actors.renew(former, [{ id: crashed.id, epoch: 2 }], Date.now() + MINUTE)).toEqual([crashed.id]);
    await leases.insertOne({ _id: crashed.id, ownerId: former, epoch: 2, leaseUntil: Date.now() + MINUTE, final: false });
    expect(await mongo.stores.actors.claim(current, Date.now() + 2 * MINUTE, MINUTE, 10)).toEqual([]);
    expect(await leases.findOne({ _id: crashed.id })).toBeNull();
    expect(await mongo.stores.actors.get(tenantId, crashed.id)).toMatchObject({ status: 'done', ownerId: null, version: 1 });
    expect(await mongo.stores.actors.claim(current, Date.now() + 4 * MINUTE, MINUTE, 10)).toEqual([]);
  });

  it('gives an actor that ended no lease again when its spawn is replayed', async () => {
    const leases = mongo.db.collection<{ _id: string }>('leases');
    const record = actorRecord(tenantId, { ownerId: former, leaseUntil: Date.now() + MINUTE, epoch: 1 });
    const claim = { key: `spawn-${record.id}`, requestHash: 'h-spawn', nowMs: Date.now(), expiresAt: Date.now() + 10 * MINUTE };
    expect(await mongo.stores.actors.create(record, claim)).toEqual({ fresh: true, value: record.id });
    expect(await mongo.stores.actors.commit(record.id, { ownerId: former, epoch: 1 }, 0, commitPatch('done', { status: 'done' }))).toBe(1);
    await mongo.stores.actors.renew(former, [{ id: record.id, epoch: 1 }], Date.now() + MINUTE);
    expect(await leases.findOne({ _id: record.id })).toBeNull();
    const replay = { ...actorRecord(tenantId, { ownerId: current, leaseUntil: Date.now() + MINUTE, epoch: 1 }) };
    expect(await mongo.stores.actors.create(replay, claim)).toEqual({ fresh: false, value: record.id, requestHash: 'h-spawn' });
    expect(await leases.findOne({ _id: record.id })).toBeNull();
    expect(await mongo.stores.actors.get(tenantId, replay.id)).toBeNull();
    expect(await rejection(mongo.stores.artifacts.put(artifactOf(record.id, newId('art'), {}), { actorId: record.id, ownerId: former, epoch: 1 }))).toBe('lease-lost');
  });

  /**
   * An actor store on the test's database whose `insertOne` into `collection` fails `failures`
   * times, each after `delayMs`.
   */
  function storeWithInsert(collection: 'leases' | 'actors', failures: number, delayMs = 0) {
    const db = new Proxy(mongo.db, {
      get(t, prop) {
        if (prop === 'collection') {
          return (name: string) => {
            const c = t.collection(name);
            if (name !== collection) return c;
            return new Proxy(c, {
              get(target, key) {
                const v = Reflect.get(target, key, target) as unknown;
                if (key === 'insertOne') {
                  return async (...args: unknown[]) => {
                    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
                    if (failures-- > 0) throw new Error(`injected: ${collection} insert failed`);
                    return (v as (...a: unknown[]) => unknown).apply(target, args);
                  };
                }
                return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
              },
            });
          };
        }
        const v = Reflect.get(t, prop, t) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
    return createMongoActorStore(db);
  }

  const stored = async (collection: 'actors' | 'leases', id: string) => mongo.db.collection(collection).countDocuments({ _id: id as never });

  it('takes back the lease of a spawn whose actor insert failed, and keeps an actor whose lease insert failed', async () => {
    const failed = actorRecord(tenantId, { ownerId: former, leaseUntil: Date.now() + MINUTE, epoch: 1 });
    await expect(storeWithInsert('actors', 1).create(failed)).rejects.toThrow('injected: actors insert failed');
    expect([await stored('actors', failed.id), await stored('leases', failed.id)]).toEqual([0, 0]);

    // The lease is tried once more: a spawn survives one failure of it.
    const retried = actorRecord(tenantId, { ownerId: former, leaseUntil: Date.now() + MINUTE, epoch: 1 });
    expect(await storeWithInsert('leases', 1).create(retried)).toEqual({ fresh: true, value: retried.id });
    expect([await stored('actors', retried.id), await stored('leases', retried.id)]).toEqual([1, 1]);

    // Two failures: the spawn fails, the actor stays (a replay may have answered it) and is
    // given a lease by the claims once it is older than a lease.
    const kept = actorRecord(tenantId, { ownerId: former, leaseUntil: Date.now() + MINUTE, epoch: 1 });
    await expect(storeWithInsert('leases', 2).create(kept)).rejects.toThrow('injected: leases insert failed');
    expect([await stored('actors', kept.id), await stored('leases', kept.id)]).toEqual([1, 0]);
    expect(await mongo.stores.actors.claim(current, Date.now() + MINUTE / 2, MINUTE, 10)).toEqual([]);
    const claimed = await mongo.stores.actors.claim(current, Date.now() + 2 * MINUTE, MINUTE, 10);
    expect(claimed.map((r) => [r.id, r.epoch]).sort()).toEqual([[kept.id, 2], [retried.id, 2]].sort());
  });

  it('fails a spawn whose actor was stored after a claim took its lease, and leaves the actor to the claims', async () => {
    const leaseMs = 400;
    const now = Date.now();
    const record = actorRecord(tenantId, { ownerId: former, leaseUntil: now + leaseMs, epoch: 1, createdAt: new Date(now).toISOString() });
    const outcome = rejection(storeWithInsert('actors', 0, leaseMs).create(record));
    await new Promise((resolve) => setTimeout(resolve, leaseMs / 2));
    // The lease ran out before the actor was there: the claim takes the lease and finds nothing.
    expect(await mongo.stores.actors.claim(current, now + leaseMs + 1, leaseMs, 10)).toEqual([]);
    expect(await outcome).toBe('lease-lost');
    expect(await stored('actors', record.id)).toBe(1);
    const claimed = await mongo.stores.actors.claim(current, Date.now() + 3 * leaseMs, leaseMs, 10);
    expect(claimed.map((r) => [r.id, r.ownerId, r.epoch])).toEqual([[record.id, current, 3]]);
  });

  it('takes over an actor whose spawn died between the inserts of its lease and its document', async () => {
    const leases = mongo.db.collection<{ _id: string }>('leases');
    const now = Date.now();
    const orphan = actorRecord(tenantId, { ownerId: former, leaseUntil: now + MINUTE, epoch: 1, createdAt: new Date(now).toISOString() });
    const held = actorRecord(tenantId, { ownerId: former, leaseUntil: now + 10 * MINUTE, epoch: 1, createdAt: new Date(now).toISOString() });
    await mongo.stores.actors.create(orphan);
    await mongo.stores.actors.create(held);
    await leases.deleteOne({ _id: orphan.id });
    // Younger than a lease: its spawn may still be writing the lease.
    expect(await mongo.stores.actors.claim(current, now + MINUTE / 2, MINUTE, 10)).toEqual([]);
    expect(await leases.findOne({ _id: orphan.id })).toBeNull();
    // Older: it gets an expired lease in its first owner's name, and the claim takes it over.
    const claimed = await mongo.stores.actors.claim(current, now + 2 * MINUTE, MINUTE, 10);
    expect(claimed.map((r) => [r.id, r.ownerId, r.epoch])).toEqual([[orphan.id, current, 2]]);
    expect(await rejection(mongo.stores.actors.commit(orphan.id, { ownerId: former, epoch: 1 }, 0, commitPatch('stalled')))).toBe('lease-lost');
    expect(await mongo.stores.actors.commit(orphan.id, { ownerId: current, epoch: 2 }, 0, commitPatch('continued'))).toBe(1);
    expect(await mongo.stores.actors.get(tenantId, held.id)).toMatchObject({ ownerId: former, epoch: 1 });
  });

  it('deletes a lease whose actor was never stored when a second claim finds it so', async () => {
    const leases = mongo.db.collection<{ _id: string; ownerId: string | null; epoch: number; leaseUntil: number; final: boolean }>('leases');
    const id = newId('exe');
    await leases.insertOne({ _id: id, ownerId: former, epoch: 1, leaseUntil: Date.now(), final: false });
    expect(await mongo.stores.actors.claim(current, Date.now() + MINUTE, MINUTE, 10)).toEqual([]);
    // The first claim keeps it (the actor's insert may still land), taken at the next epoch.
    expect(await leases.findOne({ _id: id }, { projection: { _id: 0, ownerId: 1, epoch: 1 } })).toEqual({ ownerId: current, epoch: 2 });
    expect(await mongo.stores.actors.claim(current, Date.now() + 3 * MINUTE, MINUTE, 10)).toEqual([]);
    expect(await leases.findOne({ _id: id })).toBeNull();
  });

  /** An actor spawned by `former` with an idempotency key, its lease a minute long: what a replay of it finds. */
  async function keyedSpawn() {
    const leases = mongo.db.collection<{ _id: string; ownerId: string | null; epoch: number; leaseUntil: number }>('leases');
    const record = actorRecord(tenantId, { ownerId: former, leaseUntil: Date.now() + MINUTE, epoch: 1 });
    const claim = { key: `spawn-${record.id}`, requestHash: 'h-spawn', nowMs: Date.now(), expiresAt: Date.now() + 10 * MINUTE };
    expect(await mongo.stores.actors.create(record, claim)).toEqual({ fresh: true, value: record.id });
    return { leases, record, claim };
  }

  it('gives a replayed spawn’s actor the lease its first request would have had, when that request died between the inserts', async () => {
    const { leases, record, claim } = await keyedSpawn();
    await leases.deleteOne({ _id: record.id });
    const replay = actorRecord(tenantId, { ownerId: current, leaseUntil: Date.now() + MINUTE, epoch: 1 });
    expect(await mongo.stores.actors.create(replay, claim)).toEqual({ fresh: false, value: record.id, requestHash: 'h-spawn' });
    // The lease the first request would have had: taken over once it ran out, not before.
    const leaseUntil = Date.parse(record.createdAt) + MINUTE;
    expect(await leases.findOne({ _id: record.id }, { projection: { _id: 0, ownerId: 1, epoch: 1, leaseUntil: 1 } })).toEqual({ ownerId: former, epoch: 1, leaseUntil });
    expect(await mongo.stores.actors.claim(current, leaseUntil - 1, MINUTE, 10)).toEqual([]);
    expect((await mongo.stores.actors.claim(current, leaseUntil + 1, MINUTE, 10)).map((r) => [r.id, r.epoch])).toEqual([[record.id, 2]]);
  });

  it('gives the promised actor its first request’s lease even when the replay’s own copy ended before it was stored', async () => {
    const { leases, record, claim } = await keyedSpawn();
    await leases.deleteOne({ _id: record.id });
    // The replay's copy ended at once (say its contract was revoked meanwhile): no lease of its own.
    const replay = actorRecord(tenantId, { status: 'rejected', value: 'rejected', ownerId: null, leaseUntil: 0, epoch: 1 });
    expect(await mongo.stores.actors.create(replay, claim)).toEqual({ fresh: false, value: record.id, requestHash: 'h-spawn' });
    const leaseUntil = Date.parse(record.createdAt) + MINUTE;
    expect(await leases.findOne({ _id: record.id }, { projection: { _id: 0, ownerId: 1, epoch: 1, leaseUntil: 1 } })).toEqual({ ownerId: former, epoch: 1, leaseUntil });
    expect(await mongo.stores.actors.claim(current, leaseUntil - 1, MINUTE, 10)).toEqual([]);
  });

  it('never takes back the lease on a replay, whose lease is the first request’s own', async () => {
    const { leases, record, claim } = await keyedSpawn();
    // The first request's inserts are still in flight: neither has landed.
    await mongo.db.collection('actors').deleteOne({ _id: record.id as never });
    await leases.deleteOne({ _id: record.id });
    const replay = actorRecord(tenantId, { ownerId: current, leaseUntil: Date.now() + MINUTE, epoch: 1 });
    await expect(storeWithInsert('actors', 1).create(replay, claim)).rejects.toThrow('injected: actors insert failed');
    // The replay's lease is the one the first request is about to find as a duplicate and run on.
    expect(await leases.findOne({ _id: record.id }, { projection: { _id: 0, ownerId: 1, epoch: 1, leaseUntil: 1 } })).toEqual({
      ownerId: former,
      epoch: 1,
      leaseUntil: Date.parse(record.createdAt) + MINUTE,
    });
  });

  it('gives a live actor whose lease went missing an expired lease when its holder renews, so a claim takes it over', async () => {
    const leases = mongo.db.collection<{ _id: string }>('leases');
    const actor = await heldActor();
    await leases.deleteOne({ _id: actor.id });
    expect(await mongo.stores.actors.renew(former, [{ id: actor.id, epoch: 2 }], Date.now() + MINUTE)).toEqual([actor.id]);
    const claimed = await mongo.stores.actors.claim(current, Date.now(), MINUTE, 10);
    expect(claimed.map((r) => [r.id, r.ownerId, r.epoch])).toEqual([[actor.id, current, 3]]);
  });

  it('fails a slow spawn whose lease it finds expired by adoption, and leaves the actor to the claims', async () => {
    const leases = mongo.db.collection<{ _id: string; ownerId: string | null; epoch: number; leaseUntil: number; final: boolean }>('leases');
    const leaseMs = 400;
    const now = Date.now();
    const record = actorRecord(tenantId, { ownerId: former, leaseUntil: now + leaseMs, epoch: 1, createdAt: new Date(now).toISOString() });
    const outcome = rejection(storeWithInsert('leases', 0, leaseMs).create(record));
    // While the spawn's lease insert is held up, adoption finds the actor without one.
    await new Promise((resolve) => setTimeout(resolve, leaseMs / 2));
    await leases.insertOne({ _id: record.id, ownerId: former, epoch: 1, leaseUntil: 0, final: false });
    expect(await outcome).toBe('lease-lost');
    const claimed = await mongo.stores.actors.claim(current, Date.now(), leaseMs, 10);
    expect(claimed.map((r) => [r.id, r.ownerId, r.epoch])).toEqual([[record.id, current, 2]]);
  });

  it('adopts an orphan behind more actors at version 0 with leases than one look reads', async () => {
    const DAY = 24 * 60 * MINUTE;
    const t0 = Date.now() - 10 * MINUTE;
    const at = (ms: number) => new Date(ms).toISOString();
    // 105 actors spawned before it, never committed, their leases held for a day.
    const waiting = Array.from({ length: 105 }, (_, i) => actorRecord(tenantId, { ownerId: former, leaseUntil: Date.now() + DAY, epoch: 1, createdAt: at(t0 + i) }));
    for (let i = 0; i < waiting.length; i += 15) await Promise.all(waiting.slice(i, i + 15).map((r) => mongo.stores.actors.create(r)));
    const orphan = actorRecord(tenantId, { ownerId: former, leaseUntil: t0 + 200 + MINUTE, epoch: 1, createdAt: at(t0 + 200) });
    await mongo.stores.actors.create(orphan);
    await mongo.db.collection('leases').deleteOne({ _id: orphan.id as never });
    // A store whose looks read a hundred actors each.
    const looker = createMongoActorStore(mongo.db, { orphansPerLook: 100 });
    const now = Date.now();
    expect(await looker.claim(current, now, MINUTE, 10)).toEqual([]);
    // The next look resumes after the first hundred.
    const claimed = await looker.claim(current, now + MINUTE, MINUTE, 10);
    expect(claimed.map((r) => [r.id, r.epoch])).toEqual([[orphan.id, 2]]);
  });

  it('answers a replay with the promised actor when its slow insert finds the lease claimed, leaving the actor to the claims', async () => {
    const leases = mongo.db.collection<{ _id: string; ownerId: string | null; epoch: number; leaseUntil: number; final: boolean }>('leases');
    const leaseMs = 400;
    const now = Date.now();
    const record = actorRecord(tenantId, { ownerId: former, leaseUntil: now + leaseMs, epoch: 1, createdAt: new Date(now).toISOString() });
    const claim = { key: `spawn-${record.id}`, requestHash: 'h-spawn', nowMs: now, expiresAt: now + 10 * MINUTE };
    expect(await mongo.stores.actors.create(record, claim)).toEqual({ fresh: true, value: record.id });
    // The first request died before its inserts landed.
    await mongo.db.collection('actors').deleteOne({ _id: record.id as never });
    await leases.deleteOne({ _id: record.id });
    const replay = actorRecord(tenantId, { ownerId: current, leaseUntil: now + leaseMs, epoch: 1, createdAt: new Date(now).toISOString() });
    const answered = storeWithInsert('actors', 0, leaseMs).create(replay, claim);
    // A claim takes the lease while the replay's actor insert is held up.
    await new Promise((resolve) => setTimeout(resolve, leaseMs / 4));
    await leases.replaceOne({ _id: record.id }, { ownerId: current, epoch: 2, leaseUntil: 0, final: false }, { upsert: true });
    expect(await answered).toEqual({ fresh: false, value: record.id, requestHash: 'h-spawn' });
    expect(await stored('actors', record.id)).toBe(1);
  });
});
