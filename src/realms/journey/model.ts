/**
 * @module realms/journey/model
 * {@link ProcessModel}: a neutral, JSON-friendly graph of a BPMN 2.0 document, built once from
 * the bpmn-moddle tree. Everything downstream (the SOP walk, coexistence analysis, the
 * workflow summary, the round trip) reads this model, never the moddle tree.
 *
 * Stability: fields are only ever added. Nodes of sub-processes are flattened into
 * {@link ProcessModel.nodes} with `container` naming the sub-process, so a lookup by id
 * finds every flow node of the document.
 */
import { AppError } from '../../errors.js';
import type { Workflow } from './types.js';
import {
  bool,
  child,
  children,
  documentationOf,
  expressionText,
  instanceOf,
  localType,
  str,
  type ModdleElementLike,
} from './moddle.js';

/** A problem that still leaves a model: listed, never dropped. */
export interface ImportWarning {
  elementId?: string;
  message: string;
}

export type NodeCategory = 'task' | 'subProcess' | 'callActivity' | 'event' | 'gateway' | 'other';

export type EventDefinitionKind =
  | 'message'
  | 'timer'
  | 'error'
  | 'escalation'
  | 'signal'
  | 'conditional'
  | 'link'
  | 'terminate'
  | 'cancel'
  | 'compensate';

export interface ModelEventDefinition {
  kind: EventDefinitionKind;
  /** Id of the event definition element, when it has one. */
  id?: string;
  /** Name of the referenced message, error, escalation or signal, or the link name. */
  refName?: string;
  /** Error or escalation code. */
  code?: string;
  /** Timer expression (`timeDuration`, `timeDate` or `timeCycle`) or condition text. */
  expression?: string;
  timer?: 'duration' | 'date' | 'cycle';
}

export type PerformerKind = 'performer' | 'humanPerformer' | 'potentialOwner' | 'resourceRole';

export interface ModelPerformer {
  kind: PerformerKind;
  id?: string;
  /** The role element's name, or else the referenced resource's name, or else the expression. */
  name?: string;
  resourceRef?: string;
  resourceName?: string;
  expression?: string;
}

export interface ModelNode {
  id: string;
  /** bpmn-moddle type without the `bpmn:` prefix: `userTask`, `exclusiveGateway`, … */
  type: string;
  category: NodeCategory;
  name?: string;
  documentation?: string;
  /** Texts of annotations associated with the node. */
  annotations: string[];
  processId: string;
  /** The process id, or the id of the sub-process that directly contains the node. */
  container: string;
  /** Innermost lane holding the node (a sub-process's nodes inherit its lane). */
  lane?: string;
  /** Sequence flow ids. */
  incoming: string[];
  outgoing: string[];
  /** Events: their definitions (inline and `eventDefinitionRef`); empty for none events. */
  eventDefinitions: ModelEventDefinition[];
  /** Boundary events: the activity they sit on, and whether they interrupt it. */
  attachedTo?: string;
  cancelActivity?: boolean;
  /** Activities: ids of boundary events attached to them. */
  boundaryEvents: string[];
  /** Gateways and activities: the default outgoing flow id. */
  defaultFlow?: string;
  gatewayDirection?: string;
  /** Event-based gateways. */
  eventGatewayType?: string;
  instantiate?: boolean;
  /** Activities with loop characteristics. */
  loop?: 'standard' | 'parallel' | 'sequential';
  isForCompensation?: boolean;
  /** Sub-processes: an event sub-process, a transaction, an ad-hoc sub-process; their direct children. */
  triggeredByEvent?: boolean;
  subProcessKind?: 'embedded' | 'transaction' | 'adHoc' | 'event';
  childNodes?: string[];
  /** Call activities: the called element's id. */
  calledElement?: string;
  /** Compensation boundary events: the activity associated as their handler. */
  compensationHandler?: string;
  /** Ids of data elements read (input associations) and written (output associations). */
  inputs: string[];
  outputs: string[];
  /** Formal data inputs and outputs of the activity's `ioSpecification`. */
  ioInputs: string[];
  ioOutputs: string[];
  performers: ModelPerformer[];
  /** Script tasks: the script format; service/send tasks: the implementation. */
  scriptFormat?: string;
  implementation?: string;
}

