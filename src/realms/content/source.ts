/**
 * @module realms/content/source
 * The shapes every parser of the content realm returns, and the options they take.
 *
 * A tabular file (CSV, TSV, pipe, XLSX sheet, JSON array, NDJSON) becomes one or more
 * {@link TabularSource}s: column names plus an async iterable of record batches that carry
 * their source positions. A text file (plain text, Markdown, PDF) becomes a
 * {@link ParsedDocument}: sections and passages with line offsets (DOMAIN.md `Document`).
 *
 * Positions follow DOMAIN.md section 1: `row` is the 1-based data-record ordinal (header
 * excluded), `line` the 1-based physical line where the record starts, `byteOffset` the
 * 0-based offset of the record's first byte in the file as stored (before decoding). XLSX
 * adds `sheet` and `cell`.
 *
 * This module is stable: parsers and the ingest pipeline both depend on it; members are
 * added, never renamed.
 */
import type { RecordRow } from '../../persistence/ports.js';

/** DOMAIN.md `Format`. `fixed-width` is refused as `unsupported-format` until copybooks are built. */
export type Format = 'csv' | 'xlsx' | 'json' | 'ndjson' | 'text' | 'markdown' | 'pdf' | 'fixed-width';

export const FORMATS: readonly Format[] = ['csv', 'xlsx', 'json', 'ndjson', 'text', 'markdown', 'pdf', 'fixed-width'];

/** The text encodings a parser decodes (DOMAIN.md `parse_content.encoding`). */
export type SourceEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'latin1';

export const SOURCE_ENCODINGS: readonly SourceEncoding[] = ['utf-8', 'utf-16le', 'utf-16be', 'latin1'];

/** What happens to a row whose field count differs from the header's. */
export type RaggedRowPolicy = 'reject' | 'skip' | 'pad';

/** One value of a record (DOMAIN.md `Cell`): dates as ISO strings, decimals as strings. */
export type Cell = string | number | boolean | null;

/** A record as a parser yields it: a `RecordRow` plus the byte offset where it starts. */
export interface SourceRecord extends RecordRow {
  /** 0-based offset of the record's first byte in the stored file; absent for XLSX. */
  byteOffset?: number;
}

/** Where something is in a source file. Every member is optional: formats know different things. */
export interface SourcePosition {
  /** 1-based data-record ordinal, header excluded. */
  row?: number;
  /** 1-based physical line where the record (or the problem) starts. */
  line?: number;
  /** 0-based byte offset in the stored file. */
  byteOffset?: number;
  /** XLSX sheet name. */
  sheet?: string;
  /** XLSX cell reference such as `B12`. */
  cell?: string;
  /** PDF page, 1-based. */
  page?: number;
}

/** What the parser did with a bad row (DOMAIN.md `Dataset.issues[].action`). */
export type IssueAction = 'rejected' | 'skipped' | 'padded';

/** One problem met while parsing, recorded as parsing proceeds (DOMAIN.md `Dataset.issues`). */
export interface ParseIssue {
  /** A problem id of DOMAIN.md section 6 (`parse-error`, `record-too-large`) or `ragged-row`. */
  code: string;
  row?: number;
  line?: number;
  byteOffset?: number;
  sheet?: string;
  cell?: string;
  action: IssueAction;
  /** Short machine-readable cause, e.g. `expected 5 fields, found 7`, `invalid-json`. */
  reason?: string;
}

/** Counters a source keeps while it is read; final once its batches are exhausted. */
export interface SourceStats {
  /** Data records yielded (bad rows that were skipped are not counted). */
  rows: number;
  /** Rows skipped or rejected (counted against `maxBadRows`). */
  badRows: number;
  /** Rows padded (or trimmed of empty extra fields) under `raggedRows: 'pad'`; not counted against the budget. */
  paddedRows: number;
  /** Bytes of the stored file consumed so far (for XLSX: of the sheet's XML, uncompressed). */
  bytesRead: number;
  /** True once the batches have been read to the end. */
  done: boolean;
}

/**
 * One table of a file: a CSV file, one XLSX sheet, a JSON array of objects, an NDJSON file.
 *
 * `batches` can be iterated once. Issues are appended to `issues` as parsing proceeds, so
 * read them after (or while) iterating. A fatal problem (strict policy, budget spent,
 * malformed input) is thrown from the iterator as an `AppError` whose `extras` hold
 * `position` ({@link SourcePosition}) and `reason`, and for `bad-rows-exceeded` the first
 * `issues`.
 */
export interface TabularSource {
  readonly kind: 'tabular';
  readonly format: Format;
  readonly encoding: string;
  /** CSV only: the field separator. */
  readonly delimiter?: string;
  /** Whether the first record held the column names. */
  readonly header: boolean;
  /** XLSX only: the sheet's name. */
  readonly sheet?: string;
  /** Column names: the header row (made unique), or `col_1`…`col_n`; `dropColumns` removed. */
  readonly columns: string[];
  /** The records in order, in batches of at most `batchRows`. */
  readonly batches: AsyncIterable<SourceRecord[]>;
  /** Problems recorded so far (bounded: the first {@link MAX_KEPT_ISSUES} are kept). */
  readonly issues: ParseIssue[];
  stats(): SourceStats;
}

/** A heading-delimited part of a document (DOMAIN.md `Document.sections`). */
export interface DocumentSection {
  id: string;
  title: string;
  /** 1–6 for Markdown headings; 0 for the untitled part before the first heading or a plain text. */
  level: number;
  lineStart: number;
  lineEnd: number;
  /** PDF only: the page the section starts on. */
  page?: number;
}

