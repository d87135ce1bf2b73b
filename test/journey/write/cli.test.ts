import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBpmn } from '../../../src/realms/journey/import.js';
import { generateSop } from '../../../src/realms/journey/sop.js';
import { inspectBpmn, missingDi } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
let dir: string;

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'symphainy-workflow-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('symphainy workflow', { timeout: 120_000 }, () => {
  it('writes BPMN from a text SOP and prints a one-line summary', async () => {
    const input = join(dir, 'claims.txt');
    writeFileSync(input, '# Claims\n1. Clerk: register the claim\n2. Clerk: check it. If complete, go to step 3; otherwise go to step 1.\n3. Payment system: pay\n');
    const out = join(dir, 'claims.bpmn');
    const r = await cli('workflow', input, '-o', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`wrote ${out}: 2 lanes, 3 tasks, 7 flow nodes, 7 sequence flows; bpmnlint: no findings\n`);
    const report = await inspectBpmn(readFileSync(out, 'utf8'));
    expect(report.warnings).toEqual([]);
    expect(missingDi(report)).toEqual({ participants: [], lanes: [], flowNodes: [], sequenceFlows: [], messageFlows: [] });
  });

  it('writes BPMN from the Markdown and the JSON of a generated SOP, keeping the task ids', async () => {
    const source = readFileSync('/work/shared/data/bpmn/vendor/case-agile-local-ns-declaration.bpmn');
    const sop = generateSop((await importBpmn(source)).model);
    const md = join(dir, 'sop.md');
    const json = join(dir, 'sop.json');
    writeFileSync(md, sop.markdown);
    writeFileSync(json, JSON.stringify(sop));
    const dataDir = join(dir, 'data');
    for (const [input, out] of [
      [md, join(dir, 'from-md.bpmn')],
      [json, join(dir, 'from-json.bpmn')],
    ] as const) {
      const r = await cli('workflow', input, '-o', out, '--data-dir', dataDir, '--json');
      expect(r.code).toBe(0);
      const body = JSON.parse(r.stdout) as { lint: unknown[]; nodes: { id: string; type: string }[] };
      expect(body.lint).toEqual([]);
      const again = await importBpmn(readFileSync(out));
      const tasks = again.model.nodes.filter((n) => n.category === 'task').map((n) => n.id).sort();
      const want = (await importBpmn(source)).model.nodes.filter((n) => n.category === 'task').map((n) => n.id).sort();
      expect(tasks).toEqual(want);
    }
    // --data-dir keeps the store: the runs are recorded there.
    expect(readdirSync(dataDir).length).toBeGreaterThan(0);
  });

  it('exits non-zero with a one-line reason on bad input', async () => {
    const prose = join(dir, 'prose.txt');
    writeFileSync(prose, 'Nothing numbered here.\n');
    const badJson = join(dir, 'bad.json');
    writeFileSync(badJson, '{"title": 42, "steps": []}');
    const out = join(dir, 'never.bpmn');
    const cases: [string[], number, RegExp][] = [
      [['workflow', prose, '-o', out], 1, /^symphainy: parse-error: SOP: no numbered steps found/],
      [['workflow', badJson, '-o', out], 1, /^symphainy: params-invalid: SOP JSON failed validation: title: .*; steps: an SOP needs at least one step/],
      [['workflow', join(dir, 'missing.md'), '-o', out], 1, /^symphainy: cannot read .*missing\.md: ENOENT/],
      [['workflow', prose], 2, /^symphainy: workflow needs -o <out\.bpmn>/],
      [['workflow', '-o', out], 2, /^symphainy: workflow needs an SOP file/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(...args)));
    for (const [i, [args, code, reason]] of cases.entries()) {
      const r = results[i] as Awaited<ReturnType<typeof cli>>;
      expect({ args: args.join(' '), code: r.code }).toEqual({ args: args.join(' '), code });
      expect(r.stderr).toMatch(reason);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
    expect(existsSync(out)).toBe(false);
  });
});
