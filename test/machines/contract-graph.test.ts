/**
 * Acceptance test of "data stays at the door" (DESIGN.md sections 1 and 2): every path of
 * every machine is enumerated with `@xstate/graph`, and no path may reach a state tagged
 * `data` without first passing the contract state and leaving it through the grant
 * (`xstate.done.actor.contract`).
 *
 * `@xstate/graph` runs no invoked actor and no timer, so the done and error events of each
 * invocation are supplied here, and every other event a state declares (external events,
 * `after` timers) is offered bare. States are serialised by value, status and the flags the
 * guards read, never by counters, so the traversal terminates.
 */
import { getSimplePaths, getStateNodes } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import {
  __unsafe_getAllOwnEventDescriptors,
  assign,
  fromPromise,
  pathToStateValue,
  setup,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type EventObject,
} from 'xstate';
import { AppError } from '../../src/errors.js';
import { MAX_QUEUED_MESSAGES, type AgentSessionContext } from '../../src/machines/agentSession.js';
import type { BulkOperationContext } from '../../src/machines/bulkOperation.js';
import {
  CONTRACT_INVOKE_ID,
  CONTRACT_TAG,
  DATA_TAG,
  contractRequestOf,
  contractStates,
  isContractRefusal,
  recordGrant,
  recordProblem,
  resolveContractLogic,
  type ContractSlot,
} from '../../src/machines/contract.js';
import { agentSessionMachine, bulkOperationMachine, executionMachine, machineCatalog } from '../../src/machines/index.js';

/** The only event that may take a machine out of its contract state towards data. */
const GRANT_EVENT = `xstate.done.actor.${CONTRACT_INVOKE_ID}`;

const done = (id: string, output: unknown): EventObject => ({ type: `xstate.done.actor.${id}`, output }) as EventObject;
const error = (id: string, e: unknown): EventObject => ({ type: `xstate.error.actor.${id}`, error: e }) as EventObject;

/** The contract step's own events: one grant, and each kind of refusal. */
const CONTRACT_EVENTS: EventObject[] = [
  done(CONTRACT_INVOKE_ID, { contractId: 'ctr_1' }),
  error(CONTRACT_INVOKE_ID, new AppError('contract-denied', 'not covered')),
  error(CONTRACT_INVOKE_ID, new AppError('contract-expired', 'expired')),
  error(CONTRACT_INVOKE_ID, new AppError('contract-missing', 'unknown contract')),
  error(CONTRACT_INVOKE_ID, new AppError('store-unavailable', 'the door could not be consulted')),
];

export interface ContractPathViolation {
  reason: string;
  /** Event types from the initial state to the offending state. */
  events: string[];
  state: string;
}

export interface ContractPathReport {
  machineId: string;
  paths: number;
  violations: ContractPathViolation[];
  /** Ids of the state nodes some path visits. */
  visited: Set<string>;
  /** Paths ending in an XState `error` snapshot: no state of ours (an action threw). */
  errorPaths: string[][];
  /** Supplied event types no state ever declared (a typo would make the check vacuous). */
  unusedEvents: string[];
}

export interface ContractPathOptions {
  input?: unknown;
  /** Done and error events of invoked actors, and external events with their payloads. */
  events: readonly EventObject[];
  /** Extra context flags guards depend on; counters stay out so traversal terminates. */
  flags?: (snapshot: AnyMachineSnapshot) => Record<string, unknown>;
}

function contractIdOf(snapshot: AnyMachineSnapshot): unknown {
  const context: unknown = snapshot.context;
  return typeof context === 'object' && context !== null ? (context as { contractId?: unknown }).contractId : undefined;
}

function describeState(snapshot: AnyMachineSnapshot): string {
  return `${JSON.stringify(snapshot.value)} (${snapshot.status})`;
}

/**
 * Enumerates every simple path of `machine` and checks each against the door rule.
 *
 * Simple paths suffice: "granted" only ever turns on along a path, so if some path with
 * cycles reached a data state without the grant, removing its cycles would leave a simple
 * path (a sub-sequence of its steps, hence also without the grant) doing the same.
 */
