/**
 * Helpers of the parser tests: byte streams cut into chunks of a chosen size, and collectors.
 */
import { isAppError, type AppError } from '../../../src/errors.js';
import type { ByteInput, SourceRecord, TabularSource } from '../../../src/realms/content/source.js';

/** `bytes` as a stream of `chunkSize`-byte chunks (to exercise every chunk boundary). */
export function chunked(bytes: Uint8Array | string, chunkSize = 65_536): ByteInput {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes);
  return {
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < buf.length; i += chunkSize) yield buf.subarray(i, Math.min(buf.length, i + chunkSize));
    },
  };
}

/** Every record of a source. */
export async function records(source: TabularSource): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const batch of source.batches) out.push(...batch);
  return out;
}

/** Records as objects keyed by column name. */
export async function objects(source: TabularSource): Promise<Record<string, unknown>[]> {
  return (await records(source)).map((r) => Object.fromEntries(source.columns.map((c, i) => [c, r.values[i]])));
}

/** The `AppError` a promise rejects with (fails the test if it resolves or throws anything else). */
export async function appErrorOf(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (isAppError(e)) return e;
    throw e;
  }
  throw new Error('expected an AppError, but the promise resolved');
}
