/**
 * @module realms/content/ingest
 * The parse stage of the content realm as the contract shapes it ("data stays at the door"):
 * a stored upload is parsed, profiled in the same pass, and materialized as the boundary
 * contract's data policy says (DOMAIN.md section 4):
 *
 * - `reference`: schema, profile and the file reference only; no rows (a document keeps its
 *   outline, no passage text).
 * - `sample`: N rows chosen by a seeded reservoir (their `row` kept), or N passages.
 * - `full`: every record, in chunks of {@link CHUNK_ROWS} rows in the `RecordStore`.
 *
 * PII handling decides the number of passes. Under `allow` one pass parses, profiles and
 * stores. Under `mask` and `deny` nothing may be stored before PII is known, and PII is known
 * only once every value was seen, so a first pass parses and profiles, then `deny` refuses
 * (`pii-denied`: columns and kinds, no values) and `mask` makes a second pass that stores
 * rows with the flagged columns masked. Re-reading the stored upload is cheaper than holding
 * what a second pass would need.
 *
 * A failure (parse error, cancellation, a store refusal) deletes every record chunk this run
 * wrote before it propagates, so a failed ingest leaves no orphaned chunks.
 */
import { AppError } from '../../errors.js';
import type { BlobStore, RecordRow, RecordStore } from '../../persistence/ports.js';
import { embedColumns, passageVector, type EmbeddingSet } from './embeddings/index.js';
import { openSource, type OpenOptions } from './parse.js';
import { createMasker, createProfiler, flaggedColumns, maskProfile, type ColumnSample, type DatasetProfile, type Masker } from './profile/index.js';
import type { DocumentPassage, Format, ParseIssue, ParsedDocument, TabularSource } from './source.js';

/** Rows per stored record chunk (DOMAIN.md: chunks of 1,000 items). */
export const CHUNK_ROWS = 1000;

/** Issues kept in a `dataset` artifact (the count goes on in `badRows`). */
export const MAX_ARTIFACT_ISSUES = 1000;

export type Materialization = 'reference' | 'sample' | 'full';
export type PiiHandling = 'allow' | 'mask' | 'deny';

/** The data policy fields the parse stage obeys (a `GrantedContract`'s `dataPolicy`). */
export interface IngestPolicy {
  materialization: Materialization;
  sampleRows: number;
  piiHandling: PiiHandling;
  maxBytes: number;
}

/** DOMAIN.md `Dataset`, plus the ids of the profile and embedding set made with it. */
export interface DatasetBody {
  fileId: string;
  format: Format;
  encoding: string;
  delimiter?: string;
  header: boolean;
  sheet?: string;
  rowCount: number;
  columns: { name: string; sourceName: string }[];
  storedRows: number;
  /** `'all'` when every row is stored, `'sample'` for a reservoir sample, `'none'` under `reference`. */
  materialization: Materialization;
  maskedColumns: string[];
  chunks: { chunkNo: number; firstRow: number; lastRow: number }[];
  badRows: number;
  issues: ParseIssue[];
  profileId: string;
  embeddingSetId: string;
}

/** DOMAIN.md `Document`, plus the id of its passage embeddings. */
export interface DocumentBody {
  fileId: string;
  format: Format;
  encoding: string;
  lines: number;
  materialization: Materialization;
  sections: ParsedDocument['sections'];
  passages: (Omit<DocumentPassage, 'text'> & { text?: string })[];
  pages?: ParsedDocument['pages'];
  embeddingSetId: string;
}

/** One table parsed and materialized. */
export interface IngestedTable {
  dataset: Omit<DatasetBody, 'profileId' | 'embeddingSetId'>;
  profile: DatasetProfile;
  embeddings: EmbeddingSet;
}

export interface IngestedDocument {
  document: Omit<DocumentBody, 'embeddingSetId'>;
  embeddings: { documentId: string; algorithm: 'fh-v1'; dims: number; columns: []; passages: { id: string; vector: number[] }[] };
}

export interface IngestRequest {
  tenantId: string;
  fileId: string;
  /** The file's name (a sniffing hint). */
  fileName: string;
  /** The file's size, for progress. */
  fileBytes: number;
  blobs: BlobStore;
  records: RecordStore;
  policy: IngestPolicy;
  /** Parser options (DOMAIN.md `parse_content`). */
  parse: OpenOptions;
  /** The id of the `n`-th table's dataset (its rows are stored under it). */
  datasetId(n: number): string;
  /** The id of the document artifact, for its passage embeddings. */
  documentId: string;
  /** The tenant's masking secret; read only under `mask`. */
  tenantKey(): Promise<Buffer>;
  signal?: AbortSignal;
  progress?(phase: string, done: number, total: number | null): void;
  /** Embedding dimensions. @defaultValue 256 */
  dims?: number;
  /** Parent of the profiler's temporary key-check files. */
  tmpDir?: string;
  topValues?: number;
}

