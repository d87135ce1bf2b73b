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
