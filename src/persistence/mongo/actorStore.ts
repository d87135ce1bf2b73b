/**
 * @module persistence/mongo/actorStore
 * `ActorStore` on MongoDB without transactions or change streams: single-document
 * compare-and-set on `version` (guarded by `ownerId` and `epoch`) is the unit of atomicity,
 * so it runs on a standalone server, a replica set, and FerretDB alike.
 *
 * Collections:
 * - `actors`: one document per actor. Snapshot, value, input, output, error and timers are
 *   stored as JSON text (state names and user events may hold keys MongoDB restricts).
 *   `dirty` is set by every append and cleared by the owner once its mark reached
 *   `lastSeq`: the owner's poll finds actors with pending events by it (no `$expr` needed).
 *   `outcomes` repeats the outcomes of the last commit, so an outcome whose copy into the
 *   mailbox was cut short by a crash is repaired by the next claim.
 * - `mailbox`: one document per event, `_id` = `<actorId>:<seq>`.
 * - `idempotency`: one document per key, `_id` = tenant, scope and key. A spawn's key holds
 *   the actor record, so a replay after a crash between the two inserts creates the actor it
 *   promised; an append's key is claimed before the sequence number is drawn.
 *
 * Sequence numbers come from `$inc` on the actor; a process that dies between drawing one
 * and storing its event leaves a gap, which readers skip (the event was never acknowledged).
 */
import type { Collection, Db, Document } from 'mongodb';
import { AppError, PROBLEM_TYPE_PREFIX, ProblemTitles, type Problem } from '../../errors.js';
import {
  isFinalStatus,
  type ActorListFilter,
  type ActorRecord,
  type ActorStatus,
  type ActorStore,
  type CommitPatch,
  type IdempotencyClaim,
  type IdempotentResult,
  type MailboxEntry,
  type Page,
} from '../ports.js';
import { assertDocumentFits, isDuplicateKeyError } from './guard.js';

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
  lastSeq: number;
  ownerId: string | null;
  leaseUntil: number;
  epoch: number;
  createdAt: string;
  updatedAt: string;
  dirty: boolean;
  outcomes: { seq: number; outcome: 'applied' | 'refused'; error: string }[];
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
  claimedAt: number;
  expiresAt: number;
}

export interface MongoActorStoreOptions {
  /** Clock for idempotency claims. @defaultValue Date.now */
  now?: () => number;
  /** After this long an unfinished append claim is taken over by a retry, ms. @defaultValue 5000 */
  staleClaimMs?: number;
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

function toDoc(r: ActorRecord): ActorDoc {
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
    lastSeq: r.lastSeq,
    ownerId: r.ownerId,
    leaseUntil: r.leaseUntil,
    epoch: r.epoch,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    dirty: r.lastSeq > r.appliedSeq,
    outcomes: [],
  };
}

function toRecord(d: ActorDoc): ActorRecord {
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
    lastSeq: d.lastSeq,
    ownerId: d.ownerId,
    leaseUntil: d.leaseUntil,
    epoch: d.epoch,
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
  await db.collection('actors').createIndexes([
    { key: { tenantId: 1, createdAt: -1, _id: -1 }, name: 'tenant_created' },
    { key: { final: 1, leaseUntil: 1 }, name: 'claimable' },
    { key: { ownerId: 1, final: 1, dirty: 1 }, name: 'owner_dirty' },
  ]);
  await db.collection('mailbox').createIndexes([
    { key: { actorId: 1, seq: 1 }, name: 'actor_seq' },
    { key: { actorId: 1, idemKey: 1 }, name: 'actor_key' },
  ]);
  await db.collection('idempotency').createIndexes([{ key: { expiresAt: 1 }, name: 'expiry' }]);
}

