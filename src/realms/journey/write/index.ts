/**
 * @module realms/journey/write
 * The BPMN writer: a {@link FlowSpec} becomes BPMN 2.0 XML with a collaboration (one
 * participant per pool), lanes, every flow-node type of {@link FlowNodeType}, boundary
 * events, sub-processes, conditions, default flows and message flows, plus diagram
 * interchange for every pool, lane, flow node and edge (see `./layout.ts` for the layout).
 * The result is re-imported with bpmn-moddle and linted with bpmnlint's recommended rules.
 */
import { AppError } from '../../../errors.js';
import type { FlowNodeSpec, FlowSpec, PoolSpec, SequenceFlowSpec, Workflow } from '../types.js';
import { layoutFlow, type Bounds, type Point } from './layout.js';
import { createModdle, recommendedLinter, type BpmnModdleApi, type ModdleElement } from './moddle.js';

export { layoutFlow, type DiagramLayout } from './layout.js';
export { sopToFlowSpec } from './fromSop.js';

/** One bpmnlint finding (or a re-import warning, as rule `bpmn-import`). */
export interface LintFinding {
  rule: string;
  elementId: string;
  message: string;
}

export interface WrittenBpmn {
  xml: string;
  lint: LintFinding[];
}

/** XML names: what a BPMN id must be. */
export const NCNAME = /^[\p{L}_][\p{L}\p{N}_.-]*$/u;

const TARGET_NAMESPACE = 'http://symphainy.io/schema/bpmn';

function invalid(reason: string): AppError {
  return new AppError('params-invalid', `Flow spec is invalid: ${reason}`);
}

/**
 * Checks what the BPMN needs and a FlowSpec's types cannot say: unique NCName ids, flows
 * inside one container, boundary events attached to an activity of their container, lanes
 * of the node's pool, message flows between two different pools.
 */
export function validateFlowSpec(spec: FlowSpec): void {
  const ids = new Set<string>();
  const claim = (id: string, what: string): void => {
    if (!NCNAME.test(id)) throw invalid(`${what} id ${JSON.stringify(id)} is not an XML name`);
    if (ids.has(id)) throw invalid(`id ${JSON.stringify(id)} is used twice`);
    ids.add(id);
  };
  claim(spec.id, 'collaboration');
  if (spec.pools.length === 0) throw invalid('no pool');
  const poolOf = new Map<string, string>();
  const checkContainer = (pool: PoolSpec, nodes: readonly FlowNodeSpec[], flows: readonly SequenceFlowSpec[], nested: boolean): void => {
    const here = new Map<string, FlowNodeSpec>();
    for (const n of nodes) {
      claim(n.id, n.type);
      here.set(n.id, n);
      poolOf.set(n.id, pool.id);
      if (!nested && pool.lanes.length > 0 && n.lane !== undefined && !pool.lanes.some((l) => l.id === n.lane)) {
        throw invalid(`node ${n.id} is in lane ${n.lane}, which pool ${pool.id} does not have`);
      }
    }
    for (const n of nodes) {
      if (n.type === 'boundaryEvent') {
        const host = n.attachedTo === undefined ? undefined : here.get(n.attachedTo);
        if (!host) throw invalid(`boundary event ${n.id} is not attached to an activity of its process`);
        if (host.type.endsWith('Event') || host.type.endsWith('Gateway')) throw invalid(`boundary event ${n.id} is attached to ${host.type} ${host.id}`);
      }
      if (n.children) checkContainer(pool, n.children.nodes, n.children.flows, true);
    }
    for (const f of flows) {
      claim(f.id, 'sequence flow');
      if (!here.has(f.from) || !here.has(f.to)) throw invalid(`sequence flow ${f.id} joins ${f.from} and ${f.to}, which are not both in its process`);
      if (here.get(f.to)?.type === 'boundaryEvent') throw invalid(`sequence flow ${f.id} enters boundary event ${f.to}`);
    }
  };
  for (const pool of spec.pools) {
    claim(pool.id, 'pool');
    claim(pool.processId, 'process');
    for (const l of pool.lanes) claim(l.id, 'lane');
    checkContainer(pool, pool.nodes, pool.flows, false);
  }
  for (const p of spec.pools) poolOf.set(p.id, p.id);
  for (const mf of spec.messageFlows) {
    claim(mf.id, 'message flow');
    const a = poolOf.get(mf.from);
    const b = poolOf.get(mf.to);
    if (a === undefined || b === undefined) throw invalid(`message flow ${mf.id} joins unknown elements ${mf.from} and ${mf.to}`);
    if (a === b) throw invalid(`message flow ${mf.id} stays inside pool ${a}`);
  }
}

