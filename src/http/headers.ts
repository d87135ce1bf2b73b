/**
 * @module http/headers
 * Request headers read without building a WHATWG `Headers` object. Under
 * `@hono/node-server` the request is lazy: the first `c.req.header()` copies every incoming
 * header into `Headers`, which costs more than most routes of this edge. The auth and
 * request-id code run on every request, so they read Node's parsed headers directly
 * when the server is Node's, and fall back to `c.req.header()` anywhere else (tests calling
 * `app.request`, other runtimes).
 */
import { ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';
import type { Context } from 'hono';

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

const REQUEST_ID_KEY = Symbol('requestId');
type WithId = ServerResponse & { [REQUEST_ID_KEY]?: string };
const nodeWriteHead = ServerResponse.prototype.writeHead as (this: ServerResponse, statusCode: number, ...rest: unknown[]) => ServerResponse;

/**
 * `writeHead` for every `ServerResponse` of the process, installed once by
 * {@link assignRequestId}: a response given a request id writes it in its head; any other
 * writes exactly as Node does. Measured on an actor read over loopback (server CPU per
 * request, alternating runs): `setHeader` before the answer (Node then merges the answer's
 * headers into its header map one `setHeader` at a time) costs about 4 µs more than this;
 * copying the answer's headers here, an own `writeHead` per response, or a subclass of
 * `ServerResponse` given to the server cost as much or more.
 */
function writeHeadWithId(this: WithId, statusCode: number, reason?: string | OutgoingHttpHeaders | OutgoingHttpHeader[], headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): ServerResponse {
  const id = this[REQUEST_ID_KEY];
  if (id === undefined) return nodeWriteHead.call(this, statusCode, reason, headers);
  const named = typeof reason === 'string';
  const given = named ? headers : reason;
  if (given === undefined || Array.isArray(given)) {
    if (!this.hasHeader('x-request-id')) this.setHeader('X-Request-Id', id);
    return named ? nodeWriteHead.call(this, statusCode, reason, given) : nodeWriteHead.call(this, statusCode, given);
  }
  // Added to the object handed over, as the adapter adds Content-Length to it (a copy here
  // measured as slow as setHeader): an answer's headers object is never reused.
  if (given['x-request-id'] === undefined && given['X-Request-Id'] === undefined) given['x-request-id'] = id;
  return named ? nodeWriteHead.call(this, statusCode, reason, given) : nodeWriteHead.call(this, statusCode, given);
}

/**
 * Gives the request an id (`requestId` variable, `X-Request-Id` answer header): the client's
 * own `X-Request-Id` when it is a short token, else a random UUID. The edge's gate calls it
 * first on every request.
 *
 * Under Node the header goes into the head the `ServerResponse` writes (see
 * {@link writeHeadWithId}), whichever way the answer is written, streams included:
 * `c.header()` would give every answer a WHATWG `Headers` object, which the adapter then
 * converts back, on every request.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any app whose variables include requestId
export function assignRequestId(c: Context<any>): void {
  const sent = requestHeader(c, 'x-request-id');
  const id = sent !== undefined && REQUEST_ID.test(sent) ? sent : crypto.randomUUID();
  c.set('requestId', id);
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (outgoing instanceof ServerResponse) {
    if (ServerResponse.prototype.writeHead !== writeHeadWithId) ServerResponse.prototype.writeHead = writeHeadWithId as ServerResponse['writeHead'];
    (outgoing as WithId)[REQUEST_ID_KEY] = id;
  } else c.header('X-Request-Id', id);
}
