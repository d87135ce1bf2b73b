/**
 * @module realms/content/profile/keys
 * Exact, disk-backed confirmation of candidate keys.
 *
 * A sketch cannot prove a key, and `add` cannot know the candidates before the end, so the
 * profiler spools while it parses: every column that can still be a key (no null yet, no
 * repeated value seen by its heavy-hitters table, HyperLogLog estimate ≥ 90% of its rows at
 * every check) appends the 64-bit hash of each value (8 bytes) to its own temporary file, and
 * stops as soon as one of those tests fails. Two-column candidates are planned once, after the
 * first {@link PREFIX_ROWS} rows: among null-free short columns that are not single keys on
 * that prefix and look like identifiers, integers or codes (no decimal point, no date, no
 * space; a coincidentally unique pair of amounts is not a key), the pairs unique on the
 * prefix (checked exactly, in memory, on 8,192 rows) and anchored on the highest-cardinality
 * columns are spooled (at most {@link MAX_PAIRS}). A column still unique at the prefix is
 * left out of pairs: should it fail as a single key later, its pairs are not found (the
 * price of deciding in one pass).
 *
 * Only identifier, integer, code and datetime columns are confirmed (a unique amount, date or
 * free-text value is a coincidence, not a key); a pair is skipped when a column of it is a
 * confirmed single key (keys are reported minimal).
 *
 * At `finish` the survivors are loaded into a temporary SQLite table keyed by the 64-bit hash
 * (`INTEGER PRIMARY KEY`), in sorted chunks of 512 Ki hashes (see {@link confirmUnique}); the
 * primary key refuses a repeat. Memory stays bounded (8 MiB of buffers, a 4 MiB page cache)
 * whatever the row count. A duplicate value always has a duplicate hash, so a confirmed key
 * is never wrong; a true key is rejected only if two different values collide on all 64
 * bits, probability ≈ n² / 2⁶⁵ (3·10⁻⁹ at 350,000 rows, 3·10⁻⁶ at 10⁷).
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** Rows after which two-column candidates are planned. */
export const PREFIX_ROWS = 8192;
/** Two-column candidates spooled at most. */
export const MAX_PAIRS = 3;
const SPOOL_PAIRS = 8192;

export interface Spool {
  readonly columns: readonly number[];
  readonly file: string;
  fd: number;
  buf: Int32Array;
  pos: number;
  rows: number;
  alive: boolean;
}

export interface SpoolDir {
  readonly dir: string;
  readonly spools: Spool[];
  closed: boolean;
}

export function createSpoolDir(parent: string | undefined): SpoolDir {
  const dir = mkdtempSync(join(parent ?? tmpdir(), 'symphainy-profile-'));
  return { dir, spools: [], closed: false };
}

export function openSpool(d: SpoolDir, columns: readonly number[]): Spool {
  const file = join(d.dir, `spool-${d.spools.length}.bin`);
  const sp: Spool = { columns, file, fd: openSync(file, 'w'), buf: new Int32Array(SPOOL_PAIRS * 2), pos: 0, rows: 0, alive: true };
  d.spools.push(sp);
  return sp;
}

function flush(sp: Spool): void {
  if (sp.pos === 0 || sp.fd < 0) return;
  writeSync(sp.fd, new Uint8Array(sp.buf.buffer, 0, sp.pos * 4));
  sp.pos = 0;
}

/** Appends one hashed value (two 32-bit words). */
export function spoolWrite(sp: Spool, a: number, b: number): void {
  const buf = sp.buf;
  buf[sp.pos++] = a;
  buf[sp.pos++] = b;
  sp.rows++;
  if (sp.pos === buf.length) flush(sp);
}

/** Stops spooling `sp` and frees its file. */
export function dropSpool(sp: Spool): void {
  if (!sp.alive) return;
  sp.alive = false;
  if (sp.fd >= 0) closeSync(sp.fd);
  sp.fd = -1;
  sp.buf = new Int32Array(0);
  sp.pos = 0;
  rmSync(sp.file, { force: true });
}

const INSERT_ROWS = 256;
/** Hashes sorted in memory at a time before they go to SQLite (4 MiB of keys). */
export const SORT_CHUNK_ROWS = 1 << 19;

