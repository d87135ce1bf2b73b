import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/errors.js';
import { importBpmn } from '../../../src/realms/journey/import.js';
import { generateSop } from '../../../src/realms/journey/sop.js';
import { parseSopDocument, parseSopText } from '../../../src/realms/journey/sopText.js';
import type { Sop, SopStep } from '../../../src/realms/journey/types.js';

const CLAIMS = `# Motor claims handling

Purpose: Settle motor claims quickly and fairly.
Scope: All motor claims below 50,000 EUR.

Roles:
- Claims handler (human)
- Claims AI (ai)

1. Claims handler: register the claim
   Inputs: claim form, policy number
   Outputs: claim record
2. Claims AI: extract the damage details
   from the photos
3. If the claim is complete, go to step 5. Otherwise, go to step 4.
4. Claims handler: request the missing information
   If the customer answers, go to step 2.
   Otherwise, end the process.
5. Check the claim
   a) Claims AI: check the policy cover
   b) Claims AI: score the fraud risk
      Exception: no score within 2 hours -> escalate to the fraud team
6. Claims handler: decide on the claim. If approved, go to step 7; otherwise go to step 8.
7. Payment system: pay the claim
8. Claims handler: inform the customer
`;

function errorOf(f: () => unknown): AppError {
  try {
    f();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('no error');
}

function flat(steps: readonly SopStep[]): SopStep[] {
  return steps.flatMap((s) => [s, ...flat(s.substeps ?? [])]);
}

describe('parseSopText', () => {
  it('reads title, purpose, scope, roles, numbered and lettered steps, role prefixes, inputs and outputs', () => {
    const sop = parseSopText(CLAIMS);
    expect(sop.title).toBe('Motor claims handling');
    expect(sop.purpose).toBe('Settle motor claims quickly and fairly.');
    expect(sop.scope).toBe('All motor claims below 50,000 EUR.');
    expect(sop.roles).toEqual([
      { id: 'claims-handler', name: 'Claims handler', kind: 'human' },
      { id: 'claims-ai', name: 'Claims AI', kind: 'ai' },
      { id: 'payment-system', name: 'Payment system', kind: 'system' },
    ]);
    expect(flat(sop.steps).map((s) => [s.number, s.title, s.actor])).toEqual([
      ['1', 'Register the claim', 'claims-handler'],
      ['2', 'Extract the damage details from the photos', 'claims-ai'],
      ['3', 'The claim is complete?', 'claims-ai'],
      ['4', 'Request the missing information', 'claims-handler'],
      ['5', 'Check the claim', 'claims-handler'],
      ['5.1', 'Check the policy cover', 'claims-ai'],
      ['5.2', 'Score the fraud risk', 'claims-ai'],
      ['6', 'Decide on the claim', 'claims-handler'],
      ['7', 'Pay the claim', 'payment-system'],
      ['8', 'Inform the customer', 'claims-handler'],
    ]);
    expect(sop.steps[0]).toMatchObject({ inputs: ['claim form', 'policy number'], outputs: ['claim record'], bpmnRef: 'Step_1' });
  });

  it('reads "If … go to step N / Otherwise …" decisions, on their own line, below a step or after its action', () => {
    const steps = parseSopText(CLAIMS).steps;
    expect(steps[2]?.decision).toEqual({
      question: 'The claim is complete?',
      branches: [
        { condition: 'the claim is complete', goTo: '5' },
        { condition: 'Otherwise', goTo: '4' },
      ],
    });
    expect(steps[3]?.decision?.branches).toEqual([
      { condition: 'the customer answers', goTo: '2' },
      { condition: 'Otherwise', goTo: 'end' },
    ]);
    expect(steps[5]?.decision).toEqual({
      question: 'Approved?',
      branches: [
        { condition: 'approved', goTo: '7' },
        { condition: 'Otherwise', goTo: '8' },
      ],
    });
  });

  it('turns conditional actions ("If A, do X. Otherwise, do Y.") into a decision point and a step per action', () => {
    const sop = parseSopText(`# Payments
1. Clerk: check the invoice
2. If the amount exceeds 1,000 EUR, Manager: approve the payment.
3. If the invoice is a duplicate, reject it. Otherwise, book it.
4. Clerk: archive the invoice. If archiving fails, go to step 1.`);
    expect(sop.steps.map((s) => [s.number, s.title, s.actor, s.decision?.branches.map((b) => `${b.condition} -> ${b.goTo}`), s.next])).toEqual([
      ['1', 'Check the invoice', 'clerk', undefined, undefined],
      ['2', 'The amount exceeds 1,000 EUR?', 'clerk', ['the amount exceeds 1,000 EUR -> 3', 'Otherwise -> 4'], undefined],
      ['3', 'Approve the payment', 'manager', undefined, undefined],
      ['4', 'The invoice is a duplicate?', 'manager', ['the invoice is a duplicate -> 5', 'Otherwise -> 6'], undefined],
      ['5', 'Reject it', 'manager', undefined, ['7']],
      ['6', 'Book it', 'manager', undefined, undefined],
      ['7', 'Archive the invoice', 'clerk', ['archiving fails -> 1'], undefined],
    ]);
  });

  it('reads exceptions under a step', () => {
    const step = parseSopText(CLAIMS).steps[4]?.substeps?.[1];
    expect(step?.exceptions).toEqual([{ trigger: 'no score within 2 hours', handling: 'escalate to the fraud team', bpmnRef: 'Step_5_2_exception_1' }]);
  });

  it('nests steps by indentation and by hierarchical numbers, and maps written numbers for go-to', () => {
    const sop = parseSopText(`Expense claims
1. Submit the claim
   1. Fill in the form
   2. Attach receipts
2. Review
2.1 Check the receipts
2.2 Approve. If the amount is too high, go to step 1.2.
Step 3: Pay the expenses. If paid by cheque, go to step 1.`);
    expect(sop.title).toBe('Expense claims');
    expect(flat(sop.steps).map((s) => [s.number, s.title])).toEqual([
      ['1', 'Submit the claim'],
      ['1.1', 'Fill in the form'],
      ['1.2', 'Attach receipts'],
      ['2', 'Review'],
      ['2.1', 'Check the receipts'],
      ['2.2', 'Approve'],
      ['3', 'Pay the expenses'],
    ]);
    expect(sop.steps[1]?.substeps?.[1]?.decision?.branches[0]).toEqual({ condition: 'the amount is too high', goTo: '1.2' });
    expect(sop.steps[2]?.decision?.branches[0]).toEqual({ condition: 'paid by cheque', goTo: '1' });
  });

  it('makes the substeps of an "In parallel:" step one parallel group', () => {
    const sop = parseSopText(`# Onboarding
1. HR: sign the contract
2. In parallel:
   a) IT: set up the laptop
   b) Facilities: prepare the desk
3. HR: welcome the employee`);
    expect(sop.steps[1]?.title).toBe('In parallel');
    expect(sop.steps[1]?.substeps?.map((s) => [s.title, s.parallelGroup])).toEqual([
      ['Set up the laptop', 'parallel-2'],
      ['Prepare the desk', 'parallel-2'],
    ]);
  });

  it('fails with parse-error and the line for a go-to that names no step', () => {
    const e = errorOf(() => parseSopText('# T\n1. Check\n2. Decide\n   If late, go to step 9.\n'));
    expect(e.code).toBe('parse-error');
    expect(e.message).toMatch(/line 4.*step 9/);
    expect(e.extras).toMatchObject({ position: { line: 4 }, reason: '"go to step 9" names no step' });
  });

  it('fails with parse-error when there is no numbered step', () => {
    const e = errorOf(() => parseSopDocument('Just some prose about claims.\nNothing numbered here.'));
    expect(e.code).toBe('parse-error');
    expect(e.message).toMatch(/no numbered steps/);
  });

  it('is deterministic', () => {
    expect(JSON.stringify(parseSopText(CLAIMS))).toBe(JSON.stringify(parseSopText(CLAIMS)));
  });

  it('reads hostile lines in linear time and refuses over-long ones', () => {
    const pad = ' '.repeat(9_000);
    const hostile = [`# Title${pad}x`, `1. If${pad}x${pad.slice(0, 500)}`, `   If a${pad}`, `   Exceptions:`, `   - x:${pad}: y`, '2. Done'].join('\n');
    const started = performance.now();
    const sop = parseSopText(hostile);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(sop.steps.map((s) => s.number)).toEqual(['1', '2']);
    const e = errorOf(() => parseSopText(`1. ${'x'.repeat(20_000)}`));
    expect(e.code).toBe('parse-error');
    expect(e.message).toMatch(/line 1: line is longer than 10000 characters/);
  });
});

describe('parseSopDocument with JSON', () => {
  const valid: Sop = {
    title: 'Tiny',
    purpose: '',
    scope: '',
    markdown: '',
    roles: [{ id: 'clerk', name: 'Clerk', kind: 'human' }],
    steps: [{ number: '1', title: 'Do it', actor: 'clerk', inputs: [], outputs: [], bpmnRef: 'Task_1', exceptions: [] }],
  };

  it('accepts a JSON SOP, with optional parts defaulted', () => {
    expect(parseSopDocument(JSON.stringify(valid))).toEqual(valid);
    const minimal = parseSopDocument('{"title":"Min","steps":[{"number":"1","title":"Only step"}]}');
    expect(minimal).toEqual({
      title: 'Min',
      purpose: '',
      scope: '',
      markdown: '',
      roles: [],
      steps: [{ number: '1', title: 'Only step', actor: '', inputs: [], outputs: [], bpmnRef: '', exceptions: [] }],
    });
  });

  it('refuses JSON that does not parse with parse-error', () => {
    const e = errorOf(() => parseSopDocument('{"title": "x", '));
    expect(e.code).toBe('parse-error');
    expect(e.message).toMatch(/not valid JSON/);
  });

  it('refuses a file named .json that is not JSON with parse-error', () => {
    expect(errorOf(() => parseSopDocument('1. A step', { name: 'sop.json' })).code).toBe('parse-error');
  });

  it('refuses a JSON value that is not an SOP with params-invalid naming each path', () => {
    const bad = { title: '', steps: [{ number: 'one', title: 'x', exceptions: [{ trigger: 1 }] }], roles: [{ id: 'r', name: 'R', kind: 'robot' }] };
    const e = errorOf(() => parseSopDocument(JSON.stringify(bad)));
    expect(e.code).toBe('params-invalid');
    const paths = (e.extras.errors as { path: string }[]).map((x) => x.path).sort();
    expect(paths).toEqual(['roles.0.kind', 'steps.0.exceptions.0.handling', 'steps.0.exceptions.0.trigger', 'steps.0.number', 'title']);
  });

  it('refuses an SOP with no steps and one with a step number used twice', () => {
    expect(errorOf(() => parseSopDocument('{"title":"x","steps":[]}')).extras.errors).toEqual([{ path: 'steps', message: 'an SOP needs at least one step' }]);
    const twice = { ...valid, steps: [...valid.steps, { ...valid.steps[0], title: 'Again' }] };
    const e = errorOf(() => parseSopDocument(JSON.stringify(twice)));
    expect(e.code).toBe('params-invalid');
    expect(e.message).toMatch(/step number 1 is used twice/);
  });
});

describe('parseSopDocument with the Markdown of renderSopMarkdown', () => {
  const DATA = '/work/shared/data/bpmn';
  const files = ['complex.bpmn', 'vendor/yaoqiang-event-definitions.bpmn', 'vendor/case-agile-local-ns-declaration.bpmn', 'multiInstanceLoopCharacteristics.bpmn', 'simple.bpmn', 'ad-hoc.bpmn'];
  const squash = (s: string) => s.replace(/\s+/g, ' ').trim();
  const view = (s: SopStep) => ({
    number: s.number,
    title: squash(s.title),
    actor: s.actor,
    bpmnRef: s.bpmnRef,
    bpmnType: s.bpmnType,
    next: s.next,
    parallelGroup: s.parallelGroup,
    inputs: s.inputs.map(squash),
    outputs: s.outputs.map(squash),
    decision: s.decision && { question: squash(s.decision.question), branches: s.decision.branches.map((b) => ({ condition: squash(b.condition), goTo: b.goTo })) },
    exceptions: s.exceptions.map((x) => ({ trigger: squash(x.trigger), handling: x.handling, bpmnRef: x.bpmnRef })),
  });

  for (const file of files) {
    it(`reads back every step of ${file}`, async () => {
      const sop = generateSop((await importBpmn(readFileSync(join(DATA, file)))).model);
      const back = parseSopDocument(sop.markdown);
      expect(back.title).toBe(squash(sop.title));
      expect(back.roles).toEqual(sop.roles);
      expect(flat(back.steps).map(view)).toEqual(flat(sop.steps).map(view));
    });
  }
});
