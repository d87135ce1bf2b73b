/**
 * Several runtime processes on one store behave as one system (issue 4 acceptance), as one
 * suite run on each adapter: `describeCluster(name, freshStore)`. Every process is a real
 * child process (`fixtures/node.ts`) with its own connection; the test talks to them over
 * stdin/stdout, signals them, and audits the store through a connection of its own.
 *
 * The actors are counters (`fixtures/counter.ts`) whose context chains a hash over every
 * payload in the order applied, so "applied exactly once, in one order" is checked against
 * the mailbox: every entry applied, the count equal to the number of events, and the hash
 * equal to the hash of the payloads in sequence order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ActorView } from '../../src/actors/index.js';
import type { ActorRecord, Stores } from '../../src/persistence/ports.js';
import { crashMidway } from '../actors/crash.js';
import { counterContextOf, hashOf } from './fixtures/counter.js';
import type { CounterEventJson, NodeConfig } from './fixtures/protocol.js';
import { openStores } from './fixtures/store-spec.js';
import {
  adopt,
  delay,
  killAllNodes,
  mailboxOf,
  recordsOf,
  startNode,
  tenant,
  until,
  type ClusterNode,
  type TestStore,
} from './nodes.js';

const LEASE_MS = 1500;
/** Polling of the process that takes over or serves the waits. */
const POLL_MS = 100;
/** An owner that never polls: what another process accepts for its actors stays pending. */
const DEAF_POLL_MS = 60_000;
/** Room for one store read and a loaded scheduler, beyond the waiter's polling interval. */
const WAIT_SLACK_MS = 150;
/** Test 1: events, half through each process. */
const EVENTS = 1000;
const WAIT_MS = 30_000;

type NodeOptions = Partial<Omit<NodeConfig, 'store' | 'ownerId'>>;

interface Finished {
  views: ActorView[];
}

function add(p: string): CounterEventJson {
  return { type: 'ADD', p };
}

/** All actors of the tenant, one page, as `list` reads them (with the live mailbox head and lease). */
async function allRecords(stores: Stores, tenantId: string): Promise<ActorRecord[]> {
  return (await stores.actors.list({ tenantId, limit: 1000 })).items;
}

/** The given actors, each as `get` reads it. */
async function liveRecords(stores: Stores, tenantId: string, ids: readonly string[]): Promise<ActorRecord[]> {
  return recordsOf(stores, tenantId, ids);
}

/** How many mailbox events of the actors are still pending. */
async function pendingCount(stores: Stores, tenantId: string, ids: readonly string[]): Promise<number> {
  const boxes = await Promise.all(ids.map((id) => mailboxOf(stores, tenantId, id)));
  return boxes.flat().filter((e) => e.outcome === 'pending').length;
}

/**
 * Every mailbox event of the actor was applied, the `ADD` payloads are exactly `sent` (each
 * once), and the counter applied them once each in sequence order. Returns the payloads in
 * sequence order.
 */
async function expectAppliedOnceInOrder(stores: Stores, tenantId: string, id: string, sent: readonly string[]): Promise<string[]> {
  const mailbox = await mailboxOf(stores, tenantId, id);
  expect(mailbox.map((e) => e.seq), `sequence numbers of ${id}`).toEqual(mailbox.map((_, i) => i + 1));
  expect(mailbox.filter((e) => e.outcome !== 'applied'), `events of ${id} not applied`).toEqual([]);
  const payloads = mailbox.filter((e) => e.event.type === 'ADD').map((e) => String(e.event.p));
  expect([...payloads].sort(), `payloads of ${id}`).toEqual([...sent].sort());
  const record = await stores.actors.get(tenantId, id);
  expect(record?.status).toBe('done');
  expect(record?.appliedSeq).toBe(record?.lastSeq);
  const context = counterContextOf(record?.snapshot ?? null);
  expect(context?.count, `applied count of ${id}`).toBe(sent.length);
  expect(context?.hash, `applied order of ${id}`).toBe(hashOf(payloads));
  expect(context?.last).toEqual(payloads.slice(-5));
  expect(record?.output).toEqual({ count: sent.length, hash: hashOf(payloads) });
  return payloads;
}

