import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/errors.js';
import { FLOW_NODE_TYPES, type FlowNodeSpec, type FlowNodeType, type FlowSpec, type SequenceFlowSpec } from '../../../src/realms/journey/types.js';
import { lintBpmn, summarizeFlowSpec, validateFlowSpec, writeBpmn } from '../../../src/realms/journey/write/index.js';
import type { ModdleElement } from '../../../src/realms/journey/write/moddle.js';
import { inside, inspectBpmn, missingDi } from './helpers.js';

/** Two pools (one with lanes), a sub-process, boundary events, a loop, conditions, message flows. */
function claimsSpec(): FlowSpec {
  return {
    id: 'Claims_collaboration',
    name: 'Claims',
    pools: [
      {
        id: 'Insurer',
        name: 'Insurer',
        processId: 'Insurer_process',
        lanes: [
          { id: 'Lane_handler', name: 'Claims handler' },
          { id: 'Lane_ai', name: 'Claims AI' },
        ],
        nodes: [
          { id: 'Start', type: 'startEvent', name: 'Claim received', lane: 'Lane_handler', event: 'message' },
          { id: 'Register', type: 'userTask', name: 'Register the claim', lane: 'Lane_handler' },
          { id: 'Merge', type: 'exclusiveGateway', lane: 'Lane_ai' },
          { id: 'Extract', type: 'serviceTask', name: 'Extract claim data', lane: 'Lane_ai', documentation: 'Reads the form' },
          { id: 'Complete', type: 'exclusiveGateway', name: 'Complete?', lane: 'Lane_handler' },
          { id: 'Ask', type: 'sendTask', name: 'Ask for documents', lane: 'Lane_handler' },
          { id: 'Wait', type: 'receiveTask', name: 'Receive documents', lane: 'Lane_handler' },
          {
            id: 'Assess',
            type: 'subProcess',
            name: 'Assess the claim',
            lane: 'Lane_handler',
            children: {
              nodes: [
                { id: 'Assess_start', type: 'startEvent', name: 'Start' },
                { id: 'Score', type: 'businessRuleTask', name: 'Score the risk' },
                { id: 'Decide', type: 'userTask', name: 'Decide' },
                { id: 'Decide_late', type: 'boundaryEvent', name: '2 days', attachedTo: 'Decide', event: 'timer', timerDuration: 'P2D', cancelActivity: false },
                { id: 'Remind', type: 'manualTask', name: 'Remind the handler' },
                { id: 'Reminded', type: 'endEvent', name: 'Reminded' },
                { id: 'Assess_end', type: 'endEvent', name: 'Assessed' },
              ],
              flows: [
                { id: 'a1', from: 'Assess_start', to: 'Score' },
                { id: 'a2', from: 'Score', to: 'Decide' },
                { id: 'a3', from: 'Decide', to: 'Assess_end' },
                { id: 'a4', from: 'Decide_late', to: 'Remind' },
                { id: 'a5', from: 'Remind', to: 'Reminded' },
              ],
            },
          },
          { id: 'Assess_failed', type: 'boundaryEvent', name: 'Assessment failed', attachedTo: 'Assess', event: 'error' },
          { id: 'Fallback', type: 'userTask', name: 'Assess by hand', lane: 'Lane_handler' },
          { id: 'Failed', type: 'endEvent', name: 'Assessed by hand', lane: 'Lane_handler' },
          { id: 'Pay', type: 'serviceTask', name: 'Pay', lane: 'Lane_ai' },
          { id: 'Paid', type: 'endEvent', name: 'Claim paid', lane: 'Lane_ai' },
        ],
        flows: [
          { id: 'f1', from: 'Start', to: 'Register' },
          { id: 'f2', from: 'Register', to: 'Merge' },
          { id: 'f3', from: 'Merge', to: 'Extract' },
          { id: 'f4', from: 'Extract', to: 'Complete' },
          { id: 'f5', from: 'Complete', to: 'Assess', name: 'complete', condition: '${complete}' },
          { id: 'f6', from: 'Complete', to: 'Ask', name: 'incomplete', isDefault: true },
          { id: 'f7', from: 'Ask', to: 'Wait' },
          { id: 'f8', from: 'Wait', to: 'Merge' },
          { id: 'f9', from: 'Assess', to: 'Pay' },
          { id: 'f10', from: 'Pay', to: 'Paid' },
          { id: 'f11', from: 'Assess_failed', to: 'Fallback' },
          { id: 'f12', from: 'Fallback', to: 'Failed' },
        ],
      },
      {
        id: 'Customer',
        name: 'Customer',
        processId: 'Customer_process',
        lanes: [],
        nodes: [
          { id: 'C_start', type: 'startEvent', name: 'Accident' },
          { id: 'C_report', type: 'sendTask', name: 'Report the claim' },
          { id: 'C_docs', type: 'intermediateCatchEvent', name: 'Documents requested', event: 'message' },
          { id: 'C_send', type: 'sendTask', name: 'Send documents' },
          { id: 'C_end', type: 'endEvent', name: 'Done' },
        ],
        flows: [
          { id: 'c1', from: 'C_start', to: 'C_report' },
          { id: 'c2', from: 'C_report', to: 'C_docs' },
          { id: 'c3', from: 'C_docs', to: 'C_send' },
          { id: 'c4', from: 'C_send', to: 'C_end' },
        ],
      },
    ],
    messageFlows: [
      { id: 'm1', from: 'C_report', to: 'Start', name: 'Claim' },
      { id: 'm2', from: 'Ask', to: 'C_docs', name: 'Request' },
      { id: 'm3', from: 'C_send', to: 'Wait', name: 'Documents' },
    ],
  };
}

