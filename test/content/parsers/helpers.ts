/**
 * Helpers of the parser tests: byte streams cut into chunks of a chosen size, and collectors.
 */
import { deflateRawSync } from 'node:zlib';
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

/** A ZIP built by hand: each entry deflated (or stored), with sizes that may lie. */
export function zip(entries: { name: string; data: Buffer; declaredSize?: number; flags?: number }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const packed = deflateRawSync(e.data, { level: 9 });
    const size = e.declaredSize ?? e.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.flags ?? 0, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(e.flags ?? 0, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, packed);
    centrals.push(central, name);
    offset += 30 + name.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

export const CONTENT_TYPES = Buffer.from('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>');
export const WORKBOOK = Buffer.from('<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets><sheet name="S" sheetId="1"/></sheets></workbook>');
