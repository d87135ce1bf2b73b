/**
 * @module realms/journey/coexistence
 * Human/AI coexistence: task scoring and classification (DOMAIN.md 3.4), optimisation
 * potential, recommendations, and the blueprint (an optimised {@link FlowSpec} with an AI
 * lane, hand-offs, decision points and escalations) with its report.
 *
 * Scoring, summed per task (tasks of every kind and call activities; a sub-process is a
 * container and its tasks are scored instead); every cue with a non-zero weight is listed in
 * `reasons`:
 * - type: service, script, business-rule +2; send, receive +1; manual −2;
 * - verbs of the name: extract, validate, calculate, classify, match, route, notify +1;
 *   approve, decide, negotiate, sign, investigate −1; their sum capped at ±2 (a `verb cap`
 *   cue carries the correction);
 * - only structured inputs +1: the task reads data (associations or io inputs) and every input
 *   is structured (a data store, a typed item, or a record-like name: form, record, table, …);
 * - judgement gateway next −1: a diverging exclusive, inclusive or complex gateway directly
 *   after the task with an outgoing flow that has no formal condition (a human reads it);
 * - regulatory words in name or documentation (compliance, legal, fraud, medical, complaint,
 *   underwriting) −2, once;
 * - customer contact −1, once: a customer-like party (customer, client, claimant,
 *   policyholder, applicant, patient, caller) in name or documentation, or a message flow
 *   to or from a pool named so.
 * `≥ 2` ai, `≤ −2` human, else hybrid.
 *
 * Potential: `handoffs` = task-to-task transitions (through gateways and events) between two
 * different lanes (a pool without lanes is one lane); `waitPoints` = receive tasks, user and
 * manual tasks and intermediate catch events; `criticalPathLength` = flow nodes on the longest
 * start-to-end path with each loop counted once (back edges dropped; a sub-process counts 1
 * plus its own critical path). All three count the normal path only: what starts from start
 * events, not exception paths of boundary events nor escalation paths of the blueprint.
 * "After" is measured on the blueprint the same analysis would produce.
 *
 * Blueprint, per pool: lanes = the pool's human lanes (a pool without lanes gets one named
 * after it), plus `AI`. AI tasks become service tasks in the AI lane with two interrupting
 * boundary events, `Error` and `Confidence below <escalateBelow>` (conditional), which meet
 * at a join and go to a human review task in the task's human lane, then back to where the
 * task led. Hybrid tasks split into `AI prepares: <name>` (service task, AI lane, with an
 * error boundary event to the human part) and `Human confirms: <name>` (user task, keeps the
 * element id), a hand-off between them. Human tasks stay in their lane as user (or manual)
 * tasks with a non-interrupting `SLA <h>h` timer that raises an escalation to the process
 * owner. Element ids of the original tasks are kept. Inside sub-processes lanes do not
 * apply, the rest does. Flows are then normalised so bpmnlint's recommended rules hold:
 * joins in front of activities with several incoming flows, gateways for implicit splits,
 * no gateway that both joins and forks, and a label on every flow node.
 */
import { containerGraph, containerNodes } from './graph.js';
import {
  indexModel,
  laneLabel,
  type ModelIndex,
  type ModelLane,
  type ModelNode,
  type ModelSequenceFlow,
  type ProcessModel,
} from './model.js';
import { describeEvent, roleKindOfName } from './sop.js';
import {
  FLOW_NODE_TYPES,
  type Classification,
  type CoexistenceAnalysis,
  type CoexistenceBlueprint,
  type FlowNodeSpec,
  type FlowNodeType,
  type FlowSpec,
  type PoolSpec,
  type SequenceFlowSpec,
} from './types.js';

export type TaskAssessment = CoexistenceAnalysis['tasks'][number];

export interface BlueprintOptions {
  /**
   * AI results below this confidence go to a human.
   * @defaultValue 0.8
   */
  escalateBelow?: number;
  /**
   * Hours a human task may take before it is escalated.
   * @defaultValue 24
   */
  humanSlaHours?: number;
}

export const DEFAULT_ESCALATE_BELOW = 0.8;
export const DEFAULT_HUMAN_SLA_HOURS = 24;
/** The role SLA escalations of human tasks go to. */
export const ESCALATION_OWNER = 'Process owner';

// ---------------------------------------------------------------------------------------
// Scoring

const TYPE_WEIGHTS: Record<string, number> = {
  serviceTask: 2,
  scriptTask: 2,
  businessRuleTask: 2,
  sendTask: 1,
  receiveTask: 1,
  manualTask: -2,
};

const VERBS: readonly (readonly [string, RegExp, number])[] = [
  ['extract', /\bextract/i, 1],
  ['validate', /\bvalidat/i, 1],
  ['calculate', /\bcalculat/i, 1],
  ['classify', /\bclassif/i, 1],
  ['match', /\bmatch/i, 1],
  ['route', /\brout(e|es|ed|ing)\b/i, 1],
  ['notify', /\bnotif/i, 1],
  ['approve', /\bapprov/i, -1],
  ['decide', /\b(decid|decision)/i, -1],
  ['negotiate', /\bnegotiat/i, -1],
  ['sign', /\bsign(s|ed|ing|ature|off)?\b/i, -1],
  ['investigate', /\binvestigat/i, -1],
];

const REGULATORY = /\b(complian\w*|legal\w*|fraud\w*|medical\w*|complain\w*|underwrit\w*)/i;
const CUSTOMER = /\b(customers?|clients?|claimants?|policy ?holders?|applicants?|patients?|callers?)\b/i;
const STRUCTURED = /\b(forms?|records?|tables?|database|db|data|dataset|csv|json|xml|spreadsheets?|sheets?|registers?|registry|ledger|list|catalog(ue)?|schema|fields?|codes?|ids?|numbers?|amounts?|scores?|rates?|policy data|claim data)\b/i;
const UNSTRUCTURED = /\b(documents?|letters?|e-?mails?|mails?|photos?|images?|pictures?|scans?|scanned|attachments?|notes?|free ?text|pdfs?|calls?|voice|handwritten|videos?|statements?|reports?)\b/i;

/** Tasks scored: every task type and call activities. */
export function isScoredTask(n: ModelNode): boolean {
  return n.category === 'task' || n.category === 'callActivity';
}

function textOf(n: ModelNode): string {
  return [n.name ?? '', n.documentation ?? '', ...n.annotations].join('\n');
}

