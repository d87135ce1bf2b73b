/**
 * @module realms/content/parsers/xlsxRead
 * The exceljs side of the XLSX parser: reads a workbook file (already checked by
 * `scanZip`) sheet by sheet with the streaming `WorkbookReader` and reports through a sink.
 * It runs in a worker thread (`xlsxWorker.ts`) or, when asked, in-process.
 *
 * exceljs is given `styles: 'cache'` (dates are recognised from number formats only with
 * cached styles) and `sharedStrings: 'cache'`; it honours the workbook's 1904 date system.
 * Values: numbers stay numbers, booleans booleans, dates become ISO strings (`YYYY-MM-DD`,
 * or `YYYY-MM-DDTHH:mm:ss` with a time), rich text its plain text, hyperlinks their text,
 * formulas their cached result (a date when the cell has a date format), error cells their
 * code (`#N/A`).
 */
import ExcelJS from 'exceljs';
import { detectHeader } from '../sniff.js';
import { generatedColumnNames, uniqueColumnNames, type Cell, type ParseIssue, type RaggedRowPolicy, type SourceRecord } from '../source.js';

export interface XlsxReadOptions {
  sheets?: string[];
  header?: boolean;
  raggedRows: RaggedRowPolicy;
  batchRows: number;
  dropColumns: string[];
  /** Rows read ahead to detect the header and the width. */
  lookahead?: number;
}

