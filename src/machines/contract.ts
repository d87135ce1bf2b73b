/**
 * @module machines/contract
 * The boundary contract: its record, the pure decision that grants it, the
 * `GrantedContract` value that only this module can mint, and the machine fragment every
 * lifecycle passes through before it touches tenant data ("data stays at the door").
 *
 * This module does no I/O. The runtime loads a tenant's contracts and hands them to
 * {@link grantContract}; the result is the only way to obtain a `GrantedContract`.
 */
import { fromPromise, type EventObject } from 'xstate';
import { z } from 'zod';
import { AppError, problemOf, type Problem } from '../errors.js';

export const REALMS = ['content', 'insights', 'journey', 'outcomes'] as const;
export type Realm = (typeof REALMS)[number];

export const DataPolicySchema = z.object({
  materialization: z.enum(['reference', 'sample', 'full']),
  sampleRows: z.number().int().min(0).max(10_000_000),
  retentionDays: z.number().int().min(0).max(36_500),
  piiHandling: z.enum(['allow', 'mask', 'deny']),
  maxBytes: z.number().int().min(0),
});
export type DataPolicy = z.infer<typeof DataPolicySchema>;

export const ContractScopeSchema = z.object({
  realms: z.array(z.enum(REALMS)).min(1),
  intents: z.array(z.string().min(1).max(100)).min(1),
});
export type ContractScope = z.infer<typeof ContractScopeSchema>;