const ALL_TYPES: readonly FlowNodeType[] = FLOW_NODE_TYPES;

/** One process holding every flow-node type, each connected. */
function everyTypeSpec(): FlowSpec {
  const chain: FlowNodeSpec[] = [
    { id: 'S', type: 'startEvent', name: 'Start' },
    { id: 'T', type: 'task', name: 'Task' },
    { id: 'U', type: 'userTask', name: 'User' },
    { id: 'M', type: 'manualTask', name: 'Manual' },
    { id: 'Sv', type: 'serviceTask', name: 'Service' },
    { id: 'Sc', type: 'scriptTask', name: 'Script' },
    { id: 'B', type: 'businessRuleTask', name: 'Rule' },
    { id: 'Se', type: 'sendTask', name: 'Send' },
    { id: 'R', type: 'receiveTask', name: 'Receive' },
    { id: 'C', type: 'callActivity', name: 'Call' },
    { id: 'Thr', type: 'intermediateThrowEvent', name: 'Signal it', event: 'signal' },
    {
      id: 'Sub',
      type: 'subProcess',
      name: 'Sub',
      children: {
        nodes: [
          { id: 'Sub_s', type: 'startEvent', name: 'In' },
          { id: 'Sub_t', type: 'task', name: 'Inner' },
          { id: 'Sub_e', type: 'endEvent', name: 'Out' },
        ],
        flows: [
          { id: 'sf1', from: 'Sub_s', to: 'Sub_t' },
          { id: 'sf2', from: 'Sub_t', to: 'Sub_e' },
        ],
      },
    },
  ];
  const nodes: FlowNodeSpec[] = [
    ...chain,
    { id: 'Bd', type: 'boundaryEvent', name: 'Escalated', attachedTo: 'U', event: 'escalation', cancelActivity: false },
    { id: 'BdEnd', type: 'endEvent', name: 'Escalation noted', event: 'escalation' },
    { id: 'Incl', type: 'inclusiveGateway', name: 'Which checks?' },
    { id: 'IA', type: 'task', name: 'Check A' },
    { id: 'IB', type: 'task', name: 'Check B' },
    { id: 'InclJoin', type: 'inclusiveGateway' },
    { id: 'Cx', type: 'complexGateway', name: 'Complex' },
    { id: 'CxA', type: 'task', name: 'Path A' },
    { id: 'CxB', type: 'task', name: 'Path B' },
    { id: 'Par', type: 'parallelGateway' },
    { id: 'EvG', type: 'eventBasedGateway' },
    { id: 'Msg', type: 'intermediateCatchEvent', name: 'Answer', event: 'message' },
    { id: 'Tmr', type: 'intermediateCatchEvent', name: 'One day', event: 'timer', timerDuration: 'P1D' },
    { id: 'Cond', type: 'intermediateCatchEvent', name: 'Rate changed', event: 'conditional' },
    { id: 'ParJoin', type: 'parallelGateway' },
    { id: 'Xor', type: 'exclusiveGateway', name: 'Late?' },
    { id: 'E1', type: 'endEvent', name: 'Late', event: 'error' },
    { id: 'E2', type: 'endEvent', name: 'On time' },
    { id: 'E3', type: 'endEvent', name: 'Path B done' },
    { id: 'E4', type: 'endEvent', name: 'Changed' },
  ];
  const flows: SequenceFlowSpec[] = chain.slice(0, -1).map((n, i) => ({ id: `c${i}`, from: n.id, to: (chain[i + 1] as FlowNodeSpec).id }));
  flows.push(
    { id: 'x1', from: 'Sub', to: 'Incl' },
    { id: 'x2', from: 'Incl', to: 'IA', condition: 'a' },
    { id: 'x3', from: 'Incl', to: 'IB', condition: 'b' },
    { id: 'x4', from: 'IA', to: 'InclJoin' },
    { id: 'x5', from: 'IB', to: 'InclJoin' },
    { id: 'x6', from: 'InclJoin', to: 'Cx' },
    { id: 'x7', from: 'Cx', to: 'CxA', condition: 'ca' },
    { id: 'x8', from: 'Cx', to: 'CxB', condition: 'cb' },
    { id: 'x9', from: 'CxB', to: 'E3' },
    { id: 'x10', from: 'CxA', to: 'Par' },
    { id: 'x11', from: 'Par', to: 'EvG' },
    { id: 'x12', from: 'Par', to: 'Cond' },
    { id: 'x13', from: 'EvG', to: 'Msg' },
    { id: 'x14', from: 'EvG', to: 'Tmr' },
    { id: 'x15', from: 'Msg', to: 'ParJoin' },
    { id: 'x16', from: 'Cond', to: 'E4' },
    { id: 'x17', from: 'Tmr', to: 'Xor' },
    { id: 'x18', from: 'Xor', to: 'E1', name: 'yes', condition: 'late' },
    { id: 'x19', from: 'Xor', to: 'ParJoin', name: 'no', isDefault: true },
    { id: 'x20', from: 'ParJoin', to: 'E2' },
    { id: 'x21', from: 'Bd', to: 'BdEnd' },
  );
  // Conditional flows are labelled (label-required wants them).
  for (const f of flows) if (f.condition && !f.name) f.name = f.condition;
  return {
    id: 'Every_type',
    name: 'Every type',
    pools: [{ id: 'Pool', name: 'Every type', processId: 'Every_type_process', lanes: [], nodes, flows }],
    messageFlows: [],
  };
}