export interface ModelSequenceFlow {
  id: string;
  name?: string;
  from: string;
  to: string;
  /** The condition expression, or else nothing (a flow's name is kept in `name`). */
  condition?: string;
  /** This is its source's default flow. */
  isDefault: boolean;
  processId: string;
  container: string;
  documentation?: string;
}

export interface ModelMessageFlow {
  id: string;
  name?: string;
  /** Source and target: a flow node id or a participant id. */
  from: string;
  to: string;
  /** The participants (pools) of source and target, when known. */
  fromPool?: string;
  toPool?: string;
  message?: string;
  documentation?: string;
}

export interface ModelPool {
  /** Participant id. */
  id: string;
  name?: string;
  processRef?: string;
  documentation?: string;
  collaborationId: string;
}

export interface ModelLane {
  id: string;
  name?: string;
  processId: string;
  parentLane?: string;
  childLanes: string[];
  /** Flow node ids the lane references directly (not those of its child lanes). */
  nodeRefs: string[];
  documentation?: string;
}

export interface ModelProcess {
  id: string;
  name?: string;
  documentation?: string;
  isExecutable?: boolean;
  /** Top-level lanes (nested lanes hang off {@link ModelLane.childLanes}). */
  lanes: string[];
  /** Flow nodes directly in the process (not inside sub-processes). */
  nodes: string[];
  performers: ModelPerformer[];
}

export type DataKind = 'dataObject' | 'dataObjectReference' | 'dataStoreReference' | 'dataInput' | 'dataOutput' | 'property';

export interface ModelData {
  id: string;
  kind: DataKind;
  name?: string;
  /** For a reference: the data object or data store it refers to. */
  refersTo?: string;
  /** Id of the item definition and its structure (`itemSubjectRef`). */
  itemSubject?: string;
  structure?: string;
  isCollection?: boolean;
  documentation?: string;
  /** Container id: process, sub-process or activity (io specification). */
  container: string;
}

export interface ProcessModel {
  definitionsId?: string;
  name?: string;
  targetNamespace?: string;
  /** Exporter and version (`exporter`, `exporterVersion`) when declared. */
  exporter?: string;
  documentation?: string;
  pools: ModelPool[];
  processes: ModelProcess[];
  lanes: ModelLane[];
  /** Every flow node of every process, sub-processes included (flattened). */
  nodes: ModelNode[];
  sequenceFlows: ModelSequenceFlow[];
  messageFlows: ModelMessageFlow[];
  data: ModelData[];
}

/** Categories whose nodes are "tasks" in the SOP sense: every task type, sub-processes and call activities. */
export function isTaskLike(node: ModelNode): boolean {
  return node.category === 'task' || node.category === 'subProcess' || node.category === 'callActivity';
}

/** Lookup tables over a model, built once per use. */
export interface ModelIndex {
  readonly node: ReadonlyMap<string, ModelNode>;
  readonly flow: ReadonlyMap<string, ModelSequenceFlow>;
  readonly lane: ReadonlyMap<string, ModelLane>;
  readonly pool: ReadonlyMap<string, ModelPool>;
  readonly process: ReadonlyMap<string, ModelProcess>;
  readonly data: ReadonlyMap<string, ModelData>;
  /** Pool (participant) of a process id. */
  readonly poolOfProcess: ReadonlyMap<string, ModelPool>;
}

export function indexModel(model: ProcessModel): ModelIndex {
  const byId = <T extends { id: string }>(xs: T[]) => new Map(xs.map((x) => [x.id, x] as const));
  const poolOfProcess = new Map<string, ModelPool>();
  for (const p of model.pools) if (p.processRef && !poolOfProcess.has(p.processRef)) poolOfProcess.set(p.processRef, p);
  return {
    node: byId(model.nodes),
    flow: byId(model.sequenceFlows),
    lane: byId(model.lanes),
    pool: byId(model.pools),
    process: byId(model.processes),
    data: byId(model.data),
    poolOfProcess,
  };
}

