/**
 * Unit tests of the boundary-contract decision (`grantContract`), the run-time proof check
 * (`assertGranted`) and the permissive MVP contract (DOMAIN.md section 4).
 */
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import {
  PERMISSIVE_MVP_TERMS,
  REALMS,
  assertGranted,
  grantContract,
  permissiveContractId,
  permissiveMvpContract,
  type BoundaryContract,
  type ContractRequest,
  type GrantedContract,
} from '../../src/machines/contract.js';

const NOW = Date.parse('2025-06-01T12:00:00.000Z');
const DAY = 86_400_000;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function contract(overrides: Partial<BoundaryContract> = {}): BoundaryContract {
  return {
    id: 'ctr_a',
    tenantId: 'ten_a',
    issuedBy: 'api',
    scope: { realms: ['content'], intents: ['parse_content'] },
    dataPolicy: { materialization: 'sample', sampleRows: 100, retentionDays: 30, piiHandling: 'mask', maxBytes: 1_000_000 },
    createdAt: iso(NOW - 10 * DAY),
    expiresAt: null,
    revokedAt: null,
    ...overrides,
  };
}

function request(overrides: Partial<ContractRequest> = {}): ContractRequest {
  return { tenantId: 'ten_a', realm: 'content', intent: 'parse_content', contractId: null, ...overrides };
}

/** The problem code `fn` throws, or `null` when it returns. */
function codeOf(fn: () => unknown): string | null {
  try {
    fn();
  } catch (e) {
    return isAppError(e) ? e.code : `not an AppError: ${String(e)}`;
  }
  return null;
}

describe('permissiveMvpContract', () => {
  it('has the permissive terms of DOMAIN.md section 4', () => {
    const c = permissiveMvpContract('ten_a', NOW);
    expect(c).toEqual({
      id: permissiveContractId('ten_a'),
      tenantId: 'ten_a',
      issuedBy: 'permissive-mvp',
      scope: { realms: ['content', 'insights', 'journey', 'outcomes'], intents: ['*'] },
      dataPolicy: {
        materialization: 'full',
        sampleRows: 1000,
        retentionDays: 90,
        piiHandling: 'allow',
        maxBytes: 10 * 1024 * 1024 * 1024,
      },
      createdAt: iso(NOW),
      expiresAt: null,
      revokedAt: null,
    });
  });

  it('has one deterministic id per tenant', () => {
    expect(permissiveMvpContract('ten_a', NOW).id).toBe(permissiveMvpContract('ten_a', NOW + DAY).id);
    expect(permissiveContractId('ten_a')).not.toBe(permissiveContractId('ten_b'));
  });

  it('does not share its arrays or policy with the fixed terms', () => {
    const c = permissiveMvpContract('ten_a', NOW);
    c.scope.realms.pop();
    c.scope.intents.push('x');
    c.dataPolicy.materialization = 'reference';
    const fresh = permissiveMvpContract('ten_a', NOW);
    expect(fresh.scope).toEqual({ realms: [...REALMS], intents: ['*'] });
    expect(fresh.dataPolicy.materialization).toBe('full');
    expect(PERMISSIVE_MVP_TERMS.dataPolicy.materialization).toBe('full');
  });

  it('grants every realm and every intent, and never expires', () => {
    const c = permissiveMvpContract('ten_a', NOW);
    for (const realm of REALMS) {
      const g = grantContract([c], request({ realm, intent: 'anything_at_all' }), NOW + 100_000 * DAY);
      expect(g.contract.id).toBe(c.id);
      expect(g.realm).toBe(realm);
    }
  });
});

