/**
 * Sniffing: format, encoding, delimiter and header from the head of a file and its name.
 */
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../../src/errors.js';
import { detectEncoding, invalidUtf8Offset, peekHead, sniff } from '../../../src/realms/content/sniff.js';
import type { ParseOptions } from '../../../src/realms/content/source.js';
import { chunked } from './helpers.js';

const b = (s: string) => Buffer.from(s, 'utf8');

function refusal(head: Buffer, options: ParseOptions = {}): { code: string; reason: unknown } {
  try {
    sniff(head, options);
  } catch (e) {
    if (isAppError(e)) return { code: e.code, reason: e.extras.reason };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('sniff', () => {
  it.each([
    ['a,b\n1,2\n', {}, { format: 'csv', delimiter: ',' }],
    ['a\tb\n1\t2\n', {}, { format: 'csv', delimiter: '\t' }],
    ['a|b|c\n1|2|3\n', {}, { format: 'csv', delimiter: '|' }],
    ['a;b\n1;2\n', {}, { format: 'csv', delimiter: ';' }],
    ['[{"a":1},{"a":2}]', {}, { format: 'json' }],
    ['  [\n 1, 2 ]', {}, { format: 'json' }],
    ['{"a":1}\n{"a":2}\n', {}, { format: 'ndjson' }],
    ['{\n  "a": 1\n}\n', {}, { format: 'json' }],
    ['# Title\n\nSome text.\n\n## Part\n- item\n', {}, { format: 'markdown' }],
    ['Just a note, nothing more.\nAnother line without delimiters\n', { fileName: 'note.txt' }, { format: 'text' }],
    ['Dear team\nplease find the extract attached\nthanks\n', {}, { format: 'text' }],
    ['%PDF-1.7\n...', {}, { format: 'pdf' }],
    ['x,y\n1,2\n', { format: 'csv', delimiter: ';' }, { format: 'csv', delimiter: ';', basis: 'option' }],
  ] as const)('detects %j', (text, options, expected) => {
    expect(sniff(b(text), { complete: true, ...options })).toMatchObject(expected);
  });

  it('detects an XLSX by its ZIP signature and xl/ entries', () => {
    const head = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(26), b('xl/workbook.xml')]);
    expect(sniff(head)).toMatchObject({ format: 'xlsx' });
    expect(refusal(Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(26), b('word/document.xml')]))).toEqual({ code: 'unsupported-format', reason: 'zip' });
  });

  it('refuses empty, whitespace-only, binary and OLE files with typed errors', () => {
    expect(refusal(Buffer.alloc(0), { fileName: 'x.csv' })).toEqual({ code: 'parse-error', reason: 'empty' });
    expect(refusal(b('  \n\n'))).toEqual({ code: 'parse-error', reason: 'empty' });
    expect(refusal(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0]), { fileName: 'x.csv' })).toEqual({ code: 'unsupported-format', reason: 'binary' });
    expect(refusal(Buffer.from([1, 2, 3, 0, 5, 6, 7, 8, 9, 0, 11]), { fileName: 'x.csv' })).toEqual({ code: 'unsupported-format', reason: 'binary' });
    const ole = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(100)]);
    expect(refusal(ole, { fileName: 'book.xlsx' })).toEqual({ code: 'unsafe-content', reason: 'encrypted-workbook' });
    expect(refusal(ole, { fileName: 'book.xls' })).toEqual({ code: 'unsupported-format', reason: 'legacy-ole' });
  });

  it('detects encodings by BOM, NUL pattern and UTF-8 validity', () => {
    expect(detectEncoding(Buffer.from([0xef, 0xbb, 0xbf, 0x61]))).toEqual({ encoding: 'utf-8', bom: 3 });
    expect(detectEncoding(Buffer.from([0xff, 0xfe, 0x61, 0]))).toEqual({ encoding: 'utf-16le', bom: 2 });
    expect(detectEncoding(Buffer.from([0xfe, 0xff, 0, 0x61]))).toEqual({ encoding: 'utf-16be', bom: 2 });
    const be = Buffer.from('a,b\n1,2\n', 'utf16le').swap16();
    expect(detectEncoding(be)).toEqual({ encoding: 'utf-16be', bom: 0 });
    expect(detectEncoding(Buffer.from('café', 'latin1'), true)).toEqual({ encoding: 'latin1', bom: 0 });
    expect(detectEncoding(Buffer.from('café au lait', 'latin1'))).toEqual({ encoding: 'latin1', bom: 0 });
    expect(detectEncoding(Buffer.concat([Buffer.from('Zürich,'), Buffer.from('€').subarray(0, 2)]), true)).toEqual({ encoding: 'utf-8', bom: 0 });
    expect(detectEncoding(Buffer.from('café', 'utf8'))).toEqual({ encoding: 'utf-8', bom: 0 });
    // A character cut by the end of the head does not make the file Latin-1.
    expect(detectEncoding(Buffer.from('caf€', 'utf8').subarray(0, 5))).toEqual({ encoding: 'utf-8', bom: 0 });
  });

  it('finds the first invalid UTF-8 byte', () => {
    expect(invalidUtf8Offset(Buffer.from([0x61, 0xc3, 0xa9, 0x62]))).toBe(-1);
    expect(invalidUtf8Offset(Buffer.from([0x61, 0xc3, 0x28]))).toBe(1);
    expect(invalidUtf8Offset(Buffer.from([0x61, 0xe2, 0x82]))).toBe(1);
    expect(invalidUtf8Offset(Buffer.from([0x61, 0xe2, 0x82]), true)).toBe(-1);
    expect(invalidUtf8Offset(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0); // a UTF-16 surrogate
    expect(invalidUtf8Offset(Buffer.from([0xc0, 0x80]))).toBe(0); // overlong
  });

  it('peekHead hands back every byte after the head', async () => {
    const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
    const peeked = await peekHead(chunked(data, 10_000), 65_536);
    expect(peeked.complete).toBe(false);
    expect(peeked.head.length).toBe(65_536);
    const rest: Buffer[] = [];
    for await (const c of peeked.input) rest.push(Buffer.from(c));
    expect(Buffer.concat(rest).equals(data)).toBe(true);
  });
});
