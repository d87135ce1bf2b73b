/**
 * @module realms/content/profile
 * Dataset profiling in the parse pass (DOMAIN.md `DatasetProfile`), PII detection and
 * masking. Pure realm code: no HTTP, no XState; the only I/O is the temporary key-check
 * files (`tmpDir`).
 *
 * Decisions a reviewer should know:
 * - **One scan per value.** `add` is synchronous and allocation-free on its hot path: one
 *   character loop trims, hashes (two 32-bit words), classifies and shapes each value; a
 *   column whose values repeat (codes, names) replays a memo of the first analysis instead.
 * - **Bounded memory per column**, whatever the row count: a HyperLogLog (p = 14, 16 KiB,
 *   ≈ 0.8% standard error), a Misra–Gries heavy-hitters table of 1,024 values (exact counts
 *   while a column has ≤ 1,024 distinct values; switched off for unique columns), a shape
 *   table of 128, a 100-value seeded reservoir, a 256-entry memo, and references to at most
 *   four raw values (string and numeric min/max).
 * - **Types** are decided at `finish` from counts: boolean (≥ 99% Y/N/T/F/YES/NO/TRUE/FALSE,
 *   or 0/1 under a flag name such as `*_IND`), date/datetime (the best of 15 formats covers
 *   ≥ 98% of values, legacy sentinels `00000000`, `99999999`, `9999-12-31` counted as
 *   matching), integer/decimal (≥ 99% numeric), then identifier, code or text by
 *   cardinality, spaces and digits. Zero-padded integers are codes or identifiers, not
 *   numbers.
 * - **Implied decimals** (`impliedScale: 2`, COBOL `PIC 9(n)V99`): the column name carries an
 *   amount word (`AMT`, `PREM`, `VAL`, `FACE`, `CSV`, `SA`, `BAL`, …), ≥ 99% of values are
 *   unsigned digit strings of one fixed width ≥ 5, and ≥ 20% of them start with `0` (zero
 *   padding). Modern extracts do not zero-pad amounts; an unpadded or variable-width amount
 *   column stays an integer.
 * - **Candidate keys** are proposed by sketches and confirmed exactly on disk (see
 *   `keys.ts`): 64-bit hashes spooled during `add`, a SQLite `UNIQUE` index at `finish`.
 * - **PII** from header cues plus the share of matching values (see `pii.ts`); the reason
 *   names both.
 */
export { createProfiler, type Profiler, type ProfilerOptions, type ProfileColumns } from './profiler.js';
export type { Cell, ColumnProfile, ColumnSample, DatasetProfile, InferredType, PiiFlag, PiiKind } from './types.js';
export { PII_KINDS } from './types.js';
export { createHll, hllAdd, hllEstimate, hllMerge, HLL_P, type HyperLogLog } from './hll.js';
export { hashString, hashOut } from './hash.js';
export { DATE_FORMATS, formatById, parseDate, keyToIso, type DateFormat } from './dates.js';
export { detectPii, headerCues } from './pii.js';
export { shapeOf } from './column.js';
export { createMasker, flaggedColumns, maskProfile, maskToken, type FlaggedColumn, type Masker } from './mask.js';
