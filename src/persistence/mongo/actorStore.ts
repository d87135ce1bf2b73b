/**
 * @module persistence/mongo/actorStore
 * `ActorStore` on MongoDB without transactions or change streams, and without relying on an
 * update being atomic against another update of the same document: FerretDB v1 rewrites a
 * whole document per update without a lock, so two concurrent updates of one document can
 * lose one (seen here: concurrent `$inc`s lost, a compare-and-set "won" twice). What is
 * atomic everywhere is a unique `_id` on insert, so:
 *
 * - every document has one writer at a time: `actors` (the snapshot) is written by the
 *   actor's owner; `leases` (owner, epoch, lease end) by the owner, or by the one process
 *   that won the takeover; a mailbox entry by its appender, then its owner;
 * - decisions that several processes race for are inserts: a takeover inserts
 *   `claims/<actor>:<epoch>` (one winner per epoch), an event inserts `mailbox/<actor>:<seq>`
 *   with the next free sequence number (a loser retries with the next), an idempotency key
 *   inserts `idempotency/<tenant>|<scope>|<key>`;
 * - a commit is a compare-and-set on `version`, `ownerId` and `epoch`, preceded by a check
 *   that no later epoch was claimed (`lease-lost` otherwise): a stalled owner learns it lost
 *   the actor at its next write. A takeover also writes the actor document (owner, epoch),
 *   so at the moment of a takeover the document has two writers; on a server whose updates
 *   are not atomic a stalled owner's in-flight commit can still race the claimer there.
 *
 * `lastSeq` and `leaseUntil` are read live by `get` and `claim`; `list` returns the values
 * last written with the snapshot. Outcomes of a commit are repeated on the actor document
 * and copied into the mailbox after it, so a crash in between is repaired by the next claim.
 *
 * Snapshot history: one insert of `history/<actor>:<version>` after the write that made the
 * version (a repeat is a no-op), then, once the actor passes `historyMax` versions, one range
 * delete of the older entries. The insert is best effort: failing it must not fail a commit
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
}

const OUTCOME_BATCH = 50;
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
  const now = options.now ?? Date.now;
  const staleClaimMs = options.staleClaimMs ?? 5000;
  const historyMax = options.historyMax ?? DEFAULT_HISTORY_MAX;
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

  /** Inserts an actor with its lease (and the claim of its first epoch); a replay finds them there. */
  async function insertActor(doc: ActorDoc): Promise<void> {
    await insertIgnoringDuplicate(claims, { _id: claimId(doc._id, doc.epoch), ownerId: doc.ownerId ?? '', at: now() });
    await insertIgnoringDuplicate(leases, { _id: doc._id, ownerId: doc.ownerId, epoch: doc.epoch, leaseUntil: doc.leaseUntil, final: doc.final });
    await insertIgnoringDuplicate(actors, doc);
    await record(doc._id, doc.version, changeOf(doc));
  }

  /** Appends a history entry (best effort: see the module comment) and prunes past the bound. */
  async function record(actorId: string, version: number, view: SnapshotChange): Promise<void> {
    try {
      await insertIgnoringDuplicate(history, { _id: `${actorId}:${version}`, actorId, version, at: view.updatedAt, view: JSON.stringify(view) });
      if (version >= historyMax) await history.deleteMany({ actorId, version: { $lte: version - historyMax } });
    } catch {
      // The snapshot stands without its entry; the next claim or a reader's final read covers it.
    }
  }

  async function lastSeqOf(actorId: string): Promise<number> {
    const top = await mailbox.find({ actorId }, { projection: { seq: 1 } }).sort({ seq: -1 }).limit(1).toArray();
    return top[0]?.seq ?? 0;
  }

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
          updateOne: { filter: { _id: `${actorId}:${o.seq}` }, update: { $set: { outcome: o.outcome, error: o.error } } },
        })),
        { ordered: false },
      );
    }
  }

  /** Refuses the pending events of a final actor beyond its mark, and moves the mark past them. */
  async function refuseRest(actorId: string, afterSeq: number): Promise<void> {
    const left = await mailbox.find({ actorId, seq: { $gt: afterSeq }, outcome: 'pending' }, { projection: { seq: 1 } }).toArray();
    if (left.length === 0) return;
    await mailbox.updateMany({ actorId, seq: { $gt: afterSeq }, outcome: 'pending' }, { $set: { outcome: 'refused', error: endedBeforeApplied(actorId) } });
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
      if (!d) return null;
      const [lastSeq, lease] = await Promise.all([lastSeqOf(id), leases.findOne({ _id: id })]);
      return toRecord(d, { lastSeq, lease });
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
      const items = docs.slice(0, filter.limit).map((d) => toRecord(d));
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
      const [head, lease] = await Promise.all([
        actors.findOne({ _id: actorId, tenantId }, { projection: { final: 1 } }),
        leases.findOne({ _id: actorId }, { projection: { final: 1 } }),
      ]);
      const refuse = async (e: AppError): Promise<never> => {
        if (key) await idem.deleteOne({ _id: key, result: null });
        throw e;
      };
      if (!head) return refuse(new AppError('not-found', `No actor ${actorId}`));
      if (head.final || lease?.final) return refuse(new AppError('actor-final', `Actor ${actorId} is final and takes no events`));
      // The next free sequence number is taken by inserting it; a loser of a race tries the next.
      let seq = (await lastSeqOf(actorId)) + 1;
      for (;;) {
        const inserted = await insertIgnoringDuplicate<MailboxDoc>(mailbox, {
          _id: `${actorId}:${seq}`,
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
        seq = Math.max(seq + 1, (await lastSeqOf(actorId)) + 1);
      }
      if (key) await idem.updateOne({ _id: key }, { $set: { result: seq } });
      // The owner may have ended the actor meanwhile: then nobody will apply this event, so it
      // is refused here (the owner's final commit refuses the ones it can see).
      const after = await leases.findOne({ _id: actorId }, { projection: { final: 1 } });
      if (after?.final) {
        await mailbox.updateOne({ _id: `${actorId}:${seq}`, outcome: 'pending' }, { $set: { outcome: 'refused', error: endedBeforeApplied(actorId) } });
      }
      return { fresh: true, value: seq };
    },

    async pending(tenantId, actorId, afterSeq) {
      const docs = await mailbox.find({ actorId, tenantId, seq: { $gt: afterSeq } }).sort({ seq: 1 }).toArray();
      return docs.map(toEntry);
    },

    async event(tenantId, actorId, seq) {
      const d = await mailbox.findOne({ _id: `${actorId}:${seq}`, tenantId });
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
      // Fenced before the write: a takeover claims the next epoch by insert, so a holder that
      // stalled past its lease finds that claim and stops.
      if (await superseded(id, owner.epoch)) await throwWhyNot(id, owner, expectedVersion);
      const res = await actors.updateOne(
        { _id: id, version: expectedVersion, ownerId: owner.ownerId, epoch: owner.epoch, final: false },
        { $set: set, $inc: { version: 1 } },
      );
      if (res.matchedCount === 0) await throwWhyNot(id, owner, expectedVersion);
      // Independent writes after the one that counts: one round trip for both.
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
      ]);
      if (final) {
        await leases.updateOne({ _id: id, epoch: owner.epoch }, { $set: { final: true, ownerId: null, leaseUntil: 0 } });
        await refuseRest(id, patch.appliedSeq);
      }
      return expectedVersion + 1;
    },

    async claim(ownerId, nowMs, leaseMs, limit) {
      const candidates = await leases
        .find({ final: false, $or: [{ ownerId: null }, { leaseUntil: { $lt: nowMs } }] })
        .limit(limit)
        .toArray();
      const out: ActorRecord[] = [];
      for (const lease of candidates) {
        const epoch = lease.epoch + 1;
        // One winner per epoch, whatever the server's update semantics.
        if (!(await insertIgnoringDuplicate(claims, { _id: claimId(lease._id, epoch), ownerId, at: nowMs }))) continue;
        const taken: LeaseDoc = { _id: lease._id, ownerId, epoch, leaseUntil: nowMs + leaseMs, final: false };
        await leases.replaceOne({ _id: lease._id }, taken);
        const d = await actors.findOneAndUpdate({ _id: lease._id, final: false }, { $set: { ownerId, epoch, leaseUntil: taken.leaseUntil } }, { returnDocument: 'after' });
        if (!d) {
          // The actor ended but its lease was left claimable (a crash between the final commit
          // and its lease's update, or that update lost to a concurrent renewal): mark it now,
          // or every process would claim the finished actor again, lease after lease.
          const ended = await actors.findOne({ _id: lease._id }, { projection: { final: 1 } });
          if (ended?.final) await leases.updateOne({ _id: lease._id, epoch }, { $set: { final: true, ownerId: null, leaseUntil: 0 } });
          continue;
        }
        if (d.outcomes.length > 0) await copyOutcomes(d._id, d.outcomes);
        // Repairs the entry of the last commit if its writer died right after it.
        await record(d._id, d.version, changeOf(d));
        out.push(toRecord(d, { lastSeq: await lastSeqOf(d._id), lease: taken }));
      }
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
