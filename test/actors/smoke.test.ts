import { afterEach, describe, expect, it } from 'vitest';
import { harness, tenant, type Harness } from './helpers.js';
import { heldIntent, instantIntent, registryWith } from './probes.js';

let h: Harness;
afterEach(async () => h?.cleanup());

describe('runtime', () => {
  it('runs profile_text through the contract to done with one artifact', async () => {
    h = await harness();
    const t = tenant();
    const { id } = await h.runtime.spawn('execution', { intent: 'profile_text', params: { text: 'a b\nc' } }, { tenantId: t });
    const view = await h.runtime.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect(view.status).toBe('done');
    expect(view.contractId).toBe(`ctr_mvp_${t}`);
    const arts = await h.stores.artifacts.list({ tenantId: t, executionId: id, limit: 10 });
    expect(arts.items).toHaveLength(1);
    expect(arts.items[0]?.body).toMatchObject({ lines: 2, words: 3 });
  });
});

describe('snapshots hold state, not data', () => {
  it('keeps intent parameters in the actor record, never in the persisted snapshot', async () => {
    h = await harness();
    const t = tenant();
    const secret = 'policy-holder-SSN-123-45-6789 '.repeat(50);
    const { id } = await h.runtime.spawn('execution', { intent: 'profile_text', params: { text: secret } }, { tenantId: t });
    await h.runtime.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    const record = await h.stores.actors.get(t, id);
    const snapshot = JSON.stringify(record?.snapshot);
    expect(snapshot).not.toContain('SSN');
    expect(snapshot.length).toBeLessThan(4000);
    expect(JSON.stringify(record?.input)).toContain('SSN');
  });
});

describe('commits', () => {

  it('writes the steps that settle before the event loop turns in one commit, and a step that waits on I/O in its own', async () => {
    const held = heldIntent();
    h = await harness({ intents: registryWith([instantIntent, held.intent]) });
    const t = tenant();
    const values = async (id: string) => (await h.stores.actors.history(t, id, -1, 100)).entries.map((e) => [e.version, e.view.value]);

    // contract -> working -> done without I/O in between: the spawn's one write holds done.
    const fast = await h.runtime.spawn('execution', { intent: 'instant_work', params: {} }, { tenantId: t });
    const done = await h.runtime.waitFor(fast.id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect(done.version).toBe(0);
    expect(done.contractId).toBe(`ctr_mvp_${t}`);
    expect(await values(fast.id)).toEqual([[0, 'done']]);

    // Work that waits: its working state is committed while it waits, then done.
    const slow = await h.runtime.spawn('execution', { intent: 'held_work', params: { label: 'x' } }, { tenantId: t });
    await held.work.started;
    const working = await h.runtime.waitFor(slow.id, { tenantId: t, until: { tag: 'data' }, timeoutMs: 5000 });
    expect(working.contractId).toBe(`ctr_mvp_${t}`);
    held.work.release();
    const ended = await h.runtime.waitFor(slow.id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect([working.version, ended.version]).toEqual([0, 1]);
    expect(await values(slow.id)).toEqual([
      [0, 'working'],
      [1, 'done'],
    ]);
  });
});
