/**
 * @module persistence/sqlite
 * The embedded store: one SQLite file (WAL) plus a folder of blobs. Zero setup; several
 * processes may share it.
 */
import { join } from 'node:path';
import { AppError } from '../../errors.js';
import type { Stores } from '../ports.js';
import { createSqliteActorStore } from './actorStore.js';
import { openDb, type OpenOptions } from './db.js';
import {
  createFileBlobStore,
  createSqliteArtifactStore,
  createSqliteContractStore,
  createSqliteRecordStore,
} from './stores.js';

export interface SqliteStoresOptions extends OpenOptions {
  /** Where blobs are kept. @defaultValue `<dir of file>/blobs` */
  blobDir?: string;
  /** Snapshot history entries kept per actor. @defaultValue 100 */
  historyMax?: number;
}

/** Opens (creating if needed) the embedded store in `dataDir` (`symphainy.db` and `blobs/`). */
export function createSqliteStores(dataDir: string, options: SqliteStoresOptions = {}): Stores {
  const db = openDb(join(dataDir, 'symphainy.db'), options);
  let open = true;
  return {
    actors: createSqliteActorStore(db, { historyMax: options.historyMax }),
    artifacts: createSqliteArtifactStore(db),
    records: createSqliteRecordStore(db),
    blobs: createFileBlobStore(db, options.blobDir ?? join(dataDir, 'blobs')),
    contracts: createSqliteContractStore(db),
    async ping() {
      if (!open) throw new AppError('store-unavailable', 'The embedded store is closed');
      db.prepare('SELECT 1').get();
    },
    async close() {
      if (open) {
        open = false;
        db.close();
      }
    },
  };
}
