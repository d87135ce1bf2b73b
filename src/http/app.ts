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
import { methodNotAllowed } from 'hono/method-not-allowed';
import type { Runtime } from '../actors/index.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Stores } from '../persistence/ports.js';
import { auth } from './auth.js';
import { requestIds } from './headers.js';
import type { AppEnv, HttpApp, RouteDeps } from './env.js';
import { problemResponse, validationHook } from './problem.js';
import { rateLimit, type RateLimitOptions } from './rateLimit.js';
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

  app.onError((err, c) => problemResponse(c, err, logger));
  app.notFound((c) => problemResponse(c, new AppError('not-found', `No route ${c.req.method} ${c.req.path}`), logger));
  app.use(requestIds());
  if (logger.isLevelEnabled('debug')) {
    app.use(async (c, next) => {
      const t0 = performance.now();
      await next();
      logger.debug({ requestId: c.get('requestId'), method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - t0) }, 'request');
    });
  }
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        problemResponse(c, new AppError('method-not-allowed', `${c.req.method} is not allowed here; use ${methods.join(', ')}`), logger, { allow: methods.join(', ') }),
    }),
  );

  // Public: registered before the key check of /v1.
  registerHealthRoutes(app, deps);
  registerDocRoutes(app);

  app.use('/v1/*', auth({ keys: options.apiKeys, localTenant: options.localTenant }));
  const limits = options.rateLimit === undefined ? DEFAULT_RATE_LIMIT : options.rateLimit;
  if (limits) app.use('/v1/*', rateLimit(limits, logger));

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
