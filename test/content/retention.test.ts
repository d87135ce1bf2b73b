/**
 * The retention sweeper deletes uploads past their contract's retention and keeps the rest.
 */
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { startRetentionSweeper } from '../../src/realms/content/retention.js';
import { harness, tenant, type Harness } from '../actors/helpers.js';

describe('retention sweeper', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it('deletes every expired upload in batches, and nothing else', async () => {
    const t = tenant();
    const now = Date.parse('2030-01-10T00:00:00.000Z');
    const put = (expiresAt: string | null) =>
      h.stores.blobs.write(t, { id: newId('fil'), name: 'a.csv', mediaType: 'text/csv', maxBytes: 10, expiresAt }, Readable.from([Buffer.from('x')]));
    const expired = await Promise.all(Array.from({ length: 7 }, (_, i) => put(`2030-01-0${i + 1}T00:00:00.000Z`)));
    const future = await put('2030-02-01T00:00:00.000Z');
    const kept = await put(null);
    const sweeper = startRetentionSweeper(h.stores.blobs, { now: () => now, batch: 3, everyMs: 3_600_000 });
    try {
      expect(await sweeper.sweep()).toBe(7);
      for (const f of expired) expect(await h.stores.blobs.info(t, f.id)).toBeNull();
      expect(await h.stores.blobs.info(t, future.id)).not.toBeNull();
      expect(await h.stores.blobs.info(t, kept.id)).not.toBeNull();
      expect(await sweeper.sweep()).toBe(0);
    } finally {
      sweeper.stop();
    }
  });
});
