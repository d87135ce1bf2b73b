/**
 * @module persistence/mongo/indexes
 * Index creation at start, one `createIndex` command per index. FerretDB v1.24 drops the
 * connection when one `createIndexes` command lists two or more indexes that all exist
 * already, which is what every process but the first sends when several open one database.
 */
import type { Collection, Document, IndexDescription } from 'mongodb';

/** Creates `indexes` on `collection` if missing, one command each. Idempotent. */
export async function ensureIndexes<T extends Document>(collection: Collection<T>, indexes: IndexDescription[]): Promise<void> {
  for (const { key, ...options } of indexes) await collection.createIndex(key, options);
}
