/**
 * The persistence-port contract on the MongoDB adapter, against the server at `MONGO_URL`
 * (FerretDB in CI): a fresh database per test, dropped afterwards. Without `MONGO_URL` the
 * suite is skipped, or fails when `SYMPHAINY_REQUIRE_SERVICES=1`.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll } from 'vitest';
import { createMongoStores } from '../../src/persistence/mongo/index.js';
import { describeWithService } from '../services/env.js';
import { describeStores } from './stores.contract.js';

describeWithService('MONGO_URL', 'MongoDB adapter', (url) => {
  // Drops each test's database; the stores' own client may already be closed by then.
  const admin = new MongoClient(url);
  afterAll(async () => {
    await admin.close();
  });

  describeStores('mongo', async (options = {}) => {
    const dbName = `symphainy_test_${randomBytes(6).toString('hex')}`;
    const stores = await createMongoStores(url, { dbName, ...options });
    return {
      stores,
      async cleanup() {
        await stores.close();
        await admin.db(dbName).dropDatabase();
      },
    };
  });
});
