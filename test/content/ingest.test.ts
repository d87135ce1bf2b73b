/**
 * The content intents through the real runtime on the embedded store: parse_content under
 * every materialization and PII setting, the strict bad-input path (no dataset, no chunks),
 * profile_dataset and create_deterministic_embeddings.
 */
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActorView } from '../../src/actors/index.js';
import { newId } from '../../src/ids.js';
import type { DataPolicy } from '../../src/machines/index.js';
import type { Artifact } from '../../src/persistence/ports.js';
import { harness, tenant, type Harness } from '../actors/helpers.js';

const CSV = [
  'POL_NO,FIRST_NM,LAST_NM,EMAIL_ADDR,ISSUE_DT,FACE_AMT,PLAN_CD',
  ...Array.from({ length: 240 }, (_, i) => {
    const n = String(i + 1).padStart(7, '0');
    const first = ['Alice', 'Bruno', 'Chen', 'Dara', 'Emeka', 'Fatima'][i % 6];
    const last = ['Smith', 'Okafor', 'Garcia', 'Nguyen', 'Rossi'][i % 5];
    return `LP${n},${first},${last},${first!.toLowerCase()}.${last!.toLowerCase()}${i}@example.com,2019${String((i % 12) + 1).padStart(2, '0')}15,${(i + 1) * 1000}.00,${['TRM20', 'WL100', 'UL01'][i % 3]}`;
  }),
].join('\n');

const POLICY: DataPolicy = { materialization: 'full', sampleRows: 1000, retentionDays: 90, piiHandling: 'allow', maxBytes: 10 * 1024 ** 3 };