interface Built {
  definitions: ModdleElement;
  /** Semantic element by id, for the DI. */
  elements: Map<string, ModdleElement>;
}

/** Every id a spec names, so that generated ids (event definitions, DI) never collide with one. */
function specIds(spec: FlowSpec): Set<string> {
  const ids = new Set<string>([spec.id, ...spec.messageFlows.map((m) => m.id)]);
  const walk = (nodes: readonly FlowNodeSpec[], flows: readonly SequenceFlowSpec[]): void => {
    for (const n of nodes) {
      ids.add(n.id);
      if (n.children) walk(n.children.nodes, n.children.flows);
    }
    for (const f of flows) ids.add(f.id);
  };
  for (const p of spec.pools) {
    ids.add(p.id).add(p.processId);
    for (const l of p.lanes) ids.add(l.id);
    walk(p.nodes, p.flows);
  }
  return ids;
}

function idMinter(taken: Set<string>): (base: string) => string {
  return (base) => {
    let candidate = base;
    for (let i = 2; taken.has(candidate); i++) candidate = `${base}${i}`;
    taken.add(candidate);
    return candidate;
  };
}

function buildSemantics(moddle: BpmnModdleApi, spec: FlowSpec, mint: (base: string) => string): Built {
  const elements = new Map<string, ModdleElement>();
  const make = (type: string, attrs: Record<string, unknown>): ModdleElement => {
    const el = moddle.create(type, attrs);
    if (typeof attrs.id === 'string') elements.set(attrs.id, el);
    return el;
  };
  const expression = (body: string): ModdleElement => moddle.create('bpmn:FormalExpression', { body });
  const list = (el: ModdleElement, name: string): unknown[] => el.get(name) as unknown[];

  const eventDefinition = (n: FlowNodeSpec): ModdleElement | undefined => {
    switch (n.event) {
      case undefined:
        return undefined;
      case 'message':
        return moddle.create('bpmn:MessageEventDefinition', { id: mint(`${n.id}_ed`) });
      case 'timer':
        return moddle.create('bpmn:TimerEventDefinition', {
          id: mint(`${n.id}_ed`),
          ...(n.timerDuration ? { timeDuration: expression(n.timerDuration) } : {}),
        });
      case 'error':
        return moddle.create('bpmn:ErrorEventDefinition', { id: mint(`${n.id}_ed`) });
      case 'escalation':
        return moddle.create('bpmn:EscalationEventDefinition', { id: mint(`${n.id}_ed`) });
      case 'signal':
        return moddle.create('bpmn:SignalEventDefinition', { id: mint(`${n.id}_ed`) });
      case 'conditional':
        return moddle.create('bpmn:ConditionalEventDefinition', { id: mint(`${n.id}_ed`), condition: expression(n.name ?? n.id) });
    }
  };

  const fillContainer = (container: ModdleElement, nodes: readonly FlowNodeSpec[], flows: readonly SequenceFlowSpec[]): void => {
    const flowElements = list(container, 'flowElements');
    for (const n of nodes) {
      const attrs: Record<string, unknown> = { id: n.id };
      if (n.name !== undefined) attrs.name = n.name;
      if (n.documentation) attrs.documentation = [moddle.create('bpmn:Documentation', { text: n.documentation })];
      if (n.type === 'subProcess' && n.triggeredByEvent) attrs.triggeredByEvent = true;
      const el = make(`bpmn:${n.type[0]?.toUpperCase()}${n.type.slice(1)}`, attrs);
      if (n.type.endsWith('Event')) {
        const ed = eventDefinition(n);
        if (ed) list(el, 'eventDefinitions').push(ed);
      }
      if (n.type === 'subProcess' && n.children) fillContainer(el, n.children.nodes, n.children.flows);
      flowElements.push(el);
    }
    for (const n of nodes) {
      if (n.type !== 'boundaryEvent' || n.attachedTo === undefined) continue;
      const el = elements.get(n.id) as ModdleElement;
      el.set('attachedToRef', elements.get(n.attachedTo));
      el.set('cancelActivity', n.cancelActivity ?? true);
    }
    for (const f of flows) {
      const source = elements.get(f.from) as ModdleElement;
      const target = elements.get(f.to) as ModdleElement;
      const attrs: Record<string, unknown> = { id: f.id, sourceRef: source, targetRef: target };
      const name = f.name ?? f.condition;
      if (name !== undefined) attrs.name = name;
      if (f.condition !== undefined && !f.isDefault) attrs.conditionExpression = expression(f.condition);
      const el = make('bpmn:SequenceFlow', attrs);
      list(source, 'outgoing').push(el);
      list(target, 'incoming').push(el);
      if (f.isDefault) source.set('default', el);
      flowElements.push(el);
    }
  };

  const definitions = moddle.create('bpmn:Definitions', {
    id: mint(`Definitions_${spec.id}`),
    targetNamespace: TARGET_NAMESPACE,
    exporter: 'Symphainy',
    exporterVersion: '1',
  });
  const collaboration = make('bpmn:Collaboration', { id: spec.id, ...(spec.name ? { name: spec.name } : {}) });
  const rootElements = list(definitions, 'rootElements');
  rootElements.push(collaboration);
  for (const pool of spec.pools) {
    const process = make('bpmn:Process', { id: pool.processId, name: pool.name, isExecutable: false });
    fillContainer(process, pool.nodes, pool.flows);
    if (pool.lanes.length > 0) {
      const firstLane = pool.lanes[0]?.id;
      const lanes = pool.lanes.map((l) => {
        const members = pool.nodes.filter((n) => {
          const host = n.type === 'boundaryEvent' ? pool.nodes.find((h) => h.id === n.attachedTo) : n;
          return (host?.lane ?? firstLane) === l.id;
        });
        return make('bpmn:Lane', { id: l.id, name: l.name, flowNodeRef: members.map((n) => elements.get(n.id)) });
      });
      list(process, 'laneSets').push(moddle.create('bpmn:LaneSet', { id: mint(`${pool.processId}_lanes`), lanes }));
    }
    rootElements.push(process);
    list(collaboration, 'participants').push(make('bpmn:Participant', { id: pool.id, name: pool.name, processRef: process }));
  }
  for (const mf of spec.messageFlows) {
    const attrs: Record<string, unknown> = { id: mf.id, sourceRef: elements.get(mf.from), targetRef: elements.get(mf.to) };
    if (mf.name !== undefined) attrs.name = mf.name;
    list(collaboration, 'messageFlows').push(make('bpmn:MessageFlow', attrs));
  }
  return { definitions, elements };
}

