/**
 * @module http/routes/intents
 * `GET /v1/intents` lists the registered intents with the JSON Schema of their parameters;
 * `POST /v1/intents/:type` spawns an execution of one, the body being its parameters.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { ActorKind } from '../../machines/index.js';
import { jsonBody } from '../body.js';
import type { HttpApp, RouteDeps } from '../env.js';
import {
  ActorViewSchema,
  BEARER,
  BODY_PROBLEMS,
  IdempotencyHeaders,
  IntentListSchema,
  IntentParams,
  IntentParamsBody,
  IntentQuery,
  SpawnedSchema,
  jsonRequest,
  jsonResponse,
  problems,
} from '../schemas.js';
import { waitCondition } from './actors.js';

export function intentRoutes(deps: Pick<RouteDeps, 'maxBodyBytes'>) {
  return {
    list: createRoute({
      method: 'get',
      path: '/v1/intents',
      tags: ['intents'],
      summary: 'Registered intents with their parameter schemas',
      operationId: 'listIntents',
      security: BEARER,
      responses: { 200: jsonResponse(IntentListSchema, 'Every registered intent'), ...problems() },
    }),
    run: createRoute({
      method: 'post',
      path: '/v1/intents/{type}',
      tags: ['intents'],
      summary: 'Spawn an execution of an intent',
      description:
        'Parameters are validated before anything is stored. With `waitFor=done` the answer is 200 with the actor view once it is final (done, failed, rejected or stopped: read `status`), or 408 `wait-timeout`; a retry with the same Idempotency-Key re-attaches to the same execution.',
      operationId: 'runIntent',
      security: BEARER,
      middleware: [jsonBody({ maxBytes: deps.maxBodyBytes })] as const,
      request: { params: IntentParams, query: IntentQuery, headers: IdempotencyHeaders, body: jsonRequest(IntentParamsBody, false) },
      responses: {
        202: jsonResponse(SpawnedSchema, 'Stored and started (no waitFor, or waitFor=applied)'),
        200: jsonResponse(ActorViewSchema, 'The wait condition held'),
        ...problems(...BODY_PROBLEMS, 'intent-unknown', 'idempotency-conflict', 'wait-timeout', 'contract-missing'),
      },
    }),
  };
}

export function registerIntentRoutes(app: HttpApp, deps: RouteDeps): void {
  const { runtime } = deps;
  const r = intentRoutes(deps);
  // Parameter schemas do not change while the process runs: convert them once.
  let listed: z.infer<typeof IntentListSchema> | null = null;

  app.openapi(r.list, (c) => {
    listed ??= {
      items: runtime.intents.list().map((i) => ({
        type: i.type,
        realm: i.realm,
        mode: i.mode,
        description: i.description,
        // What a client sends: fields with defaults are optional (`io: 'input'`).
        params: z.toJSONSchema(i.params, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>,
      })),
    };
    return c.json(listed, 200);
  });

  app.openapi(r.run, async (c) => {
    const q = c.req.valid('query');
    const tenantId = c.get('tenantId');
    const kind: ActorKind = 'execution';
    const input = {
      intent: c.req.valid('param').type,
      params: c.req.valid('json'),
      ...(q.solutionId ? { solutionId: q.solutionId } : {}),
      ...(q.contractId ? { contractId: q.contractId } : {}),
    };
    const { id } = await runtime.spawn(kind, input, { tenantId, idempotencyKey: c.req.valid('header')['idempotency-key'] });
    const waitFor = waitCondition(q.waitFor);
    if (waitFor === undefined || waitFor === 'applied') {
      const view = await runtime.inspect(id, { tenantId });
      return c.json({ id, kind, status: view.status }, 202);
    }
    return c.json(await runtime.waitFor(id, { tenantId, until: waitFor, timeoutMs: q.timeoutMs }), 200);
  });
}
