/**
 * @module intents/contentIngest
 * The content realm's file intents (DOMAIN.md section 2): `ingest_file` (sniff an upload),
 * `parse_content` (parse, profile and materialize it as the contract says, with column
 * embeddings), `profile_dataset` (profile stored rows again) and
 * `create_deterministic_embeddings` (`fh-v1` column and record vectors).
 */
import { z } from 'zod';
import { AppError, isAppError } from '../errors.js';
import { assertGranted, type GrantedContract } from '../machines/contract.js';
import type { Artifact, RecordRow } from '../persistence/ports.js';
import { embedColumns, recordVector } from '../realms/content/embeddings/index.js';
import { CHUNK_ROWS, ingestUpload, type DatasetBody, type DocumentBody } from '../realms/content/ingest.js';
import { createProfiler, type DatasetProfile } from '../realms/content/profile/index.js';
import { peekHead, sniff } from '../realms/content/sniff.js';
import { FORMATS, SOURCE_ENCODINGS, type ParseOptions } from '../realms/content/source.js';
import type { IntentContext, IntentDefinition } from './registry.js';

const Id = z.string().min(1).max(200);

const IngestFileParams = z.object({ fileId: Id }).strict();

const ParseContentParams = z
  .object({
    fileId: Id,
    format: z.enum(FORMATS as unknown as [string, ...string[]]).optional(),
    encoding: z.enum(SOURCE_ENCODINGS as unknown as [string, ...string[]]).optional(),
    delimiter: z.string().length(1).optional(),
    header: z.boolean().optional(),
    sheets: z.array(z.string().min(1).max(255)).max(1000).optional(),
    raggedRows: z.enum(['reject', 'skip', 'pad']).default('skip'),
    maxBadRows: z.number().int().min(0).max(10_000_000).default(1000),
    dropColumns: z.array(z.string().max(1000)).max(10_000).optional(),
    copybookFileId: Id.optional(),
    codepage: z.enum(['ascii', 'cp037']).optional(),
  })
  .strict();

const ProfileDatasetParams = z.object({ datasetId: Id, topValues: z.number().int().min(1).max(1000).default(10) }).strict();

const EmbeddingsParams = z
  .object({
    datasetId: Id,
    level: z.enum(['column', 'record', 'both']).default('column'),
    dims: z.number().int().min(8).max(4096).default(256),
  })
  .strict();

/** The upload `fileId` of the tenant, or `not-found`. */
async function fileOf(ctx: IntentContext, fileId: string) {
  const info = await ctx.stores.blobs.info(ctx.tenantId, fileId);
  if (!info) throw new AppError('not-found', `No file ${fileId}`);
  return info;
}

/** A stored artifact of `kind` of the tenant, or `not-found` (another tenant's id reads as unknown). */
async function artifactOf<B>(ctx: IntentContext, id: string, kind: string): Promise<Artifact & { body: B }> {
  const a = await ctx.stores.artifacts.get(ctx.tenantId, id);
  if (!a || a.kind !== kind) throw new AppError('not-found', `No ${kind} ${id}`);
  return a as Artifact & { body: B };
}

/** `ingest_file`: what the upload is (format, encoding, delimiter, header), from its head. */
export const ingestFileIntent: IntentDefinition<z.infer<typeof IngestFileParams>> = {
  type: 'ingest_file',
  realm: 'content',
  mode: 'short',
  description: 'Sniffs an uploaded file: format, encoding, delimiter and header; artifact `file`.',
  params: IngestFileParams,
  async handler(ctx, params, contract) {
    assertGranted(contract, { realm: 'content', tenantId: ctx.tenantId });
    const info = await fileOf(ctx, params.fileId);
    const maxBytes = contract.contract.dataPolicy.maxBytes;
    if (info.bytes > maxBytes) throw new AppError('file-too-large', `File ${info.id} is ${info.bytes} bytes; the contract allows ${maxBytes}`);
    const input = await ctx.stores.blobs.read(ctx.tenantId, info.id);
    let sniffed;
    try {
      const peeked = await peekHead(input);
      sniffed = sniff(peeked.head, { fileName: info.name, complete: peeked.complete });
    } finally {
      input.destroy();
    }
    const body = {
      name: info.name,
      bytes: info.bytes,
      sha256: info.sha256,
      mediaType: sniffed.mediaType,
      detected: {
        format: sniffed.format,
        encoding: sniffed.encoding,
        ...(sniffed.delimiter !== undefined ? { delimiter: sniffed.delimiter } : {}),
        ...(sniffed.header !== undefined ? { header: sniffed.header } : {}),
      },
    };
    return [await ctx.emit('file', body, { fileIds: [info.id] })];
  },
};

