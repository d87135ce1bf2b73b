/**
 * Test doubles for runtime behaviour tests: a clock whose process can be "killed", a probe
 * machine (with a delay, a re-entry, a throwing action) registered through a custom catalog,
 * intents whose work can be held in flight, and small store readers.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { assign, setup } from 'xstate';
import { z } from 'zod';
import type { Clock } from '../../src/clock.js';
import { AppError } from '../../src/errors.js';
import {
  createIntentRegistry,
  type BulkIntentDefinition,
  type IntentDefinition,
  type IntentRegistry,
} from '../../src/intents/index.js';
import { defaultIntents } from '../../src/intents/index.js';
import {
  DATA_TAG,
  contractStates,
  isContractRefusal,
  recordGrant,
  recordProblem,
  resolveContractLogic,
  type ContractSlot,
} from '../../src/machines/contract.js';
import { machineCatalog, type MachineCatalog, type SnapshotMigration } from '../../src/machines/index.js';
import type { ActorRecord, MailboxEntry, Stores } from '../../src/persistence/ports.js';

// ----- time ---------------------------------------------------------------------------------

export interface KillableClock extends Clock {
  /**
   * Simulates the process dying: every pending timer is dropped and none fires again. A
   * runtime on this clock stops polling and renewing its leases (they lapse), and its
   * actors' delayed events never fire; nothing is written or released.
   */
  kill(): void;
}

export function killableClock(): KillableClock {
  const handles = new Set<ReturnType<typeof setTimeout>>();
  let dead = false;
  return {
    now: () => Date.now(),
    setTimeout(fn, ms) {
      if (dead) return null;
      const handle = setTimeout(() => {
        handles.delete(handle);
        if (!dead) fn();
      }, ms);
      handles.add(handle);
      return handle;
    },
    clearTimeout(handle) {
      if (handle === null || handle === undefined) return;
      clearTimeout(handle as ReturnType<typeof setTimeout>);
      handles.delete(handle as ReturnType<typeof setTimeout>);
    },
    kill() {
      dead = true;
      for (const handle of handles) clearTimeout(handle);
      handles.clear();
    },
  };
}

/** Lets wall-clock time pass (a scenario's downtime), not a wait for a condition. */
export function elapse(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

// ----- store readers ------------------------------------------------------------------------

export async function recordOf(stores: Stores, tenantId: string, id: string): Promise<ActorRecord> {
  const r = await stores.actors.get(tenantId, id);
  if (!r) throw new Error(`no actor ${id} for ${tenantId}`);
  return r;
}

export async function mailboxOf(stores: Stores, tenantId: string, id: string): Promise<MailboxEntry[]> {
  return stores.actors.pending(tenantId, id, 0);
}

/** Runs `fn` on a separate raw connection to the harness's SQLite file (like an operator). */
export function withRawDb<T>(dir: string, fn: (db: Database.Database) => T): T {
  const db = new Database(join(dir, 'symphainy.db'));
  try {
    db.pragma('busy_timeout = 5000');
    return fn(db);
  } finally {
    db.close();
  }
}

// ----- a probe machine ----------------------------------------------------------------------

export interface ProbeContext extends ContractSlot {
  solutionId: string;
  ttlMs: number;
  pings: number;
}

export const ProbeEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('GO') }).strict(),
  z.object({ type: z.literal('PING') }).strict(),
  z.object({ type: z.literal('BOOM') }).strict(),
  z.object({ type: z.literal('CHECK') }).strict(),
  z.object({ type: z.literal('STOP') }).strict(),
]);
type ProbeEvent = z.infer<typeof ProbeEventSchema>;

/** The delayed event the probe's `ready` state schedules for itself. */
export const PROBE_AFTER_EVENT = 'xstate.after.ttl.probe.ready';

/**
 * created → contract → ready (waiting; `after: ttl` → expired) → done | expired | failed |
 * rejected | stopped. `PING` re-enters `ready` (restarting the delay), `GO` ends it, `BOOM`
 * runs an action that throws, `CHECK` a guard that throws. Spawned as kind `agentSession`, so its input is that kind's
 * (`idleTimeoutMs` becomes the ttl).
 */
export const probeMachine = setup({
  types: {
    context: {} as ProbeContext,
    events: {} as ProbeEvent,
    input: {} as { actorId: string; tenantId: string; solutionId: string; contractId: string | null; idleTimeoutMs?: number },
  },
  actors: { resolveContract: resolveContractLogic },
  delays: { ttl: ({ context }) => context.ttlMs },
  actions: {
    recordGrant: assign(recordGrant),
    recordProblem: assign(recordProblem),
    countPing: assign(({ context }) => ({ pings: context.pings + 1 })),
    explode: () => {
      throw new Error('the probe action exploded');
    },
  },
  guards: {
    contractRefused: isContractRefusal,
    explodingGuard: () => {
      throw new Error('the probe guard exploded');
    },
  },
}).createMachine({
  id: 'probe',
  context: ({ input }) => ({
    actorId: input.actorId,
    tenantId: input.tenantId,
    realm: 'insights',
    intent: 'agent_session',
    solutionId: input.solutionId,
    requestedContractId: input.contractId,
    contractId: null,
    error: null,
    ttlMs: input.idleTimeoutMs ?? 60_000,
    pings: 0,
  }),
  initial: 'created',
  on: { STOP: { target: '.stopped' } },
  states: {
    created: { always: { target: 'contract' } },
    ...contractStates('ready'),
    ready: {
      tags: [DATA_TAG, 'waiting'],
      after: { ttl: { target: 'expired' } },
      on: {
        PING: { target: 'ready', reenter: true, actions: 'countPing' },
        GO: { target: 'done' },
        BOOM: { actions: 'explode' },
        CHECK: { guard: 'explodingGuard', target: 'done' },
      },
    },
    expired: { type: 'final', tags: ['final'] },
    done: { type: 'final', tags: ['final'] },
    failed: { type: 'final', tags: ['final'] },
    stopped: { type: 'final', tags: ['final'] },
  },
});

