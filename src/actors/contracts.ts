/**
 * @module actors/contracts
 * The contract service: loads a tenant's contracts, records the permissive MVP contract for
 * a tenant that has none, and asks `machines/contract.ts` for the grant. Creation, listing
 * and revocation for the HTTP edge.
 */
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import {
  grantContract,
  permissiveMvpContract,
  type BoundaryContract,
  type ContractRequest,
  type ContractScope,
  type DataPolicy,
  type GrantedContract,
} from '../machines/contract.js';
import type { ContractStore } from '../persistence/ports.js';

export interface NewContract {
  scope: ContractScope;
  dataPolicy: DataPolicy;
  expiresAt: string | null;
}

export interface ContractService {
  /**
   * Grants `request` (the contract state of every machine calls this). A tenant with no
   * contract at all first gets its recorded permissive MVP contract. The decision (scope,
   * expiry, revocation) is made from the contracts as read now.
   */
  resolve(request: ContractRequest): Promise<GrantedContract>;
  /**
   * Re-mints the grant of an actor past its contract state (after a restart, or for each
   * step of work): the same contract must still exist, cover the request and be unexpired.
   */
  regrant(request: ContractRequest & { contractId: string }): Promise<GrantedContract>;
  list(tenantId: string): Promise<BoundaryContract[]>;
  get(tenantId: string, id: string): Promise<BoundaryContract>;
  /** An `api` contract; the tenant's permissive MVP contract expires with it. */
  create(tenantId: string, terms: NewContract): Promise<BoundaryContract>;
  revoke(tenantId: string, id: string): Promise<BoundaryContract>;
}

export function createContractService(store: ContractStore, clock: Clock): ContractService {
  async function contractsOf(tenantId: string): Promise<BoundaryContract[]> {
    const found = await store.list(tenantId);
    if (found.length > 0) return found;
    await store.insertIfNone(permissiveMvpContract(tenantId, clock.now()));
    return store.list(tenantId);
  }

  return {
    async resolve(request) {
      return grantContract(await contractsOf(request.tenantId), request, clock.now());
    },
    async regrant(request) {
      return grantContract(await store.list(request.tenantId), request, clock.now(), { pastDoor: true });
    },
    list: contractsOf,
    async get(tenantId, id) {
      const c = (await contractsOf(tenantId)).find((x) => x.id === id);
      if (!c) throw new AppError('not-found', `No contract ${id}`);
      return c;
    },
    async create(tenantId, terms) {
      const now = clock.now();
      if (terms.expiresAt !== null && Date.parse(terms.expiresAt) <= now) {
        throw new AppError('params-invalid', 'expiresAt must be in the future', {
          extras: { errors: [{ path: 'expiresAt', message: 'must be in the future' }] },
        });
      }
      const contract: BoundaryContract = {
        id: newId('ctr', now),
        tenantId,
        issuedBy: 'api',
        scope: terms.scope,
        dataPolicy: terms.dataPolicy,
        createdAt: new Date(now).toISOString(),
        expiresAt: terms.expiresAt,
        revokedAt: null,
      };
      await store.insertSuperseding(contract, new Date(now).toISOString());
      return contract;
    },
    async revoke(tenantId, id) {
      if (!(await store.revoke(tenantId, id, new Date(clock.now()).toISOString()))) {
        throw new AppError('not-found', `No contract ${id}`);
      }
      const c = await store.get(tenantId, id);
      if (!c) throw new AppError('not-found', `No contract ${id}`);
      return c;
    },
  };
}
