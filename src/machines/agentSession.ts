/**
 * @module machines/agentSession
 * One conversation with the insights liaison agent:
 * created → contract → idle ⇄ responding → ended | failed | rejected | stopped.
 * `respond` is named here and provided by the runtime. An idle session ends by itself after
 * `idleTimeoutMs` (a delayed transition the runtime re-arms from its stored deadline).
 */
import { assign, fromPromise, setup } from 'xstate';
import { z } from 'zod';
import { AppError, type Problem } from '../errors.js';
import {
  DATA_TAG,
  contractStates,
  isContractRefusal,
  recordGrant,
  recordProblem,
  resolveContractLogic,
  type ContractSlot,
} from './contract.js';
import type { ArtifactRef } from './execution.js';

/** Messages waiting while the agent answers an earlier one; one more is refused. */
export const MAX_QUEUED_MESSAGES = 16;
/** Turns kept in the snapshot; older ones are counted in `summarizedTurns`. */
export const MAX_KEPT_TURNS = 20;
const MAX_MESSAGE_CHARS = 16_000;

export interface AgentSessionInput {
  actorId: string;
  tenantId: string;
  solutionId: string;
  contractId: string | null;
  /** @defaultValue 1 hour */
  idleTimeoutMs?: number;
}

export interface AgentTurn {
  n: number;
  text: string;
  answerId: string | null;
}

export interface AgentSessionContext extends ContractSlot {
  actorId: string;
  solutionId: string;
  idleTimeoutMs: number;
  turns: AgentTurn[];
  summarizedTurns: number;
  queue: string[];
  current: string | null;
}

export const AgentSessionEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('MESSAGE'), text: z.string().min(1).max(MAX_MESSAGE_CHARS) }).strict(),
  z.object({ type: z.literal('END') }).strict(),
  z.object({ type: z.literal('STOP') }).strict(),
]);
export type AgentSessionEvent = z.infer<typeof AgentSessionEventSchema>;

export interface RespondInput {
  actorId: string;
  tenantId: string;
  solutionId: string;
  contractId: string;
  turn: number;
  text: string;
}

export interface RespondOutput {
  answer: ArtifactRef;
}

export const agentSessionMachine = setup({
  types: {
    context: {} as AgentSessionContext,
    events: {} as AgentSessionEvent,
    input: {} as AgentSessionInput,
    output: {} as { turns: number; error: Problem | null },
  },
  actors: {
    resolveContract: resolveContractLogic,
    respond: fromPromise<RespondOutput, RespondInput>(async () => {
      throw new AppError('internal', 'respond is supplied by the runtime');
    }),
  },
  delays: {
    idleTimeout: ({ context }) => context.idleTimeoutMs,
  },
  actions: {
    recordGrant: assign(recordGrant),
    recordProblem: assign(recordProblem),
    takeMessage: assign(({ event }) => ({ current: event.type === 'MESSAGE' ? event.text : null })),
    enqueueMessage: assign(({ context, event }) => ({
      queue: event.type === 'MESSAGE' ? [...context.queue, event.text] : context.queue,
    })),
    takeQueued: assign(({ context }) => ({ current: context.queue[0] ?? null, queue: context.queue.slice(1) })),
    recordTurn: assign(({ context, event }) => {
      const out = (event as { output?: RespondOutput }).output;
      const turn: AgentTurn = {
        n: context.summarizedTurns + context.turns.length + 1,
        text: context.current ?? '',
        answerId: out?.answer.id ?? null,
      };
      const turns = [...context.turns, turn];
      const drop = Math.max(0, turns.length - MAX_KEPT_TURNS);
      return { turns: turns.slice(drop), summarizedTurns: context.summarizedTurns + drop, current: null };
    }),
  },
  guards: {
    contractRefused: isContractRefusal,
    hasQueued: ({ context }) => context.queue.length > 0,
    queueHasRoom: ({ context }) => context.queue.length < MAX_QUEUED_MESSAGES,
  },
}).createMachine({
  id: 'agentSession',
  context: ({ input }) => ({
    actorId: input.actorId,
    tenantId: input.tenantId,
    realm: 'insights',
    intent: 'agent_session',
    solutionId: input.solutionId,
    requestedContractId: input.contractId,
    contractId: null,
    error: null,
    idleTimeoutMs: input.idleTimeoutMs ?? 3_600_000,
    turns: [],
    summarizedTurns: 0,
    queue: [],
    current: null,
  }),
  initial: 'created',
  on: { STOP: { target: '.stopped' } },
  states: {
    created: { always: { target: 'contract' } },
    ...contractStates('idle'),
    idle: {
      tags: [DATA_TAG, 'waiting'],
      on: {
        MESSAGE: { target: 'responding', actions: 'takeMessage' },
        END: { target: 'ended' },
      },
      after: { idleTimeout: { target: 'ended' } },
    },
    responding: {
      tags: [DATA_TAG],
      invoke: {
        id: 'respond',
        src: 'respond',
        input: ({ context }) => ({
          actorId: context.actorId,
          tenantId: context.tenantId,
          solutionId: context.solutionId,
          contractId: context.contractId ?? '',
          turn: context.summarizedTurns + context.turns.length + 1,
          text: context.current ?? '',
        }),
        onDone: [
          { guard: 'hasQueued', target: 'responding', reenter: true, actions: ['recordTurn', 'takeQueued'] },
          { target: 'idle', actions: 'recordTurn' },
        ],
        onError: [
          { guard: 'contractRefused', target: 'rejected', actions: 'recordProblem' },
          { target: 'failed', actions: 'recordProblem' },
        ],
      },
      on: {
        MESSAGE: { guard: 'queueHasRoom', actions: 'enqueueMessage' },
        END: { target: 'ended' },
      },
    },
    ended: { type: 'final', tags: ['final'] },
    failed: { type: 'final', tags: ['final'] },
    stopped: { type: 'final', tags: ['final'] },
  },
  output: ({ context }) => ({ turns: context.summarizedTurns + context.turns.length, error: context.error }),
});
