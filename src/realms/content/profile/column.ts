/**
 * @module realms/content/profile/column
 * One column's running statistics and the single character scan that feeds them.
 *
 * Per non-null value the scan makes one pass over its characters: it trims, hashes (two
 * 32-bit words), counts character classes, hashes the value's shape, and accumulates the
 * digits as a number. Everything else (type candidates, PII shapes, date formats still alive,
 * min/max, sketches) is decided from those counts with a few integer compares. A column whose
 * values repeat (codes, states, names) keeps a memo of up to 256 analysed values and replays
 * the counts of a repeat without scanning it again; a column that does not repeat turns the
 * memo off after a trial. Memory per column is fixed: a 16 KiB HyperLogLog, a heavy-hitters
 * table, a shape table, the memo, a 100-value reservoir and a few dozen numbers.
 *
 * Nulls: `null`, `undefined` (a short row), `''` and whitespace-only strings. Values are
 * compared, hashed and measured trimmed of leading and trailing whitespace (fixed-width
 * legacy extracts pad); only type-specific checks look inside.
 */
import { ALL_FORMATS, DATE_FORMATS, NO_MATCH, SENTINEL, keyToIso } from './dates.js';
import { FNV_PRIME, H1_SEED, H2_SEED, M2_PRIME, fmix32 } from './hash.js';
import { createHeavyTable, detach, heavyAdd, heavyTop, type HeavyTable } from './heavy.js';
import { createHll, hllAdd, hllEstimate, type HyperLogLog } from './hll.js';
import { detectPii, type PiiCounts } from './pii.js';
import { splitName } from '../embeddings/tokens.js';
import type { Cell, ColumnProfile, InferredType } from './types.js';

/** Shapes are computed over the first 32 characters; longer values end with `…`. */
export const SHAPE_MAX = 32;
/** Values longer than this are not tracked as top values (free text). */
export const TOP_VALUE_MAX_LENGTH = 200;
/** Reservoir size of the per-column value sample. */
export const SAMPLE_SIZE = 100;
const HEAVY_CAPACITY = 1024;
const SHAPE_CAPACITY = 128;
const NF = DATE_FORMATS.length;

/** The PII shape counts ({@link PiiCounts}) are part of the state. */
export interface ColumnState extends PiiCounts {
  readonly name: string;
  readonly index: number;
  nonNull: number;
  nulls: number;
  lenMin: number;
  lenMax: number;
  lenSum: number;
  intCount: number;
  decCount: number;
  leadZero: number;
  signed: number;
  maxFrac: number;
  boolWord: number;
  bit: number;
  withDigits: number;
  withSpaces: number;
  numMin: number;
  numMax: number;
  numMinRaw: string | null;
  numMaxRaw: string | null;
  /** Whole-number min/max of all-digit values (implied decimals). */
  intMin: number;
  intMax: number;
  strMin: string | null;
  strMax: string | null;
  dateAlive: number;
  /** Indices of the formats in `dateAlive`. */
  aliveList: number[];
  dateZero: number;
  dateMatch: Float64Array;
  dateMiss: Float64Array;
  dateSent: Float64Array;
  dateMin: Float64Array;
  dateMax: Float64Array;
  /** Bit per datetime format: a value with a non-midnight time was seen. */
  timeSeen: number;
  hll: HyperLogLog;
  heavy: HeavyTable;
  shapes: HeavyTable;
  sample: Cell[];
  rng: number;
  /** Recently analysed values of a column that repeats (codes, names); null once it does not. */
  memo: Map<string, Memo> | null;
  memoLookups: number;
  memoHits: number;
  /** A value was seen twice (exactly, by its 64-bit hash in the heavy-hitters table). */
  dup: boolean;
  /** Hash of the last non-null value added (read by the key spool). */
  h1: number;
  h2: number;
}