/** `parse_content`: parse, profile, embed and materialize an upload (DOMAIN.md section 4). */
export const parseContentIntent: IntentDefinition<z.infer<typeof ParseContentParams>> = {
  type: 'parse_content',
  realm: 'content',
  mode: 'long',
  description:
    'Parses an uploaded file (CSV/TSV/pipe, XLSX, JSON, NDJSON, text, Markdown, PDF) with its profile and column embeddings, keeping what the contract allows; artifacts `dataset`, `datasetProfile`, `embeddingSet` per table, or `document` and `embeddingSet`.',
  params: ParseContentParams,
  async handler(ctx, params, contract) {
    assertGranted(contract, { realm: 'content', tenantId: ctx.tenantId });
    const info = await fileOf(ctx, params.fileId);
    const policy = contract.contract.dataPolicy;
    if (info.bytes > policy.maxBytes) throw new AppError('file-too-large', `File ${info.id} is ${info.bytes} bytes; the contract allows ${policy.maxBytes}`);
    const parse: ParseOptions = {
      raggedRows: params.raggedRows,
      maxBadRows: params.maxBadRows,
      ...(params.format ? { format: params.format as ParseOptions['format'] & string } : {}),
      ...(params.encoding ? { encoding: params.encoding as ParseOptions['encoding'] & string } : {}),
      ...(params.delimiter ? { delimiter: params.delimiter } : {}),
      ...(params.header !== undefined ? { header: params.header } : {}),
      ...(params.sheets ? { sheets: params.sheets } : {}),
      ...(params.dropColumns ? { dropColumns: params.dropColumns } : {}),
    };
    let result;
    try {
      result = await ingestUpload({
        tenantId: ctx.tenantId,
        fileId: info.id,
        fileName: info.name,
        fileBytes: info.bytes,
        blobs: ctx.stores.blobs,
        records: ctx.stores.records,
        policy,
        parse,
        datasetId: (n) => ctx.artifactId('dataset', n),
        documentId: ctx.artifactId('document', 1),
        tenantKey: () => ctx.tenantSecret(),
        signal: ctx.signal,
        progress: (phase, done, total) => ctx.progress(phase, done, total),
      });
    } catch (e) {
      // A file refused for PII under `deny` is deleted: it may not stay at the door either.
      if (isAppError(e, 'pii-denied')) await ctx.stores.blobs.delete(ctx.tenantId, info.id);
      throw e;
    }
    const lineage = { fileIds: [info.id] };
    const refs = [];
    if (result.kind === 'document') {
      const emb = await ctx.emit('embeddingSet', result.document.embeddings, { ...lineage, n: 1 });
      const body: DocumentBody = { ...result.document.document, embeddingSetId: emb.id };
      refs.push(emb, await ctx.emit('document', body, { ...lineage, n: 1 }));
    } else {
      let n = 0;
      for (const table of result.tables) {
        n++;
        const datasetId = ctx.artifactId('dataset', n);
        const inputs = [datasetId];
        const emb = await ctx.emit('embeddingSet', table.embeddings, { ...lineage, inputs, n });
        const profile: DatasetProfile = {
          ...table.profile,
          columns: table.profile.columns.map((c, index) => ({ ...c, embeddingRef: { embeddingSetId: emb.id, index } })),
        };
        const prof = await ctx.emit('datasetProfile', profile, { ...lineage, inputs, n });
        const body: DatasetBody = { ...table.dataset, profileId: prof.id, embeddingSetId: emb.id };
        const ds = await ctx.emit('dataset', body, { ...lineage, n });
        if (ds.id !== datasetId) throw new AppError('internal', `Dataset ${ds.id} was stored under another id than its rows (${datasetId})`);
        refs.push(ds, prof, emb);
      }
    }
    // Under `reference` only the schema, profile and reference stay: the upload goes once parsed.
    if (policy.materialization === 'reference') await ctx.stores.blobs.delete(ctx.tenantId, info.id);
    return refs;
  },
};

/** Every stored row of a dataset, chunk by chunk. */
async function* storedRows(ctx: IntentContext, datasetId: string, dataset: DatasetBody): AsyncGenerator<RecordRow[]> {
  for (const c of dataset.chunks) {
    if (ctx.signal.aborted) throw new AppError('internal', 'Cancelled');
    const rows = await ctx.stores.records.getChunk(ctx.tenantId, datasetId, c.chunkNo);
    if (rows) yield rows;
  }
}

function requireRows(datasetId: string, dataset: DatasetBody, contract: GrantedContract, what: string): void {
  if (dataset.storedRows === 0 || dataset.materialization === 'reference') {
    throw new AppError(
      'materialization-insufficient',
      `${what} needs stored rows; dataset ${datasetId} kept none (materialization '${dataset.materialization ?? contract.contract.dataPolicy.materialization}')`,
    );
  }
}

