/**
 * @module http/routes/contracts
 * Boundary contracts of the caller's tenant: list (the recorded permissive MVP contract
 * included), get, create (an `api` contract, which supersedes the permissive one) and revoke.
 */
import { createRoute } from '@hono/zod-openapi';
import { jsonBody } from '../body.js';
import type { HttpApp, RouteDeps } from '../env.js';
import { BEARER, BODY_PROBLEMS, ContractListSchema, ContractSchema, IdParams, NewContractBody, jsonRequest, jsonResponse, problems } from '../schemas.js';

export function contractRoutes(deps: Pick<RouteDeps, 'maxBodyBytes'>) {
  return {
    list: createRoute({
      method: 'get',
      path: '/v1/contracts',
      tags: ['contracts'],
      summary: "The tenant's contracts, the permissive MVP one included",
      operationId: 'listContracts',
      security: BEARER,
      responses: { 200: jsonResponse(ContractListSchema, 'Every contract of the tenant'), ...problems() },
    }),
    create: createRoute({
      method: 'post',
      path: '/v1/contracts',
      tags: ['contracts'],
      summary: 'Create an api contract',
      description: "The tenant's first api contract supersedes its permissive MVP contract, which expires and is never created again.",
      operationId: 'createContract',
      security: BEARER,
      middleware: [jsonBody({ maxBytes: deps.maxBodyBytes })] as const,
      request: { body: jsonRequest(NewContractBody) },
      responses: { 201: jsonResponse(ContractSchema, 'Created'), ...problems(...BODY_PROBLEMS) },
    }),
    get: createRoute({
      method: 'get',
      path: '/v1/contracts/{id}',
      tags: ['contracts'],
      summary: 'One contract',
      operationId: 'getContract',
      security: BEARER,
      request: { params: IdParams('Contract id') },
      responses: { 200: jsonResponse(ContractSchema, 'The contract'), ...problems('not-found', 'params-invalid') },
    }),
    revoke: createRoute({
      method: 'post',
      path: '/v1/contracts/{id}/revoke',
      tags: ['contracts'],
      summary: 'Revoke a contract',
      description: 'Effective for actors that have not yet passed their contract state.',
      operationId: 'revokeContract',
      security: BEARER,
      request: { params: IdParams('Contract id') },
      responses: { 200: jsonResponse(ContractSchema, 'The revoked contract'), ...problems('not-found', 'params-invalid') },
    }),
  };
}

export function registerContractRoutes(app: HttpApp, deps: RouteDeps): void {
  const { contracts } = deps.runtime;
  const r = contractRoutes(deps);
  app.openapi(r.list, async (c) => c.json({ items: await contracts.list(c.get('tenantId')) }, 200));
  app.openapi(r.create, async (c) => c.json(await contracts.create(c.get('tenantId'), c.req.valid('json')), 201));
  app.openapi(r.get, async (c) => c.json(await contracts.get(c.get('tenantId'), c.req.valid('param').id), 200));
  app.openapi(r.revoke, async (c) => c.json(await contracts.revoke(c.get('tenantId'), c.req.valid('param').id), 200));
}
