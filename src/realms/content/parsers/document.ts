/**
 * @module realms/content/parsers/document
 * Plain text, Markdown and PDF into a {@link ParsedDocument}: sections (Markdown ATX headings
 * `#`…`######` and setext `===`/`---` underlines, outside code fences; one untitled section
 * for plain text and for what precedes the first heading) and passages of at most
 * {@link MAX_PASSAGE_CHARS} characters built from paragraphs, with 1-based line offsets over
 * the decoded text, for later semantic search.
 *
 * Text streams line by line (memory: the current paragraph plus the result). A PDF cannot
 * be streamed: its bytes are collected up to `maxBytes` (beyond, `file-too-large`) and read
 * by `pdf-parse` 2 page by page; lines are numbered across the document and each page's
 * line range is kept.
 */
import { AppError } from '../../../errors.js';
import {
  MAX_PASSAGE_CHARS,
  resolveLimits,
  type ByteInput,
  type DocumentPassage,
  type DocumentSection,
  type Format,
  type ParsedDocument,
  type ParseOptions,
  type SourceEncoding,
} from '../source.js';
import { createIssueLog, decodeChunks, positionedError } from './common.js';

export interface TextParseOptions extends ParseOptions {
  encoding: SourceEncoding;
  bom?: number;
}

/** Builds sections and passages from lines fed in order. */
export interface DocumentBuilder {
  line(text: string, page?: number): void;
  /** Starts a new page (PDF): the current paragraph ends. */
  page(page: number): void;
  finish(): { sections: DocumentSection[]; passages: DocumentPassage[]; lines: number; pages: { page: number; lineStart: number; lineEnd: number }[] };
}