export interface ProbeHooks {
  /** Called each time the throwing action runs. */
  onExplode?: () => void;
}

/** The product catalogue with `agentSession` replaced by the probe at `version`. */
export function probeCatalog(
  options: { version?: number; migrations?: Record<number, SnapshotMigration> } & ProbeHooks = {},
): MachineCatalog {
  const machine = probeMachine.provide({
    actions: {
      explode: () => {
        options.onExplode?.();
        throw new Error('the probe action exploded');
      },
    },
  });
  return {
    ...machineCatalog,
    agentSession: {
      kind: 'agentSession',
      machine,
      version: options.version ?? 1,
      migrations: options.migrations ?? {},
      events: ProbeEventSchema,
    },
  };
}

// ----- intents whose work can be held in flight ---------------------------------------------

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new AppError('internal', 'aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

export interface HeldWork {
  /** How many times the work ran (each run of the handler or chunk). */
  calls: number;
  /** The contract id of the grant each run received. */
  grants: string[];
  /** Resolves when the first run started (and emitted its artifact). */
  started: Promise<void>;
  /** Lets every held run, and every later one, go through. */
  release(): void;
}

function heldWork(): HeldWork & { hold(signal: AbortSignal): Promise<void>; markStarted(): void } {
  const gate = deferred();
  const first = deferred();
  let holding = true;
  const w = {
    calls: 0,
    grants: [] as string[],
    started: first.promise,
    release() {
      holding = false;
      gate.resolve();
    },
    markStarted: () => first.resolve(),
    async hold(signal: AbortSignal) {
      if (holding) await Promise.race([gate.promise, aborted(signal)]);
    },
  };
  return w;
}

/**
 * An execution intent `held_work` (realm content): each run emits its artifact (n = 1),
 * then waits until `release()` (or until its actor is stopped) and returns it.
 */
export function heldIntent(): { intent: IntentDefinition<never>; work: HeldWork } {
  const work = heldWork();
  const intent: IntentDefinition<{ label: string }> = {
    type: 'held_work',
    realm: 'content',
    mode: 'long',
    description: 'Test work that can be held in flight.',
    params: z.object({ label: z.string().min(1) }).strict(),
    async handler(ctx, params, contract) {
      work.calls++;
      work.grants.push(contract.contract.id);
      const ref = await ctx.emit('heldResult', { label: params.label }, { n: 1 });
      work.markStarted();
      await work.hold(ctx.signal);
      return [ref];
    },
  };
  return { intent: intent as IntentDefinition<never>, work };
}

export const BULK_CHUNK_SIZE = 10;

/**
 * A bulk intent `bulk_probe` (realm content) over `items` items in chunks of 10. Chunk
 * `holdChunk` waits until `release()` (or until its actor is stopped); `chunks` lists every
 * chunk run in order.
 */
export function bulkProbe(holdChunk: number): { intent: BulkIntentDefinition<never>; work: HeldWork; chunks: number[] } {
  const work = heldWork();
  const chunks: number[] = [];
  const intent: BulkIntentDefinition<{ items: number }> = {
    type: 'bulk_probe',
    realm: 'content',
    description: 'Test bulk work in chunks of 10.',
    params: z.object({ items: z.number().int().min(1).max(1000) }).strict(),
    async plan(_ctx, params) {
      return { chunks: Math.ceil(params.items / BULK_CHUNK_SIZE), items: params.items };
    },
    async chunk(ctx, params, contract, chunkNo) {
      work.calls++;
      work.grants.push(contract.contract.id);
      chunks.push(chunkNo);
      if (chunkNo === holdChunk) {
        work.markStarted();
        await work.hold(ctx.signal);
      }
      return { done: Math.min(BULK_CHUNK_SIZE, params.items - chunkNo * BULK_CHUNK_SIZE), failed: 0 };
    },
  };
  return { intent: intent as BulkIntentDefinition<never>, work, chunks };
}

/** The product's intents plus the given test intents. */
export function registryWith(intents: IntentDefinition<never>[], bulk: BulkIntentDefinition<never>[] = []): IntentRegistry {
  return createIntentRegistry([...defaultIntents(), ...intents], bulk);
}

/** Work that settles without I/O (`instant_work`): its execution goes from contract to done at once. */
export const instantIntent = {
  type: 'instant_work',
  realm: 'content',
  mode: 'short',
  description: 'Work that settles without I/O.',
  params: z.object({}).strict(),
  async handler() {
    return [];
  },
} satisfies IntentDefinition<Record<string, never>> as unknown as IntentDefinition<never>;

// ----- a contract store that holds its answers ----------------------------------------------

/**
 * `base` whose contract lists answer only once `open` is called: an actor spawned or restored
 * on them stays at its contract state until then.
 */
export function heldContracts(base: Stores): { stores: Stores; open: () => void } {
  let open!: () => void;
  const door = new Promise<void>((resolve) => (open = resolve));
  const stores: Stores = {
    ...base,
    contracts: {
      ...base.contracts,
      async list(tenantId) {
        await door;
        return base.contracts.list(tenantId);
      },
    },
  };
  return { stores, open };
}
