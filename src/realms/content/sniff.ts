/**
 * @module realms/content/sniff
 * Format, encoding, delimiter and header detection from the head of a file (its first
 * 64 KiB) and its name. Pure functions over bytes, plus {@link peekHead}, which reads the
 * head of a byte stream and hands back a stream that still yields every byte.
 *
 * Refusals are typed (`AppError`): an empty file is `parse-error` (reason `empty`); binary
 * content that is no known format (an image named `.csv`), a legacy `.xls` workbook, a
 * non-XLSX ZIP and a fixed-width extract are `unsupported-format`; an OLE compound file
 * holding an `EncryptedPackage` (a password-protected XLSX) is `unsafe-content`.
 */
import { parse as parseCsvSync } from 'csv-parse/sync';
import { AppError } from '../../errors.js';
import type { ByteInput, Format, ParseOptions, SourceEncoding } from './source.js';

/** Bytes read for sniffing. */
export const SNIFF_BYTES = 64 * 1024;

/** Characters of decoded head that delimiter and header detection read. */
const SAMPLE_CHARS = 16 * 1024;

/** The delimiters tried, in order of preference on a tie. */
export const CANDIDATE_DELIMITERS = [',', '\t', ';', '|'] as const;

/** What sniffing found. `delimiter` and `header` are set for CSV only. */
export interface SniffResult {
  format: Format;
  encoding: SourceEncoding;
  /** Length of the byte-order mark at the start of the file (0, 2 or 3). */
  bom: number;
  delimiter?: string;
  header?: boolean;
  /** The media type the upload should be recorded with. */
  mediaType: string;
  /** How the format was decided, for logs and the `file` artifact. */
  basis: 'magic' | 'content' | 'name' | 'option';
}

/** The head of a stream, and a stream that yields the head's bytes and then the rest. */
export interface PeekedInput {
  head: Uint8Array;
  /** True when the whole input fit in the head. */
  complete: boolean;
  input: ByteInput;
}

/** Reads at least `bytes` bytes (or all of a shorter input) without losing any. */
export async function peekHead(input: ByteInput, bytes = SNIFF_BYTES): Promise<PeekedInput> {
  const iterator = input[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let complete = false;
  while (total < bytes) {
    const next = await iterator.next();
    if (next.done) {
      complete = true;
      break;
    }
    const chunk = next.value;
    if (chunk.length === 0) continue;
    chunks.push(chunk);
    total += chunk.length;
  }
  const head = Buffer.concat(chunks, total);
  const buffered = chunks;
  const rest: ByteInput = {
    async *[Symbol.asyncIterator]() {
      for (const c of buffered) yield c;
      buffered.length = 0;
      if (complete) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    },
  };
  return { head: head.subarray(0, Math.min(head.length, bytes)), complete, input: rest };
}

const MEDIA_TYPES: Record<Format, string> = {
  csv: 'text/csv',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  text: 'text/plain',
  markdown: 'text/markdown',
  pdf: 'application/pdf',
  'fixed-width': 'text/plain',
};

const NAME_FORMATS: Record<string, Format> = {
  csv: 'csv',
  tsv: 'csv',
  tab: 'csv',
  psv: 'csv',
  xlsx: 'xlsx',
  xlsm: 'xlsx',
  json: 'json',
  ndjson: 'ndjson',
  jsonl: 'ndjson',
  txt: 'text',
  text: 'text',
  md: 'markdown',
  markdown: 'markdown',
  pdf: 'pdf',
};

function extensionOf(fileName: string | undefined): string {
  if (!fileName) return '';
  const m = /\.([A-Za-z0-9]+)$/.exec(fileName);
  return m ? m[1]!.toLowerCase() : '';
}

function startsWith(head: Uint8Array, bytes: readonly number[]): boolean {
  if (head.length < bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (head[i] !== bytes[i]) return false;
  return true;
}

function containsAscii(head: Uint8Array, text: string): boolean {
  return Buffer.from(head.buffer, head.byteOffset, head.length).includes(text, 0, 'latin1');
}

function containsUtf16le(head: Uint8Array, text: string): boolean {
  return Buffer.from(head.buffer, head.byteOffset, head.length).includes(Buffer.from(text, 'utf16le'));
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04] as const;
const ZIP_EMPTY = [0x50, 0x4b, 0x05, 0x06] as const;
/** OLE2 compound file: legacy `.xls`, or an encrypted OOXML package. */
export const OLE_MAGIC = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1] as const;

/** Signatures of binary formats that are never text. */
const BINARY_MAGIC: readonly (readonly number[])[] = [
  [0x89, 0x50, 0x4e, 0x47], // PNG
  [0xff, 0xd8, 0xff], // JPEG
  [0x47, 0x49, 0x46, 0x38], // GIF
  [0x1f, 0x8b], // gzip
  [0x42, 0x5a, 0x68], // bzip2
  [0x37, 0x7a, 0xbc, 0xaf], // 7z
  [0x52, 0x61, 0x72, 0x21], // rar
  [0x7f, 0x45, 0x4c, 0x46], // ELF
  [0x4d, 0x5a], // PE
  [0x53, 0x51, 0x4c, 0x69, 0x74, 0x65], // SQLite
];

/**
 * Detects the encoding of `head` from its byte-order mark, its NUL pattern (UTF-16 without
 * a BOM) or its validity as UTF-8 (else Latin-1). An incomplete UTF-8 sequence at the very
 * end of the head is not held against UTF-8: the head may cut a character, and a file
 * truncated there (`complete`, with other multi-byte characters before) is reported by the
 * parser with its byte offset.
 */
export function detectEncoding(head: Uint8Array, complete = false): { encoding: SourceEncoding; bom: number } {
  if (startsWith(head, [0xef, 0xbb, 0xbf])) return { encoding: 'utf-8', bom: 3 };
  if (startsWith(head, [0xff, 0xfe])) return { encoding: 'utf-16le', bom: 2 };
  if (startsWith(head, [0xfe, 0xff])) return { encoding: 'utf-16be', bom: 2 };
  const n = Math.min(head.length, 4096);
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < n; i++) {
    if (head[i] === 0) {
      if (i % 2 === 0) evenNul++;
      else oddNul++;
    }
  }
  const pairs = n / 2;
  if (pairs >= 2 && oddNul / pairs > 0.3 && evenNul / pairs < 0.05) return { encoding: 'utf-16le', bom: 0 };
  if (pairs >= 2 && evenNul / pairs > 0.3 && oddNul / pairs < 0.05) return { encoding: 'utf-16be', bom: 0 };
  if (!utf8Prefix(head)) return { encoding: 'latin1', bom: 0 };
  const cut = invalidUtf8Offset(head);
  if (cut < 0 || !complete) return { encoding: 'utf-8', bom: 0 };
  // The whole file ends inside a UTF-8 sequence: UTF-8 cut short if it holds other multi-byte
  // characters, else a Latin-1 file whose last byte is accented.
  for (let i = 0; i < cut; i++) if (head[i]! >= 0x80) return { encoding: 'utf-8', bom: 0 };
  return { encoding: 'latin1', bom: 0 };
}

