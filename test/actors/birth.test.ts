/**
 * A spawned actor is stored by its first write, at its first quiescent state past the
 * contract decision: until then its work writes nothing, a spawn that fails or replays an
 * earlier one leaves nothing of it, and a runtime that closes lets spawns in flight finish.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRuntime } from '../../src/actors/index.js';
import { AppError } from '../../src/errors.js';
import type { IntentDefinition } from '../../src/intents/index.js';
import { silentLogger } from '../../src/logger.js';
import type { Stores } from '../../src/persistence/ports.js';
import { harness, tenant, type Harness } from './helpers.js';
import { heldContracts, instantIntent, recordOf, registryWith } from './probes.js';

let h: Harness;
afterEach(async () => h?.cleanup());

/** How many times the eager work below started. */
let eagerStarts = 0;

/** Work that writes an artifact at once, before anything else. */
const eager: IntentDefinition<Record<string, never>> = {
  type: 'eager_work',
  realm: 'content',
  mode: 'short',
  description: 'Writes an artifact as soon as it starts.',
  params: z.object({}).strict(),
  async handler(ctx) {
    eagerStarts++;
    // Every kind of write a handler can make, at once: each waits for the actor to be stored.
    await ctx.tenantSecret();
    await ctx.stores.records.deleteDataset(ctx.tenantId, `ds_${ctx.actorId}`);
    await ctx.stores.blobs.delete(ctx.tenantId, `blob_${ctx.actorId}`);
    return [await ctx.emit('note', { text: 'written first' })];
  },
};


/** The harness's stores, with each actor creation and each write a handler can make recorded in `log`. */
function recording(base: Stores, log: string[], failCreate = false): Stores {
  return {
    ...base,
    contracts: {
      ...base.contracts,
      async tenantSecret(tenantId) {
        log.push('secret');
        return base.contracts.tenantSecret(tenantId);
      },
    },
    records: {
      ...base.records,
      async deleteDataset(tenantId, datasetId) {
        log.push('delete dataset');
        return base.records.deleteDataset(tenantId, datasetId);
      },
    },
    blobs: {
      ...base.blobs,
      async delete(tenantId, id) {
        log.push('delete blob');
        return base.blobs.delete(tenantId, id);
      },
    },
    actors: {
      ...base.actors,
      async create(record, claim) {
        log.push(`create ${record.id} ${record.status}`);
        if (failCreate) throw new AppError('internal', 'injected: the create failed');
        const out = await base.actors.create(record, claim);
        log.push(`created ${record.id}`);
        return out;
      },
    },
    artifacts: {
      ...base.artifacts,
      async put(artifact, fence) {
        log.push(`put ${artifact.lineage.actorId}`);
        return base.artifacts.put(artifact, fence);
      },
    },
  };
}

/** A runtime on the recording stores with the eager work registered (its start count reset). */
async function eagerRuntime(failCreate = false) {
  h = await harness();
  eagerStarts = 0;
  const log: string[] = [];
  const runtime = createRuntime({ stores: recording(h.stores, log, failCreate), intents: registryWith([eager as IntentDefinition<never>]), logger: silentLogger() });
  await runtime.start();
  return { runtime, log };
}

describe("a spawned actor's first write", () => {
  it('comes before any write of its work, which then lands under its lease', async () => {
    const { runtime, log } = await eagerRuntime();
    try {
      const t = tenant();
      const { id } = await runtime.spawn('execution', { intent: 'eager_work', params: {} }, { tenantId: t });
      const view = await runtime.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
      expect(view.status).toBe('done');
      expect(log).toEqual([`create ${id} running`, `created ${id}`, 'secret', 'delete dataset', 'delete blob', `put ${id}`]);
      expect((await h.stores.artifacts.list({ tenantId: t, executionId: id, limit: 10 })).items).toHaveLength(1);
    } finally {
      await runtime.close();
    }
  });

  it('that fails fails the spawn, and its work writes nothing', async () => {
    const { runtime, log } = await eagerRuntime(true);
    try {
      const t = tenant();
      await expect(runtime.spawn('execution', { intent: 'eager_work', params: {} }, { tenantId: t })).rejects.toMatchObject({ code: 'internal' });
      // Give the dropped work every chance to write.
      await new Promise((r) => setTimeout(r, 50));
      expect(eagerStarts).toBeGreaterThan(0);
      expect(log.filter((l) => !l.startsWith('create '))).toEqual([]);
    } finally {
      await runtime.close();
    }
  });

  it('of a replayed spawn stores nothing, and the replay’s work never starts', async () => {
    const { runtime, log } = await eagerRuntime();
    try {
      const t = tenant();
      const input = { intent: 'eager_work', params: {} };
      const first = await runtime.spawn('execution', input, { tenantId: t, idempotencyKey: 'k1' });
      await runtime.waitFor(first.id, { tenantId: t, until: 'done', timeoutMs: 5000 });
      expect(await runtime.spawn('execution', input, { tenantId: t, idempotencyKey: 'k1' })).toEqual({ id: first.id, fresh: false });
      await expect(runtime.spawn('execution', { ...input, solutionId: 'other' }, { tenantId: t, idempotencyKey: 'k1' })).rejects.toMatchObject({
        code: 'idempotency-conflict',
      });
      await new Promise((r) => setTimeout(r, 50));
      const creates = log.filter((l) => l.startsWith('create ')).map((l) => l.split(' ')[1]);
      expect(creates).toHaveLength(3);
      // Only the first actor's work ran and wrote; the replays' copies did nothing.
      expect(eagerStarts).toBe(1);
      expect(log.filter((l) => !l.startsWith('create'))).toEqual(['secret', 'delete dataset', 'delete blob', `put ${first.id}`]);
      expect((await h.stores.actors.list({ tenantId: t, limit: 10 })).items.map((r) => r.id)).toEqual([first.id]);
    } finally {
      await runtime.close();
    }
  });

  it('holds the state the actor first waits in: an idle session under this process’s lease, or the end of work that needed no I/O, with no lease', async () => {
    h = await harness({ intents: registryWith([instantIntent]) });
    const t = tenant();
    const session = await h.runtime.spawn('agentSession', {}, { tenantId: t });
    const idle = await recordOf(h.stores, t, session.id);
    expect([idle.version, idle.value, idle.contractId, idle.ownerId]).toEqual([0, 'idle', `ctr_mvp_${t}`, h.runtime.ownerId]);

    const work = await h.runtime.spawn('execution', { intent: 'instant_work', params: {} }, { tenantId: t });
    const ended = await recordOf(h.stores, t, work.id);
    expect([ended.version, ended.status, ended.ownerId]).toEqual([0, 'done', null]);
    // Nothing to take over: a claim by another process finds nothing of it.
    expect((await h.stores.actors.claim('own_other', Date.now() + 3_600_000, 15_000, 100)).map((r) => r.id)).not.toContain(work.id);
  });
});

