import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importBpmn } from '../../src/realms/journey/import.js';
import { generateSop, renderSopMarkdown } from '../../src/realms/journey/sop.js';
import type { Sop, SopStep } from '../../src/realms/journey/types.js';

async function sopOf(name: string, options: Parameters<typeof generateSop>[1] = {}): Promise<Sop> {
  const { model } = await importBpmn(readFileSync(new URL(`../fixtures/journey/${name}`, import.meta.url)));
  return generateSop(model, options);
}

function flat(steps: SopStep[]): SopStep[] {
  return steps.flatMap((s) => [s, ...flat(s.substeps ?? [])]);
}

function step(sop: Sop, ref: string): SopStep {
  const s = flat(sop.steps).find((x) => x.bpmnRef === ref);
  if (!s) throw new Error(`no step for ${ref}`);
  return s;
}

describe('generateSop: gateways', () => {
  it('writes exclusive, parallel, inclusive and event-based splits with their joins', async () => {
    const sop = await sopOf('gateways.bpmn');
    expect(sop.steps.map((s) => `${s.number}:${s.bpmnRef}`)).toEqual([
      '1:A', '2:X', '3:C', '4:D', '5:E', '6:IS', '7:G', '8:H', '9:EB', '10:M', '11:T', '12:K', '13:B',
    ]);
    // Joins and the parallel split are no steps.
    for (const ref of ['PS', 'PJ', 'IJ', 'XJ', 'S', 'End']) expect(flat(sop.steps).some((s) => s.bpmnRef === ref)).toBe(false);
    expect(step(sop, 'X').decision).toEqual({
      question: 'Order complete?',
      branches: [
        { condition: 'complete (${complete})', goTo: '3, 5' },
        { condition: 'otherwise', goTo: '13' },
      ],
    });
    expect(step(sop, 'X').title).toBe('Order complete?');
    expect(step(sop, 'X').bpmnType).toBe('exclusiveGateway');
    expect(['C', 'D', 'E'].map((r) => step(sop, r).parallelGroup)).toEqual(['PS', 'PS', 'PS']);
    expect(step(sop, 'C').next).toBeUndefined();
    expect(step(sop, 'D').next).toEqual(['6']);
    expect(step(sop, 'IS').decision?.branches).toEqual([
      { condition: 'gift (${gift})', goTo: '7' },
      { condition: 'promotion (${promo})', goTo: '8' },
    ]);
    expect(step(sop, 'IS').bpmnType).toBe('inclusiveGateway');
    expect(step(sop, 'G').parallelGroup).toBeUndefined();
    expect(step(sop, 'G').next).toEqual(['9']);
    expect(step(sop, 'EB').decision?.branches).toEqual([
      { condition: 'Pickup confirmed', goTo: '10' },
      { condition: 'One day passed', goTo: '11' },
    ]);
    expect(step(sop, 'M').next).toEqual(['end']);
    expect(step(sop, 'K').next).toEqual(['end']);
    expect(step(sop, 'B').next).toBeUndefined();
    expect(step(sop, 'T').description).toBe('Timer P1D elapses');
  });

  it('lists the branch heads of a parallel split in the previous step', async () => {
    const sop = await sopOf('claims.bpmn');
    expect(step(sop, 'Task_Register').next).toEqual([step(sop, 'Task_Extract').number, step(sop, 'Task_File').number]);
    expect(step(sop, 'Task_Extract').parallelGroup).toBe('Split_Intake');
  });
});

