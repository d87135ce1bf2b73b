/**
 * MongoDB only: snapshot history beyond the actor document's ring (`src/persistence/mongo/
 * actorStore.ts`). The contract suite covers the port with a `historyMax` no larger than the
 * ring; these cases cover an actor that outlives the ring (its older entries copied to
 * `history`), a reader that starts anywhere in the window, the sweep of entries past
 * `historyMax`, an entry too large to keep inline, and a copy a crash lost being repaired by
 * the next claim, against the real server so a query shape it answered wrongly would fail here.
 */
import { expect, it } from 'vitest';
import { createMongoActorStore, type MongoActorStore } from '../../src/persistence/mongo/actorStore.js';
import { describeWithService } from '../services/env.js';
import { actorRecord, commitPatch as patch } from './fixtures/actorRecord.js';
import { freshMongo } from './fixtures/freshMongo.js';

const MINUTE = 60_000;
const HISTORY_MAX = 20;

describeWithService('MONGO_URL', 'MongoDB snapshot history', (url) => {
  const mongo = freshMongo(url, 'hist', { historyMax: HISTORY_MAX });
  const tenantId = 'ten-hist';
  const owner = { ownerId: 'own-hist', epoch: 1 };


  async function actorAt(version: number, value = (v: number): unknown => `step-${v}`) {
    const record = actorRecord(tenantId, { ownerId: owner.ownerId, leaseUntil: Date.now() + MINUTE, epoch: 1 });
    await mongo.stores.actors.create(record);
    for (let v = 0; v < version; v++) await mongo.stores.actors.commit(record.id, owner, v, patch(value(v + 1)));
    return record;
  }

  const versionsOf = async (id: string, after: number, limit: number) => (await mongo.stores.actors.history(tenantId, id, after, limit)).entries.map((e) => e.version);
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  /** An actor store on the test's database whose `history` inserts fail `fail(n)` times from then on. */
  function storeFailingHistory(): { store: MongoActorStore; fail(n: number): void } {
    let failures = 0;
    const failing = <T extends object>(target: T, name: string): T =>
      new Proxy(target, {
        get(t, prop) {
          if (prop === name) {
            return async (...args: unknown[]) => {
              if (failures > 0) {
                failures--;
                throw new Error('injected: history insert failed');
              }
              return (Reflect.get(t, prop, t) as (...a: unknown[]) => unknown).apply(t, args);
            };
          }
          const v = Reflect.get(t, prop, t) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
        },
      });
    const db = new Proxy(mongo.db, {
      get(t, prop) {
        if (prop === 'collection') return (name: string) => (name === 'history' ? failing(t.collection(name), 'insertMany') : t.collection(name));
        const v = Reflect.get(t, prop, t) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
    return {
      store: createMongoActorStore(db, { historyMax: HISTORY_MAX }),
      fail(n) {
        failures = n;
      },
    };
  }

  it('keeps the newest historyMax entries of an actor that outlived its ring, whatever version a reader starts after', async () => {
    const record = await actorAt(37);
    const page = await mongo.stores.actors.history(tenantId, record.id, -1, 100);
    expect(page.oldestVersion).toBe(18);
    expect(page.entries.map((e) => e.version)).toEqual(range(18, 37));
    expect(page.entries.map((e) => e.view.value)).toEqual(range(18, 37).map((v) => `step-${v}`));
    for (const after of [-1, 17, 18, 25, 29, 30, 33, 36]) {
      expect(await versionsOf(record.id, after, 100)).toEqual(range(Math.max(after + 1, 18), 37));
      expect(await versionsOf(record.id, after, 3)).toEqual(range(Math.max(after + 1, 18), Math.max(after + 1, 18) + 2).filter((v) => v <= 37));
    }
    expect(await versionsOf(record.id, 37, 10)).toEqual([]);
    // The sweep deleted the copies that fell out of the window, up to the last multiple of its step.
    const copies = await mongo.db.collection<{ v: number }>('history').find({ actorId: record.id }).sort({ v: 1 }).toArray();
    expect(copies[0]?.v).toBeGreaterThan(32 - HISTORY_MAX);
  });

  it('keeps an entry too large for the ring on its own, and reads it back whole', async () => {
    const big = 'x'.repeat(200_000);
    const record = await actorAt(3, (v) => (v === 2 ? { big } : `step-${v}`));
    const page = await mongo.stores.actors.history(tenantId, record.id, 0, 10);
    expect(page.entries.map((e) => [e.version, e.view.value])).toEqual([
      [1, 'step-1'],
      [2, { big }],
      [3, 'step-3'],
    ]);
    expect(await mongo.db.collection<{ _id: string }>('history').countDocuments({ _id: `${record.id}:2` })).toBe(1);
  });

  it('gives back a time exactly as written, with or without milliseconds', async () => {
    for (const updatedAt of ['2026-01-02T03:04:05Z', '2026-01-02T03:04:05.678Z', '2026-01-02T03:04:05.6789+01:00']) {
      const record = actorRecord(tenantId, { ownerId: owner.ownerId, leaseUntil: Date.now() + MINUTE, epoch: 1, updatedAt });
      await mongo.stores.actors.create(record);
      const [entry] = (await mongo.stores.actors.history(tenantId, record.id, -1, 10)).entries;
      expect([entry?.at, entry?.view.updatedAt]).toEqual([updatedAt, updatedAt]);
    }
  });

  it('reads an actor stored field by field, as the first format of this store wrote it', async () => {
    const id = 'exe_legacy';
    await mongo.db.collection<{ _id: string } & Record<string, unknown>>('leases').insertOne({ _id: id, ownerId: null, epoch: 3, leaseUntil: 0, final: true });
    await mongo.db.collection<{ _id: string } & Record<string, unknown>>('actors').insertOne({
      _id: id,
      tenantId,
      kind: 'execution',
      status: 'done',
      final: true,
      value: '"done"',
      tags: ['final'],
      machineId: 'execution',
      machineVersion: 2,
      snapshot: '{"status":"done"}',
      input: '{"intent":"x"}',
      contractId: 'ctr_legacy',
      output: '{"n":1}',
      error: 'null',
      timers: '[]',
      version: 4,
      appliedSeq: 2,
      ownerId: null,
      leaseUntil: 0,
      epoch: 3,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:01.000Z',
      outcomes: [{ seq: 2, outcome: 'applied', error: 'null' }],
    });
    expect(await mongo.stores.actors.get(tenantId, id)).toMatchObject({
      id,
      status: 'done',
      value: 'done',
      tags: ['final'],
      machineId: 'execution',
      machineVersion: 2,
      snapshot: { status: 'done' },
      input: { intent: 'x' },
      contractId: 'ctr_legacy',
      output: { n: 1 },
      error: null,
      timers: [],
      version: 4,
      appliedSeq: 2,
      epoch: 3,
      updatedAt: '2026-01-01T00:00:01.000Z',
    });
    expect(await mongo.stores.actors.history(tenantId, id, -1, 10)).toEqual({ entries: [], oldestVersion: null });
  });

  it('repairs on the next claim the copies of entries a crash lost after they left the ring', async () => {
    const record = await actorAt(12);
    // A crash right after the commits: their copies never reached `history`.
    await mongo.db.collection('history').deleteMany({ actorId: record.id });
    await mongo.stores.actors.claim('own-next', Date.now() + 2 * MINUTE, MINUTE, 10);
    // What was still in the ring is kept again; what had left it is lost, and the reader says so.
    const page = await mongo.stores.actors.history(tenantId, record.id, -1, 100);
    expect(page.entries.map((e) => e.version)).toEqual(range(5, 12));
    expect(page.oldestVersion).toBe(5);
    await mongo.stores.actors.commit(record.id, { ownerId: 'own-next', epoch: 2 }, 12, patch('step-13'));
    expect(await versionsOf(record.id, -1, 100)).toEqual(range(5, 13));
  });

  it('answers a commit before its copies land, and reads it back whole meanwhile', async () => {
    const record = await actorAt(9);
    const seq = await mongo.stores.actors.append(tenantId, record.id, { type: 'PING' }, new Date().toISOString());
    expect(seq).toMatchObject({ fresh: true, value: 1 });
    const outcomes = [{ seq: 1, outcome: 'applied' as const, error: null }];
    expect(await mongo.stores.actors.commit(record.id, owner, 9, patch('step-10', { appliedSeq: 1, outcomes }))).toBe(10);
    // Whether or not the copies landed yet, readers see the commit's outcome and history entry.
    expect(await mongo.stores.actors.event(tenantId, record.id, 1)).toMatchObject({ seq: 1, outcome: 'applied' });
    expect(await versionsOf(record.id, 8, 100)).toEqual([9, 10]);
    // The next commit carries the outcome on the document while its copy may be in flight.
    expect(await mongo.stores.actors.commit(record.id, owner, 10, patch('step-11', { appliedSeq: 1 }))).toBe(11);
    expect(await mongo.stores.actors.event(tenantId, record.id, 1)).toMatchObject({ seq: 1, outcome: 'applied' });
    await (mongo.stores.actors as MongoActorStore).drain();
    expect(await mongo.db.collection<{ _id: string; outcome: string }>('mailbox').findOne({ _id: `${record.id}:1` })).toMatchObject({ outcome: 'applied' });
    expect(await mongo.db.collection<{ _id: string }>('history').countDocuments({ _id: { $in: range(0, 10).map((v) => `${record.id}:${v}`) } })).toBe(11);
    expect(await mongo.stores.actors.event(tenantId, record.id, 1)).toMatchObject({ seq: 1, outcome: 'applied' });
  });

  it('redoes a copy that failed before the actor’s next commit, and stops that commit if it fails again', async () => {
    const failing = storeFailingHistory();
    const store = failing.store;
    const record = actorRecord(tenantId, { ownerId: owner.ownerId, leaseUntil: Date.now() + MINUTE, epoch: 1 });
    await store.create(record);
    for (let v = 0; v < 9; v++) await store.commit(record.id, owner, v, patch(`step-${v + 1}`));
    const copied = async (v: number) => (await mongo.db.collection<{ _id: string }>('history').countDocuments({ _id: `${record.id}:${v}` })) === 1;

    failing.fail(1);
    expect(await store.commit(record.id, owner, 9, patch('step-10'))).toBe(10);
    expect(await copied(10)).toBe(false);
    expect(await store.commit(record.id, owner, 10, patch('step-11'))).toBe(11);
    expect(await copied(10)).toBe(true);

    failing.fail(2);
    expect(await store.commit(record.id, owner, 11, patch('step-12'))).toBe(12);
    expect(await copied(12)).toBe(false);
    await expect(store.commit(record.id, owner, 12, patch('step-13'))).rejects.toThrow('injected: history insert failed');
    expect(await store.get(tenantId, record.id)).toMatchObject({ version: 12, value: 'step-12' });
    expect(await store.commit(record.id, owner, 12, patch('step-13'))).toBe(13);
    await store.drain();
    expect(await versionsOf(record.id, -1, 100)).toEqual(range(0, 13));
    expect(await Promise.all(range(0, 13).map(copied))).toEqual(range(0, 13).map(() => true));
  });

  it('keeps a copy owed at a later epoch when a commit of the former epoch fails', async () => {
    const { store, fail } = storeFailingHistory();
    const record = actorRecord(tenantId, { ownerId: owner.ownerId, leaseUntil: Date.now() + MINUTE, epoch: 1 });
    await store.create(record);
    for (let v = 0; v < 9; v++) await store.commit(record.id, owner, v, patch(`step-${v + 1}`));
    // This process takes the actor over at epoch 2 (its epoch-1 holder stalled).
    expect(await store.claim('own-later', Date.now() + 2 * MINUTE, MINUTE, 10)).toMatchObject([{ id: record.id, epoch: 2 }]);
    const later = { ownerId: 'own-later', epoch: 2 };
    const copied = async (v: number) => (await mongo.db.collection<{ _id: string }>('history').countDocuments({ _id: `${record.id}:${v}` })) === 1;
    fail(1);
    expect(await store.commit(record.id, later, 9, patch('step-10'))).toBe(10);
    expect(await copied(10)).toBe(false);
    // The stalled epoch-1 commit comes back refused; epoch 2 still owes, and redoes, its copy.
    await expect(store.commit(record.id, owner, 9, patch('stale'))).rejects.toMatchObject({ code: 'lease-lost' });
    expect(await store.commit(record.id, later, 10, patch('step-11'))).toBe(11);
    expect(await copied(10)).toBe(true);
  });
});
