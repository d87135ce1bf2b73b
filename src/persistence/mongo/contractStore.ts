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
 * A revocation is an insert of its own document into the same collection
 * (`_id` = `revoked:<contract id>`, see {@link RevocationDoc}), not an update of the contract:
 * FerretDB v1 rewrites a whole document per update without a lock, so a revocation written
 * as an update could be lost to a concurrent expiry change of the same contract. One query
 * reads a tenant's contracts and revocations together (a spawn's grant check is one round
 * trip and one command); the first revocation stands. Expiry changes remain updates: two at
 * once keep one of them, as if one came after the other. Revocations an earlier version kept
 * in `contract_revocations` are copied in when the store opens.
 */
import { randomBytes } from 'node:crypto';
import { Binary, type Collection, type Db } from 'mongodb';
import type { BoundaryContract } from '../../machines/contract.js';
import type { ContractStore } from '../ports.js';
import { assertDocumentFits, isDuplicateKeyError } from './guard.js';
import { ensureIndexes } from './indexes.js';

type ContractDoc = BoundaryContract & { _id: string; slot: string; revokes?: undefined };

/** A tenant's masking secret: `_id` is the tenant, so a second insert fails and the first wins. */
interface SecretDoc {
  _id: string;
  secret: Binary;
}

/** A contract's revocation: `_id` and `slot` are `revoked:<contract id>`, so the first insert wins. */
interface RevocationDoc {
  _id: string;
  slot: string;
  tenantId: string;
  /** The revoked contract's id. */
  revokes: string;
  revokedAt: string;
}

type StoredDoc = ContractDoc | RevocationDoc;

const revocationId = (contractId: string): string => `revoked:${contractId}`;
const isRevocation = (d: StoredDoc): d is RevocationDoc => typeof d.revokes === 'string';

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
  const { _id: _ignored, slot: _slot, revokes: _revokes, ...contract } = doc;
  return deepFreeze(revocation && contract.revokedAt === null ? { ...contract, revokedAt: revocation.revokedAt } : contract);
}

/** Opens the contract store on `db`, creating its indexes. */
export async function createMongoContractStore(db: Db): Promise<ContractStore> {
  const contracts: Collection<ContractDoc> = db.collection<ContractDoc>('contracts');
  const stored: Collection<StoredDoc> = db.collection<StoredDoc>('contracts');
  const revocations: Collection<RevocationDoc> = db.collection<RevocationDoc>('contracts');
  await ensureIndexes(contracts, [
    { key: { tenantId: 1, createdAt: 1, _id: 1 }, name: 'tenant_created' },
    { key: { slot: 1 }, name: 'slot', unique: true },
  ]);
  await copyLegacyRevocations(db, revocations);
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
      const docs = await stored.find({ tenantId }).toArray();
      const revoked = new Map<string, RevocationDoc>();
      const own: ContractDoc[] = [];
      for (const d of docs) {
        if (isRevocation(d)) revoked.set(d.revokes, d);
        else own.push(d);
      }
      own.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
      return own.map((d) => toContract(d, revoked.get(d._id)));
    },
    async get(tenantId, id) {
      const docs = await stored.find({ tenantId, _id: { $in: [id, revocationId(id)] } }).toArray();
      const doc = docs.find((d): d is ContractDoc => !isRevocation(d) && d._id === id);
      return doc ? toContract(doc, docs.find(isRevocation)) : null;
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
      if (!(await contracts.findOne({ _id: id, tenantId, revokes: { $exists: false } }, { projection: { _id: 1 } }))) return false;
      try {
        await revocations.insertOne({ _id: revocationId(id), slot: revocationId(id), tenantId, revokes: id, revokedAt: nowIso });
      } catch (e) {
        // Already revoked: the first revocation time stands.
        if (!isDuplicateKeyError(e)) throw e;
      }
      return true;
    },
    async setExpiry(tenantId, id, expiresAt) {
      return (await contracts.updateOne({ _id: id, tenantId, revokes: { $exists: false } }, { $set: { expiresAt } })).matchedCount === 1;
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

/**
 * Copies the revocations an earlier version of this store kept in `contract_revocations`
 * (`_id` = the contract id) into `contracts`; a repeat is a no-op.
 */
async function copyLegacyRevocations(db: Db, revocations: Collection<RevocationDoc>): Promise<void> {
  const legacy = await db.collection<{ _id: string; tenantId: string; revokedAt: string }>('contract_revocations').find({}).toArray();
  for (const r of legacy) {
    try {
      await revocations.insertOne({ _id: revocationId(r._id), slot: revocationId(r._id), tenantId: r.tenantId, revokes: r._id, revokedAt: r.revokedAt });
    } catch (e) {
      if (!isDuplicateKeyError(e)) throw e;
    }
  }
}
