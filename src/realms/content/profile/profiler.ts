/**
 * @module realms/content/profile/profiler
 * The incremental dataset profiler, fed in the same pass as parsing.
 *
 * @example
 * const profiler = createProfiler(source.columns, { datasetId });
 * try {
 *   for await (const batch of source.batches) profiler.add(batch);
 *   const { profile, samples } = await profiler.finish();
 * } finally {
 *   profiler.close();
 * }
 */
import type { RecordRow } from '../../../persistence/ports.js';
import { addValue, createColumnState, finishColumn, sampleOf, type ColumnState } from './column.js';
import { hllEstimate } from './hll.js';
import { mixPair } from './hash.js';
import {
  MAX_PAIRS,
  PREFIX_ROWS,
  closeSpoolDir,
  confirmUnique,
  createSpoolDir,
  dropSpool,
  openSpool,
  spoolWrite,
  type Spool,
  type SpoolDir,
} from './keys.js';
import type { ColumnSample, DatasetProfile } from './types.js';

export interface ProfilerOptions {
  /** Copied into the profile. @defaultValue `''` */
  datasetId?: string;
  /** Top values per column. @defaultValue 10 */
  topValues?: number;
  /** Shapes per column. @defaultValue 5 */
  patterns?: number;
  /** Parent directory of the temporary key-check files. @defaultValue `os.tmpdir()` */
  tmpDir?: string;
  /** Confirm candidate keys exactly (disk-backed). @defaultValue true */
  keyCheck?: boolean;
  /** Seed of the per-column value reservoirs. @defaultValue 1 */
  seed?: number;
  /** What the rows are: every row of the dataset, or a sample of it (`profile_dataset` on a sampled dataset). @defaultValue 'all' */
  basis?: 'all' | 'sample';
}

/** What {@link Profiler.finish} returns: the profile, and the value samples kept apart from it. */
export interface ProfileColumns {
  profile: DatasetProfile;
  /** ≤ 100 non-null raw values per column, by seeded reservoir; raw (unmasked) values. */
  samples: ColumnSample[];
}

export interface Profiler {
  /** Adds a batch of rows. Synchronous; values beyond `columns.length` are ignored. */
  add(rows: readonly RecordRow[]): void;
  /** Ends the input: confirms candidate keys and builds the profile. Call once. */
  finish(): Promise<ProfileColumns>;
  /** Frees temporary files; safe after `finish` and on error paths. */
  close(): void;
}

/** Rows between running HyperLogLog checks of single-column key candidates. */
const KEY_CHECK_EVERY = 16384;
/** A single key candidate must keep a distinct estimate ≥ this share of its rows. */
const KEY_MIN_RATIO = 0.9;
/** Types a single-column key may have: a unique amount, date or free text is a coincidence. */
const SINGLE_TYPES: ReadonlySet<string> = new Set(['identifier', 'integer', 'code', 'datetime']);
/** Types a two-column key component may have. */
const PAIR_TYPES: ReadonlySet<string> = new Set(['identifier', 'integer', 'code', 'datetime']);
/** Longest value of a two-column key component. */
const PAIR_MAX_LENGTH = 64;

