import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { httpHarness, KEY_B, problem, type HttpHarness } from './helpers.js';

let t: HttpHarness;
let h: HttpHarness['h'];

// The app with its default rate limit (the shared harness turns it off).
beforeEach(async () => {
  t = await httpHarness({ rateLimit: undefined });
  h = t.h;
});
afterEach(async () => t.cleanup());

const req: HttpHarness['req'] = (path, init) => t.req(path, init);

async function storeCounts() {
  const actors = await h.stores.actors.list({ tenantId: 'alpha', limit: 1000 });
  const mailbox = await Promise.all(actors.items.map((a) => h.stores.actors.pending('alpha', a.id, 0)));
  return { actors: actors.items.length, events: mailbox.reduce((n, m) => n + m.length, 0), versions: actors.items.map((a) => a.version).join(',') };
}

describe('HTTP edge', () => {
  it('drives an intent to done and serves its artifact with lineage', async () => {
    const res = await req('/v1/intents/profile_text?waitFor=done', { method: 'POST', body: JSON.stringify({ text: 'one two\nthree' }) });
    expect(res.status).toBe(200);
    const view = (await res.json()) as { id: string; status: string; output: { artifacts: { id: string }[] } };
    expect(view.status).toBe('done');
    const artId = view.output.artifacts[0]?.id ?? '';
    const art = await req(`/v1/artifacts/${artId}`);
    expect(art.status).toBe(200);
    const body = (await art.json()) as { body: { words: number }; lineage: { actorId: string; contractId: string } };
    expect(body.body.words).toBe(3);
    expect(body.lineage.actorId).toBe(view.id);
    expect(body.lineage.contractId).toBe('ctr_mvp_alpha');
  });

  it('answers 202 without waitFor and lists the actor', async () => {
    const res = await req('/v1/actors', { method: 'POST', body: JSON.stringify({ kind: 'agentSession', input: {} }) });
    expect(res.status).toBe(202);
    const { id, kind } = (await res.json()) as { id: string; kind: string };
    expect(kind).toBe('agentSession');
    const list = (await (await req('/v1/actors?kind=agentSession')).json()) as { items: { id: string }[] };
    expect(list.items.map((i) => i.id)).toEqual([id]);
  });

  it('refuses bad input with typed problems and leaves the store unchanged', async () => {
    const exec = await req('/v1/intents/profile_text?waitFor=done', { method: 'POST', body: '{"text":"x"}' });
    const finalId = ((await exec.json()) as { id: string }).id;
    const session = await req('/v1/actors', { method: 'POST', body: JSON.stringify({ kind: 'agentSession', input: {} }) });
    const sessionId = ((await session.json()) as { id: string }).id;
    await h.runtime.waitFor(sessionId, { tenantId: 'alpha', until: { tag: 'waiting' }, timeoutMs: 5000 });
    const keyed = await req('/v1/actors', { method: 'POST', body: JSON.stringify({ kind: 'agentSession', input: {} }), headers: { 'idempotency-key': 'k1' } });
    const keyedId = ((await keyed.json()) as { id: string }).id;
    await h.runtime.waitFor(keyedId, { tenantId: 'alpha', until: { tag: 'waiting' }, timeoutMs: 5000 });
    const before = await storeCounts();

    const cases: [string, Response | Promise<Response>, number, string][] = [
      ['unknown kind', req('/v1/actors', { method: 'POST', body: JSON.stringify({ kind: 'robot', input: {} }) }), 422, 'kind-unknown'],
      ['unknown intent', req('/v1/intents/no_such_intent', { method: 'POST', body: '{}' }), 404, 'intent-unknown'],
      ['invalid params', req('/v1/intents/profile_text', { method: 'POST', body: JSON.stringify({ text: 42 }) }), 422, 'params-invalid'],
      ['malformed json', req('/v1/actors', { method: 'POST', body: '{"kind":' }), 400, 'malformed-json'],
      ['wrong media type', req('/v1/actors', { method: 'POST', body: 'kind=x', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported-media-type'],
      ['malformed event', req(`/v1/actors/${sessionId}/events`, { method: 'POST', body: JSON.stringify({ text: 'no type' }) }), 422, 'params-invalid'],
      ['internal event', req(`/v1/actors/${sessionId}/events`, { method: 'POST', body: JSON.stringify({ type: 'xstate.init' }) }), 422, 'params-invalid'],
      ['event to final actor', req(`/v1/actors/${finalId}/events`, { method: 'POST', body: JSON.stringify({ type: 'CANCEL' }) }), 409, 'actor-final'],
      ['oversize payload', req('/v1/intents/profile_text', { method: 'POST', body: JSON.stringify({ text: 'x'.repeat(70 * 1024) }) }), 413, 'payload-too-large'],
      [
        'replayed key, other body',
        req('/v1/actors', { method: 'POST', body: JSON.stringify({ kind: 'agentSession', input: { solutionId: 'other' } }), headers: { 'idempotency-key': 'k1' } }),
        409,
        'idempotency-conflict',
      ],
      ['no key', req('/v1/actors', { key: null }), 401, 'unauthorized'],
      ['bad key', req('/v1/actors', { key: 'not-a-key-at-all' }), 401, 'unauthorized'],
      ['unknown route', req('/v1/nothing'), 404, 'not-found'],
      ['wrong method', req('/v1/actors', { method: 'DELETE' }), 405, 'method-not-allowed'],
      ['bad query', req('/v1/actors?limit=0'), 422, 'params-invalid'],
    ];
    for (const [name, pending, status, code] of cases) {
      const res = await pending;
      expect(res.status, name).toBe(status);
      const body = await problem(res);
      expect(body.code, name).toBe(code);
      if (code === 'params-invalid') expect(body.errors?.length, name).toBeGreaterThan(0);
    }
    expect(await storeCounts()).toEqual(before);
  });

  it('refuses an event the state does not take, and records the refusal', async () => {
    const res = await req('/v1/actors', { method: 'POST', body: JSON.stringify({ kind: 'agentSession', input: {} }) });
    const { id } = (await res.json()) as { id: string };
    await h.runtime.waitFor(id, { tenantId: 'alpha', until: { tag: 'waiting' }, timeoutMs: 5000 });
    const ended = await req(`/v1/actors/${id}/events?waitFor=done`, { method: 'POST', body: '{"type":"END"}' });
    expect(ended.status).toBe(200);
    expect(((await ended.json()) as { status: string }).status).toBe('done');
    const late = await req(`/v1/actors/${id}/events`, { method: 'POST', body: '{"type":"END"}' });
    expect((await problem(late)).code).toBe('actor-final');
  });

  it('hides one tenant from another: 404 with the same body as an unknown id', async () => {
    const res = await req('/v1/intents/profile_text?waitFor=done', { method: 'POST', body: '{"text":"secret"}' });
    const { id, output } = (await res.json()) as { id: string; output: { artifacts: { id: string }[] } };
    const artId = output.artifacts[0]?.id ?? '';
    for (const path of [`/v1/actors/${id}`, `/v1/artifacts/${artId}`, `/v1/actors/${id}/events/1`, `/v1/contracts/ctr_mvp_alpha`]) {
      const other = await req(path, { key: KEY_B });
      expect(other.status, path).toBe(404);
      expect((await problem(other)).code).toBe('not-found');
    }
    const send = await req(`/v1/actors/${id}/events`, { method: 'POST', key: KEY_B, body: '{"type":"STOP"}' });
    expect(send.status).toBe(404);
    const stop = await req(`/v1/actors/${id}/stop`, { method: 'POST', key: KEY_B });
    expect(stop.status).toBe(404);
    const list = (await (await req('/v1/actors', { key: KEY_B })).json()) as { items: unknown[] };
    expect(list.items).toEqual([]);
    const arts = (await (await req('/v1/artifacts', { key: KEY_B })).json()) as { items: unknown[] };
    expect(arts.items).toEqual([]);
  });

  it('answers 408 on a wait timeout and re-attaches on retry with the same key', async () => {
    const res = await req('/v1/actors', { method: 'POST', body: JSON.stringify({ kind: 'agentSession', input: {} }) });
    const { id } = (await res.json()) as { id: string };
    const first = await req(`/v1/actors/${id}/events?waitFor=done&timeoutMs=50`, { method: 'POST', body: '{"type":"MESSAGE","text":"hi"}', headers: { 'idempotency-key': 'm1' } });
    expect(first.status).toBe(408);
    expect((await problem(first)).code).toBe('wait-timeout');
    const again = await req(`/v1/actors/${id}/events?waitFor=tag:waiting&timeoutMs=5000`, { method: 'POST', body: '{"type":"MESSAGE","text":"hi"}', headers: { 'idempotency-key': 'm1' } });
    expect(again.status).toBe(200);
    const body = (await again.json()) as { seq: number; tags: string[] };
    expect(body.seq).toBe(1);
    expect(body.tags).toContain('waiting');
    expect(await h.stores.actors.pending('alpha', id, 0)).toHaveLength(1);
  });

  it('creates an api contract that supersedes the permissive one, and revokes it', async () => {
    await req('/v1/intents/profile_text?waitFor=done', { method: 'POST', body: '{"text":"x"}' });
    const created = await req('/v1/contracts', {
      method: 'POST',
      body: JSON.stringify({
        scope: { realms: ['journey'], intents: ['*'] },
        dataPolicy: { materialization: 'reference', sampleRows: 0, retentionDays: 7, piiHandling: 'mask', maxBytes: 1000 },
      }),
    });
    expect(created.status).toBe(201);
    const contract = (await created.json()) as { id: string; issuedBy: string };
    expect(contract.issuedBy).toBe('api');
    const list = (await (await req('/v1/contracts')).json()) as { items: { id: string; issuedBy: string; expiresAt: string | null }[] };
    expect(list.items.map((c) => c.issuedBy).sort()).toEqual(['api', 'permissive-mvp']);
    expect(list.items.find((c) => c.issuedBy === 'permissive-mvp')?.expiresAt).not.toBeNull();
    // content is outside the new contract's scope: the actor is rejected at its contract state.
    const denied = await req('/v1/intents/profile_text?waitFor=done', { method: 'POST', body: '{"text":"x"}' });
    const view = (await denied.json()) as { status: string; error: { code: string } };
    expect(view.status).toBe('rejected');
    expect(view.error.code).toBe('contract-denied');
    const revoked = await req(`/v1/contracts/${contract.id}/revoke`, { method: 'POST' });
    expect(((await revoked.json()) as { revokedAt: string | null }).revokedAt).not.toBeNull();
  });

  it('serves health and readiness without a key', async () => {
    expect((await req('/healthz', { key: null })).status).toBe(200);
    expect((await req('/readyz', { key: null })).status).toBe(200);
  });
});
