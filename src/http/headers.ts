/**
 * @module http/headers
 * Request headers read without building a WHATWG `Headers` object. Under
 * `@hono/node-server` the request is lazy: the first `c.req.header()` copies every incoming
 * header into `Headers`, which costs more than most routes of this edge. The auth and
 * request-id middleware run on every request, so they read Node's parsed headers directly
 * when the server is Node's, and fall back to `c.req.header()` anywhere else (tests calling
 * `app.request`, other runtimes).
 */
import type { IncomingMessage } from 'node:http';
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
 */
export function requestIds(): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async (c, next) => {
    const sent = requestHeader(c, 'x-request-id');
    const id = sent !== undefined && REQUEST_ID.test(sent) ? sent : crypto.randomUUID();
    c.set('requestId', id);
    c.header('X-Request-Id', id);
    await next();
  };
}
