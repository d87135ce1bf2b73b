/**
 * @module bench/lib/measure
 * Small helpers shared by the benchmarks: a worker pool that runs N jobs with a fixed
 * concurrency, percentiles, temp dirs and the `synchronous` level read back from SQLite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type Database from 'better-sqlite3';

/** What one measured pass produced. */
export interface Pass {
  readonly concurrency: number;
  readonly n: number;
  readonly seconds: number;
  /** Completed jobs per second over the whole pass. */
  readonly perSecond: number;
  /** Per-job latency in milliseconds. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Jobs that failed, when the caller counts failures instead of failing the pass. */
  readonly failed?: number;
}

/**
 * Runs `job(i)` for i in [0, n) with `concurrency` jobs in flight at any time (each worker
 * starts its next job as soon as its previous one settles). A failing job fails the pass.
 */
export async function runPass(n: number, concurrency: number, job: (i: number) => Promise<void>): Promise<Pass> {
  const latencies = new Float64Array(n);
  let next = 0;
  async function worker(): Promise<void> {
    for (let i = next++; i < n; i = next++) {
      const t0 = performance.now();
      await job(i);
      latencies[i] = performance.now() - t0;
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  return {
    concurrency,
    n,
    seconds,
    perSecond: n / seconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
  };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** A fresh temp directory, removed by the returned `dispose`. */
export function tempDir(prefix: string): { dir: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), `symphainy-bench-${prefix}-`));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

const SYNCHRONOUS_NAMES = ['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const;

/** The connection's `synchronous` and `journal_mode`, read back with PRAGMA. */
export function readDurability(db: Database.Database): { synchronous: string; journalMode: string; walAutocheckpoint: number } {
  const level = Number(db.pragma('synchronous', { simple: true }));
  const journalMode = String(db.pragma('journal_mode', { simple: true })).toUpperCase();
  const walAutocheckpoint = Number(db.pragma('wal_autocheckpoint', { simple: true }));
  return { synchronous: SYNCHRONOUS_NAMES[level] ?? `unknown(${level})`, journalMode, walAutocheckpoint };
}

/** The SQLite settings every system in a comparison is given. */
export const SQLITE_SETTINGS = { journalMode: 'WAL', synchronous: 'NORMAL', walAutocheckpoint: 10_000 } as const;

/** Rows changed on this connection since it opened (`total_changes()`). */
export function totalChanges(db: Database.Database): number {
  return Number(db.prepare('SELECT total_changes()').pluck().get());
}

/**
 * Runs one warm-up and one measured pass per concurrency level, and counts the rows `db`
 * changed during the measured passes only.
 */
export async function measureLevels(
  db: Database.Database,
  options: { n: number; warmup: number; concurrency: readonly number[] },
  job: (name: string) => Promise<void>,
): Promise<{ passes: Pass[]; rowsWrittenPerWorkflow: number }> {
  let seq = 0;
  let rows = 0;
  const passes: Pass[] = [];
  for (const concurrency of options.concurrency) {
    await runPass(options.warmup, concurrency, () => job(`warm${seq++}`));
    const before = totalChanges(db);
    passes.push(await runPass(options.n, concurrency, () => job(`run${seq++}`)));
    rows += totalChanges(db) - before;
  }
  return { passes, rowsWrittenPerWorkflow: rows / (options.n * options.concurrency.length) };
}

/** A positive integer from the environment variable `name`, or `fallback` when unset. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}