/**
 * The offset of the first byte that is not part of a valid UTF-8 sequence, or -1. With
 * `allowTruncatedEnd`, an incomplete sequence running into the end is not counted.
 */
export function invalidUtf8Offset(bytes: Uint8Array, allowTruncatedEnd = false): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    if (i + need >= n) {
      // The sequence runs past the end.
      for (let k = i + 1; k < n; k++) if ((bytes[k]! & 0xc0) !== 0x80) return i;
      return allowTruncatedEnd ? -1 : i;
    }
    let cp = b & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

function utf8Prefix(head: Uint8Array): boolean {
  return invalidUtf8Offset(head, true) === -1;
}

/** Decodes the head for sniffing, ignoring a character cut at the end. */
export function decodeHead(head: Uint8Array, encoding: SourceEncoding, bom: number): string {
  const decoder = new TextDecoder(encoding === 'latin1' ? 'latin1' : encoding, { fatal: false, ignoreBOM: true });
  return decoder.decode(head.subarray(bom), { stream: true });
}

/** Share of C0 control characters (bar tab, CR, LF, FF, ESC) in `text`, and whether it holds NUL. */
function controlShare(text: string): { share: number; nul: boolean } {
  const n = Math.min(text.length, 16_384);
  let ctrl = 0;
  let nul = false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) nul = true;
    if (c < 0x20 && c !== 9 && c !== 10 && c !== 13 && c !== 12 && c !== 27) ctrl++;
    else if (c === 0x7f || c === 0xfffd) ctrl += c === 0xfffd ? 0 : 1;
  }
  return { share: n === 0 ? 0 : ctrl / n, nul };
}

/** The complete lines of `text` (a last line without terminator is dropped unless `complete`). */
function sampleLines(text: string, complete: boolean, max: number): string[] {
  const lines = text.split(/\r\n|\n|\r/);
  if (!complete && lines.length > 1) lines.pop();
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(0, max);
}