function isJudgementGateway(g: ModelNode, index: ModelIndex): boolean {
  if (g.category !== 'gateway' || g.outgoing.length < 2) return false;
  if (!['exclusiveGateway', 'inclusiveGateway', 'complexGateway'].includes(g.type)) return false;
  return g.outgoing.some((f) => {
    const flow = index.flow.get(f);
    return flow !== undefined && !flow.isDefault && flow.condition === undefined;
  });
}

/** Scores one task; see the module comment for the cues. */
export function scoreTask(n: ModelNode, model: ProcessModel, index: ModelIndex): TaskAssessment {
  const reasons: TaskAssessment['reasons'] = [];
  const typeWeight = TYPE_WEIGHTS[n.type] ?? 0;
  if (typeWeight !== 0) reasons.push({ cue: `type: ${n.type}`, weight: typeWeight });

  const name = n.name ?? '';
  let verbSum = 0;
  for (const [verb, re, w] of VERBS) {
    if (re.test(name)) {
      reasons.push({ cue: `verb: ${verb}`, weight: w });
      verbSum += w;
    }
  }
  if (verbSum > 2) reasons.push({ cue: 'verb cap: +2', weight: 2 - verbSum });
  if (verbSum < -2) reasons.push({ cue: 'verb cap: -2', weight: -2 - verbSum });

  const inputIds = [...new Set([...n.inputs, ...n.ioInputs])];
  if (inputIds.length > 0) {
    const names: string[] = [];
    const allStructured = inputIds.every((id) => {
      const d = index.data.get(id);
      const label = d?.name ?? id;
      names.push(label);
      if (!d) return false;
      if (UNSTRUCTURED.test(label)) return false;
      return d.kind === 'dataStoreReference' || d.structure !== undefined || STRUCTURED.test(label);
    });
    if (allStructured) reasons.push({ cue: `only structured inputs: ${names.join(', ')}`, weight: 1 });
  }

  for (const f of n.outgoing) {
    const to = index.node.get(index.flow.get(f)?.to ?? '');
    if (to && isJudgementGateway(to, index)) {
      reasons.push({ cue: `judgement gateway next: ${to.name ?? to.id}`, weight: -1 });
      break;
    }
  }

  const text = textOf(n);
  const regulatory = REGULATORY.exec(text);
  if (regulatory) reasons.push({ cue: `regulatory: ${regulatory[1]?.toLowerCase()}`, weight: -2 });

  const customer = CUSTOMER.exec(text);
  let contact: string | undefined = customer?.[1]?.toLowerCase();
  if (!contact) {
    for (const m of model.messageFlows) {
      const other = m.from === n.id ? m.toPool : m.to === n.id ? m.fromPool : undefined;
      const poolName = other ? index.pool.get(other)?.name : undefined;
      const hit = poolName ? CUSTOMER.exec(poolName) : null;
      if (hit) {
        contact = `message flow with ${poolName}`;
        break;
      }
    }
  }
  if (contact) reasons.push({ cue: `customer contact: ${contact}`, weight: -1 });

  const score = reasons.reduce((s, r) => s + r.weight, 0);
  const classification: Classification = score >= 2 ? 'ai' : score <= -2 ? 'human' : 'hybrid';
  return { bpmnRef: n.id, classification, score, reasons };
}

// ---------------------------------------------------------------------------------------
// Metrics on a neutral graph (the model before, the blueprint after)

interface MetricNode {
  id: string;
  type: string;
  lane: string;
  /** Boundary events and blueprint escalation paths: not part of the normal path. */
  exceptional: boolean;
  children?: MetricContainer;
}

interface MetricContainer {
  nodes: MetricNode[];
  flows: { from: string; to: string }[];
}

export interface FlowMetrics {
  handoffs: number;
  waitPoints: number;
  criticalPathLength: number;
  /** Task-to-task hand-offs as pairs of element ids. */
  handoffPairs: [string, string][];
}

const ACTIVITY_TYPES = new Set([
  'task',
  'userTask',
  'manualTask',
  'serviceTask',
  'scriptTask',
  'businessRuleTask',
  'sendTask',
  'receiveTask',
  'callActivity',
  'subProcess',
  'adHocSubProcess',
  'transaction',
]);
const WAIT_TYPES = new Set(['receiveTask', 'userTask', 'manualTask', 'intermediateCatchEvent']);

/** Ids reachable from the container's roots without leaving through a boundary event or an exceptional node. */
function normalPath(c: MetricContainer): Set<string> {
  const succ = new Map<string, string[]>();
  const incoming = new Map<string, number>();
  for (const f of c.flows) {
    const list = succ.get(f.from) ?? [];
    list.push(f.to);
    succ.set(f.from, list);
    incoming.set(f.to, (incoming.get(f.to) ?? 0) + 1);
  }
  const roots = c.nodes.filter((n) => !n.exceptional && n.type !== 'boundaryEvent' && (incoming.get(n.id) ?? 0) === 0);
  const starts = roots.filter((n) => n.type === 'startEvent');
  const byId = new Map(c.nodes.map((n) => [n.id, n] as const));
  const seen = new Set<string>();
  const stack = (starts.length > 0 ? starts : roots).map((n) => n.id);
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    const n = byId.get(id);
    if (!n || n.exceptional || n.type === 'boundaryEvent') continue;
    seen.add(id);
    for (const s of succ.get(id) ?? []) stack.push(s);
  }
  return seen;
}

/** Hand-offs, wait points and critical path of a container (and its sub-processes). */
export function containerMetrics(c: MetricContainer): FlowMetrics {
  const normal = normalPath(c);
  const byId = new Map(c.nodes.map((n) => [n.id, n] as const));
  const succ = new Map<string, string[]>();
  for (const f of c.flows) {
    if (!normal.has(f.from) || !normal.has(f.to)) continue;
    const list = succ.get(f.from) ?? [];
    list.push(f.to);
    succ.set(f.from, list);
  }
  let handoffs = 0;
  let waitPoints = 0;
  const handoffPairs: [string, string][] = [];
  for (const id of normal) {
    const n = byId.get(id) as MetricNode;
    if (WAIT_TYPES.has(n.type)) waitPoints++;
    if (n.children) {
      const inner = containerMetrics(n.children);
      handoffs += inner.handoffs;
      waitPoints += inner.waitPoints;
      handoffPairs.push(...inner.handoffPairs);
    }
    if (!ACTIVITY_TYPES.has(n.type)) continue;
    // Next activities, through gateways and events.
    const seen = new Set<string>();
    const stack = [...(succ.get(id) ?? [])];
    while (stack.length > 0) {
      const s = stack.pop() as string;
      if (seen.has(s)) continue;
      seen.add(s);
      const m = byId.get(s);
      if (!m) continue;
      if (ACTIVITY_TYPES.has(m.type)) {
        if (m.lane !== n.lane) {
          handoffs++;
          handoffPairs.push([n.id, m.id]);
        }
        continue;
      }
      stack.push(...(succ.get(s) ?? []));
    }
  }
  return { handoffs, waitPoints, criticalPathLength: criticalPath(c, normal, succ, byId), handoffPairs };
}