export function createColumnState(name: string, index: number, seed: number): ColumnState {
  return {
    name,
    index,
    nonNull: 0,
    nulls: 0,
    lenMin: Infinity,
    lenMax: 0,
    lenSum: 0,
    intCount: 0,
    decCount: 0,
    leadZero: 0,
    signed: 0,
    maxFrac: 0,
    boolWord: 0,
    bit: 0,
    emailLike: 0,
    ssnLike: 0,
    ssnDashed: 0,
    phoneLike: 0,
    phoneFormatted: 0,
    nameLike: 0,
    addressLike: 0,
    withLetters: 0,
    withDigits: 0,
    withSpaces: 0,
    numMin: Infinity,
    numMax: -Infinity,
    numMinRaw: null,
    numMaxRaw: null,
    intMin: Infinity,
    intMax: -Infinity,
    strMin: null,
    strMax: null,
    dateAlive: ALL_FORMATS,
    aliveList: DATE_FORMATS.map((_, f) => f),
    dateZero: 0,
    dateMatch: new Float64Array(NF),
    dateMiss: new Float64Array(NF),
    dateSent: new Float64Array(NF),
    dateMin: new Float64Array(NF).fill(Infinity),
    dateMax: new Float64Array(NF).fill(-Infinity),
    timeSeen: 0,
    hll: createHll(),
    heavy: createHeavyTable(HEAVY_CAPACITY),
    shapes: createHeavyTable(SHAPE_CAPACITY),
    sample: [],
    rng: fmix32((seed ^ Math.imul(index + 1, 0x9e3779b1)) | 1) | 1,
    memo: new Map(),
    memoLookups: 0,
    memoHits: 0,
    dup: false,
    h1: 0,
    h2: 0,
  };
}

/** Whether `s[i..]` (case-insensitive) begins with the upper-case ASCII word `w`. */
function startsWithUpper(v: string, i: number, e: number, w: string): boolean {
  if (e - i < w.length) return false;
  for (let k = 0; k < w.length; k++) if ((v.charCodeAt(i + k) & 0xdf) !== w.charCodeAt(k)) return false;
  return true;
}

function isBoolWord(v: string, s: number, len: number): boolean {
  const a = v.charCodeAt(s) & 0xdf;
  switch (len) {
    case 1:
      return a === 89 || a === 78 || a === 84 || a === 70; // Y N T F
    case 2:
      return a === 78 && (v.charCodeAt(s + 1) & 0xdf) === 79; // NO
    case 3:
      return a === 89 && startsWithUpper(v, s, s + 3, 'YES');
    case 4:
      return a === 84 && startsWithUpper(v, s, s + 4, 'TRUE');
    case 5:
      return a === 70 && startsWithUpper(v, s, s + 5, 'FALSE');
    default:
      return false;
  }
}

/** The shape of `v[s, e)`: letter → A, digit → 9, anything else kept; `…` past {@link SHAPE_MAX}. */
export function shapeOf(v: string, s: number, e: number): string {
  let out = '';
  const stop = Math.min(e, s + SHAPE_MAX);
  for (let i = s; i < stop; i++) {
    const c = v.charCodeAt(i);
    if (c >= 48 && c <= 57) out += '9';
    else if (((c | 32) >= 97 && (c | 32) <= 122) || (c >= 0xc0 && c <= 0x24f && c !== 0xd7 && c !== 0xf7)) out += 'A';
    else out += v[i];
  }
  return e > stop ? `${out}…` : out;
}

/** A uniform integer in [0, bound) from the column's xorshift32 stream (bound < 2^32). */
function nextBelow(st: ColumnState, bound: number): number {
  let x = st.rng;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  st.rng = x;
  return Math.floor((x >>> 0) * 2.3283064365386963e-10 * bound);
}

/**
 * Adds one value. Returns false for a null (nothing else recorded but the null count);
 * otherwise the value's hash is left in `st.h1`/`st.h2`.
 */
