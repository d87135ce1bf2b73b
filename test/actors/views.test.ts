/**
 * The views `inspect` answers: a final actor's view is built once, frozen and shared (its JSON
 * serialized once); a live actor's view is fresh on every call and follows its commits; the
 * shared view is never answered to another tenant.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { viewJson } from '../../src/actors/index.js';
import { harness, tenant, type Harness } from './helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

describe('inspect views', () => {
  it('shares one frozen view and one JSON text per final actor', async () => {
    h = await harness();
    const t = tenant();
    const { id } = await h.runtime.spawn('execution', { intent: 'profile_text', params: { text: 'one two\nthree' } }, { tenantId: t });
    await h.runtime.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 10_000 });
    const a = await h.runtime.inspect(id, { tenantId: t });
    const b = await h.runtime.inspect(id, { tenantId: t });
    expect(a.status).toBe('done');
    expect(Object.isFrozen(a)).toBe(true);
    expect(b).toBe(a);
    expect(viewJson(a)).toBe(JSON.stringify(a));
    expect(viewJson(b)).toBe(viewJson(a));
    await expect(h.runtime.inspect(id, { tenantId: tenant() })).rejects.toMatchObject({ code: 'not-found' });
  });

  it('builds a fresh view of a live actor on every call', async () => {
    h = await harness();
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', {}, { tenantId: t });
    await h.runtime.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 10_000 });
    const first = await h.runtime.inspect(id, { tenantId: t });
    const again = await h.runtime.inspect(id, { tenantId: t });
    expect(first.status).not.toBe('done');
    expect(Object.isFrozen(first)).toBe(false);
    expect(again).not.toBe(first);
    expect(viewJson(first)).toBe(JSON.stringify(first));
    const stopped = await h.runtime.stop(id, { tenantId: t, waitFor: 'done', timeoutMs: 10_000 });
    const after = await h.runtime.inspect(id, { tenantId: t });
    expect(after.status).toBe('stopped');
    expect(after.version).toBeGreaterThan(first.version);
    expect(after.version).toBe(stopped.view.version);
    expect(Object.isFrozen(after)).toBe(true);
  });
});