describe('grantContract', () => {
  describe('scope', () => {
    it('grants an intent listed explicitly in a covered realm', () => {
      const g = grantContract([contract()], request(), NOW);
      expect(g).toMatchObject({ tenantId: 'ten_a', realm: 'content', intent: 'parse_content', grantedAt: NOW });
      expect(g.contract.id).toBe('ctr_a');
    });

    it('grants any intent of a covered realm under "*"', () => {
      const c = contract({ scope: { realms: ['insights', 'journey'], intents: ['*'] } });
      expect(grantContract([c], request({ realm: 'insights', intent: 'assess_data_quality' }), NOW).contract.id).toBe('ctr_a');
      expect(grantContract([c], request({ realm: 'journey', intent: 'generate_sop' }), NOW).contract.id).toBe('ctr_a');
    });

    it('denies an intent missing from an explicit list', () => {
      expect(codeOf(() => grantContract([contract()], request({ intent: 'profile_dataset' }), NOW))).toBe('contract-denied');
    });

    it('denies a realm outside the scope, even under "*"', () => {
      const c = contract({ scope: { realms: ['content'], intents: ['*'] } });
      expect(codeOf(() => grantContract([c], request({ realm: 'outcomes', intent: 'export_solution' }), NOW))).toBe(
        'contract-denied',
      );
    });

    it('denies a tenant without any contract', () => {
      expect(codeOf(() => grantContract([], request(), NOW))).toBe('contract-denied');
    });

    it('denies a named contract that does not cover the request', () => {
      expect(codeOf(() => grantContract([contract()], request({ contractId: 'ctr_a', intent: 'ingest_file' }), NOW))).toBe(
        'contract-denied',
      );
    });
  });

  describe('expiry', () => {
    it('answers contract-expired for a named contract past its expiry', () => {
      const c = contract({ expiresAt: iso(NOW - 1) });
      expect(codeOf(() => grantContract([c], request({ contractId: 'ctr_a' }), NOW))).toBe('contract-expired');
    });

    it('treats the instant of expiry as expired', () => {
      const c = contract({ expiresAt: iso(NOW) });
      expect(codeOf(() => grantContract([c], request(), NOW))).toBe('contract-expired');
      expect(grantContract([c], request(), NOW - 1).contract.id).toBe('ctr_a');
    });

    it('denies while an unexpired contract stands, even if only an expired one covered the request', () => {
      const expired = contract({ id: 'ctr_old', expiresAt: iso(NOW - DAY) });
      const other = contract({ id: 'ctr_other', scope: { realms: ['journey'], intents: ['*'] } });
      expect(codeOf(() => grantContract([expired, other], request(), NOW))).toBe('contract-denied');
      expect(codeOf(() => grantContract([expired], request(), NOW))).toBe('contract-expired');
    });

    it('does not let a revoked contract keep the tenant from being "all expired"', () => {
      const expired = contract({ id: 'ctr_old', expiresAt: iso(NOW - DAY) });
      const revoked = contract({ id: 'ctr_rev', revokedAt: iso(NOW - DAY) });
      expect(codeOf(() => grantContract([expired, revoked], request(), NOW))).toBe('contract-expired');
    });

    it('denies everything once all contracts have expired', () => {
      const a = contract({ id: 'ctr_1', expiresAt: iso(NOW - DAY) });
      const b = contract({ id: 'ctr_2', scope: { realms: ['journey'], intents: ['*'] }, expiresAt: iso(NOW - 2 * DAY) });
      expect(codeOf(() => grantContract([a, b], request({ realm: 'outcomes', intent: 'export_solution' }), NOW))).toBe(
        'contract-expired',
      );
      expect(codeOf(() => grantContract([a, b], request(), NOW))).toBe('contract-expired');
    });

    it('skips an expired contract when a live one covers the request', () => {
      const expired = contract({ id: 'ctr_old', createdAt: iso(NOW - DAY), expiresAt: iso(NOW - 1) });
      const live = contract({ id: 'ctr_live', createdAt: iso(NOW - 5 * DAY), expiresAt: iso(NOW + DAY) });
      expect(grantContract([expired, live], request(), NOW).contract.id).toBe('ctr_live');
    });
  });

  describe('named contracts', () => {
    it('answers contract-missing for an unknown id', () => {
      expect(codeOf(() => grantContract([contract()], request({ contractId: 'ctr_nope' }), NOW))).toBe('contract-missing');
    });

    it('uses the named contract even when a newer one covers the request', () => {
      const older = contract({ id: 'ctr_older', createdAt: iso(NOW - 9 * DAY) });
      const newer = contract({ id: 'ctr_newer', createdAt: iso(NOW - DAY) });
      expect(grantContract([older, newer], request({ contractId: 'ctr_older' }), NOW).contract.id).toBe('ctr_older');
    });
  });

  describe('revocation', () => {
    const revoked = contract({ revokedAt: iso(NOW - DAY) });

    it('denies a revoked contract to an actor that has not passed its contract state', () => {
      expect(codeOf(() => grantContract([revoked], request({ contractId: 'ctr_a' }), NOW))).toBe('contract-denied');
    });

    it('re-mints a revoked contract for an actor past the door', () => {
      const g = grantContract([revoked], request({ contractId: 'ctr_a' }), NOW, { pastDoor: true });
      expect(g.contract.id).toBe('ctr_a');
    });

    it('still refuses an expired contract past the door', () => {
      const c = contract({ revokedAt: iso(NOW - DAY), expiresAt: iso(NOW - 1) });
      expect(codeOf(() => grantContract([c], request({ contractId: 'ctr_a' }), NOW, { pastDoor: true }))).toBe(
        'contract-expired',
      );
    });

    it('never picks a revoked contract when none is named', () => {
      expect(codeOf(() => grantContract([revoked], request(), NOW))).toBe('contract-denied');
      const live = contract({ id: 'ctr_live', createdAt: iso(NOW - 20 * DAY) });
      const newerRevoked = contract({ id: 'ctr_rev', createdAt: iso(NOW - DAY), revokedAt: iso(NOW - 1) });
      expect(grantContract([newerRevoked, live], request(), NOW).contract.id).toBe('ctr_live');
    });
  });

  describe('choice', () => {
    it('lets the newest covering contract win, whatever the order given', () => {
      const a = contract({ id: 'ctr_1', createdAt: iso(NOW - 3 * DAY) });
      const b = contract({ id: 'ctr_2', createdAt: iso(NOW - DAY) });
      const c = contract({ id: 'ctr_3', createdAt: iso(NOW - 2 * DAY) });
      expect(grantContract([a, b, c], request(), NOW).contract.id).toBe('ctr_2');
      expect(grantContract([c, b, a], request(), NOW).contract.id).toBe('ctr_2');
    });

    it('prefers an older covering contract over a newer one that does not cover', () => {
      const covering = contract({ id: 'ctr_cov', createdAt: iso(NOW - 3 * DAY) });
      const narrow = contract({ id: 'ctr_narrow', createdAt: iso(NOW - DAY), scope: { realms: ['journey'], intents: ['*'] } });
      expect(grantContract([narrow, covering], request(), NOW).contract.id).toBe('ctr_cov');
    });

    it('breaks a createdAt tie deterministically', () => {
      const a = contract({ id: 'ctr_a1' });
      const b = contract({ id: 'ctr_b1' });
      expect(grantContract([a, b], request(), NOW).contract.id).toBe(grantContract([b, a], request(), NOW).contract.id);
    });
  });

  describe('tenancy', () => {
    const foreign = contract({ id: 'ctr_foreign', tenantId: 'ten_b', scope: { realms: [...REALMS], intents: ['*'] } });

    it('never grants with another tenant’s contract', () => {
      expect(codeOf(() => grantContract([foreign], request(), NOW))).toBe('contract-denied');
    });

    it('answers contract-missing when another tenant’s contract is named', () => {
      expect(codeOf(() => grantContract([foreign], request({ contractId: 'ctr_foreign' }), NOW))).toBe('contract-missing');
    });

    it('ignores another tenant’s newer contract when choosing', () => {
      const own = contract({ id: 'ctr_own', createdAt: iso(NOW - 30 * DAY) });
      const g = grantContract([foreign, own], request(), NOW);
      expect(g.contract.id).toBe('ctr_own');
      expect(g.tenantId).toBe('ten_a');
    });

    it('does not count another tenant’s live contracts when deciding expiry', () => {
      const expired = contract({ id: 'ctr_exp', expiresAt: iso(NOW - DAY) });
      expect(codeOf(() => grantContract([foreign, expired], request(), NOW))).toBe('contract-expired');
    });
  });

  describe('the grant', () => {
    it('is frozen and does not change when its source record does', () => {
      const source = contract();
      const g = grantContract([source], request(), NOW);
      expect(Object.isFrozen(g)).toBe(true);
      expect(Object.isFrozen(g.contract)).toBe(true);
      source.id = 'ctr_changed';
      source.scope.intents.push('profile_dataset');
      source.dataPolicy.materialization = 'full';
      expect(g.contract.id).toBe('ctr_a');
      expect(g.contract.scope.intents).toEqual(['parse_content']);
      expect(g.contract.dataPolicy.materialization).toBe('sample');
    });

    it('keeps its terms: the policy and scope inside a grant cannot be widened', () => {
      const g = grantContract([contract()], request(), NOW);
      expect(() => {
        g.contract.dataPolicy.materialization = 'full';
      }).toThrow(TypeError);
      expect(() => {
        g.contract.scope.intents.push('*');
      }).toThrow(TypeError);
      expect(g.contract.dataPolicy.materialization).toBe('sample');
      expect(g.contract.scope.intents).toEqual(['parse_content']);
    });
  });
});