export function addValue(st: ColumnState, raw: Cell | undefined): boolean {
  if (raw === null || raw === undefined) {
    st.nulls++;
    return false;
  }
  const v = typeof raw === 'string' ? raw : String(raw);
  const n = v.length;
  let s = 0;
  let e = n;
  while (s < e && v.charCodeAt(s) <= 32) s++;
  while (e > s && v.charCodeAt(e - 1) <= 32) e--;
  if (s === e) {
    st.nulls++;
    return false;
  }
  const len = e - s;
  const memo = st.memo;
  if (memo !== null && typeof raw === 'string') {
    const m = memo.get(v);
    if (m !== undefined) st.memoHits++;
    if (++st.memoLookups === MEMO_TRIAL) {
      // Judged per window of lookups: a column that stops repeating stops memoising.
      if (st.memoHits < MEMO_TRIAL / 2) st.memo = null;
      st.memoLookups = 0;
      st.memoHits = 0;
    }
    if (m !== undefined) {
      replay(st, m);
      return true;
    }
  }
  st.nonNull++;
  if (len < st.lenMin) st.lenMin = len;
  if (len > st.lenMax) st.lenMax = len;
  st.lenSum += len;

  let h1 = H1_SEED;
  let h2 = H2_SEED;
  let sh = H1_SEED;
  let digits = 0;
  let letters = 0;
  let spaces = 0;
  let dots = 0;
  let dashes = 0;
  let phoneP = 0;
  let punct = 0;
  let nameP = 0;
  let ats = 0;
  let atPos = -1;
  let lastDot = -1;
  let num = 0;
  const shapeEnd = s + SHAPE_MAX;
  for (let i = s; i < e; i++) {
    const c = v.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, FNV_PRIME);
    h2 = Math.imul(h2 ^ c, M2_PRIME);
    h2 ^= h2 >>> 15;
    let k = c;
    if (c >= 48 && c <= 57) {
      digits++;
      num = num * 10 + (c - 48);
      k = 57;
    } else if ((c | 32) >= 97 && (c | 32) <= 122) {
      letters++;
      k = 65;
    } else {
      switch (c) {
        case 32:
          spaces++;
          break;
        case 46:
          dots++;
          lastDot = i;
          break;
        case 45:
          dashes++;
          break;
        case 40:
        case 41:
        case 43:
          phoneP++;
          break;
        case 39:
        case 44:
          nameP++;
          break;
        case 64:
          ats++;
          atPos = i;
          break;
        default:
          if (c >= 0xc0 && c <= 0x24f && c !== 0xd7 && c !== 0xf7) {
            letters++;
            k = 65;
          } else punct++;
      }
    }
    if (i < shapeEnd) sh = Math.imul(sh ^ k, FNV_PRIME);
  }
  h1 = fmix32(h1 ^ len);
  h2 = fmix32(h2 ^ Math.imul(len, 0x27d4eb2f));
  st.h1 = h1;
  st.h2 = h2;
  hllAdd(st.hll, h1, h2);

  const trimmed = s === 0 && e === n ? v : v.slice(s, e);
  if (len <= TOP_VALUE_MAX_LENGTH && heavyAdd(st.heavy, h1, h2, typeof raw === 'string' ? trimmed : raw) > 1) st.dup = true;
  const shapeLen = len > SHAPE_MAX ? SHAPE_MAX + 1 : len;
  const sc = heavyAdd(st.shapes, sh, shapeLen, null);
  if (sc > 0 && st.shapes.reps[st.shapes.lastSlot] === null && (sc >= 2 || len <= 16)) {
    st.shapes.reps[st.shapes.lastSlot] = shapeOf(v, s, e);
  }

  let flags = 0;
  if (letters > 0) flags |= F_LETTERS;
  if (digits > 0) flags |= F_DIGITS;
  if (spaces > 0) flags |= F_SPACES;

  const c0 = v.charCodeAt(s);
  const sign = c0 === 45 || c0 === 43 ? 1 : 0;
  if (digits + sign === len && digits > 0) {
    flags |= F_INT;
    if (sign) flags |= F_SIGNED;
    else if (c0 === 48 && len > 1) flags |= F_LEADZERO;
    if (digits <= 15) {
      const x = c0 === 45 ? -num : num;
      if (x < st.numMin) {
        st.numMin = x;
        st.numMinRaw = trimmed;
      }
      if (x > st.numMax) {
        st.numMax = x;
        st.numMaxRaw = trimmed;
      }
      if (x < st.intMin) st.intMin = x;
      if (x > st.intMax) st.intMax = x;
    }
    if (len === 1 && (c0 === 48 || c0 === 49)) flags |= F_BIT;
  } else if (dots === 1 && digits + sign + 1 === len && digits > 0) {
    flags |= F_DEC;
    const frac = e - 1 - lastDot;
    if (frac > st.maxFrac) st.maxFrac = frac;
    if (sign) flags |= F_SIGNED;
    if (digits <= 15) {
      let p = 1;
      for (let q = 0; q < frac; q++) p *= 10;
      const x = (c0 === 45 ? -num : num) / p;
      if (x < st.numMin) {
        st.numMin = x;
        st.numMinRaw = trimmed;
      }
      if (x > st.numMax) {
        st.numMax = x;
        st.numMaxRaw = trimmed;
      }
    }
  } else if (letters === len && len <= 5 && isBoolWord(v, s, len)) {
    flags |= F_BOOL;
  }
  if (typeof raw === 'boolean') flags |= F_BOOL;

  if (st.strMin === null || trimmed < st.strMin) st.strMin = trimmed;
  if (st.strMax === null || trimmed > st.strMax) st.strMax = trimmed;

  // PII shapes.
  if (ats === 1 && spaces === 0 && atPos > s && lastDot > atPos + 1 && lastDot < e - 1) flags |= F_EMAIL;
  if (digits === 9 && (len === 9 || (len === 11 && dashes === 2 && v.charCodeAt(s + 3) === 45 && v.charCodeAt(s + 6) === 45))) {
    flags |= len === 11 ? F_SSN | F_SSN_DASHED : F_SSN;
  }
  if (letters === 0 && ats === 0 && punct === 0 && nameP === 0 && digits >= 10 && digits <= 15 && digits + spaces + dashes + dots + phoneP === len) {
    flags |= dashes + spaces + phoneP > 0 || dots >= 2 ? F_PHONE | F_PHONE_FORMATTED : F_PHONE;
  }
  if (digits === 0 && letters >= 2 && punct === 0 && ats === 0 && phoneP === 0 && letters * 2 >= len) flags |= F_NAME;
  if (spaces >= 1 && letters >= 3 && ((c0 >= 48 && c0 <= 57) || startsWithUpper(v, s, e, 'PO BOX') || startsWithUpper(v, s, e, 'P.O. BOX'))) {
    flags |= F_ADDRESS;
  }

  // Date formats still alive: the key of each, then counted.
  let keys: Float64Array | null = null;
  if (st.dateAlive !== 0) {
    if (digits >= 6 && (num === 0 || (digits <= 15 && num === NINES[digits]))) {
      flags |= F_DATE_ZERO;
    } else {
      const shaped = digits >= 4 && len >= 6 && len <= 35;
      keys = dateScratch;
      const list = st.aliveList;
      for (let x = 0; x < list.length; x++) {
        const f = list[x]!;
        keys[f] = shaped ? DATE_FORMATS[f]!.parse(v, s, e) : NO_MATCH;
      }
    }
  }
  applyFlags(st, flags, keys);

  if (st.memo !== null && typeof raw === 'string' && st.memo.size < MEMO_MAX && len <= TOP_VALUE_MAX_LENGTH) {
    st.memo.set(detach(v), { h1, h2, sh, shapeLen, len, flags, keys: keys === null ? null : keys.slice(), rep: detach(trimmed) });
  }

  sampleValue(st, typeof raw === 'string' ? trimmed : raw, typeof raw === 'string');
  return true;
}

