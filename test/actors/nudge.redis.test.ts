import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisNudger } from '../../src/persistence/redis/nudger.js';
import { silentLogger } from '../../src/logger.js';
import type { Nudger } from '../../src/actors/nudge.js';
import { requireServices, serviceUrl } from '../services/env.js';
import { harness, tenant, type Harness } from './helpers.js';

const redisUrl = serviceUrl('REDIS_URL');
const suite = redisUrl || requireServices() ? describe : describe.skip;

let h: Harness | undefined;
const nudgers: Nudger[] = [];
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
  for (const n of nudgers.splice(0)) await n.close();
});

suite('Redis nudges between processes', () => {
  it('needs REDIS_URL', () => {
    expect(redisUrl, 'REDIS_URL is required when SYMPHAINY_REQUIRE_SERVICES=1').toBeTruthy();
  });

  it('wakes the owner and the waiting process long before their polls would', async () => {
    const url = redisUrl ?? '';
    const channel = `test:${randomUUID()}`;
    const nudger = async () => {
      const n = await createRedisNudger(url, silentLogger(), channel);
      nudgers.push(n);
      return n;
    };
    // Polling every 10 s: only a nudge can answer within the 2 s the test waits.
    h = await harness({ pollMs: 10_000, nudger: await nudger(), ownerId: 'owner-a' });
    const b = await h.reopen({ pollMs: 10_000, nudger: await nudger(), ownerId: 'owner-b' });
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', {}, { tenantId: t });
    await h.runtime.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 2000 });
    const started = Date.now();
    const { view } = await b.send(id, { type: 'MESSAGE', text: 'hello' }, { tenantId: t, waitFor: 'applied', timeoutMs: 2000 });
    expect(view.tags).toContain('waiting');
    const ended = await b.send(id, { type: 'END' }, { tenantId: t, waitFor: 'done', timeoutMs: 2000 });
    expect(ended.view.status).toBe('done');
    expect(Date.now() - started).toBeLessThan(4000);
    const record = await h.stores.actors.get(t, id);
    expect(record?.ownerId).toBeNull();
    expect(record?.appliedSeq).toBe(2);
  });

  it('without nudges the same wait times out (the poll interval bounds it)', async () => {
    h = await harness({ pollMs: 10_000, ownerId: 'owner-a' });
    const b = await h.reopen({ pollMs: 10_000, ownerId: 'owner-b' });
    const t = tenant();
    const { id } = await h.runtime.spawn('agentSession', {}, { tenantId: t });
    await h.runtime.waitFor(id, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 2000 });
    await expect(b.send(id, { type: 'MESSAGE', text: 'hello' }, { tenantId: t, waitFor: 'applied', timeoutMs: 500 })).rejects.toMatchObject({ code: 'wait-timeout' });
  });
});
