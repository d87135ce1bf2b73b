/**
 * @module machines
 * The machine catalogue: every actor kind with its machine, its version, the migrations that
 * bring an older persisted snapshot up to date, and the schema of the events it takes from
 * outside. Pure data; the runtime provides the implementations.
 */
import type { AnyStateMachine, EventObject } from 'xstate';
import type { z } from 'zod';
import { agentSessionMachine, AgentSessionEventSchema } from './agentSession.js';
import { bulkOperationMachine, BulkOperationEventSchema } from './bulkOperation.js';
import { executionMachine, ExecutionEventSchema } from './execution.js';

export type ActorKind = 'execution' | 'agentSession' | 'bulkOperation';
export const ACTOR_KINDS: readonly ActorKind[] = ['execution', 'agentSession', 'bulkOperation'];

/** A persisted XState snapshot after a JSON round trip. */
export type PersistedSnapshot = Record<string, unknown>;

/** Brings a snapshot of version `from` to version `from + 1`. */
export type SnapshotMigration = (snapshot: PersistedSnapshot) => PersistedSnapshot;

export interface MachineDefinition {
  readonly kind: string;
  readonly machine: AnyStateMachine;
  /** Bumped whenever a persisted snapshot of the previous version would not restore as is. */
  readonly version: number;
  /** Keyed by the version they upgrade from. */
  readonly migrations: Readonly<Record<number, SnapshotMigration>>;
  /** Events accepted from outside (mailbox); `xstate.*` events never are. */
  readonly events: z.ZodType<EventObject>;
}

export type MachineCatalog = Readonly<Record<string, MachineDefinition>>;

export const machineCatalog: MachineCatalog = {
  execution: { kind: 'execution', machine: executionMachine, version: 1, migrations: {}, events: ExecutionEventSchema },
  agentSession: {
    kind: 'agentSession',
    machine: agentSessionMachine,
    version: 1,
    migrations: {},
    events: AgentSessionEventSchema,
  },
  bulkOperation: {
    kind: 'bulkOperation',
    machine: bulkOperationMachine,
    version: 1,
    migrations: {},
    events: BulkOperationEventSchema,
  },
};

export { executionMachine, agentSessionMachine, bulkOperationMachine };
export type { ExecutionContext, ExecutionEvent, ExecutionInput, ArtifactRef, RunIntentInput, RunIntentOutput, Progress } from './execution.js';
export type { AgentSessionContext, AgentSessionEvent, AgentSessionInput, RespondInput, RespondOutput } from './agentSession.js';
export type {
  BulkOperationContext,
  BulkOperationEvent,
  BulkOperationInput,
  BulkStepInput,
  PlanOutput,
  ChunkOutput,
} from './bulkOperation.js';
export {
  grantContract,
  assertGranted,
  permissiveMvpContract,
  permissiveContractId,
  covers,
  isExpired,
  REALMS,
  CONTRACT_TAG,
  CONTRACT_INVOKE_ID,
  DATA_TAG,
  DataPolicySchema,
  ContractScopeSchema,
  PERMISSIVE_MVP_TERMS,
} from './contract.js';
export type { BoundaryContract, GrantedContract, Realm, ContractRequest, ContractDecision, DataPolicy } from './contract.js';
