/**
 * The bad-input table of the content issue through the real runtime: under the strict policy
 * (`raggedRows: 'reject'`, `maxBadRows: 0`) each bad file ends its `parse_content` execution
 * `failed` with a typed error and its position, stores no dataset artifact and leaves no
 * record chunks, and the runtime goes on serving; under the default policy the same bad
 * lines are skipped and reported with their positions.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActorView } from '../../src/actors/index.js';
import { derivedId, newId } from '../../src/ids.js';
import { harness, tenant, type Harness } from '../actors/helpers.js';
import { CONTENT_TYPES, WORKBOOK, zip } from './parsers/helpers.js';

const GOOD = 'POL_NO,NAME,AMT\nLP1,Ann,10\nLP2,Bob,20\n';

/** A 100 MB line, streamed: the test never holds it whole. */
async function* hugeLine(): AsyncGenerator<Buffer> {
  yield Buffer.from('POL_NO,NOTES\nLP1,"');
  const block = Buffer.alloc(1024 * 1024, 'x');
  for (let i = 0; i < 100; i++) yield block;
  yield Buffer.from('"\n');
}

function encryptedWorkbook(): Buffer {
  const ole = Buffer.alloc(4096);
  Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(ole, 0);
  Buffer.from('EncryptionInfo', 'utf16le').copy(ole, 1024);
  Buffer.from('EncryptedPackage', 'utf16le').copy(ole, 1152);
  return ole;
}

const binary = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256));

const TABLE: { name: string; file: string; bytes: () => Buffer | AsyncGenerator<Buffer>; code: string; position: boolean }[] = [
  { name: 'empty file', file: 'empty.csv', bytes: () => Buffer.alloc(0), code: 'parse-error', position: false },
  { name: 'binary file named .csv', file: 'policies.csv', bytes: () => binary, code: 'unsupported-format', position: false },
  {
    name: 'truncated UTF-8',
    file: 'policies.csv',
    bytes: () => Buffer.concat([Buffer.from(`${GOOD}LP3,Zo`), Buffer.from([0xc3])]),
    code: 'parse-error',
    position: true,
  },
  { name: 'unterminated quote at EOF', file: 'policies.csv', bytes: () => Buffer.from(`${GOOD}LP3,"Zoe,30\n`), code: 'parse-error', position: true },
  { name: 'a 100 MB single line', file: 'notes.csv', bytes: hugeLine, code: 'record-too-large', position: true },
  {
    name: 'zip bomb renamed .xlsx',
    file: 'policies.xlsx',
    bytes: () =>
      zip([
        { name: '[Content_Types].xml', data: CONTENT_TYPES },
        { name: 'xl/workbook.xml', data: WORKBOOK },
        { name: 'xl/worksheets/sheet1.xml', data: Buffer.alloc(64 * 1024 * 1024) },
      ]),
    code: 'unsafe-content',
    position: false,
  },
  { name: 'encrypted workbook', file: 'secret.xlsx', bytes: encryptedWorkbook, code: 'unsafe-content', position: false },
  { name: 'NDJSON with one bad line', file: 'policies.ndjson', bytes: () => Buffer.from('{"a":1}\n{"a":2\n{"a":3}\n'), code: 'parse-error', position: true },
  { name: 'ragged row', file: 'policies.csv', bytes: () => Buffer.from(`${GOOD}LP3,Zoe,30,extra\nLP4,Al,40\n`), code: 'parse-error', position: true },
];

