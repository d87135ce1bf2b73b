/**
 * @module persistence/mongo/artifactStore
 * `ArtifactStore` on MongoDB: collection `artifacts`, one document per artifact keyed by its
 * id. The fields queries use (tenant, solution, kind, producing actor, creation time) are
 * stored as fields; the artifact itself is kept as its JSON text (`doc`), as SQLite keeps it.
 * Bodies are free-form: JSON text stores any key (FerretDB refuses keys holding `.` or
 * starting with `$`) and any string (FerretDB on PostgreSQL refuses `\u0000`), and reads
 * back exactly what the SQLite adapter gives back.
 *
 * A fenced put (DESIGN.md section 4, fencing) runs through {@link underFence} and records its
 * lease on the document (`writer`). Where a document of the same id was written under an
 * older lease of the same actor, the newer owner's put replaces it (and returns `true`): a
 * former owner's write never shadows the new owner's, and its undo cannot remove it.
 */
import type { Collection, Db, Filter } from 'mongodb';
import { AppError } from '../../errors.js';
import type { Artifact, ArtifactStore, Page } from '../ports.js';
import { assertDocumentFits, isDuplicateKeyError, underFence, writerMark, writtenUnder, type WriterMark } from './guard.js';
import { ensureIndexes } from './indexes.js';

interface ArtifactDoc {
  _id: string;
  tenantId: string;
  solutionId: string;
  kind: string;
  /** `lineage.actorId`: the producing actor (the `executionId` filter). */
  actorId: string;
  createdAt: string;
  /** The whole artifact as JSON text. */
  doc: string;
  /** The lease of a fenced write; `null` for an unfenced one. */
  writer: WriterMark | null;
}

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(`${createdAt}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id) throw new AppError('params-invalid', 'Invalid cursor', { extras: { errors: [{ path: 'cursor', message: 'invalid' }] } });
  return [createdAt, id];
}

/** Opens the artifact store on `db`, creating its indexes. */
export async function createMongoArtifactStore(db: Db): Promise<ArtifactStore> {
  const artifacts: Collection<ArtifactDoc> = db.collection<ArtifactDoc>('artifacts');
  await ensureIndexes(artifacts, [
    { key: { tenantId: 1, createdAt: -1, _id: -1 }, name: 'tenant_created' },
    { key: { tenantId: 1, solutionId: 1, createdAt: -1, _id: -1 }, name: 'tenant_solution_created' },
    { key: { tenantId: 1, actorId: 1 }, name: 'tenant_actor' },
  ]);

  /** Inserts `doc`; `false` if its id exists (the first write wins). */
  async function insert(doc: ArtifactDoc): Promise<boolean> {
    try {
      await artifacts.insertOne(doc);
      return true;
    } catch (e) {
      if (isDuplicateKeyError(e)) return false;
      throw e;
    }
  }

  return {
    async put(a, fence) {
      const doc: ArtifactDoc = {
        _id: a.id,
        tenantId: a.tenantId,
        solutionId: a.solutionId,
        kind: a.kind,
        actorId: a.lineage.actorId,
        createdAt: a.createdAt,
        doc: JSON.stringify(a),
        writer: fence ? writerMark(fence) : null,
      };
      assertDocumentFits(doc, `artifact ${a.id}`);
      if (!fence) return insert(doc);
      const mark = writerMark(fence);
      return underFence(
        db,
        fence,
        async () => {
          if (await insert(doc)) return true;
          // Ids derive from (actor, kind, n): the same artifact written under an older lease gives way.
          const older = { _id: doc._id, tenantId: doc.tenantId, 'writer.actorId': mark.actorId, 'writer.epoch': { $lt: mark.epoch } };
          return (await artifacts.replaceOne(older, doc)).matchedCount === 1;
        },
        (wrote) => (wrote ? artifacts.deleteOne({ _id: doc._id, ...writtenUnder(mark) }) : Promise.resolve()),
      );
    },
    async get(tenantId, id) {
      const found = await artifacts.findOne({ _id: id, tenantId }, { projection: { doc: 1 } });
      return found ? (JSON.parse(found.doc) as Artifact) : null;
    },
    async list(filter): Promise<Page<Artifact>> {
      const query: Filter<ArtifactDoc> = { tenantId: filter.tenantId };
      if (filter.solutionId) query.solutionId = filter.solutionId;
      if (filter.executionId) query.actorId = filter.executionId;
      if (filter.kind) query.kind = filter.kind;
      if (filter.cursor) {
        const [createdAt, id] = decodeCursor(filter.cursor);
        query.$or = [{ createdAt: { $lt: createdAt } }, { createdAt, _id: { $lt: id } }];
      }
      const found = await artifacts
        .find(query, { projection: { doc: 1 } })
        .sort({ createdAt: -1, _id: -1 })
        .limit(filter.limit + 1)
        .toArray();
      const items = found.slice(0, filter.limit).map((d) => JSON.parse(d.doc) as Artifact);
      const last = items[items.length - 1];
      return { items, nextCursor: found.length > filter.limit && last ? encodeCursor(last.createdAt, last.id) : null };
    },
    async countByActor(tenantId, actorId) {
      return artifacts.countDocuments({ tenantId, actorId });
    },
  };
}
