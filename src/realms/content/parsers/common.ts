/**
 * @module realms/content/parsers/common
 * What the tabular parsers share: the per-file issue log with its error budget, and the
 * incremental decoder that turns a byte stream in one of the supported encodings into text
 * chunks that know their byte offsets.
 */
import { isUtf8 } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { AppError } from '../../../errors.js';
import { invalidUtf8Offset } from '../sniff.js';
import type { ByteInput, ParseIssue, SourceEncoding, SourcePosition } from '../source.js';
import { MAX_KEPT_ISSUES } from '../source.js';

/** Issues attached to a `bad-rows-exceeded` error. */
export const FIRST_ISSUES = 20;

/** A position without its unset members (problem bodies stay small and JSON-clean). */
export function cleanPosition(p: SourcePosition): SourcePosition {
  const out: SourcePosition = {};
  if (p.row !== undefined) out.row = p.row;
  if (p.line !== undefined) out.line = p.line;
  if (p.byteOffset !== undefined) out.byteOffset = p.byteOffset;
  if (p.sheet !== undefined) out.sheet = p.sheet;
  if (p.cell !== undefined) out.cell = p.cell;
  if (p.page !== undefined) out.page = p.page;
  return out;
}

function describe(p: SourcePosition): string {
  const parts: string[] = [];
  if (p.sheet !== undefined) parts.push(`sheet ${JSON.stringify(p.sheet)}`);
  if (p.cell !== undefined) parts.push(`cell ${p.cell}`);
  if (p.line !== undefined) parts.push(`line ${p.line}`);
  if (p.row !== undefined) parts.push(`row ${p.row}`);
  if (p.byteOffset !== undefined) parts.push(`byte ${p.byteOffset}`);
  return parts.length > 0 ? ` at ${parts.join(', ')}` : '';
}