export function createDocumentBuilder(markdown: boolean, untitled = ''): DocumentBuilder {
  const sections: DocumentSection[] = [];
  const passages: DocumentPassage[] = [];
  const pages: { page: number; lineStart: number; lineEnd: number }[] = [];
  let lineNo = 0;
  let inFence = false;
  let currentPage: number | undefined;
  let section: DocumentSection | null = null;
  // The passage being filled: its lines and text.
  let pText = '';
  let pStart = 0;
  let pEnd = 0;
  let pPage: number | undefined;
  // The previous line, held back one step because a setext underline turns it into a heading.
  let held: { text: string; line: number } | null = null;

  const openSection = (title: string, level: number, at: number) => {
    flushPassage();
    if (section) section.lineEnd = Math.max(section.lineStart, at - 1);
    section = { id: `s${sections.length + 1}`, title, level, lineStart: at, lineEnd: at };
    if (currentPage !== undefined) section.page = currentPage;
    sections.push(section);
  };
  const ensureSection = (at: number) => {
    if (!section) openSection(untitled, 0, at);
    return section!;
  };
  function flushPassage(): void {
    if (pText.trim() === '') {
      pText = '';
      return;
    }
    const s = ensureSection(pStart);
    const p: DocumentPassage = { id: `p${passages.length + 1}`, sectionId: s.id, lineStart: pStart, lineEnd: pEnd, text: pText };
    if (pPage !== undefined) p.page = pPage;
    passages.push(p);
    pText = '';
  }
  const addText = (text: string, at: number) => {
    ensureSection(at);
    // A line longer than a passage is cut into passage-sized pieces on that line.
    let rest = text;
    while (rest.length > 0) {
      const sep = pText === '' ? '' : '\n';
      const room = MAX_PASSAGE_CHARS - pText.length - sep.length;
      if (rest.length <= room) {
        if (pText === '') {
          pStart = at;
          pPage = currentPage;
        }
        pText += sep + rest;
        pEnd = at;
        return;
      }
      if (pText !== '') {
        flushPassage();
        continue;
      }
      let cut = rest.lastIndexOf(' ', MAX_PASSAGE_CHARS);
      if (cut <= 0) cut = MAX_PASSAGE_CHARS;
      pStart = at;
      pEnd = at;
      pPage = currentPage;
      pText = rest.slice(0, cut);
      flushPassage();
      rest = rest.slice(cut).replace(/^ /, '');
    }
  };
  const plain = (text: string, at: number) => {
    if (text.trim() === '') {
      flushPassage();
      return;
    }
    addText(text, at);
  };
  const release = () => {
    if (held) {
      plain(held.text, held.line);
      held = null;
    }
  };

  return {
    line(text) {
      lineNo++;
      if (section) section.lineEnd = lineNo;
      if (currentPage !== undefined) pages[pages.length - 1]!.lineEnd = lineNo;
      if (!markdown) {
        plain(text, lineNo);
        return;
      }
      if (/^\s{0,3}(```|~~~)/.test(text)) {
        release();
        inFence = !inFence;
        addText(text, lineNo);
        return;
      }
      if (inFence) {
        addText(text, lineNo);
        return;
      }
      const atx = /^\s{0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$/.exec(text);
      if (atx) {
        release();
        openSection((atx[2] ?? '').trim(), atx[1]!.length, lineNo);
        return;
      }
      if (held && held.text.trim() !== '' && /^\s{0,3}(=+|-+)\s*$/.test(text)) {
        const level = text.trim().startsWith('=') ? 1 : 2;
        const title = held.text.trim();
        const at = held.line;
        held = null;
        openSection(title, level, at);
        section!.lineEnd = lineNo;
        return;
      }
      release();
      held = { text, line: lineNo };
    },
    page(page) {
      release();
      flushPassage();
      currentPage = page;
      pages.push({ page, lineStart: lineNo + 1, lineEnd: lineNo });
    },
    finish() {
      release();
      flushPassage();
      if (section) section.lineEnd = Math.max(section.lineStart, lineNo);
      return { sections, passages, lines: lineNo, pages };
    },
  };
}

/** Parses plain text or Markdown from a byte stream. */
export async function parseTextDocument(input: ByteInput, options: TextParseOptions & { format: 'text' | 'markdown' }): Promise<ParsedDocument> {
  const limits = resolveLimits(options);
  const log = createIssueLog(limits.maxBadRows);
  const builder = createDocumentBuilder(options.format === 'markdown', options.fileName ?? '');
  let carry = '';
  let bytes = 0;
  let lineNo = 1;
  for await (const chunk of decodeChunks(input, {
    encoding: options.encoding,
    bom: options.bom ?? 0,
    signal: options.signal,
    onInvalid(byteOffset, reason) {
      log.bad({ code: 'parse-error', byteOffset, line: lineNo, action: 'skipped', reason }, 'Invalid text encoding');
    },
  })) {
    bytes = chunk.byteStart + chunk.byteLength;
    const s = carry + chunk.text;
    let start = 0;
    for (let nl = s.indexOf('\n'); nl >= 0; nl = s.indexOf('\n', start)) {
      builder.line(s.charCodeAt(nl - 1) === 13 ? s.slice(start, nl - 1) : s.slice(start, nl));
      lineNo++;
      start = nl + 1;
    }
    carry = s.slice(start);
    if (carry.length > limits.maxRecordBytes) {
      throw positionedError('record-too-large', `A line of more than ${limits.maxRecordBytes} characters`, { line: lineNo }, 'record-too-large');
    }
  }
  if (carry.length > 0) builder.line(carry.endsWith('\r') ? carry.slice(0, -1) : carry);
  const { sections, passages, lines } = builder.finish();
  return { kind: 'document', format: options.format, encoding: options.encoding, sections, passages, lines, bytes };
}

/** Collects a stream into one buffer, refusing more than `maxBytes`. */
export async function collectBytes(input: ByteInput, maxBytes: number, what: string): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of input) {
    total += chunk.length;
    if (total > maxBytes) throw new AppError('file-too-large', `${what} above ${maxBytes} bytes cannot be parsed (it cannot be streamed)`, { extras: { maxBytes } });
    parts.push(chunk);
  }
  return Buffer.concat(parts, total);
}

/**
 * Parses a PDF's text with `pdf-parse` 2, page by page. Bounded by `maxBytes` (default
 * 256 MiB) because a PDF must be read whole.
 *
 * @throws AppError `file-too-large` above `maxBytes`; `parse-error` (reason `invalid-pdf`,
 * `encrypted-pdf`) when pdf-parse cannot read it.
 */
export async function parsePdfDocument(input: ByteInput, options: ParseOptions = {}): Promise<ParsedDocument> {
  const limits = resolveLimits(options);
  const data = await collectBytes(input, limits.maxBytes, 'A PDF');
  const { PDFParse } = await import('pdf-parse');
  const parser = new PDFParse({ data: new Uint8Array(data.buffer, data.byteOffset, data.length), verbosity: 0 });
  let pages: { num: number; text: string }[];
  try {
    const result = await parser.getText();
    pages = result.pages;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const reason = /password/i.test(message) ? 'encrypted-pdf' : 'invalid-pdf';
    throw positionedError('parse-error', `The PDF cannot be read (${message})`, { byteOffset: 0 }, reason, e);
  } finally {
    await parser.destroy().catch(() => undefined);
  }
  const builder = createDocumentBuilder(false, options.fileName ?? '');
  for (const page of pages) {
    builder.page(page.num);
    for (const line of page.text.split(/\r\n|\n|\r/)) builder.line(line);
  }
  const built = builder.finish();
  const format: Format = 'pdf';
  return { kind: 'document', format, encoding: 'binary', sections: built.sections, passages: built.passages, pages: built.pages, lines: built.lines, bytes: data.length };
}
