/**
 * @module realms/content/parsers/csv
 * Streaming CSV / TSV / pipe parser: bytes in, record batches with positions out.
 *
 * The hot path is a hand-rolled RFC 4180 scanner over decoded string chunks: unquoted fields
 * are found with `indexOf` on the delimiter and the line break (cached, so every character
 * is looked at by native code about once), quoted fields with `indexOf` on the quote. It is
 * several times faster than `csv-parse` and within reach of uDSV (see `bench/ingest.ts`),
 * and it knows what the product needs that neither gives: the physical line where each
 * record starts (quoted newlines counted), exact byte offsets of bad records in the stored
 * file (any encoding), a bounded carry for records split across chunks, and the ragged-row
 * policy. `csv-parse` stays the product's dialect reader where its strictness serves and
 * speed does not matter: sniffing (`sniff.ts`) reads the header sample with it, the tests
 * use it as the oracle the scanner must agree with record for record (csv-spectrum and a
 * generated policy extract), and `bench/ingest.ts` measures against it.
 *
 * Dialect: one-character delimiter, `"` quotes, `""` escapes a quote inside quotes, line
 * breaks `\n`, `\r\n` (or `\r` alone when the file has no `\n`). A quote inside an unquoted
 * field is literal; text after a closing quote up to the next delimiter is kept (as
 * csv-parse's `relax_quotes`). Blank lines are skipped (and counted as lines).
 *
 * Speed notes (measured, see `bench/ingest.ts`): per-field `indexOf` with cached positions
 * beats both a character loop and `String#split` here; each record starts as a copy of a
 * template of the header's width (one packed allocation); a record carried across chunks
 * is finished on a small joined string so that chunks are never copied whole; and batches
 * are small (256 rows) because records hold slices of their chunk, which a long-lived batch
 * would drag into the old generation.
 *
 * Memory: one decoded chunk plus the carry of an unfinished record, which is refused with
 * `record-too-large` beyond `maxRecordBytes`, so a 100 MB line costs at most about twice
 * that limit. Leases: the parser works chunk by chunk (64 KiB from a file stream, well under
 * a millisecond each) and gives the event loop a turn at least every 20 ms
 * (`yieldToEventLoop`) even when the input is in memory, so timers and lease renewals run
 * throughout; a worker thread would add a copy of every record across threads for no gain
 * (the XLSX path, whose XML parsing exceljs does not chunk so finely, uses one).
 */
import { AppError } from '../../../errors.js';
import {
  generatedColumnNames,
  resolveLimits,
  uniqueColumnNames,
  type ByteInput,
  type ParseOptions,
  type SourceEncoding,
  type SourceRecord,
  type SourceStats,
  type TabularSource,
} from '../source.js';
import { byteLengthOf, createIssueLog, decodeChunks, positionedError, type TextChunk } from './common.js';

/** CSV options once sniffing has decided the dialect. */
export interface CsvParseOptions extends ParseOptions {
  encoding: SourceEncoding;
  delimiter: string;
  header: boolean;
  /** Byte-order mark length to skip (from `sniff`). @defaultValue 0 */
  bom?: number;
}

const QUOTE = 34;
const LF = 10;
const CR = 13;
const NONE = 0x7fffffff;

/**
 * Parses a delimited text stream. Resolves once the header (or the first record) has been
 * read, so `columns` is known; the rest streams through `batches`.
 *
 * @throws AppError (from the promise or from `batches`): `parse-error` (unterminated quote at
 * the end, invalid or truncated UTF-8, a ragged row under `raggedRows: 'reject'`, any bad row
 * when `maxBadRows` is 0), `bad-rows-exceeded`, `record-too-large`; each with `position`
 * `{ line, row, byteOffset }` and `reason`.
 */