describe('writeBpmn', () => {
  it('writes a collaboration that re-imports without warnings and has DI for every pool, lane, flow node and edge', async () => {
    const { xml, lint } = await writeBpmn(claimsSpec());
    const r = await inspectBpmn(xml);
    expect(r.warnings).toEqual([]);
    expect(missingDi(r)).toEqual({ participants: [], lanes: [], flowNodes: [], sequenceFlows: [], messageFlows: [] });
    expect(r.participants).toEqual(['Insurer', 'Customer']);
    expect(r.lanes).toEqual(['Lane_handler', 'Lane_ai']);
    expect(r.flowNodes).toHaveLength(25);
    expect(r.sequenceFlows).toHaveLength(21);
    expect(r.messageFlows).toEqual(['m1', 'm2', 'm3']);
    for (const id of [...r.participants, ...r.lanes]) expect(r.shapes.get(id)?.isHorizontal).toBe(true);
    expect(r.shapes.get('Assess')?.isExpanded).toBe(true);
    expect(lint).toEqual([]);
  });

  it('places lanes inside their pool, nodes inside their lane and sub-process children inside the sub-process', async () => {
    const spec = claimsSpec();
    const r = await inspectBpmn((await writeBpmn(spec)).xml);
    const pool = r.shapes.get('Insurer')?.bounds;
    const customer = r.shapes.get('Customer')?.bounds;
    expect(pool && customer && customer.y >= pool.y + pool.height).toBe(true);
    for (const l of ['Lane_handler', 'Lane_ai']) expect(inside(r.shapes.get(l)?.bounds as never, pool as never)).toBe(true);
    for (const n of spec.pools[0]?.nodes ?? []) {
      if (n.type === 'boundaryEvent') continue;
      expect({ id: n.id, inLane: inside(r.shapes.get(n.id)?.bounds as never, r.shapes.get(n.lane as string)?.bounds as never) }).toEqual({ id: n.id, inLane: true });
    }
    for (const [child, parent] of r.parentOf) {
      expect({ child, inside: inside(r.shapes.get(child)?.bounds as never, r.shapes.get(parent)?.bounds as never) }).toEqual({ child, inside: true });
    }
    // A boundary event sits on its activity's border.
    const host = r.shapes.get('Decide')?.bounds as { x: number; y: number; width: number; height: number };
    const ev = r.shapes.get('Decide_late')?.bounds as { x: number; y: number; width: number; height: number };
    expect(ev.y + ev.height / 2).toBe(host.y + host.height);
    expect(ev.x >= host.x && ev.x + ev.width <= host.x + host.width).toBe(true);
    // Edges start on their source and end on their target shape's border box.
    for (const [id, pts] of r.edges) {
      const el = r.elements.get(id) as ModdleElement;
      const src = r.shapes.get((el.sourceRef as ModdleElement).id as string)?.bounds as never;
      const tgt = r.shapes.get((el.targetRef as ModdleElement).id as string)?.bounds as never;
      const onBox = (p: { x: number; y: number }, b: { x: number; y: number; width: number; height: number }) =>
        p.x >= b.x && p.x <= b.x + b.width && p.y >= b.y && p.y <= b.y + b.height;
      expect({ id, start: onBox(pts[0] as never, src), end: onBox(pts[pts.length - 1] as never, tgt) }).toEqual({ id, start: true, end: true });
    }
  });

  it('writes semantics: lanes, boundary events with timers, conditions, default flows, message flows', async () => {
    const r = await inspectBpmn((await writeBpmn(claimsSpec())).xml);
    const lane = r.elements.get('Lane_ai') as ModdleElement;
    expect((lane.get('flowNodeRef') as ModdleElement[]).map((n) => n.id)).toEqual(['Merge', 'Extract', 'Pay', 'Paid']);
    const handler = r.elements.get('Lane_handler') as ModdleElement;
    expect((handler.get('flowNodeRef') as ModdleElement[]).map((n) => n.id)).toContain('Assess_failed');
    const late = r.elements.get('Decide_late') as ModdleElement;
    expect((late.attachedToRef as ModdleElement).id).toBe('Decide');
    expect(late.cancelActivity).toBe(false);
    const timer = (late.get('eventDefinitions') as ModdleElement[])[0] as ModdleElement;
    expect(timer.$type).toBe('bpmn:TimerEventDefinition');
    expect((timer.timeDuration as ModdleElement).body).toBe('P2D');
    expect(((r.elements.get('Assess_failed') as ModdleElement).get('eventDefinitions') as ModdleElement[])[0]?.$type).toBe('bpmn:ErrorEventDefinition');
    const f5 = r.elements.get('f5') as ModdleElement;
    expect((f5.conditionExpression as ModdleElement).$type).toBe('bpmn:FormalExpression');
    expect((f5.conditionExpression as ModdleElement).body).toBe('${complete}');
    expect(((r.elements.get('Complete') as ModdleElement).default as ModdleElement).id).toBe('f6');
    const m2 = r.elements.get('m2') as ModdleElement;
    expect([(m2.sourceRef as ModdleElement).id, (m2.targetRef as ModdleElement).id, m2.name]).toEqual(['Ask', 'C_docs', 'Request']);
    expect((r.elements.get('Extract') as ModdleElement).get('documentation')).toMatchObject([{ text: 'Reads the form' }]);
    // incoming/outgoing are written, so tools that read them (bpmnlint, engines) see the graph.
    expect(((r.elements.get('Merge') as ModdleElement).get('incoming') as ModdleElement[]).map((f) => f.id)).toEqual(['f2', 'f8']);
  });

  it('draws every flow-node type and reports exactly the discouraged gateways', async () => {
    const spec = everyTypeSpec();
    const { xml, lint } = await writeBpmn(spec);
    const r = await inspectBpmn(xml);
    expect(r.warnings).toEqual([]);
    expect(missingDi(r)).toEqual({ participants: [], lanes: [], flowNodes: [], sequenceFlows: [], messageFlows: [] });
    const types = new Set([...r.elements.values()].map((e) => e.$type));
    for (const t of ALL_TYPES) expect(types).toContain(`bpmn:${t[0]?.toUpperCase()}${t.slice(1)}`);
    expect(lint.map((f) => `${f.rule} ${f.elementId}`)).toEqual(['no-complex-gateway Cx', 'no-inclusive-gateway Incl', 'no-inclusive-gateway InclJoin']);
  });

  it('draws message flows to a whole pool and an empty pool', async () => {
    const spec = claimsSpec();
    spec.pools.push({ id: 'Bank', name: 'Bank', processId: 'Bank_process', lanes: [], nodes: [], flows: [] });
    spec.messageFlows.push({ id: 'm4', from: 'Pay', to: 'Bank', name: 'Payment order' }, { id: 'm5', from: 'Customer', to: 'Register' });
    const { xml } = await writeBpmn(spec);
    const r = await inspectBpmn(xml);
    expect(r.warnings).toEqual([]);
    expect(missingDi(r)).toEqual({ participants: [], lanes: [], flowNodes: [], sequenceFlows: [], messageFlows: [] });
    const bank = r.shapes.get('Bank')?.bounds as { x: number; y: number; width: number; height: number };
    const m4 = r.edges.get('m4') ?? [];
    expect(m4[m4.length - 1]?.y).toBe(bank.y);
    const customer = r.shapes.get('Customer')?.bounds as { y: number };
    expect(r.edges.get('m5')?.[0]?.y).toBe(customer.y);
  });

  it('is deterministic', async () => {
    const a = await writeBpmn(claimsSpec());
    const b = await writeBpmn(claimsSpec());
    expect(a.xml).toBe(b.xml);
  });

  it('returns bpmnlint findings of a flawed process', async () => {
    const spec = claimsSpec();
    const pool = spec.pools[1];
    if (!pool) throw new Error('fixture');
    pool.nodes.push({ id: 'Orphan', type: 'task', name: 'Nobody calls me' }, { id: 'Unnamed', type: 'task' });
    pool.flows.push({ id: 'o1', from: 'Orphan', to: 'Unnamed' });
    const { lint } = await writeBpmn(spec);
    expect(lint).toEqual([
      { rule: 'label-required', elementId: 'Unnamed', message: 'Element is missing label/name' },
      { rule: 'no-implicit-end', elementId: 'Unnamed', message: 'Element is an implicit end' },
      { rule: 'no-implicit-start', elementId: 'Orphan', message: 'Element is an implicit start' },
    ]);
    expect(await lintBpmn((await writeBpmn(claimsSpec())).xml)).toEqual([]);
  });

  it('summarises the graph for the workflow artifact', () => {
    const s = summarizeFlowSpec(claimsSpec());
    expect(s.lanes).toEqual([
      { id: 'Lane_handler', name: 'Claims handler' },
      { id: 'Lane_ai', name: 'Claims AI' },
    ]);
    expect(s.nodes.find((n) => n.id === 'Score')).toEqual({ id: 'Score', type: 'businessRuleTask', name: 'Score the risk', lane: 'Lane_handler' });
    expect(s.nodes.find((n) => n.id === 'Assess_failed')?.lane).toBe('Lane_handler');
    expect(s.flows).toContainEqual({ from: 'Complete', to: 'Ask', condition: 'default' });
    expect(s.flows).toContainEqual({ from: 'Complete', to: 'Assess', condition: '${complete}' });
    expect(s.nodes).toHaveLength(25);
  });

  describe('refuses an invalid spec with params-invalid', () => {
    const cases: [string, (s: FlowSpec) => void, RegExp][] = [
      ['a duplicate id', (s) => s.pools[0]?.nodes.push({ id: 'Register', type: 'task', name: 'Again' }), /Register.*used twice/],
      ['an id that is no XML name', (s) => ((s.pools[0]?.nodes[1] as FlowNodeSpec).id = '1 bad'), /not an XML name/],
      ['a flow into a sub-process', (s) => s.pools[0]?.flows.push({ id: 'fx', from: 'Register', to: 'Score' }), /not both in its process/],
      ['a boundary event on a gateway', (s) => s.pools[0]?.nodes.push({ id: 'Bx', type: 'boundaryEvent', name: 'x', attachedTo: 'Complete' }), /attached to exclusiveGateway/],
      ['a message flow inside one pool', (s) => s.messageFlows.push({ id: 'mx', from: 'Register', to: 'Pay' }), /stays inside pool Insurer/],
      ['a node in a lane its pool lacks', (s) => ((s.pools[0]?.nodes[1] as FlowNodeSpec).lane = 'Nowhere'), /lane Nowhere/],
    ];
    for (const [what, mutate, message] of cases) {
      it(what, async () => {
        const spec = claimsSpec();
        mutate(spec);
        expect(() => validateFlowSpec(spec)).toThrow(message);
        const err = await writeBpmn(spec).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(AppError);
        expect((err as AppError).code).toBe('params-invalid');
      });
    }
  });
});
