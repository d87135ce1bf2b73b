/**
 * @module http/body
 * JSON request bodies: content type checked (415), size bounded while reading (413), parse
 * errors typed (400). Nothing is buffered beyond the limit.
 */
import type { Context } from 'hono';
import { AppError } from '../errors.js';

/** Reads a JSON body of at most `maxBytes`; an empty body is `undefined`. */
export async function readJson(c: Context, maxBytes: number): Promise<unknown> {
  const declared = Number(c.req.header('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new AppError('payload-too-large', `Request body is larger than ${maxBytes} bytes`);
  }
  const body = c.req.raw.body;
  if (!body) return undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new AppError('payload-too-large', `Request body is larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  if (size === 0) return undefined;
  const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new AppError('unsupported-media-type', 'Send JSON with Content-Type: application/json');
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new AppError('malformed-json', `Body is not valid JSON: ${(e as Error).message}`);
  }
}
