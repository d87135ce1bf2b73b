/**
 * @module machines/execution
 * One intent run: created → contract → working → done | failed | rejected | stopped.
 * Pure: `runIntent` is named here and provided by the runtime. The context holds ids and
 * references only; the intent's parameters stay in the actor record, loaded by id.
 */
import { assign, fromPromise, setup } from 'xstate';
import { z } from 'zod';
import { AppError, type Problem } from '../errors.js';
import {
  DATA_TAG,
  REALMS,
  contractStates,
  isContractRefusal,
  recordGrant,
  recordProblem,
  resolveContractLogic,
  type ContractSlot,
  type Realm,
} from './contract.js';

export interface ArtifactRef {
  id: string;
  kind: string;
}

export interface ExecutionInput {
  actorId: string;
  tenantId: string;
  realm: Realm;
  intent: string;
  solutionId: string;
  contractId: string | null;
}

/** How far a long intent has got (DOMAIN.md section 2): `total` is null while unknown. */
export interface Progress {
  phase: string;
  done: number;
  total: number | null;
}

export interface ExecutionContext extends ContractSlot {
  actorId: string;
  solutionId: string;
  artifacts: ArtifactRef[];
  /** The last progress the running intent reported; absent until it reports any. */
  progress?: Progress | null;
}

export const ExecutionEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('CANCEL') }).strict(),
  z.object({ type: z.literal('STOP') }).strict(),
]);
/**
 * Events the actor takes. `PROGRESS` comes only from its own invoked work (the runtime's
 * `runIntent`); it is not in {@link ExecutionEventSchema}, so no client can send it.
 */
export type ExecutionEvent = z.infer<typeof ExecutionEventSchema> | ({ type: 'PROGRESS' } & Progress);

/** What `runIntent` receives: ids only, so a re-invocation after a crash is cheap and safe. */
export interface RunIntentInput {
  actorId: string;
  tenantId: string;
  realm: Realm;
  intent: string;
  solutionId: string;
  contractId: string;
}

export interface RunIntentOutput {
  artifacts: ArtifactRef[];
}

export const ExecutionInputSchema = z.object({
  actorId: z.string(),
  tenantId: z.string(),
  realm: z.enum(REALMS),
  intent: z.string(),
  solutionId: z.string(),
  contractId: z.string().nullable(),
});

export const executionMachine = setup({
  types: {
    context: {} as ExecutionContext,
    events: {} as ExecutionEvent,
    input: {} as ExecutionInput,
    output: {} as { artifacts: ArtifactRef[]; error: Problem | null },
  },
  actors: {
    resolveContract: resolveContractLogic,
    runIntent: fromPromise<RunIntentOutput, RunIntentInput>(async () => {
      throw new AppError('internal', 'runIntent is supplied by the runtime');
    }),
  },
  actions: {
    recordGrant: assign(recordGrant),
    recordProblem: assign(recordProblem),
    recordProgress: assign(({ event }) => {
      if (event.type !== 'PROGRESS') return {};
      return { progress: { phase: event.phase, done: event.done, total: event.total } };
    }),
    recordArtifacts: assign(({ event }) => {
      const out = (event as { output?: RunIntentOutput }).output;
      return { artifacts: out?.artifacts ?? [] };
    }),
  },
  guards: {
    contractRefused: isContractRefusal,
  },
}).createMachine({
  id: 'execution',
  context: ({ input }) => ({
    actorId: input.actorId,
    tenantId: input.tenantId,
    realm: input.realm,
    intent: input.intent,
    solutionId: input.solutionId,
    requestedContractId: input.contractId,
    contractId: null,
    error: null,
    artifacts: [],
  }),
  initial: 'created',
  on: { STOP: { target: '.stopped' } },
  states: {
    created: { always: { target: 'contract' } },
    ...contractStates('working'),
    working: {
      tags: [DATA_TAG],
      invoke: {
        id: 'work',
        src: 'runIntent',
        input: ({ context }) => ({
          actorId: context.actorId,
          tenantId: context.tenantId,
          realm: context.realm,
          intent: context.intent,
          solutionId: context.solutionId,
          contractId: context.contractId ?? '',
        }),
        onDone: { target: 'done', actions: 'recordArtifacts' },
        onError: [
          { guard: 'contractRefused', target: 'rejected', actions: 'recordProblem' },
          { target: 'failed', actions: 'recordProblem' },
        ],
      },
      on: { CANCEL: { target: 'stopped' }, PROGRESS: { actions: 'recordProgress' } },
    },
    done: { type: 'final', tags: ['final'] },
    failed: { type: 'final', tags: ['final'] },
    stopped: { type: 'final', tags: ['final'] },
  },
  output: ({ context }) => ({ artifacts: context.artifacts, error: context.error }),
});
