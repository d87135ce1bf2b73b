/**
 * @module machines/bulkOperation
 * One bulk job over many items, in chunks:
 * created → contract → planning → running ⇄ paused → done | failed | rejected | stopped.
 * `planBulk` and `runChunk` are named here and provided by the runtime; the cursor (next
 * chunk) and counters live in the context so the operation resumes where it stood.
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

export interface BulkOperationInput {
  actorId: string;
  tenantId: string;
  realm: Realm;
  intent: string;
  solutionId: string;
  contractId: string | null;
}

export interface BulkOperationContext extends ContractSlot {
  actorId: string;
  solutionId: string;
  plan: { chunks: number; items: number } | null;
  cursor: number;
  items: { done: number; failed: number };
  chunks: { done: number; failed: number };
}

export const BulkOperationEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('PAUSE') }).strict(),
  z.object({ type: z.literal('RESUME') }).strict(),
  z.object({ type: z.literal('CANCEL') }).strict(),
  z.object({ type: z.literal('STOP') }).strict(),
]);
export type BulkOperationEvent = z.infer<typeof BulkOperationEventSchema>;

export const BulkOperationInputSchema = z.object({
  actorId: z.string(),
  tenantId: z.string(),
  realm: z.enum(REALMS),
  intent: z.string(),
  solutionId: z.string(),
  contractId: z.string().nullable(),
});

export interface BulkStepInput {
  actorId: string;
  tenantId: string;
  realm: Realm;
  intent: string;
  solutionId: string;
  contractId: string;
}

export interface PlanOutput {
  chunks: number;
  items: number;
}

export interface ChunkOutput {
  done: number;
  failed: number;
}

function stepInput(context: BulkOperationContext): BulkStepInput {
  return {
    actorId: context.actorId,
    tenantId: context.tenantId,
    realm: context.realm,
    intent: context.intent,
    solutionId: context.solutionId,
    contractId: context.contractId ?? '',
  };
}

export const bulkOperationMachine = setup({
  types: {
    context: {} as BulkOperationContext,
    events: {} as BulkOperationEvent,
    input: {} as BulkOperationInput,
    output: {} as { items: { done: number; failed: number }; error: Problem | null },
  },
  actors: {
    resolveContract: resolveContractLogic,
    planBulk: fromPromise<PlanOutput, BulkStepInput>(async () => {
      throw new AppError('internal', 'planBulk is supplied by the runtime');
    }),
    runChunk: fromPromise<ChunkOutput, BulkStepInput & { chunk: number }>(async () => {
      throw new AppError('internal', 'runChunk is supplied by the runtime');
    }),
  },
  actions: {
    recordGrant: assign(recordGrant),
    recordProblem: assign(recordProblem),
    recordPlan: assign(({ event }) => {
      const out = (event as { output?: PlanOutput }).output;
      return { plan: { chunks: out?.chunks ?? 0, items: out?.items ?? 0 } };
    }),
    recordChunk: assign(({ context, event }) => {
      const out = (event as { output?: ChunkOutput }).output ?? { done: 0, failed: 0 };
      return {
        cursor: context.cursor + 1,
        items: { done: context.items.done + out.done, failed: context.items.failed + out.failed },
        chunks: { done: context.chunks.done + 1, failed: context.chunks.failed + (out.failed > 0 ? 1 : 0) },
      };
    }),
  },
  guards: {
    contractRefused: isContractRefusal,
    nothingLeft: ({ context }) => context.plan !== null && context.cursor >= context.plan.chunks,
    lastChunk: ({ context }) => context.plan !== null && context.cursor + 1 >= context.plan.chunks,
  },
}).createMachine({
  id: 'bulkOperation',
  context: ({ input }) => ({
    actorId: input.actorId,
    tenantId: input.tenantId,
    realm: input.realm,
    intent: input.intent,
    solutionId: input.solutionId,
    requestedContractId: input.contractId,
    contractId: null,
    error: null,
    plan: null,
    cursor: 0,
    items: { done: 0, failed: 0 },
    chunks: { done: 0, failed: 0 },
  }),
  initial: 'created',
  on: { STOP: { target: '.stopped' } },
  states: {
    created: { always: { target: 'contract' } },
    ...contractStates('planning'),
    planning: {
      tags: [DATA_TAG],
      invoke: {
        id: 'plan',
        src: 'planBulk',
        input: ({ context }) => stepInput(context),
        onDone: { target: 'running', actions: 'recordPlan' },
        onError: [
          { guard: 'contractRefused', target: 'rejected', actions: 'recordProblem' },
          { target: 'failed', actions: 'recordProblem' },
        ],
      },
      on: { CANCEL: { target: 'stopped' } },
    },
    running: {
      tags: [DATA_TAG],
      always: { guard: 'nothingLeft', target: 'done' },
      invoke: {
        id: 'chunk',
        src: 'runChunk',
        input: ({ context }) => ({ ...stepInput(context), chunk: context.cursor }),
        onDone: [
          { guard: 'lastChunk', target: 'done', actions: 'recordChunk' },
          { target: 'running', reenter: true, actions: 'recordChunk' },
        ],
        onError: [
          { guard: 'contractRefused', target: 'rejected', actions: 'recordProblem' },
          { target: 'failed', actions: 'recordProblem' },
        ],
      },
      on: { PAUSE: { target: 'paused' }, CANCEL: { target: 'stopped' } },
    },
    paused: {
      tags: ['waiting'],
      on: { RESUME: { target: 'running' }, CANCEL: { target: 'stopped' } },
    },
    done: { type: 'final', tags: ['final'] },
    failed: { type: 'final', tags: ['final'] },
    stopped: { type: 'final', tags: ['final'] },
  },
  output: ({ context }) => ({ items: context.items, error: context.error }),
});
