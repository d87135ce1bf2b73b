/**
 * @module realms/content/parsers/zip
 * A defensive pre-scan of a ZIP package (an XLSX) before any XML parser sees it. exceljs
 * inflates with unzipper and has no inflate-ratio cap, so this scan stands between the
 * upload and exceljs:
 *
 * 1. the central directory is read and checked: entry count, encryption flags, declared
 *    uncompressed sizes (per entry and in total) and compression ratios;
 * 2. every entry is then actually inflated (streaming, nothing kept) and its bytes counted
 *    against the same caps, so a header that lies about sizes gains nothing; the first
 *    bytes of every XML part are checked for a DOCTYPE or entity declaration.
 *
 * Refusals are `unsafe-content` (reason `zip-bomb`, `encrypted-entry`, `xml-doctype`,
 * `too-many-entries`, `shared-strings-too-large`) or `parse-error` (reason `invalid-zip`).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { createInflateRaw } from 'node:zlib';
import { AppError } from '../../../errors.js';

export interface ZipLimits {
  /**
   * Total uncompressed bytes of all entries.
   * @defaultValue 2 GiB
   */
  maxInflatedBytes: number;
  /**
   * Largest uncompressed/compressed ratio of an entry above 1 MiB uncompressed.
   * @defaultValue 200
   */
  maxInflateRatio: number;
  /** @defaultValue 10000 */
  maxEntries: number;
  /**
   * Uncompressed bytes of `xl/sharedStrings.xml`. exceljs keeps every shared string in
   * memory for the whole read, so this bounds that memory (about twice this in JS strings).
   * @defaultValue 64 MiB
   */
  maxSharedStringsBytes: number;
}

export const ZIP_DEFAULTS: ZipLimits = {
  maxInflatedBytes: 2 * 1024 ** 3,
  maxInflateRatio: 200,
  maxEntries: 10_000,
  maxSharedStringsBytes: 64 * 1024 ** 2,
};

export interface ZipEntry {
  name: string;
  /** The entry's central-directory record as stored (for {@link repackZip}). */
  central: Buffer;
  /** True when a size or offset needed the ZIP64 extension. */
  zip64: boolean;
  method: number;
  flags: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export interface ZipScan {
  entries: ZipEntry[];
  /** Actual inflated bytes per entry name. */
  inflated: Map<string, number>;
  totalInflated: number;
}

const RATIO_FLOOR = 1024 * 1024;

function unsafe(detail: string, reason: string, extras: Record<string, unknown> = {}): AppError {
  return new AppError('unsafe-content', detail, { extras: { reason, position: { byteOffset: 0 }, ...extras } });
}

function invalid(detail: string, byteOffset = 0): AppError {
  return new AppError('parse-error', detail, { extras: { reason: 'invalid-zip', position: { byteOffset } } });
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

/** Reads the central directory (ZIP64 aware). */
export async function readCentralDirectory(fh: FileHandle, size: number, limits: ZipLimits): Promise<ZipEntry[]> {
  const tailLength = Math.min(size, 65_557);
  const tail = await readAt(fh, size - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw invalid('Not a ZIP archive: no end of central directory (a truncated or corrupt workbook)', size);
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || tail.readUInt32LE(locator) !== 0x07064b50) throw invalid('ZIP64 archive without a ZIP64 locator');
    const z64Offset = Number(tail.readBigUInt64LE(locator + 8));
    const z64 = await readAt(fh, z64Offset, 56);
    if (z64.length < 56 || z64.readUInt32LE(0) !== 0x06064b50) throw invalid('Corrupt ZIP64 end of central directory', z64Offset);
    count = Number(z64.readBigUInt64LE(32));
    cdSize = Number(z64.readBigUInt64LE(40));
    cdOffset = Number(z64.readBigUInt64LE(48));
  }
  if (count > limits.maxEntries) throw unsafe(`The archive holds ${count} entries (limit ${limits.maxEntries})`, 'too-many-entries');
  if (cdOffset + cdSize > size) throw invalid('The central directory lies beyond the end of the file', cdOffset);
  const cd = await readAt(fh, cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let k = 0; k < count; k++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw invalid('Corrupt central directory entry', cdOffset + p);
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    let compressedSize = cd.readUInt32LE(p + 20);
    let uncompressedSize = cd.readUInt32LE(p + 24);
    const nameLength = cd.readUInt16LE(p + 28);
    const extraLength = cd.readUInt16LE(p + 30);
    const commentLength = cd.readUInt16LE(p + 32);
    let localHeaderOffset = cd.readUInt32LE(p + 42);
    const zip64 = compressedSize === 0xffffffff || uncompressedSize === 0xffffffff || localHeaderOffset === 0xffffffff;
    const name = cd.toString('utf8', p + 46, p + 46 + nameLength);
    // ZIP64 extended information: the fields that overflowed, in this order.
    let e = p + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = cd.readUInt16LE(e);
      const len = cd.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (uncompressedSize === 0xffffffff && q + 8 <= e + 4 + len) {
          uncompressedSize = Number(cd.readBigUInt64LE(q));
          q += 8;
        }
        if (compressedSize === 0xffffffff && q + 8 <= e + 4 + len) {
          compressedSize = Number(cd.readBigUInt64LE(q));
          q += 8;
        }
        if (localHeaderOffset === 0xffffffff && q + 8 <= e + 4 + len) localHeaderOffset = Number(cd.readBigUInt64LE(q));
      }
      e += 4 + len;
    }
    entries.push({ name, central: cd.subarray(p, extraEnd + commentLength), zip64, method, flags, compressedSize, uncompressedSize, localHeaderOffset });
    p = extraEnd + commentLength;
  }
  return entries;
}

