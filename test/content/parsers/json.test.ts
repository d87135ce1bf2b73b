/**
 * JSON arrays and NDJSON: streamed, typed cells, columns from the keys, bad elements and
 * lines skipped with positions (default) or fatal with positions (strict).
 */
import { describe, expect, it } from 'vitest';
import { openTabular } from '../../../src/realms/content/parse.js';
import type { ParseOptions } from '../../../src/realms/content/source.js';
import { appErrorOf, chunked, records } from './helpers.js';

const STRICT = { raggedRows: 'reject', maxBadRows: 0 } as const satisfies ParseOptions;

async function one(text: string, options: ParseOptions = {}, chunkSize = 65_536) {
  const { sources, sniffed } = await openTabular(chunked(text, chunkSize), options);
  for await (const source of sources) return { source, rows: await records(source), sniffed };
  throw new Error('no source');
}

describe('JSON arrays', () => {
  const doc = '[\n  {"POL_NO": "LP01", "FACE_AMT": 250000.5, "active": true, "rider": null},\n  {"POL_NO": "LP02", "FACE_AMT": 1e3, "tags": ["a", "b"], "owner": {"name": "Smith, \\"Al\\""}}\n]\n';

  it('reads an array of objects with typed cells, whatever the chunk size', async () => {
    for (const size of [1, 5, 65_536]) {
      const { source, rows, sniffed } = await one(doc, {}, size);
      expect(sniffed.format).toBe('json');
      expect(source.columns).toEqual(['POL_NO', 'FACE_AMT', 'active', 'rider', 'tags', 'owner']);
      expect(rows.map((r) => r.values)).toEqual([
        ['LP01', 250000.5, true, null, null, null],
        ['LP02', 1000, null, null, '["a","b"]', '{"name":"Smith, \\"Al\\""}'],
      ]);
      expect(rows.map((r) => [r.row, r.line])).toEqual([
        [1, 2],
        [2, 3],
      ]);
    }
  });

  it('reads arrays of arrays positionally and a single object as one record', async () => {
    const a = await one('[[1,"x"],[2,"y",true]]');
    expect(a.source.columns).toEqual(['col_1', 'col_2', 'col_3']);
    expect(a.rows.map((r) => r.values)).toEqual([
      [1, 'x', null],
      [2, 'y', true],
    ]);
    const b = await one('{"a": 1, "b": [1, 2]}', { fileName: 'x.json' });
    expect(b.rows.map((r) => r.values)).toEqual([[1, '[1,2]']]);
  });

  it('skips and reports an element that does not parse', async () => {
    const { rows, source } = await one('[{"a": 1},\n{"a": 2,},\n{"a": 3}]');
    expect(rows.map((r) => r.values)).toEqual([[1], [3]]);
    expect(source.issues).toEqual([{ code: 'parse-error', line: 2, byteOffset: 11, action: 'skipped', reason: 'invalid-json' }]);
  });

  it('refuses an array that is never closed, with a position', async () => {
    const e = await appErrorOf(one('[{"a": 1},\n{"a": 2}', STRICT));
    expect(e.code).toBe('parse-error');
    expect(e.extras).toMatchObject({ reason: 'unterminated-array', position: { line: 2 } });
  });
});

describe('NDJSON', () => {
  const lines = '{"id": 1, "name": "Ann"}\n{"id": 2, "name": "Bo", "email": "bo@example.com"}\n{"id": 3, oops}\n\n{"id": 4}\n';

  it('is detected without hints and skips a bad line with its line and byte offset', async () => {
    const { rows, source, sniffed } = await one(lines, {}, 4);
    expect(sniffed.format).toBe('ndjson');
    expect(source.columns).toEqual(['id', 'name', 'email']);
    expect(rows.map((r) => [r.line, ...r.values])).toEqual([
      [1, 1, 'Ann', null],
      [2, 2, 'Bo', 'bo@example.com'],
      [5, 4, null, null],
    ]);
    const offset = Buffer.byteLength('{"id": 1, "name": "Ann"}\n{"id": 2, "name": "Bo", "email": "bo@example.com"}\n');
    expect(source.issues).toEqual([{ code: 'parse-error', line: 3, byteOffset: offset, action: 'skipped', reason: 'invalid-json' }]);
    expect(source.stats()).toMatchObject({ rows: 3, badRows: 1, done: true });
  });

  it('fails on the bad line under the strict policy, with its line', async () => {
    const e = await appErrorOf(one(lines, STRICT));
    expect(e.code).toBe('parse-error');
    expect(e.extras).toMatchObject({ reason: 'invalid-json', position: { line: 3 } });
  });

  it('reports a key first seen after the first batch as an unknown field', async () => {
    const many = Array.from({ length: 5 }, (_, i) => JSON.stringify({ id: i })).join('\n') + '\n{"id": 9, "late": true}\n';
    const { rows, source } = await one(many, { batchRows: 2, fileName: 'x.ndjson' });
    expect(source.columns).toEqual(['id']);
    expect(rows).toHaveLength(6);
    expect(source.issues).toMatchObject([{ code: 'unknown-field', line: 6 }]);
  });
});
