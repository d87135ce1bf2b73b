/**
 * @module http/problem
 * The only code → HTTP status table, and the `application/problem+json` writer. Routes never
 * build error bodies: they throw `AppError`, and `app.onError` answers with this.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';
import { AppError, ProblemTitles, problemOf, type ProblemCode } from '../errors.js';
import { paramsInvalid } from '../intents/index.js';
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

/** Statuses Hono's own helpers throw (`HTTPException`), as our codes. */
const HTTP_EXCEPTION_CODES: Readonly<Record<number, ProblemCode>> = {
  400: 'malformed-json',
  401: 'unauthorized',
  404: 'not-found',
  405: 'method-not-allowed',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
};

/** `err` as an `AppError` when it is one or stands for one (Hono's `HTTPException`). */
function known(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  if (err instanceof HTTPException) {
    const code = HTTP_EXCEPTION_CODES[err.status];
    if (code) return new AppError(code, err.message || ProblemTitles[code]);
  }
  return null;
}

/**
 * Writes `err` as problem+json. Unknown errors are logged with an id and answered as a bare
 * 500 that carries the id, never a message or a stack. `extraHeaders` (e.g. `Allow`,
 * `Retry-After`) are given at construction: a header set on the response afterwards can be
 * lost when Hono re-wraps it.
 */
export function problemResponse(c: Context, err: unknown, logger: Logger, extraHeaders: Record<string, string> = {}): Response {
  const appError = known(err);
  let problem = problemOf(appError ?? err);
  if (!appError) {
    const errorId = crypto.randomUUID();
    logger.error({ errorId, err, requestId: requestIdOf(c) }, 'unexpected error');
    problem = { ...problem, errorId };
  }
  const status = PROBLEM_STATUS[problem.code];
  const requestId = requestIdOf(c);
  if (appError && status >= 500) logger.warn({ requestId, code: problem.code, path: c.req.path }, problem.detail);
  const body = { ...problem, status, instance: c.req.path, ...(requestId ? { requestId } : {}) };
  const headers: Record<string, string> = { ...extraHeaders, 'content-type': PROBLEM_CONTENT_TYPE };
  if (requestId) headers['x-request-id'] = requestId;
  // The rest of an oversize body is never read: the client must not reuse this connection.
  if (problem.code === 'payload-too-large' || problem.code === 'file-too-large') headers.connection = 'close';
  return new Response(JSON.stringify(body), { status, headers });
}

function requestIdOf(c: Context): string | undefined {
  const id: unknown = c.get('requestId');
  return typeof id === 'string' ? id : undefined;
}

const TARGET_NAMES: Readonly<Record<string, string>> = { json: 'Body', query: 'Query', param: 'Path', header: 'Headers', cookie: 'Cookies', form: 'Form' };

/**
 * The `defaultHook` of the app: a request part that fails its schema becomes `params-invalid`
 * with one `errors[]` entry per failing field (paths prefixed by the part for all but the body).
 */
export function validationHook(result: { target: string; success: boolean; error?: ZodError }): void {
  if (result.success || !result.error) return;
  const what = TARGET_NAMES[result.target] ?? result.target;
  throw paramsInvalid(result.error, what, result.target === 'json' ? '' : result.target);
}
