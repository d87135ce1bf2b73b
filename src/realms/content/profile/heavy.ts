/**
 * @module realms/content/profile/heavy
 * A bounded heavy-hitters table keyed by a 64-bit hash pair: Misra–Gries frequent items over
 * open addressing in typed arrays (no per-value allocation, no string hashing by the engine).
 *
 * Up to `capacity` distinct keys are counted exactly; when a new key arrives at a full table
 * every count is decremented by one and zero counts are evicted (the new key is dropped with
 * them). Each key is then undercounted by at most `n / (capacity + 1)`, and any key with a
 * true count above that bound is guaranteed to be present. While no decrement has happened
 * (`exact`), every count is exact: a column with ≤ `capacity` distinct values has exact top
 * values.
 *
 * A column of (nearly) unique values makes every decrement round evict everything. After
 * {@link FLAT_ROUNDS} such rounds in a row the table switches itself `off`: no value can be
 * frequent enough to be reported, and the column's hot path skips the table from then on.
 *
 * A representative value is kept per key from its second occurrence on; short strings
 * (< 13 UTF-16 units, which V8 never stores as slices of a larger string) are kept at once.
 * Longer ones are copied so that the table never pins a parser's input chunk in memory.
 */
import type { Cell } from './types.js';

/** Consecutive decrement rounds that evict every key after which the table turns off. */
export const FLAT_ROUNDS = 16;

export interface HeavyTable {
  readonly capacity: number;
  readonly mask: number;
  k1: Int32Array;
  k2: Int32Array;
  counts: Uint32Array;
  reps: Cell[];
  size: number;
  /** Number of decrement rounds so far (0 ⇒ every count is exact). */
  decrements: number;
  /** Rounds in a row that left the table empty. */
  flatRounds: number;
  /** Switched off (see {@link FLAT_ROUNDS}): nothing is counted, {@link heavyTop} is empty. */
  off: boolean;
  /** Slot touched by the last {@link heavyAdd} that kept its key. */
  lastSlot: number;
  spareK1: Int32Array;
  spareK2: Int32Array;
  spareCounts: Uint32Array;
  spareReps: Cell[];
}

export function createHeavyTable(capacity: number): HeavyTable {
  let slots = 16;
  while (slots < capacity * 2) slots <<= 1;
  return {
    capacity,
    mask: slots - 1,
    k1: new Int32Array(slots),
    k2: new Int32Array(slots),
    counts: new Uint32Array(slots),
    reps: new Array<Cell>(slots).fill(null),
    size: 0,
    decrements: 0,
    flatRounds: 0,
    off: false,
    lastSlot: 0,
    // Allocated at the first decrement round: a low-cardinality column never needs them.
    spareK1: new Int32Array(0),
    spareK2: new Int32Array(0),
    spareCounts: new Uint32Array(0),
    spareReps: [],
  };
}

/** A copy of `s` that does not share storage with the string it was sliced from. */
export function detach(s: string): string {
  if (s.length < 13) return s;
  return (s + ' ').slice(0, -1);
}

/**
 * Counts one occurrence. `rep` is the value, used only when a representative is stored.
 * Returns the key's count after this call (0 when the key was dropped by a decrement round).
 */
export function heavyAdd(t: HeavyTable, h1: number, h2: number, rep: Cell): number {
  if (t.off) return 0;
  const mask = t.mask;
  let i = (h1 ^ Math.imul(h2, 0x9e3779b1)) & mask;
  const counts = t.counts;
  for (;;) {
    const c = counts[i]!;
    if (c === 0) break;
    if (t.k1[i] === h1 && t.k2[i] === h2) {
      counts[i] = c + 1;
      t.lastSlot = i;
      if (t.reps[i] === null && rep !== null) t.reps[i] = typeof rep === 'string' ? detach(rep) : rep;
      return c + 1;
    }
    i = (i + 1) & mask;
  }
  if (t.size < t.capacity) {
    t.k1[i] = h1;
    t.k2[i] = h2;
    counts[i] = 1;
    t.lastSlot = i;
    t.reps[i] = typeof rep === 'string' ? (rep.length < 13 ? rep : null) : rep;
    t.size++;
    return 1;
  }
  decrementAll(t);
  return 0;
}

function decrementAll(t: HeavyTable): void {
  const slots = t.mask + 1;
  const k1 = t.k1;
  const k2 = t.k2;
  const counts = t.counts;
  const reps = t.reps;
  // Survivors move to the spare arrays (all zero counts, all null reps); the current arrays
  // are cleared on the way and become the next spare.
  if (t.spareK1.length !== slots) {
    t.spareK1 = new Int32Array(slots);
    t.spareK2 = new Int32Array(slots);
    t.spareCounts = new Uint32Array(slots);
    t.spareReps = new Array<Cell>(slots).fill(null);
  }
  const nk1 = t.spareK1;
  const nk2 = t.spareK2;
  const ncounts = t.spareCounts;
  const nreps = t.spareReps;
  t.size = 0;
  t.decrements++;
  for (let j = 0; j < slots; j++) {
    const c = counts[j]! - 1;
    const rep = reps[j]!;
    counts[j] = 0;
    reps[j] = null;
    if (c <= 0) continue;
    let i = (k1[j]! ^ Math.imul(k2[j]!, 0x9e3779b1)) & t.mask;
    while (ncounts[i] !== 0) i = (i + 1) & t.mask;
    nk1[i] = k1[j]!;
    nk2[i] = k2[j]!;
    ncounts[i] = c;
    nreps[i] = rep;
    t.size++;
  }
  t.flatRounds = t.size === 0 ? t.flatRounds + 1 : 0;
  if (t.flatRounds >= FLAT_ROUNDS) t.off = true;
  t.spareK1 = k1;
  t.spareK2 = k2;
  t.spareCounts = counts;
  t.spareReps = reps;
  t.k1 = nk1;
  t.k2 = nk2;
  t.counts = ncounts;
  t.reps = nreps;
}

/** Entries with a representative and a count ≥ `minCount`, by count desc then value asc. */
export function heavyTop(t: HeavyTable, limit: number, minCount: number): { value: Cell; count: number }[] {
  const out: { value: Cell; count: number }[] = [];
  if (t.off) return out;
  for (let i = 0; i <= t.mask; i++) {
    const c = t.counts[i]!;
    const rep = t.reps[i];
    if (c >= minCount && c > 0 && rep !== null && rep !== undefined) out.push({ value: rep, count: c });
  }
  out.sort((a, b) => b.count - a.count || compareCells(a.value, b.value));
  return out.slice(0, limit);
}

export function compareCells(a: Cell, b: Cell): number {
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}
