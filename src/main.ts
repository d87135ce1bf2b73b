/**
 * @module main
 * The composition root: the only module that knows which adapters are used. Builds the
 * stores from config, the runtime over them, the HTTP app over the runtime, and serves it.
 */
import { serve, type ServerType } from '@hono/node-server';
import { createRuntime, type Runtime } from './actors/index.js';
import { startInspector, type Inspector } from './actors/inspect.js';
import { LOCAL_TENANT, type Config } from './config.js';
import { createApp } from './http/app.js';
import { startRetentionSweeper } from './realms/content/retention.js';
import type { Logger } from './logger.js';
import type { Nudger } from './actors/nudge.js';
import { createMongoStores } from './persistence/mongo/index.js';
import type { Stores } from './persistence/ports.js';
import { createRedisNudger } from './persistence/redis/nudger.js';
import { createSqliteStores } from './persistence/sqlite/index.js';

export interface Server {
  readonly url: string;
  readonly runtime: Runtime;
  readonly stores: Stores;
  close(): Promise<void>;
}

/** Opens the configured stores: MongoDB when `MONGO_URL` is set, else the embedded SQLite store. */
export async function openStores(config: Config): Promise<Stores> {
  if (config.mongoUrl) return createMongoStores(config.mongoUrl, { historyMax: config.historyMax });
  return createSqliteStores(config.dataDir, { historyMax: config.historyMax });
}

/** Starts the runtime (rehydrating every non-final actor) and the HTTP server. */
export async function startServer(config: Config, logger: Logger): Promise<Server> {
  const stores = await openStores(config);
  const nudger: Nudger | undefined = config.redisUrl ? await createRedisNudger(config.redisUrl, logger) : undefined;
  // Before the runtime starts, so the actors it rehydrates are inspected too.
  const inspector: Inspector | undefined = config.inspect.enabled
    ? await startInspector({ tenantId: config.inspect.tenantId, port: config.inspect.port, logger })
    : undefined;
  const runtime = createRuntime({
    stores,
    logger,
    ...(nudger ? { nudger } : {}),
    ...(inspector ? { inspection: inspector.inspection } : {}),
    leaseMs: config.runtime.leaseMs,
    pollMs: config.runtime.pollMs,
    idempotencyTtlMs: config.runtime.idempotencyTtlMs,
    maxEventBytes: config.runtime.maxEventBytes,
  });
  await runtime.start();
  // Uploads past their contract's retention are deleted hourly (and once at start).
  const sweeper = startRetentionSweeper(stores.blobs, { logger });
  sweeper.sweep().catch((e: unknown) => logger.warn({ err: e }, 'retention sweep failed; retrying at the next interval'));
  const app = createApp({
    runtime,
    stores,
    logger,
    apiKeys: config.apiKeys,
    localTenant: LOCAL_TENANT,
    maxBodyBytes: config.http.maxBodyBytes,
    rateLimit: config.http.rateLimit,
    sseHeartbeatMs: config.http.sseHeartbeatMs,
  });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  logger.info(
    { url, store: config.mongoUrl ? 'mongodb' : 'sqlite', dataDir: config.mongoUrl ? undefined : config.dataDir, nudges: Boolean(nudger), tenants: config.apiKeys.length || 'local' },
    'symphainy serving',
  );
  let closing: Promise<void> | null = null;
  return {
    url,
    runtime,
    stores,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        // Open SSE streams would hold the server open: they end, their clients resume
        // elsewhere, and each connection is closed once its last response is done, instead of
        // idling out its keep-alive.
        runtime.endWatches();
        const sweep = setInterval(() => {
          if ('closeIdleConnections' in server) server.closeIdleConnections();
        }, 50);
        await stopped;
        clearInterval(sweep);
        sweeper.stop();
        await runtime.close();
        await inspector?.close();
        await nudger?.close();
        await stores.close();
      })();
      return closing;
    },
  };
}