describe('assertGranted', () => {
  const grant = grantContract([contract()], request(), NOW);

  it('accepts a minted grant, with or without expectations', () => {
    expect(() => assertGranted(grant)).not.toThrow();
    expect(() => assertGranted(grant, { tenantId: 'ten_a', realm: 'content' })).not.toThrow();
  });

  it('refuses a grant for another tenant', () => {
    expect(codeOf(() => assertGranted(grant, { tenantId: 'ten_b' }))).toBe('contract-denied');
  });

  it('refuses a grant for another realm', () => {
    expect(codeOf(() => assertGranted(grant, { realm: 'insights' }))).toBe('contract-denied');
  });

  it('refuses a plain object shaped like a grant', () => {
    // @ts-expect-error a plain object literal lacks the brand only grantContract can give
    const forged: GrantedContract = {
      contract: contract(),
      tenantId: 'ten_a',
      realm: 'content',
      intent: 'parse_content',
      grantedAt: NOW,
    };
    expect(codeOf(() => assertGranted(forged))).toBe('contract-denied');
  });

  it('refuses a grant that went through JSON (a GrantedContract is not JSON)', () => {
    const revived = JSON.parse(JSON.stringify(grant)) as GrantedContract;
    expect(revived).toEqual(JSON.parse(JSON.stringify(grant)));
    expect(codeOf(() => assertGranted(revived, { tenantId: 'ten_a', realm: 'content' }))).toBe('contract-denied');
  });

  it('refuses a copy of a minted grant', () => {
    const copy = { ...grant };
    expect(codeOf(() => assertGranted(copy))).toBe('contract-denied');
    expect(codeOf(() => assertGranted(structuredClone(grant)))).toBe('contract-denied');
  });

  it('refuses values that are not objects', () => {
    for (const value of [null, undefined, 'ctr_a', 42]) {
      expect(codeOf(() => assertGranted(value as unknown as GrantedContract))).toBe('contract-denied');
    }
  });
});
