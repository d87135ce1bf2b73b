/**
 * @module http/routes/fileDocs
 * The OpenAPI description of the `/v1/files` routes, which `http/files.ts` registers with
 * plain Hono handlers (they stream bodies, so no zod body validator stands in front of them).
 * Registered in the document only; `test/http/openapi.test.ts` checks the real answers of
 * these routes against the schemas here.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { HttpApp } from '../env.js';
import { BEARER, IdParams, jsonResponse, problems } from '../schemas.js';

export const FileViewSchema = z
  .strictObject({
    id: z.string(),
    tenantId: z.string(),
    name: z.string(),
    mediaType: z.string(),
    bytes: z.number().int(),
    sha256: z.string(),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    contractId: z.string().optional(),
  })
  .openapi('File');

const UploadQuery = z.object({
  name: z.string().min(1).max(255).optional(),
  contractId: z.string().min(1).max(200).optional(),
});

export const fileRoutes = {
  upload: createRoute({
    method: 'post',
    path: '/v1/files',
    tags: ['files'],
    summary: 'Upload a file (streamed to the blob store)',
    description: 'The body is the file itself (not a form). The tenant\'s contract covering `ingest_file` bounds its size (`maxBytes`) and sets its retention.',
    operationId: 'uploadFile',
    security: BEARER,
    request: { query: UploadQuery, body: { required: true, content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } } },
    responses: { 201: jsonResponse(FileViewSchema, 'Stored'), ...problems('params-invalid', 'unsupported-media-type', 'file-too-large', 'contract-denied', 'contract-expired', 'contract-missing') },
  }),
  info: createRoute({
    method: 'get',
    path: '/v1/files/{id}',
    tags: ['files'],
    summary: "A file's record",
    operationId: 'getFile',
    security: BEARER,
    request: { params: IdParams('File id') },
    responses: { 200: jsonResponse(FileViewSchema, 'The record'), ...problems('not-found') },
  }),
  content: createRoute({
    method: 'get',
    path: '/v1/files/{id}/content',
    tags: ['files'],
    summary: "A file's bytes, streamed",
    operationId: 'getFileContent',
    security: BEARER,
    request: { params: IdParams('File id') },
    responses: {
      200: { description: 'The bytes, with the stored media type', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
      ...problems('not-found'),
    },
  }),
  remove: createRoute({
    method: 'delete',
    path: '/v1/files/{id}',
    tags: ['files'],
    summary: 'Delete a file',
    operationId: 'deleteFile',
    security: BEARER,
    request: { params: IdParams('File id') },
    responses: { 204: { description: 'Deleted' }, ...problems('not-found') },
  }),
};

/** Adds the `/v1/files` operations to the document. */
export function registerFileDocs(app: HttpApp): void {
  for (const route of Object.values(fileRoutes)) app.openAPIRegistry.registerPath(route);
}
