/**
 * @module test/contract/stores.contract
 * The persistence-port contract (DESIGN.md section 5): one suite that every adapter runs
 * unchanged. An adapter's test file calls {@link describeStores} with a factory that opens
 * a fresh, empty store; a behaviour only one adapter shows is a bug in that adapter.
 * Adapter-only checks (SQLite across processes, MongoDB transactions) live beside it in
 * `*.sqlite.test.ts` / `*.mongo.test.ts` files.
 *
 * Every test opens its own store and uses its own random tenant and owner ids.
 */
import { createHash, randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError, isAppError } from '../../src/errors.js';
import { newId } from '../../src/ids.js';
import { actorRecord as baseRecord } from '../persistence/fixtures/actorRecord.js';
import { permissiveContractId, permissiveMvpContract, type BoundaryContract } from '../../src/machines/contract.js';
import type {
  ActorRecord,
  Artifact,
  ArtifactLineage,
  CommitPatch,
  IdempotencyClaim,
  RecordRow,
  Stores,
} from '../../src/persistence/ports.js';

/** Adapter options a test may set (the rest keep their defaults). */
export interface StoresFactoryOptions {
  historyMax?: number;
}

/** Opens a fresh, empty store; `cleanup` closes it and removes everything it kept. */
export type StoresFactory = (options?: StoresFactoryOptions) => Promise<{ stores: Stores; cleanup: () => Promise<void> }>;

const MINUTE = 60_000;
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

const suffix = (): string => randomBytes(5).toString('hex');
const newTenant = (): string => `ten-${suffix()}`;
const newOwner = (): string => `own-${suffix()}`;
const iso = (ms: number): string => new Date(ms).toISOString();

/** The problem code `promise` rejects with; `'resolved'` when it does not reject. */
async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    return isAppError(e) ? e.code : `not an AppError: ${String(e)}`;
  }
  return 'resolved';
}

/** The suite's actor: an execution of `parse_content` at its contract state (see {@link baseRecord}). */
function actorRecord(tenantId: string, overrides: Partial<ActorRecord> = {}): ActorRecord {
  return baseRecord(tenantId, {
    value: 'contract',
    tags: ['contract'],
    input: { intent: 'parse_content', params: { fileId: 'fil_0000000000' } },
    ...overrides,
  });
}

function commitPatch(overrides: Partial<CommitPatch> = {}): CommitPatch {
  return {
    status: 'running',
    value: { working: 'parse' },
    tags: ['data'],
    snapshot: { status: 'active', value: { working: 'parse' }, context: { n: 1 } },
    machineVersion: 1,
    contractId: 'ctr_mvp_x',
    output: null,
    error: null,
    timers: [],
    appliedSeq: 0,
    outcomes: [],
    ...overrides,
  };
}

function claimOf(key: string, requestHash: string, nowMs: number, ttlMs = 10 * MINUTE): IdempotencyClaim {
  return { key, requestHash, nowMs, expiresAt: nowMs + ttlMs };
}

function artifactOf(
  tenantId: string,
  o: { id?: string; solutionId: string; actorId: string; kind: string; atMs: number; body?: unknown },
): Artifact {
  const lineage: ArtifactLineage = {
    actorId: o.actorId,
    actorKind: 'execution',
    intent: 'parse_content',
    inputs: ['fil_0000000000'],
    fileIds: ['fil_0000000000'],
    contractId: 'ctr_mvp_x',
    decisionIds: [],
  };
  return {
    id: o.id ?? newId('art', o.atMs),
    tenantId,
    solutionId: o.solutionId,
    kind: o.kind,
    createdAt: iso(o.atMs),
    body: o.body ?? { kind: o.kind, at: o.atMs },
    lineage,
  };
}

function apiContract(tenantId: string, nowMs: number, overrides: Partial<BoundaryContract> = {}): BoundaryContract {
  return {
    id: newId('ctr', nowMs),
    tenantId,
    issuedBy: 'api',
    scope: { realms: ['content'], intents: ['parse_content'] },
    dataPolicy: { materialization: 'sample', sampleRows: 100, retentionDays: 30, piiHandling: 'mask', maxBytes: 1_000_000 },
    createdAt: iso(nowMs),
    expiresAt: null,
    revokedAt: null,
    ...overrides,
  };
}

