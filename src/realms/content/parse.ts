/**
 * @module realms/content/parse
 * The parse stage's entry: sniff a byte stream, then hand it to the parser of its format.
 * `openSource` returns tabular sources (CSV, XLSX sheets, JSON, NDJSON) or a document
 * (text, Markdown, PDF); `openTabular` is the same restricted to tables.
 *
 * @example
 * ```ts
 * const opened = await openSource(await blobs.read(tenantId, fileId), { fileName, raggedRows: 'skip' });
 * if (opened.kind === 'tabular') {
 *   for await (const source of opened.sources) {
 *     for await (const batch of source.batches) store(batch);
 *     report(source.issues, source.stats());
 *   }
 * }
 * ```
 */
import { AppError } from '../../errors.js';
import { parseCsv } from './parsers/csv.js';
import { parsePdfDocument, parseTextDocument } from './parsers/document.js';
import { parseJsonArray, parseNdjson } from './parsers/json.js';
import { parseXlsx, type XlsxParseOptions } from './parsers/xlsx.js';
import { peekHead, sniff, type SniffResult } from './sniff.js';
import type { ByteInput, OpenedSource, ParseOptions, TabularSource } from './source.js';

export interface OpenOptions extends ParseOptions {
  /** XLSX only: ZIP limits and the worker switch. */
  xlsx?: Pick<XlsxParseOptions, 'zip' | 'inWorker'>;
}

/** What sniffing decided, with the opened source. */
export type Opened = OpenedSource & { sniffed: SniffResult };

async function* single(source: TabularSource): AsyncGenerator<TabularSource> {
  yield source;
}

/**
 * Sniffs `input` (its first 64 KiB, and `options.fileName`) and opens it with the parser of
 * its format. Options given win over sniffing.
 *
 * @throws AppError as `sniff` and the parsers do (`parse-error`, `unsupported-format`,
 * `unsafe-content`, `record-too-large`, `bad-rows-exceeded`, `file-too-large`).
 */
export async function openSource(input: ByteInput, options: OpenOptions = {}): Promise<Opened> {
  const peeked = await peekHead(input);
  const sniffed = sniff(peeked.head, { ...options, complete: peeked.complete });
  const stream = peeked.input;
  switch (sniffed.format) {
    case 'csv': {
      const source = await parseCsv(stream, {
        ...options,
        encoding: sniffed.encoding,
        bom: sniffed.bom,
        delimiter: sniffed.delimiter ?? ',',
        header: sniffed.header ?? true,
      });
      return { kind: 'tabular', format: 'csv', sources: single(source), sniffed };
    }
    case 'json':
    case 'ndjson': {
      const parse = sniffed.format === 'json' ? parseJsonArray : parseNdjson;
      const source = await parse(stream, { ...options, encoding: sniffed.encoding, bom: sniffed.bom });
      return { kind: 'tabular', format: sniffed.format, sources: single(source), sniffed };
    }
    case 'xlsx': {
      const sources = await parseXlsx(stream, { ...options, ...options.xlsx });
      return { kind: 'tabular', format: 'xlsx', sources, sniffed };
    }
    case 'text':
    case 'markdown': {
      const document = await parseTextDocument(stream, { ...options, format: sniffed.format, encoding: sniffed.encoding, bom: sniffed.bom });
      return { kind: 'document', format: sniffed.format, document, sniffed };
    }
    case 'pdf': {
      const document = await parsePdfDocument(stream, options);
      return { kind: 'document', format: 'pdf', document, sniffed };
    }
    case 'fixed-width':
      throw new AppError('unsupported-format', 'Fixed-width files are not supported until copybooks are built', { extras: { reason: 'fixed-width' } });
  }
}

/**
 * {@link openSource} for tabular formats only: a text, Markdown or PDF file is
 * `unsupported-format` here.
 */
export async function openTabular(input: ByteInput, options: OpenOptions = {}): Promise<{ sources: AsyncIterable<TabularSource>; sniffed: SniffResult }> {
  const opened = await openSource(input, options);
  if (opened.kind !== 'tabular') {
    throw new AppError('unsupported-format', `A ${opened.format} file holds no table`, { extras: { reason: 'not-tabular' } });
  }
  return { sources: opened.sources, sniffed: opened.sniffed };
}