export type IngestResult = { kind: 'tabular'; tables: IngestedTable[] } | { kind: 'document'; document: IngestedDocument };

/** A deterministic reservoir of `size` rows (Algorithm R, seeded xorshift32). */
class Reservoir {
  readonly rows: RecordRow[] = [];
  private seen = 0;
  private state: number;
  constructor(
    private readonly size: number,
    seed = 0x9e3779b9,
  ) {
    this.state = seed | 0 || 1;
  }
  private next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x;
    return (x >>> 0) / 4294967296;
  }
  add(row: RecordRow): void {
    this.seen++;
    if (this.rows.length < this.size) this.rows.push(row);
    else {
      const j = Math.floor(this.next() * this.seen);
      if (j < this.size) this.rows[j] = row;
    }
  }
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AppError('internal', 'The ingest was cancelled', { cause: signal.reason });
}

/** Plain rows (the parser's `byteOffset` is a position, not data to store). */
function plain(rows: readonly RecordRow[]): RecordRow[] {
  return rows.map((r) => (r.line === undefined ? { row: r.row, values: r.values } : { row: r.row, line: r.line, values: r.values }));
}

type Chunk = { chunkNo: number; firstRow: number; lastRow: number; rows: number };

interface TablePass {
  source: TabularSource;
  profile?: { profile: DatasetProfile; samples: ColumnSample[] };
  chunks: Chunk[];
}

/**
 * Parses, profiles and materializes the upload `fileId` per `policy`. Tables come back in
 * file order (one per XLSX sheet); their rows are already stored when this resolves.
 */
export async function ingestUpload(req: IngestRequest): Promise<IngestResult> {
  const written = new Set<string>();
  try {
    return await run(req, written);
  } catch (e) {
    // Nothing of a failed ingest stays behind.
    for (const datasetId of written) await req.records.deleteDataset(req.tenantId, datasetId).catch(() => undefined);
    throw e;
  }
}

async function open(req: IngestRequest) {
  const input = await req.blobs.read(req.tenantId, req.fileId);
  return openSource(input, { fileName: req.fileName, maxBytes: req.policy.maxBytes, ...req.parse, ...(req.signal ? { signal: req.signal } : {}) });
}

async function run(req: IngestRequest, written: Set<string>): Promise<IngestResult> {
  const { policy } = req;
  const twoPass = policy.piiHandling !== 'allow' && policy.materialization !== 'reference';
  const opened = await open(req);
  if (opened.kind === 'document') return { kind: 'document', document: materializeDocument(req, opened.document, opened.sniffed.encoding) };

  const passes: TablePass[] = [];
  // Pass 1: parse and profile; under `allow` also store.
  let n = 0;
  for await (const source of opened.sources) {
    n++;
    const pass: TablePass = { source, chunks: [] };
    passes.push(pass);
    await readTable(req, n, pass, { profile: true, store: !twoPass, masker: null }, written);
  }

  let maskers: (Masker | null)[] = passes.map(() => null);
  if (twoPass) {
    const flagged = passes.map((p) => flaggedColumns(p.profile!.profile));
    if (policy.piiHandling === 'deny') {
      const found = passes.flatMap((p, i) =>
        flagged[i]!.map((f) => ({ ...(p.source.sheet ? { sheet: p.source.sheet } : {}), column: f.name, kind: f.kind })),
      );
      if (found.length > 0) {
        throw new AppError('pii-denied', `The contract denies PII and the file holds some: ${found.map((f) => `${f.column} (${f.kind})`).join(', ')}; re-parse with dropColumns`, {
          extras: { columns: found },
        });
      }
    } else {
      const key = await req.tenantKey();
      maskers = flagged.map((f) => (f.length > 0 ? createMasker(key, f) : null));
    }
    // Pass 2: store, masked.
    const again = await open(req);
    if (again.kind !== 'tabular') throw new AppError('internal', 'The file changed between passes');
    let k = 0;
    for await (const source of again.sources) {
      const pass = passes[k];
      if (!pass) break;
      k++;
      await readTable(req, k, { source, chunks: pass.chunks }, { profile: false, store: true, masker: maskers[k - 1] ?? null }, written);
    }
  }

  const tables: IngestedTable[] = passes.map((pass, i) => {
    const datasetId = req.datasetId(i + 1);
    const masker = maskers[i] ?? null;
    let profile = { ...pass.profile!.profile, datasetId };
    let samples = pass.profile!.samples;
    if (masker) {
      profile = maskProfile(profile, masker);
      const byName = new Map(masker.columns.map((c) => [c.name, c]));
      samples = samples.map((s) => {
        const flag = byName.get(s.name);
        return flag ? { name: s.name, values: s.values.map((v) => masker.maskValue(flag, v)) } : s;
      });
    }
    const embeddings = embedColumns(profile, samples, { dims: req.dims ?? 256 });
    const stats = pass.source.stats();
    const storedRows = pass.chunks.reduce((s, c) => s + c.rows, 0);
    return {
      dataset: {
        fileId: req.fileId,
        format: opened.format,
        encoding: pass.source.encoding,
        ...(pass.source.delimiter ? { delimiter: pass.source.delimiter } : {}),
        header: pass.source.header,
        ...(pass.source.sheet ? { sheet: pass.source.sheet } : {}),
        rowCount: stats.rows,
        columns: pass.source.columns.map((name) => ({ name, sourceName: name })),
        storedRows,
        materialization: policy.materialization,
        maskedColumns: masker ? masker.columns.map((c) => c.name) : [],
        chunks: pass.chunks.map(({ chunkNo, firstRow, lastRow }) => ({ chunkNo, firstRow, lastRow })),
        badRows: stats.badRows,
        issues: pass.source.issues.slice(0, MAX_ARTIFACT_ISSUES),
      },
      profile,
      embeddings,
    };
  });
  return { kind: 'tabular', tables };
}