/** What a repeated value re-applies: everything but the scan, the parse and min/max. */
interface Memo {
  h1: number;
  h2: number;
  sh: number;
  shapeLen: number;
  len: number;
  flags: number;
  keys: Float64Array | null;
  /** The trimmed value. */
  rep: string;
}

/** Distinct values memoised per column. */
const MEMO_MAX = 256;
/**
 * Window of lookups: a column whose values repeated less than half the time in the last
 * window stops memoising (identifiers, amounts): the lookup would cost more than it saves.
 */
const MEMO_TRIAL = 2048;

const F_INT = 1;
const F_DEC = 2;
const F_LEADZERO = 4;
const F_SIGNED = 8;
const F_BOOL = 16;
const F_BIT = 32;
const F_EMAIL = 64;
const F_SSN = 128;
const F_SSN_DASHED = 256;
const F_PHONE = 512;
const F_PHONE_FORMATTED = 1024;
const F_NAME = 2048;
const F_ADDRESS = 4096;
const F_LETTERS = 8192;
const F_DIGITS = 16384;
const F_SPACES = 32768;
const F_DATE_ZERO = 65536;

const dateScratch = new Float64Array(NF);

/** Counts one value's class flags and date-format keys (one key per alive format). */
function applyFlags(st: ColumnState, flags: number, keys: Float64Array | null): void {
  if (flags & F_LETTERS) st.withLetters++;
  if (flags & F_DIGITS) st.withDigits++;
  if (flags & F_SPACES) st.withSpaces++;
  if (flags & (F_INT | F_DEC)) {
    if (flags & F_INT) st.intCount++;
    else st.decCount++;
    if (flags & F_SIGNED) st.signed++;
    if (flags & F_LEADZERO) st.leadZero++;
    if (flags & F_BIT) st.bit++;
  }
  if (flags & F_BOOL) st.boolWord++;
  if (flags & (F_EMAIL | F_SSN | F_PHONE | F_NAME | F_ADDRESS)) {
    if (flags & F_EMAIL) st.emailLike++;
    if (flags & F_SSN) st.ssnLike++;
    if (flags & F_SSN_DASHED) st.ssnDashed++;
    if (flags & F_PHONE) st.phoneLike++;
    if (flags & F_PHONE_FORMATTED) st.phoneFormatted++;
    if (flags & F_NAME) st.nameLike++;
    if (flags & F_ADDRESS) st.addressLike++;
  }
  if (st.dateAlive === 0) return;
  if (flags & F_DATE_ZERO) {
    st.dateZero++;
    return;
  }
  if (keys === null) return;
  const tolerance = 5 + st.nonNull / 64;
  const list = st.aliveList;
  let died = false;
  for (let x = 0; x < list.length; x++) {
    const f = list[x]!;
    const key = keys[f]!;
    if (key >= 0) {
      st.dateMatch[f]!++;
      if (key < st.dateMin[f]!) st.dateMin[f] = key;
      if (key > st.dateMax[f]!) st.dateMax[f] = key;
      if (key >= 1e10 && key % 1000000 !== 0) st.timeSeen |= 1 << f;
    } else if (key === SENTINEL) {
      st.dateSent[f]!++;
    } else if (++st.dateMiss[f]! > tolerance) {
      st.dateAlive &= ~(1 << f);
      died = true;
    }
  }
  if (died) st.aliveList = list.filter((f) => (st.dateAlive & (1 << f)) !== 0);
}

