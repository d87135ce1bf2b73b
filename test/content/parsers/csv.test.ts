/**
 * The CSV path: sniffing (encodings, delimiters, header), the streaming scanner (positions,
 * ragged rows, error budget) and the bad-input table under the strict and default policies.
 */
import { parse as parseCsvSync } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { generatePolicies, POLICY_COLUMNS } from '../../../bench/gen/policies.js';
import { openTabular } from '../../../src/realms/content/parse.js';
import { parseCsv } from '../../../src/realms/content/parsers/csv.js';
import { sniff } from '../../../src/realms/content/sniff.js';
import type { ByteInput, ParseOptions } from '../../../src/realms/content/source.js';
import { appErrorOf, chunked, objects, records } from './helpers.js';

const STRICT = { raggedRows: 'reject', maxBadRows: 0 } as const satisfies ParseOptions;

async function table(bytes: Buffer | string, options: ParseOptions = {}, chunkSize = 65_536) {
  const { sources, sniffed } = await openTabular(chunked(bytes, chunkSize), options);
  const list = [];
  for await (const s of sources) list.push({ source: s, rows: await objects(s) });
  return { ...list[0]!, sniffed };
}

const SAMPLE = 'name,city,amount\nJosé Müller,Zürich,12.50\n"Smith, Anne",Genève,7\n';

describe('encodings', () => {
  it('reads UTF-16 LE with a BOM', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SAMPLE, 'utf16le')]);
    const { rows, sniffed } = await table(bytes, { fileName: 'x.csv' }, 5);
    expect(sniffed.encoding).toBe('utf-16le');
    expect(rows).toEqual([
      { name: 'José Müller', city: 'Zürich', amount: '12.50' },
      { name: 'Smith, Anne', city: 'Genève', amount: '7' },
    ]);
  });

  it('reads UTF-16 BE with a BOM', async () => {
    const le = Buffer.from(SAMPLE, 'utf16le');
    const be = Buffer.from(le);
    be.swap16();
    const { rows, sniffed } = await table(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), {}, 3);
    expect(sniffed.encoding).toBe('utf-16be');
    expect(rows[0]).toEqual({ name: 'José Müller', city: 'Zürich', amount: '12.50' });
    expect(rows).toHaveLength(2);
  });

  it('reads UTF-16 LE without a BOM from its NUL pattern', async () => {
    const { rows, sniffed } = await table(Buffer.from(SAMPLE, 'utf16le'));
    expect(sniffed.encoding).toBe('utf-16le');
    expect(rows[1]).toEqual({ name: 'Smith, Anne', city: 'Genève', amount: '7' });
  });

  it('reads Latin-1 when the bytes are not UTF-8', async () => {
    const { rows, sniffed, source } = await table(Buffer.from(SAMPLE, 'latin1'), {}, 4);
    expect(sniffed.encoding).toBe('latin1');
    expect(rows[0]).toEqual({ name: 'José Müller', city: 'Zürich', amount: '12.50' });
    expect(source.issues).toEqual([]);
  });

  it('strips a UTF-8 BOM and keeps byte offsets of the stored file', async () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a,b\n1,2\n3\n5,6\n')]);
    const { rows, sniffed, source } = await table(bytes, {}, 2);
    expect(sniffed).toMatchObject({ encoding: 'utf-8', bom: 3 });
    expect(source.columns).toEqual(['a', 'b']);
    expect(rows).toEqual([{ a: '1', b: '2' }, { a: '5', b: '6' }]);
    // "3\n" starts at byte 3 (BOM) + 4 ("a,b\n") + 4 ("1,2\n").
    expect(source.issues).toEqual([{ code: 'ragged-row', row: 2, line: 3, byteOffset: 11, action: 'skipped', reason: 'expected 2 fields, found 1' }]);
  });

  it('counts byte offsets in UTF-8 with multi-byte characters before the bad row', async () => {
    const text = 'a,b\nü,€\nbad\n';
    const { source } = await table(Buffer.from(text), {}, 1);
    expect(source.issues[0]).toMatchObject({ line: 3, row: 2, byteOffset: Buffer.byteLength('a,b\nü,€\n') });
  });
});

