/**
 * The persistence-port contract on the embedded SQLite adapter: a fresh data directory per
 * test, removed afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStores } from '../../src/persistence/sqlite/index.js';
import { describeStores } from './stores.contract.js';

describeStores('sqlite', async (options = {}) => {
  const dir = await mkdtemp(join(tmpdir(), 'symphainy-contract-'));
  const stores = createSqliteStores(dir, options);
  return {
    stores,
    async cleanup() {
      await stores.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
