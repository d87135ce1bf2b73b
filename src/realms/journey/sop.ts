/**
 * @module realms/journey/sop
 * BPMN → SOP: {@link generateSop} walks a {@link ProcessModel} and writes the structured SOP
 * of DOMAIN.md 3.4; {@link renderSopMarkdown} renders it.
 *
 * How the walk reads the graph (each choice is one a reader of the SOP relies on):
 * - **Steps** are every task (all kinds), sub-process and call activity: each exactly once,
 *   `bpmnRef` = its id, even when unreachable (those come last in their container). Also
 *   steps: intermediate events (waiting for a message or a timer, sending, raising an error
 *   or escalation; link events are connectors, not steps: the walk jumps from a throw link
 *   to the catch links of the same name), end events that throw something
 *   (message, error, escalation, signal, compensation, cancel), and every diverging
 *   exclusive, inclusive, complex and event-based gateway, as a **decision step** whose
 *   title is its question (`bpmnType` says which gateway). Start events, plain end events,
 *   joins and parallel splits are not steps.
 * - **Order**: from each start event along the flows; at a split, each branch in flow order
 *   (the default flow last) up to the split's join (its immediate post-dominator), then on
 *   from the join. A branch that reaches a step already written links to it (loops, merges).
 * - **Decisions**: `goTo` is the number of the first step a branch reaches, or `end`.
 * - **Parallel branches**: every step between a parallel split (a parallel gateway, or an
 *   element with several unconditional outgoing flows) and its join carries
 *   `parallelGroup` = the split's id (the innermost split when nested). Each branch's first
 *   step is listed in the `next` of the step before the split.
 * - **`next`**: given only when the step does not simply continue with the following step.
 * - **Boundary events** become `exceptions` of their activity: the trigger, and the handling
 *   "Go to step N" (the exception flow's first step; those steps follow the main path of the
 *   same container; for a compensation event, its handler's step) or "End the process".
 *   Error and escalation boundary events on a
 *   sub-process name the steps inside it that raise that error or escalation.
 * - **Sub-processes** (embedded, transactions, ad-hoc and event sub-processes) hold their
 *   own steps as `substeps` numbered `N.1`, `N.2`; an event sub-process is placed after the
 *   container's other steps, titled with its trigger.
 * - **Several pools**: the steps of each pool in collaboration order, numbered on; message
 *   flows are hand-offs written into the sender step's `outputs` and the receiver step's
 *   `inputs` (`Message "x" to Pool (step N)`); a message received by a start event goes to
 *   the first step it leads to.
 * - **Roles**: performers (potential owners, human performers), then lanes (innermost), then
 *   pools; a step takes the first it has. Kind: `ai` for names like AI, bot, RPA, assistant;
 *   `system` for names like system, ERP, CRM, platform, or a lane whose tasks are all
 *   service, script or business-rule tasks; `human` otherwise. Without any of these, human
 *   work falls to a "Performer" role and automated tasks to a "System" role.
 */
import { AppError } from '../../errors.js';
import { containerGraph, containerNodes, postDominators } from './graph.js';
import {
  indexModel,
  isTaskLike,
  laneLabel,
  type ImportWarning,
  type ModelEventDefinition,
  type ModelIndex,
  type ModelNode,
  type ProcessModel,
} from './model.js';
import type { Sop, SopRole, SopStep } from './types.js';

export interface SopOptions {
  /** Only this process (and its pool). Unknown ids are refused with `not-found`. */
  processId?: string;
  /** Overrides the title taken from the model. */
  title?: string;
  /** Import warnings to carry into the SOP (and its Markdown). */
  warnings?: ImportWarning[];
}

// ---------------------------------------------------------------------------------------
// Node classification

const AUTOMATED_TYPES = new Set(['serviceTask', 'scriptTask', 'businessRuleTask']);
const THROWING_END = new Set(['message', 'error', 'escalation', 'signal', 'compensate', 'cancel']);

/** True for nodes that become SOP steps (see the module comment). */
export function isStepNode(n: ModelNode): boolean {
  if (isTaskLike(n)) return true;
  if (n.category === 'gateway') return n.outgoing.length > 1 && n.type !== 'parallelGateway';
  if (n.category !== 'event') return false;
  if (n.type === 'intermediateCatchEvent' || n.type === 'intermediateThrowEvent') return !n.eventDefinitions.some((d) => d.kind === 'link');
  if (n.type === 'endEvent') return n.eventDefinitions.some((d) => THROWING_END.has(d.kind));
  return false;
}

