import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importBpmn } from '../../src/realms/journey/import.js';
import { indexModel, workflowSummary, type ModelNode, type ProcessModel } from '../../src/realms/journey/model.js';
import { generateSop } from '../../src/realms/journey/sop.js';

async function load(name: string): Promise<ProcessModel> {
  const { model, warnings } = await importBpmn(readFileSync(new URL(`../fixtures/journey/${name}`, import.meta.url)));
  expect(warnings).toEqual([]);
  return model;
}

function node(model: ProcessModel, id: string): ModelNode {
  const n = model.nodes.find((x) => x.id === id);
  if (!n) throw new Error(`no node ${id}`);
  return n;
}

describe('ProcessModel', () => {
  it('reads definitions, processes and nested lanes (innermost lane wins)', async () => {
    const m = await load('kitchen-sink.bpmn');
    expect(m).toMatchObject({ definitionsId: 'Sink', name: 'Kitchen sink', exporter: 'Hand 1', targetNamespace: 'http://symphainy.io/test' });
    expect(m.processes).toEqual([
      expect.objectContaining({ id: 'P', name: 'Underwriting', documentation: 'Underwrites an application.', isExecutable: true, lanes: ['Dept'] }),
    ]);
    expect(m.lanes.map((l) => [l.id, l.parentLane ?? null, l.childLanes])).toEqual([
      ['Dept', null, ['Junior', 'Senior']],
      ['Junior', 'Dept', []],
      ['Senior', 'Dept', []],
    ]);
    expect(node(m, 'Start').lane).toBe('Junior');
    expect(node(m, 'Notify').lane).toBe('Senior'); // inherited from its event sub-process
  });

  it('reads tasks with data, io specification, performers, loops and documentation', async () => {
    const m = await load('kitchen-sink.bpmn');
    expect(node(m, 'Collect')).toMatchObject({
      type: 'userTask',
      category: 'task',
      outputs: ['Ref_App'],
      ioInputs: ['In_Checklist'],
      ioOutputs: ['Out_Docs'],
      loop: 'sequential',
      documentation: 'Ask for all documents first.',
      performers: [{ kind: 'humanPerformer', id: 'HP1', expression: 'user(jane)', name: 'user(jane)' }],
    });
    expect(node(m, 'Assess')).toMatchObject({
      inputs: ['Ref_App'],
      annotations: ['Four-eyes principle applies.'],
      performers: [{ kind: 'potentialOwner', resourceRef: 'Res_Underwriter', resourceName: 'Underwriter', name: 'Underwriter' }],
      boundaryEvents: ['AssessLate', 'OnUndo'],
    });
    expect(indexModel(m).data.get('Ref_App')).toMatchObject({ kind: 'dataObjectReference', name: 'Application form', refersTo: 'DO_App', itemSubject: 'Item_Claim' });
    expect(node(m, 'Call')).toMatchObject({ category: 'callActivity', calledElement: 'PricingProcess' });
  });

  it('reads events: referenced definitions, codes, boundary attachment, compensation, event sub-processes', async () => {
    const m = await load('kitchen-sink.bpmn');
    expect(node(m, 'Start').eventDefinitions).toEqual([{ kind: 'timer', id: 'SharedTimer', expression: 'PT1H', timer: 'duration' }]);
    expect(node(m, 'AssessLate')).toMatchObject({ attachedTo: 'Assess', cancelActivity: false, eventDefinitions: [{ kind: 'escalation', refName: 'Late', code: 'LATE' }] });
    expect(node(m, 'OnUndo')).toMatchObject({ attachedTo: 'Assess', cancelActivity: true, compensationHandler: 'Undo' });
    expect(node(m, 'Undo').isForCompensation).toBe(true);
    expect(node(m, 'Handler')).toMatchObject({ triggeredByEvent: true, subProcessKind: 'event', childNodes: ['HS', 'Notify', 'HE'] });
    expect(node(m, 'HS')).toMatchObject({ container: 'Handler', eventDefinitions: [{ kind: 'signal', refName: 'Stop all' }] });
    expect(node(m, 'ThrowLink').eventDefinitions).toEqual([{ kind: 'link', refName: 'assess' }]);
  });

  it('reads gateways with default flows, conditions and message flows between pools', async () => {
    const claims = await load('claims.bpmn');
    expect(node(claims, 'Gateway_Fraud')).toMatchObject({ defaultFlow: 'Flow_NoFraud', outgoing: ['Flow_Fraud', 'Flow_NoFraud'] });
    expect(claims.sequenceFlows.find((f) => f.id === 'Flow_Fraud')).toMatchObject({ condition: '${fraudScore >= 0.7}', isDefault: false, name: 'fraud suspected' });
    expect(claims.sequenceFlows.find((f) => f.id === 'Flow_NoFraud')?.isDefault).toBe(true);
    expect(claims.pools).toEqual([
      { id: 'Participant_Customer', name: 'Customer', collaborationId: 'Collaboration_Claims' },
      { id: 'Participant_Insurer', name: 'Insurer', processRef: 'Process_Claims', collaborationId: 'Collaboration_Claims' },
    ]);
    expect(claims.messageFlows).toEqual([
      { id: 'MessageFlow_Claim', name: 'Claim form', from: 'Participant_Customer', to: 'Start_Claim', fromPool: 'Participant_Customer', toPool: 'Participant_Insurer', message: 'Claim form' },
      { id: 'MessageFlow_Decision', name: 'Claim decision', from: 'Task_Notify', to: 'Participant_Customer', fromPool: 'Participant_Insurer', toPool: 'Participant_Customer', message: 'Claim decision' },
    ]);
  });

  it('summarises the graph for a workflow artifact', async () => {
    const s = workflowSummary(await load('pools.bpmn'));
    expect(s.lanes).toEqual([
      { id: 'Sales', name: 'Sales' },
      { id: 'Billing', name: 'Billing System' },
    ]);
    expect(s.nodes.slice(0, 2)).toEqual([
      { id: 'BuyerStart', type: 'startEvent' },
      { id: 'SendOrder', type: 'sendTask', name: 'Send order' },
    ]);
    expect(s.nodes.find((n) => n.id === 'SendInvoice')).toEqual({ id: 'SendInvoice', type: 'serviceTask', name: 'Send invoice', lane: 'Billing' });
    expect(s.flows).toContainEqual({ from: 'SellerStart', to: 'Confirm' });
  });

  it('walks link events as connectors and places compensation and event sub-process steps', async () => {
    const sop = generateSop(await load('kitchen-sink.bpmn'));
    expect(sop.steps.map((s) => `${s.number}:${s.bpmnRef}`)).toEqual(['1:Collect', '2:Assess', '3:Call', '4:Handler', '5:Undo']);
    expect(sop.steps[0]?.next).toBeUndefined(); // Collect → link → Assess is the following step
    expect(sop.steps[0]?.actor).toBe('role-user-jane');
    expect(sop.steps[0]?.outputs).toEqual(['Application form', 'Document set']);
    expect(sop.steps[1]?.exceptions).toEqual([
      { trigger: 'Too slow: Escalation "Late" (code LATE) is raised (non-interrupting: the step goes on)', handling: 'Note it; the step goes on', bpmnRef: 'AssessLate' },
      { trigger: 'Compensation is requested', handling: 'Go to step 5 (compensation handler)', bpmnRef: 'OnUndo' },
    ]);
    expect(sop.steps[3]?.title).toBe('When: Signal "Stop all" is received (Stop handling)');
    expect(sop.steps[3]?.substeps?.map((s) => s.number)).toEqual(['4.1']);
    expect(sop.roles.map((r) => r.name)).toEqual(['Junior underwriter', 'Senior underwriter', 'user(jane)', 'Underwriter']);
  });
});
