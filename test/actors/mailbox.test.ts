/**
 * The durable mailbox: an accepted event is in the store before it is acknowledged and is
 * applied, in order, by whichever process owns the actor, even if the one that accepted it
 * died first. Every accepted event ends applied or refused with a reason, never pending.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { createRuntime, type Runtime } from '../../src/actors/index.js';
import { ID_PREFIX, machineInputOf, normalizeSpawn } from '../../src/actors/kinds.js';
import { systemClock } from '../../src/clock.js';
import { newId } from '../../src/ids.js';
import { createDefaultIntentRegistry } from '../../src/intents/index.js';
import { silentLogger } from '../../src/logger.js';
import { machineCatalog } from '../../src/machines/index.js';
import type { Stores } from '../../src/persistence/ports.js';
import { actorRecord } from '../persistence/fixtures/actorRecord.js';
import { heldContracts, heldIntent, killableClock, mailboxOf, recordOf, registryWith } from './probes.js';
import { harness, tenant, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.cleanup());

const at = () => new Date().toISOString();

async function idleSession(runtime: Runtime, t: string): Promise<string> {
  const { id } = await runtime.spawn('agentSession', {}, { tenantId: t });
  await runtime.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });
  return id;
}

/** The texts of the session's answered turns, once `n` turns are answered and it is idle. */
async function turnsWhenAnswered(stores: Stores, t: string, id: string, n: number): Promise<string[]> {
  return vi.waitFor(
    async () => {
      const r = await recordOf(stores, t, id);
      const turns = (r.snapshot?.context as { turns: { text: string }[] }).turns;
      expect(turns).toHaveLength(n);
      expect(r.value).toBe('idle');
      return turns.map((x) => x.text);
    },
    { timeout: 5000, interval: 10 },
  );
}

describe('durable mailbox', () => {
  it('applies events accepted while no process owned the actor, in order, once one restarts', async () => {
    h = await harness();
    const t = tenant();
    const id = await idleSession(h.runtime, t);
    await h.runtime.close();

    for (const text of ['one', 'two', 'three']) {
      await h.stores.actors.append(t, id, { type: 'MESSAGE', text }, at());
    }
    const before = await recordOf(h.stores, t, id);
    expect(before.lastSeq).toBe(3);
    expect(before.appliedSeq).toBe(0);
    expect((await mailboxOf(h.stores, t, id)).map((e) => e.outcome)).toEqual(['pending', 'pending', 'pending']);

    await h.reopen();
    expect(await turnsWhenAnswered(h.stores, t, id, 3)).toEqual(['one', 'two', 'three']);
    const mailbox = await mailboxOf(h.stores, t, id);
    expect(mailbox.map((e) => [e.seq, e.outcome])).toEqual([
      [1, 'applied'],
      [2, 'applied'],
      [3, 'applied'],
    ]);
    expect((await recordOf(h.stores, t, id)).appliedSeq).toBe(3);
    expect(await h.stores.artifacts.countByActor(t, id)).toBe(3);
  });

  it('applies events another process accepted for a crashed owner once it takes the actor over', async () => {
    const clock = killableClock();
    h = await harness({ clock, leaseMs: 300, ownerId: 'own_crashed' });
    const t = tenant();
    const id = await idleSession(h.runtime, t);
    clock.kill();

    const b = await h.reopen({ clock: systemClock, ownerId: 'own_successor' });
    const seqs: number[] = [];
    for (const text of ['alpha', 'beta', 'gamma']) seqs.push((await b.send(id, { type: 'MESSAGE', text }, { tenantId: t })).seq);
    expect(seqs).toEqual([1, 2, 3]);
    const accepted = await recordOf(h.stores, t, id);
    // Stored, not applied: the lease still names the dead owner.
    expect(accepted.ownerId).toBe('own_crashed');
    expect(accepted.appliedSeq).toBe(0);

    expect(await turnsWhenAnswered(h.stores, t, id, 3)).toEqual(['alpha', 'beta', 'gamma']);
    const after = await recordOf(h.stores, t, id);
    expect(after.ownerId).toBe('own_successor');
    expect(after.appliedSeq).toBe(3);
    expect((await mailboxOf(h.stores, t, id)).every((e) => e.outcome === 'applied')).toBe(true);
  });

  it('loses no acknowledged event when the runtime closes right after accepting it', async () => {
    h = await harness();
    const t = tenant();
    const id = await idleSession(h.runtime, t);
    const texts = ['first', 'second', 'third', 'fourth'];
    for (const text of texts) await h.runtime.send(id, { type: 'MESSAGE', text }, { tenantId: t });
    await h.runtime.close();

    await h.reopen();
    expect(await turnsWhenAnswered(h.stores, t, id, texts.length)).toEqual(texts);
    expect((await mailboxOf(h.stores, t, id)).map((e) => e.outcome)).toEqual(texts.map(() => 'applied'));
  });

  it('refuses with actor-final, at apply time, an event queued behind one that ends the actor', async () => {
    h = await harness();
    const t = tenant();
    const id = await idleSession(h.runtime, t);
    await h.runtime.close();
    await h.stores.actors.append(t, id, { type: 'END' }, at());
    await h.stores.actors.append(t, id, { type: 'MESSAGE', text: 'too late' }, at());

    const b = await h.reopen();
    const view = await b.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect(view.value).toBe('ended');
    const mailbox = await mailboxOf(h.stores, t, id);
    expect(mailbox.map((e) => [e.event.type, e.outcome, e.error?.code ?? null])).toEqual([
      ['END', 'applied', null],
      ['MESSAGE', 'refused', 'actor-final'],
    ]);
    await expect(b.event(id, 2, { tenantId: t })).resolves.toMatchObject({ outcome: 'refused', error: { code: 'actor-final' } });
  });

  it('refuses an accepted event the owner had not applied when the actor ended by itself, and answers its waiter', async () => {
    const { intent, work } = heldIntent();
    // The owner polls rarely, so it does not learn of the other process's event in time.
    h = await harness({ intents: registryWith([intent]), pollMs: 60_000 });
    const t = tenant();
    const { id } = await h.runtime.spawn('execution', { intent: 'held_work', params: { label: 'x' } }, { tenantId: t });
    await work.started;

    const b = await h.reopen({ pollMs: 20 });
    const waiting = b.send(id, { type: 'CANCEL' }, { tenantId: t, waitFor: 'applied', timeoutMs: 5000 }).catch((e: unknown) => e);
    await vi.waitFor(async () => expect((await recordOf(h.stores, t, id)).lastSeq).toBe(1));
    work.release();

    const err = await waiting;
    expect(err).toMatchObject({ code: 'actor-final', extras: { actorId: id, seq: 1 } });
    const r = await recordOf(h.stores, t, id);
    expect(r.status).toBe('done');
    expect(r.appliedSeq).toBe(1);
    const entry = await b.event(id, 1, { tenantId: t });
    expect(entry.outcome).toBe('refused');
    expect(entry.error).toMatchObject({ code: 'actor-final' });
  });
});