/** What the reader reports, in order: per sheet `sheet`, `batch`…, `sheetEnd`. */
export interface XlsxSink {
  sheet(info: { name: string; header: boolean; columns: string[] }): Promise<void> | void;
  batch(records: SourceRecord[]): Promise<void> | void;
  issue(issue: ParseIssue, bad: boolean, message: string): Promise<void> | void;
  sheetEnd(info: { name: string; rows: number }): Promise<void> | void;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** A JS Date from exceljs (UTC-based, Excel has no zone) as an ISO date or datetime. */
export function isoOf(d: Date): string | null {
  if (Number.isNaN(d.getTime())) return null;
  const date = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
  if (d.getUTCHours() === 0 && d.getUTCMinutes() === 0 && d.getUTCSeconds() === 0) return date;
  return `${date}T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/** An exceljs cell value as a {@link Cell}. */
export function cellOf(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Date) return isoOf(v);
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.richText)) return (o.richText as { text?: unknown }[]).map((r) => (typeof r.text === 'string' ? r.text : '')).join('');
    if ('error' in o) return typeof o.error === 'string' ? o.error : '#ERROR';
    if ('formula' in o || 'sharedFormula' in o) return cellOf(o.result);
    if ('text' in o) return cellOf(o.text);
    if ('hyperlink' in o) return typeof o.hyperlink === 'string' ? o.hyperlink : null;
    if ('sharedString' in o) {
      // exceljs read the sheet before its shared-strings table: never store an index as a value.
      throw new Error('a shared string was referenced before the shared-strings table was read');
    }
    return JSON.stringify(v);
  }
  return String(v);
}

/** exceljs' test for a date number format: date letters outside quotes and brackets. */
function isDateFormat(fmt: string | undefined): boolean {
  if (!fmt) return false;
  return /[ymdhMsb]/.test(fmt.replace(/\[[^\]]*]/g, '').replace(/"[^"]*"/g, ''));
}

/** An Excel serial date as a JS Date (UTC), as exceljs converts plain date cells. */
function serialToDate(serial: number, date1904: boolean): Date {
  return new Date(Math.round((serial - 25569 + (date1904 ? 1462 : 0)) * 86_400_000));
}

function columnLetter(n: number): string {
  let s = '';
  for (let x = n; x > 0; x = Math.floor((x - 1) / 26)) s = String.fromCharCode(65 + ((x - 1) % 26)) + s;
  return s;
}

/** Reads every selected sheet of the workbook at `path`. */
export async function readWorkbook(path: string, options: XlsxReadOptions, sink: XlsxSink): Promise<void> {
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(path, {
    entries: 'emit',
    sharedStrings: 'cache',
    styles: 'cache',
    hyperlinks: 'ignore',
    worksheets: 'emit',
  });
  const wanted = options.sheets && options.sheets.length > 0 ? new Set(options.sheets) : null;
  const lookahead = options.lookahead ?? 50;
  let sheetNo = 0;
  for await (const worksheet of reader) {
    sheetNo++;
    const name = (worksheet as unknown as { name?: string }).name ?? `Sheet${sheetNo}`;
    if (wanted && !wanted.has(name)) {
      // The zip is read in order: the sheet's rows must still be drained.
      for await (const _row of worksheet) {
        // Skipped sheet.
      }
      continue;
    }
    const ahead: { number: number; values: Cell[] }[] = [];
    let columns: string[] | null = null;
    let width = 0;
    let header = false;
    let keep: number[] | null = null;
    let ordinal = 0;
    let rows = 0;
    let batch: SourceRecord[] = [];

    const fix = async () => {
      for (const r of ahead) width = Math.max(width, r.values.length);
      const texts = ahead.slice(0, lookahead).map((r) => r.values.map((v) => (v === null ? '' : typeof v === 'string' ? v : String(v))));
      const first = ahead[0];
      header = options.header ?? (first !== undefined && first.values.every((v) => typeof v === 'string') && detectHeader(texts));
      let names: string[];
      if (header && first) {
        // The header row fixes the width, as in a CSV: a filled cell beyond it is ragged.
        width = first.values.length;
        names = uniqueColumnNames(first.values.map((v) => (v === null ? '' : String(v))));
      } else names = generatedColumnNames(width);
      if (options.dropColumns.length > 0) {
        const drop = new Set(options.dropColumns);
        keep = [];
        for (let i = 0; i < names.length; i++) if (!drop.has(names[i]!)) keep.push(i);
        names = keep.map((i) => names[i]!);
      }
      columns = names;
      await sink.sheet({ name, header, columns });
      const rest = header ? ahead.slice(1) : ahead.slice();
      ahead.length = 0;
      for (const r of rest) await take(r);
    };

    const take = async (r: { number: number; values: Cell[] }) => {
      const row = ++ordinal;
      let values = r.values;
      if (values.length > width) {
        const extra = values.slice(width);
        if (extra.every((v) => v === null)) values = values.slice(0, width);
        else {
          const firstExtra = width + extra.findIndex((v) => v !== null) + 1;
          const issue: ParseIssue = {
            code: 'ragged-row',
            row,
            line: r.number,
            sheet: name,
            cell: `${columnLetter(firstExtra)}${r.number}`,
            action: options.raggedRows === 'pad' ? 'padded' : options.raggedRows === 'reject' ? 'rejected' : 'skipped',
            reason: `expected ${width} columns, found ${values.length}`,
          };
          if (options.raggedRows === 'pad') {
            await sink.issue(issue, false, 'Row wider than the header: extra cells dropped');
            values = values.slice(0, width);
          } else {
            await sink.issue(issue, true, `Row wider than the header (${issue.reason})`);
            return;
          }
        }
      }
      while (values.length < width) values.push(null);
      if (keep) {
        const k = keep;
        values = k.map((i) => values[i]!);
      }
      rows++;
      batch.push({ row, line: r.number, values });
      if (batch.length >= options.batchRows) {
        const out = batch;
        batch = [];
        await sink.batch(out);
      }
    };

    // exceljs types plain date cells itself, but leaves a formula's cached result a number
    // even when the cell is formatted as a date.
    const date1904 = (reader as unknown as { properties?: { model?: { date1904?: boolean } } }).properties?.model?.date1904 === true;
    for await (const row of worksheet) {
      const raw = row.values as unknown[];
      const values: Cell[] = [];
      let any = false;
      for (let i = 1; i < raw.length; i++) {
        let v = raw[i];
        if (typeof v === 'object' && v !== null && 'formula' in v) {
          const result = (v as { result?: unknown }).result;
          if (typeof result === 'number' && isDateFormat(row.getCell(i).numFmt)) v = serialToDate(result, date1904);
        }
        const c = cellOf(v);
        if (c !== null && c !== '') any = true;
        values.push(c);
      }
      if (!any) continue;
      while (values.length > 0 && values[values.length - 1] === null) values.pop();
      const rec = { number: row.number, values };
      if (columns === null) {
        ahead.push(rec);
        if (ahead.length >= lookahead) await fix();
      } else await take(rec);
    }
    if (columns === null) await fix();
    if (batch.length > 0) await sink.batch(batch);
    await sink.sheetEnd({ name, rows });
  }
}
