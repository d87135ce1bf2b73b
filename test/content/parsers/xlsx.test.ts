/**
 * XLSX: every workbook of ../shared/data/xlsx is read or refused with one clear line; dates
 * (1900 and 1904 systems) and numbers are typed; zip bombs, encrypted workbooks and DOCTYPEs
 * are refused before exceljs sees them; the reader runs in a worker thread.
 */
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../../src/errors.js';
import { openSource, openTabular } from '../../../src/realms/content/parse.js';
import { parseXlsx } from '../../../src/realms/content/parsers/xlsx.js';
import type { ParseOptions, SourceRecord, TabularSource } from '../../../src/realms/content/source.js';
import { appErrorOf, chunked, CONTENT_TYPES, records, WORKBOOK, zip } from './helpers.js';

const DIR = '/work/shared/data/xlsx';
const workbooks = readdirSync(DIR).filter((f) => f.endsWith('.xlsx')).sort();

async function readAll(bytes: Buffer, options: ParseOptions & { inWorker?: boolean } = {}) {
  const { sources, sniffed } = await openTabular(chunked(bytes), { ...options, xlsx: { inWorker: options.inWorker ?? true } });
  const sheets: { source: TabularSource; rows: SourceRecord[] }[] = [];
  for await (const source of sources) sheets.push({ source, rows: await records(source) });
  return { sheets, sniffed };
}

describe('the shared workbooks', { timeout: 120_000 }, () => {
  it('has the 10 workbooks', () => {
    expect(workbooks).toHaveLength(10);
  });

  for (const file of workbooks) {
    it(`${file} is read, or refused with one clear line`, async () => {
      const bytes = readFileSync(join(DIR, file));
      try {
        const { sheets, sniffed } = await readAll(bytes, { fileName: file });
        expect(sniffed.format).toBe('xlsx');
        expect(sheets.length).toBeGreaterThan(0);
        for (const { source, rows } of sheets) {
          expect(typeof source.sheet).toBe('string');
          for (const r of rows) {
            expect(r.values).toHaveLength(source.columns.length);
            for (const v of r.values) expect(v === null || ['string', 'number', 'boolean'].includes(typeof v)).toBe(true);
            expect(JSON.stringify(r.values)).not.toContain('[object Object]');
          }
          expect(source.stats()).toMatchObject({ rows: rows.length, done: true });
        }
      } catch (e) {
        // A refusal must be typed and fit on one line.
        expect(isAppError(e)).toBe(true);
        expect((e as Error).message).not.toContain('\n');
      }
    });
  }

  it('text_and_numbers.xlsx: header, Unicode text and typed numbers', async () => {
    const { sheets } = await readAll(readFileSync(join(DIR, 'text_and_numbers.xlsx')));
    const sheet1 = sheets.find((s) => s.source.sheet === 'Sheet1')!;
    expect(sheet1.source.header).toBe(true);
    expect(sheet1.source.columns).toEqual(['English', 'Hello', 'World']);
    expect(sheet1.rows.map((r) => [r.line, ...r.values])).toEqual([
      [2, 'Hebrew', 'שלום', 'עולם'],
      [4, 1337, 13.37, 1337],
    ]);
  });

  it('ErrorTypes.xlsx: error cells keep their code', async () => {
    const { sheets } = await readAll(readFileSync(join(DIR, 'ErrorTypes.xlsx')), { inWorker: false });
    expect(sheets[0]!.rows[0]!.values.slice(0, 2)).toEqual(['#NULL!', '#NULL!']);
  });

  it('large_strings.xlsx: every sheet, the sheets filter, no header when the first row is data', async () => {
    const { sheets } = await readAll(readFileSync(join(DIR, 'large_strings.xlsx')), { sheets: ['longwordslist'] });
    expect(sheets.map((s) => s.source.sheet)).toEqual(['longwordslist']);
    expect(sheets[0]!.source.header).toBe(false);
    expect(sheets[0]!.rows[0]).toEqual({ row: 1, line: 1, values: ['abandonment', 'abandonment'] });
    expect(sheets[0]!.rows.length).toBeGreaterThan(17_000);
  });
});

