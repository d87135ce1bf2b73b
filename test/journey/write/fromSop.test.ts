import { describe, expect, it } from 'vitest';
import { parseSopText } from '../../../src/realms/journey/sopText.js';
import type { FlowNodeSpec, FlowSpec, Sop, SopStep } from '../../../src/realms/journey/types.js';
import { sopToFlowSpec, writeBpmn } from '../../../src/realms/journey/write/index.js';
import { inspectBpmn, missingDi } from './helpers.js';

const step = (number: string, title: string, actor: string, extra: Partial<SopStep> = {}): SopStep => ({
  number,
  title,
  actor,
  inputs: [],
  outputs: [],
  bpmnRef: '',
  exceptions: [],
  ...extra,
});

const sop = (steps: SopStep[], roles: Sop['roles'] = []): Sop => ({ title: 'Claims', purpose: '', scope: '', markdown: '', roles, steps });

function nodes(spec: FlowSpec): FlowNodeSpec[] {
  const walk = (ns: readonly FlowNodeSpec[]): FlowNodeSpec[] => ns.flatMap((n) => [n, ...walk(n.children?.nodes ?? [])]);
  return spec.pools.flatMap((p) => walk(p.nodes));
}

function flows(spec: FlowSpec): { from: string; to: string; condition?: string; isDefault?: boolean; name?: string }[] {
  const walk = (ns: readonly FlowNodeSpec[]): ReturnType<typeof flows> => ns.flatMap((n) => [...(n.children?.flows ?? []), ...walk(n.children?.nodes ?? [])]);
  return spec.pools.flatMap((p) => [...p.flows, ...walk(p.nodes)]).map(({ from, to, condition, isDefault, name }) => ({
    from,
    to,
    ...(condition !== undefined ? { condition } : {}),
    ...(isDefault ? { isDefault } : {}),
    ...(name !== undefined ? { name } : {}),
  }));
}

const byId = (spec: FlowSpec, id: string) => nodes(spec).find((n) => n.id === id);
const successors = (spec: FlowSpec, id: string) => flows(spec).filter((f) => f.from === id).map((f) => f.to);
const typeOf = (spec: FlowSpec, id: string) => byId(spec, id)?.type;

async function clean(spec: FlowSpec): Promise<void> {
  const { xml, lint } = await writeBpmn(spec);
  const r = await inspectBpmn(xml);
  expect(r.warnings).toEqual([]);
  expect(lint).toEqual([]);
  expect(missingDi(r)).toEqual({ participants: [], lanes: [], flowNodes: [], sequenceFlows: [], messageFlows: [] });
}

const ROLES: Sop['roles'] = [
  { id: 'handler', name: 'Claims handler', kind: 'human' },
  { id: 'bot', name: 'Claims AI', kind: 'ai' },
  { id: 'erp', name: 'ERP', kind: 'system' },
];

