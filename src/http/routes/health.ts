/**
 * @module http/routes/health
 * `/healthz` (the process answers) and `/readyz` (the store answers too); no key needed.
 */
import { createRoute } from '@hono/zod-openapi';
import type { HttpApp, RouteDeps } from '../env.js';
import { HealthSchema, ProblemSchema, ReadySchema, jsonResponse } from '../schemas.js';
import { PROBLEM_CONTENT_TYPE } from '../problem.js';

export const healthRoutes = {
  health: createRoute({
    method: 'get',
    path: '/healthz',
    tags: ['health'],
    summary: 'Liveness',
    operationId: 'health',
    security: [],
    responses: { 200: jsonResponse(HealthSchema, 'The process answers') },
  }),
  ready: createRoute({
    method: 'get',
    path: '/readyz',
    tags: ['health'],
    summary: 'Readiness: the store is reachable',
    operationId: 'ready',
    security: [],
    responses: {
      200: jsonResponse(ReadySchema, 'Ready'),
      503: { description: '`store-unavailable`', content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } } },
    },
  }),
};

export function registerHealthRoutes(app: HttpApp, deps: RouteDeps): void {
  app.openapi(healthRoutes.health, (c) => c.json({ status: 'ok' as const }, 200));
  app.openapi(healthRoutes.ready, async (c) => {
    await deps.stores.ping();
    return c.json({ status: 'ready' as const }, 200);
  });
}