// ---------------------------------------------------------------------------------------
// Building

// Both depend only on the element's type: asked once per type (moddle's `$instanceOf`
// walks the type hierarchy on every call).
const categoryByType = new Map<string, NodeCategory>();
const flowNodeByType = new Map<string, boolean>();

function categoryOf(e: ModdleElementLike): NodeCategory {
  const known = categoryByType.get(e.$type);
  if (known) return known;
  const c: NodeCategory = instanceOf(e, 'bpmn:SubProcess')
    ? 'subProcess'
    : instanceOf(e, 'bpmn:CallActivity')
      ? 'callActivity'
      : instanceOf(e, 'bpmn:Task')
        ? 'task'
        : instanceOf(e, 'bpmn:Event')
          ? 'event'
          : instanceOf(e, 'bpmn:Gateway')
            ? 'gateway'
            : 'other';
  categoryByType.set(e.$type, c);
  return c;
}

function isFlowNode(e: ModdleElementLike): boolean {
  let known = flowNodeByType.get(e.$type);
  if (known === undefined) {
    known = instanceOf(e, 'bpmn:FlowNode');
    flowNodeByType.set(e.$type, known);
  }
  return known;
}

const EVENT_DEFINITION_KINDS: Record<string, EventDefinitionKind> = {
  'bpmn:MessageEventDefinition': 'message',
  'bpmn:TimerEventDefinition': 'timer',
  'bpmn:ErrorEventDefinition': 'error',
  'bpmn:EscalationEventDefinition': 'escalation',
  'bpmn:SignalEventDefinition': 'signal',
  'bpmn:ConditionalEventDefinition': 'conditional',
  'bpmn:LinkEventDefinition': 'link',
  'bpmn:TerminateEventDefinition': 'terminate',
  'bpmn:CancelEventDefinition': 'cancel',
  'bpmn:CompensateEventDefinition': 'compensate',
};

function eventDefinitionOf(d: ModdleElementLike): ModelEventDefinition | undefined {
  const kind = EVENT_DEFINITION_KINDS[d.$type];
  if (!kind) return undefined;
  const out: ModelEventDefinition = { kind };
  if (d.id) out.id = d.id;
  const named = (prop: string) => {
    const r = child(d, prop);
    return r ? (str(r, 'name') ?? r.id) : undefined;
  };
  switch (kind) {
    case 'message':
      out.refName = named('messageRef');
      break;
    case 'signal':
      out.refName = named('signalRef');
      break;
    case 'error': {
      const r = child(d, 'errorRef');
      if (r) {
        out.refName = str(r, 'name') ?? r.id;
        out.code = str(r, 'errorCode');
      }
      break;
    }
    case 'escalation': {
      const r = child(d, 'escalationRef');
      if (r) {
        out.refName = str(r, 'name') ?? r.id;
        out.code = str(r, 'escalationCode');
      }
      break;
    }
    case 'timer': {
      for (const [prop, timer] of [
        ['timeDuration', 'duration'],
        ['timeDate', 'date'],
        ['timeCycle', 'cycle'],
      ] as const) {
        const text = expressionText(child(d, prop));
        if (text) {
          out.expression = text;
          out.timer = timer;
          break;
        }
      }
      break;
    }
    case 'conditional':
      out.expression = expressionText(child(d, 'condition'));
      break;
    case 'link':
      out.refName = str(d, 'name');
      break;
    case 'compensate':
      out.refName = child(d, 'activityRef')?.id;
      break;
    default:
      break;
  }
  for (const k of Object.keys(out) as (keyof ModelEventDefinition)[]) if (out[k] === undefined) delete out[k];
  return out;
}