/** Re-applies a value seen before in this column (its HyperLogLog bit and min/max are already set). */
function replay(st: ColumnState, m: Memo): void {
  st.nonNull++;
  st.lenSum += m.len;
  st.h1 = m.h1;
  st.h2 = m.h2;
  st.dup = true;
  if (m.len <= TOP_VALUE_MAX_LENGTH) heavyAdd(st.heavy, m.h1, m.h2, m.rep);
  const sc = heavyAdd(st.shapes, m.sh, m.shapeLen, null);
  if (sc > 0 && st.shapes.reps[st.shapes.lastSlot] === null && (sc >= 2 || m.len <= 16)) {
    st.shapes.reps[st.shapes.lastSlot] = shapeOf(m.rep, 0, m.len);
  }
  applyFlags(st, m.flags, m.keys);
  sampleValue(st, m.rep, false);
}

/** Seeded reservoir (algorithm R) of non-null values; strings are copied when kept (`copy`). */
function sampleValue(st: ColumnState, value: Cell, copy: boolean): void {
  const seen = st.nonNull;
  if (seen <= SAMPLE_SIZE) st.sample.push(copy ? detach(value as string) : value);
  else {
    const j = nextBelow(st, seen);
    if (j < SAMPLE_SIZE) st.sample[j] = copy ? detach(value as string) : value;
  }
}