async function workbookBytes(date1904: boolean): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.properties.date1904 = date1904;
  const ws = wb.addWorksheet('Policies');
  ws.addRow(['POL_NO', 'ISSUE_DT', 'FACE_AMT', 'ACTIVE', 'LAST_CALL']);
  ws.addRow(['LP0000000001', new Date(Date.UTC(2003, 6, 26)), 250000.5, true, new Date(Date.UTC(2024, 0, 2, 13, 45, 0))]);
  ws.addRow(['LP0000000002', new Date(Date.UTC(1999, 7, 26)), 1000, false, null]);
  ws.getColumn(2).numFmt = 'yyyy-mm-dd';
  ws.getColumn(5).numFmt = 'yyyy-mm-dd hh:mm';
  // A formula whose cached result is a date serial (2003-07-27 is 37829 in the 1900 system).
  const formula = ws.getCell('F2');
  formula.value = { formula: 'B2+1', result: date1904 ? 37829 - 1462 : 37829 } as ExcelJS.CellFormulaValue;
  formula.numFmt = 'dd-mmm-yy';
  ws.getCell('F1').value = 'NEXT_DT';
  const other = wb.addWorksheet('Agents');
  other.addRow(['AGT_NO', 'AGT_NAME']);
  other.addRow(['A1', 'Lee, Bo']);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

describe('typed cells', () => {
  for (const date1904 of [false, true]) {
    it(`dates become ISO strings under the ${date1904 ? '1904' : '1900'} date system`, async () => {
      const { sheets } = await readAll(await workbookBytes(date1904));
      expect(sheets.map((s) => s.source.sheet)).toEqual(['Policies', 'Agents']);
      expect(sheets[0]!.source.columns).toEqual(['POL_NO', 'ISSUE_DT', 'FACE_AMT', 'ACTIVE', 'LAST_CALL', 'NEXT_DT']);
      expect(sheets[0]!.rows.map((r) => r.values)).toEqual([
        ['LP0000000001', '2003-07-26', 250000.5, true, '2024-01-02T13:45:00', '2003-07-27'],
        ['LP0000000002', '1999-08-26', 1000, false, null, null],
      ]);
      expect(sheets[1]!.rows.map((r) => r.values)).toEqual([['A1', 'Lee, Bo']]);
    });
  }

  it('reads the same in-process as in the worker', async () => {
    const bytes = await workbookBytes(false);
    const a = await readAll(bytes, { inWorker: true });
    const b = await readAll(bytes, { inWorker: false });
    expect(a.sheets.map((s) => s.rows)).toEqual(b.sheets.map((s) => s.rows));
  });
});

describe('a large sheet', () => {
  it('streams in batches: the main thread never holds the sheet', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xlsx-large-'));
    try {
      const file = join(dir, 'large.xlsx');
      const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useSharedStrings: true });
      const ws = writer.addWorksheet('Policies');
      ws.addRow(['POL_NO', 'OWNER_NM', 'ISSUE_DT', 'FACE_AMT', 'NOTES']).commit();
      const rows = 200_000;
      for (let i = 0; i < rows; i++) {
        ws.addRow([`LP${String(i).padStart(10, '0')}`, `OWNER ${i % 5000}, A`, new Date(Date.UTC(1990, 0, 1 + (i % 9000))), 1000 + i, `note ${i} `.repeat(8)]).commit();
      }
      ws.commit();
      await writer.commit();
      global.gc?.();
      const base = process.memoryUsage().heapUsed;
      let peak = 0;
      let seen = 0;
      let batches = 0;
      const { sources } = await openTabular(createReadStream(file), { fileName: 'large.xlsx' });
      for await (const source of sources) {
        for await (const batch of source.batches) {
          seen += batch.length;
          batches++;
          if (batches % 20 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - base);
        }
      }
      expect(seen).toBe(rows);
      expect(batches).toBeGreaterThan(100);
      // Kept, these records take about 70 MB of heap (measured); streamed, the main thread
      // holds a few batches and some garbage.
      expect(peak).toBeLessThan(32 * 1024 * 1024);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ragged rows in a sheet', () => {
  async function wide(): Promise<Buffer> {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Policies');
    ws.addRow(['POL_NO', 'STATUS']);
    ws.addRow(['LP1', 'ACTIVE']);
    ws.addRow(['LP2', 'LAPSED', 'stray note']);
    ws.addRow(['LP3']);
    return Buffer.from(await wb.xlsx.writeBuffer());
  }

  it('skips and reports a row wider than the header with its sheet and cell; pads short rows', async () => {
    const { sheets } = await readAll(await wide(), { inWorker: false });
    expect(sheets[0]!.rows.map((r) => r.values)).toEqual([
      ['LP1', 'ACTIVE'],
      ['LP3', null],
    ]);
    expect(sheets[0]!.source.issues).toEqual([
      { code: 'ragged-row', row: 2, line: 3, sheet: 'Policies', cell: 'C3', action: 'skipped', reason: 'expected 2 columns, found 3' },
    ]);
  });

  it('fails on it under the strict policy with its position', async () => {
    const e = await appErrorOf(readAll(await wide(), { raggedRows: 'reject', maxBadRows: 0 }));
    expect(e.code).toBe('parse-error');
    expect(e.extras).toMatchObject({ reason: 'ragged-row', position: { sheet: 'Policies', cell: 'C3', line: 3, row: 2 } });
  });
});

