import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRuntime, type Runtime } from '../../src/actors/index.js';
import { createIntentRegistry, type IntentDefinition } from '../../src/intents/index.js';
import { silentLogger } from '../../src/logger.js';
import { createSqliteStores } from '../../src/persistence/sqlite/index.js';
import type { Stores } from '../../src/persistence/ports.js';

// A long intent that counts to `n`, reporting progress per step and honouring CANCEL.
const counted: IntentDefinition<{ n: number; stepMs: number }> = {
  type: 'count_slowly',
  realm: 'content',
  mode: 'long',
  description: 'test intent',
  params: z.object({ n: z.number().int(), stepMs: z.number().int() }).strict(),
  async handler(ctx, params) {
    for (let i = 1; i <= params.n; i++) {
      await new Promise((r) => setTimeout(r, params.stepMs));
      if (ctx.signal.aborted) throw new Error('cancelled');
      ctx.progress('counting', i, params.n);
    }
    return [await ctx.emit('count', { n: params.n })];
  },
};

describe('long intents: progress and CANCEL', () => {
  let dir: string;
  let stores: Stores;
  let runtime: Runtime;
  afterEach(async () => {
    await runtime.close();
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(): Promise<void> {
    dir = mkdtempSync(join(tmpdir(), 'sym-progress-'));
    stores = createSqliteStores(dir);
    runtime = createRuntime({ stores, logger: silentLogger(), intents: createIntentRegistry([counted as IntentDefinition<never>]) });
    await runtime.start();
  }

  it('publishes progress in the actor view while running, and output once done', async () => {
    await start();
    const { id } = await runtime.spawn('execution', { intent: 'count_slowly', params: { n: 12, stepMs: 60 } }, { tenantId: 't1' });
    type Seen = { phase: string; done: number; total: number };
    let seen: Seen | undefined;
    for (let i = 0; i < 100 && !seen; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const v = await runtime.inspect(id, { tenantId: 't1' });
      if (v.progress) seen = v.progress as Seen;
    }
    expect(seen?.phase).toBe('counting');
    expect(seen?.total).toBe(12);
    expect(seen!.done).toBeGreaterThan(0);
    expect(seen!.done).toBeLessThanOrEqual(12);
    const done = await runtime.waitFor(id, { tenantId: 't1', until: 'done', timeoutMs: 10_000 });
    expect(done.status).toBe('done');
    expect(done.progress).toBeUndefined();
    expect((done.output as { artifacts: unknown[] }).artifacts).toHaveLength(1);
  });

  it('a client cannot send PROGRESS; CANCEL stops a running intent', async () => {
    await start();
    const { id } = await runtime.spawn('execution', { intent: 'count_slowly', params: { n: 200, stepMs: 20 } }, { tenantId: 't1' });
    await runtime.waitFor(id, { tenantId: 't1', until: { tag: 'data' }, timeoutMs: 5_000 });
    await expect(runtime.send(id, { type: 'PROGRESS', phase: 'x', done: 1, total: 1 }, { tenantId: 't1' })).rejects.toMatchObject({ code: 'params-invalid' });
    const res = await runtime.send(id, { type: 'CANCEL' }, { tenantId: 't1', waitFor: 'done', timeoutMs: 5_000 });
    expect(res.view.status).toBe('stopped');
    expect(await stores.artifacts.countByActor('t1', id)).toBe(0);
  });
});
