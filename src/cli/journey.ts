/**
 * @module cli/journey
 * Offline journey verbs on a local BPMN file:
 * - `symphainy sop <file.bpmn> [--format md|json] [--process id] [--data-dir d]` runs
 *   `generate_sop` and prints the SOP as Markdown (default) or JSON;
 * - `symphainy coexistence <file.bpmn> [--json] [-o blueprint.bpmn] [--escalate-below n]
 *   [--sla-hours h] [--data-dir d]` runs `analyze_coexistence` then
 *   `generate_coexistence_blueprint`, prints the blueprint report (or, with `--json`, the
 *   analysis and the blueprint) and optionally writes the blueprint's BPMN.
 * Import warnings go to stderr, one line each (`warning: …`), besides being in the output.
 * Bad input ends with a one-line reason and exit 1; usage errors exit 2.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import type { CoexistenceAnalysis, CoexistenceBlueprint, Sop, Workflow } from '../realms/journey/types.js';
import { CliError, printJson, usageError, type Command } from './command.js';
import { putLocalFile, runIntentOffline, withOfflineRuntime, type OfflineResult } from './offline.js';

const BPMN_MEDIA_TYPE = 'application/bpmn+xml';

function bodyOf<B>(result: OfflineResult, kind: string, intent: string): B {
  const a = result.artifacts.find((x) => x.kind === kind);
  if (!a) throw new CliError(`${intent} produced no ${kind}`);
  return a.body as B;
}

function printWarnings(warnings: { elementId?: string; message: string }[] | undefined): void {
  for (const w of warnings ?? []) process.stderr.write(`warning: ${w.elementId ? `${w.elementId}: ` : ''}${w.message.replace(/\s+/g, ' ')}\n`);
}

function oneFile(verb: string, positionals: string[]): string {
  const [input, extra] = positionals;
  if (input === undefined) throw usageError(`${verb} needs a BPMN file`);
  if (extra !== undefined) throw usageError(`${verb} takes one BPMN file, got also ${extra}`);
  return input;
}

function numberOption(value: string | undefined, name: string, check: (n: number) => boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || !check(n)) throw usageError(`--${name} ${value} is out of range`);
  return n;
}

export const sopCommand: Command = {
  name: 'sop',
  usage: 'sop <file.bpmn> [--format md|json] [--process id] [--data-dir d]   BPMN -> SOP',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        format: { type: 'string', default: 'md' },
        process: { type: 'string' },
        'data-dir': { type: 'string' },
      },
    });
    const input = oneFile('sop', positionals);
    const format = values.format;
    if (format !== 'md' && format !== 'json') throw usageError(`--format must be md or json, not ${format}`);
    return withOfflineRuntime(values['data-dir'], async (session) => {
      const file = await putLocalFile(session, input, { mediaType: BPMN_MEDIA_TYPE });
      const workflow = values.process === undefined ? { fileId: file.id } : { fileId: file.id, processId: values.process };
      const result = await runIntentOffline(session, 'generate_sop', { workflow });
      const sop = bodyOf<Sop>(result, 'sop', 'generate_sop');
      printWarnings(sop.warnings);
      if (format === 'json') printJson(sop, false);
      else process.stdout.write(sop.markdown);
      return 0;
    });
  },
};

export const coexistenceCommand: Command = {
  name: 'coexistence',
  usage: 'coexistence <file.bpmn> [--json] [-o blueprint.bpmn] [--escalate-below n] [--sla-hours h] [--data-dir d]   human/AI analysis and blueprint',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        out: { type: 'string', short: 'o' },
        'escalate-below': { type: 'string' },
        'sla-hours': { type: 'string' },
        'data-dir': { type: 'string' },
      },
    });
    const input = oneFile('coexistence', positionals);
    const escalateBelow = numberOption(values['escalate-below'], 'escalate-below', (n) => n >= 0 && n <= 1);
    const humanSlaHours = numberOption(values['sla-hours'], 'sla-hours', (n) => n > 0);
    return withOfflineRuntime(values['data-dir'], async (session) => {
      const file = await putLocalFile(session, input, { mediaType: BPMN_MEDIA_TYPE });
      const analysed = await runIntentOffline(session, 'analyze_coexistence', { workflow: { fileId: file.id } });
      const imported = bodyOf<Workflow & { warnings?: { elementId?: string; message: string }[] }>(analysed, 'workflow', 'analyze_coexistence');
      printWarnings(imported.warnings);
      const analysis = bodyOf<CoexistenceAnalysis>(analysed, 'coexistenceAnalysis', 'analyze_coexistence');
      const analysisId = analysed.artifacts.find((a) => a.kind === 'coexistenceAnalysis')?.id as string;
      const params: Record<string, unknown> = { analysisId };
      if (escalateBelow !== undefined) params.escalateBelow = escalateBelow;
      if (humanSlaHours !== undefined) params.humanSlaHours = humanSlaHours;
      const built = await runIntentOffline(session, 'generate_coexistence_blueprint', params);
      const blueprint = bodyOf<CoexistenceBlueprint>(built, 'coexistenceBlueprint', 'generate_coexistence_blueprint');
      const workflow = bodyOf<Workflow>(built, 'workflow', 'generate_coexistence_blueprint');
      if (values.out !== undefined) {
        try {
          await pipeline(await session.stores.blobs.read(session.tenantId, workflow.xmlBlobId), createWriteStream(values.out));
        } catch (e) {
          throw new CliError(`cannot write ${values.out}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
        }
      }
      if (values.json) printJson({ analysis, blueprint, lint: workflow.lint }, true);
      else {
        process.stdout.write(blueprint.report);
        if (values.out !== undefined) process.stdout.write(`\nwrote ${values.out} (bpmnlint: ${workflow.lint.length === 0 ? 'no findings' : `${workflow.lint.length} findings`})\n`);
      }
      return 0;
    });
  },
};

export const journeyCommands: Command[] = [sopCommand, coexistenceCommand];
