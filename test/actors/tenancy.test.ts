/**
 * Tenancy: another tenant's actor does not exist for a caller. Every runtime operation answers
 * `not-found` for it, exactly as for an id that was never issued, and changes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { mailboxOf, recordOf } from './probes.js';
import { harness, tenant, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.cleanup());

describe('tenancy', () => {
  it("answers not-found to another tenant for every operation on an actor, and lists none of it", async () => {
    h = await harness();
    const [owner, stranger] = [tenant(), tenant()];
    const { id } = await h.runtime.spawn('agentSession', {}, { tenantId: owner });
    await h.runtime.send(id, { type: 'MESSAGE', text: 'mine' }, { tenantId: owner, waitFor: { tag: 'waiting' }, timeoutMs: 5000 });
    const before = await recordOf(h.stores, owner, id);
    const neverIssued = newId('ags');

    const rt = h.runtime;
    const operations: [string, (actorId: string) => Promise<unknown>][] = [
      ['inspect', (x) => rt.inspect(x, { tenantId: stranger })],
      ['send', (x) => rt.send(x, { type: 'END' }, { tenantId: stranger })],
      ['send and wait', (x) => rt.send(x, { type: 'END' }, { tenantId: stranger, waitFor: 'done', timeoutMs: 1000 })],
      ['waitFor', (x) => rt.waitFor(x, { tenantId: stranger, until: 'done', timeoutMs: 1000 })],
      ['event', (x) => rt.event(x, 1, { tenantId: stranger })],
      ['stop', (x) => rt.stop(x, { tenantId: stranger })],
    ];
    for (const [name, op] of operations) {
      for (const target of [id, neverIssued]) {
        const err = await op(target).catch((e: unknown) => e);
        expect(err, `${name} ${target === id ? "another tenant's actor" : 'an unknown id'}`).toMatchObject({ code: 'not-found' });
      }
    }
    await expect(h.stores.actors.append(stranger, id, { type: 'END' }, new Date().toISOString())).rejects.toMatchObject({ code: 'not-found' });

    const listed = await rt.list({ tenantId: stranger, limit: 100 });
    expect(listed).toEqual({ items: [], nextCursor: null });
    expect((await rt.list({ tenantId: stranger, kind: 'agentSession', tag: 'waiting', limit: 100 })).items).toEqual([]);
    expect(await h.stores.actors.get(stranger, id)).toBeNull();

    // The owner's actor is untouched and still its own.
    const after = await recordOf(h.stores, owner, id);
    expect(after.version).toBe(before.version);
    expect(after.lastSeq).toBe(1);
    expect((await mailboxOf(h.stores, owner, id)).map((e) => e.event)).toEqual([{ type: 'MESSAGE', text: 'mine' }]);
    expect((await rt.list({ tenantId: owner, limit: 100 })).items.map((v) => v.id)).toEqual([id]);
    expect((await rt.inspect(id, { tenantId: owner })).status).toBe('waiting');
  });

  it('keeps artifacts to their tenant', async () => {
    h = await harness();
    const [owner, stranger] = [tenant(), tenant()];
    const { id } = await h.runtime.spawn('execution', { intent: 'profile_text', params: { text: 'x' } }, { tenantId: owner });
    const view = await h.runtime.waitFor(id, { tenantId: owner, until: 'done', timeoutMs: 5000 });
    const [ref] = (view.output as { artifacts: { id: string }[] }).artifacts;
    expect(await h.stores.artifacts.get(owner, ref!.id)).not.toBeNull();
    expect(await h.stores.artifacts.get(stranger, ref!.id)).toBeNull();
    expect(await h.stores.artifacts.countByActor(stranger, id)).toBe(0);
    expect((await h.stores.artifacts.list({ tenantId: stranger, executionId: id, limit: 10 })).items).toEqual([]);
  });
});
