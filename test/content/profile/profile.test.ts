/**
 * Profile correctness on the hand-built fixture (issue 6 acceptance): every inferred type,
 * PII flag and pattern asserted column by column.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { RecordRow } from '../../../src/persistence/ports.js';
import { createProfiler, type ColumnProfile, type ProfileColumns } from '../../../src/realms/content/profile/index.js';
import { FIXTURE_COLUMNS, FIXTURE_ROWS, profileFixtureCsv } from './fixtures/profileFixture.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/content/profile-fixture.csv', import.meta.url));

function load(): { columns: string[]; rows: RecordRow[] } {
  const records = parse(readFileSync(FIXTURE), {}) as string[][];
  const [columns, ...data] = records;
  return { columns: columns!, rows: data.map((values, i) => ({ row: i + 1, values })) };
}

async function profileFixture(batch = 37): Promise<ProfileColumns> {
  const { columns, rows } = load();
  const profiler = createProfiler(columns, { datasetId: 'ds-fixture' });
  try {
    for (let i = 0; i < rows.length; i += batch) profiler.add(rows.slice(i, i + batch));
    return await profiler.finish();
  } finally {
    profiler.close();
  }
}

type Expect = Partial<Pick<ColumnProfile, 'inferredType' | 'dateFormat' | 'scale' | 'impliedScale' | 'min' | 'max'>> & {
  pii: ColumnProfile['pii'] extends infer P ? (P extends { kind: infer K } ? K : never) | null : never;
  shape: string;
  shapeShare?: number;
  nullRate?: number;
};

const EXPECTED: Record<(typeof FIXTURE_COLUMNS)[number], Expect> = {
  POL_NO: { inferredType: 'identifier', pii: null, shape: 'AA9999999', shapeShare: 1, min: 'PL1000037', max: 'PL1007400' },
  PLAN_CD: { inferredType: 'code', pii: null, shape: 'AAAA99', shapeShare: 0.5 },
  ISSUE_DT: { inferredType: 'date', dateFormat: 'YYYYMMDD', pii: null, shape: '99999999', shapeShare: 1 },
  STAT_DT: { inferredType: 'date', dateFormat: 'MM/DD/YYYY', pii: null, shape: '99/99/9999', shapeShare: 1 },
  MAT_DT: { inferredType: 'date', dateFormat: 'DD-MON-YY', pii: null, shape: '99-AAA-99', shapeShare: 1, nullRate: 0.04 },
  FACE_AMT: { inferredType: 'decimal', scale: 2, impliedScale: 2, pii: null, shape: '99999999999', shapeShare: 1 },
  MODAL_PREM: { inferredType: 'decimal', scale: 2, pii: null, shape: '999.99', shapeShare: 0.9 },
  ISS_AGE: { inferredType: 'integer', pii: null, shape: '99', shapeShare: 1, min: 18, max: 75 },
  SMOKER_IND: { inferredType: 'boolean', pii: null, shape: 'A', shapeShare: 1 },
  FIRST_NM: { inferredType: 'text', pii: 'name', shape: 'AAAAA' },
  LAST_NM: { inferredType: 'text', pii: 'name', shape: 'AAAAAA' },
  DOB: { inferredType: 'date', dateFormat: 'YYYY-MM-DD', pii: 'dateOfBirth', shape: '9999-99-99', shapeShare: 1 },
  SSN: { inferredType: 'identifier', pii: 'nationalId', shape: '999-99-9999', shapeShare: 1 },
  EMAIL_ADDR: { inferredType: 'text', pii: 'email', shape: 'AAAAAAAA.AAAAAA99@AAAAAAA.AAA' },
  PHONE_NO: { inferredType: 'identifier', pii: 'phone', shape: '(999) 999-9999', shapeShare: 1 },
  ADDR_LINE_1: { inferredType: 'text', pii: 'address', shape: '999 AAAAA AA' },
  NOTES: { inferredType: 'text', pii: null, shape: 'AAAAA AAAAAA, "AAAAAAAA" 9', nullRate: 0.5 },
  POL_STAT: { inferredType: 'code', pii: null, shape: 'AAAAAA', nullRate: 0.02 },
  LAST_UPD_TS: { inferredType: 'datetime', dateFormat: 'YYYY-MM-DDTHH:MM:SS', pii: null, shape: '9999-99-99A99:99:99A', shapeShare: 1 },
  ZIP: { inferredType: 'code', pii: null, shape: '99999', shapeShare: 1, min: '01002', max: '98101' },
  COV_SEQ: { inferredType: 'integer', pii: null, shape: '9', shapeShare: 1, min: 1, max: 3 },
  AGENT_ID: { inferredType: 'identifier', pii: null, shape: 'AA99999', shapeShare: 1 },
  ROW_SEQ: { inferredType: 'integer', pii: null, shape: '999', min: 1, max: 200 },
};

/** Exact statistics of a fixture column, computed the slow way. */
function exact(values: string[]): { nonNull: string[]; distinct: number; nullRate: number } {
  const nonNull = values.map((v) => v.trim()).filter((v) => v !== '');
  return { nonNull, distinct: new Set(nonNull).size, nullRate: (values.length - nonNull.length) / values.length };
}