function criticalPath(c: MetricContainer, normal: Set<string>, succ: Map<string, string[]>, byId: Map<string, MetricNode>): number {
  const weight = (id: string): number => {
    const n = byId.get(id);
    if (!n) return 0;
    return 1 + (n.children ? containerMetrics(n.children).criticalPathLength : 0);
  };
  // Drop back edges (iterative DFS from the roots), then longest path over the DAG.
  const incoming = new Map<string, number>();
  for (const [, ss] of succ) for (const s of ss) incoming.set(s, (incoming.get(s) ?? 0) + 1);
  const roots = c.nodes.filter((n) => normal.has(n.id) && (incoming.get(n.id) ?? 0) === 0).map((n) => n.id);
  const state = new Map<string, 1 | 2>();
  const dag = new Map<string, string[]>();
  const order: string[] = [];
  for (const r of [...roots, ...normal]) {
    if (state.has(r)) continue;
    const stack: [string, number][] = [[r, 0]];
    state.set(r, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as [string, number];
      const ss = succ.get(top[0]) ?? [];
      if (top[1] < ss.length) {
        const s = ss[top[1]] as string;
        top[1]++;
        const st = state.get(s);
        if (st === 1) continue; // back edge: a loop, counted once
        const list = dag.get(top[0]) ?? [];
        list.push(s);
        dag.set(top[0], list);
        if (st === undefined) {
          state.set(s, 1);
          stack.push([s, 0]);
        }
      } else {
        state.set(top[0], 2);
        order.push(top[0]);
        stack.pop();
      }
    }
  }
  // `order` is a post-order of the DAG: successors come before their predecessors.
  const longest = new Map<string, number>();
  let best = 0;
  const weights = new Map<string, number>();
  for (const id of order) {
    let w = weights.get(id);
    if (w === undefined) {
      w = weight(id);
      weights.set(id, w);
    }
    let tail = 0;
    for (const s of dag.get(id) ?? []) tail = Math.max(tail, longest.get(s) ?? 0);
    const total = w + tail;
    longest.set(id, total);
    if (total > best) best = total;
  }
  return best;
}

function sumMetrics(ms: FlowMetrics[]): FlowMetrics {
  return {
    handoffs: ms.reduce((s, m) => s + m.handoffs, 0),
    waitPoints: ms.reduce((s, m) => s + m.waitPoints, 0),
    criticalPathLength: ms.reduce((s, m) => Math.max(s, m.criticalPathLength), 0),
    handoffPairs: ms.flatMap((m) => m.handoffPairs),
  };
}

function modelContainer(model: ProcessModel, index: ModelIndex, containerId: string, laneOf: (n: ModelNode) => string): MetricContainer {
  const nodes = containerNodes(model, index, containerId);
  const g = containerGraph(nodes, index);
  return {
    nodes: nodes.map((n) => {
      const m: MetricNode = { id: n.id, type: n.type, lane: laneOf(n), exceptional: false };
      if (n.childNodes) m.children = modelContainer(model, index, n.id, () => m.lane);
      return m;
    }),
    flows: [...g.succ].flatMap(([from, tos]) => tos.map((to) => ({ from, to }))),
  };
}

/** The potential metrics of the model as it is. */
export function modelMetrics(model: ProcessModel, index: ModelIndex = indexModel(model)): FlowMetrics {
  return sumMetrics(model.processes.map((p) => containerMetrics(modelContainer(model, index, p.id, (n) => n.lane ?? n.processId))));
}

function specContainer(nodes: readonly FlowNodeSpec[], flows: readonly SequenceFlowSpec[], exceptional: ReadonlySet<string>, lane: string | undefined, poolId: string): MetricContainer {
  return {
    nodes: nodes.map((n) => {
      const l = lane ?? n.lane ?? poolId;
      const m: MetricNode = { id: n.id, type: n.type, lane: l, exceptional: exceptional.has(n.id) };
      if (n.children) m.children = specContainer(n.children.nodes, n.children.flows, exceptional, l, poolId);
      return m;
    }),
    flows: flows.map((f) => ({ from: f.from, to: f.to })),
  };
}

/** The potential metrics of a blueprint; `exceptional` names its escalation-path nodes. */
export function specMetrics(spec: FlowSpec, exceptional: ReadonlySet<string>): FlowMetrics {
  return sumMetrics(spec.pools.map((p) => containerMetrics(specContainer(p.nodes, p.flows, exceptional, undefined, p.id))));
}

// ---------------------------------------------------------------------------------------
// Blueprint

export interface BlueprintPlan {
  spec: FlowSpec;
  handoffs: CoexistenceBlueprint['handoffs'];
  decisionPoints: CoexistenceBlueprint['decisionPoints'];
  escalations: CoexistenceBlueprint['escalations'];
  /** Escalation-path nodes (reviews, their joins): not on the normal path. */
  exceptional: Set<string>;
  /** Message flows of the model the blueprint could not keep (an end outside every pool). */
  droppedMessageFlows: string[];
}

const NODE_TYPES: ReadonlySet<string> = new Set<string>(FLOW_NODE_TYPES);

function specType(n: ModelNode): FlowNodeType {
  if (n.category === 'subProcess') return 'subProcess';
  if (NODE_TYPES.has(n.type)) return n.type as FlowNodeType;
  if (n.category === 'task') return 'task';
  if (n.category === 'gateway') return 'exclusiveGateway';
  return 'intermediateThrowEvent';
}

const SPEC_EVENTS = new Set(['message', 'timer', 'error', 'escalation', 'signal', 'conditional']);

