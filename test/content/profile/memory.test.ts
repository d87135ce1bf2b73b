/**
 * Bounded memory: profiling 2,000,000 synthetic policy rows (20 columns, exact key check on
 * disk included) in a child process stays under a peak RSS bound that does not depend on the
 * row count. The child's baseline (Node + tsx) is about 80 MB.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const WORKER = fileURLToPath(new URL('./fixtures/profile-memory.ts', import.meta.url));
const ROWS = 2_000_000;
const MAX_RSS_BYTES = 200 * 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'profile-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Report {
  rows: number;
  rowsPerSec: number;
  rowsPerCpuSec: number;
  candidateKeys: string[][];
  maxRssBytes: number;
}

function run(rows: number): Promise<Report> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, String(rows), dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`worker exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim()) as Report);
    });
  });
}

describe('profiler memory', () => {
  it(`profiles ${ROWS.toLocaleString('en')} rows under ${MAX_RSS_BYTES / 1024 / 1024} MB peak RSS`, async () => {
    const report = await run(ROWS);
    expect(report.rows).toBe(ROWS);
    expect(report.candidateKeys).toEqual([['POL_NO']]);
    expect(report.maxRssBytes).toBeGreaterThan(0);
    expect(report.maxRssBytes).toBeLessThan(MAX_RSS_BYTES);
    // The key-check files are gone.
    expect(readdirSync(dir)).toEqual([]);
  }, 600_000);
});
