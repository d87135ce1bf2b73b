/**
 * @module realms/content/parsers/xlsx
 * XLSX parser: one {@link TabularSource} per sheet, streamed.
 *
 * Steps: the upload is spooled to a private temporary file (a ZIP's directory is at its
 * end; at most `maxBytes`, default 256 MiB, else `file-too-large`); {@link scanZip} checks
 * it (encryption, declared and actual inflated sizes, inflate ratio, DOCTYPE, the size of
 * the shared strings that exceljs keeps in memory) and rewrites it with the parts exceljs
 * reads in the order it needs them (`repackZip`); then exceljs' streaming
 * `WorkbookReader` reads it in a worker thread, so the XML parsing never blocks the event
 * loop that renews leases. Batches cross the thread boundary with back-pressure (two in
 * flight). The temporary file is removed when the last sheet is read, on error, or when
 * the consumer stops early.
 *
 * Memory: bounded by a few batches plus exceljs' shared-strings table, which exceljs holds
 * whole; it is limited by `ZipLimits.maxSharedStringsBytes` (64 MiB of XML by default), and a
 * workbook above it is refused with `unsafe-content` (reason `shared-strings-too-large`),
 * which says to export the sheet as CSV.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError, isAppError, type ProblemCode } from '../../../errors.js';
import { resolveLimits, type ByteInput, type ParseIssue, type ParseOptions, type SourceRecord, type SourceStats, type TabularSource } from '../source.js';
import { createIssueLog, positionedError } from './common.js';
import { readWorkbook, type XlsxReadOptions, type XlsxSink } from './xlsxRead.js';
import { repackZip, scanZip, ZIP_DEFAULTS, type ZipLimits } from './zip.js';

export interface XlsxParseOptions extends ParseOptions {
  /** ZIP defences; defaults in `ZIP_DEFAULTS`. */
  zip?: Partial<ZipLimits>;
  /**
   * Read the workbook in a worker thread.
   * @defaultValue true
   */
  inWorker?: boolean;
}

type Event =
  | { t: 'sheet'; name: string; header: boolean; columns: string[] }
  | { t: 'batch'; records: SourceRecord[] }
  | { t: 'issue'; issue: ParseIssue; bad: boolean; message: string }
  | { t: 'sheetEnd'; name: string; rows: number }
  | { t: 'done' }
  | { t: 'error'; code?: ProblemCode; message: string; extras?: Record<string, unknown> };

/** A queue of reader events with a callback when the consumer takes a batch. */
function channel() {
  const items: Event[] = [];
  let waiting: ((e: Event) => void) | null = null;
  return {
    push(e: Event) {
      const w = waiting;
      if (w) {
        waiting = null;
        w(e);
      } else items.push(e);
    },
    next(): Promise<Event> {
      const e = items.shift();
      if (e) return Promise.resolve(e);
      return new Promise((r) => (waiting = r));
    },
  };
}

/** Copies `input` to a new private temp file, at most `maxBytes`. */
async function spool(input: ByteInput, maxBytes: number): Promise<{ dir: string; path: string; bytes: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'symphainy-xlsx-'));
  const path = join(dir, `${randomUUID()}.xlsx`);
  const out = createWriteStream(path, { mode: 0o600 });
  let bytes = 0;
  try {
    for await (const chunk of input) {
      bytes += chunk.length;
      if (bytes > maxBytes) throw new AppError('file-too-large', `A workbook above ${maxBytes} bytes cannot be parsed`, { extras: { maxBytes } });
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    return { dir, path, bytes };
  } catch (e) {
    // The file may still be opening (an input refused at its first chunk): removed once closed.
    if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()).destroy());
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

function workerUrl(): URL {
  const here = import.meta.url;
  return new URL(here.endsWith('.ts') ? './xlsxWorker.ts' : './xlsxWorker.js', here);
}

/** Starts the worker; under a TypeScript loader (tsx, vitest) the worker registers tsx first. */
function startWorker(path: string, options: XlsxReadOptions): Worker {
  const url = workerUrl();
  const workerData = { path, options };
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData });
  // The ESM entry of tsx's register API, found through its package.json (require.resolve
  // would give the CommonJS entry).
  const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
  const tsx = pathToFileURL(join(dirname(pkg), 'dist/esm/api/index.mjs')).href;
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(code, { eval: true, workerData });
}

function toAppError(e: Extract<Event, { t: 'error' }>): AppError {
  if (e.code) return new AppError(e.code, e.message, { extras: e.extras ?? {} });
  return positionedError('parse-error', `The workbook cannot be read (${e.message})`, { byteOffset: 0 }, 'invalid-workbook');
}

/**
 * Parses an XLSX workbook: yields one source per selected sheet, in workbook order. Consume
 * each source's batches before asking for the next (unread batches are discarded). Iterate
 * the sheets to the end, or leave the loop (`break`, a throw): either ends the worker and
 * removes the temporary file; a result that is never iterated keeps both until exit.
 *
 * @throws AppError `file-too-large`, `unsafe-content` (zip bomb, encrypted entry, DOCTYPE,
 * shared strings too large), `parse-error` (not a readable workbook; a ragged row under
 * `raggedRows: 'reject'`; any bad row under `maxBadRows: 0`), `bad-rows-exceeded`.
 */