function defaultName(n: ModelNode): string {
  if (n.name) return n.name;
  if (n.category === 'event') {
    if (n.type === 'startEvent') return n.eventDefinitions.length > 0 ? describeEvent(n.eventDefinitions, true) : 'Start';
    if (n.type === 'endEvent') return n.eventDefinitions.length > 0 ? describeEvent(n.eventDefinitions, false) : 'End';
    return describeEvent(n.eventDefinitions, n.type !== 'intermediateThrowEvent');
  }
  if (n.category === 'gateway') return n.outgoing.length > 1 ? 'Which path?' : 'Merge';
  return n.id;
}

function dataNames(n: ModelNode, index: ModelIndex, which: 'in' | 'out'): string[] {
  const ids = which === 'in' ? [...n.inputs, ...n.ioInputs] : [...n.outputs, ...n.ioOutputs];
  return [...new Set(ids.map((id) => index.data.get(id)?.name ?? id))];
}

interface LaneInfo {
  id: string;
  name: string;
  kind: 'human' | 'ai' | 'system';
}

function laneKinds(model: ProcessModel, index: ModelIndex, processId: string): Map<string, LaneInfo> {
  const out = new Map<string, LaneInfo>();
  const counts = new Map<string, { automated: number; other: number }>();
  for (const n of model.nodes) {
    if (n.processId !== processId || !n.lane || !isScoredTask(n)) continue;
    const c = counts.get(n.lane) ?? { automated: 0, other: 0 };
    if ((TYPE_WEIGHTS[n.type] ?? 0) === 2) c.automated++;
    else c.other++;
    counts.set(n.lane, c);
  }
  for (const l of model.lanes) {
    if (l.processId !== processId || l.childLanes.length > 0) continue;
    const name = laneLabel(model, index, l.id);
    const c = counts.get(l.id);
    out.set(l.id, { id: l.id, name, kind: roleKindOfName(name) ?? (c && c.automated > 0 && c.other === 0 ? 'system' : 'human') });
  }
  return out;
}