const PERFORMER_KINDS: Record<string, PerformerKind> = {
  'bpmn:PotentialOwner': 'potentialOwner',
  'bpmn:HumanPerformer': 'humanPerformer',
  'bpmn:Performer': 'performer',
  'bpmn:ResourceRole': 'resourceRole',
};

function performersOf(e: ModdleElementLike): ModelPerformer[] {
  const out: ModelPerformer[] = [];
  for (const r of children(e, 'resources')) {
    const kind = PERFORMER_KINDS[r.$type];
    if (!kind) continue;
    const p: ModelPerformer = { kind };
    if (r.id) p.id = r.id;
    const resource = child(r, 'resourceRef');
    if (resource?.id) p.resourceRef = resource.id;
    const resourceName = resource ? str(resource, 'name') : undefined;
    if (resourceName) p.resourceName = resourceName;
    const assignment = child(r, 'resourceAssignmentExpression');
    const expression = assignment ? expressionText(child(assignment, 'expression')) : undefined;
    if (expression) p.expression = expression;
    const name = str(r, 'name')?.trim() || resourceName || expression;
    if (name) p.name = name;
    out.push(p);
  }
  return out;
}

function clean<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function name(e: ModdleElementLike): string | undefined {
  const n = str(e, 'name');
  if (n === undefined) return undefined;
  const t = n.replace(/\s+/g, ' ').trim();
  return t.length > 0 ? t : undefined;
}

/**
 * Builds the {@link ProcessModel} of a `bpmn:Definitions` element. Structural problems the
 * reader let through (a flow without a target, a lane pointing outside its process, a
 * message flow between unknown elements, a DI shape without a model element) are pushed to
 * `warnings` with the element id; the rest of the model is still built.
 */