function checkDeclared(entries: readonly ZipEntry[], limits: ZipLimits): void {
  let total = 0;
  for (const entry of entries) {
    if (entry.flags & 0x1) throw unsafe(`The workbook is encrypted (entry ${entry.name}); save it without a password`, 'encrypted-entry', { entry: entry.name });
    total += entry.uncompressedSize;
    if (entry.uncompressedSize > RATIO_FLOOR && entry.uncompressedSize / Math.max(1, entry.compressedSize) > limits.maxInflateRatio) {
      throw unsafe(
        `Entry ${entry.name} declares a compression ratio of ${Math.round(entry.uncompressedSize / Math.max(1, entry.compressedSize))}:1 (limit ${limits.maxInflateRatio}:1): refused as a zip bomb`,
        'zip-bomb',
        { entry: entry.name },
      );
    }
    if (entry.name === 'xl/sharedStrings.xml' && entry.uncompressedSize > limits.maxSharedStringsBytes) {
      throw unsafe(
        `The workbook's shared strings take ${entry.uncompressedSize} bytes (limit ${limits.maxSharedStringsBytes}); exceljs keeps them all in memory. Save the sheet as CSV instead`,
        'shared-strings-too-large',
      );
    }
  }
  if (total > limits.maxInflatedBytes) {
    throw unsafe(`The archive declares ${total} uncompressed bytes (limit ${limits.maxInflatedBytes}): refused as a zip bomb`, 'zip-bomb');
  }
}

/** Inflates one entry, counting bytes; returns the count or throws past a cap. */
async function inflateCount(fh: FileHandle, entry: ZipEntry, limits: ZipLimits, budget: number): Promise<number> {
  const local = await readAt(fh, entry.localHeaderOffset, 30);
  if (local.length < 30 || local.readUInt32LE(0) !== 0x04034b50) throw invalid(`Corrupt local header of ${entry.name}`, entry.localHeaderOffset);
  const dataStart = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  const isXml = /\.(xml|rels|vml)$/i.test(entry.name);
  const entryCap = Math.min(budget, Math.max(RATIO_FLOOR, entry.compressedSize * limits.maxInflateRatio));
  if (entry.method === 0) {
    if (isXml) checkXmlHead(await readAt(fh, dataStart, Math.min(4096, entry.compressedSize)), entry.name);
    return entry.compressedSize;
  }
  if (entry.method !== 8) throw invalid(`Entry ${entry.name} uses compression method ${entry.method}, which a workbook never uses`, entry.localHeaderOffset);
  const inflater = createInflateRaw();
  let produced = 0;
  let head: Buffer | null = isXml ? Buffer.alloc(0) : null;
  const result = new Promise<number>((resolve, reject) => {
    inflater.on('data', (chunk: Buffer) => {
      produced += chunk.length;
      if (head !== null) {
        head = Buffer.concat([head, chunk.subarray(0, 4096)]);
        if (head.length >= 4096) {
          try {
            checkXmlHead(head, entry.name);
          } catch (e) {
            inflater.destroy();
            reject(e);
            return;
          }
          head = null;
        }
      }
      if (produced > entryCap || produced > entry.uncompressedSize + 0) {
        inflater.destroy();
        reject(
          produced > entry.uncompressedSize && produced <= entryCap
            ? unsafe(`Entry ${entry.name} inflates past its declared size of ${entry.uncompressedSize} bytes: refused as a zip bomb`, 'zip-bomb', { entry: entry.name })
            : unsafe(`Entry ${entry.name} inflates past ${entryCap} bytes (ratio or total limit): refused as a zip bomb`, 'zip-bomb', { entry: entry.name }),
        );
      }
    });
    inflater.on('end', () => {
      if (head !== null) {
        try {
          checkXmlHead(head, entry.name);
        } catch (e) {
          reject(e);
          return;
        }
      }
      resolve(produced);
    });
    inflater.on('error', (e) => reject(invalid(`Entry ${entry.name} does not inflate (${e.message})`, dataStart)));
  });
  // The result is awaited below; until then a refusal must not count as unhandled.
  result.catch(() => undefined);
  const step = 256 * 1024;
  for (let pos = 0; pos < entry.compressedSize; pos += step) {
    if (inflater.destroyed) break;
    const chunk = await readAt(fh, dataStart + pos, Math.min(step, entry.compressedSize - pos));
    if (chunk.length === 0) break;
    if (!inflater.write(chunk)) {
      // A refusal destroys the inflater, which then never drains: wake on close too.
      await new Promise<void>((r) => {
        const done = () => {
          inflater.off('drain', done);
          inflater.off('close', done);
          r();
        };
        inflater.on('drain', done);
        inflater.on('close', done);
      });
    }
  }
  if (!inflater.destroyed) inflater.end();
  return result;
}