describe('sopToFlowSpec', () => {
  it('maps roles to lanes and actor kinds to task types, keeping valid unique bpmnRefs as ids', async () => {
    const spec = sopToFlowSpec(
      sop(
        [
          step('1', 'Register', 'handler', { bpmnRef: 'Task_register' }),
          step('2', 'Extract', 'bot', { bpmnRef: '2 not a name' }),
          step('3', 'Book', 'erp', { bpmnRef: 'Task_register' }),
          step('4', 'File', 'nobody'),
        ],
        ROLES,
      ),
    );
    expect(spec.pools).toHaveLength(1);
    const pool = spec.pools[0] as FlowSpec['pools'][number];
    expect(pool.lanes.map((l) => l.name)).toEqual(['Claims handler', 'Claims AI', 'ERP', 'nobody']);
    expect(['Task_register', 'Step_2', 'Step_3', 'Step_4'].map((id) => typeOf(spec, id))).toEqual(['userTask', 'serviceTask', 'serviceTask', 'task']);
    expect(byId(spec, 'Step_2')?.lane).toBe(pool.lanes[1]?.id);
    expect(successors(spec, 'Task_register')).toEqual(['Step_2']);
    expect(successors(spec, 'Step_3')).toEqual(['Step_4']);
    await clean(spec);
  });

  it('turns a decision into a labelled exclusive gateway, a back-reference into a loop through a join', async () => {
    const spec = sopToFlowSpec(
      sop(
        [
          step('1', 'Collect documents', 'handler'),
          step('2', 'Check completeness', 'bot', {
            decision: {
              question: 'Complete?',
              branches: [
                { condition: 'complete', goTo: '3' },
                { condition: 'Otherwise', goTo: '1' },
              ],
            },
          }),
          step('3', 'Assess', 'handler', { decision: { question: 'Fraud suspected?', branches: [{ condition: 'fraud suspected', goTo: 'end' }] } }),
          step('4', 'Pay', 'erp'),
        ],
        ROLES,
      ),
    );
    expect(typeOf(spec, 'Step_2_decision')).toBe('exclusiveGateway');
    expect(byId(spec, 'Step_2_decision')?.name).toBe('Complete?');
    expect(flows(spec).filter((f) => f.from === 'Step_2_decision')).toEqual([
      { from: 'Step_2_decision', to: 'Step_3', condition: 'complete', name: 'complete' },
      { from: 'Step_2_decision', to: 'Step_1_join', isDefault: true, name: 'Otherwise' },
    ]);
    // Step 1 is entered from the start and from the loop: through one exclusive join.
    expect(typeOf(spec, 'Step_1_join')).toBe('exclusiveGateway');
    expect(successors(spec, 'Step_1_join')).toEqual(['Step_1']);
    // A single written branch gets an "Otherwise" default to the next step.
    const assess = flows(spec).filter((f) => f.from === 'Step_3_decision');
    expect(assess).toHaveLength(2);
    expect(typeOf(spec, assess[0]?.to as string)).toBe('endEvent');
    expect(assess[1]).toEqual({ from: 'Step_3_decision', to: 'Step_4', isDefault: true, name: 'Otherwise' });
    await clean(spec);
  });

  it('runs a parallel group between a parallel split and a parallel join', async () => {
    const spec = sopToFlowSpec(
      sop(
        [
          step('1', 'Receive', 'handler'),
          step('2', 'Check cover', 'bot', { parallelGroup: 'checks' }),
          step('3', 'Check fraud', 'bot', { parallelGroup: 'checks' }),
          step('4', 'Check history', 'erp', { parallelGroup: 'checks' }),
          step('5', 'Decide', 'handler'),
        ],
        ROLES,
      ),
    );
    const split = successors(spec, 'Step_1')[0] as string;
    expect(typeOf(spec, split)).toBe('parallelGateway');
    expect(successors(spec, split)).toEqual(['Step_2', 'Step_3', 'Step_4']);
    const join = successors(spec, 'Step_2')[0] as string;
    expect(typeOf(spec, join)).toBe('parallelGateway');
    expect(['Step_3', 'Step_4'].map((s) => successors(spec, s)[0])).toEqual([join, join]);
    expect(successors(spec, join)).toEqual(['Step_5']);
    await clean(spec);
  });

  it('follows explicit next steps: several run in parallel and meet at a parallel join', async () => {
    const spec = sopToFlowSpec(
      sop([
        step('1', 'Start work', 'handler', { next: ['2', '4'] }),
        step('2', 'Branch A1', 'handler', { parallelGroup: 'g' }),
        step('3', 'Branch A2', 'handler', { parallelGroup: 'g', next: ['5'] }),
        step('4', 'Branch B', 'handler', { parallelGroup: 'g' }),
        step('5', 'Finish', 'handler'),
      ]),
    );
    const split = successors(spec, 'Step_1')[0] as string;
    expect(successors(spec, split)).toEqual(['Step_2', 'Step_4']);
    expect(successors(spec, 'Step_2')).toEqual(['Step_3']);
    const join = successors(spec, 'Step_3')[0] as string;
    expect(typeOf(spec, join)).toBe('parallelGateway');
    expect(successors(spec, 'Step_4')).toEqual([join]);
    await clean(spec);
  });

  it('turns exceptions into boundary events with their exception path', async () => {
    const spec = sopToFlowSpec(
      sop(
        [
          step('1', 'Score risk', 'bot', {
            exceptions: [
              { trigger: 'No score within 2 hours', handling: 'Escalate to the fraud team', bpmnRef: 'Timer_score' },
              { trigger: 'Scoring service fails', handling: 'Go to step 3', bpmnRef: '' },
            ],
          }),
          step('2', 'Approve', 'handler'),
          step('3', 'Assess by hand', 'handler'),
        ],
        ROLES,
      ),
    );
    const timer = byId(spec, 'Timer_score');
    expect(timer).toMatchObject({ type: 'boundaryEvent', attachedTo: 'Step_1', event: 'timer', timerDuration: 'PT2H', cancelActivity: true, name: 'No score within 2 hours' });
    const handle = successors(spec, 'Timer_score')[0] as string;
    expect(byId(spec, handle)).toMatchObject({ type: 'serviceTask', name: 'Escalate to the fraud team' });
    expect(typeOf(spec, successors(spec, handle)[0] as string)).toBe('endEvent');
    const error = nodes(spec).find((n) => n.type === 'boundaryEvent' && n.id !== 'Timer_score');
    expect(error).toMatchObject({ event: 'error', attachedTo: 'Step_1' });
    // "Go to step 3": straight there, joined with the normal way in.
    expect(successors(spec, successors(spec, error?.id as string)[0] as string)).toEqual(['Step_3']);
    await clean(spec);
  });

  it('spreads many boundary events over the borders of their activity without overlaps', async () => {
    const exceptions = ['Timeout after 1 day', 'Customer cancels by message', 'Fraud escalation', 'System error'].map((trigger, i) => ({ trigger, handling: 'End the process', bpmnRef: `Ex_${i}` }));
    const spec = sopToFlowSpec(sop([step('1', 'Handle', 'handler', { exceptions }), step('2', 'Close', 'handler')], ROLES));
    expect(nodes(spec).filter((n) => n.type === 'boundaryEvent').map((n) => n.event)).toEqual(['timer', 'message', 'escalation', 'error']);
    const { xml } = await writeBpmn(spec);
    const r = await inspectBpmn(xml);
    const host = r.shapes.get('Step_1')?.bounds as { y: number; height: number };
    const ys = ['Ex_0', 'Ex_1', 'Ex_2', 'Ex_3'].map((id) => (r.shapes.get(id)?.bounds.y ?? 0) + 18);
    expect(ys).toEqual([host.y + host.height, host.y + host.height, host.y, host.y]);
    await clean(spec);
  });

  it('draws substeps as an expanded sub-process with its own start and end', async () => {
    const spec = sopToFlowSpec(sop([step('1', 'Check', 'handler', { substeps: [step('1.1', 'Look', 'handler'), step('1.2', 'Note', 'handler')] }), step('2', 'Close', 'handler')]));
    const sub = byId(spec, 'Step_1');
    expect(sub?.type).toBe('subProcess');
    expect(sub?.children?.nodes.map((n) => n.type)).toEqual(['task', 'task', 'endEvent', 'startEvent']);
    const { xml } = await writeBpmn(spec);
    expect((await inspectBpmn(xml)).shapes.get('Step_1')?.isExpanded).toBe(true);
    await clean(spec);
  });

  it('keeps the BPMN types an SOP generated from BPMN names, including events and event-based gateways', async () => {
    const spec = sopToFlowSpec(
      sop([
        step('1', 'Send offer', 'handler', { bpmnRef: 'Send', bpmnType: 'sendTask' }),
        step('2', 'Which event happens first?', 'handler', {
          bpmnRef: 'Race',
          bpmnType: 'eventBasedGateway',
          decision: {
            question: 'Which event happens first?',
            branches: [
              { condition: 'Message arrives', goTo: '3' },
              { condition: 'Timer P7D elapses', goTo: '4' },
            ],
          },
        }),
        step('3', 'Offer accepted', 'handler', { bpmnRef: 'Accepted', bpmnType: 'intermediateCatchEvent', description: 'Message "Acceptance" arrives', next: ['end'] }),
        step('4', 'Wait until: Timer P7D elapses', 'handler', { bpmnRef: 'Expired', bpmnType: 'intermediateCatchEvent' }),
        step('5', 'Raise error "Expired"', 'handler', { bpmnRef: 'Fail', bpmnType: 'endEvent' }),
      ]),
    );
    expect(['Send', 'Race', 'Accepted', 'Expired', 'Fail'].map((id) => typeOf(spec, id))).toEqual([
      'sendTask',
      'eventBasedGateway',
      'intermediateCatchEvent',
      'intermediateCatchEvent',
      'endEvent',
    ]);
    expect(byId(spec, 'Accepted')?.event).toBe('message');
    expect(byId(spec, 'Expired')).toMatchObject({ event: 'timer', timerDuration: 'P7D' });
    expect(byId(spec, 'Fail')?.event).toBe('error');
    // Event-based gateways take plain flows.
    expect(flows(spec).filter((f) => f.from === 'Race')).toEqual([
      { from: 'Race', to: 'Accepted' },
      { from: 'Race', to: 'Expired' },
    ]);
    expect(successors(spec, 'Fail')).toEqual([]);
    await clean(spec);
  });

  it('puts parts no flow joins into pools of their own, with hand-offs as message flows', async () => {
    const spec = sopToFlowSpec(
      sop(
        [
          step('1', 'Send claim', 'customer', { outputs: ['Message "Claim" to Insurer (step 3)'] }),
          step('2', 'Wait for decision', 'customer', { bpmnType: 'receiveTask', next: ['end'] }),
          step('3', 'Assess claim', 'handler', { outputs: ['Message "Decision" to Customer (step 2)'] }),
        ],
        [
          { id: 'customer', name: 'Customer', kind: 'human' },
          { id: 'handler', name: 'Insurer', kind: 'human' },
        ],
      ),
    );
    expect(spec.pools.map((p) => p.name)).toEqual(['Customer', 'Insurer']);
    expect(spec.messageFlows.map((m) => [m.from, m.to, m.name])).toEqual([
      ['Step_1', 'Step_3', 'Claim'],
      ['Step_3', 'Step_2', 'Decision'],
    ]);
    await clean(spec);
  });

  it('writes a lint-clean BPMN for a parsed text SOP', async () => {
    const text = `# Claims
1. Claims handler: register the claim
2. Claims AI: extract the data
3. If the claim is complete, go to step 5. Otherwise, go to step 4.
4. Claims handler: request information. If the customer answers, go to step 2. Otherwise, end the process.
5. Check the claim
   a) Claims AI: check the cover
   b) Claims AI: score the risk
      Exception: no score within 2 hours -> escalate to the fraud team
6. Claims handler: decide. If approved, go to step 7; otherwise go to step 8.
7. Payment system: pay the claim
8. Claims handler: inform the customer`;
    const spec = sopToFlowSpec(parseSopText(text));
    expect(typeOf(spec, 'Step_3')).toBe('exclusiveGateway');
    expect(typeOf(spec, 'Step_5')).toBe('subProcess');
    expect(spec.pools[0]?.lanes.map((l) => l.name)).toEqual(['Claims handler', 'Claims AI', 'Payment system']);
    await clean(spec);
  });

  it('is deterministic', () => {
    const s = sop([step('1', 'A', 'handler', { parallelGroup: 'g' }), step('2', 'B', 'handler', { parallelGroup: 'g' })], ROLES);
    expect(JSON.stringify(sopToFlowSpec(s))).toBe(JSON.stringify(sopToFlowSpec(s)));
  });
});
