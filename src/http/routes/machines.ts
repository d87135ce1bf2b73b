/**
 * @module http/routes/machines
 * `GET /v1/machines`: every machine of the catalogue as JSON a visualiser can draw (the XState
 * definition), with the catalogue's id and version and the schema of the events it takes.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { HttpApp, RouteDeps } from '../env.js';
import { BEARER, MachineListSchema, jsonResponse, problems } from '../schemas.js';

export const machineRoutes = {
  list: createRoute({
    method: 'get',
    path: '/v1/machines',
    tags: ['machines'],
    summary: 'Every machine definition, for visualisation',
    operationId: 'listMachines',
    security: BEARER,
    responses: { 200: jsonResponse(MachineListSchema, 'The machine catalogue'), ...problems() },
  }),
};

export function registerMachineRoutes(app: HttpApp, deps: RouteDeps): void {
  // Definitions are fixed for the life of the process; JSON round-tripping drops the functions
  // of inline actions and guards, which a visualiser cannot use anyway.
  const listed: z.infer<typeof MachineListSchema> = {
    items: Object.entries(deps.runtime.catalog).map(([kind, def]) => ({
      kind,
      id: def.machine.id,
      version: def.version,
      definition: JSON.parse(JSON.stringify(def.machine.toJSON())) as Record<string, unknown>,
      events: z.toJSONSchema(def.events, { unrepresentable: 'any' }) as Record<string, unknown>,
    })),
  };
  app.openapi(machineRoutes.list, (c) => c.json(listed, 200));
}
