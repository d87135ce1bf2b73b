/**
 * @module http/schemas
 * The zod schemas of the HTTP edge: request queries and bodies, response bodies and the
 * problem responses of each route. The OpenAPI document is generated from these objects and
 * the routes validate with the same ones, so the document cannot drift from the behaviour.
 */
import { z } from '@hono/zod-openapi';
import { SOLUTION_ID_RE } from '../actors/index.js';
import { ProblemTitles, type ProblemCode } from '../errors.js';
import { ContractScopeSchema, DataPolicySchema } from '../machines/index.js';
import { PROBLEM_CONTENT_TYPE, PROBLEM_STATUS } from './problem.js';

const PROBLEM_CODES = Object.keys(ProblemTitles) as [ProblemCode, ...ProblemCode[]];

// ----- shared pieces ------------------------------------------------------------------------

export const ActorStatusSchema = z.enum(['running', 'waiting', 'done', 'failed', 'rejected', 'stopped']);

const FieldError = z.object({ path: z.string(), message: z.string() });

/** An error as an actor stores it (`error` of a failed or rejected actor). */
export const StoredProblemSchema = z
  .looseObject({
    type: z.string(),
    code: z.enum(PROBLEM_CODES),
    title: z.string(),
    detail: z.string(),
  })
  .openapi('StoredProblem', { description: 'An error as a failed or rejected actor stores it.' });

/** An `application/problem+json` body (RFC 9457) with our stable `code`. */
export const ProblemSchema = z
  .looseObject({
    type: z.string().openapi({ example: 'urn:symphainy:problem:not-found' }),
    code: z.enum(PROBLEM_CODES),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    requestId: z.string().optional(),
    errors: z.array(FieldError).optional().openapi({ description: 'params-invalid: one entry per failing field' }),
    errorId: z.string().optional().openapi({ description: 'internal: the id the server logged the error under' }),
  })
  .openapi('Problem');