export async function parseXlsx(input: ByteInput, options: XlsxParseOptions = {}): Promise<AsyncIterable<TabularSource>> {
  const limits = resolveLimits(options);
  const zipLimits: ZipLimits = { ...ZIP_DEFAULTS, ...options.zip };
  const { dir, path: spooled, bytes: fileBytes } = await spool(input, limits.maxBytes);
  let scan;
  try {
    scan = await scanZip(spooled, zipLimits);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  if (!scan.inflated.has('xl/workbook.xml')) {
    await rm(dir, { recursive: true, force: true });
    throw positionedError('parse-error', 'The archive holds no xl/workbook.xml: not an XLSX workbook', { byteOffset: 0 }, 'not-a-workbook');
  }
  // exceljs gets the parts it reads in the order it needs them (see `repackZip`).
  let path = spooled;
  try {
    const ordered = join(dir, 'ordered.xlsx');
    if (await repackZip(spooled, scan.entries, ordered)) {
      path = ordered;
      await rm(spooled, { force: true });
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }

  const readOptions: XlsxReadOptions = {
    sheets: options.sheets,
    header: options.header,
    raggedRows: limits.raggedRows,
    batchRows: limits.batchRows,
    dropColumns: limits.dropColumns,
  };
  const events = channel();
  let worker: Worker | null = null;
  let ack = () => {};
  if (options.inWorker ?? true) {
    const w = startWorker(path, readOptions);
    worker = w;
    w.on('message', (m: Event) => events.push(m));
    w.on('error', (e) => events.push({ t: 'error', message: e.message }));
    w.on('exit', (code) => {
      if (code !== 0) events.push({ t: 'error', message: `worker exited with code ${code}` });
    });
    ack = () => w.postMessage({ t: 'ack' });
  } else {
    let inFlight = 0;
    let wake: (() => void) | null = null;
    ack = () => {
      inFlight--;
      const f = wake;
      wake = null;
      f?.();
    };
    const sink: XlsxSink = {
      sheet: (info) => events.push({ t: 'sheet', ...info }),
      async batch(records) {
        inFlight++;
        events.push({ t: 'batch', records });
        while (inFlight >= 2) await new Promise<void>((r) => (wake = r));
      },
      issue: (issue, bad, message) => events.push({ t: 'issue', issue, bad, message }),
      sheetEnd: (info) => events.push({ t: 'sheetEnd', ...info }),
    };
    readWorkbook(path, readOptions, sink).then(
      () => events.push({ t: 'done' }),
      (e: unknown) =>
        events.push(
          isAppError(e)
            ? { t: 'error', code: e.code, message: e.message, extras: { ...e.extras } }
            : { t: 'error', message: e instanceof Error ? e.message : String(e) },
        ),
    );
  }

  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    if (worker) await worker.terminate().catch(() => 0);
    await rm(dir, { recursive: true, force: true });
  };
  const signal = options.signal;

  async function* sheets(): AsyncGenerator<TabularSource> {
    try {
      let pendingEnd: Promise<void> | null = null;
      for (;;) {
        if (pendingEnd) await pendingEnd;
        pendingEnd = null;
        signal?.throwIfAborted();
        const e = await events.next();
        if (e.t === 'done') return;
        if (e.t === 'error') throw toAppError(e);
        if (e.t !== 'sheet') continue;
        const sheetName = e.name;
        const log = createIssueLog(limits.maxBadRows);
        let rows = 0;
        let finished = false;
        let drained = false;
        let resolveEnd: () => void = () => {};
        const ended = new Promise<void>((r) => (resolveEnd = r));
        async function* batches(): AsyncGenerator<SourceRecord[]> {
          try {
            for (;;) {
              signal?.throwIfAborted();
              const ev = await events.next();
              if (ev.t === 'batch') {
                ack();
                rows += ev.records.length;
                yield ev.records;
              } else if (ev.t === 'issue') {
                if (ev.issue.action === 'rejected') {
                  throw positionedError('parse-error', `${ev.message}`, { ...ev.issue, sheet: sheetName }, 'ragged-row');
                }
                if (ev.bad) log.bad(ev.issue, ev.message);
                else log.padded(ev.issue);
              } else if (ev.t === 'sheetEnd') {
                finished = true;
                return;
              } else if (ev.t === 'error') throw toAppError(ev);
              else if (ev.t === 'done') {
                finished = true;
                return;
              }
            }
          } finally {
            drained = true;
            resolveEnd();
          }
        }
        const iterable = batches();
        const source: TabularSource = {
          kind: 'tabular',
          format: 'xlsx',
          encoding: 'utf-8',
          header: e.header,
          sheet: sheetName,
          columns: e.columns,
          batches: iterable,
          issues: log.issues,
          // The whole file was read (spooled and scanned) before the first sheet.
          stats: (): SourceStats => ({ rows, badRows: log.badRows(), paddedRows: log.paddedRows(), bytesRead: fileBytes, done: finished }),
        };
        // The next sheet starts once this one's events are consumed (or drained here).
        pendingEnd = ended;
        yield source;
        if (!drained) {
          for await (const _b of iterable) {
            // Unread batches of a sheet the consumer left: discarded.
          }
        }
      }
    } finally {
      await cleanup();
    }
  }
  return { [Symbol.asyncIterator]: sheets };
}
