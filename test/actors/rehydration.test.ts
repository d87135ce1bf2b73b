/**
 * Invoked work in flight at a crash runs again on restore (at-least-once), from the ids kept
 * in the snapshot; because artifact ids derive from the actor id, the re-run rewrites the same
 * artifact and the result is exactly one. A stalled first owner cannot write after a takeover.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentResponder } from '../../src/actors/index.js';
import { systemClock } from '../../src/clock.js';
import { derivedId } from '../../src/ids.js';
import { heldIntent, killableClock, recordOf, registryWith } from './probes.js';
import { harness, tenant, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.cleanup());

describe('work in flight at a crash', () => {
  it('runs again on the new owner and leaves exactly one artifact', async () => {
    const { intent, work } = heldIntent();
    const clock = killableClock();
    h = await harness({ intents: registryWith([intent]), clock, leaseMs: 300, ownerId: 'own_crashed' });
    const t = tenant();
    const { id } = await h.runtime.spawn('execution', { intent: 'held_work', params: { label: 'once' } }, { tenantId: t });
    await work.started;
    expect(await h.stores.artifacts.countByActor(t, id)).toBe(1);
    const inFlight = await vi.waitFor(async () => {
      const r = await recordOf(h.stores, t, id);
      expect(r.value).toBe('working');
      return r;
    });
    // The invoked work's input in the snapshot is ids only: the parameters stay in the record.
    const children = inFlight.snapshot?.children as Record<string, { snapshot: { input: unknown; status: string } }>;
    expect(children.work?.snapshot.status).toBe('active');
    expect(children.work?.snapshot.input).toEqual({
      actorId: id,
      tenantId: t,
      realm: 'content',
      intent: 'held_work',
      solutionId: 'default',
      contractId: `ctr_mvp_${t}`,
    });
    expect(JSON.stringify(inFlight.snapshot)).not.toContain('once');
    clock.kill();

    const b = await h.reopen({ clock: systemClock, ownerId: 'own_successor' });
    await vi.waitFor(() => expect(work.calls).toBe(2), { timeout: 3000, interval: 10 });
    const taken = await recordOf(h.stores, t, id);
    expect(taken.ownerId).toBe('own_successor');
    expect(taken.epoch).toBe(inFlight.epoch + 1);

    // Both runs finish now: the stalled first owner's late result is fenced off by the epoch.
    work.release();
    const done = await b.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect(done.status).toBe('done');
    const artifactId = derivedId('art', id, 'heldResult', 1);
    expect(done.output).toEqual({ artifacts: [{ id: artifactId, kind: 'heldResult' }], error: null });
    expect(await h.stores.artifacts.countByActor(t, id)).toBe(1);
    const artifact = await h.stores.artifacts.get(t, artifactId);
    expect(artifact?.body).toEqual({ label: 'once' });
    expect(artifact?.lineage).toMatchObject({ actorId: id, actorKind: 'execution', intent: 'held_work', contractId: `ctr_mvp_${t}` });
    const final = await recordOf(h.stores, t, id);
    expect(final.epoch).toBe(inFlight.epoch + 1);
    expect(work.calls).toBe(2);
  });

  it('answers an agent turn in flight at a crash again, with one answer for the turn', async () => {
    let calls = 0;
    let started!: () => void;
    const firstStarted = new Promise<void>((r) => (started = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const respond: AgentResponder = async (ctx, turn) => {
      calls++;
      const ref = await ctx.emit('agentAnswer', { turn: turn.n, text: turn.text }, { n: turn.n });
      started();
      await released;
      return ref;
    };
    const clock = killableClock();
    h = await harness({ respond, clock, leaseMs: 300, ownerId: 'own_crashed' });
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', {}, { tenantId: t });
    await h.runtime.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });
    await h.runtime.send(id, { type: 'MESSAGE', text: 'how many policies?' }, { tenantId: t });
    await firstStarted;
    await vi.waitFor(async () => expect((await recordOf(h.stores, t, id)).value).toBe('responding'));
    clock.kill();

    const b = await h.reopen({ respond, clock: systemClock, ownerId: 'own_successor' });
    await vi.waitFor(() => expect(calls).toBe(2), { timeout: 3000, interval: 10 });
    release();
    const idle = await b.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });
    expect(idle.value).toBe('idle');
    const r = await recordOf(h.stores, t, id);
    const answerId = derivedId('art', id, 'agentAnswer', 1);
    expect(r.snapshot?.context).toMatchObject({ turns: [{ n: 1, text: 'how many policies?', answerId }] });
    expect(await h.stores.artifacts.countByActor(t, id)).toBe(1);
    expect(r.ownerId).toBe('own_successor');
  });
});
