/**
 * @module persistence/mongo/blobStore
 * `BlobStore` on MongoDB GridFS (bucket `blobs`: collections `blobs.files` and
 * `blobs.chunks`), streamed both ways: a write holds at most one GridFS chunk (plus the
 * source's own chunk) in memory; a read streams chunk documents from a cursor whose batches
 * are bounded ({@link READ_BATCH_BYTES}). The driver's own download stream asks for default
 * batches, which MongoDB caps at 16 MiB a reply but FerretDB does not (a `getMore` returned
 * 250 chunks, about 64 MB), so reads use their own cursor over the same GridFS layout.
 *
 * Each write is a GridFS file of its own (a fresh `ObjectId`); the blob's id, tenant, name,
 * media type, sha256 and completion live in the file's `metadata`. GridFS inserts the files
 * document only after the last chunk, and the store then marks it `complete` with the
 * sha256 computed while streaming: every read filters on `metadata.complete`, so a blob is
 * visible only once whole. An abandoned write (`file-too-large`, a failing source) deletes
 * the chunks it wrote. A process that dies mid-write leaves chunks no files document points
 * to, which no read can reach.
 *
 * A fenced write publishes (marks complete) through {@link underFence} once the bytes are
 * stored: refused, or unpublished and removed, when the actor's lease moved.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { GridFSBucket, type Binary, type Collection, type Db, type Filter, type GridFSBucketWriteStream, type ObjectId } from 'mongodb';
import { AppError } from '../../errors.js';
import type { BlobInfo, BlobStore } from '../ports.js';
import { assertDocumentFits, underFence, writerMark, type WriterMark } from './guard.js';
import { ensureIndexes } from './indexes.js';

/** The GridFS bucket name: collections `blobs.files` and `blobs.chunks`. */
export const BLOB_BUCKET = 'blobs';

/** GridFS's own default chunk size, in bytes. */
export const DEFAULT_BLOB_CHUNK_BYTES = 255 * 1024;

/** About how many bytes of chunk documents one read batch brings (16 chunks of 255 KiB). */
export const READ_BATCH_BYTES = 4 * 1024 * 1024;

interface BlobMetadata {
  tenantId: string;
  blobId: string;
  name: string;
  mediaType: string;
  /** Set once every chunk and the files document are stored. */
  complete: boolean;
  sha256: string | null;
  createdAt: string | null;
  /** When the retention sweeper deletes it; `null`: kept. */
  expiresAt?: string | null;
  /** The lease of a fenced write; `null` for an unfenced one. */
  writer: WriterMark | null;
}

/** A GridFS files document as this store writes it. */
interface BlobFileDoc {
  _id: ObjectId;
  length: number;
  chunkSize: number;
  uploadDate: Date;
  filename: string;
  metadata: BlobMetadata;
}

interface ChunkDoc {
  _id: ObjectId;
  files_id: ObjectId;
  n: number;
  data: Binary;
}

export interface MongoBlobStoreOptions {
  /** Bytes per GridFS chunk document. @defaultValue 261120 (255 KiB, GridFS's default) */
  chunkSizeBytes?: number;
}

const visible = (tenantId: string, id: string): Filter<BlobFileDoc> => ({
  'metadata.blobId': id,
  'metadata.tenantId': tenantId,
  'metadata.complete': true,
});

function toInfo(doc: BlobFileDoc): BlobInfo | null {
  const m = doc.metadata;
  if (m.sha256 === null || m.createdAt === null) return null;
  return {
    id: m.blobId,
    tenantId: m.tenantId,
    name: m.name,
    mediaType: m.mediaType,
    bytes: doc.length,
    sha256: m.sha256,
    createdAt: m.createdAt,
    expiresAt: m.expiresAt ?? null,
  };
}

/** Resolves once `chunk` is buffered, or stored if it completed a GridFS chunk. */
function writeChunk(upload: GridFSBucketWriteStream, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    upload.write(chunk, (error) => (error ? reject(error) : resolve()));
  });
}

