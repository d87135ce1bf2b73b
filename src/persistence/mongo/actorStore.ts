/**
 * @module persistence/mongo/actorStore
 * `ActorStore` on MongoDB without transactions or change streams, and without relying on an
 * update being atomic against another update of the same document: FerretDB v1 rewrites a
 * whole document per update without a lock, so two concurrent updates of one document can
 * lose one (seen here: concurrent `$inc`s lost, a compare-and-set "won" twice). What is
 * atomic everywhere is a unique `_id` on insert, so:
 *
 * - every document has one writer at a time: `actors` (the snapshot) by the holder of its
 *   next version (below); `leases` (owner, epoch, lease end) by the owner, or by the one
 *   process that won the takeover; a mailbox entry by its appender, then its owner;
 * - decisions that several processes race for are inserts: a takeover inserts
 *   `claims/<actor>:<epoch>` (one winner per epoch), an event inserts `mailbox/<actor>:<seq>`
 *   one past a number the mailbox holds (a loser searches the head and retries), so the
 *   numbers are dense and the mailbox is read by `_id` alone (see {@link mailboxId}); an idempotency key
 *   inserts `idempotency/<tenant>|<scope>|<key>`;
 * - the actor document has one writer per version: whoever inserted `versions/<actor>:<v+1>`
 *   writes it while it is at version `v`. A commit takes the version after its expected one,
 *   after checking that no later epoch was claimed (`lease-lost` otherwise), then writes a
 *   compare-and-set on `version`, `ownerId` and `epoch`. A takeover, once its claim won the
 *   epoch, takes the next version too for the time of its write of the new owner and epoch
 *   (which keeps the version): a former owner's commit either took that version first (the
 *   claim then leaves the actor for a later claim, or waits, until that write has landed, and
 *   continues from it) or finds it taken and is refused, so the two writes never interleave.
 *   After it, the former owner's compare-and-set cannot match (it names the old epoch), so the
 *   new owner's commit takes a version held under an older epoch from its holder. A version
 *   taken and never written (its writer died or stalled in between) is released after
 *   `abandonedWriteMs`; the late write, if it comes, then fails its compare-and-set on epoch.
 *   The one window left is that late write being processed by the server at the very moment
 *   of the takeover's write, seconds after it was due.
 *
 * `lastSeq` and the lease (owner, epoch, end) are read live by `get`, `list` and `claim`, from
 * the mailbox head and the `leases` document. Outcomes of a commit are repeated on the actor
 * document and copied into the mailbox after it, so a crash in between is repaired by the next
 * claim.
 *
 * Snapshot history: one insert of `history/<actor>:<version>` after the write that made the
 * version (a repeat is a no-op), then, once the actor passes `historyMax` versions, a delete
 * of the entry `historyMax` versions older (by `_id`), and every `historyMax` versions one
 * range delete of any older ones left. The insert is best effort: failing it must not fail a commit
 * that already landed (the owner would take its own version for a conflict and drop the
 * actor); a missing entry is re-inserted from the actor document by the next claim, and a
 * reader ends with the record's current state anyway.
 */
import type { Collection, Db, Document } from 'mongodb';
import { AppError, PROBLEM_TYPE_PREFIX, ProblemTitles, type Problem } from '../../errors.js';
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
import { assertDocumentFits, isDuplicateKeyError } from './guard.js';
import { ensureIndexes } from './indexes.js';

interface ActorDoc {
  _id: string;
  tenantId: string;
  kind: string;
  status: ActorStatus;
  final: boolean;
  value: string;
  tags: string[];
  machineId: string;
  machineVersion: number;
  snapshot: string | null;
  input: string;
  contractId: string | null;
  output: string;
  error: string;
  timers: string;
  version: number;
  appliedSeq: number;
  ownerId: string | null;
  /** As of the last write of this document; the live value is in `leases`. */
  leaseUntil: number;
  epoch: number;
  createdAt: string;
  updatedAt: string;
  outcomes: { seq: number; outcome: 'applied' | 'refused'; error: string }[];
}

interface LeaseDoc {
  _id: string;
  ownerId: string | null;
  epoch: number;
  leaseUntil: number;
  final: boolean;
}

/**
 * `versions/<actor>:<version>`: the right to write the actor document while it is at
 * `version - 1`, held by one writer (the insert decides): the owner committing that version,
 * or, for the time of its write of owner and epoch (which keeps the version), the process
 * taking the actor over.
 */
