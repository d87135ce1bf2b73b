/**
 * @module http/headers
 * Request headers read without building a WHATWG `Headers` object. Under
 * `@hono/node-server` the request is lazy: the first `c.req.header()` copies every incoming
 * header into `Headers`, which costs more than most routes of this edge. The auth and
 * request-id middleware run on every request, so they read Node's parsed headers directly
 * when the server is Node's, and fall back to `c.req.header()` anywhere else (tests calling
 * `app.request`, other runtimes).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';

/** The value of request header `name` (lower case), or `undefined`. */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming?.headers) {
    const v = incoming.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  }
  return c.req.header(name);
}

const REQUEST_ID = /^[\w\-=]{1,255}$/;

/**
 * Gives every request an id (`requestId` variable, `X-Request-Id` answer header): the
 * client's own `X-Request-Id` when it is a short token, else a random UUID.
 *
 * Under Node the header goes straight onto the `ServerResponse` (`writeHead` merges it with
 * the answer's own headers, whichever way the answer is written, streams included):
 * `c.header()` would give every answer a WHATWG `Headers` object, which the adapter then
 * converts back, on every request.
 */
export function requestIds(): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async (c, next) => {
    assignRequestId(c);
    await next();
  };
}

/** What {@link requestIds} does, as a plain function (the edge runs it inside its one gate). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any app whose variables include requestId
export function assignRequestId(c: Context<any>): void {
  const sent = requestHeader(c, 'x-request-id');
  const id = sent !== undefined && REQUEST_ID.test(sent) ? sent : crypto.randomUUID();
  c.set('requestId', id);
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (outgoing?.setHeader) outgoing.setHeader('X-Request-Id', id);
  else c.header('X-Request-Id', id);
}