export const ActorViewSchema = z
  .strictObject({
    id: z.string(),
    kind: z.string(),
    tenantId: z.string(),
    status: ActorStatusSchema,
    value: z.unknown().openapi({ description: 'The XState state value' }),
    tags: z.array(z.string()),
    contractId: z.string().nullable(),
    machineId: z.string(),
    machineVersion: z.number().int(),
    output: z.unknown().optional(),
    // Typed `unknown` by the runtime's view; its shape is documented here.
    progress: z
      .unknown()
      .optional()
      .openapi({
        description: "A running long intent's last reported progress",
        type: 'object',
        properties: { phase: { type: 'string' }, done: { type: 'number' }, total: { type: ['number', 'null'] } },
        required: ['phase', 'done', 'total'],
        additionalProperties: false,
      }),
    error: StoredProblemSchema.optional(),
    version: z.number().int().openapi({ description: 'The stored snapshot version; grows by one on every commit' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('ActorView');

export const ActorPageSchema = z.strictObject({ items: z.array(ActorViewSchema), nextCursor: z.string().nullable() }).openapi('ActorPage');

export const SpawnedSchema = z
  .strictObject({ id: z.string(), kind: z.string(), status: ActorStatusSchema })
  .openapi('Spawned', { description: 'The actor was stored; it runs on.' });

export const SentSchema = z
  .strictObject({ id: z.string(), seq: z.number().int(), status: ActorStatusSchema })
  .openapi('Sent', { description: 'The event is stored in the mailbox as `seq`.' });

// Spelled out rather than `.extend()`ed: the generator would emit `allOf` with the view's
// `additionalProperties: false`, which no body carrying `seq` could satisfy.
export const SentViewSchema = z.strictObject({ ...ActorViewSchema.shape, seq: z.number().int() }).openapi('SentView', {
  description: 'The actor once the wait condition held, and the sequence number of the event.',
});

export const MailboxEntrySchema = z
  .strictObject({
    seq: z.number().int(),
    event: z.looseObject({ type: z.string() }),
    acceptedAt: z.string(),
    outcome: z.enum(['pending', 'applied', 'refused']),
    // A union, not `.nullable()`: the generator would emit `allOf` with the object schema, which `null` cannot satisfy.
    error: z.union([StoredProblemSchema, z.null()]),
  })
  .openapi('MailboxEntry');

export const IntentListSchema = z
  .strictObject({
    items: z.array(
      z.strictObject({
        type: z.string(),
        realm: z.string(),
        mode: z.string(),
        description: z.string(),
        params: z.record(z.string(), z.unknown()).openapi({ description: 'JSON Schema of the parameters' }),
      }),
    ),
  })
  .openapi('IntentList');

export const ContractSchema = z
  .strictObject({
    id: z.string(),
    tenantId: z.string(),
    issuedBy: z.enum(['permissive-mvp', 'api']),
    scope: ContractScopeSchema,
    dataPolicy: DataPolicySchema,
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .openapi('BoundaryContract');

export const ContractListSchema = z.strictObject({ items: z.array(ContractSchema) }).openapi('ContractList');

export const ArtifactSchema = z
  .strictObject({
    id: z.string(),
    tenantId: z.string(),
    solutionId: z.string(),
    kind: z.string(),
    createdAt: z.string(),
    supersedes: z.string().optional(),
    body: z.unknown(),
    lineage: z.strictObject({
      actorId: z.string(),
      actorKind: z.enum(['execution', 'agentSession', 'bulkOperation']),
      intent: z.string(),
      inputs: z.array(z.string()),
      fileIds: z.array(z.string()),
      contractId: z.string(),
      decisionIds: z.array(z.string()),
    }),
  })
  .openapi('Artifact');

export const ArtifactPageSchema = z.strictObject({ items: z.array(ArtifactSchema), nextCursor: z.string().nullable() }).openapi('ArtifactPage');

const Cell = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const DatasetRowsSchema = z
  .strictObject({
    datasetId: z.string(),
    columns: z.array(z.string()),
    rowCount: z.number().int(),
    storedRows: z.number().int(),
    offset: z.number().int(),
    limit: z.number().int(),
    items: z.array(z.strictObject({ row: z.number().int(), line: z.number().int().optional(), values: z.array(Cell) })),
    nextOffset: z.number().int().nullable(),
  })
  .openapi('DatasetRows');

export const MachineListSchema = z
  .strictObject({
    items: z.array(
      z.strictObject({
        kind: z.string(),
        id: z.string(),
        version: z.number().int(),
        definition: z.record(z.string(), z.unknown()).openapi({ description: 'The XState machine definition (`machine.toJSON()`)' }),
        events: z.record(z.string(), z.unknown()).openapi({ description: 'JSON Schema of the events the machine takes from outside' }),
      }),
    ),
  })
  .openapi('MachineList');

export const HealthSchema = z.strictObject({ status: z.literal('ok') });
export const ReadySchema = z.strictObject({ status: z.literal('ready') });

// ----- requests -----------------------------------------------------------------------------

/** An integer query or path parameter: a string on the wire, coerced, documented as an integer. */
function int(min: number, max: number, fallback: number): z.ZodDefault<z.ZodCoercedNumber>;
function int(min: number, max?: number): z.ZodCoercedNumber;
function int(min: number, max = Number.MAX_SAFE_INTEGER, fallback?: number) {
  const base = z.coerce.number().int().min(min).max(max);
  const doc = { type: 'integer' as const, minimum: min, ...(max < Number.MAX_SAFE_INTEGER ? { maximum: max } : {}) };
  return fallback === undefined ? base.openapi(doc) : base.default(fallback).openapi({ ...doc, default: fallback });
}

const limit = int(1, 200, 50);

export const ActorListQuery = z.object({
  kind: z.string().max(40).optional(),
  status: ActorStatusSchema.optional(),
  tag: z.string().max(100).optional(),
  cursor: z.string().max(200).optional(),
  limit,
});

export const WaitQuery = z.object({
  waitFor: z
    .string()
    .regex(/^(done|applied|tag:[A-Za-z0-9_.:-]{1,100})$/, 'done, applied or tag:<name>')
    .optional()
    .openapi({ description: '`applied`, `done` (any final status) or `tag:<name>`; without it the answer is 202 once stored' }),
  timeoutMs: int(0, 300_000, 30_000),
});

export const IntentQuery = WaitQuery.extend({
  solutionId: z.string().regex(SOLUTION_ID_RE).optional(),
  contractId: z.string().min(1).max(200).optional(),
});

export const ArtifactListQuery = z.object({
  solutionId: z.string().regex(SOLUTION_ID_RE).optional(),
  executionId: z.string().max(100).optional(),
  kind: z.string().max(60).optional(),
  cursor: z.string().max(400).optional(),
  limit,
});

export const RowsQuery = z.object({
  offset: int(0, Number.MAX_SAFE_INTEGER, 0),
  limit: int(1, 1000, 100),
});

const idParam = (what: string) => z.string().min(1).max(200).openapi({ param: { name: 'id', in: 'path' }, description: what });

export const IdParams = (what: string) => z.object({ id: idParam(what) });
export const EventParams = z.object({
  id: idParam('Actor id'),
  seq: int(1).openapi({ param: { name: 'seq', in: 'path' }, description: 'Mailbox sequence number' }),
});
export const IntentParams = z.object({ type: z.string().min(1).max(100).openapi({ param: { name: 'type', in: 'path' }, example: 'profile_text' }) });

export const IdempotencyHeaders = z.object({
  'idempotency-key': z.string().min(1).max(200).optional().openapi({ description: 'Replaying a request with the same key returns the first result' }),
});

export const SpawnBody = z.object({ kind: z.string().min(1).max(40), input: z.unknown().optional() }).strict().openapi('SpawnRequest');

export const EventBody = z
  .looseObject({ type: z.string().min(1).max(100) })
  .openapi('Event', { description: 'An XState event; each machine\'s accepted events are listed by GET /v1/machines.' });

export const IntentParamsBody = z
  .record(z.string(), z.unknown())
  .openapi('IntentParams', { description: 'The intent\'s parameters; their JSON Schema is listed by GET /v1/intents.' });

export const NewContractBody = z
  .object({
    scope: ContractScopeSchema,
    dataPolicy: DataPolicySchema,
    expiresAt: z.iso.datetime({ offset: true }).nullable().default(null),
  })
  .strict()
  .openapi('NewContract');

// ----- route helpers ------------------------------------------------------------------------

/** A JSON request body with `schema`. */
export function jsonRequest<T extends z.ZodType>(schema: T, required = true) {
  return { required, content: { 'application/json': { schema } } };
}

/** A JSON response with `schema`. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

type ProblemResponses = Record<number, { description: string; content: { [PROBLEM_CONTENT_TYPE]: { schema: typeof ProblemSchema } } }>;

/** Every route of `/v1` may answer these. */
export const COMMON_PROBLEMS: readonly ProblemCode[] = ['unauthorized', 'rate-limited', 'internal', 'store-unavailable'];

/** Problem responses for `codes` (plus {@link COMMON_PROBLEMS}), grouped by status. */
export function problems(...codes: ProblemCode[]): ProblemResponses {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of [...codes, ...COMMON_PROBLEMS]) {
    const status = PROBLEM_STATUS[code];
    const list = byStatus.get(status) ?? [];
    if (!list.includes(code)) list.push(code);
    byStatus.set(status, list);
  }
  const out: ProblemResponses = {};
  for (const [status, list] of byStatus) {
    out[status] = { description: list.map((c) => `\`${c}\``).join(', '), content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } } };
  }
  return out;
}

/** Problems of a route that reads a JSON body. */
export const BODY_PROBLEMS: readonly ProblemCode[] = ['malformed-json', 'unsupported-media-type', 'payload-too-large', 'params-invalid'];

/** The security requirement of every `/v1` route. */
export const BEARER = [{ bearer: [] }];