describe('dialect detection', () => {
  it('detects TSV without hints', async () => {
    const { rows, sniffed } = await table('POL_NO\tFACE_AMT\tNOTES\nLP01\t000012345\tsays "hi", ok\nLP02\t000000100\t\n');
    expect(sniffed).toMatchObject({ format: 'csv', delimiter: '\t', header: true });
    expect(rows).toEqual([
      { POL_NO: 'LP01', FACE_AMT: '000012345', NOTES: 'says "hi", ok' },
      { POL_NO: 'LP02', FACE_AMT: '000000100', NOTES: '' },
    ]);
  });

  it('detects pipe-delimited files without hints, commas in values included', async () => {
    const { rows, sniffed } = await table('id|name|amount\n1|Smith, Anne|1,200.50\n2|Lee, Bo|3.00\n3|Ng|4\n');
    expect(sniffed.delimiter).toBe('|');
    expect(rows[0]).toEqual({ id: '1', name: 'Smith, Anne', amount: '1,200.50' });
  });

  it('detects semicolons (European CSV with decimal commas)', async () => {
    const { rows, sniffed } = await table('id;amount;date\n1;12,50;01.02.2024\n2;3,00;02.02.2024\n');
    expect(sniffed.delimiter).toBe(';');
    expect(rows[1]).toEqual({ id: '2', amount: '3,00', date: '02.02.2024' });
  });

  it('sees no header when the first row holds numbers', async () => {
    const { source, sniffed } = await table('1,2,3\n4,5,6\n');
    expect(sniffed.header).toBe(false);
    expect(source.columns).toEqual(['col_1', 'col_2', 'col_3']);
    expect(await records(source)).toEqual([]); // already read by `table`
  });

  it('sees a header over numeric and date columns', () => {
    const r = sniff(Buffer.from('POL_NO,ISSUE_DT,FACE_AMT\nLP0000000001,20030726,000078000000\nLP0000000002,19990826,000324000000\n'));
    expect(r).toMatchObject({ format: 'csv', delimiter: ',', header: true });
  });

  it('makes duplicate and blank header names unique', async () => {
    const { source } = await table('a,a,,b\n1,2,3,4\n', { header: true });
    expect(source.columns).toEqual(['a', 'a_2', 'col_3', 'b']);
  });

  it('honours dropColumns', async () => {
    const { rows, source } = await table('a,b,c\n1,2,3\n', { dropColumns: ['b'] });
    expect(source.columns).toEqual(['a', 'c']);
    expect(rows).toEqual([{ a: '1', c: '3' }]);
  });

  it('reads CR-only line breaks', async () => {
    const { rows } = await table('a,b\r1,2\r3,4\r');
    expect(rows).toEqual([{ a: '1', b: '2' }, { a: '3', b: '4' }]);
  });
});

describe('positions and ragged rows', () => {
  const ragged = 'a,b,c\n1,2,3\n"x\ny",5\n7,8,9\n10,11,12,13\n14,15,16\n';

  it('skips and reports ragged rows with row, line and byte offset by default', async () => {
    const { source, rows } = await table(ragged, {}, 3);
    expect(rows).toEqual([
      { a: '1', b: '2', c: '3' },
      { a: '7', b: '8', c: '9' },
      { a: '14', b: '15', c: '16' },
    ]);
    expect(source.issues).toEqual([
      { code: 'ragged-row', row: 2, line: 3, byteOffset: 12, action: 'skipped', reason: 'expected 3 fields, found 2' },
      { code: 'ragged-row', row: 4, line: 6, byteOffset: 26, action: 'skipped', reason: 'expected 3 fields, found 4' },
    ]);
    expect(source.stats()).toMatchObject({ rows: 3, badRows: 2, done: true });
  });

  it('keeps row numbers and physical lines across quoted newlines', async () => {
    const opened = await openTabular(chunked('a,b\n"1\n2\n3",x\n4,y\n', 2));
    for await (const s of opened.sources) {
      expect((await records(s)).map((r) => [r.row, r.line])).toEqual([
        [1, 2],
        [2, 5],
      ]);
    }
  });

  it('pads short rows under raggedRows: pad and trims empty extra fields', async () => {
    const { rows, source } = await table('a,b,c\n1,2\n3,4,5,,\n', { raggedRows: 'pad' });
    expect(rows).toEqual([
      { a: '1', b: '2', c: '' },
      { a: '3', b: '4', c: '5' },
    ]);
    expect(source.issues.map((i) => [i.action, i.line])).toEqual([
      ['padded', 2],
      ['padded', 3],
    ]);
    expect(source.stats()).toMatchObject({ badRows: 0, paddedRows: 2 });
  });

  it('fails on the first ragged row under raggedRows: reject, with its position', async () => {
    const e = await appErrorOf(table(ragged, { raggedRows: 'reject' }));
    expect(e.code).toBe('parse-error');
    expect(e.extras).toMatchObject({ position: { row: 2, line: 3, byteOffset: 12 }, reason: 'ragged-row' });
  });

  it('fails with bad-rows-exceeded past maxBadRows, the first issues attached', async () => {
    const body = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? `${i},x` : `${i},x,y`)).join('\n');
    const e = await appErrorOf(table(`a,b\n${body}\n`, { maxBadRows: 3 }));
    expect(e.code).toBe('bad-rows-exceeded');
    const issues = e.extras.issues as { line: number }[];
    expect(issues.map((i) => i.line)).toEqual([3, 5, 7, 9]);
    expect(e.extras.position).toMatchObject({ line: 9, row: 8 });
  });
});

