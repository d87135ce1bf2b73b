/**
 * @module actors/work
 * The named actors every machine invokes (`resolveContract`, `runIntent`, `respond`,
 * `planBulk`, `runChunk`), implemented over the intent registry, the contract service and the
 * stores. Each takes ids only (the machine's invoke input) and is safe to run again after a
 * crash: artifact ids derive from the actor id, kind and ordinal.
 */
import { fromPromise, type AnyActorRef } from 'xstate';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import { derivedId } from '../ids.js';
import type { IntentContext, IntentRegistry } from '../intents/index.js';
import { isExpired, type ArtifactRef, type ContractDecision, type ContractRequest, type GrantedContract, type Realm } from '../machines/index.js';
import type { ActorKind, BulkStepInput, Progress, ChunkOutput, PlanOutput, RespondInput, RespondOutput, RunIntentInput, RunIntentOutput } from '../machines/index.js';
import type { ArtifactStore, BlobStore, Fence, RecordStore, Stores } from '../persistence/ports.js';
import type { ContractService } from './contracts.js';
import { storedSpawn } from './kinds.js';

/** Answers one agent turn; the default is {@link answerFromInventory}. */
export type AgentResponder = (ctx: IntentContext, turn: { n: number; text: string }, contract: GrantedContract) => Promise<ArtifactRef>;

export interface WorkDeps {
  stores: Stores;
  intents: IntentRegistry;
  contracts: ContractService;
  clock: Clock;
  respond: AgentResponder;
  /** The grant minted by an actor's contract state in this process, by actor id. */
  grants: Map<string, GrantedContract>;
  /**
   * The lease this process holds on an actor, which every write made for it carries; for an
   * actor spawned here and not stored yet, once it is stored (its work writes nothing before).
   */
  fenceOf(actorId: string): Promise<Fence>;
  /**
   * Settles when an actor's work may start: at once, except for an actor spawned here with an
   * idempotency key and not stored yet, whose work starts once it is (and never, when the spawn
   * replayed an earlier one: then it rejects), so a retried spawn never runs its work twice.
   */
  workMayStart(actorId: string): Promise<void>;
  /** Spawn inputs of the actors this process runs, by actor id (saves a store read per step). */
  spawnInputs: ReadonlyMap<string, unknown>;
}

interface StepIds {
  actorId: string;
  tenantId: string;
  realm: Realm;
  intent: string;
  solutionId: string;
  contractId: string;
}

/**
 * The grant for a step of work. The one minted by the actor's contract state is reused while
 * it is live and unexpired; after a restart (or once it expired) the contract module re-mints
 * it from the stored contract id, re-checking scope and expiry.
 */
async function grantFor(deps: WorkDeps, ids: StepIds): Promise<GrantedContract> {
  const held = deps.grants.get(ids.actorId);
  if (held && held.contract.id === ids.contractId && !isExpired(held.contract, deps.clock.now())) return held;
  const grant = await deps.contracts.regrant({
    tenantId: ids.tenantId,
    realm: ids.realm,
    intent: ids.intent,
    contractId: ids.contractId,
  });
  deps.grants.set(ids.actorId, grant);
  return grant;
}

/**
 * The stores as a handler sees them: every write carries the actor's fence, so a process that
 * lost the actor's lease (stalled past it) cannot write for it any more, and every write
 * (deletions included) waits for the fence, so nothing is written for an actor not stored yet.
 */
function fencedStores(stores: Stores, fence: Promise<Fence>): IntentContext['stores'] {
  const { artifacts: a, records: r, blobs: b } = stores;
  const artifacts: ArtifactStore = {
    put: async (artifact) => a.put(artifact, await fence),
    get: (tenantId, id) => a.get(tenantId, id),
    list: (filter) => a.list(filter),
    countByActor: (tenantId, actorId) => a.countByActor(tenantId, actorId),
  };
  const records: RecordStore = {
    putChunk: async (tenantId, datasetId, chunkNo, rows) => r.putChunk(tenantId, datasetId, chunkNo, rows, await fence),
    getChunk: (tenantId, datasetId, chunkNo) => r.getChunk(tenantId, datasetId, chunkNo),
    rows: (tenantId, datasetId, offset, limit) => r.rows(tenantId, datasetId, offset, limit),
    deleteDataset: async (tenantId, datasetId) => {
      await fence;
      return r.deleteDataset(tenantId, datasetId);
    },
  };
  const blobs: BlobStore = {
    write: async (tenantId, meta, source) => b.write(tenantId, meta, source, await fence),
    info: (tenantId, id) => b.info(tenantId, id),
    read: (tenantId, id) => b.read(tenantId, id),
    delete: async (tenantId, id) => {
      await fence;
      return b.delete(tenantId, id);
    },
    sweepExpired: async (nowIso, limit) => {
      await fence;
      return b.sweepExpired(nowIso, limit);
    },
  };
  return { artifacts, records, blobs };
}

/** Least time between two progress reports an intent publishes (the last one always lands). */
const PROGRESS_EVERY_MS = 250;