/** The complete-record prefix of `text`: everything up to the last line break outside quotes. */
function completeRecords(text: string, complete: boolean): string {
  if (complete) return text;
  let inQuotes = false;
  let last = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) inQuotes = !inQuotes;
    else if ((c === 10 || c === 13) && !inQuotes) last = i;
  }
  return last >= 0 ? text.slice(0, last + 1) : text;
}

function parseSample(text: string, delimiter: string, maxRows: number): string[][] | null {
  try {
    return parseCsvSync(text, {
      delimiter,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      to_line: maxRows,
      bom: false,
    }) as string[][];
  } catch {
    // Unbalanced quotes (a file cut short, a stray quote): score on plain line splits.
    const lines = text.split(/\r\n|\n|\r/).filter((l) => l !== '').slice(0, maxRows);
    return lines.map((l) => l.split(delimiter));
  }
}

/**
 * Field counts of the records of `text` split on `delimiter`, quote-aware (RFC 4180: `""`
 * escapes), blank lines left out: all that scoring a delimiter needs, at a fraction of a
 * full parse's cost (four candidates are scored on every sniff).
 */
function quickFieldCounts(text: string, delimiter: string, maxRows: number): number[] {
  const counts: number[] = [];
  const d = delimiter.charCodeAt(0);
  let fields = 1;
  let empty = true;
  let inQuotes = false;
  let atFieldStart = true;
  for (let i = 0; i < text.length && counts.length < maxRows; i++) {
    const c = text.charCodeAt(i);
    if (inQuotes) {
      if (c === 34) {
        if (text.charCodeAt(i + 1) === 34) i++;
        else inQuotes = false;
      }
      continue;
    }
    if (c === 34 && atFieldStart) {
      inQuotes = true;
      empty = false;
      atFieldStart = false;
    } else if (c === d) {
      fields++;
      empty = false;
      atFieldStart = true;
    } else if (c === 10 || c === 13) {
      if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
      if (!empty) counts.push(fields);
      fields = 1;
      empty = true;
      atFieldStart = true;
    } else {
      empty = false;
      atFieldStart = false;
    }
  }
  if (!empty && counts.length < maxRows) counts.push(fields);
  return counts;
}

/**
 * Picks the delimiter whose field count is the same (and above one) on the most sample
 * records, split quote-aware so quoted delimiters and newlines do not count.
 */
export function detectDelimiter(text: string, complete = true): { delimiter: string; consistency: number; fields: number } | null {
  // 16 KiB (some 50–100 records) decide as well as 64 KiB, at a quarter of the cost.
  const capped = text.length > SAMPLE_CHARS;
  const sample = completeRecords(capped ? text.slice(0, SAMPLE_CHARS) : text, complete && !capped);
  let best: { delimiter: string; consistency: number; fields: number } | null = null;
  for (const delimiter of CANDIDATE_DELIMITERS) {
    if (!sample.includes(delimiter)) continue;
    const widths = quickFieldCounts(sample, delimiter, 100);
    if (widths.length === 0) continue;
    const counts = new Map<number, number>();
    for (const w of widths) counts.set(w, (counts.get(w) ?? 0) + 1);
    // The first record's width wins a tie: ragged rows should not outvote the header.
    let mode = widths[0]!;
    let modeCount = counts.get(mode) ?? 0;
    for (const [fields, count] of counts) {
      if (count > modeCount) {
        mode = fields;
        modeCount = count;
      }
    }
    if (mode < 2) continue;
    const headerAgrees = widths[0] === mode;
    const consistency = Math.min(1, modeCount / widths.length + (headerAgrees ? 0.25 : 0));
    const better =
      best === null ||
      consistency > best.consistency + 0.05 ||
      (Math.abs(consistency - best.consistency) <= 0.05 && mode > best.fields);
    if (better) best = { delimiter, consistency, fields: mode };
  }
  return best && best.consistency >= 0.5 ? best : null;
}

