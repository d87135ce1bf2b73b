/**
 * @module actors/runtime
 * The durable actor runtime: spawn / send / inspect / list / stop over the persistence ports.
 *
 * Guarantees:
 * - An accepted event (and a spawn) is in the store before the call resolves. A spawned actor
 *   runs first and is stored by one write at the first state it waits in past its contract
 *   decision (its end, when its work needs no I/O): no step before that is observable, and its
 *   work writes nothing until that write landed (so a spawn that fails or replays an earlier
 *   one leaves nothing of its actor).
 * - The owner applies mailbox events in order; the new snapshot and the applied mark are
 *   written together by one compare-and-set commit guarded by the lease epoch. A crash
 *   between accept and apply loses nothing: the event is applied at recovery.
 * - An event the current state does not take is refused (`event-not-accepted`) and the
 *   refusal is recorded on the event; nothing is dropped silently. Events that arrive while
 *   the actor is still at its contract state wait for the decision instead. Events still
 *   unapplied when the actor ends are refused (`actor-final`) by the commit that ends it.
 * - At start (and whenever a lease expires) every non-final actor is claimed and restored;
 *   invoked work in flight at the crash runs again (at-least-once, idempotent by actor id);
 *   delayed transitions are re-armed for the time they had left.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createActor, type AnyActor, type AnyMachineSnapshot, type AnyStateMachine, type InspectionEvent, type Observer } from 'xstate';
import { systemClock, type Clock } from '../clock.js';
import { AppError, isAppError, problemOf, toError, type Problem } from '../errors.js';
import { isTenantId, newId } from '../ids.js';
import { createDefaultIntentRegistry, paramsInvalid, type IntentRegistry } from '../intents/index.js';
import { silentLogger, type Logger } from '../logger.js';
import { ACTOR_KINDS, CONTRACT_TAG, machineCatalog, type ActorKind, type GrantedContract, type MachineCatalog, type MachineDefinition } from '../machines/index.js';
import { answerFromInventory } from '../realms/insights/inventory.js';
import {
  isFinalStatus,
  type ActorListFilter,
  type ActorRecord,
  type ActorStatus,
  type CommitPatch,
  type IdempotencyClaim,
  type IdempotentResult,
  type MailboxEntry,
  type Page,
  type Fence,
  type Stores,
  type TimerRecord,
} from '../persistence/ports.js';
import { createContractService, type ContractService } from './contracts.js';
import { createHub } from './hub.js';
import type { Nudger } from './nudge.js';
import { ID_PREFIX, machineInputOf, normalizeSpawn, storedSpawn } from './kinds.js';
import { classify, migrateSnapshot, pendingTimers, rearmTimers, type TimerDeadlines } from './snapshot.js';
import { publicView, setOutput, stateOf, type ActorState, type ActorView } from './view.js';
import { workActors, type AgentResponder } from './work.js';

export type WaitCondition = 'applied' | 'done' | { tag: string };

export interface RuntimeOptions {
  stores: Stores;
  /** @defaultValue the product's registered intents */
  intents?: IntentRegistry;
  /** @defaultValue every machine of the product */
  catalog?: MachineCatalog;
  clock?: Clock;
  logger?: Logger;
  /** This process's identity in leases. @defaultValue a random id */
  ownerId?: string;
  /** Lease length in milliseconds. @defaultValue 15000 */
  leaseMs?: number;
  /** Store polling interval (claims, other processes' events and commits), ms. @defaultValue 250 */
  pollMs?: number;
  /** How long idempotency keys are remembered, ms. @defaultValue 86400000 */
  idempotencyTtlMs?: number;
  /** Largest spawn input or event, as JSON bytes. @defaultValue 262144 */
  maxEventBytes?: number;
  /** Answers agent turns. @defaultValue the inventory reasoner */
  respond?: AgentResponder;
  /** Wakes other processes sooner than their polling would (Redis pub/sub). @defaultValue none */
  nudger?: Nudger;
  /** Told of actors this process refuses to restore (e.g. `machine-version-unknown`). */
  onRefused?: (actorId: string, problem: Problem) => void;
  /**
   * Live inspection (`actors/inspect.ts`): the actors of `tenantId` only, spawned or restored,
   * are created with `inspect` as their XState inspection observer. @defaultValue none
   */
  inspection?: { tenantId: string; inspect: Observer<InspectionEvent> };
}

export interface SpawnOptions {
  tenantId: string;
  idempotencyKey?: string;
}

export interface SendOptions {
  tenantId: string;
  idempotencyKey?: string;
  /** Without it the call resolves once the event is stored (accepted). */
  waitFor?: WaitCondition;
  /** @defaultValue 30000 */
  timeoutMs?: number;
}

export interface SendResult {
  /** The event's mailbox sequence number. */
  seq: number;
  /** The actor after the wait condition held (or as stored when accepted, without one). */
  view: ActorView;
}