describe('profile of the hand-built fixture', () => {
  it('uses the committed fixture the generator produces', () => {
    expect(readFileSync(FIXTURE, 'utf8')).toBe(profileFixtureCsv());
  });

  it('profiles every column as expected, column by column', async () => {
    const { profile } = await profileFixture();
    const { columns, rows } = load();
    expect(profile.datasetId).toBe('ds-fixture');
    expect(profile.rowCount).toBe(FIXTURE_ROWS);
    expect(profile.basis).toBe('all');
    expect(profile.columns.map((c) => c.name)).toEqual([...FIXTURE_COLUMNS]);
    for (const [j, col] of profile.columns.entries()) {
      const want = EXPECTED[col.name as (typeof FIXTURE_COLUMNS)[number]];
      const ex = exact(rows.map((r) => String(r.values[j])));
      const where = `column ${columns[j]}`;
      expect(col.inferredType, where).toBe(want.inferredType);
      expect(col.dateFormat, where).toBe(want.dateFormat);
      expect(col.scale, where).toBe(want.scale);
      expect(col.impliedScale, where).toBe(want.impliedScale);
      expect(col.pii?.kind ?? null, where).toBe(want.pii);
      if (col.pii) {
        expect(col.pii.masked, where).toBe(false);
        expect(col.pii.reason, where).toMatch(/header cue '[a-z_]+' in '|no header cue/);
        expect(col.pii.reason, where).toMatch(/\d+\.\d% of \d+ non-null values/);
      }
      expect(col.patterns[0]?.shape, where).toBe(want.shape);
      if (want.shapeShare !== undefined) expect(col.patterns[0]?.share, where).toBeCloseTo(want.shapeShare, 10);
      expect(col.nullRate, where).toBeCloseTo(ex.nullRate, 12);
      if (want.nullRate !== undefined) expect(col.nullRate, where).toBeCloseTo(want.nullRate, 12);
      // HyperLogLog at 200 values: within 2% of the exact count.
      expect(Math.abs(col.distinctEstimate - ex.distinct), where).toBeLessThanOrEqual(Math.max(1, ex.distinct * 0.02));
      const lengths = ex.nonNull.map((v) => v.length);
      expect(col.length.min, where).toBe(Math.min(...lengths));
      expect(col.length.max, where).toBe(Math.max(...lengths));
      expect(col.length.mean, where).toBeCloseTo(lengths.reduce((a, b) => a + b, 0) / lengths.length, 10);
      if (want.min !== undefined) expect(col.min, where).toEqual(want.min);
      if (want.max !== undefined) expect(col.max, where).toEqual(want.max);
      // Top values: exact counts (≤ 1024 distinct), only values seen twice or more, count desc.
      const counts = new Map<string, number>();
      for (const v of ex.nonNull) counts.set(v, (counts.get(v) ?? 0) + 1);
      for (const t of col.topValues) expect(counts.get(String(t.value)), `${where} ${String(t.value)}`).toBe(t.count);
      const repeated = [...counts.values()].filter((c) => c >= 2).sort((a, b) => b - a);
      expect(col.topValues.map((t) => t.count), where).toEqual(repeated.slice(0, 10));
    }
  });

  it('reports dates, amounts and implied decimals with typed min and max', async () => {
    const { profile } = await profileFixture();
    const { columns, rows } = load();
    const col = (name: string): ColumnProfile => profile.columns.find((c) => c.name === name)!;
    const raw = (name: string): string[] => rows.map((r) => String(r.values[columns.indexOf(name)])).filter((v) => v !== '');
    const issue = raw('ISSUE_DT').sort();
    const iso = (s: string): string => `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`;
    expect(col('ISSUE_DT').min).toBe(iso(issue[0]!));
    expect(col('ISSUE_DT').max).toBe(iso(issue[issue.length - 1]!));
    const face = raw('FACE_AMT').map(Number);
    expect(col('FACE_AMT').min).toBe((Math.min(...face) / 100).toFixed(2));
    expect(col('FACE_AMT').max).toBe((Math.max(...face) / 100).toFixed(2));
    const prem = raw('MODAL_PREM').map(Number);
    expect(Number(col('MODAL_PREM').min)).toBe(Math.min(...prem));
    expect(Number(col('MODAL_PREM').max)).toBe(Math.max(...prem));
    expect(col('SMOKER_IND').min).toBeUndefined();
  });

  it('confirms candidate keys exactly: unique columns only, never the near-unique one', async () => {
    const { profile } = await profileFixture();
    const { columns, rows } = load();
    expect(profile.candidateKeys).toContainEqual(['POL_NO']);
    expect(profile.candidateKeys).toContainEqual(['ROW_SEQ']);
    expect(profile.candidateKeys).not.toContainEqual(['AGENT_ID']);
    for (const key of profile.candidateKeys) {
      const idx = key.map((k) => columns.indexOf(k));
      const seen = new Set(rows.map((r) => JSON.stringify(idx.map((i) => r.values[i]))));
      expect(seen.size, key.join('+')).toBe(rows.length);
    }
  });

  it('keeps a bounded sample of non-null raw values per column', async () => {
    const { samples } = await profileFixture();
    const { columns, rows } = load();
    expect(samples.map((s) => s.name)).toEqual(columns);
    for (const [j, s] of samples.entries()) {
      const values = new Set(rows.map((r) => String(r.values[j]).trim()));
      expect(s.values.length).toBeLessThanOrEqual(100);
      expect(s.values.length).toBe(Math.min(100, rows.filter((r) => String(r.values[j]).trim() !== '').length));
      for (const v of s.values) expect(values.has(String(v))).toBe(true);
    }
  });

  it('gives the same profile whatever the batch sizes', async () => {
    const a = await profileFixture(1);
    const b = await profileFixture(200);
    expect(a).toEqual(b);
  });
});
