import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importBpmn } from '../../src/realms/journey/import.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const FIXTURES = join(ROOT, 'test/fixtures/journey');
const out = mkdtempSync(join(tmpdir(), 'symphainy-journey-cli-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Each run starts a process with tsx and a runtime on a temporary store: a few seconds each.
describe('symphainy sop and coexistence', { timeout: 180_000 }, () => {
  it('prints the SOP as Markdown and as JSON', () => {
    const md = cli('sop', join(FIXTURES, 'loop-boundary-sub.bpmn'));
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('### 3. Contract OK?');
    expect(md.stdout).toContain('#### 4.1. Sign contract');
    const json = cli('sop', join(FIXTURES, 'pools.bpmn'), '--format', 'json', '--process', 'PS');
    expect(json.code).toBe(0);
    const sop = JSON.parse(json.stdout) as { steps: { bpmnRef: string }[] };
    expect(sop.steps.map((s) => s.bpmnRef)).toEqual(['Confirm', 'SendInvoice']);
  });

  it('lists import warnings on stderr and still prints the SOP', () => {
    const r = cli('sop', '/work/shared/data/bpmn/error/unrecognized-child.bpmn');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^warning: unparsable content <bpmn2:unrecognized> detected at line 4, column 3: unknown type <bpmn:Unrecognized>\n$/);
    expect(r.stdout).toContain('## Import warnings');
  });

  it('ends with a one-line reason and a non-zero exit on bad input', () => {
    for (const [file, code] of [
      ['/work/shared/data/bpmn/error/no-xml.txt', 'bpmn-invalid'],
      ['/work/shared/data/bpmn/error/binary.png', 'bpmn-invalid'],
      ['/work/shared/data/bpmn/error/not-bpmn.bpmn', 'bpmn-invalid'],
    ] as const) {
      const r = cli('sop', file);
      expect(r.code, file).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^symphainy: ${code}: [^\\n]+\\n$`));
    }
    const missing = cli('coexistence', join(out, 'nope.bpmn'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^symphainy: cannot read .*nope\.bpmn: ENOENT\n$/);
    const usage = cli('sop', join(FIXTURES, 'pools.bpmn'), '--format', 'pdf');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toBe('symphainy: --format must be md or json, not pdf\n');
  });

  it('prints the coexistence report and writes the blueprint', async () => {
    const target = join(out, 'blueprint.bpmn');
    const r = cli('coexistence', join(FIXTURES, 'claims.bpmn'), '-o', target, '--sla-hours', '12');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('| hand-offs | 9 | 12 |');
    expect(r.stdout).toContain('| Approve claim payout (`Task_Approve`) | human | -2 | verb: approve (-1); judgement gateway next: Claim approved? (-1) |');
    expect(r.stdout).toContain(`wrote ${target}`);
    const back = await importBpmn(readFileSync(target));
    expect(back.warnings).toEqual([]);
    expect(back.model.nodes.find((n) => n.id === 'Task_Approve_sla')?.eventDefinitions[0]).toMatchObject({ kind: 'timer', expression: 'PT12H' });
    const json = cli('coexistence', join(FIXTURES, 'claims.bpmn'), '--json');
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { analysis: { tasks: { bpmnRef: string; classification: string }[] }; blueprint: { escalations: unknown[] } };
    expect(parsed.analysis.tasks.find((t) => t.bpmnRef === 'Task_Pay')?.classification).toBe('ai');
    expect(parsed.blueprint.escalations.length).toBeGreaterThan(0);
  });
});