function quoted(s: string | undefined): string {
  return s ? ` "${s}"` : '';
}

/** What an event waits for or raises, in words: `Message "Claim" arrives`. */
export function describeEvent(defs: readonly ModelEventDefinition[], catching: boolean): string {
  const d = defs[0];
  if (!d) return catching ? 'Event occurs' : 'Event';
  const parts: string[] = [];
  switch (d.kind) {
    case 'message':
      parts.push(catching ? `Message${quoted(d.refName)} arrives` : `Send message${quoted(d.refName)}`);
      break;
    case 'timer':
      parts.push(
        d.timer === 'date'
          ? `Deadline${d.expression ? ` ${d.expression}` : ''} is reached`
          : d.timer === 'cycle'
            ? `Timer cycle${d.expression ? ` ${d.expression}` : ''} fires`
            : `Timer${d.expression ? ` ${d.expression}` : ''} elapses`,
      );
      break;
    case 'error':
      parts.push(`${catching ? 'Error' : 'Raise error'}${quoted(d.refName)}${d.code ? ` (code ${d.code})` : ''}${catching ? ' is raised' : ''}`);
      break;
    case 'escalation':
      parts.push(`${catching ? 'Escalation' : 'Raise escalation'}${quoted(d.refName)}${d.code ? ` (code ${d.code})` : ''}${catching ? ' is raised' : ''}`);
      break;
    case 'signal':
      parts.push(catching ? `Signal${quoted(d.refName)} is received` : `Broadcast signal${quoted(d.refName)}`);
      break;
    case 'conditional':
      parts.push(`Condition${d.expression ? ` "${d.expression}"` : ''} becomes true`);
      break;
    case 'compensate':
      parts.push(catching ? 'Compensation is requested' : 'Compensate completed work');
      break;
    case 'cancel':
      parts.push(catching ? 'Transaction is cancelled' : 'Cancel the transaction');
      break;
    case 'terminate':
      parts.push('Terminate the process');
      break;
    case 'link':
      parts.push(`Link${quoted(d.refName)}`);
      break;
  }
  if (defs.length > 1) parts.push(`(or ${defs.length - 1} other trigger${defs.length > 2 ? 's' : ''})`);
  return parts.join(' ');
}

const TYPE_LABELS: Record<string, string> = {
  task: 'Task',
  userTask: 'User task',
  manualTask: 'Manual task',
  serviceTask: 'Service task',
  scriptTask: 'Script task',
  businessRuleTask: 'Business rule task',
  sendTask: 'Send task',
  receiveTask: 'Receive task',
  callActivity: 'Call activity',
  subProcess: 'Sub-process',
  transaction: 'Transaction',
  adHocSubProcess: 'Ad-hoc sub-process',
};

function stepTitle(n: ModelNode, index: ModelIndex): string {
  if (n.category === 'gateway') return decisionQuestion(n, index);
  if (n.category === 'event') {
    const catching = n.type === 'intermediateCatchEvent';
    const what = describeEvent(n.eventDefinitions, catching);
    if (n.name) return n.name;
    return catching ? `Wait until: ${what}` : what;
  }
  if (n.name) return n.name;
  return `${TYPE_LABELS[n.type] ?? n.type} ${n.id}`;
}

function decisionQuestion(n: ModelNode, index: ModelIndex): string {
  if (n.name) return n.name;
  if (n.type === 'eventBasedGateway') return 'Which event happens first?';
  const before = n.incoming.map((f) => index.flow.get(f)?.from).map((id) => (id ? index.node.get(id) : undefined));
  const prev = before.find((p) => p?.name);
  const suffix = n.type === 'inclusiveGateway' ? ' (one or more paths)' : '';
  return prev?.name ? `Which path follows "${prev.name}"?${suffix}` : `Which path applies?${suffix}`;
}

// ---------------------------------------------------------------------------------------
// Roles

const AI_NAME = /\b(ai|a\.i\.|artificial intelligence|bots?|chat ?bots?|robots?|rpa|ml|machine learning|llm|gpt|copilot|assistant|virtual agent|digital worker)\b/i;
const SYSTEM_NAME = /\b(system|systems|erp|crm|sap|backend|back-end|database|api|platform|application|automated|automation|engine|software|scheduler|portal|server)\b/i;