/** A stream of `total` bytes of one unbroken line, made on the fly. */
function longLine(total: number, chunk = 1024 * 1024): ByteInput {
  const block = Buffer.alloc(chunk, 'x');
  return {
    async *[Symbol.asyncIterator]() {
      yield Buffer.from('a,b\n1,');
      for (let sent = 0; sent < total; sent += chunk) yield block;
      yield Buffer.from('\n');
    },
  };
}

describe('bad input under the strict policy (raggedRows: reject, maxBadRows: 0)', () => {
  it('refuses an empty file: parse-error, reason empty', async () => {
    const e = await appErrorOf(openTabular(chunked(Buffer.alloc(0)), { ...STRICT, fileName: 'empty.csv' }));
    expect(e.code).toBe('parse-error');
    expect(e.extras).toMatchObject({ reason: 'empty', position: { byteOffset: 0 } });
  });

  it('refuses binary content named .csv: unsupported-format', async () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(200, 7)]);
    const e1 = await appErrorOf(openTabular(chunked(png), { ...STRICT, fileName: 'policies.csv' }));
    expect(e1.code).toBe('unsupported-format');
    const noise = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
    const e2 = await appErrorOf(openTabular(chunked(noise), { ...STRICT, fileName: 'policies.csv' }));
    expect(e2.code).toBe('unsupported-format');
    expect(e2.extras.reason).toBe('binary');
  });

  it('refuses truncated UTF-8 with the byte offset of the cut character', async () => {
    const bytes = Buffer.concat([Buffer.from('a,b\n1,Zürich\n2,'), Buffer.from('€').subarray(0, 2)]);
    const e = await appErrorOf(table(bytes, STRICT, 4));
    expect(e.code).toBe('parse-error');
    expect(e.extras).toMatchObject({ reason: 'truncated-utf-8', position: { byteOffset: bytes.length - 2 } });
  });

  it('refuses invalid UTF-8 in the middle with its byte offset', async () => {
    const head = Buffer.from('a,b\n' + 'x,y\n'.repeat(20_000)); // past the sniffed head
    const bytes = Buffer.concat([head, Buffer.from([0x31, 0x2c, 0xc3, 0x28, 0x0a])]);
    const e = await appErrorOf(table(bytes, STRICT));
    expect(e.code).toBe('parse-error');
    expect(e.extras).toMatchObject({ reason: 'invalid-utf-8', position: { byteOffset: head.length + 2 } });
  });

  it('refuses an unterminated quote at the end of the file with the record position', async () => {
    const text = 'a,b\n1,2\n3,"never closed\nstill open\n';
    const e = await appErrorOf(table(text, STRICT, 5));
    expect(e.code).toBe('parse-error');
    expect(e.extras).toMatchObject({ reason: 'unterminated-quote', position: { line: 3, row: 2, byteOffset: 8 } });
  });

  it('refuses a 100 MB single line as record-too-large without buffering it', async () => {
    const before = process.memoryUsage().rss;
    const e = await appErrorOf(
      (async () => {
        const source = await parseCsv(longLine(100 * 1024 * 1024), { encoding: 'utf-8', delimiter: ',', header: true, ...STRICT });
        await records(source);
      })(),
    );
    expect(e.code).toBe('record-too-large');
    expect(e.extras).toMatchObject({ position: { line: 2, row: 1, byteOffset: 4 } });
    // The parser stops at the 16 MiB limit: memory grows by a small multiple of it, not 100 MB.
    expect(process.memoryUsage().rss - before).toBeLessThan(90 * 1024 * 1024);
  });

  it('refuses a ragged row with parse-error and its position', async () => {
    const e = await appErrorOf(table('a,b\n1,2\n3\n', STRICT));
    expect(e.extras).toMatchObject({ position: { line: 3, row: 2, byteOffset: 8 } });
  });

  it('refuses a fixed-width extract as unsupported-format', async () => {
    const lines = Array.from({ length: 8 }, (_, i) => `LP000000000${i} 20240101 000012345 SMITH     JOHN      `).join('\n');
    const e = await appErrorOf(openTabular(chunked(lines + '\n'), { fileName: 'extract.dat' }));
    expect(e.code).toBe('unsupported-format');
    const e2 = await appErrorOf(openTabular(chunked('a,b\n'), { format: 'fixed-width' }));
    expect(e2.code).toBe('unsupported-format');
  });
});

