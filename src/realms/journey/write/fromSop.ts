/**
 * @module realms/journey/write/fromSop
 * {@link sopToFlowSpec}: a structured SOP becomes a {@link FlowSpec} the writer can draw.
 * Pure and deterministic. How the SOP is read, rule by rule:
 * - **Element types.** A step with `substeps` is an expanded `subProcess` holding them (with
 *   its own start and end events; an empty one gets a start and an end). Otherwise the
 *   step's `bpmnType` is kept when it is a type the writer draws (an SOP generated from BPMN
 *   says which task, event or gateway each step was; transactions and ad-hoc sub-processes
 *   become sub-processes); otherwise a step whose title is its decision question is an
 *   exclusive gateway; otherwise the actor's kind decides: `ai` and `system` give a
 *   `serviceTask`, `human` a `userTask`, no known role a plain `task`. Event steps get the
 *   event definition their wording names (message, timer with an ISO duration, error, …).
 * - **Ids.** A step keeps its `bpmnRef` as element id when that is an XML name not taken by
 *   an earlier step, so BPMN → SOP → BPMN keeps every task, gateway and event id; otherwise
 *   it gets `Step_<n>`. Exceptions keep theirs the same way.
 * - **Flow.** A step continues with its `next` steps when given, else with the following
 *   step, else the (sub-)process ends. Several `next` steps run in parallel (a parallel split
 *   after the step). A step number outside the step's own (sub-)process ends it there; one
 *   naming a step nested in a sibling sub-process enters that sub-process.
 * - **Decisions.** A decision step that is not itself a gateway is followed by an exclusive
 *   gateway named with the question. Each branch is a flow named with its condition (also
 *   its condition expression) to the step its `goTo` names (`"5, 6"`: to both, in parallel;
 *   `end` or no step: an end event). A condition reading "otherwise"/"else"/"default" (or
 *   empty) is the default flow. Event-based and parallel gateways take plain flows. A split
 *   left with a single way out gets an "Otherwise" default flow to what follows the step.
 *   A `goTo` to an earlier step makes a loop.
 * - **`parallelGroup`.** Explicit routing (`next`, decisions) is followed as given. A run of
 *   consecutive steps of one group with no routing at all (as the text reader writes
 *   `In parallel:` steps) becomes parallel branches between the step before the run (or the
 *   start) and the step after it.
 * - **Joins.** Where several flows meet, flows from steps of one parallel group the target
 *   is not part of meet at a parallel join; the branches of an inclusive split meet at an
 *   inclusive join where they first come together; any other meeting is an exclusive join; no
 *   gateway both joins and splits. So the result passes bpmnlint's recommended rules (no
 *   fake joins, implicit splits or ends, unlabelled forks). A decision inside a parallel
 *   branch whose branches reach that branch's parallel join directly is a limit of this
 *   reading (their flows would meet at the parallel join).
 * - **Event sub-processes.** A sub-process step titled `When: <trigger>` (as an SOP generated
 *   from BPMN names one) is an event sub-process: no flow enters or leaves it, and its start
 *   event carries the trigger's event definition (a message when the wording names none).
 * - **Exceptions → boundary events** on the step's activity, typed from the trigger's
 *   wording (timer, message, escalation, signal, conditional, else error); interrupting unless
 *   the trigger says "non-interrupting". A handling "Go to step N" (or "steps N, M") leads
 *   there; "End …" or a note ends the path; any other handling becomes a task of that name
 *   followed by an end event (or by step N when the text says "go to / return to step N").
 * - **Roles → lanes.** Each pool has a lane per role of its steps (nested steps are drawn
 *   inside their sub-process, which sits in its own step's lane); a pool whose steps all
 *   share one role is named after it and drawn without lanes.
 * - **Pools.** Parts of the procedure no flow joins together (an SOP generated from a
 *   collaboration lists each participant's steps one after the other) become pools of their
 *   own, each with a start event. Hand-offs written as `Message "x" to … (step N)` in a
 *   step's outputs become message flows between pools.
 * - **Starts.** A (sub-)process starts at its first step; steps that nothing leads to start
 *   with it too, in parallel, as BPMN starts elements without incoming flows.
 */
import { FLOW_NODE_TYPES, type FlowNodeSpec, type FlowNodeType, type FlowSpec, type PoolSpec, type SequenceFlowSpec, type Sop, type SopRole, type SopStep } from '../types.js';

const NCNAME = /^[\p{L}_][\p{L}\p{N}_.-]*$/u;