describe('generateSop: loops, boundary events, sub-processes', () => {
  it('links a loop back to an earlier step without walking it twice', async () => {
    const sop = await sopOf('loop-boundary-sub.bpmn');
    expect(step(sop, 'OK').decision?.branches).toEqual([
      { condition: 'no, redo', goTo: '1' },
      { condition: 'yes', goTo: '4' },
    ]);
    expect(sop.steps.map((s) => s.bpmnRef)).toEqual(['Draft', 'Review', 'OK', 'Sub', 'Remind', 'Fix', 'Orphan']);
  });

  it('turns boundary events into exceptions pointing at their handling steps', async () => {
    const sop = await sopOf('loop-boundary-sub.bpmn');
    expect(step(sop, 'Review').exceptions).toEqual([
      { trigger: 'Review late: Timer PT48H elapses (non-interrupting: the step goes on)', handling: 'Go to step 5', bpmnRef: 'Late' },
    ]);
    expect(step(sop, 'Sub').exceptions).toEqual([
      { trigger: 'Bad signature: Error "Bad document" (code BAD) is raised at step 4.3', handling: 'Go to step 6', bpmnRef: 'OnBad' },
    ]);
    expect(step(sop, 'Remind').next).toEqual(['end']);
    expect(step(sop, 'Sub').next).toEqual(['end']);
  });

  it('nests sub-process steps as substeps, with the error end event as a step', async () => {
    const sop = await sopOf('loop-boundary-sub.bpmn');
    const sub = step(sop, 'Sub');
    expect(sub.substeps?.map((s) => `${s.number}:${s.bpmnRef}`)).toEqual(['4.1:Sign', '4.2:Valid', '4.3:SubErr', '4.4:Archive']);
    expect(step(sop, 'Valid').decision?.branches.map((b) => b.goTo)).toEqual(['4.3', '4.4']);
    expect(step(sop, 'SubErr').title).toBe('Invalid signature');
    expect(step(sop, 'SubErr').description).toBe('Raise error "Bad document" (code BAD)');
    expect(step(sop, 'SubErr').next).toEqual(['end']);
  });

  it('keeps an element no flow reaches, exactly once', async () => {
    const sop = await sopOf('loop-boundary-sub.bpmn');
    expect(flat(sop.steps).filter((s) => s.bpmnRef === 'Orphan')).toHaveLength(1);
  });
});