describe('unsafe and malformed workbooks (strict policy)', () => {
  const STRICT = { raggedRows: 'reject', maxBadRows: 0 } as const;

  it('refuses a zip bomb renamed .xlsx by its declared ratio', async () => {
    const bomb = zip([
      { name: '[Content_Types].xml', data: CONTENT_TYPES },
      { name: 'xl/workbook.xml', data: WORKBOOK },
      { name: 'xl/worksheets/sheet1.xml', data: Buffer.alloc(64 * 1024 * 1024) },
    ]);
    expect(bomb.length).toBeLessThan(200 * 1024);
    const e = await appErrorOf(openSource(chunked(bomb), { ...STRICT, fileName: 'policies.xlsx' }));
    expect(e.code).toBe('unsafe-content');
    expect(e.extras).toMatchObject({ reason: 'zip-bomb', entry: 'xl/worksheets/sheet1.xml' });
    expect(e.message).toMatch(/zip bomb/);
  });

  it('refuses a zip bomb whose headers lie about sizes, by counting inflated bytes', async () => {
    const bomb = zip([
      { name: '[Content_Types].xml', data: CONTENT_TYPES },
      { name: 'xl/workbook.xml', data: WORKBOOK },
      { name: 'xl/worksheets/sheet1.xml', data: Buffer.alloc(32 * 1024 * 1024), declaredSize: 4096 },
    ]);
    const e = await appErrorOf(openSource(chunked(bomb), { ...STRICT, fileName: 'policies.xlsx' }));
    expect(e.code).toBe('unsafe-content');
    expect(e.extras).toMatchObject({ reason: 'zip-bomb' });
  });

  it('refuses an encrypted workbook (an OLE compound file) before reading it', async () => {
    const ole = Buffer.alloc(4096);
    Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(ole, 0);
    Buffer.from('EncryptionInfo', 'utf16le').copy(ole, 1024);
    Buffer.from('EncryptedPackage', 'utf16le').copy(ole, 1152);
    const e = await appErrorOf(openSource(chunked(ole), { ...STRICT, fileName: 'secret.xlsx' }));
    expect(e.code).toBe('unsafe-content');
    expect(e.extras.reason).toBe('encrypted-workbook');
    const legacy = Buffer.alloc(4096);
    Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(legacy, 0);
    Buffer.from('Workbook', 'utf16le').copy(legacy, 1024);
    const e2 = await appErrorOf(openSource(chunked(legacy), { fileName: 'old.xls' }));
    expect(e2.code).toBe('unsupported-format');
  });

  it('refuses an entry flagged as encrypted inside the ZIP', async () => {
    const z = zip([
      { name: '[Content_Types].xml', data: CONTENT_TYPES },
      { name: 'xl/workbook.xml', data: WORKBOOK, flags: 1 },
    ]);
    const e = await appErrorOf(openSource(chunked(z), { fileName: 'x.xlsx' }));
    expect(e.code).toBe('unsafe-content');
    expect(e.extras.reason).toBe('encrypted-entry');
  });

  it('refuses XML with a DOCTYPE (entity expansion)', async () => {
    const evil = Buffer.from('<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">]><workbook/>');
    const z = zip([
      { name: '[Content_Types].xml', data: CONTENT_TYPES },
      { name: 'xl/workbook.xml', data: evil },
    ]);
    const e = await appErrorOf(openSource(chunked(z), { fileName: 'x.xlsx' }));
    expect(e.code).toBe('unsafe-content');
    expect(e.extras.reason).toBe('xml-doctype');
  });

  it('refuses a truncated workbook and shared strings above the limit with typed errors', async () => {
    const bytes = await workbookBytes(false);
    const cut = await appErrorOf(openSource(chunked(bytes.subarray(0, bytes.length - 100)), { fileName: 'cut.xlsx' }));
    expect(cut.code).toBe('parse-error');
    expect(cut.extras.reason).toBe('invalid-zip');
    const e = await appErrorOf(parseXlsx(chunked(bytes), { zip: { maxSharedStringsBytes: 10 } }));
    expect(e.code).toBe('unsafe-content');
    expect(e.extras.reason).toBe('shared-strings-too-large');
  });
});