describe('bad input through parse_content', () => {
  let h: Harness;
  let t: string;
  beforeAll(async () => {
    h = await harness();
    t = tenant();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  async function upload(name: string, bytes: Buffer | AsyncGenerator<Buffer>): Promise<string> {
    const source = Buffer.isBuffer(bytes) ? Readable.from([bytes]) : bytes;
    return (await h.stores.blobs.write(t, { id: newId('fil'), name, mediaType: 'application/octet-stream', maxBytes: 1e9 }, source)).id;
  }

  async function parse(fileId: string, params: Record<string, unknown> = {}): Promise<ActorView> {
    const { id } = await h.runtime.spawn('execution', { intent: 'parse_content', params: { fileId, ...params } }, { tenantId: t });
    return h.runtime.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 120_000 });
  }

  for (const row of TABLE) {
    it(`strict: ${row.name} fails ${row.code}, stores nothing`, { timeout: 180_000 }, async () => {
      const fileId = await upload(row.file, row.bytes());
      const view = await parse(fileId, { raggedRows: 'reject', maxBadRows: 0 });
      expect(view.status).toBe('failed');
      expect(view.error?.code, JSON.stringify(view.error)).toBe(row.code);
      expect(view.error?.detail).toBeTruthy();
      if (row.position) expect(view.error, JSON.stringify(view.error)).toHaveProperty('position');
      expect(await h.stores.artifacts.countByActor(t, view.id)).toBe(0);
      for (let n = 1; n <= 2; n++) expect(await h.stores.records.rows(t, derivedId('art', view.id, 'dataset', n), 0, 1e9)).toEqual([]);
      // The runtime goes on serving.
      const ok = await parse(await upload('good.csv', Buffer.from(GOOD)));
      expect(ok.status).toBe('done');
    });
  }

  it('default policy: ragged, invalid-UTF-8 and bad NDJSON lines are skipped and reported with their positions', async () => {
    const csv = await parse(await upload('policies.csv', Buffer.from(`${GOOD}LP3,Zoe,30,extra\nLP4,Al,40\nLP5,\xff,50\n`, 'latin1')), { encoding: 'utf-8' });
    expect(csv.status, JSON.stringify(csv.error)).toBe('done');
    const refs = (csv.output as { artifacts: { id: string; kind: string }[] }).artifacts;
    const ds = (await h.stores.artifacts.get(t, refs.find((r) => r.kind === 'dataset')!.id))!.body as {
      rowCount: number;
      badRows: number;
      issues: { code: string; row?: number; line?: number; byteOffset?: number; action: string }[];
    };
    expect(ds.badRows).toBe(2);
    expect(ds.issues).toHaveLength(2);
    expect(ds.issues[0]).toMatchObject({ line: 4, action: 'skipped' });
    expect(ds.issues[0]!.byteOffset).toBe(Buffer.byteLength(GOOD));
    expect(ds.issues[1]).toMatchObject({ line: 6, action: 'skipped' });
    expect(ds.rowCount).toBe(3);

    const nd = await parse(await upload('policies.ndjson', Buffer.from('{"a":1}\n{"a":2\n{"a":3}\n')));
    expect(nd.status, JSON.stringify(nd.error)).toBe('done');
    const ndRefs = (nd.output as { artifacts: { id: string; kind: string }[] }).artifacts;
    const ndDs = (await h.stores.artifacts.get(t, ndRefs.find((r) => r.kind === 'dataset')!.id))!.body as { rowCount: number; issues: { line?: number; action: string }[] };
    expect(ndDs.rowCount).toBe(2);
    expect(ndDs.issues).toEqual([expect.objectContaining({ line: 2, action: 'skipped' })]);

    const enc = await parse(await upload('policies.ndjson', Buffer.concat([Buffer.from('{"a":"x"}\n{"a":"'), Buffer.from([0xff]), Buffer.from('"}\n{"a":"z"}\n')])), { encoding: 'utf-8' });
    expect(enc.status, JSON.stringify(enc.error)).toBe('done');
    const encRefs = (enc.output as { artifacts: { id: string; kind: string }[] }).artifacts;
    const encDs = (await h.stores.artifacts.get(t, encRefs.find((r) => r.kind === 'dataset')!.id))!.body as { rowCount: number; issues: unknown[] };
    expect(encDs.rowCount).toBe(2);
    expect(encDs.issues).toEqual([{ code: 'parse-error', line: 2, byteOffset: 16, action: 'skipped', reason: 'invalid-utf-8' }]);
  });
});
