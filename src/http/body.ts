/**
 * @module http/body
 * JSON request bodies: content type checked (415), size bounded while reading (413), parse
 * errors typed (400). Nothing is buffered beyond the limit.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { AppError } from '../errors.js';

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new AppError('malformed-json', `Body is not valid JSON: ${(e as Error).message}`);
  }
}

export interface JsonBodyOptions {
  maxBytes: number;
  /** The body assumed when the request has none; without it an empty body is left empty. */
  empty?: unknown;
}

/**
 * Route middleware that reads the JSON body (at most `maxBytes`, else 413
 * `payload-too-large`; a non-empty body must be JSON, else 415 `unsupported-media-type`;
 * unparsable JSON is 400 `malformed-json`) and leaves its text in Hono's body cache, so the
 * route's zod validator parses it from memory. It must run before the validator: it is the
 * route's `middleware`.
 */
export function jsonBody(options: JsonBodyOptions): MiddlewareHandler {
  return async (c, next) => {
    let text = await readJsonText(c, options.maxBytes);
    if (text === undefined) text = options.empty === undefined ? '' : JSON.stringify(options.empty);
    else parseJson(text);
    // Hono caches bodies as promises (its `BodyCache` type names the resolved values).
    Object.assign(c.req.bodyCache, { text: Promise.resolve(text) });
    await next();
  };
}

/** The body's text (at most `maxBytes`, JSON media type checked), or `undefined` when empty. */
async function readJsonText(c: Context, maxBytes: number): Promise<string | undefined> {
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
  return Buffer.concat(chunks).toString('utf8');
}
