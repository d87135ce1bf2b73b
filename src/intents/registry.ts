/**
 * @module intents/registry
 * The intent registry: type → { realm, params schema, handler }. A request for an unknown
 * intent or with invalid parameters is refused here, before anything is stored.
 */
import type { z } from 'zod';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { GrantedContract, Realm } from '../machines/contract.js';
import type { ArtifactRef } from '../machines/execution.js';
import type { ArtifactStore, BlobStore, RecordStore } from '../persistence/ports.js';

/** What a handler may use. Every write goes through a port and is tenant-scoped by the grant. */
export interface IntentContext {
  readonly actorId: string;
  readonly tenantId: string;
  readonly solutionId: string;
  readonly intent: string;
  readonly stores: { readonly artifacts: ArtifactStore; readonly records: RecordStore; readonly blobs: BlobStore };
  readonly clock: Clock;
  /** Aborted when the actor is cancelled or stopped: long work checks it between batches. */
  readonly signal: AbortSignal;
  /**
   * Publishes how far a long intent has got (`total` null while unknown). Cheap to call per
   * batch: reports are coalesced to a few per second, and the last one always lands.
   */
  progress(phase: string, done: number, total?: number | null): void;
  /**
   * Stores the `n`-th artifact of `kind` produced by this actor. Its id derives from
   * (actor, kind, n), so a re-run after a crash writes the same artifact once.
   */
  emit(kind: string, body: unknown, options?: { n?: number; inputs?: string[]; fileIds?: string[] }): Promise<ArtifactRef>;
  /**
   * The id `emit` gives the `n`-th artifact of `kind`, known before it is stored: rows of a
   * dataset are stored under it first, and the `dataset` artifact is emitted last.
   */
  artifactId(kind: string, n: number): string;
  /** The tenant's secret keying PII masks (DOMAIN.md section 4); never stored with data. */
  tenantSecret(): Promise<Buffer>;
}

export interface IntentDefinition<P = unknown> {
  readonly type: string;
  readonly realm: Realm;
  /** `short` runs to completion; `long` may report progress and takes `CANCEL`. */
  readonly mode: 'short' | 'long';
  readonly description: string;
  readonly params: z.ZodType<P>;
  /**
   * Does the work. Must be idempotent: it may run again after a crash with the same
   * parameters (at-least-once), so every write is keyed by ids that derive from the actor id.
   */
  handler(ctx: IntentContext, params: P, contract: GrantedContract): Promise<ArtifactRef[]>;
}

/** A bulk intent runs in a `bulkOperation` actor: planned once, then chunk by chunk. */
export interface BulkIntentDefinition<P = unknown> {
  readonly type: string;
  readonly realm: Realm;
  readonly description: string;
  readonly params: z.ZodType<P>;
  plan(ctx: IntentContext, params: P, contract: GrantedContract): Promise<{ chunks: number; items: number }>;
  /** Processes chunk `chunkNo`; idempotent by `actorId:chunkNo`. */
  chunk(ctx: IntentContext, params: P, contract: GrantedContract, chunkNo: number): Promise<{ done: number; failed: number }>;
}

export interface IntentRegistry {
  /** The definition, or `intent-unknown`. */
  get(type: string): IntentDefinition;
  /** The bulk definition, or `intent-unknown`. */
  getBulk(type: string): BulkIntentDefinition;
  /** Parses `params` with the intent's schema; `params-invalid` lists each failing field. */
  validate(type: string, params: unknown, bulk?: boolean): unknown;
  list(): { type: string; realm: Realm; mode: string; description: string; params: z.ZodType }[];
}

/** Maps zod issues to the `errors[]` of a `params-invalid` problem. */
export function paramsInvalid(error: z.ZodError, what: string, prefix = ''): AppError {
  const errors = error.issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(root)',
    message: i.message,
  }));
  return new AppError('params-invalid', `${what} failed validation: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, {
    extras: { errors },
  });
}

// Definitions are stored with their parameter type erased: `validate` is the only way in.
type AnyIntent = IntentDefinition<never>;
type AnyBulkIntent = BulkIntentDefinition<never>;

export function createIntentRegistry(
  intents: readonly AnyIntent[],
  bulkIntents: readonly AnyBulkIntent[] = [],
): IntentRegistry {
  const byType = new Map<string, AnyIntent>();
  const bulkByType = new Map<string, AnyBulkIntent>();
  for (const d of intents) {
    if (byType.has(d.type)) throw new Error(`Intent ${d.type} is registered twice`);
    byType.set(d.type, d);
  }
  for (const d of bulkIntents) {
    if (bulkByType.has(d.type)) throw new Error(`Bulk intent ${d.type} is registered twice`);
    bulkByType.set(d.type, d);
  }
  function find<T>(map: Map<string, T>, type: string): T {
    const d = map.get(type);
    if (!d) throw new AppError('intent-unknown', `No intent of type ${JSON.stringify(type)}`);
    return d;
  }
  return {
    get: (type) => find(byType, type) as unknown as IntentDefinition,
    getBulk: (type) => find(bulkByType, type) as unknown as BulkIntentDefinition,
    validate(type, params, bulk = false) {
      const d = bulk ? find(bulkByType, type) : find(byType, type);
      const parsed = (d.params as z.ZodType).safeParse(params ?? {});
      if (!parsed.success) throw paramsInvalid(parsed.error, `Parameters of ${type}`, 'params');
      return parsed.data;
    },
    list() {
      return [
        ...[...byType.values()].map((d) => ({ type: d.type, realm: d.realm, mode: d.mode, description: d.description, params: d.params as z.ZodType })),
        ...[...bulkByType.values()].map((d) => ({ type: d.type, realm: d.realm, mode: 'bulk', description: d.description, params: d.params as z.ZodType })),
      ];
    },
  };
}