describe('generateSop: pools, roles, Markdown', () => {
  it('walks each pool and writes message flows as hand-offs', async () => {
    const sop = await sopOf('pools.bpmn');
    expect(sop.steps.map((s) => `${s.number}:${s.bpmnRef}:${s.actor}`)).toEqual([
      '1:SendOrder:Buyer',
      '2:WaitInvoice:Buyer',
      '3:PayInvoice:Buyer',
      '4:Confirm:Sales',
      '5:SendInvoice:Billing',
    ]);
    expect(step(sop, 'SendOrder').outputs).toEqual(['Message "Order" to Seller (step 4)']);
    expect(step(sop, 'Confirm').inputs).toEqual(['Message "Order" from Buyer (step 1)']);
    expect(step(sop, 'SendInvoice').outputs).toEqual(['Message "Invoice" to Buyer (step 2)']);
    expect(step(sop, 'WaitInvoice').inputs).toEqual(['Message "Invoice" from Seller (step 5)']);
    expect(step(sop, 'PayInvoice').next).toEqual(['end']);
    expect(sop.markdown).toContain('## Hand-offs\n\n- Step 1 (Buyer): Message "Order" to Seller (step 4)\n- Step 5 (Billing System): Message "Invoice" to Buyer (step 2)\n');
    expect(sop.roles).toEqual([
      { id: 'Sales', name: 'Sales', kind: 'human' },
      { id: 'Billing', name: 'Billing System', kind: 'system' },
      { id: 'Buyer', name: 'Buyer', kind: 'human' },
    ]);
  });

  it('takes roles from lanes, performers and automated-only lanes', async () => {
    const sop = await sopOf('claims.bpmn');
    expect(sop.roles).toEqual([
      { id: 'Lane_System', name: 'Claims System', kind: 'system' },
      { id: 'Lane_Handler', name: 'Claims Handler', kind: 'human' },
      { id: 'Lane_Fraud', name: 'Fraud Team', kind: 'human' },
      { id: 'role-fraud-investigator', name: 'Fraud investigator', kind: 'human' },
    ]);
    expect(step(sop, 'Task_Investigate').actor).toBe('role-fraud-investigator');
    // The claim form reaches the start event: the step it leads to receives it.
    expect(step(sop, 'Task_Register').inputs).toEqual(['Policy database (data store)', 'Message "Claim form" from Customer']);
    expect(step(sop, 'Task_Register').outputs).toEqual(['Claim record']);
    expect(step(sop, 'Task_Notify').outputs).toEqual(['Message "Claim decision" to Customer']);
    expect(sop.purpose).toBe("Handles a claim from its receipt to the customer's notification of the decision.");
    expect(sop.scope).toContain('Starts when: Claim received');
  });

  it('restricts the SOP to one process and refuses an unknown one', async () => {
    const sop = await sopOf('pools.bpmn', { processId: 'PS' });
    expect(sop.steps.map((s) => s.bpmnRef)).toEqual(['Confirm', 'SendInvoice']);
    await expect(sopOf('pools.bpmn', { processId: 'nope' })).rejects.toMatchObject({ code: 'not-found' });
  });

  it('renders Markdown with roles, numbered steps, decisions, exceptions and references', async () => {
    const sop = await sopOf('loop-boundary-sub.bpmn');
    const md = renderSopMarkdown(sop);
    expect(md).toBe(sop.markdown);
    expect(md).toMatch(/^# /);
    expect(md).toContain('## Roles\n\n| Role | Kind | Id |');
    expect(md).toContain('### 3. Contract OK?');
    expect(md).toContain('  - no, redo → step 1');
    expect(md).toContain('#### 4.2. Signature valid?');
    expect(md).toContain('  - Review late: Timer PT48H elapses (non-interrupting: the step goes on): Go to step 5 (`Late`)');
    expect(md).toContain('- **BPMN:** `Draft` (task)');
  });

  it('walks a chain of 15,000 elements without overflowing the stack', async () => {
    const n = 15_000;
    const tasks = Array.from({ length: n }, (_, i) => `<task id="T${i}" name="Task ${i}"/>`).join('');
    const flows = Array.from({ length: n - 1 }, (_, i) => `<sequenceFlow id="F${i}" sourceRef="T${i}" targetRef="T${i + 1}"/>`).join('');
    const xml = `<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="x"><process id="P">${tasks}${flows}</process></definitions>`;
    const { model } = await importBpmn(Buffer.from(xml));
    const sop = generateSop(model);
    expect(sop.steps).toHaveLength(n);
    expect(sop.steps[n - 1]?.number).toBe(String(n));
    expect(sop.steps.every((s) => s.next === undefined)).toBe(true);
  });

  it('walks a long run of early-exit decisions without deep recursion', async () => {
    const n = 2500;
    const parts: string[] = ['<startEvent id="S"/>', '<sequenceFlow id="f0" sourceRef="S" targetRef="T0"/>'];
    for (let i = 0; i < n; i++) {
      parts.push(`<task id="T${i}" name="Check ${i}"/><exclusiveGateway id="G${i}" name="Fine ${i}?" default="y${i}"/><endEvent id="E${i}"/>`);
      parts.push(`<sequenceFlow id="a${i}" sourceRef="T${i}" targetRef="G${i}"/>`);
      parts.push(`<sequenceFlow id="x${i}" name="no" sourceRef="G${i}" targetRef="E${i}"><conditionExpression>\${!ok}</conditionExpression></sequenceFlow>`);
      parts.push(`<sequenceFlow id="y${i}" sourceRef="G${i}" targetRef="${i + 1 < n ? `T${i + 1}` : 'End'}"/>`);
    }
    parts.push('<endEvent id="End"/>');
    const xml = `<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="x"><process id="P">${parts.join('')}</process></definitions>`;
    const { model } = await importBpmn(Buffer.from(xml));
    const sop = generateSop(model);
    expect(sop.steps).toHaveLength(2 * n);
    expect(sop.steps[1]?.decision?.branches).toEqual([
      { condition: 'no (${!ok})', goTo: 'end' },
      { condition: 'otherwise', goTo: '3' },
    ]);
    expect(sop.steps[2 * n - 1]?.decision?.branches.map((b) => b.goTo)).toEqual(['end', 'end']);
  });
});
