/**
 * @module persistence/mongo/actorStore
 * `ActorStore` on MongoDB without transactions or change streams, and without relying on an
 * update being atomic against another update of the same document: FerretDB v1 rewrites a
 * whole document per update without a lock (it reads the documents the filter matches, then
 * writes each back by `_id`), so two updates of one document that overlap on the server can
 * lose one (seen here: concurrent `$inc`s lost, a compare-and-set "won" twice). What is
 * atomic everywhere is a unique `_id` on insert, so:
 *
 * - every document has one writer at a time: `actors` (the snapshot) by its owner;
 *   `leases` (owner, epoch, lease end) by the owner, or by the one process that won the
 *   takeover; a mailbox entry by its appender, then its owner;
 * - decisions that several processes race for are inserts: a takeover inserts
 *   `claims/<actor>:<epoch>` (one winner per epoch), an event inserts `mailbox/<actor>:<seq>`
 *   one past a number the mailbox holds (a loser searches the head and retries), so the
 *   numbers are dense and the mailbox is read by `_id` alone (see {@link mailboxId}); an
 *   idempotency key inserts `idempotency/<tenant>|<scope>|<key>`;
 * - a commit is one compare-and-set on `version`, `ownerId` and `epoch`. Within an epoch its
 *   owner is the document's only writer, one commit at a time. Across epochs, a takeover
 *   writes the new owner and epoch (keeping the version); once that write has landed, a
 *   former owner's compare-and-set cannot match. The one overlap left is a former owner's
 *   update that the server had already read the document for when the takeover's write
 *   landed, and writes back after it (MongoDB itself serializes the two; FerretDB does
 *   not). So a takeover waits `takeoverSettleMs` after its write, longer than the server
 *   takes for one command, and reads the document again before it hands the actor to its
 *   owner: if such a write landed, the former owner's commit came first after all, and the
 *   takeover writes again from it. No commit of the new owner is made before that read.
 *
 * `lastSeq` and the lease (owner, epoch, end) are read live by `get`, `list` and `claim`, from
 * the mailbox head and the `leases` document. Outcomes of a commit are repeated on the actor
 * document and copied into the mailbox after it, so a crash in between is repaired by the next
 * claim. Those copies, and the history copies, are not awaited by the commit: until they land,
 * the actor's later commits carry the outcomes on the document, and its history entry stays in
 * the ring. A later commit waits only for a copy whose ring slot it would overwrite, for copies
 * beyond {@link COPIES_IN_FLIGHT}, and for a copy that failed (redone once; a second failure
 * stops the commit), so the document never drops what is not yet copied. `drain` waits for all.
 *
 * A final commit's compare-and-set is what ends the actor. What follows it runs in a batch,
 * every {@link FINISH_BATCH_MS}, for all actors that ended since the last: one command deletes
 * their leases and one query finds the events appended while they ended, which are refused.
 * - Leases: the table holds live actors only (on FerretDB every lookup reads the whole table),
 *   and an update that loses a race with the deletion writes nothing (FerretDB rewrites a row
 *   by `_id`), where a lease marked final could be rewritten as live by a concurrent renewal.
 *   Until the batch has run, this process's `renew` and fenced writes wait for it (so fenced
 *   writes are refused from the commit's answer on), `claim` skips those leases, and `drain`
 *   runs the batch at once.
 * - Events: an appender inserts its entry, then reads the actor document; a final commit's
 *   document write lands before its batch reads the mailbox, so one of the two sees the other
 *   and no entry is left pending. Until the batch runs, a reader of such an event already
 *   sees it refused (its actor is final and past its mark).
 * A batch that never runs (the process died) or fails is repaired by the claim that finds the
 * actor final once its lease runs out. Leases marked `final` by earlier versions are never
 * claimed.
 *
 * A spawn inserts the actor document and its lease at once, one round trip. What a failure
 * or a crash between the two leaves is repaired by the spawn itself or by the claims: a lease
 * with no actor is deleted by the second claim that finds it so, and an actor with no lease
 * gets an expired one once it is older than a lease, so it is taken over (see `insertActor`).
 * A holder whose renewal finds the lease of a live actor gone gives it an expired one too.
 *
 * Snapshot history: the actor document keeps its newest {@link HIST_RING} entries, written by
 * the same insert or compare-and-set as the version each records (`hist.h<version % ring>`).
 * An actor that outlives the ring has its entries copied to `history/<actor>:<version>`: the
 * first commit past the ring copies the ring before it overwrites a slot, and each later
 * commit copies its own entry after its compare-and-set (an entry leaves the ring only once
 * its copy landed; after a crash the next claim re-copies what the ring still holds), and every
 * {@link HIST_SWEEP} versions the copies older than `historyMax` are deleted. An entry larger
 * than its share of the ring is stored there first and the slot names it. Readers take only
 * the versions the document reached, within `historyMax` of its version. Reads of the rest
 * of the actor leave the ring out.
 */
import type { Collection, Db, Document } from 'mongodb';
import { AppError, isAppError, PROBLEM_TYPE_PREFIX, ProblemTitles, type Problem } from '../../errors.js';
import {
  DEFAULT_HISTORY_MAX,
  isFinalStatus,
  type ActorListFilter,
  type ActorRecord,
  type ActorStatus,
  type ActorStore,
  type CommitPatch,
  type HistoryEntry,
  type IdempotencyClaim,
  type IdempotentResult,
  type MailboxEntry,
  type Page,
  type SnapshotChange,
} from '../ports.js';
import { assertDocumentFits, isDuplicateKeyError, MAX_DOCUMENT_BYTES, registerLeaseChanges } from './guard.js';
import { ensureIndexes } from './indexes.js';

/**
 * An actor document: the fields a query filters, sorts or compares on, and the rest of the
 * record in one JSON text, `b` ({@link ActorBody}). FerretDB v1 stores every field with its
 * type beside it and finds a document by reading every row of its table, so fewer, smaller
 * fields keep each lookup cheap (the packed document stays under PostgreSQL's threshold for
 * compressing a row, which a lookup would otherwise undo for every row it reads).
 */
interface ActorDoc {
  _id: string;
  tenantId: string;
  kind: string;
  status: ActorStatus;
  final: boolean;
  tags: string[];
  createdAt: string;
  version: number;
  appliedSeq: number;
  /** As of the takeover that set it, `null` once final; the live lease is in `leases`. */
  ownerId: string | null;
  epoch: number;
  /** What never changes after the spawn besides the queried fields: `[machineId, input]`, as JSON. */
  i: string;
  /** The {@link ActorBody}, as JSON: what a commit changes besides the queried fields. */
  b: string;
  /** The newest snapshot history entries, slot `h<version % ring>` (see the module comment). */
  hist: Record<string, string>;
}

/** What a commit writes of an actor's record besides the queried fields. */
interface ActorBody {
  value: unknown;
  machineVersion: number;
  snapshot: unknown;
  contractId: string | null;
  output: unknown;
  error: Problem | null;
  timers: ActorRecord['timers'];
  updatedAt: string;
  /** The outcomes of the last commit, repeated here until copied into the mailbox (errors as JSON). */
  outcomes: { seq: number; outcome: 'applied' | 'refused'; error: string }[];
}

/** The fields an actor document of the first format held one by one (read, never written). */
interface LegacyActorFields {
  value: string;
  machineVersion: number;
  snapshot: string | null;
  contractId: string | null;
  output: string;
  error: string;
  timers: string;
  updatedAt: string;
  outcomes: ActorBody['outcomes'];
}

/** One history entry in an actor document. */
interface HistItem {
  v: number;
  at: string;
  /** `null` when it was larger than an actor document keeps inline, and is in `history/<actor>:<version>` instead. */
  view: SnapshotChange | null;
}

/** The copies one commit makes after its compare-and-set (see `copyLater`). */
interface CopyJob {
  readonly version: number;
  /** The commit's own event outcomes, carried by later commits until they are copied. */
  readonly outcomes: ActorBody['outcomes'];
  /** `null` while in flight. */
  ok: boolean | null;
  landed: Promise<boolean>;
  readonly redo: () => Promise<void>;
}

/** One actor's copies in flight, of the commits one epoch made. */
interface CopyList {
  readonly epoch: number;
  jobs: CopyJob[];
}

