/**
 * @module intents/journeyWrite
 * `create_workflow`: an SOP (a stored `sop` artifact, text, or an uploaded file holding JSON,
 * Markdown or numbered text) becomes BPMN 2.0 with pools, lanes and diagram layout, stored as
 * a file; the `workflow` artifact summarises it and carries the bpmnlint findings.
 */
import { z } from 'zod';
import { AppError } from '../errors.js';
import { derivedId } from '../ids.js';
import { assertGranted, type GrantedContract } from '../machines/contract.js';
import { parseSopDocument, validateSop } from '../realms/journey/sopText.js';
import type { Sop, Workflow } from '../realms/journey/types.js';
import { sopToFlowSpec, summarizeFlowSpec, writeBpmn } from '../realms/journey/write/index.js';
import type { IntentContext, IntentDefinition } from './registry.js';

/** Largest SOP text or file read, in bytes (an SOP is a document, not a data set). */
export const SOP_MAX_BYTES = 4 * 1024 * 1024;

const Id = z.string().min(1).max(200);

const CreateWorkflowParams = z
  .object({
    from: z.union([
      z.object({ sopId: Id }).strict(),
      z.object({ text: z.string().min(1).max(SOP_MAX_BYTES) }).strict(),
      z.object({ fileId: Id }).strict(),
    ]),
  })
  .strict();

export type CreateWorkflowParams = z.infer<typeof CreateWorkflowParams>;

/** Decodes a file's bytes: UTF-16 by its BOM, else UTF-8 (invalid bytes become U+FFFD). */
function decodeText(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  return new TextDecoder('utf-8').decode(bytes);
}

async function readFile(ctx: IntentContext, fileId: string): Promise<{ text: string; name: string }> {
  const info = await ctx.stores.blobs.info(ctx.tenantId, fileId);
  if (!info) throw new AppError('not-found', `No file ${fileId}`);
  if (info.bytes > SOP_MAX_BYTES) throw new AppError('payload-too-large', `SOP file ${info.name} has ${info.bytes} bytes; at most ${SOP_MAX_BYTES} are read`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of await ctx.stores.blobs.read(ctx.tenantId, fileId)) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    total += buf.byteLength;
    if (total > SOP_MAX_BYTES) throw new AppError('payload-too-large', `SOP file ${info.name} is larger than ${SOP_MAX_BYTES} bytes`);
    chunks.push(buf);
  }
  return { text: decodeText(Buffer.concat(chunks)), name: info.name };
}

async function loadSop(ctx: IntentContext, from: CreateWorkflowParams['from']): Promise<{ sop: Sop; inputs: string[]; fileIds: string[] }> {
  if ('sopId' in from) {
    const artifact = await ctx.stores.artifacts.get(ctx.tenantId, from.sopId);
    if (!artifact) throw new AppError('not-found', `No SOP ${from.sopId}`);
    if (artifact.kind !== 'sop') throw new AppError('params-invalid', `Artifact ${from.sopId} is a ${artifact.kind}, not an sop`, { extras: { errors: [{ path: 'params.from.sopId', message: `is a ${artifact.kind} artifact` }] } });
    return { sop: validateSop(artifact.body), inputs: [artifact.id], fileIds: [] };
  }
  if ('text' in from) return { sop: parseSopDocument(from.text), inputs: [], fileIds: [] };
  const file = await readFile(ctx, from.fileId);
  return { sop: parseSopDocument(file.text, { name: file.name }), inputs: [], fileIds: [from.fileId] };
}

function fileName(title: string): string {
  const slug = title
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
  return `${slug || 'workflow'}.bpmn`;
}

/**
 * `create_workflow`: SOP → BPMN with pools, lanes and DI; artifact `workflow` (with lint
 * findings). Idempotent: the BPMN file's id derives from the actor id, and a re-run after a
 * crash reuses the file already stored instead of writing it twice.
 */
export const createWorkflowIntent: IntentDefinition<CreateWorkflowParams> = {
  type: 'create_workflow',
  realm: 'journey',
  mode: 'short',
  description: 'Turns an SOP (stored, text, or an uploaded JSON/Markdown/text file) into BPMN 2.0 with lanes and layout, linted with bpmnlint.',
  params: CreateWorkflowParams,
  async handler(ctx, params, contract) {
    assertGranted(contract, { tenantId: ctx.tenantId, realm: 'journey' });
    const { sop, inputs, fileIds } = await loadSop(ctx, params.from);
    const spec = sopToFlowSpec(sop);
    const { xml, lint } = await writeBpmn(spec);
    const id = derivedId('fil', ctx.actorId, 'workflow');
    const stored =
      (await ctx.stores.blobs.info(ctx.tenantId, id)) ??
      (await ctx.stores.blobs.write(
        ctx.tenantId,
        { id, name: fileName(sop.title), mediaType: 'application/bpmn+xml', maxBytes: contract.contract.dataPolicy.maxBytes },
        (async function* () {
          yield Buffer.from(xml, 'utf8');
        })(),
      ));
    const workflow: Workflow = { xmlBlobId: stored.id, lint, ...summarizeFlowSpec(spec) };
    return [await ctx.emit('workflow', workflow, { inputs, fileIds: [...fileIds, stored.id] })];
  },
};
