/**
 * @module realms/content/parsers/json
 * Streaming JSON-array and NDJSON parsers. Both decode incrementally and never hold more than
 * one chunk plus one unfinished element (bounded by `maxRecordBytes`).
 *
 * - **JSON array**: a scanner tracks depth, strings and escapes to cut the top-level array
 *   into elements, each `JSON.parse`d on its own; an element that does not parse is a bad
 *   row (skipped and reported, or `parse-error` under the strict policy). A file that is not
 *   an array (a single object) is one record.
 * - **NDJSON**: one value per line; a bad line is a bad row with its line number.
 *
 * Columns: objects give the union of the keys seen in the first batch (read ahead before
 * the source is returned), in first-seen order; a key first met later is not a column and
 * is reported once as an issue (`unknown-field`). Arrays give positional columns
 * (`col_1`…), scalars one column `value`. Nested objects and arrays become JSON text;
 * missing keys become `null`.
 */
import {
  generatedColumnNames,
  MAX_KEPT_ISSUES,
  resolveLimits,
  type ByteInput,
  type Cell,
  type Format,
  type ParseOptions,
  type SourceEncoding,
  type SourceRecord,
  type SourceStats,
  type TabularSource,
} from '../source.js';
import { byteLengthOf, createIssueLog, decodeChunks, positionedError, type IssueLog } from './common.js';

export interface JsonParseOptions extends ParseOptions {
  encoding: SourceEncoding;
  /** Byte-order mark length to skip. @defaultValue 0 */
  bom?: number;
}

/** A parsed element with its position. */
interface Element {
  value: unknown;
  line: number;
  byteOffset: number;
}

type ElementSource = AsyncGenerator<Element>;

type ArrayState = 'start' | 'between' | 'element' | 'single' | 'end';

function toCell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  return JSON.stringify(v);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** NDJSON elements: one JSON value per non-blank line. */
async function* ndjsonElements(input: ByteInput, options: JsonParseOptions, log: IssueLog, maxRecordBytes: number, progress: { bytes: number }): ElementSource {
  let carry = '';
  let carryByteStart = options.bom ?? 0;
  let carryUnit = 1;
  let line = 1;
  const decoded = decodeChunks(input, {
    encoding: options.encoding,
    bom: options.bom ?? 0,
    signal: options.signal,
    // Decoding runs a chunk ahead of the line splitter: bad bytes are charged to their line.
    onInvalid(byteOffset, reason) {
      invalid.push({ byteOffset, reason });
    },
  });
  const invalid: { byteOffset: number; reason: string }[] = [];
  const lineOut = function* (text: string, lineNo: number, byteOffset: number, endByte = Number.POSITIVE_INFINITY): Generator<Element> {
    if (invalid.length > 0 && invalid[0]!.byteOffset < endByte) {
      const first = invalid[0]!;
      while (invalid.length > 0 && invalid[0]!.byteOffset < endByte) invalid.shift();
      log.bad({ code: 'parse-error', line: lineNo, byteOffset: first.byteOffset, action: 'skipped', reason: first.reason }, `Invalid text encoding on line ${lineNo}`);
      return;
    }
    const t = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (t.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(t);
    } catch (e) {
      log.bad({ code: 'parse-error', line: lineNo, byteOffset, action: 'skipped', reason: 'invalid-json' }, `Invalid JSON on line ${lineNo}: ${(e as Error).message}`);
      return;
    }
    yield { value, line: lineNo, byteOffset };
  };
  for await (const chunk of decoded) {
    progress.bytes = chunk.byteStart + chunk.byteLength;
    const s = carry + chunk.text;
    const unit = carry.length > 0 && carryUnit !== chunk.unitBytes ? 0 : chunk.unitBytes;
    let start = 0;
    let byteAt = carryByteStart;
    for (let nl = s.indexOf('\n'); nl >= 0; nl = s.indexOf('\n', start)) {
      const text = s.slice(start, nl);
      const bytes = byteLengthOf(s, start, nl + 1, unit);
      if (bytes > maxRecordBytes) {
        throw positionedError('record-too-large', `A line of more than ${maxRecordBytes} bytes`, { line, byteOffset: byteAt }, 'record-too-large');
      }
      yield* lineOut(text, line, byteAt, byteAt + bytes);
      byteAt += bytes;
      line++;
      start = nl + 1;
    }
    carry = s.slice(start);
    carryByteStart = byteAt;
    carryUnit = unit;
    const carryBytes = chunk.byteStart + chunk.byteLength - carryByteStart;
    if (carryBytes > maxRecordBytes) {
      throw positionedError('record-too-large', `A line of more than ${maxRecordBytes} bytes`, { line, byteOffset: carryByteStart }, 'record-too-large');
    }
  }
  if (carry.length > 0) yield* lineOut(carry, line, carryByteStart);
}

