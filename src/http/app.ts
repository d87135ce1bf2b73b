/**
 * @module http/app
 * The Hono edge: actors, intents, contracts, artifacts, datasets, machines, the OpenAPI
 * document and health, JSON in and out, `application/problem+json` errors, every read and
 * write scoped by the caller's tenant.
 *
 * Routes are `createRoute` definitions registered with `app.openapi`, so the document at
 * `/v1/openapi.json` is generated from the very zod schemas that validate requests. Each
 * route module exports `register…Routes(app, deps)` and mounts with one line below.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { TrieRouter } from 'hono/router/trie-router';
import type { Runtime } from '../actors/index.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Stores } from '../persistence/ports.js';
import { authenticator } from './auth.js';
import { assignRequestId } from './headers.js';
import type { AppEnv, HttpApp, RouteDeps } from './env.js';
import { leanOpenapi } from './openapi.js';
import { problemResponse, validationHook } from './problem.js';
import { rateLimiter, type RateLimitOptions } from './rateLimit.js';
import { registerStreamRoutes } from './stream.js';
import { registerFileRoutes } from './files.js';
import { registerActorRoutes } from './routes/actors.js';
import { registerArtifactRoutes } from './routes/artifacts.js';
import { registerContractRoutes } from './routes/contracts.js';
import { registerDocRoutes } from './routes/docs.js';
import { registerFileDocs } from './routes/fileDocs.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerIntentRoutes } from './routes/intents.js';
import { registerMachineRoutes } from './routes/machines.js';
import { registerStreamDocs } from './routes/streamDocs.js';

export interface AppOptions {
  runtime: Runtime;
  stores: Stores;
  logger: Logger;
  apiKeys: readonly { key: string; tenantId: string }[];
  localTenant: string;
  /** @defaultValue 1 MiB */
  maxBodyBytes?: number;
  /** Per-tenant token bucket; `null` turns it off. @defaultValue 1000 requests/s, burst 2000 */
  rateLimit?: RateLimitOptions | null;
  /** Interval of SSE heartbeat comment lines, ms. @defaultValue 15000 */
  sseHeartbeatMs?: number;
}

export type { AppEnv, HttpApp, RouteDeps };

const DEFAULT_RATE_LIMIT: RateLimitOptions = { perSecond: 1000, burst: 2000 };

export function createApp(options: AppOptions): HttpApp {
  const { logger } = options;
  const deps: RouteDeps = { runtime: options.runtime, stores: options.stores, logger, maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024 };
  const app: HttpApp = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  leanOpenapi(app);

  app.onError((err, c) => problemResponse(c, err, logger));
  // No route matched: 405 with Allow when the path exists under other methods, else 404.
  // (Here rather than as a middleware, which would wrap every request to act on so few.)
  const allowed = methodsByPath(app);
  app.notFound((c) => {
    const methods = allowed(c.req.path);
    if (methods.length > 0 && !methods.includes(c.req.method)) {
      return problemResponse(c, new AppError('method-not-allowed', `${c.req.method} is not allowed here; use ${methods.join(', ')}`), logger, { allow: methods.join(', ') });
    }
    return problemResponse(c, new AppError('not-found', `No route ${c.req.method} ${c.req.path}`), logger);
  });
  const debug = logger.isLevelEnabled('debug');
  /** Path -> methods of the routes that need no key (health, the OpenAPI document), filled below. */
  const publicRoutes = new Map<string, Set<string>>();

  // One middleware for what every request needs (request id; under /v1 the key check and the
  // tenant's rate limit) rather than one layer each: this runs on every request.
  const authenticate = authenticator({ keys: options.apiKeys, localTenant: options.localTenant });
  const limits = options.rateLimit === undefined ? DEFAULT_RATE_LIMIT : options.rateLimit;
  const limit = limits ? rateLimiter(limits, logger) : null;
  app.use(async (c, next) => {
    assignRequestId(c);
    const { path } = c.req;
    if ((path === '/v1' || path.startsWith('/v1/')) && !publicRoutes.get(path)?.has(c.req.method === 'HEAD' ? 'GET' : c.req.method)) {
      const tenantId = authenticate(c);
      c.set('tenantId', tenantId);
      const refused = limit?.(c, tenantId);
      if (refused) return refused;
    }
    if (!debug) return next();
    const t0 = performance.now();
    await next();
    logger.debug({ requestId: c.get('requestId'), method: c.req.method, path, status: c.res.status, ms: Math.round(performance.now() - t0) }, 'request');
  });

  const before = app.routes.length;
  registerHealthRoutes(app, deps);
  registerDocRoutes(app);
  for (const r of app.routes.slice(before)) publicRoutes.set(r.path, (publicRoutes.get(r.path) ?? new Set()).add(r.method));

  registerActorRoutes(app, deps);
  registerIntentRoutes(app, deps);
  registerContractRoutes(app, deps);
  registerArtifactRoutes(app, deps);
  registerMachineRoutes(app, deps);
  registerStreamRoutes(app, { ...deps, ...(options.sseHeartbeatMs ? { heartbeatMs: options.sseHeartbeatMs } : {}) });
  registerStreamDocs(app);
  registerFileRoutes(app, deps);
  registerFileDocs(app);

  return app;
}

/**
 * The methods each registered path answers (GET implies HEAD), looked up by request path;
 * built on first use, once every route is registered.
 */
function methodsByPath(app: HttpApp): (path: string) => string[] {
  let router: TrieRouter<string[]> | undefined;
  return (path) => {
    if (!router) {
      const byPath = new Map<string, Set<string>>();
      for (const route of app.routes) {
        if (route.method === 'ALL' || route.method === 'HEAD') continue;
        const methods = byPath.get(route.path) ?? new Set<string>();
        methods.add(route.method);
        if (route.method === 'GET') methods.add('HEAD');
        byPath.set(route.path, methods);
      }
      router = new TrieRouter<string[]>();
      for (const [p, methods] of byPath) router.add('ALL', p, [...methods]);
    }
    const out = new Set<string>();
    for (const [methods] of router.match('ALL', path)[0]) for (const m of methods) out.add(m);
    return [...out];
  };
}