/** `history/<actor>:<version>`: an entry older than the ring, or too large for it. */
interface HistDoc {
  _id: string;
  actorId: string;
  v: number;
  at: string;
  view: string;
}

/** The lease time a spawn was given: its lease end less its creation (both from the runtime's clock). */
const leaseMsOf = (r: ActorRecord): number => Math.max(0, r.leaseUntil - Date.parse(r.createdAt)) || 0;
/** Newest history entries an actor document keeps inline (fewer when `historyMax` is). */
const HIST_RING = 8;
/** Commits of one actor whose copies may be in flight at once; an older one is waited for. */
const COPIES_IN_FLIGHT = 4;
/** Every this many versions past `historyMax`, a commit deletes its actor's entries that fell out. */
const HIST_SWEEP = 16;
/**
 * What the history slots of one actor document may take together, in bytes: each entry is
 * kept inline up to `HIST_BYTES_MAX / ring`, a larger one is stored on its own. The rest of
 * the document is checked against the limit minus this.
 */
const HIST_BYTES_MAX = 1024 * 1024;
const SNAPSHOT_BYTES_MAX = MAX_DOCUMENT_BYTES - HIST_BYTES_MAX;

interface LeaseDoc {
  _id: string;
  ownerId: string | null;
  epoch: number;
  leaseUntil: number;
  /** Always false: a final actor's lease is deleted (`true` only on leases of earlier versions, never claimed). */
  final: boolean;
}

interface MailboxDoc {
  _id: string;
  actorId: string;
  tenantId: string;
  seq: number;
  event: string;
  acceptedAt: string;
  outcome: MailboxEntry['outcome'];
  error: string;
  idemKey: string | null;
}

interface IdemDoc {
  _id: string;
  tenantId: string;
  requestHash: string;
  /** Actor id (spawn) or sequence number (send); `null` while an append is in flight. */
  result: string | number | null;
  /** The actor record of a spawn, as JSON. */
  record: string | null;
  /** The lease time the spawn gave its actor (absent before it was kept here). */
  leaseMs?: number;
  claimedAt: number;
  expiresAt: number;
}

export interface MongoActorStoreOptions {
  /** Clock for idempotency claims. @defaultValue Date.now */
  now?: () => number;
  /** After this long an unfinished append claim is taken over by a retry, ms. @defaultValue 5000 */
  staleClaimMs?: number;
  /** Snapshot history entries kept per actor. @defaultValue {@link DEFAULT_HISTORY_MAX} */
  historyMax?: number;
  /**
   * A takeover waits this long after its write of the new owner and epoch before it reads the
   * actor document again (see the module comment): longer than the server takes for one
   * command. Once per `claim` call, however many actors it takes over. Milliseconds.
   * @defaultValue 250
   */
  takeoverSettleMs?: number;
  /**
   * Live actors at version 0 one look for actors without a lease reads (see `adoptOrphans`);
   * the next look, a lease time later, reads on from there. Every actor that has not changed
   * since its spawn stored it is at version 0 (an idle session, work still running), so this
   * bounds how long an orphan can hide behind them. @defaultValue 1000
   */
  orphansPerLook?: number;
}

const OUTCOME_BATCH = 50;
/** Actors one `claim` takes over at once (the pool holds 10 connections, shared with the rest). */
const CLAIM_CONCURRENCY = 8;
/** How long the housekeeping of final commits gathers before one batch does it, ms. */
const FINISH_BATCH_MS = 100;
/** Times a takeover is read again after its write before its actor is left to a later claim. */
const SETTLE_ROUNDS = 3;
/** Most mailbox point lookups one read sends at once (the pool holds 10 connections). */
const WALK_WINDOW = 8;
/** Actors whose mailbox head a store remembers (a hint; forgotten all at once past this). */
const KNOWN_SEQ_MAX = 10_000;

/** Runs `work` on every item, at most `width` at a time. */
async function inBatches<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) await work(items[i] as T);
    }),
  );
}

/**
 * A mailbox entry's `_id`. FerretDB v1 turns no filter into an index lookup (on PostgreSQL an
 * equality becomes a `@>` containment test, a scan in C; a sort, a range or `$in` is evaluated
 * in Go over every document the pushed-down part matched): so the mailbox is read by `_id`
 * equality only, each entry alone, never by the actor's other entries or a range.
 */
const mailboxId = (actorId: string, seq: number) => `${actorId}:${seq}`;
const isDuplicate = isDuplicateKeyError;

const text = (v: unknown): string => JSON.stringify(v ?? null);
const parse = <T>(s: string | null | undefined, fallback: T): T => (s === null || s === undefined ? fallback : (JSON.parse(s) as T));

function endedBeforeApplied(actorId: string): string {
  return JSON.stringify({
    type: PROBLEM_TYPE_PREFIX + 'actor-final',
    code: 'actor-final',
    title: ProblemTitles['actor-final'],
    detail: `Actor ${actorId} ended before this event was applied`,
  } satisfies Problem);
}

/** The snapshot change a record or a commit makes, written at `updatedAt`. */
function changeOf(c: Pick<CommitPatch, 'status' | 'value' | 'tags' | 'contractId' | 'machineVersion' | 'output' | 'error'>, updatedAt: string): SnapshotChange {
  return {
    status: c.status,
    value: c.value ?? null,
    tags: c.tags,
    contractId: c.contractId,
    machineVersion: c.machineVersion,
    output: c.output ?? null,
    error: c.error,
    updatedAt,
  };
}

/** The history slot of `version` in a ring of `ring` (see the module comment). */
const histSlot = (version: number, ring: number) => `h${version % ring}`;

/**
 * A history entry as its ring slot holds it: one JSON text, the version, the time (epoch ms)
 * and the change's fields by position, trailing nulls left out (a slot of its own fields would
 * carry a type per field on FerretDB), or only the version and time when the entry is stored
 * on its own. A time that epoch ms does not give back exactly stays its text.
 */
function packHist(version: number, c: SnapshotChange): string {
  const parts: unknown[] = [version, compactTime(c.updatedAt), c.status, c.value, c.tags, c.contractId, c.machineVersion, c.output, c.error];
  while (parts[parts.length - 1] === null) parts.pop();
  return JSON.stringify(parts);
}
const packSpilled = (version: number, at: string): string => JSON.stringify([version, compactTime(at)]);

/** An ISO time as epoch ms when that gives it back exactly, else the text itself. */
function compactTime(iso: string): number | string {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) && new Date(ms).toISOString() === iso ? ms : iso;
}

function unpackHist(slot: string): HistItem {
  const [v, time, status, value = null, tags = [], contractId = null, machineVersion = null, output = null, error = null] = JSON.parse(slot) as [number, number | string, ...unknown[]];
  const at = typeof time === 'number' ? new Date(time).toISOString() : time;
  if (status === undefined) return { v, at, view: null };
  return { v, at, view: { status, value, tags, contractId, machineVersion, output, error, updatedAt: at } as SnapshotChange };
}

/** Leaves the history out of a read of the rest of an actor. */
const WITHOUT_HIST = { projection: { hist: 0 } } as const;

function asDocument(r: ActorRecord, ring: number): ActorDoc {
  const change = changeOf(r, r.updatedAt);
  return {
    _id: r.id,
    tenantId: r.tenantId,
    kind: r.kind,
    status: r.status,
    final: isFinalStatus(r.status),
    tags: r.tags,
    createdAt: r.createdAt,
    version: r.version,
    appliedSeq: r.appliedSeq,
    ownerId: r.ownerId,
    epoch: r.epoch,
    i: JSON.stringify([r.machineId, r.input ?? null]),
    b: packBody(bodyFrom(change, { snapshot: r.snapshot ?? null, timers: r.timers, outcomes: [] })),
    hist: { [histSlot(r.version, ring)]: packHist(r.version, change) },
  };
}

/** The body a snapshot change writes, with what only the record keeps. */
function bodyFrom(change: SnapshotChange, rest: Pick<ActorBody, 'snapshot' | 'timers' | 'outcomes'>): ActorBody {
  const { status: _status, tags: _tags, ...kept } = change;
  return { ...kept, ...rest };
}

