import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { decodeXml, importBpmn } from '../../src/realms/journey/import.js';
import { isTaskLike } from '../../src/realms/journey/model.js';
import { generateSop } from '../../src/realms/journey/sop.js';
import type { SopStep } from '../../src/realms/journey/types.js';

const DATA = '/work/shared/data/bpmn';
const manifest = JSON.parse(readFileSync(join(DATA, 'manifest.json'), 'utf8')) as {
  files: { file: string; expect: 'import' | 'report' | 'refuse'; why?: string; tasks: string[] }[];
};

function refs(steps: SopStep[]): string[] {
  return steps.flatMap((s) => [s.bpmnRef, ...refs(s.substeps ?? [])]);
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return e as AppError;
  }
  throw new Error('expected a refusal');
}

const MINIMAL = (body = '', decl = '<?xml version="1.0" encoding="UTF-8"?>') =>
  `${decl}\n<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="http://x">${body}</definitions>`;

describe('manifest of /work/shared/data/bpmn', () => {
  for (const entry of manifest.files) {
    it(`${entry.file} behaves as "${entry.expect}"`, async () => {
      const bytes = readFileSync(join(DATA, entry.file));
      if (entry.expect === 'refuse') {
        const e = await refusal(importBpmn(bytes));
        expect(['bpmn-invalid', 'unsafe-content']).toContain(e.code);
        expect(e.message).not.toContain('\n');
        expect(e.message.length).toBeGreaterThan(10);
        return;
      }
      const { model, warnings } = await importBpmn(bytes);
      const sop = generateSop(model, { warnings });
      const stepRefs = refs(sop.steps);
      for (const task of entry.tasks) expect(stepRefs.filter((r) => r === task), task).toHaveLength(1);
      // Every task-like element of the model is a step exactly once, listed or not.
      for (const n of model.nodes.filter(isTaskLike)) expect(stepRefs.filter((r) => r === n.id), n.id).toHaveLength(1);
      expect(new Set(stepRefs).size).toBe(stepRefs.length);
      if (entry.expect === 'import') {
        expect(warnings).toEqual([]);
        expect(sop.warnings).toBeUndefined();
      } else {
        expect(warnings.length).toBeGreaterThan(0);
        for (const problem of (entry.why ?? '').match(/(unresolved reference|unparsable content) <[^>]+>/g) ?? []) {
          expect(warnings.some((w) => w.message.includes(problem)), problem).toBe(true);
        }
        expect(sop.warnings).toEqual(warnings);
        expect(sop.markdown).toContain('## Import warnings');
      }
    });
  }
});

