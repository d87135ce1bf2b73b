/**
 * @module errors
 * Typed application errors. Every failure that leaves the runtime carries a stable `code`
 * taken from DOMAIN.md section 6; `http/problem.ts` maps codes to HTTP statuses once.
 */

/** Every problem id of DOMAIN.md section 6, with its human title. */
export const ProblemTitles = {
  unauthorized: 'Unauthorized',
  'not-found': 'Not found',
  'method-not-allowed': 'Method not allowed',
  'malformed-json': 'Malformed JSON',
  'unsupported-media-type': 'Unsupported media type',
  'payload-too-large': 'Payload too large',
  'params-invalid': 'Invalid parameters',
  'kind-unknown': 'Unknown actor kind',
  'intent-unknown': 'Unknown intent',
  'event-not-accepted': 'Event not accepted',
  'actor-final': 'Actor is final',
  'idempotency-conflict': 'Idempotency key reused with a different request',
  'wait-timeout': 'Wait timed out',
  'last-event-id-invalid': 'Invalid Last-Event-ID',
  'rate-limited': 'Rate limited',
  'contract-missing': 'Contract missing',
  'contract-denied': 'Contract denied',
  'contract-expired': 'Contract expired',
  'materialization-insufficient': 'Materialization insufficient',
  'pii-denied': 'PII denied',
  'file-too-large': 'File too large',
  'unsupported-format': 'Unsupported format',
  'parse-error': 'Parse error',
  'bad-rows-exceeded': 'Bad rows exceeded',
  'unsafe-content': 'Unsafe content',
  'record-too-large': 'Record too large',
  'document-too-large': 'Document too large',
  'version-conflict': 'Version conflict',
  'lease-lost': 'Lease lost',
  'bpmn-invalid': 'Invalid BPMN',
  'machine-version-unknown': 'Unknown machine version',
  'store-unavailable': 'Store unavailable',
  'queue-unavailable': 'Queue unavailable',
  'failed-rate-exceeded': 'Failed rate exceeded',
  'turn-limit': 'Turn limit reached',
  'llm-unavailable': 'LLM unavailable',
  internal: 'Internal error',
} as const;

export type ProblemCode = keyof typeof ProblemTitles;

export const PROBLEM_TYPE_PREFIX = 'urn:symphainy:problem:';

/**
 * The serialisable form of an error: what a failed or rejected actor stores as `error` and
 * what the HTTP edge sends as `application/problem+json` (plus `status` and `instance`).
 */
export interface Problem {
  type: string;
  code: ProblemCode;
  title: string;
  detail: string;
  [extra: string]: unknown;
}

export interface AppErrorOptions {
  cause?: unknown;
  /** Extra members of the problem body, e.g. `errors` for `params-invalid`. */
  extras?: Record<string, unknown>;
}

/** The one error class of the application; `code` decides the HTTP status and retries. */
export class AppError extends Error {
  readonly code: ProblemCode;
  readonly extras: Readonly<Record<string, unknown>>;

  constructor(code: ProblemCode, detail: string, options: AppErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.extras = options.extras ?? {};
  }

  override get name(): string {
    return 'AppError';
  }

  toProblem(): Problem {
    return {
      ...this.extras,
      type: PROBLEM_TYPE_PREFIX + this.code,
      code: this.code,
      title: ProblemTitles[this.code],
      detail: this.message,
    };
  }
}

/** Turns anything thrown into an `Error`. */
export function toError(e: unknown): Error {
  if (e instanceof Error) return e;
  if (typeof e === 'string') return new Error(e);
  try {
    return new Error(JSON.stringify(e));
  } catch {
    return new Error(String(e));
  }
}

export function isAppError(e: unknown, ...codes: ProblemCode[]): e is AppError {
  return e instanceof AppError && (codes.length === 0 || codes.includes(e.code));
}

function isProblemCode(value: unknown): value is ProblemCode {
  return typeof value === 'string' && Object.hasOwn(ProblemTitles, value);
}

/** True for a stored problem object (what `toProblem()` produced, after a JSON round trip). */
export function isProblem(value: unknown): value is Problem {
  return (
    typeof value === 'object' &&
    value !== null &&
    isProblemCode((value as { code?: unknown }).code) &&
    typeof (value as { detail?: unknown }).detail === 'string'
  );
}

/**
 * The problem an error stands for. An `AppError` keeps its code; a stored problem is passed
 * through; anything else is `internal`, with no stack and no message that could leak
 * internals beyond a short description.
 */
export function problemOf(e: unknown): Problem {
  if (e instanceof AppError) return e.toProblem();
  if (isProblem(e)) return e;
  return new AppError('internal', 'Unexpected error').toProblem();
}

/** Rebuilds an `AppError` from a stored problem. */
export function fromProblem(p: Problem): AppError {
  const { type: _type, code, title: _title, detail, ...extras } = p;
  return new AppError(code, detail, { extras });
}
