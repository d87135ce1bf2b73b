/**
 * Acceptance: BPMN → SOP → BPMN on every `import` document of the shared corpus that has
 * tasks preserves the task set (ids), the gateway structure and the reachability of every
 * task; the regenerated BPMN re-imports without warnings and passes bpmnlint's
 * recommended rules with no finding. All documents, not a rate.
 *
 * Gateway structure, as compared here (both models read by the same importer):
 * - decision points: every diverging gateway that is not parallel, and every activity or
 *   event that splits on conditions itself. A regenerated exclusive gateway that only
 *   follows one such activity stands for it. Same set of ids, same gateway types, and per
 *   decision point the same branches, each given by the first steps it reaches;
 * - parallel splits (diverging parallel gateways, and activities or events with several
 *   unconditional flows): the same multiset of branch signatures.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importBpmn } from '../../../src/realms/journey/import.js';
import type { ModelNode, ProcessModel } from '../../../src/realms/journey/model.js';
import { generateSop, isStepNode } from '../../../src/realms/journey/sop.js';
import { sopToFlowSpec, writeBpmn } from '../../../src/realms/journey/write/index.js';

const DATA = '/work/shared/data/bpmn';

interface ManifestEntry {
  file: string;
  expect: 'import' | 'report' | 'refuse';
  tasks: string[];
}

const manifest = JSON.parse(readFileSync(join(DATA, 'manifest.json'), 'utf8')) as { files: ManifestEntry[] };
const documents = manifest.files.filter((f) => f.expect === 'import' && f.tasks.length > 0);

interface Graph {
  node: Map<string, ModelNode>;
  succ: Map<string, string[]>;
  flow: Map<string, { from: string; to: string; conditional: boolean }>;
}

function graphOf(model: ProcessModel): Graph {
  const node = new Map(model.nodes.map((n) => [n.id, n] as const));
  const succ = new Map<string, string[]>(model.nodes.map((n) => [n.id, []]));
  const flow = new Map<string, { from: string; to: string; conditional: boolean }>();
  for (const f of model.sequenceFlows) {
    succ.get(f.from)?.push(f.to);
    flow.set(f.id, { from: f.from, to: f.to, conditional: f.condition !== undefined || f.isDefault });
  }
  return { node, succ, flow };
}

const TASK_CATEGORIES = new Set(['task', 'subProcess', 'callActivity']);

function taskIds(model: ProcessModel): string[] {
  return model.nodes.filter((n) => TASK_CATEGORIES.has(n.category)).map((n) => n.id).sort();
}

/**
 * Nodes a process instance can reach: from start events and from nodes without incoming
 * flows (BPMN instantiates those when a container starts), along sequence flows, into
 * the boundary events of reached activities and the children of reached sub-processes
 * (every child of an ad-hoc sub-process is enabled when it starts).
 */
function reachable(model: ProcessModel): Set<string> {
  const g = graphOf(model);
  const seen = new Set<string>();
  const roots = (container: string): string[] =>
    model.nodes
      .filter((n) => n.container === container && n.attachedTo === undefined)
      .filter((n) => n.type === 'startEvent' || n.incoming.length === 0 || g.node.get(container)?.subProcessKind === 'adHoc')
      .map((n) => n.id);
  const queue = model.processes.flatMap((p) => roots(p.id));
  while (queue.length > 0) {
    const id = queue.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    const n = g.node.get(id);
    if (!n) continue;
    queue.push(...(g.succ.get(id) ?? []), ...n.boundaryEvents);
    if (n.childNodes) queue.push(...roots(n.id));
  }
  return seen;
}

/** The first steps (or 'end') a node leads to, through joins, parallel gateways and plain events. */
function firstSteps(g: Graph, id: string, seen = new Set<string>()): string[] {
  const n = g.node.get(id);
  if (!n) return [];
  if (isStepNode(n)) return [id];
  const outs = g.succ.get(id) ?? [];
  if (outs.length === 0) return ['end'];
  if (seen.has(id)) return [];
  seen.add(id);
  return [...new Set(outs.flatMap((o) => firstSteps(g, o, seen)))].sort();
}

function branchSignature(g: Graph, n: ModelNode): string {
  return n.outgoing
    .map((f) => g.flow.get(f)?.to)
    .filter((t): t is string => t !== undefined)
    .map((t) => firstSteps(g, t).join('+'))
    .sort()
    .join(' | ');
}

function isParallelSplit(g: Graph, n: ModelNode): boolean {
  if (n.outgoing.length < 2) return false;
  if (n.category === 'gateway') return n.type === 'parallelGateway';
  return n.outgoing.every((f) => !g.flow.get(f)?.conditional);
}

/** Decision points by id: the gateway type (or the implicit split) and the branches. */
function decisions(model: ProcessModel): Map<string, { type: string; branches: string }> {
  const g = graphOf(model);
  const out = new Map<string, { type: string; branches: string }>();
  for (const n of model.nodes) {
    if (n.outgoing.length < 2 || isParallelSplit(g, n)) continue;
    let anchor = n.id;
    let type = n.category === 'gateway' ? n.type : 'implicit';
    // A gateway the writer put right after an activity that decides stands for that activity.
    if (n.type === 'exclusiveGateway' && n.id.endsWith('_decision') && n.incoming.length === 1) {
      const from = g.flow.get(n.incoming[0] as string)?.from;
      const src = from === undefined ? undefined : g.node.get(from);
      if (src && src.category !== 'gateway' && src.outgoing.length === 1) {
        anchor = src.id;
        type = 'implicit';
      }
    }
    out.set(anchor, { type, branches: branchSignature(g, n) });
  }
  return out;
}