/** The body as an actor document keeps it: empty timers and outcomes and no error left out. */
function packBody(b: ActorBody): string {
  const { error, timers, outcomes, ...rest } = b;
  return JSON.stringify({ ...rest, ...(error === null ? {} : { error }), ...(timers.length === 0 ? {} : { timers }), ...(outcomes.length === 0 ? {} : { outcomes }) });
}

/** The body of an actor document, of either format. */
function bodyOf(d: Pick<ActorDoc, 'b'>): ActorBody {
  if (typeof d.b === 'string') {
    // Empty timers and outcomes and a missing error are left out when written.
    const b = JSON.parse(d.b) as Partial<ActorBody> & Pick<ActorBody, 'value' | 'machineVersion' | 'snapshot' | 'contractId' | 'output' | 'updatedAt'>;
    return { ...b, error: b.error ?? null, timers: b.timers ?? [], outcomes: b.outcomes ?? [] };
  }
  const l = d as unknown as LegacyActorFields;
  return {
    value: parse(l.value, null),
    machineVersion: l.machineVersion,
    snapshot: parse(l.snapshot, null),
    contractId: l.contractId,
    output: parse(l.output, null),
    error: parse<Problem | null>(l.error, null),
    timers: parse(l.timers, []),
    updatedAt: l.updatedAt,
    outcomes: l.outcomes ?? [],
  };
}

/** The machine and input of an actor document, of either format. */
function spawnedOf(d: ActorDoc): { machineId: string; input: unknown } {
  if (typeof d.i === 'string') {
    const [machineId, input] = JSON.parse(d.i) as [string, unknown];
    return { machineId, input };
  }
  const l = d as unknown as { machineId: string; input: string };
  return { machineId: l.machineId, input: parse(l.input, null) };
}

function toRecord(d: ActorDoc, live: { lastSeq?: number; lease?: LeaseDoc | null } = {}): ActorRecord {
  const body = bodyOf(d);
  const { machineId, input } = spawnedOf(d);
  return {
    id: d._id,
    tenantId: d.tenantId,
    kind: d.kind,
    status: d.status,
    value: body.value,
    tags: d.tags,
    machineId,
    machineVersion: body.machineVersion,
    snapshot: body.snapshot as ActorRecord['snapshot'],
    input,
    contractId: body.contractId,
    output: body.output,
    error: body.error,
    timers: body.timers,
    version: d.version,
    appliedSeq: d.appliedSeq,
    lastSeq: Math.max(live.lastSeq ?? d.appliedSeq, d.appliedSeq),
    ownerId: live.lease ? live.lease.ownerId : d.ownerId,
    leaseUntil: live.lease ? live.lease.leaseUntil : 0,
    epoch: live.lease ? live.lease.epoch : d.epoch,
    createdAt: d.createdAt,
    updatedAt: body.updatedAt,
  };
}

function toEntry(d: MailboxDoc): MailboxEntry {
  return {
    actorId: d.actorId,
    tenantId: d.tenantId,
    seq: d.seq,
    event: JSON.parse(d.event) as MailboxEntry['event'],
    acceptedAt: d.acceptedAt,
    outcome: d.outcome,
    error: parse<Problem | null>(d.error, null),
  };
}

// PostgreSQL-backed servers (FerretDB) cannot store a NUL character: parts are joined by '|'
// and the client's key is URI-encoded so it cannot forge a separator.
const idemId = (tenantId: string, scope: string, key: string) => `${tenantId}|${scope}|${encodeURIComponent(key)}`;

/** Creates the indexes the actor store's queries use. Idempotent. */
export async function ensureActorIndexes(db: Db): Promise<void> {
  await ensureIndexes(db.collection('actors'), [
    { key: { tenantId: 1, createdAt: -1, _id: -1 }, name: 'tenant_created' },
    // Actors that never committed, by age: where an actor whose spawn died before its lease is.
    { key: { version: 1, createdAt: 1, _id: 1 }, name: 'unleased' },
  ]);
  await ensureIndexes(db.collection('leases'), [
    { key: { final: 1, leaseUntil: 1 }, name: 'claimable' },
    { key: { ownerId: 1, final: 1 }, name: 'owner' },
  ]);
  await ensureIndexes(db.collection('mailbox'), [
    { key: { actorId: 1, seq: 1 }, name: 'actor_seq' },
    { key: { outcome: 1, actorId: 1 }, name: 'pending' },
    { key: { actorId: 1, idemKey: 1 }, name: 'actor_key' },
  ]);
  await ensureIndexes(db.collection('idempotency'), [{ key: { expiresAt: 1 }, name: 'expiry' }]);
  await ensureIndexes(db.collection('history'), [{ key: { actorId: 1, v: 1 }, name: 'actor_v' }]);
}

/** The actor store, and what its database's `close` must wait for. */
export interface MongoActorStore extends ActorStore {
  /**
   * Runs the pending batch of final commits now (their leases deleted, what they left in
   * their mailboxes refused) and waits for the copies in flight (see the module comment; a
   * copy that failed is left to the actor's next commit or claim).
   */
  drain(): Promise<void>;
}

