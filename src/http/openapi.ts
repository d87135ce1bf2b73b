/**
 * @module http/openapi
 * A leaner `app.openapi(route, handler)`. `@hono/zod-openapi` puts one `@hono/zod-validator`
 * middleware per request part in front of the handler, and each of those reads the request's
 * `Content-Type` first, whatever it validates: under `@hono/node-server` that first header
 * read copies every request header into a WHATWG `Headers` object, which, with the extra
 * middleware layers and a second parse of the JSON body, costs more than an actor read.
 *
 * Here the route is registered in the same OpenAPI registry (the document does not change),
 * and one middleware validates query, path, headers and JSON body (in the library's order)
 * with the route's own zod schemas, answers a failure through the app's validation hook
 * exactly as before, and stores the parsed values where `c.req.valid()` finds them. Headers
 * are read from Node's parsed request headers; the body is the value the route's
 * {@link jsonBody} middleware already parsed (an empty body validates as `{}` when the body
 * is required, and is `{}` unvalidated when it is optional, as with the library). Routes
 * with cookies or another media type keep the library's validators (and must not use
 * `jsonBody`, which consumes the body).
 */
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import type { ZodType } from 'zod';
import { JSON_BODY, parsedJsonBody } from './body.js';
import type { HttpApp } from './env.js';
import { validationHook } from './problem.js';

interface RouteShape {
  method: string;
  path: string;
  hide?: boolean;
  middleware?: MiddlewareHandler | MiddlewareHandler[];
  request?: {
    params?: ZodType;
    query?: ZodType;
    headers?: ZodType;
    cookies?: unknown;
    body?: { required?: boolean; content?: Record<string, { schema?: unknown } | undefined> };
  };
}

type Target = 'param' | 'query' | 'header' | 'json';

interface Part {
  target: Target;
  schema: ZodType;
  /** json only: validate `{}` when the body is empty (a required body). */
  required?: boolean;
}

const isJsonBody = (m: MiddlewareHandler): boolean => (m as { [JSON_BODY]?: boolean })[JSON_BODY] === true;

const isZod = (x: unknown): x is ZodType => typeof x === 'object' && x !== null && typeof (x as { safeParse?: unknown }).safeParse === 'function';

/** The request headers as the library's header validator sees them (lower-case names). */
function headerObject(c: Context): Record<string, string> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming?.headers) return c.req.header();
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming.headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/**
 * One middleware for every validated part of a route. Schemas are synchronous (no async
 * refinements anywhere in the edge), so `safeParse` avoids a promise per part.
 */
function validateParts(parts: readonly Part[]): MiddlewareHandler {
  return async (c, next) => {
    for (const { target, schema, required } of parts) {
      let value: unknown;
      if (target === 'param') value = c.req.param();
      else if (target === 'query') value = queryObject(c.req.queries());
      else if (target === 'header') value = headerObject(c);
      else {
        value = parsedJsonBody(c);
        if (value === undefined) {
          if (!required) {
            c.req.addValidatedData('json', {});
            continue;
          }
          value = {};
        }
      }
      const result = schema.safeParse(value);
      validationHook({ target, success: result.success, ...(result.success ? {} : { error: result.error }) });
      c.req.addValidatedData(target, result.data as object);
    }
    await next();
  };
}

/** Hono's query shape for validation: a key given once is a string, given several times a list. */
function queryObject(queries: Record<string, string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key in queries) {
    const values = queries[key]!;
    out[key] = values.length === 1 ? values[0]! : values;
  }
  return out;
}

/** The route's JSON body schema when {@link validateParts} can take it, `null` when it has no body, else `undefined`. */
function jsonPart(route: RouteShape, middleware: readonly MiddlewareHandler[]): Part | null | undefined {
  const body = route.request?.body;
  if (!body) return null;
  const types = Object.keys(body.content ?? {});
  const schema = body.content?.['application/json']?.schema;
  if (types.length !== 1 || !isZod(schema)) return undefined;
  if (!middleware.some(isJsonBody)) return undefined;
  return { target: 'json', schema, required: body.required === true };
}

/**
 * Makes `app.openapi` register routes through {@link validateParts}; the few it cannot take
 * go to the library's own registration.
 */
export function leanOpenapi(app: HttpApp): void {
  const inherited = app.openapi;
  app.openapi = ((route: RouteShape, handler: MiddlewareHandler, hook?: unknown) => {
    const { middleware, hide, ...definition } = route;
    const before = middleware ? (Array.isArray(middleware) ? [...middleware] : [middleware]) : [];
    const json = jsonPart(route, before);
    const r = route.request;
    if (hook !== undefined || r?.cookies || json === undefined || (r?.headers && !isZod(r.headers))) {
      // The library's validators read the body themselves; after jsonBody it is consumed.
      if (before.some(isJsonBody)) throw new Error(`${route.method} ${route.path}: a jsonBody route must be one validateParts can take`);
      return (inherited as (...args: unknown[]) => HttpApp)(route, handler, hook);
    }
    if (!hide) app.openAPIRegistry.registerPath(definition as Parameters<HttpApp['openAPIRegistry']['registerPath']>[0]);
    const parts: Part[] = [];
    if (r?.query) parts.push({ target: 'query', schema: r.query });
    if (r?.params) parts.push({ target: 'param', schema: r.params });
    if (r?.headers) parts.push({ target: 'header', schema: r.headers });
    if (json) parts.push(json);
    if (parts.length > 0) before.push(validateParts(parts));
    app.on([route.method], [route.path.replaceAll(/\/{(.+?)}/g, '/:$1')], ...before, handler);
    return app;
  }) as HttpApp['openapi'];
}