interface VersionDoc {
  _id: string;
  actorId: string;
  version: number;
  ownerId: string;
  epoch: number;
  /** When it was taken (the taker's clock), epoch ms. */
  at: number;
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

interface HistoryDoc {
  /** `<actor>:<version>`: one entry per version, whoever writes it. */
  _id: string;
  actorId: string;
  version: number;
  at: string;
  /** The {@link SnapshotChange}, as JSON. */
  view: string;
}

interface IdemDoc {
  _id: string;
  tenantId: string;
  requestHash: string;
  /** Actor id (spawn) or sequence number (send); `null` while an append is in flight. */
  result: string | number | null;
  /** The actor record of a spawn, as JSON. */
  record: string | null;
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
   * A takeover waits this long, from when a former owner took the actor's next version, for
   * that owner's write to land; past it the writer is taken for dead (or stalled) and its
   * write, should it still come, finds the document taken over. Milliseconds.
   * @defaultValue 2000
   */
  abandonedWriteMs?: number;
}

const OUTCOME_BATCH = 50;
/** Actors one `claim` takes over at once (the pool holds 10 connections, shared with the rest). */
const CLAIM_CONCURRENCY = 8;
/** Every this many versions a commit deletes the spent rights to write its actor's earlier versions. */
const VERSION_SWEEP = 16;
/** Most mailbox point lookups one read sends at once (the pool holds 10 connections). */
const WALK_WINDOW = 8;
/** Actors whose mailbox head a store remembers (a hint; forgotten all at once past this). */
const KNOWN_SEQ_MAX = 10_000;

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

function asDocument(r: ActorRecord): ActorDoc {
  return {
    _id: r.id,
    tenantId: r.tenantId,
    kind: r.kind,
    status: r.status,
    final: isFinalStatus(r.status),
    value: text(r.value),
    tags: r.tags,
    machineId: r.machineId,
    machineVersion: r.machineVersion,
    snapshot: r.snapshot === null ? null : text(r.snapshot),
    input: text(r.input),
    contractId: r.contractId,
    output: text(r.output),
    error: text(r.error),
    timers: text(r.timers),
    version: r.version,
    appliedSeq: r.appliedSeq,
    ownerId: r.ownerId,
    leaseUntil: r.leaseUntil,
    epoch: r.epoch,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    outcomes: [],
  };
}

function toRecord(d: ActorDoc, live: { lastSeq?: number; lease?: LeaseDoc | null } = {}): ActorRecord {
  return {
    id: d._id,
    tenantId: d.tenantId,
    kind: d.kind,
    status: d.status,
    value: parse(d.value, null),
    tags: d.tags,
    machineId: d.machineId,
    machineVersion: d.machineVersion,
    snapshot: parse(d.snapshot, null),
    input: parse(d.input, null),
    contractId: d.contractId,
    output: parse(d.output, null),
    error: parse<Problem | null>(d.error, null),
    timers: parse(d.timers, []),
    version: d.version,
    appliedSeq: d.appliedSeq,
    lastSeq: Math.max(live.lastSeq ?? d.appliedSeq, d.appliedSeq),
    ownerId: live.lease ? live.lease.ownerId : d.ownerId,
    leaseUntil: live.lease ? live.lease.leaseUntil : d.leaseUntil,
    epoch: live.lease ? live.lease.epoch : d.epoch,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
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
  await ensureIndexes(db.collection('history'), [{ key: { actorId: 1, version: 1 }, name: 'actor_version' }]);
}

/** The snapshot change an actor document holds. */
function changeOf(d: Pick<ActorDoc, 'status' | 'value' | 'tags' | 'contractId' | 'machineVersion' | 'output' | 'error' | 'updatedAt'>): SnapshotChange {
  return {
    status: d.status,
    value: parse(d.value, null),
    tags: d.tags,
    contractId: d.contractId,
    machineVersion: d.machineVersion,
    output: parse(d.output, null),
    error: parse<Problem | null>(d.error, null),
    updatedAt: d.updatedAt,
  };
}

export function createMongoActorStore(db: Db, options: MongoActorStoreOptions = {}): ActorStore {
  const actors: Collection<ActorDoc> = db.collection<ActorDoc>('actors');
  const leases: Collection<LeaseDoc> = db.collection<LeaseDoc>('leases');
  const claims: Collection<{ _id: string; ownerId: string; at: number }> = db.collection('claims');
  const mailbox: Collection<MailboxDoc> = db.collection<MailboxDoc>('mailbox');
  const idem: Collection<IdemDoc> = db.collection<IdemDoc>('idempotency');
  const history: Collection<HistoryDoc> = db.collection<HistoryDoc>('history');
  const versions: Collection<VersionDoc> = db.collection<VersionDoc>('versions');
  const abandonedWriteMs = options.abandonedWriteMs ?? 2000;
  const now = options.now ?? Date.now;
  const staleClaimMs = options.staleClaimMs ?? 5000;
  const historyMax = options.historyMax ?? DEFAULT_HISTORY_MAX;
  /** Per actor, a sequence number its mailbox is known to hold (entries are never deleted). */
  const knownSeq = new Map<string, number>();
  if (!Number.isSafeInteger(historyMax) || historyMax < 1) throw new RangeError(`historyMax must be a positive integer, not ${historyMax}`);

  const claimId = (actorId: string, epoch: number) => `${actorId}:${epoch}`;

  async function insertIgnoringDuplicate<T extends Document>(c: Collection<T>, doc: T): Promise<boolean> {
    try {
      await c.insertOne(doc as never);
      return true;
    } catch (e) {
      if (!isDuplicate(e)) throw e;
      return false;
    }
  }

  /**
   * Inserts an actor with its lease; a replay finds them there. Its first epoch needs no
   * claim document: claims race for the epoch after the one a lease shows, and fencing checks
   * look for the epoch after the holder's, so nothing ever reads the claim of a first epoch.
   * Two round trips: the lease before the actor (a stored actor always has one, so a crash in
   * between leaves nothing a claim could miss), then the actor and its first history entry
   * (an entry whose actor insert failed is never read: the actor document is the tenant check
   * of every history read).
   */
  async function insertActor(doc: ActorDoc): Promise<void> {
    await insertIgnoringDuplicate(leases, { _id: doc._id, ownerId: doc.ownerId, epoch: doc.epoch, leaseUntil: doc.leaseUntil, final: doc.final });
    await Promise.all([insertIgnoringDuplicate(actors, doc), record(doc._id, doc.version, changeOf(doc))]);
  }

  /** Appends a history entry (best effort: see the module comment) and prunes past the bound. */
  async function record(actorId: string, version: number, view: SnapshotChange): Promise<void> {
    try {
      await insertIgnoringDuplicate(history, { _id: `${actorId}:${version}`, actorId, version, at: view.updatedAt, view: JSON.stringify(view) });
      // Each version drops the one `historyMax` before it by `_id`; every `historyMax` versions
      // a range delete (evaluated in Go over the actor's entries on FerretDB) sweeps strays.
      if (version >= historyMax) await history.deleteOne({ _id: `${actorId}:${version - historyMax}` });
      if (version >= historyMax && version % historyMax === 0) await history.deleteMany({ actorId, version: { $lte: version - historyMax } });
    } catch {
      // The snapshot stands without its entry; the next claim or a reader's final read covers it.
    }
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

  const versionId = (actorId: string, version: number) => `${actorId}:${version}`;

  /**
   * Takes the right to write `version` of the actor (see {@link VersionDoc}) for `holder`;
   * true if it holds it now (a repeat by the same holder included), false if another does.
   * With `overOlder` (an owner's commit, which comes after its takeover wrote its epoch into
   * the document), a right held under an older epoch is taken from its holder: that holder's
   * compare-and-set names its own epoch, which the document no longer has, so it cannot write.
   */
  async function takeVersion(actorId: string, version: number, holder: { ownerId: string; epoch: number }, overOlder = false): Promise<boolean> {
    const _id = versionId(actorId, version);
    for (;;) {
      if (await insertIgnoringDuplicate<VersionDoc>(versions, { _id, actorId, version, ownerId: holder.ownerId, epoch: holder.epoch, at: now() })) return true;
      const held = await versions.findOne({ _id });
      if (held === null) continue;
      if (held.ownerId === holder.ownerId && held.epoch === holder.epoch) return true;
      if (!overOlder || held.epoch >= holder.epoch) return false;
      await versions.deleteOne({ _id, ownerId: held.ownerId, epoch: held.epoch, at: held.at });
    }
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
   * The takeover's write of the actor document (owner, epoch, lease end), made only while
   * this process holds the right to write its next version: a former owner whose commit
   * passed its fence check before the claim either took that version first (then its write
   * lands before this one, which continues from it) or cannot take it (and its commit is
   * refused). A version taken and not written within `abandonedWriteMs` is released. `null`
   * when the actor is gone or final. The caller gives the version back once this resolves
   * (see {@link releaseTakeover}).
   */
  async function takeOver(actorId: string, holder: { ownerId: string; epoch: number }, leaseUntil: number, read?: ActorDoc | null): Promise<ActorDoc | null> {
    for (let first = read; ; first = undefined) {
      const d = first === undefined ? await actors.findOne({ _id: actorId }) : first;
      if (!d || d.final) return null;
      const next = versionId(actorId, d.version + 1);
      if (await takeVersion(actorId, d.version + 1, holder)) {
        const taken = await actors.findOneAndUpdate(
          { _id: actorId, version: d.version, final: false },
          { $set: { ownerId: holder.ownerId, epoch: holder.epoch, leaseUntil } },
          { returnDocument: 'after' },
        );
        if (taken) return taken;
        await versions.deleteOne({ _id: next, ownerId: holder.ownerId, epoch: holder.epoch });
      }
      const held = await versions.findOne({ _id: next });
      if (held && now() - held.at < abandonedWriteMs) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      } else if (held) {
        await versions.deleteOne({ _id: next, ownerId: held.ownerId, epoch: held.epoch, at: held.at });
      }
    }
  }

  /**
   * Frees the version a takeover held for its write, for the new owner's first commit (an
   * older epoch's commit that takes it meanwhile fails its compare-and-set, and gives it up).
   */
  const releaseTakeover = (d: ActorDoc, holder: { ownerId: string; epoch: number }) =>
    versions.deleteOne({ _id: versionId(d._id, d.version + 1), ownerId: holder.ownerId, epoch: holder.epoch });

  /** True when an epoch after `epoch` was claimed for the actor: its holder lost it. */
  async function superseded(actorId: string, epoch: number): Promise<boolean> {
    return (await claims.countDocuments({ _id: claimId(actorId, epoch + 1) }, { limit: 1 })) > 0;
  }

  /** Copies a commit's outcomes into the mailbox (idempotent; repeated by a claim after a crash). */
  async function copyOutcomes(actorId: string, outcomes: ActorDoc['outcomes']): Promise<void> {
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
    const left = (await entriesAfter(actorId, afterSeq, {}, 1)).filter((m) => m.outcome === 'pending');
    if (left.length === 0) return;
    const error = endedBeforeApplied(actorId);
    for (let i = 0; i < left.length; i += OUTCOME_BATCH) {
      await mailbox.bulkWrite(
        left.slice(i, i + OUTCOME_BATCH).map((m) => ({ updateOne: { filter: { _id: m._id, outcome: 'pending' }, update: { $set: { outcome: 'refused', error } } } })),
        { ordered: false },
      );
    }
    await actors.updateOne({ _id: actorId }, { $max: { appliedSeq: Math.max(...left.map((m) => m.seq)) } });
  }

  async function throwWhyNot(id: string, owner: { ownerId: string; epoch: number }, expectedVersion: number): Promise<never> {
    const [head, lease] = await Promise.all([
      actors.findOne({ _id: id }, { projection: { version: 1 } }),
      leases.findOne({ _id: id }),
    ]);
    if (!head) throw new AppError('not-found', `No actor ${id}`);
    if (!lease || lease.ownerId !== owner.ownerId || lease.epoch !== owner.epoch || (await superseded(id, owner.epoch))) {
      throw new AppError('lease-lost', `Actor ${id} is no longer held by ${owner.ownerId} at epoch ${owner.epoch}`);
    }
    throw new AppError('version-conflict', `Actor ${id} is at version ${head.version}, not ${expectedVersion}`);
  }

  /**
   * Claims the idempotency key of an append. Resolves `null` when this call may append, the
   * earlier result when the key was used, or `takeover` for a claim whose holder died.
   */
  async function claimAppendKey(tenantId: string, actorId: string, claim: IdempotencyClaim): Promise<IdempotentResult<number> | { takeover: true } | null> {
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
          await idem.updateOne({ _id }, { $set: { claimedAt: t, requestHash: claim.requestHash } });
          return { takeover: true };
        }
      }
      if (t > deadline) throw new AppError('version-conflict', 'Another request with this idempotency key is still in flight');
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  return {
    async create(record, idempotency) {
      const doc = asDocument(record);
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
          // A replay: make sure the promised actor exists (its first request may have died).
          if (existing.record) await insertActor(JSON.parse(existing.record) as ActorDoc);
          return { fresh: false, value: String(existing.result), requestHash: existing.requestHash };
        }
      }
      await insertActor(doc);
      return { fresh: true, value: record.id };
    },

    async get(tenantId, id) {
      const d = await actors.findOne({ _id: id, tenantId });
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
      const docs = await actors.find(q).sort({ createdAt: -1, _id: -1 }).limit(filter.limit + 1).toArray();
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
          // The dead claimant may have stored its event before it died.
          const stored = await mailbox.findOne({ actorId, idemKey: key });
          if (stored) {
            await idem.updateOne({ _id: key ?? '' }, { $set: { result: stored.seq } });
            return { fresh: true, value: stored.seq };
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
      if (key) await idem.updateOne({ _id: key }, { $set: { result: seq } });
      // The owner may have ended the actor meanwhile: then nobody will apply this event, so it
      // is refused here (the owner's final commit refuses the ones it can see).
      const after = await leases.findOne({ _id: actorId }, { projection: { final: 1 } });
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
        // An outcome committed with the actor but not yet copied here (crash in between).
        const a = await actors.findOne({ _id: actorId, tenantId }, { projection: { outcomes: 1 } });
        const o = a?.outcomes.find((x) => x.seq === seq);
        if (o) return toEntry({ ...d, outcome: o.outcome, error: o.error });
      }
      return toEntry(d);
    },

    async commit(id, owner, expectedVersion, patch: CommitPatch) {
      const final = isFinalStatus(patch.status);
      const outcomes = patch.outcomes.map((o) => ({ seq: o.seq, outcome: o.outcome, error: text(o.error) }));
      const set: Partial<ActorDoc> = {
        status: patch.status,
        final,
        value: text(patch.value),
        tags: patch.tags,
        snapshot: patch.snapshot === null ? null : text(patch.snapshot),
        machineVersion: patch.machineVersion,
        contractId: patch.contractId,
        output: text(patch.output),
        error: text(patch.error),
        timers: text(patch.timers),
        appliedSeq: patch.appliedSeq,
        updatedAt: new Date().toISOString(),
        outcomes,
      };
      if (final) {
        set.ownerId = null;
        set.leaseUntil = 0;
      }
      assertDocumentFits(set, 'snapshot');
      // Fenced by the right to write the next version: once a takeover holds it (or wrote the
      // new owner and epoch, which the compare-and-set checks), a holder that stalled past its
      // lease is refused. A commit that took it first lands before the takeover's write.
      if (!(await takeVersion(id, expectedVersion + 1, owner, true))) await throwWhyNot(id, owner, expectedVersion);
      const res = await actors.updateOne(
        { _id: id, version: expectedVersion, ownerId: owner.ownerId, epoch: owner.epoch, final: false },
        { $set: set, $inc: { version: 1 } },
      );
      if (res.matchedCount === 0) {
        // Not ours to write after all: give the version back, or it would hold up its owner.
        await versions.deleteOne({ _id: versionId(id, expectedVersion + 1), ownerId: owner.ownerId, epoch: owner.epoch });
        await throwWhyNot(id, owner, expectedVersion);
      }
      // Independent writes after the one that counts, in one round trip: the history entry,
      // the outcome copies and, for a final commit, the lease and version rights let go and
      // the refusal of whatever was left in the mailbox.
      await Promise.all([
        record(id, expectedVersion + 1, {
          status: patch.status,
          value: patch.value ?? null,
          tags: patch.tags,
          contractId: patch.contractId,
          machineVersion: patch.machineVersion,
          output: patch.output ?? null,
          error: patch.error,
          updatedAt: set.updatedAt ?? new Date().toISOString(),
        }),
        outcomes.length > 0 ? copyOutcomes(id, outcomes) : undefined,
        // The rights to write the versions before are spent (a range read in Go on FerretDB, so
        // only now and then).
        !final && (expectedVersion + 1) % VERSION_SWEEP === 0 ? versions.deleteMany({ actorId: id, version: { $lte: expectedVersion } }) : undefined,
        final ? versions.deleteMany({ actorId: id }) : undefined,
        // The lease turns final before the mailbox is read: an appender inserts its entry,
        // then reads the lease; one of the two sees the other's write, so no entry is left
        // pending.
        final ? leases.updateOne({ _id: id, epoch: owner.epoch }, { $set: { final: true, ownerId: null, leaseUntil: 0 } }).then(() => refuseRest(id, patch.appliedSeq)) : undefined,
      ]);
      return expectedVersion + 1;
    },

    async claim(ownerId, nowMs, leaseMs, limit) {
      const candidates = await leases
        .find({ final: false, $or: [{ ownerId: null }, { leaseUntil: { $lt: nowMs } }] })
        .limit(limit)
        .toArray();
      const claimOne = async (lease: LeaseDoc): Promise<ActorRecord | null> => {
        // A former owner's write of the next version may be landing (or its writer died just
        // now): left for a later claim rather than waited for here, while other leases run.
        const before = await actors.findOne({ _id: lease._id });
        const pending = before && !before.final ? await versions.findOne({ _id: versionId(lease._id, before.version + 1) }) : null;
        if (pending && now() - pending.at < abandonedWriteMs) return null;
        // One winner per epoch, whatever the server's update semantics.
        const epoch = await claimEpoch(lease, ownerId, nowMs, leaseMs);
        if (epoch === null) return null;
        const taken: LeaseDoc = { _id: lease._id, ownerId, epoch, leaseUntil: nowMs + leaseMs, final: false };
        await leases.replaceOne({ _id: lease._id }, taken);
        const d = await takeOver(lease._id, { ownerId, epoch }, taken.leaseUntil, before);
        if (!d) {
          // The actor ended but its lease was left claimable (a crash between the final commit
          // and its lease's update, or that update lost to a concurrent renewal): mark it now,
          // or every process would claim the finished actor again, lease after lease.
          const ended = await actors.findOne({ _id: lease._id }, { projection: { final: 1 } });
          if (ended?.final) await leases.updateOne({ _id: lease._id, epoch }, { $set: { final: true, ownerId: null, leaseUntil: 0 } });
          return null;
        }
        const [lastSeq] = await Promise.all([
          lastSeqFrom(d._id, knownFloor(d._id, d.appliedSeq)),
          d.outcomes.length > 0 ? copyOutcomes(d._id, d.outcomes) : undefined,
          // Repairs the entry of the last commit if its writer died right after it.
          record(d._id, d.version, changeOf(d)),
          releaseTakeover(d, { ownerId, epoch }),
        ]);
        return toRecord(d, { lastSeq, lease: taken });
      };
      // Actors are taken over independently: a few at a time, each in order. The leases are
      // granted from `nowMs`: once half of one has passed, no more are started, so the caller
      // gets them (and renews them) in time (the rest wait for its next call).
      const out: ActorRecord[] = [];
      const began = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(CLAIM_CONCURRENCY, candidates.length) }, async () => {
          for (let lease = candidates[next++]; lease && performance.now() - began < leaseMs / 2; lease = candidates[next++]) {
            const r = await claimOne(lease);
            if (r) out.push(r);
          }
        }),
      );
      return out;
    },

    async renew(ownerId, held, leaseUntil) {
      if (held.length === 0) return [];
      const ids = held.map((h) => h.id);
      await leases.updateMany({ _id: { $in: ids }, ownerId, final: false }, { $set: { leaseUntil } });
      const [still, later] = await Promise.all([
        leases.find({ _id: { $in: ids }, ownerId, final: false }, { projection: { epoch: 1 } }).toArray(),
        claims.find({ _id: { $in: held.map((h) => claimId(h.id, h.epoch + 1)) } }, { projection: { _id: 1 } }).toArray(),
      ]);
      const epochs = new Map(still.map((d) => [d._id, d.epoch]));
      const taken = new Set(later.map((c) => c._id));
      return held.filter((h) => epochs.get(h.id) !== h.epoch || taken.has(claimId(h.id, h.epoch + 1))).map((h) => h.id);
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
      // History documents carry no tenant: the actor document is the tenant check.
      const head = await actors.findOne({ _id: actorId, tenantId }, { projection: { _id: 1 } });
      if (!head) return { entries: [], oldestVersion: null };
      const [docs, oldest] = await Promise.all([
        history.find({ actorId, version: { $gt: afterVersion } }).sort({ version: 1 }).limit(limit).toArray(),
        history.find({ actorId }, { projection: { version: 1 } }).sort({ version: 1 }).limit(1).toArray(),
      ]);
      return {
        entries: docs.map((d): HistoryEntry => ({ version: d.version, at: d.at, view: JSON.parse(d.view) as SnapshotChange })),
        oldestVersion: oldest[0]?.version ?? null,
      };
    },
  };
}
