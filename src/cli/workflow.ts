/**
 * @module cli/workflow
 * `symphainy workflow <sop.md|sop.json|sop.txt> -o <out.bpmn>`: runs `create_workflow` offline
 * on a local SOP and writes the BPMN. Prints a one-line summary and the bpmnlint findings
 * (`--json`: the workflow artifact body); bad input ends with a one-line reason, exit 1.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import type { Workflow } from '../realms/journey/types.js';
import { CliError, printJson, usageError, type Command } from './command.js';
import { putLocalFile, runIntentOffline, withOfflineRuntime } from './offline.js';

function mediaTypeOf(path: string): string {
  if (/\.json$/i.test(path)) return 'application/json';
  if (/\.(md|markdown)$/i.test(path)) return 'text/markdown';
  return 'text/plain';
}

export const workflowCommand: Command = {
  name: 'workflow',
  usage: 'workflow <sop.md|sop.json|sop.txt> -o <out.bpmn> [--data-dir d] [--json]   SOP -> BPMN with lanes and layout',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: 'string', short: 'o' },
        'data-dir': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    const [input, extra] = positionals;
    if (input === undefined) throw usageError('workflow needs an SOP file (.md, .json or .txt)');
    if (extra !== undefined) throw usageError(`workflow takes one SOP file, got also ${extra}`);
    const out = values.out;
    if (out === undefined || out === '') throw usageError('workflow needs -o <out.bpmn>');
    return withOfflineRuntime(values['data-dir'], async (session) => {
      const file = await putLocalFile(session, input, { mediaType: mediaTypeOf(input) });
      const { artifacts } = await runIntentOffline(session, 'create_workflow', { from: { fileId: file.id } });
      const artifact = artifacts.find((a) => a.kind === 'workflow');
      if (!artifact) throw new CliError('create_workflow produced no workflow');
      const workflow = artifact.body as Workflow;
      try {
        await pipeline(await session.stores.blobs.read(session.tenantId, workflow.xmlBlobId), createWriteStream(out));
      } catch (e) {
        throw new CliError(`cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
      if (values.json) printJson(workflow, true);
      else {
        const tasks = workflow.nodes.filter((n) => /task$|^subProcess$|^callActivity$/i.test(n.type)).length;
        process.stdout.write(
          `wrote ${out}: ${workflow.lanes.length} lanes, ${tasks} tasks, ${workflow.nodes.length} flow nodes, ${workflow.flows.length} sequence flows; ` +
            `bpmnlint: ${workflow.lint.length === 0 ? 'no findings' : `${workflow.lint.length} findings`}\n`,
        );
        for (const f of workflow.lint) process.stdout.write(`  ${f.rule} ${f.elementId}: ${f.message}\n`);
      }
      return 0;
    });
  },
};
