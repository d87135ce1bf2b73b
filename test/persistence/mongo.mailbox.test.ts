/**
 * MongoDB only: how the actor store reads the mailbox. FerretDB v1 serves no filter from an
 * index (an equality is a scan in PostgreSQL, and a sort, a range or `$in` is evaluated in Go
 * over every document the rest of the filter matched), so the event path reads entries by
 * `_id` alone (`<actor>:<seq>`, dense from 1) and its cost does not grow with the actor's
 * mailbox. These tests check the query shapes the store sends, and that the searches built on
 * dense numbers answer right whatever a store instance remembers.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient, type CommandStartedEvent, type Db } from 'mongodb';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { createMongoActorStore, ensureActorIndexes } from '../../src/persistence/mongo/actorStore.js';
import type { ActorRecord, ActorStore, CommitPatch } from '../../src/persistence/ports.js';
import { describeWithService } from '../services/env.js';
import { actorRecord } from './fixtures/actorRecord.js';

const MINUTE = 60_000;

describeWithService('MONGO_URL', 'MongoDB mailbox reads', (url) => {
  const client = new MongoClient(url, { maxPoolSize: 10, monitorCommands: true });
  const commands: CommandStartedEvent[] = [];
  let db: Db;
  const tenantId = 'ten-mailbox';
  const ownerId = 'own-mailbox';

  beforeAll(async () => {
    await client.connect();
    client.on('commandStarted', (e) => commands.push(e));
  });
  beforeEach(async () => {
    db = client.db(`symphainy_mailbox_${randomBytes(6).toString('hex')}`);
    await ensureActorIndexes(db);
    commands.length = 0;
  });
  afterEach(async () => {
    await db.dropDatabase();
  });
  afterAll(async () => {
    await client.close();
  });

  async function ownedActor(store: ActorStore): Promise<ActorRecord> {
    const record = actorRecord(tenantId, {
      id: newId('ags'),
      kind: 'agentSession',
      status: 'waiting',
      value: 'ready',
      machineId: 'agentSession',
      ownerId,
      leaseUntil: Date.now() + MINUTE,
      epoch: 1,
    });
    await store.create(record);
    return record;
  }

  const patch = (appliedSeq: number, outcomes: CommitPatch['outcomes'] = []): CommitPatch => ({
    status: 'waiting',
    value: 'ready',
    tags: [],
    snapshot: { appliedSeq },
    machineVersion: 1,
    contractId: null,
    output: null,
    error: null,
    timers: [],
    appliedSeq,
    outcomes,
  });

  /** The filters of the reads sent to the mailbox collection since the last reset. */
  function mailboxReads(): { name: string; filter: Record<string, unknown>; sort: unknown }[] {
    return commands
      .filter((c) => ['find', 'aggregate', 'count', 'distinct'].includes(c.commandName) && c.command[c.commandName] === 'mailbox')
      .map((c) => ({
        name: c.commandName,
        filter: (c.command.filter ?? c.command.query ?? (c.command.pipeline as { $match?: Record<string, unknown> }[] | undefined)?.[0]?.$match ?? {}) as Record<string, unknown>,
        sort: c.command.sort,
      }));
  }

  it('reads the mailbox on the event path by _id equality only, never sorted or by range', async () => {
    const store = createMongoActorStore(db);
    const actor = await ownedActor(store);
    const at = new Date().toISOString();
    for (let i = 1; i <= 12; i++) await store.append(tenantId, actor.id, { type: 'ADD', n: i }, at);
    await store.commit(actor.id, { ownerId, epoch: 1 }, 0, patch(5, [{ seq: 5, outcome: 'applied', error: null }]));
    // A fresh instance remembers nothing: it searches from the applied mark.
    const fresh = createMongoActorStore(db);
    commands.length = 0;
    expect((await fresh.get(tenantId, actor.id))?.lastSeq).toBe(12);
    expect((await fresh.pending(tenantId, actor.id, 5)).map((e) => e.seq)).toEqual([6, 7, 8, 9, 10, 11, 12]);
    expect((await fresh.append(tenantId, actor.id, { type: 'ADD', n: 13 }, at)).value).toBe(13);
    expect(await fresh.claim('own-other', Date.now() + 2 * MINUTE, MINUTE, 10)).toMatchObject([{ id: actor.id, lastSeq: 13, appliedSeq: 5 }]);
    await fresh.commit(actor.id, { ownerId: 'own-other', epoch: 2 }, 1, { ...patch(13), status: 'done', value: 'done' });
    const reads = mailboxReads();
    expect(reads.length).toBeGreaterThan(10);
    for (const r of reads) {
      expect(r.name).toBe('find');
      expect(r.sort).toBeUndefined();
      expect(typeof r.filter._id, JSON.stringify(r.filter)).toBe('string');
      expect(Object.keys(r.filter).filter((k) => k !== '_id' && k !== 'tenantId' && k !== 'outcome')).toEqual([]);
    }
  });

  it('hands out dense sequence numbers to concurrent appenders on separate stores, which every store then reads back', async () => {
    const stores = [createMongoActorStore(db), createMongoActorStore(db), createMongoActorStore(db)];
    const actor = await ownedActor(stores[0]!);
    const at = new Date().toISOString();
    const seqs = (
      await Promise.all(
        stores.map(async (store, s) => {
          const mine: number[] = [];
          for (let i = 0; i < 8; i++) mine.push((await store.append(tenantId, actor.id, { type: 'ADD', s, i }, at)).value);
          return mine;
        }),
      )
    ).flat();
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    for (const store of [...stores, createMongoActorStore(db)]) {
      expect((await store.get(tenantId, actor.id))?.lastSeq).toBe(24);
      expect((await store.pending(tenantId, actor.id, 0)).map((e) => e.seq)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
      expect((await store.pending(tenantId, actor.id, 17)).map((e) => e.seq)).toEqual([18, 19, 20, 21, 22, 23, 24]);
      expect(await store.pending(tenantId, actor.id, 24)).toEqual([]);
    }
  });

  it('finds the head of a long unapplied mailbox from the applied mark, at every distance', async () => {
    const writer = createMongoActorStore(db);
    const actor = await ownedActor(writer);
    const at = new Date().toISOString();
    for (let n = 1; n <= 37; n++) {
      await writer.append(tenantId, actor.id, { type: 'ADD', n }, at);
      if ([1, 2, 3, 5, 8, 16, 17, 31, 37].includes(n)) expect((await createMongoActorStore(db).get(tenantId, actor.id))?.lastSeq, `after ${n}`).toBe(n);
    }
    // A final commit refuses what is left beyond its mark, read the same way, in its batch;
    // until then a reader of one of those events sees it refused already.
    await writer.commit(actor.id, { ownerId, epoch: 1 }, 0, { ...patch(30), status: 'done', value: 'done' });
    expect(await createMongoActorStore(db).event(tenantId, actor.id, 33)).toMatchObject({ seq: 33, outcome: 'refused', error: { code: 'actor-final' } });
    expect(await createMongoActorStore(db).event(tenantId, actor.id, 30)).toMatchObject({ seq: 30, outcome: 'pending' });
    await writer.drain();
    const box = await createMongoActorStore(db).pending(tenantId, actor.id, 0);
    expect(box.filter((e) => e.outcome === 'refused').map((e) => e.seq)).toEqual([31, 32, 33, 34, 35, 36, 37]);
    expect((await writer.get(tenantId, actor.id))?.appliedSeq).toBe(37);
  });

  it('answers a request whose dead claimant had stored its event as a replay of that request, whatever this one carries', async () => {
    const store = createMongoActorStore(db);
    const record = actorRecord(tenantId, { ownerId, leaseUntil: Date.now() + MINUTE, epoch: 1 });
    await store.create(record);
    // A claim whose holder died after storing its event, before recording the result.
    const key = 'k-dead';
    const idemKey = `${tenantId}|send:${record.id}|${key}`;
    await db.collection<{ _id: string } & Record<string, unknown>>('idempotency').insertOne({
      _id: idemKey,
      tenantId,
      requestHash: 'h-dead',
      result: null,
      record: null,
      claimedAt: Date.now() - MINUTE,
      expiresAt: Date.now() + MINUTE,
    });
    await db.collection<{ _id: string } & Record<string, unknown>>('mailbox').insertOne({
      _id: `${record.id}:1`,
      actorId: record.id,
      tenantId,
      seq: 1,
      event: JSON.stringify({ type: 'PING' }),
      acceptedAt: new Date().toISOString(),
      outcome: 'pending',
      error: 'null',
      idemKey,
    });
    const claim = { key, requestHash: 'h-other', nowMs: Date.now(), expiresAt: Date.now() + MINUTE };
    const replayed = { fresh: false, value: 1, requestHash: 'h-dead' };
    expect(await store.append(tenantId, record.id, { type: 'PONG' }, new Date().toISOString(), claim)).toEqual(replayed);
    expect(await store.append(tenantId, record.id, { type: 'PONG' }, new Date().toISOString(), claim)).toEqual(replayed);
    expect((await store.pending(tenantId, record.id, 0)).map((e) => [e.seq, e.event])).toEqual([[1, { type: 'PING' }]]);
  });
});
