/**
 * @module persistence/ports
 * The store interfaces every adapter implements (SQLite embedded, MongoDB in production).
 * No driver type crosses these ports. Every read and write is scoped by tenant, except the
 * owner-side methods of `ActorStore` that act on actors a process holds the lease of.
 *
 * Atomicity: the unit is one actor record. A commit writes the new snapshot, the applied
 * mark of mailbox events and the event outcomes together, guarded by a version
 * compare-and-set and the owner's lease epoch.
 */
import type { Readable } from 'node:stream';
import type { Problem } from '../errors.js';
import type { BoundaryContract } from '../machines/contract.js';

export type ActorStatus = 'running' | 'waiting' | 'done' | 'failed' | 'rejected' | 'stopped';
export const FINAL_STATUSES: readonly ActorStatus[] = ['done', 'failed', 'rejected', 'stopped'];

export function isFinalStatus(status: ActorStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/** A delayed (`after`) event with its absolute deadline, kept beside the snapshot. */
export interface TimerRecord {
  id: string;
  event: { type: string; [k: string]: unknown };
  /** Epoch milliseconds. */
  deadline: number;
}

export interface ActorRecord {
  id: string;
  tenantId: string;
  kind: string;
  status: ActorStatus;
  /** The machine's state value (JSON). */
  value: unknown;
  tags: string[];
  machineId: string;
  machineVersion: number;
  /** The persisted XState snapshot; `null` until the owner first started the actor. */
  snapshot: Record<string, unknown> | null;
  /** What the actor was spawned with (e.g. an intent's parameters): data kept out of the snapshot. */
  input: unknown;
  contractId: string | null;
  output: unknown;
  error: Problem | null;
  timers: TimerRecord[];
  /** Grows by one on every commit. */
  version: number;
  /** Mailbox events with `seq <= appliedSeq` have been applied (or refused). */
  appliedSeq: number;
  /** Highest sequence number handed out to this actor's mailbox. */
  lastSeq: number;
  ownerId: string | null;
  leaseUntil: number;
  /** Grows on every takeover; writes carry it (fencing). */
  epoch: number;
  createdAt: string;
  updatedAt: string;
}

export type MailboxOutcome = 'pending' | 'applied' | 'refused';

export interface MailboxEntry {
  actorId: string;
  tenantId: string;
  seq: number;
  event: { type: string; [k: string]: unknown };
  acceptedAt: string;
  outcome: MailboxOutcome;
  error: Problem | null;
}

export interface IdempotencyClaim {
  /** Tenant-scoped key (the client's `Idempotency-Key`). */
  key: string;
  /** A hash of the request; a replay with another hash is an `idempotency-conflict`. */
  requestHash: string;
  /** Epoch milliseconds now: an older claim whose `expiresAt` passed is forgotten. */
  nowMs: number;
  /** Epoch milliseconds after which the key is forgotten. */
  expiresAt: number;
}

export type IdempotentResult<T> = { fresh: true; value: T } | { fresh: false; value: T; requestHash: string };

export interface ActorListFilter {
  tenantId: string;
  kind?: string;
  status?: ActorStatus;
  tag?: string;
  /** Opaque cursor from the previous page (the last id); pages go newest first. */
  cursor?: string;
  limit: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** What the owner writes on a commit. */
export interface CommitPatch {
  status: ActorStatus;
  value: unknown;
  tags: string[];
  snapshot: Record<string, unknown> | null;
  machineVersion: number;
  contractId: string | null;
  output: unknown;
  error: Problem | null;
  timers: TimerRecord[];
  appliedSeq: number;
  /** Outcomes of the events applied by this commit. */
  outcomes: { seq: number; outcome: 'applied' | 'refused'; error: Problem | null }[];
}

export interface ActorStore {
  /**
   * Inserts a new actor, owned by `record.ownerId` (a record that is final already has no
   * owner and holds no lease: the runtime stores a spawn at the first state it waits in, which
   * may be its end). With `idempotency`, the key is recorded
   * in the same write; if the key exists (unexpired), nothing is written and the existing
   * actor id is returned with the stored request hash.
   */
  create(record: ActorRecord, idempotency?: IdempotencyClaim): Promise<IdempotentResult<string>>;

  /** The actor if it belongs to the tenant; `null` otherwise (another tenant's id included). */
  get(tenantId: string, id: string): Promise<ActorRecord | null>;

  /** Filtered page, newest first. */
  list(filter: ActorListFilter): Promise<Page<ActorRecord>>;

  /**
   * Stores an event in the actor's mailbox with the next sequence number and returns it. The
   * event is durable when this resolves. Throws `not-found` for an unknown actor or another
   * tenant's, `actor-final` when the actor is final. With `idempotency`, a replayed key
   * returns the earlier sequence number and stores nothing.
   */
  append(
    tenantId: string,
    actorId: string,
    event: MailboxEntry['event'],
    acceptedAt: string,
    idempotency?: IdempotencyClaim,
  ): Promise<IdempotentResult<number>>;

  /** Mailbox entries of an actor with `seq > afterSeq`, in order. */
  pending(tenantId: string, actorId: string, afterSeq: number): Promise<MailboxEntry[]>;

  /** One mailbox entry, or `null`. */
  event(tenantId: string, actorId: string, seq: number): Promise<MailboxEntry | null>;

  /**
   * Writes the owner's new state. Succeeds only if the stored version is `expectedVersion`
   * and the stored lease is held by `ownerId` at `epoch`; otherwise throws `lease-lost` (the
   * lease moved) or `version-conflict`. Returns the new version. A commit to a final status
   * also refuses (`actor-final`), in the same write, every mailbox event beyond
   * `patch.appliedSeq` still pending (the applied mark then covers them), so no accepted
   * event stays pending forever.
   */
  commit(id: string, owner: { ownerId: string; epoch: number }, expectedVersion: number, patch: CommitPatch): Promise<number>;

  /**
   * Takes the lease of up to `limit` non-final actors that are unowned or whose lease
   * expired before `nowMs`, raising each one's epoch. Returns the claimed records.
   */
  claim(ownerId: string, nowMs: number, leaseMs: number, limit: number): Promise<ActorRecord[]>;

  /** Extends the leases held by `ownerId` at the given epochs; returns the ids no longer held. */
  renew(ownerId: string, held: { id: string; epoch: number }[], leaseUntil: number): Promise<string[]>;

  /** Gives leases up (clean shutdown), so another process may claim them at once. */
  release(ownerId: string, ids: string[]): Promise<void>;

  /** Ids of actors held by `ownerId` that have events beyond their applied mark. */
  withPendingEvents(ownerId: string): Promise<{ id: string; tenantId: string }[]>;

  /** Forgets idempotency keys that expired before `nowMs`; returns how many. */
  purgeExpired(nowMs: number): Promise<number>;

  /**
   * The actor's snapshot history (see {@link HistoryEntry}): entries with
   * `version > afterVersion`, oldest first, at most `limit`, and the oldest version still
   * kept (`null` when none is). An unknown actor or another tenant's reads as empty.
   */
  history(tenantId: string, actorId: string, afterVersion: number, limit: number): Promise<HistoryPage>;
}

/**
 * Snapshot history lives in `ActorStore`, not a store of its own: every write that changes a
 * snapshot (`create` at version 0, each `commit`) appends one entry with it, in the same
 * transaction on SQLite and in the same document write on MongoDB (the actor document keeps
 * its newest entries; older ones are copied out as they leave it, and a crash in between
 * loses at most those copies, repaired by the next claim while the document still holds them).
 * Each actor keeps its newest `historyMax` entries (an adapter option, default
 * {@link DEFAULT_HISTORY_MAX}). History is what lets a stream resume on any process from a
 * snapshot version (DESIGN.md section 8).
 */
export const DEFAULT_HISTORY_MAX = 100;

/** The fields of an actor that a snapshot change sets (the rest of its view never changes). */
export interface SnapshotChange {
  status: ActorStatus;
  value: unknown;
  tags: string[];
  contractId: string | null;
  machineVersion: number;
  /** `null` when the actor has none. */
  output: unknown;
  error: Problem | null;
  updatedAt: string;
}

/** One stored snapshot change of an actor. */
export interface HistoryEntry {
  /** The actor's version after the change (the SSE event id). */
  version: number;
  /** When the change was written (ISO time). */
  at: string;
  view: SnapshotChange;
}

export interface HistoryPage {
  entries: HistoryEntry[];
  /** The oldest version the store still keeps for the actor; `null` when it keeps none. */
  oldestVersion: number | null;
}

/**
 * An owner's proof of its lease on an actor (fencing). A write made for an actor carries it,
 * and the store refuses it with `lease-lost` unless the actor's lease is still held by
 * `ownerId` at `epoch`: a process that stalled past its lease cannot write after another
 * took the actor over.
 */
export interface Fence {
  actorId: string;
  ownerId: string;
  epoch: number;
}

export interface ArtifactLineage {
  actorId: string;
  actorKind: 'execution' | 'agentSession' | 'bulkOperation';
  intent: string;
  inputs: string[];
  fileIds: string[];
  contractId: string;
  decisionIds: string[];
}

export interface Artifact<B = unknown> {
  id: string;
  tenantId: string;
  solutionId: string;
  kind: string;
  createdAt: string;
  supersedes?: string;
  body: B;
  lineage: ArtifactLineage;
}

export interface ArtifactListFilter {
  tenantId: string;
  solutionId?: string;
  executionId?: string;
  kind?: string;
  cursor?: string;
  limit: number;
}

export interface ArtifactStore {
  /**
   * Stores an artifact. Ids derive from (actor, kind, n), so a re-run writes the same id:
   * the first write wins and a repeat returns `false` without changing it. With `fence`, the
   * write is refused (`lease-lost`) unless the fence still holds.
   */
  put(artifact: Artifact, fence?: Fence): Promise<boolean>;
  get(tenantId: string, id: string): Promise<Artifact | null>;
  /** Newest first. */
  list(filter: ArtifactListFilter): Promise<Page<Artifact>>;
  /** How many artifacts a producing actor has (tests, crash audits). */
  countByActor(tenantId: string, actorId: string): Promise<number>;
}

export interface RecordRow {
  row: number;
  line?: number;
  values: (string | number | boolean | null)[];
}

export interface RecordStore {
  /**
   * Upserts one chunk of a dataset's rows (idempotent by `(datasetId, chunkNo)`). With
   * `fence`, refused (`lease-lost`) unless the fence still holds.
   */
  putChunk(tenantId: string, datasetId: string, chunkNo: number, records: RecordRow[], fence?: Fence): Promise<void>;
  getChunk(tenantId: string, datasetId: string, chunkNo: number): Promise<RecordRow[] | null>;
  /** Rows `offset` (0-based) to `offset + limit`, in row order, across chunks. */
  rows(tenantId: string, datasetId: string, offset: number, limit: number): Promise<RecordRow[]>;
  deleteDataset(tenantId: string, datasetId: string): Promise<number>;
}

export interface BlobInfo {
  id: string;
  tenantId: string;
  name: string;
  mediaType: string;
  bytes: number;
  sha256: string;
  createdAt: string;
  /** When the retention sweeper deletes it (the contract's `retentionDays`); `null`: kept. */
  expiresAt: string | null;
}

export interface BlobStore {
  /**
   * Streams `source` into a new blob. Nothing is visible until the whole stream is stored;
   * beyond `maxBytes` the write is abandoned with `file-too-large` and nothing is kept. With
   * `fence`, the blob is published only if the fence still holds once the bytes are stored
   * (else `lease-lost`, and nothing is kept).
   */
  write(
    tenantId: string,
    meta: { id: string; name: string; mediaType: string; maxBytes: number; expiresAt?: string | null },
    source: AsyncIterable<Uint8Array>,
    fence?: Fence,
  ): Promise<BlobInfo>;
  info(tenantId: string, id: string): Promise<BlobInfo | null>;
  /** A stream of the blob's bytes; `not-found` for an unknown id or another tenant's. */
  read(tenantId: string, id: string): Promise<Readable>;
  delete(tenantId: string, id: string): Promise<boolean>;
  /**
   * The retention sweeper's step: deletes up to `limit` blobs, of any tenant, whose
   * `expiresAt` is at or before `nowIso`, oldest expiry first; returns how many went.
   */
  sweepExpired(nowIso: string, limit?: number): Promise<number>;
}

export interface ContractStore {
  list(tenantId: string): Promise<BoundaryContract[]>;
  get(tenantId: string, id: string): Promise<BoundaryContract | null>;
  /**
   * Records `contract` only if the tenant has never had any contract; returns whether it
   * was written. Safe against concurrent callers: at most one permissive contract per tenant.
   */
  insertIfNone(contract: BoundaryContract): Promise<boolean>;
  /** Inserts an `api` contract and expires the tenant's permissive MVP contract, together. */
  insertSuperseding(contract: BoundaryContract, nowIso: string): Promise<void>;
  /** Marks a contract revoked; `false` if unknown to the tenant. */
  revoke(tenantId: string, id: string, nowIso: string): Promise<boolean>;
  /** Test and operator aid: set a contract's expiry. */
  setExpiry(tenantId: string, id: string, expiresAt: string | null): Promise<boolean>;
  /**
   * The tenant's secret (32 random bytes) keying PII masks (DOMAIN.md section 4): created on
   * first use, then the same for every caller and process; never exported.
   */
  tenantSecret(tenantId: string): Promise<Buffer>;
}

/** Everything an adapter provides. */
export interface Stores {
  readonly actors: ActorStore;
  readonly artifacts: ArtifactStore;
  readonly records: RecordStore;
  readonly blobs: BlobStore;
  readonly contracts: ContractStore;
  /** Resolves if the store answers; throws `store-unavailable` otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