describe('importBpmn', () => {
  it('refuses a DOCTYPE anywhere, before parsing', async () => {
    const doc = MINIMAL('<process id="P"/>').replace('<definitions', '<!DOCTYPE definitions [<!ENTITY x "boom">]>\n<definitions');
    const e = await refusal(importBpmn(Buffer.from(doc)));
    expect(e.code).toBe('unsafe-content');
    expect(e.message).toMatch(/DOCTYPE/);
  });

  it('refuses an ENTITY declaration even without DOCTYPE, and lower case', async () => {
    const e = await refusal(importBpmn(Buffer.from(MINIMAL('<!-- <!entity y SYSTEM "file:///etc/passwd"> -->'))));
    expect(e.code).toBe('unsafe-content');
    expect(e.message).toMatch(/ENTITY/);
  });

  it('refuses a DOCTYPE hidden in UTF-16', async () => {
    const doc = MINIMAL().replace('<definitions', '<!DOCTYPE d>\n<definitions');
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(doc.replace('UTF-8', 'UTF-16'), 'utf16le')]);
    expect((await refusal(importBpmn(bytes))).code).toBe('unsafe-content');
  });

  it('decodes windows-1252 as declared', async () => {
    const text = MINIMAL('<process id="P"><task id="T" name="Prüfung “Schaden” – €"/></process>', '<?xml version="1.0" encoding="windows-1252"?>');
    const cp1252: Record<string, number> = { 'ü': 0xfc, '“': 0x93, '”': 0x94, '–': 0x96, '€': 0x80 };
    const out = Buffer.from([...text].map((c) => cp1252[c] ?? c.charCodeAt(0)));
    const { model, warnings, encoding } = await importBpmn(out);
    expect(encoding).toBe('windows-1252');
    expect(warnings).toEqual([]);
    expect(model.nodes.find((n) => n.id === 'T')?.name).toBe('Prüfung “Schaden” – €');
  });

  it('decodes ISO-8859-1, UTF-8 with BOM and UTF-16 BE/LE with BOM', async () => {
    const name = 'Größe façade';
    const latin = MINIMAL(`<process id="P"><task id="T" name="${name}"/></process>`, '<?xml version="1.0" encoding="ISO-8859-1"?>');
    const cases: [string, Buffer][] = [
      ['windows-1252', Buffer.from(latin, 'latin1')],
      ['utf-8', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(latin.replace('ISO-8859-1', 'UTF-8'), 'utf8')])],
      ['utf-16le', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(latin.replace('ISO-8859-1', 'UTF-16'), 'utf16le')])],
      ['utf-16be', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(latin.replace('ISO-8859-1', 'UTF-16'), 'utf16le').swap16()])],
    ];
    for (const [encoding, bytes] of cases) {
      const r = await importBpmn(bytes);
      // WHATWG maps the ISO-8859-1 label to windows-1252, a superset for printable text.
      expect(r.encoding, encoding).toBe(encoding);
      expect(r.warnings).toEqual([]);
      expect(r.model.nodes[0]?.name).toBe(name);
    }
  });

  it('recognises UTF-16 without a byte order mark, and a false UTF-16 declaration', async () => {
    const doc = MINIMAL('<process id="P"><task id="T" name="Größe"/></process>', '');
    const le = await importBpmn(Buffer.from(doc.trimStart(), 'utf16le'));
    expect(le.encoding).toBe('utf-16le');
    expect(le.model.nodes[0]?.name).toBe('Größe');
    const be = await importBpmn(Buffer.from(doc.trimStart(), 'utf16le').swap16());
    expect(be.encoding).toBe('utf-16be');
    expect(be.model.nodes[0]?.name).toBe('Größe');
    const liar = await importBpmn(Buffer.from(MINIMAL('<process id="P"><task id="T" name="Größe"/></process>', '<?xml version="1.0" encoding="UTF-16"?>'), 'utf8'));
    expect(liar.encoding).toBe('utf-8');
    expect(liar.model.nodes[0]?.name).toBe('Größe');
    expect(liar.warnings).toEqual([{ message: 'the XML declaration says UTF-16 but the bytes are not UTF-16; read as UTF-8' }]);
  });

  it('reports bytes invalid in the declared encoding as a warning', async () => {
    const bytes = Buffer.concat([Buffer.from(MINIMAL('<process id="P"><task id="T" name="').replace('</definitions>', '')), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('"/></process></definitions>')]);
    const r = await importBpmn(bytes);
    expect(r.warnings.map((w) => w.message).join()).toMatch(/not valid UTF-8/);
    expect(r.model.nodes[0]?.name).toContain('\uFFFD');
  });

  it('refuses an unknown encoding label', async () => {
    const e = await refusal(importBpmn(Buffer.from(MINIMAL('', '<?xml version="1.0" encoding="x-klingon"?>'))));
    expect(e.code).toBe('bpmn-invalid');
    expect(e.message).toContain('x-klingon');
  });

  it('enforces the size limit with payload-too-large', async () => {
    const doc = Buffer.from(MINIMAL('<process id="P"/>'));
    const e = await refusal(importBpmn(doc, { maxBytes: doc.length - 1 }));
    expect(e.code).toBe('payload-too-large');
    expect(e.extras).toMatchObject({ maxBytes: doc.length - 1, bytes: doc.length });
    await expect(importBpmn(doc, { maxBytes: doc.length })).resolves.toBeDefined();
  });

  it('names the element and line of malformed XML', async () => {
    const e = await refusal(importBpmn(Buffer.from(MINIMAL('<process id="P">\n<task id="T"></process>'))));
    expect(e.code).toBe('bpmn-invalid');
    expect(e.message).toMatch(/<\/process>.*line 3/);
    expect(e.extras).toMatchObject({ element: '</process>', line: 3 });
  });

  it('refuses a root that is not bpmn:Definitions, and duplicate ids', async () => {
    const notBpmn = await refusal(importBpmn(Buffer.from('<?xml version="1.0"?><process xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="P"/>')));
    expect(notBpmn.code).toBe('bpmn-invalid');
    expect(notBpmn.message).toMatch(/<process>/);
    const dup = await refusal(importBpmn(Buffer.from(MINIMAL('<process id="P"><task id="T"/><task id="T"/></process>'))));
    expect(dup.code).toBe('bpmn-invalid');
    expect(dup.message).toMatch(/duplicate ID <T>/);
    expect(dup.extras).toMatchObject({ elementId: 'T', reason: 'duplicate-id' });
  });

  it('keeps structural problems as warnings with element ids', async () => {
    const doc = MINIMAL(
      '<process id="P"><laneSet><lane id="L"><flowNodeRef>Ghost</flowNodeRef></lane></laneSet><task id="T"/><sequenceFlow id="F" sourceRef="T" targetRef="Nowhere"/></process>',
    );
    const r = await importBpmn(Buffer.from(doc));
    expect(r.warnings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ elementId: 'L', message: expect.stringContaining('unresolved reference <Ghost>') }),
        expect.objectContaining({ elementId: 'F', message: expect.stringContaining('unresolved reference <Nowhere>') }),
        expect.objectContaining({ elementId: 'F', message: expect.stringContaining('has no target') }),
      ]),
    );
    expect(r.model.nodes.map((n) => n.id)).toEqual(['T']);
  });

  it('decodeXml rewrites the declared encoding so the reader does not fall back', () => {
    const d = decodeXml(Buffer.from('<?xml version="1.0" encoding="windows-1252"?><a/>', 'latin1'));
    expect(d.text).toBe('<?xml version="1.0" encoding="UTF-8"?><a/>');
    expect(d.encoding).toBe('windows-1252');
  });
});
