import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { analyzeCoexistence, planBlueprint, specMetrics } from '../../src/realms/journey/coexistence.js';
import { importBpmn } from '../../src/realms/journey/import.js';
import type { ProcessModel } from '../../src/realms/journey/model.js';
import type { FlowNodeSpec } from '../../src/realms/journey/types.js';
import { writeBpmn } from '../../src/realms/journey/write/index.js';

const CLAIMS = readFileSync(new URL('../fixtures/journey/claims.bpmn', import.meta.url));

async function claims(): Promise<ProcessModel> {
  const { model, warnings } = await importBpmn(CLAIMS);
  expect(warnings).toEqual([]);
  return model;
}

// Expected classification of the hand-built claims process, worked out from DOMAIN.md 3.4
// cue by cue (not from the implementation's output).
const EXPECTED = {
  Task_Register: { classification: 'ai', score: 3, reasons: [['type: serviceTask', 2], ['only structured inputs: Policy database', 1]] },
  Task_Extract: { classification: 'hybrid', score: 1, reasons: [['verb: extract', 1]] },
  Task_File: { classification: 'human', score: -2, reasons: [['type: manualTask', -2]] },
  Task_Validate: {
    classification: 'ai',
    score: 5,
    reasons: [['type: businessRuleTask', 2], ['verb: validate', 1], ['verb: calculate', 1], ['verb: match', 1], ['verb cap: +2', -1], ['only structured inputs: Claim record', 1]],
  },
  Task_CheckCoverage: { classification: 'hybrid', score: 0, reasons: [] },
  Task_ScoreFraud: { classification: 'hybrid', score: 1, reasons: [['type: serviceTask', 2], ['only structured inputs: Claim record', 1], ['regulatory: fraud', -2]] },
  Task_Investigate: { classification: 'human', score: -3, reasons: [['verb: investigate', -1], ['regulatory: fraud', -2]] },
  Task_Approve: { classification: 'human', score: -2, reasons: [['verb: approve', -1], ['judgement gateway next: Claim approved?', -1]] },
  Task_Pay: { classification: 'ai', score: 2, reasons: [['type: serviceTask', 2]] },
  Task_Reject: { classification: 'hybrid', score: -1, reasons: [['customer contact: customer', -1]] },
  Task_Notify: {
    classification: 'hybrid',
    score: 0,
    reasons: [['type: sendTask', 1], ['verb: notify', 1], ['verb: decide', -1], ['customer contact: customer', -1]],
  },
} as const;

function nodes(spec: { pools: { nodes: FlowNodeSpec[] }[] }): Map<string, FlowNodeSpec> {
  const out = new Map<string, FlowNodeSpec>();
  const walk = (ns: FlowNodeSpec[]) => {
    for (const n of ns) {
      out.set(n.id, n);
      if (n.children) walk(n.children.nodes);
    }
  };
  for (const p of spec.pools) walk(p.nodes);
  return out;
}