function checkXmlHead(head: Buffer, name: string): void {
  const text = head.toString('latin1');
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    throw unsafe(`Part ${name} declares a DOCTYPE or an entity; refused (XML entity expansion and external entities)`, 'xml-doctype', { entry: name });
  }
}

/**
 * Checks the ZIP at `path` against `limits`, inflating every entry once without keeping it.
 *
 * @throws AppError `unsafe-content` or `parse-error` (see the module notes).
 */
export async function scanZip(path: string, limits: ZipLimits = ZIP_DEFAULTS): Promise<ZipScan> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const entries = await readCentralDirectory(fh, size, limits);
    checkDeclared(entries, limits);
    const inflated = new Map<string, number>();
    let total = 0;
    for (const entry of entries) {
      if (entry.name.endsWith('/')) continue;
      const bytes = await inflateCount(fh, entry, limits, limits.maxInflatedBytes - total);
      inflated.set(entry.name, bytes);
      total += bytes;
      if (entry.name === 'xl/sharedStrings.xml' && bytes > limits.maxSharedStringsBytes) {
        throw unsafe(`The workbook's shared strings take ${bytes} bytes (limit ${limits.maxSharedStringsBytes})`, 'shared-strings-too-large');
      }
    }
    return { entries, inflated, totalInflated: total };
  } finally {
    await fh.close();
  }
}

/** The order exceljs reads best: relationships and workbook, then shared strings and styles, then sheets. */
function exceljsRank(name: string): number {
  if (name === '[Content_Types].xml') return 0;
  if (name === '_rels/.rels') return 1;
  if (name === 'xl/_rels/workbook.xml.rels') return 2;
  if (name === 'xl/workbook.xml') return 3;
  if (name === 'xl/sharedStrings.xml') return 4;
  if (name === 'xl/styles.xml') return 5;
  if (/^xl\/worksheets\/sheet\d+\.xml$/.test(name)) return 6;
  return -1;
}

/**
 * Writes to `destPath` a copy of the ZIP at `srcPath` that holds only the parts exceljs'
 * streaming reader uses, in the order it needs them: relationships, workbook, shared
 * strings and styles before any sheet. Compressed data is copied as is.
 *
 * Why: exceljs reads the ZIP front to back. A sheet stored before the shared strings (the
 * order many producers write) is spooled to a temporary file and read last; under load the
 * entry loop was seen to end before the shared strings were read, leaving sheets with
 * unresolved string indexes, and a sheet read before the styles gets no dates. In this order
 * no sheet is deferred. Returns false (and writes nothing) for a ZIP64 archive, which is
 * left as it is.
 */
export async function repackZip(srcPath: string, entries: readonly ZipEntry[], destPath: string): Promise<boolean> {
  if (entries.some((e) => e.zip64)) return false;
  const chosen = entries
    .map((e, i) => ({ e, i, rank: exceljsRank(e.name) }))
    .filter((x) => x.rank >= 0)
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((x) => x.e);
  const src = await open(srcPath, 'r');
  const out = await open(destPath, 'wx', 0o600);
  try {
    const centrals: Buffer[] = [];
    let offset = 0;
    for (const entry of chosen) {
      const local = await readAt(src, entry.localHeaderOffset, 30);
      if (local.length < 30 || local.readUInt32LE(0) !== 0x04034b50) throw invalid(`Corrupt local header of ${entry.name}`, entry.localHeaderOffset);
      const dataStart = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      let length = dataStart - entry.localHeaderOffset + entry.compressedSize;
      if (entry.flags & 0x8) {
        // A data descriptor follows the data: crc and sizes, with or without its signature.
        const sig = await readAt(src, dataStart + entry.compressedSize, 4);
        length += (sig.length === 4 && sig.readUInt32LE(0) === 0x08074b50 ? 4 : 0) + 12;
      }
      for (let pos = 0; pos < length; pos += 1024 * 1024) {
        const part = await readAt(src, entry.localHeaderOffset + pos, Math.min(1024 * 1024, length - pos));
        await out.write(part);
      }
      const central = Buffer.from(entry.central);
      central.writeUInt32LE(offset, 42);
      centrals.push(central);
      offset += length;
    }
    const cd = Buffer.concat(centrals);
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(chosen.length, 8);
    eocd.writeUInt16LE(chosen.length, 10);
    eocd.writeUInt32LE(cd.length, 12);
    eocd.writeUInt32LE(offset, 16);
    await out.write(Buffer.concat([cd, eocd]));
    return true;
  } finally {
    await out.close();
    await src.close();
  }
}
