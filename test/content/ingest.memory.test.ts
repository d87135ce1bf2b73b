/**
 * Memory is asserted, not time: a 1 GiB generated policy extract (parse + profile +
 * embeddings, `full` materialization) is ingested in a child process whose peak RSS must
 * stay under 300 MB. `SYMPHAINY_BIG_INGEST_BYTES` makes the file smaller for a quick local run.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/ingest-big.ts', import.meta.url));
const LIMIT_BYTES = 300 * 1024 * 1024;

describe('ingest memory', () => {
  it('ingests a 1 GiB extract with peak RSS under 300 MB', { timeout: 1_200_000 }, () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 1_150_000 });
    const result = JSON.parse(out.trim().split('\n').pop()!) as { bytes: number; rows: number; storedRows: number; maxRssBytes: number; embeddedColumns: number };
    const want = Number(process.env.SYMPHAINY_BIG_INGEST_BYTES ?? 1024 ** 3);
    expect(result.bytes).toBeGreaterThanOrEqual(want);
    expect(result.rows).toBeGreaterThan(want / 300);
    expect(result.storedRows).toBe(result.rows);
    expect(result.embeddedColumns).toBe(22);
    console.log(`ingest memory: ${(result.bytes / 1024 ** 2).toFixed(0)} MiB, ${result.rows} rows, peak RSS ${(result.maxRssBytes / 1024 ** 2).toFixed(0)} MB`);
    expect(result.maxRssBytes).toBeLessThan(LIMIT_BYTES);
  });
});
