/**
 * Candidate keys: a sketch proposes, a disk-backed exact check (SQLite UNIQUE index over the
 * spooled 64-bit hashes) confirms.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RecordRow } from '../../../src/persistence/ports.js';
import { createProfiler } from '../../../src/realms/content/profile/index.js';
import { SORT_CHUNK_ROWS } from '../../../src/realms/content/profile/keys.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'profile-keys-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function keysOf(columns: string[], rows: RecordRow[], batch = 1000): Promise<string[][]> {
  const profiler = createProfiler(columns, { tmpDir: dir });
  try {
    for (let i = 0; i < rows.length; i += batch) profiler.add(rows.slice(i, i + batch));
    return (await profiler.finish()).profile.candidateKeys;
  } finally {
    profiler.close();
  }
}

describe('candidate keys', () => {
  it('rejects a column unique except for one duplicate in its last row', async () => {
    const n = 50_000;
    const rows: RecordRow[] = [];
    for (let i = 1; i <= n; i++) {
      rows.push({ row: i, values: [`C${String(i === n ? 17 : i).padStart(8, '0')}`, `K${String(i).padStart(8, '0')}`, String(i % 7)] });
    }
    const keys = await keysOf(['NEAR_ID', 'TRUE_ID', 'BUCKET'], rows);
    // The HyperLogLog estimate of NEAR_ID is indistinguishable from n: only the exact check can tell.
    expect(keys).toEqual([['TRUE_ID']]);
  });

  it('finds a two-column key when no single column is one', async () => {
    const rows: RecordRow[] = [];
    let r = 0;
    for (let p = 1; p <= 6000; p++) {
      for (let c = 1; c <= 1 + (p % 3); c++) {
        r++;
        rows.push({ row: r, values: [`POL${String(p).padStart(7, '0')}`, String(c), ['BASE', 'ADB', 'WP'][c - 1]!, String((p * 31 + c) % 997)] });
      }
    }
    const keys = await keysOf(['POL_NO', 'COV_SEQ', 'COV_TYPE', 'NOISE'], rows);
    expect(keys).toContainEqual(['POL_NO', 'COV_SEQ']);
    // Each reported key is really unique.
    for (const key of keys) {
      const idx = key.map((k) => ['POL_NO', 'COV_SEQ', 'COV_TYPE', 'NOISE'].indexOf(k));
      expect(new Set(rows.map((row) => idx.map((i) => row.values[i]).join('\u0000'))).size).toBe(rows.length);
    }
    expect(keys.some((k) => k.length === 1)).toBe(false);
  });

  it.each([false, true])('rejects a two-column candidate broken by a duplicate pair after the planning prefix (reversed: %s)', async (reversed) => {
    const rows: RecordRow[] = [];
    let r = 0;
    const put = (pol: string, seq: string): void => {
      rows.push({ row: ++r, values: reversed ? [seq, pol] : [pol, seq] });
    };
    for (let p = 1; p <= 6000; p++) for (let c = 1; c <= 2; c++) put(`POL${p}`, String(c));
    const columns = reversed ? ['COV_SEQ', 'POL_NO'] : ['POL_NO', 'COV_SEQ'];
    expect(await keysOf(columns, rows)).toEqual([columns]);
    put('POL1', '2');
    expect(await keysOf(columns, rows)).toEqual([]);
  });

  it('catches a duplicate across the sorted chunks of the SQLite check', async () => {
    const n = SORT_CHUNK_ROWS + 50_000;
    const rows: RecordRow[] = [];
    for (let i = 1; i <= n; i++) rows.push({ row: i, values: [`A${i === n ? 3 : i}`, `B${i}`] });
    expect(await keysOf(['LATE_DUP_ID', 'KEY_ID'], rows, 5000)).toEqual([['KEY_ID']]);
  }, 120_000);

  it('never confirms a column with a null, and leaves no temporary files', async () => {
    const rows: RecordRow[] = Array.from({ length: 3000 }, (_, i) => ({ row: i + 1, values: [i === 2999 ? '' : `ID${i}`, `X${i}`] }));
    expect(await keysOf(['ID', 'OTHER_ID'], rows)).toEqual([['OTHER_ID']]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('skips the check when keyCheck is false', async () => {
    const profiler = createProfiler(['ID'], { tmpDir: dir, keyCheck: false });
    profiler.add(Array.from({ length: 100 }, (_, i) => ({ row: i + 1, values: [`ID${i}`] })));
    expect((await profiler.finish()).profile.candidateKeys).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });
});
