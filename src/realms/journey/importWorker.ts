/**
 * @module realms/journey/importWorker
 * Worker-thread entry of {@link importBpmnOffThread}: imports the document in `workerData`
 * and posts `{ t: 'done', model, warnings, encoding }` or `{ t: 'error', code?, message,
 * extras? }` (an `AppError` keeps its code and extras). The moddle tree stays here: only
 * the plain model crosses the thread boundary.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AppError } from '../../errors.js';
import { importBpmn } from './import.js';

export interface ImportWorkerData {
  bytes: Uint8Array;
  maxBytes?: number;
}

const port = parentPort;
if (port) {
  const data = workerData as ImportWorkerData;
  const options = data.maxBytes === undefined ? {} : { maxBytes: data.maxBytes };
  importBpmn(data.bytes, options).then(
    ({ model, warnings, encoding }) => port.postMessage({ t: 'done', model, warnings, encoding }),
    (e: unknown) => {
      if (e instanceof AppError) port.postMessage({ t: 'error', code: e.code, message: e.message, extras: { ...e.extras } });
      else port.postMessage({ t: 'error', message: e instanceof Error ? e.message : String(e) });
    },
  );
}
