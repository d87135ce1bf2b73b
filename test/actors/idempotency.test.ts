/**
 * Idempotency keys on spawn and send: a replay returns the first result and stores nothing;
 * the same key with another request is an `idempotency-conflict`; a caller whose wait timed
 * out re-attaches to the same event by retrying with its key.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentResponder } from '../../src/actors/index.js';
import { mailboxOf, recordOf } from './probes.js';
import { harness, tenant, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.cleanup());

const PROFILE = { intent: 'profile_text', params: { text: 'a b c' } };

describe('idempotent spawn', () => {
  it('returns the first actor for a replayed key, fresh: false, and creates no second one', async () => {
    h = await harness();
    const t = tenant();
    const first = await h.runtime.spawn('execution', PROFILE, { tenantId: t, idempotencyKey: 'spawn-1' });
    const again = await h.runtime.spawn('execution', { params: { text: 'a b c' }, intent: 'profile_text' }, { tenantId: t, idempotencyKey: 'spawn-1' });
    expect(first.fresh).toBe(true);
    expect(again).toEqual({ id: first.id, fresh: false });
    const page = await h.runtime.list({ tenantId: t, limit: 10 });
    expect(page.items.map((v) => v.id)).toEqual([first.id]);
    await h.runtime.waitFor(first.id, { tenantId: t, until: 'done', timeoutMs: 5000 });
    expect(await h.stores.artifacts.countByActor(t, first.id)).toBe(1);
  });

  it('refuses the same key with a different input as idempotency-conflict and stores nothing', async () => {
    h = await harness();
    const t = tenant();
    const first = await h.runtime.spawn('execution', PROFILE, { tenantId: t, idempotencyKey: 'spawn-2' });
    const other = { intent: 'profile_text', params: { text: 'something else' } };
    await expect(h.runtime.spawn('execution', other, { tenantId: t, idempotencyKey: 'spawn-2' })).rejects.toMatchObject({
      code: 'idempotency-conflict',
    });
    await expect(h.runtime.spawn('agentSession', {}, { tenantId: t, idempotencyKey: 'spawn-2' })).rejects.toMatchObject({
      code: 'idempotency-conflict',
    });
    const page = await h.runtime.list({ tenantId: t, limit: 10 });
    expect(page.items.map((v) => v.id)).toEqual([first.id]);
  });

  it('scopes keys by tenant: another tenant using the same key gets its own actor', async () => {
    h = await harness();
    const [t1, t2] = [tenant(), tenant()];
    const a = await h.runtime.spawn('execution', PROFILE, { tenantId: t1, idempotencyKey: 'shared' });
    const b = await h.runtime.spawn('execution', PROFILE, { tenantId: t2, idempotencyKey: 'shared' });
    expect(b.fresh).toBe(true);
    expect(b.id).not.toBe(a.id);
  });
});

describe('idempotent send', () => {
  it('stores one mailbox entry for a key sent twice and returns its seq both times', async () => {
    h = await harness();
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', {}, { tenantId: t });
    await h.runtime.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });
    const event = { type: 'MESSAGE', text: 'hello' };
    const first = await h.runtime.send(id, event, { tenantId: t, idempotencyKey: 'msg-1', waitFor: { tag: 'waiting' }, timeoutMs: 5000 });
    const again = await h.runtime.send(id, event, { tenantId: t, idempotencyKey: 'msg-1', waitFor: { tag: 'waiting' }, timeoutMs: 5000 });
    expect(first.seq).toBe(1);
    expect(again.seq).toBe(1);
    const mailbox = await mailboxOf(h.stores, t, id);
    expect(mailbox.map((e) => [e.seq, e.event, e.outcome])).toEqual([[1, event, 'applied']]);
    expect((await recordOf(h.stores, t, id)).lastSeq).toBe(1);
    expect(await h.stores.artifacts.countByActor(t, id)).toBe(1);

    await expect(
      h.runtime.send(id, { type: 'MESSAGE', text: 'changed' }, { tenantId: t, idempotencyKey: 'msg-1' }),
    ).rejects.toMatchObject({ code: 'idempotency-conflict' });
    expect(await mailboxOf(h.stores, t, id)).toHaveLength(1);
  });

  it('re-attaches a retry after wait-timeout to the same event, which then completes', async () => {
    let answer!: () => void;
    const answered = new Promise<void>((r) => (answer = r));
    const respond: AgentResponder = async (ctx, turn) => {
      await answered;
      return ctx.emit('agentAnswer', { n: turn.n }, { n: turn.n });
    };
    h = await harness({ respond });
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', {}, { tenantId: t });
    await h.runtime.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });
    const event = { type: 'MESSAGE', text: 'slow question' };

    const timedOut = await h.runtime
      .send(id, event, { tenantId: t, idempotencyKey: 'slow-1', waitFor: { tag: 'waiting' }, timeoutMs: 150 })
      .catch((e: unknown) => e);
    expect(timedOut).toMatchObject({ code: 'wait-timeout', extras: { actorId: id } });
    expect((await recordOf(h.stores, t, id)).value).toBe('responding');

    const retry = h.runtime.send(id, event, { tenantId: t, idempotencyKey: 'slow-1', waitFor: { tag: 'waiting' }, timeoutMs: 5000 });
    answer();
    const result = await retry;
    expect(result.seq).toBe(1);
    expect(result.view.status).toBe('waiting');
    expect(result.view.value).toBe('idle');
    expect(await mailboxOf(h.stores, t, id)).toHaveLength(1);
    const r = await recordOf(h.stores, t, id);
    expect(r.snapshot?.context).toMatchObject({ turns: [{ n: 1, text: 'slow question' }] });
  });
});