function buildDiagram(moddle: BpmnModdleApi, spec: FlowSpec, built: Built, mint: (base: string) => string): void {
  const layout = layoutFlow(spec);
  const diId = (id: string): string => mint(`${id}_di`);
  const bounds = (b: Bounds): ModdleElement => moddle.create('dc:Bounds', { x: b.x, y: b.y, width: b.width, height: b.height });
  const planeElements: ModdleElement[] = [];
  const shape = (id: string, b: Bounds | undefined, extra: Record<string, unknown> = {}): void => {
    const el = built.elements.get(id);
    if (!el || !b) throw new AppError('internal', `The layout has no shape for ${id}`);
    planeElements.push(moddle.create('bpmndi:BPMNShape', { id: diId(id), bpmnElement: el, bounds: bounds(b), ...extra }));
  };
  const edge = (id: string, pts: Point[] | undefined): void => {
    const el = built.elements.get(id);
    if (!el || !pts) throw new AppError('internal', `The layout has no edge for ${id}`);
    planeElements.push(
      moddle.create('bpmndi:BPMNEdge', { id: diId(id), bpmnElement: el, waypoint: pts.map((p) => moddle.create('dc:Point', { x: p.x, y: p.y })) }),
    );
  };
  const drawNodes = (nodes: readonly FlowNodeSpec[]): void => {
    for (const n of nodes) {
      const b = layout.nodes.get(n.id);
      const extra: Record<string, unknown> = {};
      if (n.type === 'subProcess' || n.type === 'callActivity') extra.isExpanded = Boolean(b?.expanded);
      if (n.type === 'exclusiveGateway') extra.isMarkerVisible = true;
      shape(n.id, b && { x: b.x, y: b.y, width: b.width, height: b.height }, extra);
      if (n.children) drawNodes(n.children.nodes);
    }
  };
  const drawFlows = (nodes: readonly FlowNodeSpec[], flows: readonly SequenceFlowSpec[]): void => {
    for (const f of flows) edge(f.id, layout.edges.get(f.id));
    for (const n of nodes) if (n.children) drawFlows(n.children.nodes, n.children.flows);
  };
  for (const pool of spec.pools) {
    shape(pool.id, layout.pools.get(pool.id), { isHorizontal: true });
    for (const l of pool.lanes) shape(l.id, layout.lanes.get(l.id), { isHorizontal: true });
  }
  for (const pool of spec.pools) drawNodes(pool.nodes);
  for (const pool of spec.pools) drawFlows(pool.nodes, pool.flows);
  for (const mf of spec.messageFlows) edge(mf.id, layout.edges.get(mf.id));

  const collaboration = built.elements.get(spec.id);
  const plane = moddle.create('bpmndi:BPMNPlane', { id: mint(`${spec.id}_plane`), bpmnElement: collaboration, planeElement: planeElements });
  const diagram = moddle.create('bpmndi:BPMNDiagram', { id: mint(`${spec.id}_diagram`), plane });
  (built.definitions.get('diagrams') as unknown[]).push(diagram);
}

