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
   * (LangGraph), stored snapshot versions at `done` (Symphainy: the states it waited in, steps that
   * settle without I/O sharing one write).
   */
  readonly persistedStatesPerWorkflow: number;
  /** Rows inserted, updated or deleted per measured workflow (SQLite `total_changes()`), for context. */
  readonly rowsWrittenPerWorkflow: number;
  /** One pass per concurrency level: workflows from start to done. */
  readonly workflows: Pass[];
  /** Symphainy only: `send` with `waitFor`, one pass per concurrency level. */
  readonly send?: Pass[];
}

/** The same three systems on a MongoDB server (`MONGO_URL`). */
export type MongoSystemName = 'floor-mongo' | 'langgraph-mongo' | 'symphainy-mongo';

export interface MongoSystemResult {
  readonly system: MongoSystemName;
  readonly description: string;
  /** What answered at `MONGO_URL`, from `buildInfo` (FerretDB is named as such). */
  readonly server: string;
  /** The write concern the system's client used (`default` = the server's, w:1 on MongoDB). */
  readonly writeConcern: string;
  /** The database the system wrote to (fresh, dropped afterwards). */
  readonly dbName: string;
  /** As for SQLite: snapshots written (floor), checkpoints per thread, stored versions (Symphainy). */
  readonly persistedStatesPerWorkflow: number;
  /** Commands sent to the server per measured workflow (round trips; driver housekeeping excluded). */
  readonly commandsPerWorkflow: number;
  /** Documents in the system's database per workflow once the workflow passes ended (see `storedDocumentsPerWorkflow`). */
  readonly documentsPerWorkflow: number;
  /** Of which write commands (insert / update / delete / findAndModify). */
  readonly writesPerWorkflow: number;
  /** Commands per measured workflow by command name. */
  readonly commandMix: Record<string, number>;
  readonly workflows: Pass[];
  /** Symphainy only: `send` with `waitFor`, one pass per concurrency level. */
  readonly send?: Pass[];
  /** Symphainy only: commands per measured send. */
  readonly commandsPerSend?: number;
  /** Symphainy only: sends that failed (warm-up included), by error code. */
  readonly sendErrors?: Record<string, number>;
  /**
   * Symphainy only: the runtime's warnings and errors (e.g. "actor handed over: dropping the
   * local copy (version-conflict)"), during the execution passes, the send passes, and by message.
   */
  readonly runtimeWarnings?: { duringExecutions: number; duringSends: number; byMessage: Record<string, number> };
}