describe('content intents', () => {
  let h: Harness;
  let t: string;
  beforeEach(async () => {
    h = await harness();
    t = tenant();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  async function upload(name: string, text: string | Buffer): Promise<string> {
    const info = await h.stores.blobs.write(
      t,
      { id: newId('fil'), name, mediaType: 'application/octet-stream', maxBytes: 1e9 },
      Readable.from([typeof text === 'string' ? Buffer.from(text) : text]),
    );
    return info.id;
  }

  async function policy(p: Partial<DataPolicy>): Promise<void> {
    await h.runtime.contracts.create(t, { scope: { realms: ['content'], intents: ['*'] }, dataPolicy: { ...POLICY, ...p }, expiresAt: null });
  }

  async function run(intent: string, params: unknown): Promise<{ view: ActorView; artifacts: Artifact[] }> {
    const { id } = await h.runtime.spawn('execution', { intent, params }, { tenantId: t });
    const view = await h.runtime.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 20_000 });
    const refs = ((view.output as { artifacts?: { id: string }[] } | undefined)?.artifacts ?? []).map((a) => a.id);
    const artifacts: Artifact[] = [];
    for (const r of refs) artifacts.push((await h.stores.artifacts.get(t, r))!);
    return { view, artifacts };
  }

  const body = <B>(artifacts: Artifact[], kind: string) => artifacts.find((a) => a.kind === kind)?.body as B;

  it('ingest_file sniffs the upload', async () => {
    const fileId = await upload('policies.csv', CSV);
    const { view, artifacts } = await run('ingest_file', { fileId });
    expect(view.status).toBe('done');
    const file = body<{ name: string; detected: { format: string; delimiter: string; header: boolean; encoding: string } }>(artifacts, 'file');
    expect(file).toMatchObject({ name: 'policies.csv', detected: { format: 'csv', delimiter: ',', header: true, encoding: 'utf-8' } });
    expect(artifacts[0]!.lineage.fileIds).toEqual([fileId]);
  });

  it('full: every row stored in chunks, with a profile that points to its embeddings', async () => {
    await policy({ materialization: 'full' });
    const fileId = await upload('policies.csv', CSV);
    const { view, artifacts } = await run('parse_content', { fileId });
    expect(view.status, JSON.stringify(view.error)).toBe('done');
    expect(artifacts.map((a) => a.kind).sort()).toEqual(['dataset', 'datasetProfile', 'embeddingSet']);
    const ds = artifacts.find((a) => a.kind === 'dataset')!;
    const dataset = ds.body as { rowCount: number; storedRows: number; chunks: { chunkNo: number }[]; profileId: string; columns: { name: string }[] };
    expect(dataset.rowCount).toBe(240);
    expect(dataset.storedRows).toBe(240);
    expect(dataset.columns.map((c) => c.name)).toEqual(['POL_NO', 'FIRST_NM', 'LAST_NM', 'EMAIL_ADDR', 'ISSUE_DT', 'FACE_AMT', 'PLAN_CD']);
    const rows = await h.stores.records.rows(t, ds.id, 0, 1000);
    expect(rows).toHaveLength(240);
    expect(rows[0]).toMatchObject({ row: 1, line: 2, values: ['LP0000001', 'Alice', 'Smith', 'alice.smith0@example.com', '20190115', '1000.00', 'TRM20'] });
    const profile = body<{ datasetId: string; columns: { name: string; pii: { kind: string; masked: boolean } | null; embeddingRef: { embeddingSetId: string; index: number } }[] }>(
      artifacts,
      'datasetProfile',
    );
    expect(profile.datasetId).toBe(ds.id);
    expect(dataset.profileId).toBe(artifacts.find((a) => a.kind === 'datasetProfile')!.id);
    const emb = artifacts.find((a) => a.kind === 'embeddingSet')!;
    expect(profile.columns.map((c) => c.embeddingRef)).toEqual(profile.columns.map((_, index) => ({ embeddingSetId: emb.id, index })));
    expect(profile.columns.find((c) => c.name === 'EMAIL_ADDR')!.pii).toMatchObject({ kind: 'email', masked: false });
    expect((emb.body as { columns: { vector: number[] }[] }).columns).toHaveLength(7);
    // The upload stays under `full` (until its retention ends).
    expect(await h.stores.blobs.info(t, fileId)).not.toBeNull();
  });

  it('sample: N rows by seeded reservoir, rows kept in order with their numbers', async () => {
    await policy({ materialization: 'sample', sampleRows: 25 });
    const fileId = await upload('policies.csv', CSV);
    const first = await run('parse_content', { fileId });
    const ds = first.artifacts.find((a) => a.kind === 'dataset')!;
    expect((ds.body as { storedRows: number; rowCount: number }).storedRows).toBe(25);
    expect((ds.body as { rowCount: number }).rowCount).toBe(240);
    // `rows` pages by row number: the whole file's range holds the 25 sampled rows.
    const rows = await h.stores.records.rows(t, ds.id, 0, 1000);
    expect(rows).toHaveLength(25);
    expect(rows.map((r) => r.row)).toEqual([...rows.map((r) => r.row)].sort((a, b) => a - b));
    expect(new Set(rows.map((r) => r.row)).size).toBe(25);
    // Deterministic: the same file gives the same sample.
    const second = await run('parse_content', { fileId });
    const ds2 = second.artifacts.find((a) => a.kind === 'dataset')!;
    expect((await h.stores.records.rows(t, ds2.id, 0, 1000)).map((r) => r.row)).toEqual(rows.map((r) => r.row));
    const again = await run('profile_dataset', { datasetId: ds.id });
    expect(body<{ basis: string; rowCount: number }>(again.artifacts, 'datasetProfile')).toMatchObject({ basis: 'sample', rowCount: 25 });
  });

  it('reference: schema and profile only, no rows, and the upload is deleted once parsed', async () => {
    await policy({ materialization: 'reference' });
    const fileId = await upload('policies.csv', CSV);
    const { view, artifacts } = await run('parse_content', { fileId });
    expect(view.status).toBe('done');
    const ds = artifacts.find((a) => a.kind === 'dataset')!;
    expect(ds.body).toMatchObject({ storedRows: 0, rowCount: 240, chunks: [] });
    expect(await h.stores.records.rows(t, ds.id, 0, 10)).toEqual([]);
    expect(await h.stores.blobs.info(t, fileId)).toBeNull();
    const prof = await run('profile_dataset', { datasetId: ds.id });
    expect(prof.view.status).toBe('failed');
    expect(prof.view.error?.code).toBe('materialization-insufficient');
    const emb = await run('create_deterministic_embeddings', { datasetId: ds.id });
    expect(emb.view.status).toBe('done');
    expect((body<{ columns: unknown[] }>(emb.artifacts, 'embeddingSet')).columns).toHaveLength(7);
    const rec = await run('create_deterministic_embeddings', { datasetId: ds.id, level: 'record' });
    expect(rec.view.error?.code).toBe('materialization-insufficient');
  });

  it('mask: flagged columns are masked before anything is stored; equal values stay equal', async () => {
    await policy({ piiHandling: 'mask' });
    const fileId = await upload('policies.csv', CSV);
    const { view, artifacts } = await run('parse_content', { fileId });
    expect(view.status, JSON.stringify(view.error)).toBe('done');
    const ds = artifacts.find((a) => a.kind === 'dataset')!;
    const dataset = ds.body as { maskedColumns: string[] };
    expect(dataset.maskedColumns).toContain('EMAIL_ADDR');
    const rows = await h.stores.records.rows(t, ds.id, 0, 1000);
    const emailAt = 3;
    expect(rows[0]!.values[emailAt]).toMatch(/^pii:email:[0-9a-f]{16}$/);
    expect(rows.every((r) => !String(r.values[emailAt]).includes('@'))).toBe(true);
    // Non-PII columns are untouched.
    expect(rows[0]!.values[0]).toBe('LP0000001');
    const profile = body<{ columns: { name: string; pii: { masked: boolean } | null; topValues: { value: unknown }[] }[] }>(artifacts, 'datasetProfile');
    const email = profile.columns.find((c) => c.name === 'EMAIL_ADDR')!;
    expect(email.pii?.masked).toBe(true);
    expect(email.topValues.every((v) => String(v.value).startsWith('pii:email:'))).toBe(true);
    const raw = JSON.stringify(await h.stores.records.rows(t, ds.id, 0, 1000));
    expect(raw).not.toContain('example.com');
  });

  it('deny: pii-denied with columns and kinds (no values), nothing stored, the upload deleted; dropColumns gets through', async () => {
    await policy({ piiHandling: 'deny' });
    const fileId = await upload('policies.csv', CSV);
    const { view, artifacts } = await run('parse_content', { fileId });
    expect(view.status).toBe('failed');
    expect(view.error?.code).toBe('pii-denied');
    expect(JSON.stringify(view.error)).not.toContain('example.com');
    expect((view.error as unknown as { columns: { column: string; kind: string }[] }).columns).toEqual(
      expect.arrayContaining([{ column: 'EMAIL_ADDR', kind: 'email' }]),
    );
    expect(artifacts).toEqual([]);
    expect(await h.stores.artifacts.countByActor(t, view.id)).toBe(0);
    expect(await h.stores.blobs.info(t, fileId)).toBeNull();

    const again = await upload('policies.csv', CSV);
    const cols = (view.error as unknown as { columns: { column: string }[] }).columns.map((c) => c.column);
    const dropped = await run('parse_content', { fileId: again, dropColumns: cols });
    expect(dropped.view.status, JSON.stringify(dropped.view.error)).toBe('done');
    const ds = dropped.artifacts.find((a) => a.kind === 'dataset')!;
    expect((ds.body as { columns: { name: string }[] }).columns.map((c) => c.name)).not.toContain('EMAIL_ADDR');
  });

  it('a failed strict parse ends failed with its position, no dataset artifact and no orphaned chunks', async () => {
    await policy({ materialization: 'full' });
    // 2,500 good rows (more than two chunks), then an unterminated quote at the end.
    const text = `${CSV}\n${Array.from({ length: 2500 }, (_, i) => `LPX${i},A,B,a@b.c,20200101,1.00,TRM20`).join('\n')}\nLPZ,"unterminated,B,a@b.c,20200101,1.00,TRM20\n`;
    const fileId = await upload('bad.csv', text);
    const { view } = await run('parse_content', { fileId, raggedRows: 'reject', maxBadRows: 0 });
    expect(view.status).toBe('failed');
    expect(view.error?.code).toBe('parse-error');
    expect(view.error).toHaveProperty('position');
    expect(await h.stores.artifacts.countByActor(t, view.id)).toBe(0);
    // The dataset id of the failed run holds no rows.
    const { derivedId } = await import('../../src/ids.js');
    expect(await h.stores.records.rows(t, derivedId('art', view.id, 'dataset', 1), 0, 10)).toEqual([]);
  });

  it('record embeddings are stored by chunk and identical on a re-run', async () => {
    const fileId = await upload('policies.csv', CSV);
    const parsed = await run('parse_content', { fileId });
    const ds = parsed.artifacts.find((a) => a.kind === 'dataset')!;
    const a = await run('create_deterministic_embeddings', { datasetId: ds.id, level: 'both', dims: 64 });
    const b = await run('create_deterministic_embeddings', { datasetId: ds.id, level: 'both', dims: 64 });
    const setA = a.artifacts[0]!;
    const setB = b.artifacts[0]!;
    expect((setA.body as { recordChunks: number[] }).recordChunks).toEqual([1]);
    const va = await h.stores.records.rows(t, setA.id, 0, 1000);
    const vb = await h.stores.records.rows(t, setB.id, 0, 1000);
    expect(va).toHaveLength(240);
    expect(va[0]!.values).toHaveLength(64);
    expect(JSON.stringify(va)).toBe(JSON.stringify(vb));
    expect(JSON.stringify((setA.body as { columns: unknown }).columns)).toBe(JSON.stringify((setB.body as { columns: unknown }).columns));
  });

  it('another tenant cannot parse a file it does not own', async () => {
    const fileId = await upload('policies.csv', CSV);
    const other = tenant();
    const { id } = await h.runtime.spawn('execution', { intent: 'parse_content', params: { fileId } }, { tenantId: other });
    const view = await h.runtime.waitFor(id, { tenantId: other, until: 'done', timeoutMs: 10_000 });
    expect(view.status).toBe('failed');
    expect(view.error?.code).toBe('not-found');
  });
});
