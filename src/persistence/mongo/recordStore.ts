/**
 * @module persistence/mongo/recordStore
 * `RecordStore` on MongoDB: collection `record_chunks`, one document per (tenant, dataset,
 * chunk) with the chunk's first and last row number and its rows as JSON text (cells are
 * free text: FerretDB on PostgreSQL refuses `\u0000` in a BSON string, and JSON text is
 * also smaller than BSON arrays, which spell out every index).
 *
 * A fenced put runs through {@link underFence} and records its lease on the chunk
 * (`writer`); it replaces a chunk only if no newer lease of the same actor wrote it, and is
 * refused with `lease-lost` otherwise (the unique index turns that condition's miss into a
 * duplicate key).
 */
import type { Collection, Db, Filter } from 'mongodb';
import type { Fence, RecordRow, RecordStore } from '../ports.js';
import { assertDocumentFits, isDuplicateKeyError, leaseLost, underFence, writerMark, writtenUnder, type WriterMark } from './guard.js';
import { ensureIndexes } from './indexes.js';

interface ChunkDoc {
  tenantId: string;
  datasetId: string;
  chunkNo: number;
  /** Row number of the first row; 0 for an empty chunk. */
  firstRow: number;
  /** Row number of the last row; -1 for an empty chunk. */
  lastRow: number;
  /** The rows as JSON text. */
  records: string;
  /** The lease of a fenced write; `null` for an unfenced one. */
  writer: WriterMark | null;
}

/** Opens the record store on `db`, creating its indexes. */
export async function createMongoRecordStore(db: Db): Promise<RecordStore> {
  const chunks: Collection<ChunkDoc> = db.collection<ChunkDoc>('record_chunks');
  await ensureIndexes(chunks, [
    { key: { tenantId: 1, datasetId: 1, chunkNo: 1 }, name: 'tenant_dataset_chunk', unique: true },
    { key: { tenantId: 1, datasetId: 1, firstRow: 1 }, name: 'tenant_dataset_first_row' },
  ]);

  /**
   * Inserts or replaces the chunk. With `fence`, a chunk written under a newer lease of the
   * same actor stays, and the write fails with `lease-lost`.
   */
  async function upsert(doc: ChunkDoc, fence?: Fence): Promise<void> {
    const filter: Filter<ChunkDoc> = { tenantId: doc.tenantId, datasetId: doc.datasetId, chunkNo: doc.chunkNo };
    if (fence) filter.$or = [{ 'writer.actorId': { $ne: fence.actorId } }, { 'writer.epoch': { $lte: fence.epoch } }];
    for (let attempt = 1; ; attempt++) {
      try {
        await chunks.replaceOne(filter, doc, { upsert: true });
        return;
      } catch (e) {
        if (!isDuplicateKeyError(e)) throw e;
        // Two first writes of one chunk raced on the unique index: the loser retries, finds
        // the winner's document and replaces it. Under a fence, a chunk the filter does not
        // match makes the upsert insert a duplicate: a newer lease wrote it.
        if (attempt >= 2) throw fence ? leaseLost(fence) : e;
      }
    }
  }

  return {
    async putChunk(tenantId, datasetId, chunkNo, records, fence) {
      const doc: ChunkDoc = {
        tenantId,
        datasetId,
        chunkNo,
        firstRow: records[0]?.row ?? 0,
        lastRow: records[records.length - 1]?.row ?? -1,
        records: JSON.stringify(records),
        writer: fence ? writerMark(fence) : null,
      };
      assertDocumentFits(doc, `record chunk ${chunkNo} of dataset ${datasetId}`);
      if (!fence) return upsert(doc);
      const mark = writerMark(fence);
      await underFence(
        db,
        fence,
        () => upsert(doc, fence),
        () => chunks.deleteOne({ tenantId, datasetId, chunkNo, ...writtenUnder(mark) }),
      );
    },
    async getChunk(tenantId, datasetId, chunkNo) {
      const found = await chunks.findOne({ tenantId, datasetId, chunkNo }, { projection: { records: 1 } });
      return found ? (JSON.parse(found.records) as RecordRow[]) : null;
    },
    async rows(tenantId, datasetId, offset, limit) {
      const firstRow = offset + 1;
      const lastRow = offset + limit;
      const found = chunks
        .find({ tenantId, datasetId, lastRow: { $gte: firstRow }, firstRow: { $lte: lastRow } }, { projection: { records: 1 } })
        .sort({ firstRow: 1, chunkNo: 1 });
      const out: RecordRow[] = [];
      for await (const chunk of found) {
        for (const r of JSON.parse(chunk.records) as RecordRow[]) if (r.row >= firstRow && r.row <= lastRow) out.push(r);
      }
      return out;
    },
    async deleteDataset(tenantId, datasetId) {
      return (await chunks.deleteMany({ tenantId, datasetId })).deletedCount;
    },
  };
}