/** Reads one table to its end: profiles it and/or stores its rows as the policy says. */
async function readTable(
  req: IngestRequest,
  n: number,
  pass: TablePass,
  mode: { profile: boolean; store: boolean; masker: Masker | null },
  written: Set<string>,
): Promise<void> {
  const { policy } = req;
  const datasetId = req.datasetId(n);
  const chunks = pass.chunks;
  const profiler = mode.profile
    ? createProfiler(pass.source.columns, { datasetId, ...(req.tmpDir ? { tmpDir: req.tmpDir } : {}), ...(req.topValues ? { topValues: req.topValues } : {}) })
    : null;
  const full = mode.store && policy.materialization === 'full';
  const reservoir = mode.store && policy.materialization === 'sample' ? new Reservoir(policy.sampleRows) : null;
  let pending: RecordRow[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const rows = mode.masker ? mode.masker.maskRows(pending) : pending;
    const chunkNo = chunks.length + 1;
    written.add(datasetId);
    await req.records.putChunk(req.tenantId, datasetId, chunkNo, rows);
    chunks.push({ chunkNo, firstRow: rows[0]!.row, lastRow: rows[rows.length - 1]!.row, rows: rows.length });
    pending = [];
  };
  try {
    let batches = 0;
    for await (const batch of pass.source.batches) {
      checkAborted(req.signal);
      profiler?.add(batch);
      if (full) {
        for (const r of plain(batch)) {
          pending.push(r);
          if (pending.length >= CHUNK_ROWS) await flush();
        }
      } else if (reservoir) {
        for (const r of plain(batch)) reservoir.add(r);
      }
      if (++batches % 16 === 0) req.progress?.(mode.profile ? 'parse' : 'store', pass.source.stats().bytesRead, req.fileBytes);
    }
    if (full) await flush();
    if (reservoir) {
      const rows = reservoir.rows.sort((a, b) => a.row - b.row);
      for (let i = 0; i < rows.length; i += CHUNK_ROWS) {
        pending = rows.slice(i, i + CHUNK_ROWS);
        await flush();
      }
    }
    if (profiler) pass.profile = await profiler.finish();
  } finally {
    profiler?.close();
  }
}

function materializeDocument(req: IngestRequest, doc: ParsedDocument, encoding: string): IngestedDocument {
  const { materialization, sampleRows } = req.policy;
  let passages: DocumentBody['passages'];
  if (materialization === 'reference') passages = doc.passages.map(({ text: _text, ...outline }) => outline);
  else if (materialization === 'sample') {
    passages = doc.passages.map((p, i) => (i < sampleRows ? p : (({ text: _t, ...outline }) => outline)(p)));
  } else passages = doc.passages;
  const dims = req.dims ?? 256;
  return {
    document: {
      fileId: req.fileId,
      format: doc.format,
      encoding,
      lines: doc.lines,
      materialization,
      sections: doc.sections,
      passages,
      ...(doc.pages ? { pages: doc.pages } : {}),
    },
    embeddings: {
      documentId: req.documentId,
      algorithm: 'fh-v1',
      dims,
      columns: [],
      // Passage vectors come from the text the contract lets through.
      passages: passages.filter((p) => p.text !== undefined).map((p) => ({ id: p.id, vector: Array.from(passageVector(p.text ?? '', dims)) })),
    },
  };
}