export function roleKindOfName(name: string): SopRole['kind'] | undefined {
  if (AI_NAME.test(name)) return 'ai';
  if (SYSTEM_NAME.test(name)) return 'system';
  return undefined;
}

interface RoleBook {
  roles: SopRole[];
  /** Role id of a node. */
  actorOf(n: ModelNode): string;
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
}

function buildRoles(model: ProcessModel, index: ModelIndex, nodes: readonly ModelNode[], processIds: ReadonlySet<string>): RoleBook {
  const roles: SopRole[] = [];
  const byId = new Map<string, SopRole>();
  const byName = new Map<string, SopRole>();
  const add = (id: string, name: string, kind: SopRole['kind']): SopRole => {
    const known = byName.get(name.toLowerCase()) ?? byId.get(id);
    if (known) return known;
    const role: SopRole = { id, name, kind };
    roles.push(role);
    byId.set(id, role);
    byName.set(name.toLowerCase(), role);
    return role;
  };
  // Which lanes hold only automated tasks.
  const laneTasks = new Map<string, { automated: number; other: number }>();
  for (const n of nodes) {
    if (!n.lane || !isTaskLike(n)) continue;
    const c = laneTasks.get(n.lane) ?? { automated: 0, other: 0 };
    if (AUTOMATED_TYPES.has(n.type)) c.automated++;
    else c.other++;
    laneTasks.set(n.lane, c);
  }
  const laneRole = new Map<string, SopRole>();
  for (const l of model.lanes) {
    if (!processIds.has(l.processId)) continue;
    if (l.childLanes.length > 0) continue;
    const name = laneLabel(model, index, l.id);
    const c = laneTasks.get(l.id);
    const kind = roleKindOfName(name) ?? (c && c.automated > 0 && c.other === 0 ? 'system' : 'human');
    laneRole.set(l.id, add(l.id, name, kind));
  }
  const poolRole = new Map<string, SopRole>();
  for (const p of model.pools) {
    if (!p.processRef || !processIds.has(p.processRef)) continue;
    const process = index.process.get(p.processRef);
    if (process && process.lanes.length > 0) continue;
    const name = p.name ?? process?.name ?? p.id;
    poolRole.set(p.processRef, add(p.id, name, roleKindOfName(name) ?? 'human'));
  }
  const performerRole = new Map<string, SopRole>();
  for (const n of nodes) {
    const p = n.performers.find((x) => x.kind === 'potentialOwner' || x.kind === 'humanPerformer') ?? n.performers[0];
    if (!p) continue;
    const name = p.resourceName ?? p.name;
    if (!name) continue;
    const kind = p.kind === 'potentialOwner' || p.kind === 'humanPerformer' ? 'human' : (roleKindOfName(name) ?? 'human');
    performerRole.set(n.id, add(p.resourceRef ?? `role-${slug(name) || n.id}`, name, kind));
  }
  const processPerformer = new Map<string, SopRole>();
  for (const pid of processIds) {
    const p = index.process.get(pid)?.performers[0];
    const name = p?.resourceName ?? p?.name;
    if (p && name) processPerformer.set(pid, add(p.resourceRef ?? `role-${slug(name) || pid}`, name, roleKindOfName(name) ?? 'human'));
  }
  let fallbackHuman: SopRole | undefined;
  let fallbackSystem: SopRole | undefined;
  const actorOf = (n: ModelNode): string => {
    const own = performerRole.get(n.id) ?? (n.lane ? laneRole.get(n.lane) : undefined) ?? poolRole.get(n.processId) ?? processPerformer.get(n.processId);
    if (own) return own.id;
    if (AUTOMATED_TYPES.has(n.type)) {
      fallbackSystem ??= add('system', 'System', 'system');
      return fallbackSystem.id;
    }
    fallbackHuman ??= add('performer', 'Performer', 'human');
    return fallbackHuman.id;
  };
  return { roles, actorOf };
}

// ---------------------------------------------------------------------------------------
// The walk

interface Entry {
  node: ModelNode;
  group?: string;
  sub?: Entry[];
}

interface WalkState {
  readonly model: ProcessModel;
  readonly index: ModelIndex;
  readonly visited: Set<string>;
  /** Per container: graph successors, for `next` and branch targets. */
  readonly succ: Map<string, readonly string[]>;
}

type SplitKind = 'parallel' | 'decision';