/**
 * Confirms which spools hold no duplicate hash. Each spool is read in chunks of
 * {@link SORT_CHUNK_ROWS} 64-bit hashes; a chunk is sorted (a repeat inside it shows as two
 * equal neighbours) and inserted in that order into a temporary SQLite table whose
 * `INTEGER PRIMARY KEY` is the hash, so a repeat across chunks fails the insert. Sorted
 * inserts walk the B-tree in order: each chunk costs one sequential pass, not a random
 * page read per row. A spool stops at its first repeat. Returns the confirmed spools; every
 * spool's file is removed afterwards.
 */
export function confirmUnique(d: SpoolDir, candidates: Spool[]): Spool[] {
  const confirmed: Spool[] = [];
  if (candidates.length === 0) return confirmed;
  for (const sp of candidates) flush(sp);
  const db = new Database(join(d.dir, 'keys.sqlite'));
  const keys = new BigInt64Array(SORT_CHUNK_ROWS);
  const words = new Int32Array(keys.buffer);
  const raw = Buffer.alloc(SORT_CHUNK_ROWS * 8);
  const pairs = new Int32Array(raw.buffer, raw.byteOffset, SORT_CHUNK_ROWS * 2);
  const params: bigint[] = new Array<bigint>(INSERT_ROWS);
  try {
    // The rows are never kept: each check runs in a transaction that is rolled back (a memory
    // journal, since new pages past the end of the file need no journal entries).
    db.pragma('journal_mode = MEMORY');
    db.pragma('synchronous = OFF');
    db.pragma('temp_store = FILE');
    db.pragma('cache_size = -4096');
    for (const [i, sp] of candidates.entries()) {
      const table = `k${i}`;
      db.exec(`CREATE TABLE ${table} (h INTEGER PRIMARY KEY)`);
      const many = db.prepare(`INSERT INTO ${table} (h) VALUES ${Array.from({ length: INSERT_ROWS }, () => '(?)').join(',')}`);
      const one = db.prepare(`INSERT INTO ${table} (h) VALUES (?)`);
      if (sp.fd >= 0) closeSync(sp.fd);
      sp.fd = -1;
      const fd = openSync(sp.file, 'r');
      let unique = true;
      db.exec('BEGIN');
      try {
        for (;;) {
          const got = readFullChunk(fd, raw);
          const m = got >> 3;
          if (m === 0) break;
          // Little-endian 64-bit key: low word = second hash word, high word = first.
          for (let r = 0; r < m; r++) {
            words[2 * r] = pairs[2 * r + 1]!;
            words[2 * r + 1] = pairs[2 * r]!;
          }
          const view = keys.subarray(0, m);
          view.sort();
          for (let r = 1; r < m && unique; r++) if (view[r] === view[r - 1]) unique = false;
          if (!unique) break;
          let r = 0;
          try {
            for (; r + INSERT_ROWS <= m; r += INSERT_ROWS) {
              for (let k = 0; k < INSERT_ROWS; k++) params[k] = view[r + k]!;
              many.run(params);
            }
            for (; r < m; r++) one.run(view[r]!);
          } catch (e) {
            if ((e as { code?: unknown }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw e;
            unique = false;
            break;
          }
        }
      } finally {
        closeSync(fd);
        if (db.inTransaction) db.exec('ROLLBACK');
      }
      db.exec(`DROP TABLE IF EXISTS ${table}`);
      if (unique) confirmed.push(sp);
      rmSync(sp.file, { force: true });
    }
  } finally {
    db.close();
  }
  return confirmed;
}

/** Reads up to `buf.length` bytes (fewer only at end of file); returns the count. */
function readFullChunk(fd: number, buf: Buffer): number {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, null);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** Closes every spool and removes the directory. Safe to call twice. */
export function closeSpoolDir(d: SpoolDir): void {
  if (d.closed) return;
  d.closed = true;
  for (const sp of d.spools) {
    if (sp.fd >= 0) {
      try {
        closeSync(sp.fd);
      } catch {
        // Already closed by the exact check.
      }
      sp.fd = -1;
    }
  }
  rmSync(d.dir, { recursive: true, force: true });
}
