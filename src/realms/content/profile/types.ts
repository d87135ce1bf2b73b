/**
 * @module realms/content/profile/types
 * DOMAIN.md section 3.1 shapes produced by the profiler: `DatasetProfile` and its columns.
 */

/** One value of a record (DOMAIN.md `Cell`): dates as ISO strings, decimals as strings. */
export type Cell = string | number | boolean | null;

export type InferredType = 'integer' | 'decimal' | 'date' | 'datetime' | 'boolean' | 'code' | 'text' | 'identifier';

export type PiiKind = 'name' | 'email' | 'phone' | 'nationalId' | 'dateOfBirth' | 'address';

export const PII_KINDS: readonly PiiKind[] = ['name', 'email', 'phone', 'nationalId', 'dateOfBirth', 'address'];

export interface PiiFlag {
  kind: PiiKind;
  /** Set by materialization once the column's values are masked (see `mask.ts`). */
  masked: boolean;
  /** Header cue and share of values matching, e.g. `header cue 'EMAIL'; 98.0% of 200 non-null values look like emails`. */
  reason: string;
}

export interface ColumnProfile {
  name: string;
  inferredType: InferredType;
  /** For `date`/`datetime`: the source format, e.g. `YYYYMMDD`, `MM/DD/YYYY`, `DD-MON-YY`. */
  dateFormat?: string;
  /** For `decimal`: digits after the decimal point (the most seen). */
  scale?: number;
  /** For implied-decimal amounts (`000012345` meaning 123.45): the implied digits. */
  impliedScale?: number;
  nullRate: number;
  /** HyperLogLog estimate of distinct non-null values. */
  distinctEstimate: number;
  min?: Cell;
  max?: Cell;
  /** Trimmed length of non-null values, in UTF-16 code units. */
  length: { min: number; max: number; mean: number };
  topValues: { value: Cell; count: number }[];
  patterns: { shape: string; share: number }[];
  pii: PiiFlag | null;
  embeddingRef?: { embeddingSetId: string; index: number };
}

export interface DatasetProfile {
  datasetId: string;
  rowCount: number;
  basis: 'all' | 'sample';
  candidateKeys: string[][];
  columns: ColumnProfile[];
}

/** A bounded, deterministic sample of a column's non-null values (for embeddings). */
export interface ColumnSample {
  name: string;
  values: Cell[];
}
