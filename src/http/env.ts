/**
 * @module http/env
 * What every route module of the edge shares: the app type with its per-request variables,
 * and the dependencies a `register…Routes(app, deps)` function receives. A route module
 * mounts with one line in `http/app.ts`.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { RequestIdVariables } from 'hono/request-id';
import type { Runtime } from '../actors/index.js';
import type { Logger } from '../logger.js';
import type { Stores } from '../persistence/ports.js';
import type { AuthVariables } from './auth.js';

export type AppEnv = { Variables: AuthVariables & RequestIdVariables };

/** The edge's app: Hono with OpenAPI routes (`app.openapi(createRoute(...), handler)`). */
export type HttpApp = OpenAPIHono<AppEnv>;

/** What route modules may use. */
export interface RouteDeps {
  readonly runtime: Runtime;
  readonly stores: Stores;
  readonly logger: Logger;
  /** Largest JSON request body, in bytes. */
  readonly maxBodyBytes: number;
}