function parallelSplits(model: ProcessModel): string[] {
  const g = graphOf(model);
  return model.nodes.filter((n) => isParallelSplit(g, n)).map((n) => branchSignature(g, n)).sort();
}

/** Round trip of one document: the checks every corpus document passes. */
async function roundTrip(bytes: Buffer, expectedTasks: string[]): Promise<ProcessModel> {
  const original = await importBpmn(bytes);
  const sop = generateSop(original.model);
  const { xml, lint } = await writeBpmn(sopToFlowSpec(sop));
  const again = await importBpmn(Buffer.from(xml, 'utf8'));

  expect(again.warnings).toEqual([]);
  // Discouraged gateway types are kept when the original has them (their semantics matter
  // more than the style rule); nothing else may be reported.
  const kept = new Set(original.model.nodes.map((n) => n.type));
  const discouraged = (f: { rule: string }) =>
    (f.rule === 'no-inclusive-gateway' && kept.has('inclusiveGateway')) || (f.rule === 'no-complex-gateway' && kept.has('complexGateway'));
  expect(lint.filter((f) => !discouraged(f))).toEqual([]);

  // Task set: exactly the expected ids, each once.
  const tasks = taskIds(again.model);
  expect(tasks).toEqual([...expectedTasks].sort());
  expect(taskIds(original.model)).toEqual(tasks);

  // Gateway structure.
  expect(decisions(again.model)).toEqual(decisions(original.model));
  expect(parallelSplits(again.model)).toEqual(parallelSplits(original.model));

  // Reachability of every task.
  const before = reachable(original.model);
  const after = reachable(again.model);
  for (const t of expectedTasks) expect({ task: t, reachable: after.has(t) }).toEqual({ task: t, reachable: before.has(t) });
  return again.model;
}

describe('BPMN → SOP → BPMN round trip on the shared corpus', () => {
  it('covers every import document with tasks', () => {
    expect(documents.length).toBeGreaterThanOrEqual(20);
  });

  for (const doc of documents) {
    it(`preserves tasks, gateways and reachability: ${doc.file}`, async () => {
      await roundTrip(readFileSync(join(DATA, doc.file)), doc.tasks);
    });
  }
});

describe('BPMN → SOP → BPMN round trip of constructs the corpus lacks', () => {
  // The journey realm's hand-built fixtures: gateways of every kind, loops, boundary events,
  // sub-processes, pools with message flows.
  const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'journey');
  const fixtures = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((f) => f.endsWith('.bpmn')).sort() : [];
  for (const file of fixtures) {
    it(`preserves tasks, gateways and reachability: fixtures/journey/${file}`, async () => {
      const bytes = readFileSync(join(FIXTURES, file));
      const model = await roundTrip(bytes, taskIds((await importBpmn(bytes)).model));
      // An inclusive split's branches meet again at an inclusive join.
      const splits = model.nodes.filter((n) => n.type === 'inclusiveGateway' && n.outgoing.length > 1).length;
      const joins = model.nodes.filter((n) => n.type === 'inclusiveGateway' && n.incoming.length > 1).length;
      expect(joins).toBe(splits);
    });
  }

  it('keeps an event sub-process as an event sub-process with a typed start', async () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="urn:x">
  <bpmn:process id="P" isExecutable="false">
    <bpmn:startEvent id="S"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="T1" name="Work"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="B1" name="Late" attachedToRef="T1"><bpmn:outgoing>f3</bpmn:outgoing><bpmn:timerEventDefinition><bpmn:timeDuration>PT4H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:task id="T3" name="Escalate"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:task>
    <bpmn:endEvent id="E"><bpmn:incoming>f2</bpmn:incoming><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="T1"/>
    <bpmn:sequenceFlow id="f2" sourceRef="T1" targetRef="E"/>
    <bpmn:sequenceFlow id="f3" sourceRef="B1" targetRef="T3"/>
    <bpmn:sequenceFlow id="f4" sourceRef="T3" targetRef="E"/>
    <bpmn:subProcess id="ESP" triggeredByEvent="true">
      <bpmn:startEvent id="ES"><bpmn:outgoing>g1</bpmn:outgoing><bpmn:messageEventDefinition/></bpmn:startEvent>
      <bpmn:task id="T2" name="Handle the cancellation"><bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing></bpmn:task>
      <bpmn:endEvent id="EE"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="g1" sourceRef="ES" targetRef="T2"/>
      <bpmn:sequenceFlow id="g2" sourceRef="T2" targetRef="EE"/>
    </bpmn:subProcess>
  </bpmn:process>
</bpmn:definitions>`;
    const model = await roundTrip(Buffer.from(xml), ['T1', 'T2', 'T3', 'ESP']);
    const esp = model.nodes.find((n) => n.id === 'ESP');
    expect(esp?.triggeredByEvent).toBe(true);
    const start = model.nodes.find((n) => n.container === 'ESP' && n.type === 'startEvent');
    expect(start?.eventDefinitions.map((d) => d.kind)).toEqual(['message']);
    const b1 = model.nodes.find((n) => n.id === 'B1');
    expect(b1?.eventDefinitions).toMatchObject([{ kind: 'timer', expression: 'PT4H' }]);
  });
});