describe('bad input under the default policy', () => {
  it('skips and reports truncated UTF-8, unterminated quotes and ragged rows with positions', async () => {
    const bytes = Buffer.concat([Buffer.from('a,b\nZürich,2\n3\n4,"open\n'), Buffer.from('€').subarray(0, 1)]);
    const { rows, source } = await table(bytes);
    expect(rows).toEqual([{ a: 'Zürich', b: '2' }]);
    expect(source.issues.map(({ code, reason, line, action }) => ({ code, reason, line, action }))).toEqual([
      { code: 'ragged-row', reason: 'expected 2 fields, found 1', line: 3, action: 'skipped' },
      // The truncated character is inside the unterminated record: one bad row, one issue.
      { code: 'parse-error', reason: 'unterminated-quote', line: 4, action: 'skipped' },
    ]);
    expect(source.stats().badRows).toBe(2);
    // Undecodable bytes are charged to the record that holds them, with its line and row.
    const mid = Buffer.concat([Buffer.from('a,b\nx,1\ny,'), Buffer.from([0xff]), Buffer.from('2\nz,3\n')]);
    const second = await table(mid, { encoding: 'utf-8', header: true });
    expect(second.rows).toEqual([{ a: 'x', b: '1' }, { a: 'z', b: '3' }]);
    expect(second.source.issues).toEqual([{ code: 'parse-error', reason: 'invalid-utf-8', row: 2, line: 3, byteOffset: 10, action: 'skipped' }]);
    const tail = Buffer.concat([Buffer.from('a,b\nx,1\ny,2'), Buffer.from('€').subarray(0, 2)]);
    const third = await table(tail, { encoding: 'utf-8', header: true });
    expect(third.rows).toEqual([{ a: 'x', b: '1' }]);
    expect(third.source.issues).toEqual([{ code: 'parse-error', reason: 'truncated-utf-8', row: 2, line: 3, byteOffset: 11, action: 'skipped' }]);
  });
});

describe('cancellation', () => {
  it('stops between batches when the signal aborts', async () => {
    const controller = new AbortController();
    const body = Array.from({ length: 50_000 }, (_, i) => `${i},x`).join('\n');
    const { sources } = await openTabular(chunked(`a,b\n${body}\n`, 4096), { signal: controller.signal, batchRows: 100 });
    let seen = 0;
    const run = (async () => {
      for await (const source of sources) {
        for await (const batch of source.batches) {
          seen += batch.length;
          controller.abort(new Error('cancelled by the test'));
        }
      }
    })();
    await expect(run).rejects.toThrow('cancelled by the test');
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThan(50_000);
  });
});

describe('the event loop', () => {
  it('keeps running timers (lease renewals) while an in-memory input is parsed', async () => {
    let text = '';
    for await (const block of generatePolicies({ rows: 60_000, seed: 3 })) text += block;
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    try {
      const { sources } = await openTabular(chunked(Buffer.from(text)));
      for await (const source of sources) await records(source);
    } finally {
      clearInterval(timer);
    }
    // An in-memory input resolves every read as a microtask: without the parser's own turns
    // the interval could not fire once before the parse ends.
    expect(performance.now() - started).toBeGreaterThan(30);
    expect(ticks).toBeGreaterThanOrEqual(1);
  });
});

describe('the generated policy extract', () => {
  it('parses exactly as csv-parse does, with lines that account for quoted newlines', async () => {
    let text = '';
    for await (const block of generatePolicies({ rows: 3000, seed: 7 })) text += block;
    const oracle = parseCsvSync(text, { columns: true, info: true }) as { record: Record<string, string>; info: { lines: number } }[];
    const { source, rows, sniffed } = await table(Buffer.from(text), {}, 10_000);
    expect(sniffed).toMatchObject({ delimiter: ',', header: true, encoding: 'utf-8' });
    expect(source.columns).toEqual([...POLICY_COLUMNS]);
    expect(rows).toEqual(oracle.map((o) => o.record));
    expect(rows.some((r) => String(r.NOTES).includes('\n'))).toBe(true);
    expect(rows.some((r) => String(r.OWNER_NM).includes(','))).toBe(true);
    // csv-parse's `info.lines` is the line where a record ends; ours is where it starts.
    const again = await openTabular(chunked(Buffer.from(text), 4096));
    for await (const s of again.sources) {
      const recs = await records(s);
      recs.forEach((r, i) => {
        const newlines = (r.values as string[]).reduce((n, v) => n + (v.match(/\n/g)?.length ?? 0), 0);
        expect(r.line! + newlines).toBe(oracle[i]!.info.lines);
      });
    }
  });
});