/**
 * Reads the tenant's actors every 50 ms until stopped and reports every actor seen to go
 * backwards: a lower epoch, version, count of applied events or count of ticks than before.
 */
function watchRegressions(stores: Stores, tenantId: string): { stop(): Promise<string[]> } {
  const found: string[] = [];
  const seen = new Map<string, { epoch: number; version: number; count: number; ticks: number }>();
  let watching = true;
  const loop = (async () => {
    while (watching) {
      for (const r of await allRecords(stores, tenantId)) {
        const c = counterContextOf(r.snapshot);
        const now = { epoch: r.epoch, version: r.version, count: c?.count ?? 0, ticks: c?.ticks ?? 0 };
        const last = seen.get(r.id);
        if (last && (now.epoch < last.epoch || now.version < last.version || now.count < last.count || now.ticks < last.ticks)) {
          found.push(`${r.id}: ${JSON.stringify(last)} -> ${JSON.stringify(now)}`);
        }
        seen.set(r.id, now);
      }
      await delay(50);
    }
  })();
  return {
    async stop() {
      watching = false;
      await loop;
      return found;
    },
  };
}

/**
 * Waits until `node` has reported a successful final commit of each actor. A waiter can see a
 * final state in the store (and answer) before the owner's commit call returns and prints its
 * trace line, so a test reads the traces only after this.
 */
async function finalCommitsReported(node: ClusterNode, ids: readonly string[]): Promise<void> {
  await until(
    `${node.ownerId} to report the final commit of every actor`,
    async () => (ids.every((id) => node.commits.some((c) => c.actorId === id && c.ok && c.status === 'done')) ? true : undefined),
    WAIT_MS,
  );
}

function stats(xs: readonly number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0] ?? NaN, median: s[Math.floor(s.length / 2)] ?? NaN, max: s[s.length - 1] ?? NaN };
}