/** A typed parse failure carrying `position` and `reason` (DOMAIN.md section 6). */
export function positionedError(
  code: 'parse-error' | 'record-too-large' | 'unsafe-content' | 'unsupported-format',
  message: string,
  position: SourcePosition,
  reason: string,
  cause?: unknown,
): AppError {
  const clean = cleanPosition(position);
  return new AppError(code, `${message}${describe(clean)}`, {
    extras: { position: clean, reason },
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The issues of one source and its error budget. `bad()` records a bad row: with
 * `maxBadRows: 0` (the strict policy) the first one is thrown as `parse-error` with its
 * position; otherwise it is kept and counted, and one above the budget throws
 * `bad-rows-exceeded` with the first issues attached.
 */
export interface IssueLog {
  readonly issues: ParseIssue[];
  badRows(): number;
  paddedRows(): number;
  /** Records a skipped or rejected row; throws when the policy or the budget says so. */
  bad(issue: ParseIssue, message: string): void;
  /** Records a padded row (not counted against the budget). */
  padded(issue: ParseIssue): void;
}

export function createIssueLog(maxBadRows: number): IssueLog {
  const issues: ParseIssue[] = [];
  let bad = 0;
  let padded = 0;
  const keep = (issue: ParseIssue) => {
    if (issues.length < MAX_KEPT_ISSUES) issues.push(issue);
  };
  return {
    issues,
    badRows: () => bad,
    paddedRows: () => padded,
    bad(issue, message) {
      const position: SourcePosition = {
        row: issue.row,
        line: issue.line,
        byteOffset: issue.byteOffset,
        sheet: issue.sheet,
        cell: issue.cell,
      };
      const reason = issue.reason ?? issue.code;
      if (maxBadRows <= 0) {
        const code = issue.code === 'record-too-large' ? 'record-too-large' : 'parse-error';
        throw positionedError(code, message, position, reason);
      }
      bad++;
      keep(issue);
      if (bad > maxBadRows) {
        throw new AppError('bad-rows-exceeded', `More than ${maxBadRows} bad rows; the last${describe(cleanPosition(position))}: ${message}`, {
          extras: { position: cleanPosition(position), reason, issues: issues.slice(0, FIRST_ISSUES), badRows: bad },
        });
      }
    },
    padded(issue) {
      padded++;
      keep(issue);
    },
  };
}

/** A decoded piece of the input and where its bytes are. */
export interface TextChunk {
  text: string;
  /** Offset of the chunk's first byte in the stored file. */
  byteStart: number;
  /** Bytes of the stored file the chunk decodes. */
  byteLength: number;
  /** Bytes per UTF-16 code unit when fixed (1 for ASCII or Latin-1, 2 for UTF-16); 0 when variable. */
  unitBytes: number;
}

/** Bytes in the stored file of `text.slice(from, to)`, for a chunk of `unitBytes`. */
export function byteLengthOf(text: string, from: number, to: number, unitBytes: number): number {
  if (to <= from) return 0;
  if (unitBytes !== 0) return (to - from) * unitBytes;
  return Buffer.byteLength(from === 0 && to === text.length ? text : text.slice(from, to), 'utf8');
}

/** Length of the trailing incomplete UTF-8 sequence of `bytes` (0–3). */
function incompleteUtf8Tail(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = bytes[n - back]!;
    if ((b & 0xc0) === 0x80) continue;
    if (b < 0x80) return 0;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

export interface DecodeOptions {
  encoding: SourceEncoding;
  /** Bytes of byte-order mark to drop at the start. */
  bom: number;
  /** Called for invalid bytes (UTF-8) before they are replaced by U+FFFD; may throw. */
  onInvalid(byteOffset: number, reason: 'invalid-utf-8' | 'truncated-utf-8' | 'invalid-utf-16'): void;
  signal?: AbortSignal;
}

/**
 * Decodes `input` incrementally. UTF-8 is cut at character boundaries and validated: an
 * invalid byte or a sequence truncated at the end of the input is reported through
 * `onInvalid` with its exact byte offset (which may throw; if it returns, the bytes become
 * U+FFFD). Latin-1 is decoded as windows-1252 (the WHATWG reading of `latin1`, which is
 * what legacy Windows extracts hold). UTF-16 LE/BE decode with `stream: true`.
 */
export async function* decodeChunks(input: ByteInput, options: DecodeOptions): AsyncGenerator<TextChunk> {
  for await (const chunk of decodeRaw(input, options)) {
    yield chunk;
    await yieldToEventLoop();
  }
}

/** The last time the event loop was given a turn. */
let lastTurn = performance.now();

/**
 * Gives the event loop a turn (timers, I/O: lease renewals) when the caller has held it for
 * more than {@link TURN_MS}. An input backed by I/O yields by itself; an in-memory one (or a
 * fast disk with a warm cache) could otherwise starve timers for the whole parse.
 */
export async function yieldToEventLoop(): Promise<void> {
  const now = performance.now();
  if (now - lastTurn < TURN_MS) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  lastTurn = performance.now();
}

/** Longest stretch a parser holds the event loop between turns, in milliseconds. */
export const TURN_MS = 20;

async function* decodeRaw(input: ByteInput, options: DecodeOptions): AsyncGenerator<TextChunk> {
  const { encoding, signal } = options;
  let offset = 0;
  let bomLeft = options.bom;
  if (encoding === 'utf-8') {
    const lenient = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
    let carry: Uint8Array | null = null;
    for await (const raw of input) {
      signal?.throwIfAborted();
      let bytes: Uint8Array = raw;
      if (bomLeft > 0) {
        const drop = Math.min(bomLeft, bytes.length);
        bytes = bytes.subarray(drop);
        bomLeft -= drop;
        offset += drop;
        if (bytes.length === 0) continue;
      }
      if (carry) {
        bytes = Buffer.concat([carry, bytes]);
        carry = null;
      }
      const tail = incompleteUtf8Tail(bytes);
      if (tail > 0) {
        carry = bytes.slice(bytes.length - tail);
        bytes = bytes.subarray(0, bytes.length - tail);
      }
      if (bytes.length === 0) continue;
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
      let text: string;
      if (isUtf8(buf)) text = buf.toString('utf8');
      else {
        options.onInvalid(offset + Math.max(0, invalidUtf8Offset(bytes)), 'invalid-utf-8');
        text = lenient.decode(bytes);
      }
      // Every non-ASCII character takes more bytes than UTF-16 code units.
      const ascii = text.length === bytes.length;
      yield { text, byteStart: offset, byteLength: bytes.length, unitBytes: ascii ? 1 : 0 };
      offset += bytes.length;
    }
    if (carry) {
      options.onInvalid(offset, 'truncated-utf-8');
      yield { text: lenient.decode(carry), byteStart: offset, byteLength: carry.length, unitBytes: 0 };
    }
    return;
  }
  const label = encoding === 'latin1' ? 'windows-1252' : encoding;
  const decoder = new TextDecoder(label, { fatal: false, ignoreBOM: true });
  const unitBytes = encoding === 'latin1' ? 1 : 2;
  const start = bomLeft;
  let fed = 0;
  let chars = 0;
  for await (const raw of input) {
    signal?.throwIfAborted();
    let bytes: Uint8Array = raw;
    if (bomLeft > 0) {
      const drop = Math.min(bomLeft, bytes.length);
      bytes = bytes.subarray(drop);
      bomLeft -= drop;
      if (bytes.length === 0) continue;
    }
    fed += bytes.length;
    // UTF-16 may hold back an odd byte or a high surrogate: offsets follow the decoded text.
    const text = decoder.decode(bytes, { stream: true });
    if (text.length > 0) yield { text, byteStart: start + chars * unitBytes, byteLength: text.length * unitBytes, unitBytes };
    chars += text.length;
  }
  if (unitBytes === 2 && fed % 2 === 1) options.onInvalid(start + fed - 1, 'invalid-utf-16');
  const rest = decoder.decode();
  if (rest.length > 0) yield { text: rest, byteStart: start + chars * unitBytes, byteLength: rest.length * unitBytes, unitBytes };
}
