/**
 * @module http/routes/artifacts
 * Results of the caller's tenant: artifacts (list with filters and cursor pages, get, and the
 * blob behind a blob-backed artifact, streamed) and pages of a dataset's stored rows, as the
 * contract it was parsed under allows.
 */
import { Readable } from 'node:stream';
import { createRoute, z } from '@hono/zod-openapi';
import { AppError } from '../../errors.js';
import type { Artifact } from '../../persistence/ports.js';
import type { HttpApp, RouteDeps } from '../env.js';
import { ArtifactListQuery, ArtifactPageSchema, ArtifactSchema, BEARER, DatasetRowsSchema, IdParams, RowsQuery, jsonResponse, problems } from '../schemas.js';

export const artifactRoutes = {
  list: createRoute({
    method: 'get',
    path: '/v1/artifacts',
    tags: ['artifacts'],
    summary: 'List artifacts, newest first',
    operationId: 'listArtifacts',
    security: BEARER,
    request: { query: ArtifactListQuery },
    responses: { 200: jsonResponse(ArtifactPageSchema, 'A page of artifacts'), ...problems('params-invalid') },
  }),
  get: createRoute({
    method: 'get',
    path: '/v1/artifacts/{id}',
    tags: ['artifacts'],
    summary: 'One artifact with its body and lineage',
    operationId: 'getArtifact',
    security: BEARER,
    request: { params: IdParams('Artifact id') },
    responses: { 200: jsonResponse(ArtifactSchema, 'The artifact'), ...problems('not-found', 'params-invalid') },
  }),
  content: createRoute({
    method: 'get',
    path: '/v1/artifacts/{id}/content',
    tags: ['artifacts'],
    summary: 'The file behind a blob-backed artifact, streamed',
    description: 'For artifacts whose body names a blob (`xmlBlobId` of a workflow, `blobId` of an export). Other artifacts answer 404.',
    operationId: 'getArtifactContent',
    security: BEARER,
    request: { params: IdParams('Artifact id') },
    responses: {
      200: {
        description: 'The bytes, with the media type they were stored with',
        content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } },
      },
      ...problems('not-found', 'params-invalid'),
    },
  }),
  rows: createRoute({
    method: 'get',
    path: '/v1/datasets/{id}/rows',
    tags: ['artifacts'],
    summary: "A page of a dataset's stored rows",
    description: 'Rows the contract kept: all under `full`, the sample under `sample`; under `reference` no rows were kept (409 `materialization-insufficient`).',
    operationId: 'getDatasetRows',
    security: BEARER,
    request: { params: IdParams('Dataset artifact id'), query: RowsQuery },
    responses: { 200: jsonResponse(DatasetRowsSchema, 'The page'), ...problems('not-found', 'params-invalid', 'materialization-insufficient') },
  }),
};

interface DatasetBody {
  rowCount?: unknown;
  storedRows?: unknown;
  columns?: unknown;
}

function blobIdOf(artifact: Artifact): string | null {
  const body = artifact.body as { xmlBlobId?: unknown; blobId?: unknown } | null;
  if (typeof body !== 'object' || body === null) return null;
  if (typeof body.xmlBlobId === 'string') return body.xmlBlobId;
  if (typeof body.blobId === 'string') return body.blobId;
  return null;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 0;
}

function columnNames(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.map((col: unknown) => (typeof col === 'object' && col !== null && typeof (col as { name?: unknown }).name === 'string' ? (col as { name: string }).name : String(col)));
}

/** A filename safe inside a quoted `Content-Disposition` parameter. */
function dispositionName(name: string): string {
  return name.replace(/[^A-Za-z0-9._ -]/g, '_').slice(0, 200) || 'content';
}

export function registerArtifactRoutes(app: HttpApp, deps: RouteDeps): void {
  const { stores } = deps;

  async function artifactOf(tenantId: string, id: string): Promise<Artifact> {
    const a = await stores.artifacts.get(tenantId, id);
    if (!a) throw new AppError('not-found', `No artifact ${id}`);
    return a;
  }

  app.openapi(artifactRoutes.list, async (c) => c.json(await stores.artifacts.list({ tenantId: c.get('tenantId'), ...c.req.valid('query') }), 200));

  app.openapi(artifactRoutes.get, async (c) => c.json(await artifactOf(c.get('tenantId'), c.req.valid('param').id), 200));

  app.openapi(artifactRoutes.content, async (c) => {
    const tenantId = c.get('tenantId');
    const artifact = await artifactOf(tenantId, c.req.valid('param').id);
    const blobId = blobIdOf(artifact);
    if (!blobId) throw new AppError('not-found', `Artifact ${artifact.id} (${artifact.kind}) has no content to download: its body is at /v1/artifacts/${artifact.id}`);
    const info = await stores.blobs.info(tenantId, blobId);
    if (!info) throw new AppError('not-found', `The content of artifact ${artifact.id} is gone`);
    const stream = await stores.blobs.read(tenantId, blobId);
    return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, {
      status: 200,
      headers: {
        'content-type': info.mediaType,
        'content-length': String(info.bytes),
        'content-disposition': `attachment; filename="${dispositionName(info.name)}"`,
        'x-content-sha256': info.sha256,
      },
    });
  });

  app.openapi(artifactRoutes.rows, async (c) => {
    const tenantId = c.get('tenantId');
    const id = c.req.valid('param').id;
    const { offset, limit } = c.req.valid('query');
    const artifact = await stores.artifacts.get(tenantId, id);
    if (!artifact || artifact.kind !== 'dataset') throw new AppError('not-found', `No dataset ${id}`);
    const body = (artifact.body ?? {}) as DatasetBody;
    const rowCount = count(body.rowCount);
    const storedRows = count(body.storedRows);
    if (storedRows === 0) {
      const contract = await stores.contracts.get(tenantId, artifact.lineage.contractId);
      const materialization = contract?.dataPolicy.materialization;
      if (materialization === 'reference' || rowCount > 0) {
        throw new AppError(
          'materialization-insufficient',
          `Dataset ${id} kept no rows: it was parsed under contract ${artifact.lineage.contractId} (materialization ${materialization ?? 'unknown'}); parse it again under a sample or full contract`,
        );
      }
    }
    const want = Math.max(0, Math.min(limit, storedRows - offset));
    const items = want === 0 ? [] : await stores.records.rows(tenantId, id, offset, want);
    const next = offset + items.length;
    return c.json(
      {
        datasetId: id,
        columns: columnNames(body.columns),
        rowCount,
        storedRows,
        offset,
        limit,
        items: items.map((r) => (r.line === undefined ? { row: r.row, values: r.values } : { row: r.row, line: r.line, values: r.values })),
        nextOffset: items.length > 0 && next < storedRows ? next : null,
      },
      200,
    );
  });
}