/** `profile_dataset`: the profile of a dataset's stored rows (exact under `full`, the sample under `sample`). */
export const profileDatasetIntent: IntentDefinition<z.infer<typeof ProfileDatasetParams>> = {
  type: 'profile_dataset',
  realm: 'content',
  mode: 'long',
  description: 'Profiles the stored rows of a dataset again (types, nulls, distinct estimate, patterns, keys, PII); artifact `datasetProfile`.',
  params: ProfileDatasetParams,
  async handler(ctx, params, contract) {
    assertGranted(contract, { realm: 'content', tenantId: ctx.tenantId });
    const ds = await artifactOf<DatasetBody>(ctx, params.datasetId, 'dataset');
    requireRows(ds.id, ds.body, contract, 'profile_dataset');
    const profiler = createProfiler(
      ds.body.columns.map((c) => c.name),
      { datasetId: ds.id, topValues: params.topValues },
    );
    try {
      let done = 0;
      for await (const rows of storedRows(ctx, ds.id, ds.body)) {
        profiler.add(rows);
        done += rows.length;
        ctx.progress('profile', done, ds.body.storedRows);
      }
      const { profile } = await profiler.finish();
      const masked = new Set(ds.body.maskedColumns);
      const body: DatasetProfile = {
        ...profile,
        basis: ds.body.materialization === 'full' ? 'all' : 'sample',
        // Values of masked columns were masked before they were stored: say so.
        columns: profile.columns.map((c) => (masked.has(c.name) && c.pii ? { ...c, pii: { ...c.pii, masked: true } } : c)),
      };
      return [await ctx.emit('datasetProfile', body, { inputs: [ds.id], fileIds: [ds.body.fileId] })];
    } finally {
      profiler.close();
    }
  },
};

/** `create_deterministic_embeddings`: `fh-v1` column vectors, and record vectors when rows are stored. */
export const createEmbeddingsIntent: IntentDefinition<z.infer<typeof EmbeddingsParams>> = {
  type: 'create_deterministic_embeddings',
  realm: 'content',
  mode: 'long',
  description: 'Deterministic fh-v1 embeddings of a dataset: one vector per column, and per stored record with level record|both; artifact `embeddingSet`.',
  params: EmbeddingsParams,
  async handler(ctx, params, contract) {
    assertGranted(contract, { realm: 'content', tenantId: ctx.tenantId });
    const ds = await artifactOf<DatasetBody>(ctx, params.datasetId, 'dataset');
    const profile = await artifactOf<DatasetProfile>(ctx, ds.body.profileId, 'datasetProfile');
    const wantRecords = params.level !== 'column';
    if (wantRecords) requireRows(ds.id, ds.body, contract, 'Record embeddings');
    const columns = ds.body.columns.map((c) => c.name);
    // Column vectors: profile features plus up to 100 stored values per column (none under `reference`).
    const samples = columns.map((name) => ({ name, values: [] as (string | number | boolean | null)[] }));
    if (ds.body.storedRows > 0) {
      for await (const rows of storedRows(ctx, ds.id, ds.body)) {
        for (const r of rows) {
          r.values.forEach((v, i) => {
            const s = samples[i];
            if (s && v !== null && v !== '' && s.values.length < 100) s.values.push(v);
          });
        }
        if (samples.every((s) => s.values.length >= 100)) break;
      }
    }
    const set = embedColumns(profile.body, samples, { dims: params.dims });
    const setId = ctx.artifactId('embeddingSet', 1);
    const recordChunks: number[] = [];
    if (wantRecords) {
      let done = 0;
      for await (const rows of storedRows(ctx, ds.id, ds.body)) {
        const vectors: RecordRow[] = rows.map((r) => ({ row: r.row, values: Array.from(recordVector(columns, r.values, params.dims)) }));
        for (let i = 0; i < vectors.length; i += CHUNK_ROWS) {
          const chunkNo = recordChunks.length + 1;
          await ctx.stores.records.putChunk(ctx.tenantId, setId, chunkNo, vectors.slice(i, i + CHUNK_ROWS));
          recordChunks.push(chunkNo);
        }
        done += rows.length;
        ctx.progress('embed', done, ds.body.storedRows);
      }
    }
    const body = { ...set, ...(wantRecords ? { recordChunks } : {}) };
    if (params.level === 'record') body.columns = [];
    return [await ctx.emit('embeddingSet', body, { n: 1, inputs: [ds.id, profile.id], fileIds: [ds.body.fileId] })];
  },
};

export const contentFileIntents = [ingestFileIntent, parseContentIntent, profileDatasetIntent, createEmbeddingsIntent];