export function buildProcessModel(definitions: ModdleElementLike, warnings: ImportWarning[] = []): ProcessModel {
  const model: ProcessModel = clean({
    definitionsId: definitions.id,
    name: name(definitions),
    targetNamespace: str(definitions, 'targetNamespace'),
    exporter: [str(definitions, 'exporter'), str(definitions, 'exporterVersion')].filter(Boolean).join(' ') || undefined,
    documentation: documentationOf(definitions),
    pools: [],
    processes: [],
    lanes: [],
    nodes: [],
    sequenceFlows: [],
    messageFlows: [],
    data: [],
  });
  const warn = (elementId: string | undefined, message: string) => warnings.push(elementId ? { elementId, message } : { message });
  const roots = children(definitions, 'rootElements');
  const nodeById = new Map<string, ModelNode>();
  const laneOfNode = new Map<string, string>();
  const dataIds = new Set<string>();

  const addData = (d: ModdleElementLike, kind: DataKind, container: string) => {
    if (!d.id || dataIds.has(d.id)) return;
    dataIds.add(d.id);
    const ref = child(d, kind === 'dataStoreReference' ? 'dataStoreRef' : 'dataObjectRef');
    // A reference carries its object's item definition unless it declares its own.
    const item = child(d, 'itemSubjectRef') ?? (ref ? child(ref, 'itemSubjectRef') : undefined);
    const structure = item ? child(item, 'structureRef') : undefined;
    model.data.push(
      clean({
        id: d.id,
        kind,
        name: name(d) ?? (ref ? name(ref) : undefined),
        refersTo: ref?.id,
        itemSubject: item?.id,
        structure: structure?.id ?? (item ? str(item, 'structureRef') : undefined),
        isCollection: bool(d, 'isCollection') || undefined,
        documentation: documentationOf(d),
        container,
      }),
    );
  };

  const readContainer = (container: ModdleElementLike, processId: string, containerId: string, laneOfContainer: string | undefined): string[] => {
    const direct: string[] = [];
    const flows: ModdleElementLike[] = [];
    for (const fe of children(container, 'flowElements')) {
      if (fe.$type === 'bpmn:SequenceFlow') {
        flows.push(fe);
        continue;
      }
      if (fe.$type === 'bpmn:DataObject') {
        addData(fe, 'dataObject', containerId);
        continue;
      }
      if (fe.$type === 'bpmn:DataObjectReference') {
        addData(fe, 'dataObjectReference', containerId);
        continue;
      }
      if (fe.$type === 'bpmn:DataStoreReference') {
        addData(fe, 'dataStoreReference', containerId);
        continue;
      }
      if (!isFlowNode(fe)) continue;
      if (!fe.id) {
        warn(undefined, `${fe.$type} without an id in ${containerId} is ignored`);
        continue;
      }
      const node = readNode(fe, processId, containerId, laneOfContainer);
      direct.push(node.id);
    }
    for (const f of flows) readFlow(f, processId, containerId);
    for (const art of children(container, 'artifacts')) {
      if (art.$type !== 'bpmn:Association') continue;
      const src = child(art, 'sourceRef');
      const tgt = child(art, 'targetRef');
      const [nodeEnd, note] = tgt?.$type === 'bpmn:TextAnnotation' ? [src, tgt] : src?.$type === 'bpmn:TextAnnotation' ? [tgt, src] : [undefined, undefined];
      const text = note ? str(note, 'text')?.trim() : undefined;
      const target = nodeEnd?.id ? nodeById.get(nodeEnd.id) : undefined;
      if (target && text) target.annotations.push(text);
      // A compensation boundary event reaches its handler by association, not by flow.
      const from = src?.id ? nodeById.get(src.id) : undefined;
      const handler = tgt?.id ? nodeById.get(tgt.id) : undefined;
      if (from?.type === 'boundaryEvent' && handler?.isForCompensation) from.compensationHandler = handler.id;
    }
    return direct;
  };

  const readNode = (fe: ModdleElementLike, processId: string, containerId: string, laneOfContainer: string | undefined): ModelNode => {
    const id = fe.id as string;
    const category = categoryOf(fe);
    const node: ModelNode = {
      id,
      type: localType(fe.$type),
      category,
      annotations: [],
      processId,
      container: containerId,
      incoming: [],
      outgoing: [],
      eventDefinitions: [],
      boundaryEvents: [],
      inputs: [],
      outputs: [],
      ioInputs: [],
      ioOutputs: [],
      performers: [],
    };
    const n = name(fe);
    if (n) node.name = n;
    const doc = documentationOf(fe);
    if (doc) node.documentation = doc;
    const lane = laneOfNode.get(id) ?? laneOfContainer;
    if (lane) node.lane = lane;
    nodeById.set(id, node);
    model.nodes.push(node);

    if (category === 'event') {
      const defs = [...children(fe, 'eventDefinitions'), ...children(fe, 'eventDefinitionRef')];
      for (const d of defs) {
        const def = eventDefinitionOf(d);
        if (def) node.eventDefinitions.push(def);
      }
      if (fe.$type === 'bpmn:BoundaryEvent') {
        const host = child(fe, 'attachedToRef');
        if (host?.id) node.attachedTo = host.id;
        else warn(id, `boundary event ${id} is not attached to any activity`);
        node.cancelActivity = bool(fe, 'cancelActivity') ?? true;
      }
      for (const a of children(fe, 'dataOutputAssociations')) {
        const t = child(a, 'targetRef');
        if (t?.id) node.outputs.push(t.id);
      }
      for (const a of children(fe, 'dataInputAssociations')) for (const s of children(a, 'sourceRef')) if (s.id) node.inputs.push(s.id);
    }
    if (category === 'gateway') {
      const dflt = child(fe, 'default');
      if (dflt?.id) node.defaultFlow = dflt.id;
      const dir = str(fe, 'gatewayDirection');
      if (dir && dir !== 'Unspecified') node.gatewayDirection = dir;
      if (fe.$type === 'bpmn:EventBasedGateway') {
        node.eventGatewayType = str(fe, 'eventGatewayType') ?? 'Exclusive';
        if (bool(fe, 'instantiate')) node.instantiate = true;
      }
    }
    if (category === 'task' || category === 'subProcess' || category === 'callActivity') {
      const dflt = child(fe, 'default');
      if (dflt?.id) node.defaultFlow = dflt.id;
      const loop = child(fe, 'loopCharacteristics');
      if (loop) node.loop = loop.$type === 'bpmn:StandardLoopCharacteristics' ? 'standard' : bool(loop, 'isSequential') ? 'sequential' : 'parallel';
      if (bool(fe, 'isForCompensation')) node.isForCompensation = true;
      for (const a of children(fe, 'dataInputAssociations')) for (const s of children(a, 'sourceRef')) if (s.id && !node.inputs.includes(s.id)) node.inputs.push(s.id);
      for (const a of children(fe, 'dataOutputAssociations')) {
        const t = child(a, 'targetRef');
        if (t?.id && !node.outputs.includes(t.id)) node.outputs.push(t.id);
      }
      const io = child(fe, 'ioSpecification');
      if (io) {
        for (const d of children(io, 'dataInputs')) {
          addData(d, 'dataInput', id);
          if (d.id) node.ioInputs.push(d.id);
        }
        for (const d of children(io, 'dataOutputs')) {
          addData(d, 'dataOutput', id);
          if (d.id) node.ioOutputs.push(d.id);
        }
      }
      for (const p of children(fe, 'properties')) addData(p, 'property', id);
      node.performers = performersOf(fe);
      const script = str(fe, 'scriptFormat');
      if (script) node.scriptFormat = script;
      const impl = str(fe, 'implementation');
      if (impl) node.implementation = impl;
    }
    if (category === 'callActivity') {
      const called = fe.calledElement;
      const calledId = typeof called === 'string' ? called : isElementWithId(called) ? called.id : undefined;
      if (calledId) node.calledElement = calledId;
    }
    if (category === 'subProcess') {
      node.triggeredByEvent = bool(fe, 'triggeredByEvent') ?? false;
      node.subProcessKind = node.triggeredByEvent
        ? 'event'
        : fe.$type === 'bpmn:Transaction'
          ? 'transaction'
          : fe.$type === 'bpmn:AdHocSubProcess'
            ? 'adHoc'
            : 'embedded';
      node.childNodes = readContainer(fe, processId, id, lane);
    }
    return node;
  };

  const readFlow = (f: ModdleElementLike, processId: string, containerId: string) => {
    const src = child(f, 'sourceRef');
    const tgt = child(f, 'targetRef');
    if (!f.id) {
      warn(undefined, `sequence flow without an id in ${containerId} is ignored`);
      return;
    }
    if (!src?.id || !tgt?.id) {
      warn(f.id, `sequence flow ${f.id} has no ${!src?.id ? 'source' : 'target'} and is ignored`);
      return;
    }
    // Built without `undefined` members (no `delete`: objects stay in fast mode).
    const flow: ModelSequenceFlow = { id: f.id, from: src.id, to: tgt.id, isDefault: child(src, 'default')?.id === f.id, processId, container: containerId };
    const flowName = name(f);
    if (flowName !== undefined) flow.name = flowName;
    const condition = expressionText(child(f, 'conditionExpression'));
    if (condition !== undefined) flow.condition = condition;
    const doc = documentationOf(f);
    if (doc !== undefined) flow.documentation = doc;
    model.sequenceFlows.push(flow);
  };

  const readLanes = (laneSet: ModdleElementLike, processId: string, parentLane: string | undefined): string[] => {
    const ids: string[] = [];
    for (const l of children(laneSet, 'lanes')) {
      if (!l.id) continue;
      const lane: ModelLane = clean({
        id: l.id,
        name: name(l),
        processId,
        parentLane,
        childLanes: [],
        nodeRefs: children(l, 'flowNodeRef')
          .map((n) => n.id)
          .filter((x): x is string => typeof x === 'string'),
        documentation: documentationOf(l),
      });
      model.lanes.push(lane);
      ids.push(lane.id);
      // Innermost lane wins: a child lane's refs are written after its parent's.
      for (const ref of lane.nodeRefs) laneOfNode.set(ref, lane.id);
      const childSet = child(l, 'childLaneSet');
      if (childSet) lane.childLanes = readLanes(childSet, processId, lane.id);
    }
    return ids;
  };

  // Pools and message flows come from collaborations; processes are read in document order.
  const collaborations = roots.filter((r) => instanceOf(r, 'bpmn:Collaboration') && !instanceOf(r, 'bpmn:Choreography'));
  for (const c of collaborations) {
    for (const p of children(c, 'participants')) {
      if (!p.id) continue;
      model.pools.push(
        clean({
          id: p.id,
          name: name(p),
          processRef: child(p, 'processRef')?.id,
          documentation: documentationOf(p),
          collaborationId: c.id ?? '',
        }),
      );
    }
  }

  for (const r of roots) {
    if (r.$type !== 'bpmn:Process' || !r.id) continue;
    const process: ModelProcess = clean({
      id: r.id,
      name: name(r),
      documentation: documentationOf(r),
      isExecutable: bool(r, 'isExecutable'),
      lanes: [] as string[],
      nodes: [] as string[],
      performers: performersOf(r),
    });
    model.processes.push(process);
    for (const ls of children(r, 'laneSets')) process.lanes.push(...readLanes(ls, r.id, undefined));
    process.nodes = readContainer(r, r.id, r.id, undefined);
    for (const p of children(r, 'properties')) addData(p, 'property', r.id);
    const io = child(r, 'ioSpecification');
    if (io) {
      for (const d of children(io, 'dataInputs')) addData(d, 'dataInput', r.id);
      for (const d of children(io, 'dataOutputs')) addData(d, 'dataOutput', r.id);
    }
  }

  // Lanes may reference nodes of sub-processes or nodes that do not exist.
  for (const lane of model.lanes) {
    for (const ref of lane.nodeRefs) {
      const node = nodeById.get(ref);
      if (!node) warn(lane.id, `lane ${lane.id} references ${ref}, which is not a flow node`);
      else if (node.processId !== lane.processId) warn(lane.id, `lane ${lane.id} references ${ref} of another process`);
    }
  }

  // Wiring: incoming/outgoing from the flows themselves (the XML's own lists may be absent).
  for (const f of model.sequenceFlows) {
    const from = nodeById.get(f.from);
    const to = nodeById.get(f.to);
    if (!from) warn(f.id, `sequence flow ${f.id} starts at ${f.from}, which is not a flow node`);
    if (!to) warn(f.id, `sequence flow ${f.id} ends at ${f.to}, which is not a flow node`);
    from?.outgoing.push(f.id);
    to?.incoming.push(f.id);
  }
  for (const n of model.nodes) {
    if (n.attachedTo === undefined) continue;
    const host = nodeById.get(n.attachedTo);
    if (host) host.boundaryEvents.push(n.id);
    else warn(n.id, `boundary event ${n.id} is attached to ${n.attachedTo}, which is not a flow node`);
  }

  const poolOfProcess = new Map<string, string>();
  for (const p of model.pools) if (p.processRef) poolOfProcess.set(p.processRef, p.id);
  const poolIds = new Set(model.pools.map((p) => p.id));
  for (const c of collaborations) {
    for (const m of children(c, 'messageFlows')) {
      if (!m.id) continue;
      const src = child(m, 'sourceRef');
      const tgt = child(m, 'targetRef');
      if (!src?.id || !tgt?.id) {
        warn(m.id, `message flow ${m.id} has no ${!src?.id ? 'source' : 'target'} and is ignored`);
        continue;
      }
      const poolOf = (id: string) => (poolIds.has(id) ? id : (() => {
        const node = nodeById.get(id);
        return node ? poolOfProcess.get(node.processId) : undefined;
      })());
      const msg = child(m, 'messageRef');
      model.messageFlows.push(
        clean({
          id: m.id,
          name: name(m),
          from: src.id,
          to: tgt.id,
          fromPool: poolOf(src.id),
          toPool: poolOf(tgt.id),
          message: msg ? (name(msg) ?? msg.id) : undefined,
          documentation: documentationOf(m),
        }),
      );
    }
  }

  // Diagram shapes and edges must point at a model element.
  for (const d of children(definitions, 'diagrams')) {
    const plane = child(d, 'plane');
    if (!plane) continue;
    for (const de of children(plane, 'planeElement')) {
      // An unresolved bpmnElement was already reported by the reader.
      if (!child(de, 'bpmnElement') && !warnings.some((w) => w.elementId !== undefined && w.elementId === de.id)) {
        warn(de.id, `diagram ${de.$type === 'bpmndi:BPMNEdge' ? 'edge' : 'shape'} ${de.id ?? '(no id)'} points at no model element`);
      }
    }
  }
  return model;
}

