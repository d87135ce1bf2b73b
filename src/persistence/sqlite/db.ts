/**
 * @module persistence/sqlite/db
 * Opens the embedded database: WAL (several readers, one writer, several processes on one
 * file), a busy timeout so a second process waits instead of failing, and the schema.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS actors (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  final INTEGER NOT NULL,
  value TEXT,
  tags TEXT NOT NULL,
  machine_id TEXT NOT NULL,
  machine_version INTEGER NOT NULL,
  snapshot TEXT,
  input TEXT,
  contract_id TEXT,
  output TEXT,
  error TEXT,
  timers TEXT NOT NULL,
  version INTEGER NOT NULL,
  applied_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  owner_id TEXT,
  lease_until INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS actors_tenant_created ON actors (tenant_id, created_at, id);
-- Live actors only (final ones leave it): serves claims (no owner, or a lapsed lease) and an
-- owner's own actors; one index, so a spawn or a final commit touches one entry, not two.
DROP INDEX IF EXISTS actors_claim;
DROP INDEX IF EXISTS actors_owner;
CREATE INDEX IF NOT EXISTS actors_live ON actors (owner_id, lease_until) WHERE final = 0;
CREATE TABLE IF NOT EXISTS mailbox (
  actor_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  tenant_id TEXT NOT NULL,
  event TEXT NOT NULL,
  accepted_at TEXT NOT NULL,
  outcome TEXT NOT NULL,
  error TEXT,
  PRIMARY KEY (actor_id, seq)
) WITHOUT ROWID;
-- Snapshot history per actor (ports.ts, HistoryEntry): written by the actor store's triggers.
CREATE TABLE IF NOT EXISTS actor_history (
  actor_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  tenant_id TEXT NOT NULL,
  at TEXT NOT NULL,
  view TEXT NOT NULL,
  PRIMARY KEY (actor_id, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency (
  tenant_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  result TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, scope, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency (expires_at);
CREATE TABLE IF NOT EXISTS artifacts (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  solution_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS artifacts_tenant ON artifacts (tenant_id, created_at, id);
CREATE INDEX IF NOT EXISTS artifacts_actor ON artifacts (tenant_id, actor_id);
CREATE TABLE IF NOT EXISTS record_chunks (
  tenant_id TEXT NOT NULL,
  dataset_id TEXT NOT NULL,
  chunk_no INTEGER NOT NULL,
  first_row INTEGER NOT NULL,
  last_row INTEGER NOT NULL,
  records TEXT NOT NULL,
  PRIMARY KEY (tenant_id, dataset_id, chunk_no)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  name TEXT NOT NULL,
  media_type TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  path TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT
);
CREATE TABLE IF NOT EXISTS tenant_secrets (
  tenant_id TEXT PRIMARY KEY,
  secret BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contracts (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  issued_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS contracts_tenant_created ON contracts (tenant_id, created_at, id);
DROP INDEX IF EXISTS contracts_tenant;
`;

export interface OpenOptions {
  /** `NORMAL` (default) is durable against process crashes under WAL; `FULL` also against power loss. */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a writer waits for another process's write lock, in milliseconds. @defaultValue 5000 */
  busyTimeoutMs?: number;
  /**
   * WAL pages after which a commit checkpoints the log into the database file. Every commit
   * rewrites a few hot pages (actor rows, index leaves); a larger interval copies each hot page
   * once per checkpoint instead of once per 1,000 pages, and takes checkpoint pauses off most
   * commits. The log is truncated back at each checkpoint. @defaultValue 10000 (about 40 MB)
   */
  walAutocheckpointPages?: number;
}

/** The WAL checkpoint interval the store uses (benchmarks give baselines the same). */
export const DEFAULT_WAL_AUTOCHECKPOINT_PAGES = 10_000;

export function openDb(file: string, options: OpenOptions = {}): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma(`wal_autocheckpoint = ${options.walAutocheckpointPages ?? DEFAULT_WAL_AUTOCHECKPOINT_PAGES}`);
  db.pragma('journal_size_limit = 67108864');
  db.exec(SCHEMA);
  migrate(db);
  return db;
}

/** Brings a store made by an earlier version up to the schema above. */
function migrate(db: Db): void {
  const blobColumns = db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('blobs')`).all();
  if (!blobColumns.some((c) => c.name === 'expires_at')) {
    immediate(db, () => {
      // Another process may have added it since the check above.
      const again = db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('blobs')`).all();
      if (!again.some((c) => c.name === 'expires_at')) db.exec('ALTER TABLE blobs ADD COLUMN expires_at TEXT');
    });
  }
  db.exec('CREATE INDEX IF NOT EXISTS blobs_expiry ON blobs (expires_at) WHERE expires_at IS NOT NULL');
}

/** Runs `fn` in a `BEGIN IMMEDIATE` transaction: the write lock is taken before any read. */
export function immediate<T>(db: Db, fn: () => T): T {
  return runnerOf(db).immediate(fn) as T;
}

/**
 * Runs `fn` atomically: in a savepoint inside the current transaction, else in its own
 * `BEGIN IMMEDIATE` transaction.
 */
export function atomically<T>(db: Db, fn: () => T): T {
  return (db.inTransaction ? runnerOf(db)(fn) : runnerOf(db).immediate(fn)) as T;
}

type Runner = ReturnType<Db['transaction']>;
const runners = new WeakMap<Db, Runner>();

/** One transaction wrapper per connection, reused: better-sqlite3 builds one per `transaction()` call. */
function runnerOf(db: Db): Runner {
  let runner = runners.get(db);
  if (!runner) {
    runner = db.transaction((fn: () => unknown) => fn());
    runners.set(db, runner);
  }
  return runner;
}

/**
 * Group commit: writes requested in the same run of the microtask queue go to SQLite in one
 * `BEGIN IMMEDIATE` transaction, each inside its own savepoint, so a write that throws is
 * undone alone and fails alone. A write's promise settles only after the whole transaction
 * committed, so nothing is acknowledged before it is durable. Several concurrent actors then
 * share one commit (and, on a file shared by processes, one lock acquisition).
 */
export interface WriteBatcher {
  /**
   * Queues `fn` for the next group commit. `single`: `fn` runs exactly one writing statement
   * (and only reads after it), so when it is alone in its turn SQLite's own statement
   * transaction suffices and the `BEGIN IMMEDIATE … COMMIT` round is skipped.
   */
  write<T>(fn: () => T, options?: { single?: boolean }): Promise<T>;
}

interface PendingWrite {
  fn: () => unknown;
  single: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export function createWriteBatcher(db: Db): WriteBatcher {
  let queue: PendingWrite[] = [];
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    const batch = queue;
    queue = [];
    const only = batch.length === 1 ? batch[0] : undefined;
    if (only) {
      // Alone in its turn: its own transaction is its savepoint.
      try {
        only.resolve(only.single ? only.fn() : immediate(db, only.fn));
      } catch (error) {
        only.reject(error);
      }
      return;
    }
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      immediate(db, () => {
        const savepoint = runnerOf(db);
        for (const w of batch) {
          try {
            outcomes.push({ ok: true, value: savepoint(w.fn) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => {
      const o = outcomes[i];
      if (o?.ok) w.resolve(o.value);
      else w.reject(o?.error);
    });
  }

  return {
    write<T>(fn: () => T, options: { single?: boolean } = {}): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, single: options.single === true, resolve: resolve as (value: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          queueMicrotask(flush);
        }
      });
    },
  };
}