async function* chunksOf(...parts: Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield part;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const ids = (items: readonly { id: string }[]): string[] => items.map((i) => i.id);
const byId = <T extends { id: string }>(items: readonly T[]): T[] => [...items].sort((a, b) => (a.id < b.id ? -1 : 1));

/**
 * Registers the contract suite of every persistence port for one adapter.
 *
 * @example
 * describeStores('sqlite', async () => {
 *   const dir = await mkdtemp(join(tmpdir(), 'symphainy-'));
 *   const stores = createSqliteStores(dir);
 *   return { stores, cleanup: async () => { await stores.close(); await rm(dir, { recursive: true }); } };
 * });
 */
export function describeStores(name: string, makeStores: StoresFactory): void {
  describe(`persistence ports on ${name}`, () => {
    let stores: Stores;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ stores, cleanup } = await makeStores());
    });
    afterEach(async () => {
      await cleanup();
    });

    describe('ActorStore', () => {
      describe('create and get', () => {
        it('reads back exactly what was created', async () => {
          const tenantId = newTenant();
          const t0 = Date.now();
          const record = actorRecord(tenantId, {
            value: { working: 'parse' },
            tags: ['data', 'working'],
            snapshot: { status: 'active', value: { working: 'parse' }, context: { rows: 3 } },
            contractId: 'ctr_mvp_x',
            output: { rows: 3 },
            error: new AppError('parse-error', 'Bad quote at line 3').toProblem(),
            timers: [{ id: 'tm-1', event: { type: 'TICK', n: 1 }, deadline: t0 + 5_000 }],
            ownerId: newOwner(),
            leaseUntil: t0 + MINUTE,
            epoch: 1,
          });
          expect(await stores.actors.create(record)).toEqual({ fresh: true, value: record.id });
          expect(await stores.actors.get(tenantId, record.id)).toEqual(record);
        });

        it('returns null for another tenant’s actor and for an unknown id', async () => {
          const tenantId = newTenant();
          const record = actorRecord(tenantId);
          await stores.actors.create(record);
          expect(await stores.actors.get(newTenant(), record.id)).toBeNull();
          expect(await stores.actors.get(tenantId, newId('exe'))).toBeNull();
        });

        it('replays an idempotent create: same id, stored hash, nothing new written', async () => {
          const tenantId = newTenant();
          const t0 = Date.now();
          const first = actorRecord(tenantId);
          const second = actorRecord(tenantId);
          expect(await stores.actors.create(first, claimOf('spawn-1', 'hash-a', t0))).toEqual({ fresh: true, value: first.id });
          expect(await stores.actors.create(second, claimOf('spawn-1', 'hash-b', t0 + 1_000))).toEqual({
            fresh: false,
            value: first.id,
            requestHash: 'hash-a',
          });
          expect(await stores.actors.get(tenantId, second.id)).toBeNull();
          expect(ids((await stores.actors.list({ tenantId, limit: 10 })).items)).toEqual([first.id]);
        });

        it('scopes idempotency keys by tenant', async () => {
          const t0 = Date.now();
          const a = actorRecord(newTenant());
          const b = actorRecord(newTenant());
          expect(await stores.actors.create(a, claimOf('same-key', 'h', t0))).toEqual({ fresh: true, value: a.id });
          expect(await stores.actors.create(b, claimOf('same-key', 'h', t0))).toEqual({ fresh: true, value: b.id });
          expect((await stores.actors.get(b.tenantId, b.id))?.id).toBe(b.id);
        });

        it('treats an expired idempotency key as new', async () => {
          const tenantId = newTenant();
          const t0 = Date.now();
          const first = actorRecord(tenantId);
          const second = actorRecord(tenantId);
          await stores.actors.create(first, claimOf('spawn-1', 'hash-a', t0, 1_000));
          expect(await stores.actors.create(second, claimOf('spawn-1', 'hash-b', t0 + 2_000))).toEqual({
            fresh: true,
            value: second.id,
          });
          expect(await stores.actors.create(actorRecord(tenantId), claimOf('spawn-1', 'hash-c', t0 + 3_000))).toEqual({
            fresh: false,
            value: second.id,
            requestHash: 'hash-b',
          });
        });
      });

      describe('list', () => {
        /** Five actors of three kinds, created one second apart, and one of another tenant. */
        async function seed() {
          const tenantId = newTenant();
          const base = Date.now() - 10 * MINUTE;
          const plan = [
            { kind: 'execution', prefix: 'exe', status: 'done', tags: ['final'] },
            { kind: 'agentSession', prefix: 'ags', status: 'waiting', tags: ['idle'] },
            { kind: 'execution', prefix: 'exe', status: 'running', tags: ['data', 'working'] },
            { kind: 'bulkOperation', prefix: 'blk', status: 'running', tags: ['data'] },
            { kind: 'execution', prefix: 'exe', status: 'failed', tags: ['final'] },
          ] as const;
          const created: ActorRecord[] = [];
          for (const [i, p] of plan.entries()) {
            const at = base + i * 1_000;
            const record = actorRecord(tenantId, {
              id: newId(p.prefix, at),
              kind: p.kind,
              machineId: p.kind,
              status: p.status,
              tags: [...p.tags],
              createdAt: iso(at),
              updatedAt: iso(at),
            });
            await stores.actors.create(record);
            created.push(record);
          }
          await stores.actors.create(actorRecord(newTenant(), { createdAt: iso(base + 9_000) }));
          return { tenantId, a: created };
        }

        it('pages newest first across kinds with a cursor', async () => {
          const { tenantId, a } = await seed();
          const newestFirst = ids([...a].reverse());
          const p1 = await stores.actors.list({ tenantId, limit: 2 });
          expect(ids(p1.items)).toEqual(newestFirst.slice(0, 2));
          expect(typeof p1.nextCursor).toBe('string');
          const p2 = await stores.actors.list({ tenantId, limit: 2, cursor: p1.nextCursor ?? '' });
          expect(ids(p2.items)).toEqual(newestFirst.slice(2, 4));
          const p3 = await stores.actors.list({ tenantId, limit: 2, cursor: p2.nextCursor ?? '' });
          expect(ids(p3.items)).toEqual(newestFirst.slice(4));
          expect(p3.nextCursor).toBeNull();
        });

        it('filters by kind, status and tag', async () => {
          const { tenantId, a } = await seed();
          const [a0, a1, a2, a3, a4] = a;
          const list = async (f: { kind?: string; status?: ActorRecord['status']; tag?: string }) =>
            ids((await stores.actors.list({ tenantId, limit: 10, ...f })).items);
          expect(await list({ kind: 'execution' })).toEqual(ids([a4!, a2!, a0!]));
          expect(await list({ status: 'running' })).toEqual(ids([a3!, a2!]));
          expect(await list({ tag: 'data' })).toEqual(ids([a3!, a2!]));
          expect(await list({ tag: 'final', kind: 'execution', status: 'failed' })).toEqual([a4!.id]);
          expect(await list({ kind: 'agentSession' })).toEqual([a1!.id]);
          expect(await list({ tag: 'nothing' })).toEqual([]);
        });

        it('pages a filtered list', async () => {
          const { tenantId, a } = await seed();
          const p1 = await stores.actors.list({ tenantId, kind: 'execution', limit: 2 });
          expect(ids(p1.items)).toEqual([a[4]!.id, a[2]!.id]);
          const p2 = await stores.actors.list({ tenantId, kind: 'execution', limit: 2, cursor: p1.nextCursor ?? '' });
          expect(ids(p2.items)).toEqual([a[0]!.id]);
          expect(p2.nextCursor).toBeNull();
        });

        it('shows each actor’s live mailbox head and lease, as get does', async () => {
          const tenantId = newTenant();
          const t0 = Date.now();
          const me = newOwner();
          const record = actorRecord(tenantId, { ownerId: me, leaseUntil: t0 + MINUTE, epoch: 1 });
          await stores.actors.create(record);
          const listed = async () => {
            const items = (await stores.actors.list({ tenantId, limit: 10 })).items;
            expect(items).toEqual([await stores.actors.get(tenantId, record.id)]);
            return items[0];
          };
          await stores.actors.append(tenantId, record.id, { type: 'A' }, iso(t0));
          await stores.actors.append(tenantId, record.id, { type: 'B' }, iso(t0));
          expect(await stores.actors.renew(me, [{ id: record.id, epoch: 1 }], t0 + 2 * MINUTE)).toEqual([]);
          expect(await listed()).toMatchObject({ lastSeq: 2, appliedSeq: 0, ownerId: me, leaseUntil: t0 + 2 * MINUTE, epoch: 1 });
          await stores.actors.release(me, [record.id]);
          expect(await listed()).toMatchObject({ lastSeq: 2, ownerId: null, leaseUntil: 0, epoch: 1 });
          const other = newOwner();
          expect(ids(await stores.actors.claim(other, t0, MINUTE, 10))).toEqual([record.id]);
          await stores.actors.commit(record.id, { ownerId: other, epoch: 2 }, 0, commitPatch({ appliedSeq: 1 }));
          await stores.actors.append(tenantId, record.id, { type: 'C' }, iso(t0));
          expect(await listed()).toMatchObject({ lastSeq: 3, appliedSeq: 1, ownerId: other, leaseUntil: t0 + MINUTE, epoch: 2 });
        });

        it('lists only the tenant’s actors', async () => {
          const { tenantId } = await seed();
          const page = await stores.actors.list({ tenantId, limit: 100 });
          expect(page.items).toHaveLength(5);
          expect(new Set(page.items.map((r) => r.tenantId))).toEqual(new Set([tenantId]));
          expect(await stores.actors.list({ tenantId: newTenant(), limit: 10 })).toEqual({ items: [], nextCursor: null });
        });
      });

      describe('append, pending and event', () => {
        it('assigns increasing sequence numbers and keeps the events pending in order', async () => {
          const tenantId = newTenant();
          const record = actorRecord(tenantId);
          await stores.actors.create(record);
          const at = iso(Date.now());
          const seqs: number[] = [];
          for (const n of [1, 2, 3]) {
            const r = await stores.actors.append(tenantId, record.id, { type: 'PING', n }, at);
            expect(r.fresh).toBe(true);
            seqs.push(r.value);
          }
          expect(seqs).toEqual([1, 2, 3]);
          expect((await stores.actors.get(tenantId, record.id))?.lastSeq).toBe(3);
          const pending = await stores.actors.pending(tenantId, record.id, 0);
          expect(pending).toEqual(
            [1, 2, 3].map((n) => ({
              actorId: record.id,
              tenantId,
              seq: n,
              event: { type: 'PING', n },
              acceptedAt: at,
              outcome: 'pending',
              error: null,
            })),
          );
          expect((await stores.actors.pending(tenantId, record.id, 1)).map((e) => e.seq)).toEqual([2, 3]);
          expect(await stores.actors.pending(tenantId, record.id, 3)).toEqual([]);
          expect(await stores.actors.event(tenantId, record.id, 2)).toEqual(pending[1]);
          expect(await stores.actors.event(tenantId, record.id, 4)).toBeNull();
        });

        it('hides another tenant’s mailbox', async () => {
          const tenantId = newTenant();
          const record = actorRecord(tenantId);
          await stores.actors.create(record);
          await stores.actors.append(tenantId, record.id, { type: 'PING' }, iso(Date.now()));
          const other = newTenant();
          expect(await stores.actors.pending(other, record.id, 0)).toEqual([]);
          expect(await stores.actors.event(other, record.id, 1)).toBeNull();
        });

        it('refuses an unknown actor and another tenant’s with not-found, storing nothing', async () => {
          const tenantId = newTenant();
          const record = actorRecord(tenantId);
          await stores.actors.create(record);
          const at = iso(Date.now());
          expect(await rejection(stores.actors.append(tenantId, newId('exe'), { type: 'PING' }, at))).toBe('not-found');
          expect(await rejection(stores.actors.append(newTenant(), record.id, { type: 'PING' }, at))).toBe('not-found');
          expect(await stores.actors.pending(tenantId, record.id, 0)).toEqual([]);
          expect((await stores.actors.get(tenantId, record.id))?.lastSeq).toBe(0);
        });

        it('refuses an event for a final actor with actor-final', async () => {
          const tenantId = newTenant();
          const record = actorRecord(tenantId, { status: 'done', value: 'done', tags: ['final'] });
          await stores.actors.create(record);
          expect(await rejection(stores.actors.append(tenantId, record.id, { type: 'PING' }, iso(Date.now())))).toBe('actor-final');
          expect(await stores.actors.pending(tenantId, record.id, 0)).toEqual([]);
        });

        it('replays an idempotent append: same seq, stored hash, nothing new stored', async () => {
          const tenantId = newTenant();
          const t0 = Date.now();
          const record = actorRecord(tenantId);
          await stores.actors.create(record);
          const at = iso(t0);
          expect(await stores.actors.append(tenantId, record.id, { type: 'A' }, at, claimOf('send-1', 'hash-a', t0))).toEqual({
            fresh: true,
            value: 1,
          });
          expect(await stores.actors.append(tenantId, record.id, { type: 'B' }, at, claimOf('send-1', 'hash-b', t0 + 10))).toEqual({
            fresh: false,
            value: 1,
            requestHash: 'hash-a',
          });
          expect((await stores.actors.pending(tenantId, record.id, 0)).map((e) => e.event)).toEqual([{ type: 'A' }]);
          expect((await stores.actors.get(tenantId, record.id))?.lastSeq).toBe(1);
          expect(await stores.actors.append(tenantId, record.id, { type: 'C' }, at, claimOf('send-2', 'hash-c', t0 + 20))).toEqual({
            fresh: true,
            value: 2,
          });
        });
      });

      describe('commit', () => {
        async function owned() {
          const tenantId = newTenant();
          const ownerId = newOwner();
          const record = actorRecord(tenantId, { ownerId, leaseUntil: Date.now() + MINUTE, epoch: 1 });
          await stores.actors.create(record);
          return { tenantId, ownerId, record, owner: { ownerId, epoch: 1 } };
        }

        it('writes the new state, returns version + 1 and records mailbox outcomes', async () => {
          const { tenantId, ownerId, record, owner } = await owned();
          const at = iso(Date.now());
          await stores.actors.append(tenantId, record.id, { type: 'GO' }, at);
          await stores.actors.append(tenantId, record.id, { type: 'NOPE' }, at);
          const refusal = new AppError('event-not-accepted', 'NOPE is not accepted in working').toProblem();
          const patch = commitPatch({
            status: 'waiting',
            value: { working: 'wait' },
            tags: ['data', 'waiting'],
            contractId: 'ctr_mvp_x',
            output: { partial: true },
            timers: [{ id: 'tm-1', event: { type: 'TIMEOUT' }, deadline: Date.now() + MINUTE }],
            appliedSeq: 2,
            outcomes: [
              { seq: 1, outcome: 'applied', error: null },
              { seq: 2, outcome: 'refused', error: refusal },
            ],
          });
          expect(await stores.actors.commit(record.id, owner, 0, patch)).toBe(1);
          const stored = await stores.actors.get(tenantId, record.id);
          expect(stored).toMatchObject({
            status: 'waiting',
            value: { working: 'wait' },
            tags: ['data', 'waiting'],
            snapshot: patch.snapshot,
            contractId: 'ctr_mvp_x',
            output: { partial: true },
            error: null,
            timers: patch.timers,
            version: 1,
            appliedSeq: 2,
            lastSeq: 2,
            ownerId,
            epoch: 1,
            createdAt: record.createdAt,
          });
          expect(await stores.actors.event(tenantId, record.id, 1)).toMatchObject({ outcome: 'applied', error: null });
          expect(await stores.actors.event(tenantId, record.id, 2)).toMatchObject({ outcome: 'refused', error: refusal });
          expect(await stores.actors.commit(record.id, owner, 1, commitPatch({ appliedSeq: 2 }))).toBe(2);
        });

        it('refuses a stale version with version-conflict and changes nothing', async () => {
          const { tenantId, record, owner } = await owned();
          await stores.actors.commit(record.id, owner, 0, commitPatch({ value: 'first' }));
          expect(await rejection(stores.actors.commit(record.id, owner, 0, commitPatch({ value: 'stale' })))).toBe('version-conflict');
          expect(await rejection(stores.actors.commit(record.id, owner, 5, commitPatch({ value: 'ahead' })))).toBe('version-conflict');
          expect(await stores.actors.get(tenantId, record.id)).toMatchObject({ version: 1, value: 'first' });
        });

        it('refuses another owner or another epoch with lease-lost and changes nothing', async () => {
          const { tenantId, ownerId, record } = await owned();
          expect(await rejection(stores.actors.commit(record.id, { ownerId: newOwner(), epoch: 1 }, 0, commitPatch()))).toBe(
            'lease-lost',
          );
          expect(await rejection(stores.actors.commit(record.id, { ownerId, epoch: 2 }, 0, commitPatch()))).toBe('lease-lost');
          expect(await rejection(stores.actors.commit(record.id, { ownerId, epoch: 0 }, 0, commitPatch()))).toBe('lease-lost');
          expect(await stores.actors.get(tenantId, record.id)).toMatchObject({ version: 0, value: 'contract', ownerId, epoch: 1 });
        });

        it('releases the owner on a final status, after which the actor takes no events', async () => {
          const { tenantId, record, owner } = await owned();
          const output = { lines: 2 };
          expect(await stores.actors.commit(record.id, owner, 0, commitPatch({ status: 'done', value: 'done', tags: [], output }))).toBe(1);
          expect(await stores.actors.get(tenantId, record.id)).toMatchObject({ status: 'done', output, ownerId: null, version: 1 });
          expect(await rejection(stores.actors.append(tenantId, record.id, { type: 'PING' }, iso(Date.now())))).toBe('actor-final');
          expect(await stores.actors.claim(newOwner(), Date.now() + 10 * MINUTE, MINUTE, 10)).toEqual([]);
          expect(await rejection(stores.actors.commit(record.id, owner, 1, commitPatch()))).toBe('lease-lost');
        });
      });

      describe('leases', () => {
        it('claims unowned and expired non-final actors, raising their epoch', async () => {
          const tenantId = newTenant();
          const t0 = Date.now();
          const other = newOwner();
          const unowned = actorRecord(tenantId, { ownerId: null, leaseUntil: 0, epoch: 0 });
          const expired = actorRecord(tenantId, { ownerId: other, leaseUntil: t0 - 1, epoch: 3 });
          const live = actorRecord(tenantId, { ownerId: other, leaseUntil: t0 + 2 * MINUTE, epoch: 2 });
          const final = actorRecord(tenantId, { status: 'failed', ownerId: null, leaseUntil: 0, epoch: 1 });
          for (const r of [unowned, expired, live, final]) await stores.actors.create(r);

          const me = newOwner();
          const claimed = byId(await stores.actors.claim(me, t0, MINUTE, 10));
          expect(ids(claimed)).toEqual(ids(byId([unowned, expired])));
          const want = new Map([
            [unowned.id, 1],
            [expired.id, 4],
          ]);
          for (const r of claimed) {
            expect(r).toMatchObject({ ownerId: me, leaseUntil: t0 + MINUTE, epoch: want.get(r.id), tenantId });
            expect(await stores.actors.get(tenantId, r.id)).toMatchObject({ ownerId: me, leaseUntil: t0 + MINUTE, epoch: want.get(r.id) });
          }
          expect(await stores.actors.get(tenantId, live.id)).toMatchObject({ ownerId: other, epoch: 2 });
          expect(await stores.actors.get(tenantId, final.id)).toMatchObject({ ownerId: null, epoch: 1 });
          expect(await stores.actors.claim(newOwner(), t0 + 1_000, MINUTE, 10)).toEqual([]);
        });

        it('fences the old owner once another process takes an expired lease', async () => {
          const tenantId = newTenant();
          const t0 = Date.now();
          const first = newOwner();
          const record = actorRecord(tenantId);
          await stores.actors.create(record);
          const [mine] = await stores.actors.claim(first, t0, MINUTE, 10);
          expect(mine).toMatchObject({ id: record.id, epoch: 1 });
          const second = newOwner();
          const [theirs] = await stores.actors.claim(second, t0 + MINUTE + 1, MINUTE, 10);
          expect(theirs).toMatchObject({ id: record.id, ownerId: second, epoch: 2 });
          expect(await rejection(stores.actors.commit(record.id, { ownerId: first, epoch: 1 }, 0, commitPatch()))).toBe('lease-lost');
          expect(await stores.actors.commit(record.id, { ownerId: second, epoch: 2 }, 0, commitPatch())).toBe(1);
        });

        it('claims at most limit actors per call', async () => {
          const tenantId = newTenant();
          const t0 = Date.now();
          const records = [actorRecord(tenantId), actorRecord(tenantId), actorRecord(tenantId)];
          for (const r of records) await stores.actors.create(r);
          const me = newOwner();
          const first = await stores.actors.claim(me, t0, MINUTE, 2);
          const second = await stores.actors.claim(me, t0, MINUTE, 2);
          expect(first).toHaveLength(2);
          expect(second).toHaveLength(1);
          expect(ids(byId([...first, ...second]))).toEqual(ids(byId(records)));
        });

        it('renews held leases and returns the ids no longer held', async () => {
          const tenantId = newTenant();
          const t0 = Date.now();
          const me = newOwner();
          const kept = actorRecord(tenantId, { ownerId: me, leaseUntil: t0 + MINUTE, epoch: 1 });
          const takenOver = actorRecord(tenantId, { ownerId: newOwner(), leaseUntil: t0 + MINUTE, epoch: 2 });
          const finished = actorRecord(tenantId, { ownerId: me, leaseUntil: t0 + MINUTE, epoch: 1 });
          for (const r of [kept, takenOver, finished]) await stores.actors.create(r);
          await stores.actors.commit(finished.id, { ownerId: me, epoch: 1 }, 0, commitPatch({ status: 'stopped', value: 'stopped' }));

          const lost = await stores.actors.renew(
            me,
            [
              { id: kept.id, epoch: 1 },
              { id: takenOver.id, epoch: 1 },
              { id: finished.id, epoch: 1 },
            ],
            t0 + 2 * MINUTE,
          );
          expect([...lost].sort()).toEqual([takenOver.id, finished.id].sort());
          expect(await stores.actors.get(tenantId, kept.id)).toMatchObject({ ownerId: me, leaseUntil: t0 + 2 * MINUTE, epoch: 1 });
          expect(await stores.actors.get(tenantId, takenOver.id)).toMatchObject({ leaseUntil: t0 + MINUTE, epoch: 2 });
          expect(await stores.actors.renew(me, [{ id: kept.id, epoch: 0 }], t0 + 3 * MINUTE)).toEqual([kept.id]);
          expect(await stores.actors.renew(me, [], t0 + 3 * MINUTE)).toEqual([]);
        });

        it('releases leases so another owner claims them at once', async () => {
          const tenantId = newTenant();
          const t0 = Date.now();
          const me = newOwner();
          const other = newOwner();
          const mine = actorRecord(tenantId, { ownerId: me, leaseUntil: t0 + MINUTE, epoch: 1 });
          const theirs = actorRecord(tenantId, { ownerId: other, leaseUntil: t0 + MINUTE, epoch: 1 });
          for (const r of [mine, theirs]) await stores.actors.create(r);

          await stores.actors.release(me, [mine.id, theirs.id]);
          expect((await stores.actors.get(tenantId, mine.id))?.ownerId).toBeNull();
          expect(await stores.actors.get(tenantId, theirs.id)).toMatchObject({ ownerId: other, leaseUntil: t0 + MINUTE });
          const claimed = await stores.actors.claim(other, t0, MINUTE, 10);
          expect(claimed.map((r) => [r.id, r.ownerId, r.epoch])).toEqual([[mine.id, other, 2]]);
        });

        it('lists the held actors with events beyond their applied mark', async () => {
          const t1 = newTenant();
          const t2 = newTenant();
          const t0 = Date.now();
          const me = newOwner();
          const lease = { ownerId: me, leaseUntil: t0 + MINUTE, epoch: 1 };
          const busy = actorRecord(t1, lease);
          const idle = actorRecord(t1, lease);
          const busyElsewhere = actorRecord(t2, lease);
          const notMine = actorRecord(t1, { ownerId: newOwner(), leaseUntil: t0 + MINUTE, epoch: 1 });
          for (const r of [busy, idle, busyElsewhere, notMine]) await stores.actors.create(r);
          const at = iso(t0);
          await stores.actors.append(t1, busy.id, { type: 'A' }, at);
          await stores.actors.append(t1, busy.id, { type: 'B' }, at);
          await stores.actors.append(t2, busyElsewhere.id, { type: 'A' }, at);
          await stores.actors.append(t1, notMine.id, { type: 'A' }, at);

          const pending = await stores.actors.withPendingEvents(me);
          expect(byId(pending)).toEqual(
            byId([
              { id: busy.id, tenantId: t1 },
              { id: busyElsewhere.id, tenantId: t2 },
            ]),
          );
          await stores.actors.commit(busy.id, { ownerId: me, epoch: 1 }, 0, commitPatch({ appliedSeq: 1 }));
          expect(ids(await stores.actors.withPendingEvents(me)).sort()).toEqual([busy.id, busyElsewhere.id].sort());
          await stores.actors.commit(busy.id, { ownerId: me, epoch: 1 }, 1, commitPatch({ appliedSeq: 2 }));
          expect(await stores.actors.withPendingEvents(me)).toEqual([{ id: busyElsewhere.id, tenantId: t2 }]);
        });
      });

      describe('purgeExpired', () => {
        it('forgets expired idempotency keys, keeps live ones, and lets an expired key be reused', async () => {
          const tenantId = newTenant();
          const t0 = Date.now();
          const spawned = actorRecord(tenantId);
          const target = actorRecord(tenantId);
          const kept = actorRecord(tenantId);
          await stores.actors.create(spawned, claimOf('spawn-old', 'h1', t0, 1_000));
          await stores.actors.create(target);
          await stores.actors.create(kept, claimOf('spawn-live', 'h2', t0, 60 * MINUTE));
          await stores.actors.append(tenantId, target.id, { type: 'A' }, iso(t0), claimOf('send-old', 'h3', t0, 1_000));

          expect(await stores.actors.purgeExpired(t0 + 2_000)).toBe(2);
          expect(await stores.actors.purgeExpired(t0 + 2_000)).toBe(0);

          const again = actorRecord(tenantId);
          expect(await stores.actors.create(again, claimOf('spawn-old', 'h4', t0 + 3_000))).toEqual({ fresh: true, value: again.id });
          expect(await stores.actors.append(tenantId, target.id, { type: 'B' }, iso(t0), claimOf('send-old', 'h5', t0 + 3_000))).toEqual({
            fresh: true,
            value: 2,
          });
          expect(await stores.actors.create(actorRecord(tenantId), claimOf('spawn-live', 'h6', t0 + 3_000))).toEqual({
            fresh: false,
            value: kept.id,
            requestHash: 'h2',
          });
        });
      });
    });

    describe('ActorStore snapshot history', () => {
      async function owned(tenantId = newTenant(), overrides: Partial<ActorRecord> = {}) {
        const ownerId = newOwner();
        const record = actorRecord(tenantId, { ownerId, leaseUntil: Date.now() + MINUTE, epoch: 1, ...overrides });
        await stores.actors.create(record);
        return { tenantId, record, owner: { ownerId, epoch: 1 } };
      }

      it('keeps the create and every commit as entries, oldest first, with the changed fields', async () => {
        const { tenantId, record, owner } = await owned();
        const refusal = new AppError('contract-denied', 'Outside every scope').toProblem();
        await stores.actors.commit(record.id, owner, 0, commitPatch({ status: 'waiting', value: { working: 'wait' }, tags: ['waiting'], output: { partial: 1 } }));
        await stores.actors.commit(record.id, owner, 1, commitPatch({ status: 'rejected', value: 'rejected', tags: [], contractId: null, error: refusal }));
        const page = await stores.actors.history(tenantId, record.id, -1, 10);
        expect(page.oldestVersion).toBe(0);
        expect(page.entries.map((e) => e.version)).toEqual([0, 1, 2]);
        expect(page.entries[0]?.view).toEqual({
          status: 'running',
          value: 'contract',
          tags: ['contract'],
          contractId: null,
          machineVersion: 1,
          output: null,
          error: null,
          updatedAt: record.updatedAt,
        });
        expect(page.entries[1]?.view).toMatchObject({ status: 'waiting', value: { working: 'wait' }, tags: ['waiting'], contractId: 'ctr_mvp_x', output: { partial: 1 }, error: null });
        expect(page.entries[2]?.view).toMatchObject({ status: 'rejected', value: 'rejected', tags: [], contractId: null, output: null, error: refusal });
        const stored = await stores.actors.get(tenantId, record.id);
        expect(page.entries[2]?.at).toBe(stored?.updatedAt);
        expect(page.entries[2]?.view.updatedAt).toBe(stored?.updatedAt);
        for (const e of page.entries) expect(e.at).toMatch(ISO_TIME);
      });

      it('reads after a version, at most limit entries, and reports the oldest kept', async () => {
        const { tenantId, record, owner } = await owned();
        for (let v = 0; v < 4; v++) await stores.actors.commit(record.id, owner, v, commitPatch({ value: `step-${v + 1}` }));
        const page = await stores.actors.history(tenantId, record.id, 1, 2);
        expect(page.entries.map((e) => [e.version, e.view.value])).toEqual([
          [2, 'step-2'],
          [3, 'step-3'],
        ]);
        expect(page.oldestVersion).toBe(0);
        expect((await stores.actors.history(tenantId, record.id, 4, 10)).entries).toEqual([]);
      });

      it('shows nothing of another tenant’s actor or an unknown one', async () => {
        const { record, owner } = await owned();
        await stores.actors.commit(record.id, owner, 0, commitPatch());
        expect(await stores.actors.history(newTenant(), record.id, -1, 10)).toEqual({ entries: [], oldestVersion: null });
        expect(await stores.actors.history(record.tenantId, newId('exe'), -1, 10)).toEqual({ entries: [], oldestVersion: null });
      });

      it('adds no entry for a refused commit or a replayed create', async () => {
        const t0 = Date.now();
        const { tenantId, record, owner } = await owned(newTenant());
        await stores.actors.commit(record.id, owner, 0, commitPatch({ value: 'first' }));
        expect(await rejection(stores.actors.commit(record.id, owner, 0, commitPatch({ value: 'stale' })))).toBe('version-conflict');
        expect(await rejection(stores.actors.commit(record.id, { ownerId: newOwner(), epoch: 1 }, 1, commitPatch({ value: 'thief' })))).toBe('lease-lost');
        const page = await stores.actors.history(tenantId, record.id, -1, 10);
        expect(page.entries.map((e) => [e.version, e.view.value])).toEqual([
          [0, 'contract'],
          [1, 'first'],
        ]);
        const first = actorRecord(tenantId);
        await stores.actors.create(first, claimOf('spawn-h', 'hash-a', t0));
        await stores.actors.create(actorRecord(tenantId), claimOf('spawn-h', 'hash-a', t0 + 1));
        expect((await stores.actors.history(tenantId, first.id, -1, 10)).entries.map((e) => e.version)).toEqual([0]);
      });

      it('keeps only the newest historyMax entries of each actor', async () => {
        const small = await makeStores({ historyMax: 3 });
        try {
          const tenantId = newTenant();
          const ownerId = newOwner();
          const busy = actorRecord(tenantId, { ownerId, leaseUntil: Date.now() + MINUTE, epoch: 1 });
          const calm = actorRecord(tenantId, { ownerId, leaseUntil: Date.now() + MINUTE, epoch: 1 });
          await small.stores.actors.create(busy);
          await small.stores.actors.create(calm);
          for (let v = 0; v < 6; v++) await small.stores.actors.commit(busy.id, { ownerId, epoch: 1 }, v, commitPatch({ value: `step-${v + 1}` }));
          await small.stores.actors.commit(calm.id, { ownerId, epoch: 1 }, 0, commitPatch({ status: 'done', value: 'done' }));
          const page = await small.stores.actors.history(tenantId, busy.id, -1, 10);
          expect(page.oldestVersion).toBe(4);
          expect(page.entries.map((e) => [e.version, e.view.value])).toEqual([
            [4, 'step-4'],
            [5, 'step-5'],
            [6, 'step-6'],
          ]);
          expect(await small.stores.actors.history(tenantId, busy.id, 1, 10)).toEqual(page);
          const other = await small.stores.actors.history(tenantId, calm.id, -1, 10);
          expect(other.entries.map((e) => [e.version, e.view.status])).toEqual([
            [0, 'running'],
            [1, 'done'],
          ]);
        } finally {
          await small.cleanup();
        }
      });
    });

    describe('ArtifactStore', () => {
      it('keeps the first write of an id and returns false on a repeat', async () => {
        const tenantId = newTenant();
        const first = artifactOf(tenantId, { solutionId: 'sol_a', actorId: 'exe_a', kind: 'dataset', atMs: Date.now(), body: { rows: 1 } });
        expect(await stores.artifacts.put(first)).toBe(true);
        expect(await stores.artifacts.put({ ...first, body: { rows: 2 }, kind: 'other' })).toBe(false);
        expect(await stores.artifacts.get(tenantId, first.id)).toEqual(first);
        expect(await stores.artifacts.countByActor(tenantId, 'exe_a')).toBe(1);
      });

      it('returns null for another tenant’s artifact and an unknown id', async () => {
        const tenantId = newTenant();
        const a = artifactOf(tenantId, { solutionId: 'sol_a', actorId: 'exe_a', kind: 'dataset', atMs: Date.now() });
        await stores.artifacts.put(a);
        expect(await stores.artifacts.get(newTenant(), a.id)).toBeNull();
        expect(await stores.artifacts.get(tenantId, newId('art'))).toBeNull();
      });

      describe('list', () => {
        async function seed() {
          const tenantId = newTenant();
          const base = Date.now() - MINUTE;
          const plan = [
            { solutionId: 'sol_a', actorId: 'exe_1', kind: 'dataset' },
            { solutionId: 'sol_a', actorId: 'exe_1', kind: 'profile' },
            { solutionId: 'sol_b', actorId: 'exe_2', kind: 'dataset' },
            { solutionId: 'sol_a', actorId: 'exe_3', kind: 'qualityReport' },
            { solutionId: 'sol_b', actorId: 'exe_2', kind: 'profile' },
          ];
          const made = plan.map((p, i) => artifactOf(tenantId, { ...p, atMs: base + i * 1_000 }));
          // Stored out of order: the list orders by creation, not by write.
          for (const i of [3, 0, 4, 1, 2]) await stores.artifacts.put(made[i]!);
          await stores.artifacts.put(artifactOf(newTenant(), { solutionId: 'sol_a', actorId: 'exe_1', kind: 'dataset', atMs: base }));
          return { tenantId, a: made };
        }

        it('pages newest first with a cursor', async () => {
          const { tenantId, a } = await seed();
          const newestFirst = ids([...a].reverse());
          const seen: string[] = [];
          const sizes: number[] = [];
          let cursor: string | undefined;
          for (let guard = 0; guard < 10; guard++) {
            const page = await stores.artifacts.list({ tenantId, limit: 2, ...(cursor ? { cursor } : {}) });
            seen.push(...ids(page.items));
            sizes.push(page.items.length);
            if (page.nextCursor === null) break;
            cursor = page.nextCursor;
          }
          expect(seen).toEqual(newestFirst);
          expect(sizes).toEqual([2, 2, 1]);
        });

        it('filters by solution, execution and kind', async () => {
          const { tenantId, a } = await seed();
          const list = async (f: { solutionId?: string; executionId?: string; kind?: string }) =>
            ids((await stores.artifacts.list({ tenantId, limit: 10, ...f })).items);
          const pick = (...i: number[]) => i.map((n) => a[n]!.id);
          expect(await list({ solutionId: 'sol_a' })).toEqual(pick(3, 1, 0));
          expect(await list({ executionId: 'exe_2' })).toEqual(pick(4, 2));
          expect(await list({ kind: 'profile' })).toEqual(pick(4, 1));
          expect(await list({ solutionId: 'sol_a', kind: 'dataset', executionId: 'exe_1' })).toEqual(pick(0));
          expect(await list({ solutionId: 'sol_none' })).toEqual([]);
        });

        it('pages a filtered list', async () => {
          const { tenantId, a } = await seed();
          const p1 = await stores.artifacts.list({ tenantId, solutionId: 'sol_a', limit: 2 });
          expect(ids(p1.items)).toEqual([a[3]!.id, a[1]!.id]);
          const p2 = await stores.artifacts.list({ tenantId, solutionId: 'sol_a', limit: 2, cursor: p1.nextCursor ?? '' });
          expect(ids(p2.items)).toEqual([a[0]!.id]);
          expect(p2.nextCursor).toBeNull();
        });

        it('lists only the tenant’s artifacts', async () => {
          const { tenantId } = await seed();
          const page = await stores.artifacts.list({ tenantId, limit: 100 });
          expect(page.items.map((x) => x.tenantId)).toEqual(Array(5).fill(tenantId));
          expect(await stores.artifacts.list({ tenantId: newTenant(), limit: 10 })).toEqual({ items: [], nextCursor: null });
        });
      });

      it('counts the artifacts of a producing actor within the tenant', async () => {
        const tenantId = newTenant();
        const at = Date.now();
        for (const kind of ['dataset', 'profile', 'embeddings']) {
          await stores.artifacts.put(artifactOf(tenantId, { solutionId: 'sol_a', actorId: 'exe_1', kind, atMs: at }));
        }
        await stores.artifacts.put(artifactOf(tenantId, { solutionId: 'sol_a', actorId: 'exe_2', kind: 'dataset', atMs: at }));
        await stores.artifacts.put(artifactOf(newTenant(), { solutionId: 'sol_a', actorId: 'exe_1', kind: 'dataset', atMs: at }));
        expect(await stores.artifacts.countByActor(tenantId, 'exe_1')).toBe(3);
        expect(await stores.artifacts.countByActor(tenantId, 'exe_2')).toBe(1);
        expect(await stores.artifacts.countByActor(tenantId, 'exe_none')).toBe(0);
        expect(await stores.artifacts.countByActor(newTenant(), 'exe_1')).toBe(0);
      });
    });

    describe('RecordStore', () => {
      /** Rows 1..n (1-based data-record ordinals, DOMAIN.md section 3) with mixed cell types. */
      const rowsOf = (from: number, to: number): RecordRow[] =>
        Array.from({ length: to - from + 1 }, (_, i) => {
          const row = from + i;
          return { row, line: row + 1, values: [`name-${row}`, row * 1.5, row % 2 === 0, row % 3 === 0 ? null : 'x'] };
        });

      async function seed() {
        const tenantId = newTenant();
        const datasetId = newId('dst');
        // Written out of order: rows come back in row order regardless.
        await stores.records.putChunk(tenantId, datasetId, 2, rowsOf(7, 8));
        await stores.records.putChunk(tenantId, datasetId, 0, rowsOf(1, 3));
        await stores.records.putChunk(tenantId, datasetId, 1, rowsOf(4, 6));
        return { tenantId, datasetId };
      }

      it('reads a chunk back, and null for a missing one', async () => {
        const { tenantId, datasetId } = await seed();
        expect(await stores.records.getChunk(tenantId, datasetId, 1)).toEqual(rowsOf(4, 6));
        expect(await stores.records.getChunk(tenantId, datasetId, 3)).toBeNull();
        expect(await stores.records.getChunk(tenantId, newId('dst'), 0)).toBeNull();
      });

      it('upserts a chunk idempotently', async () => {
        const { tenantId, datasetId } = await seed();
        await stores.records.putChunk(tenantId, datasetId, 1, rowsOf(4, 6));
        await stores.records.putChunk(tenantId, datasetId, 1, rowsOf(4, 6));
        expect(await stores.records.getChunk(tenantId, datasetId, 1)).toEqual(rowsOf(4, 6));
        expect(await stores.records.rows(tenantId, datasetId, 0, 100)).toEqual(rowsOf(1, 8));
        const replaced = rowsOf(4, 6).map((r) => ({ ...r, values: ['replaced'] }));
        await stores.records.putChunk(tenantId, datasetId, 1, replaced);
        expect(await stores.records.getChunk(tenantId, datasetId, 1)).toEqual(replaced);
        expect((await stores.records.rows(tenantId, datasetId, 0, 100)).map((r) => r.row)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      });

      it('reads rows by offset and limit across chunk boundaries, in row order', async () => {
        const { tenantId, datasetId } = await seed();
        expect(await stores.records.rows(tenantId, datasetId, 0, 2)).toEqual(rowsOf(1, 2));
        expect(await stores.records.rows(tenantId, datasetId, 2, 3)).toEqual(rowsOf(3, 5));
        expect(await stores.records.rows(tenantId, datasetId, 2, 6)).toEqual(rowsOf(3, 8));
        expect(await stores.records.rows(tenantId, datasetId, 5, 100)).toEqual(rowsOf(6, 8));
        expect(await stores.records.rows(tenantId, datasetId, 8, 10)).toEqual([]);
      });

      it('keeps datasets apart by tenant', async () => {
        const { tenantId, datasetId } = await seed();
        const other = newTenant();
        expect(await stores.records.getChunk(other, datasetId, 0)).toBeNull();
        expect(await stores.records.rows(other, datasetId, 0, 100)).toEqual([]);
        expect(await stores.records.deleteDataset(other, datasetId)).toBe(0);
        expect(await stores.records.getChunk(tenantId, datasetId, 0)).toEqual(rowsOf(1, 3));
      });

      it('deletes a dataset and reports how many chunks went', async () => {
        const { tenantId, datasetId } = await seed();
        const keep = newId('dst');
        await stores.records.putChunk(tenantId, keep, 0, rowsOf(1, 2));
        expect(await stores.records.deleteDataset(tenantId, datasetId)).toBe(3);
        expect(await stores.records.getChunk(tenantId, datasetId, 0)).toBeNull();
        expect(await stores.records.rows(tenantId, datasetId, 0, 100)).toEqual([]);
        expect(await stores.records.deleteDataset(tenantId, datasetId)).toBe(0);
        expect(await stores.records.rows(tenantId, keep, 0, 100)).toEqual(rowsOf(1, 2));
      });
    });

    describe('BlobStore', () => {
      const meta = (maxBytes = 1_000_000) => ({ id: newId('fil'), name: 'policies.csv', mediaType: 'text/csv', maxBytes });

      it('streams a blob in, with its byte count and sha256, and reads the same bytes back', async () => {
        const tenantId = newTenant();
        const parts = [randomBytes(1_000), randomBytes(70_000), randomBytes(5)];
        const whole = Buffer.concat(parts);
        const m = meta();
        const info = await stores.blobs.write(tenantId, m, chunksOf(...parts));
        expect(info).toEqual({
          id: m.id,
          tenantId,
          name: 'policies.csv',
          mediaType: 'text/csv',
          bytes: whole.byteLength,
          sha256: sha256(whole),
          createdAt: info.createdAt,
          expiresAt: null,
        });
        expect(info.createdAt).toMatch(ISO_TIME);
        expect(await stores.blobs.info(tenantId, m.id)).toEqual(info);
        expect((await buffer(await stores.blobs.read(tenantId, m.id))).equals(whole)).toBe(true);
      });

      it('stores an empty blob', async () => {
        const tenantId = newTenant();
        const m = meta();
        const info = await stores.blobs.write(tenantId, m, chunksOf());
        expect(info).toMatchObject({ bytes: 0, sha256: sha256(new Uint8Array(0)) });
        expect((await buffer(await stores.blobs.read(tenantId, m.id))).byteLength).toBe(0);
      });

      it('accepts exactly maxBytes', async () => {
        const tenantId = newTenant();
        const m = meta(100);
        const bytes = randomBytes(100);
        expect(await stores.blobs.write(tenantId, m, chunksOf(bytes.subarray(0, 60), bytes.subarray(60)))).toMatchObject({
          bytes: 100,
          sha256: sha256(bytes),
        });
      });

      it('abandons a write beyond maxBytes with file-too-large and keeps nothing', async () => {
        const tenantId = newTenant();
        const m = meta(100);
        expect(await rejection(stores.blobs.write(tenantId, m, chunksOf(randomBytes(60), randomBytes(60))))).toBe('file-too-large');
        expect(await stores.blobs.info(tenantId, m.id)).toBeNull();
        expect(await rejection(stores.blobs.read(tenantId, m.id))).toBe('not-found');
        const small = randomBytes(10);
        expect(await stores.blobs.write(tenantId, m, chunksOf(small))).toMatchObject({ id: m.id, bytes: 10, sha256: sha256(small) });
      });

      it('keeps nothing of a stream that fails part way', async () => {
        const tenantId = newTenant();
        const m = meta();
        async function* broken(): AsyncIterable<Uint8Array> {
          yield randomBytes(10);
          throw new AppError('parse-error', 'The upload was cut off');
        }
        expect(await rejection(stores.blobs.write(tenantId, m, broken()))).toBe('parse-error');
        expect(await stores.blobs.info(tenantId, m.id)).toBeNull();
        expect(await rejection(stores.blobs.read(tenantId, m.id))).toBe('not-found');
      });

      it('shows a blob only once the whole stream is stored', async () => {
        const tenantId = newTenant();
        const m = meta();
        const head = randomBytes(10);
        const tail = randomBytes(10);
        let release: () => void = () => undefined;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let reachedGate: () => void = () => undefined;
        const atGate = new Promise<void>((resolve) => (reachedGate = resolve));
        async function* slow(): AsyncIterable<Uint8Array> {
          yield head;
          reachedGate();
          await gate;
          yield tail;
        }
        const writing = stores.blobs.write(tenantId, m, slow());
        await atGate;
        expect(await stores.blobs.info(tenantId, m.id)).toBeNull();
        release();
        expect(await writing).toMatchObject({ bytes: 20, sha256: sha256(Buffer.concat([head, tail])) });
        expect(await stores.blobs.info(tenantId, m.id)).toMatchObject({ bytes: 20 });
      });

      it('hides a blob from another tenant', async () => {
        const tenantId = newTenant();
        const other = newTenant();
        const m = meta();
        const bytes = randomBytes(64);
        await stores.blobs.write(tenantId, m, chunksOf(bytes));
        expect(await stores.blobs.info(other, m.id)).toBeNull();
        expect(await rejection(stores.blobs.read(other, m.id))).toBe('not-found');
        expect(await stores.blobs.delete(other, m.id)).toBe(false);
        expect((await buffer(await stores.blobs.read(tenantId, m.id))).equals(bytes)).toBe(true);
      });

      it('deletes a blob', async () => {
        const tenantId = newTenant();
        const m = meta();
        await stores.blobs.write(tenantId, m, chunksOf(randomBytes(32)));
        expect(await stores.blobs.delete(tenantId, m.id)).toBe(true);
        expect(await stores.blobs.info(tenantId, m.id)).toBeNull();
        expect(await rejection(stores.blobs.read(tenantId, m.id))).toBe('not-found');
        expect(await stores.blobs.delete(tenantId, m.id)).toBe(false);
        expect(await rejection(stores.blobs.read(tenantId, newId('fil')))).toBe('not-found');
      });
    });

    describe('ContractStore', () => {
      it('inserts the first contract at most once, even with concurrent callers', async () => {
        const tenantId = newTenant();
        const t0 = Date.now();
        const permissive = permissiveMvpContract(tenantId, t0);
        const results = await Promise.all([
          stores.contracts.insertIfNone(permissive),
          stores.contracts.insertIfNone(permissiveMvpContract(tenantId, t0 + 1)),
          stores.contracts.insertIfNone({ ...permissive, id: newId('ctr', t0) }),
          stores.contracts.insertIfNone(apiContract(tenantId, t0)),
          stores.contracts.insertIfNone({ ...permissive, id: newId('ctr', t0) }),
        ]);
        expect(results.filter(Boolean)).toHaveLength(1);
        const stored = await stores.contracts.list(tenantId);
        expect(stored).toHaveLength(1);
        expect(await stores.contracts.insertIfNone(permissiveMvpContract(tenantId, t0 + 2))).toBe(false);
        expect(await stores.contracts.list(tenantId)).toEqual(stored);
      });

      it('reads a contract back within its tenant only', async () => {
        const tenantId = newTenant();
        const permissive = permissiveMvpContract(tenantId, Date.now());
        expect(await stores.contracts.insertIfNone(permissive)).toBe(true);
        expect(await stores.contracts.get(tenantId, permissive.id)).toEqual(permissive);
        expect(await stores.contracts.list(tenantId)).toEqual([permissive]);
        const other = newTenant();
        expect(await stores.contracts.get(other, permissive.id)).toBeNull();
        expect(await stores.contracts.list(other)).toEqual([]);
        expect(await stores.contracts.get(tenantId, newId('ctr'))).toBeNull();
      });

      it('expires the permissive MVP contract when an api contract supersedes it, for good', async () => {
        const tenantId = newTenant();
        const bystander = newTenant();
        const t0 = Date.now();
        const permissive = permissiveMvpContract(tenantId, t0);
        const bystanders = permissiveMvpContract(bystander, t0);
        await stores.contracts.insertIfNone(permissive);
        await stores.contracts.insertIfNone(bystanders);

        const nowIso = iso(t0 + 1_000);
        const api = apiContract(tenantId, t0 + 1_000);
        await stores.contracts.insertSuperseding(api, nowIso);
        expect(byId(await stores.contracts.list(tenantId))).toEqual(byId([{ ...permissive, expiresAt: nowIso }, api]));
        expect(await stores.contracts.get(tenantId, permissiveContractId(tenantId))).toMatchObject({ expiresAt: nowIso });
        expect(await stores.contracts.get(bystander, bystanders.id)).toEqual(bystanders);
        expect(await stores.contracts.insertIfNone(permissiveMvpContract(tenantId, t0 + 2_000))).toBe(false);

        const api2 = apiContract(tenantId, t0 + 2_000);
        await stores.contracts.insertSuperseding(api2, iso(t0 + 2_000));
        expect(await stores.contracts.get(tenantId, api.id)).toEqual(api);
        expect(await stores.contracts.get(tenantId, permissive.id)).toMatchObject({ expiresAt: nowIso });
        expect(await stores.contracts.list(tenantId)).toHaveLength(3);
      });

      it('inserts a superseding contract for a tenant that had none', async () => {
        const tenantId = newTenant();
        const t0 = Date.now();
        const api = apiContract(tenantId, t0);
        await stores.contracts.insertSuperseding(api, iso(t0));
        expect(await stores.contracts.list(tenantId)).toEqual([api]);
        expect(await stores.contracts.insertIfNone(permissiveMvpContract(tenantId, t0))).toBe(false);
      });

      it('revokes a contract once, within its tenant', async () => {
        const tenantId = newTenant();
        const t0 = Date.now();
        const api = apiContract(tenantId, t0);
        await stores.contracts.insertSuperseding(api, iso(t0));
        expect(await stores.contracts.revoke(newTenant(), api.id, iso(t0 + 500))).toBe(false);
        expect(await stores.contracts.get(tenantId, api.id)).toMatchObject({ revokedAt: null });
        expect(await stores.contracts.revoke(tenantId, api.id, iso(t0 + 1_000))).toBe(true);
        expect(await stores.contracts.get(tenantId, api.id)).toEqual({ ...api, revokedAt: iso(t0 + 1_000) });
        expect(await stores.contracts.revoke(tenantId, api.id, iso(t0 + 2_000))).toBe(true);
        expect(await stores.contracts.get(tenantId, api.id)).toMatchObject({ revokedAt: iso(t0 + 1_000) });
        expect(await stores.contracts.revoke(tenantId, newId('ctr'), iso(t0))).toBe(false);
      });

      it('sets and clears an expiry, within its tenant', async () => {
        const tenantId = newTenant();
        const t0 = Date.now();
        const permissive = permissiveMvpContract(tenantId, t0);
        await stores.contracts.insertIfNone(permissive);
        const at = iso(t0 + MINUTE);
        expect(await stores.contracts.setExpiry(tenantId, permissive.id, at)).toBe(true);
        expect(await stores.contracts.get(tenantId, permissive.id)).toEqual({ ...permissive, expiresAt: at });
        expect(await stores.contracts.setExpiry(newTenant(), permissive.id, null)).toBe(false);
        expect(await stores.contracts.get(tenantId, permissive.id)).toMatchObject({ expiresAt: at });
        expect(await stores.contracts.setExpiry(tenantId, permissive.id, null)).toBe(true);
        expect(await stores.contracts.get(tenantId, permissive.id)).toEqual(permissive);
        expect(await stores.contracts.setExpiry(tenantId, newId('ctr'), at)).toBe(false);
      });

      it('keeps one secret per tenant: the same for concurrent first callers, another for another tenant', async () => {
        const a = newTenant();
        const b = newTenant();
        const first = await Promise.all([stores.contracts.tenantSecret(a), stores.contracts.tenantSecret(a), stores.contracts.tenantSecret(a)]);
        expect(first[0]?.byteLength).toBe(32);
        expect(first[1]?.equals(first[0]!)).toBe(true);
        expect(first[2]?.equals(first[0]!)).toBe(true);
        expect((await stores.contracts.tenantSecret(a)).equals(first[0]!)).toBe(true);
        expect((await stores.contracts.tenantSecret(b)).equals(first[0]!)).toBe(false);
      });
    });

    describe('blob retention', () => {
      it('sweeps the blobs whose expiry has passed, of every tenant, and keeps the rest', async () => {
        const a = newTenant();
        const b = newTenant();
        const m = (expiresAt: string | null) => ({ id: newId('fil'), name: 'x.csv', mediaType: 'text/csv', maxBytes: 100, expiresAt });
        // Expiry times far in the past: nothing another test stores is due before them.
        const due1 = await stores.blobs.write(a, m('1971-01-01T00:00:00.000Z'), chunksOf(Buffer.from('one')));
        const due2 = await stores.blobs.write(b, m('1971-01-02T00:00:00.000Z'), chunksOf(Buffer.from('two')));
        const later = await stores.blobs.write(a, m('1971-06-01T00:00:00.000Z'), chunksOf(Buffer.from('three')));
        const kept = await stores.blobs.write(a, m(null), chunksOf(Buffer.from('four')));
        expect(due1.expiresAt).toBe('1971-01-01T00:00:00.000Z');
        expect(await stores.blobs.info(a, due1.id)).toMatchObject({ expiresAt: '1971-01-01T00:00:00.000Z' });
        expect(await stores.blobs.sweepExpired('1971-03-01T00:00:00.000Z')).toBe(2);
        expect(await stores.blobs.info(a, due1.id)).toBeNull();
        expect(await stores.blobs.info(b, due2.id)).toBeNull();
        await expect(stores.blobs.read(a, due1.id)).rejects.toMatchObject({ code: 'not-found' });
        expect(await stores.blobs.info(a, later.id)).not.toBeNull();
        expect(await stores.blobs.info(a, kept.id)).not.toBeNull();
        expect(await stores.blobs.sweepExpired('1971-03-01T00:00:00.000Z')).toBe(0);
        expect(await stores.blobs.sweepExpired('1971-07-01T00:00:00.000Z', 1)).toBe(1);
        expect(await stores.blobs.info(a, later.id)).toBeNull();
        expect((await buffer(await stores.blobs.read(a, kept.id))).toString()).toBe('four');
      });
    });

    describe('fencing', () => {
      /** An actor held by `owner` at epoch 2 (taken over once). */
      async function heldActor(tenantId: string, owner: string) {
        const r = actorRecord(tenantId, { ownerId: owner, leaseUntil: Date.now() + MINUTE, epoch: 2 });
        await stores.actors.create(r);
        return r;
      }

      it('writes an artifact, a record chunk and a blob under a fence that holds', async () => {
        const t = newTenant();
        const owner = newOwner();
        const a = await heldActor(t, owner);
        const fence = { actorId: a.id, ownerId: owner, epoch: 2 };
        const art = artifactOf(t, { solutionId: 'default', actorId: a.id, kind: 'dataset', atMs: Date.now() });
        expect(await stores.artifacts.put(art, fence)).toBe(true);
        await stores.records.putChunk(t, 'dat_fenced', 0, [{ row: 1, values: ['x'] }], fence);
        expect(await stores.records.getChunk(t, 'dat_fenced', 0)).toEqual([{ row: 1, values: ['x'] }]);
        const blobId = newId('fil', Date.now());
        const info = await stores.blobs.write(t, { id: blobId, name: 'a.csv', mediaType: 'text/csv', maxBytes: 100 }, chunksOf(new TextEncoder().encode('a,b\n')), fence);
        expect(info.bytes).toBe(4);
      });

      it('refuses every write under a stale epoch or another owner with lease-lost, and keeps nothing', async () => {
        const t = newTenant();
        const owner = newOwner();
        const a = await heldActor(t, owner);
        for (const fence of [
          { actorId: a.id, ownerId: owner, epoch: 1 },
          { actorId: a.id, ownerId: newOwner(), epoch: 2 },
          { actorId: `exe_${suffix()}`, ownerId: owner, epoch: 2 },
        ]) {
          const art = artifactOf(t, { solutionId: 'default', actorId: a.id, kind: 'dataset', atMs: Date.now() });
          await expect(stores.artifacts.put(art, fence)).rejects.toMatchObject({ code: 'lease-lost' });
          expect(await stores.artifacts.get(t, art.id)).toBeNull();
          await expect(stores.records.putChunk(t, 'dat_stale', 0, [{ row: 1, values: ['x'] }], fence)).rejects.toMatchObject({ code: 'lease-lost' });
          expect(await stores.records.getChunk(t, 'dat_stale', 0)).toBeNull();
          const blobId = newId('fil', Date.now());
          await expect(
            stores.blobs.write(t, { id: blobId, name: 'a.csv', mediaType: 'text/csv', maxBytes: 100 }, chunksOf(new TextEncoder().encode('a,b\n')), fence),
          ).rejects.toMatchObject({ code: 'lease-lost' });
          expect(await stores.blobs.info(t, blobId)).toBeNull();
        }
      });

      it('refuses a write for an actor that ended (its lease is released)', async () => {
        const t = newTenant();
        const owner = newOwner();
        const a = await heldActor(t, owner);
        await stores.actors.commit(a.id, { ownerId: owner, epoch: 2 }, a.version, commitPatch({ status: 'done' }));
        const art = artifactOf(t, { solutionId: 'default', actorId: a.id, kind: 'dataset', atMs: Date.now() });
        await expect(stores.artifacts.put(art, { actorId: a.id, ownerId: owner, epoch: 2 })).rejects.toMatchObject({ code: 'lease-lost' });
      });
    });

    describe('Stores', () => {
      it('answers a ping while open', async () => {
        await expect(stores.ping()).resolves.toBeUndefined();
      });

      it('fails a ping with store-unavailable once closed', async () => {
        await stores.close();
        expect(await rejection(stores.ping())).toBe('store-unavailable');
      });
    });
  });
}
