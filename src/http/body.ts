/**
 * @module http/body
 * JSON request bodies: content type checked (415), size bounded while reading (413), parse
 * errors typed (400). Nothing is buffered beyond the limit.
 */
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { AppError } from '../errors.js';
import { requestHeader } from './headers.js';

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new AppError('malformed-json', `Body is not valid JSON: ${(e as Error).message}`);
  }
}

export interface JsonBodyOptions {
  maxBytes: number;
}

/**
 * Route middleware that reads the JSON body (at most `maxBytes`, else 413
 * `payload-too-large`; a non-empty body must be JSON, else 415 `unsupported-media-type`;
 * unparsable JSON is 400 `malformed-json`) and keeps the parsed value for the route's
 * validation ({@link parsedJsonBody}, read by `http/openapi.ts`). It must run before the
 * validation: it is the route's `middleware`.
 */
export function jsonBody(options: JsonBodyOptions): MiddlewareHandler {
  const middleware: MiddlewareHandler = async (c, next) => {
    const text = await readJsonText(c, options.maxBytes);
    if (text !== undefined) parsedBodies.set(c, parseJson(text));
    await next();
  };
  return Object.assign(middleware, { [JSON_BODY]: true });
}

/** Marks the middleware {@link jsonBody} returns, so route registration can recognise it. */
export const JSON_BODY = Symbol('jsonBody');

/** Bodies {@link jsonBody} has parsed, by request (a non-empty body only). */
const parsedBodies = new WeakMap<Context, unknown>();

/** The JSON value {@link jsonBody} read for this request, or `undefined` when the body was empty. */
export function parsedJsonBody(c: Context): unknown {
  return parsedBodies.get(c);
}

const tooLarge = (maxBytes: number) => new AppError('payload-too-large', `Request body is larger than ${maxBytes} bytes`);

/** The body's text (at most `maxBytes`, JSON media type checked), or `undefined` when empty. */
async function readJsonText(c: Context, maxBytes: number): Promise<string | undefined> {
  const declared = Number(requestHeader(c, 'content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const chunks = await readBounded(c, maxBytes);
  if (chunks.length === 0) return undefined;
  const type = (requestHeader(c, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new AppError('unsupported-media-type', 'Send JSON with Content-Type: application/json');
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The body's chunks, at most `maxBytes` in all. Under Node the request stream is read as it
 * is (the WHATWG `Request` and `ReadableStream` the adapter would otherwise build around it
 * cost more than reading a small body); on overflow reading stops, the rest is never read
 * and the 413 closes the connection. Elsewhere the standard body stream is read.
 */
async function readBounded(c: Context, maxBytes: number): Promise<Uint8Array[]> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && !incoming.readableDidRead && !incoming.readableEnded) return readIncoming(incoming, maxBytes);
  const body = c.req.raw.body;
  if (!body) return [];
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    if (value.byteLength > 0) chunks.push(value);
  }
  return chunks;
}

function readIncoming(incoming: IncomingMessage, maxBytes: number): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    const done = (error?: Error) => {
      incoming.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (error) reject(error);
      else resolve(chunks);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > maxBytes) {
        incoming.pause();
        done(tooLarge(maxBytes));
        return;
      }
      if (chunk.byteLength > 0) chunks.push(chunk);
    };
    const onEnd = () => done();
    const onError = (e: Error) => done(new AppError('malformed-json', `Request body could not be read: ${e.message}`));
    const onClose = () => {
      if (!incoming.readableEnded) done(new AppError('malformed-json', 'The request body ended early'));
    };
    incoming.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}
