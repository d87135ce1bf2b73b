/**
 * @module http/app
 * The Hono edge: actors, intents, contracts, artifacts and health, JSON in and out,
 * `application/problem+json` errors, every read and write scoped by the caller's tenant.
 */
import { Hono, type Context } from 'hono';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { z } from 'zod';
import type { Runtime, WaitCondition } from '../actors/index.js';
import { SOLUTION_ID_RE } from '../actors/index.js';
import { AppError } from '../errors.js';
import { paramsInvalid } from '../intents/index.js';
import type { Logger } from '../logger.js';
import { ContractScopeSchema, DataPolicySchema, type ActorKind } from '../machines/index.js';
import type { Stores } from '../persistence/ports.js';
import { auth, type AuthVariables } from './auth.js';
import { readJson } from './body.js';
import { problemResponse } from './problem.js';

export interface AppOptions {
  runtime: Runtime;
  stores: Stores;
  logger: Logger;
  apiKeys: readonly { key: string; tenantId: string }[];
  localTenant: string;
  /** @defaultValue 1 MiB */
  maxBodyBytes?: number;
}

type AppEnv = { Variables: AuthVariables };

const STATUSES = ['running', 'waiting', 'done', 'failed', 'rejected', 'stopped'] as const;

const ListQuery = z.object({
  kind: z.string().max(40).optional(),
  status: z.enum(STATUSES).optional(),
  tag: z.string().max(100).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const WaitQuery = z.object({
  waitFor: z
    .string()
    .regex(/^(done|applied|tag:[A-Za-z0-9_.:-]{1,100})$/, 'done, applied or tag:<name>')
    .optional(),
  timeoutMs: z.coerce.number().int().min(0).max(300_000).default(30_000),
});

const IntentQuery = WaitQuery.extend({
  solutionId: z.string().regex(SOLUTION_ID_RE).optional(),
  contractId: z.string().min(1).max(200).optional(),
});

const SpawnBody = z.object({ kind: z.string().min(1).max(40), input: z.unknown().optional() }).strict();

const NewContractBody = z
  .object({
    scope: ContractScopeSchema,
    dataPolicy: DataPolicySchema,
    expiresAt: z.iso.datetime({ offset: true }).nullable().default(null),
  })
  .strict();

const ArtifactQuery = z.object({
  solutionId: z.string().regex(SOLUTION_ID_RE).optional(),
  executionId: z.string().max(100).optional(),
  kind: z.string().max(60).optional(),
  cursor: z.string().max(400).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw paramsInvalid(r.error, what);
  return r.data;
}

function waitCondition(raw: string | undefined): WaitCondition | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'done' || raw === 'applied') return raw;
  return { tag: raw.slice('tag:'.length) };
}

export function createApp(options: AppOptions): Hono<AppEnv> {
  const { runtime, stores, logger } = options;
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const app = new Hono<AppEnv>();

  app.onError((err, c) => problemResponse(c, err, logger));
  app.notFound((c) => problemResponse(c, new AppError('not-found', `No route ${c.req.method} ${c.req.path}`), logger));
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) => {
        const res = problemResponse(c, new AppError('method-not-allowed', `${c.req.method} is not allowed here; use ${methods.join(', ')}`), logger);
        res.headers.set('allow', methods.join(', '));
        return res;
      },
    }),
  );

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    await stores.ping();
    return c.json({ status: 'ready' });
  });

  app.use('/v1/*', auth({ keys: options.apiKeys, localTenant: options.localTenant }));

  const idempotencyKey = (c: Context) => c.req.header('idempotency-key') ?? undefined;

  // ----- actors -----
  app.post('/v1/actors', async (c) => {
    const body = parse(SpawnBody, await readJson(c, maxBody), 'Body');
    const tenantId = c.get('tenantId');
    const { id, fresh } = await runtime.spawn(body.kind, body.input, { tenantId, idempotencyKey: idempotencyKey(c) });
    const view = await runtime.inspect(id, { tenantId });
    return c.json({ id, kind: view.kind, status: view.status }, fresh ? 202 : 200);
  });

  app.get('/v1/actors', async (c) => {
    const q = parse(ListQuery, c.req.query(), 'Query');
    const page = await runtime.list({ tenantId: c.get('tenantId'), ...q });
    return c.json(page);
  });

  app.get('/v1/actors/:id', async (c) => c.json(await runtime.inspect(c.req.param('id'), { tenantId: c.get('tenantId') })));

  app.post('/v1/actors/:id/events', async (c) => {
    const q = parse(WaitQuery, c.req.query(), 'Query');
    const event = await readJson(c, maxBody);
    const waitFor = waitCondition(q.waitFor);
    const tenantId = c.get('tenantId');
    const result = await runtime.send(c.req.param('id'), event, { tenantId, idempotencyKey: idempotencyKey(c), waitFor, timeoutMs: q.timeoutMs });
    if (!waitFor) return c.json({ id: result.view.id, seq: result.seq, status: result.view.status }, 202);
    return c.json({ ...result.view, seq: result.seq }, 200);
  });

  app.get('/v1/actors/:id/events/:seq', async (c) => {
    const seq = parse(z.coerce.number().int().min(1), c.req.param('seq'), 'Event sequence');
    const e = await runtime.event(c.req.param('id'), seq, { tenantId: c.get('tenantId') });
    return c.json({ seq: e.seq, event: e.event, acceptedAt: e.acceptedAt, outcome: e.outcome, error: e.error });
  });

  app.post('/v1/actors/:id/stop', async (c) => {
    const q = parse(WaitQuery, c.req.query(), 'Query');
    const waitFor = waitCondition(q.waitFor);
    const result = await runtime.stop(c.req.param('id'), { tenantId: c.get('tenantId'), idempotencyKey: idempotencyKey(c), waitFor, timeoutMs: q.timeoutMs });
    if (!waitFor) return c.json({ id: result.view.id, seq: result.seq, status: result.view.status }, 202);
    return c.json({ ...result.view, seq: result.seq }, 200);
  });

  // ----- intents -----
  app.get('/v1/intents', (c) =>
    c.json({
      items: runtime.intents.list().map((i) => ({ type: i.type, realm: i.realm, mode: i.mode, description: i.description, params: z.toJSONSchema(i.params, { unrepresentable: 'any' }) })),
    }),
  );

  app.post('/v1/intents/:type', async (c) => {
    const q = parse(IntentQuery, c.req.query(), 'Query');
    const params = (await readJson(c, maxBody)) ?? {};
    const tenantId = c.get('tenantId');
    const type = c.req.param('type');
    const kind: ActorKind = 'execution';
    const input = { intent: type, params, ...(q.solutionId ? { solutionId: q.solutionId } : {}), ...(q.contractId ? { contractId: q.contractId } : {}) };
    const { id } = await runtime.spawn(kind, input, { tenantId, idempotencyKey: idempotencyKey(c) });
    const waitFor = waitCondition(q.waitFor);
    if (waitFor === undefined || waitFor === 'applied') {
      const view = await runtime.inspect(id, { tenantId });
      return c.json({ id, kind, status: view.status }, 202);
    }
    return c.json(await runtime.waitFor(id, { tenantId, until: waitFor, timeoutMs: q.timeoutMs }), 200);
  });

  // ----- contracts -----
  app.get('/v1/contracts', async (c) => c.json({ items: await runtime.contracts.list(c.get('tenantId')) }));
  app.post('/v1/contracts', async (c) => {
    const body = parse(NewContractBody, await readJson(c, maxBody), 'Contract');
    return c.json(await runtime.contracts.create(c.get('tenantId'), body), 201);
  });
  app.get('/v1/contracts/:id', async (c) => c.json(await runtime.contracts.get(c.get('tenantId'), c.req.param('id'))));
  app.post('/v1/contracts/:id/revoke', async (c) => c.json(await runtime.contracts.revoke(c.get('tenantId'), c.req.param('id'))));

  // ----- artifacts -----
  app.get('/v1/artifacts', async (c) => {
    const q = parse(ArtifactQuery, c.req.query(), 'Query');
    return c.json(await stores.artifacts.list({ tenantId: c.get('tenantId'), ...q }));
  });
  app.get('/v1/artifacts/:id', async (c) => {
    const a = await stores.artifacts.get(c.get('tenantId'), c.req.param('id'));
    if (!a) throw new AppError('not-found', `No artifact ${c.req.param('id')}`);
    return c.json(a);
  });

  return app;
}