function splitKind(n: ModelNode, index: ModelIndex): SplitKind {
  if (n.category === 'gateway') return n.type === 'parallelGateway' ? 'parallel' : 'decision';
  const conditional = n.outgoing.some((f) => {
    const flow = index.flow.get(f);
    return flow !== undefined && (flow.condition !== undefined || flow.isDefault);
  });
  return conditional ? 'decision' : 'parallel';
}

/** Walks one container; returns its entries in SOP order. */
function walkContainer(state: WalkState, containerId: string): Entry[] {
  const { index, visited } = state;
  const nodes = containerNodes(state.model, index, containerId);
  const graph = containerGraph(nodes, index);
  for (const [k, v] of graph.succ) state.succ.set(k, v);
  const ipdom = postDominators(graph);
  const entries: Entry[] = [];
  const byId = index.node;
  // Joins of the splits being walked: a branch stops at any of them (counted, as nested
  // splits may share a join).
  const stops = new Map<string, number>();

  const emit = (n: ModelNode, group: string | undefined) => {
    const e: Entry = { node: n };
    if (group !== undefined) e.group = group;
    if (n.category === 'subProcess') e.sub = walkContainer(state, n.id);
    entries.push(e);
  };

  const seq = (start: string, startGroup: string | undefined): void => {
    let cur: string | undefined = start;
    let group = startGroup;
    while (cur !== undefined && !stops.has(cur)) {
      if (visited.has(cur)) return;
      const n = byId.get(cur);
      if (!n) return;
      visited.add(cur);
      if (isStepNode(n)) emit(n, group);
      const outs: readonly string[] = graph.succ.get(cur) ?? [];
      if (outs.length === 0) return;
      if (outs.length === 1) {
        cur = outs[0];
        continue;
      }
      const join = ipdom.get(cur);
      const branchGroup = splitKind(n, index) === 'parallel' ? n.id : group;
      if (join === undefined) {
        // No join: nothing follows the branches, so the last one continues this loop
        // instead of recursing (a long run of "stop here?" decisions stays flat).
        for (let k = 0; k < outs.length - 1; k++) seq(outs[k] as string, branchGroup);
        group = branchGroup;
        cur = outs[outs.length - 1];
        continue;
      }
      stops.set(join, (stops.get(join) ?? 0) + 1);
      for (const o of outs) seq(o, branchGroup);
      const c = (stops.get(join) ?? 1) - 1;
      if (c === 0) stops.delete(join);
      else stops.set(join, c);
      cur = join;
    }
  };

  // Main path: start events, else nodes without incoming flows (boundary events, event
  // sub-processes and compensation handlers have their own places).
  const isRoot = (n: ModelNode) =>
    n.attachedTo === undefined && !n.triggeredByEvent && !n.isForCompensation && (graph.pred.get(n.id)?.length ?? 0) === 0;
  const starts = nodes.filter((n) => n.type === 'startEvent' && isRoot(n));
  const roots = starts.length > 0 ? starts : nodes.filter(isRoot);
  for (const r of roots) seq(r.id, undefined);

  // Exception paths, in the order their activities were written (a path may hold more
  // boundary events, so this runs until no new one appears).
  const done = new Set<string>();
  for (let i = 0; i < entries.length; i++) {
    const host = entries[i]?.node;
    if (!host) continue;
    for (const b of host.boundaryEvents) {
      if (done.has(b)) continue;
      done.add(b);
      visited.add(b);
      for (const o of graph.succ.get(b) ?? []) seq(o, undefined);
    }
  }
  // Event sub-processes, then whatever no flow reaches (each still exactly once).
  for (const n of nodes) if (n.triggeredByEvent && !visited.has(n.id)) {
    visited.add(n.id);
    emit(n, undefined);
  }
  for (const pass of [true, false]) {
    for (const n of nodes) {
      if (visited.has(n.id)) continue;
      if (pass && (graph.pred.get(n.id)?.length ?? 0) > 0) continue;
      if (n.attachedTo !== undefined) {
        visited.add(n.id);
        for (const o of graph.succ.get(n.id) ?? []) seq(o, undefined);
        continue;
      }
      seq(n.id, undefined);
    }
  }
  return entries;
}

// ---------------------------------------------------------------------------------------
// Steps

interface Numbering {
  readonly numberOf: Map<string, string>;
}