/** The contract record of DOMAIN.md section 4. */
export interface BoundaryContract {
  id: string;
  tenantId: string;
  issuedBy: 'permissive-mvp' | 'api';
  scope: ContractScope;
  dataPolicy: DataPolicy;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

/** The permissive MVP contract's fixed terms (DOMAIN.md section 4). */
export const PERMISSIVE_MVP_TERMS = {
  scope: { realms: [...REALMS], intents: ['*'] },
  dataPolicy: {
    materialization: 'full',
    sampleRows: 1000,
    retentionDays: 90,
    piiHandling: 'allow',
    maxBytes: 10 * 1024 ** 3,
  },
} as const satisfies { scope: ContractScope; dataPolicy: DataPolicy };

/** The deterministic id of a tenant's permissive MVP contract: it exists at most once. */
export function permissiveContractId(tenantId: string): string {
  return `ctr_mvp_${tenantId}`;
}

export function permissiveMvpContract(tenantId: string, nowMs: number): BoundaryContract {
  return {
    id: permissiveContractId(tenantId),
    tenantId,
    issuedBy: 'permissive-mvp',
    scope: { realms: [...PERMISSIVE_MVP_TERMS.scope.realms], intents: [...PERMISSIVE_MVP_TERMS.scope.intents] },
    dataPolicy: { ...PERMISSIVE_MVP_TERMS.dataPolicy },
    createdAt: new Date(nowMs).toISOString(),
    expiresAt: null,
    revokedAt: null,
  };
}

/** What an actor asks the door for. */
export interface ContractRequest {
  tenantId: string;
  realm: Realm;
  intent: string;
  /** A specific contract the caller named; otherwise the newest covering one applies. */
  contractId: string | null;
  /** The asking actor, so the runtime can keep the grant it mints for that actor's work. */
  actorId?: string;
}

declare const grantBrand: unique symbol;

/**
 * Proof that a contract granted this tenant access for one realm and intent. Only
 * {@link grantContract} creates one; every function that touches tenant data takes it as an
 * argument (compile time) and calls {@link assertGranted} (run time). It is not JSON: a
 * snapshot keeps `contractId`, and a rehydrated actor obtains a fresh grant, re-checked.
 */
export type GrantedContract = {
  readonly contract: Readonly<BoundaryContract>;
  readonly tenantId: string;
  readonly realm: Realm;
  readonly intent: string;
  readonly grantedAt: number;
  readonly [grantBrand]: true;
};

const minted = new WeakSet<object>();

export function isExpired(c: BoundaryContract, nowMs: number): boolean {
  return c.expiresAt !== null && Date.parse(c.expiresAt) <= nowMs;
}

export function covers(c: BoundaryContract, realm: Realm, intent: string): boolean {
  return c.scope.realms.includes(realm) && (c.scope.intents.includes('*') || c.scope.intents.includes(intent));
}

/**
 * Decides a request against a tenant's contracts and mints the grant.
 *
 * - A named contract must belong to the tenant (`contract-missing`), not be revoked
 *   (`contract-denied`; unless `pastDoor`: the actor was granted before the revocation),
 *   not be expired (`contract-expired`) and cover the realm and intent
 *   (`contract-denied`).
 * - Otherwise the newest unexpired, unrevoked contract covering realm and intent applies; if
 *   every contract of the tenant has expired, the answer is `contract-expired`; else (some
 *   unexpired contract stands, but none covers the request) `contract-denied`.
 */
export function grantContract(
  contracts: readonly BoundaryContract[],
  request: ContractRequest,
  nowMs: number,
  options: { pastDoor?: boolean } = {},
): GrantedContract {
  const own = contracts.filter((c) => c.tenantId === request.tenantId);
  let chosen: BoundaryContract | undefined;
  if (request.contractId !== null) {
    chosen = own.find((c) => c.id === request.contractId);
    if (!chosen) throw new AppError('contract-missing', `Contract ${request.contractId} is unknown to this tenant`);
    // Revocation binds actors that have not passed their contract state yet (DOMAIN.md 4).
    if (chosen.revokedAt !== null && !options.pastDoor) throw new AppError('contract-denied', `Contract ${chosen.id} was revoked`);
    if (isExpired(chosen, nowMs)) throw new AppError('contract-expired', `Contract ${chosen.id} expired at ${chosen.expiresAt}`);
    if (!covers(chosen, request.realm, request.intent)) {
      throw new AppError('contract-denied', `Contract ${chosen.id} does not cover ${request.realm}/${request.intent}`);
    }
  } else {
    const live = own.filter((c) => c.revokedAt === null);
    const covering = live.filter((c) => covers(c, request.realm, request.intent));
    chosen = covering
      .filter((c) => !isExpired(c, nowMs))
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1))[0];
    if (!chosen) {
      // Denied while any unexpired contract stands (DOMAIN.md 4); expired only when every one has.
      if (live.length > 0 && live.every((c) => isExpired(c, nowMs))) {
        throw new AppError('contract-expired', `Every contract covering ${request.realm}/${request.intent} has expired`);
      }
      throw new AppError('contract-denied', `No contract of this tenant covers ${request.realm}/${request.intent}`);
    }
  }
  // A deep, frozen copy: the terms a grant proves can be neither widened by code holding it
  // nor changed through the record it was decided from.
  const terms = Object.freeze({
    ...chosen,
    scope: Object.freeze({
      realms: Object.freeze([...chosen.scope.realms]),
      intents: Object.freeze([...chosen.scope.intents]),
    }),
    dataPolicy: Object.freeze({ ...chosen.dataPolicy }),
  }) as Readonly<BoundaryContract>;
  const grant = Object.freeze({
    contract: terms,
    tenantId: request.tenantId,
    realm: request.realm,
    intent: request.intent,
    grantedAt: nowMs,
  }) as GrantedContract;
  minted.add(grant);
  return grant;
}

/**
 * Run-time check that `grant` was minted here and covers what the caller is about to do.
 * Throws `contract-denied` otherwise: a forged or mismatched grant never touches data.
 */
export function assertGranted(grant: GrantedContract, expect: { tenantId?: string; realm?: Realm } = {}): void {
  if (typeof grant !== 'object' || grant === null || !minted.has(grant)) {
    throw new AppError('contract-denied', 'A data operation was attempted without a granted contract');
  }
  if (expect.tenantId !== undefined && grant.tenantId !== expect.tenantId) {
    throw new AppError('contract-denied', 'The granted contract belongs to another tenant');
  }
  if (expect.realm !== undefined && grant.realm !== expect.realm) {
    throw new AppError('contract-denied', `The granted contract covers ${grant.realm}, not ${expect.realm}`);
  }
}