/** Builds the blueprint flow of a model from its analysis. */
export function planBlueprint(model: ProcessModel, analysis: Pick<CoexistenceAnalysis, 'tasks'>, options: BlueprintOptions = {}): BlueprintPlan {
  const escalateBelow = options.escalateBelow ?? DEFAULT_ESCALATE_BELOW;
  const slaHours = options.humanSlaHours ?? DEFAULT_HUMAN_SLA_HOURS;
  const index = indexModel(model);
  const classOf = new Map(analysis.tasks.map((t) => [t.bpmnRef, t.classification] as const));
  const used = new Set<string>(model.nodes.map((n) => n.id));
  for (const f of model.sequenceFlows) used.add(f.id);
  for (const l of model.lanes) used.add(l.id);
  for (const p of model.pools) used.add(p.id);
  for (const p of model.processes) used.add(p.id);
  for (const m of model.messageFlows) used.add(m.id);
  const mint = (base: string): string => {
    const clean = base.replace(/[^\p{L}\p{N}_.-]+/gu, '_');
    let id = /^[\p{L}_]/u.test(clean) ? clean : `_${clean}`;
    for (let i = 2; used.has(id); i++) id = `${clean}_${i}`;
    used.add(id);
    return id;
  };

  const handoffs: BlueprintPlan['handoffs'] = [];
  const decisionPoints: BlueprintPlan['decisionPoints'] = [];
  const escalations: BlueprintPlan['escalations'] = [];
  const exceptional = new Set<string>();
  const pools: PoolSpec[] = [];
  const nodePool = new Map<string, string>();
  const aiLanes = new Set<string>();

  const processes = model.pools.filter((p) => p.processRef && index.process.has(p.processRef)).map((p) => ({ poolId: p.id, poolName: p.name, processId: p.processRef as string }));
  for (const p of model.processes) {
    if (!processes.some((x) => x.processId === p.id)) processes.push({ poolId: mint(`Participant_${p.id}`), poolName: p.name, processId: p.id });
  }

  for (const { poolId, poolName, processId } of processes) {
    const process = index.process.get(processId);
    const kinds = laneKinds(model, index, processId);
    const laneOrder = model.lanes.filter((l) => kinds.has(l.id));
    let humanDefault = laneOrder.find((l) => kinds.get(l.id)?.kind === 'human')?.id;
    const extraLanes: { id: string; name: string }[] = [];
    const aiLane = mint(`Lane_AI_${processId}`);
    const humanLane = (): string => {
      if (humanDefault) return humanDefault;
      humanDefault = mint(`Lane_Human_${processId}`);
      extraLanes.push({ id: humanDefault, name: poolName ?? process?.name ?? 'Human' });
      return humanDefault;
    };
    const laneName = (id: string) => kinds.get(id)?.name ?? extraLanes.find((l) => l.id === id)?.name ?? (id === aiLane ? 'AI' : id);
    const humanLaneOf = (n: ModelNode, inherited?: string): string => {
      const l = inherited ?? n.lane;
      if (l && kinds.get(l)?.kind === 'human') return l;
      if (l && extraLanes.some((x) => x.id === l)) return l;
      return humanLane();
    };
    const plainLaneOf = (n: ModelNode): string => {
      if (n.lane && kinds.get(n.lane)?.kind === 'human') return n.lane;
      if (n.lane && kinds.has(n.lane)) return aiLane;
      return humanLane();
    };

    const build = (containerId: string, nested: boolean): { nodes: FlowNodeSpec[]; flows: SequenceFlowSpec[] } => {
      const nodes = containerNodes(model, index, containerId);
      const out: FlowNodeSpec[] = [];
      const flows: SequenceFlowSpec[] = [];
      const escalationResume: { review: string; task: string }[] = [];
      const entry = new Map<string, string>();
      const exit = new Map<string, string>();
      const laneOfSpec = new Map<string, string | undefined>();
      const add = (spec: FlowNodeSpec) => {
        if (nested) delete spec.lane;
        out.push(spec);
        laneOfSpec.set(spec.id, spec.lane);
        nodePool.set(spec.id, poolId);
        return spec;
      };
      const flow = (from: string, to: string, extra: Partial<SequenceFlowSpec> = {}) => {
        flows.push({ id: mint(`Flow_${from}_${to}`), from, to, ...extra });
      };
      for (const n of nodes) {
        const doc = [n.documentation, ...dataNames(n, index, 'in').map((d) => `Input: ${d}`), ...dataNames(n, index, 'out').map((d) => `Output: ${d}`)]
          .filter(Boolean)
          .join('\n');
        const withDoc = (s: FlowNodeSpec): FlowNodeSpec => (doc ? { ...s, documentation: doc } : s);
        const cls = isScoredTask(n) ? classOf.get(n.id) : undefined;
        const name = n.name ?? n.id;
        if (cls === 'ai') {
          const human = humanLaneOf(n);
          add(withDoc({ id: n.id, type: AUTOMATED_SPEC.has(n.type) ? specType(n) : 'serviceTask', name, lane: aiLane }));
          const err = add({ id: mint(`${n.id}_error`), type: 'boundaryEvent', event: 'error', name: 'Error', attachedTo: n.id, cancelActivity: true, lane: aiLane });
          const low = add({
            id: mint(`${n.id}_low_confidence`),
            type: 'boundaryEvent',
            event: 'conditional',
            name: `Confidence below ${escalateBelow}`,
            attachedTo: n.id,
            cancelActivity: true,
            lane: aiLane,
          });
          const join = add({ id: mint(`${n.id}_escalate`), type: 'exclusiveGateway', name: 'Escalate', lane: human });
          const review = add({ id: mint(`${n.id}_review`), type: 'userTask', name: `Review: ${name}`, lane: human, documentation: `A human takes over when "${name}" fails or its confidence is below ${escalateBelow}.` });
          exceptional.add(join.id).add(review.id).add(err.id).add(low.id);
          flow(err.id, join.id);
          flow(low.id, join.id);
          flow(join.id, review.id);
          entry.set(n.id, n.id);
          exit.set(n.id, n.id);
          // The review resumes where the task led: wired after the original flows (below).
          escalationResume.push({ review: review.id, task: n.id });
          escalations.push({ fromTask: n.id, when: `confidence < ${escalateBelow}`, toRole: laneName(human) });
          escalations.push({ fromTask: n.id, when: 'error', toRole: laneName(human) });
        } else if (cls === 'hybrid') {
          const human = humanLaneOf(n);
          const prep = add({ id: mint(`${n.id}_prepare`), type: 'serviceTask', name: `AI prepares: ${name}`, lane: aiLane, documentation: `AI drafts the result of "${name}" for a human to confirm.` });
          const err = add({ id: mint(`${prep.id}_error`), type: 'boundaryEvent', event: 'error', name: 'Error', attachedTo: prep.id, cancelActivity: true, lane: aiLane });
          const join = add({ id: mint(`${n.id}_handoff`), type: 'exclusiveGateway', name: 'Hand-off', lane: human });
          const confirm = add(withDoc({ id: n.id, type: n.type === 'manualTask' ? 'manualTask' : 'userTask', name: `Human confirms: ${name}`, lane: human }));
          slaPath(confirm, human);
          flow(prep.id, join.id);
          flow(err.id, join.id);
          flow(join.id, confirm.id);
          exceptional.add(err.id);
          entry.set(n.id, prep.id);
          exit.set(n.id, n.id);
          const payload = dataNames(n, index, 'out');
          handoffs.push({ from: prep.id, to: n.id, direction: 'ai-to-human', payload: payload.length > 0 ? payload.map((p) => `draft ${p}`) : [`draft result of ${name}`] });
          escalations.push({ fromTask: prep.id, when: 'error', toRole: laneName(human) });
        } else if (cls === 'human') {
          const human = humanLaneOf(n);
          const spec = add(withDoc({ id: n.id, type: n.type === 'manualTask' ? 'manualTask' : n.category === 'callActivity' ? 'callActivity' : 'userTask', name, lane: human }));
          slaPath(spec, human);
          entry.set(n.id, n.id);
          exit.set(n.id, n.id);
        } else {
          const spec: FlowNodeSpec = withDoc({ id: n.id, type: specType(n), name: defaultName(n) });
          const lane = n.attachedTo !== undefined ? undefined : plainLaneOf(n);
          if (lane) spec.lane = lane;
          const def = n.eventDefinitions.find((d) => SPEC_EVENTS.has(d.kind));
          if (def) spec.event = def.kind as NonNullable<FlowNodeSpec['event']>;
          if (def?.kind === 'timer' && def.timer === 'duration' && def.expression) spec.timerDuration = def.expression;
          if (n.attachedTo !== undefined) {
            spec.attachedTo = n.attachedTo;
            spec.cancelActivity = n.cancelActivity ?? true;
          }
          if (n.category === 'subProcess') spec.children = build(n.id, true);
          entry.set(n.id, n.id);
          exit.set(n.id, n.id);
          add(spec);
        }
      }
      // Boundary events sit in their host's lane.
      for (const s of out) if (s.type === 'boundaryEvent' && s.attachedTo !== undefined && !nested) s.lane = laneOfSpec.get(s.attachedTo) ?? s.lane;

      for (const f of model.sequenceFlows) {
        if (f.container !== containerId) continue;
        const from = exit.get(f.from);
        const to = entry.get(f.to);
        if (!from || !to) continue;
        const keep: Partial<SequenceFlowSpec> = {};
        if (f.name) keep.name = f.name;
        if (f.condition) keep.condition = f.condition;
        if (f.isDefault) keep.isDefault = true;
        flows.push({ id: f.id, from, to, ...keep });
      }
      // Link events are connectors: the blueprint draws the jump as a flow.
      for (const t of nodes) {
        const link = t.type === 'intermediateThrowEvent' ? t.eventDefinitions.find((d) => d.kind === 'link')?.refName : undefined;
        if (link === undefined) continue;
        for (const c of nodes) {
          if (c.type === 'intermediateCatchEvent' && c.eventDefinitions.some((d) => d.kind === 'link' && d.refName === link)) flow(t.id, c.id);
        }
      }
      for (const r of escalationResume) {
        const targets = flows.filter((f) => f.from === r.task).map((f) => f.to);
        if (targets.length === 0) {
          const end = add({ id: mint(`${r.review}_end`), type: 'endEvent', name: 'Reviewed', lane: laneOfSpec.get(r.review) });
          exceptional.add(end.id);
          flow(r.review, end.id);
        }
        for (const t of [...new Set(targets)]) flow(r.review, t);
      }
      normalise(out, flows, mint, exceptional, laneOfSpec, nested);
      return { nodes: out, flows };

      function slaPath(task: FlowNodeSpec, lane: string): void {
        const timer = add({
          id: mint(`${task.id}_sla`),
          type: 'boundaryEvent',
          event: 'timer',
          timerDuration: `PT${slaHours}H`,
          name: `SLA ${slaHours}h`,
          attachedTo: task.id,
          cancelActivity: false,
          lane,
        });
        const esc = add({ id: mint(`${task.id}_sla_escalate`), type: 'intermediateThrowEvent', event: 'escalation', name: `Escalate to ${ESCALATION_OWNER}`, lane });
        const end = add({ id: mint(`${task.id}_sla_end`), type: 'endEvent', name: 'Escalated', lane });
        exceptional.add(timer.id).add(esc.id).add(end.id);
        flow(timer.id, esc.id);
        flow(esc.id, end.id);
        escalations.push({ fromTask: task.id, when: `SLA ${slaHours}h`, toRole: ESCALATION_OWNER });
      }
    };
    const top = build(processId, false);
    aiLanes.add(aiLane);
    const usedLanes = new Set(top.nodes.map((n) => n.lane).filter((l): l is string => l !== undefined));
    const lanes = [
      ...laneOrder.filter((l) => usedLanes.has(l.id)).map((l: ModelLane) => ({ id: l.id, name: kinds.get(l.id)?.name ?? l.id })),
      ...extraLanes.filter((l) => usedLanes.has(l.id)),
      ...(usedLanes.has(aiLane) ? [{ id: aiLane, name: 'AI' }] : []),
    ];
    pools.push({ id: poolId, name: poolName ?? process?.name ?? processId, processId, lanes, nodes: top.nodes, flows: top.flows });
  }

  // Hand-offs between different lanes on task-to-task transitions (besides hybrid splits).
  for (const pool of pools) {
    const laneOf = new Map(pool.nodes.map((n) => [n.id, n.lane] as const));
    const nameOf = new Map(pool.nodes.map((n) => [n.id, n.name ?? n.id] as const));
    const m = containerMetrics(specContainer(pool.nodes, pool.flows, exceptional, undefined, pool.id));
    for (const [from, to] of m.handoffPairs) {
      if (handoffs.some((h) => h.from === from && h.to === to)) continue;
      const fromAi = aiLanes.has(laneOf.get(from) ?? '');
      const toAi = aiLanes.has(laneOf.get(to) ?? '');
      if (fromAi === toAi) continue;
      const src = model.nodes.find((n) => n.id === from);
      const payload = src ? dataNames(src, index, 'out') : [];
      handoffs.push({ from, to, direction: fromAi ? 'ai-to-human' : 'human-to-ai', payload: payload.length > 0 ? payload : [`result of ${nameOf.get(from)}`] });
    }
  }

  // Decision points: the model's diverging gateways.
  for (const n of model.nodes) {
    if (n.category !== 'gateway' || n.outgoing.length < 2 || n.type === 'parallelGateway') continue;
    const flows = n.outgoing.map((f) => index.flow.get(f)).filter((f): f is ModelSequenceFlow => f !== undefined);
    if (n.type === 'eventBasedGateway') {
      // Nobody decides: whichever event comes first wins, which a system can watch.
      decisionPoints.push({ bpmnRef: n.id, owner: 'ai', criteria: `first event: ${flows.map((f) => index.node.get(f.to)?.name ?? f.to).join(' | ')}` });
      continue;
    }
    const criteria = flows.map((f) => f.condition ?? f.name ?? (f.isDefault ? 'otherwise' : `to ${f.to}`)).join(' | ');
    // A branch without a formal condition is read by a person; formal conditions are rules.
    decisionPoints.push({ bpmnRef: n.id, owner: isJudgementGateway(n, index) ? 'human' : 'ai', criteria });
  }
  for (const t of analysis.tasks) {
    if (t.classification === 'ai') decisionPoints.push({ bpmnRef: t.bpmnRef, owner: 'ai', criteria: `confidence ≥ ${escalateBelow}, else human review` });
  }

  const messageFlows: FlowSpec['messageFlows'] = [];
  const droppedMessageFlows: string[] = [];
  for (const m of model.messageFlows) {
    const fromPool = nodePool.get(m.from) ?? (pools.some((p) => p.id === m.from) ? m.from : undefined);
    const toPool = nodePool.get(m.to) ?? (pools.some((p) => p.id === m.to) ? m.to : undefined);
    if (!fromPool || !toPool || fromPool === toPool) {
      droppedMessageFlows.push(m.id);
      continue;
    }
    messageFlows.push({ id: m.id, from: m.from, to: m.to, ...(m.name ?? m.message ? { name: m.name ?? m.message } : {}) });
  }
  const spec: FlowSpec = {
    id: mint(`Blueprint_${model.definitionsId ?? 'process'}`),
    name: `Coexistence blueprint: ${model.name ?? model.processes[0]?.name ?? model.pools[0]?.name ?? model.definitionsId ?? 'process'}`,
    pools,
    messageFlows,
  };
  return { spec, handoffs, decisionPoints, escalations, exceptional, droppedMessageFlows };
}

