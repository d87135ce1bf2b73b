/**
 * @module persistence/mongo/guard
 * What every MongoDB writer checks: the document's BSON size before the write (MongoDB
 * refuses documents over 16 MiB; FerretDB stores them, and the driver fails with a
 * `RangeError` past its 17 MiB serialisation buffer, so this check is the only consistent
 * limit), the writer's lease around it (fencing, without transactions), and how a duplicate
 * key is told apart from other failures.
 */
import { BSON, MongoServerError, type Db, type Document } from 'mongodb';
import { AppError } from '../../errors.js';
import type { Fence } from '../ports.js';

/** MongoDB's limit on one stored document (`maxBsonObjectSize`), in bytes. */
export const BSON_DOCUMENT_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * Room kept below {@link BSON_DOCUMENT_LIMIT_BYTES} for what a write adds around the checked
 * document: the fields an update operator (`$set`) leaves in place, the command envelope.
 */
export const UPDATE_HEADROOM_BYTES = 64 * 1024;

/** The largest document a writer sends, in bytes. @defaultValue 16 MiB - 64 KiB (16,711,680) */
export const MAX_DOCUMENT_BYTES = BSON_DOCUMENT_LIMIT_BYTES - UPDATE_HEADROOM_BYTES;

/** The BSON size of `doc` as the driver would serialise it (`undefined` fields left out). */
export function documentBytes(doc: Document): number {
  return BSON.calculateObjectSize(doc, { ignoreUndefined: true });
}

/**
 * Throws `document-too-large` (before anything is written) when `doc` is larger than
 * `limitBytes`. The problem carries `bytes` and `limitBytes`.
 *
 * @param what - Names the document in the message, e.g. `'artifact art_…'`.
 * @example
 * assertDocumentFits(doc, `record chunk ${chunkNo} of ${datasetId}`);
 * await collection.replaceOne(filter, doc, { upsert: true });
 */
export function assertDocumentFits(doc: Document, what: string, limitBytes: number = MAX_DOCUMENT_BYTES): void {
  const bytes = documentBytes(doc);
  if (bytes > limitBytes) {
    throw new AppError('document-too-large', `The ${what} is ${bytes} bytes in BSON, over the ${limitBytes}-byte limit`, {
      extras: { bytes, limitBytes },
    });
  }
}

/** True for a write refused by a unique index (E11000), on MongoDB and FerretDB alike. */
export function isDuplicateKeyError(e: unknown): boolean {
  return e instanceof MongoServerError && e.code === 11000;
}

/**
 * The lease a fenced write was made under, stored on the document it wrote: a write under an
 * older lease of the same actor never replaces one under a newer lease, and an undo removes
 * only the writer's own document.
 */
export interface WriterMark {
  actorId: string;
  ownerId: string;
  epoch: number;
}

export const writerMark = (fence: Fence): WriterMark => ({ actorId: fence.actorId, ownerId: fence.ownerId, epoch: fence.epoch });

/** Matches the documents written under `mark` (by field: an embedded document's equality depends on key order). */
export const writtenUnder = (mark: WriterMark) =>
  ({ 'writer.actorId': mark.actorId, 'writer.ownerId': mark.ownerId, 'writer.epoch': mark.epoch }) as const;

export function leaseLost(fence: Fence): AppError {
  return new AppError('lease-lost', `Actor ${fence.actorId} is no longer held by ${fence.ownerId} at epoch ${fence.epoch}`);
}

/**
 * Whether the actor is still held by the fence's owner at its epoch, read the way the actor
 * store's `renew` reads it: its `leases` document names the owner at that epoch (not released,
 * and not deleted by the actor's final commit), and no process claimed the next epoch
 * (`claims/<actor>:<epoch + 1>`, the insert that decides a takeover). Like the actor store's
 * owner-side methods, by actor id.
 */
export async function fenceHolds(db: Db, fence: Fence): Promise<boolean> {
  const [lease, next] = await Promise.all([
    db
      .collection<{ _id: string; ownerId: string | null; epoch: number; final: boolean }>('leases')
      .findOne({ _id: fence.actorId, ownerId: fence.ownerId, epoch: fence.epoch, final: false }, { projection: { _id: 1 } }),
    db.collection<{ _id: string }>('claims').findOne({ _id: `${fence.actorId}:${fence.epoch + 1}` }, { projection: { _id: 1 } }),
  ]);
  return lease !== null && next === null;
}

/**
 * Per database handle, how to wait until the lease changes this process has in flight for an
 * actor have landed: each actor store opened on the handle deletes a final actor's lease after
 * answering its commit and registers here, so a fenced write of this process that follows the
 * commit is refused once the deletion lands. Held as long as the handle is.
 */
const leaseChanges = new WeakMap<Db, Set<(actorId: string) => Promise<void>>>();

export function registerLeaseChanges(db: Db, settled: (actorId: string) => Promise<void>): void {
  const all = leaseChanges.get(db) ?? new Set();
  all.add(settled);
  leaseChanges.set(db, all);
}

async function leaseChangesLanded(db: Db, actorId: string): Promise<void> {
  const all = leaseChanges.get(db);
  if (all) await Promise.all([...all].map((settled) => settled(actorId)));
}

/**
 * Runs `write` under `fence` with no transaction spanning the actor and the written
 * document: the lease is checked before the write (a process that stalled past its lease is
 * refused up front, nothing written) and again after it. If it still holds after the write
 * landed, the write landed under the lease and stands. If not, `undo` removes what the write
 * stored and the call fails with `lease-lost`.
 *
 * So a write a former owner makes after a takeover does not stay: it is refused, or visible
 * only until its own second check (one round trip; if the process stalls in exactly that gap,
 * until it resumes, and for good if it dies there: the new owner's re-run then replaces it,
 * as a newer lease's write wins over an older one's).
 */
export async function underFence<T>(db: Db, fence: Fence, write: () => Promise<T>, undo: (result: T) => Promise<unknown>): Promise<T> {
  await leaseChangesLanded(db, fence.actorId);
  if (!(await fenceHolds(db, fence))) throw leaseLost(fence);
  const result = await write();
  if (!(await fenceHolds(db, fence))) {
    await undo(result);
    throw leaseLost(fence);
  }
  return result;
}
