/**
 * Delayed (`after`) transitions across restarts: XState's persisted snapshot does not carry a
 * scheduled event's deadline, so the runtime stores it beside the snapshot and re-arms it
 * for the time left (DESIGN.md section 4, "Traps in XState v5 persistence").
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/clock.js';
import type { ActorRecord } from '../../src/persistence/ports.js';
import { PROBE_AFTER_EVENT, elapse, killableClock, probeCatalog, recordOf } from './probes.js';
import { harness, tenant, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.cleanup());

const IDLE_EVENT = 'xstate.after.idleTimeout.agentSession.idle';
/** How late past its deadline a re-armed delay may commit (event loop and one SQLite write). */
const LATE_MS = 300;
/**
 * Node runs timers on the event loop's cached clock, which can trail wall time by a few ms,
 * so a timer may fire a hair before its wall-clock deadline.
 */
const EARLY_MS = 5;

async function storedWithTimer(hh: Harness, t: string, id: string, value: string): Promise<ActorRecord> {
  return vi.waitFor(
    async () => {
      const r = await recordOf(hh.stores, t, id);
      expect(r.value).toBe(value);
      expect(r.timers).toHaveLength(1);
      return r;
    },
    { timeout: 5000, interval: 10 },
  );
}

describe('delayed transitions across restarts', () => {
  it('stores the idle timeout of an agent session as an absolute deadline', async () => {
    h = await harness();
    const t = tenant();
    const before = Date.now();
    const { id } = await h.runtime.spawn('agentSession', { idleTimeoutMs: 1500 }, { tenantId: t });
    const r = await storedWithTimer(h, t, id, 'idle');
    const after = Date.now();
    expect(r.status).toBe('waiting');
    expect(r.timers[0]?.event).toEqual({ type: IDLE_EVENT });
    expect(r.timers[0]?.deadline).toBeGreaterThanOrEqual(before + 1500);
    expect(r.timers[0]?.deadline).toBeLessThanOrEqual(after + 1500);
  });

  it('fires at the original deadline after a crash and a takeover by another process', async () => {
    const clock = killableClock();
    h = await harness({ clock, leaseMs: 300, ownerId: 'own_crashed' });
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', { idleTimeoutMs: 2000 }, { tenantId: t });
    const stored = await storedWithTimer(h, t, id, 'idle');
    const deadline = stored.timers[0]!.deadline;

    // The process dies 600 ms into the 2 s delay; its lease lapses 300 ms later.
    await elapse(deadline - 1400 - Date.now());
    clock.kill();
    const b = await h.reopen({ clock: systemClock, ownerId: 'own_successor' });

    const taken = await vi.waitFor(
      async () => {
        const r = await recordOf(h.stores, t, id);
        expect(r.ownerId).toBe('own_successor');
        expect(r.version).toBeGreaterThan(stored.version);
        return r;
      },
      { timeout: 3000, interval: 10 },
    );
    // Taken over well before the deadline, and the stored deadline was kept, not restarted.
    expect(Date.now()).toBeLessThan(deadline - 500);
    expect(taken.epoch).toBe(stored.epoch + 1);
    expect(taken.timers).toEqual(stored.timers);
    expect(taken.status).toBe('waiting');

    const done = await b.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect(done.status).toBe('done');
    expect(done.value).toBe('ended');
    const final = await recordOf(h.stores, t, id);
    const firedAt = Date.parse(final.updatedAt);
    expect(firedAt).toBeGreaterThanOrEqual(deadline - EARLY_MS);
    // Restarted from zero it would fire at takeover + 2 s, at least 900 ms past the deadline.
    expect(firedAt).toBeLessThan(deadline + LATE_MS);
    expect(final.timers).toEqual([]);
    expect(final.ownerId).toBeNull();
  });

  it('fires at the original deadline after a clean restart', async () => {
    h = await harness();
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', { idleTimeoutMs: 1500 }, { tenantId: t });
    const stored = await storedWithTimer(h, t, id, 'idle');
    const deadline = stored.timers[0]!.deadline;
    await elapse(deadline - 1000 - Date.now());
    await h.runtime.close();
    expect((await recordOf(h.stores, t, id)).ownerId).toBeNull();

    const b = await h.reopen();
    const restored = await recordOf(h.stores, t, id);
    expect(restored.ownerId).toBe(b.ownerId);
    expect(restored.timers).toEqual(stored.timers);

    const done = await b.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect(done.value).toBe('ended');
    const firedAt = Date.parse((await recordOf(h.stores, t, id)).updatedAt);
    expect(firedAt).toBeGreaterThanOrEqual(deadline - EARLY_MS);
    expect(firedAt).toBeLessThan(deadline + LATE_MS);
  });

  it('fires a delay whose deadline passed while no process ran, at once on restore', async () => {
    h = await harness();
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', { idleTimeoutMs: 1000 }, { tenantId: t });
    const stored = await storedWithTimer(h, t, id, 'idle');
    const deadline = stored.timers[0]!.deadline;
    await h.runtime.close();
    await elapse(deadline + 200 - Date.now());
    expect((await recordOf(h.stores, t, id)).status).toBe('waiting');

    const reopenedAt = Date.now();
    const b = await h.reopen();
    const done = await b.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect(done.value).toBe('ended');
    const firedAt = Date.parse((await recordOf(h.stores, t, id)).updatedAt);
    expect(firedAt - reopenedAt).toBeLessThan(LATE_MS);
  });

  it('moves the stored deadline when the delayed state is re-entered, and fires at the new one after a restart', async () => {
    h = await harness({ catalog: probeCatalog() });
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', { idleTimeoutMs: 1500 }, { tenantId: t });
    const first = await storedWithTimer(h, t, id, 'ready');
    expect(first.timers[0]?.event).toEqual({ type: PROBE_AFTER_EVENT });
    const firstDeadline = first.timers[0]!.deadline;

    await elapse(firstDeadline - 1000 - Date.now());
    const pingedAt = Date.now();
    await h.runtime.send(id, { type: 'PING' }, { tenantId: t, waitFor: 'applied', timeoutMs: 5000 });
    const pinged = await recordOf(h.stores, t, id);
    expect(pinged.value).toBe('ready');
    expect(pinged.snapshot?.context).toMatchObject({ pings: 1 });
    const newDeadline = pinged.timers[0]!.deadline;
    expect(newDeadline).toBeGreaterThanOrEqual(pingedAt + 1500);
    expect(newDeadline).toBeGreaterThan(firstDeadline + 400);

    await h.runtime.close();
    const b = await h.reopen();
    const done = await b.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect(done.value).toBe('expired');
    const firedAt = Date.parse((await recordOf(h.stores, t, id)).updatedAt);
    expect(firedAt).toBeGreaterThanOrEqual(newDeadline - EARLY_MS);
    expect(firedAt).toBeLessThan(newDeadline + LATE_MS);
  });

  it('drops the stored deadline once the delayed state is left by an event', async () => {
    h = await harness({ catalog: probeCatalog() });
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', { idleTimeoutMs: 60_000 }, { tenantId: t });
    await storedWithTimer(h, t, id, 'ready');
    const sent = await h.runtime.send(id, { type: 'GO' }, { tenantId: t, waitFor: 'done', timeoutMs: 5000 });
    expect(sent.view.status).toBe('done');
    expect(sent.view.value).toBe('done');
    expect((await recordOf(h.stores, t, id)).timers).toEqual([]);
  });
});