const AUTOMATED_SPEC = new Set(['serviceTask', 'scriptTask', 'businessRuleTask']);
const GATEWAYS = new Set(['exclusiveGateway', 'inclusiveGateway', 'parallelGateway', 'eventBasedGateway', 'complexGateway']);

/**
 * Makes a container's flows satisfy bpmnlint's recommended structure rules: a join gateway
 * in front of a non-gateway with several incoming flows, a split gateway after a non-gateway
 * with several outgoing flows (parallel when none is conditional, else exclusive keeping the
 * conditions), a gateway that both joins and forks split in two, start and end events where
 * flows begin or end on an activity.
 */
function normalise(
  nodes: FlowNodeSpec[],
  flows: SequenceFlowSpec[],
  mint: (base: string) => string,
  exceptional: Set<string>,
  laneOf: Map<string, string | undefined>,
  nested: boolean,
): void {
  const byId = new Map(nodes.map((n) => [n.id, n] as const));
  const place = (n: FlowNodeSpec, near: string) => {
    const lane = nested ? undefined : laneOf.get(near);
    if (lane !== undefined) n.lane = lane;
    nodes.push(n);
    byId.set(n.id, n);
    laneOf.set(n.id, n.lane);
    if (exceptional.has(near)) exceptional.add(n.id);
  };
  for (const n of [...nodes]) {
    const isGateway = GATEWAYS.has(n.type);
    const ins = flows.filter((f) => f.to === n.id);
    const outs = flows.filter((f) => f.from === n.id);
    if (n.type === 'boundaryEvent' || n.type === 'startEvent') {
      if (outs.length > 1) split(n, outs);
      continue;
    }
    if (ins.length > 1 && !isGateway) {
      const j: FlowNodeSpec = { id: mint(`${n.id}_join`), type: 'exclusiveGateway', name: 'Merge' };
      place(j, n.id);
      if (ins.every((f) => exceptional.has(f.from))) exceptional.add(j.id);
      for (const f of ins) f.to = j.id;
      flows.push({ id: mint(`Flow_${j.id}`), from: j.id, to: n.id });
    }
    if (isGateway && ins.length > 1 && outs.length > 1) {
      const j: FlowNodeSpec = { id: mint(`${n.id}_join`), type: n.type === 'parallelGateway' ? 'parallelGateway' : 'exclusiveGateway', name: 'Merge' };
      place(j, n.id);
      for (const f of ins) f.to = j.id;
      flows.push({ id: mint(`Flow_${j.id}`), from: j.id, to: n.id });
    }
    if (outs.length > 1 && !isGateway) split(n, outs);
    // A fork of an exclusive or inclusive gateway needs a condition on every non-default
    // flow: a judgement branch keeps its label as the condition a person decides.
    if (outs.length > 1 && (n.type === 'exclusiveGateway' || n.type === 'inclusiveGateway')) {
      for (const f of outs) {
        if (f.condition !== undefined || f.isDefault) continue;
        f.condition = f.name ?? `to ${byId.get(f.to)?.name ?? f.to}`;
        f.name ??= f.condition;
      }
    }
  }

  function split(n: FlowNodeSpec, outs: SequenceFlowSpec[]): void {
    const conditional = outs.some((f) => f.condition !== undefined || f.isDefault);
    const g: FlowNodeSpec = { id: mint(`${n.id}_split`), type: conditional ? 'exclusiveGateway' : 'parallelGateway', name: conditional ? `After ${n.name ?? n.id}: which path?` : `After ${n.name ?? n.id}` };
    place(g, n.id);
    if (n.type === 'boundaryEvent' && laneOf.get(n.id) === undefined && !nested) {
      const host = n.attachedTo ? laneOf.get(n.attachedTo) : undefined;
      if (host !== undefined) g.lane = host;
    }
    for (const f of outs) f.from = g.id;
    if (conditional) {
      const unconditional = outs.filter((f) => f.condition === undefined && !f.isDefault);
      for (const f of unconditional) f.condition = 'true';
      for (const f of outs) if (f.condition !== undefined && !f.name) f.name = f.condition;
    }
    flows.push({ id: mint(`Flow_${n.id}_${g.id}`), from: n.id, to: g.id });
  }
}

