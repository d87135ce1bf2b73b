/**
 * @module persistence/mongo/guard
 * MongoDB refuses documents over 16 MiB; Symphainy refuses them first, with a typed error and
 * nothing written. The limit leaves headroom for the update operators and field names that
 * wrap a document on the wire.
 */
import { BSON, type Document } from 'mongodb';
import { AppError } from '../../errors.js';

/** MongoDB's BSON document limit. */
export const MONGO_MAX_BSON_BYTES = 16 * 1024 * 1024;
/** What a stored document may take: the limit less 64 KiB of headroom. */
export const DOCUMENT_LIMIT_BYTES = MONGO_MAX_BSON_BYTES - 64 * 1024;

/** Throws `document-too-large` if `doc` would not fit in one MongoDB document. */
export function guardDocument(doc: Document, what: string, limit: number = DOCUMENT_LIMIT_BYTES): void {
  const bytes = BSON.calculateObjectSize(doc);
  if (bytes > limit) {
    throw new AppError('document-too-large', `The ${what} would take ${bytes} bytes; a stored document may take at most ${limit}`, {
      extras: { bytes, limit },
    });
  }
}