export function createMongoActorStore(db: Db, options: MongoActorStoreOptions = {}): ActorStore {
  const actors: Collection<ActorDoc> = db.collection<ActorDoc>('actors');
  const mailbox: Collection<MailboxDoc> = db.collection<MailboxDoc>('mailbox');
  const idem: Collection<IdemDoc> = db.collection<IdemDoc>('idempotency');
  const now = options.now ?? Date.now;
  const staleClaimMs = options.staleClaimMs ?? 5000;

  async function insertActor(doc: ActorDoc): Promise<void> {
    try {
      await actors.insertOne(doc);
    } catch (e) {
      // The same record inserted by a replay of the same spawn: already there.
      if (!isDuplicate(e)) throw e;
    }
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
    const head = await actors.findOne({ _id: id }, { projection: { ownerId: 1, epoch: 1, version: 1 } });
    if (!head) throw new AppError('not-found', `No actor ${id}`);
    if (head.ownerId !== owner.ownerId || head.epoch !== owner.epoch) {
      throw new AppError('lease-lost', `Actor ${id} is owned at epoch ${head.epoch} by another process`);
    }
    throw new AppError('version-conflict', `Actor ${id} is at version ${head.version}, not ${expectedVersion}`);
  }

  /**
   * Claims the idempotency key of an append. Resolves `null` when this call may append, or
   * the earlier result when the key was used (or a crashed claim had already stored it).
   */
  async function claimAppendKey(tenantId: string, actorId: string, claim: IdempotencyClaim): Promise<IdempotentResult<number> | { takeover: true } | null> {
    const _id = idemId(tenantId, `send:${actorId}`, claim.key);
    const deadline = now() + staleClaimMs * 2;
    for (;;) {
      const existing = await idem.findOne({ _id });
      const t = now();
      if (!existing) {
        try {
          await idem.insertOne({ _id, tenantId, requestHash: claim.requestHash, result: null, record: null, claimedAt: t, expiresAt: claim.expiresAt });
          return null;
        } catch (e) {
          if (!isDuplicate(e)) throw e;
          continue;
        }
      }
      if (existing.expiresAt <= claim.nowMs) {
        await idem.deleteOne({ _id, expiresAt: existing.expiresAt });
        continue;
      }
      if (typeof existing.result === 'number') return { fresh: false, value: existing.result, requestHash: existing.requestHash };
      if (existing.claimedAt <= t - staleClaimMs) {
        const took = await idem.updateOne({ _id, claimedAt: existing.claimedAt, result: null }, { $set: { claimedAt: t, requestHash: claim.requestHash } });
        if (took.modifiedCount === 1) return { takeover: true };
        continue;
      }
      if (t > deadline) throw new AppError('version-conflict', `Another request with this idempotency key is still in flight`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  return {
    async create(record, idempotency) {
      const doc = toDoc(record);
      assertDocumentFits(doc, 'actor');
      if (idempotency) {
        const _id = idemId(record.tenantId, 'spawn', idempotency.key);
        for (;;) {
          try {
            await idem.insertOne({
              _id,
              tenantId: record.tenantId,
              requestHash: idempotency.requestHash,
              result: record.id,
              record: JSON.stringify(doc),
              claimedAt: idempotency.nowMs,
              expiresAt: idempotency.expiresAt,
            });
            break;
          } catch (e) {
            if (!isDuplicate(e)) throw e;
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
      }
      await insertActor(doc);
      return { fresh: true, value: record.id };
    },

    async get(tenantId, id) {
      const d = await actors.findOne({ _id: id, tenantId });
      return d ? toRecord(d) : null;
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
      const items = docs.slice(0, filter.limit).map(toRecord);
      return { items, nextCursor: docs.length > filter.limit ? (items[items.length - 1]?.id ?? null) : null };
    },

    async append(tenantId, actorId, event, acceptedAt, idempotency) {
      const key = idempotency ? idemId(tenantId, `send:${actorId}`, idempotency.key) : null;
      if (idempotency) {
        const claimed = await claimAppendKey(tenantId, actorId, idempotency);
        if (claimed && 'fresh' in claimed) return claimed;
        if (claimed && 'takeover' in claimed) {
          // The crashed claimant may have stored its event before it died.
          const stored = await mailbox.findOne({ actorId, idemKey: key });
          if (stored) {
            await idem.updateOne({ _id: key ?? '' }, { $set: { result: stored.seq } });
            return { fresh: true, value: stored.seq };
          }
        }
      }
      const entryProbe = { event: JSON.stringify(event) };
      assertDocumentFits(entryProbe, 'event');
      const head = await actors.findOneAndUpdate(
        { _id: actorId, tenantId, final: false },
        { $inc: { lastSeq: 1 }, $set: { dirty: true } },
        // No projection: FerretDB's findAndModify does not take one.
        { returnDocument: 'after' },
      );
      if (!head) {
        if (key) await idem.deleteOne({ _id: key, result: null });
        const exists = await actors.findOne({ _id: actorId, tenantId }, { projection: { final: 1 } });
        if (!exists) throw new AppError('not-found', `No actor ${actorId}`);
        throw new AppError('actor-final', `Actor ${actorId} is final and takes no events`);
      }
      const seq = head.lastSeq;
      await mailbox.insertOne({
        _id: `${actorId}:${seq}`,
        actorId,
        tenantId,
        seq,
        event: entryProbe.event,
        acceptedAt,
        outcome: 'pending',
        error: 'null',
        idemKey: key,
      });
      if (key) await idem.updateOne({ _id: key }, { $set: { result: seq } });
      // The owner may have ended the actor between the sequence number and the insert: then
      // nobody will apply this event, so it is refused here (the owner refuses the others).
      const after = await actors.findOne({ _id: actorId }, { projection: { final: 1 } });
      if (after?.final) {
        await mailbox.updateOne({ _id: `${actorId}:${seq}`, outcome: 'pending' }, { $set: { outcome: 'refused', error: endedBeforeApplied(actorId) } });
        await actors.updateOne({ _id: actorId }, { $max: { appliedSeq: seq } });
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
      const fence = { _id: id, version: expectedVersion, ownerId: owner.ownerId, epoch: owner.epoch, final: false };
      // The usual case, nothing accepted beyond the mark: one write that also clears `dirty`.
      // If an event arrived since the owner read its mailbox, `dirty` must stay set.
      let matched = final ? 0 : (await actors.updateOne({ ...fence, lastSeq: patch.appliedSeq }, { $set: { ...set, dirty: false }, $inc: { version: 1 } })).matchedCount;
      if (matched === 0) matched = (await actors.updateOne(fence, { $set: set, $inc: { version: 1 } })).matchedCount;
      if (matched === 0) await throwWhyNot(id, owner, expectedVersion);
      if (outcomes.length > 0) await copyOutcomes(id, outcomes);
      if (final) await refuseRest(id, patch.appliedSeq);
      return expectedVersion + 1;
    },

    async claim(ownerId, nowMs, leaseMs, limit) {
      const claimable = { final: false, $or: [{ ownerId: null }, { leaseUntil: { $lt: nowMs } }] };
      const candidates = await actors.find(claimable, { projection: { _id: 1 } }).limit(limit).toArray();
      const out: ActorRecord[] = [];
      for (const { _id } of candidates) {
        const d = await actors.findOneAndUpdate(
          { _id, ...claimable },
          { $set: { ownerId, leaseUntil: nowMs + leaseMs }, $inc: { epoch: 1 } },
          { returnDocument: 'after' },
        );
        if (!d) continue;
        if (d.outcomes.length > 0) await copyOutcomes(d._id, d.outcomes);
        out.push(toRecord(d));
      }
      return out;
    },

    async renew(ownerId, held, leaseUntil) {
      if (held.length === 0) return [];
      const ids = held.map((h) => h.id);
      await actors.updateMany({ _id: { $in: ids }, ownerId, final: false }, { $set: { leaseUntil } });
      const still = await actors.find({ _id: { $in: ids }, ownerId, final: false }, { projection: { epoch: 1 } }).toArray();
      const epochs = new Map(still.map((d) => [d._id, d.epoch]));
      return held.filter((h) => epochs.get(h.id) !== h.epoch).map((h) => h.id);
    },

    async release(ownerId, ids) {
      if (ids.length === 0) return;
      await actors.updateMany({ _id: { $in: ids }, ownerId }, { $set: { ownerId: null, leaseUntil: 0 } });
    },

    async withPendingEvents(ownerId) {
      const docs = await actors.find({ ownerId, final: false, dirty: true }, { projection: { tenantId: 1 } }).toArray();
      return docs.map((d) => ({ id: d._id, tenantId: d.tenantId }));
    },

    async purgeExpired(nowMs) {
      const res = await idem.deleteMany({ expiresAt: { $lte: nowMs } });
      return res.deletedCount;
    },
  };
}