export function createMongoActorStore(db: Db, options: MongoActorStoreOptions = {}): MongoActorStore {
  const actors: Collection<ActorDoc> = db.collection<ActorDoc>('actors');
  const leases: Collection<LeaseDoc> = db.collection<LeaseDoc>('leases');
  const claims: Collection<{ _id: string; ownerId: string; at: number }> = db.collection('claims');
  const mailbox: Collection<MailboxDoc> = db.collection<MailboxDoc>('mailbox');
  const idem: Collection<IdemDoc> = db.collection<IdemDoc>('idempotency');
  const takeoverSettleMs = options.takeoverSettleMs ?? 250;
  const orphansPerLook = options.orphansPerLook ?? 1000;
  const history: Collection<HistDoc> = db.collection<HistDoc>('history');
  const now = options.now ?? Date.now;
  const staleClaimMs = options.staleClaimMs ?? 5000;
  const historyMax = options.historyMax ?? DEFAULT_HISTORY_MAX;
  /** Per actor, a sequence number its mailbox is known to hold (entries are never deleted). */
  const knownSeq = new Map<string, number>();
  if (!Number.isSafeInteger(historyMax) || historyMax < 1) throw new RangeError(`historyMax must be a positive integer, not ${historyMax}`);
  const ring = Math.min(HIST_RING, historyMax);

  const claimId = (actorId: string, epoch: number) => `${actorId}:${epoch}`;
  /** Actors whose final commit landed and whose leftover events wait for the next batch: their applied mark. */
  const finishing = new Map<string, number>();
  let finishTimer: NodeJS.Timeout | null = null;
  let finishingNow: Promise<void> = Promise.resolve();
  /** Final actors whose lease is not yet deleted: when the batch that deletes it has run. */
  const releasing = new Map<string, Promise<void>>();
  /** The batch the actors now in `finishing` wait for. */
  let nextBatch: { done: Promise<void>; settle: () => void } | null = null;
  registerLeaseChanges(db, (actorId) => released([actorId]));
  /** Per actor, the copies of its commits still in flight, oldest first (see {@link copyLater}). */
  const copying = new Map<string, CopyList>();

  async function insertIgnoringDuplicate<T extends Document>(c: Collection<T>, doc: T): Promise<boolean> {
    try {
      await c.insertOne(doc as never);
      return true;
    } catch (e) {
      if (!isDuplicate(e)) throw e;
      return false;
    }
  }

  /** Gives `d` an expired lease in its holder's name (a duplicate is left as it is), for a claim to take over. */
  function giveExpiredLease(d: Pick<ActorDoc, '_id' | 'ownerId' | 'epoch'>): Promise<boolean> {
    return insertIgnoringDuplicate(leases, { _id: d._id, ownerId: d.ownerId, epoch: d.epoch, leaseUntil: 0, final: false });
  }

  /**
   * Inserts an actor with its lease, both at once; a replay finds them there. Its first epoch
   * needs no claim document: claims race for the epoch after the one a lease shows, and
   * fencing checks look for the epoch after the holder's, so nothing ever reads the claim of a
   * first epoch. The two inserts are one round trip; what a failure between them leaves is
   * repaired:
   * - the actor's insert failed: a first request deletes the lease it inserted again, so the
   *   spawn that fails leaves nothing, as SQLite's one transaction does (if the actor landed
   *   after all, it is an orphan, below). A replay deletes nothing: its lease is the same as
   *   the first request's, which may be running on it;
   * - the lease's insert failed while the actor's landed: the actor is kept (a replay may have
   *   answered it already) and its lease tried once more; if that fails too, or the process
   *   died, {@link adoptOrphans} gives the actor an expired lease once it is older than a
   *   lease, and a claim takes it over;
   * - a lease whose actor was never stored is deleted by the second claim that finds it so.
   * A spawn that took more than half a lease since `began` (its create) reads its lease back
   * before it answers: a claim may have taken it, or adoption expired it, while the actor was
   * not there yet. Unless the lease is still the one it wrote, the actor is left to the claims
   * (given an expired lease if it has none) and the spawn fails `lease-lost`.
   */
  async function insertActor(doc: ActorDoc, leaseUntil: number, leaseMs: number, began: number, takeBack: boolean): Promise<void> {
    if (doc.final) {
      await insertIgnoringDuplicate(actors, doc);
      return;
    }
    const lease: LeaseDoc = { _id: doc._id, ownerId: doc.ownerId, epoch: doc.epoch, leaseUntil, final: false };
    const [leased, inserted] = await Promise.allSettled([insertIgnoringDuplicate(leases, lease), insertIgnoringDuplicate(actors, doc)]);
    if (inserted.status === 'rejected') {
      if (takeBack && leased.status === 'fulfilled' && leased.value) {
        await leases.deleteOne({ _id: doc._id, ownerId: doc.ownerId, epoch: doc.epoch, leaseUntil }).catch(() => undefined);
      }
      throw inserted.reason;
    }
    // A duplicate lease is one in the actor's first owner's name: a replay's or an adoption's.
    if (leased.status === 'rejected' && !(await insertIgnoringDuplicate(leases, lease).then(() => true, () => false))) throw leased.reason;
    if (performance.now() - began <= leaseMs / 2) return;
    const now = await leases.findOne({ _id: doc._id });
    if (now && now.ownerId === doc.ownerId && now.epoch === doc.epoch && now.leaseUntil === leaseUntil) return;
    if (!now) await giveExpiredLease(doc);
    throw new AppError('lease-lost', `Actor ${doc._id} was stored after its lease was claimed or expired; the process that claims it runs it`);
  }

  /** The `nowMs` this store last looked for orphans at (see {@link adoptOrphans}). */
  let orphansSeenAt = Number.NEGATIVE_INFINITY;
  /** Where the next look resumes: after this actor, in creation order; `null` from the start. */
  let orphansAfter: { createdAt: string; id: string } | null = null;

  /**
   * Gives an expired lease to each actor that has none (its spawn died between the two inserts
   * of {@link insertActor}), so a claim takes it over. Each look reads the next
   * `orphansPerLook` live actors that never committed and are older than a lease, in
   * creation order (index `unleased`), resuming where the last look stopped and starting over
   * once it reached the end, so actors that stay at version 0 with their lease cannot hide the
   * ones behind them. One look at most once per lease time (and again at once if the clock went
   * back). The lease names the actor's first owner and epoch, so a spawner that only stalled is
   * fenced by the takeover like any former owner.
   */
  async function adoptOrphans(nowMs: number, leaseMs: number): Promise<void> {
    if (nowMs >= orphansSeenAt && nowMs - orphansSeenAt < leaseMs) return;
    orphansSeenAt = nowMs;
    const after = orphansAfter;
    const old = await actors
      .find(
        {
          version: 0,
          createdAt: { $lt: new Date(nowMs - leaseMs).toISOString() },
          final: false,
          ...(after ? { $or: [{ createdAt: { $gt: after.createdAt } }, { createdAt: after.createdAt, _id: { $gt: after.id } }] } : {}),
        },
        { projection: { ownerId: 1, epoch: 1, createdAt: 1 } },
      )
      .sort({ createdAt: 1, _id: 1 })
      .limit(orphansPerLook)
      .toArray();
    const last = old[old.length - 1];
    orphansAfter = old.length < orphansPerLook || !last ? null : { createdAt: last.createdAt, id: last._id };
    if (old.length === 0) return;
    const leased = new Set((await leases.find({ _id: { $in: old.map((d) => d._id) } }, { projection: { _id: 1 } }).toArray()).map((l) => l._id));
    await Promise.all(
      old
        .filter((d) => !leased.has(d._id))
        .map(giveExpiredLease),
    );
  }

  /**
   * A safety net for leases that went missing while their actor lives on (whatever deleted
   * them): each of `lost` whose lease is gone and whose actor is not final gets an expired
   * lease in its holder's name, so a claim takes it over instead of no one.
   */
  async function leaseOrphaned(lost: readonly { id: string; epoch: number }[]): Promise<void> {
    const ids = lost.map((h) => h.id);
    const present = new Set((await leases.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray()).map((l) => l._id));
    const missing = ids.filter((id) => !present.has(id));
    if (missing.length === 0) return;
    const live = await actors.find({ _id: { $in: missing }, final: false }, { projection: { ownerId: 1, epoch: 1 } }).toArray();
    await Promise.all(live.map(giveExpiredLease));
  }

  /**
   * The history entry of `version` for its ring slot: inline when it fits its share of the
   * document, else stored on its own first (upserted, so a commit that fails after it leaves
   * nothing a reader trusts: readers take only the versions the actor document reached).
   */
  async function histEntry(actorId: string, version: number, view: SnapshotChange): Promise<{ slot: string; stored: boolean }> {
    const packed = packHist(version, view);
    if (Buffer.byteLength(packed) <= Math.floor(HIST_BYTES_MAX / ring)) return { slot: packed, stored: false };
    const _id = `${actorId}:${version}`;
    await history.replaceOne({ _id }, { actorId, v: version, at: view.updatedAt, view: JSON.stringify(view) }, { upsert: true });
    return { slot: packSpilled(version, view.updatedAt), stored: true };
  }

  /**
   * Keeps the entries of `items` beyond the ring in `history` (a repeat is a no-op), and every
   * {@link HIST_SWEEP} versions deletes the actor's ones older than `historyMax`.
   */
  async function keepHistory(actorId: string, version: number, items: HistItem[]): Promise<void> {
    const docs = items
      .filter((e): e is HistItem & { view: SnapshotChange } => e.view !== null)
      .map((e) => ({ _id: `${actorId}:${e.v}`, actorId, v: e.v, at: e.at, view: JSON.stringify(e.view) }));
    await Promise.all([
      docs.length > 0 ? history.insertMany(docs, { ordered: false }).catch((e: unknown) => {
        if (!isDuplicate(e)) throw e;
      }) : undefined,
      version >= historyMax && version % HIST_SWEEP === 0 ? history.deleteMany({ actorId, v: { $lte: version - historyMax } }) : undefined,
    ]);
  }

  /** Remembers that the actor's mailbox holds `seq` (a lower bound of its head, for later searches). */
  function saw(actorId: string, seq: number): void {
    if (seq <= (knownSeq.get(actorId) ?? 0)) return;
    if (knownSeq.size >= KNOWN_SEQ_MAX) knownSeq.clear();
    knownSeq.set(actorId, seq);
  }

  /** A sequence number the actor's mailbox is known to hold, at least `floor` (its applied mark). */
  const knownFloor = (actorId: string, floor: number) => Math.max(floor, knownSeq.get(actorId) ?? 0);

  async function holds(actorId: string, seq: number): Promise<boolean> {
    return (await mailbox.findOne({ _id: mailboxId(actorId, seq) }, { projection: { _id: 1 } })) !== null;
  }

  /**
   * The actor's highest sequence number, searched from `known` (a number the mailbox holds,
   * or 0) by `_id` point lookups: sequence numbers are dense, so the first one missing is one
   * past the head. Gallops then bisects: about 2·log2(events beyond `known`) lookups, however
   * many events the actor or the collection holds.
   */
  async function lastSeqFrom(actorId: string, known: number): Promise<number> {
    let low = known;
    let high = 0;
    for (let step = 1; high === 0; step *= 2) {
      if (await holds(actorId, low + step)) low += step;
      else high = low + step;
    }
    while (high - low > 1) {
      const mid = low + Math.floor((high - low) / 2);
      if (await holds(actorId, mid)) low = mid;
      else high = mid;
    }
    saw(actorId, low);
    return low;
  }

  /**
   * The actor's mailbox entries after `afterSeq`, in order, read by `_id` in growing windows
   * of concurrent point lookups up to the first number missing (the entries are dense).
   */
  async function entriesAfter(actorId: string, afterSeq: number, filter: Document = {}, firstWindow = 2): Promise<MailboxDoc[]> {
    const out: MailboxDoc[] = [];
    for (let next = afterSeq + 1, window = firstWindow; ; next += window, window = Math.min(2 * window, WALK_WINDOW)) {
      const docs = await Promise.all(Array.from({ length: window }, (_, i) => mailbox.findOne({ _id: mailboxId(actorId, next + i), ...filter })));
      for (const d of docs) {
        if (!d) {
          if (out.length > 0) saw(actorId, out[out.length - 1]!.seq);
          return out;
        }
        out.push(d);
      }
    }
  }

  /** The record of an actor document with its live mailbox head and lease (what SQLite keeps on one row). */
  async function live(d: ActorDoc): Promise<ActorRecord> {
    // A final actor's document has the last word: its final commit released the owner and
    // moved the mark past every event it refused; nothing is applied after it.
    if (d.final) return toRecord(d);
    const [lastSeq, lease] = await Promise.all([lastSeqFrom(d._id, knownFloor(d._id, d.appliedSeq)), leases.findOne({ _id: d._id })]);
    return toRecord(d, { lastSeq, lease });
  }

  /**
   * Takes the lease epoch after the one `lease` shows, by inserting its claim: `null` if
   * another process claimed it. A claim older than a lease that the lease document never
   * showed lost its lease write (to a former owner's renewal, on a server whose updates are
   * not atomic): then the epoch after it is taken, or the actor could never be claimed again.
   */
  async function claimEpoch(lease: LeaseDoc, ownerId: string, nowMs: number, leaseMs: number): Promise<number | null> {
    for (let epoch = lease.epoch + 1; ; epoch++) {
      if (await insertIgnoringDuplicate(claims, { _id: claimId(lease._id, epoch), ownerId, at: nowMs })) return epoch;
      const won = await claims.findOne({ _id: claimId(lease._id, epoch) });
      if (!won || won.at + leaseMs >= nowMs) return null;
    }
  }

  /**
   * The takeover's write of the actor document (owner and epoch), keeping its
   * version: from the document `read` (or read now), again from each newer one until the
   * compare-and-set on version lands. `null` when the actor is gone or final, or a later
   * epoch holds it.
   */
  async function takeOver(actorId: string, holder: { ownerId: string; epoch: number }, read?: ActorDoc | null): Promise<ActorDoc | null> {
    for (let d = read === undefined ? await actors.findOne({ _id: actorId }, WITHOUT_HIST) : read; ; d = await actors.findOne({ _id: actorId }, WITHOUT_HIST)) {
      if (!d || d.final || d.epoch > holder.epoch) return null;
      const taken = await actors.findOneAndUpdate(
        { _id: actorId, version: d.version, epoch: { $lte: holder.epoch }, final: false },
        { $set: { ownerId: holder.ownerId, epoch: holder.epoch } },
        { returnDocument: 'after' },
      );
      if (taken) return taken;
    }
  }

  /**
   * The actor documents of takeovers written `takeoverSettleMs` ago, read again (see the
   * module comment): each one that still shows its taker, or that was taken again from a
   * former owner's commit which landed over the takeover's write. Those are settled after
   * another wait, a few times at most; an actor still moving after that is left to its
   * lease, which runs out and is claimed again.
   */
  async function settle(taken: { d: ActorDoc; holder: { ownerId: string; epoch: number } }[], waitMs: number): Promise<ActorDoc[]> {
    const out: ActorDoc[] = [];
    for (let round = 0, open = taken; open.length > 0 && round < SETTLE_ROUNDS; round++) {
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      const again: typeof taken = [];
      await inBatches(open, CLAIM_CONCURRENCY, async (t) => {
        const now = await actors.findOne({ _id: t.d._id }, WITHOUT_HIST);
        if (!now || now.final) return;
        if (now.ownerId === t.holder.ownerId && now.epoch === t.holder.epoch) {
          out.push(now);
          return;
        }
        const d = await takeOver(now._id, t.holder, now);
        if (d) again.push({ ...t, d });
      });
      open = again;
    }
    return out;
  }

  /** True when an epoch after `epoch` was claimed for the actor: its holder lost it. */
  async function superseded(actorId: string, epoch: number): Promise<boolean> {
    return (await claims.countDocuments({ _id: claimId(actorId, epoch + 1) }, { limit: 1 })) > 0;
  }

  /** Copies a commit's outcomes into the mailbox (idempotent; repeated by a claim after a crash). */
  async function copyOutcomes(actorId: string, outcomes: ActorBody['outcomes']): Promise<void> {
    for (let i = 0; i < outcomes.length; i += OUTCOME_BATCH) {
      const batch = outcomes.slice(i, i + OUTCOME_BATCH);
      await mailbox.bulkWrite(
        batch.map((o) => ({
          updateOne: { filter: { _id: mailboxId(actorId, o.seq) }, update: { $set: { outcome: o.outcome, error: o.error } } },
        })),
        { ordered: false },
      );
    }
  }

  /** Refuses the pending events of a final actor beyond its mark, and moves the mark past them. */
  async function refuseRest(actorId: string, afterSeq: number): Promise<void> {
    // Usually nothing is left: one lookup says so.
    await refuse((await entriesAfter(actorId, afterSeq, {}, 1)).filter((m) => m.outcome === 'pending'));
  }

  /**
   * For all actors that ended since the last batch (see the module comment): deletes their
   * leases, one command, and refuses the events appended while they ended, one query.
   */
  async function finishBatch(): Promise<void> {
    finishTimer = null;
    const after = new Map(finishing);
    finishing.clear();
    const batch = nextBatch;
    nextBatch = null;
    try {
      if (after.size === 0) return;
      const ids = [...after.keys()];
      const [left] = await Promise.all([
        // Pending entries are few (the filter on `outcome` is the part the server narrows by).
        mailbox.find({ outcome: 'pending', actorId: { $in: ids } }, { projection: { actorId: 1, seq: 1 } }).toArray(),
        // Whatever its epoch: a final actor is never taken over, so its lease is only garbage.
        leases.deleteMany({ _id: { $in: ids } }).catch(() => undefined),
      ]);
      await refuse(left.filter((m) => m.seq > (after.get(m.actorId) ?? Infinity)));
    } finally {
      for (const id of after.keys()) if (releasing.get(id) === batch?.done) releasing.delete(id);
      batch?.settle();
    }
  }

  /**
   * Starts the copies a commit of `version` makes after its compare-and-set (its history entry,
   * its event outcomes), without holding up its answer. Until they land, the actor's later
   * commits carry the outcomes on the actor document ({@link carriedOutcomes}), and its
   * history entry stays in the ring for {@link HIST_RING} versions. The list is the epoch's:
   * a commit of another epoch neither carries nor drops it.
   */
  function copyLater(actorId: string, epoch: number, version: number, outcomes: ActorBody['outcomes'], final: boolean, copy: () => Promise<void>): void {
    const job: CopyJob = { version, outcomes, ok: null, landed: Promise.resolve(true), redo: copy };
    job.landed = copy().then(
      () => (job.ok = true),
      () => (job.ok = false),
    );
    const held = copying.get(actorId);
    const list = held && held.epoch === epoch ? held : { epoch, jobs: [] };
    list.jobs.push(job);
    copying.set(actorId, list);
    void job.landed.then((ok) => {
      if (copying.get(actorId) !== list) return;
      // Once a final commit's copies are done, whatever failed loses nothing: the final
      // document keeps its outcomes (carried ones included) and its ring for good.
      if (final) copying.delete(actorId);
      else if (ok) forgetCopy(actorId, list, job);
    });
  }

  function forgetCopy(actorId: string, list: CopyList, job: CopyJob): void {
    list.jobs = list.jobs.filter((j) => j !== job);
    if (list.jobs.length === 0 && copying.get(actorId) === list) copying.delete(actorId);
  }

  /**
   * Before the commit of `version` at `epoch`: settles the copies it must not overtake and
   * returns the outcomes it carries for the ones still in flight. A copy that failed is redone
   * now (a second failure stops the commit, which leaves the document as it was); one whose
   * history entry this commit's ring slot would overwrite, or beyond {@link COPIES_IN_FLIGHT},
   * is waited for. The copies of an earlier epoch were the claim's to repair.
   */
  async function carriedOutcomes(actorId: string, epoch: number, version: number): Promise<ActorBody['outcomes']> {
    const list = copying.get(actorId);
    if (!list) return [];
    if (list.epoch !== epoch) {
      if (list.epoch < epoch) copying.delete(actorId);
      return [];
    }
    for (const [i, job] of [...list.jobs].entries()) {
      // With this commit's own, at most COPIES_IN_FLIGHT stay in flight.
      const mustLand = job.version <= version - ring || list.jobs.length - i >= COPIES_IN_FLIGHT;
      if (job.ok === null && mustLand) await job.landed;
      if (job.ok === false) {
        await job.redo();
        job.ok = true;
      }
      if (job.ok) forgetCopy(actorId, list, job);
    }
    return list.jobs.flatMap((j) => j.outcomes);
  }

  /** Waits for the batches that delete the leases of `ids` (or of all) that ended here. */
  async function released(ids?: readonly string[]): Promise<void> {
    if (releasing.size === 0) return;
    const waiting = ids ? ids.map((id) => releasing.get(id)).filter((p) => p !== undefined) : [...releasing.values()];
    await Promise.all(waiting);
  }

  /**
   * Queues the deletion of an actor's lease and the refusal of what its final commit left in
   * its mailbox, for the next batch; a batch that never runs (or fails) is repaired by the
   * claim that finds the actor final once its lease runs out.
   */
  function finishLater(actorId: string, afterSeq: number): void {
    finishing.set(actorId, afterSeq);
    if (!nextBatch) {
      let settle = (): void => undefined;
      const done = new Promise<void>((resolve) => (settle = resolve));
      nextBatch = { done, settle };
    }
    releasing.set(actorId, nextBatch.done);
    if (finishTimer) return;
    finishTimer = setTimeout(() => {
      // A batch that fails is repaired as one that never ran (see the module comment).
      finishingNow = finishingNow.then(finishBatch).catch(() => undefined);
    }, FINISH_BATCH_MS);
    finishTimer.unref();
  }

  /** Refuses pending mailbox entries of final actors, and moves each actor's mark past its own. */
  async function refuse(left: Pick<MailboxDoc, '_id' | 'actorId' | 'seq'>[]): Promise<void> {
    if (left.length === 0) return;
    const top = new Map<string, number>();
    for (const m of left) top.set(m.actorId, Math.max(m.seq, top.get(m.actorId) ?? 0));
    for (let i = 0; i < left.length; i += OUTCOME_BATCH) {
      await mailbox.bulkWrite(
        left.slice(i, i + OUTCOME_BATCH).map((m) => ({
          updateOne: { filter: { _id: m._id, outcome: 'pending' }, update: { $set: { outcome: 'refused', error: endedBeforeApplied(m.actorId) } } },
        })),
        { ordered: false },
      );
    }
    await Promise.all([...top].map(([actorId, seq]) => actors.updateOne({ _id: actorId }, { $max: { appliedSeq: seq } })));
  }

  async function throwWhyNot(id: string, owner: { ownerId: string; epoch: number }, expectedVersion: number): Promise<never> {
    const [head, lease] = await Promise.all([
      actors.findOne({ _id: id }, { projection: { version: 1, final: 1 } }),
      leases.findOne({ _id: id }),
    ]);
    if (!head) throw new AppError('not-found', `No actor ${id}`);
    // A final actor has no owner, whether or not its batch deleted the lease yet.
    if (head.final || !lease || lease.ownerId !== owner.ownerId || lease.epoch !== owner.epoch || (await superseded(id, owner.epoch))) {
      throw new AppError('lease-lost', `Actor ${id} is no longer held by ${owner.ownerId} at epoch ${owner.epoch}`);
    }
    throw new AppError('version-conflict', `Actor ${id} is at version ${head.version}, not ${expectedVersion}`);
  }

  /**
   * Claims the idempotency key of an append. Resolves `null` when this call may append, the
   * earlier result when the key was used, or `takeover` (with the dead request's hash) for a
   * claim whose holder died.
   */
  async function claimAppendKey(
    tenantId: string,
    actorId: string,
    claim: IdempotencyClaim,
  ): Promise<IdempotentResult<number> | { takeover: true; requestHash: string } | null> {
    const _id = idemId(tenantId, `send:${actorId}`, claim.key);
    const deadline = now() + staleClaimMs * 2;
    for (;;) {
      const existing = await idem.findOne({ _id });
      const t = now();
      if (!existing) {
        if (await insertIgnoringDuplicate<IdemDoc>(idem, { _id, tenantId, requestHash: claim.requestHash, result: null, record: null, claimedAt: t, expiresAt: claim.expiresAt })) return null;
        continue;
      }
      if (existing.expiresAt <= claim.nowMs) {
        await idem.deleteOne({ _id, expiresAt: existing.expiresAt });
        continue;
      }
      if (typeof existing.result === 'number') return { fresh: false, value: existing.result, requestHash: existing.requestHash };
      if (existing.claimedAt <= t - staleClaimMs) {
        // Taking a dead claim over is itself a race: the winner is whoever inserts its marker.
        if (await insertIgnoringDuplicate(claims, { _id: `${_id}|${existing.claimedAt}`, ownerId: 'append', at: t })) {
          // The request's hash stays the dead one's until this call stores an event of its own.
          await idem.updateOne({ _id }, { $set: { claimedAt: t } });
          return { takeover: true, requestHash: existing.requestHash };
        }
      }
      if (t > deadline) throw new AppError('version-conflict', 'Another request with this idempotency key is still in flight');
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  return {
    async drain() {
      if (finishTimer) {
        clearTimeout(finishTimer);
        finishingNow = finishingNow.then(finishBatch).catch(() => undefined);
      }
      await Promise.all([finishingNow, released(), ...[...copying.values()].flatMap((l) => l.jobs.map((j) => j.landed))]);
    },

    async create(record, idempotency) {
      const began = performance.now();
      const doc = asDocument(record, ring);
      assertDocumentFits(doc, 'actor');
      if (idempotency) {
        const _id = idemId(record.tenantId, 'spawn', idempotency.key);
        for (;;) {
          const inserted = await insertIgnoringDuplicate<IdemDoc>(idem, {
            _id,
            tenantId: record.tenantId,
            requestHash: idempotency.requestHash,
            result: record.id,
            record: JSON.stringify(doc),
            leaseMs: leaseMsOf(record),
            claimedAt: idempotency.nowMs,
            expiresAt: idempotency.expiresAt,
          });
          if (inserted) break;
          const existing = await idem.findOne({ _id });
          if (!existing) continue;
          if (existing.expiresAt <= idempotency.nowMs) {
            await idem.deleteOne({ _id, expiresAt: existing.expiresAt });
            continue;
          }
          // A replay: make sure the promised actor exists with its lease (its first request
          // may have died between the inserts), without giving an actor that ended a lease
          // again. A lease given here is the one the first request would have had: an actor
          // that request is still spawning keeps it, one whose request died is claimed once
          // it runs out.
          if (existing.record) {
            const promised = JSON.parse(existing.record) as ActorDoc;
            const found = await actors.findOne({ _id: promised._id }, { projection: { final: 1 } });
            // The first request's lease time: the replay's own record may hold none (it ended).
            const leaseMs = existing.leaseMs ?? leaseMsOf(record);
            const leaseUntil = Date.parse(promised.createdAt) + leaseMs;
            if (!found) {
              try {
                await insertActor(promised, leaseUntil, leaseMs, began, false);
              } catch (e) {
                // Stored, and left to the claims: it runs, so the replay answers it.
                if (!isAppError(e, 'lease-lost')) throw e;
              }
            } else if (!found.final && !(await leases.findOne({ _id: promised._id }, { projection: { _id: 1 } }))) {
              await insertIgnoringDuplicate(leases, { _id: promised._id, ownerId: promised.ownerId, epoch: promised.epoch, leaseUntil, final: false });
            }
          }
          return { fresh: false, value: String(existing.result), requestHash: existing.requestHash };
        }
      }
      await insertActor(doc, record.leaseUntil, leaseMsOf(record), began, true);
      return { fresh: true, value: record.id };
    },

    async get(tenantId, id) {
      const d = await actors.findOne({ _id: id, tenantId }, WITHOUT_HIST);
      return d ? live(d) : null;
    },

    async list(filter: ActorListFilter): Promise<Page<ActorRecord>> {
      const q: Document = { tenantId: filter.tenantId };
      if (filter.kind) q.kind = filter.kind;
      if (filter.status) q.status = filter.status;
      if (filter.tag) q.tags = filter.tag;
      if (filter.cursor) {
        const at = await actors.findOne({ _id: filter.cursor, tenantId: filter.tenantId }, { projection: { createdAt: 1 } });
        if (at) q.$or = [{ createdAt: { $lt: at.createdAt } }, { createdAt: at.createdAt, _id: { $lt: filter.cursor } }];
        else q._id = { $lt: filter.cursor };
      }
      const docs = await actors.find(q, WITHOUT_HIST).sort({ createdAt: -1, _id: -1 }).limit(filter.limit + 1).toArray();
      // Point lookups per actor (`$in` is not pushed down on FerretDB); the pool bounds how many run at once.
      const items = await Promise.all(docs.slice(0, filter.limit).map(live));
      return { items, nextCursor: docs.length > filter.limit ? (items[items.length - 1]?.id ?? null) : null };
    },

    async append(tenantId, actorId, event, acceptedAt, idempotency) {
      const key = idempotency ? idemId(tenantId, `send:${actorId}`, idempotency.key) : null;
      if (idempotency) {
        const claimed = await claimAppendKey(tenantId, actorId, idempotency);
        if (claimed && 'fresh' in claimed) return claimed;
        if (claimed && 'takeover' in claimed) {
          // The dead claimant may have stored its event before it died: then this is a replay
          // of that request (the caller compares the hashes).
          const stored = await mailbox.findOne({ actorId, idemKey: key });
          if (stored) {
            await idem.updateOne({ _id: key ?? '' }, { $set: { result: stored.seq } });
            return { fresh: false, value: stored.seq, requestHash: claimed.requestHash };
          }
        }
      }
      const eventText = JSON.stringify(event);
      assertDocumentFits({ event: eventText }, 'event');
      // The actor document turns final before its lease does.
      const head = await actors.findOne({ _id: actorId, tenantId }, { projection: { final: 1, appliedSeq: 1 } });
      const refuse = async (e: AppError): Promise<never> => {
        if (key) await idem.deleteOne({ _id: key, result: null });
        throw e;
      };
      if (!head) return refuse(new AppError('not-found', `No actor ${actorId}`));
      if (head.final) return refuse(new AppError('actor-final', `Actor ${actorId} is final and takes no events`));
      // The next free sequence number is taken by inserting it, one past a number the mailbox
      // holds, so the numbers stay dense; a loser of a race searches the head from there.
      let seq = knownFloor(actorId, head.appliedSeq) + 1;
      for (;;) {
        const inserted = await insertIgnoringDuplicate<MailboxDoc>(mailbox, {
          _id: mailboxId(actorId, seq),
          actorId,
          tenantId,
          seq,
          event: eventText,
          acceptedAt,
          outcome: 'pending',
          error: 'null',
          idemKey: key,
        });
        if (inserted) break;
        seq = (await lastSeqFrom(actorId, seq)) + 1;
      }
      saw(actorId, seq);
      if (key && idempotency) await idem.updateOne({ _id: key }, { $set: { result: seq, requestHash: idempotency.requestHash } });
      // The owner may have ended the actor meanwhile: then nobody will apply this event, so it
      // is refused here (the owner's final commit refuses the ones it can see).
      const after = await actors.findOne({ _id: actorId }, { projection: { final: 1 } });
      if (after?.final) {
        await mailbox.updateOne({ _id: mailboxId(actorId, seq), outcome: 'pending' }, { $set: { outcome: 'refused', error: endedBeforeApplied(actorId) } });
      }
      return { fresh: true, value: seq };
    },

    async pending(tenantId, actorId, afterSeq) {
      return (await entriesAfter(actorId, afterSeq, { tenantId })).map(toEntry);
    },

    async event(tenantId, actorId, seq) {
      const d = await mailbox.findOne({ _id: mailboxId(actorId, seq), tenantId });
      if (!d) return null;
      if (d.outcome === 'pending') {
        // An outcome committed with the actor but not yet copied here (crash in between), or
        // an event its final commit left behind, not yet refused by the batch that will.
        const a = await actors.findOne({ _id: actorId, tenantId }, { projection: { b: 1, final: 1, appliedSeq: 1 } });
        const o = a ? bodyOf(a).outcomes.find((x) => x.seq === seq) : undefined;
        if (o) return toEntry({ ...d, outcome: o.outcome, error: o.error });
        if (a?.final && seq > a.appliedSeq) return toEntry({ ...d, outcome: 'refused', error: endedBeforeApplied(actorId) });
        // Applied, and its copy landed after the first read (a later commit then dropped it
        // from the document): read the copy.
        if (a && seq <= a.appliedSeq) return toEntry((await mailbox.findOne({ _id: mailboxId(actorId, seq), tenantId })) ?? d);
      }
      return toEntry(d);
    },

    async commit(id, owner, expectedVersion, patch: CommitPatch) {
      const final = isFinalStatus(patch.status);
      const version = expectedVersion + 1;
      const outcomes = patch.outcomes.map((o) => ({ seq: o.seq, outcome: o.outcome, error: text(o.error) }));
      const carried = await carriedOutcomes(id, owner.epoch, version);
      const change = changeOf(patch, new Date().toISOString());
      const body = bodyFrom(change, { snapshot: patch.snapshot, timers: patch.timers, outcomes: [...carried, ...outcomes] });
      const set: Partial<ActorDoc> = { status: patch.status, final, tags: patch.tags, appliedSeq: patch.appliedSeq, b: packBody(body) };
      if (final) set.ownerId = null;
      assertDocumentFits(set, 'snapshot', SNAPSHOT_BYTES_MAX);
      const item = await histEntry(id, version, change);
      // The first commit past the ring copies the entries it is about to overwrite, first.
      if (version === ring) {
        const before = await actors.findOne({ _id: id }, { projection: { hist: 1 } });
        await keepHistory(id, version, Object.values(before?.hist ?? {}).map(unpackHist));
      }
      // One compare-and-set with the version's history entry: a holder that stalled past its
      // lease names an epoch the takeover replaced (see the module comment).
      const res = await actors.updateOne(
        { _id: id, version: expectedVersion, ownerId: owner.ownerId, epoch: owner.epoch, final: false },
        { $set: { ...set, [`hist.${histSlot(version, ring)}`]: item.slot }, $inc: { version: 1 } },
      );
      if (res.matchedCount === 0) {
        // This holder commits no more (the runtime drops its copy): what its epoch still had to
        // copy is the next claim's to repair from the document.
        if (copying.get(id)?.epoch === owner.epoch) copying.delete(id);
        await throwWhyNot(id, owner, expectedVersion);
      }
      // Independent writes after the one that counts, none of them awaited: the history and
      // outcome copies (readers find both on the actor document meanwhile), the deletion of a
      // final commit's lease, and the refusal of whatever it left in the mailbox, by the next
      // batch. The actor document turned final before the mailbox is read: an appender
      // inserts its entry, then reads that document; one of the two sees the other's write,
      // so no entry is left pending.
      if (version >= ring || outcomes.length > 0) {
        // An entry too large for the ring is in `history` already.
        const entry: HistItem = { v: version, at: change.updatedAt, view: item.stored ? null : change };
        copyLater(id, owner.epoch, version, outcomes, final, async () => {
          await Promise.all([
            version >= ring ? keepHistory(id, version, [entry]) : undefined,
            outcomes.length > 0 ? copyOutcomes(id, outcomes) : undefined,
          ]);
        });
      }
      if (final) finishLater(id, patch.appliedSeq);
      return version;
    },

    async claim(ownerId, nowMs, leaseMs, limit) {
      // A failed look is the next one's to repeat; the claims go on.
      await adoptOrphans(nowMs, leaseMs).catch(() => undefined);
      // Leases of actors this process ended wait for their batch's deletion: not claimable.
      const candidates = (
        await leases
          .find({ final: false, $or: [{ ownerId: null }, { leaseUntil: { $lt: nowMs } }] })
          .limit(limit + releasing.size)
          .toArray()
      )
        .filter((l) => !releasing.has(l._id))
        .slice(0, limit);
      type Taken = { d: ActorDoc; holder: { ownerId: string; epoch: number }; lease: LeaseDoc };
      const claimOne = async (lease: LeaseDoc): Promise<Taken | null> => {
        // One winner per epoch, whatever the server's update semantics.
        const epoch = await claimEpoch(lease, ownerId, nowMs, leaseMs);
        if (epoch === null) return null;
        const taken: LeaseDoc = { _id: lease._id, ownerId, epoch, leaseUntil: nowMs + leaseMs, final: false };
        await leases.replaceOne({ _id: lease._id }, taken);
        const holder = { ownerId, epoch };
        const d = await takeOver(lease._id, holder);
        if (!d) {
          // The actor ended but its lease was left (a crash between the final commit and the
          // lease's deletion): delete it now, or every process would claim the finished actor
          // again, lease after lease.
          const ended = await actors.findOne({ _id: lease._id }, { projection: { final: 1, appliedSeq: 1 } });
          if (ended?.final) await Promise.all([leases.deleteOne({ _id: lease._id, epoch }), refuseRest(lease._id, ended.appliedSeq)]);
          // An actor never stored: deleted by the second claim to find it so (a lease later than
          // the first epoch), a lease after the spawn's own was claimed (see `insertActor`).
          else if (!ended && lease.epoch > 1) await leases.deleteOne({ _id: lease._id, epoch });
          return null;
        }
        return { d, holder, lease: taken };
      };
      // Actors are taken over independently, a few at a time. The leases are granted from
      // `nowMs`: once a quarter of one has passed, no more are started, so the caller gets them
      // (and renews them) in time (the rest wait for its next call).
      const began = performance.now();
      const taken: Taken[] = [];
      await inBatches(candidates, CLAIM_CONCURRENCY, async (lease) => {
        if (performance.now() - began >= leaseMs / 4) return;
        const t = await claimOne(lease);
        if (t) taken.push(t);
      });
      if (taken.length === 0) return [];
      const byId = new Map(taken.map((t) => [t.d._id, t]));
      // A lease far shorter than a second (tests) bounds the wait to keep the lease useful.
      const settled = await settle(taken, Math.min(takeoverSettleMs, leaseMs / 4));
      const out: ActorRecord[] = [];
      await inBatches(settled, CLAIM_CONCURRENCY, async (d) => {
        // Whatever this process still had to copy for the actor at an earlier epoch is repaired
        // from the document here.
        if (copying.get(d._id)?.epoch !== d.epoch) copying.delete(d._id);
        const { outcomes } = bodyOf(d);
        const [lastSeq] = await Promise.all([
          lastSeqFrom(d._id, knownFloor(d._id, d.appliedSeq)),
          outcomes.length > 0 ? copyOutcomes(d._id, outcomes) : undefined,
          // Repairs the history copies of the last commits if their writer died right after them.
          d.version >= ring ? actors.findOne({ _id: d._id }, { projection: { hist: 1 } }).then((h) => keepHistory(d._id, d.version, Object.values(h?.hist ?? {}).map(unpackHist))) : undefined,
        ]);
        const t = byId.get(d._id);
        if (t) out.push(toRecord(d, { lastSeq, lease: t.lease }));
      });
      return out;
    },

    async renew(ownerId, held, leaseUntil) {
      if (held.length === 0) return [];
      const ids = held.map((h) => h.id);
      await released(ids);
      await leases.updateMany({ _id: { $in: ids }, ownerId, final: false }, { $set: { leaseUntil } });
      const [still, later] = await Promise.all([
        leases.find({ _id: { $in: ids }, ownerId, final: false }, { projection: { epoch: 1 } }).toArray(),
        claims.find({ _id: { $in: held.map((h) => claimId(h.id, h.epoch + 1)) } }, { projection: { _id: 1 } }).toArray(),
      ]);
      const epochs = new Map(still.map((d) => [d._id, d.epoch]));
      const taken = new Set(later.map((c) => c._id));
      const lost = held.filter((h) => epochs.get(h.id) !== h.epoch || taken.has(claimId(h.id, h.epoch + 1)));
      if (lost.length > 0) await leaseOrphaned(lost);
      return lost.map((h) => h.id);
    },

    async release(ownerId, ids) {
      if (ids.length === 0) return;
      await leases.updateMany({ _id: { $in: ids }, ownerId }, { $set: { ownerId: null, leaseUntil: 0 } });
    },

    async withPendingEvents(ownerId) {
      const mine = await leases.find({ ownerId, final: false }, { projection: { _id: 1 } }).toArray();
      if (mine.length === 0) return [];
      const pending = await mailbox
        .find({ outcome: 'pending', actorId: { $in: mine.map((m) => m._id) } }, { projection: { actorId: 1, seq: 1 } })
        .toArray();
      if (pending.length === 0) return [];
      const top = new Map<string, number>();
      for (const p of pending) top.set(p.actorId, Math.max(p.seq, top.get(p.actorId) ?? 0));
      const docs = await actors.find({ _id: { $in: [...top.keys()] }, final: false }, { projection: { tenantId: 1, appliedSeq: 1 } }).toArray();
      // An entry at or below the mark was applied; its outcome copy may just not have landed.
      return docs.filter((d) => (top.get(d._id) ?? 0) > d.appliedSeq).map((d) => ({ id: d._id, tenantId: d.tenantId }));
    },

    async purgeExpired(nowMs) {
      const res = await idem.deleteMany({ expiresAt: { $lte: nowMs } });
      return res.deletedCount;
    },

    async history(tenantId, actorId, afterVersion, limit) {
      const d = await actors.findOne({ _id: actorId, tenantId }, { projection: { hist: 1, version: 1 } });
      if (!d) return { entries: [], oldestVersion: null };
      // Entries kept: versions above `low`, the newest in the ring, the older ones in `history`.
      const low = d.version - historyMax;
      const inRing = Object.values(d.hist ?? {})
        .map(unpackHist)
        .filter((e) => e.v <= d.version && e.v > d.version - ring)
        .sort((x, y) => x.v - y.v);
      const ringLow = inRing[0]?.v ?? d.version + 1;
      let older: HistDoc[] = [];
      if (ringLow - 1 > low && limit > 0) {
        // An entry leaves the ring only once its copy landed (see `carriedOutcomes`); a copy
        // a crash lost stays missing, and the claim repairs what the ring still holds.
        older = await history.find({ actorId, v: { $gt: Math.max(low, afterVersion), $lt: ringLow } }).sort({ v: 1 }).limit(limit).toArray();
      }
      let oldestVersion: number | null = inRing[0]?.v ?? null;
      if (ringLow - 1 > low) {
        const first = afterVersion <= low ? older[0] : (await history.find({ actorId, v: { $gt: low, $lt: ringLow } }, { projection: { v: 1 } }).sort({ v: 1 }).limit(1).toArray())[0];
        if (first) oldestVersion = first.v;
      }
      const fromDoc = (o: HistDoc): HistItem => ({ v: o.v, at: o.at, view: JSON.parse(o.view) as SnapshotChange });
      const wanted = [...older.map(fromDoc), ...inRing.filter((e) => e.v > afterVersion)].slice(0, Math.max(0, limit));
      const big = new Map<number, SnapshotChange>();
      await inBatches(
        wanted.filter((e) => e.view === null),
        WALK_WINDOW,
        async (e) => {
          const h = await history.findOne({ _id: `${actorId}:${e.v}` });
          if (h) big.set(e.v, JSON.parse(h.view) as SnapshotChange);
        },
      );
      const entries: HistoryEntry[] = [];
      for (const e of wanted) {
        const view = e.view ?? big.get(e.v);
        // A spilled entry whose document is gone (a crash before it was written) is skipped;
        // the reader ends with the record's current state anyway.
        if (view) entries.push({ version: e.v, at: e.at, view });
      }
      return { entries, oldestVersion };
    },
  };
}
