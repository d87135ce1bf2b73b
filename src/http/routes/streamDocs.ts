/**
 * @module http/routes/streamDocs
 * The OpenAPI description of `GET /v1/actors/{id}/stream`, which `http/stream.ts` registers
 * with a plain Hono handler (a Server-Sent Events stream has no JSON body to validate).
 * Registered in the document only.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { HttpApp } from '../env.js';
import { BEARER, IdParams, problems } from '../schemas.js';

export const streamRoutes = {
  stream: createRoute({
    method: 'get',
    path: '/v1/actors/{id}/stream',
    tags: ['actors'],
    summary: "An actor's snapshots as Server-Sent Events",
    description:
      'Each event (`snapshot`, or `reset` when the requested history was compacted) carries the actor view as `data` and its stored snapshot version as `id`. Reconnect with `Last-Event-ID` (or `?lastEventId=` on a first request) to any process to receive what was missed, then live changes. Heartbeats are comment lines; the stream closes after a final status.',
    operationId: 'streamActor',
    security: BEARER,
    request: {
      params: IdParams('Actor id'),
      query: z.object({ lastEventId: z.string().optional().openapi({ description: 'A snapshot version already received' }) }),
      headers: z.object({ 'last-event-id': z.string().optional().openapi({ description: 'What an EventSource sends on reconnect' }) }),
    },
    responses: {
      200: { description: 'The stream', content: { 'text/event-stream': { schema: z.string() } } },
      204: { description: 'The client already holds the final version: nothing more will come' },
      ...problems('not-found', 'last-event-id-invalid'),
    },
  }),
};

/** Adds the stream operation to the document. */
export function registerStreamDocs(app: HttpApp): void {
  for (const route of Object.values(streamRoutes)) app.openAPIRegistry.registerPath(route);
}