function isElementWithId(v: unknown): v is { id: string } {
  return typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string';
}

/**
 * A lane's display name: its own, else its pool's (numbered when the pool has several
 * unnamed lanes), else its id. Tools such as Signavio leave single lanes unnamed.
 */
export function laneLabel(model: ProcessModel, index: ModelIndex, laneId: string): string {
  const lane = index.lane.get(laneId);
  if (!lane) return laneId;
  if (lane.name) return lane.name;
  const pool = index.poolOfProcess.get(lane.processId);
  const base = pool?.name ?? index.process.get(lane.processId)?.name;
  if (!base) return lane.id;
  const unnamed = model.lanes.filter((l) => l.processId === lane.processId && !l.name && l.childLanes.length === 0);
  return unnamed.length > 1 ? `${base} (lane ${unnamed.indexOf(lane) + 1})` : base;
}

/**
 * The model of one process: its pool, lanes, nodes (sub-processes included), flows and data;
 * message flows only between elements that remain. `not-found` for an unknown process id.
 */
export function restrictToProcess(model: ProcessModel, processId: string): ProcessModel {
  if (!model.processes.some((p) => p.id === processId)) {
    throw new AppError('not-found', `No process ${JSON.stringify(processId)} in the BPMN document (processes: ${model.processes.map((p) => p.id).join(', ') || 'none'})`);
  }
  const nodes = model.nodes.filter((n) => n.processId === processId);
  const kept = new Set<string>([...nodes.map((n) => n.id)]);
  const pools = model.pools.filter((p) => p.processRef === processId);
  for (const p of pools) kept.add(p.id);
  const containers = new Set<string>([processId, ...nodes.filter((n) => n.childNodes).map((n) => n.id)]);
  return {
    ...model,
    pools,
    processes: model.processes.filter((p) => p.id === processId),
    lanes: model.lanes.filter((l) => l.processId === processId),
    nodes,
    sequenceFlows: model.sequenceFlows.filter((f) => f.processId === processId),
    messageFlows: model.messageFlows.filter((m) => kept.has(m.from) && kept.has(m.to)),
    data: model.data.filter((d) => containers.has(d.container) || kept.has(d.container)),
  };
}

/**
 * The graph part of a `workflow` artifact (DOMAIN.md 3.4): lanes, every flow node with its
 * type and innermost lane, and every sequence flow with its condition (a default flow
 * without a condition reads `default`).
 */
export function workflowSummary(model: ProcessModel): Pick<Workflow, 'lanes' | 'nodes' | 'flows'> {
  return {
    lanes: model.lanes.map((l) => ({ id: l.id, name: l.name ?? l.id })),
    nodes: model.nodes.map((n) => {
      const out: Workflow['nodes'][number] = { id: n.id, type: n.type };
      if (n.name !== undefined) out.name = n.name;
      if (n.lane !== undefined) out.lane = n.lane;
      return out;
    }),
    flows: model.sequenceFlows.map((f) => {
      const condition = f.condition ?? (f.isDefault ? 'default' : undefined);
      return condition === undefined ? { from: f.from, to: f.to } : { from: f.from, to: f.to, condition };
    }),
  };
}
