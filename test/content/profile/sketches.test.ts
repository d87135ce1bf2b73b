/**
 * The profiler's building blocks: HyperLogLog accuracy, date formats, implied decimals and
 * PII rules without header cues.
 */
import { describe, expect, it } from 'vitest';
import type { RecordRow } from '../../../src/persistence/ports.js';
import {
  DATE_FORMATS,
  createHll,
  createProfiler,
  detectPii,
  formatById,
  hashOut,
  hashString,
  headerCues,
  hllAdd,
  hllEstimate,
  hllMerge,
  parseDate,
  shapeOf,
  type ColumnProfile,
} from '../../../src/realms/content/profile/index.js';
import { createHeavyTable, heavyAdd, heavyTop } from '../../../src/realms/content/profile/heavy.js';

function hllOf(from: number, to: number, prefix = 'item-'): ReturnType<typeof createHll> {
  const h = createHll();
  for (let i = from; i < to; i++) {
    hashString(`${prefix}${i}`);
    hllAdd(h, hashOut[0]!, hashOut[1]!);
  }
  return h;
}

async function profileColumn(name: string, values: (string | number | boolean | null)[]): Promise<ColumnProfile> {
  const profiler = createProfiler([name], { keyCheck: false });
  profiler.add(values.map((v, i): RecordRow => ({ row: i + 1, values: [v] })));
  return (await profiler.finish()).profile.columns[0]!;
}

describe('HyperLogLog', () => {
  it.each([100_000, 300_000, 1_000_000])('estimates %i distinct values within 2%%', (n) => {
    const est = hllEstimate(hllOf(0, n));
    expect(Math.abs(est - n) / n).toBeLessThan(0.02);
  });

  it('is exact enough at small cardinalities and ignores repeats', () => {
    const h = hllOf(0, 1000);
    for (let rep = 0; rep < 5; rep++) for (let i = 0; i < 1000; i++) {
      hashString(`item-${i}`);
      hllAdd(h, hashOut[0]!, hashOut[1]!);
    }
    expect(Math.abs(hllEstimate(h) - 1000)).toBeLessThanOrEqual(10);
    expect(hllEstimate(createHll())).toBe(0);
  });

  it('merges sketches of overlapping sets into the sketch of their union', () => {
    const a = hllOf(0, 150_000);
    const b = hllOf(100_000, 250_000);
    hllMerge(a, b);
    expect(Math.abs(hllEstimate(a) - 250_000) / 250_000).toBeLessThan(0.02);
  });

  it('gives the profiler a distinct estimate within 2% on 200,000 distinct values in 400,000 rows', async () => {
    const values: string[] = [];
    for (let i = 0; i < 400_000; i++) values.push(`V${(i * 7) % 200_000}`);
    const col = await profileColumn('CODE_VALUE', values);
    expect(Math.abs(col.distinctEstimate - 200_000) / 200_000).toBeLessThan(0.02);
  });
});

describe('heavy hitters', () => {
  it('finds frequent values among many rare ones, undercounting by at most n / (k + 1)', () => {
    const t = createHeavyTable(64);
    const truth = new Map<string, number>();
    let n = 0;
    const add = (v: string): void => {
      hashString(v);
      heavyAdd(t, hashOut[0]!, hashOut[1]!, v);
      truth.set(v, (truth.get(v) ?? 0) + 1);
      n++;
    };
    for (let i = 0; i < 20_000; i++) {
      add(`rare-${i}`);
      if (i % 4 === 0) add('HOT');
      if (i % 10 === 0) add('WARM');
    }
    const top = heavyTop(t, 2, 2);
    expect(top.map((x) => x.value)).toEqual(['HOT', 'WARM']);
    for (const x of top) {
      expect(x.count).toBeLessThanOrEqual(truth.get(String(x.value))!);
      expect(x.count).toBeGreaterThanOrEqual(truth.get(String(x.value))! - n / 65);
    }
    expect(t.decrements).toBeGreaterThan(0);
    expect(t.off).toBe(false);
  });

  it('switches itself off on a column of unique values', () => {
    const t = createHeavyTable(64);
    for (let i = 0; i < 10_000; i++) {
      hashString(`id-${i}`);
      heavyAdd(t, hashOut[0]!, hashOut[1]!, `id-${i}`);
    }
    expect(t.off).toBe(true);
    expect(heavyTop(t, 10, 1)).toEqual([]);
  });
});

