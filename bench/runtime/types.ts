/**
 * @module bench/runtime/types
 * What each system of the runtime benchmark reports back to the orchestrator.
 */
import type { Pass } from '../lib/measure.js';

export type SystemName = 'symphainy' | 'langgraph' | 'floor';

export interface SystemOptions {
  /** Measured workflows per pass. */
  readonly n: number;
  /** Unmeasured workflows run first (per concurrency level). */
  readonly warmup: number;
  /** Concurrency levels, measured one after the other. */
  readonly concurrency: readonly number[];
}

export interface SystemResult {
  readonly system: SystemName;
  readonly description: string;
  /** Read back with `PRAGMA synchronous` / `PRAGMA journal_mode` on the connection that wrote. */
  readonly synchronous: string;
  /** `PRAGMA wal_autocheckpoint` read back (pages). */
  readonly walAutocheckpoint: number;
  readonly journalMode: string;
  /**
   * Durable states per workflow: snapshots written (floor), checkpoints per thread
   * (LangGraph), stored snapshot version at `done` (Symphainy). Shows each persists every step.
   */
  readonly persistedStatesPerWorkflow: number;
  /** Rows inserted, updated or deleted per measured workflow (SQLite `total_changes()`), for context. */
  readonly rowsWrittenPerWorkflow: number;
  /** One pass per concurrency level: workflows from start to done. */
  readonly workflows: Pass[];
  /** Symphainy only: `send` with `waitFor`, one pass per concurrency level. */
  readonly send?: Pass[];
}