function numberEntries(entries: Entry[], prefix: string, offset: number, out: Numbering): void {
  entries.forEach((e, i) => {
    const num = prefix ? `${prefix}.${i + 1}` : String(offset + i + 1);
    out.numberOf.set(e.node.id, num);
    if (e.sub) numberEntries(e.sub, num, 0, out);
  });
}

function dataName(index: ModelIndex, id: string): string {
  const d = index.data.get(id);
  if (!d) return id;
  const name = d.name ?? id;
  return d.kind === 'dataStoreReference' ? `${name} (data store)` : name;
}

/** Builds the SOP of `model`. See the module comment for how the graph is read. */
export function generateSop(model: ProcessModel, options: SopOptions = {}): Sop {
  const index = indexModel(model);
  let processIds = model.processes.map((p) => p.id);
  if (options.processId !== undefined) {
    if (!index.process.has(options.processId)) {
      throw new AppError('not-found', `No process ${JSON.stringify(options.processId)} in the BPMN document (processes: ${processIds.join(', ') || 'none'})`);
    }
    processIds = [options.processId];
  }
  // Pools first in collaboration order, then processes without a pool.
  const ordered: string[] = [];
  for (const p of model.pools) if (p.processRef && processIds.includes(p.processRef) && !ordered.includes(p.processRef)) ordered.push(p.processRef);
  for (const id of processIds) if (!ordered.includes(id)) ordered.push(id);
  const processSet = new Set(ordered);
  const nodesInScope = model.nodes.filter((n) => processSet.has(n.processId));
  const roleBook = buildRoles(model, index, nodesInScope, processSet);

  const state: WalkState = { model, index, visited: new Set(), succ: new Map() };
  const top: Entry[] = [];
  for (const pid of ordered) top.push(...walkContainer(state, pid));
  const numbering: Numbering = { numberOf: new Map() };
  numberEntries(top, '', 0, numbering);
  const { numberOf } = numbering;

  // Where a node leads, as step numbers ('end' when a path ends there).
  const memo = new Map<string, string[]>();
  const refsOf = (id: string, seen: Set<string> = new Set()): string[] => {
    const num = numberOf.get(id);
    if (num !== undefined) return [num];
    const cached = memo.get(id);
    if (cached) return cached;
    if (seen.has(id)) return [];
    seen.add(id);
    const outs = state.succ.get(id) ?? [];
    const refs = outs.length === 0 ? ['end'] : [...new Set(outs.flatMap((o) => refsOf(o, seen)))];
    seen.delete(id);
    memo.set(id, refs);
    return refs;
  };

  // Hand-offs: message flows into inputs and outputs of the steps at both ends.
  const messageIn = new Map<string, string[]>();
  const messageOut = new Map<string, string[]>();
  const poolName = (id: string | undefined) => (id ? (index.pool.get(id)?.name ?? id) : 'another participant');
  const push = (m: Map<string, string[]>, k: string, v: string) => {
    const list = m.get(k) ?? [];
    list.push(v);
    m.set(k, list);
  };
  const nodeOfNumber = new Map([...numberOf].map(([id, num]) => [num, id] as const));
  const stepNodeOf = (id: string): string | undefined => {
    if (numberOf.has(id)) return id;
    const node = index.node.get(id);
    if (!node) return undefined;
    // A message caught by a boundary event reaches the activity it sits on.
    if (node.attachedTo !== undefined && numberOf.has(node.attachedTo)) return node.attachedTo;
    const first = refsOf(id).find((r) => r !== 'end');
    return first === undefined ? undefined : nodeOfNumber.get(first);
  };
  for (const m of model.messageFlows) {
    const label = m.message ?? m.name;
    const what = `Message${label ? ` "${label}"` : ''}`;
    const fromStep = stepNodeOf(m.from);
    const toStep = stepNodeOf(m.to);
    const toWhere = `${poolName(m.toPool)}${toStep ? ` (step ${numberOf.get(toStep)})` : ''}`;
    const fromWhere = `${poolName(m.fromPool)}${fromStep ? ` (step ${numberOf.get(fromStep)})` : ''}`;
    if (fromStep) push(messageOut, fromStep, `${what} to ${toWhere}`);
    if (toStep) push(messageIn, toStep, `${what} from ${fromWhere}`);
  }

  // Error and escalation throwers inside a sub-process, for its boundary events.
  const throwersInside = (containerId: string, kind: 'error' | 'escalation', refName: string | undefined): string[] => {
    const out: string[] = [];
    const stack = [containerId];
    while (stack.length > 0) {
      const c = stack.pop() as string;
      for (const id of index.node.get(c)?.childNodes ?? []) {
        const n = index.node.get(id);
        if (!n) continue;
        if (n.childNodes) stack.push(n.id);
        const d = n.eventDefinitions.find((x) => x.kind === kind);
        if (d && n.type !== 'boundaryEvent' && n.type !== 'startEvent' && (refName === undefined || d.refName === refName)) {
          const num = numberOf.get(n.id);
          if (num) out.push(num);
        }
      }
    }
    return out.sort();
  };

  const goToText = (refs: string[]): string =>
    refs.length === 0 ? 'end' : refs.length === 1 ? (refs[0] as string) : refs.join(', ');

  const toStep = (e: Entry, list: Entry[], i: number, prefix: string): SopStep => {
    const n = e.node;
    const num = numberOf.get(n.id) as string;
    const names = (a: string[], b: string[]) => (a.length + b.length === 0 ? [] : [...new Set([...a, ...b].map((d) => dataName(index, d)))]);
    const inputs = names(n.inputs, n.ioInputs);
    const outputs = names(n.outputs, n.ioOutputs);
    if (n.category === 'event') {
      const msg = n.eventDefinitions.find((d) => d.kind === 'message');
      if (msg?.refName) (n.type === 'intermediateCatchEvent' ? inputs : outputs).push(`Message "${msg.refName}"`);
    }
    inputs.push(...(messageIn.get(n.id) ?? []));
    outputs.push(...(messageOut.get(n.id) ?? []));
    const step: SopStep = {
      number: num,
      title: stepTitle(n, index),
      actor: roleBook.actorOf(n),
      inputs,
      outputs,
      bpmnRef: n.id,
      exceptions: [],
      bpmnType: n.type,
    };
    const text: string[] = [];
    if (n.category === 'event' && n.name) text.push(describeEvent(n.eventDefinitions, n.type === 'intermediateCatchEvent'));
    if (n.triggeredByEvent) {
      const start = (n.childNodes ?? []).map((id) => index.node.get(id)).find((c) => c?.type === 'startEvent');
      if (start) {
        const trigger = describeEvent(start.eventDefinitions, true);
        step.title = `When: ${trigger}${n.name ? ` (${n.name})` : ''}`;
        text.push(`Event sub-process: runs whenever ${trigger.charAt(0).toLowerCase()}${trigger.slice(1)}.`);
      }
    }
    if (n.loop) text.push(n.loop === 'standard' ? 'Repeated while its loop condition holds.' : `Done once per item (${n.loop} multi-instance).`);
    if (n.calledElement) text.push(`Calls ${n.calledElement}.`);
    if (n.documentation) text.push(n.documentation);
    text.push(...n.annotations);
    if (text.length > 0) step.description = text.join('\n\n');
    if (e.group !== undefined) step.parallelGroup = e.group;

    const outs = state.succ.get(n.id) ?? [];
    const natural = i + 1 < list.length ? numberOf.get((list[i + 1] as Entry).node.id) : 'end';
    if (outs.length > 1 && splitKind(n, index) === 'decision') {
      const flows = n.outgoing.map((f) => index.flow.get(f)).filter((f) => f !== undefined);
      flows.sort((a, b) => Number(a.isDefault) - Number(b.isDefault));
      step.decision = {
        question: n.category === 'gateway' ? step.title : `After "${step.title}": which path applies?`,
        branches: flows.map((f) => {
          const target = index.node.get(f.to);
          let condition = f.name && f.condition ? `${f.name} (${f.condition})` : (f.name ?? f.condition);
          if (!condition && n.type === 'eventBasedGateway' && target) condition = target.name ?? describeEvent(target.eventDefinitions, true);
          if (!condition && f.isDefault) condition = 'otherwise';
          if (!condition) condition = target ? `to "${target.name ?? target.id}"` : 'always';
          return { condition, goTo: goToText(refsOf(f.to)) };
        }),
      };
    } else {
      const refs = [...new Set(outs.flatMap((o) => refsOf(o)))];
      const nextRefs = refs.length === 0 ? ['end'] : refs;
      if (!(nextRefs.length === 1 && nextRefs[0] === natural)) step.next = nextRefs;
    }

    for (const b of n.boundaryEvents) {
      const be = index.node.get(b);
      if (!be) continue;
      let trigger = describeEvent(be.eventDefinitions, true);
      if (be.name) trigger = `${be.name}: ${trigger}`;
      const d = be.eventDefinitions[0];
      if (n.category === 'subProcess' && d && (d.kind === 'error' || d.kind === 'escalation')) {
        const at = throwersInside(n.id, d.kind, d.refName);
        if (at.length > 0) trigger += ` at step ${at.join(', ')}`;
      }
      if (be.cancelActivity === false) trigger += ' (non-interrupting: the step goes on)';
      const refs = refsOf(b);
      const targets = refs.filter((r) => r !== 'end');
      const compensator = be.compensationHandler ? numberOf.get(be.compensationHandler) : undefined;
      const handling = compensator
        ? `Go to step ${compensator} (compensation handler)`
        : targets.length === 0
          ? be.cancelActivity === false
            ? 'Note it; the step goes on'
            : `End the ${prefix ? 'sub-process' : 'process'}`
          : targets.length === 1
            ? `Go to step ${targets[0]}`
            : `Go to steps ${targets.join(', ')} (in parallel)`;
      step.exceptions.push({ trigger, handling, bpmnRef: b });
    }
    if (e.sub) step.substeps = e.sub.map((s, k) => toStep(s, e.sub as Entry[], k, num));
    return step;
  };

  const steps = top.map((e, i) => toStep(e, top, i, ''));

  // Title, purpose, scope.
  const firstProcess = index.process.get(ordered[0] ?? '');
  const collaborationName = model.pools.length > 1 ? undefined : model.pools[0]?.name;
  const title =
    options.title ??
    (options.processId ? firstProcess?.name : undefined) ??
    model.name ??
    firstProcess?.name ??
    collaborationName ??
    (model.definitionsId ? `Process ${model.definitionsId}` : 'Process');
  const docs = [model.documentation, ...ordered.map((id) => index.process.get(id)?.documentation)].filter((d): d is string => Boolean(d));
  const startNames = nodesInScope.filter((n) => n.type === 'startEvent' && !n.triggeredByEvent && n.container === n.processId);
  const endNames = nodesInScope.filter((n) => n.type === 'endEvent' && n.container === n.processId);
  const describeStart = (n: ModelNode) => n.name ?? (n.eventDefinitions.length > 0 ? describeEvent(n.eventDefinitions, true).toLowerCase() : undefined);
  const startsText = [...new Set(startNames.map(describeStart).filter((s): s is string => Boolean(s)))];
  const endsText = [...new Set(endNames.map((n) => n.name).filter((s): s is string => Boolean(s)))];
  const humanRoles = roleBook.roles.map((r) => r.name);
  const purpose =
    docs.length > 0
      ? docs.join('\n\n')
      : `How "${title}" is carried out${humanRoles.length > 0 ? ` by ${listText(humanRoles)}` : ''}, step by step.`;
  const poolsInScope = model.pools.filter((p) => p.processRef && processSet.has(p.processRef));
  const scopeParts: string[] = [];
  scopeParts.push(startsText.length > 0 ? `Starts when: ${listText(startsText)}.` : 'Starts at the first step.');
  scopeParts.push(endsText.length > 0 ? `Ends with: ${listText(endsText)}.` : 'Ends when no step is left.');
  const countSteps = (ss: SopStep[]): number => ss.reduce((k, s) => k + 1 + countSteps(s.substeps ?? []), 0);
  scopeParts.push(
    `${countSteps(steps)} step${countSteps(steps) === 1 ? '' : 's'}` +
      (poolsInScope.length > 1 ? ` across ${poolsInScope.length} participants (${listText(poolsInScope.map((p) => p.name ?? p.id))})` : '') +
      (roleBook.roles.length > 0 ? `, ${roleBook.roles.length} role${roleBook.roles.length === 1 ? '' : 's'}` : '') +
      '.',
  );
  const sop: Sop = { title, purpose, scope: scopeParts.join(' '), markdown: '', roles: roleBook.roles, steps };
  if (options.warnings && options.warnings.length > 0) sop.warnings = options.warnings.map((w) => ({ ...w }));
  sop.markdown = renderSopMarkdown(sop);
  return sop;
}

