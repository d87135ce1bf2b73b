/**
 * @module realms/content/embeddings/fhv1
 * `fh-v1` deterministic embeddings (DOMAIN.md section 3.1): signed feature hashing.
 *
 * Each feature is a string; MurmurHash3 x86 32-bit (seed 1) of its UTF-8 bytes picks the
 * dimension (`(h & 0x7fffffff) % dims`) and the sign (bit 31). Weights are summed in a
 * Float64Array in a fixed feature order, the sum is L2-normalised with `Math.sqrt` and
 * division (both correctly rounded by IEEE 754), and each component is rounded to float32.
 * No `Math.exp/log/pow` or trigonometry, whose results may differ between platforms, so a
 * vector is bit-identical on every machine and run.
 *
 * Features (namespaced by a prefix so kinds never collide):
 * - column: name words after abbreviation expansion `w:` (1.0), raw name tokens `t:` (0.5),
 *   name 3-grams `n:` (0.25 each), type `type:` (1.0), date format `fmt:` (0.5), top shapes
 *   `s:` (their share), 3-grams of ≤ 100 sampled values `v:` (1 / number of values each);
 * - record: `r:column=value` for each non-null value (1.0);
 * - passage: word tokens `p:` (1.0) and their 3-grams `g:` (0.5 each).
 */
import { ABBREVIATIONS_VERSION, expandToken } from './abbreviations.js';
import { murmur3 } from './murmur3.js';
import { splitName, wordTokens } from './tokens.js';

export const FH_V1 = 'fh-v1';
export const DEFAULT_DIMS = 256;
/** Sampled values used per column. */
export const MAX_SAMPLE_VALUES = 100;

type CellValue = string | number | boolean | null;

/** What a column vector reads of a `DatasetProfile` column. */
export interface ColumnFeaturesInput {
  name: string;
  inferredType?: string;
  dateFormat?: string;
  patterns?: readonly { shape: string; share: number }[];
}

/** An accumulating hashed feature vector. */
export interface FeatureVector {
  readonly dims: number;
  readonly acc: Float64Array;
}

export function createFeatureVector(dims: number = DEFAULT_DIMS): FeatureVector {
  if (!Number.isInteger(dims) || dims < 2 || dims > 65536) throw new RangeError(`dims must be an integer in [2, 65536], got ${dims}`);
  return { dims, acc: new Float64Array(dims) };
}

/** Adds `weight` to the signed hashed dimension of `feature`. */
export function addFeature(v: FeatureVector, feature: string, weight = 1): void {
  const h = murmur3(feature, 1);
  const idx = (h & 0x7fffffff) % v.dims;
  v.acc[idx] = v.acc[idx]! + (h & 0x80000000 ? -weight : weight);
}

/** The L2-normalised float32 vector (all zeros when no feature was added). */
export function normalize(v: FeatureVector): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.dims; i++) sum += v.acc[i]! * v.acc[i]!;
  const out = new Float32Array(v.dims);
  if (sum === 0) return out;
  const norm = Math.sqrt(sum);
  for (let i = 0; i < v.dims; i++) out[i] = v.acc[i]! / norm;
  return out;
}

/** Character 3-grams of `s` padded with `^` and `$` (a 1-char string gives one gram). */
export function trigrams(s: string): string[] {
  const chars = [...`^${s}$`];
  const out: string[] = [];
  for (let i = 0; i + 3 <= chars.length; i++) out.push(chars.slice(i, i + 3).join(''));
  return out;
}

function cellText(value: CellValue): string | null {
  if (value === null || value === undefined) return null;
  const t = (typeof value === 'string' ? value : String(value)).trim();
  return t === '' ? null : t;
}

/** Adds the name features of a column (tokens, expansions, 3-grams). */
export function addNameFeatures(v: FeatureVector, name: string): void {
  const tokens = splitName(name);
  for (const t of tokens) {
    for (const w of expandToken(t)) addFeature(v, `w:${w}`, 1);
    addFeature(v, `t:${t}`, 0.5);
  }
  for (const t of tokens) for (const g of trigrams(t)) addFeature(v, `n:${g}`, 0.25);
}

/** The `fh-v1` vector of one column from its profile entry and sampled values. */
export function columnVector(column: ColumnFeaturesInput, samples: readonly CellValue[] = [], dims: number = DEFAULT_DIMS): Float32Array {
  const v = createFeatureVector(dims);
  addNameFeatures(v, column.name);
  if (column.inferredType) addFeature(v, `type:${column.inferredType}`, 1);
  if (column.dateFormat) addFeature(v, `fmt:${column.dateFormat}`, 0.5);
  for (const p of column.patterns ?? []) addFeature(v, `s:${p.shape}`, p.share);
  const values: string[] = [];
  for (const s of samples) {
    if (values.length >= MAX_SAMPLE_VALUES) break;
    const t = cellText(s);
    if (t !== null) values.push(t.toLowerCase());
  }
  if (values.length > 0) {
    const w = 1 / values.length;
    for (const t of values) for (const g of trigrams(t)) addFeature(v, `v:${g}`, w);
  }
  return normalize(v);
}

/** The `fh-v1` vector of one record: `column=value` per non-null value. */
export function recordVector(columns: readonly string[], values: readonly CellValue[], dims: number = DEFAULT_DIMS): Float32Array {
  const v = createFeatureVector(dims);
  for (let i = 0; i < columns.length; i++) {
    const t = cellText(values[i] ?? null);
    if (t !== null) addFeature(v, `r:${columns[i]}=${t}`, 1);
  }
  return normalize(v);
}

/** The `fh-v1` vector of a text passage: word tokens and their 3-grams. */
export function passageVector(text: string, dims: number = DEFAULT_DIMS): Float32Array {
  const v = createFeatureVector(dims);
  for (const w of wordTokens(text)) {
    addFeature(v, `p:${w}`, 1);
    for (const g of trigrams(w)) addFeature(v, `g:${g}`, 0.5);
  }
  return normalize(v);
}

/** Cosine similarity of two vectors of equal length (1 for identical directions). */
export function cosine(a: Float32Array | readonly number[], b: Float32Array | readonly number[]): number {
  if (a.length !== b.length) throw new RangeError('vectors differ in length');
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** DOMAIN.md `EmbeddingSet` body. */
export interface EmbeddingSet {
  datasetId: string;
  algorithm: 'fh-v1';
  dims: number;
  columns: { name: string; vector: number[] }[];
  recordChunks?: number[];
}

export interface EmbedColumnsOptions {
  /** @defaultValue 256 */
  dims?: number;
}

/**
 * The embedding set of a dataset's columns, in profile column order (`embeddingRef.index`).
 * `samples` are matched by column name; under `mask`, pass masked samples.
 */
export function embedColumns(
  profile: { datasetId: string; columns: readonly ColumnFeaturesInput[] },
  samples: readonly { name: string; values: readonly CellValue[] }[],
  options: EmbedColumnsOptions = {},
): EmbeddingSet {
  const dims = options.dims ?? DEFAULT_DIMS;
  const byName = new Map(samples.map((s) => [s.name, s.values]));
  return {
    datasetId: profile.datasetId,
    algorithm: FH_V1,
    dims,
    columns: profile.columns.map((c) => ({ name: c.name, vector: Array.from(columnVector(c, byName.get(c.name) ?? [], dims)) })),
  };
}

/** The abbreviation table version the vectors were built with. */
export const FH_V1_TABLE = ABBREVIATIONS_VERSION;