// ---------------------------------------------------------------------------------------
// Analysis, recommendations, report

export interface AnalysisOptions extends BlueprintOptions {
  workflowId: string;
  /** Include optimisation recommendations (`optimize_workflow`). */
  recommendations?: boolean;
}

/** Scores every task, measures the potential (before and after the blueprint) and optionally recommends. */
export function analyzeCoexistence(model: ProcessModel, options: AnalysisOptions): CoexistenceAnalysis {
  const index = indexModel(model);
  const tasks = model.nodes.filter(isScoredTask).map((n) => scoreTask(n, model, index));
  const count = (c: Classification) => tasks.filter((t) => t.classification === c).length;
  const ai = count('ai');
  const human = count('human');
  const hybrid = count('hybrid');
  const before = modelMetrics(model, index);
  const plan = planBlueprint(model, { tasks }, options);
  const after = specMetrics(plan.spec, plan.exceptional);
  const analysis: CoexistenceAnalysis = {
    workflowId: options.workflowId,
    tasks,
    potential: {
      ai,
      human,
      hybrid,
      automatableShare: tasks.length === 0 ? 0 : Math.round(((ai + hybrid / 2) / tasks.length) * 10_000) / 10_000,
      handoffs: [before.handoffs, after.handoffs],
      waitPoints: [before.waitPoints, after.waitPoints],
      criticalPathLength: [before.criticalPathLength, after.criticalPathLength],
    },
  };
  if (options.recommendations) analysis.recommendations = recommend(model, index, tasks, before);
  return analysis;
}