/** NINES[d] = 10^d - 1 (d ≤ 15, exact in a double). */
const NINES: readonly number[] = Array.from({ length: 16 }, (_, d) => {
  let p = 1;
  for (let q = 0; q < d; q++) p *= 10;
  return p - 1;
});

const AMOUNT_CUES = new Set(['amt', 'amount', 'prem', 'premium', 'val', 'value', 'bal', 'balance', 'csv', 'cash', 'face', 'sa', 'sum', 'pmt', 'payment', 'fee', 'chg', 'charge', 'loan', 'divd', 'dividend', 'benefit', 'ben', 'cost', 'price', 'pct', 'rate']);
const ID_CUES = new Set(['id', 'no', 'num', 'nbr', 'number', 'key', 'ref', 'polnum', 'uuid', 'guid']);
const FLAG_CUES = new Set(['ind', 'flag', 'flg', 'is', 'has', 'yn', 'bool']);

/** The `impliedScale` rule's name test: any token of the name is an amount word. */
export function hasAmountCue(name: string): boolean {
  const t = splitName(name);
  return t.some((x) => AMOUNT_CUES.has(x) || x.endsWith('amt') || x.startsWith('prem'));
}

function decimalString(units: number, scale: number): string {
  const neg = units < 0;
  const abs = Math.abs(units);
  let p = 1;
  for (let q = 0; q < scale; q++) p *= 10;
  const whole = Math.floor(abs / p);
  const frac = String(abs - whole * p).padStart(scale, '0');
  return `${neg ? '-' : ''}${whole}.${frac}`;
}

export interface FinishOptions {
  topValues: number;
  maxPatterns: number;
}

