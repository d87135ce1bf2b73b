/**
 * @module http/openapi
 * A leaner `app.openapi(route, handler)` for routes that take only path parameters and a
 * query string (every GET of the edge, and bodiless POSTs). `@hono/zod-openapi` puts one
 * `@hono/zod-validator` middleware per request part in front of the handler, and each of
 * those reads the request's `Content-Type` first, whatever it validates: under
 * `@hono/node-server` that first header read copies every request header into a WHATWG
 * `Headers` object, which, with the extra middleware layers, costs more than an actor read.
 *
 * Here the route is registered in the same OpenAPI registry (the document does not change),
 * and one middleware validates path and query with the route's own zod schemas, answers a
 * failure through the app's validation hook exactly as before, and stores the parsed values
 * where `c.req.valid()` finds them. Routes with headers, cookies or a body keep the
 * library's validators.
 */
import type { MiddlewareHandler } from 'hono';
import type { ZodType } from 'zod';
import type { HttpApp } from './env.js';
import { validationHook } from './problem.js';

interface RouteShape {
  method: string;
  path: string;
  hide?: boolean;
  middleware?: MiddlewareHandler | MiddlewareHandler[];
  request?: { params?: ZodType; query?: ZodType; headers?: unknown; cookies?: unknown; body?: unknown };
}

type Target = 'param' | 'query';

/**
 * One middleware for the path parameters and the query of a route. Schemas are synchronous
 * (no async refinements anywhere in the edge), so `safeParse` avoids a promise per part.
 */
function validateParts(parts: readonly { target: Target; schema: ZodType }[]): MiddlewareHandler {
  return async (c, next) => {
    for (const { target, schema } of parts) {
      const value = target === 'param' ? c.req.param() : queryObject(c.req.queries());
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

/**
 * Makes `app.openapi` register routes without a body, headers or cookies through
 * {@link validateParts}; others go to the library's own registration.
 */
export function leanOpenapi(app: HttpApp): void {
  const inherited = app.openapi;
  const lean = (route: RouteShape, handler: MiddlewareHandler): HttpApp => {
    const { middleware, hide, ...definition } = route;
    if (!hide) app.openAPIRegistry.registerPath(definition as Parameters<HttpApp['openAPIRegistry']['registerPath']>[0]);
    const parts: { target: Target; schema: ZodType }[] = [];
    if (route.request?.query) parts.push({ target: 'query', schema: route.request.query });
    if (route.request?.params) parts.push({ target: 'param', schema: route.request.params });
    const before = middleware ? (Array.isArray(middleware) ? middleware : [middleware]) : [];
    if (parts.length > 0) before.push(validateParts(parts));
    app.on([route.method], [route.path.replaceAll(/\/{(.+?)}/g, '/:$1')], ...before, handler);
    return app;
  };
  app.openapi = ((route: RouteShape, handler: MiddlewareHandler, hook?: unknown) => {
    const r = route.request;
    if (hook === undefined && !r?.body && !r?.headers && !r?.cookies) return lean(route, handler);
    return (inherited as (...args: unknown[]) => HttpApp)(route, handler, hook);
  }) as HttpApp['openapi'];
}