describe('date formats', () => {
  const cases: [string, string, string][] = [
    ['YYYYMMDD', '20240229', '2024-02-29'],
    ['YYYY-MM-DD', '1999-12-31', '1999-12-31'],
    ['MM/DD/YYYY', '7/4/1976', '1976-07-04'],
    ['DD/MM/YYYY', '25/12/2001', '2001-12-25'],
    ['DD-MON-YY', '05-jan-98', '1998-01-05'],
    ['DD-MON-YY', '5-JAN-05', '2005-01-05'],
    ['DD-MON-YYYY', '31-DEC-2020', '2020-12-31'],
    ['DD.MM.YYYY', '01.02.2003', '2003-02-01'],
    ['MM/DD/YY', '12/31/29', '2029-12-31'],
  ];
  it.each(cases)('parses %s %s', (id, value, iso) => {
    const key = parseDate(formatById(id)!, value);
    expect(key).toBe(Number(iso.replaceAll('-', '')));
  });

  it('rejects impossible dates and recognises legacy sentinels', () => {
    expect(parseDate(formatById('YYYYMMDD')!, '20230229')).toBe(-1);
    expect(parseDate(formatById('YYYYMMDD')!, '19991301')).toBe(-1);
    expect(parseDate(formatById('YYYY-MM-DD')!, '9999-12-31')).toBe(-2);
    expect(parseDate(formatById('YYYY-MM-DDTHH:MM:SS')!, '2024-01-05T10:20:30.123+02:00')).toBe(20240105102030);
    expect(parseDate(formatById('YYYY-MM-DDTHH:MM:SS')!, '2024-01-05T25:20:30')).toBe(-1);
    expect(DATE_FORMATS.map((f) => f.id)).toContain('DD-MON-YY');
  });

  it('infers DD/MM when a day above 12 rules MM/DD out, and tolerates sentinels', async () => {
    const col = await profileColumn('EFF_DT', ['01/02/2020', '13/02/2020', '28/11/1999', '05/06/2007']);
    expect(col.dateFormat).toBe('DD/MM/YYYY');
    const mat = await profileColumn('MAT_DT', [...Array.from({ length: 60 }, (_, i) => `20${10 + (i % 20)}0101`), '99999999', '00000000']);
    expect(mat.inferredType).toBe('date');
    expect(mat.dateFormat).toBe('YYYYMMDD');
    expect(mat.max).toBe('2029-01-01');
  });

  it('calls midnight-only ISO timestamps dates (spreadsheet cells)', async () => {
    const col = await profileColumn('ISSUE_DATE', ['2020-01-01T00:00:00.000Z', '2021-06-30T00:00:00.000Z']);
    expect(col.inferredType).toBe('date');
    expect(col.min).toBe('2020-01-01');
  });
});

describe('types', () => {
  it('reads zero-padded amounts as implied decimals only under an amount name', async () => {
    const values = Array.from({ length: 50 }, (_, i) => String(i * 1234 + 5).padStart(9, '0'));
    const amt = await profileColumn('CSV_AMT', values);
    expect(amt.inferredType).toBe('decimal');
    expect(amt.impliedScale).toBe(2);
    expect(amt.min).toBe('0.05');
    const other = await profileColumn('CLIENT_REF', values);
    expect(other.inferredType).toBe('identifier');
    expect(other.impliedScale).toBeUndefined();
    const unpadded = await profileColumn('FACE_AMT', Array.from({ length: 50 }, (_, i) => String(100000 + i * 1000)));
    expect(unpadded.inferredType).toBe('integer');
  });

  it('types spreadsheet numbers and booleans', async () => {
    expect((await profileColumn('QTY', [1, 2, 3, 40])).inferredType).toBe('integer');
    const dec = await profileColumn('RATE', [1.5, 2.25, 3, 0.125]);
    expect(dec.inferredType).toBe('decimal');
    expect(dec.scale).toBe(3);
    expect((await profileColumn('ACTIVE', [true, false, true])).inferredType).toBe('boolean');
  });

  it('computes shapes letter→A digit→9, other characters kept', () => {
    expect(shapeOf('AB-1234 x', 0, 9)).toBe('AA-9999 A');
    expect(shapeOf('é1', 0, 2)).toBe('A9');
  });
});

describe('PII without header cues', () => {
  const base = { nonNull: 100, inferredType: 'text' as const, emailLike: 0, ssnLike: 0, ssnDashed: 0, phoneLike: 0, phoneFormatted: 0, nameLike: 0, addressLike: 0, withLetters: 0 };
  it('flags emails, dashed SSNs and formatted phones by values alone', () => {
    expect(detectPii({ ...base, name: 'CONTACT', emailLike: 95 })?.kind).toBe('email');
    expect(detectPii({ ...base, name: 'REF', ssnLike: 95, ssnDashed: 95 })?.kind).toBe('nationalId');
    expect(detectPii({ ...base, name: 'CONTACT2', phoneLike: 95, phoneFormatted: 95 })?.reason).toBe('no header cue; 95.0% of 100 non-null values are formatted phone numbers');
  });
  it('does not flag names or 9-digit numbers without a cue', () => {
    expect(detectPii({ ...base, name: 'STATUS', nameLike: 100 })).toBeNull();
    expect(detectPii({ ...base, name: 'POL_NO', ssnLike: 100 })).toBeNull();
    expect(detectPii({ ...base, name: 'PLAN_NAME', nameLike: 100 })).toBeNull();
  });
  it('reads header cues of the life-policy synonyms', () => {
    expect([...headerCues('OWNER_NM').keys()]).toEqual(['name']);
    expect([...headerCues('BIRTH_DT').keys()]).toEqual(['dateOfBirth']);
    expect([...headerCues('TAX_ID').keys()]).toEqual(['nationalId']);
    expect([...headerCues('EMAIL_ADDR').keys()]).toEqual(['email']);
    expect([...headerCues('TEL_NO').keys()]).toEqual(['phone']);
    expect([...headerCues('ADDR1').keys()]).toEqual(['address']);
    expect([...headerCues('PROD_NAME').keys()]).toEqual([]);
  });
});