/** Sends progress to the invoking actor, coalesced: at most one event per {@link PROGRESS_EVERY_MS}. */
function progressReporter(deps: WorkDeps, parent: AnyActorRef | undefined): IntentContext['progress'] {
  let last = Number.NEGATIVE_INFINITY;
  let pending: Progress | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    timer = null;
    if (!pending) return;
    last = deps.clock.now();
    if (parent?.getSnapshot().status === 'active') parent.send({ type: 'PROGRESS', ...pending });
    pending = null;
  };
  return (phase, done, total = null) => {
    pending = { phase, done, total };
    if (timer) return;
    const wait = last + PROGRESS_EVERY_MS - deps.clock.now();
    if (wait <= 0) flush();
    else timer = setTimeout(flush, wait);
  };
}

function intentContext(deps: WorkDeps, ids: StepIds, actorKind: ActorKind, signal: AbortSignal, parent?: AnyActorRef): IntentContext {
  const counters = new Map<string, number>();
  const fence = deps.fenceOf(ids.actorId);
  const stores = fencedStores(deps.stores, fence);
  return {
    progress: progressReporter(deps, parent),
    artifactId: (kind, n) => derivedId('art', ids.actorId, kind, n),
    // It may record the tenant's secret: a write, so it waits for the actor like the others.
    async tenantSecret() {
      await fence;
      return deps.stores.contracts.tenantSecret(ids.tenantId);
    },
    actorId: ids.actorId,
    tenantId: ids.tenantId,
    solutionId: ids.solutionId,
    intent: ids.intent,
    stores,
    clock: deps.clock,
    signal,
    async emit(kind, body, options = {}) {
      const n = options.n ?? (counters.get(kind) ?? 0) + 1;
      counters.set(kind, Math.max(n, counters.get(kind) ?? 0));
      const id = derivedId('art', ids.actorId, kind, n);
      await stores.artifacts.put({
        id,
        tenantId: ids.tenantId,
        solutionId: ids.solutionId,
        kind,
        createdAt: new Date(deps.clock.now()).toISOString(),
        body,
        lineage: {
          actorId: ids.actorId,
          actorKind,
          intent: ids.intent,
          inputs: options.inputs ?? [],
          fileIds: options.fileIds ?? [],
          contractId: ids.contractId,
          decisionIds: [],
        },
      });
      return { id, kind };
    },
  };
}

/**
 * The validated parameters of an actor's intent: from memory when this process spawned or
 * restored it (validated then), else read back from the record and validated again.
 */
async function paramsOf(deps: WorkDeps, ids: { tenantId: string; actorId: string; intent: string }, kind: ActorKind): Promise<unknown> {
  const bulk = kind === 'bulkOperation';
  const held = deps.spawnInputs.get(ids.actorId);
  if (held !== undefined) {
    const spawn = storedSpawn(kind, held);
    return 'params' in spawn ? spawn.params : undefined;
  }
  const record = await deps.stores.actors.get(ids.tenantId, ids.actorId);
  if (!record) throw new AppError('not-found', `No actor ${ids.actorId}`);
  const spawn = storedSpawn(kind, record.input);
  return deps.intents.validate(ids.intent, 'params' in spawn ? spawn.params : undefined, bulk);
}

/** The implementations handed to `machine.provide({ actors })`, shared by every actor of a kind. */
export function workActors(deps: WorkDeps) {
  return {
    resolveContract: fromPromise<ContractDecision, ContractRequest & { actorId?: string }>(async ({ input }) => {
      const grant = await deps.contracts.resolve(input);
      if (input.actorId) deps.grants.set(input.actorId, grant);
      return { contractId: grant.contract.id };
    }),
    runIntent: fromPromise<RunIntentOutput, RunIntentInput>(async ({ input, signal, self }) => {
      await deps.workMayStart(input.actorId);
      const grant = await grantFor(deps, input);
      const def = deps.intents.get(input.intent);
      const params = await paramsOf(deps, input, 'execution');
      const artifacts = await def.handler(intentContext(deps, input, 'execution', signal, self._parent), params, grant);
      return { artifacts };
    }),
    respond: fromPromise<RespondOutput, RespondInput>(async ({ input, signal }) => {
      const ids: StepIds = { ...input, realm: 'insights', intent: 'agent_session' };
      await deps.workMayStart(ids.actorId);
      const grant = await grantFor(deps, ids);
      const answer = await deps.respond(intentContext(deps, ids, 'agentSession', signal), { n: input.turn, text: input.text }, grant);
      return { answer };
    }),
    planBulk: fromPromise<PlanOutput, BulkStepInput>(async ({ input, signal }) => {
      await deps.workMayStart(input.actorId);
      const grant = await grantFor(deps, input);
      const def = deps.intents.getBulk(input.intent);
      const params = await paramsOf(deps, input, 'bulkOperation');
      return def.plan(intentContext(deps, input, 'bulkOperation', signal), params, grant);
    }),
    runChunk: fromPromise<ChunkOutput, BulkStepInput & { chunk: number }>(async ({ input, signal }) => {
      await deps.workMayStart(input.actorId);
      const grant = await grantFor(deps, input);
      const def = deps.intents.getBulk(input.intent);
      const params = await paramsOf(deps, input, 'bulkOperation');
      return def.chunk(intentContext(deps, input, 'bulkOperation', signal), params, grant, input.chunk);
    }),
  };
}
