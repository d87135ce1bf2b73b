/**
 * @module realms/content/parsers/xlsxWorker
 * Worker-thread entry of the XLSX parser: reads the workbook named in `workerData` with
 * {@link readWorkbook} and posts its events to the parent. At most {@link WINDOW} batches
 * are in flight: the worker waits for an `ack` per batch, so a slow consumer holds the
 * worker's memory to a few batches.
 *
 * Messages to the parent: `sheet`, `batch`, `issue`, `sheetEnd`, then `done` or `error`
 * (an `AppError`'s code, message and extras, or a plain message).
 */
import { dirname } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { AppError } from '../../../errors.js';
import { readWorkbook, type XlsxReadOptions } from './xlsxRead.js';

const WINDOW = 2;

export interface XlsxWorkerData {
  path: string;
  options: XlsxReadOptions;
}

const port = parentPort;
if (port) {
  const data = workerData as XlsxWorkerData;
  // exceljs spools sheets that precede the shared strings to temporary files (with `tmp`,
  // under `os.tmpdir()`), and a terminated worker never removes them: put them in the
  // parse's private directory, which the parent removes whatever happens. `process.env` is
  // this worker's own copy.
  process.env.TMPDIR = dirname(data.path);
  let inFlight = 0;
  let wake: (() => void) | null = null;
  port.on('message', (m: { t: string }) => {
    if (m.t === 'ack') {
      inFlight--;
      const w = wake;
      wake = null;
      w?.();
    }
  });
  readWorkbook(data.path, data.options, {
    sheet(info) {
      port.postMessage({ t: 'sheet', ...info });
    },
    async batch(records) {
      inFlight++;
      port.postMessage({ t: 'batch', records });
      while (inFlight >= WINDOW) await new Promise<void>((r) => (wake = r));
    },
    issue(issue, bad, message) {
      port.postMessage({ t: 'issue', issue, bad, message });
    },
    sheetEnd(info) {
      port.postMessage({ t: 'sheetEnd', ...info });
    },
  })
    .then(() => port.postMessage({ t: 'done' }))
    .catch((e: unknown) => {
      if (e instanceof AppError) port.postMessage({ t: 'error', code: e.code, message: e.message, extras: e.extras });
      else port.postMessage({ t: 'error', message: e instanceof Error ? e.message : String(e) });
    })
    .finally(() => port.close());
}
