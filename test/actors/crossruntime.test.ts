/**
 * Two processes on one store behave as one system: any runtime accepts events for any actor,
 * only the lease owner applies them, and a non-owner's waiters learn the outcome by polling.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentResponder } from '../../src/actors/index.js';
import { bulkProbe, mailboxOf, recordOf, registryWith } from './probes.js';
import { harness, tenant, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.cleanup());

/** A responder that notes which process answered. */
function responder(name: string, answeredBy: string[]): AgentResponder {
  return async (ctx, turn) => {
    answeredBy.push(name);
    return ctx.emit('agentAnswer', { by: name, turn: turn.n }, { n: turn.n });
  };
}

describe('two runtimes on one store', () => {
  it("applies an event sent through B on A's actor in A, and B's wait sees the result", async () => {
    const answeredBy: string[] = [];
    h = await harness({ ownerId: 'own_a', respond: responder('A', answeredBy) });
    const a = h.runtime;
    const b = await h.reopen({ ownerId: 'own_b', respond: responder('B', answeredBy) });
    const t = tenant();
    const { id } = await a.spawn('agentSession', {}, { tenantId: t });
    await a.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });
    const owned = await recordOf(h.stores, t, id);
    expect(owned.ownerId).toBe('own_a');

    const sent = await b.send(id, { type: 'MESSAGE', text: 'from b' }, { tenantId: t, waitFor: { tag: 'waiting' }, timeoutMs: 5000 });
    expect(sent.seq).toBe(1);
    expect(sent.view.value).toBe('idle');
    expect(sent.view.status).toBe('waiting');
    expect(answeredBy).toEqual(['A']);
    const after = await recordOf(h.stores, t, id);
    expect(after.ownerId).toBe('own_a');
    expect(after.epoch).toBe(owned.epoch);
    expect(after.appliedSeq).toBe(1);
    expect(sent.view.version).toBe(after.version);
    expect(after.snapshot?.context).toMatchObject({ turns: [{ n: 1, text: 'from b' }] });

    const ended = await b.send(id, { type: 'END' }, { tenantId: t, waitFor: 'done', timeoutMs: 5000 });
    expect(ended.view.status).toBe('done');
    expect(ended.view.output).toEqual({ turns: 1, error: null });
    expect((await mailboxOf(h.stores, t, id)).map((e) => e.outcome)).toEqual(['applied', 'applied']);
    // B never held the lease.
    expect((await recordOf(h.stores, t, id)).epoch).toBe(owned.epoch);
  });

  it("reports to B the refusal A recorded for an event the state does not take", async () => {
    const { intent, work } = bulkProbe(0);
    const intents = registryWith([], [intent]);
    h = await harness({ ownerId: 'own_a', intents });
    const b = await h.reopen({ ownerId: 'own_b', intents });
    const t = tenant();
    const { id } = await h.runtime.spawn('bulkOperation', { intent: 'bulk_probe', params: { items: 15 } }, { tenantId: t });
    await work.started;

    const err = await b.send(id, { type: 'RESUME' }, { tenantId: t, waitFor: 'applied', timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'event-not-accepted', extras: { seq: 1 } });
    expect(await b.event(id, 1, { tenantId: t })).toMatchObject({ outcome: 'refused', error: { code: 'event-not-accepted' } });

    const paused = await b.send(id, { type: 'PAUSE' }, { tenantId: t, waitFor: { tag: 'waiting' }, timeoutMs: 5000 });
    expect(paused.view.value).toBe('paused');
    work.release();
    await b.send(id, { type: 'RESUME' }, { tenantId: t, waitFor: 'applied', timeoutMs: 5000 });
    const done = await b.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect(done.output).toEqual({ items: { done: 15, failed: 0 }, error: null });
    const r = await recordOf(h.stores, t, id);
    expect(r.epoch).toBe(1);
  });

  it("lets each runtime own the actors it spawned; neither claims the other's live ones", async () => {
    h = await harness({ ownerId: 'own_a' });
    const b = await h.reopen({ ownerId: 'own_b' });
    const t = tenant();
    const fromA = (await h.runtime.spawn('agentSession', {}, { tenantId: t })).id;
    const fromB = (await b.spawn('agentSession', {}, { tenantId: t })).id;
    await b.waitFor(fromA, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });
    await h.runtime.waitFor(fromB, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });

    // Each sends to the other's actor; each owner applies.
    const viaA = await h.runtime.send(fromB, { type: 'END' }, { tenantId: t, waitFor: 'done', timeoutMs: 5000 });
    const viaB = await b.send(fromA, { type: 'END' }, { tenantId: t, waitFor: 'done', timeoutMs: 5000 });
    expect(viaA.view.value).toBe('ended');
    expect(viaB.view.value).toBe('ended');
    const [ra, rb] = [await recordOf(h.stores, t, fromA), await recordOf(h.stores, t, fromB)];
    expect([ra.epoch, rb.epoch]).toEqual([1, 1]);
  });
});