describe('events sent while the actor is at its contract state', () => {
  /**
   * An agent session stored at its contract state, unowned, as releases before the spawn
   * wrote at the first quiescent state stored every spawn (a record such a store still holds).
   */
  async function storedAtTheDoor(stores: Stores, t: string): Promise<string> {
    const id = newId(ID_PREFIX.agentSession);
    const input = normalizeSpawn('agentSession', {}, createDefaultIntentRegistry());
    const def = machineCatalog.agentSession;
    if (!def) throw new Error('the catalog has no agentSession');
    const snapshot = createActor(def.machine, { input: machineInputOf(id, t, input) }).getPersistedSnapshot() as Record<string, unknown>;
    await stores.actors.create(
      actorRecord(t, {
        id,
        kind: 'agentSession',
        value: 'contract',
        tags: ['contract'],
        machineId: def.machine.id,
        machineVersion: def.version,
        snapshot,
        input,
        epoch: 1,
      }),
    );
    return id;
  }

  it('wait for the contract decision and are then applied in order, not refused', async () => {
    h = await harness();
    // Contracts that answer only once the door opens: the actor stays in `contract`.
    const { stores: slowContracts, open: openDoor } = heldContracts(h.stores);
    const t = tenant();
    await h.runtime.close();
    const id = await storedAtTheDoor(h.stores, t);
    const b = await h.reopen({ stores: slowContracts });
    await b.send(id, { type: 'MESSAGE', text: 'early one' }, { tenantId: t });
    const early = await b
      .send(id, { type: 'MESSAGE', text: 'early two' }, { tenantId: t, waitFor: 'applied', timeoutMs: 200 })
      .catch((e: unknown) => e);
    expect(early).toMatchObject({ code: 'wait-timeout' });
    const atDoor = await recordOf(h.stores, t, id);
    expect(atDoor.value).toBe('contract');
    expect(atDoor.ownerId).toBe(b.ownerId);
    expect(atDoor.appliedSeq).toBe(0);
    expect((await mailboxOf(h.stores, t, id)).map((e) => e.outcome)).toEqual(['pending', 'pending']);

    openDoor();
    expect(await turnsWhenAnswered(h.stores, t, id, 2)).toEqual(['early one', 'early two']);
    expect((await mailboxOf(h.stores, t, id)).map((e) => e.outcome)).toEqual(['applied', 'applied']);
  });
});

describe('events the owner process accepted itself', () => {
  it('are applied without reading the mailbox back and answered from the commit, and one accepted elsewhere in between keeps its place', async () => {
    h = await harness();
    const reads = { pending: 0, event: 0 };
    const base = h.stores.actors;
    const stores: Stores = {
      ...h.stores,
      actors: {
        ...base,
        pending(...args) {
          reads.pending++;
          return base.pending(...args);
        },
        event(...args) {
          reads.event++;
          return base.event(...args);
        },
      },
    };
    // No polling during the test: only the sends wake the owner.
    const runtime = createRuntime({ stores, logger: silentLogger(), pollMs: 60_000 });
    await runtime.start();
    try {
      const t = tenant();
      const id = await idleSession(runtime, t);
      for (const text of ['one', 'two']) {
        const { view } = await runtime.send(id, { type: 'MESSAGE', text }, { tenantId: t, waitFor: { tag: 'waiting' }, timeoutMs: 5000 });
        expect(view.tags).toContain('waiting');
      }
      expect(reads).toEqual({ pending: 0, event: 0 });

      // Another process accepts an event (no nudge reaches this one); the next send here
      // finds the gap before its own and reads the mailbox, applying both in order.
      await h.stores.actors.append(t, id, { type: 'MESSAGE', text: 'elsewhere' }, at());
      const after = await runtime.send(id, { type: 'MESSAGE', text: 'after' }, { tenantId: t, waitFor: 'applied', timeoutMs: 5000 });
      expect(after.seq).toBe(4);
      expect(reads.pending).toBeGreaterThan(0);
      expect(await turnsWhenAnswered(h.stores, t, id, 4)).toEqual(['one', 'two', 'elsewhere', 'after']);
      expect((await mailboxOf(h.stores, t, id)).map((e) => [e.seq, e.outcome])).toEqual([
        [1, 'applied'],
        [2, 'applied'],
        [3, 'applied'],
        [4, 'applied'],
      ]);
    } finally {
      await runtime.close();
    }
  });
});
