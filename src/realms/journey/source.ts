/**
 * @module realms/journey/source
 * Where a journey intent's BPMN comes from (`WorkflowIn` of DOMAIN.md): a `workflow`
 * artifact (its `xmlBlobId`) or an uploaded file, read from the blob store and imported.
 */
import { AppError } from '../../errors.js';
import { assertGranted, type GrantedContract } from '../../machines/contract.js';
import type { ArtifactStore, BlobStore } from '../../persistence/ports.js';
import { DEFAULT_BPMN_MAX_BYTES } from './import.js';
import { importBpmnOffThread, type ImportedModel } from './importThread.js';
import type { Workflow } from './types.js';

export type WorkflowIn = { workflowId: string } | { fileId: string; processId?: string | undefined };

export interface JourneyDeps {
  readonly artifacts: ArtifactStore;
  readonly blobs: BlobStore;
}

export interface LoadedWorkflow {
  /** The imported model and warnings (large documents are imported on a worker thread). */
  imported: ImportedModel;
  /** The blob holding the XML. */
  fileId: string;
  /** The workflow artifact it came from; absent for an uploaded file (not yet a workflow). */
  workflowId?: string;
  processId?: string;
}

/**
 * A blob's bytes, refused with `payload-too-large` as soon as more than `maxBytes` arrive
 * (the stream is not read further); `not-found` for an unknown blob.
 */
export async function readBlobBytes(blobs: BlobStore, tenantId: string, id: string, maxBytes: number): Promise<Buffer> {
  const info = await blobs.info(tenantId, id);
  if (!info) throw new AppError('not-found', `No file ${id}`);
  if (info.bytes > maxBytes) {
    throw new AppError('payload-too-large', `File ${id} has ${info.bytes} bytes, above the BPMN limit of ${maxBytes}`, { extras: { bytes: info.bytes, maxBytes } });
  }
  const stream = await blobs.read(tenantId, id);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    total += b.length;
    if (total > maxBytes) {
      stream.destroy();
      throw new AppError('payload-too-large', `File ${id} is above the BPMN limit of ${maxBytes} bytes`, { extras: { maxBytes } });
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Reads and imports the BPMN a journey intent names. A `workflowId` must be a `workflow`
 * artifact of the tenant (`not-found` otherwise). Import errors surface as they are
 * (`bpmn-invalid`, `unsafe-content`, `payload-too-large`).
 */
export async function loadWorkflow(
  deps: JourneyDeps,
  tenantId: string,
  input: WorkflowIn,
  contract: GrantedContract,
  options: { maxBytes?: number } = {},
): Promise<LoadedWorkflow> {
  assertGranted(contract, { tenantId, realm: 'journey' });
  const maxBytes = options.maxBytes ?? DEFAULT_BPMN_MAX_BYTES;
  if ('workflowId' in input) {
    const artifact = await deps.artifacts.get(tenantId, input.workflowId);
    if (!artifact || artifact.kind !== 'workflow') throw new AppError('not-found', `No workflow ${input.workflowId}`);
    const body = artifact.body as Partial<Workflow> | null;
    if (!body || typeof body.xmlBlobId !== 'string') throw new AppError('not-found', `Workflow ${input.workflowId} holds no BPMN`);
    const bytes = await readBlobBytes(deps.blobs, tenantId, body.xmlBlobId, maxBytes);
    return { imported: await importBpmnOffThread(bytes, { maxBytes }), fileId: body.xmlBlobId, workflowId: artifact.id };
  }
  const bytes = await readBlobBytes(deps.blobs, tenantId, input.fileId, maxBytes);
  const loaded: LoadedWorkflow = { imported: await importBpmnOffThread(bytes, { maxBytes }), fileId: input.fileId };
  if (input.processId !== undefined) loaded.processId = input.processId;
  return loaded;
}