const NUMERIC = /^\s*[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?\s*$/;
const DATE_LIKE = /^\s*\d{1,4}([-/.])\d{1,2}\1\d{1,4}\s*$|^\d{8}$|^\d{1,2}-[A-Za-z]{3}-\d{2,4}$/;

function valueKind(v: string): 'empty' | 'number' | 'date' | 'text' {
  if (v.trim() === '') return 'empty';
  if (DATE_LIKE.test(v)) return 'date';
  if (NUMERIC.test(v)) return 'number';
  return 'text';
}

/**
 * Whether the first record holds column names: every cell non-empty, textual and distinct,
 * and the columns below it look different from it (a column of numbers or dates under a
 * text, or lengths that differ). With nothing to compare against, a first row of texts is a
 * header.
 */
export function detectHeader(rows: readonly (readonly string[])[]): boolean {
  const first = rows[0];
  if (!first || first.length === 0) return false;
  const names = new Set<string>();
  for (const cell of first) {
    if (valueKind(cell) !== 'text') return false;
    if (names.has(cell.trim())) return false;
    names.add(cell.trim());
  }
  const rest = rows.slice(1, 51);
  if (rest.length === 0) return true;
  let votes = 0;
  for (let c = 0; c < first.length; c++) {
    const values = rest.map((r) => r[c] ?? '').filter((v) => v.trim() !== '');
    if (values.length === 0) continue;
    const kinds = values.map(valueKind);
    if (kinds.every((k) => k === 'number' || k === 'date')) {
      votes++;
      continue;
    }
    const lengths = new Set(values.map((v) => v.length));
    if (lengths.size === 1 && values.length >= 3) {
      votes += [...lengths][0] === first[c]!.length ? -1 : 1;
      continue;
    }
    if (values.includes(first[c]!)) votes--;
  }
  return votes >= 0;
}

function looksLikeJsonArray(text: string): boolean {
  return /^\s*\[\s*(\{|\[|"|-?\d|true|false|null|\])/.test(text);
}

function looksLikeNdjson(lines: readonly string[]): boolean {
  const nonEmpty = lines.filter((l) => l.trim() !== '');
  if (nonEmpty.length === 0) return false;
  let ok = 0;
  for (const line of nonEmpty.slice(0, 20)) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      JSON.parse(t);
      ok++;
    } catch {
      // A line cut by the head or one bad line: counted as not parsing.
    }
  }
  return ok >= 1 && ok >= Math.min(nonEmpty.length, 20) * 0.5;
}

function looksLikeMarkdown(lines: readonly string[]): boolean {
  let score = 0;
  for (const line of lines.slice(0, 200)) {
    if (/^#{1,6}\s+\S/.test(line)) score += 3;
    else if (/^```/.test(line)) score += 2;
    else if (/^\s*([-*+]|\d+\.)\s+\S/.test(line)) score += 1;
    else if (/\[[^\]]+\]\([^)]+\)/.test(line)) score += 1;
  }
  return score >= 3;
}

/**
 * A fixed-width extract: many lines of one length, no delimiter, and runs of spaces that
 * line up column after column.
 */
function looksFixedWidth(lines: readonly string[]): boolean {
  const sample = lines.filter((l) => l.length > 0).slice(0, 50);
  if (sample.length < 5) return false;
  const len = sample[0]!.length;
  if (len < 20 || !sample.every((l) => l.length === len)) return false;
  let aligned = 0;
  for (let i = 1; i < len; i++) {
    if (sample.every((l) => l[i] === ' ') && sample.some((l) => l[i - 1] !== ' ')) aligned++;
  }
  const digitsOrSpaces = sample.every((l) => /[0-9]{3,}/.test(l));
  return aligned >= 1 || digitsOrSpaces;
}

function fail(code: 'unsupported-format' | 'unsafe-content' | 'parse-error', detail: string, reason: string): never {
  throw new AppError(code, detail, { extras: { reason, position: { byteOffset: 0 } } });
}

/**
 * Decides format, encoding, delimiter and header of a file from its head and name. Options
 * given by the caller win over detection (an explicit `fixed-width` is refused).
 *
 * @param head - the first bytes of the file (see {@link SNIFF_BYTES})
 * @param complete - whether `head` is the whole file
 * @throws AppError `parse-error` (empty), `unsupported-format`, `unsafe-content`
 */
export function sniff(head: Uint8Array, options: ParseOptions & { complete?: boolean } = {}): SniffResult {
  const complete = options.complete ?? head.length < SNIFF_BYTES;
  const name = options.fileName;
  const ext = extensionOf(name);
  if (head.length === 0) fail('parse-error', `${name ?? 'The file'} is empty`, 'empty');
  if (options.format === 'fixed-width') {
    fail('unsupported-format', 'Fixed-width files are not supported until copybooks are built', 'fixed-width');
  }

  if (startsWith(head, [0x25, 0x50, 0x44, 0x46, 0x2d])) {
    return { format: 'pdf', encoding: 'latin1', bom: 0, mediaType: MEDIA_TYPES.pdf, basis: 'magic' };
  }
  if (startsWith(head, OLE_MAGIC)) {
    if (containsUtf16le(head, 'EncryptedPackage') || containsUtf16le(head, 'EncryptionInfo') || ext === 'xlsx' || ext === 'xlsm') {
      fail('unsafe-content', `${name ?? 'The file'} is an encrypted (password-protected) workbook; save it without a password`, 'encrypted-workbook');
    }
    fail('unsupported-format', `${name ?? 'The file'} is a legacy OLE document (.xls/.doc); save it as .xlsx or CSV`, 'legacy-ole');
  }
  if (startsWith(head, ZIP_MAGIC) || startsWith(head, ZIP_EMPTY)) {
    if (containsAscii(head, 'xl/') || ext === 'xlsx' || ext === 'xlsm') {
      if (options.format && options.format !== 'xlsx') {
        fail('unsupported-format', `${name ?? 'The file'} is a ZIP archive, not ${options.format}`, 'zip');
      }
      return { format: 'xlsx', encoding: 'utf-8', bom: 0, mediaType: MEDIA_TYPES.xlsx, basis: 'magic' };
    }
    fail('unsupported-format', `${name ?? 'The file'} is a ZIP archive that holds no workbook`, 'zip');
  }
  for (const magic of BINARY_MAGIC) {
    if (startsWith(head, magic)) fail('unsupported-format', `${name ?? 'The file'} is binary content, not ${ext || 'text'}`, 'binary');
  }

  const { encoding: detected, bom } = detectEncoding(head, complete);
  const encoding = options.encoding ?? detected;
  const text = decodeHead(head, encoding, options.encoding ? skipBom(head, encoding) : bom);
  const { share, nul } = controlShare(text);
  if (nul || share > 0.05) {
    fail('unsupported-format', `${name ?? 'The file'} is binary content, not ${ext || 'text'}`, 'binary');
  }
  const effectiveBom = options.encoding ? skipBom(head, encoding) : bom;
  const base = { encoding, bom: effectiveBom };
  const lines = sampleLines(text, complete, 200);

  let format: Format | undefined = options.format;
  let basis: SniffResult['basis'] = format ? 'option' : 'content';
  if (!format) {
    const trimmed = text.trimStart();
    if (trimmed === '') fail('parse-error', `${name ?? 'The file'} holds only whitespace`, 'empty');
    const named = NAME_FORMATS[ext];
    if (named === 'json' || named === 'ndjson') {
      format = named;
      basis = 'name';
    } else if (trimmed.startsWith('[') && looksLikeJsonArray(trimmed)) format = 'json';
    else if (trimmed.startsWith('{')) format = looksLikeNdjson(lines) ? 'ndjson' : 'json';
    else if (named === 'markdown' || named === 'text') {
      format = named;
      basis = 'name';
    } else {
      const delim = options.delimiter ? null : detectDelimiter(text, complete);
      if (options.delimiter || (delim && (named === 'csv' || !looksLikeMarkdown(lines)))) format = 'csv';
      else if (named === 'csv') {
        if (looksFixedWidth(lines)) fail('unsupported-format', `${name ?? 'The file'} looks fixed-width; not supported until copybooks are built`, 'fixed-width');
        format = 'csv';
        basis = 'name';
      } else if (looksLikeMarkdown(lines)) format = 'markdown';
      else if (looksFixedWidth(lines)) fail('unsupported-format', `${name ?? 'The file'} looks fixed-width; not supported until copybooks are built`, 'fixed-width');
      else format = 'text';
    }
  }

  if (format === 'xlsx' || format === 'pdf') {
    fail('unsupported-format', `${name ?? 'The file'} is text, not ${format}`, 'not-' + format);
  }
  if (format !== 'csv') return { format, ...base, mediaType: MEDIA_TYPES[format], basis };

  const delimiter = options.delimiter ?? detectDelimiter(text, complete)?.delimiter ?? (ext === 'tsv' || ext === 'tab' ? '\t' : ext === 'psv' ? '|' : ',');
  let header = options.header;
  if (header === undefined) {
    const capped = text.length > SAMPLE_CHARS;
    const rows = parseSample(completeRecords(capped ? text.slice(0, SAMPLE_CHARS) : text, complete && !capped), delimiter, 60) ?? [];
    header = detectHeader(rows);
  }
  return {
    format: 'csv',
    ...base,
    delimiter,
    header,
    mediaType: delimiter === '\t' ? 'text/tab-separated-values' : MEDIA_TYPES.csv,
    basis,
  };
}

function skipBom(head: Uint8Array, encoding: SourceEncoding): number {
  if (encoding === 'utf-8' && startsWith(head, [0xef, 0xbb, 0xbf])) return 3;
  if (encoding === 'utf-16le' && startsWith(head, [0xff, 0xfe])) return 2;
  if (encoding === 'utf-16be' && startsWith(head, [0xfe, 0xff])) return 2;
  return 0;
}

/** The media type recorded for a format. */
export function mediaTypeOf(format: Format): string {
  return MEDIA_TYPES[format];
}