export interface Runtime {
  readonly ownerId: string;
  readonly contracts: ContractService;
  readonly intents: IntentRegistry;
  readonly catalog: MachineCatalog;
  /** Claims and restores every non-final actor, then keeps polling and renewing leases. */
  start(): Promise<void>;
  /**
   * Creates an actor of `kind`. The input is validated first (`kind-unknown`,
   * `intent-unknown`, `params-invalid`, `payload-too-large`) and nothing is stored on refusal.
   * A repeated `idempotencyKey` returns the first actor (`fresh: false`), or
   * `idempotency-conflict` if the input differs. Resolves once the actor is stored, at the
   * first state it waits in past its contract decision (its end, for work without I/O).
   */
  spawn(kind: string, input: unknown, options: SpawnOptions): Promise<{ id: string; fresh: boolean }>;
  /**
   * Stores `event` in the actor's mailbox. `waitFor: 'applied'` also waits until the owner
   * applied it (and throws its refusal, e.g. `event-not-accepted`); `'done'` waits for any
   * final status; `{ tag }` for a state with that tag. `wait-timeout` when `timeoutMs` passes;
   * retrying with the same idempotency key re-attaches to the same event.
   */
  send(id: string, event: unknown, options: SendOptions): Promise<SendResult>;
  /**
   * Calls `listener` with each newer state of the tenant's actor from now on, until the
   * returned function is called: every commit of this process, and what the store poll (or a
   * nudge) finds of other processes' commits, which may skip versions committed between two
   * reads (fill them from `ActorStore.history`). `not-found` for another tenant's id.
   * `onError` is told of failed store reads; watching goes on. `onEnd` is called if
   * {@link Runtime.endWatches} or `close` comes first (the watch is over then).
   */
  watch(
    id: string,
    options: { tenantId: string; onError?: (error: unknown) => void; onEnd?: () => void },
    listener: (view: ActorView) => void,
  ): Promise<() => void>;
  /**
   * Ends every `watch` (calling its `onEnd`), and any started from now on at once: the first
   * step of a shutdown, so that streams close (their clients resume on another process)
   * instead of holding the HTTP server open. `close` does it too.
   */
  endWatches(): void;
  /** Waits for a condition on an actor without sending anything. */
  waitFor(id: string, options: { tenantId: string; until: Exclude<WaitCondition, 'applied'>; timeoutMs?: number }): Promise<ActorView>;
  inspect(id: string, options: { tenantId: string }): Promise<ActorView>;
  list(filter: ActorListFilter): Promise<Page<ActorView>>;
  /** One mailbox entry with its outcome (applied, refused with the reason, or pending). */
  event(id: string, seq: number, options: { tenantId: string }): Promise<MailboxEntry>;
  /** Sends `STOP`; every machine takes it in every non-final state. */
  stop(id: string, options: SendOptions): Promise<SendResult>;
  /** Stops polling, stops the local actors and releases their leases. */
  close(): Promise<void>;
}

/**
 * A spawned actor not stored yet: it is first written at its first quiescent state past the
 * contract decision (see {@link Runtime.spawn}), by its first commit.
 */
interface Birth {
  /** The record the first write stores; its state is the actor's at that moment. */
  readonly record: ActorRecord;
  readonly claim: IdempotencyClaim | undefined;
  /** Inspection events held until the actor is stored, and dropped if it never is. */
  readonly inspection: HeldInspection;
  /** Settles with the spawn's answer (a replay's: the first actor) or its failure. */
  readonly stored: Promise<IdempotentResult<string>>;
  settle(outcome: { result: IdempotentResult<string> } | { error: unknown }): void;
}

/** Inspection events of an actor that is not stored yet: held, then passed on or dropped. */
interface HeldInspection {
  mode: 'hold' | 'pass' | 'drop';
  events: InspectionEvent[];
}

interface Live {
  readonly id: string;
  readonly tenantId: string;
  readonly kind: string;
  readonly def: MachineDefinition;
  createdAt: string;
  readonly epoch: number;
  /** Set until the actor's first write stored it (a spawned actor only). */
  birth: Birth | null;
  actor: AnyActor;
  version: number;
  appliedSeq: number;
  outcomes: CommitPatch['outcomes'];
  /** Deadlines of the delayed events armed on `actor` (see {@link TimerDeadlines}). */
  deadlines: TimerDeadlines;
  dirty: boolean;
  committing: Promise<void> | null;
  draining: boolean;
  drainAgain: boolean;
  /** Mailbox events wait for the actor to leave its contract state (see `verdictOf`). */
  waitingAtDoor: boolean;
  closed: boolean;
  lastState: ActorState | null;
  /** The XState snapshot object last written (snapshots are immutable: identity means unchanged). */
  committed: unknown;
  /** The delayed events last written, as a comparable key. */
  committedTimers: string;
  /**
   * Events this process appended to the actor's mailbox, by sequence number, until applied:
   * the next one in sequence is applied without reading it back (see {@link drain}).
   */
  handed: Map<number, MailboxEntry['event']>;
  /** Outcomes of the events this process committed for the actor, the newest {@link SETTLED_KEPT}. */
  settled: Map<number, CommitPatch['outcomes'][number]>;
}

const DEFAULTS = {
  leaseMs: 15_000,
  pollMs: 250,
  idempotencyTtlMs: 86_400_000,
  maxEventBytes: 256 * 1024,
  timeoutMs: 30_000,
} as const;

const CLAIM_BATCH = 100;
/** Committed event outcomes a live actor keeps for the senders waiting on them. */
const SETTLED_KEPT = 64;
const COMMIT_RETRY_MS = 100;

function requestHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** JSON with object keys sorted, so equal requests hash equally whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function byteLength(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null) ?? '', 'utf8');
}

function isActorKind(kind: string, catalog: MachineCatalog): kind is ActorKind {
  return (ACTOR_KINDS as readonly string[]).includes(kind) && Object.hasOwn(catalog, kind);
}