export function checkContractPaths(machine: AnyStateMachine, options: ContractPathOptions): ContractPathReport {
  const declared = new Set<string>();
  const paths = getSimplePaths(machine, {
    input: options.input,
    // Given as an array, `events` would replace @xstate/graph's per-state default and be sent
    // to every state (and `after` events would never be offered); a function keeps it per state.
    events: (snapshot: AnyMachineSnapshot) =>
      __unsafe_getAllOwnEventDescriptors(snapshot).flatMap((type: string) => {
        declared.add(type);
        const supplied = options.events.filter((e) => e.type === type);
        return supplied.length > 0 ? supplied : [{ type }];
      }),
    serializeState: (snapshot: AnyMachineSnapshot) =>
      JSON.stringify({
        value: snapshot.value,
        status: snapshot.status,
        granted: contractIdOf(snapshot) !== null && contractIdOf(snapshot) !== undefined,
        ...options.flags?.(snapshot),
      }),
  });

  const leafNodes = getStateNodes(machine.root).filter((n) => n.type === 'atomic' || n.type === 'final');
  const violations: ContractPathViolation[] = [];
  const visited = new Set<string>();
  const errorPaths: string[][] = [];

  for (const path of paths) {
    // After @xstate/graph's own rewrite, steps[i].event is the event that led into steps[i].state
    // (steps[0] is the initial state, reached by `xstate.init`).
    let granted = false;
    const events: string[] = [];
    path.steps.forEach((step, i) => {
      const state = step.state;
      events.push(step.event.type);
      const previous = i > 0 ? path.steps[i - 1]?.state : undefined;
      if (previous?.hasTag(CONTRACT_TAG) && step.event.type === GRANT_EVENT && !state.hasTag(CONTRACT_TAG)) granted = true;
      for (const node of leafNodes) if (state.matches(pathToStateValue(node.path))) visited.add(node.id);
      if (state.hasTag(DATA_TAG)) {
        if (!granted) {
          violations.push({ reason: 'data state reached without the grant', events: [...events], state: describeState(state) });
        } else if (typeof contractIdOf(state) !== 'string') {
          violations.push({ reason: 'data state without a contract id', events: [...events], state: describeState(state) });
        }
      }
    });
    if (path.state.status === 'error') errorPaths.push(events);
  }

  return {
    machineId: machine.id,
    paths: paths.length,
    violations,
    visited,
    errorPaths,
    unusedEvents: [...new Set(options.events.map((e) => e.type))].filter((t) => !declared.has(t)),
  };
}

/** State node ids of `machine` carrying `tag`, and of its final states. */
function nodeIds(machine: AnyStateMachine, which: 'data' | 'final' | 'all'): string[] {
  return getStateNodes(machine.root)
    .filter((n) => (which === 'data' ? n.tags.includes(DATA_TAG) : which === 'final' ? n.type === 'final' : true))
    .map((n) => n.id);
}

const execution = {
  machine: executionMachine,
  input: { actorId: 'act_1', tenantId: 'ten_1', realm: 'content', intent: 'parse_content', solutionId: 'default', contractId: null },
  events: [
    ...CONTRACT_EVENTS,
    done('work', { artifacts: [{ id: 'art_1', kind: 'dataset' }] }),
    error('work', new AppError('parse-error', 'bad file')),
    error('work', new Error('unexpected')),
    error('work', new AppError('contract-expired', 'expired while working')),
    { type: 'CANCEL' },
    { type: 'STOP' },
  ],
  flags: undefined,
};

const agentSession = {
  machine: agentSessionMachine,
  input: { actorId: 'act_2', tenantId: 'ten_1', solutionId: 'default', contractId: null, idleTimeoutMs: 60_000 },
  events: [
    ...CONTRACT_EVENTS,
    done('respond', { answer: { id: 'ans_1', kind: 'agentAnswer' } }),
    error('respond', new AppError('llm-unavailable', 'no model')),
    error('respond', new AppError('contract-denied', 'revoked scope')),
    { type: 'MESSAGE', text: 'how many policies lapsed?' },
    { type: 'END' },
    { type: 'STOP' },
  ],
  flags: (s: AnyMachineSnapshot) => {
    const c = s.context as AgentSessionContext;
    return { queued: c.queue.length > 0, queueFull: c.queue.length >= MAX_QUEUED_MESSAGES };
  },
};

