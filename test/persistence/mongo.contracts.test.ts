/**
 * MongoDB only: where the contract store keeps revocations (`src/persistence/mongo/
 * contractStore.ts`). The contract suite covers the port; these cases cover what only this
 * adapter's format reaches: revocations stored beside the contracts and read with them in one
 * command, revocations of an earlier version's `contract_revocations` carried over when the
 * store opens, and a revocation document never read or changed as a contract.
 */
import { expect, it } from 'vitest';
import { permissiveMvpContract } from '../../src/machines/contract.js';
import { createMongoStores } from '../../src/persistence/mongo/index.js';
import { describeWithService } from '../services/env.js';
import { freshMongo } from './fixtures/freshMongo.js';

describeWithService('MONGO_URL', 'MongoDB contract revocations', (url) => {
  const mongo = freshMongo(url, 'ctr');
  const tenantId = 'ten-revoke';


  it('reads a tenant’s contracts with their revocations, and refuses to revoke or expire a revocation document', async () => {
    const c = permissiveMvpContract(tenantId, Date.now());
    expect(await mongo.stores.contracts.insertIfNone(c)).toBe(true);
    expect(await mongo.stores.contracts.revoke(tenantId, c.id, '2026-01-02T00:00:00.000Z')).toBe(true);
    expect(await mongo.stores.contracts.revoke(tenantId, c.id, '2026-01-03T00:00:00.000Z')).toBe(true);
    const listed = await mongo.stores.contracts.list(tenantId);
    expect(listed.map((x) => [x.id, x.revokedAt])).toEqual([[c.id, '2026-01-02T00:00:00.000Z']]);
    expect((await mongo.stores.contracts.get(tenantId, c.id))?.revokedAt).toBe('2026-01-02T00:00:00.000Z');
    const marker = `revoked:${c.id}`;
    expect(await mongo.stores.contracts.get(tenantId, marker)).toBeNull();
    expect(await mongo.stores.contracts.revoke(tenantId, marker, '2026-01-04T00:00:00.000Z')).toBe(false);
    expect(await mongo.stores.contracts.setExpiry(tenantId, marker, '2026-01-04T00:00:00.000Z')).toBe(false);
    expect(await mongo.stores.contracts.list('ten-other')).toEqual([]);
  });

  it('carries over the revocations an earlier version kept in contract_revocations', async () => {
    const c = permissiveMvpContract(tenantId, Date.now());
    expect(await mongo.stores.contracts.insertIfNone(c)).toBe(true);
    await mongo.db.collection<{ _id: string; tenantId: string; revokedAt: string }>('contract_revocations').insertOne({ _id: c.id, tenantId, revokedAt: '2026-01-01T00:00:00.000Z' });
    expect((await mongo.stores.contracts.get(tenantId, c.id))?.revokedAt).toBeNull();
    const reopened = await createMongoStores(url, { dbName: mongo.dbName });
    try {
      expect((await reopened.contracts.get(tenantId, c.id))?.revokedAt).toBe('2026-01-01T00:00:00.000Z');
      expect((await reopened.contracts.list(tenantId)).map((x) => x.revokedAt)).toEqual(['2026-01-01T00:00:00.000Z']);
    } finally {
      await reopened.close();
    }
    // Opening again copies nothing twice.
    const again = await createMongoStores(url, { dbName: mongo.dbName });
    await again.close();
    expect(await mongo.db.collection('contracts').countDocuments({ tenantId })).toBe(2);
  });
});
