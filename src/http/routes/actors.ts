/**
 * @module http/routes/actors
 * Spawn, list, inspect, send to and stop actors of the caller's tenant, and read one mailbox
 * entry. Another tenant's actor id answers 404 exactly as an unknown one.
 */
import { createRoute } from '@hono/zod-openapi';
import { viewJson, type ActorView, type WaitCondition } from '../../actors/index.js';
import { jsonBody } from '../body.js';
import type { HttpApp, RouteDeps } from '../env.js';
import {
  ActorListQuery,
  ActorPageSchema,
  ActorViewSchema,
  BEARER,
  BODY_PROBLEMS,
  EventBody,
  EventParams,
  IdempotencyHeaders,
  IdParams,
  MailboxEntrySchema,
  SentSchema,
  SentViewSchema,
  SpawnBody,
  SpawnedSchema,
  WaitQuery,
  jsonRequest,
  jsonResponse,
  problems,
} from '../schemas.js';

/** `?waitFor=` as the runtime's condition. */
export function waitCondition(raw: string | undefined): WaitCondition | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'done' || raw === 'applied') return raw;
  return { tag: raw.slice('tag:'.length) };
}

const SEND_PROBLEMS = ['not-found', 'event-not-accepted', 'actor-final', 'idempotency-conflict', 'wait-timeout', 'contract-denied', 'contract-expired'] as const;

export function actorRoutes(deps: Pick<RouteDeps, 'maxBodyBytes'>) {
  const body = jsonBody({ maxBytes: deps.maxBodyBytes });
  return {
    spawn: createRoute({
      method: 'post',
      path: '/v1/actors',
      tags: ['actors'],
      summary: 'Spawn an actor of any kind',
      operationId: 'spawnActor',
      security: BEARER,
      middleware: [body] as const,
      request: { headers: IdempotencyHeaders, body: jsonRequest(SpawnBody) },
      responses: {
        202: jsonResponse(SpawnedSchema, 'Stored and started'),
        200: jsonResponse(SpawnedSchema, 'Replayed: the actor first spawned with this Idempotency-Key'),
        ...problems(...BODY_PROBLEMS, 'kind-unknown', 'intent-unknown', 'idempotency-conflict'),
      },
    }),
    list: createRoute({
      method: 'get',
      path: '/v1/actors',
      tags: ['actors'],
      summary: 'List actors, newest first',
      operationId: 'listActors',
      security: BEARER,
      request: { query: ActorListQuery },
      responses: { 200: jsonResponse(ActorPageSchema, 'A page of actor views'), ...problems('params-invalid') },
    }),
    inspect: createRoute({
      method: 'get',
      path: '/v1/actors/{id}',
      tags: ['actors'],
      summary: 'Inspect an actor',
      operationId: 'inspectActor',
      security: BEARER,
      request: { params: IdParams('Actor id') },
      responses: { 200: jsonResponse(ActorViewSchema, 'The actor view'), ...problems('not-found', 'params-invalid') },
    }),
    send: createRoute({
      method: 'post',
      path: '/v1/actors/{id}/events',
      tags: ['actors'],
      summary: 'Send an event',
      description: 'Stored in the mailbox before the answer. A retry with the same Idempotency-Key re-attaches to the same event instead of sending it twice.',
      operationId: 'sendEvent',
      security: BEARER,
      middleware: [body] as const,
      request: { params: IdParams('Actor id'), query: WaitQuery, headers: IdempotencyHeaders, body: jsonRequest(EventBody) },
      responses: {
        202: jsonResponse(SentSchema, 'Stored (no waitFor)'),
        200: jsonResponse(SentViewSchema, 'The wait condition held'),
        ...problems(...BODY_PROBLEMS, ...SEND_PROBLEMS),
      },
    }),
    event: createRoute({
      method: 'get',
      path: '/v1/actors/{id}/events/{seq}',
      tags: ['actors'],
      summary: 'One mailbox entry and its outcome',
      operationId: 'getEvent',
      security: BEARER,
      request: { params: EventParams },
      responses: { 200: jsonResponse(MailboxEntrySchema, 'The entry'), ...problems('not-found', 'params-invalid') },
    }),
    stop: createRoute({
      method: 'post',
      path: '/v1/actors/{id}/stop',
      tags: ['actors'],
      summary: 'Stop an actor',
      operationId: 'stopActor',
      security: BEARER,
      request: { params: IdParams('Actor id'), query: WaitQuery, headers: IdempotencyHeaders },
      responses: {
        202: jsonResponse(SentSchema, 'STOP stored (no waitFor)'),
        200: jsonResponse(SentViewSchema, 'The wait condition held'),
        ...problems('params-invalid', ...SEND_PROBLEMS),
      },
    }),
  };
}

export function registerActorRoutes(app: HttpApp, deps: RouteDeps): void {
  const { runtime } = deps;
  const r = actorRoutes(deps);

  app.openapi(r.spawn, async (c) => {
    const req = c.req.valid('json');
    const tenantId = c.get('tenantId');
    const { id, fresh } = await runtime.spawn(req.kind, req.input, { tenantId, idempotencyKey: c.req.valid('header')['idempotency-key'] });
    const view = await runtime.inspect(id, { tenantId });
    const out = { id, kind: view.kind, status: view.status };
    return fresh ? c.json(out, 202) : c.json(out, 200);
  });

  app.openapi(r.list, async (c) => c.json(await runtime.list({ tenantId: c.get('tenantId'), ...c.req.valid('query') }), 200));

  app.openapi(r.inspect, async (c) => {
    const view = await runtime.inspect(c.req.valid('param').id, { tenantId: c.get('tenantId') });
    // The same answer as c.json(view, 200), from text serialized once per final actor.
    // (A fresh headers object each time: the Node adapter adds Content-Length to it.)
    return c.body(viewJson(view), 200, { 'content-type': 'application/json' }) as unknown as ReturnType<typeof c.json<ActorView, 200>>;
  });

  app.openapi(r.send, async (c) => {
    const q = c.req.valid('query');
    const waitFor = waitCondition(q.waitFor);
    const result = await runtime.send(c.req.valid('param').id, c.req.valid('json'), {
      tenantId: c.get('tenantId'),
      idempotencyKey: c.req.valid('header')['idempotency-key'],
      waitFor,
      timeoutMs: q.timeoutMs,
    });
    if (!waitFor) return c.json({ id: result.view.id, seq: result.seq, status: result.view.status }, 202);
    return c.json({ ...result.view, seq: result.seq }, 200);
  });

  app.openapi(r.event, async (c) => {
    const { id, seq } = c.req.valid('param');
    const e = await runtime.event(id, seq, { tenantId: c.get('tenantId') });
    return c.json({ seq: e.seq, event: e.event, acceptedAt: e.acceptedAt, outcome: e.outcome, error: e.error }, 200);
  });

  app.openapi(r.stop, async (c) => {
    const q = c.req.valid('query');
    const waitFor = waitCondition(q.waitFor);
    const result = await runtime.stop(c.req.valid('param').id, {
      tenantId: c.get('tenantId'),
      idempotencyKey: c.req.valid('header')['idempotency-key'],
      waitFor,
      timeoutMs: q.timeoutMs,
    });
    if (!waitFor) return c.json({ id: result.view.id, seq: result.seq, status: result.view.status }, 202);
    return c.json({ ...result.view, seq: result.seq }, 200);
  });
}