/** Lints a BPMN document (as XML) with bpmnlint's recommended rules; re-import warnings come first. */
export async function lintBpmn(xml: string): Promise<LintFinding[]> {
  const moddle = await createModdle();
  const { rootElement, warnings } = await moddle.fromXML(xml, 'bpmn:Definitions');
  const findings: LintFinding[] = warnings.map((w) => ({ rule: 'bpmn-import', elementId: '', message: w.message }));
  const results = await recommendedLinter().lint(rootElement);
  const lint: LintFinding[] = [];
  for (const [rule, reports] of Object.entries(results)) {
    for (const r of reports) lint.push({ rule, elementId: r.id ?? '', message: r.message });
  }
  lint.sort((a, b) => (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : a.elementId < b.elementId ? -1 : a.elementId > b.elementId ? 1 : 0));
  return [...findings, ...lint];
}

/**
 * Writes `spec` as BPMN 2.0 XML with DI and lints the result.
 *
 * @throws AppError `params-invalid` when the spec breaks a rule of {@link validateFlowSpec}.
 * @returns the XML and the findings of bpmnlint's recommended rules on it (empty for a
 *   well-formed process; a re-import warning would be listed as rule `bpmn-import`).
 */
export async function writeBpmn(spec: FlowSpec): Promise<WrittenBpmn> {
  validateFlowSpec(spec);
  const moddle = await createModdle();
  const mint = idMinter(specIds(spec));
  const built = buildSemantics(moddle, spec, mint);
  buildDiagram(moddle, spec, built, mint);
  const { xml } = await moddle.toXML(built.definitions, { format: true });
  return { xml, lint: await lintBpmn(xml) };
}

/**
 * The graph part of a `workflow` artifact for a spec: every lane, every flow node (those of
 * sub-processes too), every sequence flow with its condition (`'default'` for a default flow).
 */
export function summarizeFlowSpec(spec: FlowSpec): Pick<Workflow, 'lanes' | 'nodes' | 'flows'> {
  const nodes: Workflow['nodes'] = [];
  const flows: Workflow['flows'] = [];
  const walk = (ns: readonly FlowNodeSpec[], fs: readonly SequenceFlowSpec[], lane: string | undefined): void => {
    for (const n of ns) {
      const l = lane ?? n.lane;
      nodes.push({ id: n.id, type: n.type, ...(n.name !== undefined ? { name: n.name } : {}), ...(l !== undefined ? { lane: l } : {}) });
      if (n.children) walk(n.children.nodes, n.children.flows, l);
    }
    for (const f of fs) {
      const condition = f.isDefault ? 'default' : f.condition;
      flows.push({ from: f.from, to: f.to, ...(condition !== undefined ? { condition } : {}) });
    }
  };
  for (const p of spec.pools) {
    const hostLane = new Map(p.nodes.map((n) => [n.id, n.lane] as const));
    walk(
      p.nodes.map((n) => (n.type === 'boundaryEvent' && n.attachedTo !== undefined && n.lane === undefined ? { ...n, lane: hostLane.get(n.attachedTo) } : n)) as FlowNodeSpec[],
      p.flows,
      undefined,
    );
  }
  return { lanes: spec.pools.flatMap((p) => p.lanes.map((l) => ({ id: l.id, name: l.name }))), nodes, flows };
}
