/**
 * Failure paths that XState v5 gets wrong by default (DESIGN.md section 4): a throwing action
 * leaves `status: 'error'`, an unhandled event is dropped silently, and a grant is not JSON.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRuntime, type AgentResponder } from '../../src/actors/index.js';
import { systemClock } from '../../src/clock.js';
import { AppError } from '../../src/errors.js';
import type { Problem } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { MAX_QUEUED_MESSAGES } from '../../src/machines/agentSession.js';
import { permissiveMvpContract } from '../../src/machines/contract.js';
import type { Stores } from '../../src/persistence/ports.js';
import { bulkProbe, heldIntent, killableClock, mailboxOf, probeCatalog, recordOf, registryWith } from './probes.js';
import { harness, tenant, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.cleanup());

describe('an action that throws', () => {
  it('ends the actor failed with the error, and a restarted runtime leaves it alone', async () => {
    let explosions = 0;
    const catalog = probeCatalog({ onExplode: () => explosions++ });
    h = await harness({ catalog });
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', {}, { tenantId: t });
    await h.runtime.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });

    const sent = await h.runtime.send(id, { type: 'BOOM' }, { tenantId: t, waitFor: 'done', timeoutMs: 5000 });
    expect(explosions).toBe(1);
    expect(sent.view.status).toBe('failed');
    expect(sent.view.error).toMatchObject({ code: 'internal', type: 'urn:symphainy:problem:internal' });
    const failed = await recordOf(h.stores, t, id);
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('internal');
    expect(failed.snapshot?.status).toBe('error');
    expect(failed.ownerId).toBeNull();
    expect(failed.timers).toEqual([]);
    await h.runtime.close();

    const refusals: Problem[] = [];
    const b = await h.reopen({ onRefused: (_id, p) => refusals.push(p) });
    // The reopened runtime is live (it runs a new actor to its end) and never took the failed one.
    const other = await b.spawn('agentSession', {}, { tenantId: t });
    await b.send(other.id, { type: 'GO' }, { tenantId: t, waitFor: 'done', timeoutMs: 5000 });
    const after = await recordOf(h.stores, t, id);
    expect(after.version).toBe(failed.version);
    expect(after.epoch).toBe(failed.epoch);
    expect(after.ownerId).toBeNull();
    expect(after.status).toBe('failed');
    expect(explosions).toBe(1);
    expect(refusals).toEqual([]);
    const err = await b.send(id, { type: 'GO' }, { tenantId: t }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'actor-final' });
  });
});

describe('a guard that throws', () => {
  it('ends the actor failed instead of leaving its event pending forever', async () => {
    h = await harness({ catalog: probeCatalog() });
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', {}, { tenantId: t });
    await h.runtime.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });
    const sent = await h.runtime.send(id, { type: 'CHECK' }, { tenantId: t, waitFor: 'done', timeoutMs: 5000 });
    expect(sent.view.status).toBe('failed');
    expect(sent.view.error).toMatchObject({ code: 'internal' });
    const r = await recordOf(h.stores, t, id);
    expect(r.status).toBe('failed');
    expect(r.appliedSeq).toBe(1);
    expect(r.ownerId).toBeNull();
  });
});

describe('events the current state does not take', () => {
  it('refuses RESUME to a running bulk operation with event-not-accepted and records it on the event', async () => {
    const { intent, work } = bulkProbe(0);
    h = await harness({ intents: registryWith([], [intent]) });
    const t = tenant();
    const { id } = await h.runtime.spawn('bulkOperation', { intent: 'bulk_probe', params: { items: 20 } }, { tenantId: t });
    await work.started;

    const err = await h.runtime
      .send(id, { type: 'RESUME' }, { tenantId: t, waitFor: 'applied', timeoutMs: 5000 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'event-not-accepted', extras: { actorId: id, seq: 1 } });
    const entry = await h.runtime.event(id, 1, { tenantId: t });
    expect(entry.outcome).toBe('refused');
    expect(entry.event).toEqual({ type: 'RESUME' });
    expect(entry.error).toMatchObject({ code: 'event-not-accepted' });
    expect(entry.error?.detail).toContain('RESUME');
    const r = await recordOf(h.stores, t, id);
    expect(r.appliedSeq).toBe(1);
    expect(r.value).toBe('running');

    // The refusal changed nothing: the operation pauses, resumes and finishes.
    const paused = await h.runtime.send(id, { type: 'PAUSE' }, { tenantId: t, waitFor: { tag: 'waiting' }, timeoutMs: 5000 });
    expect(paused.view.status).toBe('waiting');
    expect(paused.view.value).toBe('paused');
    work.release();
    await h.runtime.send(id, { type: 'RESUME' }, { tenantId: t, waitFor: 'applied', timeoutMs: 5000 });
    const done = await h.runtime.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect(done.status).toBe('done');
    expect(done.output).toEqual({ items: { done: 20, failed: 0 }, error: null });
    expect((await mailboxOf(h.stores, t, id)).map((e) => [e.event.type, e.outcome])).toEqual([
      ['RESUME', 'refused'],
      ['PAUSE', 'applied'],
      ['RESUME', 'applied'],
    ]);
  });

  it('refuses a message beyond the queue of a busy agent (a guard that fails) with event-not-accepted', async () => {
    let releaseAnswer!: () => void;
    const held = new Promise<void>((r) => (releaseAnswer = r));
    const respond: AgentResponder = async (ctx, turn) => {
      await held;
      return ctx.emit('agentAnswer', { text: `answer ${turn.n}` }, { n: turn.n });
    };
    h = await harness({ respond });
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', {}, { tenantId: t });
    await h.runtime.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });
    // One message being answered, MAX_QUEUED_MESSAGES waiting: the queue is full.
    for (let i = 0; i <= MAX_QUEUED_MESSAGES; i++) await h.runtime.send(id, { type: 'MESSAGE', text: `m${i}` }, { tenantId: t });
    const err = await h.runtime
      .send(id, { type: 'MESSAGE', text: 'one too many' }, { tenantId: t, waitFor: 'applied', timeoutMs: 5000 })
      .catch((e: unknown) => e);
    const seq = MAX_QUEUED_MESSAGES + 2;
    expect(err).toMatchObject({ code: 'event-not-accepted', extras: { seq } });
    expect(await h.runtime.event(id, seq, { tenantId: t })).toMatchObject({ outcome: 'refused', error: { code: 'event-not-accepted' } });
    expect(await h.runtime.event(id, seq - 1, { tenantId: t })).toMatchObject({ outcome: 'applied', error: null });

    releaseAnswer();
    await h.runtime.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });
    const r = await recordOf(h.stores, t, id);
    const turns = (r.snapshot?.context as { turns: { text: string }[] }).turns.map((x) => x.text);
    expect(turns).toEqual(Array.from({ length: MAX_QUEUED_MESSAGES + 1 }, (_, i) => `m${i}`));
  });

  it('refuses END to an ended agent session with actor-final, before storing it', async () => {
    h = await harness();
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', {}, { tenantId: t });
    await h.runtime.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });
    await h.runtime.send(id, { type: 'END' }, { tenantId: t, waitFor: 'done', timeoutMs: 5000 });
    const err = await h.runtime.send(id, { type: 'END' }, { tenantId: t, waitFor: 'applied', timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'actor-final' });
    expect((await mailboxOf(h.stores, t, id)).map((e) => e.outcome)).toEqual(['applied']);
    expect((await recordOf(h.stores, t, id)).lastSeq).toBe(1);
  });
});

describe('the grant after a restart', () => {
  it('re-mints the grant on rehydration and rejects the execution when its contract expired meanwhile', async () => {
    const { intent, work } = heldIntent();
    const clock = killableClock();
    h = await harness({ intents: registryWith([intent]), clock, leaseMs: 300, ownerId: 'own_crashed' });
    const t = tenant();
    const { id } = await h.runtime.spawn('execution', { intent: 'held_work', params: { label: 'x' } }, { tenantId: t });
    await work.started;
    await vi.waitFor(async () => expect((await recordOf(h.stores, t, id)).value).toBe('working'));
    clock.kill();

    const contractId = `ctr_mvp_${t}`;
    expect(await h.stores.contracts.setExpiry(t, contractId, new Date(Date.now() - 1000).toISOString())).toBe(true);
    const b = await h.reopen({ clock: systemClock, ownerId: 'own_successor' });
    const view = await b.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect(view.status).toBe('rejected');
    expect(view.error).toMatchObject({ code: 'contract-expired' });
    expect(view.error?.detail).toContain(contractId);
    expect(view.contractId).toBe(contractId);
    // The handler never ran again without a grant.
    expect(work.calls).toBe(1);
    expect((await recordOf(h.stores, t, id)).ownerId).toBeNull();
  });

  it('re-mints the grant of an execution whose contract was revoked after it passed the door', async () => {
    const { intent, work } = heldIntent();
    h = await harness({ intents: registryWith([intent]) });
    const t = tenant();
    const { id } = await h.runtime.spawn('execution', { intent: 'held_work', params: { label: 'x' } }, { tenantId: t });
    await work.started;
    await h.runtime.close();
    const contractId = `ctr_mvp_${t}`;
    expect(await h.stores.contracts.revoke(t, contractId, new Date().toISOString())).toBe(true);

    work.release();
    const b = await h.reopen();
    const view = await b.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect(view.status).toBe('done');
    expect(work.grants).toEqual([contractId, contractId]);

    // A new execution, not yet past the door, is refused by the same revocation.
    const late = await b.spawn('execution', { intent: 'held_work', params: { label: 'y' }, contractId }, { tenantId: t });
    const refused = await b.waitFor(late.id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect(refused.status).toBe('rejected');
    expect(refused.error).toMatchObject({ code: 'contract-denied' });
    expect(work.calls).toBe(2);
  });
});

describe("a spawn's read of the tenant's contracts", () => {
  /** The harness's stores, with every contract-list call and actor creation recorded in `events`. */
  function recordingStores(base: Stores, events: string[], failNextList: { on: boolean }): Stores {
    return {
      ...base,
      contracts: {
        ...base.contracts,
        async list(tenantId) {
          events.push('list');
          if (failNextList.on) {
            failNextList.on = false;
            throw new Error('contract store unavailable');
          }
          return base.contracts.list(tenantId);
        },
      },
      actors: {
        ...base.actors,
        async create(record, claim) {
          events.push('create');
          const out = await base.actors.create(record, claim);
          events.push('created');
          return out;
        },
      },
    };
  }

  it('is made once, by the contract state, before the actor’s first write', async () => {
    const { intent, work } = heldIntent();
    h = await harness({ intents: registryWith([intent]) });
    const t = tenant();
    await h.stores.contracts.insertIfNone(permissiveMvpContract(t, Date.now()));
    const events: string[] = [];
    const runtime = createRuntime({ stores: recordingStores(h.stores, events, { on: false }), intents: registryWith([intent]), logger: silentLogger(), pollMs: 20 });
    await runtime.start();
    try {
      const { id } = await runtime.spawn('execution', { intent: 'held_work', params: { label: 'x' } }, { tenantId: t });
      work.release();
      const view = await runtime.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
      expect(view).toMatchObject({ status: 'done', contractId: `ctr_mvp_${t}` });
      // One read, before the write that stores the actor past its contract state.
      expect(events).toEqual(['list', 'create', 'created']);
      expect(work.grants).toEqual([`ctr_mvp_${t}`]);
    } finally {
      await runtime.close();
    }
  });

  it('fails the actor in its contract state when the read fails, and the next spawn reads again', async () => {
    const { intent, work } = heldIntent();
    h = await harness({ intents: registryWith([intent]) });
    const t = tenant();
    const events: string[] = [];
    const runtime = createRuntime({ stores: recordingStores(h.stores, events, { on: true }), intents: registryWith([intent]), logger: silentLogger(), pollMs: 20 });
    await runtime.start();
    try {
      const failed = await runtime.spawn('execution', { intent: 'held_work', params: { label: 'x' } }, { tenantId: t });
      const view = await runtime.waitFor(failed.id, { tenantId: t, until: 'done', timeoutMs: 5000 });
      expect(view.status).toBe('failed');
      expect(view.contractId).toBeNull();
      expect(work.calls).toBe(0);

      work.release();
      const next = await runtime.spawn('execution', { intent: 'held_work', params: { label: 'y' } }, { tenantId: t });
      expect(await runtime.waitFor(next.id, { tenantId: t, until: 'done', timeoutMs: 5000 })).toMatchObject({ status: 'done', contractId: `ctr_mvp_${t}` });
      expect(work.calls).toBe(1);
    } finally {
      await runtime.close();
    }
  });
});

describe('a spawn that is refused', () => {
  it('for its input records nothing for its tenant: no actor, no contract', async () => {
    h = await harness({ maxEventBytes: 1024 });
    const t = tenant();
    await expect(h.runtime.spawn('nope', {}, { tenantId: t })).rejects.toMatchObject({ code: 'kind-unknown' });
    await expect(h.runtime.spawn('execution', { intent: 'no_such_intent', params: {} }, { tenantId: t })).rejects.toMatchObject({ code: 'intent-unknown' });
    await expect(h.runtime.spawn('execution', { intent: 'profile_text', params: { text: 7 } }, { tenantId: t })).rejects.toMatchObject({ code: 'params-invalid' });
    await expect(h.runtime.spawn('execution', { intent: 'profile_text', params: { text: 'x'.repeat(2000) } }, { tenantId: t })).rejects.toMatchObject({
      code: 'payload-too-large',
    });
    expect(await h.stores.contracts.list(t)).toEqual([]);
    expect((await h.stores.actors.list({ tenantId: t, limit: 10 })).items).toEqual([]);
  });
});
