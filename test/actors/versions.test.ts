/**
 * Persisted snapshots of every machine restore in a new runtime and continue; every snapshot
 * carries its machine version, and an old one is restored only through a registered
 * migration: an unknown version is refused loudly and not run.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Problem } from '../../src/errors.js';
import type { PersistedSnapshot } from '../../src/machines/index.js';
import { bulkProbe, heldIntent, mailboxOf, probeCatalog, recordOf, registryWith, withRawDb } from './probes.js';
import { harness, tenant, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.cleanup());

describe('restoring persisted snapshots', () => {
  it('restores an execution stopped mid-work and runs it to done', async () => {
    const { intent, work } = heldIntent();
    h = await harness({ intents: registryWith([intent]) });
    const t = tenant();
    const { id } = await h.runtime.spawn('execution', { intent: 'held_work', params: { label: 'x' } }, { tenantId: t });
    await work.started;
    const mid = await vi.waitFor(async () => {
      const r = await recordOf(h.stores, t, id);
      expect(r.value).toBe('working');
      return r;
    });
    expect(mid.machineId).toBe('execution');
    expect(mid.machineVersion).toBe(1);
    expect(mid.contractId).toBe(`ctr_mvp_${t}`);
    await h.runtime.close();

    work.release();
    const b = await h.reopen();
    const done = await b.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect(done.status).toBe('done');
    expect(done.value).toBe('done');
    expect(work.calls).toBe(2);
    // The restored run got a fresh grant of the same contract.
    expect(work.grants).toEqual([`ctr_mvp_${t}`, `ctr_mvp_${t}`]);
    const arts = await h.stores.artifacts.list({ tenantId: t, executionId: id, limit: 10 });
    expect(done.output).toEqual({ artifacts: [{ id: arts.items[0]?.id, kind: 'heldResult' }], error: null });
  });

  it('restores an idle agent session and continues the conversation to its end', async () => {
    h = await harness();
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', {}, { tenantId: t });
    await h.runtime.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });
    await h.runtime.close();

    const b = await h.reopen();
    const answered = await b.send(id, { type: 'MESSAGE', text: 'what do we hold?' }, { tenantId: t, waitFor: { tag: 'waiting' }, timeoutMs: 5000 });
    expect(answered.view.value).toBe('idle');
    const r = await recordOf(h.stores, t, id);
    expect(r.snapshot?.context).toMatchObject({ turns: [{ n: 1, text: 'what do we hold?' }], summarizedTurns: 0 });
    expect(await h.stores.artifacts.countByActor(t, id)).toBe(1);

    const ended = await b.send(id, { type: 'END' }, { tenantId: t, waitFor: 'done', timeoutMs: 5000 });
    expect(ended.view.status).toBe('done');
    expect(ended.view.value).toBe('ended');
    expect(ended.view.output).toEqual({ turns: 1, error: null });
  });

  it('restores a bulk operation mid-run and resumes from its cursor', async () => {
    const { intent, work, chunks } = bulkProbe(1);
    h = await harness({ intents: registryWith([], [intent]) });
    const t = tenant();
    const { id } = await h.runtime.spawn('bulkOperation', { intent: 'bulk_probe', params: { items: 25 } }, { tenantId: t });
    await work.started;
    const mid = await vi.waitFor(async () => {
      const r = await recordOf(h.stores, t, id);
      expect(r.snapshot?.context).toMatchObject({ cursor: 1 });
      return r;
    });
    expect(mid.value).toBe('running');
    expect(mid.snapshot?.context).toMatchObject({ plan: { chunks: 3, items: 25 }, items: { done: 10, failed: 0 } });
    await h.runtime.close();

    work.release();
    const b = await h.reopen();
    const done = await b.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect(done.status).toBe('done');
    expect(done.output).toEqual({ items: { done: 25, failed: 0 }, error: null });
    // Chunk 0 is not redone; chunk 1, in flight at the restart, runs again (at-least-once).
    expect(chunks).toEqual([0, 1, 1, 2]);
  });
});

describe('machine versions', () => {
  it('refuses a snapshot with an unknown machine version and does not run it', async () => {
    h = await harness();
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', {}, { tenantId: t });
    await h.runtime.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });
    await h.runtime.close();
    withRawDb(h.dir, (db) => db.prepare('UPDATE actors SET machine_version = 7 WHERE id = ?').run(id));
    const before = await recordOf(h.stores, t, id);

    const refusals: { id: string; problem: Problem }[] = [];
    const b = await h.reopen({ onRefused: (actorId, problem) => refusals.push({ id: actorId, problem }) });
    expect(refusals).toHaveLength(1);
    expect(refusals[0]?.id).toBe(id);
    expect(refusals[0]?.problem.code).toBe('machine-version-unknown');
    expect(refusals[0]?.problem.detail).toContain('version 7');

    // Held (so no other process runs it either) but not run: an event stays pending.
    const err = await b
      .send(id, { type: 'MESSAGE', text: 'hello' }, { tenantId: t, waitFor: 'applied', timeoutMs: 300 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'wait-timeout' });
    const after = await recordOf(h.stores, t, id);
    expect(after.ownerId).toBe(b.ownerId);
    expect(after.version).toBe(before.version);
    expect(after.snapshot).toEqual(before.snapshot);
    expect(after.machineVersion).toBe(7);
    expect(after.status).toBe('waiting');
    expect((await mailboxOf(h.stores, t, id)).map((e) => e.outcome)).toEqual(['pending']);

    // The runtime itself is running: a new actor of the same kind reaches its idle state.
    const fresh = await b.spawn('agentSession', {}, { tenantId: t });
    const view = await b.waitFor(fresh.id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });
    expect(view.value).toBe('idle');
  });

  it('refuses an older version that has no migration path', async () => {
    h = await harness({ catalog: probeCatalog({ version: 1 }) });
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', {}, { tenantId: t });
    await h.runtime.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });
    await h.runtime.close();

    const refusals: Problem[] = [];
    await h.reopen({ catalog: probeCatalog({ version: 2 }), onRefused: (_id, p) => refusals.push(p) });
    expect(refusals.map((p) => p.code)).toEqual(['machine-version-unknown']);
    expect(refusals[0]?.detail).toContain('No migration from version 1');
    const r = await recordOf(h.stores, t, id);
    expect(r.machineVersion).toBe(1);
    expect(r.value).toBe('ready');
  });

  it('applies a registered migration on restore and runs the migrated snapshot', async () => {
    h = await harness({ catalog: probeCatalog({ version: 1 }) });
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', {}, { tenantId: t });
    await h.runtime.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });
    await h.runtime.close();
    expect((await recordOf(h.stores, t, id)).snapshot?.context).toMatchObject({ pings: 0 });

    const migrated: PersistedSnapshot[] = [];
    const v2 = probeCatalog({
      version: 2,
      migrations: {
        1: (s) => {
          migrated.push(s);
          const context = s.context as Record<string, unknown>;
          return { ...s, context: { ...context, pings: 40, migratedFrom: 1 } };
        },
      },
    });
    const refusals: Problem[] = [];
    const b = await h.reopen({ catalog: v2, onRefused: (_id, p) => refusals.push(p) });
    expect(refusals).toEqual([]);
    expect(migrated).toHaveLength(1);
    expect(migrated[0]?.value).toBe('ready');

    const pinged = await b.send(id, { type: 'PING' }, { tenantId: t, waitFor: 'applied', timeoutMs: 5000 });
    expect(pinged.view.machineVersion).toBe(2);
    const r = await recordOf(h.stores, t, id);
    expect(r.machineVersion).toBe(2);
    expect(r.snapshot?.context).toMatchObject({ pings: 41, migratedFrom: 1 });

    const done = await b.send(id, { type: 'GO' }, { tenantId: t, waitFor: 'done', timeoutMs: 5000 });
    expect(done.view.status).toBe('done');
    expect(done.view.value).toBe('done');
    expect(migrated).toHaveLength(1);
  });
});