describe('closing the runtime', () => {
  it('lets a spawn waiting at the door finish, stores its actor and releases it; later spawns are refused', async () => {
    h = await harness();
    // Nobody else claims what the runtime under test releases.
    await h.runtime.close();
    const { stores, open: openDoor } = heldContracts(h.stores);
    const runtime = createRuntime({ stores, logger: silentLogger() });
    await runtime.start();
    const t = tenant();
    const spawned = runtime.spawn('agentSession', {}, { tenantId: t });
    let closedYet = false;
    const closing = runtime.close().then(() => (closedYet = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(closedYet).toBe(false);
    await expect(runtime.spawn('agentSession', {}, { tenantId: t })).rejects.toMatchObject({ code: 'store-unavailable' });
    openDoor();
    const { id } = await spawned;
    await closing;
    const stored = await recordOf(h.stores, t, id);
    expect(stored.value).toBe('idle');
    expect(stored.ownerId).toBeNull();
  });

  it('waits a lease time at most for a spawn whose store does not answer: the spawn fails and nothing is stored', async () => {
    h = await harness();
    await h.runtime.close();
    // A door never opened: the store never answers the contract read.
    const { stores } = heldContracts(h.stores);
    const runtime = createRuntime({ stores, logger: silentLogger(), leaseMs: 200 });
    await runtime.start();
    const t = tenant();
    const spawned = runtime.spawn('agentSession', {}, { tenantId: t });
    const failed = expect(spawned).rejects.toMatchObject({ code: 'store-unavailable' });
    const began = Date.now();
    await runtime.close();
    expect(Date.now() - began).toBeGreaterThanOrEqual(150);
    await failed;
    expect((await h.stores.actors.list({ tenantId: t, limit: 10 })).items).toEqual([]);
  });
});

describe('concurrent spawns with one idempotency key', () => {
  it('store one actor, answer its id to every caller and run its work once', async () => {
    const { runtime, log } = await eagerRuntime();
    try {
      const t = tenant();
      const input = { intent: 'eager_work', params: {} };
      const answers = await Promise.all([1, 2, 3].map(() => runtime.spawn('execution', input, { tenantId: t, idempotencyKey: 'same' })));
      const ids = new Set(answers.map((a) => a.id));
      expect(ids.size).toBe(1);
      expect(answers.filter((a) => a.fresh)).toHaveLength(1);
      const [id] = [...ids];
      await runtime.waitFor(id!, { tenantId: t, until: 'done', timeoutMs: 5000 });
      await new Promise((r) => setTimeout(r, 50));
      expect(eagerStarts).toBe(1);
      expect((await h.stores.actors.list({ tenantId: t, limit: 10 })).items.map((r) => r.id)).toEqual([id]);
      expect(log.filter((l) => l.startsWith('put'))).toEqual([`put ${id}`]);
    } finally {
      await runtime.close();
    }
  });
});

describe('an inspection observer that throws', () => {
  it('fails neither the spawn nor the actor', async () => {
    h = await harness({ intents: registryWith([instantIntent]) });
    const t = tenant();
    const runtime = await h.reopen({
      intents: registryWith([instantIntent]),
      inspection: {
        tenantId: t,
        inspect: {
          next() {
            throw new Error('the observer broke');
          },
        },
      },
    });
    const { id } = await runtime.spawn('execution', { intent: 'instant_work', params: {} }, { tenantId: t });
    expect((await runtime.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 })).status).toBe('done');
  });
});