const bulkOperation = {
  machine: bulkOperationMachine,
  input: {
    actorId: 'act_3',
    tenantId: 'ten_1',
    realm: 'insights',
    intent: 'bulk_match_source_to_target',
    solutionId: 'default',
    contractId: null,
  },
  events: [
    ...CONTRACT_EVENTS,
    done('plan', { chunks: 0, items: 0 }),
    done('plan', { chunks: 1, items: 700 }),
    done('plan', { chunks: 3, items: 2_500 }),
    error('plan', new AppError('materialization-insufficient', 'reference only')),
    error('plan', new AppError('contract-denied', 'revoked')),
    done('chunk', { done: 1_000, failed: 0 }),
    done('chunk', { done: 990, failed: 10 }),
    error('chunk', new AppError('queue-unavailable', 'redis down')),
    error('chunk', new AppError('contract-expired', 'expired mid-run')),
    { type: 'PAUSE' },
    { type: 'RESUME' },
    { type: 'CANCEL' },
    { type: 'STOP' },
  ],
  flags: (s: AnyMachineSnapshot) => {
    const c = s.context as BulkOperationContext;
    return {
      planned: c.plan !== null,
      nothingLeft: c.plan !== null && c.cursor >= c.plan.chunks,
      lastChunk: c.plan !== null && c.cursor + 1 >= c.plan.chunks,
    };
  },
};

const MODELS = [execution, agentSession, bulkOperation];