/** Creates a profiler over `columns` (names in record order). */
export function createProfiler(columns: readonly string[], options: ProfilerOptions = {}): Profiler {
  const topValues = options.topValues ?? 10;
  const maxPatterns = options.patterns ?? 5;
  const keyCheck = options.keyCheck ?? true;
  const seed = options.seed ?? 1;
  const states: ColumnState[] = columns.map((name, i) => createColumnState(name, i, seed));
  const nc = states.length;
  let rowCount = 0;
  let finished = false;

  let spoolDir: SpoolDir | null = null;
  const singles: (Spool | null)[] = new Array<Spool | null>(nc).fill(null);
  const pairs: Spool[] = [];
  let pairsPlanned = !keyCheck;
  let nextCheck = KEY_CHECK_EVERY;
  // Hashes of the first rows, for planning two-column candidates; freed once planned.
  let pre1: Int32Array[] = keyCheck ? states.map(() => new Int32Array(PREFIX_ROWS)) : [];
  let pre2: Int32Array[] = keyCheck ? states.map(() => new Int32Array(PREFIX_ROWS)) : [];
  let b1: Int32Array[] = states.map(() => new Int32Array(0));
  let b2: Int32Array[] = states.map(() => new Int32Array(0));

  function ensureSpools(): void {
    if (spoolDir !== null) return;
    spoolDir = createSpoolDir(options.tmpDir);
    for (let j = 0; j < nc; j++) singles[j] = openSpool(spoolDir, [j]);
  }

  function singleViable(st: ColumnState): boolean {
    return st.nulls === 0 && !st.dup;
  }

  function dropSingle(j: number): void {
    const sp = singles[j];
    if (sp) dropSpool(sp);
    singles[j] = null;
  }

  function writePairRows(sp: Spool, h1a: Int32Array, h2a: Int32Array, h1b: Int32Array, h2b: Int32Array, from: number, to: number): void {
    for (let r = from; r < to; r++) spoolWrite(sp, mixPair(h1a[r]!, h1b[r]!), mixPair(h2a[r]!, h2b[r]!));
  }

  /** Chooses two-column candidates from the first `prefix` rows (see keys.ts). */
  function planPairs(prefix: number): void {
    pairsPlanned = true;
    if (spoolDir === null || prefix < 2) return;
    const distinct = new Map<number, number>();
    const eligible: number[] = [];
    for (let j = 0; j < nc; j++) {
      const st = states[j]!;
      // Components are short, null-free and not decimals, dates or free text (see keys.ts).
      const dateLike = st.aliveList.some((f) => st.dateMatch[f]! > 0);
      if (st.nulls > 0 || st.lenMax > PAIR_MAX_LENGTH || singles[j] !== null || st.decCount > 0 || dateLike || st.withSpaces > 0) continue;
      const seen = new Set<number>();
      for (let r = 0; r < prefix; r++) seen.add(pre1[j]![r]!);
      if (seen.size < 2) continue;
      distinct.set(j, seen.size);
      eligible.push(j);
    }
    eligible.sort((a, b) => distinct.get(b)! - distinct.get(a)! || a - b);
    const top = eligible.slice(0, 8);
    const candidates: [number, number][] = [];
    for (let x = 0; x < top.length; x++) for (let y = x + 1; y < top.length; y++) candidates.push([top[x]!, top[y]!]);
    candidates.sort((p, q) => {
      const dp = Math.max(distinct.get(p[0])!, distinct.get(p[1])!);
      const dq = Math.max(distinct.get(q[0])!, distinct.get(q[1])!);
      return dq - dp || distinct.get(q[0])! * distinct.get(q[1])! - distinct.get(p[0])! * distinct.get(p[1])! || p[0] - q[0] || p[1] - q[1];
    });
    for (const [a, b] of candidates) {
      if (pairs.length >= MAX_PAIRS) break;
      if (distinct.get(a)! * distinct.get(b)! < prefix) continue;
      const seen = new Set<number>();
      let unique = true;
      for (let r = 0; r < prefix && unique; r++) {
        const k = (mixPair(pre1[a]![r]!, pre1[b]![r]!) >>> 0) * 0x200000 + (mixPair(pre2[a]![r]!, pre2[b]![r]!) >>> 11);
        if (seen.has(k)) unique = false;
        else seen.add(k);
      }
      if (!unique) continue;
      // The spool keeps (a, b) in hashing order: mixPair is not symmetric.
      const sp = openSpool(spoolDir, [a, b]);
      writePairRows(sp, pre1[a]!, pre2[a]!, pre1[b]!, pre2[b]!, 0, prefix);
      pairs.push(sp);
    }
  }

  function runningKeyChecks(): void {
    for (let j = 0; j < nc; j++) {
      const st = states[j]!;
      if (singles[j] !== null && hllEstimate(st.hll) < KEY_MIN_RATIO * st.nonNull) dropSingle(j);
    }
  }

  function add(rows: readonly RecordRow[]): void {
    if (finished) throw new Error('profiler.add after finish');
    const m = rows.length;
    if (m === 0) return;
    if (keyCheck) ensureSpools();
    if (b1[0] !== undefined && b1[0].length < m) {
      b1 = states.map(() => new Int32Array(m));
      b2 = states.map(() => new Int32Array(m));
    }
    const base = rowCount;
    for (let j = 0; j < nc; j++) {
      const st = states[j]!;
      const h1 = b1[j]!;
      const h2 = b2[j]!;
      for (let r = 0; r < m; r++) {
        if (addValue(st, rows[r]!.values[j])) {
          h1[r] = st.h1;
          h2[r] = st.h2;
        }
      }
      if (!keyCheck) continue;
      if (base < PREFIX_ROWS) {
        const n = Math.min(m, PREFIX_ROWS - base);
        pre1[j]!.set(h1.subarray(0, n), base);
        pre2[j]!.set(h2.subarray(0, n), base);
      }
      const sp = singles[j];
      if (sp) {
        if (!singleViable(st)) dropSingle(j);
        else for (let r = 0; r < m; r++) spoolWrite(sp, h1[r]!, h2[r]!);
      }
    }
    rowCount += m;
    if (!keyCheck) return;
    if (pairsPlanned) {
      for (const sp of pairs) {
        if (!sp.alive) continue;
        const [a, b] = sp.columns as [number, number];
        if (states[a]!.nulls > 0 || states[b]!.nulls > 0) dropSpool(sp);
        else writePairRows(sp, b1[a]!, b2[a]!, b1[b]!, b2[b]!, 0, m);
      }
    } else if (rowCount >= PREFIX_ROWS) {
      planPairs(PREFIX_ROWS);
      // Rows of this batch past the prefix.
      const from = PREFIX_ROWS - base;
      for (const sp of pairs) {
        const [a, b] = sp.columns as [number, number];
        writePairRows(sp, b1[a]!, b2[a]!, b1[b]!, b2[b]!, from, m);
      }
      pre1 = [];
      pre2 = [];
    }
    if (rowCount >= nextCheck) {
      nextCheck = rowCount + KEY_CHECK_EVERY;
      runningKeyChecks();
    }
  }

  async function finish(): Promise<ProfileColumns> {
    if (finished) throw new Error('profiler.finish called twice');
    finished = true;
    const cols = states.map((st) => finishColumn(st, rowCount, { topValues, maxPatterns }));
    const candidateKeys: string[][] = [];
    if (keyCheck && spoolDir !== null && rowCount >= 2) {
      const dir: SpoolDir = spoolDir;
      for (let j = 0; j < nc; j++) {
        const st = states[j]!;
        const type = cols[j]!.inferredType;
        const excluded = !SINGLE_TYPES.has(type);
        if (singles[j] !== null && (!singleViable(st) || excluded || hllEstimate(st.hll) < KEY_MIN_RATIO * rowCount || st.nonNull !== rowCount)) dropSingle(j);
      }
      if (!pairsPlanned) planPairs(rowCount);
      const singleSpools = singles.filter((s): s is Spool => s !== null && s.alive);
      const confirmedSingles = confirmUnique(dir, singleSpools);
      const keyCols = new Set<number>();
      for (const sp of confirmedSingles) {
        keyCols.add(sp.columns[0]!);
        candidateKeys.push([states[sp.columns[0]!]!.name]);
      }
      const pairSpools = pairs.filter((sp) => {
        if (!sp.alive) return false;
        const [a, b] = sp.columns as [number, number];
        if (keyCols.has(a) || keyCols.has(b)) return false;
        if (!PAIR_TYPES.has(cols[a]!.inferredType) || !PAIR_TYPES.has(cols[b]!.inferredType)) return false;
        return cols[a]!.distinctEstimate * cols[b]!.distinctEstimate >= KEY_MIN_RATIO * rowCount;
      });
      for (const sp of confirmUnique(dir, pairSpools)) candidateKeys.push([...sp.columns].sort((x, y) => x - y).map((c) => states[c]!.name));
    }
    close();
    return {
      profile: { datasetId: options.datasetId ?? '', rowCount, basis: options.basis ?? 'all', candidateKeys, columns: cols },
      samples: states.map((st) => ({ name: st.name, values: sampleOf(st) })),
    };
  }

  function close(): void {
    if (spoolDir !== null) closeSpoolDir(spoolDir);
  }

  return { add, finish, close };
}