function recommend(model: ProcessModel, index: ModelIndex, tasks: TaskAssessment[], before: FlowMetrics): NonNullable<CoexistenceAnalysis['recommendations']> {
  const out: NonNullable<CoexistenceAnalysis['recommendations']> = [];
  const label = (id: string) => {
    const n = index.node.get(id);
    return n?.name ? `"${n.name}"` : id;
  };
  const ai = tasks.filter((t) => t.classification === 'ai');
  if (ai.length > 0) {
    out.push({
      kind: 'automate',
      bpmnRefs: ai.map((t) => t.bpmnRef),
      rationale: `${ai.length} task${ai.length === 1 ? '' : 's'} score${ai.length === 1 ? 's' : ''} ≥ 2 (${ai.map((t) => `${label(t.bpmnRef)}: ${t.reasons.map((r) => r.cue).join(', ')}`).join('; ')}): run them in an AI lane with human review below the confidence threshold.`,
    });
  }
  // Ping-pong between two lanes: the same pair of lanes handing work back and forth.
  const laneOf = (id: string) => {
    const n = index.node.get(id);
    return n ? (n.lane ?? n.processId) : id;
  };
  const byPair = new Map<string, Set<string>>();
  for (const [a, b] of before.handoffPairs) {
    const key = [laneOf(a), laneOf(b)].sort().join(' <> ');
    const set = byPair.get(key) ?? new Set<string>();
    set.add(a).add(b);
    byPair.set(key, set);
  }
  for (const [key, ids] of byPair) {
    const pairs = before.handoffPairs.filter(([a, b]) => [laneOf(a), laneOf(b)].sort().join(' <> ') === key).length;
    if (pairs < 2) continue;
    const names = key.split(' <> ').map((l) => index.lane.get(l)?.name ?? index.pool.get(l)?.name ?? l);
    out.push({
      kind: 'merge-handoffs',
      bpmnRefs: [...ids],
      rationale: `Work passes ${pairs} times between ${names.join(' and ')}: give these steps to one role, or hand over once with everything needed.`,
    });
  }
  // Sequential tasks with declared data where the second reads nothing the first writes.
  for (const n of model.nodes) {
    if (!isScoredTask(n) || n.outgoing.length !== 1) continue;
    const next = index.node.get(index.flow.get(n.outgoing[0] as string)?.to ?? '');
    if (!next || !isScoredTask(next) || next.incoming.length !== 1) continue;
    const writes = new Set([...n.outputs, ...n.ioOutputs]);
    const reads = [...next.inputs, ...next.ioInputs];
    if (writes.size === 0 || reads.length === 0) continue;
    if (reads.some((r) => writes.has(r) || [...writes].some((w) => index.data.get(w)?.refersTo !== undefined && index.data.get(w)?.refersTo === index.data.get(r)?.refersTo))) continue;
    out.push({
      kind: 'parallelise',
      bpmnRefs: [n.id, next.id],
      rationale: `${label(next.id)} reads nothing ${label(n.id)} writes: they can run in parallel and shorten the critical path.`,
    });
  }
  // Waits for a person where the task could be automated; fixed timer waits.
  const waits = tasks.filter((t) => t.classification !== 'human' && ['userTask', 'manualTask'].includes(index.node.get(t.bpmnRef)?.type ?? ''));
  if (waits.length > 0) {
    out.push({
      kind: 'remove-wait',
      bpmnRefs: waits.map((t) => t.bpmnRef),
      rationale: `${waits.length} task${waits.length === 1 ? '' : 's'} wait for a person but ${waits.length === 1 ? 'is' : 'are'} classified ${[...new Set(waits.map((t) => t.classification))].join('/')}: let AI do or prepare the work so nobody waits for an inbox.`,
    });
  }
  const timers = model.nodes.filter((n) => n.type === 'intermediateCatchEvent' && n.eventDefinitions.some((d) => d.kind === 'timer'));
  if (timers.length > 0) {
    out.push({
      kind: 'remove-wait',
      bpmnRefs: timers.map((n) => n.id),
      rationale: `Fixed timer waits (${timers.map((n) => `${label(n.id)}${n.eventDefinitions[0]?.expression ? ` ${n.eventDefinitions[0].expression}` : ''}`).join(', ')}): wait for the event that ends them instead where one exists.`,
    });
  }
  const humanNoSla = tasks.filter((t) => {
    const n = index.node.get(t.bpmnRef);
    if (!n || t.classification === 'ai') return false;
    return !n.boundaryEvents.some((b) => index.node.get(b)?.eventDefinitions.some((d) => d.kind === 'timer'));
  });
  if (humanNoSla.length > 0) {
    out.push({
      kind: 'add-escalation',
      bpmnRefs: humanNoSla.map((t) => t.bpmnRef),
      rationale: `${humanNoSla.length} human or hybrid task${humanNoSla.length === 1 ? ' has' : 's have'} no deadline: add an SLA timer that escalates to the process owner.`,
    });
  }
  const aiNoError = ai.filter((t) => !index.node.get(t.bpmnRef)?.boundaryEvents.some((b) => index.node.get(b)?.eventDefinitions.some((d) => d.kind === 'error')));
  if (aiNoError.length > 0) {
    out.push({
      kind: 'add-escalation',
      bpmnRefs: aiNoError.map((t) => t.bpmnRef),
      rationale: `${aiNoError.length} automatable task${aiNoError.length === 1 ? ' has' : 's have'} no error path: escalate failures and low-confidence results to a human.`,
    });
  }
  return out;
}

/** The blueprint report (Markdown): classification, potential, hand-offs, decisions, escalations. */
export function blueprintReport(model: ProcessModel, analysis: CoexistenceAnalysis, plan: BlueprintPlan): string {
  const index = indexModel(model);
  const name = (id: string) => index.node.get(id)?.name ?? plan.spec.pools.flatMap((p) => p.nodes).find((n) => n.id === id)?.name ?? id;
  const p = analysis.potential;
  const lines: string[] = [];
  lines.push(`# ${plan.spec.name}`, '');
  lines.push('## Potential', '');
  lines.push('| measure | before | after |', '| --- | --- | --- |');
  lines.push(`| hand-offs | ${p.handoffs[0]} | ${p.handoffs[1]} |`);
  lines.push(`| wait points | ${p.waitPoints[0]} | ${p.waitPoints[1]} |`);
  lines.push(`| critical path (flow nodes) | ${p.criticalPathLength[0]} | ${p.criticalPathLength[1]} |`);
  lines.push('', `Tasks: ${analysis.tasks.length} (AI ${p.ai}, hybrid ${p.hybrid}, human ${p.human}); automatable share ${(p.automatableShare * 100).toFixed(1)}%.`, '');
  lines.push('## Tasks', '', '| task | class | score | reasons |', '| --- | --- | --- | --- |');
  for (const t of analysis.tasks) {
    lines.push(`| ${name(t.bpmnRef).replace(/\|/g, '\\|')} (\`${t.bpmnRef}\`) | ${t.classification} | ${t.score} | ${t.reasons.map((r) => `${r.cue} (${r.weight > 0 ? '+' : ''}${r.weight})`).join('; ').replace(/\|/g, '\\|') || '—'} |`);
  }
  lines.push('', '## Hand-offs', '');
  for (const h of plan.handoffs) lines.push(`- ${name(h.from)} → ${name(h.to)} (${h.direction}): ${h.payload.join(', ')}`);
  if (plan.handoffs.length === 0) lines.push('- none');
  lines.push('', '## Decision points', '');
  for (const d of plan.decisionPoints) lines.push(`- ${name(d.bpmnRef)} (\`${d.bpmnRef}\`), ${d.owner}: ${d.criteria}`);
  if (plan.decisionPoints.length === 0) lines.push('- none');
  lines.push('', '## Escalations', '');
  for (const e of plan.escalations) lines.push(`- ${name(e.fromTask)}: when ${e.when} → ${e.toRole}`);
  if (plan.escalations.length === 0) lines.push('- none');
  if (analysis.recommendations && analysis.recommendations.length > 0) {
    lines.push('', '## Recommendations', '');
    for (const r of analysis.recommendations) lines.push(`- **${r.kind}** (${r.bpmnRefs.map((b) => `\`${b}\``).join(', ')}): ${r.rationale}`);
  }
  if (plan.droppedMessageFlows.length > 0) {
    lines.push('', `Message flows to pools without a process are not drawn in the blueprint: ${plan.droppedMessageFlows.join(', ')}.`);
  }
  return `${lines.join('\n')}\n`;
}