/** Creates ids: reserved ones first (kept as given), then minted ones that avoid them. */
interface IdRegistry {
  /** Claims `id` as is; false when it is no XML name or already taken. */
  reserve(id: string): boolean;
  /** A new id from `base` (made an XML name), suffixed `_2`, `_3`… when taken. */
  mint(base: string): string;
}

function idRegistry(): IdRegistry {
  const taken = new Set<string>();
  return {
    reserve(id) {
      if (!NCNAME.test(id) || taken.has(id)) return false;
      taken.add(id);
      return true;
    },
    mint(base) {
      const clean = sanitize(base);
      let id = clean;
      for (let i = 2; taken.has(id); i++) id = `${clean}_${i}`;
      taken.add(id);
      return id;
    },
  };
}

function sanitize(s: string): string {
  const body = s.replace(/[^\p{L}\p{N}_.-]+/gu, '_').replace(/^_+|_+$/g, '').slice(0, 120);
  const out = body.length === 0 ? 'Id' : body;
  return /^[\p{L}_]/u.test(out) ? out : `_${out}`;
}

function normalizeText(s: string): string {
  return s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

/** A step that is only a decision point (its title is its question): drawn as a gateway. */
export function isDecisionOnly(step: SopStep): boolean {
  return step.decision !== undefined && normalizeText(step.title) === normalizeText(step.decision.question);
}

/**
 * A step that stands for an event sub-process: a sub-process titled with its trigger
 * (`When: Message "Cancel" arrives`, as an SOP generated from BPMN writes it).
 */
export function isEventSubProcess(step: SopStep): boolean {
  if (!/^When:\s/.test(step.title)) return false;
  return step.bpmnType === 'subProcess' || (step.bpmnType === undefined && (step.substeps?.length ?? 0) > 0);
}

/** The step numbers a `goTo` or `next` entry names: `'5'`, `'step 5'`, `'5, 6'` → `['5', '6']`. */
export function stepNumbersOf(goTo: string): string[] {
  return [...goTo.matchAll(/(\d+(?:\.\d+)*)/g)].map((m) => m[1] as string);
}

const DEFAULT_CONDITION = /^(otherwise|else|default|in all other cases|if not)\b/i;

/** Step types kept from `bpmnType`. */
const STEP_TYPES: ReadonlySet<string> = new Set<FlowNodeType>(FLOW_NODE_TYPES.filter((t) => t !== 'startEvent' && t !== 'boundaryEvent'));

const isGatewayType = (t: FlowNodeType): boolean => t.endsWith('Gateway');
const isEventType = (t: FlowNodeType): boolean => t.endsWith('Event');

interface EventKind {
  event?: NonNullable<FlowNodeSpec['event']>;
  timerDuration?: string;
}

const UNIT: Record<string, string> = { second: 'S', minute: 'M', hour: 'H', day: 'D', week: 'W', month: 'M', year: 'Y' };

/** The event definition a text names (an SOP's trigger or an event step's wording), if any. */
export function eventKindOf(text: string): EventKind {
  const t = text.toLowerCase();
  const iso = /\b(P(?:\d+[YMWD])*(?:T(?:\d+(?:\.\d+)?[HMS])+)?)\b/.exec(text);
  const isoDuration = iso && iso[1] !== 'P' ? iso[1] : undefined;
  const spelled = /(\d+)\s*(second|minute|hour|day|week|month|year)s?\b/.exec(t);
  if (isoDuration || spelled || /\b(timer|deadline|elapses|timeout|time-out|times out|overdue|sla|within)\b/.test(t)) {
    let timerDuration = isoDuration;
    if (timerDuration === undefined && spelled) {
      const n = spelled[1] as string;
      const unit = spelled[2] as string;
      timerDuration = ['second', 'minute', 'hour'].includes(unit) ? `PT${n}${UNIT[unit]}` : `P${n}${UNIT[unit]}`;
    }
    return timerDuration === undefined ? { event: 'timer' } : { event: 'timer', timerDuration };
  }
  if (/\bmessage|\be-?mail|\bletter\b|\bnotification/.test(t)) return { event: 'message' };
  if (/escalat/.test(t)) return { event: 'escalation' };
  if (/\bsignal/.test(t)) return { event: 'signal' };
  if (/\bcondition/.test(t)) return { event: 'conditional' };
  if (/\berror|\bfail|\bexception/.test(t)) return { event: 'error' };
  return {};
}

/** Where a flow goes: a node id, or the end of the (sub-)process (a new end event). */
type Target = string | typeof END;
const END = Symbol('end');

interface Ctx {
  ids: IdRegistry;
  stepIds: Map<SopStep, string>;
  /** Exceptions whose `bpmnRef` was free, kept as their boundary event's id. */
  exceptionIds: Map<SopStep['exceptions'][number], string>;
  kindOf(actor: string): SopRole['kind'] | undefined;
}

type FlowExtra = { condition?: string; isDefault?: boolean; name?: string };

/** The nodes and flows of one process or sub-process under construction. */
interface Box {
  readonly nodes: FlowNodeSpec[];
  readonly flows: SequenceFlowSpec[];
  /** Node id → the parallel group of the step it belongs to. */
  readonly group: Map<string, string>;
  /** Node id → role (actor) of the step it belongs to. */
  readonly actor: Map<string, string>;
  add(n: FlowNodeSpec, owner?: SopStep): FlowNodeSpec;
  /** A sequence flow, unless one with the same ends, condition and default mark exists. */
  flow(from: string, to: string, extra?: FlowExtra): void;
  /** A new end event, for a path of `owner`'s step that ends. */
  end(owner?: SopStep): string;
  /** Flows from `from` to `targets`; several targets run in parallel behind a split. */
  connect(from: string, targets: readonly Target[], owner: SopStep | undefined, first?: FlowExtra): void;
}

function createBox(ctx: Ctx, endName: string, idBase: string): Box {
  const drawn = new Set<string>();
  const box: Box = {
    nodes: [],
    flows: [],
    group: new Map(),
    actor: new Map(),
    add(n, owner) {
      box.nodes.push(n);
      if (owner?.parallelGroup !== undefined) box.group.set(n.id, owner.parallelGroup);
      if (owner) box.actor.set(n.id, owner.actor);
      return n;
    },
    flow(from, to, extra = {}) {
      const key = `${from}\u0000${to}\u0000${extra.condition ?? ''}\u0000${extra.isDefault ? 1 : 0}`;
      if (drawn.has(key)) return;
      drawn.add(key);
      const f: SequenceFlowSpec = { id: ctx.ids.mint(`Flow_${from}_${to}`), from, to };
      if (extra.name !== undefined) f.name = extra.name;
      if (extra.condition !== undefined) f.condition = extra.condition;
      if (extra.isDefault) f.isDefault = true;
      box.flows.push(f);
    },
    end(owner) {
      return box.add({ id: ctx.ids.mint(`${idBase}_end`), type: 'endEvent', name: endName }, owner).id;
    },
    connect(from, targets, owner, first = {}) {
      const unique = [...new Set(targets)];
      if (unique.length <= 1) {
        const t = unique[0] ?? END;
        box.flow(from, t === END ? box.end(owner) : t, first);
        return;
      }
      const split = box.add({ id: ctx.ids.mint(`${from}_split`), type: 'parallelGateway' }, owner);
      box.flow(from, split.id, first);
      for (const t of unique) box.flow(split.id, t === END ? box.end(owner) : t);
    },
  };
  return box;
}

function documentationOf(step: SopStep): string | undefined {
  const parts: string[] = [];
  if (step.description) parts.push(step.description);
  if (step.inputs.length > 0) parts.push(`Inputs: ${step.inputs.join('; ')}.`);
  if (step.outputs.length > 0) parts.push(`Outputs: ${step.outputs.join('; ')}.`);
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}

function nodeTypeOf(ctx: Ctx, step: SopStep): FlowNodeType {
  if (step.substeps && step.substeps.length > 0) return 'subProcess';
  const t = step.bpmnType;
  if (t === 'transaction' || t === 'adHocSubProcess') return 'subProcess';
  if (t !== undefined && STEP_TYPES.has(t)) return t as FlowNodeType;
  if (step.decision && isDecisionOnly(step)) return 'exclusiveGateway';
  const kind = ctx.kindOf(step.actor);
  if (kind === 'ai' || kind === 'system') return 'serviceTask';
  if (kind === 'human') return 'userTask';
  return 'task';
}

/**
 * Consecutive steps of one parallel group with no routing of their own (and no `next` on
 * the step before them): they become parallel branches behind a split that takes the place
 * of the run's first step, and each continues with the step after the run.
 */
function implicitParallelRuns(steps: readonly SopStep[]): { members: SopStep[]; after: string }[] {
  const runs: { members: SopStep[]; after: string }[] = [];
  for (let a = 0; a < steps.length; ) {
    const g = steps[a]?.parallelGroup;
    let b = a;
    while (g !== undefined && b + 1 < steps.length && steps[b + 1]?.parallelGroup === g) b++;
    const members = steps.slice(a, b + 1);
    const routed = members.some((s) => s.next !== undefined || s.decision !== undefined) || steps[a - 1]?.next !== undefined;
    if (g !== undefined && members.length > 1 && !routed) runs.push({ members, after: steps[b + 1]?.number ?? 'end' });
    a = b + 1;
  }
  return runs;
}

interface Built {
  box: Box;
  /** Step node of each step of this container, in order. */
  stepNodes: string[];
  /** Node ids that must be entered from a start event. */
  entries: string[];
  /** Message hand-offs found in outputs: from node id, to step number, message label. */
  handoffs: { from: string; to: string; name?: string }[];
  /** Event sub-processes: in the container, but neither entered nor left by flows. */
  eventSubProcesses: string[];
}

/**
 * Builds one container's nodes and flows, without its start event: the caller decides where
 * its entries go (one start per pool at the top level, one per sub-process inside).
 */
function buildContainer(ctx: Ctx, steps: readonly SopStep[], idBase: string, endName: string): Built {
  const box = createBox(ctx, endName, idBase);
  const stepNodes: string[] = [];
  const handoffs: Built['handoffs'] = [];
  const byNumber = new Map<string, string>();
  const runs = implicitParallelRuns(steps);
  const runAfter = new Map<SopStep, string>();
  for (const r of runs) for (const m of r.members) runAfter.set(m, r.after);

  // Nodes first, so that every number resolves before any flow is drawn.
  const outlets = new Map<SopStep, { node: FlowNodeSpec; type: FlowNodeType }>();
  for (const step of steps) {
    const id = ctx.stepIds.get(step) as string;
    const type = nodeTypeOf(ctx, step);
    const n: FlowNodeSpec = { id, type };
    const name = type === 'exclusiveGateway' || type === 'inclusiveGateway' || type === 'complexGateway' ? (step.decision?.question ?? step.title) : step.title;
    if (name) n.name = name;
    const doc = documentationOf(step);
    if (doc !== undefined) n.documentation = doc;
    if (isEventType(type)) {
      const kind = eventKindOf(`${step.title} ${step.description ?? ''}`);
      if (kind.event !== undefined) n.event = kind.event;
      if (kind.timerDuration !== undefined) n.timerDuration = kind.timerDuration;
    }
    if (type === 'subProcess') {
      if (isEventSubProcess(step)) n.triggeredByEvent = true;
      n.children = buildSubProcess(ctx, step, id);
    }
    box.add(n, step);
    outlets.set(step, { node: n, type });
    stepNodes.push(id);
    byNumber.set(step.number, id);
    for (const out of step.outputs) {
      const m = /^Message(?: "(.*)")? to .*\(step (\d+(?:\.\d+)*)\)\s*$/.exec(out);
      if (m?.[2]) handoffs.push({ from: id, to: m[2], ...(m[1] ? { name: m[1] } : {}) });
    }
  }
  // Each implicit parallel run is entered through its split, which stands for its first step.
  for (const r of runs) {
    const first = r.members[0] as SopStep;
    const split = box.add({ id: ctx.ids.mint(`Parallel_${first.number.replace(/\./g, '_')}_split`), type: 'parallelGateway' });
    box.actor.set(split.id, first.actor);
    for (const m of r.members) box.flow(split.id, ctx.stepIds.get(m) as string);
    byNumber.set(first.number, split.id);
  }
  const resolve = (entry: string): Target[] => {
    if (/^\s*end\b/i.test(entry)) return [END];
    const nums = stepNumbersOf(entry);
    if (nums.length === 0) return [END];
    return nums.map((num) => {
      for (let parts = num.split('.'); parts.length > 0; parts = parts.slice(0, -1)) {
        const hit = byNumber.get(parts.join('.'));
        if (hit !== undefined) return hit;
      }
      return END;
    });
  };

  steps.forEach((step, i) => {
    const { node, type } = outlets.get(step) as { node: FlowNodeSpec; type: FlowNodeType };
    // An end event ends its path; an event sub-process is started by its event, not by flows.
    if (type === 'endEvent' || node.triggeredByEvent) return;
    const natural = steps[i + 1]?.number ?? 'end';
    const after = runAfter.get(step);
    const continuation = (): Target[] => (after !== undefined ? [after] : (step.next ?? [natural])).flatMap(resolve);
    const branches = step.decision?.branches ?? [];
    if (branches.length > 0) {
      let gateway = node.id;
      let gatewayType = type;
      if (!isGatewayType(type)) {
        gatewayType = 'exclusiveGateway';
        const gw = box.add({ id: ctx.ids.mint(`${node.id}_decision`), type: 'exclusiveGateway', name: step.decision?.question || `${step.title}?` }, step);
        box.flow(node.id, gw.id);
        gateway = gw.id;
      }
      routeDecision(box, gateway, gatewayType, step, branches.map((b) => ({ condition: b.condition, targets: resolve(b.goTo) })), continuation);
    } else {
      box.connect(node.id, continuation(), step);
    }
    step.exceptions.forEach((ex, k) => exceptionPath(ctx, box, node, step, ex, k, resolve));
  });

  const first = steps.find((s) => !isEventSubProcess(s));
  const entries = first === undefined ? [] : [byNumber.get(first.number) as string];
  const eventSubProcesses = steps.filter(isEventSubProcess).map((s) => ctx.stepIds.get(s) as string);
  return { box, stepNodes: stepNodes.filter((id) => !eventSubProcesses.includes(id)), entries, handoffs, eventSubProcesses };
}

function routeDecision(
  box: Box,
  gateway: string,
  type: FlowNodeType,
  step: SopStep,
  branches: { condition: string; targets: Target[] }[],
  continuation: () => Target[],
): void {
  const plain = type === 'eventBasedGateway' || type === 'parallelGateway';
  let hasDefault = false;
  for (const br of branches) {
    const condition = br.condition.trim();
    if (plain) {
      box.connect(gateway, br.targets, step);
      continue;
    }
    const isDefault: boolean = !hasDefault && (condition.length === 0 || DEFAULT_CONDITION.test(condition));
    hasDefault ||= isDefault;
    const label = condition || 'Otherwise';
    box.connect(gateway, br.targets, step, isDefault ? { name: label, isDefault: true } : { name: label, condition: condition || 'otherwise' });
  }
  // A split needs two ways out; the missing one continues with what follows the step.
  for (let i = 0; i < 2 && box.flows.filter((f) => f.from === gateway).length < 2; i++) {
    if (plain) box.connect(gateway, continuation(), step);
    else if (hasDefault) box.connect(gateway, continuation(), step, { name: 'Otherwise', condition: i === 0 ? 'otherwise' : 'in any other case' });
    else {
      hasDefault = true;
      box.connect(gateway, continuation(), step, { name: 'Otherwise', isDefault: true });
    }
  }
}

function exceptionPath(
  ctx: Ctx,
  box: Box,
  host: FlowNodeSpec,
  step: SopStep,
  ex: SopStep['exceptions'][number],
  k: number,
  resolve: (entry: string) => Target[],
): void {
  if (isGatewayType(host.type) || isEventType(host.type)) return;
  const kind = eventKindOf(ex.trigger);
  const id = ctx.exceptionIds.get(ex) ?? ctx.ids.mint(`${host.id}_exception_${k + 1}`);
  const ev: FlowNodeSpec = {
    id,
    type: 'boundaryEvent',
    name: ex.trigger || 'Exception',
    attachedTo: host.id,
    cancelActivity: !/non-interrupting/i.test(ex.trigger),
    event: kind.event ?? 'error',
  };
  if (kind.timerDuration !== undefined) ev.timerDuration = kind.timerDuration;
  box.add(ev, step);
  const handling = ex.handling.trim();
  const goTo = /^go\s+to\s+steps?\s+(.+?)(?:\s*\(.*\))?\.?$/i.exec(handling);
  if (goTo?.[1]) {
    box.connect(id, resolve(goTo[1]), step);
    return;
  }
  if (handling === '' || /^(end\b|note it\b|stop\b)/i.test(handling)) {
    box.connect(id, [END], step);
    return;
  }
  const task = box.add(
    { id: ctx.ids.mint(`${host.id}_handle_${k + 1}`), type: host.type === 'subProcess' || host.type === 'callActivity' ? 'task' : host.type, name: handling },
    step,
  );
  box.flow(id, task.id);
  const back = /\b(?:go|return|continue|back)\s+(?:back\s+)?(?:to|with)\s+step\s+(\d+(?:\.\d+)*)/i.exec(handling);
  box.connect(task.id, back?.[1] ? resolve(back[1]) : [END], step);
}

/** Start event and entries of a container; several entries start in parallel. */
function startInto(ctx: Ctx, box: Box, entries: readonly string[], idBase: string, name: string, lane: string | undefined, trigger?: EventKind): void {
  const start = box.add({ id: ctx.ids.mint(`${idBase}_start`), type: 'startEvent', name });
  if (trigger?.event !== undefined) start.event = trigger.event;
  if (trigger?.timerDuration !== undefined) start.timerDuration = trigger.timerDuration;
  if (lane !== undefined) start.lane = lane;
  box.connect(start.id, entries.length > 0 ? entries : [END], undefined);
}

/**
 * Where the branches of each inclusive split meet: the node nearest to the split (breadth
 * first) that every branch reaches, with the nodes the split reaches. Such a meeting is an
 * inclusive join (an exclusive one would let every token through).
 */
function inclusiveMeetings(box: Box): Map<string, Set<string>> {
  const succ = new Map<string, string[]>();
  for (const f of box.flows) succ.set(f.from, [...(succ.get(f.from) ?? []), f.to]);
  const reach = (from: string): Set<string> => {
    const seen = new Set<string>([from]);
    const queue = [from];
    for (let i = 0; i < queue.length; i++) {
      for (const t of succ.get(queue[i] as string) ?? []) {
        if (seen.has(t)) continue;
        seen.add(t);
        queue.push(t);
      }
    }
    return seen;
  };
  const out = new Map<string, Set<string>>();
  for (const g of box.nodes) {
    const outs = succ.get(g.id) ?? [];
    if (g.type !== 'inclusiveGateway' || outs.length < 2) continue;
    const branches = outs.map(reach);
    const order = [...reach(g.id)];
    const meet = order.find((id) => id !== g.id && branches.every((b) => b.has(id)));
    if (meet !== undefined) out.set(meet, reach(g.id));
  }
  return out;
}

/**
 * Puts join gateways where flows meet (see the module notes) so that no activity or event
 * has two incoming flows and no gateway both joins and splits.
 */
function separateJoins(ctx: Ctx, box: Box): void {
  const inclusive = inclusiveMeetings(box);
  for (const n of [...box.nodes]) {
    const incoming = box.flows.filter((f) => f.to === n.id);
    if (incoming.length < 2) continue;
    const isGateway = isGatewayType(n.type);
    if (isGateway && box.flows.filter((f) => f.from === n.id).length < 2) continue;
    const target = box.group.get(n.id);
    const joinNode = (type: 'parallelGateway' | 'exclusiveGateway' | 'inclusiveGateway', flows: SequenceFlowSpec[]): string => {
      const j: FlowNodeSpec = { id: ctx.ids.mint(`${n.id}_join`), type };
      if (n.lane !== undefined) j.lane = n.lane;
      box.nodes.splice(box.nodes.indexOf(n), 0, j);
      if (target !== undefined) box.group.set(j.id, target);
      for (const f of flows) f.to = j.id;
      box.flow(j.id, n.id);
      return j.id;
    };
    // Branches of an inclusive split that meet here meet at an inclusive join.
    const fromInclusive = inclusive.get(n.id);
    if (fromInclusive) {
      const inner = incoming.filter((f) => fromInclusive.has(f.from));
      if (inner.length >= 2) joinNode('inclusiveGateway', inner);
    }
    // Branches of a parallel group that ends here meet at a parallel join.
    const byGroup = new Map<string, SequenceFlowSpec[]>();
    for (const f of box.flows.filter((x) => x.to === n.id)) {
      const g = box.group.get(f.from);
      if (g === undefined || g === target) continue;
      byGroup.set(g, [...(byGroup.get(g) ?? []), f]);
    }
    const parallelJoins = new Set<string>();
    for (const flows of byGroup.values()) if (flows.length >= 2) parallelJoins.add(joinNode('parallelGateway', flows));
    const rest = box.flows.filter((f) => f.to === n.id);
    if (rest.length < 2) continue;
    // Nested groups ending together are still parallel; anything else is an alternative.
    const allParallel = rest.every((f) => parallelJoins.has(f.from) || (box.group.get(f.from) !== undefined && box.group.get(f.from) !== target));
    joinNode(allParallel && parallelJoins.size > 0 ? 'parallelGateway' : 'exclusiveGateway', rest);
  }
}

function buildSubProcess(ctx: Ctx, step: SopStep, id: string): { nodes: FlowNodeSpec[]; flows: SequenceFlowSpec[] } {
  const built = buildContainer(ctx, step.substeps ?? [], id, 'End');
  // Steps nothing leads to start with the sub-process, as BPMN starts them (see the pools below).
  const hasIncoming = new Set(built.box.flows.map((f) => f.to));
  const entries = [...built.entries, ...built.stepNodes.filter((n) => !hasIncoming.has(n) && !built.entries.includes(n))];
  // An event sub-process starts with its trigger (a typed start event), by default a message.
  const trigger = isEventSubProcess(step) ? eventKindOf(step.title.replace(/^When:\s*/, '')) : undefined;
  startInto(ctx, built.box, entries, id, 'Start', undefined, trigger && { ...trigger, event: trigger.event ?? 'message' });
  separateJoins(ctx, built.box);
  return { nodes: built.box.nodes, flows: built.box.flows };
}

/** All steps, depth first, in document order. */
function allSteps(steps: readonly SopStep[]): SopStep[] {
  return steps.flatMap((s) => [s, ...allSteps(s.substeps ?? [])]);
}

/** Weakly connected parts of a container's flow graph, each as the set of its node ids. */
function components(box: Box, together: readonly (readonly [string, string])[]): Map<string, number> {
  const parent = new Map<string, string>(box.nodes.map((n) => [n.id, n.id]));
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r) as string;
    let y = x;
    while (parent.get(y) !== r) {
      const next = parent.get(y) as string;
      parent.set(y, r);
      y = next;
    }
    return r;
  };
  const union = (a: string, b: string): void => {
    if (!parent.has(a) || !parent.has(b)) return;
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(rb, ra);
  };
  for (const f of box.flows) union(f.from, f.to);
  for (const n of box.nodes) if (n.attachedTo !== undefined) union(n.id, n.attachedTo);
  for (const [a, b] of together) union(a, b);
  const index = new Map<string, number>();
  const out = new Map<string, number>();
  for (const n of box.nodes) {
    const r = find(n.id);
    if (!index.has(r)) index.set(r, index.size);
    out.set(n.id, index.get(r) as number);
  }
  return out;
}

