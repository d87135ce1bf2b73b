import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importBpmn } from '../../src/realms/journey/import.js';
import { isTaskLike, type ProcessModel } from '../../src/realms/journey/model.js';
import { generateSop } from '../../src/realms/journey/sop.js';
import { sopToFlowSpec, writeBpmn } from '../../src/realms/journey/write/index.js';

const DATA = '/work/shared/data/bpmn';
const manifest = JSON.parse(readFileSync(join(DATA, 'manifest.json'), 'utf8')) as { files: { file: string; expect: string; tasks: string[] }[] };
const documents = [
  ...manifest.files.filter((f) => f.expect === 'import' && f.tasks.length > 0).map((f) => join(DATA, f.file)),
  ...['claims', 'gateways', 'loop-boundary-sub', 'pools', 'kitchen-sink'].map((n) => new URL(`../fixtures/journey/${n}.bpmn`, import.meta.url).pathname),
];

const tasks = (m: ProcessModel) => m.nodes.filter(isTaskLike).map((n) => n.id).sort();
const splits = (m: ProcessModel) => m.nodes.filter((n) => n.category === 'gateway' && n.outgoing.length > 1).map((n) => n.type).sort();

/** Tasks reachable from the start events: flows, boundary events, links, sub-process starts. */
function reachable(m: ProcessModel): Set<string> {
  const succ = new Map<string, string[]>();
  const add = (a: string, b: string) => succ.set(a, [...(succ.get(a) ?? []), b]);
  for (const f of m.sequenceFlows) add(f.from, f.to);
  for (const n of m.nodes) {
    if (n.attachedTo) add(n.attachedTo, n.id);
    for (const c of n.childNodes ?? []) if (m.nodes.find((x) => x.id === c)?.type === 'startEvent') add(n.id, c);
    const link = n.eventDefinitions.find((d) => d.kind === 'link')?.refName;
    if (n.type === 'intermediateThrowEvent' && link !== undefined) {
      for (const c of m.nodes) if (c.type === 'intermediateCatchEvent' && c.processId === n.processId && c.eventDefinitions.some((d) => d.kind === 'link' && d.refName === link)) add(n.id, c.id);
    }
  }
  const seen = new Set<string>();
  const stack = m.nodes.filter((n) => n.type === 'startEvent' && n.container === n.processId).map((n) => n.id);
  while (stack.length > 0) {
    const x = stack.pop() as string;
    if (seen.has(x)) continue;
    seen.add(x);
    stack.push(...(succ.get(x) ?? []));
  }
  return new Set(m.nodes.filter((n) => isTaskLike(n) && seen.has(n.id)).map((n) => n.id));
}

describe('BPMN -> SOP -> BPMN', () => {
  for (const path of documents) {
    it(`${path.split('/').slice(-2).join('/')} keeps tasks, gateway structure and reachability`, async () => {
      const before = (await importBpmn(readFileSync(path))).model;
      const { xml } = await writeBpmn(sopToFlowSpec(generateSop(before)));
      const back = await importBpmn(Buffer.from(xml));
      expect(back.warnings).toEqual([]);
      expect(tasks(back.model)).toEqual(tasks(before));
      expect(splits(back.model)).toEqual(splits(before));
      const after = reachable(back.model);
      for (const id of reachable(before)) expect(after.has(id), id).toBe(true);
    });
  }
});