/** The column's DOMAIN.md profile entry (without `embeddingRef`). */
export function finishColumn(st: ColumnState, rowCount: number, opts: FinishOptions): ColumnProfile {
  const n = st.nonNull;
  const total = Math.max(rowCount, n + st.nulls);
  const distinct = n === 0 ? 0 : Math.max(1, Math.min(n, Math.round(hllEstimate(st.hll))));
  const profile: ColumnProfile = {
    name: st.name,
    inferredType: 'text',
    nullRate: total === 0 ? 0 : (total - n) / total,
    distinctEstimate: distinct,
    length: n === 0 ? { min: 0, max: 0, mean: 0 } : { min: st.lenMin, max: st.lenMax, mean: st.lenSum / n },
    topValues: heavyTop(st.heavy, opts.topValues, 2),
    patterns: heavyTop(st.shapes, opts.maxPatterns, 1).map((p) => ({ shape: String(p.value), share: p.count / n })),
    pii: null,
  };
  if (n === 0) return profile;
  const tokens = splitName(st.name);
  const ratio = distinct / n;
  let type: InferredType = 'text';

  // Date: the best-matching format covers ≥ 98% of values (legacy sentinels such as
  // 00000000, 99999999, 9999-12-31 count as matching).
  let bestF = -1;
  for (let f = 0; f < NF; f++) {
    if ((st.dateAlive & (1 << f)) === 0 || st.dateMatch[f] === 0) continue;
    if (bestF < 0 || st.dateMatch[f]! > st.dateMatch[bestF]!) bestF = f;
  }
  const isFlag = tokens.some((t) => FLAG_CUES.has(t));
  if (st.boolWord >= 0.99 * n && distinct <= 3) type = 'boolean';
  else if (st.boolWord + st.bit >= 0.99 * n && distinct <= 2 && isFlag) type = 'boolean';
  else if (bestF >= 0 && st.dateMatch[bestF]! + st.dateSent[bestF]! + st.dateZero >= 0.98 * n) {
    const fmt = DATE_FORMATS[bestF]!;
    const midnightOnly = fmt.datetime && (st.timeSeen & (1 << bestF)) === 0;
    type = fmt.datetime && !midnightOnly ? 'datetime' : 'date';
    profile.dateFormat = fmt.id;
    const lo = st.dateMin[bestF]!;
    const hi = st.dateMax[bestF]!;
    const asDate = (k: number): string => keyToIso(type === 'date' && k >= 1e10 ? Math.floor(k / 1000000) : k);
    profile.min = asDate(lo);
    profile.max = asDate(hi);
  } else if (st.intCount >= 0.99 * n) {
    const fixedWidth = st.lenMin === st.lenMax;
    if (st.signed === 0 && fixedWidth && st.lenMax >= 5 && st.leadZero >= 0.2 * n && hasAmountCue(st.name)) {
      // Implied decimal (COBOL PIC 9(n)V99): an amount-named column of unsigned, fixed-width,
      // zero-padded digit strings. Two implied digits, the currency convention.
      type = 'decimal';
      profile.scale = 2;
      profile.impliedScale = 2;
      if (Number.isFinite(st.intMin)) {
        profile.min = decimalString(st.intMin, 2);
        profile.max = decimalString(st.intMax, 2);
      }
    } else if (st.leadZero > 0 && st.signed === 0) {
      type = ratio >= 0.9 ? 'identifier' : 'code';
      if (st.strMin !== null) {
        profile.min = st.strMin;
        profile.max = st.strMax;
      }
    } else {
      type = ratio >= 0.9 && n >= 2 && tokens.some((t) => ID_CUES.has(t)) ? 'identifier' : 'integer';
      if (Number.isFinite(st.numMin)) {
        profile.min = type === 'integer' ? st.numMin : st.numMinRaw;
        profile.max = type === 'integer' ? st.numMax : st.numMaxRaw;
      }
    }
  } else if (st.intCount + st.decCount >= 0.99 * n && st.decCount > 0) {
    type = 'decimal';
    profile.scale = st.maxFrac;
    if (st.numMinRaw !== null) {
      profile.min = st.numMinRaw;
      profile.max = st.numMaxRaw;
    }
  } else {
    const noSpaces = st.withSpaces <= 0.01 * n;
    const few = (distinct <= 64 || ratio <= 0.01) && ratio <= 0.5;
    const idCue = tokens.some((t) => ID_CUES.has(t));
    if (noSpaces && st.lenMax <= 64 && st.withDigits >= 0.9 * n && n >= 2 && (ratio >= 0.9 || idCue || !few)) type = 'identifier';
    else if (noSpaces && st.lenMax <= 32 && few) type = 'code';
    else type = 'text';
    profile.min = st.strMin;
    profile.max = st.strMax;
  }
  profile.inferredType = type;

  const pii = detectPii({ ...st, inferredType: type });
  profile.pii = pii;
  if (pii !== null) {
    if (pii.kind === 'name' || pii.kind === 'address' || pii.kind === 'email') {
      if (type === 'code' || type === 'identifier') profile.inferredType = 'text';
    } else if (pii.kind === 'nationalId' || pii.kind === 'phone') {
      if (type === 'integer' || type === 'code' || type === 'text') {
        profile.inferredType = 'identifier';
        profile.min = st.strMin;
        profile.max = st.strMax;
      }
    }
  }
  if (profile.inferredType === 'boolean') {
    delete profile.min;
    delete profile.max;
  }
  return profile;
}

/** A copy of the reservoir (deterministic for a given input order and seed). */
export function sampleOf(st: ColumnState): Cell[] {
  return [...st.sample];
}