/**
 * JSON-array elements. The scanner looks at every character of the array's body, which is
 * the price of knowing where one element ends without a full parse; `JSON.parse` then reads
 * each element natively.
 */
async function* arrayElements(input: ByteInput, options: JsonParseOptions, log: IssueLog, maxRecordBytes: number, progress: { bytes: number }): ElementSource {
  let state = 'start' as ArrayState;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let line = 1;
  let elemLine = 1;
  let elem = '';
  let elemByteStart = 0;
  let s = '';
  let sByteStart = options.bom ?? 0;
  let sUnit = 1;
  const decoded = decodeChunks(input, {
    encoding: options.encoding,
    bom: options.bom ?? 0,
    signal: options.signal,
    onInvalid(byteOffset, reason) {
      log.bad({ code: 'parse-error', byteOffset, line, action: 'skipped', reason }, 'Invalid text encoding');
    },
  });
  const finish = function* (text: string): Generator<Element> {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      log.bad({ code: 'parse-error', line: elemLine, byteOffset: elemByteStart, action: 'skipped', reason: 'invalid-json' }, `Invalid JSON element: ${(e as Error).message}`);
      return;
    }
    yield { value, line: elemLine, byteOffset: elemByteStart };
  };
  const structural = (message: string, reason: string) => positionedError('parse-error', message, { line, byteOffset: progress.bytes }, reason);

  for await (const chunk of decoded) {
    progress.bytes = chunk.byteStart + chunk.byteLength;
    s = chunk.text;
    sByteStart = chunk.byteStart;
    sUnit = chunk.unitBytes;
    const n = s.length;
    let segStart = state === 'element' || state === 'single' ? 0 : -1;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 10) line++;
      if (state === 'element' || state === 'single') {
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 92) escaped = true;
          else if (c === 34) inString = false;
          continue;
        }
        if (c === 34) inString = true;
        else if (c === 123 || c === 91) depth++;
        else if (c === 125 || c === 93) {
          if (depth === 0 && state === 'element' && c === 93) {
            const text = elem + s.slice(segStart, i);
            elem = '';
            if (text.trim() !== '') yield* finish(text);
            state = 'end';
            continue;
          }
          depth--;
        } else if (c === 44 && depth === 0 && state === 'element') {
          const text = elem + s.slice(segStart, i);
          elem = '';
          yield* finish(text);
          state = 'between';
        }
        continue;
      }
      if (c === 32 || c === 10 || c === 13 || c === 9) continue;
      if (state === 'start') {
        if (c === 91) state = 'between';
        else {
          state = 'single';
          segStart = i;
          elemLine = line;
          elemByteStart = sByteStart + byteLengthOf(s, 0, i, sUnit);
          i--;
        }
        continue;
      }
      if (state === 'between') {
        if (c === 93) {
          state = 'end';
          continue;
        }
        state = 'element';
        segStart = i;
        elemLine = line;
        elemByteStart = sByteStart + byteLengthOf(s, 0, i, sUnit);
        depth = 0;
        i--;
        continue;
      }
      if (state === 'end') throw structural('Text after the end of the JSON array', 'trailing-content');
    }
    if (state === 'element' || state === 'single') {
      elem += s.slice(Math.max(0, segStart));
      if (elem.length > maxRecordBytes / 3 && Buffer.byteLength(elem) > maxRecordBytes) {
        throw positionedError('record-too-large', `A JSON element of more than ${maxRecordBytes} bytes`, { line: elemLine, byteOffset: elemByteStart }, 'record-too-large');
      }
    }
  }
  if (state === 'single') {
    yield* finish(elem);
    return;
  }
  if (state !== 'end') throw structural('The JSON array is not closed at the end of the file', 'unterminated-array');
}