export function createRuntime(options: RuntimeOptions): Runtime {
  const stores = options.stores;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger();
  const intents = options.intents ?? createDefaultIntentRegistry();
  const catalog = options.catalog ?? machineCatalog;
  const ownerId = options.ownerId ?? `own_${randomBytes(8).toString('hex')}`;
  const leaseMs = options.leaseMs ?? DEFAULTS.leaseMs;
  const pollMs = options.pollMs ?? DEFAULTS.pollMs;
  const idempotencyTtlMs = options.idempotencyTtlMs ?? DEFAULTS.idempotencyTtlMs;
  const maxEventBytes = options.maxEventBytes ?? DEFAULTS.maxEventBytes;
  const contracts = createContractService(stores.contracts, clock);
  const hub = createHub(clock);
  const grants = new Map<string, GrantedContract>();
  const spawnInputs = new Map<string, unknown>();
  const lives = new Map<string, Live>();
  /** Spawned actors running towards their first write: not stored, so not held (no lease yet). */
  const unborn = new Map<string, Live>();
  /**
   * Views of actors known to be final, newest last (a bounded LRU). A final actor never
   * changes again, so any process may answer from here instead of reading the store.
   */
  const finals = new Map<string, ActorState>();
  const FINALS_MAX = 10_000;
  function rememberFinal(state: ActorState): void {
    if (!isFinalStatus(state.status)) return;
    finals.delete(state.id);
    finals.set(state.id, state);
    if (finals.size > FINALS_MAX) finals.delete(finals.keys().next().value as string);
  }
  /** The public view of each remembered final state, built once (frozen: callers share it). */
  const finalViews = new WeakMap<ActorState, ActorView>();
  function viewOf(state: ActorState): ActorView {
    if (finals.get(state.id) !== state) return publicView(state);
    let view = finalViews.get(state);
    if (!view) finalViews.set(state, (view = Object.freeze(publicView(state))));
    return view;
  }
  /** Open `watch` subscriptions, ended by `endWatches` and `close`. */
  const watchers = new Set<{ stop: () => void; onEnd: (() => void) | undefined }>();
  let watching = true;
  /** `then` once a spawned actor is stored; rejects if it never is (its spawn failed or replayed). */
  function storedActor<T>(actorId: string, birth: Birth, then: () => T): Promise<T> {
    const out = birth.stored.then((r) => {
      if (!r.fresh) throw new AppError('lease-lost', `Actor ${actorId} was not stored: its spawn replayed an earlier one`);
      return then();
    });
    // A wait nobody attends to (the actor was dropped) must not surface as unhandled.
    out.catch(() => undefined);
    return out;
  }
  function fenceOf(actorId: string): Promise<Fence> {
    // An actor this process no longer runs gets an epoch no lease has: its writes are refused.
    const now = (): Fence => ({ actorId, ownerId, epoch: lives.get(actorId)?.epoch ?? -1 });
    // A spawned actor's work writes nothing before the actor is stored itself.
    const birth = unborn.get(actorId)?.birth;
    return birth ? storedActor(actorId, birth, now) : Promise.resolve(now());
  }
  function workMayStart(actorId: string): Promise<void> {
    const birth = unborn.get(actorId)?.birth;
    return birth?.claim ? storedActor(actorId, birth, () => undefined) : Promise.resolve();
  }
  /** Actors this process claimed but refuses to run (unknown machine version): held, not run. */
  const refused = new Map<string, { epoch: number; problem: Problem }>();
  const work = workActors({ stores, intents, contracts, clock, respond: options.respond ?? answerFromInventory, grants, spawnInputs, fenceOf, workMayStart });
  const machines = new Map<string, AnyStateMachine>();
  for (const [kind, def] of Object.entries(catalog)) machines.set(kind, def.machine.provide({ actors: work }) as AnyStateMachine);

  options.nudger?.subscribe((kind, actorId) => {
    const live = lives.get(actorId);
    if (kind === 'event') {
      if (live) void drain(live);
    } else if (!live) {
      hub.nudge(actorId);
    }
  });

  let started = false;
  let closed = false;
  let pollTimer: unknown = null;
  let renewTimer: unknown = null;
  let polling = false;
  let lastPurge = 0;

  function unknownKind(kind: string): AppError {
    return new AppError('kind-unknown', `Unknown actor kind ${JSON.stringify(kind)}; one of ${Object.keys(catalog).join(', ')}`);
  }

  function defOf(kind: string): MachineDefinition {
    // Own keys only: `constructor` or `__proto__` must not find an Object.prototype member.
    const def = Object.hasOwn(catalog, kind) ? catalog[kind] : undefined;
    if (!def) throw unknownKind(kind);
    return def;
  }

  function assertTenant(tenantId: string): void {
    if (!isTenantId(tenantId)) throw new AppError('params-invalid', 'Invalid tenant id', { extras: { errors: [{ path: 'tenantId', message: 'invalid' }] } });
  }

  function claimOf(tenantId: string, key: string | undefined, body: unknown): IdempotencyClaim | undefined {
    if (key === undefined) return undefined;
    if (key.length === 0 || key.length > 200) {
      throw new AppError('params-invalid', 'Idempotency key must be 1 to 200 characters', {
        extras: { errors: [{ path: 'idempotencyKey', message: 'length 1..200' }] },
      });
    }
    const now = clock.now();
    return { key, requestHash: requestHash({ tenantId, body }), nowMs: now, expiresAt: now + idempotencyTtlMs };
  }

  // ----- the owner side -------------------------------------------------------------------

  function stateFromLive(live: Live, patch: CommitPatch, version: number): ActorState {
    const state: ActorState = {
      id: live.id,
      kind: live.kind,
      tenantId: live.tenantId,
      status: patch.status,
      value: patch.value,
      tags: patch.tags,
      contractId: patch.contractId,
      machineId: live.def.machine.id,
      machineVersion: patch.machineVersion,
      version,
      createdAt: live.createdAt,
      updatedAt: new Date(clock.now()).toISOString(),
      appliedSeq: patch.appliedSeq,
    };
    setOutput(state, patch.output);
    if (patch.error) state.error = patch.error;
    return state;
  }

  function timerKey(timers: readonly TimerRecord[]): string {
    return timers.map((t) => `${t.id}@${t.deadline}`).join('|');
  }

  function patchOf(live: Live, timers: TimerRecord[]): CommitPatch {
    const snap = live.actor.getSnapshot() as AnyMachineSnapshot;
    const { status, error, output } = classify(snap);
    const context = snap.context as { contractId?: unknown } | undefined;
    return {
      status,
      value: snap.value,
      tags: [...snap.tags].sort(),
      snapshot: live.actor.getPersistedSnapshot() as Record<string, unknown>,
      machineVersion: live.def.version,
      contractId: typeof context?.contractId === 'string' ? context.contractId : null,
      output: output ?? null,
      error,
      timers,
      appliedSeq: live.appliedSeq,
      outcomes: live.outcomes.splice(0),
    };
  }

  /** Forgets a live actor without writing anything (final, lease lost, or closing). */
  function drop(live: Live): void {
    if (live.closed) return;
    live.closed = true;
    if (live.birth) {
      live.birth.settle({ error: new AppError('store-unavailable', `Actor ${live.id} was not stored: the runtime let it go first (closing)`) });
      live.birth.inspection.mode = 'drop';
      unborn.delete(live.id);
    } else lives.delete(live.id);
    grants.delete(live.id);
    spawnInputs.delete(live.id);
    try {
      live.actor.stop();
    } catch (e) {
      logger.warn({ actorId: live.id, err: toError(e).message }, 'stopping a dropped actor threw');
    }
  }

  /**
   * The first write of a spawned actor: `create` with the state it reached, once it is past
   * its contract decision. Nothing is retried here: a failure fails the spawn, which stored
   * nothing, and a replayed idempotency key answers the first actor (this copy is dropped).
   */
  async function bear(live: Live, birth: Birth): Promise<void> {
    const snap = live.actor.getSnapshot() as AnyMachineSnapshot;
    // At the door the actor waits for its contract decision; it is stored past it.
    if (snap.status === 'active' && snap.hasTag(CONTRACT_TAG)) return;
    const final = snap.status !== 'active';
    let patch: CommitPatch;
    let result: IdempotentResult<string>;
    const now = clock.now();
    const at = new Date(now).toISOString();
    try {
      patch = patchOf(live, final ? [] : pendingTimers(live.actor, live.deadlines, now));
      const record: ActorRecord = {
        ...birth.record,
        status: patch.status,
        value: patch.value,
        tags: patch.tags,
        machineVersion: patch.machineVersion,
        snapshot: patch.snapshot,
        contractId: patch.contractId,
        output: patch.output,
        error: patch.error,
        timers: patch.timers,
        // An actor that ended before it was stored holds no lease.
        ownerId: final ? null : ownerId,
        leaseUntil: final ? 0 : now + leaseMs,
        createdAt: at,
        updatedAt: at,
      };
      result = await stores.actors.create(record, birth.claim);
    } catch (e) {
      birth.settle({ error: e });
      drop(live);
      return;
    }
    if (!result.fresh || live.closed) {
      birth.settle({ result });
      drop(live);
      // Stored after this process let it go (closing): another process takes it at once.
      if (result.fresh && !final) {
        await stores.actors.release(ownerId, [live.id]).catch((e: unknown) => {
          logger.warn({ actorId: live.id, err: toError(e).message }, 'releasing a lease failed; it expires by itself');
        });
      }
      return;
    }
    live.birth = null;
    unborn.delete(live.id);
    lives.set(live.id, live);
    live.createdAt = at;
    live.version = 0;
    live.committed = snap;
    live.committedTimers = timerKey(patch.timers);
    const state = stateFromLive(live, patch, 0);
    live.lastState = state;
    birth.settle({ result });
    birth.inspection.mode = 'pass';
    for (const e of birth.inspection.events.splice(0)) inspectSafely(e);
    hub.publish(state);
    if (final) {
      rememberFinal(state);
      drop(live);
    }
  }

  /** Passes an inspection event on; an observer that throws is logged, never the runtime's failure. */
  function inspectSafely(e: InspectionEvent): void {
    try {
      options.inspection?.inspect.next?.(e);
    } catch (err) {
      logger.warn({ err: toError(err).message }, 'the inspection observer threw');
    }
  }

  async function commitOnce(live: Live): Promise<void> {
    if (live.birth) return bear(live, live.birth);
    const snap = live.actor.getSnapshot();
    const final = (snap as AnyMachineSnapshot).status !== 'active';
    const timers = final ? [] : pendingTimers(live.actor, live.deadlines, clock.now());
    if (snap === live.committed && live.outcomes.length === 0 && timerKey(timers) === live.committedTimers) return;
    const patch = patchOf(live, timers);
    try {
      const version = await stores.actors.commit(live.id, { ownerId, epoch: live.epoch }, live.version, patch);
      live.version = version;
      live.committed = snap;
      live.committedTimers = timerKey(patch.timers);
      for (const o of patch.outcomes) {
        live.settled.set(o.seq, o);
        if (live.settled.size > SETTLED_KEPT) live.settled.delete(live.settled.keys().next().value as number);
      }
      const state = stateFromLive(live, patch, version);
      live.lastState = state;
      hub.publish(state);
      options.nudger?.publish('commit', live.id);
      if (isFinalStatus(patch.status)) {
        rememberFinal(state);
        drop(live);
      }
    } catch (e) {
      if (isAppError(e, 'lease-lost', 'version-conflict', 'not-found')) {
        logger.warn({ actorId: live.id, code: e.code }, 'actor handed over: dropping the local copy');
        drop(live);
        return;
      }
      // The store failed: keep the outcomes for the next try, which writes the latest state.
      live.outcomes.unshift(...patch.outcomes);
      live.dirty = true;
      logger.error({ actorId: live.id, err: toError(e).message }, 'commit failed; retrying');
      await new Promise<void>((resolve) => clock.setTimeout(resolve, COMMIT_RETRY_MS));
    }
  }

  /** Persists the live actor's latest state; concurrent requests coalesce into one write. */
  function requestCommit(live: Live): Promise<void> {
    live.dirty = true;
    if (!live.committing) {
      live.committing = (async () => {
        // Let the current macrostep, and the steps that settle before the event loop turns
        // (events sent in the same tick, work that needs no I/O), finish first: they share
        // this commit, and history records the state they reached.
        await new Promise<void>((resolve) => setImmediate(resolve));
        try {
          while (live.dirty && !live.closed) {
            live.dirty = false;
            await commitOnce(live);
          }
        } finally {
          live.committing = null;
        }
      })();
    }
    return live.committing;
  }

  /** How the owner answers one mailbox event in the actor's current state. */
  function verdictOf(snap: AnyMachineSnapshot, event: MailboxEntry['event']): 'final' | 'wait' | 'refuse' | 'apply' {
    if (snap.status !== 'active') return 'final';
    let takes: boolean;
    try {
      takes = snap.can(event);
    } catch {
      // A guard threw. Sending the event lets XState fail the actor on that same guard
      // (`failed`, with the error) instead of the poller retrying this event forever.
      takes = true;
    }
    if (takes) return 'apply';
    // At the door the actor has not decided its contract yet, a moment no sender can see:
    // the event (and every later one, to keep the order) waits for the decision instead of
    // being refused for it.
    return snap.hasTag(CONTRACT_TAG) ? 'wait' : 'refuse';
  }

  /**
   * The events this process appended that follow the actor's applied mark without a gap, or
   * `null` when the next one was appended elsewhere (or is not known here): then the mailbox
   * is read. An event appended elsewhere in between leaves a gap, so the order stays the
   * mailbox's.
   */
  function handedNext(live: Live): Pick<MailboxEntry, 'seq' | 'event'>[] | null {
    for (const seq of live.handed.keys()) if (seq <= live.appliedSeq) live.handed.delete(seq);
    const out: Pick<MailboxEntry, 'seq' | 'event'>[] = [];
    for (let seq = live.appliedSeq + 1, event = live.handed.get(seq); event !== undefined; event = live.handed.get(++seq)) {
      out.push({ seq, event });
    }
    return out.length > 0 ? out : null;
  }

  /** Applies the actor's pending mailbox events in order, then commits them with the state. */
  async function drain(live: Live): Promise<void> {
    if (live.draining) {
      live.drainAgain = true;
      return;
    }
    live.draining = true;
    try {
      do {
        live.drainAgain = false;
        const entries = handedNext(live) ?? (await stores.actors.pending(live.tenantId, live.id, live.appliedSeq));
        let any = false;
        for (const entry of entries) {
          if (live.closed) return;
          if (entry.seq <= live.appliedSeq) continue;
          const snap = live.actor.getSnapshot() as AnyMachineSnapshot;
          const verdict = verdictOf(snap, entry.event);
          if (verdict === 'wait') {
            live.waitingAtDoor = true;
            break;
          }
          any = true;
          // The mark moves before `send`, so the commit that carries the event's effect
          // carries its mark too.
          live.appliedSeq = entry.seq;
          if (verdict === 'final') {
            live.outcomes.push({ seq: entry.seq, outcome: 'refused', error: new AppError('actor-final', `Actor ${live.id} is final`).toProblem() });
          } else if (verdict === 'refuse') {
            live.outcomes.push({
              seq: entry.seq,
              outcome: 'refused',
              error: new AppError('event-not-accepted', `State ${JSON.stringify(snap.value)} does not take ${entry.event.type}`).toProblem(),
            });
          } else {
            live.outcomes.push({ seq: entry.seq, outcome: 'applied', error: null });
            live.actor.send(entry.event);
          }
        }
        if (any) await requestCommit(live);
      } while (live.drainAgain && !live.closed);
    } catch (e) {
      logger.error({ actorId: live.id, err: toError(e).message }, 'draining the mailbox failed; the poller retries');
    } finally {
      live.draining = false;
    }
  }

  /**
   * Creates (not yet started) the XState actor of a record: restored from its stored
   * snapshot, or fresh from its spawn input. Throws `machine-version-unknown` for a snapshot
   * it cannot migrate. An actor of the inspected tenant is inspected from its creation; a
   * spawned one through `held`, which keeps its events until it is stored (see {@link bear}),
   * so that an actor that is never stored (a replayed spawn) never shows in the inspector.
   */
  function prepare(record: ActorRecord, held?: HeldInspection): AnyActor {
    const def = defOf(record.kind);
    const machine = machines.get(record.kind);
    if (!machine) throw new AppError('kind-unknown', `Unknown actor kind ${record.kind}`);
    const observer = options.inspection?.tenantId === record.tenantId ? options.inspection.inspect : undefined;
    const inspect: Observer<InspectionEvent> | undefined =
      observer && held
        ? {
            next: (e) => {
              if (held.mode === 'hold') held.events.push(e);
              else if (held.mode === 'pass') inspectSafely(e);
            },
          }
        : observer;
    // An inspected actor is named by its id, so the inspector lists actors as the API does.
    const inspection = inspect ? { id: record.id, inspect } : {};
    if (record.snapshot) {
      const snapshot = migrateSnapshot(def, record.machineVersion, record.snapshot);
      return createActor(machine, { snapshot: snapshot as unknown as AnyMachineSnapshot, clock, ...inspection });
    }
    return createActor(machine, { input: machineInputOf(record.id, record.tenantId, storedSpawn(record.kind, record.input)), clock, ...inspection });
  }

  /**
   * Runs an actor: one this process holds the lease of (`record` as stored or claimed: it is
   * restored, its delayed events re-armed and its pending mailbox drained), or one `spawned`
   * here and not stored yet (its first commit stores it).
   */
  function activate(record: ActorRecord, spawned?: { actor: AnyActor; birth: Birth }): Live {
    const actor = spawned?.actor ?? prepare(record);
    // Parameters validated by this process at spawn are kept; restored actors read theirs back and re-validate.
    if (spawned) spawnInputs.set(record.id, record.input);
    const live: Live = {
      id: record.id,
      tenantId: record.tenantId,
      kind: record.kind,
      def: defOf(record.kind),
      createdAt: record.createdAt,
      epoch: record.epoch,
      birth: spawned?.birth ?? null,
      actor,
      version: record.version,
      appliedSeq: record.appliedSeq,
      outcomes: [],
      deadlines: new WeakMap(),
      dirty: false,
      committing: null,
      draining: false,
      drainAgain: false,
      waitingAtDoor: false,
      closed: false,
      lastState: stateOf(record),
      committed: null,
      committedTimers: '',
      handed: new Map(),
      settled: new Map(),
    };
    (spawned ? unborn : lives).set(record.id, live);
    const changed = () => {
      void requestCommit(live);
      if (live.waitingAtDoor && !(actor.getSnapshot() as AnyMachineSnapshot).hasTag(CONTRACT_TAG)) {
        live.waitingAtDoor = false;
        void drain(live);
      }
    };
    actor.subscribe({
      next: changed,
      error: (err: unknown) => {
        // An action or guard threw: XState leaves `status: 'error'`, which commits as `failed`.
        logger.error({ actorId: live.id, err: toError(err).message }, 'actor failed');
        changed();
      },
      complete: changed,
    });
    actor.start();
    if (!spawned) rearmTimers(actor, record.timers, clock.now(), live.deadlines);
    void requestCommit(live);
    if (record.lastSeq > record.appliedSeq) void drain(live);
    return live;
  }

  function refuse(record: ActorRecord, e: unknown): void {
    const problem = problemOf(e);
    refused.set(record.id, { epoch: record.epoch, problem });
    logger.error({ actorId: record.id, kind: record.kind, machineVersion: record.machineVersion, code: problem.code }, problem.detail);
    options.onRefused?.(record.id, problem);
  }

  async function claimAll(): Promise<void> {
    for (;;) {
      const claimed = await stores.actors.claim(ownerId, clock.now(), leaseMs, CLAIM_BATCH);
      for (const record of claimed) {
        const prior = lives.get(record.id);
        if (prior) drop(prior);
        try {
          activate(record);
        } catch (e) {
          refuse(record, e);
        }
      }
      // The leases run from before the claim, which may have taken a while: renewed now
      // rather than at the next renewal tick.
      if (claimed.length > 0) await renew();
      if (claimed.length < CLAIM_BATCH || closed) return;
    }
  }

  async function poll(): Promise<void> {
    if (polling || closed) return;
    polling = true;
    try {
      await claimAll();
      for (const { id } of await stores.actors.withPendingEvents(ownerId)) {
        const live = lives.get(id);
        if (live) void drain(live);
      }
      if (clock.now() - lastPurge > 60_000) {
        lastPurge = clock.now();
        await stores.actors.purgeExpired(lastPurge);
      }
    } catch (e) {
      logger.error({ err: toError(e).message }, 'polling the store failed');
    } finally {
      polling = false;
    }
  }

  async function renew(): Promise<void> {
    const held = [...lives.values()].map((l) => ({ id: l.id, epoch: l.epoch }));
    for (const [id, r] of refused) held.push({ id, epoch: r.epoch });
    if (held.length === 0) return;
    try {
      const lost = await stores.actors.renew(ownerId, held, clock.now() + leaseMs);
      for (const id of lost) {
        refused.delete(id);
        const live = lives.get(id);
        if (live && !live.committing) drop(live);
      }
    } catch (e) {
      logger.error({ err: toError(e).message }, 'renewing leases failed');
    }
  }

  function schedulePoll(): void {
    if (closed) return;
    pollTimer = clock.setTimeout(() => {
      void poll().finally(schedulePoll);
    }, pollMs);
  }

  function scheduleRenew(): void {
    if (closed) return;
    renewTimer = clock.setTimeout(() => {
      void renew().finally(scheduleRenew);
    }, Math.max(50, Math.floor(leaseMs / 3)));
  }

  // ----- the caller side ------------------------------------------------------------------

  async function load(tenantId: string, id: string): Promise<ActorRecord> {
    assertTenant(tenantId);
    const record = await stores.actors.get(tenantId, id);
    if (!record) throw new AppError('not-found', `No actor ${id}`);
    return record;
  }

  /**
   * The latest state of an actor of the tenant: this process's own commit when it owns the
   * actor (no store read), else the stored record. `not-found` for another tenant's id.
   */
  async function currentState(tenantId: string, id: string): Promise<ActorState> {
    const live = lives.get(id);
    if (live && live.tenantId === tenantId && live.lastState) return live.lastState;
    return storedState(tenantId, id);
  }

  /**
   * The actor as stored, answered from {@link finals} for a final actor. (Not from this
   * process's live copy: while its commit is in flight another process may already read the
   * newer version from the store.)
   */
  async function storedState(tenantId: string, id: string): Promise<ActorState> {
    const final = finals.get(id);
    if (final) {
      if (final.tenantId === tenantId) return final;
      throw new AppError('not-found', `No actor ${id}`);
    }
    const state = stateOf(await load(tenantId, id));
    rememberFinal(state);
    return state;
  }

  function newest(a: ActorState | null, b: ActorState): ActorState {
    return a && a.version > b.version ? a : b;
  }

  async function waitState(tenantId: string, id: string, until: (s: ActorState) => boolean, timeoutMs: number, what: string): Promise<ActorState> {
    const known = await currentState(tenantId, id);
    // No await between reading the current state and registering the waiter: a local commit
    // cannot slip in between.
    const current = newest(lives.get(id)?.lastState ?? null, known);
    return hub.waitFor(id, until, {
      current,
      timeoutMs,
      pollMs,
      refresh: async () => {
        const r = await stores.actors.get(tenantId, id);
        return r ? stateOf(r) : null;
      },
      onTimeout: () => new AppError('wait-timeout', `Actor ${id} did not reach ${what} within ${timeoutMs} ms`, { extras: { actorId: id } }),
    });
  }

  function predicateOf(until: Exclude<WaitCondition, 'applied'>): [(s: ActorState) => boolean, string] {
    if (until === 'done') return [(s) => isFinalStatus(s.status), 'a final status'];
    const tag = until.tag;
    return [(s) => s.tags.includes(tag) || isFinalStatus(s.status), `tag ${tag}`];
  }

  function validateEvent(def: MachineDefinition, event: unknown): MailboxEntry['event'] {
    if (byteLength(event) > maxEventBytes) throw new AppError('payload-too-large', `Event is larger than ${maxEventBytes} bytes`);
    if (typeof event !== 'object' || event === null || typeof (event as { type?: unknown }).type !== 'string') {
      throw new AppError('params-invalid', 'An event is an object with a string `type`', { extras: { errors: [{ path: 'type', message: 'required string' }] } });
    }
    const type = (event as { type: string }).type;
    if (type.startsWith('xstate.')) {
      throw new AppError('params-invalid', 'Events of type xstate.* are internal', { extras: { errors: [{ path: 'type', message: 'internal event type' }] } });
    }
    const parsed = def.events.safeParse(event);
    if (!parsed.success) throw paramsInvalid(parsed.error, `Event ${type} for ${def.kind}`, 'event');
    return parsed.data as MailboxEntry['event'];
  }

  const runtime: Runtime = {
    ownerId,
    contracts,
    intents,
    catalog,

    async start() {
      if (started) return;
      started = true;
      await claimAll();
      schedulePoll();
      scheduleRenew();
    },

    async spawn(kind, input, { tenantId, idempotencyKey }) {
      assertTenant(tenantId);
      if (closed) throw new AppError('store-unavailable', 'The runtime is closed');
      if (!isActorKind(kind, catalog)) throw unknownKind(kind);
      const def = defOf(kind);
      if (byteLength(input) > maxEventBytes) throw new AppError('payload-too-large', `Spawn input is larger than ${maxEventBytes} bytes`);
      const spawn = normalizeSpawn(kind as ActorKind, input, intents);
      const claim = claimOf(tenantId, idempotencyKey, { op: 'spawn', kind, input: input ?? null });
      const now = clock.now();
      const nowIso = new Date(now).toISOString();
      const record: ActorRecord = {
        id: newId(ID_PREFIX[kind as ActorKind], now),
        tenantId,
        kind,
        status: 'running',
        value: null,
        tags: [],
        machineId: def.machine.id,
        machineVersion: def.version,
        snapshot: null,
        input: spawn,
        contractId: null,
        output: null,
        error: null,
        timers: [],
        version: 0,
        appliedSeq: 0,
        lastSeq: 0,
        ownerId,
        leaseUntil: now + leaseMs,
        epoch: 1,
        createdAt: nowIso,
        updatedAt: nowIso,
      };
      // The actor runs before it is stored: its first write is its first quiescent state past
      // the contract decision (for work that needs no I/O, its final state), and the spawn
      // answers once that write landed. Its work writes nothing before (see `fenceOf`).
      const held: HeldInspection = { mode: 'hold', events: [] };
      const actor = prepare(record, held);
      let settle!: Birth['settle'];
      const stored = new Promise<IdempotentResult<string>>((resolve, reject) => {
        settle = (outcome) => ('result' in outcome ? resolve(outcome.result) : reject(outcome.error));
      });
      // A write waiting on a birth that fails fails with it; nobody else needs to hear of it.
      stored.catch(() => undefined);
      try {
        activate(record, { actor, birth: { record, claim, inspection: held, stored, settle } });
      } catch (e) {
        const live = unborn.get(record.id);
        if (live) drop(live);
        throw e;
      }
      const result = await stored;
      if (!result.fresh) {
        if (claim && result.requestHash !== claim.requestHash) {
          throw new AppError('idempotency-conflict', 'This idempotency key was used with a different request');
        }
        return { id: result.value, fresh: false };
      }
      return { id: record.id, fresh: true };
    },

    async send(id, event, opts) {
      const record = await currentState(opts.tenantId, id);
      const def = defOf(record.kind);
      const valid = validateEvent(def, event);
      const claim = claimOf(opts.tenantId, opts.idempotencyKey, { op: 'send', id, event: valid });
      const appended = await stores.actors.append(opts.tenantId, id, valid, new Date(clock.now()).toISOString(), claim);
      if (!appended.fresh && claim && appended.requestHash !== claim.requestHash) {
        throw new AppError('idempotency-conflict', 'This idempotency key was used with a different request');
      }
      const seq = appended.value;
      const live = lives.get(id);
      if (live) {
        // As the mailbox hands it back: a copy through JSON.
        if (appended.fresh && live.tenantId === opts.tenantId) live.handed.set(seq, JSON.parse(JSON.stringify(valid)) as MailboxEntry['event']);
        void drain(live);
      } else options.nudger?.publish('event', id);
      if (!opts.waitFor) {
        return { seq, view: publicView(newest(live?.lastState ?? null, record)) };
      }
      const timeoutMs = opts.timeoutMs ?? DEFAULTS.timeoutMs;
      const deadline = clock.now() + timeoutMs;
      // A final actor applies nothing more: its end settles the wait too.
      let state = await waitState(opts.tenantId, id, (s) => s.appliedSeq >= seq || isFinalStatus(s.status), timeoutMs, `event ${seq} applied`);
      // Committed by this process (its live actor of this tenant), or else read back.
      const owner = lives.get(id);
      const entry = (owner?.tenantId === opts.tenantId ? owner.settled.get(seq) : undefined) ?? (await stores.actors.event(opts.tenantId, id, seq));
      if (entry?.outcome === 'refused') {
        const problem = entry.error ?? new AppError('event-not-accepted', `Event ${seq} was refused`).toProblem();
        throw new AppError(problem.code, problem.detail, { extras: { actorId: id, seq } });
      }
      if (entry?.outcome !== 'applied') {
        throw new AppError('actor-final', `Actor ${id} ended before event ${seq} was applied`, { extras: { actorId: id, seq } });
      }
      if (opts.waitFor !== 'applied') {
        const [until, what] = predicateOf(opts.waitFor);
        if (!until(state)) state = await waitState(opts.tenantId, id, until, Math.max(0, deadline - clock.now()), what);
      }
      return { seq, view: publicView(state) };
    },

    async watch(id, { tenantId, onError, onEnd }, listener) {
      await load(tenantId, id);
      if (!watching) {
        onEnd?.();
        return () => undefined;
      }
      const stop = hub.subscribe(
        id,
        (s) => {
          // The hub is keyed by actor id alone: deliver only the caller's tenant's states.
          if (s.tenantId === tenantId) listener(publicView(s));
        },
        {
          pollMs,
          refresh: async () => {
            const r = await stores.actors.get(tenantId, id);
            return r ? stateOf(r) : null;
          },
          onError,
        },
      );
      const watcher = { stop, onEnd };
      watchers.add(watcher);
      return () => {
        if (watchers.delete(watcher)) stop();
      };
    },

    endWatches() {
      watching = false;
      for (const w of [...watchers]) {
        watchers.delete(w);
        w.stop();
        w.onEnd?.();
      }
    },

    async waitFor(id, { tenantId, until, timeoutMs }) {
      const [pred, what] = predicateOf(until);
      return publicView(await waitState(tenantId, id, pred, timeoutMs ?? DEFAULTS.timeoutMs, what));
    },

    async inspect(id, { tenantId }) {
      assertTenant(tenantId);
      return viewOf(await storedState(tenantId, id));
    },

    async list(filter) {
      assertTenant(filter.tenantId);
      const page = await stores.actors.list(filter);
      return { items: page.items.map((r) => publicView(stateOf(r))), nextCursor: page.nextCursor };
    },

    async event(id, seq, { tenantId }) {
      await load(tenantId, id);
      const entry = await stores.actors.event(tenantId, id, seq);
      if (!entry) throw new AppError('not-found', `Actor ${id} has no event ${seq}`);
      return entry;
    },

    async stop(id, opts) {
      return runtime.send(id, { type: 'STOP' }, opts);
    },

    async close() {
      if (closed) return;
      closed = true;
      if (pollTimer !== null) clock.clearTimeout(pollTimer);
      if (renewTimer !== null) clock.clearTimeout(renewTimer);
      runtime.endWatches();
      // Spawns in flight finish first (their actors are stored, then released with the rest),
      // for a lease time at most: one whose store does not answer by then fails instead.
      if (unborn.size > 0) {
        let timer: unknown = null;
        await Promise.race([
          Promise.allSettled([...unborn.values()].map((l) => l.birth?.stored)),
          new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, leaseMs))),
        ]);
        clock.clearTimeout(timer);
        for (const live of [...unborn.values()]) drop(live);
      }
      const held = [...lives.values()];
      await Promise.allSettled(held.map((l) => l.committing ?? Promise.resolve()));
      for (const live of held) drop(live);
      const ids = [...held.map((l) => l.id), ...refused.keys()];
      refused.clear();
      if (ids.length > 0) {
        try {
          await stores.actors.release(ownerId, ids);
        } catch (e) {
          logger.warn({ err: toError(e).message }, 'releasing leases failed; they expire by themselves');
        }
      }
    },
  };
  return runtime;
}

export type { ActorStatus };