export function describeCluster(name: string, freshStore: () => TestStore): void {
  describe(`runtime processes on one ${name} store`, () => {
    const cleanups: (() => Promise<void> | void)[] = [];

    afterEach(async () => {
      killAllNodes();
      for (const fn of cleanups.splice(0).reverse()) await fn();
    });

    /** A fresh store for this test, and the test's own connection to it (closed, then removed, afterwards). */
    async function setup(): Promise<{ store: TestStore; audit: Stores; node: (ownerId: string, options?: NodeOptions) => Promise<ClusterNode> }> {
      const store = freshStore();
      cleanups.push(() => store.remove());
      const audit = await openStores(store.spec);
      cleanups.push(() => audit.close());
      const node = (ownerId: string, options: NodeOptions = {}) =>
        startNode({ store: store.spec, ownerId, leaseMs: LEASE_MS, pollMs: POLL_MS, traceCommits: true, lifetimeMs: 120_000, ...options });
      return { store, audit, node };
    }

    it('applies 1,000 events sent alternately through two processes exactly once, in one order', async () => {
      const { audit, node } = await setup();
      const [a, b] = await Promise.all([node(`a-${name}`, { pollMs: 50 }), node(`b-${name}`, { pollMs: 50 })]);
      const t = tenant();
      const { ids } = await a.ask<{ ids: string[] }>({ op: 'spawn', tenantId: t, count: 1 });
      const id = ids[0]!;

      // Event i goes through A when i is odd, through B when even, each once the one before
      // it was accepted: the store hands out sequence numbers in sending order.
      const sent: string[] = [];
      for (let i = 1; i <= EVENTS; i++) {
        const via = i % 2 === 1 ? a : b;
        const p = `e${i}-${via === a ? 'a' : 'b'}`;
        const { seq } = await via.ask<{ seq: number }>({ op: 'send', tenantId: t, actorId: id, event: add(p) });
        expect(seq, p).toBe(i);
        sent.push(p);
      }
      const { views } = await b.ask<Finished>({ op: 'finishAll', tenantId: t, actorIds: [id], timeoutMs: WAIT_MS });
      expect(views[0]?.status).toBe('done');
      await finalCommitsReported(a, [id]);

      // Applied in sequence order, which is the sending order.
      const order = await expectAppliedOnceInOrder(audit, t, id, sent);
      expect(order).toEqual(sent);
      const record = await audit.actors.get(t, id);
      // One owner throughout: never handed over, and only it wrote.
      expect(record?.epoch).toBe(1);
      expect(b.commits).toEqual([]);
      expect(a.commits.filter((c) => !c.ok)).toEqual([]);
      expect(a.commits.at(-1)).toMatchObject({ actorId: id, epoch: 1, result: String(record?.version), status: 'done' });
      await b.ask({ op: 'close' });
    }, 150_000);

    it('hands the live actors of a SIGKILLed owner to the other process within the lease, losing no event', async () => {
      const { audit, node } = await setup();
      const [a, b] = await Promise.all([node(`a-${name}`, { pollMs: DEAF_POLL_MS }), node(`b-${name}`)]);
      const t = tenant();
      const { ids } = await a.ask<{ ids: string[] }>({ op: 'spawn', tenantId: t, count: 50 });
      const sent = new Map<string, string[]>(ids.map((id) => [id, []]));
      const sendAll = async (via: ClusterNode, label: string, perActor: number) => {
        const sends = ids.flatMap((id) => Array.from({ length: perActor }, (_, k) => ({ actorId: id, event: add(`${label}${k}-${id}`) })));
        await via.ask({ op: 'sendAll', tenantId: t, sends });
        for (const s of sends) sent.get(s.actorId)!.push((s.event as { p: string }).p);
      };
      // Through the owner (applied without a poll: the owner drains what it accepted), then
      // through the other process (the owner never polls, so these stay pending).
      await sendAll(a, 'a', 1);
      await until(
        'the owner to apply what it accepted',
        async () => ((await liveRecords(audit, t, ids)).every((r) => r.appliedSeq === 1) ? true : undefined),
        WAIT_MS,
      );
      await sendAll(b, 'b', 2);

      const before = await liveRecords(audit, t, ids);
      expect(before.every((r) => r.ownerId === a.ownerId && r.epoch === 1 && r.status === 'waiting')).toBe(true);
      expect(before.reduce((n, r) => n + r.lastSeq - r.appliedSeq, 0), 'events beyond the applied marks at the kill').toBe(100);
      expect(await pendingCount(audit, t, ids), 'events pending at the kill').toBe(100);
      const leaseEnds = Math.max(...before.map((r) => r.leaseUntil));

      const killedAt = Date.now();
      a.signal('SIGKILL');
      // More events while nobody applies anything.
      const during = sendAll(b, 'k', 2);
      // When the survivor's claims (as it reported them) had taken the last of the actors: the
      // store of this test holds no others.
      const takenAt = await until(
        'the other process to claim every actor',
        async () => {
          let claimed = 0;
          return b.claims.find((c) => (claimed += c.count) >= ids.length)?.at;
        },
        WAIT_MS,
      );
      await during;
      expect((await allRecords(audit, t)).map((r) => r.ownerId)).toEqual(ids.map(() => b.ownerId));
      const handoverMs = takenAt - killedAt;
      console.log(
        `[${name}] SIGKILL handover of 50 actors: ${handoverMs} ms after the kill ` +
          `(lease ${LEASE_MS} ms, poll ${POLL_MS} ms; ${takenAt - leaseEnds} ms after the last lease ran out)`,
      );
      expect((await a.closed).signal).toBe('SIGKILL');
      // The dead owner had at most one lease left; the survivor holds everything within one
      // more lease time (claiming 50 actors one by one, while events keep arriving).
      expect(handoverMs).toBeLessThan(2 * LEASE_MS + POLL_MS);

      const { views } = await b.ask<Finished>({ op: 'finishAll', tenantId: t, actorIds: ids, timeoutMs: WAIT_MS });
      expect(views.every((v) => v.status === 'done')).toBe(true);
      for (const id of ids) await expectAppliedOnceInOrder(audit, t, id, sent.get(id)!);
      for (const r of await liveRecords(audit, t, ids)) expect(r.epoch, r.id).toBe(2);
      expect(b.commits.filter((c) => !c.ok)).toEqual([]);
      await b.ask({ op: 'close' });
    }, 60_000);

    it('fences an owner stalled (SIGSTOP) past its lease: none of its writes lands after the takeover, nothing is lost', async () => {
      const { audit, node } = await setup();
      const [a, b] = await Promise.all([node(`a-${name}`, { pollMs: DEAF_POLL_MS, renewDelayMs: 200 }), node(`b-${name}`)]);
      const t = tenant();
      // Ticking counters: each commits by itself every second, so the stalled owner has writes
      // due the moment it wakes.
      const { ids } = await a.ask<{ ids: string[] }>({ op: 'spawn', tenantId: t, count: 20, tickMs: 1000 });
      const sent = new Map<string, string[]>(ids.map((id) => [id, []]));
      const sendAll = async (via: ClusterNode, label: string, perActor: number) => {
        const sends = ids.flatMap((id) => Array.from({ length: perActor }, (_, k) => ({ actorId: id, event: add(`${label}${k}-${id}`) })));
        await via.ask({ op: 'sendAll', tenantId: t, sends });
        for (const s of sends) sent.get(s.actorId)!.push((s.event as { p: string }).p);
      };
      await sendAll(a, 'a', 1);
      await sendAll(b, 'b', 2);

      const regressions = watchRegressions(audit, t);
      cleanups.push(async () => void (await regressions.stop().catch(() => [])));

      const before = await liveRecords(audit, t, ids);
      expect(before.every((r) => r.ownerId === a.ownerId && r.epoch === 1)).toBe(true);
      const leaseEnds = new Map(before.map((r) => [r.id, r.leaseUntil]));
      const stoppedAt = Date.now();
      a.signal('SIGSTOP');
      await sendAll(b, 's', 2);
      // The other process took every actor over and applied everything accepted so far.
      await until(
        'the other process to own every actor and apply its mailbox',
        async () => {
          const rs = await liveRecords(audit, t, ids);
          return rs.every((r) => r.ownerId === b.ownerId && r.epoch === 2 && r.appliedSeq === r.lastSeq) ? true : undefined;
        },
        WAIT_MS,
        200,
      );
      const stalledMs = Date.now() - stoppedAt;
      // Taken over only once the stalled owner's lease had run out: the new owner's first
      // write of each actor comes after that lease's end.
      for (const id of ids) {
        const first = b.commits.find((c) => c.actorId === id && c.ok);
        expect(first?.at, id).toBeGreaterThanOrEqual(leaseEnds.get(id)!);
      }
      a.signal('SIGCONT');
      // The woken process is asked to take more events for actors it still believes it owns.
      await sendAll(a, 'w', 1);
      // Let its overdue ticks, renewal and drains play out (a renewal comes every lease/3).
      await delay(LEASE_MS);

      const { views } = await b.ask<Finished>({ op: 'finishAll', tenantId: t, actorIds: ids, timeoutMs: WAIT_MS });
      expect(views.every((v) => v.status === 'done')).toBe(true);
      await finalCommitsReported(b, ids);
      const backwards = await regressions.stop();

      // Commits called after the stop were made after the wake (a stopped process does
      // nothing). One called before it may have had its write on the wire when the process
      // stopped: the server applied it then, before the takeover, which continued from it.
      const stale = a.commits.filter((c) => c.started >= stoppedAt);
      const inFlight = a.commits.filter((c) => c.started < stoppedAt && c.at >= stoppedAt);
      const woke = a.renewals.filter((r) => r.started >= stoppedAt);
      console.log(
        `[${name}] SIGSTOP for ${stalledMs} ms: the woken owner attempted ${stale.length} writes for ` +
          `${new Set(stale.map((c) => c.actorId)).size} actors, ${stale.filter((c) => c.ok).length} landed ` +
          `(${[...new Set(stale.map((c) => c.result))].join(', ')}); ${inFlight.length} in flight at the stop ` +
          `(${inFlight.map((c) => c.result).join(', ')}); its renewals after the wake found ${woke.map((r) => `${r.lost} of ${r.held}`).join(', ') || 'none to renew'} leases lost`,
      );
      expect(stale.length, 'writes the woken owner attempted').toBeGreaterThan(0);
      expect(stale.filter((c) => c.ok), 'writes of the stalled owner that landed').toEqual([]);
      expect(stale.every((c) => c.epoch === 1 && c.result === 'lease-lost')).toBe(true);
      for (const c of inFlight.filter((x) => x.ok)) {
        // Landed before the takeover: the new owner's first write comes after it.
        const taken = b.commits.find((x) => x.actorId === c.actorId && x.ok);
        expect(Number(taken?.result), `${c.actorId}: the new owner's first version after the in-flight ${c.result}`).toBeGreaterThan(Number(c.result));
        expect(taken!.started, c.actorId).toBeGreaterThanOrEqual(c.started);
      }
      // Every renewal it sent after the wake found every lease it still held lost (it may have
      // sent none: its refused commits had already dropped every actor).
      expect(woke.filter((r) => r.lost !== r.held), 'renewals after the wake that kept a lease').toEqual([]);
      expect(a.commits.filter((c) => c.ok).every((c) => c.epoch === 1 && c.started < stoppedAt)).toBe(true);
      expect(backwards, 'actors that went backwards').toEqual([]);

      for (const r of await liveRecords(audit, t, ids)) {
        // The last write of every actor is the new owner's.
        expect(r.epoch, r.id).toBe(2);
        const last = b.commits.filter((c) => c.actorId === r.id && c.ok).at(-1);
        expect(last, r.id).toMatchObject({ epoch: 2, result: String(r.version), status: 'done' });
      }
      for (const id of ids) await expectAppliedOnceInOrder(audit, t, id, sent.get(id)!);
      await b.ask({ op: 'close' });
      a.signal('SIGKILL');
    }, 60_000);

    it("answers a waitFor served by the process that does not own the actor within its polling bound of the owner's commit", async () => {
      const { audit, node } = await setup();
      const [a, b] = await Promise.all([node(`a-${name}`, { pollMs: 50 }), node(`b-${name}`)]);
      const t = tenant();
      const count = 10;
      const { ids } = await a.ask<{ ids: string[] }>({ op: 'spawn', tenantId: t, count });
      const watches = ids.map((id) => b.watch(t, id, WAIT_MS));
      await Promise.all(watches.map((w) => w.armed));
      // Commits land at every phase of the waiter's polling period.
      for (const id of ids) {
        await a.ask({ op: 'send', tenantId: t, actorId: id, event: { type: 'FINISH' } });
        await delay(POLL_MS / count + 7);
      }
      const answers = await Promise.all(watches.map((w) => w.result));
      await finalCommitsReported(a, ids);
      const latencies = ids.map((id, i) => {
        const commit = a.commits.find((c) => c.actorId === id && c.ok && c.status === 'done');
        expect(commit, id).toBeDefined();
        expect(answers[i]).toMatchObject({ status: 'done', version: Number(commit?.result) });
        // Never before the commit's write: it landed between the call and the answer.
        expect(answers[i]!.at, id).toBeGreaterThanOrEqual(commit!.started);
        return answers[i]!.at - commit!.at;
      });
      const s = stats(latencies);
      // Measured from when the commit call returned, which is after its write landed (a
      // waiter can see the write before the call returns: negative figures).
      console.log(`[${name}] waitFor on the non-owner after the owner's commit (poll ${POLL_MS} ms): min ${s.min} ms, median ${s.median} ms, max ${s.max} ms`);
      expect(s.max).toBeLessThan(POLL_MS + WAIT_SLACK_MS);
      for (const r of await allRecords(audit, t)) expect(r.status).toBe('done');
      expect(b.commits).toEqual([]);
      await Promise.all([a.ask({ op: 'close' }), b.ask({ op: 'close' })]);
    }, 60_000);

    it('finishes every execution once and loses no accepted event after its process is SIGKILLed midway', async () => {
      const store = freshStore();
      cleanups.push(() => store.remove());
      await crashMidway({ store: store.spec, tenantId: tenant(), waitMs: WAIT_MS, onWorker: adopt, track: (close) => cleanups.push(close) });
    }, 90_000);
  });
}