// ---------------------------------------------------------------------------------------
// The machine fragment shared by every lifecycle.

/** The invoke id of the contract step; `xstate.done.actor.contract` is the grant event. */
export const CONTRACT_INVOKE_ID = 'contract';
/** Tag of the contract state. */
export const CONTRACT_TAG = 'contract';
/** Tag of every state that reads or writes tenant data. */
export const DATA_TAG = 'data';

/** What every machine context carries for its contract. */
export interface ContractSlot {
  actorId: string;
  tenantId: string;
  realm: Realm;
  intent: string;
  requestedContractId: string | null;
  contractId: string | null;
  error: Problem | null;
}

/** What the contract step resolves to (serialisable: the grant itself stays in memory). */
export interface ContractDecision {
  contractId: string;
}

/**
 * The logic of the contract step. The runtime provides the real one (it loads the tenant's
 * contracts and calls {@link grantContract}); this default denies, so a machine used without
 * the runtime can never reach a data state.
 */
export const resolveContractLogic = fromPromise<ContractDecision, ContractRequest>(async () => {
  throw new AppError('contract-denied', 'No contract resolver is provided to this actor');
});

export function contractRequestOf(context: ContractSlot): ContractRequest {
  return {
    tenantId: context.tenantId,
    realm: context.realm,
    intent: context.intent,
    contractId: context.requestedContractId,
    actorId: context.actorId,
  };
}

function outputOf(event: EventObject): unknown {
  return (event as { output?: unknown }).output;
}

function errorOf(event: EventObject): unknown {
  return (event as { error?: unknown }).error;
}

/** Assignment for the grant event: keeps the contract id only. */
export function recordGrant({ event }: { event: EventObject }): Pick<ContractSlot, 'contractId'> {
  const out = outputOf(event);
  const contractId = typeof out === 'object' && out !== null ? (out as { contractId?: unknown }).contractId : undefined;
  if (typeof contractId !== 'string') throw new AppError('internal', 'The contract step resolved without a contract id');
  return { contractId };
}

/** Assignment for any error event: keeps the problem (serialisable). */
export function recordProblem({ event }: { event: EventObject }): Pick<ContractSlot, 'error'> {
  return { error: problemOf(errorOf(event)) };
}

const CONTRACT_CODES = new Set(['contract-denied', 'contract-expired', 'contract-missing']);

/** Guard: the error event is a contract refusal (at the door, or when a grant is re-minted). */
export function isContractRefusal({ event }: { event: EventObject }): boolean {
  return CONTRACT_CODES.has(problemOf(errorOf(event)).code);
}

/**
 * The contract fragment: a `contract` state that invokes `resolveContract` and goes to
 * `next` with the grant, to the final `rejected` state when the contract refuses, or to the
 * machine's `failed` state when the step itself failed (a store outage is no refusal). Every
 * machine spreads it into its states, has a `failed` state, and declares `resolveContract`,
 * `recordGrant`, `recordProblem` and the `contractRefused` guard in its `setup()`.
 */
export function contractStates<const TNext extends string>(next: TNext) {
  return {
    contract: {
      tags: [CONTRACT_TAG],
      invoke: {
        id: CONTRACT_INVOKE_ID,
        src: 'resolveContract',
        input: ({ context }: { context: ContractSlot }) => contractRequestOf(context),
        onDone: { target: next, actions: 'recordGrant' },
        onError: [
          { guard: 'contractRefused', target: 'rejected', actions: 'recordProblem' },
          { target: 'failed', actions: 'recordProblem' },
        ],
      },
    },
    rejected: { type: 'final', tags: ['final'] },
  } as const;
}
