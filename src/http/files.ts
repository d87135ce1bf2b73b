/**
 * @module http/files
 * `/v1/files`: streamed uploads into the blob store (DESIGN.md section 8, issue "content
 * realm"). The request body is the file's bytes (any content type but a JSON or form body;
 * the name comes from `?name=` or `Content-Disposition`), written to the `BlobStore` as it
 * arrives, never buffered whole. An upload needs a contract covering `ingest_file` (the
 * tenant's newest, or `?contractId=`): its `maxBytes` bounds the file (`file-too-large`,
 * refused up front from `Content-Length` when the client sends one, else when the stream
 * passes it, keeping nothing) and its `retentionDays` sets when the retention sweeper deletes
 * it. SHA-256, byte count and the sniffed media type are computed on the way.
 */
import { Readable } from 'node:stream';
import type { Context, Hono } from 'hono';
import { stream } from 'hono/streaming';
import { z } from 'zod';
import type { Runtime } from '../actors/index.js';
import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import { paramsInvalid } from '../intents/index.js';
import type { BlobInfo, Stores } from '../persistence/ports.js';
import { peekHead, sniff } from '../realms/content/sniff.js';
import type { ByteInput } from '../realms/content/source.js';

export interface FileRoutesOptions {
  runtime: Runtime;
  stores: Stores;
  /** The server's own bound on one upload, whatever the contract allows. @defaultValue 10 GiB */
  maxUploadBytes?: number;
}

/** What the file routes answer: the blob's record plus what sniffing found. */
export interface FileView extends BlobInfo {
  contractId: string;
}

const UploadQuery = z.object({
  name: z.string().min(1).max(255).optional(),
  contractId: z.string().min(1).max(200).optional(),
});

const DAY_MS = 86_400_000;

/** The file name from `Content-Disposition: attachment; filename="…"` (or `filename*=UTF-8''…`). */
export function dispositionName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      return undefined;
    }
  }
  const plain = /filename\s*=\s*"((?:[^"\\]|\\.)*)"|filename\s*=\s*([^;\s]+)/.exec(header);
  return plain ? (plain[1] ?? plain[2])?.replace(/\\(.)/g, '$1') : undefined;
}

/** A file name safe to store and show: no path, no control characters, at most 255 characters. */
function cleanName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 255);
  return clean || 'upload';
}

async function* bytesOf(body: ReadableStream<Uint8Array> | null): AsyncGenerator<Uint8Array> {
  if (!body) return;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (value.byteLength > 0) yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Streams a request body into the blob store within the tenant's contract. */
export async function uploadFile(
  options: FileRoutesOptions,
  tenantId: string,
  request: { body: ByteInput; name: string; declaredBytes: number | null; contractId?: string | undefined },
): Promise<FileView> {
  const grant = await options.runtime.contracts.resolve({
    tenantId,
    realm: 'content',
    intent: 'ingest_file',
    contractId: request.contractId ?? null,
  });
  const policy = grant.contract.dataPolicy;
  const maxBytes = Math.min(policy.maxBytes, options.maxUploadBytes ?? 10 * 1024 ** 3);
  if (request.declaredBytes !== null && request.declaredBytes > maxBytes) {
    throw new AppError('file-too-large', `The file is ${request.declaredBytes} bytes; contract ${grant.contract.id} allows at most ${maxBytes}`);
  }
  const peeked = await peekHead(request.body);
  let mediaType = 'application/octet-stream';
  try {
    mediaType = sniff(peeked.head, { fileName: request.name, complete: peeked.complete }).mediaType;
  } catch {
    // Unrecognised content is still stored: `ingest_file` refuses it with the reason.
  }
  const now = Date.now();
  const info = await options.stores.blobs.write(
    tenantId,
    {
      id: newId('fil', now),
      name: request.name,
      mediaType,
      maxBytes,
      expiresAt: policy.retentionDays > 0 ? new Date(now + policy.retentionDays * DAY_MS).toISOString() : null,
    },
    peeked.input,
  );
  return { ...info, contractId: grant.contract.id };
}

function refuseFormBodies(c: Context): void {
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  if (type.startsWith('multipart/') || type.startsWith('application/x-www-form-urlencoded')) {
    throw new AppError('unsupported-media-type', 'Send the file itself as the request body (e.g. application/octet-stream or text/csv), not a form');
  }
}

/** Registers `/v1/files` on `app` (behind the app's auth middleware, which sets `tenantId`). */
// The app's own env type is the caller's; the routes only read the `tenantId` variable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function registerFileRoutes(app: Hono<any>, options: FileRoutesOptions): void {
  app.post('/v1/files', async (c) => {
    refuseFormBodies(c);
    const q = UploadQuery.safeParse(c.req.query());
    if (!q.success) throw paramsInvalid(q.error, 'Query');
    const length = c.req.header('content-length');
    const declared = length !== undefined && /^\d+$/.test(length) ? Number(length) : null;
    const name = cleanName(q.data.name ?? dispositionName(c.req.header('content-disposition')) ?? 'upload');
    const tenantId = c.get('tenantId') as string;
    const view = await uploadFile(options, tenantId, { body: bytesOf(c.req.raw.body), name, declaredBytes: declared, contractId: q.data.contractId });
    c.header('location', `/v1/files/${view.id}`);
    return c.json(view, 201);
  });

  app.get('/v1/files/:id', async (c) => {
    const info = await options.stores.blobs.info(c.get('tenantId') as string, c.req.param('id'));
    if (!info) throw new AppError('not-found', `No file ${c.req.param('id')}`);
    return c.json(info);
  });

  app.get('/v1/files/:id/content', async (c) => {
    const tenantId = c.get('tenantId') as string;
    const info = await options.stores.blobs.info(tenantId, c.req.param('id'));
    if (!info) throw new AppError('not-found', `No file ${c.req.param('id')}`);
    const source = await options.stores.blobs.read(tenantId, info.id);
    c.header('content-type', info.mediaType);
    c.header('content-length', String(info.bytes));
    c.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(info.name)}`);
    return stream(c, async (s) => {
      s.onAbort(() => {
        source.destroy();
      });
      for await (const chunk of source as Readable) await s.write(chunk as Uint8Array);
    });
  });

  app.delete('/v1/files/:id', async (c) => {
    const gone = await options.stores.blobs.delete(c.get('tenantId') as string, c.req.param('id'));
    if (!gone) throw new AppError('not-found', `No file ${c.req.param('id')}`);
    return c.body(null, 204);
  });
}
