/**
 * @module realms/journey/importThread
 * {@link importBpmnOffThread}: the BPMN import on a worker thread, so that a large document
 * (tens of MiB take seconds in the XML reader) does not hold the event loop, and with it the
 * actor's lease renewals. Small documents are imported in place: a worker costs more to
 * start than they take.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError, type ProblemCode } from '../../errors.js';
import { importBpmn, type ImportOptions } from './import.js';
import type { ImportWarning, ProcessModel } from './model.js';

/** What crosses the thread boundary: the model without the moddle tree. */
export interface ImportedModel {
  model: ProcessModel;
  warnings: ImportWarning[];
  encoding: string;
}

/**
 * Documents at least this large are imported on a worker thread.
 * @defaultValue 1 MiB
 */
export const OFF_THREAD_MIN_BYTES = 1024 * 1024;

type WorkerMessage =
  | ({ t: 'done' } & ImportedModel)
  | { t: 'error'; code?: ProblemCode; message: string; extras?: Record<string, unknown> };

function workerUrl(): URL {
  const here = import.meta.url;
  return new URL(here.endsWith('.ts') ? './importWorker.ts' : './importWorker.js', here);
}

/** Under a TypeScript loader (tsx, vitest) the worker registers tsx before loading its entry. */
function startWorker(workerData: { bytes: Uint8Array; maxBytes?: number }): Worker {
  const url = workerUrl();
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData });
  const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
  const tsx = pathToFileURL(join(dirname(pkg), 'dist/esm/api/index.mjs')).href;
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(code, { eval: true, workerData });
}

/**
 * Imports `bytes` like {@link importBpmn} (same refusals, same warnings) and returns the
 * model; documents of {@link OFF_THREAD_MIN_BYTES} or more are read on a worker thread.
 */
export async function importBpmnOffThread(
  bytes: Uint8Array,
  options: ImportOptions & { minBytes?: number } = {},
): Promise<ImportedModel> {
  const { minBytes = OFF_THREAD_MIN_BYTES, ...importOptions } = options;
  if (bytes.byteLength < minBytes) {
    const { model, warnings, encoding } = await importBpmn(bytes, importOptions);
    return { model, warnings, encoding };
  }
  const data: { bytes: Uint8Array; maxBytes?: number } = { bytes };
  if (importOptions.maxBytes !== undefined) data.maxBytes = importOptions.maxBytes;
  const worker = startWorker(data);
  try {
    return await new Promise<ImportedModel>((resolve, reject) => {
      worker.once('message', (m: WorkerMessage) => {
        if (m.t === 'done') resolve({ model: m.model, warnings: m.warnings, encoding: m.encoding });
        else reject(m.code ? new AppError(m.code, m.message, { extras: m.extras ?? {} }) : new Error(m.message));
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`BPMN import worker exited with code ${code}`)));
    });
  } finally {
    await worker.terminate();
  }
}