/** Opens the blob store on `db`, creating the bucket's indexes. */
export async function createMongoBlobStore(db: Db, options: MongoBlobStoreOptions = {}): Promise<BlobStore> {
  const chunkSizeBytes = options.chunkSizeBytes ?? DEFAULT_BLOB_CHUNK_BYTES;
  const bucket = new GridFSBucket(db, { bucketName: BLOB_BUCKET, chunkSizeBytes });
  const files: Collection<BlobFileDoc> = db.collection<BlobFileDoc>(`${BLOB_BUCKET}.files`);
  const chunks: Collection<ChunkDoc> = db.collection<ChunkDoc>(`${BLOB_BUCKET}.chunks`);
  await Promise.all([
    ensureIndexes(files, [
      // GridFS's own index (the driver would otherwise create it on the first upload).
      { key: { filename: 1, uploadDate: 1 }, name: 'filename_1_uploadDate_1' },
      // One files document per blob id, complete or not: a second write of an id fails.
      { key: { 'metadata.blobId': 1 }, name: 'blob_id', unique: true },
      { key: { 'metadata.expiresAt': 1 }, name: 'expiry' },
    ]),
    chunks.createIndex({ files_id: 1, n: 1 }, { name: 'files_id_1_n_1', unique: true }),
  ]);

  /** The file's bytes, chunk by chunk, checked against the files document as they come. */
  async function* contentOf(file: BlobFileDoc): AsyncGenerator<Buffer> {
    const count = Math.ceil(file.length / file.chunkSize);
    if (count === 0) return;
    const batchSize = Math.max(1, Math.floor(READ_BATCH_BYTES / file.chunkSize));
    const cursor = chunks.find({ files_id: file._id }, { batchSize }).sort({ n: 1 });
    let n = 0;
    try {
      for await (const chunk of cursor) {
        const expected = n === count - 1 ? file.length - n * file.chunkSize : file.chunkSize;
        const data = chunk.data.value();
        if (chunk.n !== n || data.byteLength !== expected) {
          throw new AppError('internal', `File ${file.metadata.blobId} is damaged: chunk ${n} is missing or has the wrong size`);
        }
        n++;
        yield Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      }
    } finally {
      await cursor.close();
    }
    if (n !== count) throw new AppError('internal', `File ${file.metadata.blobId} is damaged: ${count - n} chunks are missing`);
  }

  /** Removes whatever a failed write stored (its GridFS file is its own: a fresh id). */
  async function discard(upload: GridFSBucketWriteStream): Promise<void> {
    upload.destroy();
    await files.deleteOne({ _id: upload.id });
    await chunks.deleteMany({ files_id: upload.id });
  }

  return {
    async write(tenantId, meta, source, fence) {
      const metadata: BlobMetadata = {
        tenantId,
        blobId: meta.id,
        name: meta.name,
        mediaType: meta.mediaType,
        complete: false,
        sha256: null,
        createdAt: null,
        expiresAt: meta.expiresAt ?? null,
        writer: fence ? writerMark(fence) : null,
      };
      // The files document as it will be once complete (sha256: 64 hex digits; createdAt: an ISO time).
      assertDocumentFits(
        { filename: meta.name, metadata: { ...metadata, sha256: '0'.repeat(64), createdAt: new Date(0).toISOString() } },
        `metadata of file ${meta.id}`,
      );
      const upload = bucket.openUploadStream(meta.name, { metadata });
      // Failures reach the write and end callbacks; without a listener an 'error' event would throw.
      upload.on('error', () => undefined);
      const hash = createHash('sha256');
      let bytes = 0;
      try {
        // Each chunk is awaited before the next is read: no chunk insert is in flight when the
        // source fails, so `discard` leaves none behind.
        for await (const chunk of source) {
          bytes += chunk.byteLength;
          if (bytes > meta.maxBytes) throw new AppError('file-too-large', `Upload is larger than ${meta.maxBytes} bytes`);
          hash.update(chunk);
          await writeChunk(upload, chunk);
        }
        upload.end();
        await finished(upload);
        const sha256 = hash.digest('hex');
        const createdAt = new Date().toISOString();
        const publish = async () => {
          await files.updateOne(
            { _id: upload.id },
            { $set: { 'metadata.sha256': sha256, 'metadata.createdAt': createdAt, 'metadata.complete': true } },
          );
        };
        // Under a fence, the catch below removes the file when the lease moved.
        await (fence ? underFence(db, fence, publish, async () => undefined) : publish());
        return { id: meta.id, tenantId, name: meta.name, mediaType: meta.mediaType, bytes, sha256, createdAt, expiresAt: meta.expiresAt ?? null };
      } catch (e) {
        // The write's own failure is what the caller needs; what a failed clean-up leaves is
        // unreachable (no complete files document points to it).
        await discard(upload).catch(() => undefined);
        throw e;
      }
    },
    async info(tenantId, id) {
      const doc = await files.findOne(visible(tenantId, id));
      return doc ? toInfo(doc) : null;
    },
    async read(tenantId, id): Promise<Readable> {
      const file = await files.findOne(visible(tenantId, id));
      if (!file) throw new AppError('not-found', `No file ${id}`);
      return Readable.from(contentOf(file), { objectMode: false });
    },
    async delete(tenantId, id) {
      // No projection: FerretDB v1 does not implement `findAndModify` with `fields`.
      const doc = await files.findOneAndDelete(visible(tenantId, id));
      if (!doc) return false;
      await chunks.deleteMany({ files_id: doc._id });
      return true;
    },
    async sweepExpired(nowIso, limit = 1000) {
      // `$type: 'string'` leaves out the `null` of a blob that is kept (null sorts below strings).
      const due = await files
        .find({ 'metadata.expiresAt': { $type: 'string', $lte: nowIso } })
        .sort({ 'metadata.expiresAt': 1 })
        .limit(limit)
        .toArray();
      let n = 0;
      for (const doc of due) {
        // The files document goes first: a reader then finds no blob rather than a damaged one.
        const gone = await files.deleteOne({ _id: doc._id });
        if (gone.deletedCount > 0) n++;
        await chunks.deleteMany({ files_id: doc._id });
      }
      return n;
    },
  };
}
