/**
 * SQLite only: the blob files on disk. A write refused or cut off must leave no file behind,
 * including the partial file of a source that fails before the file has finished opening.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createSqliteStores } from '../../src/persistence/sqlite/index.js';
import type { Stores } from '../../src/persistence/ports.js';

let dir: string;
let stores: Stores | null = null;
afterEach(async () => {
  await stores?.close();
  stores = null;
  await rm(dir, { recursive: true, force: true });
});

async function filesUnder(path: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) if (entry.isFile()) out.push(entry.name);
  return out;
}

it('leaves no partial file when the source is refused at its first chunk, before the file is open', async () => {
  dir = await mkdtemp(join(tmpdir(), 'symphainy-blobs-'));
  stores = createSqliteStores(dir);
  const tenantId = 'ten-blobs';
  const before = await filesUnder(dir);
  for (let i = 0; i < 50; i++) {
    async function* oversized(): AsyncIterable<Uint8Array> {
      yield new Uint8Array(200);
    }
    const meta = { id: `fil_${i}`, name: 'big.csv', mediaType: 'text/csv', maxBytes: 100, expiresAt: null };
    await expect(stores.blobs.write(tenantId, meta, oversized())).rejects.toMatchObject({ code: 'file-too-large' });
  }
  // Every write has settled: nothing of them may appear later either.
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect((await filesUnder(dir)).filter((f) => !before.includes(f))).toEqual([]);
});
