/**
 * @module http/problem
 * The only code → HTTP status table, and the `application/problem+json` writer. Routes never
 * build error bodies: they throw `AppError`, and `app.onError` answers with this.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AppError, problemOf, type ProblemCode } from '../errors.js';
import type { Logger } from '../logger.js';

export const PROBLEM_STATUS = {
  unauthorized: 401,
  'not-found': 404,
  'method-not-allowed': 405,
  'malformed-json': 400,
  'unsupported-media-type': 415,
  'payload-too-large': 413,
  'params-invalid': 422,
  'kind-unknown': 422,
  'intent-unknown': 404,
  'event-not-accepted': 409,
  'actor-final': 409,
  'idempotency-conflict': 409,
  'wait-timeout': 408,
  'last-event-id-invalid': 400,
  'rate-limited': 429,
  'contract-missing': 422,
  'contract-denied': 403,
  'contract-expired': 403,
  'materialization-insufficient': 409,
  'pii-denied': 422,
  'file-too-large': 413,
  'unsupported-format': 415,
  'parse-error': 422,
  'bad-rows-exceeded': 422,
  'unsafe-content': 422,
  'record-too-large': 422,
  'document-too-large': 422,
  'version-conflict': 409,
  'lease-lost': 409,
  'bpmn-invalid': 422,
  'machine-version-unknown': 500,
  'store-unavailable': 503,
  'queue-unavailable': 503,
  'failed-rate-exceeded': 422,
  'turn-limit': 409,
  'llm-unavailable': 503,
  internal: 500,
} as const satisfies Record<ProblemCode, ContentfulStatusCode>;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Writes `err` as problem+json. Unknown errors are logged with an id and answered as a bare 500. */
export function problemResponse(c: Context, err: unknown, logger: Logger): Response {
  let problem = problemOf(err);
  if (!(err instanceof AppError)) {
    const errorId = crypto.randomUUID();
    logger.error({ errorId, err }, 'unexpected error');
    problem = { ...problem, errorId };
  }
  const status = PROBLEM_STATUS[problem.code];
  const body = { ...problem, status, instance: c.req.path };
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': PROBLEM_CONTENT_TYPE } });
}