describe('coexistence on the claims-handling process', () => {
  it('classifies every task with its reasons', async () => {
    const a = analyzeCoexistence(await claims(), { workflowId: 'wf_1' });
    expect(a.workflowId).toBe('wf_1');
    expect(a.tasks.map((t) => t.bpmnRef)).toEqual(Object.keys(EXPECTED));
    for (const t of a.tasks) {
      const want = EXPECTED[t.bpmnRef as keyof typeof EXPECTED];
      expect({ ref: t.bpmnRef, classification: t.classification, score: t.score }).toEqual({ ref: t.bpmnRef, classification: want.classification, score: want.score });
      expect(t.reasons.map((r) => [r.cue, r.weight]), t.bpmnRef).toEqual(want.reasons);
      expect(t.reasons.reduce((s, r) => s + r.weight, 0)).toBe(t.score);
    }
  });

  it('measures the potential before and after', async () => {
    const a = analyzeCoexistence(await claims(), { workflowId: 'wf_1' });
    expect(a.potential).toEqual({
      ai: 3,
      human: 3,
      hybrid: 5,
      automatableShare: 0.5, // (3 + 5/2) / 11
      // Before: System→Handler ×2 after registering, Handler→System ×2 into validation,
      // System→Fraud, System→Handler, Fraud→Handler, Handler→System (pay), System→Handler (notify).
      handoffs: [9, 12],
      // Before: Extract, File, Investigate, Approve, Reject (Check coverage is on the error path).
      waitPoints: [5, 7],
      // Before: start, register, split, extract, join, validate, merge, score, fraud?, investigate,
      // join, approve, approved?, reject, join, notify, end.
      criticalPathLength: [17, 26],
    });
    expect(a.recommendations).toBeUndefined();
  });

  it('recommends automation, escalations and merged hand-offs', async () => {
    const a = analyzeCoexistence(await claims(), { workflowId: 'wf_1', recommendations: true });
    const byKind = (k: string) => (a.recommendations ?? []).filter((r) => r.kind === k).map((r) => r.bpmnRefs);
    expect(byKind('automate')).toEqual([['Task_Register', 'Task_Validate', 'Task_Pay']]);
    expect(byKind('add-escalation')).toEqual([
      ['Task_Extract', 'Task_File', 'Task_CheckCoverage', 'Task_ScoreFraud', 'Task_Approve', 'Task_Reject', 'Task_Notify'],
      ['Task_Register', 'Task_Pay'],
    ]);
    expect(byKind('remove-wait')).toEqual([['Task_Extract', 'Task_CheckCoverage', 'Task_Reject']]);
    expect(byKind('merge-handoffs')).toHaveLength(1);
    expect(byKind('merge-handoffs')[0]).toEqual(expect.arrayContaining(['Task_Register', 'Task_File', 'Task_Validate', 'Task_Pay', 'Task_Notify']));
  });

  it('builds the blueprint task by task', async () => {
    const model = await claims();
    const a = analyzeCoexistence(model, { workflowId: 'wf_1' });
    const plan = planBlueprint(model, a, { escalateBelow: 0.9, humanSlaHours: 8 });
    const pool = plan.spec.pools[0];
    expect(plan.spec.pools).toHaveLength(1);
    expect(pool?.lanes).toEqual([
      { id: 'Lane_Handler', name: 'Claims Handler' },
      { id: 'Lane_Fraud', name: 'Fraud Team' },
      { id: 'Lane_AI_Process_Claims', name: 'AI' },
    ]);
    const n = nodes(plan.spec);
    const AI = 'Lane_AI_Process_Claims';
    const boundaries = (host: string) =>
      [...n.values()].filter((b) => b.attachedTo === host).map((b) => `${b.id}:${b.event}:${b.cancelActivity ? 'interrupting' : 'non-interrupting'}${b.timerDuration ? `:${b.timerDuration}` : ''}`);

    // AI tasks: automated type, AI lane, error and low-confidence escalation to a human review.
    for (const [id, type] of [['Task_Register', 'serviceTask'], ['Task_Validate', 'businessRuleTask'], ['Task_Pay', 'serviceTask']] as const) {
      expect(n.get(id)).toMatchObject({ type, lane: AI });
      expect(boundaries(id)).toEqual(expect.arrayContaining([`${id}_error:error:interrupting`, `${id}_low_confidence:conditional:interrupting`]));
      expect(n.get(`${id}_low_confidence`)?.name).toBe('Confidence below 0.9');
      expect(n.get(`${id}_review`)).toMatchObject({ type: 'userTask', lane: 'Lane_Handler' });
      expect(plan.escalations.filter((e) => e.fromTask === id)).toEqual([
        { fromTask: id, when: 'confidence < 0.9', toRole: 'Claims Handler' },
        { fromTask: id, when: 'error', toRole: 'Claims Handler' },
      ]);
    }
    expect(boundaries('Task_Validate')).toContain('Boundary_CoverageError:error:interrupting');

    // Hybrid tasks: AI prepares in the AI lane, a human confirms (keeping the id) with an SLA.
    for (const id of ['Task_Extract', 'Task_CheckCoverage', 'Task_ScoreFraud', 'Task_Reject', 'Task_Notify']) {
      expect(n.get(`${id}_prepare`)).toMatchObject({ type: 'serviceTask', lane: AI });
      expect(n.get(`${id}_prepare`)?.name).toMatch(/^AI prepares: /);
      expect(n.get(id)).toMatchObject({ type: 'userTask', lane: 'Lane_Handler' });
      expect(n.get(id)?.name).toMatch(/^Human confirms: /);
      expect(boundaries(`${id}_prepare`)).toEqual([`${id}_prepare_error:error:interrupting`]);
      expect(boundaries(id)).toEqual([`${id}_sla:timer:non-interrupting:PT8H`]);
      expect(plan.handoffs).toContainEqual({ from: `${id}_prepare`, to: id, direction: 'ai-to-human', payload: [`draft result of ${model.nodes.find((x) => x.id === id)?.name}`] });
      expect(plan.escalations).toContainEqual({ fromTask: id, when: 'SLA 8h', toRole: 'Process owner' });
      expect(plan.escalations).toContainEqual({ fromTask: `${id}_prepare`, when: 'error', toRole: 'Claims Handler' });
    }

    // Human tasks stay with people, in their lane, with an SLA timer.
    expect(n.get('Task_File')).toMatchObject({ type: 'manualTask', lane: 'Lane_Handler' });
    expect(n.get('Task_Approve')).toMatchObject({ type: 'userTask', lane: 'Lane_Handler' });
    expect(n.get('Task_Investigate')).toMatchObject({ type: 'userTask', lane: 'Lane_Fraud' });
    for (const id of ['Task_File', 'Task_Approve', 'Task_Investigate']) {
      expect(boundaries(id)).toContain(`${id}_sla:timer:non-interrupting:PT8H`);
      expect(plan.escalations.filter((e) => e.fromTask === id)).toEqual([{ fromTask: id, when: 'SLA 8h', toRole: 'Process owner' }]);
    }
    expect(boundaries('Task_Investigate')).toContain('Boundary_InvestigationOverdue:timer:non-interrupting:P5D');

    // Hand-offs across the AI/human line on the way through the process.
    expect(plan.handoffs).toEqual(
      expect.arrayContaining([
        { from: 'Task_Register', to: 'Task_File', direction: 'ai-to-human', payload: ['Claim record'] },
        { from: 'Task_Approve', to: 'Task_Pay', direction: 'human-to-ai', payload: ['result of Approve claim payout'] },
        { from: 'Task_File', to: 'Task_Validate', direction: 'human-to-ai', payload: ['result of File paper originals'] },
      ]),
    );
    expect(plan.decisionPoints).toEqual([
      { bpmnRef: 'Gateway_Fraud', owner: 'ai', criteria: '${fraudScore >= 0.7} | no fraud' },
      { bpmnRef: 'Gateway_Approved', owner: 'human', criteria: 'yes | no' },
      { bpmnRef: 'Task_Register', owner: 'ai', criteria: 'confidence ≥ 0.9, else human review' },
      { bpmnRef: 'Task_Validate', owner: 'ai', criteria: 'confidence ≥ 0.9, else human review' },
      { bpmnRef: 'Task_Pay', owner: 'ai', criteria: 'confidence ≥ 0.9, else human review' },
    ]);
    expect(plan.droppedMessageFlows).toEqual(['MessageFlow_Claim', 'MessageFlow_Decision']);
    expect(specMetrics(plan.spec, plan.exceptional).handoffs).toBe(12);
  });

  it('writes the blueprint as BPMN that re-imports cleanly and keeps every task', async () => {
    const model = await claims();
    const plan = planBlueprint(model, analyzeCoexistence(model, { workflowId: 'wf_1' }));
    const { xml, lint } = await writeBpmn(plan.spec);
    // Element overlap is a layout finding of the writer, not of the blueprint's structure.
    expect(lint.filter((l) => l.rule !== 'no-overlapping-elements')).toEqual([]);
    const back = await importBpmn(Buffer.from(xml));
    expect(back.warnings).toEqual([]);
    const ids = new Set(back.model.nodes.map((x) => x.id));
    for (const id of Object.keys(EXPECTED)) expect(ids.has(id), id).toBe(true);
    expect(back.model.lanes.map((l) => l.name)).toEqual(['Claims Handler', 'Fraud Team', 'AI']);
  });
});