/** A passage of at most {@link MAX_PASSAGE_CHARS} characters (DOMAIN.md `Document.passages`). */
export interface DocumentPassage {
  id: string;
  sectionId: string;
  lineStart: number;
  lineEnd: number;
  text: string;
  /** PDF only: the page the passage is on. */
  page?: number;
}

/** A parsed text, Markdown or PDF file. Line numbers are 1-based, over the decoded text. */
export interface ParsedDocument {
  readonly kind: 'document';
  readonly format: Format;
  readonly encoding: string;
  readonly sections: DocumentSection[];
  readonly passages: DocumentPassage[];
  /** PDF only: the lines each page spans. */
  readonly pages?: { page: number; lineStart: number; lineEnd: number }[];
  readonly lines: number;
  readonly bytes: number;
}

/** The maximum length of a passage's text, in UTF-16 code units. */
export const MAX_PASSAGE_CHARS = 800;

/** At most this many issues are kept on a source; the count goes on in `stats().badRows`. */
export const MAX_KEPT_ISSUES = 10_000;

/** Options of every parser (DOMAIN.md `parse_content`); unset means sniffed or the default. */
export interface ParseOptions {
  /** Format; sniffed when unset. */
  format?: Format;
  /** Text encoding; sniffed when unset. */
  encoding?: SourceEncoding;
  /** CSV field separator (one character); sniffed when unset. */
  delimiter?: string;
  /** Whether the first record holds column names; sniffed when unset. */
  header?: boolean;
  /** XLSX: the sheets to read, by name; all when unset. */
  sheets?: string[];
  /**
   * Rows whose field count differs from the header's.
   * @defaultValue `'skip'` (skip and report)
   */
  raggedRows?: RaggedRowPolicy;
  /**
   * Bad rows tolerated per file before `bad-rows-exceeded`; `0` makes the first bad row fatal
   * (the strict policy, together with `raggedRows: 'reject'`).
   * @defaultValue 1000
   */
  maxBadRows?: number;
  /**
   * Largest record (or line) in bytes of the stored file; larger is `record-too-large`.
   * @defaultValue 16 MiB
   */
  maxRecordBytes?: number;
  /** Columns to leave out, by name (after header detection). */
  dropColumns?: string[];
  /**
   * Records per batch. Small batches keep the live set young: records hold slices of the
   * decoded chunk they came from, and a batch that outlives a scavenge drags those chunks
   * into the old generation (4,000-row batches parse about three times slower than 256).
   * Consumers regroup as they need (the record store's chunks are 1,000 rows).
   * @defaultValue 256
   */
  batchRows?: number;
  /** The file's name, a hint for sniffing only. */
  fileName?: string;
  /**
   * Largest input in bytes for formats that cannot stream (PDF) and for the XLSX spool.
   * @defaultValue 256 MiB
   */
  maxBytes?: number;
  /** Stops parsing: the iterator throws the signal's reason. */
  signal?: AbortSignal;
}

/** The options with their defaults applied. */
export interface ResolvedLimits {
  raggedRows: RaggedRowPolicy;
  maxBadRows: number;
  maxRecordBytes: number;
  batchRows: number;
  maxBytes: number;
  dropColumns: string[];
}

export const PARSE_DEFAULTS = {
  raggedRows: 'skip',
  maxBadRows: 1000,
  maxRecordBytes: 16 * 1024 * 1024,
  batchRows: 256,
  maxBytes: 256 * 1024 * 1024,
} as const satisfies Omit<ResolvedLimits, 'dropColumns'>;

/** Applies {@link PARSE_DEFAULTS} to `options`. */
export function resolveLimits(options: ParseOptions): ResolvedLimits {
  return {
    raggedRows: options.raggedRows ?? PARSE_DEFAULTS.raggedRows,
    maxBadRows: options.maxBadRows ?? PARSE_DEFAULTS.maxBadRows,
    maxRecordBytes: options.maxRecordBytes ?? PARSE_DEFAULTS.maxRecordBytes,
    batchRows: Math.max(1, options.batchRows ?? PARSE_DEFAULTS.batchRows),
    maxBytes: options.maxBytes ?? PARSE_DEFAULTS.maxBytes,
    dropColumns: options.dropColumns ?? [],
  };
}

/** Column names made unique and non-empty: blanks become `col_<n>`, repeats get `_2`, `_3`… */
export function uniqueColumnNames(names: readonly string[]): string[] {
  const seen = new Set<string>();
  return names.map((raw, i) => {
    const base = raw.trim() === '' ? `col_${i + 1}` : raw.trim();
    let name = base;
    for (let k = 2; seen.has(name); k++) name = `${base}_${k}`;
    seen.add(name);
    return name;
  });
}

/** `col_1`…`col_n`. */
export function generatedColumnNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `col_${i + 1}`);
}

/** The bytes a parser reads: a `Readable` of bytes or any async iterable of chunks. */
export type ByteInput = AsyncIterable<Uint8Array>;

/**
 * What `openSource` returns: the tabular sources of a file (one per XLSX sheet, read in
 * order; each must be consumed before the next is asked for) or its document.
 */
export type OpenedSource =
  | { kind: 'tabular'; format: Format; sources: AsyncIterable<TabularSource> }
  | { kind: 'document'; format: Format; document: ParsedDocument };
