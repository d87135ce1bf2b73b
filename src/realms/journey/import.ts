/**
 * @module realms/journey/import
 * BPMN 2.0 in: bytes → decoded text → safety checks → bpmn-moddle → {@link ProcessModel}.
 *
 * Failure semantics:
 * - more than `maxBytes` → `payload-too-large` (413). The limit bounds one document held in
 *   memory by the reader, which is a request-sized concern, not an upload's (`file-too-large`
 *   is for the blob store's own limit, which an upload meets before this);
 * - any `<!DOCTYPE` or `<!ENTITY` anywhere in the decoded text → `unsafe-content`, before the
 *   XML reader sees a byte (no entity expansion, no external fetches, whatever the reader does);
 * - an encoding label TextDecoder does not know → `bpmn-invalid`;
 * - XML that is not well formed, a root that is not `bpmn:Definitions`, or two elements with
 *   one id (references would be ambiguous) → `bpmn-invalid`, naming the element, line and reason;
 * - everything the lax reader worked around (unresolved references, unknown children,
 *   unparsable attributes) and structural problems found while building the model → `warnings`.
 */
import { BpmnModdle, type BpmnModdleParseError, type BpmnModdleWarning } from 'bpmn-moddle';
import { AppError } from '../../errors.js';
import { buildProcessModel, type ImportWarning, type ProcessModel } from './model.js';
import type { ModdleElementLike } from './moddle.js';

/** Default size limit of one BPMN document: 20 MiB. */
export const DEFAULT_BPMN_MAX_BYTES = 20 * 1024 * 1024;

export interface ImportOptions {
  /**
   * Largest document accepted, in bytes.
   * @defaultValue 20 MiB ({@link DEFAULT_BPMN_MAX_BYTES})
   */
  maxBytes?: number;
}

export interface ImportResult {
  /** The bpmn-moddle root (`bpmn:Definitions`), with vendor extensions kept for writing back. */
  definitions: ModdleElementLike;
  model: ProcessModel;
  warnings: ImportWarning[];
  /** The encoding the text was decoded from (WHATWG label, e.g. `windows-1252`). */
  encoding: string;
}

/** The result of {@link decodeXml}: text without BOM, and what it was decoded from. */
export interface DecodedXml {
  text: string;
  encoding: string;
  warnings: ImportWarning[];
}

