/**
 * @module persistence/mongo/contractStore
 * `ContractStore` on MongoDB: collection `contracts`, one document per contract keyed by
 * its id, fields as in {@link BoundaryContract}.
 *
 * "At most one first contract per tenant" rests on one unique index, no transaction: every
 * contract document carries a `slot`. A tenant's first contract takes the slot
 * `first:<tenantId>`; every later one takes `own:<id>`. `insertIfNone` inserts only into the
 * first slot, so of any number of concurrent callers exactly one insert succeeds, and it
 * fails for good once the tenant has any contract (which always holds the first slot). The
 * permissive MVP contract's id is deterministic as well.
 *
 * A revocation is an insert into `contract_revocations` (`_id` = the contract id), not an
 * update of the contract: FerretDB v1 rewrites a whole document per update without a lock,
 * so a revocation written as an update could be lost to a concurrent expiry change of the
 * same contract. Reads merge the two; the first revocation stands. Expiry changes remain
 * updates: two at once keep one of them, as if one came after the other.
 */
import { randomBytes } from 'node:crypto';
import { Binary, type Collection, type Db } from 'mongodb';
import type { BoundaryContract } from '../../machines/contract.js';
import type { ContractStore } from '../ports.js';
import { assertDocumentFits, isDuplicateKeyError } from './guard.js';
import { ensureIndexes } from './indexes.js';

type ContractDoc = BoundaryContract & { _id: string; slot: string };

/** A tenant's masking secret: `_id` is the tenant, so a second insert fails and the first wins. */
interface SecretDoc {
  _id: string;
  secret: Binary;
}

interface RevocationDoc {
  _id: string;
  tenantId: string;
  revokedAt: string;
}

const firstSlot = (tenantId: string): string => `first:${tenantId}`;
const ownSlot = (id: string): string => `own:${id}`;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * The contract without the storage fields, with its revocation if any, frozen as the SQLite
 * adapter hands contracts out.
 */
function toContract(doc: ContractDoc, revocation: RevocationDoc | null | undefined): BoundaryContract {
  const { _id: _ignored, slot: _slot, ...contract } = doc;
  return deepFreeze(revocation && contract.revokedAt === null ? { ...contract, revokedAt: revocation.revokedAt } : contract);
}

/** Opens the contract store on `db`, creating its indexes. */
export async function createMongoContractStore(db: Db): Promise<ContractStore> {
  const contracts: Collection<ContractDoc> = db.collection<ContractDoc>('contracts');
  await ensureIndexes(contracts, [
    { key: { tenantId: 1, createdAt: 1, _id: 1 }, name: 'tenant_created' },
    { key: { slot: 1 }, name: 'slot', unique: true },
  ]);
  const revocations: Collection<RevocationDoc> = db.collection<RevocationDoc>('contract_revocations');
  await ensureIndexes(revocations, [{ key: { tenantId: 1 }, name: 'tenant' }]);
  const secrets: Collection<SecretDoc> = db.collection<SecretDoc>('tenant_secrets');

  /** Inserts `c` in `slot`; `false` when the slot or the id is taken. */
  async function insert(c: BoundaryContract, slot: string): Promise<boolean> {
    const doc: ContractDoc = { ...c, _id: c.id, slot };
    assertDocumentFits(doc, `contract ${c.id}`);
    try {
      await contracts.insertOne(doc);
      return true;
    } catch (e) {
      if (isDuplicateKeyError(e)) return false;
      throw e;
    }
  }

  return {
    async list(tenantId) {
      const [docs, revoked] = await Promise.all([
        contracts.find({ tenantId }).sort({ createdAt: 1, _id: 1 }).toArray(),
        revocations.find({ tenantId }).toArray(),
      ]);
      const byId = new Map(revoked.map((r) => [r._id, r]));
      return docs.map((d) => toContract(d, byId.get(d._id)));
    },
    async get(tenantId, id) {
      const [doc, revocation] = await Promise.all([contracts.findOne({ _id: id, tenantId }), revocations.findOne({ _id: id, tenantId })]);
      return doc ? toContract(doc, revocation) : null;
    },
    async insertIfNone(contract) {
      return insert(contract, firstSlot(contract.tenantId));
    },
    async insertSuperseding(contract, nowIso) {
      // Without a transaction the two writes are ordered to fail closed: a crash between
      // them leaves the permissive contract expired and the api contract missing (the caller
      // retries), never both in force.
      await contracts.updateMany(
        {
          tenantId: contract.tenantId,
          issuedBy: 'permissive-mvp',
          $or: [{ expiresAt: null }, { expiresAt: { $gt: nowIso } }],
        },
        { $set: { expiresAt: nowIso } },
      );
      if (!(await insert(contract, firstSlot(contract.tenantId)))) {
        const doc: ContractDoc = { ...contract, _id: contract.id, slot: ownSlot(contract.id) };
        assertDocumentFits(doc, `contract ${contract.id}`);
        await contracts.insertOne(doc);
      }
    },
    async revoke(tenantId, id, nowIso) {
      if (!(await contracts.findOne({ _id: id, tenantId }, { projection: { _id: 1 } }))) return false;
      try {
        await revocations.insertOne({ _id: id, tenantId, revokedAt: nowIso });
      } catch (e) {
        // Already revoked: the first revocation time stands.
        if (!isDuplicateKeyError(e)) throw e;
      }
      return true;
    },
    async setExpiry(tenantId, id, expiresAt) {
      return (await contracts.updateOne({ _id: id, tenantId }, { $set: { expiresAt } })).matchedCount === 1;
    },
    async tenantSecret(tenantId) {
      const held = await secrets.findOne({ _id: tenantId });
      if (held) return Buffer.from(held.secret.value());
      try {
        await secrets.insertOne({ _id: tenantId, secret: new Binary(randomBytes(32)) });
      } catch (e) {
        // Another caller stored it first: theirs is the tenant's secret.
        if (!isDuplicateKeyError(e)) throw e;
      }
      const row = await secrets.findOne({ _id: tenantId });
      if (!row) throw new Error(`The secret of tenant ${tenantId} could not be read back`);
      return Buffer.from(row.secret.value());
    },
  };
}