describe('every path of every machine passes the contract state with a grant', () => {
  it('covers every machine of the catalogue', () => {
    expect(MODELS.map((m) => m.machine.id).sort()).toEqual(
      Object.values(machineCatalog)
        .map((d) => d.machine.id)
        .sort(),
    );
  });

  describe.each(MODELS)('$machine.id', (model) => {
    const report = checkContractPaths(model.machine, model);

    it('has no path to a data state that skips the grant', () => {
      expect(report.violations).toEqual([]);
    });

    it('enumerates paths through data states (the check is not vacuous)', () => {
      const data = nodeIds(model.machine, 'data');
      expect(data.length).toBeGreaterThan(0);
      for (const id of data) expect(report.visited, `data state ${id} was never reached`).toContain(id);
      expect(report.paths).toBeGreaterThan(data.length);
    });

    it('reaches every final state', () => {
      const finals = nodeIds(model.machine, 'final');
      expect(finals).toEqual(expect.arrayContaining([`${model.machine.id}.rejected`, `${model.machine.id}.stopped`]));
      for (const id of finals) expect(report.visited, `final state ${id} was never reached`).toContain(id);
    });

    it('reaches every state but the transient `created`', () => {
      const expected = nodeIds(model.machine, 'all').filter((id) => id !== `${model.machine.id}.created`);
      expect([...report.visited].sort()).toEqual(expected.sort());
    });

    it('uses every supplied event and never ends in an XState error snapshot', () => {
      expect(report.unusedEvents).toEqual([]);
      expect(report.errorPaths).toEqual([]);
    });
  });

  it('offers `after` timers without being told: the agent session idles out to ended', () => {
    const logic: AnyStateMachine = agentSessionMachine;
    const paths = getSimplePaths(logic, {
      input: agentSession.input,
      events: (s: AnyMachineSnapshot) =>
        __unsafe_getAllOwnEventDescriptors(s).flatMap((type: string) => {
          const supplied = agentSession.events.filter((e) => e.type === type);
          return supplied.length > 0 ? supplied : [{ type }];
        }),
      serializeState: (s: AnyMachineSnapshot) => JSON.stringify({ value: s.value, status: s.status }),
    });
    const timedOut = paths.filter(
      (p) => p.state.matches('ended') && p.steps.at(-1)?.event.type.startsWith('xstate.after.') === true,
    );
    expect(timedOut.length).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------
// Machines that break the rule: the checker must flag each of them.

const brokenSetup = setup({
  types: {
    context: {} as ContractSlot,
    events: {} as { type: 'SKIP' } | { type: 'GO' } | { type: 'FINISH' } | { type: 'STOP' },
  },
  actors: { resolveContract: resolveContractLogic, runIntent: fromPromise(async () => ({ artifacts: [] })) },
  actions: { recordGrant: assign(recordGrant), recordProblem: assign(recordProblem) },
  guards: { contractRefused: isContractRefusal },
});

const brokenContext: ContractSlot = {
  actorId: 'act_x',
  tenantId: 'ten_1',
  realm: 'content',
  intent: 'parse_content',
  requestedContractId: null,
  contractId: null,
  error: null,
};

const working = {
  tags: [DATA_TAG],
  on: { FINISH: { target: 'done' } },
} as const;

const BROKEN: { name: string; machine: AnyStateMachine }[] = [
  {
    name: 'created goes straight to a data state',
    machine: brokenSetup.createMachine({
      id: 'skipsDoor',
      context: brokenContext,
      initial: 'created',
      states: {
        created: { always: { target: 'working' } },
        ...contractStates('working'),
        working,
        done: { type: 'final' },
        failed: { type: 'final' },
      },
    }),
  },
  {
    name: 'the contract state has an event that bypasses the grant',
    machine: brokenSetup.createMachine({
      id: 'eventBypass',
      context: brokenContext,
      initial: 'created',
      states: {
        created: { always: { target: 'contract' } },
        ...contractStates('working'),
        contract: { ...contractStates('working').contract, on: { SKIP: { target: 'working' } } },
        working,
        done: { type: 'final' },
        failed: { type: 'final' },
      },
    }),
  },
  {
    name: 'a refusal leads into a data state',
    machine: brokenSetup.createMachine({
      id: 'refusalToData',
      context: brokenContext,
      initial: 'created',
      states: {
        created: { always: { target: 'contract' } },
        contract: {
          tags: [CONTRACT_TAG],
          invoke: {
            id: CONTRACT_INVOKE_ID,
            src: 'resolveContract',
            input: ({ context }) => contractRequestOf(context),
            onDone: { target: 'working', actions: 'recordGrant' },
            onError: { target: 'working', actions: 'recordProblem' },
          },
        },
        rejected: { type: 'final' },
        working,
        done: { type: 'final' },
        failed: { type: 'final' },
      },
    }),
  },
  {
    name: 'a timer before the door leads into a data state',
    machine: brokenSetup.createMachine({
      id: 'timerBypass',
      context: brokenContext,
      initial: 'created',
      states: {
        created: { on: { GO: { target: 'contract' } }, after: { 1000: { target: 'working' } } },
        ...contractStates('working'),
        working,
        done: { type: 'final' },
        failed: { type: 'final' },
      },
    }),
  },
  {
    name: 'a grant event handled outside the contract state',
    machine: brokenSetup.createMachine({
      id: 'grantElsewhere',
      context: brokenContext,
      initial: 'waiting',
      states: {
        waiting: { on: { GO: { target: 'contract' }, [GRANT_EVENT]: { target: 'working', actions: 'recordGrant' } } },
        ...contractStates('working'),
        working,
        done: { type: 'final' },
        failed: { type: 'final' },
      },
    }),
  },
];

describe('the checker flags a machine that breaks the rule', () => {
  it.each(BROKEN)('$name', ({ machine }) => {
    const report = checkContractPaths(machine, { events: CONTRACT_EVENTS });
    expect(report.violations.length).toBeGreaterThan(0);
    expect(report.violations[0]?.reason).toBe('data state reached without the grant');
    // The same machine still has legitimate paths through the grant; those are not flagged.
    expect(report.visited).toContain(`${machine.id}.working`);
  });

  it('passes the same shape once the bypass is removed', () => {
    const sound = brokenSetup.createMachine({
      id: 'sound',
      context: brokenContext,
      initial: 'created',
      states: {
        created: { always: { target: 'contract' } },
        ...contractStates('working'),
        working,
        done: { type: 'final' },
        failed: { type: 'final' },
      },
    });
    const report = checkContractPaths(sound, { events: CONTRACT_EVENTS });
    expect(report.violations).toEqual([]);
    expect(report.visited).toEqual(new Set(['sound.contract', 'sound.working', 'sound.rejected', 'sound.failed', 'sound.done']));
  });

  it('reports the offending path', () => {
    const report = checkContractPaths(BROKEN[1]!.machine, { events: CONTRACT_EVENTS });
    expect(report.violations).toContainEqual({
      reason: 'data state reached without the grant',
      events: ['xstate.init', 'SKIP'],
      state: '"working" (active)',
    });
  });
});