function listText(xs: readonly string[]): string {
  if (xs.length <= 1) return xs.join('');
  return `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

// ---------------------------------------------------------------------------------------
// Markdown

function inline(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').replace(/([\\`*_[\]<>|])/g, '\\$1');
}

function code(s: string): string {
  const ticks = s.includes('`') ? '`` ' : '`';
  return `${ticks}${s}${ticks === '`' ? '`' : ' ``'}`;
}

function stepRef(ref: string): string {
  return ref === 'end' ? 'end' : `step ${ref}`;
}

/**
 * Renders an SOP as Markdown: title, purpose, scope, a roles table, the numbered steps
 * (actor, inputs, outputs, decisions, exceptions, where to go next, BPMN reference;
 * sub-process steps nested one heading level deeper), the hand-offs between participants
 * (message flows) and the import warnings, when there are any.
 */
export function renderSopMarkdown(sop: Sop): string {
  const roleName = new Map(sop.roles.map((r) => [r.id, r.name]));
  const lines: string[] = [];
  lines.push(`# ${inline(sop.title)}`, '');
  lines.push('## Purpose', '', sop.purpose, '');
  lines.push('## Scope', '', sop.scope, '');
  lines.push('## Roles', '', '| Role | Kind | Id |', '| --- | --- | --- |');
  for (const r of sop.roles) lines.push(`| ${inline(r.name)} | ${r.kind} | ${code(r.id)} |`);
  if (sop.roles.length === 0) lines.push('| (none) | | |');
  lines.push('', '## Procedure', '');
  const writeSteps = (steps: SopStep[], level: number) => {
    for (const s of steps) {
      lines.push(`${'#'.repeat(Math.min(level, 6))} ${s.number}. ${inline(s.title)}`, '');
      lines.push(`- **Actor:** ${inline(roleName.get(s.actor) ?? s.actor)}`);
      if (s.parallelGroup) lines.push(`- **In parallel:** with the other steps of group ${code(s.parallelGroup)}`);
      if (s.inputs.length > 0) lines.push(`- **Inputs:** ${s.inputs.map(inline).join('; ')}`);
      if (s.outputs.length > 0) lines.push(`- **Outputs:** ${s.outputs.map(inline).join('; ')}`);
      if (s.decision) {
        lines.push(`- **Decision:** ${inline(s.decision.question)}`);
        for (const b of s.decision.branches) lines.push(`  - ${inline(b.condition)} → ${stepRef(b.goTo.split(', ')[0] ?? b.goTo)}${b.goTo.includes(', ') ? ` (and ${b.goTo.split(', ').slice(1).join(', ')})` : ''}`);
      }
      if (s.exceptions.length > 0) {
        lines.push('- **Exceptions:**');
        for (const x of s.exceptions) lines.push(`  - ${inline(x.trigger)}: ${inline(x.handling)} (${code(x.bpmnRef)})`);
      }
      if (s.next) lines.push(`- **Next:** ${s.next.map(stepRef).join(s.next.length > 1 ? ' and ' : '')}${s.next.length > 1 ? ' (in parallel)' : ''}`);
      lines.push(`- **BPMN:** ${code(s.bpmnRef)}${s.bpmnType ? ` (${s.bpmnType})` : ''}`);
      if (s.description) lines.push('', ...s.description.split('\n').map((l) => (l.trim() ? `> ${l}` : '>')));
      lines.push('');
      if (s.substeps && s.substeps.length > 0) writeSteps(s.substeps, level + 1);
    }
  };
  if (sop.steps.length === 0) lines.push('No steps: the document holds no activities or decisions.', '');
  writeSteps(sop.steps, 3);
  // Hand-offs between participants, gathered from the message inputs and outputs.
  const handoffs: string[] = [];
  const gather = (steps: SopStep[]) => {
    for (const s of steps) {
      for (const o of s.outputs) if (o.startsWith('Message')) handoffs.push(`- Step ${s.number} (${inline(roleName.get(s.actor) ?? s.actor)}): ${inline(o)}`);
      gather(s.substeps ?? []);
    }
  };
  gather(sop.steps);
  if (handoffs.length > 0) lines.push('## Hand-offs', '', ...handoffs, '');
  if (sop.warnings && sop.warnings.length > 0) {
    lines.push('## Import warnings', '');
    for (const w of sop.warnings) lines.push(`- ${w.elementId ? `${code(w.elementId)}: ` : ''}${inline(w.message)}`);
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
