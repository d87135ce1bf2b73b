/**
 * @module persistence/mongo
 * The production store: MongoDB through the official driver (DESIGN.md section 5). It needs
 * no transactions and no change streams (the unit of atomicity is one document), so it runs
 * on a standalone server, a replica set, and FerretDB v1 (the CI stand-in: DESIGN.md
 * section 9). Every collection's indexes are created when the store opens.
 */
import { MongoClient, type Db } from 'mongodb';
import { AppError } from '../../errors.js';
import type { Stores } from '../ports.js';
import { createMongoActorStore, ensureActorIndexes } from './actorStore.js';
import { createMongoArtifactStore } from './artifactStore.js';
import { createMongoBlobStore } from './blobStore.js';
import { createMongoContractStore } from './contractStore.js';
import { createMongoRecordStore } from './recordStore.js';

export interface MongoStoresOptions {
  /** The database. @defaultValue the one named in `url`, else `'symphainy'` */
  dbName?: string;
  /** Bytes per GridFS chunk document of a blob. @defaultValue 261120 (255 KiB) */
  blobChunkBytes?: number;
  /**
   * Most connections (so requests in flight) this process opens to the server. Kept small:
   * FerretDB v1 on PostgreSQL (50 backend connections) wedges for good once one client has
   * some 80 requests in flight, and several processes share one server.
   * @defaultValue 10
   */
  maxPoolSize?: number;
  /** Snapshot history entries kept per actor. @defaultValue 100 */
  historyMax?: number;
  /** How long a takeover waits before it reads its write back (see the actor store), ms. @defaultValue 250 */
  takeoverSettleMs?: number;
}

/** The database named in a connection string's path, if any. */
function dbNameOf(url: string): string | undefined {
  const path = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]*)/.exec(url)?.[1];
  return path ? decodeURIComponent(path) : undefined;
}

/**
 * Connects to MongoDB at `url` and opens every store on one database, creating indexes.
 * Throws `store-unavailable` when the server cannot be reached.
 *
 * @example
 * const stores = await createMongoStores(config.mongoUrl);
 * await stores.ping();
 */
export async function createMongoStores(url: string, options: MongoStoresOptions = {}): Promise<Stores> {
  // `undefined` fields are left out, as the SQLite adapter's JSON leaves them out.
  const client = new MongoClient(url, { ignoreUndefined: true, maxPoolSize: options.maxPoolSize ?? 10 });
  let db: Db;
  try {
    await client.connect();
    db = client.db(options.dbName ?? dbNameOf(url) ?? 'symphainy');
  } catch (e) {
    await client.close().catch(() => undefined);
    throw new AppError('store-unavailable', 'MongoDB cannot be reached', { cause: e });
  }
  try {
    const [actors, artifacts, records, blobs, contracts] = await Promise.all([
      ensureActorIndexes(db).then(() => createMongoActorStore(db, { historyMax: options.historyMax, takeoverSettleMs: options.takeoverSettleMs })),
      createMongoArtifactStore(db),
      createMongoRecordStore(db),
      createMongoBlobStore(db, options.blobChunkBytes === undefined ? {} : { chunkSizeBytes: options.blobChunkBytes }),
      createMongoContractStore(db),
    ]);
    let open = true;
    return {
      actors,
      artifacts,
      records,
      blobs,
      contracts,
      async ping() {
        if (!open) throw new AppError('store-unavailable', 'The MongoDB store is closed');
        try {
          await db.command({ ping: 1 });
        } catch (e) {
          throw new AppError('store-unavailable', 'MongoDB does not answer', { cause: e });
        }
      },
      async close() {
        if (open) {
          open = false;
          await actors.drain().catch(() => undefined);
          await client.close();
        }
      },
    };
  } catch (e) {
    await client.close().catch(() => undefined);
    throw e;
  }
}
