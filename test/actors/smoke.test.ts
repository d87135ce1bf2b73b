import { afterEach, describe, expect, it } from 'vitest';
import { harness, tenant, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.cleanup());

describe('runtime', () => {
  it('runs profile_text through the contract to done with one artifact', async () => {
    h = await harness();
    const t = tenant();
    const { id } = await h.runtime.spawn('execution', { intent: 'profile_text', params: { text: 'a b\nc' } }, { tenantId: t });
    const view = await h.runtime.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect(view.status).toBe('done');
    expect(view.contractId).toBe(`ctr_mvp_${t}`);
    const arts = await h.stores.artifacts.list({ tenantId: t, executionId: id, limit: 10 });
    expect(arts.items).toHaveLength(1);
    expect(arts.items[0]?.body).toMatchObject({ lines: 2, words: 3 });
  });
});

describe('snapshots hold state, not data', () => {
  it('keeps intent parameters in the actor record, never in the persisted snapshot', async () => {
    h = await harness();
    const t = tenant();
    const secret = 'policy-holder-SSN-123-45-6789 '.repeat(50);
    const { id } = await h.runtime.spawn('execution', { intent: 'profile_text', params: { text: secret } }, { tenantId: t });
    await h.runtime.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    const record = await h.stores.actors.get(t, id);
    const snapshot = JSON.stringify(record?.snapshot);
    expect(snapshot).not.toContain('SSN');
    expect(snapshot.length).toBeLessThan(4000);
    expect(JSON.stringify(record?.input)).toContain('SSN');
  });
});
