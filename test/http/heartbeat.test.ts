/**
 * `sseHeartbeatMs` (SYMPHAINY_SSE_HEARTBEAT_MS) reaches the stream route: an idle stream sends
 * heartbeat comment lines at that interval.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { httpHarness, KEY_A, type HttpHarness } from './helpers.js';

describe('SSE heartbeat interval', () => {
  let hh: HttpHarness | null = null;
  afterEach(async () => {
    await hh?.cleanup();
    hh = null;
  });

  it('is read from the environment', () => {
    expect(loadConfig({ SYMPHAINY_SSE_HEARTBEAT_MS: '2500' }).http.sseHeartbeatMs).toBe(2500);
    expect(loadConfig({}).http.sseHeartbeatMs).toBe(15_000);
    expect(() => loadConfig({ SYMPHAINY_SSE_HEARTBEAT_MS: '5' })).toThrow();
  });

  it('paces the heartbeats of an idle stream', async () => {
    hh = await httpHarness({ sseHeartbeatMs: 50 });
    // An agent session waits for messages: its stream stays open and idle.
    const spawned = await hh.req('/v1/actors', { method: 'POST', body: JSON.stringify({ kind: 'agentSession', input: {} }) });
    const { id } = (await spawned.json()) as { id: string };
    await hh.h.runtime.waitFor(id, { tenantId: 'alpha', until: { tag: 'waiting' }, timeoutMs: 5000 });
    const res = await hh.app.request(`/v1/actors/${id}/stream`, { headers: { authorization: `Bearer ${KEY_A}` } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const started = Date.now();
    let text = '';
    while (Date.now() - started < 5000 && (text.match(/: heartbeat/g)?.length ?? 0) < 3) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(text.match(/: heartbeat/g)?.length ?? 0).toBeGreaterThanOrEqual(3);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
