/**
 * csv-spectrum: the 12 tricky CSVs of ../shared/data/csv-spectrum parse to exactly the
 * expected JSON, through the sniffer (delimiter, header) and the streaming scanner, whatever
 * the chunk size.
 *
 * The `_crlf` fixtures are CRLF upstream, and the expected JSON keeps the CR of a quoted
 * line break (`"Once upon \r\na time"`); the shared copy lost its CRs (it holds LF only). The
 * test therefore parses the upstream bytes (LF restored to CRLF) against the expected JSON
 * exactly, and the stored bytes against the same JSON with `\r\n` read as `\n`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseCsvSync } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { openTabular } from '../../../src/realms/content/parse.js';
import { chunked, objects } from './helpers.js';

const DIR = '/work/shared/data/csv-spectrum';
const files = readdirSync(join(DIR, 'csvs')).filter((f) => f.endsWith('.csv')).sort();

async function parseAll(bytes: Buffer, name: string, chunkSize: number): Promise<Record<string, unknown>[]> {
  const { sources } = await openTabular(chunked(bytes, chunkSize), { fileName: name });
  const out: Record<string, unknown>[] = [];
  for await (const source of sources) out.push(...(await objects(source)));
  return out;
}

describe('csv-spectrum', () => {
  it('has the 12 files', () => {
    expect(files).toHaveLength(12);
  });

  for (const file of files) {
    const stored = readFileSync(join(DIR, 'csvs', file));
    const expected = JSON.parse(readFileSync(join(DIR, 'json', file.replace(/\.csv$/, '.json')), 'utf8')) as Record<string, string>[];
    const lostCr = file.includes('_crlf') && !stored.includes(13);

    for (const chunkSize of [1, 3, 7, 65_536]) {
      it(`${file} parses to the expected JSON (chunks of ${chunkSize} bytes)`, async () => {
        if (lostCr) {
          const upstream = Buffer.from(stored.toString('utf8').replace(/\n/g, '\r\n'), 'utf8');
          expect(await parseAll(upstream, file, chunkSize)).toEqual(expected);
          const asStored = expected.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.replace(/\r\n/g, '\n')])));
          expect(await parseAll(stored, file, chunkSize)).toEqual(asStored);
        } else {
          expect(await parseAll(stored, file, chunkSize)).toEqual(expected);
        }
      });
    }

    it(`${file}: csv-parse reads the same records as the scanner`, async () => {
      const oracle = parseCsvSync(stored, { columns: true, bom: true, relax_quotes: true }) as Record<string, string>[];
      expect(await parseAll(stored, file, 65_536)).toEqual(oracle);
    });
  }
});
