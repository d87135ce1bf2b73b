/**
 * Text, Markdown and PDF documents: sections by headings, passages of at most 800
 * characters with line ranges, PDF text by page and line.
 */
import { describe, expect, it } from 'vitest';
import { openSource } from '../../../src/realms/content/parse.js';
import { MAX_PASSAGE_CHARS, type ParsedDocument } from '../../../src/realms/content/source.js';
import { appErrorOf, chunked } from './helpers.js';

async function doc(bytes: Buffer | string, fileName?: string, chunkSize = 65_536): Promise<ParsedDocument> {
  const opened = await openSource(chunked(bytes, chunkSize), fileName ? { fileName } : {});
  if (opened.kind !== 'document') throw new Error(`expected a document, got ${opened.format}`);
  return opened.document;
}

const MD = [
  '# Underwriting guide', // 1
  '', // 2
  'Applies to all term products.', // 3
  '', // 4
  '## Eligibility', // 5
  'Issue ages 18 to 65.', // 6
  'Non-smokers only for preferred classes.', // 7
  '', // 8
  '```', // 9
  '# not a heading inside a fence', // 10
  '```', // 11
  'Beneficiaries', // 12
  '-------------', // 13
  'Shares must sum to 100.', // 14
].join('\n');

describe('Markdown', () => {
  it('splits sections by ATX and setext headings, ignoring fenced code', async () => {
    const d = await doc(MD, undefined, 7);
    expect(d.format).toBe('markdown');
    expect(d.sections).toEqual([
      { id: 's1', title: 'Underwriting guide', level: 1, lineStart: 1, lineEnd: 4 },
      { id: 's2', title: 'Eligibility', level: 2, lineStart: 5, lineEnd: 11 },
      { id: 's3', title: 'Beneficiaries', level: 2, lineStart: 12, lineEnd: 14 },
    ]);
    expect(d.passages).toEqual([
      { id: 'p1', sectionId: 's1', lineStart: 3, lineEnd: 3, text: 'Applies to all term products.' },
      { id: 'p2', sectionId: 's2', lineStart: 6, lineEnd: 7, text: 'Issue ages 18 to 65.\nNon-smokers only for preferred classes.' },
      { id: 'p3', sectionId: 's2', lineStart: 9, lineEnd: 11, text: '```\n# not a heading inside a fence\n```' },
      { id: 'p4', sectionId: 's3', lineStart: 14, lineEnd: 14, text: 'Shares must sum to 100.' },
    ]);
    expect(d.lines).toBe(14);
  });

  it('keeps every passage within 800 characters, long paragraphs and long lines included', async () => {
    const sentence = 'The insured must disclose every material fact at application. ';
    const para = Array.from({ length: 40 }, () => sentence.trim()).join('\n');
    const longLine = sentence.repeat(40);
    const d = await doc(`# Disclosure\n\n${para}\n\n${longLine}\n`, 'guide.md');
    expect(d.passages.length).toBeGreaterThan(5);
    for (const p of d.passages) {
      expect(p.text.length).toBeLessThanOrEqual(MAX_PASSAGE_CHARS);
      expect(p.lineStart).toBeLessThanOrEqual(p.lineEnd);
    }
    const onLongLine = d.passages.filter((p) => p.lineStart === 44);
    expect(onLongLine.length).toBeGreaterThan(1);
    expect(onLongLine.map((p) => p.text).join(' ').trim()).toBe(longLine.trim());
  });
});

describe('plain text', () => {
  it('is one untitled section with paragraph passages', async () => {
    const d = await doc('First paragraph,\nstill first.\n\nSecond one.\n', 'notes.txt');
    expect(d.format).toBe('text');
    expect(d.sections).toEqual([{ id: 's1', title: 'notes.txt', level: 0, lineStart: 1, lineEnd: 4 }]);
    expect(d.passages.map((p) => [p.lineStart, p.lineEnd, p.text])).toEqual([
      [1, 2, 'First paragraph,\nstill first.'],
      [4, 4, 'Second one.'],
    ]);
  });
});

/** A small valid PDF with one text object per page (xref offsets computed). */
function makePdf(pages: string[][]): Buffer {
  const objects: string[] = [];
  const pageIds = pages.map((_, i) => 4 + i * 2);
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`;
  objects[3] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>';
  pages.forEach((lines, i) => {
    const ops = lines.map((l, k) => `${k === 0 ? '72 720 Td' : '0 -20 Td'} (${l.replace(/([()\\])/g, '\\$1')}) Tj`).join('\n');
    const stream = `BT /F1 12 Tf\n${ops}\nET`;
    objects[4 + i * 2] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${5 + i * 2} 0 R >>`;
    objects[5 + i * 2] = `<< /Length ${Buffer.byteLength(stream)} >>\nstream\n${stream}\nendstream`;
  });
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = Buffer.byteLength(out);
    out += `${id} 0 obj\n${objects[id]}\nendobj\n`;
  }
  const xref = Buffer.byteLength(out);
  out += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < objects.length; id++) out += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

describe('PDF', () => {
  it('reads text by page and line', async () => {
    const pdf = makePdf([
      ['Policy conversion plan', 'Phase one: term products'],
      ['Phase two: whole life', 'Sign-off by the actuary'],
    ]);
    const d = await doc(pdf, 'plan.pdf', 1000);
    expect(d.format).toBe('pdf');
    expect(d.pages?.map((p) => p.page)).toEqual([1, 2]);
    const page1 = d.passages.filter((p) => p.page === 1).map((p) => p.text).join('\n');
    const page2 = d.passages.filter((p) => p.page === 2).map((p) => p.text).join('\n');
    expect(page1).toContain('Policy conversion plan');
    expect(page1).toContain('Phase one: term products');
    expect(page2).toContain('Sign-off by the actuary');
    expect(page1).not.toContain('whole life');
    const p2 = d.pages![1]!;
    const signOff = d.passages.find((p) => p.text.includes('Sign-off'))!;
    expect(signOff.lineStart).toBeGreaterThanOrEqual(p2.lineStart);
    expect(signOff.lineEnd).toBeLessThanOrEqual(p2.lineEnd);
  });

  it('refuses a PDF above maxBytes and a broken PDF with typed errors', async () => {
    const pdf = makePdf([['x']]);
    const big = await appErrorOf(openSource(chunked(pdf), { maxBytes: 100 }));
    expect(big.code).toBe('file-too-large');
    const broken = await appErrorOf(openSource(chunked(Buffer.from('%PDF-1.4\nthis is not a pdf body\n')), {}));
    expect(broken.code).toBe('parse-error');
    expect(broken.extras.reason).toBe('invalid-pdf');
  });
});