async function openJson(format: 'json' | 'ndjson', input: ByteInput, options: JsonParseOptions): Promise<TabularSource> {
  const limits = resolveLimits(options);
  const log = createIssueLog(limits.maxBadRows);
  const progress = { bytes: 0 };
  const elements = format === 'json' ? arrayElements(input, options, log, limits.maxRecordBytes, progress) : ndjsonElements(input, options, log, limits.maxRecordBytes, progress);

  // Read ahead one batch to fix the columns.
  const ahead: Element[] = [];
  let exhausted = false;
  while (ahead.length < limits.batchRows) {
    const next = await elements.next();
    if (next.done) {
      exhausted = true;
      break;
    }
    ahead.push(next.value);
  }
  let mode: 'object' | 'array' | 'scalar' = 'object';
  let names: string[] = [];
  const firstValue = ahead[0]?.value;
  if (Array.isArray(firstValue)) {
    mode = 'array';
    let width = 0;
    for (const e of ahead) if (Array.isArray(e.value)) width = Math.max(width, e.value.length);
    names = generatedColumnNames(width);
  } else if (ahead.length > 0 && !isPlainObject(firstValue)) {
    mode = 'scalar';
    names = ['value'];
  } else {
    const seen = new Set<string>();
    for (const e of ahead) if (isPlainObject(e.value)) for (const k of Object.keys(e.value)) if (!seen.has(k)) {
      seen.add(k);
      names.push(k);
    }
  }
  const drop = new Set(limits.dropColumns);
  const columns = names.filter((n) => !drop.has(n));
  const index = new Map(columns.map((c, i) => [c, i] as const));
  const unknown = new Set<string>();

  let ordinal = 0;
  let rows = 0;
  let done = false;
  const toRecord = (e: Element): SourceRecord | null => {
    const row = ++ordinal;
    const v = e.value;
    let values: Cell[];
    if (mode === 'object') {
      if (!isPlainObject(v)) {
        log.bad({ code: 'ragged-row', row, line: e.line, byteOffset: e.byteOffset, action: 'skipped', reason: 'not-an-object' }, 'An element that is not an object');
        return null;
      }
      values = new Array<Cell>(columns.length).fill(null);
      for (const k in v) {
        const at = index.get(k);
        if (at !== undefined) values[at] = toCell(v[k]);
        else if (!drop.has(k) && !unknown.has(k)) {
          unknown.add(k);
          if (log.issues.length < MAX_KEPT_ISSUES) log.issues.push({ code: 'unknown-field', row, line: e.line, byteOffset: e.byteOffset, action: 'skipped', reason: `field ${JSON.stringify(k)} first seen after the column set was fixed` });
        }
      }
    } else if (mode === 'array') {
      const arr = Array.isArray(v) ? v : [v];
      values = columns.map((_, i) => toCell(arr[i]));
    } else values = [toCell(v)];
    rows++;
    return { row, line: e.line, byteOffset: e.byteOffset, values };
  };

  async function* batches(): AsyncGenerator<SourceRecord[]> {
    let batch: SourceRecord[] = [];
    for (const e of ahead.splice(0)) {
      const r = toRecord(e);
      if (r) batch.push(r);
    }
    if (!exhausted) {
      for (;;) {
        if (batch.length >= limits.batchRows) {
          yield batch;
          batch = [];
        }
        const next = await elements.next();
        if (next.done) break;
        const r = toRecord(next.value);
        if (r) batch.push(r);
      }
    }
    if (batch.length > 0) yield batch;
    done = true;
  }

  const stats = (): SourceStats => ({ rows, badRows: log.badRows(), paddedRows: log.paddedRows(), bytesRead: progress.bytes, done });
  const fmt: Format = format;
  return {
    kind: 'tabular',
    format: fmt,
    encoding: options.encoding,
    header: mode === 'object',
    columns,
    batches: { [Symbol.asyncIterator]: batches },
    issues: log.issues,
    stats,
  };
}

/** Parses a JSON document (an array of records, or one record). */
export function parseJsonArray(input: ByteInput, options: JsonParseOptions): Promise<TabularSource> {
  return openJson('json', input, options);
}

/** Parses NDJSON (JSON Lines): one record per line. */
export function parseNdjson(input: ByteInput, options: JsonParseOptions): Promise<TabularSource> {
  return openJson('ndjson', input, options);
}