/**
 * Turns an SOP into a {@link FlowSpec}; see the module notes for every mapping rule.
 * Pure and deterministic: the same SOP always gives the same spec.
 */
export function sopToFlowSpec(sop: Sop): FlowSpec {
  const ids = idRegistry();
  const steps = allSteps(sop.steps);
  const stepIds = new Map<SopStep, string>();
  // Reserve every usable bpmnRef before minting anything, so minted ids never take one.
  for (const s of steps) if (ids.reserve(s.bpmnRef)) stepIds.set(s, s.bpmnRef);
  const exceptionIds = new Map<SopStep['exceptions'][number], string>();
  for (const s of steps) for (const ex of s.exceptions) if (ids.reserve(ex.bpmnRef)) exceptionIds.set(ex, ex.bpmnRef);
  const collaborationId = ids.mint('Collaboration');
  for (const s of steps) if (!stepIds.has(s)) stepIds.set(s, ids.mint(`Step_${s.number.replace(/\./g, '_')}`));
  const title = sop.title.trim() || 'Procedure';
  const roles = new Map(sop.roles.map((r) => [r.id, r] as const));
  const roleName = (actor: string): string => roles.get(actor)?.name ?? actor;

  // Lanes are assigned per pool once the pools are known (from each node's actor).
  const ctx: Ctx = { ids, stepIds, exceptionIds, kindOf: (actor) => roles.get(actor)?.kind };
  const main = buildContainer(ctx, sop.steps, 'Process', `${title} completed`);
  const box = main.box;

  // Pools: one per weakly connected part; each part's first step (and its other steps
  // that nothing leads to) is entered from the part's own start event.
  // An event sub-process belongs with the process it interrupts (the part of the first step).
  const firstEntry = main.entries[0];
  const part = components(box, firstEntry === undefined ? [] : main.eventSubProcesses.map((id) => [id, firstEntry] as const));
  const parts: number[] = [];
  for (const id of main.stepNodes) {
    const p = part.get(id) as number;
    if (!parts.includes(p)) parts.push(p);
  }
  for (const n of box.nodes) {
    const p = part.get(n.id) as number;
    if (!parts.includes(p)) parts.push(p);
  }
  const hasIncoming = new Set(box.flows.map((f) => f.to));
  const entriesOf = new Map<number, string[]>();
  for (const id of [...main.entries, ...main.stepNodes]) {
    const p = part.get(id) as number;
    const list = entriesOf.get(p) ?? [];
    const first = list.length === 0;
    if ((first || !hasIncoming.has(id)) && !list.includes(id)) list.push(id);
    entriesOf.set(p, list);
  }

  const pools: PoolSpec[] = [];
  const poolOfNode = new Map<string, string>();
  const used = new Set<string>();
  parts.forEach((p, k) => {
    const partNodes = box.nodes.filter((n) => part.get(n.id) === p);
    const actors: string[] = [];
    for (const n of partNodes) {
      const a = box.actor.get(n.id);
      if (a !== undefined && a !== '' && !actors.includes(a)) actors.push(a);
    }
    const single = actors.length === 1 ? roleName(actors[0] as string) : undefined;
    let name = single ?? (parts.length === 1 ? title : `${title} (${k + 1})`);
    for (let i = 2; used.has(name); i++) name = `${single ?? title} (${i})`;
    used.add(name);
    const poolId = ids.mint(parts.length === 1 ? 'Participant' : `Participant_${k + 1}`);
    const processId = ids.mint(parts.length === 1 ? 'Process' : `Process_${k + 1}`);
    const lanes: PoolSpec['lanes'] = [];
    const laneOfActor = new Map<string, string>();
    if (actors.length > 1) {
      for (const a of actors) {
        const laneId = ids.mint(`Lane_${a}`);
        laneOfActor.set(a, laneId);
        lanes.push({ id: laneId, name: roleName(a) });
      }
    }
    const sub = createBox(ctx, `${title} completed`, processId);
    for (const n of partNodes) {
      const a = box.actor.get(n.id);
      const lane = a !== undefined ? laneOfActor.get(a) : undefined;
      if (lane !== undefined) n.lane = lane;
      else if (lanes.length > 0) n.lane = (lanes[0] as { id: string }).id;
      sub.add(n);
      const g = box.group.get(n.id);
      if (g !== undefined) sub.group.set(n.id, g);
      if (a !== undefined) sub.actor.set(n.id, a);
      poolOfNode.set(n.id, poolId);
    }
    for (const f of box.flows) if (part.get(f.from) === p) sub.flows.push(f);
    const entries = entriesOf.get(p) ?? [];
    startInto(ctx, sub, entries, processId, parts.length === 1 || k === 0 ? `${title} started` : `${name} started`, sub.nodes.find((n) => n.id === entries[0])?.lane);
    for (const n of sub.nodes) if (n.lane === undefined && lanes.length > 0) n.lane = (lanes[0] as { id: string }).id;
    separateJoins(ctx, sub);
    for (const n of sub.nodes) if (!poolOfNode.has(n.id)) poolOfNode.set(n.id, poolId);
    pools.push({ id: poolId, name, processId, lanes, nodes: sub.nodes, flows: sub.flows });
  });

  // Hand-offs between pools become message flows (within a pool they are sequence flows).
  const nodeById = new Map<string, FlowNodeSpec>();
  const index = (ns: readonly FlowNodeSpec[], pool: string): void => {
    for (const n of ns) {
      nodeById.set(n.id, n);
      poolOfNode.set(n.id, pool);
      if (n.children) index(n.children.nodes, pool);
    }
  };
  for (const p of pools) index(p.nodes, p.id);
  const numberToId = new Map(steps.map((s) => [s.number, stepIds.get(s) as string] as const));
  const messageFlows: FlowSpec['messageFlows'] = [];
  const handoffs = [...main.handoffs, ...nestedHandoffs(sop.steps, stepIds)];
  for (const h of handoffs) {
    const to = numberToId.get(h.to);
    if (to === undefined) continue;
    const a = nodeById.get(h.from);
    const b = nodeById.get(to);
    if (!a || !b || isGatewayType(a.type) || isGatewayType(b.type)) continue;
    if (poolOfNode.get(a.id) === poolOfNode.get(b.id)) continue;
    if (messageFlows.some((m) => m.from === a.id && m.to === b.id)) continue;
    messageFlows.push({ id: ids.mint(`Message_${a.id}_${b.id}`), from: a.id, to: b.id, ...(h.name !== undefined ? { name: h.name } : {}) });
  }
  return { id: collaborationId, name: title, pools, messageFlows };
}

/** Hand-offs written in the outputs of nested steps (those of top-level steps are found while building). */
function nestedHandoffs(steps: readonly SopStep[], stepIds: Map<SopStep, string>): { from: string; to: string; name?: string }[] {
  const out: { from: string; to: string; name?: string }[] = [];
  const walk = (ss: readonly SopStep[]): void => {
    for (const s of ss) {
      for (const o of s.outputs) {
        const m = /^Message(?: "(.*)")? to .*\(step (\d+(?:\.\d+)*)\)\s*$/.exec(o);
        if (m?.[2]) out.push({ from: stepIds.get(s) as string, to: m[2], ...(m[1] ? { name: m[1] } : {}) });
      }
      if (s.substeps) walk(s.substeps);
    }
  };
  for (const s of steps) if (s.substeps) walk(s.substeps);
  return out;
}