export async function parseCsv(input: ByteInput, options: CsvParseOptions): Promise<TabularSource> {
  const limits = resolveLimits(options);
  const { delimiter, header } = options;
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new AppError('params-invalid', `The delimiter must be one character other than a quote or a line break, got ${JSON.stringify(delimiter)}`);
  }
  const DELIM = delimiter.charCodeAt(0);
  const log = createIssueLog(limits.maxBadRows);
  const { raggedRows, batchRows, maxRecordBytes } = limits;

  let columns: string[] | null = null;
  let expected = 0;
  // Each record starts as a copy of this (one allocation of the right size, packed).
  let template: string[] = [];
  let keep: number[] | null = null;
  let line = 1;
  let ordinal = 0;
  let rows = 0;
  let bytesRead = 0;
  let done = false;
  let newline = LF;
  let newlineDecided = false;

  let batch: SourceRecord[] = [];
  const ready: SourceRecord[][] = [];

  // The buffer being scanned and where its bytes are.
  let s = '';
  let sByteStart = 0;
  let sUnit = 1;

  const byteOffsetAt = (charIndex: number) => sByteStart + byteLengthOf(s, 0, charIndex, sUnit);

  const decoded = decodeChunks(input, {
    encoding: options.encoding,
    bom: options.bom ?? 0,
    signal: options.signal,
    // Decoding runs a chunk ahead of the scanner: the bad bytes are charged to the record
    // that holds them once the scanner reaches it (see `invalidIn`).
    onInvalid(byteOffset, reason) {
      invalid.push({ byteOffset, reason });
    },
  });

  /** Offsets of undecodable bytes the scanner has not reached yet, in file order. */
  const invalid: { byteOffset: number; reason: 'invalid-utf-8' | 'truncated-utf-8' | 'invalid-utf-16' }[] = [];
  const invalidLabel = (reason: string) =>
    reason === 'truncated-utf-8' ? 'The file ends inside a UTF-8 character' : reason === 'invalid-utf-16' ? 'The file ends inside a UTF-16 code unit' : 'Invalid UTF-8 bytes';

  /** The first undecodable byte of the record ending at byte `recEndByte`, taking every one it holds. */
  function invalidIn(recEndByte: number): (typeof invalid)[number] | null {
    if (invalid.length === 0 || invalid[0]!.byteOffset >= recEndByte) return null;
    const first = invalid[0]!;
    while (invalid.length > 0 && invalid[0]!.byteOffset < recEndByte) invalid.shift();
    return first;
  }

  function setColumns(values: string[]): void {
    expected = values.length;
    template = new Array<string>(expected).fill('');
    const names = header ? uniqueColumnNames(values) : generatedColumnNames(values.length);
    if (limits.dropColumns.length > 0) {
      const drop = new Set(limits.dropColumns);
      keep = [];
      for (let i = 0; i < names.length; i++) if (!drop.has(names[i]!)) keep.push(i);
      columns = keep.map((i) => names[i]!);
    } else columns = names;
  }

  function tooLarge(recStart: number, recLine: number, bytes: number): AppError {
    return positionedError(
      'record-too-large',
      `A record of more than ${maxRecordBytes} bytes (${bytes} read)`,
      { line: recLine, row: ordinal + 1, byteOffset: byteOffsetAt(recStart) },
      'record-too-large',
    );
  }

  /** Handles one complete record; `values` is fresh and owned. */
  function emit(values: string[], recLine: number, recStart: number, recEnd: number): void {
    if ((recEnd - recStart) * 3 > maxRecordBytes) {
      const bytes = byteLengthOf(s, recStart, recEnd, sUnit);
      if (bytes > maxRecordBytes) throw tooLarge(recStart, recLine, bytes);
    }
    const bad = invalid.length > 0 ? invalidIn(byteOffsetAt(recEnd)) : null;
    if (columns === null) {
      setColumns(values);
      if (header) {
        if (bad) log.bad({ code: 'parse-error', line: recLine, byteOffset: bad.byteOffset, action: 'skipped', reason: bad.reason }, `${invalidLabel(bad.reason)} in the header`);
        return;
      }
    }
    const row = ++ordinal;
    if (bad) {
      // A record holding undecodable bytes is bad as a whole: skipped (or fatal when strict).
      log.bad({ code: 'parse-error', row, line: recLine, byteOffset: bad.byteOffset, action: 'skipped', reason: bad.reason }, invalidLabel(bad.reason));
      return;
    }
    let out = values;
    if (values.length !== expected) {
      const reason = `expected ${expected} fields, found ${values.length}`;
      const position = { code: 'ragged-row', row, line: recLine, byteOffset: byteOffsetAt(recStart), reason };
      if (raggedRows === 'reject') {
        throw positionedError('parse-error', `Ragged row: ${reason}`, position, 'ragged-row');
      }
      if (raggedRows === 'pad' && values.length < expected) {
        out = values.slice();
        while (out.length < expected) out.push('');
        log.padded({ ...position, action: 'padded' });
      } else if (raggedRows === 'pad' && values.slice(expected).every((v) => v === '')) {
        out = values.slice(0, expected);
        log.padded({ ...position, action: 'padded' });
      } else {
        log.bad({ ...position, action: 'skipped' }, `Ragged row: ${reason}`);
        return;
      }
    }
    if (keep !== null) {
      const k = keep;
      const picked = new Array<string>(k.length);
      for (let i = 0; i < k.length; i++) picked[i] = out[k[i]!]!;
      out = picked;
    }
    rows++;
    batch.push({ row, line: recLine, values: out });
    if (batch.length >= batchRows) {
      ready.push(batch);
      batch = [];
    }
  }

  /**
   * Scans `s` from `from`; returns the index where the first unfinished record starts
   * (`s.length` when all was consumed). With `final`, everything is consumed.
   */
  function scan(final: boolean, from = 0): number {
    const str = s;
    const n = str.length;
    const NL = newline;
    const nlChar = NL === LF ? '\n' : '\r';
    let i = from;
    let nextDelim = -1;
    let nextNl = -1;
    while (i < n) {
      const recStart = i;
      const recLine = line;
      let extraLines = 0;
      const values = template.slice();
      let k = 0;
      for (;;) {
        if (i < n && str.charCodeAt(i) === QUOTE) {
          const open = i;
          let j = i + 1;
          let value = '';
          let close = -1;
          for (;;) {
            const q = str.indexOf('"', j);
            if (q < 0) break;
            if (q + 1 < n) {
              if (str.charCodeAt(q + 1) === QUOTE) {
                value += str.slice(j, q + 1);
                j = q + 2;
                continue;
              }
            } else if (!final) break;
            value += str.slice(j, q);
            close = q;
            break;
          }
          if (close < 0) {
            if (!final) return recStart;
            const position = { code: 'parse-error', row: ordinal + 1, line: recLine, byteOffset: byteOffsetAt(recStart), reason: 'unterminated-quote' };
            log.bad({ ...position, action: 'skipped' }, 'Unterminated quoted field at the end of the file');
            // The record runs to the end: undecodable bytes in it are part of this one bad row.
            invalid.length = 0;
            line = recLine + countLines(str, open, n, nlChar);
            return n;
          }
          // Line breaks inside the quotes.
          if (nextNl < open) {
            nextNl = str.indexOf(nlChar, open);
            if (nextNl < 0) nextNl = NONE;
          }
          while (nextNl < close) {
            extraLines++;
            nextNl = str.indexOf(nlChar, nextNl + 1);
            if (nextNl < 0) nextNl = NONE;
          }
          i = close + 1;
          if (i < n) {
            const c = str.charCodeAt(i);
            if (c !== DELIM && c !== NL && c !== CR) {
              // Text after the closing quote: kept up to the next delimiter or line break.
              if (nextDelim < i) {
                nextDelim = str.indexOf(delimiter, i);
                if (nextDelim < 0) nextDelim = NONE;
              }
              if (nextNl < i) {
                nextNl = str.indexOf(nlChar, i);
                if (nextNl < 0) nextNl = NONE;
              }
              let end = nextDelim < nextNl ? nextDelim : nextNl;
              if (end >= n) {
                if (!final) return recStart;
                end = n;
              }
              let stop = end;
              if (NL === LF && end === nextNl && end > i && str.charCodeAt(end - 1) === CR) stop = end - 1;
              value += str.slice(i, stop);
              i = stop;
            }
          }
          values[k++] = value;
        } else {
          if (nextDelim < i) {
            nextDelim = str.indexOf(delimiter, i);
            if (nextDelim < 0) nextDelim = NONE;
          }
          if (nextNl < i) {
            nextNl = str.indexOf(nlChar, i);
            if (nextNl < 0) nextNl = NONE;
          }
          let end = nextDelim < nextNl ? nextDelim : nextNl;
          if (end >= n) {
            if (!final) return recStart;
            end = n;
          }
          values[k++] = NL === LF && end === nextNl && end > i && str.charCodeAt(end - 1) === CR ? str.slice(i, end - 1) : str.slice(i, end);
          i = end;
        }
        if (i >= n) {
          if (!final) return recStart;
          if (k < values.length) values.length = k;
          if (!(k === 1 && values[0] === '' && str.charCodeAt(recStart) !== QUOTE)) emit(values, recLine, recStart, n);
          line = recLine + extraLines;
          return n;
        }
        const c = str.charCodeAt(i);
        if (c === DELIM) {
          i++;
          if (i >= n) {
            if (!final) return recStart;
            values[k++] = '';
            if (k < values.length) values.length = k;
            emit(values, recLine, recStart, n);
            line = recLine + extraLines;
            return n;
          }
          continue;
        }
        // A line break (the only other way a field ends).
        if (c === CR && NL === LF) {
          if (i + 1 >= n && !final) return recStart;
          if (i + 1 < n && str.charCodeAt(i + 1) === LF) i++;
        }
        i++;
        line = recLine + extraLines + 1;
        if (k < values.length) values.length = k;
        if (k === 1 && values[0] === '' && str.charCodeAt(recStart) !== QUOTE) break;
        emit(values, recLine, recStart, i);
        break;
      }
    }
    return n;
  }

  let pending: TextChunk[] = [];
  let pendingChars = 0;
  let pendingBytes = 0;

  function feed(chunks: TextChunk[], final: boolean): void {
    const only = chunks.length === 1 ? chunks[0]! : null;
    if (only && !final && newlineDecided && s.length > 0 && s.length <= only.text.length) {
      // The carry (an unfinished record) usually ends at the chunk's first line break. Finish
      // it on a small joined string, then scan the chunk's own string: joining the carry to the
      // whole chunk would copy every chunk once more (and feed the garbage collector).
      const cut = only.text.indexOf(newline === LF ? '\n' : '\r') + 1;
      if (cut > 0 && cut < only.text.length) {
        const carry = s;
        const carryStart = sByteStart;
        const carryUnit = sUnit;
        s = carry + only.text.slice(0, cut);
        sUnit = carryUnit === only.unitBytes ? carryUnit : 0;
        bytesRead = only.byteStart + only.byteLength;
        const consumed = scan(false);
        if (consumed >= s.length) {
          s = only.text;
          sByteStart = only.byteStart;
          sUnit = only.unitBytes;
          keepCarry(scan(false, cut));
          return;
        }
        // The record goes on past that line break (quoted): scan carry and chunk together.
        s = carry;
        sByteStart = carryStart;
        sUnit = carryUnit;
        if (consumed > 0) {
          // Records ended inside the joined part (a lone CR ended the carry): drop them.
          const joined = carry + only.text.slice(0, cut);
          sByteStart = carryStart + byteLengthOf(joined, 0, consumed, sUnit === only.unitBytes ? sUnit : 0);
          sUnit = sUnit === only.unitBytes ? sUnit : 0;
          s = joined.slice(consumed);
          s += only.text.slice(cut);
          keepCarry(scan(false));
          return;
        }
      }
    }
    // Join the carry and the new text; the buffer's unit size is fixed only if all parts agree.
    let unit = s.length > 0 ? sUnit : chunks[0]?.unitBytes ?? 1;
    let text = s;
    for (const c of chunks) {
      if (c.unitBytes !== unit) unit = 0;
      text += c.text;
      bytesRead = c.byteStart + c.byteLength;
    }
    if (s.length === 0 && chunks.length > 0) sByteStart = chunks[0]!.byteStart;
    s = text;
    sUnit = unit;
    if (!newlineDecided && (s.length > 0 || final)) {
      const lf = s.indexOf('\n');
      const cr = s.indexOf('\r');
      if (lf >= 0 || final || s.length > 65_536) {
        newline = lf < 0 && cr >= 0 ? CR : LF;
        newlineDecided = true;
      }
    }
    keepCarry(scan(final));
  }

  /** Keeps the unfinished record that starts at `consumed` as the carry, within its limit. */
  function keepCarry(consumed: number): void {
    if (consumed >= s.length) {
      s = '';
      sByteStart = bytesRead;
      sUnit = 1;
      return;
    }
    if (consumed > 0) {
      // Measure the (short) carry rather than the (long) consumed part.
      s = s.slice(consumed);
      sByteStart = bytesRead - byteLengthOf(s, 0, s.length, sUnit);
    }
    const carryBytes = bytesRead - sByteStart;
    if (carryBytes > maxRecordBytes) throw tooLarge(0, line, carryBytes);
  }

  async function* pump(): AsyncGenerator<SourceRecord[]> {
    try {
      for await (const chunk of decoded) {
        // A long unfinished record waits for at least as much new text as it holds, so a
        // record spanning k chunks is rescanned O(log k) times, not k times.
        pending.push(chunk);
        pendingChars += chunk.text.length;
        pendingBytes += chunk.byteLength;
        if (s.length > 0 && pendingChars < s.length) {
          const carryBytes = bytesRead - sByteStart + pendingBytes;
          if (carryBytes > maxRecordBytes) throw tooLarge(0, line, carryBytes);
          continue;
        }
        const parts = pending;
        pending = [];
        pendingChars = 0;
        pendingBytes = 0;
        feed(parts, false);
        if (columns !== null && ready.length === 0) yield [];
        while (ready.length > 0) yield ready.shift()!;
      }
      const parts = pending;
      pending = [];
      feed(parts, true);
      if (columns === null) setColumns([]);
      // Undecodable bytes outside every record (e.g. in a trailing blank line).
      for (const rest of invalid.splice(0)) {
        log.bad({ code: 'parse-error', line, byteOffset: rest.byteOffset, action: 'skipped', reason: rest.reason }, invalidLabel(rest.reason));
      }
      if (batch.length > 0) {
        ready.push(batch);
        batch = [];
      }
      while (ready.length > 0) yield ready.shift()!;
      done = true;
    } finally {
      s = '';
    }
  }

  const gen = pump();
  const early: SourceRecord[][] = [];
  let finished = false;
  const known = (): string[] | null => columns;
  while (known() === null) {
    const next = await gen.next();
    if (next.done) {
      finished = true;
      break;
    }
    if (next.value.length > 0) early.push(next.value);
  }

  async function* batches(): AsyncGenerator<SourceRecord[]> {
    for (const b of early.splice(0)) yield b;
    if (finished) return;
    for (;;) {
      const next = await gen.next();
      if (next.done) return;
      if (next.value.length > 0) yield next.value;
    }
  }

  const stats = (): SourceStats => ({ rows, badRows: log.badRows(), paddedRows: log.paddedRows(), bytesRead, done });
  return {
    kind: 'tabular',
    format: 'csv',
    encoding: options.encoding,
    delimiter,
    header,
    columns: known() ?? [],
    batches: { [Symbol.asyncIterator]: batches },
    issues: log.issues,
    stats,
  };
}

function countLines(str: string, from: number, to: number, nlChar: string): number {
  let count = 0;
  for (let p = str.indexOf(nlChar, from); p >= 0 && p < to; p = str.indexOf(nlChar, p + 1)) count++;
  return count;
}