const DECLARATION_RE = /^<\?xml\s[^>]*?\bencoding\s*=\s*(["'])([^"']*)\1[^>]*\?>/;

function startsWith(bytes: Uint8Array, ...prefix: number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

/**
 * Decodes a document as it declares: a BOM first (UTF-8, UTF-16 LE/BE), else UTF-16 without
 * BOM recognised by its `<?` pattern, else the `encoding` of the XML declaration, else UTF-8.
 * The declaration's `encoding` is then rewritten to UTF-8 since the text no longer is in it.
 * Bytes that are invalid in the chosen encoding become U+FFFD and are reported as a warning.
 */
export function decodeXml(bytes: Uint8Array): DecodedXml {
  const warnings: ImportWarning[] = [];
  let encoding = 'utf-8';
  let offset = 0;
  let fromBom = false;
  if (startsWith(bytes, 0xef, 0xbb, 0xbf)) {
    offset = 3;
    fromBom = true;
  } else if (startsWith(bytes, 0xff, 0xfe)) {
    encoding = 'utf-16le';
    offset = 2;
    fromBom = true;
  } else if (startsWith(bytes, 0xfe, 0xff)) {
    encoding = 'utf-16be';
    offset = 2;
    fromBom = true;
  } else if (startsWith(bytes, 0x3c, 0x00) && bytes[2] !== 0x00) {
    // '<' then NUL: UTF-16 without a byte order mark ('<?xml' or the root element).
    encoding = 'utf-16le';
  } else if (startsWith(bytes, 0x00, 0x3c) && bytes[3] !== 0x00) {
    encoding = 'utf-16be';
  }
  const body = bytes.subarray(offset);
  if (!fromBom && encoding === 'utf-8') {
    // The declaration is ASCII in every ASCII-compatible encoding: read it as latin1.
    const head = Buffer.from(body.subarray(0, 512)).toString('latin1');
    const declared = DECLARATION_RE.exec(head)?.[2]?.trim();
    if (declared && /^utf-?16/i.test(declared)) {
      // Bytes that read as ASCII are not UTF-16, whatever the declaration says.
      warnings.push({ message: `the XML declaration says ${declared} but the bytes are not UTF-16; read as UTF-8` });
    } else if (declared) encoding = declared;
  }
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
  } catch {
    throw new AppError('bpmn-invalid', `XML declaration: unsupported encoding "${encoding}"`, { extras: { element: 'xml', reason: 'unsupported-encoding' } });
  }
  let text: string;
  try {
    text = decoder.encoding === 'windows-1252' ? decodeWindows1252(body) : decoder.decode(body);
  } catch {
    text = new TextDecoder(encoding, { ignoreBOM: true }).decode(body);
    const at = text.indexOf('\uFFFD');
    const line = at < 0 ? 1 : text.slice(0, at).split('\n').length;
    warnings.push({ message: `bytes that are not valid ${decoder.encoding.toUpperCase()} (first at line ${line}) were replaced by U+FFFD` });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  text = text.replace(DECLARATION_RE, (decl, q: string, label: string) => decl.replace(`${q}${label}${q}`, `${q}UTF-8${q}`));
  return { text, encoding: decoder.encoding, warnings };
}

// Code points of windows-1252 bytes 0x80–0x9F (U+FFFD where the code page has none).
const CP1252_HIGH = [
  0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0xfffd, 0x017d, 0xfffd,
  0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e, 0x0178,
];

/**
 * windows-1252 (also what WHATWG means by "ISO-8859-1" and "us-ascii"). Node 20's
 * TextDecoder decodes this label as Latin-1, turning “ ” – € into C1 control characters,
 * so the 0x80–0x9F range is mapped here.
 */
function decodeWindows1252(bytes: Uint8Array): string {
  let out = '';
  const CHUNK = 8192;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    const part = bytes.subarray(i, i + CHUNK);
    const codes = new Array<number>(part.length);
    for (let k = 0; k < part.length; k++) {
      const b = part[k] as number;
      codes[k] = b >= 0x80 && b < 0xa0 ? (CP1252_HIGH[b - 0x80] as number) : b;
    }
    out += String.fromCharCode(...codes);
  }
  return out;
}

const UNSAFE_RE = /<!(DOCTYPE|ENTITY)/i;

/** `unsafe-content` for any DOCTYPE or ENTITY declaration, wherever it is. */
export function assertNoDoctype(text: string): void {
  const m = UNSAFE_RE.exec(text);
  if (!m) return;
  const line = text.slice(0, m.index).split('\n').length;
  throw new AppError('unsafe-content', `XML ${m[1]?.toUpperCase()} declaration at line ${line} refused: DTDs and entities are never processed`, {
    extras: { reason: m[1]?.toLowerCase(), line },
  });
}

interface ReaderProblem {
  tag?: string;
  line?: number;
  column?: number;
  reason: string;
}

/** Splits bpmn-moddle's "unparsable content <x> detected\n\tline: …" message into parts. */
function readerProblem(message: string): ReaderProblem {
  const first = /^unparsable content\s*([\s\S]*?)\s*detected/.exec(message);
  if (!first) return { reason: message.split('\n')[0] ?? message };
  const line = /\bline: (\d+)/.exec(message);
  const column = /\bcolumn: (\d+)/.exec(message);
  const nested = /nested error: ([^\n]*)/.exec(message);
  const raw = first[1] ?? '';
  const tag = raw.startsWith('<') ? raw.replace(/\s+/g, ' ').replace(/\s*>$/, '>') : raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
  const out: ReaderProblem = { reason: nested?.[1]?.trim() ?? 'unparsable content' };
  if (tag) out.tag = tag;
  // The reader counts lines and columns from 0.
  if (line) out.line = Number(line[1]) + 1;
  if (column) out.column = Number(column[1]) + 1;
  return out;
}

function describe(p: ReaderProblem): string {
  const where = p.line !== undefined ? ` at line ${p.line}, column ${p.column ?? 1}` : '';
  const what = p.tag === undefined ? 'unparsable content' : p.tag.startsWith('<') ? `unparsable content ${p.tag} detected` : `text where an element belongs ("${p.tag}")`;
  return `${what}${where}: ${p.reason}`;
}

function warningOf(w: BpmnModdleWarning): ImportWarning {
  if (w.message.startsWith('unresolved reference')) {
    const holder = w.element;
    const where = holder ? ` in ${holder.$type}${holder.id ? ` ${holder.id}` : ''}${w.property ? ` (${w.property})` : ''}` : '';
    const out: ImportWarning = { message: `${w.message}${where}` };
    if (holder?.id) out.elementId = holder.id;
    return out;
  }
  if (w.message.startsWith('unparsable content')) return { message: describe(readerProblem(w.message)) };
  return { message: w.message.split('\n')[0] ?? w.message };
}

function firstElementName(text: string): string | undefined {
  return /<([A-Za-z_][\w.:-]*)/.exec(text.replace(/<\?[\s\S]*?\?>|<!--[\s\S]*?-->/g, ''))?.[1];
}

/**
 * Imports one BPMN 2.0 document. See the module comment for what is refused and what is
 * only reported.
 *
 * @example
 * const { model, warnings } = await importBpmn(await readFile('order.bpmn'));
 */
export async function importBpmn(bytes: Uint8Array, options: ImportOptions = {}): Promise<ImportResult> {
  const maxBytes = options.maxBytes ?? DEFAULT_BPMN_MAX_BYTES;
  if (bytes.byteLength > maxBytes) {
    throw new AppError('payload-too-large', `BPMN document of ${bytes.byteLength} bytes is above the limit of ${maxBytes} bytes`, {
      extras: { bytes: bytes.byteLength, maxBytes },
    });
  }
  const decoded = decodeXml(bytes);
  assertNoDoctype(decoded.text);
  // NUL and other C0 controls are never allowed in XML 1.0: say "binary", not what the reader makes of it.
  const control = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/.exec(decoded.text.slice(0, 4096));
  if (control) {
    const hex = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new AppError('bpmn-invalid', `not XML: binary content (control character U+${control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()} near the start; first bytes ${hex})`, {
      extras: { element: null, reason: 'binary-content' },
    });
  }
  const warnings: ImportWarning[] = [...decoded.warnings];

  let parsed;
  try {
    parsed = await new BpmnModdle().fromXML(decoded.text);
  } catch (e) {
    const err = e as BpmnModdleParseError;
    const message = err instanceof Error ? err.message : String(e);
    if (message.startsWith('failed to parse document as')) {
      const found = firstElementName(decoded.text);
      throw new AppError('bpmn-invalid', `root element ${found ? `<${found}>` : '(none)'} is not a BPMN 2.0 <definitions> (namespace http://www.omg.org/spec/BPMN/20100524/MODEL)`, {
        extras: { element: found ?? null, reason: 'root-not-definitions' },
      });
    }
    const p = readerProblem(message);
    throw new AppError('bpmn-invalid', `not well-formed XML: ${describe(p)}`, {
      extras: { element: p.tag ?? null, line: p.line ?? null, column: p.column ?? null, reason: p.reason },
    });
  }

  for (const w of parsed.warnings) {
    const nested = w.error?.message ?? '';
    if (nested.startsWith('duplicate ID')) {
      const p = readerProblem(w.message);
      const id = /<([^>]*)>/.exec(nested)?.[1];
      throw new AppError('bpmn-invalid', `${p.tag ?? 'an element'} at line ${p.line ?? '?'}: ${nested}: ids must be unique, references would be ambiguous`, {
        extras: { element: p.tag ?? null, elementId: id ?? null, line: p.line ?? null, reason: 'duplicate-id' },
      });
    }
    warnings.push(warningOf(w));
  }

  const root = parsed.rootElement as ModdleElementLike;
  if (root.$type !== 'bpmn:Definitions') {
    throw new AppError('bpmn-invalid', `root element is ${root.$type}, not bpmn:Definitions`, { extras: { element: root.$type, reason: 'root-not-definitions' } });
  }
  const model = buildProcessModel(root, warnings);
  return { definitions: root, model, warnings, encoding: decoded.encoding };
}
